//! `reelguard register VIDEO --title T`: fingerprint a finished video and
//! store it as a work.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::progress::DecodeProgress;
use super::{absolute, round3, Context, InputError};
use crate::engine;
use crate::store::Work;

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
    /// Print the work as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(context: &Context, args: RegisterArgs) -> anyhow::Result<()> {
    let title = args.title.trim().to_string();
    if title.is_empty() {
        return Err(InputError("--title must not be empty".into()).into());
    }
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
        source_path: absolute(&args.video).display().to_string(),
        source_sha256: sha256,
        source_bytes: bytes as i64,
        duration_s: info.duration_s,
        width: i64::from(info.width),
        height: i64::from(info.height),
        codec: info.codec,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        frames: fingerprint.frames.len() as i64,
    };
    store.insert_work(&work, &fingerprint).await?;
    store.close().await;

    if args.json {
        let out = serde_json::json!({
            "work_id": work.id,
            "title": work.title,
            "duration_s": round3(work.duration_s),
            "frames": work.frames,
        });
        println!("{out}");
    } else {
        println!(
            "registered work {} \"{}\": {:.1} s, {}x{}, {} frames fingerprinted",
            work.id, work.title, work.duration_s, work.width, work.height, work.frames
        );
    }
    Ok(())
}
