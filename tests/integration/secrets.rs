//! No configured secret is ever printed, logged or written into evidence.
//!
//! One end-to-end run with every kind of secret set to a distinctive value:
//! the SMTP login's password, a JSON webhook's and a DingTalk robot's
//! signing secrets, a Slack-style token in a webhook's path and a
//! DingTalk-style `access_token` in another's query, a webhook proxy's and
//! the sources' proxy's `user:password`, and a YouTube API key. The daemon
//! runs with `-vv` (debug logging of everything) against the mock platform:
//! it scans (a feed and a YouTube search, both through a recording proxy on
//! 127.0.0.1), matches, captures evidence (Chromium through the proxy too),
//! timestamps it and alerts by email and three webhooks (each receiver
//! refuses its first post, so errors naming the hooks are recorded). A
//! source whose proxy is down fails its scans. Then `alerts list`,
//! `sources list`, `sources test`, `scans list`, `matches list|show`,
//! `alerts test`, `evidence export`, `verify`, and commands that fail on a
//! dead source's proxy and on malformed webhooks, all with `-vv`.
//!
//! Every log line, every command's stdout and stderr, every file under the
//! data dir except the database files, and every member of every zip is
//! searched for each secret as it is, URL-encoded, base64-encoded and in
//! the base64 forms of HTTP Basic auth and SMTP AUTH PLAIN. The test also
//! checks the secrets were used: the proxies saw the Basic credentials and
//! the key, the receivers got the tokened URLs and valid signatures, and
//! the SMTP sink, which requires the login, stored the alert email.
//!
//! Compressed streams inside PDFs are not inflated: the report's text is
//! also in the bundle's report.html, which is searched. Runs on SQLite only:
//! nothing that could hold a secret differs with the backend outside the
//! database, which is not searched. Skips (with a note) when
//! ../shared/media is missing.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::Mac as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::platform::{fresh_data_dir, start_platform, with_store, works, write_catalog, Upload};
use common::{lavfi_clip, path_str, run_with_env, scratch_dir, transform, TsaServer};
use reelguard::domain::AlertState;
use reelguard::testkit::smtp_sink::{SinkTls, SmtpSink};

const SMTP_USER: &str = "alerts";
const SMTP_PASSWORD: (&str, &str) = ("SECRETS_TEST_SMTP_PASSWORD", "SeCrEt-smtp-3141");
const JSON_HOOK_SECRET: (&str, &str) = ("SECRETS_TEST_HOOK_SECRET", "SeCrEt-hook-1414");
const DING_SIGN_SECRET: (&str, &str) = ("SECRETS_TEST_DING_SECRET", "SeCrEt-dingsign-2645");
const YOUTUBE_KEY: (&str, &str) = ("SECRETS_TEST_YOUTUBE_KEY", "SeCrEt-ytkey-1618");
const SLACK_TOKEN: &str = "SeCrEt-slack-2236";
const DING_TOKEN: &str = "SeCrEt-ding-1732";
const PROXY_USER: &str = "crawler";
const PROXY_PASSWORD: &str = "SeCrEt-proxy-2718";
const HOOK_PROXY_USER: &str = "relay";
const HOOK_PROXY_PASSWORD: &str = "SeCrEt-hookproxy-5772";

/// The environment every command gets: the secrets kept there.
const ENV: [(&str, &str); 4] = [
    SMTP_PASSWORD,
    JSON_HOOK_SECRET,
    DING_SIGN_SECRET,
    YOUTUBE_KEY,
];

const UPLOADS: [Upload; 2] = [
    Upload {
        id: "v1",
        title: "Bikes mirrored",
        uploader: "copycat-1",
        channel: "UC-S",
    },
    Upload {
        id: "d1",
        title: "Test pattern",
        uploader: "someone",
        channel: "UC-S",
    },
];

