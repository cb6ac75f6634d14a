//! Evidence end to end on the mock platform: a scan finds an infringing
//! upload, the capture runs before the scan returns, the review records
//! status changes, the exported bundle passes `reelguard verify`,
//! `sha256sum -c` and `openssl ts -verify`, and any changed byte fails
//! verification naming its file. Capture faults keep the match and a later
//! capture completes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::platform::{start_platform, write_catalog, Upload};
use common::{
    path_str, run, scratch_dir, shared_media, test_media_root, timestamp_config, transform,
    Backend, TsaServer,
};
use serde_json::Value;

/// The mock platform: v1 is a mirrored, cropped copy of bikes.mp4 on channel
/// UC-A. One for the runs on each backend: the flaky page's state is the
/// platform's.
fn platform(backend: Backend) -> Option<&'static String> {
    static MEDIA: OnceLock<PathBuf> = OnceLock::new();
    static BASES: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let bikes = shared_media("bikes.mp4")?;
    let media = MEDIA.get_or_init(|| {
        let dir = common::process_dir("evidence-platform");
        transform(
            &bikes,
            &["-vf", "hflip,crop=iw*0.9:ih*0.9,scale=480:-2"],
            &dir.join("v1.mp4"),
        );
        write_catalog(
            &dir,
            &[Upload {
                id: "v1",
                title: "bikes (reupload)",
                uploader: "copycat-1",
                channel: "UC-A",
            }],
        );
        dir
    });
    let base = match backend {
        Backend::Sqlite => &BASES[0],
        Backend::Postgres => &BASES[1],
    };
    Some(base.get_or_init(|| start_platform(media)))
}

struct Setup {
    _db: Option<reelguard::testkit::postgres::TestDatabase>,
    _scratch: tempfile::TempDir,
    _tsa: TsaServer,
    dir: PathBuf,
    data: PathBuf,
    config: PathBuf,
    ca: PathBuf,
}

/// A data dir with bikes.mp4 registered (with a script stage, so it has a
/// provenance package), a local TSA, and a config with `sources` appended;
/// its database on `backend`. None when the run is on PostgreSQL and those
/// runs are off.
fn setup(backend: Backend, sources: &str) -> Option<Setup> {
    let scratch = scratch_dir();
    let dir = scratch.path().to_path_buf();
    let data = dir.join("data");
    let db = common::database_for(backend, "evidence", &data)?;
    let tsa = TsaServer::start("127.0.0.1:0");
    let config = timestamp_config(&dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(sources);
    std::fs::write(&config, text).unwrap();
    let script = dir.join("script.txt");
    std::fs::write(&script, "A morning ride through the city.\n").unwrap();
    let bikes = shared_media("bikes.mp4").expect("checked by platform()");
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "register",
        path_str(&bikes),
        "--title",
        "Dawn ride 清晨骑行",
        "--artifact",
        &format!("script={}", path_str(&script)),
    ]);
    assert_eq!(code, 0, "register failed: {stdout}{stderr}");
    Some(Setup {
        ca: tsa.ca_cert.clone(),
        _db: db,
        _scratch: scratch,
        _tsa: tsa,
        dir,
        data,
        config,
    })
}

impl Setup {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut full = vec![
            "--data-dir",
            path_str(&self.data),
            "--config",
            path_str(&self.config),
        ];
        full.extend_from_slice(args);
        run(&full)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let (code, stdout, stderr) = self.run(&args);
        assert_eq!(
            code,
            0,
            "reelguard {} failed\n{stdout}\n{stderr}",
            args.join(" ")
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {stdout}"))
    }
}

fn source(name: &str, url: &str, extra: &str) -> String {
    format!(
        "\n[[sources]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{url}\"\nallow_loopback = true\n{extra}\n"
    )
}

