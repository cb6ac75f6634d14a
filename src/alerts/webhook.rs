//! Webhook alerts: the JSON of each format, its signature, and the POST.
//!
//! - `json`: reelguard's own document; with a secret, signed as
//!   `X-Reelguard-Signature: sha256=HEX(HMAC-SHA256(secret, "TIMESTAMP.BODY"))`
//!   with `X-Reelguard-Timestamp: TIMESTAMP` (Unix seconds), so a receiver
//!   can refuse replays.
//! - `slack`: `text` (fallback) and `blocks`.
//! - `feishu`: `msg_type: text`; with a secret, `timestamp` and `sign` =
//!   base64(HMAC-SHA256(key = "TIMESTAMP\nSECRET", message = "")).
//! - `dingtalk`: `msgtype: markdown`; with a secret, `timestamp` (ms) and
//!   `sign` = base64(HMAC-SHA256(key = SECRET, "TIMESTAMP\nSECRET")) in the URL.
//! - `wecom`: `msgtype: markdown` (the key in the URL is the secret).
//!
//! Every request carries `Idempotency-Key`: the outbox batch, the same on
//! every retry, so a receiver that honours it never acts twice. Requests
//! leave through the SSRF guard (`send`).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use super::{MatchAlert, WebhookConfig, WebhookKind};
use crate::clock::video_time;
use crate::ssrf::{self, Allow};

type HmacSha256 = Hmac<sha2::Sha256>;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A request ready to send.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The request announcing `alerts` to `hook`. `secret` is the signing
/// secret (from `secret_env`), `now_ms` the time in Unix milliseconds.
pub fn build_request(
    hook: &WebhookConfig,
    secret: Option<&str>,
    alerts: &[MatchAlert],
    idempotency_key: &str,
    now_ms: i64,
) -> anyhow::Result<WebhookRequest> {
    let seconds = now_ms / 1000;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut url = hook.url.clone();
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Idempotency-Key".to_string(), idempotency_key.to_string()),
    ];
    let body: Value = match hook.kind {
        WebhookKind::Json => json!({
            "event": "reelguard.matches",
            "matches": alerts.iter().map(match_json).collect::<Vec<_>>(),
        }),
        WebhookKind::Slack => {
            let mut blocks = vec![json!({
                "type": "header",
                "text": {"type": "plain_text", "text": headline(alerts)},
            })];
            for a in alerts {
                blocks.push(json!({
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": markdown(a, MarkdownStyle::Slack)},
                }));
            }
            json!({"text": headline(alerts), "blocks": blocks})
        }
        WebhookKind::Feishu => {
            let mut text = headline(alerts);
            for a in alerts {
                text.push_str("\n\n");
                text.push_str(&plain(a));
            }
            let mut body = json!({"msg_type": "text", "content": {"text": text}});
            if let Some(secret) = secret {
                let key = format!("{seconds}\n{secret}");
                body["timestamp"] = json!(seconds.to_string());
                body["sign"] = json!(b64.encode(hmac_sha256(key.as_bytes(), b"")));
            }
            body
        }
        WebhookKind::Dingtalk => {
            if let Some(secret) = secret {
                let sign = b64.encode(hmac_sha256(
                    secret.as_bytes(),
                    format!("{now_ms}\n{secret}").as_bytes(),
                ));
                let mut parsed = url::Url::parse(&url)
                    .with_context(|| format!("webhook URL {url:?} is not a URL"))?;
                parsed
                    .query_pairs_mut()
                    .append_pair("timestamp", &now_ms.to_string())
                    .append_pair("sign", &sign);
                url = parsed.to_string();
            }
            json!({"msgtype": "markdown", "markdown": {
                "title": headline(alerts),
                "text": markdown_all(alerts, MarkdownStyle::Common),
            }})
        }
        WebhookKind::Wecom => json!({"msgtype": "markdown", "markdown": {
            "content": markdown_all(alerts, MarkdownStyle::Common),
        }}),
    };
    let body = serde_json::to_vec(&body).context("cannot encode the webhook JSON")?;
    if hook.kind == WebhookKind::Json {
        if let Some(secret) = secret {
            let mut signed = format!("{seconds}.").into_bytes();
            signed.extend_from_slice(&body);
            let signature = hex::encode(hmac_sha256(secret.as_bytes(), &signed));
            headers.push(("X-Reelguard-Timestamp".into(), seconds.to_string()));
            headers.push((
                "X-Reelguard-Signature".into(),
                format!("sha256={signature}"),
            ));
        }
    }
    Ok(WebhookRequest { url, headers, body })
}

