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

/// A mock platform serving one upload, `id`, made by `make(path)`; returns
/// its feed's URL.
fn platform_with(dir: &Path, id: &'static str, make: impl FnOnce(&Path)) -> String {
    let media = dir.join(format!("platform-{id}"));
    std::fs::create_dir_all(&media).unwrap();
    make(&media.join(format!("{id}.mp4")));
    write_catalog(
        &media,
        &[common::platform::Upload {
            id,
            title: "An upload",
            uploader: "someone",
            channel: "UC",
        }],
    );
    format!("{}/feeds/rss.xml", start_platform(&media))
}

/// `reelguard sources add NAME` (a feed on 127.0.0.1) through `data`.
fn add_source(data: &Path, name: &str, url: &str) {
    let (code, out, err) = common::run(&[
        "--data-dir",
        path_str(data),
        "sources",
        "add",
        name,
        "--kind",
        "feed",
        "--url",
        url,
        "--allow-loopback",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

/// The candidate whose URL holds `upload` once it is done, with its
/// matches' work ids.
fn done_candidate(data: &Path, upload: &str) -> Option<Vec<String>> {
    with_store(data, async |store| {
        let candidates = store.list_candidates().await.unwrap();
        let candidate = candidates
            .iter()
            .find(|c| c.canonical_url.contains(upload) && c.status.to_string() == "done")?;
        let matches = store.matches_of_candidate(&candidate.id).await.unwrap();
        Some(matches.into_iter().map(|m| m.work_id).collect())
    })
}

#[test]
fn a_work_registered_on_one_node_is_searched_by_another_without_a_restart() {
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("follow") else {
        return;
    };
    let (Some(bikes), Some(balle)) = (
        common::shared_media("bikes.mp4"),
        common::shared_media("balle-jbart.mp4"),
    ) else {
        return;
    };
    let scratch = scratch_dir();
    let (a, b) = (
        node(scratch.path(), "a", &db.url),
        node(scratch.path(), "b", &db.url),
    );
    let config = scratch.path().join("b.toml");
    std::fs::write(
        &config,
        format!("[daemon]\nlease_s = {LEASE_S}\nworkers = 1\n"),
    )
    .unwrap();
    let log = scratch.path().join("b.log");
    let mut daemon = start_daemon(&b, &config, &log);
    let wait = |upload: &str| {
        let mut found = None;
        wait_for(Duration::from_secs(120), upload, || {
            found = done_candidate(&b, upload);
            found.is_some()
        });
        found.unwrap()
    };

    // Node B matches a first, unrelated upload against an empty catalogue.
    let unrelated = platform_with(scratch.path(), "u0", |out| {
        common::transform(&balle, &[], out)
    });
    add_source(&a, "first", &unrelated);
    assert!(wait("u0").is_empty());

    // A work registered through node A: node B finds its copy.
    let work = common::register(&a, &bikes, "Bikes");
    let work_id = work["work_id"].as_str().unwrap().to_string();
    let copy = platform_with(scratch.path(), "c1", |out| {
        common::transform(&bikes, &["-vf", "hflip"], out)
    });
    add_source(&a, "copies", &copy);
    assert_eq!(wait("c1"), std::slice::from_ref(&work_id));

    // Removed through node A: node B no longer finds it.
    let (code, out, err) = common::run(&[
        "--data-dir",
        path_str(&a),
        "works",
        "remove",
        &work_id,
        "--yes",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let again = platform_with(scratch.path(), "c2", |out| {
        common::transform(&bikes, &["-vf", "scale=480:-2"], out)
    });
    add_source(&a, "more-copies", &again);
    assert!(wait("c2").is_empty());

    assert!(
        daemon.try_wait().unwrap().is_none(),
        "node B ran throughout:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    common::sigterm_and_wait(&mut daemon, Duration::from_secs(30));
}

/// Uploads for the kill test: copies of the registered works (v…, each
/// a different upload: another part of the work or another length, so none
/// is a re-encode of another, which would be one match at two places) and
/// unrelated clips (d…).
const KILL_UPLOADS: [(&str, &str, &[&str]); 8] = [
    ("v1", "bikes.mp4", &["-vf", "hflip,scale=480:-2"]),
    ("d1", "carphone_pristine.mp4", &["-vf", "scale=352:288"]),
    (
        "v2",
        "bigbuckbunny.mp4",
        &["-vf", "scale=640:360,pad=640:480:0:60"],
    ),
    ("d2", "balle-jbart.mp4", &["-t", "6"]),
    (
        "v3",
        "bikes.mp4",
        &[
            "-t",
            "7",
            "-vf",
            "drawbox=x=10:y=10:w=120:h=60:color=red@0.9:t=fill",
        ],
    ),
    ("d3", "retroMars2018.avi", &["-vf", "scale=512:384"]),
    ("v4", "bikes.mp4", &["-ss", "4", "-vf", "scale=400:-2"]),
    ("d4", "g1.avi", &["-vf", "scale=400:300"]),
];

#[test]
fn killing_the_scheduler_and_a_worker_node_loses_and_repeats_nothing() {
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("kill") else {
        return;
    };
    let Some(works) = common::platform::works() else {
        return;
    };
    if KILL_UPLOADS
        .iter()
        .any(|(_, from, _)| common::shared_media(from).is_none())
    {
        return;
    }
    let scratch = scratch_dir();
    let platform = scratch.path().join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    let media = common::Footage;
    let mut uploads = Vec::new();
    for (id, from, args) in KILL_UPLOADS {
        common::transform(&media.path(from), args, &platform.join(format!("{id}.mp4")));
        uploads.push(common::platform::Upload {
            id,
            title: "An upload",
            uploader: "someone",
            channel: "UC",
        });
    }
    write_catalog(&platform, &uploads);
    let base = start_platform(&platform);
    let nodes: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|name| node(scratch.path(), name, &db.url))
        .collect();
    common::platform::fresh_data_dir(works, &nodes[0]);
    // One worker per node and a yearly schedule: the source scans once,
    // when the first scheduler starts.
    let config = scratch.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "blob_dir = \"{}\"\n\n[daemon]\nworkers = 1\nlease_s = {LEASE_S}\n\n\
             [[sources]]\nname = \"uploads\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n\
             allow_loopback = true\nschedule = \"0 0 0 1 1 *\"\n",
            scratch.path().join("shared-blobs").display()
        ),
    )
    .unwrap();
    let logs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|name| scratch.path().join(format!("{name}.log")))
        .collect();
    let mut first = start_daemon(&nodes[0], &config, &logs[0]);
    wait_for(Duration::from_secs(30), "node a to schedule", || {
        status(&nodes[0], &config)["scheduler"]["node"]
            .as_str()
            .is_some_and(|n| pid_of(n) == first.id())
    });
    let mut second = start_daemon(&nodes[1], &config, &logs[1]);
    let mut third = start_daemon(&nodes[2], &config, &logs[2]);
    let done = |data: &Path| {
        with_store(data, async |store| {
            store
                .list_candidates()
                .await
                .unwrap()
                .iter()
                .filter(|c| c.status.to_string() == "done")
                .count()
        })
    };
    wait_for(Duration::from_secs(120), "a first candidate", || {
        done(&nodes[2]) >= 1
    });
    assert!(done(&nodes[2]) < KILL_UPLOADS.len(), "killed too late");

    // kill -9 the scheduler node and a worker node in the middle of the run.
    for node in [&mut first, &mut second] {
        node.kill().unwrap();
        node.wait().unwrap();
    }
    wait_for(
        Duration::from_secs(LEASE_S + 20),
        "node c to take the scheduler over",
        || {
            status(&nodes[2], &config)["scheduler"]["node"]
                .as_str()
                .is_some_and(|n| pid_of(n) == third.id())
        },
    );
    // Node c finishes: the dead nodes' jobs are taken over after their lease.
    let (candidates, matches, scans, captures) = {
        let mut settled = None;
        wait_for(
            Duration::from_secs(240),
            "every candidate and capture",
            || {
                let now = with_store(&nodes[2], async |store| {
                    let candidates = store.list_candidates().await.unwrap();
                    let matches = store.list_matches().await.unwrap();
                    let scans = store.list_scans(10).await.unwrap();
                    let mut captures = Vec::new();
                    for m in &matches {
                        captures.push(store.capture(&m.id).await.unwrap().state.to_string());
                    }
                    let jobs = store.job_states().await.unwrap();
                    let idle = jobs.iter().all(|(state, _)| {
                        !matches!(state.to_string().as_str(), "queued" | "running")
                    });
                    (candidates, matches, scans, captures, idle)
                });
                let finished = now.4
                    && now.0.len() == KILL_UPLOADS.len()
                    && now.0.iter().all(|c| c.status.to_string() == "done");
                if finished {
                    settled = Some((now.0, now.1, now.2, now.3));
                }
                finished
            },
        );
        settled.unwrap()
    };
    common::sigterm_and_wait(&mut third, Duration::from_secs(60));

    // Nothing lost, nothing twice: every copy matched once, each match
    // captured once, one scan.
    let mut found: Vec<(String, String)> = matches
        .iter()
        .map(|m| (m.candidate_url.clone(), m.work_id.clone()))
        .collect();
    found.sort();
    let mut expected: Vec<(String, String)> = [
        ("v1", &works.bikes),
        ("v2", &works.bunny),
        ("v3", &works.bikes),
        ("v4", &works.bikes),
    ]
    .iter()
    .map(|(id, work)| (format!("{base}/pages/{id}"), work.to_string()))
    .collect();
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(candidates.len(), KILL_UPLOADS.len());
    assert!(captures.iter().all(|c| c == "done"), "{captures:?}");
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(scans[0].status, ScanStatus::Done);
    assert_eq!(scans[0].new_matches, 4);
}
