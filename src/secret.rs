//! Leaf, pure: secrets kept out of everything printed, logged or written.
//!
//! - [`Secret`] holds a password, API key, webhook token or signing secret.
//!   Its `Display` and `Debug` show `***`; only [`Secret::expose`] gives the
//!   value, at the one place that sends it.
//! - [`redact_url`] is how a URL that may carry credentials is shown in
//!   errors, logs, outbox rows and evidence: `user:password@` becomes `***@`
//!   and the values of query parameters named like secrets (`key`,
//!   `access_token`, `sign`, …) become `***`. [`redact_urls_in_text`] does
//!   the same to every URL inside a message.
//! - [`redact_url_path`] also hides the path, for URLs whose path is the
//!   secret (Slack and Feishu webhooks).

use std::fmt;

/// A secret value: never shown by `{}` or `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value of environment variable `var`, when it is set and not empty.
    pub fn from_env(var: &str) -> Option<Secret> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret)
    }

    /// The value itself: only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Whether a query parameter named `name` holds a secret.
fn is_secret_parameter(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "key",
        "apikey",
        "api_key",
        "api-key",
        "auth",
        "sign",
        "sig",
        "pass",
        "pwd",
        "code",
        "x-amz-credential",
    ];
    const PARTS: &[&str] = &["token", "secret", "password", "signature"];
    let name = name.to_ascii_lowercase();
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

/// `url` with its credentials and secret query values replaced by `***`;
/// text that is not a URL is returned as it is.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => redact_parsed(url, parsed, false),
        Err(_) => url.to_string(),
    }
}

/// [`redact_url`], and the path too: `https://hooks.slack.com/***`.
pub fn redact_url_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => redact_parsed(url, parsed, true),
        Err(_) => "***".to_string(),
    }
}

/// `url` as shown; the text as given when there is nothing to hide.
fn redact_parsed(original: &str, mut url: url::Url, hide_path: bool) -> String {
    let mut changed = false;
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_password(None);
        let _ = url.set_username("***");
        changed = true;
    }
    if hide_path && url.path() != "/" && !url.cannot_be_a_base() {
        url.set_path("/***");
        changed = true;
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if pairs.iter().any(|(name, _)| is_secret_parameter(name)) {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (name, value) in &pairs {
            let value = if is_secret_parameter(name) {
                "***"
            } else {
                value
            };
            query.append_pair(name, value);
        }
        drop(query);
        changed = true;
    }
    if changed {
        url.to_string()
    } else {
        original.to_string()
    }
}

/// An outbox recipient as shown: a webhook's `URL [hash]` by the URL's
/// scheme and host only (the path of a Slack or Feishu hook is its token);
/// an email address as it is.
pub fn redact_recipient(recipient: &str) -> String {
    if !recipient.starts_with("http://") && !recipient.starts_with("https://") {
        return recipient.to_string();
    }
    match recipient.rsplit_once(" [") {
        Some((url, hash)) => format!("{} [{hash}", redact_url_path(url)),
        None => redact_url_path(recipient),
    }
}

/// `text` with every `http://` or `https://` URL in it passed through
/// [`redact_url`] (a URL ends at whitespace or a quote).
pub fn redact_urls_in_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        // Punctuation closing a sentence or a bracket is not part of the URL.
        let url = tail[..end].trim_end_matches([')', ']', ',', ';', '.', ':']);
        out.push_str(&redact_url(url));
        rest = &tail[url.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_formatted() {
        let secret = Secret::new("hunter2");
        assert_eq!(secret.to_string(), "***");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn urls_lose_credentials_and_secret_parameters() {
        let cases = [
            (
                "socks5h://alice:hunter2@proxy.example:1080",
                "socks5h://***@proxy.example:1080",
            ),
            (
                "http://alice@proxy.example:3128/",
                "http://***@proxy.example:3128/",
            ),
            (
                "https://www.googleapis.com/youtube/v3/search?part=snippet&q=cat&key=AIzaSECRET",
                "https://www.googleapis.com/youtube/v3/search?part=snippet&q=cat&key=***",
            ),
            (
                "https://oapi.dingtalk.com/robot/send?access_token=DTSECRET&timestamp=1&sign=SIGSECRET",
                "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***",
            ),
            (
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?KEY=WCSECRET",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?KEY=***",
            ),
            (
                "https://videos.example/watch?v=abc&t=3",
                "https://videos.example/watch?v=abc&t=3",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url_path("https://hooks.slack.com/services/T0/B0/SLACKSECRET"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(
            redact_url_path("https://open.feishu.cn/open-apis/bot/v2/hook/FEISHUSECRET?x=1"),
            "https://open.feishu.cn/***?x=1"
        );
    }

    #[test]
    fn urls_inside_messages_are_redacted() {
        let text = "GET https://api.example/v3?key=K1SECRET: no answer (proxy http://u:P2SECRET@127.0.0.1:3128).";
        let shown = redact_urls_in_text(text);
        assert!(
            !shown.contains("K1SECRET") && !shown.contains("P2SECRET"),
            "{shown}"
        );
        assert_eq!(
            shown,
            "GET https://api.example/v3?key=***: no answer (proxy http://***@127.0.0.1:3128/)."
        );
        assert_eq!(redact_urls_in_text("no url here"), "no url here");
    }

    #[test]
    fn webhook_recipients_are_shown_by_host() {
        assert_eq!(
            redact_recipient("https://hooks.slack.com/services/T0/B0/SLACKSECRET [1a2b3c4d]"),
            "https://hooks.slack.com/*** [1a2b3c4d]"
        );
        assert_eq!(redact_recipient("me@example.com"), "me@example.com");
    }
}
