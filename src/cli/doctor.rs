//! `reelguard doctor`: checks that everything reelguard needs is in place
//! and says what to do about each problem.
//!
//! One line per check: OK, WARN (reelguard works, with less) or FAIL
//! (something will not work), each WARN and FAIL with what to do; exit
//! code 1 on any FAIL. Nothing is changed: the database is read without
//! migrating it, each TSA is asked to timestamp the hash of a fixed public
//! text, and the SMTP server is logged into without sending mail.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Context;
use crate::config::ConfigSource;
use crate::source_config::{SourceConfig, SourceKind};
use crate::store::SchemaState;
use crate::timestamp::{Stamp, Stamper};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    reelguard doctor\n  \
    reelguard doctor --json | jq '.checks[] | select(.status != \"ok\")'\n  \
    sudo -u reelguard reelguard doctor    # as the service runs")]
pub struct DoctorArgs {
    /// Print as JSON: {"checks": [{"name", "status", "detail", "fix"}], "warnings", "failures"}
    #[arg(long)]
    pub json: bool,
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// reelguard works, with less (e.g. no screenshots without Chromium).
    Warn,
    /// Something will not work until it is fixed.
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked, e.g. `ffmpeg` or `tsa https://timestamp.example`.
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do (WARN and FAIL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// What each TSA is asked to timestamp: the SHA-256 of this public text.
const PROBE_TEXT: &[u8] = b"reelguard doctor: a timestamp request over nothing secret";

/// Free space in the data directory below which downloads and captures fail.
const FAIL_BELOW_BYTES: u64 = 512 << 20;
/// Free space below which the data directory fills soon.
const WARN_BELOW_BYTES: u64 = 5 << 30;

/// A clock further than this from a TSA's is worth fixing.
const CLOCK_WARN_S: f64 = 5.0;
/// A clock further than this from a TSA's makes recorded times disagree
/// with their timestamps.
const CLOCK_FAIL_S: f64 = 60.0;

pub async fn run(context: &Context, args: DoctorArgs) -> anyhow::Result<()> {
    let checks = all_checks(context).await;
    let warnings = checks.iter().filter(|c| c.status == Status::Warn).count();
    let failures = checks.iter().filter(|c| c.status == Status::Fail).count();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "checks": checks,
                "warnings": warnings,
                "failures": failures,
            }))?
        );
    } else {
        print!("{}", render(&checks));
        println!("{warnings} warning(s), {failures} failure(s)");
    }
    if failures > 0 {
        anyhow::bail!("{failures} check(s) failed: see FAIL above for what to do");
    }
    Ok(())
}

async fn all_checks(context: &Context) -> Vec<Check> {
    let config = &context.config;
    let mut checks = vec![
        config_check(&context.config_source),
        owner_check(&config.owner),
        ffmpeg_check(),
    ];
    checks.push(chromium_check(config.evidence.chromium.as_deref()).await);
    checks.push(ytdlp_check(&config.sources).await);
    match context.data_dir() {
        Ok(dir) => {
            checks.push(data_dir_check(&dir));
            if let Some(blob_dir) = &config.capture_settings().blob_dir {
                checks.push(blob_dir_check(blob_dir));
            }
            let url = config
                .database_url
                .clone()
                .unwrap_or_else(|| crate::store::sqlite_url(&dir));
            checks.push(database_check(&url).await);
        }
        Err(e) => checks.push(Check::fail(
            "data dir",
            format!("{e:#}"),
            "pass --data-dir DIR, or set data_dir in the config file",
        )),
    }
    checks.extend(timestamp_checks(&config.timestamp).await);
    checks.push(smtp_check(&config.smtp).await);
    checks
}

/// The report as text: one line per check, the fix indented under it.
fn render(checks: &[Check]) -> String {
    // Long names (a TSA's URL) run over rather than push every line right.
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .filter(|len| *len <= 12)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            check.status.label(),
            check.name,
            check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("      {:<width$}  → {fix}\n", ""));
        }
    }
    out
}

fn config_check(source: &ConfigSource) -> Check {
    let described = source.describe();
    let detail = described
        .strip_prefix("configuration: ")
        .unwrap_or(&described);
    match source {
        ConfigSource::Defaults => Check::warn(
            "config",
            detail,
            "run `reelguard init` to write one (owner details, trusted timestamps on)",
        ),
        _ => Check::ok("config", detail),
    }
}

fn owner_check(owner: &crate::domain::OwnerConfig) -> Check {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    match (given(&owner.name), given(&owner.email)) {
        (true, true) => Check::ok(
            "owner",
            format!(
                "{} <{}>",
                owner.name.as_deref().unwrap_or_default(),
                owner.email.as_deref().unwrap_or_default()
            ),
        ),
        _ => Check::warn(
            "owner",
            "[owner] name or email is missing: takedown notices and certificates name no claimant",
            "set them in [owner], or run `reelguard init --owner-name NAME --owner-email EMAIL --force`",
        ),
    }
}

