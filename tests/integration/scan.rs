//! Scans against the mock platform on 127.0.0.1: each source kind
//! (youtube-channel, youtube-search, feed, page, folder) finds exactly the
//! disguised copies of the registered works among its uploads, with their
//! URLs, uploaders and time ranges; unrelated uploads match nothing; a second
//! scan adds nothing. Faulty sources (500s, timeouts, garbage XML and JSON,
//! a redirect loop, a 2 GiB media response, media on 10.0.0.1, no yt-dlp)
//! each end with a clear recorded error while a healthy source still works.
//! Tests skip (with a note) when ../shared/media is missing.

use crate::common;

use reelguard::domain::CandidateStatus;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use common::platform::{fresh_data_dir, start_platform, with_store, works, write_catalog, Upload};
use common::{ffmpeg, path_str, run, run_with_env, scratch_dir, transform, Backend, ENCODE};

const TOLERANCE_S: f64 = 1.0;
const API_KEY: (&str, &str) = ("YOUTUBE_API_KEY", "test-key");

/// The uploads on the mock platform. `v*` copy a work, `d*` are unrelated.
const UPLOADS: [Upload; 7] = [
    Upload {
        id: "v1",
        title: "Bikes (mirrored)",
        uploader: "copycat-1",
        channel: "UC-A",
    },
    Upload {
        id: "d1",
        title: "Bikes? No, a car ride",
        uploader: "driver",
        channel: "UC-A",
    },
    Upload {
        id: "v3",
        title: "Big Buck Bunny full HD",
        uploader: "mirror-tv",
        channel: "UC-C",
    },
    Upload {
        id: "d3",
        title: "Big Buck Bunny reaction",
        uploader: "reactor",
        channel: "UC-C",
    },
    Upload {
        id: "v5",
        title: "Cartoon rabbit",
        uploader: "late-uploader",
        channel: "UC-B",
    },
    Upload {
        id: "d2",
        title: "Ball experiment",
        uploader: "physics",
        channel: "UC-B",
    },
    Upload {
        id: "v7",
        title: "City street",
        uploader: "page-owner",
        channel: "UC-D",
    },
];

struct Platform {
    base: String,
    /// A folder source's directory: a sped-up copy and an unrelated clip
    /// (the same file as upload d3).
    folder: PathBuf,
}

fn platform() -> Option<&'static Platform> {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    for name in [
        "bikes.mp4",
        "bigbuckbunny.mp4",
        "carphone_pristine.mp4",
        "balle-jbart.mp4",
        "retroMars2018.avi",
    ] {
        common::shared_media(name)?;
    }
    Some(PLATFORM.get_or_init(|| {
        let media = common::Footage;
        let dir = common::process_dir("scan-platform");
        let bikes = media.path("bikes.mp4");
        let bunny = media.path("bigbuckbunny.mp4");
        transform(
            &bikes,
            &["-vf", "hflip,crop=iw*0.9:ih*0.9,scale=480:-2"],
            &dir.join("v1.mp4"),
        );
        transform(
            &media.path("carphone_pristine.mp4"),
            &["-vf", "scale=352:288"],
            &dir.join("d1.mp4"),
        );
        transform(
            &bunny,
            &["-vf", "scale=640:360,pad=640:480:0:60"],
            &dir.join("v3.mp4"),
        );
        transform(
            &media.path("retroMars2018.avi"),
            &["-vf", "scale=512:384"],
            &dir.join("d3.mp4"),
        );
        // 3 s of other footage, then the whole of Big Buck Bunny.
        let mut args =
            vec![
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=3", "-i", path_str(&bunny),
            "-filter_complex",
            "[1:v]scale=640:360,setsar=1,fps=25[b];[0:v]setsar=1[a];[a][b]concat=n=2:v=1:a=0[out]",
            "-map", "[out]",
        ];
        args.extend_from_slice(&ENCODE);
        let v5 = dir.join("v5.mp4");
        args.push(path_str(&v5));
        ffmpeg(&args);
        transform(
            &media.path("balle-jbart.mp4"),
            &["-t", "6"],
            &dir.join("d2.mp4"),
        );
        transform(
            &bikes,
            &[
                "-t",
                "6",
                "-vf",
                "drawbox=x=iw*0.7:y=ih*0.05:w=iw*0.25:h=ih*0.18:color=yellow@0.9:t=fill",
            ],
            &dir.join("v7.mp4"),
        );
        write_catalog(&dir, &UPLOADS);
        let folder = dir.join("folder");
        std::fs::create_dir_all(&folder).unwrap();
        transform(
            &bikes,
            &["-vf", "setpts=PTS/1.1"],
            &folder.join("speed.mp4"),
        );
        std::fs::copy(dir.join("d3.mp4"), folder.join("mars.mp4")).unwrap();
        // Folder sources skip files changed in the last 2 s.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for name in ["speed.mp4", "mars.mp4"] {
            std::fs::File::options()
                .write(true)
                .open(folder.join(name))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let base = start_platform(&dir);
        Platform { base, folder }
    }))
}

