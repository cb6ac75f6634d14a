//! Alerts against local stand-ins on 127.0.0.1: the SMTP sink
//! (`reelguard::testkit::smtp_sink`) and an axum webhook receiver.
//! - an alert email carries English and Chinese text, HTML with the matched
//!   frame pair inline (`cid:`), and the bundle when under the size cap;
//! - each webhook format has its shape and its signature;
//! - scans of the mock platform email exactly one message per match, and a
//!   second scan none; a digest gathers the matches in one message;
//! - SMTP refusing, then down: alerts stay queued, then go out once it is back;
//! - the daemon killed with SIGKILL in the middle of a send: after a restart
//!   every alert has been delivered exactly once.
//!
//! The scan tests skip (with a note) when ../shared/media is missing.

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hmac::Mac;
use serde_json::Value;

use common::platform::{fresh_data_dir, start_platform, with_store, works, write_catalog, Upload};
use common::{path_str, run_with_env, scratch_dir, transform, Backend};
use reelguard::alerts::{
    email, webhook, MatchAlert, Security, SmtpConfig, WebhookConfig, WebhookKind,
};
use reelguard::domain::{AlertState, CandidateStatus, StoredSegment};
use reelguard::testkit::smtp_sink::{SinkTls, SmtpSink};
use reelguard::testkit::tls::TestCertificates;

// ---------------------------------------------------------------- helpers

