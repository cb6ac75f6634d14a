//! The evidence bundle (`evidence export MATCH -o claim.zip`) and its
//! offline check (`reelguard verify claim.zip`).
//!
//! Layout (DESIGN.md):
//! - `manifest.json`: every file with SHA-256 and size, the match, the work,
//!   the capture (time, manifest hash, token time), reelguard's version;
//! - `timestamp/manifest.tsr`: RFC 3161 token over `manifest.json`;
//!   `timestamp/tsa-ca.pem`, `timestamp/tsa-certs.pem`: the CA and TSA certificates;
//! - `capture/` (with `capture/manifest.json` and its token `capture/manifest.tsr`),
//!   `frames/`: what the capture sealed, byte for byte;
//! - `work/`: the work's provenance package (`works export`);
//! - `report.html`, `report.pdf`, `takedown/`, `VERIFY.md`;
//! - `SHA256SUMS`: every file, for `sha256sum -c`.
//!
//! **Invariant:** a sealed bundle is never modified; the export writes a
//! new zip through a temporary file.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::capture::{self, CaptureEnv};
use super::frames::best_first;
use super::{report, sha256_hex, takedown, Blobs};
use crate::clock::to_seconds;
use crate::domain::OwnerConfig;
use crate::domain::{CaptureState, MatchStatus, StoredSegment};
use crate::provenance::commands;
use crate::provenance::package::{self, token_check, Check, Files};
use crate::store::{CapturedFile, MatchRecord, StatusChange};
use crate::timestamp::token::{certificate_pem, parse_pem_certificates, verify_token};
use crate::timestamp::Stamper;

/// What `manifest.json` says this zip is.
pub const BUNDLE_KIND: &str = "reelguard-evidence-bundle";
const MANIFEST: &str = "manifest.json";
const SUMS: &str = "SHA256SUMS";
const MANIFEST_TOKEN: &str = "timestamp/manifest.tsr";
pub const CA_FILE: &str = "timestamp/tsa-ca.pem";
const TSA_CERTS_FILE: &str = "timestamp/tsa-certs.pem";
const WORK_PREFIX: &str = "work/";

/// Everything the report and the takedown texts say, gathered once.
pub struct Claim {
    pub match_id: String,
    pub status: MatchStatus,
    pub score: f64,
    pub segments: Vec<StoredSegment>,
    pub history: Vec<StatusChange>,
    pub work_id: String,
    pub work_title: String,
    pub work_owner: Option<String>,
    pub work_registered_at: String,
    pub work_sha256: String,
    pub rights_statement: Option<String>,
    pub upload_url: String,
    pub upload_title: String,
    pub platform: String,
    pub uploader: String,
    pub published_at: Option<String>,
    pub found_at: String,
    pub captured_at: String,
    pub capture_manifest_sha256: String,
    pub capture_tsa_time: Option<String>,
    pub capture_tsa_name: Option<String>,
    pub owner: OwnerConfig,
    pub exported_at: String,
    /// The captured files (capture/, frames/), by bundle path.
    pub captured_files: Vec<CapturedFile>,
    /// The frame pairs shown, with the moment of each side.
    pub frame_pairs: Vec<FramePair>,
    /// What the capture could not get (no Chromium, media not kept, ...).
    pub capture_notes: Vec<String>,
}

/// One frame pair of `frames/pairs.json`: the work's frame on the left,
/// the upload's on the right.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct FramePair {
    pub file: String,
    pub work_s: f64,
    pub upload_s: f64,
}

#[derive(serde::Deserialize)]
struct FramePairs {
    pairs: Vec<FramePair>,
}

impl Claim {
    /// Whether a reviewer confirmed the match (then claimed or resolved it):
    /// only then are its notices signed.
    pub fn is_confirmed(&self) -> bool {
        matches!(
            self.status,
            MatchStatus::Confirmed | MatchStatus::Claimed | MatchStatus::Resolved
        )
    }

    /// "2026-11-25T10:00:00Z by CN=… (RFC 3161)" or why there is no token.
    pub fn capture_stamp_summary(&self) -> String {
        match (&self.capture_tsa_time, &self.capture_tsa_name) {
            (Some(time), Some(name)) => format!("{time}, TSA {name}"),
            _ => "not timestamped: no TSA was configured at capture".into(),
        }
    }
}

