//! `reelguard scan` against a hostile server on 127.0.0.1: each attack is a
//! source of its own, scanned by the real binary under GNU time. Each must
//! be refused with an error that says what happened, within a bounded
//! resident set, without a connection to the internal service beside it,
//! and without a byte written outside the data directory (the scan runs
//! with its working directory, HOME and TMPDIR in empty directories that
//! must stay empty). The attacks the zip verifier meets are in
//! `hostile_zip`; the browser's in `capture_guard`.

use crate::common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{stream, StreamExt};
use serde_json::Value;

use common::{path_str, scratch_dir, Backend};

/// Peak resident set any hostile scan may reach: 256 MiB. A scan refused
/// at once peaks near 50 MiB (the FFmpeg libraries, the runtime, the
/// index); the largest honest cost is a listing just under the 16 MiB
/// document limit holding 100,000 tiny items, parsed whole before the
/// first 1,000 are kept (about 165 MiB measured). Reading a 200 MB feed,
/// an endless body or all 100,000 candidates would go far past it.
const PEAK_RSS_BOUND_KIB: u64 = 256 * 1024;

/// A feed's head and tail around its items.
fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>hostile</title>{items}</channel></rss>"
    )
}

fn item(n: usize, link: &str, media: &str) -> String {
    format!(
        "<item><title>upload {n}</title><link>{link}</link>\
         <enclosure url=\"{media}\" type=\"video/mp4\"/></item>"
    )
}

/// The hostile server: its base URL, and the connections an internal
/// service beside it got (its port is in the hostile feeds).
struct Hostile {
    base: String,
    internal_connections: Arc<AtomicUsize>,
}

fn start_hostile() -> Hostile {
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let internal_port = internal.local_addr().unwrap().port();
    let internal_connections = Arc::new(AtomicUsize::new(0));
    let counter = internal_connections.clone();
    std::thread::spawn(move || {
        for stream in internal.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let base = format!("http://{addr}");
            tx.send(base.clone()).unwrap();
            axum::serve(listener, routes(base, internal_port))
                .await
                .unwrap();
        });
    });
    Hostile {
        base: rx.recv().unwrap(),
        internal_connections,
    }
}

fn routes(base: String, internal: u16) -> Router {
    let feed = |body: String| ([("content-type", "application/rss+xml")], body).into_response();
    let b = base.clone();
    let links = move || {
        // 100,000 uploads, about 12 MB: under the document limit, so the
        // cap on candidates is what holds.
        let items: String = (0..100_000)
            .map(|n| {
                item(
                    n,
                    &format!("{b}/pages/{n}"),
                    &format!("{b}/media/missing/{n}"),
                )
            })
            .collect();
        feed(rss(&items))
    };
    let b = base.clone();
    let one_upload = move |UrlPath(kind): UrlPath<String>| {
        let media = match kind.as_str() {
            "endless" | "trickle" | "silent" => format!("{b}/media/{kind}"),
            _ => return (axum::http::StatusCode::NOT_FOUND, "no such attack").into_response(),
        };
        feed(rss(&item(0, &format!("{b}/pages/{kind}"), &media)))
    };
    let internal_items = move || {
        // Media on the internal service, in every spelling of loopback.
        let spellings = [
            format!("http://127.0.0.1:{internal}/v.mp4"),
            format!("http://localhost:{internal}/v.mp4"),
            format!("http://[::1]:{internal}/v.mp4"),
            format!("http://[::ffff:127.0.0.1]:{internal}/v.mp4"),
            format!("http://0.0.0.0:{internal}/v.mp4"),
            format!("http://2130706433:{internal}/v.mp4"),
            format!("http://0x7f.1:{internal}/v.mp4"),
        ];
        let items: String = spellings
            .iter()
            .enumerate()
            .map(|(n, media)| item(n, &format!("https://v.example/{n}"), media))
            .collect();
        feed(rss(&items))
    };
    Router::new()
        .route("/feeds/huge.xml", get(huge_feed))
        .route(
            "/feeds/laughs.xml",
            get(move || async move { feed(billion_laughs()) }),
        )
        .route("/feeds/links.xml", get(move || async move { links() }))
        .route(
            "/feeds/one/{kind}",
            get(move |kind| async move { one_upload(kind) }),
        )
        .route(
            "/feeds/internal.xml",
            get(move || async move { internal_items() }),
        )
        .route(
            "/feeds/redirect.xml",
            get(move || async move {
                axum::response::Redirect::temporary(&format!(
                    "http://127.0.0.1:{internal}/feed.xml"
                ))
            }),
        )
        .route("/feeds/silent.xml", get(silent))
        .route("/media/endless", get(endless))
        .route("/media/trickle", get(trickle))
        .route("/media/silent", get(silent))
}