/// Each secret with the user it goes with, if any.
fn secrets() -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        (SMTP_PASSWORD.1, Some(SMTP_USER)),
        (JSON_HOOK_SECRET.1, None),
        (DING_SIGN_SECRET.1, None),
        (YOUTUBE_KEY.1, None),
        (SLACK_TOKEN, None),
        (DING_TOKEN, None),
        (PROXY_PASSWORD, Some(PROXY_USER)),
        (HOOK_PROXY_PASSWORD, Some(HOOK_PROXY_USER)),
    ]
}

/// Every form a secret could be written in: as it is, URL-encoded,
/// base64, and (with its user) HTTP Basic and SMTP AUTH PLAIN credentials.
fn forms(secret: &str, user: Option<&str>) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut forms = vec![
        secret.to_string(),
        secret.to_ascii_lowercase(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        b64.encode(secret),
    ];
    if let Some(user) = user {
        forms.push(b64.encode(format!("{user}:{secret}")));
        forms.push(b64.encode(format!("\0{user}\0{secret}")));
    }
    forms
}

/// The secrets (in any of their forms) found in `bytes`.
fn leaks(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (secret, user) in secrets() {
        for form in forms(secret, user) {
            if bytes
                .windows(form.len())
                .any(|window| window == form.as_bytes())
            {
                found.push(form);
            }
        }
    }
    found
}

/// Everything searched, by where it came from.
#[derive(Default)]
struct Haystack {
    items: Vec<(String, Vec<u8>)>,
}

impl Haystack {
    fn add(&mut self, what: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.items.push((what.into(), bytes.into()));
    }

    /// Every file under `dir` (but the database's), and the members of zips.
    fn add_tree(&mut self, dir: &Path) {
        for entry in std::fs::read_dir(dir).expect("list a directory") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                self.add_tree(&path);
            } else if !name.starts_with("reelguard.db") {
                self.add_file(&path);
            }
        }
    }

    fn add_file(&mut self, path: &Path) {
        let bytes = std::fs::read(path).expect("read a file");
        if path.extension().is_some_and(|e| e == "zip") {
            let members = reelguard::provenance::package::read_zip(path)
                .unwrap_or_else(|e| panic!("read {}: {e:#}", path.display()));
            for (name, member) in members {
                self.add(format!("{} member {name}", path.display()), member);
            }
        }
        self.add(path.display().to_string(), bytes);
    }

    /// (where, the forms found there) for every place holding a secret.
    fn leaks(&self) -> Vec<(String, Vec<String>)> {
        self.items
            .iter()
            .filter_map(|(what, bytes)| {
                let found = leaks(bytes);
                (!found.is_empty()).then(|| (what.clone(), found))
            })
            .collect()
    }
}

/// A plain HTTP proxy on 127.0.0.1 that records each request head and
/// sends it on, as it is, to `target`.
fn recording_proxy(
    runtime: &tokio::runtime::Runtime,
    target: std::net::SocketAddr,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = heads.clone();
    runtime.spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let heads = recorded.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                heads
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                if server.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (addr, heads)
}

/// A post a webhook receiver got: (path, query, headers, body).
type Post = (String, String, axum::http::HeaderMap, Vec<u8>);

/// A webhook receiver on 127.0.0.1 answering any POST as its kind (the
/// path's first segment) expects; the first post to each kind is answered
/// 503, so each hook's delivery fails once.
fn start_receiver(
    runtime: &tokio::runtime::Runtime,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<Post>>>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/{*path}",
            axum::routing::post(
                async |axum::extract::State(posts): axum::extract::State<Arc<Mutex<Vec<Post>>>>,
                       uri: Uri,
                       headers: HeaderMap,
                       body: axum::body::Bytes| {
                    let path = uri.path().to_string();
                    let kind = path.split('/').nth(1).unwrap_or_default().to_string();
                    let mut posts = posts.lock().unwrap();
                    let first = !posts
                        .iter()
                        .any(|(p, ..)| p.split('/').nth(1) == Some(kind.as_str()));
                    posts.push((
                        path,
                        uri.query().unwrap_or_default().to_string(),
                        headers,
                        body.to_vec(),
                    ));
                    if first {
                        return (StatusCode::SERVICE_UNAVAILABLE, "busy".to_string());
                    }
                    let answer = match kind.as_str() {
                        "robot" => r#"{"errcode":0,"errmsg":"ok"}"#,
                        _ => "ok",
                    };
                    (StatusCode::OK, answer.to_string())
                },
            ),
        )
        .with_state(posts.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    (addr, posts)
}