/// What an export wrote.
pub struct Exported {
    pub files: Vec<(String, u64)>,
    pub notes: Vec<String>,
    pub manifest_stamped: bool,
}

/// Writes the evidence bundle of match `match_id` to `out`.
pub async fn export(
    env: &CaptureEnv<'_>,
    stamper: &Stamper,
    match_id: &str,
    out: &Path,
) -> anyhow::Result<Exported> {
    let store = env.store;
    let record = store.find_match(match_id).await?;
    let capture = store.capture(&record.id).await?;
    if capture.state != CaptureState::Done {
        anyhow::bail!(
            "the capture of match {} is {}{}; run `reelguard evidence capture {}` first",
            record.id,
            capture.state,
            capture
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            record.id
        );
    }
    let blobs = Blobs::new(env.data_dir);
    let mut files = Files::new();
    for file in &capture.files {
        let bytes = blobs
            .get(&file.sha256)
            .with_context(|| format!("{} of match {}", file.path, record.id))?;
        files.insert(file.path.clone(), bytes);
    }
    let mut notes = Vec::new();
    let mut chains: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut capture_tsa_name = None;
    if let Some(token) = &capture.token {
        files.insert(capture::MANIFEST_TOKEN.into(), token.clone());
        let digest = hex_digest(capture.manifest_sha256.as_deref().unwrap_or_default())?;
        let verified =
            verify_token(token, &digest, None, stamper.anchors()).with_context(|| {
                format!(
                    "the capture token of match {} does not check against timestamp.trust_anchors",
                    record.id
                )
            })?;
        capture_tsa_name = Some(verified.tsa_name.clone());
        chains.push(verified.chain);
    } else {
        notes
            .push("the capture is not timestamped (no TSA was configured when it was made)".into());
    }
    let capture_notes: Vec<String> = files
        .get("capture/fetch.json")
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v["notes"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();

    let frame_pairs = files
        .get("frames/pairs.json")
        .and_then(|b| serde_json::from_slice::<FramePairs>(b).ok())
        .map(|p| p.pairs)
        .unwrap_or_default();

    // The work's provenance package, nested under work/.
    let work = store.find_work(&record.work_id).await?;
    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let package_path = temp.path().join("work.zip");
    match crate::provenance::export_package(
        store,
        stamper,
        &work,
        &env.settings.owner,
        &env.settings.public_url,
        &package_path,
    )
    .await
    {
        Ok(pending) => {
            if pending > 0 {
                notes.push(format!(
                    "{pending} provenance item(s) of the work are still waiting for a timestamp"
                ));
            }
            for (name, bytes) in package::read_zip(&package_path)? {
                files.insert(format!("{WORK_PREFIX}{name}"), bytes);
            }
        }
        Err(e) => notes.push(format!("no work/ provenance package: {e:#}")),
    }

    let (status_history, segments) = (
        store.status_history(&record.id).await?,
        best_first(&record.segments),
    );
    let exported_at = to_seconds(Utc::now());
    let claim = Claim {
        match_id: record.id.clone(),
        status: record.status,
        score: record.score,
        segments,
        history: status_history,
        work_id: work.id.clone(),
        work_title: work.title.clone(),
        work_owner: work.owner.clone(),
        work_registered_at: to_seconds(work.created_at),
        work_sha256: work.source_sha256.clone(),
        rights_statement: work.rights_statement.clone(),
        upload_url: record.candidate_url.clone(),
        upload_title: record.candidate_title.clone(),
        platform: record.platform.clone(),
        uploader: record.uploader.clone(),
        published_at: record.published_at.map(to_seconds),
        found_at: crate::clock::stored(record.created_at),
        captured_at: capture.started_at.map(to_seconds).unwrap_or_default(),
        capture_manifest_sha256: capture.manifest_sha256.clone().unwrap_or_default(),
        capture_tsa_time: capture.tsa_time.map(to_seconds),
        capture_tsa_name,
        owner: env.settings.owner.clone(),
        exported_at: exported_at.clone(),
        captured_files: capture.files.clone(),
        frame_pairs,
        capture_notes,
    };
    let html = report::render_html(&claim);
    match report::render_pdf(
        &html,
        &files,
        env.settings.evidence.chromium.as_deref(),
        env.settings.evidence.chromium_timeout_s,
    )
    .await
    {
        Ok(pdf) => {
            files.insert("report.pdf".into(), pdf);
        }
        Err(e) => notes.push(format!("no report.pdf: {e:#}")),
    }
    files.insert("report.html".into(), html.into_bytes());
    for (path, text) in takedown::takedown_files(&claim) {
        files.insert(path, text.into_bytes());
    }
    let printed = Printed {
        bundle_file: commands::zip_name(out, "claim.zip"),
        capture_token: !chains.is_empty(),
        manifest_token: !chains.is_empty() && stamper.is_configured(),
        work_package: files.contains_key(&format!("{WORK_PREFIX}{SUMS}")),
    };
    files.insert(
        "VERIFY.md".into(),
        verify_instructions(&claim, &printed).into_bytes(),
    );
    if !chains.is_empty() {
        let (anchors, tsa_certs) = split_chains(&chains);
        files.insert(CA_FILE.into(), anchors.into_bytes());
        files.insert(TSA_CERTS_FILE.into(), tsa_certs.into_bytes());
    }

    let manifest = manifest(&record, &claim, &files, &notes);
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("JSON values serialise");
    let mut manifest_stamped = false;
    if stamper.is_configured() {
        let digest: [u8; 32] = Sha256::digest(&manifest_bytes).into();
        match stamper.stamp(&digest).await {
            Ok(stamp) => {
                files.insert(MANIFEST_TOKEN.into(), stamp.token);
                manifest_stamped = true;
            }
            Err(e) => notes.push(format!("manifest.json is not timestamped: {e}")),
        }
    }
    files.insert(MANIFEST.into(), manifest_bytes);
    let sums: String = files
        .iter()
        .map(|(path, bytes)| format!("{}  {path}\n", sha256_hex(bytes)))
        .collect();
    files.insert(SUMS.into(), sums.into_bytes());
    package::write_zip(out, &files)?;
    Ok(Exported {
        files: files
            .iter()
            .map(|(p, b)| (p.clone(), b.len() as u64))
            .collect(),
        notes,
        manifest_stamped,
    })
}

fn hex_digest(text: &str) -> anyhow::Result<[u8; 32]> {
    crate::provenance::parse_digest(text)
}

/// The anchors (last of each chain) and the other certificates, as PEM.
fn split_chains(chains: &[Vec<Vec<u8>>]) -> (String, String) {
    let mut anchors: Vec<&Vec<u8>> = Vec::new();
    let mut others: Vec<&Vec<u8>> = Vec::new();
    for chain in chains {
        if let Some((anchor, rest)) = chain.split_last() {
            if !anchors.contains(&anchor) {
                anchors.push(anchor);
            }
            for cert in rest {
                if !others.contains(&cert) {
                    others.push(cert);
                }
            }
        }
    }
    let pem = |certs: &[&Vec<u8>]| certs.iter().map(|c| certificate_pem(c)).collect::<String>();
    (pem(&anchors), pem(&others))
}

fn manifest(
    record: &MatchRecord,
    claim: &Claim,
    files: &Files,
    notes: &[String],
) -> serde_json::Value {
    let listed: Vec<_> = files
        .iter()
        .map(
            |(path, bytes)| json!({"path": path, "sha256": sha256_hex(bytes), "size": bytes.len()}),
        )
        .collect();
    json!({
        "kind": BUNDLE_KIND,
        "reelguard_version": env!("CARGO_PKG_VERSION"),
        "exported_at": claim.exported_at,
        "match": {
            "id": record.id,
            "status": record.status,
            "score": record.score,
            "segments": claim.segments,
            "found_at": crate::clock::stored(record.created_at),
            "history": claim.history.iter().map(|c| json!({
                "from": c.from, "to": c.to, "note": c.note, "at": to_seconds(c.at),
            })).collect::<Vec<_>>(),
        },
        "upload": {
            "url": record.candidate_url,
            "platform": record.platform,
            "uploader": record.uploader,
            "title": record.candidate_title,
            "published_at": record.published_at.map(to_seconds),
            "media_sha256": record.media_sha256,
        },
        "work": {
            "id": claim.work_id,
            "title": claim.work_title,
            "owner": claim.work_owner,
            "registered_at": claim.work_registered_at,
            "sha256": claim.work_sha256,
            "provenance_package": files.contains_key("work/manifest.json").then_some("work/"),
        },
        "capture": {
            "captured_at": claim.captured_at,
            "manifest": capture::MANIFEST,
            "manifest_sha256": claim.capture_manifest_sha256,
            "token": files.contains_key(capture::MANIFEST_TOKEN).then_some(capture::MANIFEST_TOKEN),
            "token_time": claim.capture_tsa_time,
        },
        "notes": notes,
        "files": listed,
    })
}

/// What `VERIFY.md` can promise about the bundle it goes into.
struct Printed {
    /// The bundle's file name, as `reelguard verify` is told it.
    bundle_file: String,
    /// The capture manifest has a token (and the bundle the CA certificates).
    capture_token: bool,
    /// The bundle's manifest is to be timestamped too (with the capture's
    /// CA; without a token the bundle fails `reelguard verify` anyway).
    manifest_token: bool,
    /// `work/` holds the work's provenance package.
    work_package: bool,
}

/// `VERIFY.md`. Every line inside its code blocks is a command that runs as
/// printed (`provenance::commands` formats them); commands with placeholders
/// are in the prose.
fn verify_instructions(claim: &Claim, printed: &Printed) -> String {
    let mut text = format!(
        "# Verifying this evidence bundle\n\n\
         Match `{}`: the upload {} copies the work \"{}\" (`{}`).\n\
         The upload was captured on {} and the capture was sealed by an RFC 3161 timestamp;\n\
         the whole bundle is sealed by a second token over `manifest.json`.\n\n\
         Each command in the blocks below runs as shown, in the directory the bundle is in\n\
         (reelguard) or the directory it was unpacked into (the others).\n\n\
         ## With reelguard\n\n\
         ```\n{}\n```\n\n\
         Add `--ca FILE` to check the tokens against a CA certificate you trust instead of the\n\
         one in the bundle.\n\n\
         ## With standard tools only\n\n\
         Unpack the zip, then in its directory:\n\n\
         ```\n{}\n",
        claim.match_id,
        claim.upload_url,
        claim.work_title,
        claim.work_id,
        claim.captured_at,
        commands::reelguard_verify(&printed.bundle_file),
        commands::sha256sum_check(SUMS),
    );
    if printed.manifest_token {
        text.push_str(&commands::openssl_verify_data(
            MANIFEST_TOKEN,
            MANIFEST,
            CA_FILE,
            TSA_CERTS_FILE,
        ));
        text.push('\n');
    }
    if printed.capture_token {
        text.push_str(&commands::openssl_verify_data(
            capture::MANIFEST_TOKEN,
            capture::MANIFEST,
            CA_FILE,
            TSA_CERTS_FILE,
        ));
        text.push('\n');
    }
    if printed.work_package {
        text.push_str(&commands::sha256sum_check_in(
            WORK_PREFIX.trim_end_matches('/'),
            SUMS,
        ));
        text.push('\n');
    }
    text.push_str(&format!(
        "```\n\n\
         `manifest.json` lists every file with its SHA-256 and size; `{}` lists the captured\n\
         files the same way, and its token proves they existed, unchanged, at the capture time.\n\
         `{}` prints that time and the TSA.\n",
        capture::MANIFEST,
        commands::openssl_token_text(capture::MANIFEST_TOKEN)
    ));
    if printed.work_package {
        text.push_str(
            "The work's own provenance package is under `work/`: `work/VERIFY.md` says how to check\n\
             its stages and chain head (from inside `work/`).\n",
        );
    }
    if !printed.capture_token {
        text.push_str(
            "The capture has no timestamp token (no TSA was configured when it was made), so the\n\
             bundle holds no TSA certificates and no `openssl ts -verify` step applies.\n",
        );
    }
    text.push_str(&format!(
        "Compare the CA in `{CA_FILE}` (`openssl x509 -in {CA_FILE} -noout -fingerprint -sha256`)\n\
         with the fingerprint your TSA publishes.\n"
    ));
    text
}

/// The CA certificates shipped in a bundle.
pub fn bundle_anchors(files: &Files) -> Vec<Certificate> {
    files
        .get(CA_FILE)
        .and_then(|pem| parse_pem_certificates(pem).ok())
        .unwrap_or_default()
}

/// Checks an evidence bundle: every listed file, `SHA256SUMS`, the
/// manifest's token, the capture manifest and its token, and the nested
/// provenance package. Each failure names its file.
/// What checking an export found: every check, and where its trust
/// anchors came from.
pub struct ArchiveVerification {
    /// An evidence bundle (else a provenance package).
    pub is_bundle: bool,
    pub anchor_source: String,
    pub checks: Vec<Check>,
}

impl ArchiveVerification {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.ok).count()
    }
}

