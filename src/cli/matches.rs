//! `reelguard matches list|show`: what the scans found.

use clap::Subcommand;

use super::Context;
use crate::store::MatchRecord;

#[derive(Debug, Subcommand)]
pub enum MatchesCommand {
    /// Every match, oldest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// One match in full (any unique prefix of its id)
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn to_json(m: &MatchRecord, full: bool) -> serde_json::Value {
    let segments: serde_json::Value =
        serde_json::from_str(&m.segments).unwrap_or(serde_json::Value::Array(Vec::new()));
    let mut value = serde_json::json!({
        "id": m.id,
        "work_id": m.work_id,
        "candidate_url": m.candidate_url,
        "platform": m.platform,
        "uploader": m.uploader,
        "score": m.score,
        "status": m.status,
        "segments": segments,
    });
    if full {
        let extra = serde_json::json!({
            "work_title": m.work_title,
            "candidate_title": m.candidate_title,
            "published_at": m.published_at,
            "media_url": m.media_url,
            "media_sha256": m.media_sha256,
            "source": m.source,
            "scan_id": m.scan_id,
            "created_at": m.created_at,
        });
        if let (Some(v), serde_json::Value::Object(e)) = (value.as_object_mut(), extra) {
            v.extend(e);
        }
    }
    value
}

fn print_segments(m: &MatchRecord) {
    let segments: Vec<serde_json::Value> = serde_json::from_str(&m.segments).unwrap_or_default();
    for s in segments {
        println!(
            "    upload {:.1}-{:.1} s  <->  work {:.1}-{:.1} s  (score {:.2}, {} frames)",
            s["query_start_s"].as_f64().unwrap_or(0.0),
            s["query_end_s"].as_f64().unwrap_or(0.0),
            s["work_start_s"].as_f64().unwrap_or(0.0),
            s["work_end_s"].as_f64().unwrap_or(0.0),
            s["score"].as_f64().unwrap_or(0.0),
            s["matched_frames"].as_u64().unwrap_or(0),
        );
    }
}

pub async fn run(context: &Context, command: MatchesCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    match command {
        MatchesCommand::List { json } => {
            let matches = store.list_matches().await?;
            if json {
                let list: Vec<_> = matches.iter().map(|m| to_json(m, false)).collect();
                println!("{}", serde_json::json!({ "matches": list }));
            } else if matches.is_empty() {
                println!("no matches");
            } else {
                for m in &matches {
                    println!(
                        "{}  [{}] \"{}\"  {}  on {} by {:?}  score {:.2}",
                        m.id,
                        m.status,
                        m.work_title,
                        m.candidate_url,
                        m.platform,
                        m.uploader,
                        m.score
                    );
                    print_segments(m);
                }
            }
        }
        MatchesCommand::Show { id, json } => {
            let m = store.find_match(&id).await?;
            if json {
                println!("{}", to_json(&m, true));
            } else {
                println!("match {} [{}]", m.id, m.status);
                println!("  work      \"{}\" ({})", m.work_title, m.work_id);
                println!("  upload    {} ({:?})", m.candidate_url, m.candidate_title);
                println!(
                    "  platform  {}  uploader {:?}  published {}",
                    m.platform,
                    m.uploader,
                    m.published_at.as_deref().unwrap_or("unknown")
                );
                println!(
                    "  media     {}  sha256 {}",
                    m.media_url.as_deref().unwrap_or("-"),
                    m.media_sha256.as_deref().unwrap_or("-")
                );
                println!(
                    "  found by  source {} (scan {}) at {}",
                    m.source, m.scan_id, m.created_at
                );
                println!("  score     {:.3}", m.score);
                print_segments(&m);
            }
        }
    }
    store.close().await;
    Ok(())
}