fn source(name: &str, kind: &str, url: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\nkind = \"{kind}\"\nurl = \"{url}\"\nallow_loopback = true\n{extra}\n"
    )
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("reelguard.toml");
    std::fs::write(&path, format!("[daemon]\nworkers = 2\n\n{text}")).unwrap();
    path
}

/// `reelguard --data-dir D --config C ARGS --json` with the API key set.
fn json(data_dir: &Path, config: &Path, args: &[&str]) -> Value {
    let mut full = vec![
        "--data-dir",
        path_str(data_dir),
        "--config",
        path_str(config),
    ];
    full.extend_from_slice(args);
    full.push("--json");
    let (code, stdout, stderr) = run_with_env(&full, &[API_KEY]);
    assert_eq!(
        code,
        0,
        "reelguard {} failed\nstdout:\n{stdout}\nstderr:\n{stderr}",
        full.join(" ")
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {stdout}"))
}

/// The one scan of a `scan SOURCE --json` result.
fn scan(data_dir: &Path, config: &Path, name: &str) -> Value {
    let out = json(data_dir, config, &["scan", name]);
    let scans = out["scans"].as_array().expect("scans list");
    assert_eq!(scans.len(), 1, "{out}");
    assert_eq!(scans[0]["source"], name);
    scans[0].clone()
}

fn assert_scan(scan: &Value, candidates: i64, new_matches: i64) {
    assert_eq!(scan["candidates"], candidates, "{scan}");
    assert_eq!(scan["new_matches"], new_matches, "{scan}");
    assert_eq!(scan["errors"], serde_json::json!([]), "{scan}");
}

fn near(value: &Value, expected: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= TOLERANCE_S)
}

on_both_backends!(each_source_kind_finds_exactly_the_infringing_uploads_once);

