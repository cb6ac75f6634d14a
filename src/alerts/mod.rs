//! Alerts: telling creators about new matches by email and webhooks,
//! exactly once.
//!
//! This module owns the `[smtp]` and `[alerts]` configuration and decides
//! who is alerted of a match ([`plan`]); the store writes the alerts into
//! its outbox in the transaction that records the match. [`outbox`] delivers
//! the outbox (retries with exponential backoff, leases, the server's
//! answer recorded), [`email`] builds the messages (English and Chinese,
//! plain text and HTML, the matched frame pair inline, the evidence bundle
//! attached) and sends them over SMTP, [`webhook`] builds and signs the
//! JSON of each webhook format.

pub mod email;
pub mod outbox;
pub mod webhook;

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::bail;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{OwnerConfig, StoredSegment};
use crate::store::{AlertPlan, Candidate, MatchRecord};

/// What alerting reads of the configuration: `[smtp]`, `[alerts]` and the
/// owner (whose address is the default recipient). Deserialises from the
/// same TOML as the whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    pub smtp: SmtpConfig,
    pub alerts: AlertsConfig,
    pub owner: OwnerConfig,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text (a relay on localhost).
    None,
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"), usually port 465.
    Tls,
}

/// The `[smtp]` section: the server alerts are sent through.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name; empty: no email alerts.
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// An extra CA certificate (PEM) to trust for the server, for a relay
    /// whose certificate a private CA signed.
    pub ca_cert: Option<PathBuf>,
    /// Login name; empty: no authentication.
    pub username: String,
    /// The environment variable holding the password.
    pub password_env: String,
    /// The sender address (`Name <addr>` or `addr`).
    pub from: String,
    /// Where replies go; empty: to `from`.
    pub reply_to: String,
    /// Seconds one send (connect, every command, the message) may take.
    pub timeout_s: f64,
    /// Let a relay on this machine be reached (127.0.0.0/8 or ::1, on
    /// `port` only).
    pub allow_loopback: bool,
    /// Let a relay on a private, loopback or link-local address be reached.
    pub allow_private: bool,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: Security::Starttls,
            ca_cert: None,
            username: String::new(),
            password_env: "REELGUARD_SMTP_PASSWORD".into(),
            from: String::new(),
            reply_to: String::new(),
            timeout_s: 30.0,
            allow_loopback: false,
            allow_private: false,
        }
    }
}

/// The kinds of webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    /// reelguard's own JSON, signed with HMAC-SHA256 when a secret is set.
    Json,
    /// Slack incoming webhook (`text` + `blocks`).
    Slack,
    /// Feishu / Lark custom bot (`msg_type` + `content`, optional signature).
    Feishu,
    /// DingTalk custom robot (`msgtype: markdown`, optional signature).
    Dingtalk,
    /// WeCom (WeChat Work) group robot (`msgtype: markdown`).
    Wecom,
}

impl WebhookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Json => "json",
            WebhookKind::Slack => "slack",
            WebhookKind::Feishu => "feishu",
            WebhookKind::Dingtalk => "dingtalk",
            WebhookKind::Wecom => "wecom",
        }
    }
}

/// One `[[alerts.webhooks]]` entry.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub kind: WebhookKind,
    pub url: String,
    /// The environment variable holding the signing secret (json, feishu, dingtalk).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Allow a loopback receiver, on the port of `url` only (a local relay).
    #[serde(default)]
    pub allow_loopback: bool,
    /// Allow private, loopback and link-local receivers on any port.
    #[serde(default)]
    pub allow_private: bool,
    /// The proxy the POST goes through (http, https, socks5 or socks5h,
    /// possibly with `user:password@`), as a source's `proxy`.
    #[serde(default)]
    pub proxy: Option<String>,
}

/// Shown without the secrets its URL may hold (a Slack or Feishu path, a
/// DingTalk or WeCom token) and without the proxy's password.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("kind", &self.kind)
            .field("url", &crate::secret::redact_url_path(&self.url))
            .field("secret_env", &self.secret_env)
            .field("allow_loopback", &self.allow_loopback)
            .field("allow_private", &self.allow_private)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::secret::redact_url),
            )
            .finish()
    }
}

impl WebhookConfig {
    /// The name its outbox rows carry: the URL's scheme and host only (the
    /// path of a Slack or Feishu hook and the query of a DingTalk or WeCom
    /// one are its access token), and a short hash of the whole URL so two
    /// webhooks of one host stay apart.
    pub fn recipient(&self) -> String {
        format!(
            "{} [{}]",
            crate::secret::redact_url_path(self.url.split(['?', '#']).next().unwrap_or_default()),
            self.url_digest()
        )
    }

