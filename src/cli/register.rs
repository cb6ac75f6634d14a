//! `reelguard register VIDEO --title T`: fingerprint a finished video and
//! store it as a work.

use crate::clock::to_seconds;
use std::path::PathBuf;

use clap::Args;

use super::progress::DecodeProgress;
use super::{round3, Context, InputError};
use crate::provenance;
use crate::provenance::register::{
    queue_registration, register_work, NewWork, Queued, VideoToQueue,
};
use crate::shapes::{ArtifactJson, UploadJson};
use crate::store::{Artifact, Registration, StoreError};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reelguard register final.mp4 --title \"My video\" --owner \"Li Hua\"\n  reelguard register final.mp4 --title \"My video\" --artifact script=script.pdf --artifact music=song.wav --json\n  reelguard register final.mp4 --title \"My video\" --queue"
)]
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
    /// Do not fingerprint here: copy the video into the blob store and
    /// queue it, for a running `reelguard daemon` (any node of a cluster)
    /// or `reelguard serve` to register; `reelguard works list` follows it.
    /// Add creation-stage files once it is ready (`works add-artifact`)
    #[arg(long)]
    pub queue: bool,
    /// Print the work as JSON (with --queue: {"queued": the registration})
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
    if args.queue {
        return queue(context, args, title).await;
    }
    let artifacts = parse_artifacts(&args.artifacts)?;
    let stamper = context.stamper()?;
    let progress = DecodeProgress::new(
        &format!("fingerprinting {}", args.video.display()),
        args.json,
    );
    let bar = progress.clone_bar();
    let new = NewWork {
        id: uuid::Uuid::now_v7().simple().to_string(),
        video: args.video.clone(),
        title,
        owner: args.owner.or_else(|| context.config.owner.name.clone()),
        rights_statement: args.rights.clone().filter(|r| !r.trim().is_empty()),
        artifacts,
    };
    let store = context.open_store().await?;
    let registered = register_work(
        &store,
        &stamper,
        &context.config.limits,
        &new,
        move |position, info| bar.update(position, info),
    )
    .await;
    progress.finish();
    let (work, summary) = match registered {
        Ok(done) => done,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
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
            crate::store::short_id(&work.id),
            work.title,
            work.duration_s,
            work.width,
            work.height,
            work.frames
        );
        print_artifacts(&stored);
    }
    report_pending(&summary);
    Ok(())
}

/// `register --queue`: the video is copied into the blob store and queued.
async fn queue(context: &Context, args: RegisterArgs, title: String) -> anyhow::Result<()> {
    if !args.artifacts.is_empty() {
        return Err(InputError(
            "--artifact cannot be queued: queue the video alone, then add each stage with `reelguard works add-artifact WORK STAGE FILE` once `works list` shows it ready".into(),
        )
        .into());
    }
    let video = VideoToQueue {
        video: args.video.clone(),
        title,
        owner: args.owner.or_else(|| context.config.owner.name.clone()),
        rights_statement: args.rights.filter(|r| !r.trim().is_empty()),
        queued_by: QUEUED_BY_CLI.to_string(),
    };
    let blobs = context.blobs()?;
    let store = context.open_store().await?;
    let queued = queue_registration(&store, &blobs, &video).await;
    store.close().await;
    match queued? {
        Queued::New(upload) => {
            if args.json {
                let out = serde_json::json!({ "queued": UploadJson::from(upload.as_ref()) });
                println!("{out}");
            } else {
                println!(
                    "queued {} \"{}\" as registration {}; a running `reelguard daemon` fingerprints it (follow it with `reelguard works list`)",
                    args.video.display(),
                    upload.title,
                    crate::store::short_id(&upload.id)
                );
            }
            Ok(())
        }
        Queued::Already(Registration::Work { id, title }) => {
            Err(StoreError::AlreadyRegistered { id, title }.into())
        }
        Queued::Already(Registration::Queued(upload)) => Err(InputError(format!(
            "this video is already queued as registration {} (\"{}\", {}): follow it with `reelguard works list`",
            crate::store::short_id(&upload.id),
            upload.title,
            upload.state
        ))
        .into()),
    }
}

/// Who queued a registration made on the command line.
pub(super) const QUEUED_BY_CLI: &str = "cli";

pub(super) use crate::provenance::register::stamp_new;

/// Tells the user (on stderr) what is still waiting for a timestamp.
pub(super) fn report_pending(summary: &provenance::StampSummary) {
    if let Some((_, reason)) = summary.pending.first() {
        eprintln!(
            "warning: {} item(s) stored as \"pending timestamp\" ({reason}); `reelguard works timestamp` retries them",
            summary.pending.len()
        );
    }
}

pub(super) fn artifacts_json(artifacts: &[Artifact]) -> Vec<ArtifactJson> {
    artifacts.iter().map(ArtifactJson::from).collect()
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
