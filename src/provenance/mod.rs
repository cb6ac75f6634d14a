//! Creation-stage provenance: artifacts, their hash chain, certificates and
//! packages.
//!
//! Adding artifacts appends them to the work's hash chain (`chain`) in the
//! store first, then asks the TSAs for a token on every new artifact and on
//! the new chain head. Whatever the TSAs fail to stamp stays "pending
//! timestamp" in the store and is retried by `stamp_pending`; nothing is lost.

pub mod certificate;
pub mod commands;
pub mod package;
pub mod register;

use std::path::Path;

use anyhow::Context as _;

use crate::clock::to_seconds;
use crate::store::{PendingStamp, StampTarget, Store, StoredStamp};
use crate::timestamp::Stamper;

/// Creation stages, in the order they usually happen.
pub const STAGES: [&str; 10] = [
    "concept",
    "script",
    "storyboard",
    "raw-footage",
    "edit-log",
    "project-file",
    "music",
    "subtitles",
    "rights-statement",
    "final-cut",
];

/// The stage name if `name` is one (case-insensitive), else an explanation.
pub fn parse_stage(name: &str) -> Result<&'static str, String> {
    let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
    STAGES
        .iter()
        .find(|s| **s == wanted)
        .copied()
        .ok_or_else(|| format!("unknown stage {name:?}; stages are: {}", STAGES.join(", ")))
}

/// Position of a stage in `STAGES` (for sorting artifacts given together).
pub fn stage_rank(stage: &str) -> usize {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(STAGES.len())
}

/// Reads the facts about an artifact file: name, size, SHA-256, and the
/// creation time its container records, if any.
pub fn describe_file(stage: &str, path: &Path) -> anyhow::Result<crate::store::NewArtifact> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("cannot read artifact {}", path.display()))?;
    if !metadata.is_file() {
        anyhow::bail!("artifact {} is not a file", path.display());
    }
    let (sha256, size) = crate::engine::sha256_file(path)
        .with_context(|| format!("cannot read artifact {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(crate::store::NewArtifact {
        stage: stage.to_string(),
        file_name,
        source_path: std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string(),
        size_bytes: size,
        sha256,
        media_created_at: crate::media::container_creation_time(path),
    })
}

/// How a round of timestamping went.
#[derive(Debug, Default)]
pub struct StampSummary {
    pub stamped: usize,
    /// Items still pending, with the reason.
    pub pending: Vec<(PendingStamp, String)>,
}

/// Asks for tokens on every pending artifact and chain head (of one work or
/// all works) and stores those that pass every check.
pub async fn stamp_pending(
    store: &Store,
    stamper: &Stamper,
    work_id: Option<&str>,
) -> anyhow::Result<StampSummary> {
    let mut summary = StampSummary::default();
    for item in store.pending_stamps(work_id).await? {
        let digest = parse_digest(&item.digest).with_context(|| {
            format!(
                "stored digest of work {} entry {} is damaged",
                item.work_id, item.seq
            )
        })?;
        match stamper.stamp(&digest).await {
            Ok(stamp) => {
                let stored = StoredStamp {
                    token: stamp.token,
                    tsa_url: stamp.tsa_url,
                    tsa_time: stamp.verified.gen_time,
                    tsa_serial: stamp.verified.serial,
                    tsa_name: stamp.verified.tsa_name,
                };
                store
                    .set_stamp(item.target, &item.work_id, item.seq, &stored)
                    .await?;
                summary.stamped += 1;
            }
            Err(error) => {
                let reason = error.to_string();
                store
                    .set_stamp_error(item.target, &item.work_id, item.seq, &reason)
                    .await?;
                summary.pending.push((item, reason));
            }
        }
    }
    Ok(summary)
}

/// Human wording of a pending item.
pub fn describe_pending(item: &PendingStamp) -> String {
    match item.target {
        StampTarget::Artifact => format!("work {} artifact {}", item.work_id, item.seq),
        StampTarget::ChainHead => format!("work {} chain head at entry {}", item.work_id, item.seq),
    }
}

/// 64 hex characters to 32 bytes.
pub fn parse_digest(hex_text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(hex_text).with_context(|| format!("{hex_text:?} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{hex_text:?} is not a SHA-256 digest"))
}

