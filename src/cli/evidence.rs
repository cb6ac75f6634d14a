//! `reelguard evidence capture MATCH` (capture now, or again) and
//! `reelguard evidence export MATCH -o claim.zip` (the evidence bundle).

use crate::clock::to_seconds;
use crate::domain::CaptureState;
use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, InputError};
use crate::evidence::bundle;
use crate::evidence::capture::{self, CaptureEnv};

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Capture a match's upload now (again, when an earlier capture failed)
    #[command(after_help = "Example:\n  reelguard evidence capture 5d0e77c1")]
    Capture {
        /// The match (id, short id or start of the id)
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the evidence bundle of a match: capture, frames, work provenance,
    /// report, takedown notices, all hashed and timestamped
    #[command(
        after_help = "Examples:\n  reelguard evidence export 5d0e77c1 -o claim.zip\n  reelguard verify claim.zip"
    )]
    Export {
        /// The match (id, short id or start of the id)
        id: String,
        /// The zip to write
        #[arg(short, long, value_name = "FILE.zip")]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(context: &Context, command: EvidenceCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    let data_dir = context.data_dir()?;
    let settings = context.config.capture_settings();
    let media_dir = settings.media_dir_in(&data_dir);
    let env = CaptureEnv {
        store: &store,
        settings: &settings,
        data_dir: &data_dir,
        media_dir: &media_dir,
    };
    let result = match command {
        EvidenceCommand::Capture { id, json } => {
            let m = store.find_match(&id).await?;
            let of = crate::store::CaptureOf::Match(m.id.clone());
            let record = capture::run(&env, None, &of).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "match_id": record.match_id,
                        "state": record.state,
                        "attempts": record.attempts,
                        "error": record.error,
                        "files": record.files,
                        "manifest_sha256": record.manifest_sha256,
                        "tsa_time": record.tsa_time.map(to_seconds),
                    })
                );
            } else {
                println!("capture of match {}: {}", record.match_id, record.state);
                for f in &record.files {
                    println!("  {}  {} bytes", f.path, f.size);
                }
                if let Some(time) = record.tsa_time {
                    println!("  capture manifest timestamped at {}", to_seconds(time));
                }
                if let Some(error) = &record.error {
                    println!("  failed: {error}");
                }
            }
            if record.state == CaptureState::Done {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the capture of match {} failed: {}; run this command again to retry",
                    record.match_id,
                    record.error.as_deref().unwrap_or("unknown error")
                ))
            }
        }
        EvidenceCommand::Export { id, output, json } => {
            if output.is_dir() {
                return Err(InputError(format!(
                    "-o {}: is a directory; give a file name such as claim.zip",
                    output.display()
                ))
                .into());
            }
            let stamper = context.stamper()?;
            let exported = bundle::export(&env, &stamper, &id, &output).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": output,
                        "files": exported.files.iter().map(|(p, s)| serde_json::json!({"path": p, "size": s})).collect::<Vec<_>>(),
                        "timestamped": exported.manifest_stamped,
                        "notes": exported.notes,
                    })
                );
            } else {
                println!(
                    "wrote {} ({} files)",
                    output.display(),
                    exported.files.len()
                );
                for (path, size) in &exported.files {
                    println!("  {path}  {size} bytes");
                }
                for note in &exported.notes {
                    println!("note: {note}");
                }
                println!("check it with: reelguard verify {}", output.display());
            }
            Ok(())
        }
    };
    store.close().await;
    result
}
