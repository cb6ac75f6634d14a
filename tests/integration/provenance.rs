//! Provenance end to end: a work with creation stages is timestamped by a
//! local TSA, exported, and checked by `reelguard verify`, by `openssl ts
//! -verify` and by `sha256sum -c`; every kind of tampering is caught and named.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{path_str, run, run_json, scratch_dir, timestamp_config, Backend, TsaServer};
use reelguard::chain;
use reelguard::provenance::package::{read_zip, write_zip, Files};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A local TSA, a scratch directory, a data dir in it and a config that
/// timestamps with the TSA URL `url` picks.
struct Setup {
    tsa: TsaServer,
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    _db: Option<reelguard::testkit::postgres::TestDatabase>,
}

impl Setup {
    /// None when the run is on PostgreSQL and those runs are off.
    fn with_tsa_url(backend: Backend, url: impl FnOnce(&TsaServer) -> String) -> Option<Setup> {
        let dir = scratch_dir();
        let data = dir.path().join("data");
        let db = common::database_for(backend, "provenance", &data)?;
        let tsa = TsaServer::start("127.0.0.1:0");
        let config = timestamp_config(dir.path(), &[url(&tsa)], &tsa.ca_cert);
        Some(Setup {
            tsa,
            dir,
            data,
            config,
            _db: db,
        })
    }
}

fn bikes() -> PathBuf {
    common::repo_root().join("fixtures/bikes.mp4")
}

/// Three creation-stage files in `dir`.
fn stage_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let files = [
        (
            "concept",
            "concept.md",
            "A rider crosses the city at dawn.\n",
        ),
        (
            "script",
            "剧本 v2.txt",
            "内景 车库 清晨\nThe bike leans against the wall.\n",
        ),
        (
            "storyboard",
            "storyboard.pdf",
            "%PDF-1.4 storyboard frames 1-12\n",
        ),
    ];
    files
        .iter()
        .map(|(stage, name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            (stage.to_string(), path)
        })
        .collect()
}

fn register_with_stages(data: &Path, config: &Path, stages: &[(String, PathBuf)]) -> Value {
    let mut args = vec![
        "--config".to_string(),
        path_str(config).to_string(),
        "register".into(),
        path_str(&bikes()).into(),
        "--title".into(),
        "Dawn ride 清晨骑行".into(),
        "--rights".into(),
        "All rights reserved by Li Hua".into(),
    ];
    for (stage, path) in stages {
        args.push("--artifact".into());
        args.push(format!("{stage}={}", path_str(path)));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_json(data, &args)
}

fn verify(package: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify", path_str(package)];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    (code, format!("{stdout}{stderr}"))
}

fn export(data: &Path, config: &Path, work_id: &str, out: &Path) {
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(data),
        "--config",
        path_str(config),
        "works",
        "export",
        work_id,
        "-o",
        path_str(out),
    ]);
    assert_eq!(code, 0, "export failed: {stdout}{stderr}");
}

on_both_backends!(a_registered_work_exports_a_package_that_verifies_everywhere);

