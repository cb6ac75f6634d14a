//! The JSON API against its own OpenAPI document, by schemathesis: every
//! operation of `/api/openapi.json` called with generated valid and
//! invalid parameters and bodies, on a server holding real data (a scan of
//! the mock platform, two captured matches). No answer may be a server
//! error, and every answer must have a documented status, content type and
//! a body that fits its documented schema.
//!
//! schemathesis comes from PyPI into a virtual environment under
//! `target/tools/schemathesis-venv` (made once, reused). Without python3
//! the test says so and passes; when the environment cannot be made, it
//! fails. `REELGUARD_ST_EXAMPLES` (cases per operation, default 20),
//! `REELGUARD_ST_SEED`, `REELGUARD_ST_BACKEND=postgres` (with
//! `REELGUARD_TEST_POSTGRES=1`) and `REELGUARD_ST_ARGS` (more arguments
//! for `st run`, e.g. `--report har --report-dir /tmp/st`) vary the run.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::served::served;
use common::Backend;

/// schemathesis 4 (its command line changed in 4.0).
const SCHEMATHESIS: &str = "schemathesis>=4,<5";
/// Test cases per API operation and phase (`REELGUARD_ST_EXAMPLES`
/// overrides it); the bundle export, which seals a zip each time, gets a
/// quarter of them.
const MAX_EXAMPLES: u32 = 20;
/// The seed of the generated data (`REELGUARD_ST_SEED` overrides it: a
/// fixed seed makes a failure reproducible).
const SEED: &str = "20261206";
/// The longest the schemathesis run may take before the test fails, for
/// [`MAX_EXAMPLES`] (it grows with `REELGUARD_ST_EXAMPLES`). It catches a
/// hung server, not a slow one: the run takes about 100 s on two busy
/// cores, while the rest of the suite decodes video beside it.
const RUN_DEADLINE: Duration = Duration::from_secs(600);
/// The longest one request may take: again a bound on a hang, not a speed
/// check (a bundle export seals a zip and may wait for the CPU far longer
/// than it would on an idle machine).
const REQUEST_TIMEOUT_S: &str = "120";

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/schemathesis-venv")
}

/// The venv's `st`, installing schemathesis first when it is not there.
/// None when there is no python3 at all.
fn schemathesis() -> Option<PathBuf> {
    let venv = venv_dir();
    let st = venv.join("bin/st");
    let works = |st: &Path| {
        Command::new(st)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works(&st) {
        return Some(st);
    }
    if Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("api_schema: python3 is not installed; the schemathesis run is skipped");
        return None;
    }
    let python = venv.join("bin/python");
    if !python.exists() {
        std::fs::create_dir_all(venv.parent().unwrap()).unwrap();
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .expect("run python3 -m venv");
        assert!(
            made.status.success(),
            "cannot make a Python virtual environment at {} (on Debian: apt-get install python3-venv):\n{}",
            venv.display(),
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ])
        .output()
        .expect("run pip");
    assert!(
        installed.status.success(),
        "pip install {SCHEMATHESIS:?} into {} failed (is PyPI reachable?):\n{}\n{}",
        venv.display(),
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    assert!(
        works(&st),
        "schemathesis is installed in {} but `st --version` fails; delete the directory to reinstall",
        venv.display()
    );
    Some(st)
}

/// Runs `command` to its end or until `deadline`: (exit code, output).
fn run_bounded(command: &mut Command, deadline: Duration) -> (Option<i32>, String) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("start schemathesis");
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut output = String::new();
    log.reopen().unwrap().read_to_string(&mut output).unwrap();
    (code, output)
}