fn capture_paths(show: &Value) -> Vec<String> {
    show["capture"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

fn has_chromium() -> bool {
    reelguard::evidence::chromium::find(None).is_some()
}

fn tool(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

on_both_backends!(a_found_upload_is_captured_reviewed_exported_and_verifies_everywhere);

fn a_found_upload_is_captured_reviewed_exported_and_verifies_everywhere(backend: Backend) {
    let Some(base) = platform(backend) else {
        return;
    };
    let Some(s) = setup(
        backend,
        &source("feed", &format!("{base}/feeds/rss.xml?channel=UC-A"), ""),
    ) else {
        return;
    };
    let scan = s.json(&["scan", "feed"]);
    assert_eq!(scan["scans"][0]["new_matches"], 1, "{scan}");
    let list = s.json(&["matches", "list"]);
    let id = list["matches"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["matches"][0]["status"], "pending");

    // Captured before the scan returned, and timestamped.
    let show = s.json(&["matches", "show", &id]);
    assert_eq!(show["capture"]["state"], "done", "{show}");
    assert!(show["capture"]["tsa_time"].is_string(), "{show}");
    let paths = capture_paths(&show);
    for expected in [
        "capture/page.html",
        "capture/fetch.json",
        "capture/media.sha256",
        "capture/media.mp4",
        "capture/manifest.json",
        "frames/timeline.png",
        "frames/pair-1.png",
        "frames/pair-2.png",
        "frames/pair-3.png",
        "frames/pairs.json",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} missing: {paths:?}"
        );
    }
    if has_chromium() {
        assert!(
            paths.iter().any(|p| p == "capture/screenshot.png"),
            "{paths:?}"
        );
        assert!(paths.iter().any(|p| p == "capture/page.pdf"), "{paths:?}");
    }

    // Review: each change recorded; the flow refuses shortcuts.
    let (code, _, stderr) = s.run(&["matches", "resolve", &id]);
    assert_eq!(code, 2, "resolving a pending match is refused: {stderr}");
    s.json(&["matches", "confirm", &id, "--note", "same ride, mirrored"]);
    s.json(&["matches", "claim", &id, "--note", "DMCA notice sent"]);
    let (code, _, stderr) = s.run(&["matches", "dismiss", &id]);
    assert_eq!(code, 2, "a claimed match cannot be dismissed: {stderr}");
    let show = s.json(&["matches", "show", &id]);
    assert_eq!(show["status"], "claimed");
    let history = show["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{show}");
    assert_eq!(history[0]["from"], "pending");
    assert_eq!(history[0]["to"], "confirmed");
    assert_eq!(history[0]["note"], "same ride, mirrored");
    assert!(history[1]["at"].is_string());

    // Export and verify.
    let zip = s.dir.join("claim.zip");
    let exported = s.json(&["evidence", "export", &id, "-o", path_str(&zip)]);
    assert_eq!(exported["timestamped"], true, "{exported}");
    let (code, stdout, stderr) = run(&["verify", path_str(&zip)]);
    assert_eq!(code, 0, "verify failed:\n{stdout}{stderr}");
    assert!(
        stdout.contains("work/chain-head.tsr"),
        "the nested package is checked: {stdout}"
    );
    let (code, stdout, stderr) = run(&["verify", path_str(&zip), "--ca", path_str(&s.ca)]);
    assert_eq!(code, 0, "verify --ca failed:\n{stdout}{stderr}");

    // Standard tools on the unpacked bundle.
    let files = reelguard::provenance::package::read_zip(&zip).unwrap();
    let unpacked = s.dir.join("unpacked");
    for (name, bytes) in &files {
        let path = unpacked.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    for expected in [
        "manifest.json",
        "timestamp/manifest.tsr",
        "timestamp/tsa-ca.pem",
        "timestamp/tsa-certs.pem",
        "report.html",
        "takedown/dmca-notice.txt",
        "takedown/youtube-webform.txt",
        "takedown/tiktok-ip-report.txt",
        "takedown/email.txt",
        "VERIFY.md",
        "SHA256SUMS",
        "work/manifest.json",
        "work/certificate.pdf",
    ] {
        assert!(
            files.contains_key(expected),
            "{expected} missing from the bundle"
        );
    }
    let (ok, out) = tool("sha256sum", &["-c", "SHA256SUMS"], &unpacked);
    assert!(ok, "sha256sum -c: {out}");
    for (token, data) in [
        ("timestamp/manifest.tsr", "manifest.json"),
        ("capture/manifest.tsr", "capture/manifest.json"),
    ] {
        let (ok, out) = tool(
            "openssl",
            &[
                "ts",
                "-verify",
                "-in",
                token,
                "-token_in",
                "-data",
                data,
                "-CAfile",
                "timestamp/tsa-ca.pem",
                "-untrusted",
                "timestamp/tsa-certs.pem",
            ],
            &unpacked,
        );
        assert!(
            ok && out.contains("Verification: OK"),
            "openssl ts -verify {token}: {out}"
        );
    }

    // The DMCA notice has all six statutory elements, filled in.
    let notice = String::from_utf8(files["takedown/dmca-notice.txt"].clone()).unwrap();
    for needle in [
        "/s/ Li Hua",
        "Dawn ride 清晨骑行",
        &format!("{base}/pages/v1"),
        "lihua@example.com",
        "good faith belief",
        "under penalty of perjury",
    ] {
        assert!(
            notice.contains(needle),
            "notice lacks {needle:?}:\n{notice}"
        );
    }
    let email = String::from_utf8(files["takedown/email.txt"].clone()).unwrap();
    assert!(email.contains("版权侵权通知"), "{email}");

    // The report: each frame pair says which side is the work and at which
    // moment; every captured file is listed with its SHA-256; the review
    // status is in both languages; the PDF is A4.
    let report = String::from_utf8(files["report.html"].clone()).unwrap();
    for needle in [
        "Pair 1: left, the work at ",
        "; right, the upload at ",
        "第 1 组：左为原作品",
    ] {
        assert!(report.contains(needle), "report.html lacks {needle:?}");
    }
    let pair_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        &files["frames/pair-1.png"],
    ));
    assert!(
        report.contains(&pair_sha256),
        "report.html lists frames/pair-1.png without its SHA-256 {pair_sha256}"
    );
    assert!(
        report.contains("pending / 待审核") || report.contains("confirmed / 已确认侵权"),
        "the review status in both languages"
    );
    if files.contains_key("report.pdf") {
        let (ok, info) = tool("pdfinfo", &["report.pdf"], &unpacked);
        assert!(ok && info.contains("(A4)"), "report.pdf is not A4: {info}");
    }

    // The report renders: PDF with pdftoppm, HTML with Chromium.
    let out_dir = test_media_root();
    if files.contains_key("report.pdf") {
        let prefix = out_dir.join(format!("evidence-report-pdf-{}", backend.name()));
        let (ok, out) = tool(
            "pdftoppm",
            &[
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "report.pdf",
                path_str(&prefix),
            ],
            &unpacked,
        );
        assert!(ok, "pdftoppm: {out}");
        let page = out_dir.join(format!("evidence-report-pdf-{}-1.png", backend.name()));
        let png = image::open(&page).expect("pdftoppm wrote page 1");
        assert!(png.width() > 300 && png.height() > 300);
    } else {
        assert!(
            !has_chromium(),
            "chromium is installed but report.pdf is missing"
        );
    }
    if let Some(chromium) = reelguard::evidence::chromium::find(None) {
        let shot = out_dir.join(format!("evidence-report-html-{}.png", backend.name()));
        let _ = std::fs::remove_file(&shot);
        let url = url::Url::from_file_path(unpacked.join("report.html")).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(reelguard::evidence::chromium::render(
                &chromium,
                url.as_str(),
                reelguard::evidence::chromium::Output::Screenshot,
                &shot,
                60.0,
                reelguard::evidence::chromium::Network::Local,
            ))
            .expect("chromium renders report.html");
        let png = image::open(&shot).unwrap().to_rgb8();
        let non_white = png.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(non_white > 10_000, "report.html rendered blank");
    }

    // Changing any byte of any file fails verification, naming that file.
    for name in files.keys() {
        let mut changed = files.clone();
        let bytes = changed.get_mut(name).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        let tampered = s.dir.join("tampered.zip");
        reelguard::provenance::package::write_zip(&tampered, &changed).unwrap();
        let (code, stdout, _) = run(&["verify", path_str(&tampered)]);
        assert_ne!(code, 0, "verify passed with {name} changed:\n{stdout}");
        let named = stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .any(|l| l.contains(name.as_str()));
        assert!(named, "no FAIL line names {name}:\n{stdout}");
    }

    // `db migrate-to` copies a SQLite data dir: the SQLite run's, into PostgreSQL.
    if backend == Backend::Sqlite {
        migrated_to_postgres_reads_the_same(&s, &id);
    }
}

