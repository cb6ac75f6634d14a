//! `reelguard cluster status`: the nodes working on this database, who fires
//! the schedules, and the queue.

use clap::Subcommand;

use super::Context;
use crate::clock::{self, stored};
use crate::daemon::SCHEDULER_LEASE;
use crate::domain::{JobKind, Named};
use crate::store::{LeaseHolder, Node, QueueDepth, Store};

/// Nodes silent for longer than this are left out.
const FORGOTTEN_AFTER_S: i64 = 3600;
/// Jobs per minute are counted over this many minutes.
const RATE_WINDOW_MIN: i64 = 5;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Nodes (id, host, roles, version, last heartbeat), the scheduler, the
    /// queue per job kind and jobs finished per minute
    #[command(
        after_help = "Examples:\n  reelguard cluster status\n  reelguard cluster status --json"
    )]
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(context: &Context, command: ClusterCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    let result = match command {
        ClusterCommand::Status { json } => {
            status(&store, context.config.daemon.lease_s as f64, json).await
        }
    };
    store.close().await;
    result
}

async fn status(store: &Store, lease_s: f64, json: bool) -> anyhow::Result<()> {
    let now = clock::now();
    let nodes = store
        .nodes_seen_since(now - chrono::Duration::seconds(FORGOTTEN_AFTER_S))
        .await?;
    let scheduler = store
        .lease_holder(SCHEDULER_LEASE)
        .await?
        .filter(|holder| holder.expires_at >= now);
    let queue = store.queue_depths().await?;
    let finished = store
        .jobs_finished_since(now - chrono::Duration::minutes(RATE_WINDOW_MIN))
        .await?;
    let per_minute = finished as f64 / RATE_WINDOW_MIN as f64;
    // A node is up while its heartbeat (every third of a lease) is fresh.
    let up = |node: &Node| (now - node.last_seen).num_milliseconds() as f64 <= lease_s * 1000.0;
    if json {
        let status = StatusJson {
            nodes: nodes
                .iter()
                .map(|n| NodeJson {
                    id: &n.id,
                    host: &n.host,
                    roles: n.roles.split(',').filter(|r| !r.is_empty()).collect(),
                    version: &n.version,
                    started_at: stored(n.started_at),
                    last_heartbeat: stored(n.last_seen),
                    up: up(n),
                })
                .collect(),
            scheduler: scheduler.as_ref().map(|h| SchedulerJson {
                node: &h.owner,
                lease_expires_at: stored(h.expires_at),
            }),
            queue: queue.iter().map(QueueJson::from).collect(),
            jobs_per_minute: (per_minute * 10.0).round() / 10.0,
        };
        println!("{}", serde_json::to_string(&status)?);
        return Ok(());
    }
    print_status(&nodes, scheduler.as_ref(), &queue, per_minute, up);
    Ok(())
}

fn print_status(
    nodes: &[Node],
    scheduler: Option<&LeaseHolder>,
    queue: &[QueueDepth],
    per_minute: f64,
    up: impl Fn(&Node) -> bool,
) {
    println!("nodes:");
    if nodes.is_empty() {
        println!("  none in the last hour; start one with `reelguard daemon`");
    }
    for n in nodes {
        println!(
            "  {}  {}  host {}  roles {}  version {}  last heartbeat {}",
            n.id,
            if up(n) { "up  " } else { "down" },
            n.host,
            n.roles,
            n.version,
            stored(n.last_seen)
        );
    }
    match scheduler {
        Some(holder) => println!(
            "scheduler: {} (lease until {})",
            holder.owner,
            stored(holder.expires_at)
        ),
        None => println!("scheduler: none (no daemon with the scheduler role is running)"),
    }
    println!("queue:");
    for kind in JobKind::ALL {
        let depth = queue.iter().find(|q| q.kind == *kind);
        let (queued, running) = depth.map_or((0, 0), |q| (q.queued, q.running));
        let oldest = depth
            .and_then(|q| q.oldest_due)
            .map(|t| format!(", oldest due {}", stored(t)))
            .unwrap_or_default();
        println!("  {kind:<9} {queued} queued, {running} running{oldest}");
    }
    println!("jobs finished: {per_minute:.1} per minute (last {RATE_WINDOW_MIN} minutes)");
}

#[derive(serde::Serialize)]
struct StatusJson<'a> {
    nodes: Vec<NodeJson<'a>>,
    scheduler: Option<SchedulerJson<'a>>,
    queue: Vec<QueueJson>,
    jobs_per_minute: f64,
}

#[derive(serde::Serialize)]
struct NodeJson<'a> {
    id: &'a str,
    host: &'a str,
    roles: Vec<&'a str>,
    version: &'a str,
    started_at: String,
    last_heartbeat: String,
    up: bool,
}

#[derive(serde::Serialize)]
struct SchedulerJson<'a> {
    node: &'a str,
    lease_expires_at: String,
}

#[derive(serde::Serialize)]
struct QueueJson {
    kind: JobKind,
    queued: i64,
    running: i64,
    oldest_due: Option<String>,
}

impl From<&QueueDepth> for QueueJson {
    fn from(q: &QueueDepth) -> Self {
        QueueJson {
            kind: q.kind,
            queued: q.queued,
            running: q.running,
            oldest_due: q.oldest_due.map(stored),
        }
    }
}
