//! One source's configuration (`[[sources]]` in the TOML file, or
//! `reelguard sources add`), its defaults and its validation.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// What kind of place a source looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// YouTube Data API v3: search.list by keywords, then videos.list.
    YoutubeSearch,
    /// A YouTube channel's uploads feed (Atom), no key needed.
    YoutubeChannel,
    /// RSS 2.0, Atom or Media RSS.
    Feed,
    /// A web page with video (og:video, <video>/<source>, JSON-LD VideoObject).
    Page,
    /// A local directory of downloaded videos.
    Folder,
    /// Any platform yt-dlp supports (TikTok, Bilibili, Dailymotion, X, ...).
    Ytdlp,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::YoutubeSearch => "youtube-search",
            SourceKind::YoutubeChannel => "youtube-channel",
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
            SourceKind::Folder => "folder",
            SourceKind::Ytdlp => "ytdlp",
        }
    }
}

/// A configured source. Every key but `name`, `kind` and `url` has a default.
/// Its `Debug` hides the proxy's and the URL's credentials and the header
/// values (a cookie, a bearer token).
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// Feed, page, channel feed or API base URL; a directory for `folder`.
    pub url: String,
    /// Cron expression, 6 fields with seconds (`sec min hour dom month dow`)
    /// or a classic 5-field crontab (seconds = 0).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// IANA time zone the schedule is read in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// `http://`, `https://`, `socks5://` or `socks5h://` proxy for every request.
    #[serde(default)]
    pub proxy: Option<String>,
    /// PEM file of extra CA certificates trusted for https (besides the
    /// usual roots): a private mirror's own CA.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// Allow private, loopback and link-local addresses (off: the SSRF guard refuses them).
    #[serde(default)]
    pub allow_private: bool,
    /// Allow loopback addresses only (127.0.0.0/8, ::1): a local mirror or
    /// test platform, while every other private range stays refused.
    #[serde(default)]
    pub allow_loopback: bool,
    /// Most requests per minute to this source.
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_minute: u32,
    /// User-Agent header (default `reelguard/VERSION`).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Largest media file downloaded, in bytes.
    #[serde(default = "default_max_media_bytes")]
    pub max_media_bytes: u64,
    /// Longest media decoded, in seconds.
    #[serde(default = "default_max_duration_s")]
    pub max_duration_s: f64,
    /// Ignore uploads published more than this many days ago.
    #[serde(default)]
    pub published_within_days: Option<u32>,
    /// Retries of a failed request (timeouts, connection errors, 429, 5xx).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Per-request timeout in seconds (media downloads: per read).
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// youtube-search: extra search terms (the works' titles are always searched).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// youtube-search: environment variable holding the API key.
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    /// youtube-search: a video's page is this followed by its id.
    #[serde(default = "default_video_url_base")]
    pub video_url_base: String,
    /// youtube-search: API quota units per day (search.list costs 100, videos.list 1).
    #[serde(default = "default_quota_per_day")]
    pub quota_per_day: u32,
    /// youtube-search, ytdlp: most results per query.
    #[serde(default = "default_max_results")]
    pub max_results: u32,
    /// ytdlp (and media of pages without direct video): the yt-dlp binary.
    #[serde(default)]
    pub ytdlp_path: Option<String>,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .keys()
            .map(|name| (name.as_str(), "***"))
            .collect();
        f.debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &crate::secret::redact_url(&self.url))
            .field("schedule", &self.schedule)
            .field("timezone", &self.timezone)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::secret::redact_url),
            )
            .field("ca_cert", &self.ca_cert)
            .field("allow_private", &self.allow_private)
            .field("allow_loopback", &self.allow_loopback)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("user_agent", &self.user_agent)
            .field("headers", &headers)
            .field("max_media_bytes", &self.max_media_bytes)
            .field("max_duration_s", &self.max_duration_s)
            .field("published_within_days", &self.published_within_days)
            .field("retries", &self.retries)
            .field("timeout_s", &self.timeout_s)
            .field("keywords", &self.keywords)
            .field("api_key_env", &self.api_key_env)
            .field("video_url_base", &self.video_url_base)
            .field("quota_per_day", &self.quota_per_day)
            .field("max_results", &self.max_results)
            .field("ytdlp_path", &self.ytdlp_path)
            .finish()
    }
}