    /// Whether an outbox row's recipient names this webhook (by the hash of
    /// its URL, so rows written before the host-only names still match).
    pub fn is_recipient(&self, recipient: &str) -> bool {
        recipient.ends_with(&format!(" [{}]", self.url_digest()))
    }

    fn url_digest(&self) -> String {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(self.url.as_bytes()));
        digest[..8].to_string()
    }

    /// The outbox channel: `webhook:KIND`.
    pub fn channel(&self) -> String {
        format!("webhook:{}", self.kind.as_str())
    }
}

/// The `[alerts]` section: who is told of new matches, and when.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Email recipients; empty: `[owner] email`, if set.
    pub to: Vec<String>,
    /// Matches scoring below this (0–1) are not alerted.
    pub min_score: f64,
    /// Cron schedule of digests (6 fields with seconds, or a 5-field
    /// crontab); empty: one alert per match, at once.
    pub digest: String,
    /// IANA time zone of the digest schedule.
    pub timezone: String,
    /// The evidence bundles are attached while, encoded for email, they
    /// take at most this many bytes (`email::encoded_len`).
    pub max_attachment_bytes: u64,
    /// Base URL of the dashboard, for links to matches; empty: the email
    /// names the commands that show them.
    pub dashboard_url: String,
    /// Attempts at a delivery before it is marked failed.
    pub max_attempts: u32,
    /// Seconds before the first retry; doubled at each further attempt.
    pub retry_base_s: f64,
    /// Longest wait between retries, in seconds.
    pub retry_max_s: f64,
    /// Seconds an alert waits for the evidence capture of its match (the
    /// frame pair shown inline, the bundle attached) before it goes without.
    pub evidence_wait_s: f64,
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            to: Vec::new(),
            min_score: 0.0,
            digest: String::new(),
            timezone: "UTC".into(),
            max_attachment_bytes: 10 * 1024 * 1024,
            dashboard_url: String::new(),
            max_attempts: 12,
            retry_base_s: 30.0,
            retry_max_s: 3600.0,
            evidence_wait_s: 300.0,
            webhooks: Vec::new(),
        }
    }
}

impl AlertsConfig {
    /// The digest schedule and its time zone, when digests are on.
    pub fn digest_schedule(&self) -> anyhow::Result<Option<(cron::Schedule, chrono_tz::Tz)>> {
        if self.digest.trim().is_empty() {
            return Ok(None);
        }
        let schedule = crate::crontab::parse(&self.digest).map_err(|e| {
            anyhow::anyhow!(
                "alerts.digest = {:?}: {e}; use 6 fields `sec min hour day month weekday` (e.g. \"0 0 9 * * *\" daily at 09:00) or a 5-field crontab",
                self.digest
            )
        })?;
        let tz = chrono_tz::Tz::from_str(&self.timezone).map_err(|_| {
            anyhow::anyhow!(
                "alerts.timezone = {:?}: not an IANA time zone (e.g. \"UTC\", \"Asia/Shanghai\")",
                self.timezone
            )
        })?;
        Ok(Some((schedule, tz)))
    }

    /// The backoff before retry number `attempt` (1 = the first retry).
    pub fn retry_delay(&self, attempt: i64) -> std::time::Duration {
        let exponent = (attempt.max(1) - 1).min(30) as i32;
        let seconds = (self.retry_base_s * 2f64.powi(exponent)).min(self.retry_max_s);
        std::time::Duration::from_secs_f64(seconds.max(0.0))
    }
}