fn ffmpeg_check() -> Check {
    let fix_install = "install FFmpeg's libraries (Debian 12: apt-get install libavcodec59 libavformat59 libswscale6)";
    match crate::media::libraries::libraries() {
        Err(e) => Check::fail("ffmpeg", e, fix_install),
        Ok(libraries) => {
            let versions: Vec<String> = libraries
                .versions
                .iter()
                .map(|(name, version)| format!("{name} {version}"))
                .collect();
            let detail = format!("FFmpeg {} ({})", libraries.release, versions.join(", "));
            if libraries.missing_decoders.is_empty() {
                Check::ok("ffmpeg", detail)
            } else {
                Check::warn(
                    "ffmpeg",
                    format!(
                        "{detail}; no decoder for {}: uploads in it cannot be matched",
                        libraries.missing_decoders.join(", ")
                    ),
                    "install an FFmpeg build with these decoders (Debian: libavcodec-extra)",
                )
            }
        }
    }
}

/// Runs `program --version` (at most 10 s) and returns its first line.
async fn version_of(program: &Path) -> Result<String, String> {
    let output = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(program)
            .arg("--version")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "did not answer --version within 10 s".to_string())?
    .map_err(|e| format!("cannot run it: {e}"))?;
    if !output.status.success() {
        return Err(format!("--version exited with {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

async fn chromium_check(configured: Option<&Path>) -> Check {
    let Some(binary) = crate::evidence::chromium::find(configured) else {
        return match configured {
            Some(path) => Check::fail(
                "chromium",
                format!("[evidence] chromium = {} does not exist", path.display()),
                "fix the path, or remove the key to use chromium from PATH",
            ),
            None => Check::warn(
                "chromium",
                "not found on PATH: captures keep the page and its headers but no screenshot \
                 or PDF, and evidence bundles have no report.pdf",
                "install it (Debian: apt-get install chromium), or set [evidence] chromium",
            ),
        };
    };
    match version_of(&binary).await {
        Ok(version) => Check::ok("chromium", format!("{version} ({})", binary.display())),
        Err(e) => Check::fail(
            "chromium",
            format!("{}: {e}", binary.display()),
            "reinstall Chromium (Debian: apt-get install --reinstall chromium)",
        ),
    }
}

/// The first file named `name` in the directories of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

async fn ytdlp_check(sources: &[SourceConfig]) -> Check {
    let users: Vec<&SourceConfig> = sources
        .iter()
        .filter(|s| s.kind == SourceKind::Ytdlp)
        .collect();
    let program = match users.first() {
        Some(source) => crate::sources::ytdlp::program(source).map_err(|e| format!("{e:#}")),
        None => on_path("yt-dlp").ok_or_else(|| "not installed (no yt-dlp on PATH)".to_string()),
    };
    let fix = "install it (pip install yt-dlp, or Debian: apt-get install yt-dlp)";
    match program {
        Err(e) if users.is_empty() => Check::warn(
            "yt-dlp",
            format!("{e}: no configured source needs it, but ytdlp sources and pages whose video is not a plain file cannot be downloaded"),
            fix,
        ),
        Err(e) => Check::fail("yt-dlp", e, fix),
        Ok(path) => match version_of(&path).await {
            Ok(version) => Check::ok("yt-dlp", format!("{version} ({})", path.display())),
            Err(e) => Check::fail("yt-dlp", format!("{}: {e}", path.display()), fix),
        },
    }
}

/// OK, WARN or FAIL for `available` bytes free.
fn space_status(available: u64) -> Status {
    if available < FAIL_BELOW_BYTES {
        Status::Fail
    } else if available < WARN_BELOW_BYTES {
        Status::Warn
    } else {
        Status::Ok
    }
}

fn data_dir_check(dir: &Path) -> Check {
    writable_dir_check(
        "data dir",
        dir,
        "run `reelguard init`, or any command (e.g. `reelguard works list`), to create it",
        "--data-dir, data_dir in the config",
    )
}

/// The blob store, when `blob_dir` puts it outside the data dir (on several
/// nodes, a shared mount).
fn blob_dir_check(dir: &Path) -> Check {
    writable_dir_check(
        "blob dir",
        dir,
        "create it, or mount the shared directory every node keeps blobs in there (blob_dir in the config)",
        "blob_dir in the config",
    )
}

/// Whether `dir` exists, can be written and has room; `create` says how
/// to make it, `setting` where to choose another.
fn writable_dir_check(name: &'static str, dir: &Path, create: &str, setting: &str) -> Check {
    if !dir.exists() {
        return Check::warn(
            name,
            format!("{} does not exist yet", dir.display()),
            create,
        );
    }
    if let Err(e) = tempfile::NamedTempFile::new_in(dir) {
        return Check::fail(
            name,
            format!("{} is not writable: {e}", dir.display()),
            format!(
                "give the user reelguard runs as write access to it, or choose another ({setting})"
            ),
        );
    }
    let available = match rustix::fs::statvfs(dir) {
        Ok(stat) => stat.f_bavail.saturating_mul(stat.f_frsize),
        Err(e) => {
            return Check::warn(
                name,
                format!("{} is writable; free space unknown: {e}", dir.display()),
                "check the free space with `df -h`",
            )
        }
    };
    let detail = format!(
        "{} is writable, {:.1} GiB free",
        dir.display(),
        available as f64 / (1u64 << 30) as f64
    );
    let fix = format!("free some space, or move the {name} ({setting}) to a larger disk");
    match space_status(available) {
        Status::Ok => Check::ok(name, detail),
        Status::Warn => Check::warn(name, format!("{detail}: it fills soon"), fix),
        Status::Fail => Check::fail(
            name,
            format!("{detail}: downloads and captures will fail"),
            fix,
        ),
    }
}

async fn database_check(url: &str) -> Check {
    const NAME: &str = "database";
    let shown = crate::store::redact_url(url);
    let state =
        tokio::time::timeout(Duration::from_secs(20), crate::store::schema_state(url)).await;
    match state {
        Err(_) => Check::fail(
            NAME,
            format!("{shown}: no answer within 20 s"),
            "check that the database server runs and database_url names it",
        ),
        Ok(Err(e)) => Check::fail(
            NAME,
            e.to_string(),
            "fix database_url (or REELGUARD_DATABASE_URL), or start the database server",
        ),
        Ok(Ok(SchemaState::Absent)) => Check::ok(
            NAME,
            format!("{shown}: not created yet; the first command creates it"),
        ),
        Ok(Ok(SchemaState::Current { version })) => Check::ok(
            NAME,
            format!("{shown}: reachable, schema at migration {version} (this binary's newest)"),
        ),
        Ok(Ok(SchemaState::Behind { version, latest })) => Check::warn(
            NAME,
            format!("{shown}: schema at migration {version}, this binary has {latest}"),
            "the next command migrates it (e.g. `reelguard works list`); restart the daemon after upgrading",
        ),
        Ok(Ok(SchemaState::Ahead { version, latest })) => Check::fail(
            NAME,
            format!("{shown}: schema at migration {version}, newer than this binary's {latest}"),
            "upgrade reelguard to the version that migrated this database",
        ),
    }
}

/// OK, WARN or FAIL for a clock `offset_s` seconds off a TSA's.
fn clock_status(offset_s: f64) -> Status {
    if offset_s.abs() <= CLOCK_WARN_S {
        Status::Ok
    } else if offset_s.abs() <= CLOCK_FAIL_S {
        Status::Warn
    } else {
        Status::Fail
    }
}

/// One line per TSA (a request, its token checked), then the clock
/// against the first TSA that answered.
async fn timestamp_checks(config: &crate::timestamp::TimestampConfig) -> Vec<Check> {
    if config.urls.is_empty() {
        return vec![Check::warn(
            "tsa",
            "trusted timestamps are off: creation stages and captures are not timestamped, \
             certificates stay drafts",
            "run `reelguard init` (public TSAs on), or list RFC 3161 URLs in [timestamp] urls",
        )];
    }
    let probe: [u8; 32] = Sha256::digest(PROBE_TEXT).into();
    let mut checks = Vec::new();
    let mut clock = None;
    for url in &config.urls {
        let name = format!("tsa {url}");
        let one = crate::timestamp::TimestampConfig {
            urls: vec![url.clone()],
            retries: 0,
            ..config.clone()
        };
        let stamper = match Stamper::new(&one) {
            Ok(stamper) => stamper,
            Err(e) => {
                checks.push(Check::fail(
                    name,
                    e.to_string(),
                    "fix [timestamp] trust_anchors or system_roots",
                ));
                continue;
            }
        };
        let sent = Utc::now();
        let started = Instant::now();
        match stamper.stamp(&probe).await {
            Ok(stamp) => {
                let took = started.elapsed();
                // The TSA's time is compared with ours halfway through the exchange.
                let midway =
                    sent + chrono::Duration::from_std(took / 2).unwrap_or(chrono::Duration::zero());
                let offset_s =
                    (midway - stamp.verified.gen_time).num_milliseconds() as f64 / 1000.0;
                checks.push(Check::ok(name, tsa_detail(&stamp, took)));
                clock.get_or_insert((url.clone(), offset_s));
            }
            Err(e) => checks.push(Check::fail(
                name,
                e.to_string(),
                "check the URL and the network; a refused token needs its TSA's CA in \
                 [timestamp] trust_anchors (or system_roots = true); else remove the URL",
            )),
        }
    }
    checks.push(match clock {
        None => Check::warn(
            "clock",
            "not compared: no TSA answered",
            "fix the TSAs above, then run `reelguard doctor` again",
        ),
        Some((url, offset_s)) => {
            let detail = format!("{offset_s:+.1} s from {url}'s time");
            let fix = "synchronise the clock (e.g. `timedatectl set-ntp true`, or install chrony)";
            match clock_status(offset_s) {
                Status::Ok => Check::ok("clock", detail),
                Status::Warn => Check::warn("clock", detail, fix),
                Status::Fail => Check::fail(
                    "clock",
                    format!("{detail}: times reelguard records disagree with their timestamps"),
                    fix,
                ),
            }
        }
    });
    checks
}

fn tsa_detail(stamp: &Stamp, took: Duration) -> String {
    format!(
        "answered in {:.1} s; the token verifies (signed by {}, policy {})",
        took.as_secs_f64(),
        stamp.verified.tsa_name,
        stamp.verified.policy
    )
}

async fn smtp_check(smtp: &crate::alerts::SmtpConfig) -> Check {
    if smtp.host.is_empty() {
        return Check::warn(
            "smtp",
            "email alerts are off ([smtp] host is empty)",
            "set [smtp] host, port, security, username and password_env, or use [[alerts.webhooks]]",
        );
    }
    let login = match smtp.username.as_str() {
        "" => "no login configured".to_string(),
        user => format!("logged in as {user}"),
    };
    match crate::alerts::email::check_login(smtp).await {
        Ok(()) => Check::ok(
            "smtp",
            format!(
                "{}:{} ({:?}): connected, {login}; no mail sent",
                smtp.host, smtp.port, smtp.security
            ),
        ),
        Err(e) => Check::fail(
            "smtp",
            format!("{e:#}"),
            format!(
                "check [smtp] host, port and security, and the password in ${}",
                smtp.password_env
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_below_the_thresholds_warns_then_fails() {
        assert_eq!(space_status(100 << 20), Status::Fail);
        assert_eq!(space_status(FAIL_BELOW_BYTES), Status::Warn);
        assert_eq!(space_status(2 << 30), Status::Warn);
        assert_eq!(space_status(WARN_BELOW_BYTES), Status::Ok);
    }

    #[test]
    fn a_clock_off_by_seconds_warns_and_by_minutes_fails_either_way() {
        assert_eq!(clock_status(0.4), Status::Ok);
        assert_eq!(clock_status(-5.0), Status::Ok);
        assert_eq!(clock_status(-12.0), Status::Warn);
        assert_eq!(clock_status(59.0), Status::Warn);
        assert_eq!(clock_status(61.0), Status::Fail);
        assert_eq!(clock_status(-3600.0), Status::Fail);
    }

    #[test]
    fn each_problem_is_followed_by_what_to_do() {
        let text = render(&[
            Check::ok("config", "/etc/reelguard/config.toml"),
            Check::fail("database", "cannot open", "start the server"),
        ]);
        assert_eq!(
            text,
            "OK    config    /etc/reelguard/config.toml\n\
             FAIL  database  cannot open\n\
             \x20               → start the server\n"
        );
    }

    #[test]
    fn running_on_the_defaults_suggests_init() {
        let check = config_check(&ConfigSource::Defaults);
        assert_eq!(check.status, Status::Warn);
        assert!(check.fix.unwrap().contains("reelguard init"));
        let found = config_check(&ConfigSource::System("/etc/reelguard/config.toml".into()));
        assert_eq!(found.status, Status::Ok);
        assert_eq!(
            found.detail,
            "/etc/reelguard/config.toml (the system's config file)"
        );
    }

    #[tokio::test]
    async fn a_missing_data_dir_warns_and_a_present_one_is_written_to() {
        let dir = tempfile::tempdir().unwrap();
        let missing = data_dir_check(&dir.path().join("nope"));
        assert_eq!(missing.status, Status::Warn);
        let present = data_dir_check(dir.path());
        assert!(present.detail.contains("is writable"), "{present:?}");
        assert!(present.detail.contains("GiB free"), "{present:?}");
        let unmounted = blob_dir_check(&dir.path().join("mnt"));
        assert_eq!(unmounted.status, Status::Warn);
        assert!(
            unmounted.fix.as_deref().unwrap().contains("mount"),
            "{unmounted:?}"
        );
    }
}
