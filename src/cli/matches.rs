//! `reelguard matches list|show|confirm|dismiss|license|claim|resolve`: what
//! the scans found, and its review (each status change recorded with time and note).

use clap::Subcommand;

use super::Context;
use crate::clock::{self, stored, to_seconds};
use crate::domain::{CaptureState, MatchStatus, StoredSegment};
use crate::store::{CaptureRecord, CapturedFile, MatchRecord, StatusChange, Store};

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

/// A match as `matches list --json` (and, with the details, `matches show
/// --json`) shows it.
#[derive(serde::Serialize)]
struct MatchJson<'a> {
    id: &'a str,
    work_id: &'a str,
    candidate_url: &'a str,
    platform: &'a str,
    uploader: &'a str,
    score: f64,
    status: MatchStatus,
    segments: &'a [StoredSegment],
    #[serde(flatten)]
    details: Option<MatchDetailsJson<'a>>,
}

#[derive(serde::Serialize)]
struct MatchDetailsJson<'a> {
    work_title: &'a str,
    candidate_title: &'a str,
    published_at: Option<String>,
    media_url: Option<&'a str>,
    media_sha256: Option<&'a str>,
    source: &'a str,
    scan_id: &'a str,
    created_at: String,
}

/// One review step (`matches show --json`, and the answer of a review).
#[derive(serde::Serialize)]
struct ReviewJson<'a> {
    from: MatchStatus,
    to: MatchStatus,
    note: Option<&'a str>,
    at: String,
}

impl<'a> From<&'a StatusChange> for ReviewJson<'a> {
    fn from(c: &'a StatusChange) -> Self {
        ReviewJson {
            from: c.from,
            to: c.to,
            note: c.note.as_deref(),
            at: to_seconds(c.at),
        }
    }
}

#[derive(serde::Serialize)]
struct CaptureJson<'a> {
    state: CaptureState,
    attempts: i64,
    error: Option<&'a str>,
    files: &'a [CapturedFile],
    manifest_sha256: Option<&'a str>,
    tsa_time: Option<String>,
    finished_at: Option<String>,
}

impl<'a> From<&'a CaptureRecord> for CaptureJson<'a> {
    fn from(c: &'a CaptureRecord) -> Self {
        CaptureJson {
            state: c.state,
            attempts: c.attempts,
            error: c.error.as_deref(),
            files: &c.files,
            manifest_sha256: c.manifest_sha256.as_deref(),
            tsa_time: c.tsa_time.map(to_seconds),
            finished_at: c.finished_at.map(to_seconds),
        }
    }
}

fn to_json(m: &MatchRecord, full: bool) -> MatchJson<'_> {
    MatchJson {
        id: &m.id,
        work_id: &m.work_id,
        candidate_url: &m.candidate_url,
        platform: &m.platform,
        uploader: &m.uploader,
        score: m.score,
        status: m.status,
        segments: &m.segments,
        details: full.then(|| MatchDetailsJson {
            work_title: &m.work_title,
            candidate_title: &m.candidate_title,
            published_at: m.published_at.map(to_seconds),
            media_url: m.media_url.as_deref(),
            media_sha256: m.media_sha256.as_deref(),
            source: &m.source,
            scan_id: &m.scan_id,
            created_at: stored(m.created_at),
        }),
    }
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
        .set_match_status(&m.id, to, review.note.as_deref(), clock::now())
        .await?;
    if review.json {
        println!(
            "{}",
            serde_json::json!({
                "id": m.id,
                "from": change.from,
                "status": change.to,
                "note": change.note,
                "at": to_seconds(change.at),
            })
        );
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
                let mut value = serde_json::json!(to_json(&m, true));
                let history: Vec<ReviewJson> = history.iter().map(ReviewJson::from).collect();
                value["history"] = serde_json::json!(history);
                value["capture"] = serde_json::json!(CaptureJson::from(&capture));
                println!("{value}");
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
                        "  {}  {} -> {}{}",
                        to_seconds(change.at),
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
