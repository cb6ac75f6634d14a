//! `reelguard match VIDEO`: look for registered works in a video.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::progress::DecodeProgress;
use super::{round3, Context};
use crate::engine::{self, Catalog};
use crate::fingerprint::{Track, View};
use crate::matcher::Segment;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reelguard match suspicious-upload.mp4\n  reelguard match suspicious-upload.mp4 --json"
)]
pub struct MatchArgs {
    /// The video to check (any format FFmpeg reads)
    pub video: PathBuf,
    /// Print the matches as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(context: &Context, args: MatchArgs) -> anyhow::Result<()> {
    let config = context.config.matching.clone();
    let limits = context.config.limits.clone();
    let path = args.video.clone();
    let progress = DecodeProgress::new(&format!("fingerprinting {}", path.display()), args.json);
    let bar = progress.clone_bar();
    let decode = tokio::task::spawn_blocking(move || {
        engine::fingerprint_candidate(&path, &limits, |position, info| bar.update(position, info))
    });
    let store = context.open_store().await?;
    let catalog = Catalog::load(&store, &config).await?;
    store.close().await;
    let (info, query) = decode.await.context("fingerprinting task failed")??;
    progress.finish();
    for work in &catalog.stale {
        tracing::warn!(work = %work.work.id, "{}", work.advice());
    }
    let segments = tokio::task::block_in_place(|| {
        catalog.find_in_video(
            &args.video,
            &context.config.limits,
            query,
            info.duration_s,
            &config,
        )
    })
    .with_context(|| format!("second look at {}", args.video.display()))?;
    let found = catalog.found(segments);

    if args.json {
        let matches: Vec<serde_json::Value> = found
            .iter()
            .map(|f| {
                serde_json::json!({
                    "work_id": f.work.id,
                    "title": f.work.title,
                    "score": round3(f.segment.score),
                    "query_start_s": round3(f.segment.query_start_s),
                    "query_end_s": round3(f.segment.query_end_s),
                    "work_start_s": round3(f.segment.work_start_s),
                    "work_end_s": round3(f.segment.work_end_s),
                    "matched_frames": f.segment.matched_frames(),
                    "views": views_json(&f.segment),
                })
            })
            .collect();
        let out = serde_json::json!({
            "query": args.video.display().to_string(),
            "duration_s": round3(info.duration_s),
            "matches": matches,
        });
        println!("{out}");
        return Ok(());
    }
    if found.is_empty() {
        println!(
            "{}: no registered work found ({:.1} s checked against {} works)",
            args.video.display(),
            info.duration_s,
            catalog.works().count()
        );
        return Ok(());
    }
    println!(
        "{}: {} matching segment(s)",
        args.video.display(),
        found.len()
    );
    for f in &found {
        let s = &f.segment;
        println!(
            "  \"{}\" (work {})  score {:.2}  video {:.1}-{:.1} s  <->  work {:.1}-{:.1} s  ({} frames, speed {:.2}x)",
            f.work.title,
            crate::store::short_id(&f.work.id),
            s.score,
            s.query_start_s,
            s.query_end_s,
            s.work_start_s,
            s.work_end_s,
            s.matched_frames(),
            s.speed
        );
    }
    Ok(())
}

/// How the copy was disguised, as far as the matching probes tell: the
/// work's part that was met, the candidate's view, mirroring, where in the
/// candidate frame the work was seen, and the speed.
pub fn views_json(segment: &Segment) -> serde_json::Value {
    let Some(views) = segment.views() else {
        return serde_json::Value::Null;
    };
    let work_part = match views.track {
        Track::Main => "picture",
        Track::Centre => "centre",
        Track::Strip => "strip",
        Track::Keypoints => "keypoints",
    };
    let view = match views.view {
        View::Crop(_) => "picture inside bars",
        View::Active(_) => "sharp moving region",
        View::Inner(_) => "inner picture",
        View::Derotated(_) => "turned back",
        View::Uncovered(_) => "boxes painted over",
        View::Centre => "cropped or zoomed window",
        View::Strip => "narrow window",
        View::Keypoints => "keypoints fitted to one transform",
        View::Placed(_) => "window placed by keypoints",
    };
    let rotation = match views.view {
        View::Derotated(clockwise) => Some(if clockwise {
            "clockwise"
        } else {
            "anticlockwise"
        }),
        _ => None,
    };
    let w = views.window;
    serde_json::json!({
        "work_part": work_part,
        "view": view,
        "mirrored": views.mirrored_share >= 0.5,
        "content_rect": {
            "x": round3(f64::from(w.x)),
            "y": round3(f64::from(w.y)),
            "width": round3(f64::from(w.width)),
            "height": round3(f64::from(w.height)),
        },
        "crop_share": round3(1.0 - f64::from(w.width * w.height).min(1.0)),
        "rotation": rotation,
        "speed": round3(segment.speed),
    })
}
