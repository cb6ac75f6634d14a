//! The daemon against the mock platform: killed with SIGKILL in the middle
//! of a scan, restarted, stopped with SIGTERM in the middle of a scan,
//! restarted again: every candidate ends processed exactly once, every
//! infringing upload has exactly one match, no scan is repeated, and no job
//! is left leased. Skips (with a note) when ../shared/media is missing.

use crate::common;

use reelguard::domain::ScanStatus;
use std::path::Path;
use std::time::{Duration, Instant};

use common::platform::{fresh_data_dir, start_platform, with_store, works, write_catalog, Upload};
use common::{scratch_dir, transform, Backend};

const UPLOADS: [Upload; 6] = [
    Upload {
        id: "v1",
        title: "Bikes mirrored",
        uploader: "copy-a",
        channel: "UC",
    },
    Upload {
        id: "d1",
        title: "Car ride",
        uploader: "driver",
        channel: "UC",
    },
    Upload {
        id: "v2",
        title: "Bunny letterboxed",
        uploader: "copy-b",
        channel: "UC",
    },
    Upload {
        id: "d2",
        title: "Ball",
        uploader: "physics",
        channel: "UC",
    },
    Upload {
        id: "v3",
        title: "Bikes with a logo",
        uploader: "copy-c",
        channel: "UC",
    },
    Upload {
        id: "d3",
        title: "Mars",
        uploader: "space",
        channel: "UC",
    },
];

/// Candidates by status, and jobs by state.
fn progress(data: &Path) -> (Vec<String>, std::collections::BTreeMap<String, i64>) {
    with_store(data, async |store| {
        let candidates = store.list_candidates().await.unwrap();
        let states = store.job_states().await.unwrap();
        let states = states
            .into_iter()
            .map(|(state, n)| (state.to_string(), n))
            .collect();
        (
            candidates
                .into_iter()
                .map(|c| c.status.to_string())
                .collect(),
            states,
        )
    })
}