#[test]
fn the_api_keeps_to_its_openapi_document() {
    // SQLite; REELGUARD_ST_BACKEND=postgres runs it on PostgreSQL instead.
    let backend = match std::env::var("REELGUARD_ST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("REELGUARD_ST_BACKEND={other:?}: give sqlite or postgres"),
    };
    let Some(s) = served(backend) else {
        return;
    };
    let Some(st) = schemathesis() else {
        return;
    };
    // A token of its own: the fuzzed DELETE /api/v1/tokens/{id} takes
    // names and ids it makes up, never this one's, and the other tokens
    // stay out of reach too.
    let created = s.json(&[
        "tokens",
        "create",
        "schemathesis",
        "--role",
        "admin",
        "--json",
    ]);
    let token = created["token"].as_str().unwrap().to_string();

    let examples: u32 =
        match std::env::var("REELGUARD_ST_EXAMPLES") {
            Ok(v) => v.parse().ok().filter(|n| *n >= 1).unwrap_or_else(|| {
                panic!("REELGUARD_ST_EXAMPLES={v:?}: give a whole number from 1")
            }),
            Err(_) => MAX_EXAMPLES,
        };
    let deadline = RUN_DEADLINE.mul_f64((f64::from(examples) / f64::from(MAX_EXAMPLES)).max(1.0));
    let seed = std::env::var("REELGUARD_ST_SEED").unwrap_or_else(|_| SEED.into());
    // Per-operation counts live in a configuration file (command-line
    // options would override them). A source's settings are checked
    // beyond what a schema can say (a cron schedule that parses, an IANA
    // time zone, a URL; `SourceConfig::validate`), so a body that fits
    // the schema may still be refused with 400 naming the value. Likewise
    // the multipart forms: a title of printable characters, a file that is
    // a zip (verify: 422 when it is not one), field bytes the multipart
    // parser refuses. And a multipart field is text whatever type the
    // schema gives it, so a "wrong type" there cannot be told from a
    // title: only valid cases are generated for them (unknown fields are
    // refused, by the server's own list).
    let config = s.dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "generation.max-examples = {examples}\n\n\
             [[operations]]\n\
             include-operation-id = \"match_bundle\"\n\
             generation.max-examples = {}\n\
             phases.stateful.enabled = false\n\n\
             [[operations]]\n\
             include-operation-id = \"revoke_token\"\n\
             phases.stateful.enabled = false\n\n\
             [[operations]]\n\
             include-operation-id = [\"create_source\", \"update_source\", \"api_register\", \"api_add_artifact\"]\n\
             checks.positive_data_acceptance.expected-statuses = [\"2XX\", 400, 401, 403, 404, 409]\n\n\
             [[operations]]\n\
             include-operation-id = \"api_verify\"\n\
             checks.positive_data_acceptance.expected-statuses = [\"2XX\", 400, 413, 422]\n\n\
             [[operations]]\n\
             include-operation-id = [\"api_register\", \"api_add_artifact\", \"api_verify\"]\n\
             generation.mode = \"positive\"\n",
            (examples / 4).max(1)
        ),
    )
    .unwrap();
    let started = Instant::now();
    let (code, output) = run_bounded(
        Command::new(&st)
            .current_dir(&s.dir)
            .env("NO_COLOR", "1")
            .env_remove("SCHEMATHESIS_HOOKS")
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{}/api/openapi.json", s.base))
            .args(["--url", &s.base])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", "all"])
            // `all` includes a response-time limit of 10 s: a speed check,
            // which a test on two busy cores must not make. It gets the
            // per-request bound instead.
            .args(["--max-response-time", REQUEST_TIMEOUT_S])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--seed", &seed])
            .args(["--workers", "2"])
            .args(["--request-timeout", REQUEST_TIMEOUT_S])
            .args(["--generation-database", "none"])
            .arg("--no-color")
            .args(
                std::env::var("REELGUARD_ST_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            ),
        deadline,
    );
    let elapsed = started.elapsed();
    println!("{output}");
    println!("schemathesis ran for {:.0} s", elapsed.as_secs_f64());
    match code {
        Some(0) => {}
        Some(code) => panic!(
            "schemathesis found answers that do not keep to the OpenAPI document (exit {code}); its report is above"
        ),
        None => panic!(
            "schemathesis did not finish within {} s; its output so far is above",
            deadline.as_secs()
        ),
    }
    // The run's token was not revoked by the fuzzing: its answers were
    // never 401s in disguise.
    let listed = s.json(&["tokens", "list", "--json"]);
    let ours: Vec<&serde_json::Value> = listed["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("no tokens in {listed}"))
        .iter()
        .filter(|t| t["name"] == "schemathesis")
        .collect();
    assert!(
        ours.len() == 1 && ours[0]["revoked_at"].is_null(),
        "the fuzzing revoked its own token: {listed}"
    );
}
