//! Helpers shared by the integration tests: where the real footage is, scratch
//! directories, running the `reelguard` binary, and making test clips with the
//! ffmpeg command-line tool.
#![allow(dead_code)]

pub mod platform;
pub mod served;

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Data directories whose database is a PostgreSQL test database (the
/// PostgreSQL run of a test): commands on them get `REELGUARD_DATABASE_URL`.
static POSTGRES_DIRS: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// From now on, `data_dir`'s database is the PostgreSQL database at `url`.
pub fn use_postgres(data_dir: &Path, url: &str) {
    POSTGRES_DIRS
        .lock()
        .unwrap()
        .push((data_dir.to_path_buf(), url.to_string()));
}

/// The PostgreSQL database of `data_dir`, when the test runs on PostgreSQL.
pub fn database_url_of(data_dir: &Path) -> Option<String> {
    POSTGRES_DIRS
        .lock()
        .unwrap()
        .iter()
        .find(|(dir, _)| dir == data_dir)
        .map(|(_, url)| url.clone())
}

/// The database of the `--data-dir` in `args`, for the child's environment.
fn database_url_of_args(args: &[&str]) -> Option<String> {
    let at = args.iter().position(|a| *a == "--data-dir")?;
    database_url_of(Path::new(args.get(at + 1)?))
}

/// Sets (PostgreSQL run) or removes `REELGUARD_DATABASE_URL` for a child.
fn set_database_url(command: &mut Command, url: Option<String>) {
    match url {
        Some(url) => command.env("REELGUARD_DATABASE_URL", url),
        None => command.env_remove("REELGUARD_DATABASE_URL"),
    };
}

/// A PostgreSQL test database for `data_dir` (commands on it then use it),
/// or None when the PostgreSQL runs are off (one line says so).
pub fn postgres_for(
    label: &str,
    data_dir: &Path,
) -> Option<reelguard::testkit::postgres::TestDatabase> {
    let db = reelguard::testkit::postgres::TestDatabase::create_blocking(label)?;
    use_postgres(data_dir, &db.url);
    Some(db)
}

/// The database a run of a test uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// "sqlite" or "postgres", for the names of files a test keeps.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Gives `data_dir` its database for a run on `backend`. SQLite needs
/// nothing: `Some(None)`. PostgreSQL: a test database of its own, which the
/// commands on `data_dir` then use, dropped with the returned value:
/// `Some(Some(db))`. `None` when the PostgreSQL runs are off (one line says
/// so): the test returns.
pub fn database_for(
    backend: Backend,
    label: &str,
    data_dir: &Path,
) -> Option<Option<reelguard::testkit::postgres::TestDatabase>> {
    match backend {
        Backend::Sqlite => Some(None),
        Backend::Postgres => postgres_for(label, data_dir).map(Some),
    }
}

/// The URL of `data_dir`'s database, for opening it with `Store::open`.
pub fn store_url(data_dir: &Path) -> String {
    database_url_of(data_dir)
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("reelguard.db").display()))
}

/// Declares each test body `fn NAME(Backend)` as two tests, `NAME::sqlite`
/// and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::common::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                super::$name($crate::common::Backend::Postgres);
            }
        }
    )+};
}

/// Copies the database of the data dir `template` into `data_dir`: on
/// SQLite its files, on PostgreSQL (when `data_dir` has a test database) its
/// rows, through the store.
pub fn copy_database(template: &Path, data_dir: &Path) {
    std::fs::create_dir_all(data_dir).expect("create data dir");
    let Some(url) = database_url_of(data_dir) else {
        for entry in std::fs::read_dir(template).expect("list template") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("reelguard.db") {
                std::fs::copy(entry.path(), data_dir.join(name)).expect("copy database");
            }
        }
        return;
    };
    let template = template.to_path_buf();
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(async move {
            let source = reelguard::store::Store::open_in(&template)
                .await
                .expect("open the template");
            let target = reelguard::store::Store::open(&url)
                .await
                .expect("open the test database");
            source.copy_into(&target).await.expect("copy the works");
            source.close().await;
            target.close().await;
        });
}

