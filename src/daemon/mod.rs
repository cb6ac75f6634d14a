//! The daemon: a scheduler that queues scans when their cron schedules
//! fire, and a bounded pool of workers that lease jobs from the persisted
//! queue and run them through the [`pipeline`]. `reelguard scan` uses the
//! same workers for the scans it queues.
//!
//! Crash safety: jobs are leased (owner, expiry) and every outcome is
//! recorded in one transaction with the job's completion. On start-up,
//! leases held by processes that no longer exist are released at once
//! (SQLite: one machine); any other lease is taken over when it expires.
//! On SIGINT/SIGTERM workers take no new jobs, finish theirs within
//! `shutdown_grace_s`, and release what is left.

pub mod pipeline;
pub mod scheduler;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::clock;
use crate::domain::{JobKind, Named, Role, SourceOrigin};
use crate::source_config::SourceConfig;
use crate::store::{JobFilter, Node, Store};
pub use pipeline::Pipeline;
use scheduler::Scheduler;

/// What happens to downloaded media once it has been matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    /// Delete it.
    Delete,
    /// Keep it when it matched a work (evidence), delete it otherwise.
    #[default]
    Matches,
    /// Keep everything.
    All,
}

/// The `[daemon]` section.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// Jobs run at once (downloads, decodes).
    pub workers: usize,
    pub retention: Retention,
    /// Where downloaded media goes (default: `media/` in the data directory).
    pub media_dir: Option<PathBuf>,
    /// How long a job's lease lasts without renewal, in seconds.
    pub lease_s: u64,
    /// How long SIGINT/SIGTERM waits for running jobs, in seconds.
    pub shutdown_grace_s: u64,
    /// Attempts at a job before it is given up (a job whose process keeps dying).
    pub max_attempts: u32,
    /// Seconds before a candidate whose failure may pass (the platform
    /// unreachable or overloaded, a full disk) is tried again, doubled at
    /// each further attempt.
    pub retry_base_s: f64,
    /// What this node does (default: everything). On PostgreSQL several
    /// nodes share the work; e.g. `["capture"]` for the machine with Chromium.
    pub roles: Vec<Role>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            workers: 2,
            retention: Retention::Matches,
            media_dir: None,
            lease_s: 300,
            shutdown_grace_s: 30,
            max_attempts: 3,
            retry_base_s: 30.0,
            roles: Role::ALL.to_vec(),
        }
    }
}

impl DaemonConfig {
    /// The job kinds this node's workers take.
    pub fn job_kinds(&self) -> Vec<JobKind> {
        JobKind::ALL
            .iter()
            .copied()
            .filter(|kind| self.roles.contains(&kind.role()))
            .collect()
    }

    /// Checks `[daemon]`: every number in range, naming the key, the value
    /// and the range; at least one role.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::bounds::{float, int};
        if self.roles.is_empty() {
            anyhow::bail!(
                "daemon.roles = []: give at least one of {}",
                Role::ALL
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        int("daemon.workers", self.workers, 1..=64, "")?;
        int("daemon.lease_s", self.lease_s, 10..=86_400, "seconds")?;
        int(
            "daemon.shutdown_grace_s",
            self.shutdown_grace_s,
            0..=3600,
            "seconds",
        )?;
        int("daemon.max_attempts", self.max_attempts, 1..=100, "")?;
        float(
            "daemon.retry_base_s",
            self.retry_base_s,
            0.1..=86_400.0,
            "seconds",
        )?;
        Ok(())
    }
}

/// What the daemon reads of the configuration: its own section, matching,
/// the review allowlist, and what alerts and evidence capture need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DaemonSettings {
    pub daemon: DaemonConfig,
    pub matching: crate::matcher::MatchConfig,
    pub review: crate::evidence::ReviewConfig,
    pub alerts: crate::alerts::AlertSettings,
    pub capture: crate::evidence::CaptureSettings,
}

/// Makes the stored `[[sources]]` of the config file match the file.
pub async fn sync_config_sources(store: &Store, sources: &[SourceConfig]) -> anyhow::Result<()> {
    let now = clock::now();
    for source in sources {
        store
            .upsert_source(source, SourceOrigin::Config, now)
            .await?;
    }
    for stored in store.list_sources().await? {
        if stored.origin == SourceOrigin::Config
            && !sources.iter().any(|s| s.name == stored.config.name)
        {
            store.remove_source(&stored.config.name).await?;
        }
    }
    Ok(())
}

/// The lease the node that fires cron schedules holds.
pub const SCHEDULER_LEASE: &str = "scheduler";

