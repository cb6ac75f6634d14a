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
//! - `locations/N/capture/`, `locations/N/frames/`: the same for each
//!   further location of the match (the same upload at another URL);
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
use super::{report, takedown};
use crate::blobs::Blobs;
use crate::clock::to_seconds;
use crate::domain::OwnerConfig;
use crate::domain::{CaptureState, MatchStatus, StoredSegment};
use crate::engine::sha256_hex;
use crate::provenance::commands;
use crate::provenance::package::{self, token_check, Check, Files};
use crate::store::{CaptureRecord, CapturedFile, MatchRecord, StatusChange, Work};
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
/// Where the captures of a match's further locations go: `locations/N/`.
const LOCATIONS_PREFIX: &str = "locations/";

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
    /// The same upload at further URLs, oldest first.
    pub locations: Vec<LocationClaim>,
}

/// A further location of the match (the same upload at another URL) and
/// its capture.
pub struct LocationClaim {
    pub url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    pub published_at: Option<String>,
    pub capture_state: CaptureState,
    /// Where its captured files are in the bundle (`locations/N/`); `None`
    /// while it is not captured.
    pub prefix: Option<String>,
    pub captured_at: Option<String>,
    pub capture_manifest_sha256: Option<String>,
    /// The capture token's time and TSA.
    pub capture_tsa: Option<(String, String)>,
    pub has_screenshot: bool,
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

/// Where the capture of a match's `n`-th further location (from 1, oldest
/// first) sits in a bundle.
fn location_prefix(n: impl std::fmt::Display) -> String {
    format!("{LOCATIONS_PREFIX}{n}/")
}

/// A match's evidence as the store holds it: what the report and the
/// takedown texts say, and the finished captures whose files go into the
/// bundle.
struct Gathered {
    claim: Claim,
    /// Each finished capture with its place in the bundle: "" for the
    /// match's first URL, `locations/N/` for a further location.
    captures: Vec<(String, CaptureRecord)>,
    /// The certificate chains of the capture tokens, as verified.
    chains: Vec<Vec<Vec<u8>>>,
    notes: Vec<String>,
    /// The match's work (whose provenance package goes under `work/`).
    work: Work,
}

/// The capture token's TSA name and chain, checked against the anchors;
/// `what` names the capture in the error.
fn checked_token(
    stamper: &Stamper,
    capture: &CaptureRecord,
    what: &str,
) -> anyhow::Result<Option<(String, Vec<Vec<u8>>)>> {
    let Some(token) = &capture.token else {
        return Ok(None);
    };
    let digest = hex_digest(capture.manifest_sha256.as_deref().unwrap_or_default())?;
    let verified = verify_token(token, &digest, None, stamper.anchors()).with_context(|| {
        format!("the capture token of {what} does not check against timestamp.trust_anchors")
    })?;
    Ok(Some((verified.tsa_name, verified.chain)))
}

/// A capture's state, with its error when it has one: "failed (timeout)".
fn state_and_error(capture: &CaptureRecord) -> String {
    match &capture.error {
        Some(error) => format!("{} ({error})", capture.state),
        None => capture.state.to_string(),
    }
}

/// One small captured file (`capture/fetch.json`, `frames/pairs.json`) read
/// from the blob store, when the capture has it.
fn captured_json<T: serde::de::DeserializeOwned>(
    blobs: &Blobs,
    capture: &CaptureRecord,
    path: &str,
) -> Option<T> {
    let file = capture.files.iter().find(|f| f.path == path)?;
    let bytes = blobs.get(&file.sha256).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Gathers match `record`'s evidence; fails when its first URL is not
/// captured yet (a further location not captured yet is left out, with a
/// note).
async fn gather(
    env: &CaptureEnv<'_>,
    stamper: &Stamper,
    record: &MatchRecord,
) -> anyhow::Result<Gathered> {
    let store = env.store;
    let capture = store.capture(&record.id).await?;
    if capture.state != CaptureState::Done {
        anyhow::bail!(
            "the capture of match {} is {}; run `reelguard evidence capture {}` first",
            record.id,
            state_and_error(&capture),
            record.id
        );
    }
    let blobs = env.settings.blobs_in(env.data_dir);
    let mut notes = Vec::new();
    let mut chains = Vec::new();
    let capture_tsa_name = match checked_token(stamper, &capture, &format!("match {}", record.id))?
    {
        Some((name, chain)) => {
            chains.push(chain);
            Some(name)
        }
        None => {
            notes.push(
                "the capture is not timestamped (no TSA was configured when it was made)".into(),
            );
            None
        }
    };
    let capture_notes: Vec<String> =
        captured_json::<serde_json::Value>(&blobs, &capture, "capture/fetch.json")
            .and_then(|v| v["notes"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
    let frame_pairs = captured_json::<FramePairs>(&blobs, &capture, "frames/pairs.json")
        .map(|p| p.pairs)
        .unwrap_or_default();

    let mut locations = Vec::new();
    let mut captures = Vec::new();
    for (n, (candidate, location)) in store
        .captured_locations(&record.id)
        .await?
        .into_iter()
        .enumerate()
    {
        let mut claimed = LocationClaim {
            url: candidate.canonical_url.clone(),
            platform: candidate.platform,
            uploader: candidate.uploader,
            title: candidate.title,
            published_at: candidate.published_at.map(to_seconds),
            capture_state: location.state,
            prefix: None,
            captured_at: None,
            capture_manifest_sha256: None,
            capture_tsa: None,
            has_screenshot: false,
        };
        if location.state != CaptureState::Done {
            notes.push(format!(
                "the further location {} is not in this bundle: its capture is {}; export again once it is captured",
                candidate.canonical_url,
                state_and_error(&location),
            ));
            locations.push(claimed);
            continue;
        }
        let what = format!("match {}'s location {}", record.id, candidate.canonical_url);
        match checked_token(stamper, &location, &what)? {
            Some((name, chain)) => {
                chains.push(chain);
                claimed.capture_tsa = location.tsa_time.map(|t| (to_seconds(t), name));
            }
            None => notes.push(format!(
                "the capture of {} is not timestamped (no TSA was configured when it was made)",
                candidate.canonical_url
            )),
        }
        let prefix = location_prefix(n + 1);
        claimed.has_screenshot = location
            .files
            .iter()
            .any(|f| f.path == "capture/screenshot.png");
        claimed.captured_at = location.started_at.map(to_seconds);
        claimed.capture_manifest_sha256 = location.manifest_sha256.clone();
        claimed.prefix = Some(prefix.clone());
        locations.push(claimed);
        captures.push((prefix, location));
    }

    let work = store.find_work(&record.work_id).await?;
    let claim = Claim {
        match_id: record.id.clone(),
        status: record.status,
        score: record.score,
        segments: best_first(&record.segments),
        history: store.status_history(&record.id).await?,
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
        exported_at: to_seconds(Utc::now()),
        captured_files: capture.files.clone(),
        frame_pairs,
        capture_notes,
        locations,
    };
    captures.insert(0, (String::new(), capture));
    Ok(Gathered {
        claim,
        captures,
        chains,
        notes,
        work,
    })
}

/// What the report and the takedown texts of match `match_id` say, as an
/// export now would write them (the dashboard's takedown preview).
pub async fn claim(
    env: &CaptureEnv<'_>,
    stamper: &Stamper,
    match_id: &str,
) -> anyhow::Result<Claim> {
    let record = env.store.find_match(match_id).await?;
    Ok(gather(env, stamper, &record).await?.claim)
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
    let Gathered {
        claim,
        captures,
        chains,
        mut notes,
        work,
    } = gather(env, stamper, &record).await?;
    let blobs = env.settings.blobs_in(env.data_dir);
    let mut files = Files::new();
    for (prefix, capture) in &captures {
        for file in &capture.files {
            let bytes = blobs
                .get(&file.sha256)
                .with_context(|| format!("{prefix}{} of match {}", file.path, record.id))?;
            files.insert(format!("{prefix}{}", file.path), bytes);
        }
        if let Some(token) = &capture.token {
            files.insert(
                format!("{prefix}{}", capture::MANIFEST_TOKEN),
                token.clone(),
            );
        }
    }

    // The work's provenance package, nested under work/.
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
        capture_token: files.contains_key(capture::MANIFEST_TOKEN),
        manifest_token: !chains.is_empty() && stamper.is_configured(),
        work_package: files.contains_key(&format!("{WORK_PREFIX}{SUMS}")),
        location_tokens: captures
            .iter()
            .map(|(prefix, _)| prefix)
            .filter(|prefix| {
                !prefix.is_empty()
                    && files.contains_key(&format!("{prefix}{}", capture::MANIFEST_TOKEN))
            })
            .cloned()
            .collect(),
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
        "locations": claim.locations.iter().map(|l| {
            let in_bundle = |path: &str| l.prefix.as_ref().map(|p| format!("{p}{path}"));
            json!({
                "url": l.url,
                "platform": l.platform,
                "uploader": l.uploader,
                "title": l.title,
                "published_at": l.published_at,
                "capture_state": l.capture_state,
                "captured_at": l.captured_at,
                "manifest": in_bundle(capture::MANIFEST),
                "manifest_sha256": l.capture_manifest_sha256,
                "token": in_bundle(capture::MANIFEST_TOKEN)
                    .filter(|token| files.contains_key(token)),
                "token_time": l.capture_tsa.as_ref().map(|(time, _)| time),
            })
        }).collect::<Vec<_>>(),
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
    /// The prefixes (`locations/N/`) of the further locations whose capture
    /// has a token.
    location_tokens: Vec<String>,
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
    for prefix in &printed.location_tokens {
        text.push_str(&commands::openssl_verify_data(
            &format!("{prefix}{}", capture::MANIFEST_TOKEN),
            &format!("{prefix}{}", capture::MANIFEST),
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
    if !printed.location_tokens.is_empty() {
        text.push_str(&format!(
            "The same upload was found at further URLs; each one's capture is under `{LOCATIONS_PREFIX}N/`, with\n\
             its own manifest and token, checked the same way.\n"
        ));
    }
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

    // Each capture manifest (the first URL's, then each further
    // location's): its files are in the bundle as captured, and its token
    // covers it.
    checks.extend(check_capture(files, "", anchors));
    let location_manifests = files.keys().filter_map(|name| {
        let rest = name.strip_prefix(LOCATIONS_PREFIX)?;
        let (n, path) = rest.split_once('/')?;
        (path == capture::MANIFEST).then(|| location_prefix(n))
    });
    for prefix in location_manifests.collect::<Vec<_>>() {
        checks.extend(check_capture(files, &prefix, anchors));
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

/// The checks of the capture whose files are under `prefix` ("" for the
/// match's first URL): every file of its manifest is in the bundle
/// unchanged, and its token covers the manifest.
fn check_capture(files: &Files, prefix: &str, anchors: &[Certificate]) -> Vec<Check> {
    let mut checks = Vec::new();
    let manifest_path = format!("{prefix}{}", capture::MANIFEST);
    let token_path = format!("{prefix}{}", capture::MANIFEST_TOKEN);
    let Some(bytes) = files.get(&manifest_path) else {
        checks.push(Check::fail(&manifest_path, "missing"));
        return checks;
    };
    let capture_manifest: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let mut count = 0;
    let mut bad = false;
    for item in capture_manifest["files"].as_array().into_iter().flatten() {
        let name = format!("{prefix}{}", item["path"].as_str().unwrap_or_default());
        count += 1;
        match files.get(&name) {
            Some(b) if same(b, &item["sha256"], &item["size"]) => {}
            Some(_) => {
                bad = true;
                checks.push(Check::fail(&name, "differs from the capture manifest"));
            }
            None => {
                bad = true;
                checks.push(Check::fail(&name, "in the capture manifest but missing"));
            }
        }
    }
    if capture_manifest["kind"] != capture::MANIFEST_KIND {
        checks.push(Check::fail(&manifest_path, "not a capture manifest"));
    } else if !bad {
        checks.push(Check::pass(
            &manifest_path,
            format!("{count} captured files are in the bundle unchanged"),
        ));
    }
    match files.get(&token_path) {
        Some(token) => {
            let digest: [u8; 32] = Sha256::digest(bytes).into();
            checks.push(token_check(
                &token_path,
                token,
                &digest,
                anchors,
                &manifest_path,
            ));
        }
        None => checks.push(Check::fail(
            &token_path,
            "missing: the capture was not timestamped",
        )),
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
