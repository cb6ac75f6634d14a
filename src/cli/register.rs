//! `reelguard register VIDEO --title T`: fingerprint a finished video and
//! store it as a work.

use crate::clock::to_seconds;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::progress::DecodeProgress;
use super::{absolute, round3, Context, InputError};
use crate::engine;
use crate::provenance;
use crate::store::{Artifact, Store, Work};
use crate::timestamp::{StampError, Stamper};

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The finished video (any format FFmpeg reads)
    pub video: PathBuf,
    /// Title of the work
    #[arg(long)]
    pub title: String,
    /// Who owns the rights [default: owner.name from the config]
    #[arg(long)]
    pub owner: Option<String>,
    /// Rights statement shown on the certificate (who holds which rights)
    #[arg(long, value_name = "TEXT")]
    pub rights: Option<String>,
    /// A creation-stage file, timestamped and chained with the work
    /// (repeatable). STAGE: concept, script, storyboard, raw-footage,
    /// edit-log, project-file, music, subtitles, rights-statement. The video
    /// itself is always added as final-cut.
    #[arg(long = "artifact", value_name = "STAGE=FILE")]
    pub artifacts: Vec<String>,
    /// Print the work as JSON
    #[arg(long)]
    pub json: bool,
}

/// Parses `STAGE=FILE` values, checking the stage and that the file is there.
fn parse_artifacts(values: &[String]) -> Result<Vec<(&'static str, PathBuf)>, InputError> {
    let mut out = Vec::new();
    for value in values {
        let (stage, file) = value.split_once('=').ok_or_else(|| {
            InputError(format!(
                "--artifact {value:?}: expected STAGE=FILE, e.g. script=script.pdf"
            ))
        })?;
        let stage = provenance::parse_stage(stage)
            .map_err(|e| InputError(format!("--artifact {value:?}: {e}")))?;
        if stage == "final-cut" {
            return Err(InputError(format!(
                "--artifact {value:?}: the registered video is the final cut; add other stages here"
            )));
        }
        let path = PathBuf::from(file);
        if !path.is_file() {
            return Err(InputError(format!(
                "--artifact {value:?}: {} is not a readable file",
                path.display()
            )));
        }
        out.push((stage, path));
    }
    // Earlier stages first, in the order given within a stage.
    out.sort_by_key(|(stage, _)| provenance::stage_rank(stage));
    Ok(out)
}

pub async fn run(context: &Context, args: RegisterArgs) -> anyhow::Result<()> {
    let title = args.title.trim().to_string();
    if title.is_empty() {
        return Err(InputError("--title must not be empty".into()).into());
    }
    let artifacts = parse_artifacts(&args.artifacts)?;
    let stamper = context.stamper()?;
    let limits = context.config.limits.clone();
    let path = args.video.clone();
    let progress = DecodeProgress::new(&format!("fingerprinting {}", path.display()), args.json);
    let bar = progress.clone_bar();
    let (info, fingerprint) = tokio::task::spawn_blocking(move || {
        engine::fingerprint_work(&path, &limits, |position, info| bar.update(position, info))
    })
    .await
    .context("fingerprinting task failed")??;
    progress.finish();
    let (sha256, bytes) = engine::sha256_file(&args.video)
        .with_context(|| format!("cannot read {}", args.video.display()))?;

    let store = context.open_store().await?;
    let work = Work {
        id: uuid::Uuid::now_v7().simple().to_string(),
        title,
        owner: args.owner.or_else(|| context.config.owner.name.clone()),
        rights_statement: args.rights.clone().filter(|r| !r.trim().is_empty()),
        source_path: absolute(&args.video).display().to_string(),
        source_sha256: sha256,
        source_bytes: bytes as i64,
        duration_s: info.duration_s,
        width: i64::from(info.width),
        height: i64::from(info.height),
        codec: info.codec,
        created_at: crate::clock::now(),
        frames: fingerprint.frames.len() as i64,
    };
    store.insert_work(&work, &fingerprint).await?;

    let mut new_artifacts = Vec::with_capacity(artifacts.len() + 1);
    for (stage, path) in &artifacts {
        new_artifacts.push(provenance::describe_file(stage, path)?);
    }
    new_artifacts.push(provenance::describe_file("final-cut", &args.video)?);
    store.append_artifacts(&work.id, &new_artifacts).await?;
    let summary = stamp_new(&store, &stamper, Some(&work.id)).await?;
    let stored = store.artifacts(&work.id).await?;
    store.close().await;

    if args.json {
        let out = serde_json::json!({
            "work_id": work.id,
            "title": work.title,
            "duration_s": round3(work.duration_s),
            "frames": work.frames,
            "artifacts": artifacts_json(&stored),
        });
        println!("{out}");
    } else {
        println!(
            "registered work {} \"{}\": {:.1} s, {}x{}, {} frames fingerprinted",
            work.id, work.title, work.duration_s, work.width, work.height, work.frames
        );
        print_artifacts(&stored);
    }
    report_pending(&summary);
    Ok(())
}

/// Stamps what was just added (if TSAs are configured); warns about the rest.
pub(super) async fn stamp_new(
    store: &Store,
    stamper: &Stamper,
    work_id: Option<&str>,
) -> anyhow::Result<provenance::StampSummary> {
    if !stamper.is_configured() {
        return Ok(provenance::StampSummary {
            stamped: 0,
            pending: store
                .pending_stamps(work_id)
                .await?
                .into_iter()
                .map(|item| (item, StampError::NotConfigured.to_string()))
                .collect(),
        });
    }
    provenance::stamp_pending(store, stamper, work_id).await
}

/// Tells the user (on stderr) what is still waiting for a timestamp.
pub(super) fn report_pending(summary: &provenance::StampSummary) {
    if let Some((_, reason)) = summary.pending.first() {
        eprintln!(
            "warning: {} item(s) stored as \"pending timestamp\" ({reason}); `reelguard works timestamp` retries them",
            summary.pending.len()
        );
    }
}

pub(super) fn artifacts_json(artifacts: &[Artifact]) -> Vec<serde_json::Value> {
    artifacts
        .iter()
        .map(|a| {
            serde_json::json!({
                "seq": a.seq,
                "stage": a.stage,
                "file_name": a.file_name,
                "size_bytes": a.size_bytes,
                "sha256": a.sha256,
                "media_created_at": a.media_created_at,
                "entry_hash": a.entry_hash,
                "timestamp": a.stamp.as_ref().map(|s| serde_json::json!({
                    "time": to_seconds(s.tsa_time), "tsa": s.tsa_name, "serial": s.tsa_serial, "url": s.tsa_url,
                })),
                "stamp_error": a.stamp_error,
            })
        })
        .collect()
}

pub(super) fn print_artifacts(artifacts: &[Artifact]) {
    for a in artifacts {
        let stamp = match &a.stamp {
            Some(s) => format!("timestamped {} by {}", to_seconds(s.tsa_time), s.tsa_name),
            None => "pending timestamp".to_string(),
        };
        println!(
            "  {:>2}. {:<16} {}  {}  ({stamp})",
            a.seq,
            a.stage,
            &a.sha256[..16],
            a.file_name
        );
    }
}
