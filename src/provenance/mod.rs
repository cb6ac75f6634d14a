//! Creation-stage provenance: artifacts, their hash chain, certificates and
//! packages.
//!
//! Adding artifacts appends them to the work's hash chain (`chain`) in the
//! store first, then asks the TSAs for a token on every new artifact and on
//! the new chain head. Whatever the TSAs fail to stamp stays "pending
//! timestamp" in the store and is retried by `stamp_pending`; nothing is lost.

pub mod certificate;
pub mod chain;
pub mod package;

use std::path::Path;

use anyhow::Context as _;

use crate::store::{PendingStamp, StampTarget, Store, StoredStamp};
use crate::timestamp::{format_time, Stamper};

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
    STAGES.iter().position(|s| *s == stage).unwrap_or(STAGES.len())
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
                    tsa_time: format_time(&stamp.verified.gen_time),
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
