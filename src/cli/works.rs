//! `reelguard works list|show|import|remove|add-artifact|timestamp|certificate|export`.
//!
//! A work is named by its id, its short id (the last 8 characters, shown by
//! `works list`), the start of its id, or its title.

use crate::clock::to_seconds;
use clap::Subcommand;

use std::path::PathBuf;

use anyhow::Context as _;

use super::{confirm, register, Context, InputError};
use crate::domain::UploadState;
use crate::provenance;
use crate::store::short_id;

#[derive(Debug, Subcommand)]
pub enum WorksCommand {
    /// List registered works (short id, duration, frames, title), then the
    /// registrations not done yet (queued, fingerprinting, failed)
    #[command(after_help = "Examples:\n  reelguard works list\n  reelguard works list --json")]
    List {
        /// Print as JSON: {"works": [...], "registrations": [...]}
        #[arg(long)]
        json: bool,
    },
    /// Queue every video of a folder for registration by the daemon's
    /// workers (all nodes of a cluster); videos already registered or
    /// queued are skipped
    Import(super::import::ImportArgs),
    /// Show one work (by id, short id or title)
    #[command(
        after_help = "Examples:\n  reelguard works show a1b2c3d4\n  reelguard works show \"My video\" --json"
    )]
    Show {
        id: String,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a work and its fingerprint (by id, short id or title); asks
    /// first unless --yes
    #[command(
        after_help = "Examples:\n  reelguard works remove a1b2c3d4\n  reelguard works remove a1b2c3d4 --yes --json"
    )]
    Remove {
        id: String,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print as JSON: {"removed": {"work_id", "title"}}
        #[arg(long)]
        json: bool,
    },
    /// Add a creation-stage file to a work: hashed, chained and timestamped
    #[command(
        after_help = "Examples:\n  reelguard works add-artifact \"My video\" music soundtrack.wav\n  reelguard works add-artifact a1b2c3d4 storyboard board.png --json"
    )]
    AddArtifact {
        /// The work (id, short id or title)
        work: String,
        /// concept, script, storyboard, raw-footage, edit-log, project-file,
        /// music, subtitles or rights-statement
        stage: String,
        file: PathBuf,
        /// Print the work's artifacts as JSON
        #[arg(long)]
        json: bool,
    },
    /// Retry the timestamps still pending (of one work, or of all)
    #[command(
        after_help = "Examples:\n  reelguard works timestamp\n  reelguard works timestamp \"My video\" --json"
    )]
    Timestamp {
        /// The work (id, short id or title) [default: all works]
        work: Option<String>,
        /// Print as JSON: {"stamped", "pending": [{"item", "reason"}]}
        #[arg(long)]
        json: bool,
    },
    /// Write a work's provenance certificate (PDF or HTML, by the extension)
    #[command(
        after_help = "Examples:\n  reelguard works certificate a1b2c3d4 -o cert.pdf\n  reelguard works certificate \"My video\" -o cert.html --json"
    )]
    Certificate {
        /// The work (id, short id or title)
        work: String,
        /// Output file: .pdf or .html
        #[arg(short, long)]
        output: PathBuf,
        /// Print as JSON: {"certificate", "draft"} (draft: null, or what is not yet timestamped)
        #[arg(long)]
        json: bool,
    },
    /// Write a work's provenance package: hashes, tokens, TSA certificates,
    /// certificate, manifest and VERIFY.md
    #[command(
        after_help = "Examples:\n  reelguard works export a1b2c3d4 -o work.zip\n  reelguard verify work.zip"
    )]
    Export {
        /// The work (id, short id or title)
        work: String,
        /// Output file (.zip)
        #[arg(short, long)]
        output: PathBuf,
        /// Print as JSON: {"package", "pending"} (pending: items not yet timestamped)
        #[arg(long)]
        json: bool,
    },
}

fn print_works(works: &[crate::store::Work], registrations: &[crate::store::UploadRecord]) {
    if works.is_empty() && registrations.is_empty() {
        println!("no works registered yet; add one with `reelguard register VIDEO --title T`");
        return;
    }
    for work in works {
        println!(
            "{}  {:>7.1} s  {:>5} frames  {}",
            short_id(&work.id),
            work.duration_s,
            work.frames,
            work.title
        );
    }
    if registrations.is_empty() {
        return;
    }
    println!("registrations not done yet:");
    for upload in registrations {
        let state = match (upload.state, &upload.error) {
            (UploadState::Fingerprinting, _) => {
                format!("fingerprinting {:>3.0}%", upload.progress * 100.0)
            }
            (UploadState::Failed, Some(error)) => format!("failed: {error}"),
            (state, _) => state.to_string(),
        };
        println!("{}  {}  {state}", short_id(&upload.id), upload.title);
    }
}