/// The SMTP sink on its own runtime, for as long as this value lives.
struct Sink {
    sink: Option<SmtpSink>,
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Sink {
    fn start(addr: &str, dir: &Path, auth: Option<(&str, &str)>) -> Sink {
        Sink::start_with(addr, dir, auth, SinkTls::None)
    }

    fn start_with(addr: &str, dir: &Path, auth: Option<(&str, &str)>, tls: SinkTls) -> Sink {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the sink");
        let auth = auth.map(|(u, p)| (u.to_string(), p.to_string()));
        let sink = runtime
            .block_on(SmtpSink::start(addr.parse().unwrap(), dir, auth, tls))
            .expect("start the SMTP sink");
        Sink {
            addr: sink.addr,
            sink: Some(sink),
            runtime,
            dir: dir.to_path_buf(),
        }
    }

    fn sink(&self) -> &SmtpSink {
        self.sink.as_ref().expect("the sink is running")
    }

    /// Stops listening (connections are refused) until [`Sink::restart`].
    fn stop(&mut self) {
        if let Some(sink) = self.sink.take() {
            let _guard = self.runtime.enter();
            sink.stop();
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    fn restart(&mut self) {
        let sink = self
            .runtime
            .block_on(SmtpSink::start(self.addr, &self.dir, None, SinkTls::None))
            .expect("restart the SMTP sink on the same port");
        self.sink = Some(sink);
    }

    fn messages(&self) -> Vec<Message> {
        reelguard::testkit::smtp_sink::stored_messages(&self.dir)
            .iter()
            .map(|p| Message::read(p))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        self.sink.take();
    }
}

/// A stored message, parsed.
struct Message {
    raw: Vec<u8>,
}

impl Message {
    fn read(path: &Path) -> Message {
        Message {
            raw: std::fs::read(path).expect("read a stored message"),
        }
    }

    fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&self.raw).expect("a MIME message")
    }

    fn header(&self, name: &str) -> String {
        use mailparse::MailHeaderMap;
        self.parsed()
            .headers
            .get_first_value(name)
            .unwrap_or_default()
    }

    /// Every leaf part: (MIME type, Content-ID, Content-Disposition, decoded bytes).
    fn leaves(&self) -> Vec<(String, String, String, Vec<u8>)> {
        fn walk(part: &mailparse::ParsedMail, out: &mut Vec<(String, String, String, Vec<u8>)>) {
            use mailparse::MailHeaderMap;
            if part.subparts.is_empty() {
                out.push((
                    part.ctype.mimetype.clone(),
                    part.headers
                        .get_first_value("Content-ID")
                        .unwrap_or_default(),
                    part.headers
                        .get_first_value("Content-Disposition")
                        .unwrap_or_default(),
                    part.get_body_raw().expect("decodable body"),
                ));
            }
            for sub in &part.subparts {
                walk(sub, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.parsed(), &mut out);
        out
    }

    fn part_text(&self, mime: &str) -> String {
        let leaves = self.leaves();
        let (_, _, _, body) = leaves
            .iter()
            .find(|(m, _, _, _)| m == mime)
            .unwrap_or_else(|| panic!("no {mime} part"));
        String::from_utf8(body.clone()).expect("UTF-8 text")
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, 200])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode a PNG");
    bytes
}

fn sample_alert(id: &str) -> MatchAlert {
    MatchAlert {
        match_id: id.into(),
        work_title: "Bikes 单车".into(),
        work_id: "w1".into(),
        url: "https://videos.example/watch?v=abc".into(),
        platform: "youtube".into(),
        uploader: "copy<cat>".into(),
        upload_title: "Bikes (reupload)".into(),
        published_at: reelguard::clock::parse("2026-11-20T08:00:00Z"),
        found_at: reelguard::clock::parse("2026-11-25T10:00:00.000Z").unwrap(),
        score: 0.875,
        segments: vec![StoredSegment {
            query_start_s: 3.0,
            query_end_s: 13.0,
            work_start_s: 0.0,
            work_end_s: 10.0,
            score: 0.875,
            matched_frames: 20,
            speed: 1.0,
        }],
        frame_png: None,
        bundle: Err("the evidence capture is pending".into()),
        match_link: Some(format!("http://dash.example/matches/{id}")),
        evidence_link: Some(format!("http://dash.example/matches/{id}/bundle.zip")),
        location_of: None,
    }
}

fn smtp_config(addr: SocketAddr) -> SmtpConfig {
    SmtpConfig {
        host: addr.ip().to_string(),
        port: addr.port(),
        security: Security::None,
        from: "reelguard <alerts@example.com>".into(),
        timeout_s: 10.0,
        allow_loopback: true,
        ..SmtpConfig::default()
    }
}

// ---------------------------------------------------------------- email

#[test]
fn alert_email_has_both_languages_html_and_the_inline_frame_pair() {
    let scratch = scratch_dir();
    let sink = Sink::start(
        "127.0.0.1:0",
        &scratch.path().join("sink"),
        Some(("alerts", "s3cret")),
    );
    let frame = png(64, 32);
    let bundle = scratch.path().join("claim.zip");
    std::fs::write(&bundle, b"PK\x05\x06 a small bundle").unwrap();
    let mut alert = sample_alert("m-1");
    alert.frame_png = Some(frame.clone());
    alert.bundle = Ok(bundle.clone());
    let letter = email::compose(std::slice::from_ref(&alert), 1024);
    let message = email::build_message(
        &letter,
        "reelguard <alerts@example.com>",
        "help@example.com",
        "creator@example.com",
    )
    .unwrap();

    let mut smtp = smtp_config(sink.addr);
    smtp.username = "alerts".into();
    smtp.password_env = "ALERTS_TEST_SMTP_PASSWORD".into();
    std::env::set_var("ALERTS_TEST_SMTP_PASSWORD", "s3cret");
    let answer = sink
        .runtime
        .block_on(email::send(&smtp, message))
        .expect("sent");
    assert!(answer.starts_with("250 "), "{answer}");

    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.header("X-Sink-Rcpt-To"), "creator@example.com");
    assert_eq!(m.header("Reply-To"), "help@example.com");
    assert!(
        m.header("Subject").contains("Bikes 单车"),
        "{}",
        m.header("Subject")
    );
    assert!(
        m.header("Subject").contains("发现"),
        "{}",
        m.header("Subject")
    );
    assert_eq!(m.parsed().ctype.mimetype, "multipart/mixed");
    let text = m.part_text("text/plain");
    for expected in [
        "https://videos.example/watch?v=abc",
        "Uploader:  copy<cat>",
        "Platform:  youtube",
        "Score:     0.88",
        "upload 0:03.0–0:13.0 = work 0:00.0–0:10.0",
        "http://dash.example/matches/m-1/bundle.zip",
        "上传者：copy<cat>",
        "相似度：0.88",
        "转载视频 0:03.0–0:13.0 = 原作 0:00.0–0:10.0",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    let html = m.part_text("text/html");
    assert!(
        html.contains("<img src=\"cid:frame-1@reelguard\""),
        "{html}"
    );
    assert!(
        html.contains("copy&lt;cat&gt;") && !html.contains("copy<cat>"),
        "untrusted text escaped: {html}"
    );
    let leaves = m.leaves();
    let image = leaves
        .iter()
        .find(|(mime, _, _, _)| mime == "image/png")
        .expect("an image/png part");
    assert_eq!(image.1, "<frame-1@reelguard>");
    assert!(image.2.starts_with("inline"), "{}", image.2);
    assert_eq!(image.3, frame, "the PNG arrives intact");
    let zip = leaves
        .iter()
        .find(|(mime, _, _, _)| mime == "application/zip")
        .expect("the bundle attached");
    assert!(zip.2.contains("claim.zip"), "{}", zip.2);
    assert_eq!(zip.3, std::fs::read(&bundle).unwrap());

    // Over the size cap: named, not attached.
    let letter = email::compose(std::slice::from_ref(&alert), 8);
    assert!(letter.attachments.is_empty());
    assert!(
        letter
            .text
            .contains("over the attachment limit (8 bytes left)"),
        "{}",
        letter.text
    );

    // A wrong password is refused, and the error carries the server's answer.
    std::env::set_var("ALERTS_TEST_SMTP_PASSWORD", "wrong");
    let message =
        email::build_message(&letter, "alerts@example.com", "", "creator@example.com").unwrap();
    let error = sink
        .runtime
        .block_on(email::send(&smtp, message))
        .unwrap_err();
    assert!(format!("{error:#}").contains("535"), "{error:#}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn starttls_and_implicit_tls_deliver_only_to_a_server_the_client_trusts() {
    let scratch = scratch_dir();
    let certificates = TestCertificates::create(&scratch.path().join("certs")).unwrap();
    let server = certificates.server_config().unwrap();
    std::env::set_var("ALERTS_TLS_TEST_SMTP_PASSWORD", "s3cret");
    let letter = email::compose(&[sample_alert("m-tls")], 0);
    let build =
        || email::build_message(&letter, "alerts@example.com", "", "creator@example.com").unwrap();
    for (security, tls) in [
        (Security::Starttls, SinkTls::Starttls(server.clone())),
        (Security::Tls, SinkTls::Implicit(server.clone())),
    ] {
        let sink = Sink::start_with(
            "127.0.0.1:0",
            &scratch.path().join(format!("sink-{security:?}")),
            Some(("alerts", "s3cret")),
            tls,
        );
        let mut smtp = smtp_config(sink.addr);
        smtp.security = security;
        smtp.username = "alerts".into();
        smtp.password_env = "ALERTS_TLS_TEST_SMTP_PASSWORD".into();

        // The test CA is not trusted: the handshake fails and nothing is sent.
        let error = sink
            .runtime
            .block_on(email::send(&smtp, build()))
            .unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.contains("UnknownIssuer") && error.contains("set [smtp] ca_cert"),
            "{security:?}: {error}"
        );
        assert!(sink.messages().is_empty(), "{security:?}");

        // Trusting the CA, the message goes out over TLS, logged in.
        smtp.ca_cert = Some(certificates.ca_cert.clone());
        let answer = sink
            .runtime
            .block_on(email::send(&smtp, build()))
            .unwrap_or_else(|e| panic!("{security:?}: {e:#}"));
        assert!(answer.starts_with("250 "), "{security:?}: {answer}");
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{security:?}");
        let version = messages[0].header("X-Sink-Tls");
        assert!(version.starts_with("TLSv1"), "{security:?}: {version}");
        assert_eq!(messages[0].header("X-Sink-Rcpt-To"), "creator@example.com");

        // A client that does not upgrade gets no AUTH offered, and its MAIL
        // is refused: nothing goes out in plain text.
        if security == Security::Starttls {
            smtp.security = Security::None;
            let error = sink
                .runtime
                .block_on(email::send(&smtp, build()))
                .unwrap_err();
            assert!(
                format!("{error:#}").contains("authentication mechanism"),
                "{error:#}"
            );
            smtp.username.clear();
            let error = sink
                .runtime
                .block_on(email::send(&smtp, build()))
                .unwrap_err();
            assert!(format!("{error:#}").contains("530"), "{error:#}");
            assert_eq!(sink.messages().len(), 1);
        }
    }
}

// ---------------------------------------------------------------- webhooks

type Captured = Arc<Mutex<Vec<(String, String, axum::http::HeaderMap, Vec<u8>)>>>;

fn start_receiver(runtime: &tokio::runtime::Runtime) -> (String, Captured) {
    use axum::extract::{Path as UrlPath, RawQuery, State};
    let captured: Captured = Arc::default();
    let app = axum::Router::new()
        .route(
            "/{kind}",
            axum::routing::post(
                async |State(c): State<Captured>,
                       UrlPath(kind): UrlPath<String>,
                       RawQuery(q): RawQuery,
                       headers: axum::http::HeaderMap,
                       body: axum::body::Bytes| {
                    c.lock().unwrap().push((
                        kind.clone(),
                        q.unwrap_or_default(),
                        headers,
                        body.to_vec(),
                    ));
                    if kind == "down" {
                        return (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            "down".to_string(),
                        );
                    }
                    let body = match kind.as_str() {
                        "feishu" => r#"{"code":0,"msg":"success"}"#.to_string(),
                        "dingtalk" | "wecom" => r#"{"errcode":0,"errmsg":"ok"}"#.to_string(),
                        "refuses" => r#"{"errcode":310000,"errmsg":"sign not match"}"#.to_string(),
                        _ => "ok".to_string(),
                    };
                    (axum::http::StatusCode::OK, body)
                },
            ),
        )
        // `POST /moved/CODE?to=URL` answers redirect CODE to URL.
        .route(
            "/moved/{code}",
            axum::routing::post(async |UrlPath(code): UrlPath<u16>, RawQuery(q): RawQuery| {
                let to = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                    .find(|(k, _)| k == "to")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                (
                    axum::http::StatusCode::from_u16(code).unwrap(),
                    [(axum::http::header::LOCATION, to)],
                    String::new(),
                )
            }),
        )
        .with_state(captured.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (base, captured)
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[test]
fn webhooks_are_signed_and_shaped_per_format() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base, captured) = start_receiver(&runtime);
    let alerts = vec![sample_alert("m-1"), sample_alert("m-2")];
    let now_ms = 1_764_064_800_123;
    let secret = "hook-secret";
    for (kind, signed) in [
        (WebhookKind::Json, true),
        (WebhookKind::Slack, false),
        (WebhookKind::Feishu, true),
        (WebhookKind::Dingtalk, true),
        (WebhookKind::Wecom, false),
    ] {
        let hook = WebhookConfig {
            kind,
            url: format!("{base}/{}?access_token=t0k", kind.as_str()),
            secret_env: None,
            allow_loopback: true,
            allow_private: false,
            proxy: None,
        };
        let request =
            webhook::build_request(&hook, signed.then_some(secret), &alerts, "batch-7", now_ms)
                .unwrap();
        let answer = runtime
            .block_on(webhook::send(&hook, &request, Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("{kind:?}: {e:#}"));
        assert!(answer.starts_with("HTTP 200"), "{answer}");
    }
    let captured = captured.lock().unwrap().clone();
    assert_eq!(captured.len(), 5);
    for (kind, query, headers, body) in &captured {
        assert_eq!(headers["idempotency-key"], "batch-7", "{kind}");
        let json: Value = serde_json::from_slice(body).unwrap();
        match kind.as_str() {
            "json" => {
                let timestamp = headers["x-reelguard-timestamp"].to_str().unwrap();
                assert_eq!(timestamp, "1764064800");
                let mut signed = format!("{timestamp}.").into_bytes();
                signed.extend_from_slice(body);
                let expected = format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &signed)));
                assert_eq!(headers["x-reelguard-signature"].to_str().unwrap(), expected);
                assert_eq!(json["matches"].as_array().unwrap().len(), 2);
                assert_eq!(json["matches"][1]["match_id"], "m-2");
                assert_eq!(json["matches"][0]["uploader"], "copy<cat>");
                assert_eq!(json["matches"][0]["segments"][0]["query_start_s"], 3.0);
            }
            "slack" => {
                assert!(json["text"].as_str().unwrap().contains("2 re-uploads"));
                let blocks = json["blocks"].as_array().unwrap();
                assert_eq!(blocks.len(), 3, "a header and a section per match");
                assert_eq!(blocks[1]["type"], "section");
                assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
                assert!(blocks[1]["text"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("<https://videos.example/watch?v=abc>"));
            }
            "feishu" => {
                assert_eq!(json["msg_type"], "text");
                assert!(json["content"]["text"].as_str().unwrap().contains("上传者"));
                assert_eq!(json["timestamp"], "1764064800");
                let key = format!("1764064800\n{secret}");
                assert_eq!(
                    json["sign"].as_str().unwrap(),
                    b64.encode(hmac(key.as_bytes(), b""))
                );
            }
            "dingtalk" => {
                assert_eq!(json["msgtype"], "markdown");
                assert!(json["markdown"]["title"].is_string());
                assert!(json["markdown"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("[https://videos.example/watch?v=abc]("));
                let pairs: std::collections::HashMap<String, String> =
                    url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect();
                assert_eq!(pairs["access_token"], "t0k");
                assert_eq!(pairs["timestamp"], now_ms.to_string());
                let expected = b64.encode(hmac(
                    secret.as_bytes(),
                    format!("{now_ms}\n{secret}").as_bytes(),
                ));
                assert_eq!(pairs["sign"], expected);
            }
            "wecom" => {
                assert_eq!(json["msgtype"], "markdown");
                assert!(json["markdown"]["content"]
                    .as_str()
                    .unwrap()
                    .contains("**Uploader / 上传者:** copy<cat>"));
            }
            other => panic!("unexpected path {other}"),
        }
    }
    // A receiver answering 200 with an error code refused the alert.
    let hook = WebhookConfig {
        kind: WebhookKind::Dingtalk,
        url: format!("{base}/refuses"),
        secret_env: None,
        allow_loopback: true,
        allow_private: false,
        proxy: None,
    };
    let request = webhook::build_request(&hook, None, &alerts, "batch-8", now_ms).unwrap();
    let error = runtime
        .block_on(webhook::send(&hook, &request, Duration::from_secs(5)))
        .unwrap_err();
    assert!(format!("{error:#}").contains("310000"), "{error:#}");
}

/// Webhooks leave through the SSRF guard: a loopback receiver needs
/// `allow_loopback`, and then only on its own port; redirects are followed
/// by reelguard (307 and 308 only), each hop checked before it is
/// connected to; errors never show the hook's token.
#[test]
fn webhooks_are_guarded_like_the_crawl() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base, captured) = start_receiver(&runtime);
    let alerts = vec![sample_alert("m-1")];
    // Another local service, which nothing may reach.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let other_port = other.local_addr().unwrap().port();
    let send = |url: String, allow_loopback: bool| {
        let hook = WebhookConfig {
            kind: WebhookKind::Json,
            url,
            secret_env: None,
            allow_loopback,
            allow_private: false,
            proxy: None,
        };
        let request = webhook::build_request(&hook, None, &alerts, "batch-9", 0).unwrap();
        runtime
            .block_on(webhook::send(&hook, &request, Duration::from_secs(5)))
            .map_err(|e| format!("{e:#}"))
    };
    let moved = |code: u16, to: &str| {
        format!(
            "{base}/moved/{code}?to={}",
            url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        )
    };
    let port = base.rsplit(':').next().unwrap();