fn a_registered_work_exports_a_package_that_verifies_everywhere(backend: Backend) {
    let Some(Setup {
        tsa,
        dir,
        data,
        config,
        _db,
    }) = Setup::with_tsa_url(backend, |tsa| tsa.url.clone())
    else {
        return;
    };
    let stages = stage_files(dir.path());
    let work = register_with_stages(&data, &config, &stages);

    let artifacts = work["artifacts"].as_array().unwrap();
    let names: Vec<&str> = artifacts
        .iter()
        .map(|a| a["stage"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["concept", "script", "storyboard", "final-cut"]);
    for artifact in artifacts {
        assert!(
            artifact["timestamp"]["time"].is_string(),
            "not stamped: {artifact}"
        );
    }
    let work_id = work["work_id"].as_str().unwrap();

    let package = dir.path().join("work.zip");
    export(&data, &config, work_id, &package);
    let (code, report) = verify(&package, &[]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("all 9 checks passed"), "{report}");
    let (code, report) = verify(&package, &["--ca", path_str(&tsa.ca_cert)]);
    assert_eq!(code, 0, "{report}");

    // The originals check out too, once the video sits beside the stage files.
    std::fs::copy(bikes(), dir.path().join("bikes.mp4")).unwrap();
    let (code, report) = verify(&package, &["--files", path_str(dir.path())]);
    assert_eq!(code, 0, "{report}");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    for (_, path) in &stages {
        std::fs::copy(path, other.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(other.join("剧本 v2.txt"), "edited later\n").unwrap();
    std::fs::copy(bikes(), other.join("bikes.mp4")).unwrap();
    let (code, report) = verify(&package, &["--files", path_str(&other)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("FAIL  original") && report.contains("剧本 v2.txt"),
        "{report}"
    );

    // Independent checks with standard tools, exactly as VERIFY.md says.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    for (name, bytes) in read_zip(&package).unwrap() {
        let path = unpacked.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let sums = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let instructions = std::fs::read_to_string(unpacked.join("VERIFY.md")).unwrap();
    let commands: Vec<&str> = instructions
        .lines()
        .filter(|l| l.starts_with("openssl ts -verify"))
        .collect();
    assert_eq!(commands.len(), 5, "4 stages and the chain head");
    for command in commands {
        let output = Command::new("sh")
            .args(["-c", command])
            .current_dir(&unpacked)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("Verification: OK"),
            "{command}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The original stage file itself against its token.
    let output = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "tokens/02-script.tsr",
            "-data",
        ])
        .arg(&stages[1].1)
        .args([
            "-CAfile",
            "tsa/tsa-ca.pem",
            "-untrusted",
            "tsa/tsa-certs.pem",
        ])
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("Verification: OK"));
}

/// Re-seals a package the way a forger would: the manifest's file list and
/// SHA256SUMS recomputed, the manifest token dropped (it cannot be forged).
fn reseal(mut files: Files) -> Files {
    files.remove("timestamp/manifest.tsr");
    files.remove("SHA256SUMS");
    let mut manifest: Value =
        serde_json::from_slice(&files.remove("manifest.json").unwrap()).unwrap();
    manifest["files"] = files
        .iter()
        .map(|(path, bytes)| serde_json::json!({"path": path, "sha256": hex::encode(Sha256::digest(bytes)), "size": bytes.len()}))
        .collect();
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    let sums: String = files
        .iter()
        .map(|(p, b)| format!("{}  {p}\n", hex::encode(Sha256::digest(b))))
        .collect();
    files.insert("SHA256SUMS".into(), sums.into_bytes());
    files
}

/// Rewrites the stage list (a consistent new chain, new head) as a forger would.
fn rewrite_stages(files: &Files, change: impl FnOnce(&mut Vec<Value>)) -> Files {
    let mut files = files.clone();
    let mut manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let work_id = manifest["work"]["id"].as_str().unwrap().to_string();
    let mut artifacts = manifest["artifacts"].as_array().unwrap().clone();
    change(&mut artifacts);
    let items: Vec<(String, String, u64, String)> = artifacts
        .iter()
        .map(|a| {
            (
                a["stage"].as_str().unwrap().into(),
                a["file_name"].as_str().unwrap().into(),
                a["size_bytes"].as_u64().unwrap(),
                a["sha256"].as_str().unwrap().into(),
            )
        })
        .collect();
    files.retain(|name, _| !name.starts_with("chain/"));
    for (artifact, (entry, hash)) in artifacts
        .iter_mut()
        .zip(chain::extend(&work_id, None, &items))
    {
        let entry_file = format!("chain/{:02}-{}.txt", entry.seq, entry.stage);
        files.insert(entry_file.clone(), entry.canonical_text().into_bytes());
        artifact["seq"] = entry.seq.into();
        artifact["prev_hash"] = entry.prev_hash.clone().into();
        artifact["entry_hash"] = hash.clone().into();
        artifact["entry_file"] = entry_file.into();
        manifest["chain_head"]["hash"] = hash.into();
        manifest["chain_head"]["seq"] = entry.seq.into();
    }
    manifest["artifacts"] = artifacts.into();
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    reseal(files)
}

on_both_backends!(tampering_is_caught_and_named);

fn tampering_is_caught_and_named(backend: Backend) {
    let Some(Setup {
        tsa,
        dir,
        data,
        config,
        _db,
    }) = Setup::with_tsa_url(backend, |tsa| tsa.url.clone())
    else {
        return;
    };
    let work = register_with_stages(&data, &config, &stage_files(dir.path()));
    let package = dir.path().join("work.zip");
    export(&data, &config, work["work_id"].as_str().unwrap(), &package);
    let original = read_zip(&package).unwrap();
    let tampered = dir.path().join("tampered.zip");

    let check = |files: &Files, what: &str, expected: &[&str]| {
        write_zip(&tampered, files).unwrap();
        let (code, report) = verify(&tampered, &["--ca", path_str(&tsa.ca_cert)]);
        assert_eq!(code, 1, "{what}: verify passed\n{report}");
        let failures: Vec<&str> = report.lines().filter(|l| l.starts_with("FAIL")).collect();
        for needle in expected {
            assert!(
                failures.iter().any(|l| l.contains(needle)),
                "{what}: no FAIL line names {needle:?}\n{report}"
            );
        }
    };

    // One byte changed in any file.
    for name in original.keys() {
        let mut files = original.clone();
        let bytes = files.get_mut(name).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        check(&files, &format!("byte changed in {name}"), &[name]);
    }

    // Two stages swapped, the chain rebuilt consistently: the head token no longer matches.
    let files = rewrite_stages(&original, |a| a.swap(0, 1));
    check(&files, "stages reordered", &["chain-head.tsr"]);

    // A stage dropped, the chain rebuilt: the head token no longer matches.
    let files = rewrite_stages(&original, |a| {
        a.remove(1);
    });
    check(&files, "stage dropped", &["chain-head.tsr"]);

    // A stage dropped without rebuilding: the chain itself breaks.
    let mut files = original.clone();
    let mut manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    manifest["artifacts"].as_array_mut().unwrap().remove(2);
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    check(
        &reseal(files),
        "stage removed from the manifest",
        &["hash chain"],
    );

    // Two tokens swapped (and the sums recomputed): each covers the wrong file.
    let mut files = original.clone();
    let first = files["tokens/01-concept.tsr"].clone();
    let second = files["tokens/02-script.tsr"].clone();
    files.insert("tokens/01-concept.tsr".into(), second);
    files.insert("tokens/02-script.tsr".into(), first);
    check(
        &reseal(files),
        "tokens swapped",
        &["tokens/01-concept.tsr", "tokens/02-script.tsr"],
    );

    // A file slipped in after export.
    let mut files = original.clone();
    files.insert("tokens/05-music.tsr".into(), b"not a token".to_vec());
    check(&files, "file added", &["tokens/05-music.tsr"]);
}

on_both_backends!(tsa_down_leaves_stamps_pending_until_it_returns);

fn tsa_down_leaves_stamps_pending_until_it_returns(backend: Backend) {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let ca = reelguard::testkit::tsa::TsaFiles::create(&common::test_media_root().join("tsa"))
        .unwrap()
        .ca_cert;
    let dir = scratch_dir();
    let data = dir.path().join("data");
    let Some(_db) = common::database_for(backend, "provenance", &data) else {
        return;
    };
    let config = timestamp_config(dir.path(), &[format!("http://{addr}/tsr")], &ca);
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "register",
        path_str(&bikes()),
        "--title",
        "Dawn ride",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("pending timestamp"), "{stderr}");
    let work: Value = serde_json::from_str(&stdout).unwrap();
    let work_id = work["work_id"].as_str().unwrap();
    assert!(work["artifacts"][0]["timestamp"].is_null());

    let (code, stdout, _) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "works",
        "timestamp",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("still pending") && stdout.contains("cannot connect"),
        "{stdout}"
    );

    // Exported while pending: verify says so, and the package, its
    // certificate and a certificate made on its own say DRAFT at the top.
    let package = dir.path().join("pending.zip");
    export(&data, &config, work_id, &package);
    let (code, report) = verify(&package, &["--ca", path_str(&ca)]);
    assert_eq!(code, 1);
    assert!(report.contains("pending"), "{report}");
    let english = "DRAFT — 1 of 1 stages not yet timestamped";
    let chinese = "草稿 — 1 个阶段中有 1 个尚未加盖时间戳";
    assert_draft(&read_zip(&package).unwrap(), Some((english, chinese)));
    assert_certificate_draft(
        &data,
        &config,
        work_id,
        dir.path(),
        Some((english, chinese)),
    );

    let _tsa = TsaServer::start(&addr);
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "works",
        "timestamp",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 timestamp(s) obtained"), "{stdout}");
    let shown = run_json(&data, &["works", "show", work_id]);
    assert!(
        shown["artifacts"][0]["timestamp"]["time"].is_string(),
        "{shown}"
    );
    assert!(
        shown["chain_head"]["timestamp"]["time"].is_string(),
        "{shown}"
    );

    let package = dir.path().join("work.zip");
    export(&data, &config, work_id, &package);
    let (code, report) = verify(&package, &["--ca", path_str(&ca)]);
    assert_eq!(code, 0, "{report}");
    assert_draft(&read_zip(&package).unwrap(), None);
    assert_certificate_draft(&data, &config, work_id, dir.path(), None);
}