/// Checks a provenance package or an evidence bundle (by the `kind` in its
/// manifest), as `reelguard verify` and the dashboard's public page do:
/// against `anchors` (with the name of where they came from) or, without
/// them, the CA shipped inside; with `originals`, the original artifact
/// files in that directory too.
pub fn verify_archive(
    files: &Files,
    anchors: Option<(Vec<Certificate>, &str)>,
    originals: Option<&Path>,
) -> ArchiveVerification {
    let is_bundle = files
        .get("manifest.json")
        .and_then(|m| serde_json::from_slice::<serde_json::Value>(m).ok())
        .is_some_and(|m| m["kind"] == BUNDLE_KIND);
    let (anchors, anchor_source) = match anchors {
        Some((anchors, source)) => (anchors, source.to_string()),
        None => {
            let shipped = if is_bundle {
                bundle_anchors(files)
            } else {
                package::package_anchors(files, "")
            };
            let fingerprints: Vec<String> = shipped
                .iter()
                .map(|c| {
                    use der::Encode;
                    let der = c.to_der().unwrap_or_default();
                    format!(
                        "{} (SHA-256 {})",
                        c.tbs_certificate.subject,
                        hex::encode(Sha256::digest(der))
                    )
                })
                .collect();
            let source = format!(
                "the CA shipped in the package: {}; pass --ca to check against a CA you trust",
                if fingerprints.is_empty() {
                    "none".to_string()
                } else {
                    fingerprints.join(", ")
                }
            );
            (shipped, source)
        }
    };
    let checks = if is_bundle {
        let mut checks = verify_bundle(files, &anchors);
        if let Some(dir) = originals {
            checks.extend(
                package::verify_package(files, "work/", &anchors, Some(dir))
                    .into_iter()
                    .filter(|c| c.item.starts_with("original ")),
            );
        }
        checks
    } else {
        package::verify_package(files, "", &anchors, originals)
    };
    ArchiveVerification {
        is_bundle,
        anchor_source,
        checks,
    }
}

