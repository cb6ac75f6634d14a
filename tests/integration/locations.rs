//! One upload, one match, at several URLs: each further location is
//! captured like the match's first URL, and the owner hears of a new URL
//! only once the match is confirmed (a dismissed match's new URL, or a
//! pending one's, sends nothing).

use crate::common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use common::platform::{fresh_data_dir, start_platform, with_store, works, write_catalog, Upload};
use common::{path_str, run, scratch_dir, timestamp_config, transform, Backend, TsaServer};
use reelguard::domain::{AlertState, CaptureState};
use reelguard::testkit::smtp_sink::{stored_messages, SinkTls, SmtpSink};

/// v1 (a mirrored copy of bikes.mp4) and v2 (its second half, small) on
/// channel UC-A, v3 = the bytes of v1 again on UC-A; on channel UC-B, read
/// only by the second source: v4 = v1 and v5 = v2 once more.
fn platform() -> Option<&'static String> {
    static BASE: OnceLock<String> = OnceLock::new();
    works()?;
    Some(BASE.get_or_init(|| {
        let media = common::Footage;
        let dir = common::process_dir("locations-platform");
        transform(
            &media.path("bikes.mp4"),
            &["-vf", "hflip,scale=480:-2"],
            &dir.join("v1.mp4"),
        );
        transform(
            &media.path("bikes.mp4"),
            &["-ss", "2", "-vf", "scale=320:-2", "-crf", "32"],
            &dir.join("v2.mp4"),
        );
        for (from, to) in [("v1", "v3"), ("v1", "v4"), ("v2", "v5")] {
            std::fs::copy(
                dir.join(format!("{from}.mp4")),
                dir.join(format!("{to}.mp4")),
            )
            .expect("copy an upload");
        }
        let upload = |id, title, uploader, channel| Upload {
            id,
            title,
            uploader,
            channel,
        };
        write_catalog(
            &dir,
            &[
                upload("v1", "bikes (reupload)", "copycat-1", "UC-A"),
                upload("v2", "bikes small", "copycat-2", "UC-A"),
                upload("v3", "bikes (again)", "copycat-3", "UC-A"),
                upload("v4", "bikes (third time)", "copycat-4", "UC-B"),
                upload("v5", "bikes small (again)", "copycat-5", "UC-B"),
            ],
        );
        start_platform(&dir)
    }))
}

fn rg(data: &Path, config: &Path, args: &[&str]) -> String {
    let mut full = vec!["--data-dir", path_str(data), "--config", path_str(config)];
    full.extend_from_slice(args);
    let (code, stdout, stderr) = run(&full);
    assert_eq!(
        code,
        0,
        "reelguard {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        full.join(" ")
    );
    stdout
}

fn source(name: &str, base: &str, channel: &str) -> String {
    format!(
        "\n[[sources]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml?channel={channel}\"\nallow_loopback = true\nschedule = \"0 0 0 1 1 *\"\n"
    )
}

/// The plain-text parts of the messages the sink kept, in arrival order.
fn texts(sink_dir: &Path) -> Vec<String> {
    stored_messages(sink_dir)
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).unwrap();
            let mail = mailparse::parse_mail(&raw).unwrap();
            fn plain(part: &mailparse::ParsedMail) -> Option<String> {
                if part.ctype.mimetype == "text/plain" {
                    return part.get_body().ok();
                }
                part.subparts.iter().find_map(plain)
            }
            plain(&mail).expect("a text/plain part")
        })
        .collect()
}

on_both_backends!(new_locations_are_captured_and_alerted_once_confirmed);