pub async fn run(context: &Context, command: WorksCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    match command {
        WorksCommand::List { json } => {
            let works = store.list_works().await?;
            let registrations = store.unfinished_uploads().await?;
            if json {
                let works: Vec<_> = works.iter().map(crate::shapes::WorkJson::from).collect();
                let registrations: Vec<_> = registrations
                    .iter()
                    .map(crate::shapes::UploadJson::from)
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "works": works, "registrations": registrations })
                );
            } else {
                print_works(&works, &registrations);
            }
        }
        WorksCommand::Import(args) => super::import::run(context, &store, args).await?,
        WorksCommand::Show { id, json } => {
            let work = store.find_work(&id).await?;
            if json {
                let artifacts = store.artifacts(&work.id).await?;
                let head = store.chain_heads(&work.id).await?.pop();
                let out = crate::shapes::WorkFullJson::new(&work, &artifacts, head.as_ref());
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                let artifacts = store.artifacts(&work.id).await?;
                let head = store.chain_heads(&work.id).await?.pop();
                println!("id:        {} (short: {})", work.id, short_id(&work.id));
                println!("title:     {}", work.title);
                println!("owner:     {}", work.owner.as_deref().unwrap_or("-"));
                println!("duration:  {:.1} s", work.duration_s);
                println!("size:      {}x{} ({})", work.width, work.height, work.codec);
                println!("frames:    {}", work.frames);
                println!("source:    {}", work.source_path);
                println!(
                    "sha256:    {} ({} bytes)",
                    work.source_sha256, work.source_bytes
                );
                println!("created:   {}", to_seconds(work.created_at));
                if let Some(rights) = &work.rights_statement {
                    println!("rights:    {rights}");
                }
                println!("artifacts: {}", artifacts.len());
                register::print_artifacts(&artifacts);
                if let Some(head) = head {
                    let stamp = match &head.stamp {
                        Some(s) => {
                            format!("timestamped {} by {}", to_seconds(s.tsa_time), s.tsa_name)
                        }
                        None => "pending timestamp".into(),
                    };
                    println!("chain head: {} ({stamp})", head.head_hash);
                }
            }
        }
        WorksCommand::AddArtifact {
            work,
            stage,
            file,
            json,
        } => {
            let work = store.find_work(&work).await?;
            let stage = provenance::parse_stage(&stage).map_err(InputError)?;
            if !file.is_file() {
                return Err(
                    InputError(format!("{} is not a readable file", file.display())).into(),
                );
            }
            let stamper = context.stamper()?;
            let artifact = provenance::describe_file(stage, &file)?;
            store.append_artifacts(&work.id, &[artifact]).await?;
            let summary = register::stamp_new(&store, &stamper, Some(&work.id)).await?;
            let artifacts = store.artifacts(&work.id).await?;
            if json {
                let out = serde_json::json!({
                    "work_id": work.id,
                    "artifacts": register::artifacts_json(&artifacts),
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "work {} \"{}\" now has {} artifacts:",
                    work.id,
                    work.title,
                    artifacts.len()
                );
                register::print_artifacts(&artifacts);
            }
            register::report_pending(&summary);
        }
        WorksCommand::Timestamp { work, json } => {
            let work_id = match work {
                Some(query) => Some(store.find_work(&query).await?.id),
                None => None,
            };
            let stamper = context.stamper()?;
            let summary = register::stamp_new(&store, &stamper, work_id.as_deref()).await?;
            if json {
                let pending: Vec<_> = summary
                    .pending
                    .iter()
                    .map(|(item, reason)| {
                        serde_json::json!({
                            "item": provenance::describe_pending(item),
                            "reason": reason,
                        })
                    })
                    .collect();
                let out = serde_json::json!({ "stamped": summary.stamped, "pending": pending });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{} timestamp(s) obtained", summary.stamped);
                for (item, reason) in &summary.pending {
                    println!(
                        "still pending: {}: {reason}",
                        provenance::describe_pending(item)
                    );
                }
            }
            if !summary.pending.is_empty() {
                anyhow::bail!(
                    "{} item(s) are still pending a timestamp",
                    summary.pending.len()
                );
            }
        }
        WorksCommand::Certificate { work, output, json } => {
            let work = store.find_work(&work).await?;
            let (artifacts, head) = provenance::load_chain(&store, &work).await?;
            let data = provenance::certificate_data(
                &work,
                &artifacts,
                &head,
                &context.config.owner,
                &context.config.http.public_url,
                provenance::certificate::DEFAULT_PACKAGE_FILE,
            );
            let bytes = match output
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("pdf") => provenance::certificate::render_pdf(&data)?,
                Some("html" | "htm") => provenance::certificate::render_html(&data).into_bytes(),
                _ => {
                    return Err(InputError(format!(
                        "-o {}: the certificate is written as .pdf or .html",
                        output.display()
                    ))
                    .into())
                }
            };
            std::fs::write(&output, bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
            let draft = provenance::certificate::Draft::of(&data);
            if json {
                let out = serde_json::json!({
                    "certificate": output,
                    "draft": draft.as_ref().map(|d| d.both()),
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("certificate: {}", output.display());
            }
            if let Some(draft) = draft {
                eprintln!(
                    "warning: {}: the certificate says DRAFT at the top; run `reelguard works timestamp {}` and make it again",
                    draft.both(),
                    work.id
                );
            }
        }
        WorksCommand::Export { work, output, json } => {
            let work = store.find_work(&work).await?;
            let stamper = context.stamper()?;
            let pending = provenance::export_package(
                &store,
                &stamper,
                &work,
                &context.config.owner,
                &context.config.http.public_url,
                &output,
            )
            .await?;
            if json {
                let out = serde_json::json!({ "package": output, "pending": pending });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("provenance package: {}", output.display());
            }
            if pending > 0 {
                eprintln!(
                    "warning: DRAFT: {pending} item(s) are still pending a timestamp (the package and its certificate say DRAFT at the top); verify will report them until `reelguard works timestamp` succeeds and you export again"
                );
            }
        }
        WorksCommand::Remove { id, yes, json } => {
            let work = store.find_work(&id).await?;
            confirm(
                &format!(
                    "Remove work {} {:?} and its fingerprint, stages and matches?",
                    short_id(&work.id),
                    work.title
                ),
                yes,
            )?;
            store.remove_work(&work.id).await?;
            if json {
                let out = serde_json::json!({
                    "removed": { "work_id": work.id, "title": work.title },
                });
                println!("{out}");
            } else {
                println!("removed work {} \"{}\"", short_id(&work.id), work.title);
            }
        }
    }
    store.close().await;
    Ok(())
}