    // Loopback without allow_loopback: refused before connecting.
    let error = send(format!("{base}/json"), false).unwrap_err();
    assert!(error.contains("private, loopback"), "{error}");
    // A 307 to the receiver's own port is followed (the POST repeated).
    let answer = send(moved(307, &format!("http://127.0.0.1:{port}/json")), true).unwrap();
    assert!(answer.starts_with("HTTP 200"), "{answer}");
    // Redirects to other loopback ports and to 0.0.0.0 are refused.
    for target in [
        format!("http://127.0.0.1:{other_port}/admin"),
        format!("http://[::1]:{other_port}/admin"),
        format!("http://[::ffff:127.0.0.1]:{other_port}/admin"),
        format!("http://0.0.0.0:{other_port}/admin"),
        format!("http://2130706433:{other_port}/admin"),
    ] {
        let error = send(moved(307, &target), true).unwrap_err();
        assert!(
            error.contains(&format!("port {port} only")) || error.contains("private, loopback"),
            "{target}: {error}"
        );
    }
    // A 302 (which would turn the POST into a GET) is not followed at all.
    let error = send(moved(302, &format!("http://127.0.0.1:{port}/json")), true).unwrap_err();
    assert!(error.contains("only 307 and 308"), "{error}");
    assert!(
        matches!(other.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the other local service"
    );
    // Only the followed 307 reached the receiver's /json.
    let posted: Vec<String> = captured
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.0.clone())
        .collect();
    assert_eq!(
        posted.iter().filter(|k| *k == "json").count(),
        1,
        "{posted:?}"
    );