fn match_json(a: &MatchAlert) -> Value {
    json!({
        "match_id": a.match_id,
        "work_id": a.work_id,
        "work_title": a.work_title,
        "url": a.url,
        "platform": a.platform,
        "uploader": a.uploader,
        "upload_title": a.upload_title,
        "published_at": a.published_at.map(crate::clock::to_seconds),
        "found_at": crate::clock::stored(a.found_at),
        "score": a.score,
        "segments": a.segments.iter().map(|s| json!({
            "query_start_s": s.query_start_s, "query_end_s": s.query_end_s,
            "work_start_s": s.work_start_s, "work_end_s": s.work_end_s,
        })).collect::<Vec<_>>(),
        "match_link": a.match_link,
        "evidence_link": a.evidence_link,
        "new_location_of": a.location_of,
    })
}

/// The line that marks an alert about a new location of a confirmed match
/// (followed by the match's first URL; the alert's URL is the new one).
const NEW_LOCATION: &str =
    "New location of a confirmed match, first found at / 已确认转载的新链接，最初发现于:";

fn headline(alerts: &[MatchAlert]) -> String {
    match alerts {
        [one] if one.location_of.is_some() => format!(
            "Confirmed re-upload of \"{}\" is also at another URL / 已确认的《{}》转载出现在新链接",
            one.work_title, one.work_title
        ),
        [one] => format!(
            "Re-upload of \"{}\" found on {} / 发现《{}》的转载",
            one.work_title, one.platform, one.work_title
        ),
        many => format!(
            "{} re-uploads of your works found / 发现 {} 条作品转载",
            many.len(),
            many.len()
        ),
    }
}

