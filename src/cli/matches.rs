//! `reelguard matches list|show|confirm|dismiss|license|claim|resolve`: what
//! the scans found, and its review (each status change recorded with time and note).

use clap::Subcommand;

use super::Context;
use crate::store::{MatchRecord, Store};

#[derive(Debug, Subcommand)]
pub enum MatchesCommand {
    /// Every match, oldest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// One match in full (any unique prefix of its id), with its review
    /// history and capture state
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Confirm that a match is an infringement
    Confirm(Review),
    /// Dismiss a match (not a copy, or not worth a claim)
    Dismiss(Review),
    /// Mark a match as licensed (the uploader may use the work)
    License(Review),
    /// Record that a claim was filed for a confirmed match
    Claim(Review),
    /// Record that a claimed match was resolved (taken down, settled)
    Resolve(Review),
}

/// A review decision on one match.
#[derive(Debug, clap::Args)]
pub struct Review {
    /// The match (any unique prefix of its id)
    id: String,
    /// Why, in your words (kept in the status history)
    #[arg(long)]
    note: Option<String>,
    #[arg(long)]
    json: bool,
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

async fn review(store: &Store, to: &str, review: Review) -> anyhow::Result<()> {
    let m = store.find_match(&review.id).await?;
    let now = crate::timestamp::format_time(&chrono::Utc::now());
    let change = store
        .set_match_status(&m.id, to, review.note.as_deref(), &now)
        .await?;
    if review.json {
        println!(
            "{}",
            serde_json::json!({"id": m.id, "from": change.from, "status": change.to, "note": change.note, "at": change.at})
        );
    } else {
        println!(
            "match {}: {} -> {} at {}",
            m.id, change.from, change.to, change.at
        );
    }
    Ok(())
}

pub async fn run(context: &Context, command: MatchesCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    let result = run_with(&store, command).await;
    store.close().await;
    result
}

async fn run_with(store: &Store, command: MatchesCommand) -> anyhow::Result<()> {
    match command {
        MatchesCommand::Confirm(r) => review(store, "confirmed", r).await?,
        MatchesCommand::Dismiss(r) => review(store, "dismissed", r).await?,
        MatchesCommand::License(r) => review(store, "licensed", r).await?,
        MatchesCommand::Claim(r) => review(store, "claimed", r).await?,
        MatchesCommand::Resolve(r) => review(store, "resolved", r).await?,
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
            let history = store.status_history(&m.id).await?;
            let capture = store.capture(&m.id).await?;
            if json {
                let mut value = to_json(&m, true);
                value["history"] = serde_json::json!(history);
                value["capture"] = serde_json::json!({
                    "state": capture.state,
                    "attempts": capture.attempts,
                    "error": capture.error,
                    "files": capture.files,
                    "manifest_sha256": capture.manifest_sha256,
                    "tsa_time": capture.tsa_time,
                    "finished_at": capture.finished_at,
                });
                println!("{value}");
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
                println!(
                    "  capture   {} ({} attempt(s)){}{}",
                    capture.state,
                    capture.attempts,
                    capture
                        .tsa_time
                        .as_deref()
                        .map(|t| format!(", timestamped {t}"))
                        .unwrap_or_default(),
                    capture
                        .error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
                for f in &capture.files {
                    println!("    {}  {} bytes", f.path, f.size);
                }
                for change in &history {
                    println!(
                        "  {}  {} -> {}{}",
                        change.at,
                        change.from,
                        change.to,
                        change
                            .note
                            .as_deref()
                            .map(|n| format!("  ({n})"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}