    // The token in a hook's path or query never shows in an error.
    let error = send(format!("{base}/down?access_token=SECRETTOKEN"), true).unwrap_err();
    assert!(
        error.contains("refused the alert") && !error.contains("SECRETTOKEN"),
        "{error}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!(
        "http://{}/hook/PATHSECRET?key=KEYSECRET",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let error = send(closed_url, true).unwrap_err();
    assert!(
        error.contains("no answer")
            && !error.contains("PATHSECRET")
            && !error.contains("KEYSECRET"),
        "{error}"
    );
}

/// The SMTP relay is reached through the SSRF guard too: on this machine
/// only with `allow_loopback` (any spelling of loopback is refused before
/// anything connects, naming the setting), and a name is resolved and
/// checked by reelguard, the client connecting to the address checked.
#[test]
fn the_smtp_relay_is_guarded_like_the_crawl() {
    let scratch = scratch_dir();
    let sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    internal.set_nonblocking(true).unwrap();
    let internal_port = internal.local_addr().unwrap().port();
    let letter = email::compose(&[sample_alert("m-guard")], 1024);
    let message = || {
        email::build_message(
            &letter,
            "reelguard <alerts@example.com>",
            "",
            "creator@example.com",
        )
        .unwrap()
    };
    let send = |host: &str, port: u16, allow_loopback: bool| {
        let smtp = SmtpConfig {
            host: host.into(),
            port,
            allow_loopback,
            ..smtp_config(sink.addr)
        };
        sink.runtime
            .block_on(email::send(&smtp, message()))
            .map_err(|e| format!("{e:#}"))
    };

    for host in [
        "127.0.0.1",
        "localhost",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ] {
        let error = send(host, internal_port, false).unwrap_err();
        assert!(
            error.contains("private, loopback") && error.contains("allow_loopback = true"),
            "{host}: {error}"
        );
    }
    assert!(
        matches!(internal.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the refused relay"
    );
    assert!(sink.messages().is_empty());

    // Allowed: `localhost` is resolved and checked here, and its IPv4
    // address (where the sink listens) is used.
    let answer = send("localhost", sink.addr.port(), true).unwrap();
    assert!(answer.starts_with("250 "), "{answer}");
    assert_eq!(sink.messages().len(), 1);
}

// ---------------------------------------------------------------- scans

const UPLOADS: [Upload; 3] = [
    Upload {
        id: "v1",
        title: "Bikes mirrored",
        uploader: "copycat-1",
        channel: "UC",
    },
    Upload {
        id: "d1",
        title: "Ball",
        uploader: "physics",
        channel: "UC",
    },
    Upload {
        id: "v2",
        title: "Bunny letterboxed",
        uploader: "copycat-2",
        channel: "UC",
    },
];

/// The mock platform with two copies and an unrelated clip, once per process.
fn platform() -> Option<&'static String> {
    static BASE: OnceLock<String> = OnceLock::new();
    works()?;
    common::shared_media("balle-jbart.mp4")?;
    Some(BASE.get_or_init(|| {
        let media = common::Footage;
        let dir = common::process_dir("alerts-platform");
        transform(
            &media.path("bikes.mp4"),
            &["-vf", "hflip,scale=480:-2"],
            &dir.join("v1.mp4"),
        );
        transform(
            &media.path("balle-jbart.mp4"),
            &["-t", "4"],
            &dir.join("d1.mp4"),
        );
        transform(
            &media.path("bigbuckbunny.mp4"),
            &["-vf", "scale=640:360,pad=640:480:0:60"],
            &dir.join("v2.mp4"),
        );
        write_catalog(&dir, &UPLOADS);
        start_platform(&dir)
    }))
}

/// What [`setup`] makes: the data dir, the config file and, on PostgreSQL,
/// the test's database.
type Setup = (
    PathBuf,
    PathBuf,
    Option<reelguard::testkit::postgres::TestDatabase>,
);

/// A data dir with the works registered (its database on `backend`), and a
/// config file for the sink. None when the run is on PostgreSQL and those
/// runs are off.
fn setup(
    backend: Backend,
    dir: &Path,
    sink: SocketAddr,
    alerts_extra: &str,
    daemon: &str,
) -> Option<Setup> {
    let base = platform().expect("checked by the caller");
    let data = dir.join("data");
    let db = common::database_for(backend, "alerts", &data)?;
    fresh_data_dir(works().unwrap(), &data);
    let config = dir.join("reelguard.toml");
    // A bundle holds the upload's own file: the letterboxed copy's is about
    // 8 MB, over the default 10 MiB once base64-encoded. Room for it here,
    // as its owner would make for long uploads.
    std::fs::write(
        &config,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nallow_loopback = true\nsecurity = \"none\"\nfrom = \"reelguard <alerts@example.com>\"\ntimeout_s = 10.0\n\n\
             [alerts]\nto = [\"creator@example.com\"]\nretry_base_s = 0.2\ndashboard_url = \"http://dash.example\"\nmax_attachment_bytes = 25000000\n{alerts_extra}\n\n{daemon}\n\
             [[sources]]\nname = \"uploads\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\nallow_loopback = true\nschedule = \"0 0 0 1 1 *\"\n",
            sink.port()
        ),
    )
    .unwrap();
    Some((data, config, db))
}

