//! Fault injection over whole daemon runs. The mock platform serves 200
//! uploads: 6 disguised copies of the registered works (bikes.mp4 and
//! bigbuckbunny.mp4, each copy a different cut, so each is a match of its
//! own) and 194 unrelated clips (5 short files, each under many upload ids).
//! Every match is captured with Chromium, timestamped by the local TSA, and
//! alerted by email to the SMTP sink.
//!
//! - `kill_nine_at_twenty_seeded_points`: the daemon is killed with SIGKILL
//!   at 20 points drawn from a seeded PRNG (the seed is printed; each point
//!   is "after k more finished jobs, then d ms") and restarted each time.
//! - `outages_of_every_dependency`: in one daemon run, the TSA is down until
//!   captures have had to wait for it, the SMTP server refuses and then is
//!   down, the platform is down, the data dir's disk (a 64 MiB tmpfs the
//!   test mounts) fills up, and on PostgreSQL the server (a private cluster,
//!   not the shared one) is restarted.
//!
//! Afterwards, on both databases: every upload is a candidate exactly once
//! and processed; each copy has exactly one match, each match exactly one
//! finished capture with a timestamp token and one alert message in the
//! sink; no job is left queued, running or failed; no timestamp is left
//! pending; the database passes an integrity check (SQLite
//! `PRAGMA integrity_check`, `pg_amcheck` on PostgreSQL) and has no orphan
//! rows; and the daemon never exited by itself.
//!
//! The one exception the design documents (ARCHITECTURE.md, Alerts): SMTP
//! has no idempotency, so a kill between the server's 250 to DATA and the
//! daemon's commit can deliver a message twice. The kill test checks after
//! each kill whether it landed in that window (the sink kept the message,
//! the alert is still `sending`) and allows a second copy only for those.
//!
//! Skips (with a note) when ../shared/media is missing; the tmpfs needs root.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reelguard::domain::{AlertState, CandidateStatus, CaptureState};
use reelguard::store::{AlertRecord, Candidate, CaptureRecord, MatchRecord, Store};
use reelguard::testkit::smtp_sink::{SinkTls, SmtpSink};

use common::platform::{fresh_data_dir, works};
use common::{path_str, scratch_dir, transform, Backend, TsaServer};

/// Uploads on the mock platform.
const UPLOADS: usize = 200;
/// Jobs a whole run finishes: the scan, one per upload, one capture per copy.
const TOTAL_JOBS: usize = 1 + UPLOADS + COPIES.len();
/// Kills in the kill test.
const KILLS: usize = 20;
/// The kill test's seed (`REELGUARD_FAULTS_SEED` replaces it, to replay another).
const DEFAULT_SEED: u64 = 0x2026_1207_5eed_0001;
/// How long a run may take to finish after its faults, before the test fails.
const FINISH_LIMIT: Duration = Duration::from_secs(240);

/// Which registered work a copy is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    Bikes,
    Bunny,
}

/// The copies: each a different cut (start, length) or picture change of a
/// work, so none is taken for another location of an earlier copy.
const COPIES: [(&str, Work, &[&str]); 6] = [
    ("bikes.mp4", Work::Bikes, &["-vf", "hflip,scale=320:-2"]),
    (
        "bikes.mp4",
        Work::Bikes,
        &[
            "-ss",
            "2",
            "-t",
            "6",
            "-vf",
            "drawbox=x=10:y=10:w=60:h=30:color=red@0.9:t=fill,scale=320:-2",
        ],
    ),
    (
        "bikes.mp4",
        Work::Bikes,
        &["-t", "5", "-vf", "crop=iw*0.9:ih*0.9,scale=320:-2"],
    ),
    (
        "bigbuckbunny.mp4",
        Work::Bunny,
        &["-vf", "scale=320:180,pad=320:240:0:30"],
    ),
    (
        "bigbuckbunny.mp4",
        Work::Bunny,
        &["-ss", "1", "-vf", "hflip,scale=320:-2"],
    ),
    (
        "bigbuckbunny.mp4",
        Work::Bunny,
        &["-t", "4", "-vf", "crop=iw*0.85:ih*0.85,scale=320:-2"],
    ),
];

/// The unrelated clips, short and small: decoded once each, then every
/// further upload of the same file is a duplicate (same SHA-256).
const UNRELATED: [(&str, &[&str]); 4] = [
    ("carphone_pristine.mp4", &["-t", "3"]),
    ("balle-jbart.mp4", &["-t", "3", "-vf", "scale=320:-2"]),
    ("retroMars2018.avi", &["-t", "3", "-vf", "scale=320:-2"]),
    ("Force_constante.avi", &["-t", "3", "-vf", "scale=320:-2"]),
];

// ---------------------------------------------------------------- media

/// One upload on the platform.
struct Upload {
    id: String,
    /// The work it is a copy of, if any.
    copy_of: Option<Work>,
}

/// The platform's media directory (catalog.json and one file per upload),
/// made once per test process.
struct Media {
    dir: PathBuf,
    uploads: Vec<Upload>,
}

/// Where copy number `n` (0-based) sits among the uploads: spread out, so
/// matches are found all along the run.
fn copy_position(n: usize) -> usize {
    15 + n * 31
}