/// `db migrate-to`: the data dir (works, artifacts, tokens, sources, scans,
/// candidates, matches, captures, review history) copied into PostgreSQL
/// lists, exports and verifies the same; a second copy into the filled
/// database is refused.
fn migrated_to_postgres_reads_the_same(s: &Setup, match_id: &str) {
    let Some(db) = reelguard::testkit::postgres::TestDatabase::create_blocking("migrate_to") else {
        return;
    };
    let copied = s.json(&["db", "migrate-to", &db.url]);
    let tables = copied["tables"].as_array().unwrap();
    let rows = |name: &str| {
        tables
            .iter()
            .find(|t| t["table"] == name)
            .unwrap_or_else(|| panic!("{name} not copied: {copied}"))["rows"]
            .as_u64()
            .unwrap()
    };
    for table in [
        "works",
        "fingerprints",
        "artifacts",
        "sources",
        "scans",
        "candidates",
        "matches",
        "captures",
        "match_status_history",
    ] {
        assert!(rows(table) > 0, "{table} copied no rows: {copied}");
    }
    let on_postgres = |args: &[&str]| {
        let mut full = vec![
            "--data-dir",
            path_str(&s.data),
            "--config",
            path_str(&s.config),
        ];
        full.extend_from_slice(args);
        common::run_with_env(&full, &[("REELGUARD_DATABASE_URL", db.url.as_str())])
    };
    for args in [
        vec!["matches", "list", "--json"],
        vec!["works", "list", "--json"],
        vec!["matches", "show", match_id, "--json"],
    ] {
        let (code, sqlite_out, stderr) = s.run(&args);
        assert_eq!(code, 0, "{stderr}");
        let (code, postgres_out, stderr) = on_postgres(&args);
        assert_eq!(code, 0, "on PostgreSQL: {stderr}");
        assert_eq!(sqlite_out, postgres_out, "reelguard {}", args.join(" "));
    }
    let zip = s.dir.join("from-postgres.zip");
    let (code, stdout, stderr) =
        on_postgres(&["evidence", "export", match_id, "-o", path_str(&zip)]);
    assert_eq!(code, 0, "export on PostgreSQL: {stdout}{stderr}");
    let (code, stdout, _) = run(&["verify", path_str(&zip), "--ca", path_str(&s.ca)]);
    assert_eq!(
        code, 0,
        "the bundle exported from PostgreSQL verifies:\n{stdout}"
    );
    let (code, _, stderr) = s.run(&["db", "migrate-to", &db.url]);
    assert_ne!(code, 0, "a second copy into a filled database is refused");
    assert!(stderr.contains("not empty"), "{stderr}");
}

