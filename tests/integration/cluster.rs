//! Several daemon nodes on one PostgreSQL database: one node at a time fires
//! the schedules (a scheduled scan fires once across the cluster), another
//! takes over within a lease period when it dies, roles limit what a node
//! does, `cluster status` shows it all, and a back catalogue queued with
//! `works import` is fingerprinted by all nodes, each video once. PostgreSQL
//! only (the multi-node store); skipped with one line when the PostgreSQL
//! runs are off.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use common::platform::{start_platform, with_store, write_catalog};
use common::{lavfi_clip, path_str, run_json, scratch_dir, start_daemon, use_postgres};
use reelguard::domain::ScanStatus;

/// Seconds a node's scheduler lease lasts (the smallest `lease_s` allowed).
const LEASE_S: u64 = 10;

/// A platform with no uploads (only scheduling and the queue are under
/// test) and a config whose source fires every 2 seconds.
fn setup(dir: &Path, name: &str, daemon: &str) -> PathBuf {
    let platform = dir.join(format!("platform-{name}"));
    std::fs::create_dir_all(&platform).unwrap();
    write_catalog(&platform, &[]);
    let base = start_platform(&platform);
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[daemon]\nlease_s = {LEASE_S}\nworkers = 1\n{daemon}\n\n\
             [[sources]]\nname = \"often\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n\
             allow_loopback = true\nschedule = \"*/2 * * * * *\"\n"
        ),
    )
    .unwrap();
    config
}

/// A node: its own data dir on the shared database.
fn node(dir: &Path, name: &str, url: &str) -> PathBuf {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    use_postgres(&data, url);
    data
}

fn status(data: &Path, config: &Path) -> Value {
    run_json(
        data,
        &["--config", common::path_str(config), "cluster", "status"],
    )
}

/// The pid in a node id (`host:pid:random`).
fn pid_of(node: &str) -> u32 {
    node.split(':').nth(1).unwrap().parse().unwrap()
}

fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn each_scheduled_scan_fires_once_and_another_node_takes_over_when_the_scheduler_dies() {
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("cluster") else {
        return;
    };
    let scratch = scratch_dir();
    let config = setup(scratch.path(), "all", "");
    let (a, b) = (
        node(scratch.path(), "a", &db.url),
        node(scratch.path(), "b", &db.url),
    );
    let mut first = start_daemon(&a, &config, &scratch.path().join("a.log"));
    wait_for(Duration::from_secs(30), "a scheduler", || {
        status(&a, &config)["scheduler"].is_object()
    });
    let mut second = start_daemon(&b, &config, &scratch.path().join("b.log"));
    wait_for(Duration::from_secs(30), "two nodes", || {
        status(&a, &config)["nodes"].as_array().unwrap().len() == 2
    });
    std::thread::sleep(Duration::from_secs(4));
    let before = status(&b, &config);
    let nodes = before["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["up"] == true), "{before}");
    let scheduler = before["scheduler"]["node"].as_str().unwrap().to_string();
    assert_eq!(pid_of(&scheduler), first.id(), "the first node schedules");
    assert!(nodes
        .iter()
        .all(|n| n["roles"].as_array().unwrap().len() == 5));

    // kill -9 the scheduler: nothing fires until its lease expires, then
    // the other node fires the schedules.
    first.kill().unwrap();
    first.wait().unwrap();
    let killed_at = Utc::now();
    wait_for(
        Duration::from_secs(LEASE_S + 20),
        "the second node to take the scheduler over",
        || {
            let s = status(&b, &config);
            s["scheduler"]["node"]
                .as_str()
                .is_some_and(|n| pid_of(n) == second.id())
        },
    );
    let took_over_at = Utc::now();
    std::thread::sleep(Duration::from_secs(5));
    let stopping_at = Utc::now();
    common::sigterm_and_wait(&mut second, Duration::from_secs(30));

    // Every scan fired before the stop was done by the workers; one fired
    // as the stop came may be left queued for the next start, as designed.
    let scans = with_store(&b, async |store| store.list_scans(100).await.unwrap());
    let settled = stopping_at - chrono::Duration::seconds(1);
    assert!(
        scans
            .iter()
            .filter(|s| s.started_at < settled)
            .all(|s| s.status == ScanStatus::Done),
        "{scans:?}"
    );
    let unfinished = scans
        .iter()
        .filter(|s| s.status != ScanStatus::Done)
        .count();
    assert!(unfinished <= 1, "{scans:?}");
    let mut started: Vec<DateTime<Utc>> = scans.iter().map(|s| s.started_at).collect();
    started.sort();
    // Once across the cluster: never two scans in one 2-second slot.
    let mut slots: Vec<i64> = started.iter().map(|t| t.timestamp() / 2).collect();
    slots.dedup();
    assert_eq!(
        slots.len(),
        started.len(),
        "a slot fired twice: {started:?}"
    );
    let before_kill = started.iter().filter(|t| **t < killed_at).count();
    let after_takeover = started.iter().filter(|t| **t >= took_over_at).count();
    assert!(before_kill >= 3, "{started:?}");
    assert!(after_takeover >= 2, "the new scheduler fired: {started:?}");
    // While the dead node's lease ran, no one fired; the other node took
    // over within a lease period (and a heartbeat) of the kill.
    let waited = (took_over_at - killed_at).num_milliseconds() as f64 / 1000.0;
    assert!(waited <= LEASE_S as f64 + 5.0, "took over after {waited} s");
    let after = status(&b, &config);
    assert!(after["scheduler"].is_null(), "released at SIGTERM: {after}");
}

#[test]
fn roles_limit_what_a_node_does() {
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("roles") else {
        return;
    };
    let scratch = scratch_dir();
    // A node that only schedules: its scans wait in the queue.
    let scheduling = setup(scratch.path(), "scheduling", "roles = [\"scheduler\"]");
    let a = node(scratch.path(), "a", &db.url);
    let mut scheduler = start_daemon(&a, &scheduling, &scratch.path().join("a.log"));
    wait_for(Duration::from_secs(30), "a queued scan", || {
        status(&a, &scheduling)["queue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["kind"] == "scan" && q["queued"].as_i64().unwrap() >= 1)
    });
    std::thread::sleep(Duration::from_secs(2));
    let waiting = with_store(&a, async |store| store.list_scans(100).await.unwrap());
    assert!(
        waiting.iter().all(|s| s.status == ScanStatus::Discovering),
        "{waiting:?}"
    );
    // A node with the scan role (and no scheduler role) runs them.
    let scanning = setup(
        scratch.path(),
        "scanning",
        "roles = [\"scan\", \"candidate\"]",
    );
    let b = node(scratch.path(), "b", &db.url);
    let mut scanner = start_daemon(&b, &scanning, &scratch.path().join("b.log"));
    wait_for(Duration::from_secs(30), "the scans to run", || {
        let scans = with_store(&b, async |store| store.list_scans(100).await.unwrap());
        scans.iter().any(|s| s.status == ScanStatus::Done)
    });
    let s = status(&b, &scanning);
    let nodes = s["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{s}");
    assert!(nodes
        .iter()
        .any(|n| n["roles"] == serde_json::json!(["scheduler"])));
    assert!(nodes
        .iter()
        .any(|n| n["roles"] == serde_json::json!(["scan", "candidate"])));
    assert_eq!(
        pid_of(s["scheduler"]["node"].as_str().unwrap()),
        scheduler.id()
    );
    common::sigterm_and_wait(&mut scanner, Duration::from_secs(30));
    common::sigterm_and_wait(&mut scheduler, Duration::from_secs(30));
}

/// The uploads a node's log says it registered.
fn registered_in(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("uploaded video registered"))
        .filter_map(|line| {
            let at = line.find("upload=")? + "upload=".len();
            line[at..].split_whitespace().next().map(str::to_string)
        })
        .collect()
}

#[test]
fn an_imported_catalogue_is_spread_over_the_nodes_and_each_video_fingerprinted_once() {
    const CLIPS: usize = 18;
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("import") else {
        return;
    };
    let scratch = scratch_dir();
    // Every node has its own data dir; the blob dir is shared (on several
    // machines, a mount).
    let blobs = scratch.path().join("shared-blobs");
    let config = scratch.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "blob_dir = \"{}\"\n\n[daemon]\nlease_s = {LEASE_S}\nworkers = 1\n",
            blobs.display()
        ),
    )
    .unwrap();
    let names = ["a", "b", "c"];
    let nodes: Vec<PathBuf> = names
        .iter()
        .map(|name| node(scratch.path(), name, &db.url))
        .collect();
    let logs: Vec<PathBuf> = names
        .iter()
        .map(|name| scratch.path().join(format!("{name}.log")))
        .collect();
    let mut daemons: Vec<_> = nodes
        .iter()
        .zip(&logs)
        .map(|(data, log)| start_daemon(data, &config, log))
        .collect();
    wait_for(Duration::from_secs(30), "three nodes", || {
        status(&nodes[0], &config)["nodes"]
            .as_array()
            .unwrap()
            .len()
            == 3
    });

    // A synthetic back catalogue: every clip different.
    let folder = scratch.path().join("catalogue");
    std::fs::create_dir_all(&folder).unwrap();
    for seed in 0..CLIPS {
        lavfi_clip(
            &format!("life=s=320x240:rate=25:seed={}", 1000 + seed),
            6.0,
            &folder.join(format!("clip-{seed:02}.mp4")),
        );
    }
    let imported = run_json(
        &nodes[0],
        &[
            "--config",
            path_str(&config),
            "works",
            "import",
            path_str(&folder),
        ],
    );
    assert_eq!(
        imported["queued"].as_array().unwrap().len(),
        CLIPS,
        "{imported}"
    );
    wait_for(Duration::from_secs(300), "every clip registered", || {
        let list = run_json(&nodes[1], &["--config", path_str(&config), "works", "list"]);
        let pending = list["registrations"].as_array().unwrap();
        assert!(pending.iter().all(|r| r["state"] != "failed"), "{list}");
        pending.is_empty()
    });
    for daemon in &mut daemons {
        common::sigterm_and_wait(daemon, Duration::from_secs(30));
    }

    let list = run_json(&nodes[2], &["--config", path_str(&config), "works", "list"]);
    let works = list["works"].as_array().unwrap();
    assert_eq!(works.len(), CLIPS, "{list}");
    for work in works {
        let source = Path::new(work["source_path"].as_str().unwrap());
        assert!(
            source.starts_with(std::fs::canonicalize(&blobs).unwrap()),
            "kept in the shared blob dir: {work}"
        );
    }
    let by_node: Vec<Vec<String>> = logs.iter().map(|log| registered_in(log)).collect();
    let counts: Vec<usize> = by_node.iter().map(Vec::len).collect();
    let mut all: Vec<&String> = by_node.iter().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        CLIPS,
        "each clip registered by one node: {by_node:?}"
    );
    assert_eq!(
        counts.iter().sum::<usize>(),
        CLIPS,
        "none registered twice: {by_node:?}"
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "every node did part of it: {counts:?}"
    );
}
