//! The TOML configuration: where it is found, defaults, file, environment,
//! validation.
//!
//! Every key is optional. Precedence: command-line flags, then `REELGUARD_*`
//! environment variables, then the file, then the defaults below. A bad file
//! is rejected at start-up naming the key, the value and the reason.
//!
//! The file is found by [`discover`]: `--config`, `REELGUARD_CONFIG`,
//! `$XDG_CONFIG_HOME/reelguard/config.toml` (`~/.config` when unset), then
//! [`SYSTEM_CONFIG`]; with none of them, the embedded defaults.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::alerts::{AlertsConfig, SmtpConfig};
use crate::daemon::DaemonConfig;
use crate::domain::OwnerConfig;
use crate::matcher::MatchConfig;
use crate::media::DecodeLimits;
use crate::source_config::SourceConfig;
use crate::timestamp::TimestampConfig;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Holds the SQLite database, and the blobs unless `blob_dir` is set.
    pub data_dir: Option<PathBuf>,
    /// The blob store (captured evidence, videos queued for registration):
    /// a directory every node of a cluster reaches, e.g. a shared mount
    /// [default: `blobs/` in the data dir].
    pub blob_dir: Option<PathBuf>,
    /// `sqlite://…` (default: `reelguard.db` in the data dir).
    pub database_url: Option<String>,
    pub owner: OwnerConfig,
    pub matching: MatchConfig,
    pub limits: DecodeLimits,
    pub timestamp: TimestampConfig,
    /// Places to watch (`[[sources]]`); more are added with `reelguard sources add`.
    pub sources: Vec<SourceConfig>,
    /// The daemon's workers and media retention.
    pub daemon: DaemonConfig,
    /// How matches are captured (`[evidence]`).
    pub evidence: crate::evidence::EvidenceConfig,
    /// The allowlist of own and licensed channels (`[review]`).
    pub review: crate::evidence::ReviewConfig,
    /// The SMTP server email alerts go through.
    pub smtp: SmtpConfig,
    /// Who is alerted of new matches, and when.
    pub alerts: AlertsConfig,
    /// Where the dashboard and the API listen (`[http]`).
    pub http: crate::http::HttpConfig,
}

/// The configuration file of a machine (the Debian package installs it).
pub const SYSTEM_CONFIG: &str = "/etc/reelguard/config.toml";

/// Where the configuration comes from, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// Named by `--config`.
    Flag(PathBuf),
    /// Named by `REELGUARD_CONFIG`.
    Env(PathBuf),
    /// Found at the user's path (`$XDG_CONFIG_HOME/reelguard/config.toml`).
    User(PathBuf),
    /// Found at [`SYSTEM_CONFIG`].
    System(PathBuf),
    /// No file: the embedded defaults.
    Defaults,
}

impl ConfigSource {
    /// The file to read, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Flag(path)
            | ConfigSource::Env(path)
            | ConfigSource::User(path)
            | ConfigSource::System(path) => Some(path),
            ConfigSource::Defaults => None,
        }
    }

    /// One line for the log: which file and how it was chosen.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Flag(path) => format!("configuration: {} (--config)", path.display()),
            ConfigSource::Env(path) => {
                format!("configuration: {} (REELGUARD_CONFIG)", path.display())
            }
            ConfigSource::User(path) => {
                format!("configuration: {} (the user's config file)", path.display())
            }
            ConfigSource::System(path) => {
                format!(
                    "configuration: {} (the system's config file)",
                    path.display()
                )
            }
            ConfigSource::Defaults => format!(
                "configuration: the embedded defaults (no --config, no REELGUARD_CONFIG, \
                 no {}, no {SYSTEM_CONFIG})",
                user_config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/reelguard/config.toml".into())
            ),
        }
    }
}

