//! `reelguard matches list|show|confirm|dismiss|license|claim|resolve`: what
//! the scans found, and its review (each status change recorded with time and note).
//! A match is named by its id, its short id (the last 8 characters, shown by
//! `matches list`) or the start of its id.

use clap::Subcommand;

use super::Context;
use crate::clock::{self, stored, to_seconds};
use crate::domain::MatchStatus;
use crate::shapes::{
    CaptureJson, LocationJson, MatchFullJson, MatchJson, ReviewDoneJson, ReviewJson,
};
use crate::store::{short_id, MatchFilter, MatchRecord, Store};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Subcommand)]
pub enum MatchesCommand {
    /// The matches, oldest first: every one, or those the filters select
    #[command(after_help = "Examples:\n  \
        reelguard matches list --status pending\n  \
        reelguard matches list --work \"My video\" --since 7d\n  \
        reelguard matches list --source tiktok-feed --since 2026-12-01 --json")]
    List {
        /// Only matches in this state: pending, confirmed, dismissed,
        /// licensed, claimed or resolved
        #[arg(long)]
        status: Option<MatchStatus>,
        /// Only matches of this work (id, short id or title)
        #[arg(long)]
        work: Option<String>,
        /// Only matches found by this source (its name)
        #[arg(long)]
        source: Option<String>,
        /// Only matches found since: a day (2026-12-01, UTC), an RFC 3339
        /// time, or a span back from now (36h, 7d)
        #[arg(long, value_parser = parse_since)]
        since: Option<Since>,
        #[arg(long)]
        json: bool,
    },
    /// One match in full (by id, short id or start of the id), with its
    /// review history and capture state
    #[command(
        after_help = "Examples:\n  reelguard matches show 5d0e77c1\n  reelguard matches show 5d0e77c1 --json"
    )]
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Confirm that a match is an infringement
    #[command(
        after_help = "Example:\n  reelguard matches confirm 5d0e77c1 --note \"mirrored copy of the intro\""
    )]
    Confirm(Review),
    /// Dismiss a match (not a copy, or not worth a claim)
    #[command(
        after_help = "Example:\n  reelguard matches dismiss 5d0e77c1 --note \"only the shared stock footage\""
    )]
    Dismiss(Review),
    /// Mark a match as licensed (the uploader may use the work)
    #[command(
        after_help = "Example:\n  reelguard matches license 5d0e77c1 --note \"licensed to the channel until 2027\""
    )]
    License(Review),
    /// Record that a claim was filed for a confirmed match
    #[command(
        after_help = "Example:\n  reelguard matches claim 5d0e77c1 --note \"DMCA notice sent on the YouTube form\""
    )]
    Claim(Review),
    /// Record that a claimed match was resolved (taken down, settled)
    #[command(after_help = "Example:\n  reelguard matches resolve 5d0e77c1 --note \"taken down\"")]
    Resolve(Review),
}

/// When a listing starts: a fixed time, or a span back from now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Since {
    At(DateTime<Utc>),
    Ago(chrono::Duration),
}

impl Since {
    fn time(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Since::At(time) => time,
            Since::Ago(span) => now - span,
        }
    }
}

/// `--since`: a day (UTC midnight), an RFC 3339 time, or `N` hours or
/// days back (`36h`, `7d`).
fn parse_since(value: &str) -> Result<Since, String> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        return Ok(Since::At(midnight.and_utc()));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(Since::At(time.with_timezone(&Utc)));
    }
    let span = |count: &str, hours: i64| {
        count
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .map(|n| Since::Ago(chrono::Duration::hours(n * hours)))
    };
    let parsed = match value.char_indices().last() {
        Some((at, 'h')) => span(&value[..at], 1),
        Some((at, 'd')) => span(&value[..at], 24),
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!(
            "{value:?}: give a day (2026-12-01), an RFC 3339 time, or hours or days back (36h, 7d)"
        )
    })
}

/// A review decision on one match.
#[derive(Debug, clap::Args)]
pub struct Review {
    /// The match (id, short id or start of the id)
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

/// Every match `filter` selects, oldest first, read a page at a time.
async fn all_matches(store: &Store, filter: &MatchFilter) -> anyhow::Result<Vec<MatchRecord>> {
    const PAGE: u32 = 500;
    let mut matches = Vec::new();
    loop {
        let page = store
            .page_of_matches(filter, PAGE, matches.len() as u64)
            .await?;
        let last = page.matches.len() < PAGE as usize;
        matches.extend(page.matches);
        if last || matches.len() as u64 >= page.total {
            break;
        }
    }
    matches.reverse();
    Ok(matches)
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
        MatchesCommand::List {
            status,
            work,
            source,
            since,
            json,
        } => {
            let work = match work {
                Some(query) => Some(store.find_work(&query).await?.id),
                None => None,
            };
            if let Some(name) = &source {
                store.get_source(name).await?;
            }
            let filter = MatchFilter {
                status,
                work,
                source,
                since: since.map(|s| s.time(clock::now())),
                ..MatchFilter::default()
            };
            let matches = all_matches(store, &filter).await?;
            if json {
                let list: Vec<_> = matches.iter().map(|m| MatchJson::new(m, false)).collect();
                println!("{}", serde_json::json!({ "matches": list }));
            } else if matches.is_empty() {
                println!("no matches");
            } else {
                for m in &matches {
                    println!(
                        "{}  [{}] \"{}\"  {}  on {} by {:?}  score {:.2}",
                        short_id(&m.id),
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
                println!("match {} (short: {}) [{}]", m.id, short_id(&m.id), m.status);
                println!(
                    "  work      \"{}\" ({})",
                    m.work_title,
                    short_id(&m.work_id)
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_day_a_time_or_a_span_back() {
        let now = "2026-12-07T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let at = |v: &str| parse_since(v).unwrap().time(now).to_rfc3339();
        assert_eq!(at("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("2026-12-01T08:00:00+08:00"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("36h"), "2026-12-06T00:00:00+00:00");
        assert_eq!(at("7d"), "2026-11-30T12:00:00+00:00");
        for bad in ["", "7", "d", "-3d", "0d", "7w", "yesterday", "7天"] {
            assert!(parse_since(bad).is_err(), "{bad:?} accepted");
        }
    }
}