/// Checks `[smtp]` and `[alerts]`, naming the key, the value and the reason.
pub fn validate(config: &AlertSettings) -> anyhow::Result<()> {
    use crate::bounds::{float, int, DAY_S, GIB, WEEK_S};
    let smtp = &config.smtp;
    let alerts = &config.alerts;
    // Every number, whether or not email is configured.
    float("smtp.timeout_s", smtp.timeout_s, 0.1..=600.0, "seconds")?;
    float("alerts.min_score", alerts.min_score, 0.0..=1.0, "")?;
    // 0: bundles are never attached, only named.
    int(
        "alerts.max_attachment_bytes",
        alerts.max_attachment_bytes,
        0..=GIB,
        "bytes",
    )?;
    float(
        "alerts.evidence_wait_s",
        alerts.evidence_wait_s,
        0.0..=WEEK_S,
        "seconds",
    )?;
    int("alerts.max_attempts", alerts.max_attempts, 1..=100, "")?;
    float(
        "alerts.retry_base_s",
        alerts.retry_base_s,
        0.0..=DAY_S,
        "seconds",
    )?;
    float(
        "alerts.retry_max_s",
        alerts.retry_max_s,
        0.0..=WEEK_S,
        "seconds",
    )?;
    if alerts.retry_base_s > alerts.retry_max_s {
        bail!(
            "alerts.retry_base_s = {}, retry_max_s = {}: need retry_base_s <= retry_max_s",
            alerts.retry_base_s,
            alerts.retry_max_s
        );
    }
    if !smtp.host.is_empty() {
        if smtp.port == 0 {
            bail!("smtp.port = 0: give the server's port (587 for starttls, 465 for tls, 25 for none)");
        }
        if smtp.from.is_empty() {
            bail!("smtp.from is empty: give the sender address, e.g. \"reelguard@example.com\"");
        }
        if let Err(e) = smtp.from.parse::<lettre::message::Mailbox>() {
            bail!("smtp.from = {:?}: not an email address ({e})", smtp.from);
        }
        if !smtp.reply_to.is_empty() {
            if let Err(e) = smtp.reply_to.parse::<lettre::message::Mailbox>() {
                bail!(
                    "smtp.reply_to = {:?}: not an email address ({e})",
                    smtp.reply_to
                );
            }
        }
        if !smtp.username.is_empty() && smtp.password_env.is_empty() {
            bail!("smtp.password_env is empty: name the environment variable holding the password of {:?}", smtp.username);
        }
    }
    for to in &alerts.to {
        if let Err(e) = to.parse::<lettre::message::Mailbox>() {
            bail!("alerts.to = {to:?}: not an email address ({e})");
        }
    }
    if !alerts.to.is_empty() && smtp.host.is_empty() {
        bail!("alerts.to is set but smtp.host is empty: configure [smtp] to send email alerts");
    }
    alerts.digest_schedule()?;
    if !alerts.dashboard_url.is_empty() && url::Url::parse(&alerts.dashboard_url).is_err() {
        bail!(
            "alerts.dashboard_url = {:?}: not a URL",
            alerts.dashboard_url
        );
    }
    for hook in &alerts.webhooks {
        match url::Url::parse(&hook.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => bail!(
                "alerts.webhooks.url = {:?}: not an http(s) URL",
                crate::secret::redact_url_path(&hook.url)
            ),
        }
        if let Some(proxy) = &hook.proxy {
            crate::source_config::check_proxy_url("alerts.webhooks.proxy", proxy)?;
        }
        if hook.kind == WebhookKind::Wecom && hook.secret_env.is_some() {
            bail!("alerts.webhooks.secret_env: WeCom robots are not signed; remove it (the key in the URL is the secret)");
        }
    }
    Ok(())
}

/// The warning due when the SMTP password would cross the network in clear
/// text: a login (`username`) with `security = "none"`.
pub fn clear_text_login(smtp: &SmtpConfig) -> Option<String> {
    (smtp.security == Security::None && !smtp.username.is_empty()).then(|| {
        format!(
            "smtp.security = \"none\" with smtp.username {:?}: the SMTP password is sent to {}:{} in clear text; set security = \"starttls\" or \"tls\"",
            smtp.username, smtp.host, smtp.port
        )
    })
}

/// Email recipients: `[alerts] to`, else the owner's address.
pub fn email_recipients(config: &AlertSettings) -> Vec<String> {
    if config.smtp.host.is_empty() {
        return Vec::new();
    }
    if !config.alerts.to.is_empty() {
        return config.alerts.to.clone();
    }
    config
        .owner
        .email
        .iter()
        .filter(|e| !e.is_empty())
        .cloned()
        .collect()
}

/// Who is alerted of matches recorded at `now`: every email recipient and
/// webhook, immediately or in the digest that closes next.
pub fn plan(config: &AlertSettings, now: DateTime<Utc>) -> anyhow::Result<AlertPlan> {
    let mut targets: Vec<(String, String)> = email_recipients(config)
        .into_iter()
        .map(|to| ("email".to_string(), to))
        .collect();
    for hook in &config.alerts.webhooks {
        targets.push((hook.channel(), hook.recipient()));
    }
    let digest_at = match config.alerts.digest_schedule()? {
        Some((schedule, tz)) => {
            let next = crate::crontab::next_fire(&schedule, tz, now).ok_or_else(|| {
                anyhow::anyhow!(
                    "alerts.digest = {:?} never fires again; change the schedule",
                    config.alerts.digest
                )
            })?;
            Some(next)
        }
        None => None,
    };
    Ok(AlertPlan {
        targets,
        min_score: config.alerts.min_score,
        digest_at,
    })
}