/// The certificate's content for a work, its artifacts and its current head;
/// `package_file` is the name of the package it goes into (or would);
/// `public_url` the dashboard's address (`[http] public_url`, may be empty)
/// whose `/c/<chain head>` page the QR code opens.
pub fn certificate_data(
    work: &crate::store::Work,
    artifacts: &[crate::store::Artifact],
    head: &crate::store::ChainHead,
    owner: &crate::domain::OwnerConfig,
    public_url: &str,
    package_file: &str,
) -> certificate::CertificateData {
    let contact: Vec<&str> = [owner.email.as_deref(), owner.address.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    certificate::CertificateData {
        work_id: work.id.clone(),
        title: work.title.clone(),
        owner_name: work.owner.clone().or_else(|| owner.name.clone()),
        owner_contact: (!contact.is_empty()).then(|| contact.join(", ")),
        rights_statement: work.rights_statement.clone(),
        registered_at: to_seconds(work.created_at),
        stages: artifacts
            .iter()
            .map(|a| certificate::CertificateStage {
                seq: a.seq,
                stage: a.stage.clone(),
                file_name: a.file_name.clone(),
                size_bytes: a.size_bytes,
                sha256: a.sha256.clone(),
                tsa_time: a.stamp.as_ref().map(|s| to_seconds(s.tsa_time)),
                tsa_name: a.stamp.as_ref().map(|s| s.tsa_name.clone()),
                tsa_serial: a.stamp.as_ref().map(|s| s.tsa_serial.clone()),
            })
            .collect(),
        chain_head_sha256: head.head_hash.clone(),
        chain_head_time: head.stamp.as_ref().map(|s| to_seconds(s.tsa_time)),
        chain_head_tsa: head.stamp.as_ref().map(|s| s.tsa_name.clone()),
        package_file: package_file.to_string(),
        check_url: chain_page_url(public_url, &head.head_hash),
    }
}

/// The public page of a chain head on the dashboard at `public_url`
/// (`None` without one).
pub fn chain_page_url(public_url: &str, head_hash: &str) -> Option<String> {
    let base = public_url.trim().trim_end_matches('/');
    (!base.is_empty()).then(|| format!("{base}/c/{head_hash}"))
}

/// A work's artifacts and current chain head; an error when it has none.
pub async fn load_chain(
    store: &Store,
    work: &crate::store::Work,
) -> anyhow::Result<(Vec<crate::store::Artifact>, crate::store::ChainHead)> {
    let artifacts = store.artifacts(&work.id).await?;
    let head = store.chain_heads(&work.id).await?.pop().ok_or_else(|| {
        anyhow::anyhow!(
            "work {} has no artifacts yet; add one with `reelguard works add-artifact {} STAGE FILE`",
            work.id,
            work.id
        )
    })?;
    Ok((artifacts, head))
}

/// Writes the provenance package of `work` to `out`, after trying once more
/// to stamp what is pending. Returns the number of items still pending.
pub async fn export_package(
    store: &Store,
    stamper: &Stamper,
    work: &crate::store::Work,
    owner: &crate::domain::OwnerConfig,
    public_url: &str,
    out: &Path,
) -> anyhow::Result<usize> {
    if stamper.is_configured() {
        stamp_pending(store, stamper, Some(&work.id)).await?;
    }
    let (artifacts, head) = load_chain(store, work).await?;
    let stamps = artifacts
        .iter()
        .filter_map(|a| a.stamp.as_ref().map(|s| (s, &a.sha256)))
        .chain(head.stamp.as_ref().map(|s| (s, &head.head_hash)));
    let mut token_chains = Vec::new();
    for (stamp, digest) in stamps {
        let verified = crate::timestamp::token::verify_token(
            &stamp.token,
            &parse_digest(digest)?,
            None,
            stamper.anchors(),
        )
        .with_context(|| {
            format!(
                "stored token over {digest} (TSA {}) does not check against timestamp.trust_anchors",
                stamp.tsa_url
            )
        })?;
        token_chains.push(verified.chain);
    }
    let package_file = commands::zip_name(out, certificate::DEFAULT_PACKAGE_FILE);
    let data = certificate_data(work, &artifacts, &head, owner, public_url, &package_file);
    let input = package::ExportInput {
        package_file,
        work,
        artifacts: &artifacts,
        head: &head,
        token_chains,
        certificate_pdf: certificate::render_pdf(&data)?,
        certificate_html: certificate::render_html(&data),
    };
    let files = package::package_files(&input);
    let manifest = package::manifest(&input, &files);
    let manifest_stamp = if stamper.is_configured() {
        match stamper.stamp(&package::manifest_digest(&manifest)).await {
            Ok(stamp) => Some(stamp),
            Err(e) => {
                tracing::warn!("the package manifest is not timestamped: {e}");
                None
            }
        }
    } else {
        None
    };
    let files = package::seal(files, &manifest, manifest_stamp.as_ref());
    package::write_zip(out, &files)?;
    let pending =
        artifacts.iter().filter(|a| a.stamp.is_none()).count() + usize::from(head.stamp.is_none());
    Ok(pending)
}
