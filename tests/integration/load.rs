//! The daemon under load, on the mock platform: 50 feed sources list 1,000
//! uploads, nearly all tiny unrelated clips (8 clips, each served under
//! many ids) and six copies of the registered works. A first daemon (roles
//! `scheduler` and `scan` only) lists them, so the queue holds all 1,000
//! candidate jobs; a second daemon (every role) drains it. Checked:
//! - the queue drains to 0 and every candidate is processed exactly once:
//!   each unrelated upload's media downloaded once, every candidate `done`
//!   (decoded) or `duplicate` (its media's SHA-256 already seen), each of
//!   the 14 distinct files decoded, no job failed, exactly the six copies
//!   matched;
//! - the daemon's memory does not grow with the queue: its peak resident set
//!   (VmHWM) once the last candidate is done stays within a margin of its
//!   peak after the first 100 (while 900 were still queued), and the whole
//!   run, evidence captures and alerts included, stays under a cap;
//! - overloaded alert receivers slow alerts but lose or double none: the
//!   SMTP server takes a second to answer each message and refuses every
//!   message at first, then half of the time; the webhook receiver answers
//!   slowly and with 503 or 429 two times in three. Each match is emailed
//!   once and posted once, in the end.
//!
//! Skips (with a note) when ../shared/media is missing.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::platform::{fresh_data_dir, start_platform, with_store, works};
use common::{lavfi_clip, scratch_dir, transform, Backend};
use reelguard::domain::{AlertState, CandidateStatus, JobKind, JobState, ScanStatus};
use reelguard::testkit::smtp_sink::{SinkTls, SmtpSink};

/// Feed sources, each listing [`PER_SOURCE`] uploads.
const SOURCES: usize = 50;
const PER_SOURCE: usize = 20;
const UPLOADS: usize = SOURCES * PER_SOURCE;
/// Distinct unrelated clips; each is served under many ids.
const CLIPS: usize = 8;
/// The uploads that copy a registered work: (upload index, file, the work
/// copied, how the copy was made from it). Each differs in length or in
/// where it sits in the work, so each is a match of its own, not another
/// location of an earlier one.
const COPIES: [(usize, &str, &str, &[&str]); 6] = [
    (57, "bikes-a.mp4", "bikes", &["-vf", "hflip,scale=320:-2"]),
    (
        318,
        "bikes-b.mp4",
        "bikes",
        &[
            "-t",
            "7",
            "-vf",
            "scale=320:-2,drawbox=x=10:y=10:w=60:h=30:color=red@0.9:t=fill",
        ],
    ),
    (
        502,
        "bikes-c.mp4",
        "bikes",
        &["-ss", "3", "-vf", "scale=320:-2"],
    ),
    (
        655,
        "bikes-d.mp4",
        "bikes",
        &["-ss", "1", "-t", "5", "-vf", "hflip,scale=320:-2"],
    ),
    (811, "bunny-a.mp4", "bunny", &["-vf", "scale=640:-2"]),
    (
        964,
        "bunny-b.mp4",
        "bunny",
        &["-t", "4", "-vf", "scale=480:270,pad=480:360:0:45"],
    ),
];

/// How much the daemon's peak resident set may grow from the end of the
/// first 100 candidates (900 still queued) to the end of the last one.
/// Measured on a debug build (2 cores, both backends, 6 runs, one beside
/// another test): 98–108 MiB after the first 100, 142–159 MiB after the
/// last (38–55 MiB more). The growth is bounded by the sources and the
/// media, not by the queue: one HTTP client is kept per source (50 here,
/// about 20 MiB; with all 1,000 uploads on one source the resident set
/// stayed within 95–102 MiB over the first 700 candidates), and the
/// copies' larger frames are decoded late. A queue held in memory,
/// or a leak of 48 KiB per candidate, would overrun it.
const GROWTH_LIMIT_KB: u64 = 80 * 1024;
/// The daemon's peak resident set over the whole run, captures (Chromium
/// runs in processes of its own) and alerts included. Measured: 180–205
/// MiB; the cap leaves about half as much again.
const PEAK_LIMIT_KB: u64 = 320 * 1024;

fn upload_id(index: usize) -> String {
    format!("u{index:04}")
}

fn channel_of(index: usize) -> String {
    format!("ch-{:02}", index / PER_SOURCE)
}