/// The user's config file: `$XDG_CONFIG_HOME/reelguard/config.toml`, or
/// `~/.config/reelguard/config.toml` when `XDG_CONFIG_HOME` is unset, empty
/// or relative (as the XDG Base Directory specification says). `None`
/// without either variable.
pub fn user_config_path() -> Option<PathBuf> {
    user_config_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

fn user_config_path_from(xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let base = match xdg.map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(xdg) => xdg,
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(base.join("reelguard").join("config.toml"))
}

/// Finds the configuration: `flag` (`--config`), else `REELGUARD_CONFIG`,
/// else the user's file, else [`SYSTEM_CONFIG`], else the defaults. A file
/// named by the flag or the variable must exist (the error names it); the
/// others are skipped when absent.
pub fn discover(flag: Option<&Path>) -> anyhow::Result<ConfigSource> {
    discover_from(
        flag,
        std::env::var_os("REELGUARD_CONFIG"),
        user_config_path(),
        Path::new(SYSTEM_CONFIG),
    )
}

fn discover_from(
    flag: Option<&Path>,
    env: Option<OsString>,
    user: Option<PathBuf>,
    system: &Path,
) -> anyhow::Result<ConfigSource> {
    let named = match (flag, env.filter(|v| !v.is_empty())) {
        (Some(path), _) => Some(ConfigSource::Flag(path.to_path_buf())),
        (None, Some(path)) => Some(ConfigSource::Env(PathBuf::from(path))),
        (None, None) => None,
    };
    if let Some(source) = named {
        let path = source.path().expect("a named file");
        let how = match source {
            ConfigSource::Flag(_) => "--config",
            _ => "REELGUARD_CONFIG",
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => return Ok(source),
            Ok(_) => bail!("config file {} ({how}) is not a file", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "config file {} ({how}) does not exist: check the path, or run `reelguard init` to write one",
                path.display()
            ),
            Err(e) => bail!("cannot read config file {} ({how}): {e}", path.display()),
        }
    }
    if let Some(user) = user.filter(|p| p.exists()) {
        return Ok(ConfigSource::User(user));
    }
    if system.exists() {
        return Ok(ConfigSource::System(system.to_path_buf()));
    }
    Ok(ConfigSource::Defaults)
}

impl Config {
    /// Reads `path` (when given) and applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                Config::parse(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(url) = std::env::var("REELGUARD_DATABASE_URL") {
            config.database_url = Some(url);
        }
        if let Ok(listen) = std::env::var("REELGUARD_HTTP_LISTEN") {
            config.http.listen = listen;
        }
        // Trust anchors named relative to the config file are found beside it.
        if let Some(dir) = path.and_then(Path::parent) {
            for anchor in &mut config.timestamp.trust_anchors {
                if anchor.is_relative() {
                    *anchor = dir.join(&*anchor);
                }
            }
        }
        config.validate().with_context(|| match path {
            Some(path) => format!("invalid config file {}", path.display()),
            None => "invalid configuration".to_string(),
        })?;
        Ok(config)
    }

    /// The config `text` says, unchecked. toml's message names the line,
    /// shows it and says what is wrong; but a line holding a URL (which may
    /// carry a proxy's password or a webhook's token) is not shown: then
    /// the message gives its line and column, and no URL.
    fn parse(text: &str) -> anyhow::Result<Config> {
        toml::from_str::<Config>(text).map_err(|e| {
            let shown = e.to_string();
            if !shown.contains("://") {
                return anyhow::anyhow!("{}", shown.trim_end());
            }
            let start = e.span().map_or(0, |span| span.start);
            let before = text.get(..start).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
                .chars()
                .count()
                + 1;
            let what: Vec<&str> = e
                .message()
                .trim_end()
                .split(' ')
                .map(|word| if word.contains("://") { "***" } else { word })
                .collect();
            anyhow::anyhow!(
                "TOML parse error at line {line}, column {column}: {} (the line is not shown: it holds a URL, which may carry a password or a token)",
                what.join(" ")
            )
        })
    }

    /// The config `text` says, checked, without a file or the environment
    /// (what the config fuzz target feeds).
    pub fn from_text(text: &str) -> anyhow::Result<Config> {
        let config = Config::parse(text)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        // Each section checks its own keys (every number finite and in
        // range, naming key, value and range) beside its struct.
        self.matching.validate()?;
        self.limits.validate()?;
        self.timestamp.validate()?;
        self.evidence.validate()?;
        self.review.validate()?;
        for (i, source) in self.sources.iter().enumerate() {
            source.validate()?;
            if self.sources[..i].iter().any(|s| s.name == source.name) {
                bail!(
                    "sources.name = {:?}: two sources have this name",
                    source.name
                );
            }
        }
        self.daemon.validate()?;
        self.http.validate()?;
        // `[smtp]` and `[alerts]`.
        crate::alerts::validate(&self.alert_settings())?;
        if let Some(url) = &self.database_url {
            if crate::store::Backend::of_url(url).is_none() {
                bail!(
                    "database_url = {:?}: use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE",
                    crate::store::redact_url(url)
                );
            }
        }
        Ok(())
    }

    /// The sections alerting reads.
    pub fn alert_settings(&self) -> crate::alerts::AlertSettings {
        let mut alerts = self.alerts.clone();
        // Links go to the dashboard at its public address when no other is given.
        if alerts.dashboard_url.is_empty() {
            alerts.dashboard_url = self.http.public_url.clone();
        }
        crate::alerts::AlertSettings {
            smtp: self.smtp.clone(),
            alerts,
            owner: self.owner.clone(),
        }
    }

    /// The sections the dashboard and the API read.
    pub fn http_settings(&self) -> crate::http::HttpSettings {
        crate::http::HttpSettings {
            http: self.http.clone(),
            capture: self.capture_settings(),
            scan_max_attempts: self.daemon.max_attempts,
        }
    }

    /// The sections evidence capture and export read.
    pub fn capture_settings(&self) -> crate::evidence::CaptureSettings {
        crate::evidence::CaptureSettings {
            evidence: self.evidence.clone(),
            timestamp: self.timestamp.clone(),
            limits: self.limits.clone(),
            owner: self.owner.clone(),
            media_dir: self.daemon.media_dir.clone(),
            blob_dir: self.blob_dir.as_deref().map(expand_home),
            public_url: self.http.public_url.clone(),
        }
    }

    /// The sections the daemon (and `scan`, which runs its pipeline) reads.
    pub fn daemon_settings(&self) -> crate::daemon::DaemonSettings {
        crate::daemon::DaemonSettings {
            daemon: self.daemon.clone(),
            matching: self.matching.clone(),
            review: self.review.clone(),
            alerts: self.alert_settings(),
            capture: self.capture_settings(),
        }
    }

    /// The data directory: the flag or environment value, else the config
    /// file's, else `$XDG_DATA_HOME/reelguard` or `~/.local/share/reelguard`.
    pub fn resolve_data_dir(&self, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
        if let Some(dir) = flag
            .map(Path::to_path_buf)
            .or_else(|| self.data_dir.clone())
        {
            return Ok(expand_home(&dir));
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(xdg).join("reelguard"));
        }
        let home = std::env::var_os("HOME")
            .context("no data directory: pass --data-dir or set REELGUARD_DATA_DIR or HOME")?;
        Ok(PathBuf::from(home).join(".local/share/reelguard"))
    }
}

fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_config_follows_xdg_and_falls_back_to_home() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            user_config_path_from(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            path(Some("/x/conf"), Some("/home/li")),
            Some(PathBuf::from("/x/conf/reelguard/config.toml"))
        );
        for xdg in [None, Some(""), Some("relative/conf")] {
            assert_eq!(
                path(xdg, Some("/home/li")),
                Some(PathBuf::from("/home/li/.config/reelguard/config.toml")),
                "{xdg:?}"
            );
        }
        assert_eq!(path(None, None), None);
    }

    #[test]
    fn discovery_takes_the_first_of_flag_env_user_system() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "").unwrap();
            path
        };
        let (flag, env, user, system) = (file("f"), file("e"), file("u"), file("s"));
        let missing = dir.path().join("missing.toml");
        let find = |flag: Option<&Path>, env: Option<&Path>, user: &Path, system: &Path| {
            discover_from(
                flag,
                env.map(|p| p.as_os_str().to_owned()),
                Some(user.to_path_buf()),
                system,
            )
        };
        assert_eq!(
            find(Some(&flag), Some(&env), &user, &system).unwrap(),
            ConfigSource::Flag(flag.clone())
        );
        assert_eq!(
            find(None, Some(&env), &user, &system).unwrap(),
            ConfigSource::Env(env.clone())
        );
        assert_eq!(
            find(None, None, &user, &system).unwrap(),
            ConfigSource::User(user.clone())
        );
        assert_eq!(
            find(None, None, &missing, &system).unwrap(),
            ConfigSource::System(system.clone())
        );
        assert_eq!(
            find(None, None, &missing, &missing).unwrap(),
            ConfigSource::Defaults
        );
        // An empty REELGUARD_CONFIG is unset.
        assert_eq!(
            discover_from(None, Some("".into()), None, &missing).unwrap(),
            ConfigSource::Defaults
        );
        // A named file must exist; the error names it and how it was named.
        let error = find(Some(&missing), None, &user, &system).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("missing.toml (--config) does not exist"),
            "{error}"
        );
        let error = find(None, Some(&missing), &user, &system).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("missing.toml (REELGUARD_CONFIG) does not exist"),
            "{error}"
        );
        let error = find(Some(dir.path()), None, &user, &system).unwrap_err();
        assert!(error.to_string().contains("is not a file"), "{error}");
    }

    #[test]
    fn example_config_parses_and_matches_the_defaults() {
        let text = include_str!("../config/reelguard.example.toml");
        let config: Config = toml::from_str(text).expect("example config parses");
        config.validate().expect("example config is valid");
        assert_eq!(config.matching, MatchConfig::default());
        assert_eq!(config.limits, DecodeLimits::default());
        assert_eq!(config.daemon, DaemonConfig::default());
        assert_eq!(config.smtp, SmtpConfig::default());
        assert_eq!(config.alerts, AlertsConfig::default());
        assert!(
            config.sources.is_empty(),
            "the example's source is commented out"
        );
        // The commented-out source, with every key at its default, is valid.
        let uncommented = text.replace("\n#~ ", "\n");
        let config: Config = toml::from_str(&uncommented).expect("example source parses");
        config.validate().expect("example source is valid");
        let mut expected = SourceConfig::new(
            "my-feed",
            crate::source_config::SourceKind::Feed,
            "https://videos.example.com/feed.xml",
        );
        expected.proxy = Some("socks5h://127.0.0.1:1080".into());
        expected.ca_cert = Some("/etc/reelguard/mirror-ca.pem".into());
        expected
            .headers
            .insert("Accept-Language".into(), "en".into());
        expected.published_within_days = Some(30);
        expected.ytdlp_path = Some("/usr/local/bin/yt-dlp".into());
        expected.user_agent = Some("reelguard/0.1.0".into());
        assert_eq!(config.sources, vec![expected]);
    }

    /// Why `text` is refused as a config file: a parse error (toml's
    /// message shows the offending line, key included) or a validation error.
    fn refusal(text: &str) -> Option<Result<String, String>> {
        match toml::from_str::<Config>(text) {
            Err(e) => Some(Err(e.to_string())),
            Ok(config) => config.validate().err().map(|e| Ok(format!("{e:#}"))),
        }
    }

    /// Whether a key holds a float or an integer.
    #[derive(Clone, Copy, PartialEq)]
    enum Num {
        Float,
        Int,
    }

    /// Every numeric key of every section.
    const NUMERIC_KEYS: &[(&str, &str, Num)] = &[
        ("matching", "chunk_radius", Num::Int),
        ("matching", "coarse_chunk_radius", Num::Int),
        ("matching", "frame_radius", Num::Int),
        ("matching", "min_quality", Num::Float),
        ("matching", "min_matched_frames", Num::Int),
        ("matching", "min_score", Num::Float),
        ("matching", "max_gap_s", Num::Float),
        ("matching", "min_speed", Num::Float),
        ("matching", "max_speed", Num::Float),
        ("matching", "max_seeds_per_sample", Num::Int),
        ("matching", "max_hypotheses", Num::Int),
        ("limits", "min_side", Num::Int),
        ("limits", "max_side", Num::Int),
        ("limits", "max_duration_s", Num::Float),
        ("limits", "max_decode_s", Num::Float),
        ("timestamp", "timeout_s", Num::Float),
        ("timestamp", "retries", Num::Int),
        ("timestamp", "retry_interval_s", Num::Float),
        ("daemon", "workers", Num::Int),
        ("daemon", "lease_s", Num::Int),
        ("daemon", "shutdown_grace_s", Num::Int),
        ("daemon", "max_attempts", Num::Int),
        ("daemon", "retry_base_s", Num::Float),
        ("evidence", "chromium_timeout_s", Num::Float),
        ("evidence", "max_media_bytes", Num::Int),
        ("evidence", "max_page_bytes", Num::Int),
        ("evidence", "retry_after_s", Num::Float),
        ("smtp", "port", Num::Int),
        ("smtp", "timeout_s", Num::Float),
        ("alerts", "min_score", Num::Float),
        ("alerts", "max_attachment_bytes", Num::Int),
        ("alerts", "evidence_wait_s", Num::Float),
        ("alerts", "max_attempts", Num::Int),
        ("alerts", "retry_base_s", Num::Float),
        ("alerts", "retry_max_s", Num::Float),
        ("sources", "rate_limit_per_minute", Num::Int),
        ("sources", "max_media_bytes", Num::Int),
        ("sources", "max_duration_s", Num::Float),
        ("sources", "published_within_days", Num::Int),
        ("sources", "retries", Num::Int),
        ("sources", "timeout_s", Num::Float),
        ("sources", "quota_per_day", Num::Int),
        ("sources", "max_results", Num::Int),
        ("http", "max_upload_bytes", Num::Int),
        ("http", "session_hours", Num::Float),
    ];

    /// A config file setting `section.key = value` (in a valid source for
    /// `sources`), and the key as errors name it.
    fn with(section: &str, key: &str, value: &str) -> (String, String) {
        if section == "sources" {
            (
                format!("[[sources]]\nname = \"s\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\n{key} = {value}\n"),
                format!("sources.s.{key}"),
            )
        } else {
            (
                format!("[{section}]\n{key} = {value}\n"),
                format!("{section}.{key}"),
            )
        }
    }

    #[test]
    fn every_number_of_every_section_is_checked_by_name() {
        let huge_int = i64::MAX.to_string();
        let mut unchecked = Vec::new();
        for &(section, key, num) in NUMERIC_KEYS {
            let bad: Vec<&str> = match num {
                // Every float key is non-negative, so -1 is out of range too.
                Num::Float => vec!["nan", "inf", "-inf", "-1", "-1.0", "1e300"],
                // Integers: non-integers and negatives fail to parse (toml
                // shows the line), a huge value fails the range.
                Num::Int => vec!["nan", "inf", "-1", "1e300", &huge_int],
            };
            for value in bad {
                let (text, full_key) = with(section, key, value);
                match refusal(&text) {
                    None => unchecked.push(format!("{full_key} = {value} is accepted")),
                    Some(Ok(message)) => {
                        if !(message.contains(&format!("{full_key} = "))
                            && message.contains(" between "))
                        {
                            unchecked.push(format!(
                                "{full_key} = {value}: the error does not name key and range: {message}"
                            ));
                        }
                    }
                    Some(Err(message)) => {
                        if !message.contains(&format!("{key} = {value}")) {
                            unchecked.push(format!(
                                "{full_key} = {value}: the parse error does not show the key: {message}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(unchecked.is_empty(), "{}", unchecked.join("\n"));
    }

    #[test]
    fn parse_errors_do_not_show_lines_holding_urls() {
        for text in [
            "[[alerts.webhooks]]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T0/B0/HOOKSECRET\" x\n",
            "[[alerts.webhooks]]\nkind = \"slack\"\nurl = [\"https://hooks.slack.com/services/T0/B0/HOOKSECRET\"]\n",
            "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://a.example/f\"\nproxy = 5 # socks5://u:HOOKSECRET@p\n",
        ] {
            let message = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(!message.contains("HOOKSECRET"), "{message}");
            assert!(message.contains("TOML parse error at line "), "{message}");
        }
        let message = format!(
            "{:#}",
            Config::parse("[daemon]\nworkers = \"2\"\n").unwrap_err()
        );
        assert!(
            message.contains("workers = \"2\""),
            "other lines are shown: {message}"
        );
    }

    #[test]
    fn range_errors_name_key_value_unit_and_range() {
        let (text, _) = with("limits", "max_decode_s", "inf");
        assert_eq!(
            refusal(&text),
            Some(Ok(
                "limits.max_decode_s = inf: must be a finite number of seconds between 1 and 86400"
                    .into()
            ))
        );
        for (section, key, value) in [
            ("limits", "max_duration_s", "nan"),
            ("evidence", "chromium_timeout_s", "-5.0"),
            ("daemon", "lease_s", "1000000000"),
            ("matching", "max_seeds_per_sample", "0"),
            ("matching", "max_hypotheses", "0"),
            ("alerts", "retry_max_s", "1e300"),
            ("sources", "published_within_days", "0"),
        ] {
            let (text, full_key) = with(section, key, value);
            let message = refusal(&text)
                .unwrap_or_else(|| panic!("{full_key} = {value} is accepted"))
                .unwrap_or_else(|e| panic!("{full_key} = {value}: parse error {e}"));
            assert!(message.starts_with(&format!("{full_key} = ")), "{message}");
            assert!(message.contains("must be"), "{message}");
        }
        let message = refusal("[alerts]\nretry_base_s = 60.0\nretry_max_s = 30.0\n");
        assert!(
            matches!(&message, Some(Ok(m)) if m.contains("alerts.retry_base_s = 60")),
            "{message:?}"
        );
        let message = refusal("[limits]\nmin_side = 100\nmax_side = 50\n");
        assert!(
            matches!(&message, Some(Ok(m)) if m.contains("limits.min_side = 100")),
            "{message:?}"
        );
    }

    #[test]
    fn defaults_and_the_values_tests_and_benches_use_stay_valid() {
        Config::default()
            .validate()
            .expect("the defaults are valid");
        for (section, key, value) in [
            ("daemon", "workers", "1"),
            ("daemon", "lease_s", "600"),
            ("daemon", "shutdown_grace_s", "1"),
            ("daemon", "retry_base_s", "0.5"),
            ("timestamp", "timeout_s", "2.0"),
            ("timestamp", "retries", "0"),
            ("timestamp", "retry_interval_s", "1.0"),
            ("alerts", "retry_base_s", "0.2"),
            ("alerts", "max_attempts", "1"),
            ("alerts", "min_score", "0.3"),
            ("evidence", "retry_after_s", "600.0"),
            ("evidence", "max_media_bytes", "0"),
            ("smtp", "timeout_s", "10.0"),
            ("sources", "timeout_s", "1.0"),
            ("sources", "timeout_s", "100.0"),
            ("sources", "retries", "0"),
            ("sources", "max_duration_s", "5.0"),
            ("sources", "published_within_days", "1"),
            ("sources", "published_within_days", "100000"),
            ("sources", "rate_limit_per_minute", "100000"),
        ] {
            let (text, full_key) = with(section, key, value);
            assert_eq!(refusal(&text), None, "{full_key} = {value}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected_by_name() {
        let error =
            toml::from_str::<Config>("[matching]\nframe_radius = 40\nseed = 3\n").unwrap_err();
        assert!(error.message().contains("seed"), "{}", error.message());
        let config: Config = toml::from_str("[matching]\nmin_score = 1.5\n").unwrap();
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("matching.min_score = 1.5"), "{error}");
        let config: Config = toml::from_str(
            "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\nschedule = \"0 0 25 * * *\"\n",
        )
        .unwrap();
        let error = config.validate().unwrap_err().to_string();
        assert!(
            error.contains("sources.a.schedule = \"0 0 25 * * *\""),
            "{error}"
        );
        let error =
            toml::from_str::<Config>("[[sources]]\nname = \"a\"\nkind = \"ftp\"\nurl = \"x\"\n")
                .unwrap_err();
        assert!(error.message().contains("ftp"), "{}", error.message());
    }
}