/// What an alert says about one match.
#[derive(Clone, Debug)]
pub struct MatchAlert {
    pub match_id: String,
    pub work_title: String,
    pub work_id: String,
    pub url: String,
    pub platform: String,
    pub uploader: String,
    pub upload_title: String,
    pub published_at: Option<DateTime<Utc>>,
    pub found_at: DateTime<Utc>,
    pub score: f64,
    pub segments: Vec<StoredSegment>,
    /// The best matched frame pair (upload | work) as PNG, shown inline.
    pub frame_png: Option<Vec<u8>>,
    /// The evidence bundle, attached when small enough; or why there is none.
    pub bundle: Result<PathBuf, String>,
    /// Link to the match in the dashboard.
    pub match_link: Option<String>,
    /// Link to the evidence bundle in the dashboard.
    pub evidence_link: Option<String>,
    /// The match's first URL when this alert is about a new location of
    /// the already confirmed match (`url` and the upload's fields are then
    /// the new location's).
    pub location_of: Option<String>,
}

impl MatchAlert {
    /// From a stored match; links from `dashboard_url` when set.
    pub fn from_record(record: &MatchRecord, dashboard_url: &str) -> MatchAlert {
        let base = dashboard_url.trim_end_matches('/');
        let link =
            |tail: &str| (!base.is_empty()).then(|| format!("{base}/matches/{}{tail}", record.id));
        MatchAlert {
            match_id: record.id.clone(),
            work_title: record.work_title.clone(),
            work_id: record.work_id.clone(),
            url: record.candidate_url.clone(),
            platform: record.platform.clone(),
            uploader: record.uploader.clone(),
            upload_title: record.candidate_title.clone(),
            published_at: record.published_at,
            found_at: record.created_at,
            score: record.score,
            segments: record.segments.clone(),
            frame_png: None,
            bundle: Err("the evidence bundle was not exported".into()),
            match_link: link(""),
            evidence_link: link("/bundle.zip"),
            location_of: None,
        }
    }

