//! The job queue under concurrency: 4 processes claim 500 jobs at once;
//! every job is claimed and done exactly once (SQLite and PostgreSQL).
//!
//! The workers are this test binary run again with `QUEUE_WORKER_URL` set:
//! then `claim_worker` claims and completes jobs until none is left and
//! prints the ids it did.

use crate::common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use common::Backend;
use reelguard::domain::{CandidateStatus, JobState};
use reelguard::store::{AlertPlan, JobFilter, NewCandidate, Store};

const JOBS: usize = 500;
const WORKERS: usize = 4;

fn now() -> DateTime<Utc> {
    reelguard::clock::parse("2026-01-01T00:00:00.000Z").unwrap()
}

fn lease_until() -> DateTime<Utc> {
    reelguard::clock::parse("2026-01-01T06:00:00.000Z").unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a tokio runtime")
}

/// Queues one scan whose discovery queues `JOBS` candidate jobs.
async fn queue_jobs(url: &str) {
    let store = Store::open(url).await.unwrap();
    let scan_id = store.enqueue_scan("s", now(), 3).await.unwrap();
    let job = store
        .claim_job("setup", lease_until(), now(), &JobFilter::all())
        .await
        .unwrap()
        .unwrap();
    let listed: Vec<NewCandidate> = (0..JOBS)
        .map(|i| NewCandidate {
            canonical_url: format!("https://example.test/v{i}"),
            platform: "p".into(),
            ..NewCandidate::default()
        })
        .collect();
    let (_, new) = store
        .record_discovery(&job, &scan_id, "s", &listed, &[], now())
        .await
        .unwrap();
    assert_eq!(new, JOBS as i64);
    store.close().await;
}

/// The worker half (runs only in the child processes).
#[test]
fn claim_worker() {
    let Ok(url) = std::env::var("QUEUE_WORKER_URL") else {
        return;
    };
    let owner = format!("worker-{}", std::process::id());
    runtime().block_on(async {
        let store = Store::open(&url).await.unwrap();
        while let Some(job) = store
            .claim_job(&owner, lease_until(), now(), &JobFilter::all())
            .await
            .unwrap()
        {
            store
                .complete_candidate(
                    &job,
                    &job.subject,
                    None,
                    None,
                    None,
                    None,
                    &[],
                    &AlertPlan::default(),
                    now(),
                )
                .await
                .unwrap();
            println!("done {}", job.id);
        }
        store.close().await;
    });
}

fn four_processes_claim_every_job_once(url: &str) {
    runtime().block_on(queue_jobs(url));
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WORKERS)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "queue::claim_worker",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("QUEUE_WORKER_URL", url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a worker")
        })
        .collect();
    let mut done = Vec::new();
    let mut per_worker = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            // The harness's "test claim_worker ... " may precede the first id on its line.
            .filter_map(|l| l.split("done ").nth(1))
            .map(str::to_string)
            .collect();
        per_worker.push(ids.len());
        done.extend(ids);
    }
    let unique: BTreeSet<&String> = done.iter().collect();
    assert_eq!(done.len(), JOBS, "jobs done (per worker {per_worker:?})");
    assert_eq!(unique.len(), JOBS, "a job was done twice");
    runtime().block_on(async {
        let store = Store::open(url).await.unwrap();
        let states = store.job_states().await.unwrap();
        assert_eq!(
            states.get(&JobState::Done),
            Some(&(JOBS as i64 + 1)),
            "{states:?}"
        );
        assert_eq!(states.len(), 1, "{states:?}");
        let candidates = store.list_candidates().await.unwrap();
        assert!(candidates.iter().all(|c| c.status == CandidateStatus::Done));
        store.close().await;
    });
    eprintln!("jobs per worker: {per_worker:?}");
}

on_both_backends!(four_processes_claim_500_jobs_once_each);

fn four_processes_claim_500_jobs_once_each(backend: Backend) {
    let scratch = common::scratch_dir();
    let Some(_db) = common::database_for(backend, "queue_claims", scratch.path()) else {
        return;
    };
    four_processes_claim_every_job_once(&common::store_url(scratch.path()));
}