/// 200 MB of feed, sent in chunks with no length announced.
async fn huge_feed() -> Response {
    let head = rss("");
    let (open, close) = head.split_at(head.find("</channel>").unwrap());
    let chunk = item(0, "https://v.example/x", "https://v.example/x.mp4").repeat(512);
    let chunks = (200 << 20) / chunk.len();
    let parts = std::iter::once(open.to_string())
        .chain(std::iter::repeat_n(chunk, chunks))
        .chain(std::iter::once(close.to_string()))
        .map(Ok::<_, std::io::Error>);
    Body::from_stream(stream::iter(parts)).into_response()
}

/// Ten levels of ten entities each: 10^9 "lol"s if expanded.
fn billion_laughs() -> String {
    let mut dtd = String::from("<!DOCTYPE rss [<!ENTITY lol0 \"lol\">");
    for level in 1..10 {
        let refs: String = (0..10).map(|_| format!("&lol{};", level - 1)).collect();
        dtd.push_str(&format!("<!ENTITY lol{level} \"{refs}\">"));
    }
    dtd.push(']');
    dtd.push('>');
    format!(
        "<?xml version=\"1.0\"?>{dtd}<rss version=\"2.0\"><channel><title>&lol9;</title></channel></rss>"
    )
}

/// A body that never ends, as fast as the client reads it.
async fn endless() -> Response {
    let block = vec![0x42u8; 64 * 1024];
    let parts = stream::repeat(block).map(Ok::<_, std::io::Error>);
    ([("content-type", "video/mp4")], Body::from_stream(parts)).into_response()
}

/// Headers at once, then one byte every half second: never a pause long
/// enough for a read timeout.
async fn trickle() -> Response {
    let parts = stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some((Ok::<_, std::io::Error>(vec![0u8]), ()))
    });
    ([("content-type", "video/mp4")], Body::from_stream(parts)).into_response()
}

/// Never answers.
async fn silent() -> Response {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "too late".into_response()
}

/// Files and directories under `dir`, recursively.
fn entries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push(path.display().to_string());
        if path.is_dir() {
            found.extend(entries(&path));
        }
    }
    found
}

on_both_backends!(hostile_sources_are_refused_within_bounded_memory);

