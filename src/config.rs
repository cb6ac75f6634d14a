//! The TOML configuration: defaults, file, environment, validation.
//!
//! Every key is optional. Precedence: command-line flags, then `REELGUARD_*`
//! environment variables, then the file, then the defaults below. A bad file
//! is rejected at start-up naming the key, the value and the reason.

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
    /// Holds the SQLite database and blobs.
    pub data_dir: Option<PathBuf>,
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
}

impl Config {
    /// Reads `path` (when given) and applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                // toml's message names the line, shows it and says what is wrong.
                toml::from_str::<Config>(&text)
                    .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(url) = std::env::var("REELGUARD_DATABASE_URL") {
            config.database_url = Some(url);
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
        crate::alerts::AlertSettings {
            smtp: self.smtp.clone(),
            alerts: self.alerts.clone(),
            owner: self.owner.clone(),
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