fn media() -> Option<&'static Media> {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    works()?;
    for (name, _) in UNRELATED {
        common::shared_media(name)?;
    }
    Some(MEDIA.get_or_init(|| {
        let started = Instant::now();
        let footage = common::Footage;
        let dir = common::process_dir("faults-platform");
        let made = dir.join("made");
        std::fs::create_dir_all(&made).unwrap();
        let mut unrelated = Vec::new();
        for (i, (name, args)) in UNRELATED.iter().enumerate() {
            let out = made.join(format!("unrelated-{i}.mp4"));
            transform(&footage.path(name), args, &out);
            unrelated.push(out);
        }
        let test_card = made.join("unrelated-card.mp4");
        common::lavfi_clip("testsrc2=size=160x120:rate=25", 2.0, &test_card);
        unrelated.push(test_card);
        let mut copies = Vec::new();
        for (i, (name, work, args)) in COPIES.iter().enumerate() {
            let out = made.join(format!("copy-{i}.mp4"));
            transform(&footage.path(name), args, &out);
            copies.push((out, *work));
        }

        let mut uploads = Vec::new();
        let mut catalog = Vec::new();
        let mut next_copy = 0;
        for n in 0..UPLOADS {
            let id = format!("u{n:03}");
            let (file, copy_of) = if next_copy < COPIES.len() && n == copy_position(next_copy) {
                let (file, work) = &copies[next_copy];
                next_copy += 1;
                (file, Some(*work))
            } else {
                (&unrelated[n % unrelated.len()], None)
            };
            // A link of its own per upload: a URL of its own, the same bytes.
            std::fs::hard_link(file, dir.join(format!("{id}.mp4"))).unwrap();
            catalog.push(serde_json::json!({
                "id": id, "file": format!("{id}.mp4"),
                "title": format!("Upload {n}"),
                "uploader": format!("uploader-{}", n % 7), "channel": "UC",
                "published_at": "2026-11-20T08:00:00Z",
            }));
            uploads.push(Upload { id, copy_of });
        }
        assert_eq!(next_copy, COPIES.len(), "every copy is placed");
        std::fs::write(
            dir.join("catalog.json"),
            serde_json::to_string_pretty(&catalog).unwrap(),
        )
        .unwrap();
        println!(
            "faults: {UPLOADS} uploads made in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Media { dir, uploads }
    }))
}

// ---------------------------------------------------------------- stand-ins