fn ranges(a: &MatchAlert) -> String {
    a.segments
        .iter()
        .map(|s| {
            format!(
                "{}–{} ↔ {}–{}",
                video_time(s.query_start_s),
                video_time(s.query_end_s),
                video_time(s.work_start_s),
                video_time(s.work_end_s)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn plain(a: &MatchAlert) -> String {
    let mut out = String::new();
    if let Some(first) = &a.location_of {
        let _ = writeln!(out, "{} {first}", NEW_LOCATION);
    }
    let _ = writeln!(out, "Work / 作品: {}", a.work_title);
    let _ = writeln!(out, "URL / 链接: {}", a.url);
    let _ = writeln!(out, "Platform / 平台: {}", a.platform);
    let _ = writeln!(out, "Uploader / 上传者: {}", a.uploader);
    let _ = writeln!(out, "Score / 相似度: {:.2}", a.score);
    let _ = write!(out, "Upload ↔ work / 转载 ↔ 原作: {}", ranges(a));
    if let Some(link) = &a.match_link {
        let _ = write!(out, "\nMatch / 匹配详情: {link}");
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum MarkdownStyle {
    /// Slack mrkdwn: `*bold*`, `<url|text>`.
    Slack,
    /// DingTalk and WeCom markdown: `**bold**`, `[text](url)`.
    Common,
}

/// Markdown-ish text of one match. Characters that would start markup in
/// untrusted fields are left as they are: both formats render them as text
/// in these positions, and URLs are never rewritten.
fn markdown(a: &MatchAlert, style: MarkdownStyle) -> String {
    let bold = |s: &str| match style {
        MarkdownStyle::Slack => format!("*{s}*"),
        MarkdownStyle::Common => format!("**{s}**"),
    };
    let link = |url: &str| match style {
        MarkdownStyle::Slack => format!("<{url}>"),
        MarkdownStyle::Common => format!("[{url}]({url})"),
    };
    let mut out = String::new();
    if let Some(first) = &a.location_of {
        let _ = writeln!(out, "{} {}", bold(NEW_LOCATION), link(first));
    }
    let _ = writeln!(out, "{} {}", bold("Work / 作品:"), a.work_title);
    let _ = writeln!(out, "{} {}", bold("URL / 链接:"), link(&a.url));
    let _ = writeln!(out, "{} {}", bold("Platform / 平台:"), a.platform);
    let _ = writeln!(out, "{} {}", bold("Uploader / 上传者:"), a.uploader);
    let _ = writeln!(out, "{} {:.2}", bold("Score / 相似度:"), a.score);
    let _ = write!(
        out,
        "{} {}",
        bold("Upload ↔ work / 转载 ↔ 原作:"),
        ranges(a)
    );
    if let Some(l) = &a.match_link {
        let _ = write!(out, "\n{} {}", bold("Match / 匹配详情:"), link(l));
    }
    out
}

fn markdown_all(alerts: &[MatchAlert], style: MarkdownStyle) -> String {
    let mut out = format!("### {}\n", headline(alerts));
    for a in alerts {
        out.push('\n');
        out.push_str(&markdown(a, style));
        out.push('\n');
    }
    out
}

/// Most redirects followed for one alert.
const MAX_REDIRECTS: usize = 5;

/// POSTs `request` to `hook` through the SSRF guard, as the crawl does: the
/// client's resolver refuses non-public addresses (loopback on the hook's
/// own port with `allow_loopback`, everything with `allow_private`), no
/// proxy from the environment is used, and redirects are followed here,
/// each hop checked before it is connected to. Only 307 and 308 are
/// followed (they repeat the POST); another redirect is an error naming its
/// target, never a request to it. Returns "HTTP STATUS: BODY" (the body cut
/// at 300 characters) when the receiver accepted it. Feishu, DingTalk and
/// WeCom answer 200 with an error code in the body; a non-zero code is a
/// failure. Errors name the hook by its host only (its path or query is
/// its token).
pub async fn send(
    hook: &WebhookConfig,
    request: &WebhookRequest,
    timeout: Duration,
) -> anyhow::Result<String> {
    let kind = hook.kind.as_str();
    let shown = crate::secret::redact_url_path(&request.url);
    let allow = Allow::for_url(&hook.url, hook.allow_loopback, hook.allow_private);
    let client = ssrf::guarded_client(&allow, hook.proxy.as_deref())
        .map_err(|e| anyhow::anyhow!("alerts.webhooks.proxy: {e}"))?
        .connect_timeout(timeout)
        .build()
        .context("cannot build the webhook client")?;
    let mut url = url::Url::parse(&request.url)
        .map_err(|e| anyhow::anyhow!("{kind} webhook {shown}: not a URL ({e})"))?;
    let mut hops = 0;
    let response = loop {
        ssrf::check_url(&url, &allow)
            .map_err(|e| anyhow::anyhow!("{kind} webhook {shown}: {e}"))?;
        let mut builder = client
            .post(url.clone())
            .timeout(timeout)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.map_err(|e| {
            anyhow::anyhow!(
                "{kind} webhook {shown}: no answer ({})",
                crate::secret::redact_urls_in_text(&format!(
                    "{:#}",
                    anyhow::Error::new(e.without_url())
                ))
            )
        })?;
        let status = response.status();
        if !status.is_redirection() {
            break response;
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|location| url.join(location).ok());
        let Some(next) = location else {
            anyhow::bail!("{kind} webhook {shown} answered {status} without a usable Location");
        };
        let target = crate::secret::redact_url_path(next.as_str());
        if !matches!(status.as_u16(), 307 | 308) {
            anyhow::bail!(
                "{kind} webhook {shown} answered {status} to {target}: only 307 and 308 redirects (which repeat the POST) are followed; set alerts.webhooks.url to the new address"
            );
        }
        hops += 1;
        if hops > MAX_REDIRECTS {
            anyhow::bail!("{kind} webhook {shown}: more than {MAX_REDIRECTS} redirects");
        }
        url = next;
    };
    let status = response.status();
    let text = answer_text(response).await;
    let short: String = text.chars().take(300).collect();
    let answer = format!("HTTP {}: {}", status.as_u16(), short.trim());
    if !status.is_success() {
        anyhow::bail!("{kind} webhook {shown} refused the alert: {answer}");
    }
    if matches!(
        hook.kind,
        WebhookKind::Feishu | WebhookKind::Dingtalk | WebhookKind::Wecom
    ) {
        let code = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
            ["code", "errcode", "StatusCode"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_i64))
        });
        if let Some(code) = code.filter(|c| *c != 0) {
            anyhow::bail!("{kind} webhook {shown} refused the alert with code {code}: {answer}");
        }
    }
    Ok(answer)
}

/// Most bytes of a receiver's answer read: enough for its status JSON.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The start of a receiver's answer, at most [`MAX_ANSWER_BYTES`] (the
/// request's timeout bounds the time).
async fn answer_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ANSWER_BYTES {
            body.truncate(MAX_ANSWER_BYTES);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
