//! Alert emails: what they say ([`compose`]: English and Chinese, plain
//! text and HTML, one match or a digest of several), their MIME structure
//! ([`build_message`]) and sending them over SMTP ([`send`]).
//!
//! Structure: `multipart/mixed` (only when a bundle is attached) holding
//! `multipart/alternative` of the plain text and a `multipart/related`
//! whose HTML shows each matched frame pair inline as `cid:frame-N@reelguard`.

use crate::clock::{stored, to_seconds, video_time};
use crate::secret::Secret;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::ssrf::{self, Allow};

use super::{MatchAlert, Security, SmtpConfig};

/// An email's content before MIME encoding.
#[derive(Clone, Debug)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// (Content-ID without brackets, PNG bytes), referenced by the HTML.
    pub images: Vec<(String, Vec<u8>)>,
    /// (file name, bytes): evidence bundles under the size cap.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// The alert for `alerts` (one match, or a digest of several). Evidence
/// bundles are attached while all of them together, as they travel in the
/// message (base64, see [`encoded_len`]), stay within
/// `max_attachment_bytes`; the others are named with the reason.
pub fn compose(alerts: &[MatchAlert], max_attachment_bytes: u64) -> Letter {
    let subject = match alerts {
        [one] if one.location_of.is_some() => format!(
            "[reelguard] Confirmed re-upload of \"{}\" is also at another URL / 已确认的《{}》转载出现在新链接",
            one.work_title, one.work_title
        ),
        [one] => format!(
            "[reelguard] Re-upload of \"{}\" found on {} / 发现《{}》的转载",
            one.work_title, one.platform, one.work_title
        ),
        many => format!(
            "[reelguard] {} re-uploads of your works found / 发现 {} 条作品转载",
            many.len(),
            many.len()
        ),
    };
    let mut images = Vec::new();
    let mut attachments = Vec::new();
    let mut bundle_notes = Vec::new();
    let mut attached_bytes = 0u64;
    for (i, alert) in alerts.iter().enumerate() {
        if let Some(png) = &alert.frame_png {
            images.push((format!("frame-{}@reelguard", i + 1), png.clone()));
        }
        let note = match &alert.bundle {
            Ok(path) => match attach(path, max_attachment_bytes - attached_bytes) {
                Ok(bytes) => {
                    attached_bytes += encoded_len(bytes.len() as u64);
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| format!("evidence-{}.zip", alert.match_id));
                    attachments.push((name, bytes));
                    None
                }
                Err(reason) => Some(reason),
            },
            Err(reason) => Some(reason.clone()),
        };
        bundle_notes.push(note);
    }
    let text = text_body(alerts, &bundle_notes);
    let html = html_body(alerts, &images);
    Letter {
        subject,
        text,
        html,
        images,
        attachments,
    }
}

/// How many bytes `raw` bytes of an attachment take in the message: base64
/// (4 characters for each 3 bytes) in lines of 76 characters, each ended by
/// CRLF, as the message is built. Mail servers measure this size, about
/// 37 % over the file's.
pub fn encoded_len(raw: u64) -> u64 {
    const LINE: u64 = 76;
    let base64 = raw.div_ceil(3) * 4;
    base64 + 2 * base64.div_ceil(LINE).max(1)
}

