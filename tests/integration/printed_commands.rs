//! Every command reelguard prints for checking its output by hand runs as
//! printed: the code blocks of a provenance package's and an evidence
//! bundle's `VERIFY.md`, the commands of the certificate's HTML page and its
//! QR code. Each is run verbatim with `sh -c` in the unpacked zip (the zip
//! itself beside the files, `reelguard` on PATH) and must succeed; then, one
//! byte of the file each command checks is changed, and that command,
//! `sha256sum -c SHA256SUMS` and `reelguard verify` must all fail.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::platform::{start_platform, write_catalog, Upload};
use common::{path_str, run, scratch_dir, timestamp_config, transform, TsaServer};
use reelguard::provenance::package::{read_zip, write_zip, Files};

fn bikes() -> PathBuf {
    common::repo_root().join("fixtures/bikes.mp4")
}

/// Runs `command` with `sh -c` in `dir`, the test's `reelguard` first on
/// PATH and no configuration of the user's.
fn sh(command: &str, dir: &Path) -> (bool, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_reelguard"))
        .parent()
        .expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("REELGUARD_CONFIG")
        .env_remove("REELGUARD_DATA_DIR")
        .env("XDG_CONFIG_HOME", dir.join(".no-config"))
        .output()
        .expect("run sh");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The lines inside the fenced code blocks of a Markdown text.
fn code_block_lines(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside && !line.trim().is_empty() {
            lines.push(line.to_string());
        }
    }
    assert!(!inside, "an unclosed code block:\n{markdown}");
    lines
}

fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The commands of the certificate page: its `<code class="command">`
/// elements, checked against the last line of the QR code's content.
fn certificate_commands(html: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<code class=\"command\">") {
        rest = &rest[start + "<code class=\"command\">".len()..];
        let end = rest.find("</code>").expect("a closed <code>");
        commands.push(html_unescape(&rest[..end]));
        rest = &rest[end..];
    }
    let payload_line = html
        .lines()
        .find_map(|line| line.strip_prefix("verify: "))
        .map(|line| html_unescape(line.trim_end_matches("</pre></details>")))
        .expect("the QR code content has a verify: line");
    let in_qr: Vec<String> = payload_line.split("  |  ").map(str::to_string).collect();
    assert_eq!(in_qr, commands, "the QR code and the page print the same");
    commands
}

/// The certificate PDF prints `commands` as the HTML page does (wrapped
/// only between words), when `pdftotext` is there to read it.
fn assert_pdf_prints(pdf: &[u8], commands: &[String], dir: &Path) {
    let path = dir.join("certificate.pdf");
    std::fs::write(&path, pdf).unwrap();
    let Ok(output) = Command::new("pdftotext").arg(&path).arg("-").output() else {
        eprintln!("no pdftotext (poppler-utils): the PDF's commands are not read back");
        return;
    };
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = words(&String::from_utf8_lossy(&output.stdout));
    for command in commands {
        assert!(
            text.contains(&words(command)),
            "the PDF does not print {command:?}:\n{text}"
        );
    }
}

/// Writes `files` into `dir`, and the zip beside them as `zip_name`.
fn unpack(files: &Files, dir: &Path, zip_name: &str) {
    let _ = std::fs::remove_dir_all(dir);
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    write_zip(&dir.join(zip_name), files).expect("write the zip");
}

/// The file a command checks, whose change it must notice.
fn checked_file(command: &str, files: &Files) -> String {
    let words: Vec<&str> = command
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split_whitespace()
        .collect();
    let after = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .map(|i| words[i + 1].to_string())
    };
    if command.starts_with("openssl ts -verify") {
        // Over a file: the file; over a hash: the token.
        return after("-data")
            .or_else(|| after("-in"))
            .expect("-data or -in");
    }
    if command.contains("sha256sum -c") {
        let dir = after("cd").map(|d| format!("{d}/")).unwrap_or_default();
        let list = after("-c").expect("a list");
        let text = String::from_utf8(files[&format!("{dir}{list}")].clone()).unwrap();
        let first = text.lines().next().expect("a listed file");
        return format!("{dir}{}", first.split_once("  ").unwrap().1);
    }
    if command.starts_with("reelguard verify") {
        return "manifest.json".to_string();
    }
    panic!("no rule for the printed command {command:?}");
}

/// One byte of `bytes` changed: the last of a token (its signature), else
/// the middle one.
fn tamper(path: &str, bytes: &mut [u8]) {
    let at = if path.ends_with(".tsr") {
        bytes.len() - 1
    } else {
        bytes.len() / 2
    };
    bytes[at] ^= 0x01;
}