fn new_locations_are_captured_and_alerted_once_confirmed(backend: Backend) {
    let Some(base) = platform() else {
        return;
    };
    let scratch = scratch_dir();
    let dir = scratch.path();
    let data = dir.join("data");
    let Some(_db) = common::database_for(backend, "locations", &data) else {
        return;
    };
    fresh_data_dir(works().unwrap(), &data);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sink_dir = dir.join("sink");
    let sink = runtime
        .block_on(SmtpSink::start(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            &sink_dir,
            None,
            SinkTls::None,
        ))
        .expect("start the SMTP sink");
    let tsa = TsaServer::start("127.0.0.1:0");
    let config = timestamp_config(dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\nallow_loopback = true\nsecurity = \"none\"\nfrom = \"reelguard <alerts@example.com>\"\ntimeout_s = 10.0\n\n\
         [alerts]\nto = [\"creator@example.com\"]\ndashboard_url = \"http://dash.example\"\n",
        sink.addr.port()
    ));
    text.push_str(&source("first", base, "UC-A"));
    std::fs::write(&config, &text).unwrap();

    // The first scan: v1 and v3 are one match at two URLs, v2 another.
    rg(&data, &config, &["scan"]);
    let (matches, located) = with_store(&data, async |store| {
        let matches = store.list_matches().await.unwrap();
        let mut located = Vec::new();
        for m in &matches {
            for (candidate, capture) in store.captured_locations(&m.id).await.unwrap() {
                located.push((
                    m.clone(),
                    candidate,
                    capture,
                    store.capture(&m.id).await.unwrap(),
                ));
            }
        }
        (matches, located)
    });
    assert_eq!(matches.len(), 2, "{matches:?}");
    assert_eq!(located.len(), 1, "one match has a second URL");
    let (copied, location, capture, first_capture) = &located[0];
    assert!(
        [&copied.candidate_url, &location.canonical_url]
            .iter()
            .all(|u| u.ends_with("v1") || u.ends_with("v3")),
        "{copied:?} {location:?}"
    );
    // (a) The second URL was captured on its own: page, screenshot, media
    // hash, manifest and token.
    assert_eq!(capture.state, CaptureState::Done, "{capture:?}");
    assert!(
        capture.token.is_some() && capture.tsa_time.is_some(),
        "{capture:?}"
    );
    assert_ne!(capture.manifest_sha256, first_capture.manifest_sha256);
    for expected in [
        "capture/fetch.json",
        "capture/page.html",
        "capture/screenshot.png",
        "capture/media.sha256",
        "capture/manifest.json",
    ] {
        assert!(
            capture.files.iter().any(|f| f.path == expected),
            "no {expected} in {:?}",
            capture.files
        );
    }
    let manifest = capture
        .files
        .iter()
        .find(|f| f.path == "capture/manifest.json")
        .unwrap();
    let manifest: Value = serde_json::from_slice(
        &reelguard::blobs::Blobs::new(&data.join("blobs"))
            .get(&manifest.sha256)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["upload_url"], location.canonical_url.as_str());
    assert_eq!(manifest["match_id"], copied.id.as_str());
    let shown: Value = serde_json::from_str(&rg(
        &data,
        &config,
        &["matches", "show", &copied.id, "--json"],
    ))
    .unwrap();
    assert_eq!(
        shown["locations"][0]["url"],
        location.canonical_url.as_str()
    );
    assert_eq!(shown["locations"][0]["candidate_id"], location.id.as_str());
    assert_eq!(shown["locations"][0]["capture"]["state"], "done", "{shown}");
    assert_eq!(
        shown["locations"][0]["capture"]["manifest_sha256"],
        capture.manifest_sha256.as_deref().unwrap(),
    );

    // A pending match's second URL sent nothing beyond its first alert.
    assert_eq!(texts(&sink_dir).len(), 2, "one message per match");

    // Confirm the copied match, dismiss the other; then the same media
    // turns up at new URLs on the second source.
    let other = matches.iter().find(|m| m.id != copied.id).unwrap();
    rg(&data, &config, &["matches", "confirm", &copied.id]);
    rg(&data, &config, &["matches", "dismiss", &other.id]);
    text.push_str(&source("later", base, "UC-B"));
    std::fs::write(&config, &text).unwrap();
    rg(&data, &config, &["scan"]);

    let (matches_after, alerts, new_locations) = with_store(&data, async |store| {
        let mut new_locations = Vec::new();
        for m in store.list_matches().await.unwrap() {
            for (candidate, capture) in store.captured_locations(&m.id).await.unwrap() {
                new_locations.push((m.id.clone(), candidate.canonical_url, capture.state));
            }
        }
        (
            store.list_matches().await.unwrap(),
            store.list_alerts(100).await.unwrap(),
            new_locations,
        )
    });
    assert_eq!(matches_after.len(), 2, "no new match: {matches_after:?}");
    let url_of = |suffix: &str| {
        new_locations
            .iter()
            .find(|(_, url, _)| url.ends_with(suffix))
            .unwrap_or_else(|| panic!("no location {suffix} in {new_locations:?}"))
            .clone()
    };
    let (v4_match, v4_url, v4_capture) = url_of("v4");
    let (v5_match, v5_url, v5_capture) = url_of("v5");
    assert_eq!(v4_match, copied.id);
    assert_eq!(v5_match, other.id);
    assert_eq!(
        (v4_capture, v5_capture),
        (CaptureState::Done, CaptureState::Done)
    );

    // (b) Exactly one more message, one line about the confirmed match's
    // new URL, and nothing about the dismissed match's.
    let texts = texts(&sink_dir);
    assert_eq!(texts.len(), 3, "{texts:#?}");
    let last = &texts[2];
    let line = format!("the confirmed copy is also at {v4_url}");
    assert_eq!(last.matches(&line).count(), 1, "{last}");
    assert_eq!(
        last.matches(&format!("该转载也出现在 {v4_url}")).count(),
        1,
        "{last}"
    );
    assert!(!last.contains(&v5_url) && !texts.iter().any(|t| t.contains(&v5_url)));
    assert!(
        last.contains(&format!("first found at {}", copied.candidate_url)),
        "{last}"
    );
    let location_alerts: Vec<_> = alerts
        .iter()
        .filter(|a| a.location_candidate_id.is_some())
        .collect();
    assert_eq!(location_alerts.len(), 1, "{alerts:?}");
    assert_eq!(location_alerts[0].match_id, copied.id);
    assert!(
        alerts.iter().all(|a| a.state == AlertState::Delivered),
        "{alerts:?}"
    );

    // (c) The confirmed match's bundle holds each location's capture under
    // its own folder, sealed by its own token, and its notices name every URL.
    let zip = dir.join("claim.zip");
    rg(
        &data,
        &config,
        &["evidence", "export", &copied.id, "-o", path_str(&zip)],
    );
    let (code, stdout, stderr) = run(&["verify", path_str(&zip)]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for prefix in ["locations/1/", "locations/2/"] {
        assert!(
            stdout.contains(&format!("{prefix}capture/manifest.json")),
            "verify checks {prefix}:\n{stdout}"
        );
    }
    let files = reelguard::provenance::package::read_zip(&zip).unwrap();
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let listed: Vec<&str> = manifest["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [location.canonical_url.as_str(), v4_url.as_str()]);
    for (n, url) in listed.iter().enumerate() {
        let prefix = format!("locations/{}/", n + 1);
        let entry = &manifest["locations"][n];
        assert_eq!(entry["capture_state"], "done", "{entry}");
        assert_eq!(
            entry["token"],
            format!("{prefix}capture/manifest.tsr"),
            "{entry}"
        );
        let captured: Value =
            serde_json::from_slice(&files[&format!("{prefix}capture/manifest.json")]).unwrap();
        assert_eq!(captured["upload_url"], *url, "{captured}");
        assert!(files.contains_key(&format!("{prefix}capture/screenshot.png")));
        for text in [
            "takedown/dmca-notice.txt",
            "takedown/email.txt",
            "report.html",
        ] {
            let text = String::from_utf8_lossy(&files[text]);
            assert!(text.contains(url), "{url} is not in {text}");
        }
        let verify_md = String::from_utf8_lossy(&files["VERIFY.md"]);
        assert!(
            verify_md.contains(&format!("{prefix}capture/manifest.tsr")),
            "{verify_md}"
        );
    }
    // A changed byte in a location's capture fails verification, named.
    let mut changed = files.clone();
    let page = changed.get_mut("locations/2/capture/page.html").unwrap();
    page[0] ^= 0x01;
    let tampered = dir.join("tampered.zip");
    reelguard::provenance::package::write_zip(&tampered, &changed).unwrap();
    let (code, stdout, _) = run(&["verify", path_str(&tampered)]);
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("locations/2/capture/page.html")),
        "{stdout}"
    );

    // Scanning again changes nothing.
    rg(&data, &config, &["scan"]);
    rg(&data, &config, &["alerts", "send"]);
    assert_eq!(stored_messages(&sink_dir).len(), 3);
    let _guard = runtime.enter();
    drop(sink);
}