/// The bytes of the bundle at `path` when, encoded for the message, it
/// takes at most `room` bytes, or why it cannot be attached.
fn attach(path: &std::path::Path, room: u64) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    let encoded = encoded_len(size);
    if encoded > room {
        return Err(format!(
            "{} is {size} bytes ({encoded} encoded for email), over the attachment limit ({room} bytes left)",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn ranges(alert: &MatchAlert, upload: &str, work: &str) -> Vec<String> {
    alert
        .segments
        .iter()
        .map(|s| {
            format!(
                "{upload} {}–{} = {work} {}–{}",
                video_time(s.query_start_s),
                video_time(s.query_end_s),
                video_time(s.work_start_s),
                video_time(s.work_end_s)
            )
        })
        .collect()
}

fn match_link(alert: &MatchAlert) -> String {
    alert
        .match_link
        .clone()
        .unwrap_or_else(|| format!("reelguard matches show {}", alert.match_id))
}

fn evidence_link(alert: &MatchAlert) -> String {
    alert
        .evidence_link
        .clone()
        .unwrap_or_else(|| format!("reelguard evidence export {} -o claim.zip", alert.match_id))
}

fn text_body(alerts: &[MatchAlert], bundle_notes: &[Option<String>]) -> String {
    let mut out = String::new();
    let n = alerts.len();
    if n == 1 && alerts[0].location_of.is_some() {
        let _ = writeln!(
            out,
            "reelguard found your confirmed re-upload of \"{}\" at another URL.\n",
            alerts[0].work_title
        );
    } else if n == 1 {
        let _ = writeln!(
            out,
            "reelguard found a re-upload of your work \"{}\".\n",
            alerts[0].work_title
        );
    } else {
        let _ = writeln!(out, "reelguard found {n} re-uploads of your works.\n");
    }
    for (i, a) in alerts.iter().enumerate() {
        if n > 1 {
            let _ = writeln!(out, "{}. \"{}\"", i + 1, a.work_title);
        }
        if let Some(first) = &a.location_of {
            let _ = writeln!(
                out,
                "  New location of a confirmed match: the confirmed copy is also at {} (first found at {first})",
                a.url
            );
        }
        let _ = writeln!(out, "  Upload:    {}", a.upload_title);
        let _ = writeln!(out, "  URL:       {}", a.url);
        let _ = writeln!(out, "  Platform:  {}", a.platform);
        let _ = writeln!(out, "  Uploader:  {}", a.uploader);
        if let Some(p) = a.published_at {
            let _ = writeln!(out, "  Published: {}", to_seconds(p));
        }
        let _ = writeln!(out, "  Found:     {}", stored(a.found_at));
        let _ = writeln!(out, "  Score:     {:.2}", a.score);
        for r in ranges(a, "upload", "work") {
            let _ = writeln!(out, "  Copied:    {r}");
        }
        let _ = writeln!(out, "  Match:     {}", match_link(a));
        let _ = writeln!(out, "  Evidence:  {}", evidence_link(a));
        if let Some(Some(note)) = bundle_notes.get(i) {
            let _ = writeln!(out, "  Bundle not attached: {note}");
        }
        out.push('\n');
    }
    out.push_str(closing(alerts).0);
    out.push_str("\n\n");
    out.push_str("----\n\n");
    if n == 1 && alerts[0].location_of.is_some() {
        let _ = writeln!(
            out,
            "reelguard 发现您已确认的《{}》转载出现在新链接。\n",
            alerts[0].work_title
        );
    } else if n == 1 {
        let _ = writeln!(
            out,
            "reelguard 发现了您的作品《{}》的转载。\n",
            alerts[0].work_title
        );
    } else {
        let _ = writeln!(out, "reelguard 发现了您的作品的 {n} 条转载。\n");
    }
    for (i, a) in alerts.iter().enumerate() {
        if n > 1 {
            let _ = writeln!(out, "{}.《{}》", i + 1, a.work_title);
        }
        if let Some(first) = &a.location_of {
            let _ = writeln!(
                out,
                "  已确认转载的新链接：该转载也出现在 {}（最初发现于 {first}）",
                a.url
            );
        }
        let _ = writeln!(out, "  视频标题：{}", a.upload_title);
        let _ = writeln!(out, "  链接：{}", a.url);
        let _ = writeln!(out, "  平台：{}", a.platform);
        let _ = writeln!(out, "  上传者：{}", a.uploader);
        if let Some(p) = a.published_at {
            let _ = writeln!(out, "  发布时间：{}", to_seconds(p));
        }
        let _ = writeln!(out, "  发现时间：{}", stored(a.found_at));
        let _ = writeln!(out, "  相似度：{:.2}", a.score);
        for r in ranges(a, "转载视频", "原作") {
            let _ = writeln!(out, "  转载片段：{r}");
        }
        let _ = writeln!(out, "  匹配详情：{}", match_link(a));
        let _ = writeln!(out, "  证据包：{}", evidence_link(a));
        out.push('\n');
    }
    out.push_str(closing(alerts).1);
    out.push('\n');
    out
}

/// The closing request, in English and Chinese: review new matches; for
/// new locations of confirmed ones alone, act on the new URL.
fn closing(alerts: &[MatchAlert]) -> (&'static str, &'static str) {
    if alerts.iter().all(|a| a.location_of.is_some()) {
        (
            "The match is already confirmed: send the takedown for the new URL too.",
            "该转载已确认：请对新链接同样发送下架通知。",
        )
    } else {
        (
            "Review it, then confirm, dismiss or mark it licensed.",
            "请核实后确认、驳回或标记为已授权。",
        )
    }
}

/// Escapes text for HTML (titles and uploaders come from hostile platforms).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link when `target` is an http(s) URL, else the escaped text.
fn link(target: &str) -> String {
    let safe = url::Url::parse(target).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if safe {
        format!("<a href=\"{0}\">{0}</a>", escape(target))
    } else {
        format!("<code>{}</code>", escape(target))
    }
}

fn html_body(alerts: &[MatchAlert], images: &[(String, Vec<u8>)]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family: sans-serif\">\n",
    );
    let n = alerts.len();
    let (en, zh) = if n == 1 && alerts[0].location_of.is_some() {
        (
            format!(
                "reelguard found your confirmed re-upload of “{}” at another URL.",
                escape(&alerts[0].work_title)
            ),
            format!(
                "reelguard 发现您已确认的《{}》转载出现在新链接。",
                escape(&alerts[0].work_title)
            ),
        )
    } else if n == 1 {
        (
            format!(
                "reelguard found a re-upload of your work “{}”.",
                escape(&alerts[0].work_title)
            ),
            format!(
                "reelguard 发现了您的作品《{}》的转载。",
                escape(&alerts[0].work_title)
            ),
        )
    } else {
        (
            format!("reelguard found {n} re-uploads of your works."),
            format!("reelguard 发现了您的作品的 {n} 条转载。"),
        )
    };
    let _ = writeln!(out, "<p>{en}<br>{zh}</p>");
    for (i, a) in alerts.iter().enumerate() {
        let _ = writeln!(
            out,
            "<h3>{}. “{}” /《{}》</h3>",
            i + 1,
            escape(&a.work_title),
            escape(&a.work_title)
        );
        let cid = format!("frame-{}@reelguard", i + 1);
        if images.iter().any(|(id, _)| *id == cid) {
            let _ = writeln!(
                out,
                "<p><img src=\"cid:{cid}\" alt=\"matched frames: work (left) | upload (right) / 匹配帧：原作（左）| 转载（右）\" style=\"max-width: 100%\"></p>"
            );
        }
        out.push_str("<table cellpadding=\"4\">\n");
        let mut row = |en: &str, zh: &str, value: String| {
            let _ = writeln!(
                out,
                "<tr><th align=\"left\">{en} / {zh}</th><td>{value}</td></tr>"
            );
        };
        if let Some(first) = &a.location_of {
            row(
                "New location of a confirmed match",
                "已确认转载的新链接",
                format!(
                    "the confirmed copy is also at {} (first found at {})<br>该转载也出现在 {}（最初发现于 {}）",
                    link(&a.url),
                    link(first),
                    link(&a.url),
                    link(first)
                ),
            );
        }
        row("Upload", "视频标题", escape(&a.upload_title));
        row("URL", "链接", link(&a.url));
        row("Platform", "平台", escape(&a.platform));
        row("Uploader", "上传者", escape(&a.uploader));
        if let Some(p) = a.published_at {
            row("Published", "发布时间", escape(&to_seconds(p)));
        }
        row("Found", "发现时间", escape(&stored(a.found_at)));
        row("Score", "相似度", format!("{:.2}", a.score));
        for (en, zh) in ranges(a, "upload", "work")
            .into_iter()
            .zip(ranges(a, "转载视频", "原作"))
        {
            row(
                "Copied",
                "转载片段",
                format!("{}<br>{}", escape(&en), escape(&zh)),
            );
        }
        row("Match", "匹配详情", link(&match_link(a)));
        row("Evidence", "证据包", link(&evidence_link(a)));
        out.push_str("</table>\n");
    }
    let (en, zh) = closing(alerts);
    let _ = writeln!(out, "<p>{en}<br>{zh}</p>\n</body></html>");
    out
}

/// The MIME message of `letter` from `from` to `to`.
pub fn build_message(
    letter: &Letter,
    from: &str,
    reply_to: &str,
    to: &str,
) -> anyhow::Result<Message> {
    let from: Mailbox = from
        .parse()
        .with_context(|| format!("smtp.from = {from:?} is not an email address"))?;
    let to: Mailbox = to
        .parse()
        .with_context(|| format!("recipient {to:?} is not an email address"))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(&letter.subject);
    if !reply_to.is_empty() {
        let reply_to: Mailbox = reply_to
            .parse()
            .with_context(|| format!("smtp.reply_to = {reply_to:?} is not an email address"))?;
        builder = builder.reply_to(reply_to);
    }
    let png = ContentType::parse("image/png").expect("a valid content type");
    let mut related = MultiPart::related().singlepart(SinglePart::html(letter.html.clone()));
    for (cid, bytes) in &letter.images {
        related = related
            .singlepart(Attachment::new_inline(cid.clone()).body(bytes.clone(), png.clone()));
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(letter.text.clone()))
        .multipart(related);
    let message = if letter.attachments.is_empty() {
        builder.multipart(alternative)
    } else {
        let zip = ContentType::parse("application/zip").expect("a valid content type");
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for (name, bytes) in &letter.attachments {
            mixed =
                mixed.singlepart(Attachment::new(name.clone()).body(bytes.clone(), zip.clone()));
        }
        builder.multipart(mixed)
    };
    message.context("cannot build the alert email")
}

/// TLS settings for `[smtp]`: the server's certificate must be valid for
/// `host`, signed by a public web root or by `ca_cert`.
fn tls_parameters(smtp: &SmtpConfig) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("smtp.ca_cert: cannot read {}", path.display()))?;
        let certificate = Certificate::from_pem(&pem).with_context(|| {
            format!("smtp.ca_cert: {} is not a PEM certificate", path.display())
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .with_context(|| format!("cannot set up TLS to {}", smtp.host))
}

/// Sends `message` through the `[smtp]` server and returns its answer
/// (e.g. "250 OK queued as 1234"). The whole exchange is bounded by
/// `timeout_s` (lettre's own timeout covers only each read and write).
pub async fn send(smtp: &SmtpConfig, message: Message) -> anyhow::Result<String> {
    let timeout = Duration::from_secs_f64(smtp.timeout_s);
    let server = format!("{}:{} ({:?})", smtp.host, smtp.port, smtp.security);
    let sending = async {
        let transport = transport(smtp).await?;
        Ok::<_, anyhow::Error>(transport.send(message).await)
    };
    let response = match tokio::time::timeout(timeout, sending).await {
        Ok(Err(setup)) => return Err(setup),
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(e))) => {
            let hint = if e.to_string().contains("certificate") {
                "; if the server's certificate comes from a private CA, set [smtp] ca_cert to that CA's PEM file"
            } else {
                ""
            };
            return Err(anyhow::anyhow!("SMTP server {server}: {e}{hint}"));
        }
        Err(_) => anyhow::bail!(
            "SMTP server {server} did not finish within {} s",
            smtp.timeout_s
        ),
    };
    let text: Vec<&str> = response.message().collect();
    Ok(format!("{} {}", response.code(), text.join(" "))
        .trim()
        .to_string())
}