const HOOK_SECRET: (&str, &str) = ("ALERTS_TEST_HOOK_SECRET", "e2e-secret");

fn rg(data: &Path, config: &Path, args: &[&str]) -> String {
    let mut full = vec!["--data-dir", path_str(data), "--config", path_str(config)];
    full.extend_from_slice(args);
    let (code, stdout, stderr) = run_with_env(&full, &[HOOK_SECRET]);
    assert_eq!(
        code,
        0,
        "reelguard {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        full.join(" ")
    );
    stdout
}

fn stored(
    data: &Path,
) -> (
    Vec<reelguard::store::MatchRecord>,
    Vec<reelguard::store::AlertRecord>,
) {
    with_store(data, async |store| {
        (
            store.list_matches().await.unwrap(),
            store.list_alerts(100).await.unwrap(),
        )
    })
}

/// Each match's id appears in exactly one message, and each message names one match.
fn assert_one_message_per_match(messages: &[Message], matches: &[reelguard::store::MatchRecord]) {
    assert_eq!(messages.len(), matches.len(), "one message per match");
    for m in matches {
        let holding: Vec<&Message> = messages
            .iter()
            .filter(|msg| {
                msg.part_text("text/plain")
                    .contains(&format!("/matches/{}", m.id))
            })
            .collect();
        assert_eq!(
            holding.len(),
            1,
            "match {} is in {} messages",
            m.id,
            holding.len()
        );
        let msg = holding[0];
        let text = msg.part_text("text/plain");
        assert_eq!(msg.header("X-Sink-Rcpt-To"), "creator@example.com");
        assert!(
            msg.header("Subject").contains(&m.work_title),
            "{}",
            msg.header("Subject")
        );
        for expected in [
            m.candidate_url.as_str(),
            &format!("Uploader:  {}", m.uploader),
            &format!("上传者：{}", m.uploader),
            &format!("Score:     {:.2}", m.score),
            "Copied:    upload ",
            "转载片段：转载视频 ",
        ] {
            assert!(text.contains(expected), "no {expected:?} in:\n{text}");
        }
    }
}