fn each_source_kind_finds_exactly_the_infringing_uploads_once(backend: Backend) {
    let (Some(works), Some(p)) = (works(), platform()) else {
        return;
    };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "scan", &data) else {
        return;
    };
    fresh_data_dir(works, &data);
    let base = &p.base;
    let config = write_config(
        scratch.path(),
        &[
            source(
                "channel",
                "youtube-channel",
                &format!("{base}/feeds/videos.xml?channel_id=UC-A"),
                "",
            ),
            source(
                "search",
                "youtube-search",
                &format!("{base}/youtube/v3"),
                &format!("video_url_base = \"{base}/watch?v=\""),
            ),
            source(
                "rss",
                "feed",
                &format!("{base}/feeds/rss.xml?channel=UC-B"),
                "",
            ),
            source("page", "page", &format!("{base}/pages/v7"), ""),
            source("folder", "folder", path_str(&p.folder), ""),
        ]
        .concat(),
    );

    // youtube-channel: v1 copies Bikes (mirrored, cropped); d1 is a car ride.
    assert_scan(&scan(&data, &config, "channel"), 2, 1);
    // youtube-search for the works' titles: "Bikes" finds v1 (already known)
    // and d1; "Big Buck Bunny" finds v3 (letterboxed copy) and d3.
    let s = scan(&data, &config, "search");
    assert_scan(&s, 4, 1);
    assert_eq!(s["new_candidates"], 2, "{s}");
    // feed (Media RSS, direct enclosures): v5 shows Big Buck Bunny after 3 s.
    assert_scan(&scan(&data, &config, "rss"), 2, 1);
    // page (<video><source>): v7 is Bikes with a logo box.
    assert_scan(&scan(&data, &config, "page"), 1, 1);
    // folder: a sped-up Bikes, and the same file as d3 (deduplicated by SHA-256).
    assert_scan(&scan(&data, &config, "folder"), 2, 1);

    let listed = json(&data, &config, &["matches", "list"]);
    let matches = listed["matches"].as_array().unwrap();
    let mut found: Vec<(String, String, String, String)> = matches
        .iter()
        .map(|m| {
            (
                m["candidate_url"].as_str().unwrap().to_string(),
                m["work_id"].as_str().unwrap().to_string(),
                m["uploader"].as_str().unwrap().to_string(),
                m["platform"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let speed_url =
        url::Url::from_file_path(std::fs::canonicalize(p.folder.join("speed.mp4")).unwrap())
            .unwrap()
            .to_string();
    let mut expected = vec![
        (
            format!("{base}/watch?v=v1"),
            works.bikes.clone(),
            "copycat-1".to_string(),
            "youtube".to_string(),
        ),
        (
            format!("{base}/watch?v=v3"),
            works.bunny.clone(),
            "mirror-tv".to_string(),
            "youtube".to_string(),
        ),
        (
            format!("{base}/pages/v5"),
            works.bunny.clone(),
            "late-uploader".to_string(),
            "127.0.0.1".to_string(),
        ),
        (
            format!("{base}/pages/v7"),
            works.bikes.clone(),
            "page-owner".to_string(),
            "127.0.0.1".to_string(),
        ),
        (
            speed_url,
            works.bikes.clone(),
            String::new(),
            "folder".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(found, expected, "{listed}");
    for m in matches {
        assert_eq!(m["status"], "pending");
        let score = m["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 1.0, "{m}");
        assert!(!m["segments"].as_array().unwrap().is_empty(), "{m}");
    }
    // v5: seconds 3-8.3 of the upload copy seconds 0-5.3 of the work.
    let late = matches
        .iter()
        .find(|m| m["candidate_url"].as_str().unwrap().ends_with("/pages/v5"))
        .unwrap();
    let segment = &late["segments"][0];
    assert!(
        near(&segment["query_start_s"], 3.0) && near(&segment["query_end_s"], 8.3),
        "{segment}"
    );
    assert!(
        near(&segment["work_start_s"], 0.0) && near(&segment["work_end_s"], 5.3),
        "{segment}"
    );
    // v1 covers the whole of Bikes.
    let v1 = matches
        .iter()
        .find(|m| m["candidate_url"].as_str().unwrap().ends_with("watch?v=v1"))
        .unwrap();
    let segment = &v1["segments"][0];
    assert!(
        near(&segment["work_start_s"], 0.0) && near(&segment["work_end_s"], 10.0),
        "{segment}"
    );

    // `matches show` by id prefix.
    let id = v1["id"].as_str().unwrap();
    let shown = json(&data, &config, &["matches", "show", &id[..20]]);
    assert_eq!(shown["id"], id);
    assert_eq!(shown["source"], "channel");
    assert_eq!(shown["work_title"], "Bikes");

    // The folder's copy of d3 was recognised by its SHA-256, not decoded again.
    let candidates = with_store(&data, async |store| store.list_candidates().await.unwrap());
    let mars = candidates
        .iter()
        .find(|c| c.canonical_url.ends_with("mars.mp4"))
        .unwrap();
    assert_eq!(mars.status, CandidateStatus::Duplicate);
    assert!(
        candidates
            .iter()
            .all(|c| matches!(c.status, CandidateStatus::Done | CandidateStatus::Duplicate)),
        "{candidates:?}"
    );
    assert_eq!(candidates.len(), 9);

    // Retention "matches": the downloaded media of the four matched uploads
    // is kept as evidence, the rest deleted, no partial download left.
    let mut kept: Vec<String> = std::fs::read_dir(data.join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    let mut expected_kept: Vec<String> = candidates
        .iter()
        .filter(|c| {
            c.platform != "folder"
                && matches
                    .iter()
                    .any(|m| m["candidate_url"] == c.canonical_url.as_str())
        })
        .map(|c| format!("{}.media", c.id))
        .collect();
    expected_kept.sort();
    assert_eq!(kept, expected_kept);
    assert_eq!(kept.len(), 4);

    // A second scan of everything adds no candidate and no match.
    let again = json(&data, &config, &["scan"]);
    for s in again["scans"].as_array().unwrap() {
        assert_eq!(s["new_matches"], 0, "{s}");
        assert_eq!(s["new_candidates"], 0, "{s}");
        assert_eq!(s["errors"], serde_json::json!([]), "{s}");
    }
    let listed = json(&data, &config, &["matches", "list"]);
    assert_eq!(listed["matches"].as_array().unwrap().len(), 5);

    // sources list shows each source's last and next run and no error.
    let sources = json(&data, &config, &["sources", "list"]);
    for s in sources["sources"].as_array().unwrap() {
        assert!(s["last_run"].is_string(), "{s}");
        assert!(
            s["next_run"].as_str().unwrap() > s["last_run"].as_str().unwrap(),
            "{s}"
        );
        assert!(s["last_error"].is_null(), "{s}");
    }
    let scans = json(&data, &config, &["scans", "list"]);
    assert_eq!(scans["scans"].as_array().unwrap().len(), 10);
}

on_both_backends!(faulty_sources_record_clear_errors_and_leave_the_others_alone);

fn faulty_sources_record_clear_errors_and_leave_the_others_alone(backend: Backend) {
    let (Some(works), Some(p)) = (works(), platform()) else {
        return;
    };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "scan", &data) else {
        return;
    };
    fresh_data_dir(works, &data);
    let base = &p.base;
    let config = write_config(
        scratch.path(),
        &[
            source("healthy", "page", &format!("{base}/pages/v7"), ""),
            source("e500", "feed", &format!("{base}/fault/500"), "retries = 1"),
            source(
                "slow",
                "feed",
                &format!("{base}/fault/slow"),
                "retries = 0\ntimeout_s = 1.0",
            ),
            source("garbage", "feed", &format!("{base}/fault/garbage.xml"), ""),
            source(
                "garbage-api",
                "youtube-search",
                &format!("{base}/fault/garbage-api/v3"),
                "keywords = [\"bikes\"]",
            ),
            source("loop", "page", &format!("{base}/fault/loop"), ""),
            source("huge", "feed", &format!("{base}/fault/huge-feed.xml"), ""),
            source(
                "private",
                "feed",
                &format!("{base}/fault/private-feed.xml"),
                "",
            ),
            source("private-url", "feed", "http://10.0.0.1/feed.xml", ""),
            source(
                "too-long",
                "page",
                &format!("{base}/pages/v1"),
                "max_duration_s = 5.0",
            ),
            source(
                "no-ytdlp",
                "ytdlp",
                "https://www.tiktok.com/@someone",
                "ytdlp_path = \"/nonexistent/yt-dlp\"",
            ),
        ]
        .concat(),
    );
    let started = std::time::Instant::now();
    let out = json(&data, &config, &["scan"]);
    assert!(
        started.elapsed().as_secs() < 60,
        "the faults took {:?}",
        started.elapsed()
    );
    let scans = out["scans"].as_array().unwrap();
    let by_name = |name: &str| {
        scans
            .iter()
            .find(|s| s["source"] == name)
            .unwrap_or_else(|| panic!("no scan of {name}: {out}"))
    };
    let error_of = |name: &str| -> String {
        let errors = by_name(name)["errors"].as_array().unwrap().clone();
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        errors[0].as_str().unwrap().to_string()
    };

    assert_scan(by_name("healthy"), 1, 1);
    let e = error_of("e500");
    assert!(e.contains("500") && e.contains("2 attempt"), "{e}");
    let e = error_of("slow");
    assert!(e.contains("no answer within 1 s"), "{e}");
    let e = error_of("garbage");
    assert!(e.contains("not a well-formed XML feed"), "{e}");
    let e = error_of("garbage-api");
    assert!(
        e.contains("not YouTube API JSON") && !e.contains("test-key"),
        "{e}"
    );
    let e = error_of("loop");
    assert!(e.contains("redirect"), "{e}");
    // The huge response is refused from its announced length.
    let e = error_of("huge");
    assert!(
        e.contains("larger than the limit") && e.contains("2147483648"),
        "{e}"
    );
    // The guard refuses 10.0.0.1 before any connection, even though the
    // source may reach loopback addresses.
    let e = error_of("private");
    assert!(
        e.contains("10.0.0.1") && e.contains("private, loopback or link-local"),
        "{e}"
    );
    let e = error_of("private-url");
    assert!(e.contains("refused http://10.0.0.1/feed.xml"), "{e}");
    let e = error_of("too-long");
    assert!(
        e.contains("lasts 10 s, longer than the 5 s limit")
            && e.contains("sources.too-long.max_duration_s"),
        "{e}"
    );
    let e = error_of("no-ytdlp");
    assert!(e.contains("install"), "{e}");

    // Each failing source shows its last error in `sources list`.
    let sources = json(&data, &config, &["sources", "list"]);
    for s in sources["sources"].as_array().unwrap() {
        let failed =
            !["healthy", "huge", "private", "too-long"].contains(&s["name"].as_str().unwrap());
        assert_eq!(s["last_error"].is_string(), failed, "{s}");
    }
    let listed = json(&data, &config, &["matches", "list"]);
    assert_eq!(listed["matches"].as_array().unwrap().len(), 1);
}

on_both_backends!(sources_can_be_added_listed_tried_and_removed);

fn sources_can_be_added_listed_tried_and_removed(backend: Backend) {
    let Some(p) = platform() else { return };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "scan", &data) else {
        return;
    };
    let d = path_str(&data);
    let feed = format!("{}/feeds/rss.xml?channel=UC-B", p.base);
    let (code, _, stderr) = run(&[
        "--data-dir",
        d,
        "sources",
        "add",
        "rss",
        "--kind",
        "feed",
        "--url",
        &feed,
        "--allow-loopback",
    ]);
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) = run(&["--data-dir", d, "sources", "test", "rss", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let tested: Value = serde_json::from_str(&stdout).unwrap();
    let urls: Vec<&str> = tested["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        vec![
            format!("{}/pages/v5", p.base),
            format!("{}/pages/d2", p.base)
        ]
    );

    // Bad values are refused with exit code 2, naming the key and value.
    for (flag, value, key) in [
        (
            "--schedule",
            "61 * * * *",
            "sources.bad.schedule = \"61 * * * *\"",
        ),
        (
            "--timezone",
            "Moon/Base",
            "sources.bad.timezone = \"Moon/Base\"",
        ),
        (
            "--proxy",
            "gopher://x:70",
            "sources.bad.proxy = \"gopher://x:70\"",
        ),
    ] {
        let (code, _, stderr) = run(&[
            "--data-dir",
            d,
            "sources",
            "add",
            "bad",
            "--kind",
            "feed",
            "--url",
            &feed,
            flag,
            value,
        ]);
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(key), "{stderr}");
    }
    // Without allow_loopback the guard refuses the platform on 127.0.0.1.
    run(&[
        "--data-dir",
        d,
        "sources",
        "add",
        "strict",
        "--kind",
        "feed",
        "--url",
        &feed,
    ]);
    let (code, _, stderr) = run(&["--data-dir", d, "sources", "test", "strict"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("127.0.0.1") && stderr.contains("allow_private"),
        "{stderr}"
    );

    let (_, stdout, _) = run(&["--data-dir", d, "sources", "list", "--json"]);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = listed["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["rss", "strict"]);
    // Removing asks first: with no terminal to ask on, --yes is needed.
    let (code, _, stderr) = run(&["--data-dir", d, "sources", "remove", "strict"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        d,
        "sources",
        "remove",
        "strict",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), r#"{"removed":"strict"}"#);
    let (code, _, stderr) = run(&["--data-dir", d, "sources", "remove", "strict", "--yes"]);
    assert_eq!(code, 2, "{stderr}");
    // The published-after window: the platform's uploads are from 2026-11-20.
    let config = write_config(
        scratch.path(),
        &[
            source("recent", "feed", &feed, "published_within_days = 1"),
            source("any-age", "feed", &feed, "published_within_days = 100000"),
        ]
        .concat(),
    );
    let listed = |name: &str| {
        let out = json(&data, &config, &["sources", "test", name]);
        out["candidates"].as_array().unwrap().len()
    };
    assert_eq!(listed("recent"), 0);
    assert_eq!(listed("any-age"), 2);
    let (code, _, stderr) = run(&["--data-dir", d, "scan", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no source named \"nope\""), "{stderr}");
}

on_both_backends!(an_unchanged_feed_is_not_downloaded_again);

fn an_unchanged_feed_is_not_downloaded_again(backend: Backend) {
    let Some(p) = platform() else { return };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "scan", &data) else {
        return;
    };
    // No works registered: candidates are processed, nothing can match.
    let config = write_config(
        scratch.path(),
        &source(
            "rss",
            "feed",
            &format!("{}/feeds/rss.xml?channel=UC-B", p.base),
            "",
        ),
    );
    let first = scan(&data, &config, "rss");
    assert_scan(&first, 2, 0);
    // The second request carries If-None-Match and gets 304: nothing listed.
    let second = scan(&data, &config, "rss");
    assert_scan(&second, 0, 0);
}

/// yt-dlp: `REELGUARD_TEST_YTDLP`, else the one scripts/setup.sh installs
/// under target/tools, else `yt-dlp` on PATH.
fn ytdlp() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("REELGUARD_TEST_YTDLP").map(PathBuf::from),
        Some(common::repo_root().join("target/tools/venv/bin/yt-dlp")),
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("yt-dlp"))
                .find(|p| p.is_file())
        }),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "note: yt-dlp is not installed (scripts/setup.sh installs it); skipping this test"
        );
    }
    found
}

