//! `reelguard matches list|show|confirm|dismiss|license|claim|resolve`: what
//! the scans found, and its review (each status change recorded with time and note).

use clap::Subcommand;

use super::Context;
use crate::clock::{self, stored, to_seconds};
use crate::domain::MatchStatus;
use crate::shapes::{
    CaptureJson, LocationJson, MatchFullJson, MatchJson, ReviewDoneJson, ReviewJson,
};
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

fn print_segments(m: &MatchRecord) {
    for s in &m.segments {
        println!(
            "    upload {:.1}-{:.1} s  <->  work {:.1}-{:.1} s  (score {:.2}, {} frames)",
            s.query_start_s, s.query_end_s, s.work_start_s, s.work_end_s, s.score, s.matched_frames,
        );
    }
}

async fn review(store: &Store, to: MatchStatus, review: Review) -> anyhow::Result<()> {
    let m = store.find_match(&review.id).await?;
    let change = store
        .set_match_status(&m.id, to, review.note.as_deref(), None, clock::now())
        .await?;
    if review.json {
        let done = ReviewDoneJson {
            id: m.id.clone(),
            from: change.from,
            status: change.to,
            note: change.note.clone(),
            at: to_seconds(change.at),
        };
        println!("{}", serde_json::json!(done));
    } else {
        println!(
            "match {}: {} -> {} at {}",
            m.id,
            change.from,
            change.to,
            to_seconds(change.at)
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
        MatchesCommand::Confirm(r) => review(store, MatchStatus::Confirmed, r).await?,
        MatchesCommand::Dismiss(r) => review(store, MatchStatus::Dismissed, r).await?,
        MatchesCommand::License(r) => review(store, MatchStatus::Licensed, r).await?,
        MatchesCommand::Claim(r) => review(store, MatchStatus::Claimed, r).await?,
        MatchesCommand::Resolve(r) => review(store, MatchStatus::Resolved, r).await?,
        MatchesCommand::List { json } => {
            let matches = store.list_matches().await?;
            if json {
                let list: Vec<_> = matches.iter().map(|m| MatchJson::new(m, false)).collect();
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
            let locations = store.captured_locations(&m.id).await?;
            if json {
                let full = MatchFullJson {
                    summary: MatchJson::new(&m, true),
                    locations: locations
                        .iter()
                        .map(|(l, capture)| LocationJson::new(l, capture))
                        .collect(),
                    history: history.iter().map(ReviewJson::from).collect(),
                    capture: CaptureJson::from(&capture),
                };
                println!("{}", serde_json::json!(full));
            } else {
                println!("match {} [{}]", m.id, m.status);
                println!("  work      \"{}\" ({})", m.work_title, m.work_id);
                println!("  upload    {} ({:?})", m.candidate_url, m.candidate_title);
                println!(
                    "  platform  {}  uploader {:?}  published {}",
                    m.platform,
                    m.uploader,
                    m.published_at
                        .map(to_seconds)
                        .as_deref()
                        .unwrap_or("unknown")
                );
                println!(
                    "  media     {}  sha256 {}",
                    m.media_url.as_deref().unwrap_or("-"),
                    m.media_sha256.as_deref().unwrap_or("-")
                );
                println!(
                    "  found by  source {} (scan {}) at {}",
                    m.source,
                    m.scan_id,
                    stored(m.created_at)
                );
                for (l, capture) in &locations {
                    println!(
                        "  also at   {} ({} by {:?}; capture {})",
                        l.canonical_url, l.platform, l.uploader, capture.state
                    );
                }
                println!("  score     {:.3}", m.score);
                print_segments(&m);
                println!(
                    "  capture   {} ({} attempt(s)){}{}",
                    capture.state,
                    capture.attempts,
                    capture
                        .tsa_time
                        .map(|t| format!(", timestamped {}", to_seconds(t)))
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
                        "  {}  {} -> {}{}  by {}",
                        to_seconds(change.at),
                        change.from,
                        change.to,
                        change
                            .note
                            .as_deref()
                            .map(|n| format!("  ({n})"))
                            .unwrap_or_default(),
                        change.actor.as_deref().unwrap_or("the command line")
                    );
                }
            }
        }
    }
    Ok(())
}