/// How long one `reelguard` command may run before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo>/../shared/media`, the real footage described in its SOURCES.md.
fn shared_media_dir() -> PathBuf {
    repo_root()
        .parent()
        .expect("the repository has a parent directory")
        .join("shared")
        .join("media")
}

/// Where a footage file is: `../shared/media`, else `fixtures/` (a user's
/// clone has only the clips copied there, unchanged), else nowhere.
fn find_media(name: &str) -> Option<PathBuf> {
    [shared_media_dir(), repo_root().join("fixtures")]
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// True in CI (`CI=true`), where every footage file must be present.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// A footage file (see [`find_media`]). When it is missing, the calling test
/// skips (None, with a note on stderr), except in CI, where a missing file
/// fails the test: a suite that skips silently there proves nothing.
pub fn shared_media(name: &str) -> Option<PathBuf> {
    if let Some(path) = find_media(name) {
        return Some(path);
    }
    let missing = format!(
        "{name} is in neither {} nor {}",
        shared_media_dir().display(),
        repo_root().join("fixtures").display()
    );
    assert!(
        !in_ci(),
        "{missing}; CI needs the shared footage (see ../shared/media/SOURCES.md)"
    );
    eprintln!("note: {missing}; skipping this test");
    None
}

/// The footage, for tests that have checked with [`shared_media`] that the
/// files they use are there.
pub struct Footage;

impl Footage {
    /// The path of footage file `name`; panics if it is missing (the caller
    /// checks first).
    pub fn path(&self, name: &str) -> PathBuf {
        find_media(name).unwrap_or_else(|| panic!("footage file {name} is missing"))
    }
}

/// Returns early from the calling test when a shared media file is missing;
/// otherwise evaluates to its path.
#[macro_export]
macro_rules! require_media {
    ($name:expr) => {
        match common::shared_media($name) {
            Some(path) => path,
            None => return,
        }
    };
}

/// Where tests write generated clips and data dirs: `<repo>/target/test-media`.
pub fn test_media_root() -> PathBuf {
    let root = repo_root().join("target").join("test-media");
    std::fs::create_dir_all(&root).expect("create target/test-media");
    root
}

/// A fresh, empty directory that is deleted when the returned value is dropped.
/// Used both as a `--data-dir` and as a place for generated clips.
pub fn scratch_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("reelguard-test-")
        .tempdir_in(test_media_root())
        .expect("create a scratch directory")
}