on_both_backends!(ytdlp_sources_list_and_download_through_yt_dlp);

fn ytdlp_sources_list_and_download_through_yt_dlp(backend: Backend) {
    let (Some(works), Some(p), Some(ytdlp)) = (works(), platform(), ytdlp()) else {
        return;
    };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let Some(_db) = common::database_for(backend, "scan", &data) else {
        return;
    };
    fresh_data_dir(works, &data);
    // yt-dlp's generic extractor reads the page's <video> element.
    let config = write_config(
        scratch.path(),
        &source(
            "via-ytdlp",
            "ytdlp",
            &format!("{}/pages/v7", p.base),
            &format!("ytdlp_path = \"{}\"", path_str(&ytdlp)),
        ),
    );
    assert_scan(&scan(&data, &config, "via-ytdlp"), 1, 1);
    let listed = json(&data, &config, &["matches", "list"]);
    let m = &listed["matches"][0];
    assert_eq!(m["candidate_url"], format!("{}/pages/v7", p.base));
    assert_eq!(m["work_id"], works.bikes.as_str());
    assert_eq!(
        m["platform"], "127.0.0.1",
        "generic extractors are named by the host"
    );
}

/// yt-dlp goes out through the guarding proxy: a page on the source's own
/// (allowed) loopback port whose video lies on another local service gets
/// the page fetched and the video refused; the other service is never
/// reached, though yt-dlp was given only the page.
#[test]
fn ytdlp_cannot_reach_other_local_services() {
    let Some(ytdlp) = ytdlp() else { return };
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    common::register(
        &data,
        &common::repo_root().join("fixtures/bikes.mp4"),
        "Dawn ride",
    );
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    internal.set_nonblocking(true).unwrap();
    let internal_port = internal.local_addr().unwrap().port();
    let site = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let page = format!("http://{}/watch", site.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let body = format!(
            "<html><head><title>upload</title></head><body>\
             <video src=\"http://127.0.0.1:{internal_port}/video.mp4\"></video></body></html>"
        );
        for stream in site.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let config = write_config(
        scratch.path(),
        &source(
            "via-ytdlp",
            "ytdlp",
            &page,
            &format!("ytdlp_path = \"{}\"\nretries = 0", path_str(&ytdlp)),
        ),
    );
    let scanned = scan(&data, &config, "via-ytdlp");
    assert_eq!(scanned["new_matches"], 0, "{scanned}");
    let errors = scanned["errors"].to_string();
    assert!(errors.contains("yt-dlp could not"), "{scanned}");
    assert!(
        matches!(internal.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "yt-dlp reached the other local service: {scanned}"
    );
}