/// Releases leases of processes that are gone.
pub async fn release_dead_leases(store: &Store) -> anyhow::Result<()> {
    let released = store
        .release_leases(None, clock::owner_alive, clock::now())
        .await?;
    if released > 0 {
        tracing::info!(released, "released jobs of a process that stopped");
    }
    if let Some(holder) = store.lease_holder(SCHEDULER_LEASE).await? {
        if !clock::owner_alive(&holder.owner) {
            store.release_lease(SCHEDULER_LEASE, &holder.owner).await?;
            tracing::info!(owner = %holder.owner, "released the scheduler lease of a process that stopped");
        }
    }
    Ok(())
}

/// Runs `count` workers until `stop` turns true; each takes the jobs
/// `filter` lets through and runs them. Returns when all workers are done or
/// the grace period after the stop ran out, with the jobs left released.
pub async fn run_workers(
    pipeline: Arc<Pipeline>,
    count: usize,
    filter: JobFilter,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let owner = clock::owner_id();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let pipeline = pipeline.clone();
        let filter = filter.clone();
        let stop = stop.clone();
        let owner = owner.clone();
        tasks.spawn(async move { worker(pipeline, owner, filter, stop).await });
    }
    let mut stopped = stop.clone();
    let grace = Duration::from_secs(pipeline.daemon_config().shutdown_grace_s);
    let drained = async {
        while let Some(result) = tasks.join_next().await {
            if let Ok(Err(e)) = result {
                tracing::error!("worker stopped: {e:#}");
            }
        }
    };
    tokio::pin!(drained);
    tokio::select! {
        _ = &mut drained => {}
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("jobs still running after {} s; releasing them for the next start", grace.as_secs());
        }
    }
    let released = pipeline
        .store
        .release_leases(Some(&owner), |_| true, clock::now())
        .await?;
    if released > 0 {
        tracing::info!(released, "released unfinished jobs");
    }
    Ok(())
}

