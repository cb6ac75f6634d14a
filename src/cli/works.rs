//! `reelguard works list|show|remove`.

use clap::Subcommand;

use super::Context;
use crate::store::Work;

#[derive(Debug, Subcommand)]
pub enum WorksCommand {
    /// List registered works
    List {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one work (by id or a unique prefix of it)
    Show {
        id: String,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a work and its fingerprint (by id or a unique prefix of it)
    Remove { id: String },
}

pub async fn run(context: &Context, command: WorksCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    match command {
        WorksCommand::List { json } => {
            let works = store.list_works().await?;
            if json {
                let works: Vec<_> = works.iter().map(work_json).collect();
                println!("{}", serde_json::json!({ "works": works }));
            } else if works.is_empty() {
                println!(
                    "no works registered yet; add one with `reelguard register VIDEO --title T`"
                );
            } else {
                for work in &works {
                    println!(
                        "{}  {:>7.1} s  {:>5} frames  {}",
                        work.id, work.duration_s, work.frames, work.title
                    );
                }
            }
        }
        WorksCommand::Show { id, json } => {
            let work = store.find_work(&id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&work_json(&work))?);
            } else {
                println!("id:        {}", work.id);
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
                println!("created:   {}", work.created_at);
            }
        }
        WorksCommand::Remove { id } => {
            let work = store.find_work(&id).await?;
            store.remove_work(&work.id).await?;
            println!("removed work {} \"{}\"", work.id, work.title);
        }
    }
    store.close().await;
    Ok(())
}

fn work_json(work: &Work) -> serde_json::Value {
    serde_json::json!({
        "work_id": work.id,
        "title": work.title,
        "owner": work.owner,
        "duration_s": work.duration_s,
        "frames": work.frames,
        "width": work.width,
        "height": work.height,
        "codec": work.codec,
        "source_path": work.source_path,
        "source_sha256": work.source_sha256,
        "created_at": work.created_at,
    })
}