/// Each message shows the captured frame pair inline and carries the
/// evidence bundle of its match: the file exported to the data dir, holding
/// the capture and its manifest.
fn assert_evidence_attached(
    messages: &[Message],
    matches: &[reelguard::store::MatchRecord],
    data: &Path,
) {
    for m in matches {
        let msg = messages
            .iter()
            .find(|msg| {
                msg.part_text("text/plain")
                    .contains(&format!("/matches/{}", m.id))
            })
            .unwrap_or_else(|| panic!("no message for match {}", m.id));
        let leaves = msg.leaves();
        assert!(
            leaves
                .iter()
                .any(|(mime, cid, _, _)| mime == "image/png" && cid == "<frame-1@reelguard>"),
            "no inline frame pair for match {}",
            m.id
        );
        let name = format!("evidence-{}.zip", m.id);
        let (_, _, disposition, bytes) = leaves
            .iter()
            .find(|(mime, _, _, _)| mime == "application/zip")
            .unwrap_or_else(|| {
                panic!(
                    "no bundle attached for match {}:\n{}",
                    m.id,
                    msg.part_text("text/plain")
                )
            });
        assert!(disposition.contains(&name), "{disposition}");
        assert_eq!(
            bytes,
            &std::fs::read(data.join("alerts").join(&name)).unwrap(),
            "the attachment is the exported bundle"
        );
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).expect("a zip");
        for inner in ["capture/manifest.json", "SHA256SUMS", "frames/pair-1.png"] {
            assert!(zip.by_name(inner).is_ok(), "no {inner} in {name}");
        }
    }
}

on_both_backends!(each_match_is_emailed_once_and_a_second_scan_sends_nothing);