/// The package's VERIFY.md and certificate start with the draft notice in
/// both languages (`Some`), or say nothing of a draft (`None`).
fn assert_draft(files: &Files, draft: Option<(&str, &str)>) {
    let verify_md = String::from_utf8(files["VERIFY.md"].clone()).unwrap();
    let html = String::from_utf8(files["certificate.html"].clone()).unwrap();
    match draft {
        Some((english, chinese)) => {
            assert!(
                verify_md.starts_with(&format!("**{english}**\n\n**{chinese}**")),
                "{verify_md}"
            );
            let at = html.find(english).expect("the certificate says DRAFT");
            assert!(html.contains(chinese), "{html}");
            assert!(at < html.find("<h1>").unwrap(), "above the title");
        }
        None => {
            assert!(verify_md.starts_with("# Verifying"), "{verify_md}");
            assert!(!verify_md.contains("DRAFT") && !verify_md.contains("草稿"));
            assert!(!html.contains("DRAFT") && !html.contains("草稿"));
        }
    }
}

/// `works certificate` (PDF and HTML) warns on stderr and writes DRAFT at
/// the top of both (`Some`), or neither (`None`).
fn assert_certificate_draft(
    data: &Path,
    config: &Path,
    work_id: &str,
    dir: &Path,
    draft: Option<(&str, &str)>,
) {
    for name in ["cert.html", "cert.pdf"] {
        let out = dir.join(name);
        let (code, stdout, stderr) = run(&[
            "--data-dir",
            path_str(data),
            "--config",
            path_str(config),
            "works",
            "certificate",
            work_id,
            "-o",
            path_str(&out),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let text = if name.ends_with(".html") {
            std::fs::read_to_string(&out).unwrap()
        } else {
            let Ok(output) = Command::new("pdftotext")
                .args(["-l", "1"])
                .arg(&out)
                .arg("-")
                .output()
            else {
                eprintln!("no pdftotext (poppler-utils): the PDF's text is not checked");
                continue;
            };
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        match draft {
            Some((english, chinese)) => {
                assert!(
                    stderr.contains("warning:")
                        && stderr.contains(english)
                        && stderr.contains(chinese),
                    "{stderr}"
                );
                let first = text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('<') && !l.starts_with(':'))
                    .unwrap_or_default()
                    .to_string();
                assert!(text.contains(english), "{name}: {text}");
                if name.ends_with(".pdf") {
                    assert_eq!(first, english, "{name} starts with the notice:\n{text}");
                }
            }
            None => {
                assert!(!stderr.contains("DRAFT"), "{stderr}");
                assert!(!text.contains("DRAFT"), "{name}: {text}");
            }
        }
    }
}

on_both_backends!(a_bad_tsa_answer_is_refused_and_recorded);

fn a_bad_tsa_answer_is_refused_and_recorded(backend: Backend) {
    let Some(Setup {
        tsa: _tsa,
        dir: _dir,
        data,
        config,
        _db,
    }) = Setup::with_tsa_url(backend, |tsa| format!("{}/fault/wrong-imprint", tsa.base))
    else {
        return;
    };
    let work = run_json(
        &data,
        &[
            "--config",
            path_str(&config),
            "register",
            path_str(&bikes()),
            "--title",
            "Dawn ride",
        ],
    );
    let artifact = &work["artifacts"][0];
    assert!(artifact["timestamp"].is_null(), "{artifact}");
    assert!(
        artifact["stamp_error"]
            .as_str()
            .unwrap()
            .contains("message imprint"),
        "{artifact}"
    );
}

#[test]
fn bad_artifact_arguments_exit_2() {
    let dir = scratch_dir();
    let data = dir.path().join("data");
    let video = bikes();
    for (value, expected) in [
        ("sketch=notes.txt", "unknown stage"),
        ("script", "expected STAGE=FILE"),
        ("script=/nonexistent/script.txt", "not a readable file"),
        ("final-cut=other.mp4", "final cut"),
    ] {
        let (code, _, stderr) = run(&[
            "--data-dir",
            path_str(&data),
            "register",
            path_str(&video),
            "--title",
            "t",
            "--artifact",
            value,
        ]);
        assert_eq!(code, 2, "{value}: {stderr}");
        assert!(stderr.contains(expected), "{value}: {stderr}");
    }
    let (code, _, stderr) = run(&["verify", path_str(&video)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a zip"), "{stderr}");
}

on_both_backends!(the_certificate_pdf_renders_and_its_qr_code_names_the_chain_head);

fn the_certificate_pdf_renders_and_its_qr_code_names_the_chain_head(backend: Backend) {
    if Command::new("pdftoppm").arg("-v").output().is_err() {
        eprintln!("note: pdftoppm is missing (apt-get install poppler-utils); skipping");
        return;
    }
    let Some(Setup {
        tsa: _tsa,
        dir,
        data,
        config,
        _db,
    }) = Setup::with_tsa_url(backend, |tsa| tsa.url.clone())
    else {
        return;
    };
    let work = register_with_stages(&data, &config, &stage_files(dir.path()));
    let work_id = work["work_id"].as_str().unwrap();
    let head = run_json(&data, &["works", "show", work_id])["chain_head"]["hash"]
        .as_str()
        .unwrap()
        .to_string();

    let pdf = dir.path().join("cert.pdf");
    let (code, _, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "works",
        "certificate",
        work_id,
        "-o",
        path_str(&pdf),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let html = dir.path().join("cert.html");
    let (code, _, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "works",
        "certificate",
        work_id,
        "-o",
        path_str(&html),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read_to_string(&html).unwrap().contains(&head));

    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "300", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a rendered page");
    std::fs::copy(
        &page,
        common::test_media_root().join(format!("certificate-page1-{}.png", backend.name())),
    )
    .unwrap();
    let image = image::open(&page).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on page 1");
    let (_, content) = grids[0].decode().unwrap();
    assert!(
        content.contains(&format!("chain-head-sha256: {head}")),
        "{content}"
    );
    assert!(content.contains(work_id), "{content}");
}

on_both_backends!(the_daemon_retries_pending_timestamps_when_the_tsa_returns);

fn the_daemon_retries_pending_timestamps_when_the_tsa_returns(backend: Backend) {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let ca = reelguard::testkit::tsa::TsaFiles::create(&common::test_media_root().join("tsa"))
        .unwrap()
        .ca_cert;
    let dir = scratch_dir();
    let data = dir.path().join("data");
    let Some(_db) = common::database_for(backend, "provenance", &data) else {
        return;
    };
    let config = timestamp_config(dir.path(), &[format!("http://{addr}/tsr")], &ca);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("retry_interval_s = 1.0\n");
    std::fs::write(&config, text).unwrap();
    let work = run_json(
        &data,
        &[
            "--config",
            path_str(&config),
            "register",
            path_str(&bikes()),
            "--title",
            "Dawn ride",
        ],
    );
    let work_id = work["work_id"].as_str().unwrap().to_string();
    assert!(work["artifacts"][0]["timestamp"].is_null());

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_reelguard"))
        .args([
            "--data-dir",
            path_str(&data),
            "--config",
            path_str(&config),
            "daemon",
        ])
        .env("REELGUARD_HTTP_LISTEN", "127.0.0.1:0")
        .env_remove("REELGUARD_DATA_DIR")
        .env_remove("REELGUARD_CONFIG")
        .env_remove("REELGUARD_DATABASE_URL")
        .envs(common::database_url_of(&data).map(|url| ("REELGUARD_DATABASE_URL", url)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _tsa = TsaServer::start(&addr);
    let started = std::time::Instant::now();
    let stamped = loop {
        let shown = run_json(&data, &["works", "show", &work_id]);
        if shown["chain_head"]["timestamp"]["time"].is_string()
            && shown["artifacts"][0]["timestamp"]["time"].is_string()
        {
            break true;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    assert!(
        stamped,
        "the daemon did not complete the pending timestamps within 60 s"
    );
}