/// The media directory with its catalog, made once per test process: 8
/// tiny lavfi clips (1.5 s, 160×90) hard-linked under the unrelated ids,
/// and the six copies of the works. Each upload has a file of its own name, so the
/// platform's request counts tell each upload's downloads apart.
fn media_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let media = common::Footage;
        let dir = common::process_dir("load-platform");
        let made = dir.join("made");
        std::fs::create_dir_all(&made).unwrap();
        let sources = [
            "testsrc2=size=160x90:rate=10",
            "smptebars=size=160x90:rate=10",
            "rgbtestsrc=size=160x90:rate=10",
            "mandelbrot=size=160x90:rate=10",
            "life=size=160x90:rate=10:mold=10",
            "cellauto=size=160x90:rate=10",
            "testsrc=size=160x90:rate=10",
            "gradients=size=160x90:rate=10:speed=0.05",
        ];
        for (k, source) in sources.iter().enumerate().take(CLIPS) {
            lavfi_clip(source, 1.5, &made.join(format!("clip-{k}.mp4")));
        }
        for (_, file, work, how) in COPIES {
            let work = match work {
                "bikes" => media.path("bikes.mp4"),
                _ => media.path("bigbuckbunny.mp4"),
            };
            transform(&work, how, &made.join(file));
        }
        let mut catalog = Vec::new();
        for index in 0..UPLOADS {
            let id = upload_id(index);
            let file = format!("{id}.mp4");
            let from = match COPIES.iter().find(|(i, ..)| *i == index) {
                Some((_, copy, ..)) => made.join(copy),
                None => made.join(format!("clip-{}.mp4", index % CLIPS)),
            };
            std::fs::hard_link(&from, dir.join(&file)).expect("hard-link an upload");
            catalog.push(serde_json::json!({
                "id": id, "file": file, "title": format!("upload {index}"),
                "uploader": format!("uploader-{}", index % 37), "channel": channel_of(index),
                "published_at": "2026-11-20T08:00:00Z",
            }));
        }
        std::fs::write(
            dir.join("catalog.json"),
            serde_json::to_string(&catalog).unwrap(),
        )
        .unwrap();
        dir
    })
}

/// What the webhook receiver saw.
#[derive(Default)]
struct Hook {
    posts: AtomicU64,
    refused: AtomicU64,
    /// Accepted posts: (Idempotency-Key, the match ids in the body).
    accepted: Mutex<Vec<(String, Vec<String>)>>,
}

/// A webhook receiver on 127.0.0.1 that takes 400 ms to answer and answers
/// the posts it gets in turn with 503, 429 (Retry-After: 1) and 200.
fn start_overloaded_hook(runtime: &tokio::runtime::Runtime) -> (String, Arc<Hook>) {
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let hook = Arc::new(Hook::default());
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                async |axum::extract::State(hook): axum::extract::State<Arc<Hook>>,
                       headers: HeaderMap,
                       body: axum::body::Bytes| {
                    let n = hook.posts.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    match n % 3 {
                        0 => {
                            hook.refused.fetch_add(1, Ordering::SeqCst);
                            (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                        }
                        1 => {
                            hook.refused.fetch_add(1, Ordering::SeqCst);
                            (
                                StatusCode::TOO_MANY_REQUESTS,
                                [(header::RETRY_AFTER, "1")],
                                "slow down",
                            )
                                .into_response()
                        }
                        _ => {
                            let json: serde_json::Value =
                                serde_json::from_slice(&body).expect("a JSON webhook body");
                            let ids = json["matches"]
                                .as_array()
                                .expect("a matches list")
                                .iter()
                                .map(|m| m["match_id"].as_str().unwrap().to_string())
                                .collect();
                            let key = headers["idempotency-key"].to_str().unwrap().to_string();
                            hook.accepted.lock().unwrap().push((key, ids));
                            (StatusCode::OK, "ok").into_response()
                        }
                    }
                },
            ),
        )
        .with_state(hook.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (base, hook)
}