async fn worker(
    pipeline: Arc<Pipeline>,
    owner: String,
    filter: JobFilter,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let lease = chrono::Duration::seconds(pipeline.daemon_config().lease_s as i64);
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let now = Utc::now();
        let job = match pipeline
            .store
            .claim_job(&owner, now + lease, now, &filter)
            .await
        {
            Ok(job) => job,
            Err(e) => {
                // Storage trouble: wait and claim again; the worker stays.
                tracing::error!("cannot claim a job: {e:#}; trying again in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(job) = job else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return Ok(()); // the stop sender is gone: stop too
                    }
                }
            }
            continue;
        };
        tracing::debug!(job = %job.id, attempt = job.attempts, "job leased");
        // Renew the lease while the job runs.
        let heartbeat = {
            let store = pipeline.store.clone();
            let owner = owner.clone();
            let id = job.id.clone();
            tokio::spawn(async move {
                let period = (lease / 3).to_std().unwrap_or(Duration::from_secs(60));
                loop {
                    tokio::time::sleep(period).await;
                    let until = Utc::now() + lease;
                    if !matches!(store.renew_lease(&id, &owner, until).await, Ok(true)) {
                        break;
                    }
                }
            })
        };
        let result = pipeline.run_job(&job).await;
        heartbeat.abort();
        if let Err(e) = result {
            // Storage trouble: leave the lease to expire and the job to run again.
            tracing::error!(job = %job.id, "job could not be recorded: {e:#}");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// A node whose binary cannot read fingerprints in the catalogue (written
/// by a newer reelguard, e.g. on another node of the cluster) does not
/// start: it would miss every copy of those works.
pub async fn refuse_a_newer_catalogue(store: &Store) -> anyhow::Result<()> {
    let schemes = store.fingerprint_schemes().await?;
    match schemes.iter().find(|s| crate::engine::is_newer_scheme(s)) {
        Some(newer) => anyhow::bail!(
            "the catalogue holds works fingerprinted with {newer} by a newer reelguard; this node (reelguard {}) reads fingerprints up to {}: upgrade it before starting it",
            env!("CARGO_PKG_VERSION"),
            crate::fingerprint::ALGORITHM
        ),
        None => Ok(()),
    }
}

/// `reelguard daemon`: schedules scans and runs jobs until `stop`.
pub async fn run_daemon(
    pipeline: Arc<Pipeline>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let store = pipeline.store.clone();
    release_dead_leases(&store).await?;
    let workers = tokio::spawn(run_workers(
        pipeline.clone(),
        pipeline.daemon_config().workers,
        JobFilter {
            kinds: pipeline.daemon_config().job_kinds(),
            scans: None,
        },
        stop.clone(),
    ));
    let stamps = tokio::spawn(retry_pending_stamps(
        store.clone(),
        pipeline.settings().capture.timestamp.clone(),
        stop.clone(),
    ));
    let outbox = crate::alerts::outbox::Outbox::new(
        store.clone(),
        pipeline.settings().alerts.clone(),
        pipeline.settings().capture.clone(),
    )
    .with_captures(pipeline.data_dir());
    let delivers_alerts = pipeline.daemon_config().roles.contains(&Role::Alerts);
    let alerts = tokio::spawn({
        let stop = stop.clone();
        async move {
            match delivers_alerts {
                true => outbox.run(stop).await,
                false => Ok(()),
            }
        }
    });
    let config = pipeline.daemon_config();
    let node = Node {
        id: clock::owner_id(),
        host: clock::host_name(),
        roles: config
            .roles
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(","),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: clock::now(),
        last_seen: clock::now(),
    };
    let lease = chrono::Duration::seconds(config.lease_s as i64);
    let mut scheduler = Scheduler::new();
    let mut stop_signal = stop.clone();
    let mut last_reload: Option<std::time::Instant> = None;
    let mut last_heartbeat: Option<std::time::Instant> = None;
    let mut scheduling = false;
    tracing::info!(workers = config.workers, node = %node.id, roles = %node.roles, "daemon started");
    loop {
        if *stop_signal.borrow() {
            break;
        }
        // One round: heartbeat, scheduler lease, sources, due scans. Storage
        // trouble (a full disk, the database restarting) is logged and the
        // round tried again: the daemon does not stop on it.
        let round = async {
            let now = Utc::now();
            if last_heartbeat
                .is_none_or(|t| t.elapsed() >= (lease / 3).to_std().unwrap_or_default())
            {
                store.heartbeat(&node, now).await?;
                last_heartbeat = Some(std::time::Instant::now());
            }
            // One node at a time fires the schedules: the one that holds the
            // scheduler lease (renewed here every second or so; taken over by
            // another node once it expires).
            let holds = config.roles.contains(&Role::Scheduler)
                && store
                    .hold_lease(SCHEDULER_LEASE, &node.id, now + lease, now)
                    .await?;
            if holds != scheduling {
                tracing::info!(node = %node.id, "{}", if holds { "this node fires the schedules" } else { "another node fires the schedules" });
                scheduling = holds;
                last_reload = None;
            }
            if holds && last_reload.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                reload_sources(&store, &mut scheduler, now).await?;
                last_reload = Some(std::time::Instant::now());
            }
            let due = if holds {
                scheduler.due(now)
            } else {
                Vec::new()
            };
            for name in due {
                let scan = store
                    .enqueue_scan(&name, now, pipeline.daemon_config().max_attempts.into())
                    .await?;
                tracing::info!(source = %name, scan = %scan, "scan queued");
                let next = scheduler.next_of(&name);
                store.set_next_run(&name, next).await?;
            }
            // A node that does not schedule only asks for the lease again.
            let wake = scheduler
                .next_wake()
                .filter(|_| holds)
                .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            anyhow::Ok(wake)
        };
        let wake = match round.await {
            Ok(wake) => wake,
            Err(e) => {
                tracing::error!("daemon: {e:#}; trying again in 1 s");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wake) => {}
            changed = stop_signal.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!("stopping: finishing running jobs");
    if scheduling {
        store.release_lease(SCHEDULER_LEASE, &node.id).await?;
    }
    workers.await??;
    store.remove_node(&node.id).await?;
    stamps.await?;
    alerts.await??;
    tracing::info!("daemon stopped");
    Ok(())
}

/// Retries, every `timestamp.retry_interval_s`, the artifact and chain-head
/// timestamps left pending while every TSA was down.
async fn retry_pending_stamps(
    store: Arc<Store>,
    config: crate::timestamp::TimestampConfig,
    mut stop: watch::Receiver<bool>,
) {
    let stamper = match crate::timestamp::Stamper::new(&config) {
        Ok(stamper) if stamper.is_configured() => stamper,
        Ok(_) => return,
        Err(e) => {
            tracing::error!("pending timestamps are not retried: {e}");
            return;
        }
    };
    let interval = Duration::from_secs_f64(config.retry_interval_s);
    while !*stop.borrow() {
        match crate::provenance::stamp_pending(&store, &stamper, None).await {
            Ok(summary) if summary.stamped > 0 || !summary.pending.is_empty() => {
                tracing::info!(
                    stamped = summary.stamped,
                    still_pending = summary.pending.len(),
                    "retried pending timestamps"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("retrying pending timestamps failed: {e:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn reload_sources(
    store: &Store,
    scheduler: &mut Scheduler,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let sources = store.list_sources().await?;
    let names: Vec<String> = sources.iter().map(|s| s.config.name.clone()).collect();
    scheduler.retain(&names);
    for source in sources {
        let (last, next) = (source.last_run_at, source.next_run_at);
        if let Err(e) = scheduler.upsert(&source.config, last, next, now) {
            tracing::error!(source = %source.config.name, "not scheduled: {e:#}");
            continue;
        }
        let planned = scheduler.next_of(&source.config.name);
        if planned != source.next_run_at {
            store.set_next_run(&source.config.name, planned).await?;
        }
    }
    Ok(())
}