on_both_backends!(capture_faults_keep_the_match_and_a_later_capture_completes);

fn capture_faults_keep_the_match_and_a_later_capture_completes(backend: Backend) {
    let Some(base) = platform(backend) else {
        return;
    };
    // Every fault page serves the same upload: one data dir per fault, or
    // the later ones would be further locations of the first match.
    let faults = ["404", "slow", "huge", "binary", "flaky"];
    let mut setups = std::collections::BTreeMap::new();
    let started = std::time::Instant::now();
    for kind in faults {
        let Some(s) = setup(
            backend,
            &format!(
                "{}\n[evidence]\nretry_after_s = 600.0\n",
                source(
                    kind,
                    &format!("{base}/fault/capture-feed/{kind}/v1"),
                    "timeout_s = 2.0\nretries = 0",
                )
            ),
        ) else {
            return;
        };
        let scan = s.json(&["scan", kind]);
        assert_eq!(scan["scans"][0]["new_matches"], 1, "{kind}: {scan}");
        setups.insert(kind, s);
    }
    assert!(
        started.elapsed().as_secs() < 180,
        "failed captures must not hold up the scans ({:?})",
        started.elapsed()
    );
    let id_of = |kind: &str| {
        let list = setups[kind].json(&["matches", "list"]);
        let matches = list["matches"].as_array().unwrap();
        assert_eq!(matches.len(), 1, "the match is kept: {list}");
        matches[0]["id"].as_str().unwrap().to_string()
    };
    for (kind, reason) in [
        ("404", "404"),
        ("slow", "no answer within"),
        ("huge", "larger than the limit"),
        ("binary", "not an HTML page"),
        ("flaky", "404"),
    ] {
        let s = &setups[kind];
        let show = s.json(&["matches", "show", &id_of(kind)]);
        assert_eq!(show["capture"]["state"], "failed", "{kind}: {show}");
        let error = show["capture"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(reason),
            "{kind}: {error:?} does not say {reason:?}"
        );
        // What could be captured without the page is still recorded.
        let paths = capture_paths(&show);
        assert!(
            paths.iter().any(|p| p == "capture/fetch.json"),
            "{kind}: {paths:?}"
        );
        let zip = s.dir.join(format!("{kind}.zip"));
        let (code, _, stderr) = s.run(&["evidence", "export", &id_of(kind), "-o", path_str(&zip)]);
        assert_ne!(code, 0, "{kind}: exported without a capture");
        assert!(stderr.contains("evidence capture"), "{kind}: {stderr}");
    }

    // A later capture completes once the page answers, and the bundle verifies.
    let s = &setups["flaky"];
    let flaky = id_of("flaky");
    let capture = s.json(&["evidence", "capture", &flaky]);
    assert_eq!(capture["state"], "done", "{capture}");
    assert_eq!(capture["attempts"], 2, "{capture}");
    let zip = s.dir.join("flaky.zip");
    s.json(&["evidence", "export", &flaky, "-o", path_str(&zip)]);
    let (code, stdout, stderr) = run(&["verify", path_str(&zip)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A page that still fails fails again, saying so.
    let (code, _, stderr) = setups["404"].run(&["evidence", "capture", &id_of("404")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
}

on_both_backends!(allowlisted_uploaders_are_not_recorded);

fn allowlisted_uploaders_are_not_recorded(backend: Backend) {
    let Some(base) = platform(backend) else {
        return;
    };
    let Some(s) = setup(
        backend,
        &format!(
            "{}\n[review]\nallowlist = [\"Copycat-1\"]\n",
            source("feed", &format!("{base}/feeds/rss.xml?channel=UC-A"), "")
        ),
    ) else {
        return;
    };
    let scan = s.json(&["scan", "feed"]);
    assert_eq!(scan["scans"][0]["candidates"], 1, "{scan}");
    assert_eq!(scan["scans"][0]["new_matches"], 0, "{scan}");
    let list = s.json(&["matches", "list"]);
    assert_eq!(list["matches"], serde_json::json!([]));
}