fn default_schedule() -> String {
    "0 0 * * * *".into()
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_rate_limit() -> u32 {
    60
}
fn default_max_media_bytes() -> u64 {
    512 * 1024 * 1024
}
fn default_max_duration_s() -> f64 {
    3600.0
}
fn default_retries() -> u32 {
    3
}
fn default_timeout_s() -> f64 {
    30.0
}
fn default_api_key_env() -> String {
    "YOUTUBE_API_KEY".into()
}
fn default_video_url_base() -> String {
    "https://www.youtube.com/watch?v=".into()
}
fn default_quota_per_day() -> u32 {
    10_000
}
fn default_max_results() -> u32 {
    25
}

impl SourceConfig {
    /// A source with every option at its default.
    pub fn new(name: &str, kind: SourceKind, url: &str) -> SourceConfig {
        SourceConfig {
            name: name.to_string(),
            kind,
            url: url.to_string(),
            schedule: default_schedule(),
            timezone: default_timezone(),
            proxy: None,
            ca_cert: None,
            allow_private: false,
            allow_loopback: false,
            rate_limit_per_minute: default_rate_limit(),
            user_agent: None,
            headers: BTreeMap::new(),
            max_media_bytes: default_max_media_bytes(),
            max_duration_s: default_max_duration_s(),
            published_within_days: None,
            retries: default_retries(),
            timeout_s: default_timeout_s(),
            keywords: Vec::new(),
            api_key_env: default_api_key_env(),
            video_url_base: default_video_url_base(),
            quota_per_day: default_quota_per_day(),
            max_results: default_max_results(),
            ytdlp_path: None,
        }
    }

    /// The schedule parsed in its time zone.
    pub fn cron(&self) -> anyhow::Result<(cron::Schedule, chrono_tz::Tz)> {
        let key = |field: &str| format!("sources.{}.{field}", self.name);
        let schedule = crate::crontab::parse(&self.schedule).map_err(|e| {
            anyhow::anyhow!(
                "{} = {:?}: {e}; use 6 fields `sec min hour day month weekday` (e.g. \"0 0 * * * *\" hourly) or a 5-field crontab",
                key("schedule"),
                self.schedule
            )
        })?;
        let tz = chrono_tz::Tz::from_str(&self.timezone).map_err(|_| {
            anyhow::anyhow!(
                "{} = {:?}: not an IANA time zone (e.g. \"UTC\", \"Asia/Shanghai\")",
                key("timezone"),
                self.timezone
            )
        })?;
        Ok((schedule, tz))
    }

    /// Checks every value, naming the key, the value and the reason.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::bounds::{float, int, TIB, WEEK_S};
        let name = &self.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            bail!("sources.name = {name:?}: use letters, digits, '-', '_' and '.' only");
        }
        let key = |field: &str| format!("sources.{name}.{field}");
        self.cron()?;
        if self.kind == SourceKind::Folder {
            if self.url.is_empty() {
                bail!("{} is empty: give the directory to watch", key("url"));
            }
        } else {
            match url::Url::parse(&self.url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                Ok(url) if self.kind == SourceKind::Ytdlp && url.scheme() == "ytsearch" => {}
                _ => bail!("{} = {:?}: not an http(s) URL", key("url"), self.url),
            }
        }
        if let Some(proxy) = &self.proxy {
            check_proxy_url(&key("proxy"), proxy)?;
        }
        int(
            &key("rate_limit_per_minute"),
            self.rate_limit_per_minute,
            1..=1_000_000,
            "requests per minute",
        )?;
        float(&key("timeout_s"), self.timeout_s, 0.1..=3600.0, "seconds")?;
        int(&key("retries"), self.retries, 0..=10, "")?;
        int(
            &key("max_media_bytes"),
            self.max_media_bytes,
            1..=TIB,
            "bytes",
        )?;
        float(
            &key("max_duration_s"),
            self.max_duration_s,
            1.0..=WEEK_S,
            "seconds",
        )?;
        if let Some(days) = self.published_within_days {
            // Up to about 2,700 years back: the date stays representable.
            int(&key("published_within_days"), days, 1..=1_000_000, "days")?;
        }
        int(
            &key("quota_per_day"),
            self.quota_per_day,
            1..=100_000_000,
            "units",
        )?;
        for (header, value) in &self.headers {
            if reqwest::header::HeaderName::from_str(header).is_err()
                || reqwest::header::HeaderValue::from_str(value).is_err()
            {
                bail!(
                    "{}.{header} = {value:?}: not a valid HTTP header",
                    key("headers")
                );
            }
        }
        int(&key("max_results"), self.max_results, 1..=50, "results")?;
        Ok(())
    }
}

/// Checks the proxy URL of config key `key` (a source's or a webhook's):
/// http, https, socks5 or socks5h with a host. The error shows it without
/// its password.
pub fn check_proxy_url(key: &str, proxy: &str) -> anyhow::Result<()> {
    let ok = url::Url::parse(proxy).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") && u.host_str().is_some()
    }) && reqwest::Proxy::all(proxy).is_ok();
    if !ok {
        let proxy = crate::secret::redact_url(proxy);
        anyhow::bail!(
            "{key} = {proxy:?}: not a proxy URL; use http://HOST:PORT, https://HOST:PORT, socks5://HOST:PORT or socks5h://HOST:PORT"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceConfig {
        SourceConfig::new("s1", SourceKind::Feed, "https://example.com/feed.xml")
    }

    #[test]
    fn debug_output_hides_credentials() {
        let mut s = source();
        s.url = "https://example.com/feed.xml?access_token=feedsecret".into();
        s.proxy = Some("http://alice:proxysecret@127.0.0.1:3128".into());
        s.headers
            .insert("Cookie".into(), "session=cookiesecret".into());
        let shown = format!("{s:?}");
        for secret in ["feedsecret", "alice", "proxysecret", "cookiesecret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("127.0.0.1:3128") && shown.contains("Cookie"),
            "{shown}"
        );
    }

    #[test]
    fn defaults_are_valid_and_five_field_crontabs_are_accepted() {
        source().validate().unwrap();
        let mut s = source();
        s.schedule = "*/15 * * * *".into();
        s.validate().unwrap();
    }

    #[test]
    fn bad_values_are_rejected_by_key_and_value() {
        let mut s = source();
        s.schedule = "every hour".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sources.s1.schedule = \"every hour\""), "{e}");

        let mut s = source();
        s.timezone = "Mars/Olympus".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sources.s1.timezone = \"Mars/Olympus\""), "{e}");

        let mut s = source();
        s.proxy = Some("ftp://proxy:21".into());
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sources.s1.proxy = \"ftp://proxy:21\""), "{e}");

        let mut s = source();
        s.url = "not a url".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sources.s1.url"), "{e}");
    }
}