/// Waits until `done(statuses, job states)` holds; panics with the log after `limit`.
fn wait_for(
    data: &Path,
    log: &Path,
    limit: Duration,
    what: &str,
    done: impl Fn(&[String], &std::collections::BTreeMap<String, i64>) -> bool,
) {
    let started = Instant::now();
    loop {
        let (statuses, states) = progress(data);
        if done(&statuses, &states) {
            return;
        }
        if started.elapsed() > limit {
            panic!(
                "timed out waiting for {what}: candidates {statuses:?}, jobs {states:?}\nlog:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn processed(statuses: &[String]) -> usize {
    statuses.iter().filter(|s| *s == "done").count()
}

on_both_backends!(killed_and_restarted_daemon_processes_every_candidate_exactly_once);

fn killed_and_restarted_daemon_processes_every_candidate_exactly_once(backend: Backend) {
    let Some(works) = works() else { return };
    for name in [
        "carphone_pristine.mp4",
        "balle-jbart.mp4",
        "retroMars2018.avi",
    ] {
        if common::shared_media(name).is_none() {
            return;
        }
    }
    let media = common::Footage;
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "daemon_kill", &data) else {
        return;
    };
    let dir = scratch.path().join("platform");
    std::fs::create_dir_all(&dir).unwrap();
    let bikes = media.path("bikes.mp4");
    transform(&bikes, &["-vf", "hflip,scale=480:-2"], &dir.join("v1.mp4"));
    transform(
        &media.path("carphone_pristine.mp4"),
        &["-vf", "scale=352:288"],
        &dir.join("d1.mp4"),
    );
    transform(
        &media.path("bigbuckbunny.mp4"),
        &["-vf", "scale=640:360,pad=640:480:0:60"],
        &dir.join("v2.mp4"),
    );
    transform(
        &media.path("balle-jbart.mp4"),
        &["-t", "6"],
        &dir.join("d2.mp4"),
    );
    transform(
        &bikes,
        &[
            "-t",
            "7",
            "-vf",
            "drawbox=x=10:y=10:w=120:h=60:color=red@0.9:t=fill",
        ],
        &dir.join("v3.mp4"),
    );
    transform(
        &media.path("retroMars2018.avi"),
        &["-vf", "scale=512:384"],
        &dir.join("d3.mp4"),
    );
    write_catalog(&dir, &UPLOADS);
    let base = start_platform(&dir);

    fresh_data_dir(works, &data);
    let config = scratch.path().join("reelguard.toml");
    // One worker, so the scan is still going when the daemon is killed; a
    // yearly schedule, so only the first start scans (the source never ran).
    std::fs::write(
        &config,
        format!(
            "[daemon]\nworkers = 1\nlease_s = 600\n\n[[sources]]\nname = \"uploads\"\nkind = \"feed\"\n\
             url = \"{base}/feeds/rss.xml\"\nallow_loopback = true\nschedule = \"0 0 0 1 1 *\"\n"
        ),
    )
    .unwrap();
    let log = scratch.path().join("daemon.log");
    let limit = Duration::from_secs(180);

    // 1. Start, and kill -9 once the first candidate is done.
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_for(&data, &log, limit, "a first processed candidate", |c, _| {
        processed(c) >= 1 && processed(c) < UPLOADS.len()
    });
    daemon.kill().unwrap(); // SIGKILL
    daemon.wait().unwrap();
    let (statuses, states_at_kill) = progress(&data);
    assert!(
        processed(&statuses) < UPLOADS.len(),
        "killed too late: {statuses:?}"
    );
    let killed_mid_job = states_at_kill.contains_key("running");

    // 2. Restart (the dead process's lease is released at once, though it
    // has 10 minutes to run), then SIGTERM after one more candidate.
    let before = processed(&statuses);
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_for(&data, &log, limit, "progress after the restart", |c, _| {
        processed(c) > before
    });
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(60));
    assert!(status.success(), "SIGTERM: {status:?}");
    let (_, states) = progress(&data);
    assert_eq!(
        states.get("running"),
        None,
        "jobs left leased after SIGTERM: {states:?}"
    );

    // 3. Restart and let it finish.
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_for(&data, &log, limit, "every candidate", |c, jobs| {
        c.len() == UPLOADS.len()
            && processed(c) == UPLOADS.len()
            && jobs.get("queued").is_none()
            && jobs.get("running").is_none()
    });
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(60));
    assert!(status.success(), "SIGTERM: {status:?}");

    // Exactly the three copies matched, once each; one scan in all.
    let (matches, candidates, scans) = with_store(&data, async |store| {
        (
            store.list_matches().await.unwrap(),
            store.list_candidates().await.unwrap(),
            store.list_scans(10).await.unwrap(),
        )
    });
    let mut found: Vec<(String, String)> = matches
        .iter()
        .map(|m| (m.candidate_url.clone(), m.work_id.clone()))
        .collect();
    found.sort();
    let mut expected = vec![
        (format!("{base}/pages/v1"), works.bikes.clone()),
        (format!("{base}/pages/v2"), works.bunny.clone()),
        (format!("{base}/pages/v3"), works.bikes.clone()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(candidates.len(), UPLOADS.len());
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(scans[0].status, ScanStatus::Done);
    assert_eq!(scans[0].new_matches, 3);
    assert!(scans[0].errors.is_empty(), "{:?}", scans[0].errors);
    if killed_mid_job {
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(
            log_text.contains("released jobs of a process that stopped"),
            "{log_text}"
        );
    }
}

on_both_backends!(the_daemon_queues_scans_when_their_schedules_fire);

fn the_daemon_queues_scans_when_their_schedules_fire(backend: Backend) {
    // A platform with no uploads: only the scheduling is under test.
    let scratch = scratch_dir();
    let dir = scratch.path().join("platform");
    std::fs::create_dir_all(&dir).unwrap();
    write_catalog(&dir, &[]);
    let base = start_platform(&dir);
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "daemon", &data) else {
        return;
    };
    let config = scratch.path().join("reelguard.toml");
    // Every 2 seconds, read in Shanghai time (the zone must not shift seconds).
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nname = \"often\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n\
             allow_loopback = true\nschedule = \"*/2 * * * * *\"\ntimezone = \"Asia/Shanghai\"\n"
        ),
    )
    .unwrap();
    let log = scratch.path().join("daemon.log");
    let mut daemon = common::start_daemon(&data, &config, &log);
    std::thread::sleep(Duration::from_millis(6500));
    let stopping_at = chrono::Utc::now();
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(30));
    assert!(status.success(), "SIGTERM: {status:?}");

    let scans = with_store(&data, async |store| store.list_scans(50).await.unwrap());
    let mut started: Vec<chrono::DateTime<chrono::Utc>> =
        scans.iter().map(|s| s.started_at).collect();
    started.sort();
    // One at start-up (never ran), then one per even second: 3 or 4 in 6.5 s.
    assert!(
        (3..=5).contains(&started.len()),
        "{} scans: {started:?}\n{}",
        started.len(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    for time in &started[1..] {
        use chrono::Timelike;
        assert_eq!(time.second() % 2, 0, "fired off schedule: {started:?}");
        assert!(
            time.timestamp_subsec_millis() < 900,
            "fired late: {started:?}"
        );
    }
    // Every scan fired before the stop was done; one fired as the stop came
    // may be left queued for the next start, as designed.
    let settled = stopping_at - chrono::Duration::seconds(1);
    assert!(
        scans
            .iter()
            .filter(|s| s.started_at < settled)
            .all(|s| s.status == ScanStatus::Done && s.errors.is_empty()),
        "{scans:?}"
    );
    assert!(
        scans
            .iter()
            .filter(|s| s.status != ScanStatus::Done)
            .count()
            <= 1,
        "{scans:?}"
    );
}

on_both_backends!(sigterm_releases_jobs_that_do_not_finish_within_the_grace_period);

fn sigterm_releases_jobs_that_do_not_finish_within_the_grace_period(backend: Backend) {
    let scratch = scratch_dir();
    let dir = scratch.path().join("platform");
    std::fs::create_dir_all(&dir).unwrap();
    write_catalog(&dir, &[]);
    let base = start_platform(&dir);
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "daemon", &data) else {
        return;
    };
    std::fs::create_dir_all(&data).unwrap();
    let config = scratch.path().join("reelguard.toml");
    // The feed's one video never arrives (the server waits 120 s).
    std::fs::write(
        &config,
        format!(
            "[daemon]\nshutdown_grace_s = 1\n\n[[sources]]\nname = \"stuck\"\nkind = \"feed\"\n\
             url = \"{base}/fault/slow-feed.xml\"\nallow_loopback = true\ntimeout_s = 100.0\n"
        ),
    )
    .unwrap();
    let log = scratch.path().join("daemon.log");
    // Create (and migrate) the database first, so the test's polling never
    // races the daemon's migrations.
    progress(&data);
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_for(
        &data,
        &log,
        Duration::from_secs(60),
        "the download to start",
        |c, jobs| c.len() == 1 && jobs.get("running") == Some(&1),
    );
    let started = Instant::now();
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(30));
    assert!(status.success(), "SIGTERM: {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let (statuses, jobs) = progress(&data);
    assert_eq!(statuses, vec!["queued".to_string()]);
    assert_eq!(jobs.get("running"), None, "{jobs:?}");
    assert_eq!(
        jobs.get("queued"),
        Some(&1),
        "released for the next start: {jobs:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("releasing them for the next start"), "{text}");
}

on_both_backends!(a_node_refuses_a_catalogue_fingerprinted_by_a_newer_reelguard);

/// A daemon whose binary cannot read the stored fingerprints (another node
/// of the cluster runs a newer reelguard) does not start: it would miss
/// every copy of those works. It names both versions.
fn a_node_refuses_a_catalogue_fingerprinted_by_a_newer_reelguard(backend: Backend) {
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let Some(_db) = common::database_for(backend, "newer", &data) else {
        return;
    };
    let Some(video) = common::shared_media("carphone_pristine.mp4") else {
        return;
    };
    common::register(&data, &video, "Car phone");
    let newer = "reelguard-dct256-v99";
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&common::store_url(&data))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE fingerprints SET algorithm = '{newer}'"
        )))
        .execute(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    let config = scratch.path().join("reelguard.toml");
    std::fs::write(&config, "[daemon]\nworkers = 1\n").unwrap();
    let (code, _, stderr) = common::run_with_env(
        &[
            "--data-dir",
            common::path_str(&data),
            "--config",
            common::path_str(&config),
            "daemon",
        ],
        &[("REELGUARD_HTTP_LISTEN", "127.0.0.1:0")],
    );
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains(newer)
            && stderr.contains(reelguard::fingerprint::ALGORITHM)
            && stderr.contains("upgrade it"),
        "{stderr}"
    );
}