    /// The alert that the confirmed match of `record` is also at
    /// `location` (found at `found_at`).
    pub fn new_location(
        record: &MatchRecord,
        location: &Candidate,
        found_at: DateTime<Utc>,
        dashboard_url: &str,
    ) -> MatchAlert {
        MatchAlert {
            url: location.canonical_url.clone(),
            platform: location.platform.clone(),
            uploader: location.uploader.clone(),
            upload_title: location.title.clone(),
            published_at: location.published_at,
            found_at,
            location_of: Some(record.candidate_url.clone()),
            ..MatchAlert::from_record(record, dashboard_url)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> AlertSettings {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn plan_targets_every_recipient_and_webhook() {
        let c = config(
            "[smtp]\nhost = \"127.0.0.1\"\nfrom = \"rg@example.com\"\n[alerts]\nto = [\"a@example.com\", \"b@example.com\"]\nmin_score = 0.4\n\
             [[alerts.webhooks]]\nkind = \"slack\"\nurl = \"https://hooks.example/T1?token=s3cret\"\n",
        );
        validate(&c).unwrap();
        let now = Utc::now();
        let p = plan(&c, now).unwrap();
        assert_eq!(p.targets.len(), 3);
        assert_eq!(p.targets[0], ("email".into(), "a@example.com".into()));
        assert_eq!(p.targets[2].0, "webhook:slack");
        assert!(p.targets[2].1.starts_with("https://hooks.example/*** ["));
        assert!(!p.targets[2].1.contains("s3cret"));
        assert_eq!(p.min_score, 0.4);
        assert_eq!(p.digest_at, None);
    }

    #[test]
    fn webhook_tokens_never_reach_recipients_or_errors() {
        let tokens = ["SLACKSECRET", "FEISHUSECRET", "DTSECRET", "WCSECRET"];
        let urls = [
            "https://hooks.slack.com/services/T0/B0/SLACKSECRET",
            "https://open.feishu.cn/open-apis/bot/v2/hook/FEISHUSECRET",
            "https://oapi.dingtalk.com/robot/send?access_token=DTSECRET",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WCSECRET",
        ];
        for url in urls {
            let hook = WebhookConfig {
                kind: WebhookKind::Slack,
                url: url.into(),
                secret_env: None,
                allow_loopback: false,
                allow_private: false,
                proxy: None,
            };
            let recipient = hook.recipient();
            assert!(hook.is_recipient(&recipient), "{recipient}");
            // A row written before host-only names is still this hook's,
            // and is shown without its token.
            let old = format!("{} [{}]", url.split('?').next().unwrap(), hook.url_digest());
            assert!(hook.is_recipient(&old), "{old}");
            for shown in [recipient.clone(), crate::secret::redact_recipient(&old)] {
                assert!(!tokens.iter().any(|t| shown.contains(t)), "{shown}");
            }
        }
        let error = validate(&config(
            "[[alerts.webhooks]]\nkind = \"slack\"\nurl = \"ftp://hooks.example/T0/SLACKSECRET\"\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(!error.contains("SLACKSECRET"), "{error}");
    }

    #[test]
    fn a_clear_text_smtp_login_is_warned_of() {
        let c = config("[smtp]\nhost = \"mail.example\"\nport = 25\nsecurity = \"none\"\nusername = \"rg\"\nfrom = \"rg@example.com\"\n");
        let warning = clear_text_login(&c.smtp).expect("a warning");
        assert!(
            warning.contains("clear text") && warning.contains("starttls"),
            "{warning}"
        );
        let mut no_login = c.smtp.clone();
        no_login.username.clear();
        assert_eq!(clear_text_login(&no_login), None);
        let mut tls = c.smtp;
        tls.security = Security::Starttls;
        assert_eq!(clear_text_login(&tls), None);
    }

    #[test]
    fn owner_email_is_the_default_recipient() {
        let c = config("[owner]\nemail = \"me@example.com\"\n[smtp]\nhost = \"h\"\nfrom = \"rg@example.com\"\n");
        assert_eq!(email_recipients(&c), vec!["me@example.com".to_string()]);
        let c = config("[owner]\nemail = \"me@example.com\"\n");
        assert!(email_recipients(&c).is_empty(), "no SMTP, no email");
    }

    #[test]
    fn digest_closes_at_the_next_fire_in_the_time_zone() {
        let c = config(
            "[smtp]\nhost = \"h\"\nfrom = \"rg@example.com\"\n[alerts]\nto = [\"a@example.com\"]\ndigest = \"0 9 * * *\"\ntimezone = \"Asia/Shanghai\"\n",
        );
        validate(&c).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // 09:00 in Shanghai is 01:00 UTC: today's has passed, so tomorrow's.
        let p = plan(&c, now).unwrap();
        assert_eq!(
            p.digest_at.map(crate::clock::stored).as_deref(),
            Some("2026-11-26T01:00:00.000Z")
        );
    }

    #[test]
    fn bad_values_are_rejected_by_name() {
        for (text, expected) in [
            ("[alerts]\nmin_score = 2.0\n", "alerts.min_score = 2"),
            (
                "[alerts]\ndigest = \"every day\"\n",
                "alerts.digest = \"every day\"",
            ),
            (
                "[alerts]\ndigest = \"0 9 * * *\"\ntimezone = \"Mars/Base\"\n",
                "alerts.timezone = \"Mars/Base\"",
            ),
            ("[alerts]\nto = [\"a@example.com\"]\n", "smtp.host is empty"),
            ("[smtp]\nhost = \"h\"\n", "smtp.from is empty"),
            (
                "[smtp]\nhost = \"h\"\nfrom = \"not an address\"\n",
                "smtp.from = \"not an address\"",
            ),
            (
                "[[alerts.webhooks]]\nkind = \"slack\"\nurl = \"ftp://x\"\n",
                "alerts.webhooks.url = \"ftp://x\"",
            ),
        ] {
            let error = validate(&config(text)).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let error = toml::from_str::<AlertSettings>("[smtp]\nsecurity = \"ssl\"\n").unwrap_err();
        assert!(error.message().contains("ssl"), "{}", error.message());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let a = AlertsConfig {
            retry_base_s: 30.0,
            retry_max_s: 3600.0,
            ..AlertsConfig::default()
        };
        let secs: Vec<u64> = (1..=9).map(|n| a.retry_delay(n).as_secs()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