/// A fresh directory meant to live as long as the test process (for state that
/// several tests share). Directories left by earlier, finished test processes
/// under the same name are removed first, so nothing is reused across runs.
pub fn process_dir(name: &str) -> PathBuf {
    let root = test_media_root();
    let prefix = format!("{name}-");
    for entry in std::fs::read_dir(&root)
        .expect("list target/test-media")
        .flatten()
    {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let still_running = Path::new("/proc").join(pid).exists();
        if !still_running {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a per-process directory");
    dir
}

/// A path as &str, for building argument lists.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// An `XDG_CONFIG_HOME` without a reelguard config file, so the commands
/// tests run never read the config file of the user running them.
pub fn no_user_config() -> PathBuf {
    test_media_root().join("no-user-config")
}

/// Runs the `reelguard` binary with `args` and returns (exit code, stdout, stderr).
/// The exit code is -1 when the process was killed by a signal or timed out.
pub fn run(args: &[&str]) -> (i32, String, String) {
    run_with_env(args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    run_full(args, env, None, false)
}

const TIME: &str = "/usr/bin/time";
const PEAK_RSS: &str = "peak_rss_kib=";

/// [`run_with_env`] in `cwd`, under GNU time: the exit code, stdout,
/// stderr (without time's own line) and the peak resident set in KiB.
/// None when /usr/bin/time is missing.
pub fn run_measured(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: Option<&Path>,
) -> Option<(i32, String, String, u64)> {
    if !Path::new(TIME).exists() {
        return None;
    }
    let (code, stdout, stderr) = run_full(args, env, cwd, true);
    let (rest, peak) = stderr.rsplit_once(PEAK_RSS)?;
    let peak = peak.trim().parse().ok()?;
    Some((code, stdout, rest.to_string(), peak))
}

fn run_full(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: Option<&Path>,
    measured: bool,
) -> (i32, String, String) {
    let mut command = if measured {
        let mut time = Command::new(TIME);
        time.arg("-f")
            .arg(format!("{PEAK_RSS}%M"))
            .arg(env!("CARGO_BIN_EXE_reelguard"));
        time
    } else {
        Command::new(env!("CARGO_BIN_EXE_reelguard"))
    };
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    set_database_url(&mut command, database_url_of_args(args));
    // No configuration of the user's or of the environment's is found,
    // unless the test names it.
    let mut child = command
        .args(args)
        .env_remove("REELGUARD_DATA_DIR")
        .env_remove("REELGUARD_CONFIG")
        .env("XDG_CONFIG_HOME", no_user_config())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the reelguard binary");

    let stdout_reader = read_in_background(child.stdout.take().expect("piped stdout"));
    let stderr_reader = read_in_background(child.stderr.take().expect("piped stderr"));

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for reelguard") {
            break Some(status);
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    let stdout = stdout_reader.join().expect("stdout reader");
    let mut stderr = stderr_reader.join().expect("stderr reader");
    let code = match status {
        Some(status) => match status.code() {
            Some(code) => code,
            None => {
                stderr.push_str(&format!(
                    "\n[test harness: reelguard ended by a signal: {status}]"
                ));
                -1
            }
        },
        None => {
            stderr.push_str(&format!(
                "\n[test harness: reelguard killed after {}s: reelguard {}]",
                COMMAND_TIMEOUT.as_secs(),
                args.join(" ")
            ));
            -1
        }
    };
    (code, stdout, stderr)
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `reelguard --data-dir DATA_DIR ARGS... --json`, requires exit 0 and
/// returns stdout parsed as JSON.
pub fn run_json(data_dir: &Path, args: &[&str]) -> Value {
    let mut full_args = vec!["--data-dir", path_str(data_dir)];
    full_args.extend_from_slice(args);
    full_args.push("--json");
    let (code, stdout, stderr) = run(&full_args);
    assert_eq!(
        code,
        0,
        "reelguard {} exited with {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        full_args.join(" ")
    );
    serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!(
            "reelguard {} printed invalid JSON ({err})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            full_args.join(" ")
        )
    })
}

/// `reelguard register VIDEO --title TITLE --json`; returns the work's JSON.
pub fn register(data_dir: &Path, video: &Path, title: &str) -> Value {
    let work = run_json(data_dir, &["register", path_str(video), "--title", title]);
    assert!(
        work["work_id"].is_string(),
        "register --json has no work_id: {work}"
    );
    work
}

/// `reelguard match VIDEO --json`; returns the whole result.
pub fn match_video(data_dir: &Path, video: &Path) -> Value {
    let result = run_json(data_dir, &["match", path_str(video)]);
    assert!(
        result["matches"].is_array(),
        "match --json has no matches list: {result}"
    );
    result
}

/// The `matches` list of a `match --json` result.
pub fn matches(result: &Value) -> &Vec<Value> {
    result["matches"].as_array().expect("matches is a list")
}

/// Runs the ffmpeg command-line tool (quietly, overwriting outputs) and panics
/// with its stderr when it fails.
pub fn ffmpeg<S: AsRef<OsStr>>(args: &[S]) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg (is it installed? scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {} failed:\n{}",
        args.iter()
            .map(|a| a.as_ref().to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Encoder settings for every generated clip: fast, H.264, 4:2:0, no audio.
pub const ENCODE: [&str; 7] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-an",
];

/// Makes `out` from `input` with the given ffmpeg options (for example
/// `["-vf", "hflip"]`), re-encoded with [`ENCODE`] unless the options choose
/// their own codec settings later on the command line.
pub fn transform(input: &Path, ffmpeg_args: &[&str], out: &Path) {
    let mut args: Vec<&str> = vec!["-i", path_str(input)];
    args.extend_from_slice(ffmpeg_args);
    args.extend_from_slice(&ENCODE);
    args.push(path_str(out));
    ffmpeg(&args);
}

/// Makes `out` from a lavfi source such as `testsrc2=size=320x240:rate=25`,
/// `seconds` long, encoded with [`ENCODE`].
pub fn lavfi_clip(source: &str, seconds: f64, out: &Path) {
    let seconds = seconds.to_string();
    let mut args: Vec<&str> = vec!["-f", "lavfi", "-i", source, "-t", &seconds];
    args.extend_from_slice(&ENCODE);
    args.push(path_str(out));
    ffmpeg(&args);
}

/// What ffprobe prints (CSV, no header) for `entries` of the first video
/// stream, e.g. `stream=width,height`.
pub fn probe_first_video_stream(path: &Path, entries: &str) -> String {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The (width, height) that ffprobe reports for the first video stream.
pub fn probe_video(path: &Path) -> (u32, u32) {
    let text = probe_first_video_stream(path, "stream=width,height");
    let mut parts = text.split(',');
    let width = parts.next().and_then(|w| w.parse().ok());
    let height = parts.next().and_then(|h| h.parse().ok());
    match (width, height) {
        (Some(width), Some(height)) => (width, height),
        _ => panic!(
            "ffprobe found no video size in {}: {text:?}",
            path.display()
        ),
    }
}

/// A local RFC 3161 TSA (OpenSSL behind HTTP) on 127.0.0.1, running on its
/// own thread for as long as this value lives.
pub struct TsaServer {
    pub url: String,
    pub base: String,
    pub ca_cert: PathBuf,
    _runtime: tokio::runtime::Runtime,
    _tsa: reelguard::testkit::tsa::LocalTsa,
}

impl TsaServer {
    /// Starts on `addr` ("127.0.0.1:0" for any free port).
    pub fn start(addr: &str) -> TsaServer {
        use reelguard::testkit::tsa::{LocalTsa, TsaFiles};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the TSA");
        let files = TsaFiles::create(&test_media_root().join("tsa")).expect("create the TSA's CA");
        let tsa = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .expect("bind the TSA");
            LocalTsa::start(listener, files).expect("start the TSA")
        });
        TsaServer {
            url: tsa.url(),
            base: format!("http://{}", tsa.addr),
            ca_cert: tsa.files.ca_cert.clone(),
            _runtime: runtime,
            _tsa: tsa,
        }
    }
}

/// A config file in `dir` that timestamps with the TSA URLs given and trusts `ca`.
pub fn timestamp_config(dir: &Path, urls: &[String], ca: &Path) -> PathBuf {
    let path = dir.join("reelguard.toml");
    let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    let text = format!(
        "[owner]\nname = \"Li Hua\"\nemail = \"lihua@example.com\"\n\n[timestamp]\nurls = [{}]\ntrust_anchors = [{:?}]\ntimeout_s = 3.0\nretries = 0\nallow_loopback = true\n",
        urls.join(", "),
        path_str(ca)
    );
    std::fs::write(&path, text).expect("write the test config");
    path
}

/// Starts `reelguard daemon` on `data` with `config`, its log appended to `log`.
pub fn start_daemon(data: &Path, config: &Path, log: &Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelguard"));
    set_database_url(&mut command, database_url_of(data));
    command
        .args([
            "--data-dir",
            path_str(data),
            "--config",
            path_str(config),
            "daemon",
        ])
        .env("REELGUARD_LOG", "info")
        // Each daemon serves its dashboard on a free port of its own.
        .env("REELGUARD_HTTP_LISTEN", "127.0.0.1:0")
        .env_remove("REELGUARD_DATA_DIR")
        .env_remove("REELGUARD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the daemon")
}

/// Sends SIGTERM to `child` and waits (up to `limit`) for it to exit.
pub fn sigterm_and_wait(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the daemon did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