pub fn verify_bundle(files: &Files, anchors: &[Certificate]) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(manifest_bytes) = files.get(MANIFEST) else {
        checks.push(Check::fail(
            MANIFEST,
            "missing: this is not a reelguard bundle",
        ));
        return checks;
    };
    let manifest: serde_json::Value = match serde_json::from_slice(manifest_bytes) {
        Ok(value) => value,
        Err(e) => {
            checks.push(Check::fail(MANIFEST, format!("not valid JSON: {e}")));
            return checks;
        }
    };
    if manifest["kind"] != BUNDLE_KIND {
        checks.push(Check::fail(
            MANIFEST,
            format!("kind is {}, not {BUNDLE_KIND}", manifest["kind"]),
        ));
        return checks;
    }

    // Every listed file, and nothing unlisted.
    let mut listed = BTreeSet::new();
    let mut good = 0;
    for item in manifest["files"].as_array().into_iter().flatten() {
        let name = item["path"].as_str().unwrap_or_default().to_string();
        listed.insert(name.clone());
        match files.get(&name) {
            None => checks.push(Check::fail(&name, "listed in manifest.json but missing")),
            Some(bytes) if !same(bytes, &item["sha256"], &item["size"]) => {
                checks.push(Check::fail(
                    &name,
                    format!(
                        "changed: SHA-256 {} ({} bytes), manifest.json says {} ({} bytes)",
                        sha256_hex(bytes),
                        bytes.len(),
                        item["sha256"].as_str().unwrap_or("?"),
                        item["size"]
                    ),
                ))
            }
            Some(_) => good += 1,
        }
    }
    for name in files.keys() {
        if !listed.contains(name) && ![MANIFEST, SUMS, MANIFEST_TOKEN].contains(&name.as_str()) {
            checks.push(Check::fail(
                name,
                "not listed in manifest.json (added after export)",
            ));
        }
    }
    checks.push(Check::pass(
        MANIFEST,
        format!("{good} listed files match their SHA-256 and size"),
    ));
    checks.push(check_sums(files));

    match files.get(MANIFEST_TOKEN) {
        Some(token) => {
            let digest: [u8; 32] = Sha256::digest(manifest_bytes).into();
            checks.push(token_check(
                MANIFEST_TOKEN,
                token,
                &digest,
                anchors,
                MANIFEST,
            ));
        }
        None => checks.push(Check::fail(
            MANIFEST_TOKEN,
            "missing: the bundle is not timestamped (no TSA answered at export); export it again",
        )),
    }

    // The capture manifest: its files are in the bundle as captured, and its token covers it.
    match files.get(capture::MANIFEST) {
        None => checks.push(Check::fail(capture::MANIFEST, "missing")),
        Some(bytes) => {
            let capture_manifest: serde_json::Value =
                serde_json::from_slice(bytes).unwrap_or_default();
            let mut count = 0;
            let mut bad = false;
            for item in capture_manifest["files"].as_array().into_iter().flatten() {
                let name = item["path"].as_str().unwrap_or_default();
                count += 1;
                match files.get(name) {
                    Some(b) if same(b, &item["sha256"], &item["size"]) => {}
                    Some(_) => {
                        bad = true;
                        checks.push(Check::fail(name, "differs from the capture manifest"));
                    }
                    None => {
                        bad = true;
                        checks.push(Check::fail(name, "in the capture manifest but missing"));
                    }
                }
            }
            if capture_manifest["kind"] != capture::MANIFEST_KIND {
                checks.push(Check::fail(capture::MANIFEST, "not a capture manifest"));
            } else if !bad {
                checks.push(Check::pass(
                    capture::MANIFEST,
                    format!("{count} captured files are in the bundle unchanged"),
                ));
            }
            match files.get(capture::MANIFEST_TOKEN) {
                Some(token) => {
                    let digest: [u8; 32] = Sha256::digest(bytes).into();
                    checks.push(token_check(
                        capture::MANIFEST_TOKEN,
                        token,
                        &digest,
                        anchors,
                        capture::MANIFEST,
                    ));
                }
                None => checks.push(Check::fail(
                    capture::MANIFEST_TOKEN,
                    "missing: the capture was not timestamped",
                )),
            }
        }
    }

    if files.contains_key(&format!("{WORK_PREFIX}manifest.json")) {
        checks.extend(package::verify_package(files, WORK_PREFIX, anchors, None));
    } else {
        checks.push(Check::pass(
            "work/",
            "no provenance package (the work has no timestamped creation stages)",
        ));
    }
    checks
}

fn same(bytes: &[u8], sha256: &serde_json::Value, size: &serde_json::Value) -> bool {
    Some(sha256_hex(bytes).as_str()) == sha256.as_str() && Some(bytes.len() as u64) == size.as_u64()
}

fn check_sums(files: &Files) -> Check {
    let Some(text) = files.get(SUMS) else {
        return Check::fail(SUMS, "missing");
    };
    let text = String::from_utf8_lossy(text);
    let mut bad = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        match line.split_once("  ") {
            Some((hash, file)) => match files.get(file) {
                Some(bytes) if sha256_hex(bytes) == hash => {}
                Some(_) => bad.push(format!("{file}: hash differs")),
                None => bad.push(format!("{file}: missing")),
            },
            None => bad.push(format!("unreadable line {line:?}")),
        }
    }
    if bad.is_empty() {
        Check::pass(SUMS, format!("{count} files match"))
    } else {
        Check::fail(SUMS, bad.join("; "))
    }
}