/// The address of the `[smtp]` relay, through the SSRF guard: the host is
/// resolved here and refused if any of its addresses is not allowed, and
/// the client connects to the address checked (TLS still checks the
/// certificate against the host name). A name's IPv4 address is used if it
/// has one, else its first.
async fn relay_address(smtp: &SmtpConfig) -> anyhow::Result<IpAddr> {
    let allow = Allow::for_host(
        &smtp.host,
        smtp.port,
        smtp.allow_loopback,
        smtp.allow_private,
    );
    let addresses = ssrf::resolve_checked(smtp.host.trim_matches(['[', ']']), &allow)
        .await
        .map_err(|refused| {
            anyhow::anyhow!(
                "[smtp] host {:?}: {refused}; for a relay on this machine set allow_loopback = true in [smtp], on your network allow_private = true",
                smtp.host
            )
        })?;
    // One address is used, IPv4 first (a name like localhost lists ::1
    // first, while local relays often listen on 127.0.0.1 only).
    let first = addresses
        .iter()
        .find(|a| a.is_ipv4())
        .unwrap_or(&addresses[0]);
    Ok(first.ip())
}

/// The SMTP client for `[smtp]`: to the guarded relay address, TLS as
/// configured, logged in when a username is set (its password from
/// `password_env`).
async fn transport(smtp: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let timeout = Duration::from_secs_f64(smtp.timeout_s);
    let relay = relay_address(smtp).await?.to_string();
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay);
    let builder = match smtp.security {
        Security::None => builder,
        Security::Starttls => builder.tls(Tls::Required(tls_parameters(smtp)?)),
        Security::Tls => builder.tls(Tls::Wrapper(tls_parameters(smtp)?)),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if !smtp.username.is_empty() {
        let password = Secret::from_env(&smtp.password_env).with_context(|| {
            format!(
                "smtp.password_env: environment variable {} is not set; export the SMTP password of {:?} in it",
                smtp.password_env, smtp.username
            )
        })?;
        if let Some(warning) = super::clear_text_login(smtp) {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| tracing::warn!("{warning}"));
        }
        builder = builder.credentials(Credentials::new(
            smtp.username.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// Connects to the `[smtp]` server, starts TLS and logs in as configured,
/// then quits without sending anything (`reelguard doctor`). Bounded by
/// `timeout_s` like a send.
pub async fn check_login(smtp: &SmtpConfig) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(smtp.timeout_s);
    let server = format!("{}:{} ({:?})", smtp.host, smtp.port, smtp.security);
    let checking = async {
        let transport = transport(smtp).await?;
        Ok::<_, anyhow::Error>(transport.test_connection().await)
    };
    match tokio::time::timeout(timeout, checking).await {
        Ok(Err(setup)) => Err(setup),
        Ok(Ok(Ok(true))) => Ok(()),
        Ok(Ok(Ok(false))) => anyhow::bail!("SMTP server {server} closed the connection"),
        Ok(Ok(Err(e))) => Err(anyhow::anyhow!("SMTP server {server}: {e}")),
        Err(_) => anyhow::bail!(
            "SMTP server {server} did not answer within {} s",
            smtp.timeout_s
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attachment's body as it stands in `message`: the lines between
    /// its part headers and the next boundary.
    fn attachment_body(message: &str) -> &str {
        let part = &message[message.find("Content-Type: application/zip").unwrap()..];
        let body = &part[part.find("\r\n\r\n").unwrap() + 4..];
        &body[..body.find("\r\n--").map_or(body.len(), |end| end + 2)]
    }

    #[test]
    fn encoded_len_is_the_size_the_attachment_takes_in_the_message() {
        for raw in [0usize, 1, 2, 3, 56, 57, 58, 1000, 65_537] {
            // Binary bytes, as a zip's are (a body of ASCII text alone
            // would travel as it is, shorter).
            let bytes: Vec<u8> = (0..raw).map(|i| 0x80 | (i * 7919 % 128) as u8).collect();
            let letter = Letter {
                subject: "s".into(),
                text: "t".into(),
                html: "<p>h</p>".into(),
                images: Vec::new(),
                attachments: vec![("claim.zip".into(), bytes)],
            };
            let message = build_message(&letter, "a@example.org", "", "b@example.org").unwrap();
            let formatted = String::from_utf8(message.formatted()).unwrap();
            let body = attachment_body(&formatted);
            assert_eq!(
                encoded_len(raw as u64),
                body.len() as u64,
                "{raw} bytes: {body:?}"
            );
        }
    }
}