/// `reelguard -vv --data-dir DATA --config CONFIG ARGS` with the secrets
/// in its environment: (exit code, stdout, stderr).
fn rg(data: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let mut full = vec![
        "-vv",
        "--data-dir",
        path_str(data),
        "--config",
        path_str(config),
    ];
    full.extend_from_slice(args);
    run_with_env(&full, &ENV)
}

/// [`rg`], which must succeed; its output is added to `hay`.
fn rg_ok(hay: &mut Haystack, data: &Path, config: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = rg(data, config, args);
    assert_eq!(
        code,
        0,
        "reelguard {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.join(" ")
    );
    hay.add(format!("stdout of {}", args.join(" ")), stdout.clone());
    hay.add(format!("stderr of {}", args.join(" ")), stderr);
    stdout
}

/// [`rg`], which must fail; its output is added to `hay`. Returns stderr.
fn rg_fails(hay: &mut Haystack, data: &Path, config: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = rg(data, config, args);
    assert_ne!(
        code,
        0,
        "reelguard {} should fail\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.join(" ")
    );
    hay.add(format!("stdout of {}", args.join(" ")), stdout);
    hay.add(format!("stderr of {}", args.join(" ")), stderr.clone());
    stderr
}

/// Starts `reelguard -vv daemon` with the secrets in its environment; its
/// stderr (the log) goes to `log`.
fn start_daemon(data: &Path, config: &Path, log: &Path) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelguard"));
    match common::database_url_of(data) {
        Some(url) => command.env("REELGUARD_DATABASE_URL", url),
        None => command.env_remove("REELGUARD_DATABASE_URL"),
    };
    command
        .args([
            "-vv",
            "--data-dir",
            path_str(data),
            "--config",
            path_str(config),
            "daemon",
        ])
        .envs(ENV)
        .env("REELGUARD_HTTP_LISTEN", "127.0.0.1:0")
        .env_remove("REELGUARD_LOG")
        .env_remove("REELGUARD_DATA_DIR")
        .env_remove("REELGUARD_CONFIG")
        .env("XDG_CONFIG_HOME", common::no_user_config())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log.with_extension("stdout")).unwrap())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the daemon")
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn no_secret_is_printed_logged_or_written_into_evidence() {
    let Some(works) = works() else { return };
    let media = common::Footage;
    let scratch = scratch_dir();
    let dir = scratch.path();

    // The platform: a mirrored copy of Bikes and an unrelated clip.
    let platform = dir.join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    transform(
        &media.path("bikes.mp4"),
        &["-vf", "hflip,scale=320:-2"],
        &platform.join("v1.mp4"),
    );
    lavfi_clip(
        "testsrc2=size=160x90:rate=10",
        2.0,
        &platform.join("d1.mp4"),
    );
    write_catalog(&platform, &UPLOADS);
    let base = start_platform(&platform);
    let platform_addr: std::net::SocketAddr =
        base.strip_prefix("http://").unwrap().parse().unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (proxy, proxy_heads) = recording_proxy(&runtime, platform_addr);
    let (receiver, posts) = start_receiver(&runtime);
    let (hook_proxy, hook_proxy_heads) = recording_proxy(&runtime, receiver);
    let sink = runtime
        .block_on(SmtpSink::start(
            "127.0.0.1:0".parse().unwrap(),
            &dir.join("sink"),
            Some((SMTP_USER.to_string(), SMTP_PASSWORD.1.to_string())),
            SinkTls::None,
        ))
        .expect("start the SMTP sink");
    let tsa = TsaServer::start("127.0.0.1:0");

    let data = dir.join("data");
    fresh_data_dir(works, &data);
    let config = common::timestamp_config(dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);
    let source_proxy = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy}");
    let dead_proxy = format!(
        "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
        closed_port()
    );
    let dead_api = format!("http://127.0.0.1:{}/youtube/v3", closed_port());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"none\"\nallow_loopback = true\nusername = \"{SMTP_USER}\"\n\
         password_env = \"{smtp_env}\"\nfrom = \"reelguard <alerts@example.com>\"\ntimeout_s = 10.0\n\n\
         [alerts]\nto = [\"creator@example.com\"]\nretry_base_s = 0.2\nretry_max_s = 1.0\n\
         dashboard_url = \"http://dash.example\"\nmax_attachment_bytes = 25000000\n\n\
         [[alerts.webhooks]]\nkind = \"json\"\nurl = \"http://{receiver}/json/hook\"\nallow_loopback = true\n\
         secret_env = \"{json_env}\"\n\n\
         [[alerts.webhooks]]\nkind = \"slack\"\nurl = \"http://{receiver}/services/T0SECRETS/B0SECRETS/{SLACK_TOKEN}\"\n\
         allow_loopback = true\nproxy = \"http://{HOOK_PROXY_USER}:{HOOK_PROXY_PASSWORD}@{hook_proxy}\"\n\n\
         [[alerts.webhooks]]\nkind = \"dingtalk\"\nurl = \"http://{receiver}/robot/send?access_token={DING_TOKEN}\"\n\
         allow_loopback = true\nsecret_env = \"{ding_env}\"\n\n\
         [[sources]]\nname = \"feed\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml?channel=UC-S\"\n\
         allow_loopback = true\nschedule = \"0 0 0 1 1 *\"\nproxy = \"{source_proxy}\"\n\n\
         [[sources]]\nname = \"search\"\nkind = \"youtube-search\"\nurl = \"{base}/youtube/v3\"\n\
         video_url_base = \"{base}/watch?v=\"\napi_key_env = \"{yt_env}\"\nallow_loopback = true\n\
         schedule = \"0 0 0 1 1 *\"\nproxy = \"{source_proxy}\"\n\n\
         [[sources]]\nname = \"dead\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\nallow_loopback = true\n\
         schedule = \"0 0 0 1 1 *\"\nproxy = \"{dead_proxy}\"\nretries = 0\n\n\
         [[sources]]\nname = \"search-dead\"\nkind = \"youtube-search\"\nurl = \"{dead_api}\"\n\
         api_key_env = \"{yt_env}\"\nallow_loopback = true\nschedule = \"0 0 0 1 1 *\"\nretries = 0\n",
        smtp = sink.addr.port(),
        smtp_env = SMTP_PASSWORD.0,
        json_env = JSON_HOOK_SECRET.0,
        ding_env = DING_SIGN_SECRET.0,
        yt_env = YOUTUBE_KEY.0,
    ));
    std::fs::write(&config, text).unwrap();

    // The daemon scans, matches, captures and alerts.
    let log = dir.join("daemon.log");
    let mut daemon = start_daemon(&data, &config, &log);
    let started = Instant::now();
    loop {
        let (states, alerts) = with_store(&data, async |store| {
            (
                store.job_states().await.unwrap(),
                store.list_alerts(100).await.unwrap(),
            )
        });
        let busy = states.keys().any(|s| {
            matches!(
                s,
                reelguard::domain::JobState::Queued | reelguard::domain::JobState::Running
            )
        });
        if !busy && alerts.len() == 4 && alerts.iter().all(|a| a.state == AlertState::Delivered) {
            break;
        }
        let failed: Vec<_> = alerts
            .iter()
            .filter(|a| a.state == AlertState::Failed)
            .collect();
        assert!(failed.is_empty(), "alerts failed: {failed:#?}");
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the daemon did not finish: jobs {states:?}, alerts {alerts:#?}\nlog:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = common::sigterm_and_wait(&mut daemon, Duration::from_secs(60));
    assert!(status.success(), "SIGTERM: {status:?}");

    let mut hay = Haystack::default();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("DEBUG"),
        "the daemon did not log at debug level:\n{log_text}"
    );
    // The failures the test counts on happened, and were logged.
    assert!(
        log_text.contains("source dead") && log_text.contains("source search-dead"),
        "no word of the dead sources:\n{log_text}"
    );
    assert!(
        log_text.contains("key=***"),
        "the dead API's error does not show its (redacted) URL:\n{log_text}"
    );
    hay.add("daemon log", log_text);
    hay.add_file(&log.with_extension("stdout"));

    // The listings, the bundle and its verification.
    let matches: serde_json::Value = serde_json::from_str(&rg_ok(
        &mut hay,
        &data,
        &config,
        &["matches", "list", "--json"],
    ))
    .unwrap();
    let matches = matches["matches"].as_array().unwrap().clone();
    assert_eq!(matches.len(), 1, "{matches:?}");
    let id = matches[0]["id"].as_str().unwrap().to_string();
    let show: serde_json::Value = serde_json::from_str(&rg_ok(
        &mut hay,
        &data,
        &config,
        &["matches", "show", &id, "--json"],
    ))
    .unwrap();
    assert_eq!(show["capture"]["state"], "done", "{show}");
    for args in [
        &["matches", "list"][..],
        &["matches", "show", &id],
        &["alerts", "list"],
        &["alerts", "list", "--json"],
        &["sources", "list"],
        &["sources", "list", "--json"],
        &["sources", "test", "feed", "--json"],
        &["sources", "test", "search", "--json"],
        &["scans", "list"],
        &["scans", "list", "--json"],
        &["alerts", "test"],
    ] {
        rg_ok(&mut hay, &data, &config, args);
    }
    let bundle = dir.join("bundles").join("claim.zip");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    rg_ok(
        &mut hay,
        &data,
        &config,
        &["evidence", "export", &id, "-o", path_str(&bundle), "--json"],
    );
    let verified = rg_ok(&mut hay, &data, &config, &["verify", path_str(&bundle)]);
    assert!(verified.contains("checks passed"), "{verified}");
    hay.add_file(&bundle);

    // Failing commands whose errors name a source or a webhook.
    let error = rg_fails(&mut hay, &data, &config, &["sources", "test", "dead"]);
    assert!(
        error.contains("127.0.0.1"),
        "the error names the proxy: {error}"
    );
    let (_, stdout, stderr) = rg(&data, &config, &["scan", "dead"]);
    assert!(
        format!("{stdout}{stderr}").contains("127.0.0.1"),
        "the scan's error names the proxy:\n{stdout}\n{stderr}"
    );
    hay.add("stdout of scan dead", stdout);
    hay.add("stderr of scan dead", stderr);
    let good = std::fs::read_to_string(&config).unwrap();
    for (what, from, to) in [
        (
            "a Slack hook that is not http(s)",
            format!("url = \"http://{receiver}/services/"),
            format!("url = \"ftp://{receiver}/services/"),
        ),
        (
            "a hook proxy of an unknown scheme",
            format!("proxy = \"http://{HOOK_PROXY_USER}:"),
            format!("proxy = \"gopher://{HOOK_PROXY_USER}:"),
        ),
        (
            "a TOML error on the line of a Slack hook",
            format!("/{SLACK_TOKEN}\"\n"),
            format!("/{SLACK_TOKEN}\" oops\n"),
        ),
        (
            "a TOML error on the line of a DingTalk hook",
            format!("url = \"http://{receiver}/robot/send?access_token={DING_TOKEN}\""),
            format!("url = [\"http://{receiver}/robot/send?access_token={DING_TOKEN}\"]"),
        ),
        (
            "a TOML error on the line of a source proxy",
            format!("proxy = \"{source_proxy}\""),
            format!("proxy = \"{source_proxy}\" \"{source_proxy}\""),
        ),
        (
            "a source proxy of an unknown scheme",
            "proxy = \"http://crawler:".to_string(),
            "proxy = \"gopher://crawler:".to_string(),
        ),
    ] {
        assert!(good.contains(&from), "{what}: no {from:?} in the config");
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, good.replacen(&from, &to, 1)).unwrap();
        rg_fails(&mut hay, &data, &bad, &["alerts", "list"]);
        rg_fails(&mut hay, &data, &bad, &["sources", "list"]);
    }

    // Every file of the data dir (the database's aside), bundles included.
    hay.add_tree(&data);
    let leaked = hay.leaks();
    assert!(
        leaked.is_empty(),
        "secrets leaked into {} places:\n{}",
        leaked.len(),
        leaked
            .iter()
            .map(|(what, forms)| format!("  {what}: {forms:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The searched places are the ones that matter: the alert bundle and
    // the capture's files are among them.
    let searched: Vec<&str> = hay.items.iter().map(|(what, _)| what.as_str()).collect();
    for expected in ["fetch.json", "evidence-", "report.html", "daemon log"] {
        assert!(
            searched.iter().any(|w| w.contains(expected)),
            "nothing named {expected} was searched: {searched:#?}"
        );
    }

    // The secrets were used.
    let b64 = base64::engine::general_purpose::STANDARD;
    let heads = proxy_heads.lock().unwrap().clone();
    let basic = format!(
        "proxy-authorization: basic {}",
        b64.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"))
    )
    .to_ascii_lowercase();
    let authorized =
        |head: &String, basic: &str| head.lines().any(|l| l.to_ascii_lowercase() == basic);
    assert!(
        heads.iter().any(|h| h.contains("/feeds/rss.xml"))
            && heads.iter().all(|h| authorized(h, &basic)),
        "the sources' proxy saw requests without its credentials: {heads:#?}"
    );
    assert!(
        heads
            .iter()
            .any(|h| h.contains("/youtube/v3/search?")
                && h.contains(&format!("key={}", YOUTUBE_KEY.1))),
        "the API key was never sent: {heads:#?}"
    );
    let hook_heads = hook_proxy_heads.lock().unwrap().clone();
    let hook_basic = format!(
        "proxy-authorization: basic {}",
        b64.encode(format!("{HOOK_PROXY_USER}:{HOOK_PROXY_PASSWORD}"))
    )
    .to_ascii_lowercase();
    assert!(
        !hook_heads.is_empty() && hook_heads.iter().all(|h| authorized(h, &hook_basic)),
        "the hook's proxy: {hook_heads:#?}"
    );
    let posts = posts.lock().unwrap().clone();
    let of = |kind: &str| -> Vec<&Post> {
        posts
            .iter()
            .filter(|(path, ..)| path.split('/').nth(1) == Some(kind))
            .collect()
    };
    assert_eq!(
        of("services").len(),
        2,
        "the Slack hook, refused once: {posts:?}"
    );
    assert!(of("services")
        .iter()
        .all(|(path, ..)| path.ends_with(&format!("/{SLACK_TOKEN}"))));
    for (_, _, headers, body) in of("json") {
        let timestamp = headers["x-reelguard-timestamp"].to_str().unwrap();
        let mut signed = format!("{timestamp}.").into_bytes();
        signed.extend_from_slice(body);
        let expected = format!(
            "sha256={}",
            hex::encode(hmac_sha256(JSON_HOOK_SECRET.1.as_bytes(), &signed))
        );
        assert_eq!(headers["x-reelguard-signature"].to_str().unwrap(), expected);
    }
    assert_eq!(of("json").len(), 2, "{posts:?}");
    assert_eq!(of("robot").len(), 2, "{posts:?}");
    for (_, query, ..) in of("robot") {
        let pairs: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs["access_token"], DING_TOKEN);
        let expected = b64.encode(hmac_sha256(
            DING_SIGN_SECRET.1.as_bytes(),
            format!("{}\n{}", pairs["timestamp"], DING_SIGN_SECRET.1).as_bytes(),
        ));
        assert_eq!(pairs["sign"], expected);
    }
    // The sink takes mail only after the login: the alert and the test email.
    let stored = reelguard::testkit::smtp_sink::stored_messages(sink.dir());
    assert_eq!(stored.len(), 2, "{stored:?}");
    eprintln!(
        "secrets: searched {} places, {} bytes in all",
        hay.items.len(),
        hay.items.iter().map(|(_, b)| b.len()).sum::<usize>()
    );
}