/// Runs `commands` in the unpacked `files` (the zip beside them as
/// `zip_name`): each succeeds; after one byte of the file a command checks
/// is changed, it fails, and so do `sha256sum -c SHA256SUMS` and
/// `reelguard verify`.
fn check_commands(label: &str, files: &Files, zip_name: &str, commands: &[String], dir: &Path) {
    let intact = dir.join(format!("{label}-intact"));
    unpack(files, &intact, zip_name);
    for command in commands {
        let (ok, out) = sh(command, &intact);
        assert!(ok, "{label}: `{command}` failed as printed:\n{out}");
        if command.starts_with("openssl ts -verify") {
            assert!(out.contains("Verification: OK"), "{command}: {out}");
        }
    }
    let sums = "sha256sum -c SHA256SUMS".to_string();
    let verify = commands
        .iter()
        .find(|c| c.starts_with("reelguard verify"))
        .expect("a reelguard verify command")
        .clone();
    for command in commands {
        let target = checked_file(command, files);
        let mut changed = files.clone();
        tamper(
            &target,
            changed
                .get_mut(&target)
                .unwrap_or_else(|| panic!("{target} is in the zip")),
        );
        let tampered = dir.join(format!("{label}-tampered"));
        unpack(&changed, &tampered, zip_name);
        for expect_failure in [command, &sums, &verify] {
            let (ok, out) = sh(expect_failure, &tampered);
            assert!(
                !ok,
                "{label}: `{expect_failure}` succeeded with one byte of {target} changed:\n{out}"
            );
        }
    }
}

#[test]
fn every_printed_command_runs_verbatim_and_fails_on_a_changed_byte() {
    let scratch = scratch_dir();
    let dir = scratch.path();
    let data = dir.join("data");
    let tsa = TsaServer::start("127.0.0.1:0");
    let config = timestamp_config(dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);

    // A platform with a disguised copy of the work, watched by a feed source.
    let media = dir.join("platform");
    std::fs::create_dir_all(&media).unwrap();
    transform(
        &bikes(),
        &["-vf", "hflip,scale=480:-2"],
        &media.join("v1.mp4"),
    );
    write_catalog(
        &media,
        &[Upload {
            id: "v1",
            title: "bikes (reupload)",
            uploader: "copycat-1",
            channel: "UC-A",
        }],
    );
    let base = start_platform(&media);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[sources]]\nname = \"feed\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml?channel=UC-A\"\nallow_loopback = true\n"
    ));
    std::fs::write(&config, text).unwrap();
    let cli = |args: &[&str]| {
        let mut full = vec!["--data-dir", path_str(&data), "--config", path_str(&config)];
        full.extend_from_slice(args);
        let (code, stdout, stderr) = run(&full);
        assert_eq!(code, 0, "reelguard {args:?}: {stdout}{stderr}");
        stdout
    };

    let concept = dir.join("concept.md");
    std::fs::write(&concept, "A rider crosses the city at dawn.\n").unwrap();
    let script = dir.join("剧本 v2.txt");
    std::fs::write(
        &script,
        "内景 车库 清晨\nThe bike leans against the wall.\n",
    )
    .unwrap();
    let work: serde_json::Value = serde_json::from_str(&cli(&[
        "register",
        path_str(&bikes()),
        "--title",
        "Dawn ride 清晨骑行",
        "--artifact",
        &format!("concept={}", path_str(&concept)),
        "--artifact",
        &format!("script={}", path_str(&script)),
        "--json",
    ]))
    .unwrap();
    let work_id = work["work_id"].as_str().unwrap();

    // The provenance package, under a name the shell must be told in quotes.
    let package_name = "dawn ride.zip";
    let package = dir.join(package_name);
    cli(&["works", "export", work_id, "-o", path_str(&package)]);
    let files = read_zip(&package).unwrap();
    let verify_md = String::from_utf8(files["VERIFY.md"].clone()).unwrap();
    let mut commands = code_block_lines(&verify_md);
    let openssl = commands
        .iter()
        .filter(|c| c.starts_with("openssl ts -verify"))
        .count();
    assert_eq!(openssl, 4, "3 stages and the chain head:\n{verify_md}");
    assert!(
        commands.contains(&"reelguard verify 'dawn ride.zip'".to_string()),
        "{commands:?}"
    );
    let html = String::from_utf8(files["certificate.html"].clone()).unwrap();
    let on_certificate = certificate_commands(&html);
    assert_eq!(on_certificate.len(), 2, "{on_certificate:?}");
    assert_pdf_prints(&files["certificate.pdf"], &on_certificate, dir);
    commands.extend(on_certificate);
    check_commands("package", &files, package_name, &commands, dir);

    // The evidence bundle of the match a scan finds.
    let scan: serde_json::Value = serde_json::from_str(&cli(&["scan", "feed", "--json"])).unwrap();
    assert_eq!(scan["scans"][0]["new_matches"], 1, "{scan}");
    let list: serde_json::Value =
        serde_json::from_str(&cli(&["matches", "list", "--json"])).unwrap();
    let match_id = list["matches"][0]["id"].as_str().unwrap().to_string();
    let bundle = dir.join("claim.zip");
    cli(&["evidence", "export", &match_id, "-o", path_str(&bundle)]);
    let files = read_zip(&bundle).unwrap();
    let verify_md = String::from_utf8(files["VERIFY.md"].clone()).unwrap();
    let commands = code_block_lines(&verify_md);
    let expected: BTreeMap<&str, usize> = [
        ("reelguard verify claim.zip", 1),
        ("sha256sum -c SHA256SUMS", 1),
        ("openssl ts -verify", 2),
        ("(cd work && sha256sum -c SHA256SUMS)", 1),
    ]
    .into_iter()
    .collect();
    for (start, count) in expected {
        assert_eq!(
            commands.iter().filter(|c| c.starts_with(start)).count(),
            count,
            "{start}:\n{verify_md}"
        );
    }
    check_commands("bundle", &files, "claim.zip", &commands, dir);
}
