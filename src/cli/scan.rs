//! `reelguard scan [SOURCE]` (scan now and wait) and `reelguard scans list`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::clock;
use crate::daemon::{self, Pipeline};
use crate::domain::ScanStatus;
use crate::shapes::ScanJson;
use crate::store::{Scan, Store};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  reelguard scan\n  reelguard scan tiktok-feed --json")]
pub struct ScanArgs {
    /// The source to scan [default: every source]
    pub source: Option<String>,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScansCommand {
    /// The most recent scans, newest first
    #[command(after_help = "Examples:\n  reelguard scans list\n  reelguard scans list --json")]
    List {
        /// How many scans to show
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

/// Opens the store and builds the pipeline, with the config file's sources synced.
pub async fn open_pipeline(context: &Context) -> anyhow::Result<Arc<Pipeline>> {
    let store = Arc::new(context.open_store().await?);
    daemon::sync_config_sources(&store, &context.config.sources).await?;
    let data_dir = context.data_dir()?;
    Ok(Arc::new(Pipeline::new(
        store,
        context.config.daemon_settings(),
        &data_dir,
    )))
}

pub async fn run(context: &Context, args: ScanArgs) -> anyhow::Result<()> {
    let pipeline = open_pipeline(context).await?;
    let store = pipeline.store.clone();
    let names: Vec<String> = match &args.source {
        Some(name) => vec![store.get_source(name).await?.config.name],
        None => store
            .list_sources()
            .await?
            .into_iter()
            .map(|s| s.config.name)
            .collect(),
    };
    if names.is_empty() && !args.json {
        println!("no sources to scan; add one with `reelguard sources add`");
    }
    daemon::release_dead_leases(&store).await?;
    let max_attempts = i64::from(pipeline.daemon_config().max_attempts);
    let mut scan_ids = Vec::new();
    for name in &names {
        scan_ids.push(store.enqueue_scan(name, clock::now(), max_attempts).await?);
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(daemon::run_workers(
        pipeline.clone(),
        pipeline.daemon_config().workers,
        crate::store::JobFilter::of_scans(&scan_ids),
        stop_rx,
    ));
    let progress = Progress::new(!args.json && std::io::stderr().is_terminal());
    let scans = loop {
        let scans = load(&store, &scan_ids).await?;
        progress.show(&scans);
        if scans.iter().all(|s| s.status.finished()) {
            break scans;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tokio::signal::ctrl_c() => {
                progress.finish();
                let _ = stop_tx.send(true);
                workers.await??;
                anyhow::bail!("interrupted; the scan's remaining candidates are processed by the next scan or the daemon");
            }
        }
    };
    progress.finish();
    let _ = stop_tx.send(true);
    workers.await??;
    {
        let times = pipeline.times.lock().expect("stage times lock");
        tracing::info!(
            candidates = times.candidates,
            download_s = times.download_s,
            decode_s = times.decode_s,
            match_s = times.match_s,
            "stage times"
        );
    }

    // Alerts of the new matches go out now; failures wait for the daemon,
    // `reelguard alerts send` or the next scan.
    let outbox = crate::alerts::outbox::Outbox::new(
        store.clone(),
        context.config.alert_settings(),
        context.config.capture_settings(),
    )
    .with_captures(&context.data_dir()?);
    outbox.release_dead_leases().await?;
    let alerts = outbox.deliver_due().await?;

    if args.json {
        let list: Vec<_> = scans
            .iter()
            .map(|s| {
                serde_json::json!({
                    "source": s.source,
                    "scan_id": s.id,
                    "status": s.status,
                    "candidates": s.candidates,
                    "new_candidates": s.new_candidates,
                    "new_matches": s.new_matches,
                    "errors": s.errors,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "scans": list }));
    } else {
        for s in &scans {
            print_scan(s);
        }
        let matches = store.list_matches().await?;
        let new: Vec<_> = matches
            .iter()
            .filter(|m| scans.iter().any(|s| store_scan_of(m, s)))
            .collect();
        if !new.is_empty() {
            println!("new matches:");
            for m in new {
                println!(
                    "  {}  \"{}\" found at {} (uploader {:?}, score {:.2})",
                    m.id, m.work_title, m.candidate_url, m.uploader, m.score
                );
            }
        }
        if alerts != Default::default() {
            println!(
                "alerts: {} sent, {} waiting for a retry, {} failed (`reelguard alerts list` shows them)",
                alerts.sent, alerts.retrying, alerts.failed
            );
        }
    }
    Ok(())
}

fn store_scan_of(m: &crate::store::MatchRecord, scan: &Scan) -> bool {
    m.scan_id == scan.id
}

async fn load(store: &Store, ids: &[String]) -> anyhow::Result<Vec<Scan>> {
    let mut scans = Vec::with_capacity(ids.len());
    for id in ids {
        scans.push(store.get_scan(id).await?);
    }
    Ok(scans)
}

fn print_scan(s: &Scan) {
    println!(
        "{}: {} upload(s) listed, {} new, {} new match(es) [{}]",
        s.source, s.candidates, s.new_candidates, s.new_matches, s.status
    );
    for e in &s.errors {
        println!("  error: {e}");
    }
}

/// A one-line progress display on an interactive terminal.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(visible: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(
            None,
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    fn show(&self, scans: &[Scan]) {
        let listing = scans
            .iter()
            .filter(|s| s.status == ScanStatus::Discovering)
            .count();
        let new: i64 = scans.iter().map(|s| s.new_candidates).sum();
        let pending: i64 = scans.iter().map(|s| s.pending_jobs).sum();
        let matches: i64 = scans.iter().map(|s| s.new_matches).sum();
        self.bar.set_message(format!(
            "{} source(s) listing; candidates {} processed of {} new; {} new match(es)",
            listing,
            (new - pending.min(new)).max(0),
            new,
            matches
        ));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub async fn run_scans(context: &Context, command: ScansCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    match command {
        ScansCommand::List { limit, json } => {
            let scans = store.list_scans(limit).await?;
            if json {
                let scans: Vec<ScanJson> = scans.iter().map(ScanJson::from).collect();
                println!("{}", serde_json::json!({ "scans": scans }));
            } else if scans.is_empty() {
                println!("no scans yet; run `reelguard scan` or `reelguard daemon`");
            } else {
                for s in &scans {
                    println!(
                        "{}  {}  started {}  ended {}",
                        s.id,
                        s.source,
                        clock::stored(s.started_at),
                        s.ended_at.map(clock::stored).as_deref().unwrap_or("-")
                    );
                    print!("  ");
                    print_scan(s);
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