/// The decoded text/plain parts of a stored message.
fn message_text(path: &Path) -> String {
    fn walk(part: &mailparse::ParsedMail, out: &mut String) {
        if part.subparts.is_empty() && part.ctype.mimetype == "text/plain" {
            out.push_str(&part.get_body().expect("a decodable text part"));
        }
        for sub in &part.subparts {
            walk(sub, out);
        }
    }
    let raw = std::fs::read(path).expect("read a stored message");
    let mut text = String::new();
    walk(
        &mailparse::parse_mail(&raw).expect("a MIME message"),
        &mut text,
    );
    text
}

/// The daemon's current and peak resident set, in kB (VmRSS, VmHWM).
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Candidate jobs (queued, running) and jobs by state.
fn queue(data: &Path) -> ((i64, i64), BTreeMap<JobState, i64>) {
    with_store(data, async |store| {
        let depth = store
            .queue_depths()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.kind == JobKind::Candidate)
            .map_or((0, 0), |d| (d.queued, d.running));
        (depth, store.job_states().await.unwrap())
    })
}

/// Requests the mock platform served, per path.
fn platform_stats(base: &str) -> BTreeMap<String, u64> {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the mock platform");
    write!(
        stream,
        "GET /_stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    serde_json::from_str(body).expect("the stats as JSON")
}

fn wait_until(limit: Duration, what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            panic!(
                "timed out waiting for {what}\nlog (tail):\n{}",
                log_tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn config_text(base: &str, smtp_port: u16, hook: &str, roles: &str) -> String {
    let mut text = format!(
        "[daemon]\nworkers = 2\n{roles}\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nallow_loopback = true\n\
         from = \"reelguard <alerts@example.com>\"\ntimeout_s = 10.0\n\n\
         [alerts]\nto = [\"creator@example.com\"]\ndashboard_url = \"http://dash.example\"\n\
         max_attachment_bytes = 0\nretry_base_s = 0.2\nretry_max_s = 1.0\nmax_attempts = 100\n\n\
         [[alerts.webhooks]]\nkind = \"json\"\nurl = \"{hook}/hook\"\nallow_loopback = true\n"
    );
    // A yearly schedule: each source is scanned once, when first seen.
    for s in 0..SOURCES {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"feed-{s:02}\"\nkind = \"feed\"\n\
             url = \"{base}/feeds/rss.xml?channel=ch-{s:02}\"\nallow_loopback = true\n\
             schedule = \"0 0 0 1 1 *\"\nrate_limit_per_minute = 60000\n"
        ));
    }
    text
}

on_both_backends!(the_daemon_drains_a_thousand_candidates_in_bounded_memory);

fn the_daemon_drains_a_thousand_candidates_in_bounded_memory(backend: Backend) {
    let Some(works) = works() else { return };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "load", &data) else {
        return;
    };
    let base = start_platform(media_dir());
    fresh_data_dir(works, &data);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sink = runtime
        .block_on(SmtpSink::start(
            "127.0.0.1:0".parse().unwrap(),
            &scratch.path().join("sink"),
            None,
            SinkTls::None,
        ))
        .expect("start the SMTP sink");
    // Overloaded: a second per message, and every message refused at first.
    sink.set_data_delay(Duration::from_secs(1));
    sink.set_refusal(Some("451 4.3.0 Too busy, try again later"));
    let (hook_base, hook) = start_overloaded_hook(&runtime);

    let config = scratch.path().join("reelguard.toml");
    let log = scratch.path().join("daemon.log");
    let limit = Duration::from_secs(300);

    // 1. List only: the queue fills with every candidate job.
    std::fs::write(
        &config,
        config_text(
            &base,
            sink.addr.port(),
            &hook_base,
            "roles = [\"scheduler\", \"scan\"]",
        ),
    )
    .unwrap();
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_until(limit, "every source listed", &log, || {
        let ((queued, _), states) = queue(&data);
        queued == UPLOADS as i64
            && states.get(&JobState::Queued) == Some(&(UPLOADS as i64))
            && states.get(&JobState::Done) == Some(&(SOURCES as i64))
    });
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(60));
    assert!(status.success(), "SIGTERM: {status:?}");

    // 2. Every role: drain the queue, sampling the daemon's memory.
    std::fs::write(
        &config,
        config_text(&base, sink.addr.port(), &hook_base, ""),
    )
    .unwrap();
    let mut daemon = common::start_daemon(&data, &config, &log);
    let pid = daemon.id();
    let started = Instant::now();
    // (candidates left, VmRSS kB), sampled.
    let mut samples: Vec<(i64, u64)> = Vec::new();
    let mut peak_first_100 = None;
    let mut hwm_candidates_done = None;
    loop {
        let ((queued, running), states) = queue(&data);
        let (rss, hwm) = memory_kb(pid);
        let left = queued + running;
        samples.push((left, rss));
        if peak_first_100.is_none() && left <= (UPLOADS - 100) as i64 {
            peak_first_100 = Some(hwm);
        }
        let busy = states.get(&JobState::Queued).copied().unwrap_or(0)
            + states.get(&JobState::Running).copied().unwrap_or(0);
        if left == 0 && hwm_candidates_done.is_none() {
            hwm_candidates_done = Some(hwm);
        }
        if left == 0 && busy == 0 {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "the queue did not drain: {left} candidates left, jobs {states:?}\nlog (tail):\n{}",
            log_tail(&log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let drained_in = started.elapsed();

    // 3. The alerts: each email was refused at least once; from now on the
    // server refuses half of the time, until every alert is delivered.
    let all_delivered = |alerts: &[reelguard::store::AlertRecord]| {
        alerts.len() == 2 * COPIES.len() && alerts.iter().all(|a| a.state == AlertState::Delivered)
    };
    wait_until(limit, "every email refused once", &log, || {
        let alerts = with_store(&data, async |s| s.list_alerts(100).await.unwrap());
        let emails: Vec<_> = alerts.iter().filter(|a| a.channel == "email").collect();
        emails.len() == COPIES.len() && emails.iter().all(|a| a.attempts >= 1)
    });
    let mut refusing = true;
    let mut flipped = Instant::now();
    wait_until(limit, "every alert delivered", &log, || {
        if flipped.elapsed() >= Duration::from_millis(500) {
            refusing = !refusing;
            sink.set_refusal(refusing.then_some("451 4.3.0 Too busy, try again later"));
            flipped = Instant::now();
        }
        let alerts = with_store(&data, async |s| s.list_alerts(100).await.unwrap());
        all_delivered(&alerts)
    });
    sink.set_refusal(None);
    // Give a duplicate every chance to show up before stopping.
    std::thread::sleep(Duration::from_secs(3));
    let (rss_end, hwm_end) = memory_kb(pid);
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(60));
    assert!(status.success(), "SIGTERM: {status:?}");
    let peak_first_100 = peak_first_100.expect("sampled during the first 100 candidates");
    let hwm_candidates_done =
        hwm_candidates_done.expect("sampled when the last candidate was done");
    let most_left = samples.iter().map(|(left, _)| *left).max().unwrap_or(0);
    let rss_peak = |more_than_half_left: bool| {
        samples
            .iter()
            .filter(|(left, _)| (*left > (UPLOADS / 2) as i64) == more_than_half_left)
            .map(|(_, rss)| rss / 1024)
            .max()
            .unwrap_or(0)
    };
    eprintln!(
        "load ({}): drained {UPLOADS} candidates in {:.0} s; VmHWM after the first 100 {} MiB, \
         after the last {} MiB, at the end {} MiB (VmRSS {} MiB); VmRSS sampled at most {} MiB \
         with over half the queue left, {} MiB after; {} samples, at most {most_left} candidates left",
        backend.name(),
        drained_in.as_secs_f64(),
        peak_first_100 / 1024,
        hwm_candidates_done / 1024,
        hwm_end / 1024,
        rss_end / 1024,
        rss_peak(true),
        rss_peak(false),
        samples.len()
    );

    // Drained: every candidate done, each upload downloaded once.
    let (candidates, scans, matches, alerts) = with_store(&data, async |store| {
        (
            store.list_candidates().await.unwrap(),
            store.list_scans(100).await.unwrap(),
            store.list_matches().await.unwrap(),
            store.list_alerts(100).await.unwrap(),
        )
    });
    assert_eq!(candidates.len(), UPLOADS);
    // Each candidate ended decoded (done) or known by its media's SHA-256
    // (duplicate); each distinct file was decoded at least once.
    let mut decoded = std::collections::BTreeSet::new();
    for c in &candidates {
        let id = c.canonical_url.rsplit('/').next().unwrap();
        let index: usize = id[1..].parse().unwrap();
        let file = match COPIES.iter().find(|(i, ..)| *i == index) {
            Some((_, copy, ..)) => copy.to_string(),
            None => format!("clip-{}", index % CLIPS),
        };
        match c.status {
            CandidateStatus::Done => {
                decoded.insert(file);
            }
            CandidateStatus::Duplicate => {}
            _ => panic!("{} ended {}: {c:?}", c.canonical_url, c.status),
        }
    }
    assert_eq!(decoded.len(), CLIPS + COPIES.len(), "decoded: {decoded:?}");
    let (_, states) = queue(&data);
    assert_eq!(
        states.keys().copied().collect::<Vec<_>>(),
        vec![JobState::Done],
        "{states:?}"
    );
    assert_eq!(scans.len(), SOURCES, "one scan per source");
    for scan in &scans {
        assert_eq!(scan.status, ScanStatus::Done, "{scan:?}");
        assert_eq!(scan.candidates, PER_SOURCE as i64, "{scan:?}");
        assert!(scan.errors.is_empty(), "{scan:?}");
    }
    let stats = platform_stats(&base);
    let copies: Vec<String> = COPIES.iter().map(|(i, ..)| upload_id(*i)).collect();
    for index in 0..UPLOADS {
        let id = upload_id(index);
        let downloads = stats.get(&format!("/media/{id}.mp4")).copied().unwrap_or(0);
        // The copies' pages are captured, and the browser may ask for
        // their media again; the other uploads are fetched by the daemon only.
        if copies.contains(&id) {
            assert!(downloads >= 1, "{id} never downloaded");
        } else {
            assert_eq!(downloads, 1, "{id} downloaded {downloads} times");
        }
    }

    // Exactly the copies matched, once each.
    let mut found: Vec<(String, String)> = matches
        .iter()
        .map(|m| (m.candidate_url.clone(), m.work_id.clone()))
        .collect();
    found.sort();
    let mut expected: Vec<(String, String)> = COPIES
        .iter()
        .map(|(index, _, work, _)| {
            let work = match *work {
                "bikes" => works.bikes.clone(),
                _ => works.bunny.clone(),
            };
            (format!("{base}/pages/{}", upload_id(*index)), work)
        })
        .collect();
    expected.sort();
    assert_eq!(found, expected);

    // Every alert delivered exactly once, after refusals.
    assert!(all_delivered(&alerts), "{alerts:#?}");
    for a in alerts.iter().filter(|a| a.channel == "email") {
        assert!(a.attempts >= 2, "an email refused at first: {a:?}");
    }
    let messages = reelguard::testkit::smtp_sink::stored_messages(sink.dir());
    assert_eq!(messages.len(), matches.len(), "one message per match");
    let texts: Vec<String> = messages.iter().map(|p| message_text(p)).collect();
    for m in &matches {
        let holding = texts
            .iter()
            .filter(|t| t.contains(&format!("/matches/{}", m.id)))
            .count();
        assert_eq!(holding, 1, "match {} is in {holding} messages", m.id);
    }
    let accepted = hook.accepted.lock().unwrap().clone();
    assert!(
        hook.refused.load(Ordering::SeqCst) >= matches.len() as u64,
        "the receiver refused each post at least once"
    );
    assert_eq!(accepted.len(), matches.len(), "{accepted:?}");
    let mut keys: Vec<&String> = accepted.iter().map(|(key, _)| key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), matches.len(), "{accepted:?}");
    let mut posted: Vec<&String> = accepted.iter().flat_map(|(_, ids)| ids).collect();
    posted.sort();
    let mut match_ids: Vec<&String> = matches.iter().map(|m| &m.id).collect();
    match_ids.sort();
    assert_eq!(posted, match_ids, "each match posted once");

    // Memory: the peak once every candidate is done against the peak after
    // the first 100, and a cap over the whole run.
    assert!(
        most_left >= (UPLOADS - 100) as i64,
        "sampled too late to see the full queue: {most_left}"
    );
    assert!(
        hwm_candidates_done <= peak_first_100 + GROWTH_LIMIT_KB,
        "memory grew with the work: peak {peak_first_100} kB after the first 100 candidates, \
         {hwm_candidates_done} kB after the last"
    );
    assert!(
        hwm_end <= PEAK_LIMIT_KB,
        "peak resident memory {hwm_end} kB over {PEAK_LIMIT_KB} kB"
    );
}