fn each_match_is_emailed_once_and_a_second_scan_sends_nothing(backend: Backend) {
    if platform().is_none() {
        return;
    }
    let scratch = scratch_dir();
    let sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    let (hook_base, captured) = start_receiver(&sink.runtime);
    let hook = format!(
        "[[alerts.webhooks]]\nkind = \"json\"\nurl = \"{hook_base}/json\"\nallow_loopback = true\nsecret_env = \"{}\"",
        HOOK_SECRET.0
    );
    let Some((data, config, _db)) = setup(backend, scratch.path(), sink.addr, &hook, "") else {
        return;
    };
    let out = rg(&data, &config, &["scan"]);
    assert!(out.contains("alerts: 4 sent"), "{out}");
    let (matches, alerts) = stored(&data);
    assert_eq!(matches.len(), 2, "{matches:?}");
    assert_one_message_per_match(&sink.messages(), &matches);
    assert_evidence_attached(&sink.messages(), &matches, &data);
    assert_eq!(alerts.len(), 4, "an email and a webhook per match");
    for a in &alerts {
        assert_eq!(a.state, AlertState::Delivered, "{a:?}");
        assert_eq!(a.attempts, 1);
        let answer = a.server_response.as_deref().unwrap();
        match a.channel.as_str() {
            "email" => assert!(answer.starts_with("250 "), "{a:?}"),
            _ => assert_eq!(answer, "HTTP 200: ok", "{a:?}"),
        }
    }
    // The webhook got each match once, signed, with distinct idempotency keys.
    let posts = captured.lock().unwrap().clone();
    assert_eq!(posts.len(), 2);
    let mut keys = Vec::new();
    for (_, _, headers, body) in &posts {
        let timestamp = headers["x-reelguard-timestamp"].to_str().unwrap();
        let mut signed = format!("{timestamp}.").into_bytes();
        signed.extend_from_slice(body);
        let expected = format!(
            "sha256={}",
            hex::encode(hmac(HOOK_SECRET.1.as_bytes(), &signed))
        );
        assert_eq!(headers["x-reelguard-signature"].to_str().unwrap(), expected);
        keys.push(headers["idempotency-key"].to_str().unwrap().to_string());
        let json: Value = serde_json::from_slice(body).unwrap();
        let id = json["matches"][0]["match_id"].as_str().unwrap();
        assert!(matches.iter().any(|m| m.id == id), "{json}");
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2);

    rg(&data, &config, &["scan"]);
    rg(&data, &config, &["alerts", "send"]);
    assert_eq!(sink.messages().len(), 2, "nothing more after a second scan");
    assert_eq!(captured.lock().unwrap().len(), 2);
    let listed: Value =
        serde_json::from_str(&rg(&data, &config, &["alerts", "list", "--json"])).unwrap();
    assert_eq!(listed["alerts"].as_array().unwrap().len(), 4);
    assert_eq!(listed["alerts"][0]["state"], "delivered");
}

on_both_backends!(a_digest_gathers_the_matches_in_one_message);