fn hostile_sources_are_refused_within_bounded_memory(backend: Backend) {
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "attacks", &data) else {
        return;
    };
    // A registered work, so candidates are downloaded and decoded.
    common::register(
        &data,
        &common::repo_root().join("fixtures/bikes.mp4"),
        "Dawn ride",
    );
    let hostile = start_hostile();
    let base = &hostile.base;
    // (name, feed, extra source settings, what the scan's errors must say)
    let attacks: [(&str, String, &str, &[&str]); 9] = [
        (
            "huge-feed",
            format!("{base}/feeds/huge.xml"),
            "",
            &["larger than the limit of 16777216 bytes"],
        ),
        (
            "billion-laughs",
            format!("{base}/feeds/laughs.xml"),
            "",
            &["not a well-formed XML feed"],
        ),
        (
            "many-links",
            format!("{base}/feeds/links.xml"),
            "rate_limit_per_minute = 1000000",
            &["holds 100000 uploads; the first 1000 were taken"],
        ),
        (
            "endless-media",
            format!("{base}/feeds/one/endless"),
            "max_media_bytes = 8388608",
            &["larger than the limit of 8388608 bytes"],
        ),
        (
            "trickled-media",
            format!("{base}/feeds/one/trickle"),
            "timeout_s = 2.0",
            &["slower than"],
        ),
        (
            "silent-media",
            format!("{base}/feeds/one/silent"),
            "timeout_s = 2.0",
            &["no answer within 2 s"],
        ),
        (
            "silent-feed",
            format!("{base}/feeds/silent.xml"),
            "timeout_s = 2.0",
            &["no answer within 2 s"],
        ),
        (
            "internal-media",
            format!("{base}/feeds/internal.xml"),
            "",
            &["not another local service", "private, loopback"],
        ),
        (
            "redirect-to-internal",
            format!("{base}/feeds/redirect.xml"),
            "",
            &["not another local service"],
        ),
    ];
    // Candidates whose failure may pass (the silent media) are tried again
    // a second later, not 30 s.
    let mut config = String::from("[daemon]\nworkers = 2\nretry_base_s = 1.0\n\n");
    for (name, url, extra, _) in &attacks {
        config.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{url}\"\nallow_loopback = true\nretries = 0\n{extra}\n\n"
        ));
    }
    let config_path = scratch.path().join("reelguard.toml");
    std::fs::write(&config_path, config).unwrap();
    let outside: Vec<_> = ["cwd", "home", "tmp"]
        .iter()
        .map(|d| scratch.path().join(d))
        .collect();
    for dir in &outside {
        std::fs::create_dir_all(dir).unwrap();
    }

    let mut table = Vec::new();
    let mut peaks = Vec::new();
    for (name, _, _, expected) in &attacks {
        let started = std::time::Instant::now();
        let args = [
            "--data-dir",
            path_str(&data),
            "--config",
            path_str(&config_path),
            "scan",
            name,
            "--json",
        ];
        let env = [
            ("HOME", path_str(&outside[1])),
            ("TMPDIR", path_str(&outside[2])),
        ];
        let Some((code, stdout, stderr, peak_kib)) =
            common::run_measured(&args, &env, Some(&outside[0]))
        else {
            eprintln!("attacks: /usr/bin/time is missing; peak memory not measured");
            return;
        };
        assert_eq!(code, 0, "{name}: {stdout}{stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let scan = &report["scans"][0];
        let errors: Vec<String> = scan["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        let all = errors.join("\n");
        assert!(!errors.is_empty(), "{name}: no error recorded: {scan}");
        for needle in *expected {
            assert!(all.contains(needle), "{name}: {needle:?} not in\n{all}");
        }
        assert_eq!(scan["new_matches"], 0, "{name}: {scan}");
        if *name == "internal-media" {
            let refused = errors.iter().filter(|e| e.contains("refused")).count();
            assert_eq!(refused, 7, "every spelling of loopback refused:\n{all}");
        }
        let first_error: String = errors[0].chars().take(140).collect();
        table.push(format!(
            "| {name} | {first_error} | {} MiB | {:.1} s |",
            peak_kib / 1024,
            started.elapsed().as_secs_f64()
        ));
        peaks.push((name, peak_kib));
    }
    let table = format!(
        "attacks ({}):\n| attack | first error | peak RSS | time |\n|---|---|---|---|\n{}",
        backend.name(),
        table.join("\n")
    );
    println!("{table}");
    for (name, peak_kib) in peaks {
        assert!(
            peak_kib < PEAK_RSS_BOUND_KIB,
            "{name}: peak RSS {peak_kib} KiB over the bound\n{table}"
        );
    }
    let candidates = common::platform::with_store(&data, async |store| {
        store.list_candidates().await.unwrap().len()
    });
    assert!(
        candidates <= reelguard::sources::MAX_CANDIDATES_PER_LISTING + 10,
        "{candidates} candidates queued"
    );
    assert_eq!(
        hostile.internal_connections.load(Ordering::SeqCst),
        0,
        "the internal service was reached"
    );
    for dir in &outside {
        assert_eq!(
            entries(dir),
            Vec::<String>::new(),
            "written outside the data dir"
        );
    }
}