/// The mock platform on its own runtime: stopping drops the runtime (the
/// port refuses connections, open ones are cut), restarting serves again on
/// the same address.
struct Platform {
    dir: PathBuf,
    addr: SocketAddr,
    base: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Platform {
    fn start(dir: &Path) -> Platform {
        let mut platform = Platform {
            dir: dir.to_path_buf(),
            addr: "127.0.0.1:0".parse().unwrap(),
            base: String::new(),
            runtime: None,
        };
        platform.restart();
        platform
    }

    fn restart(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the platform");
        let platform = runtime
            .block_on(reelguard::testkit::mock_platform::MockPlatform::start(
                self.dir.clone(),
                self.addr,
            ))
            .expect("start the mock platform");
        self.addr = platform.addr;
        self.base = platform.base_url.clone();
        self.runtime = Some(runtime);
    }

    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The local TSA, which can be taken down and brought back on its address.
struct Tsa {
    addr: String,
    url: String,
    ca: PathBuf,
    server: Option<TsaServer>,
}

impl Tsa {
    /// A TSA whose address is known but which is not running yet.
    fn down() -> Tsa {
        let server = TsaServer::start("127.0.0.1:0");
        let tsa = Tsa {
            addr: server.base.trim_start_matches("http://").to_string(),
            url: server.url.clone(),
            ca: server.ca_cert.clone(),
            server: None,
        };
        drop(server);
        std::thread::sleep(Duration::from_millis(100));
        tsa
    }

    fn up(&mut self) {
        let server = TsaServer::start(&self.addr);
        assert_eq!(server.url, self.url, "the TSA came back on its address");
        self.server = Some(server);
    }
}

/// The SMTP sink on its own runtime (as in alerts.rs), stoppable and
/// restartable on its port.
struct Sink {
    sink: Option<SmtpSink>,
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    dir: PathBuf,
    /// text/plain of each stored message, by file (messages never change).
    texts: HashMap<PathBuf, String>,
}

impl Sink {
    fn start(dir: &Path) -> Sink {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the sink");
        let sink = runtime
            .block_on(SmtpSink::start(
                "127.0.0.1:0".parse().unwrap(),
                dir,
                None,
                SinkTls::None,
            ))
            .expect("start the SMTP sink");
        Sink {
            addr: sink.addr,
            sink: Some(sink),
            runtime,
            dir: dir.to_path_buf(),
            texts: HashMap::new(),
        }
    }

    fn sink(&self) -> &SmtpSink {
        self.sink.as_ref().expect("the sink is running")
    }

    /// Stops listening: connections are refused until [`Sink::restart`].
    fn stop(&mut self) {
        if let Some(sink) = self.sink.take() {
            let _guard = self.runtime.enter();
            sink.stop();
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    fn restart(&mut self) {
        let sink = self
            .runtime
            .block_on(SmtpSink::start(self.addr, &self.dir, None, SinkTls::None))
            .expect("restart the SMTP sink on its port");
        self.sink = Some(sink);
    }

    /// How many stored messages name each match (by the dashboard link
    /// `/matches/ID` in their text part).
    fn messages_per_match(&mut self, match_ids: &[String]) -> BTreeMap<String, usize> {
        for path in reelguard::testkit::smtp_sink::stored_messages(&self.dir) {
            self.texts.entry(path).or_insert_with_key(|path| {
                text_part(&std::fs::read(path).expect("read a stored message"))
            });
        }
        match_ids
            .iter()
            .map(|id| {
                let link = format!("/matches/{id}");
                let n = self.texts.values().filter(|t| t.contains(&link)).count();
                (id.clone(), n)
            })
            .collect()
    }

    fn message_count(&self) -> usize {
        reelguard::testkit::smtp_sink::stored_messages(&self.dir).len()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        self.sink.take();
    }
}

/// The decoded text/plain part of a MIME message.
fn text_part(raw: &[u8]) -> String {
    fn walk(part: &mailparse::ParsedMail, out: &mut String) {
        if part.subparts.is_empty() && part.ctype.mimetype == "text/plain" {
            out.push_str(&part.get_body().unwrap_or_default());
        }
        for sub in &part.subparts {
            walk(sub, out);
        }
    }
    let parsed = mailparse::parse_mail(raw).expect("a MIME message");
    let mut out = String::new();
    walk(&parsed, &mut out);
    out
}

/// A running daemon, killed if the test ends while it runs.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(data: &Path, config: &Path, log: &Path) -> Daemon {
        Daemon {
            child: common::start_daemon(data, config, log),
        }
    }

    /// Panics (with the log) when the daemon exited by itself.
    fn assert_alive(&mut self, when: &str, log: &Path) {
        if let Some(status) = self.child.try_wait().expect("check the daemon") {
            panic!(
                "the daemon exited by itself ({status}) {when}\nlog:\n{}",
                log_tail(log)
            );
        }
    }

    /// Ends a complete run (`end`, its last snapshot): gives a duplicate
    /// 2 s to show up, stops the daemon with SIGTERM (it must not have
    /// exited by itself, and must stop cleanly), checks that nothing changed
    /// at the stop, and closes the probe. Returns the snapshot after it.
    fn stop_after(mut self, end: Snapshot, mut probe: Probe, log: &Path) -> Snapshot {
        std::thread::sleep(Duration::from_secs(2));
        self.assert_alive("at the end", log);
        let status = common::sigterm_and_wait(&mut self.child, Duration::from_secs(60));
        assert!(
            status.success(),
            "SIGTERM: {status}\nlog:\n{}",
            log_tail(log)
        );
        let after = probe.snapshot();
        assert_eq!(
            after.summary(),
            end.summary(),
            "nothing changed at the stop"
        );
        probe.close();
        after
    }

    fn kill_nine(&mut self) {
        self.child.kill().expect("SIGKILL the daemon");
        self.child.wait().expect("reap the daemon");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of the daemon's log, for failure messages.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

// ---------------------------------------------------------------- tmpfs and PostgreSQL

/// A small tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "mount a tmpfs on {} (the test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }

    /// Keeps the disk full for at least `hold` and until `met()` (at most a
    /// minute): writes a filler file until ENOSPC, and again whenever the
    /// daemon frees space (it deletes the media of unmatched uploads), then
    /// deletes it. Returns the filler's size.
    fn keep_full(&self, hold: Duration, mut met: impl FnMut() -> bool) -> u64 {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0x5au8; 1 << 20];
        let mut written = 0u64;
        let started = Instant::now();
        let mut checked = Instant::now();
        loop {
            if started.elapsed() >= hold && checked.elapsed() >= Duration::from_millis(200) {
                checked = Instant::now();
                if met() || started.elapsed() >= Duration::from_secs(60) {
                    break;
                }
            }
            match file.write(&chunk) {
                Ok(n) if n > 0 => written += n as u64,
                Ok(_) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        drop(file);
        std::fs::remove_file(&path).expect("delete the filler");
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A private PostgreSQL 15 cluster on 127.0.0.1 (trust auth), run as the
/// `postgres` user, so the test can restart it without disturbing the
/// shared server other tests use. Stopped and deleted when dropped.
struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl PgCluster {
    fn start() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("reelguard-faults-pg-")
            .tempdir_in("/tmp")
            .expect("a directory for the cluster");
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("run chown");
        assert!(chown.success(), "chown the cluster directory to postgres");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PgCluster { dir, port };
        cluster.as_postgres(
            "initdb",
            &[
                "-D",
                path_str(&cluster.data()),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.pg_ctl("start");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs a PostgreSQL program as the `postgres` user (initdb refuses root).
    fn as_postgres(&self, program: &str, args: &[&str]) {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join(program))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program} as postgres: {e}"));
        assert!(
            output.status.success(),
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let data = self.data();
        let mut args = vec!["-D", path_str(&data), "-w", "-t", "60"];
        if action == "start" {
            args.extend(["-l", path_str(&log), "-o", &options]);
        } else {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        self.as_postgres("pg_ctl", &args);
    }

    /// Creates a database and returns its URL.
    fn create_database(&self, name: &str) -> String {
        let admin = self.url("postgres");
        let sql = format!("CREATE DATABASE \"{name}\"");
        block_on(async move {
            use sqlx::Connection as _;
            let mut connection = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the private cluster");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut connection)
                .await
                .expect("create the database");
            connection.close().await.ok();
        });
        self.url(name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

// ---------------------------------------------------------------- what the store says

/// What the test reads from the store while the daemon runs.
struct Snapshot {
    candidates: Vec<Candidate>,
    /// Jobs by state name.
    jobs: BTreeMap<String, i64>,
    matches: Vec<MatchRecord>,
    /// One per match, in the order of `matches`.
    captures: Vec<CaptureRecord>,
    alerts: Vec<AlertRecord>,
    pending_stamps: usize,
}

impl Snapshot {
    fn processed(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| c.status != CandidateStatus::Queued)
            .count()
    }

    fn finished_jobs(&self) -> usize {
        (self.jobs.get("done").unwrap_or(&0) + self.jobs.get("failed").unwrap_or(&0)) as usize
    }

    /// Everything finished: every candidate, job, capture and alert.
    fn complete(&self) -> bool {
        self.candidates.len() == UPLOADS
            && self.processed() == UPLOADS
            && !self.jobs.contains_key("queued")
            && !self.jobs.contains_key("running")
            && self.matches.len() >= COPIES.len()
            && self.captures.iter().all(|c| c.state == CaptureState::Done)
            && self.alerts.len() >= self.matches.len()
            && self.alerts.iter().all(|a| a.state == AlertState::Delivered)
            && self.pending_stamps == 0
    }

    fn summary(&self) -> String {
        format!(
            "{} candidates ({} processed), jobs {:?}, {} matches, captures done {}/{}, alerts delivered {}/{}, {} stamps pending",
            self.candidates.len(),
            self.processed(),
            self.jobs,
            self.matches.len(),
            self.captures
                .iter()
                .filter(|c| c.state == CaptureState::Done)
                .count(),
            self.captures.len(),
            self.alerts
                .iter()
                .filter(|a| a.state == AlertState::Delivered)
                .count(),
            self.alerts.len(),
            self.pending_stamps
        )
    }
}

/// The store of a data dir, kept open on a runtime of its own; reopened
/// after an error (the server may have restarted).
struct Probe {
    url: String,
    runtime: tokio::runtime::Runtime,
    store: Option<Store>,
}

impl Probe {
    fn open(data: &Path) -> Probe {
        Probe {
            url: common::store_url(data),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            store: None,
        }
    }

    fn try_snapshot(&mut self) -> anyhow::Result<Snapshot> {
        let url = self.url.clone();
        let mut store = self.store.take();
        let result = self.runtime.block_on(async {
            if store.is_none() {
                store = Some(Store::open(&url).await?);
            }
            let s = store.as_ref().expect("just opened");
            let matches = s.list_matches().await?;
            let mut captures = Vec::new();
            for m in &matches {
                captures.push(s.capture(&m.id).await?);
            }
            anyhow::Ok(Snapshot {
                candidates: s.list_candidates().await?,
                jobs: s
                    .job_states()
                    .await?
                    .into_iter()
                    .map(|(state, n)| (state.to_string(), n))
                    .collect(),
                matches,
                captures,
                alerts: s.list_alerts(10_000).await?,
                pending_stamps: s.pending_stamps(None).await?.len(),
            })
        });
        if result.is_ok() {
            self.store = store;
        } else if let Some(store) = store {
            self.runtime.block_on(store.close());
        }
        result
    }

    /// A snapshot, trying again for a while when the database is away.
    fn snapshot(&mut self) -> Snapshot {
        let started = Instant::now();
        loop {
            match self.try_snapshot() {
                Ok(snapshot) => return snapshot,
                Err(e) if started.elapsed() < Duration::from_secs(60) => {
                    eprintln!("(the test's store read failed, trying again: {e:#})");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("the store cannot be read: {e:#}"),
            }
        }
    }

    /// Polls until `done(snapshot)`; panics with the log after `limit`.
    fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        log: &Path,
        mut done: impl FnMut(&Snapshot) -> bool,
    ) -> Snapshot {
        let started = Instant::now();
        loop {
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return snapshot;
            }
            if started.elapsed() > limit {
                panic!(
                    "timed out after {limit:?} waiting for {what}: {}\nlog:\n{}",
                    snapshot.summary(),
                    log_tail(log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn close(mut self) {
        if let Some(store) = self.store.take() {
            self.runtime.block_on(store.close());
        }
    }
}

// ---------------------------------------------------------------- one run

/// What a run is made of.
struct Run {
    backend: Backend,
    data: PathBuf,
    config: PathBuf,
    log: PathBuf,
    base: String,
}

/// The config: the TSA, one feed source of all uploads (scanned once: a
/// yearly schedule, and the source never ran; no pacing of its requests,
/// the platform is local), captures retried after 2 s,
/// alerts by email to the sink retried within seconds and without bundle
/// attachments (the frame pair is inline).
#[allow(clippy::too_many_arguments)]
fn write_config(
    dir: &Path,
    tsa: &Tsa,
    base: &str,
    smtp: SocketAddr,
    workers: usize,
    lease_s: u64,
    evidence_wait_s: f64,
) -> PathBuf {
    let config = common::timestamp_config(dir, std::slice::from_ref(&tsa.url), &tsa.ca);
    let mut text = std::fs::read_to_string(&config).unwrap();
    // Candidates met by an outage are tried again after 2, 4, 8, 16 and
    // 32 s (the default 30 s would make the run wait for nothing).
    text.push_str(&format!(
        "retry_interval_s = 1.0\n\n\
         [daemon]\nworkers = {workers}\nlease_s = {lease_s}\nretry_base_s = 2.0\nmax_attempts = 6\n\n\
         [evidence]\nretry_after_s = 2.0\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nallow_loopback = true\n\
         from = \"reelguard <alerts@example.com>\"\ntimeout_s = 10.0\n\n\
         [alerts]\nto = [\"creator@example.com\"]\nretry_base_s = 0.5\nretry_max_s = 2.0\n\
         max_attempts = 100\nevidence_wait_s = {evidence_wait_s}\n\
         dashboard_url = \"http://dash.example\"\nmax_attachment_bytes = 0\n\n\
         [[sources]]\nname = \"uploads\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n\
         allow_loopback = true\nschedule = \"0 0 0 1 1 *\"\nrate_limit_per_minute = 60000\n",
        port = smtp.port()
    ));
    std::fs::write(&config, text).unwrap();
    config
}

/// The end state every run must reach (see the module doc). `doubled`:
/// matches whose alert a kill caught between the server's 250 and the
/// daemon's commit, which may have a second message.
fn assert_end_state(
    run: &Run,
    media: &Media,
    snapshot: &Snapshot,
    sink: &mut Sink,
    doubled: &BTreeSet<String>,
) {
    let works = works().expect("checked by media()");
    let work_id = |work: Work| match work {
        Work::Bikes => works.bikes.clone(),
        Work::Bunny => works.bunny.clone(),
    };
    let base = &run.base;

    // Every upload a candidate exactly once, processed.
    let mut urls: Vec<&str> = snapshot
        .candidates
        .iter()
        .map(|c| c.canonical_url.as_str())
        .collect();
    urls.sort();
    let mut expected: Vec<String> = media
        .uploads
        .iter()
        .map(|u| format!("{base}/pages/{}", u.id))
        .collect();
    expected.sort();
    assert_eq!(urls, expected, "one candidate per upload");
    for c in &snapshot.candidates {
        assert!(
            matches!(c.status, CandidateStatus::Done | CandidateStatus::Duplicate),
            "candidate {} ended {} ({:?})",
            c.canonical_url,
            c.status,
            c.error
        );
    }

    // Each copy exactly one match, of its work; nothing else matched.
    let mut found: Vec<(String, String)> = snapshot
        .matches
        .iter()
        .map(|m| (m.candidate_url.clone(), m.work_id.clone()))
        .collect();
    found.sort();
    let mut wanted: Vec<(String, String)> = media
        .uploads
        .iter()
        .filter_map(|u| {
            u.copy_of
                .map(|w| (format!("{base}/pages/{}", u.id), work_id(w)))
        })
        .collect();
    wanted.sort();
    assert_eq!(found, wanted, "one match per copy");

    // Each match one finished, timestamped capture.
    for (m, capture) in snapshot.matches.iter().zip(&snapshot.captures) {
        assert_eq!(
            capture.state,
            CaptureState::Done,
            "capture of {}: {:?}",
            m.candidate_url,
            capture.error
        );
        assert!(
            capture.token.as_ref().is_some_and(|t| !t.is_empty()) && capture.tsa_time.is_some(),
            "capture of {} has no timestamp token",
            m.candidate_url
        );
        assert!(
            capture
                .files
                .iter()
                .any(|f| f.path == "capture/manifest.json"),
            "capture of {} has no manifest",
            m.candidate_url
        );
    }

    // No job left queued, running or failed; no timestamp pending.
    assert_eq!(
        snapshot.jobs.keys().cloned().collect::<Vec<_>>(),
        vec!["done".to_string()],
        "jobs by state: {:?}",
        snapshot.jobs
    );
    assert_eq!(snapshot.finished_jobs(), TOTAL_JOBS, "{:?}", snapshot.jobs);
    assert_eq!(snapshot.pending_stamps, 0, "timestamps left pending");

    // One alert per match, delivered, and one message per match in the sink.
    let match_ids: Vec<String> = snapshot.matches.iter().map(|m| m.id.clone()).collect();
    let mut alerted: Vec<&str> = snapshot
        .alerts
        .iter()
        .map(|a| a.match_id.as_str())
        .collect();
    alerted.sort();
    let mut ids: Vec<&str> = match_ids.iter().map(String::as_str).collect();
    ids.sort();
    assert_eq!(alerted, ids, "one alert row per match");
    for a in &snapshot.alerts {
        assert_eq!(a.state, AlertState::Delivered, "{a:?}");
    }
    let per_match = sink.messages_per_match(&match_ids);
    for (id, n) in &per_match {
        let allowed = if doubled.contains(id) { 1..=2 } else { 1..=1 };
        assert!(
            allowed.contains(n),
            "match {id} is in {n} messages (documented double-send window: {})",
            doubled.contains(id)
        );
    }
    assert_eq!(
        sink.message_count(),
        per_match.values().sum::<usize>(),
        "every message is about one match"
    );

    check_database(run, &snapshot.matches);
}

/// The database's own integrity check, and no orphan rows.
fn check_database(run: &Run, matches: &[MatchRecord]) {
    const ORPHANS: [(&str, &str); 8] = [
        (
            "matches without their candidate",
            "SELECT COUNT(*) FROM matches m WHERE NOT EXISTS (SELECT 1 FROM candidates c WHERE c.id = m.candidate_id)",
        ),
        (
            "captures without their match",
            "SELECT COUNT(*) FROM captures k WHERE NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = k.match_id)",
        ),
        (
            "alerts without their match",
            "SELECT COUNT(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = a.match_id)",
        ),
        (
            "matches without a capture row",
            "SELECT COUNT(*) FROM matches m WHERE NOT EXISTS (SELECT 1 FROM captures k WHERE k.match_id = m.id)",
        ),
        (
            "candidates without their job",
            "SELECT COUNT(*) FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'candidate' AND j.subject = c.id)",
        ),
        (
            "candidate jobs without their candidate",
            "SELECT COUNT(*) FROM jobs j WHERE j.kind = 'candidate' AND NOT EXISTS (SELECT 1 FROM candidates c WHERE c.id = j.subject)",
        ),
        (
            "capture jobs without their match",
            "SELECT COUNT(*) FROM jobs j WHERE j.kind = 'capture' AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = j.subject)",
        ),
        (
            "jobs still leased",
            "SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL",
        ),
    ];
    let url = common::store_url(&run.data);
    let orphans: Vec<(String, i64)> = block_on(async {
        use sqlx::Connection as _;
        let mut out = Vec::new();
        match run.backend {
            Backend::Sqlite => {
                let path = run.data.join("reelguard.db");
                let mut db = sqlx::SqliteConnection::connect(&format!(
                    "sqlite://{}?mode=ro",
                    path.display()
                ))
                .await
                .expect("open the SQLite database");
                let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                    .fetch_all(&mut db)
                    .await
                    .unwrap();
                assert_eq!(check, vec!["ok".to_string()], "PRAGMA integrity_check");
                let foreign: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
                    .fetch_all(&mut db)
                    .await
                    .unwrap();
                assert!(
                    foreign.is_empty(),
                    "PRAGMA foreign_key_check: {} rows",
                    foreign.len()
                );
                for (what, sql) in ORPHANS {
                    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap();
                    out.push((what.to_string(), n));
                }
                db.close().await.ok();
            }
            Backend::Postgres => {
                let mut db = sqlx::PgConnection::connect(&url)
                    .await
                    .expect("connect to the database");
                for (what, sql) in ORPHANS {
                    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap();
                    out.push((what.to_string(), n));
                }
                db.close().await.ok();
            }
        }
        out
    });
    for (what, n) in orphans {
        assert_eq!(n, 0, "{what}: {n}");
    }
    if run.backend == Backend::Postgres {
        // amcheck over every table and index of the test's database
        // (heap and B-tree structure, every index entry against its table).
        let parsed = url::Url::parse(&url).expect("the database URL parses");
        let port = parsed.port().unwrap_or(5432).to_string();
        let database = parsed.path().trim_start_matches('/').to_string();
        let output = Command::new(Path::new(PG_BIN).join("pg_amcheck"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(["--install-missing", "--heapallindexed", "--no-password"])
            .arg(&database)
            .output()
            .expect("run pg_amcheck");
        assert!(
            output.status.success(),
            "pg_amcheck {database}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(!matches.is_empty());
}

/// Jobs that met an error on the way and still finished, by kind (a job
/// keeps its last error once done).
fn jobs_that_recovered(run: &Run) -> BTreeMap<String, i64> {
    const SQL: &str =
        "SELECT kind, COUNT(*) FROM jobs WHERE state = 'done' AND last_error IS NOT NULL GROUP BY kind";
    let url = common::store_url(&run.data);
    let rows: Vec<(String, i64)> = block_on(async {
        use sqlx::Connection as _;
        match run.backend {
            Backend::Sqlite => {
                let path = run.data.join("reelguard.db");
                let mut db = sqlx::SqliteConnection::connect(&format!(
                    "sqlite://{}?mode=ro",
                    path.display()
                ))
                .await
                .expect("open the SQLite database");
                sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
            }
            Backend::Postgres => {
                let mut db = sqlx::PgConnection::connect(&url)
                    .await
                    .expect("connect to the database");
                sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
            }
        }
    });
    rows.into_iter().collect()
}

// ---------------------------------------------------------------- the seeded kill points

/// splitmix64: a tiny PRNG whose whole state is the seed, so a run's kill
/// points can be drawn again from the printed seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    match std::env::var("REELGUARD_FAULTS_SEED") {
        Ok(text) => {
            let text = text.trim_start_matches("0x");
            u64::from_str_radix(text, 16).expect("REELGUARD_FAULTS_SEED is hex")
        }
        Err(_) => DEFAULT_SEED,
    }
}

/// One kill: drawn (`more_jobs`, `delay_ms`) and what it hit.
struct Kill {
    /// Seconds since the first start.
    at_s: f64,
    more_jobs: usize,
    delay_ms: u64,
    finished_jobs: usize,
    running_jobs: i64,
    sending_alerts: usize,
}

on_both_backends!(kill_nine_at_twenty_seeded_points);

fn kill_nine_at_twenty_seeded_points(backend: Backend) {
    let Some(media) = media() else { return };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "faults_kill", &data) else {
        return;
    };
    fresh_data_dir(works().unwrap(), &data);
    let platform = Platform::start(&media.dir);
    let mut tsa = Tsa::down();
    tsa.up();
    let mut sink = Sink::start(&scratch.path().join("sink"));
    // The server holds its answer to DATA for 300 ms: kills land mid-send.
    sink.sink().set_data_delay(Duration::from_millis(300));
    // One worker: a job killed is the first one taken after the restart, and
    // each kill point waits for at least one more finished job, so no job is
    // killed twice (the queue gives up a job whose process dies at each of
    // its `max_attempts`: by design, against a crashing decode).
    let config = write_config(
        scratch.path(),
        &tsa,
        &platform.base,
        sink.addr,
        1,
        600,
        300.0,
    );
    let run = Run {
        backend,
        data: data.clone(),
        config,
        log: scratch.path().join("daemon.log"),
        base: platform.base.clone(),
    };
    let mut probe = Probe::open(&data);
    assert!(
        probe.snapshot().pending_stamps > 0,
        "the works were registered without a TSA: their stamps are pending"
    );

    let seed = seed();
    let mut rng = SplitMix64(seed);
    let mut kills: Vec<Kill> = Vec::new();
    let mut doubled = BTreeSet::new();
    let started = Instant::now();
    let mut daemon = Daemon::start(&data, &run.config, &run.log);
    for n in 0..KILLS {
        let finished = probe.snapshot().finished_jobs();
        // Spread the kills over the jobs left: on average (jobs left) /
        // (kills left) more jobs each.
        let left = TOTAL_JOBS.saturating_sub(finished);
        let span = (2 * left / (KILLS - n)).max(1);
        let more_jobs = 1 + rng.below(span as u64) as usize;
        let delay_ms = rng.below(600);
        let target = (finished + more_jobs).min(TOTAL_JOBS);
        probe.wait_for(
            &format!("{target} finished jobs (kill {})", n + 1),
            FINISH_LIMIT,
            &run.log,
            |s| s.finished_jobs() >= target,
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        daemon.assert_alive(&format!("before kill {}", n + 1), &run.log);
        daemon.kill_nine();
        // Let the sink finish its answer (or drop the message) first.
        std::thread::sleep(Duration::from_millis(400));
        let after = probe.snapshot();
        let sending: Vec<&AlertRecord> = after
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Sending)
            .collect();
        let ids: Vec<String> = sending.iter().map(|a| a.match_id.clone()).collect();
        for (id, messages) in sink.messages_per_match(&ids) {
            if messages > 0 {
                println!("kill {}: the sink kept the message of match {id} before the daemon recorded it (the documented SMTP window)", n + 1);
                doubled.insert(id);
            }
        }
        kills.push(Kill {
            at_s: started.elapsed().as_secs_f64(),
            more_jobs,
            delay_ms,
            finished_jobs: after.finished_jobs(),
            running_jobs: *after.jobs.get("running").unwrap_or(&0),
            sending_alerts: sending.len(),
        });
        daemon = Daemon::start(&data, &run.config, &run.log);
    }
    sink.sink().set_data_delay(Duration::ZERO);
    let end = probe.wait_for("the whole run", FINISH_LIMIT, &run.log, Snapshot::complete);
    let finished_s = started.elapsed().as_secs_f64();
    let end = daemon.stop_after(end, probe, &run.log);

    println!(
        "faults kill {}: seed {seed:#018x}; {} kills as (more jobs, delay ms) -> finished jobs at the kill, jobs running, alerts mid-send:",
        backend.name(),
        kills.len()
    );
    for (i, k) in kills.iter().enumerate() {
        println!(
            "  kill {:2} at {:5.1} s: ({:3}, {:3}) -> {:3} finished, {} running, {} sending",
            i + 1,
            k.at_s,
            k.more_jobs,
            k.delay_ms,
            k.finished_jobs,
            k.running_jobs,
            k.sending_alerts
        );
    }
    println!(
        "  mid-job kills: {}, mid-send kills: {}, documented double sends: {}; finished after {:.1} s: {}; sink messages: {}",
        kills.iter().filter(|k| k.running_jobs > 0).count(),
        kills.iter().filter(|k| k.sending_alerts > 0).count(),
        doubled.len(),
        finished_s,
        end.summary(),
        sink.message_count()
    );
    assert!(
        kills.iter().filter(|k| k.running_jobs > 0).count() >= KILLS / 4,
        "a good share of the kills land in the middle of a job"
    );
    assert_end_state(&run, media, &end, &mut sink, &doubled);
}

// ---------------------------------------------------------------- outages

/// The log written since `from` bytes.
fn log_since(log: &Path, from: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.get(from..).unwrap_or_default().to_string()
}

fn log_len(log: &Path) -> usize {
    std::fs::metadata(log)
        .map(|m| m.len() as usize)
        .unwrap_or(0)
}

on_both_backends!(outages_of_every_dependency);

fn outages_of_every_dependency(backend: Backend) {
    let Some(media) = media() else { return };
    if backend == Backend::Postgres && !reelguard::testkit::postgres::enabled() {
        eprintln!(
            "outages: PostgreSQL run skipped: {} is not set",
            reelguard::testkit::postgres::ENABLE_VAR
        );
        return;
    }
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    // The data dir on a small disk of its own (on SQLite, with the database).
    let disk = Tmpfs::mount(&data, "64m");
    let cluster = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let cluster = PgCluster::start();
            let url = cluster.create_database("faults");
            common::use_postgres(&data, &url);
            Some(cluster)
        }
    };
    fresh_data_dir(works().unwrap(), &data);
    let mut platform = Platform::start(&media.dir);
    let mut tsa = Tsa::down();
    let mut sink = Sink::start(&scratch.path().join("sink"));
    sink.sink()
        .set_refusal(Some("451 4.3.0 Try again later (test outage)"));
    // Alerts go out at once (not waiting for their capture), so they meet
    // the refusing and then absent server.
    let config = write_config(scratch.path(), &tsa, &platform.base, sink.addr, 2, 15, 0.0);
    let run = Run {
        backend,
        data: data.clone(),
        config,
        log: scratch.path().join("daemon.log"),
        base: platform.base.clone(),
    };
    let mut probe = Probe::open(&data);
    assert!(probe.snapshot().pending_stamps > 0, "stamps are pending");
    let mut outages: Vec<String> = Vec::new();
    let limit = FINISH_LIMIT;
    let log = run.log.clone();
    let started = Instant::now();
    let at = || format!("{:.0} s", started.elapsed().as_secs_f64());
    let mut daemon = Daemon::start(&data, &run.config, &log);

    // The platform down for 8 s (the client's own retries give up sooner).
    probe.wait_for("30 processed candidates", limit, &log, |s| {
        s.processed() >= 30
    });
    let from = log_len(&log);
    platform.stop();
    std::thread::sleep(Duration::from_secs(8));
    platform.restart();
    assert_eq!(platform.base, run.base);
    daemon.assert_alive("after the platform outage", &log);
    let seen = log_since(&log, from);
    assert!(
        seen.contains("Connection refused") || seen.contains("connection refused"),
        "the platform outage was met:\n{seen}"
    );
    outages.push(format!(
        "platform down 8 s until {} ({} processed)",
        at(),
        probe.snapshot().processed()
    ));

    // PostgreSQL restarted: stopped, 3 s, started.
    if let Some(cluster) = &cluster {
        probe.wait_for("80 processed candidates", limit, &log, |s| {
            s.processed() >= 80
        });
        let from = log_len(&log);
        cluster.pg_ctl("stop");
        std::thread::sleep(Duration::from_secs(3));
        cluster.pg_ctl("start");
        std::thread::sleep(Duration::from_secs(1));
        daemon.assert_alive("after the PostgreSQL restart", &log);
        let seen = log_since(&log, from);
        assert!(!seen.is_empty(), "the daemon noticed the restart");
        outages.push(format!(
            "PostgreSQL stopped for 3 s, started again at {}",
            at()
        ));
    }

    // SMTP down from here until the captures are done.
    probe.wait_for("110 processed candidates", limit, &log, |s| {
        s.processed() >= 110
    });
    sink.stop();
    outages.push(format!(
        "SMTP refusing (451) from the start, down from {} (110 processed)",
        at()
    ));

    // The data dir's disk full for 6 s.
    probe.wait_for("130 processed candidates", limit, &log, |s| {
        s.processed() >= 130
    });
    let from = log_len(&log);
    let full =
        |text: &str| text.contains("No space left on device") || text.contains("disk is full");
    let size = disk.keep_full(Duration::from_secs(6), || full(&log_since(&log, from)));
    daemon.assert_alive("after the disk was full", &log);
    let seen = log_since(&log, from);
    assert!(full(&seen), "the full disk was met:\n{seen}");
    outages.push(format!(
        "disk full ({} MiB filler) for 6 s or more, until the daemon met it; freed at {} ({} processed)",
        size >> 20,
        at(),
        probe.snapshot().processed()
    ));

    // The TSA back once a capture has failed for want of a timestamp.
    let waited = probe.wait_for("a capture waiting for the TSA", limit, &log, |s| {
        s.captures.iter().any(|c| {
            c.error
                .as_deref()
                .is_some_and(|e| e.contains("could not be timestamped"))
        })
    });
    let waiting: Vec<String> = waited
        .captures
        .iter()
        .filter(|c| c.error.is_some())
        .map(|c| c.match_id.clone())
        .collect();
    tsa.up();
    daemon.assert_alive("while the TSA was down", &log);
    outages.push(format!(
        "TSA down from the start until {} capture(s) failed for want of a token, back at {} ({} stamps were pending)",
        waiting.len(),
        at(),
        waited.pending_stamps
    ));

    // SMTP back once every capture is done.
    probe.wait_for("every capture done", limit, &log, |s| {
        s.processed() == UPLOADS
            && s.matches.len() >= COPIES.len()
            && s.captures.iter().all(|c| c.state == CaptureState::Done)
    });
    assert_eq!(
        sink.message_count(),
        0,
        "nothing was sent while SMTP was away"
    );
    sink.restart();
    outages.push(format!("SMTP back after the captures at {}", at()));

    let end = probe.wait_for("the whole run", limit, &log, Snapshot::complete);
    outages.push(format!("everything finished at {}", at()));
    let end = daemon.stop_after(end, probe, &log);

    // The captures that waited for the TSA completed once it was back.
    for (m, capture) in end.matches.iter().zip(&end.captures) {
        if waiting.contains(&m.id) {
            assert!(capture.attempts >= 2, "{capture:?}");
        }
    }
    // Every alert was tried while SMTP was away, then delivered once.
    assert!(
        end.alerts.iter().all(|a| a.attempts >= 2),
        "{:?}",
        end.alerts
    );
    let recovered = jobs_that_recovered(&run);
    println!(
        "faults outages {}: {}; end: {}; sink messages: {}; jobs done after an error, by kind: {recovered:?}",
        backend.name(),
        outages.join("; "),
        end.summary(),
        sink.message_count()
    );
    // The platform outage and the full disk failed candidates, which were
    // tried again; the TSA outage failed a capture, which was too.
    assert!(
        recovered.get("candidate").is_some_and(|n| *n > 0),
        "no candidate met the outages: {recovered:?}"
    );
    assert!(
        recovered.get("capture").is_some_and(|n| *n > 0),
        "no capture met the TSA outage: {recovered:?}"
    );
    assert_end_state(&run, media, &end, &mut sink, &BTreeSet::new());
    // The daemon stopped in `stop_after`, before its database goes.
    drop(cluster);
}