fn a_digest_gathers_the_matches_in_one_message(backend: Backend) {
    if platform().is_none() {
        return;
    }
    let scratch = scratch_dir();
    let sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    // Digests at 09:00 Shanghai time on 1 January: not during this test.
    let Some((data, config, _db)) = setup(
        backend,
        scratch.path(),
        sink.addr,
        "digest = \"0 0 9 1 1 *\"\ntimezone = \"Asia/Shanghai\"",
        "",
    ) else {
        return;
    };
    rg(&data, &config, &["scan"]);
    rg(&data, &config, &["alerts", "send"]);
    assert!(sink.messages().is_empty(), "the digest is not due yet");
    let (matches, alerts) = stored(&data);
    assert_eq!(matches.len(), 2);
    assert_eq!(alerts.len(), 2);
    assert!(alerts
        .iter()
        .all(|a| a.state == AlertState::Queued && a.batch == alerts[0].batch));
    assert!(
        reelguard::clock::stored(alerts[0].due_at).ends_with("-01-01T01:00:00.000Z"),
        "{}",
        alerts[0].due_at
    );

    let out = rg(&data, &config, &["alerts", "send", "--flush-digests"]);
    assert!(out.contains("1 sent"), "{out}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "one digest");
    let text = messages[0].part_text("text/plain");
    assert!(
        messages[0].header("Subject").contains("2 re-uploads"),
        "{}",
        messages[0].header("Subject")
    );
    assert!(text.contains("发现了您的作品的 2 条转载"), "{text}");
    for m in &matches {
        assert!(
            text.contains(&m.candidate_url) && text.contains(&m.work_title),
            "{text}"
        );
    }
    let (_, alerts) = stored(&data);
    assert!(
        alerts.iter().all(|a| a.state == AlertState::Delivered),
        "{alerts:?}"
    );
    rg(&data, &config, &["alerts", "send", "--flush-digests"]);
    assert_eq!(sink.messages().len(), 1);
}

on_both_backends!(refused_then_down_smtp_keeps_alerts_queued_until_it_is_back);

fn refused_then_down_smtp_keeps_alerts_queued_until_it_is_back(backend: Backend) {
    if platform().is_none() {
        return;
    }
    let scratch = scratch_dir();
    let mut sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    let Some((data, config, _db)) = setup(backend, scratch.path(), sink.addr, "", "") else {
        return;
    };
    sink.sink().set_refusal(Some("451 4.3.0 Try again later"));
    let out = rg(&data, &config, &["scan"]);
    assert!(out.contains("2 waiting for a retry"), "{out}");
    let (_, alerts) = stored(&data);
    assert_eq!(alerts.len(), 2);
    for a in &alerts {
        assert_eq!(a.state, AlertState::Queued);
        assert!(
            a.last_error
                .as_deref()
                .unwrap()
                .contains("4.3.0 Try again later"),
            "{a:?}"
        );
    }

    sink.stop();
    std::thread::sleep(Duration::from_millis(500));
    rg(&data, &config, &["alerts", "send"]);
    let (_, alerts) = stored(&data);
    for a in &alerts {
        assert_eq!(a.state, AlertState::Queued);
        assert_eq!(a.attempts, 2);
        assert!(
            // (not just "451": the sink's port may hold those digits)
            !a.last_error
                .as_deref()
                .unwrap()
                .contains("4.3.0 Try again later"),
            "a new error: {a:?}"
        );
    }
    let listed = rg(&data, &config, &["alerts", "list"]);
    assert!(listed.contains("last error: attempt 2"), "{listed}");

    sink.restart();
    std::thread::sleep(Duration::from_millis(900)); // the second backoff: 0.4 s
    rg(&data, &config, &["alerts", "send"]);
    let (matches, alerts) = stored(&data);
    assert!(
        alerts
            .iter()
            .all(|a| a.state == AlertState::Delivered && a.attempts == 3),
        "{alerts:?}"
    );
    assert_one_message_per_match(&sink.messages(), &matches);
}

// ---------------------------------------------------------------- daemon

fn wait_until(limit: Duration, what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            panic!(
                "timed out waiting for {what}\nlog:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

on_both_backends!(daemon_killed_mid_send_delivers_each_alert_once_after_restart);

fn daemon_killed_mid_send_delivers_each_alert_once_after_restart(backend: Backend) {
    if platform().is_none() {
        return;
    }
    let scratch = scratch_dir();
    let sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    let Some((data, config, _db)) = setup(
        backend,
        scratch.path(),
        sink.addr,
        "",
        "[daemon]\nworkers = 1\n",
    ) else {
        return;
    };
    let log = scratch.path().join("daemon.log");
    let limit = Duration::from_secs(180);
    // The server takes 3 s to answer a message: kill the daemon meanwhile.
    sink.sink().set_data_delay(Duration::from_secs(3));
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_until(limit, "a message being sent", &log, || {
        sink.sink().bodies_received() >= 1
    });
    daemon.kill().unwrap(); // SIGKILL
    daemon.wait().unwrap();
    let (_, alerts) = stored(&data);
    assert!(
        alerts.iter().any(|a| a.state == AlertState::Sending),
        "killed mid-send: {alerts:?}"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        sink.messages().is_empty(),
        "the server never answered, so it kept nothing"
    );

    sink.sink().set_data_delay(Duration::ZERO);
    let mut daemon = common::start_daemon(&data, &config, &log);
    wait_until(limit, "every alert delivered", &log, || {
        let (matches, alerts) = stored(&data);
        let candidates = with_store(&data, async |s| s.list_candidates().await.unwrap());
        candidates.len() == UPLOADS.len()
            && candidates.iter().all(|c| c.status == CandidateStatus::Done)
            && matches.len() == 2
            && alerts.len() == 2
            && alerts.iter().all(|a| a.state == AlertState::Delivered)
    });
    // Give a duplicate every chance to show up before stopping.
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    let (matches, alerts) = stored(&data);
    assert_one_message_per_match(&sink.messages(), &matches);
    // The alerts waited for the captures that ran beside them.
    assert_evidence_attached(&sink.messages(), &matches, &data);
    assert!(
        alerts.iter().any(|a| a.attempts == 2),
        "the interrupted alert was sent again: {alerts:?}"
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("alerts of a process that stopped mid-send are queued again"),
        "{log_text}"
    );
}

on_both_backends!(alerts_that_used_up_their_attempts_go_out_after_retry_failed);

fn alerts_that_used_up_their_attempts_go_out_after_retry_failed(backend: Backend) {
    if platform().is_none() {
        return;
    }
    let scratch = scratch_dir();
    let sink = Sink::start("127.0.0.1:0", &scratch.path().join("sink"), None);
    let Some((data, config, _db)) =
        setup(backend, scratch.path(), sink.addr, "max_attempts = 1", "")
    else {
        return;
    };
    sink.sink()
        .set_refusal(Some("554 5.7.1 Relay access denied"));
    let out = rg(&data, &config, &["scan"]);
    assert!(out.contains("2 failed"), "{out}");
    rg(&data, &config, &["alerts", "send"]);
    let (_, alerts) = stored(&data);
    for a in &alerts {
        assert_eq!(a.state, AlertState::Failed, "{a:?}");
        assert!(a.last_error.as_deref().unwrap().contains("554"), "{a:?}");
    }
    assert!(sink.messages().is_empty());

    sink.sink().set_refusal(None);
    let out = rg(&data, &config, &["alerts", "send", "--retry-failed"]);
    assert!(out.contains("2 sent"), "{out}");
    let (matches, alerts) = stored(&data);
    assert!(
        alerts.iter().all(|a| a.state == AlertState::Delivered),
        "{alerts:?}"
    );
    assert_one_message_per_match(&sink.messages(), &matches);
}

/// A webhook with a `proxy` is posted through it (with its password), never
/// straight to the receiver; the receiver's name is left to the proxy.
#[test]
fn webhooks_go_through_their_proxy() {
    use std::io::{BufRead, BufReader, Read, Write};
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (stream, _) = proxy.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let length: usize = head
            .iter()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .unwrap();
        head
    });
    let hook = WebhookConfig {
        kind: WebhookKind::Json,
        // A name only the proxy resolves: nothing here connects to it.
        url: "http://hooks.example/reelguard".into(),
        secret_env: None,
        allow_loopback: false,
        allow_private: false,
        proxy: Some(format!("http://relay:pw@127.0.0.1:{port}")),
    };
    let alerts = vec![sample_alert("m-proxy")];
    let request = webhook::build_request(&hook, None, &alerts, "batch-proxy", 0).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(webhook::send(&hook, &request, Duration::from_secs(5)))
        .unwrap();
    let head = seen.join().unwrap();
    assert_eq!(
        head[0], "POST http://hooks.example/reelguard HTTP/1.1",
        "{head:?}"
    );
    assert!(
        head.iter()
            .any(|l| l.eq_ignore_ascii_case("proxy-authorization: Basic cmVsYXk6cHc=")),
        "{head:?}"
    );
    assert!(!format!("{hook:?}").contains("pw@"), "{hook:?}");
}
