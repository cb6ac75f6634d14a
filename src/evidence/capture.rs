//! The capture of a match's upload, made the moment the match is found (a
//! `capture` job) or on demand (`evidence capture MATCH`); each further
//! location of the match (the same upload at another URL) is captured the
//! same way when it is found (a `location-capture` job).
//!
//! Files (their paths are the ones they get in the bundle):
//! - `capture/page.html`: the page as fetched (when it is HTML);
//! - `capture/fetch.json`: requested and final URL, the redirect chain
//!   (each hop's URL, status and Location), status, response headers, fetch
//!   time, proxy, remote address, the TLS peer chain's summary (or why it
//!   was not recorded), and what failed;
//! - `capture/tls-chain.pem`: the certificates an https server presented;
//! - `capture/screenshot.png` (the blank window below a short page cut
//!   off), `capture/page.pdf`: headless Chromium;
//! - `capture/media.sha256` (always, when the media was hashed) and
//!   `capture/media.<ext>` (when kept and within `evidence.max_media_bytes`);
//! - `frames/pair-N.png`, `frames/timeline.png`;
//! - `capture/manifest.json`: every file above with SHA-256 and size, and
//!   `capture/manifest.tsr`, its RFC 3161 token (requested at once).
//!
//! The page is what the capture is for: when it cannot be fetched (timeout,
//! HTTP error, too large, not HTML) or the TSA does not answer, the capture
//! is recorded as failed with the reason and retried later; the match stays.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::Digest as _;

use super::chromium::{self, Output};
use super::{frames, tls_chain};
use crate::clock::to_seconds;
use crate::engine::sha256_hex;
use crate::source_config::SourceConfig;
use crate::sources::guard_proxy::GuardProxy;
use crate::sources::http::HttpClient;
use crate::store::{
    CaptureOf, CaptureOutcome, CaptureRecord, CapturedFile, Job, MatchRecord, Store,
};
use crate::timestamp::Stamper;

/// Path of the capture manifest and its token in the bundle.
pub const MANIFEST: &str = "capture/manifest.json";
pub const MANIFEST_TOKEN: &str = "capture/manifest.tsr";
/// What the capture manifest says it is.
pub const MANIFEST_KIND: &str = "reelguard-capture-manifest";
/// Capture attempts made by the job queue before the capture is left failed.
const MAX_ATTEMPTS: i64 = 3;

/// Where the capture's inputs are.
pub struct CaptureEnv<'a> {
    pub store: &'a Store,
    pub settings: &'a super::CaptureSettings,
    pub data_dir: &'a Path,
    /// Where the daemon keeps downloaded media (`[daemon] media_dir`).
    pub media_dir: &'a Path,
}

/// Files gathered by one attempt, by bundle path.
#[derive(Default)]
struct Gathered {
    files: Vec<(String, Vec<u8>)>,
    /// A large media file copied into the blob store directly.
    media_blob: Option<(String, String, u64)>,
    /// Problems that do not fail the capture (no Chromium, media not kept, ...).
    notes: Vec<String>,
    /// Why the capture failed, when it did.
    failure: Option<String>,
}

/// Runs the capture `of` a match's first URL or of a further location of
/// it (for the job `job`, or on demand when None) and records the outcome.
/// Returns the stored capture.
pub async fn run(
    env: &CaptureEnv<'_>,
    job: Option<&Job>,
    of: &CaptureOf,
) -> anyhow::Result<CaptureRecord> {
    let started = Utc::now();
    env.store.start_capture(of, started).await?;
    let record = captured_record(env.store, of).await?;
    let mut gathered = Gathered::default();
    if let Err(error) = gather(env, &record, &started, &mut gathered).await {
        gathered.failure = Some(format!("{error:#}"));
    }

    // fetch.json is written last: it carries every note and the failure.
    let fetch_index = gathered
        .files
        .iter()
        .position(|(p, _)| p == "capture/fetch.json");
    if let Some(index) = fetch_index {
        let mut value: serde_json::Value = serde_json::from_slice(&gathered.files[index].1)?;
        value["notes"] = json!(gathered.notes);
        value["failure"] = json!(gathered.failure);
        gathered.files[index].1 = serde_json::to_vec_pretty(&value)?;
    }

    let blobs = env.settings.blobs_in(env.data_dir);
    let mut files = Vec::new();
    for (path, bytes) in &gathered.files {
        let sha256 = blobs.put(bytes)?;
        files.push(CapturedFile {
            path: path.clone(),
            sha256,
            size: bytes.len() as u64,
        });
    }
    if let Some((path, sha256, size)) = &gathered.media_blob {
        files.push(CapturedFile {
            path: path.clone(),
            sha256: sha256.clone(),
            size: *size,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut stamp = None;
    let mut manifest_sha256 = None;
    if gathered.failure.is_none() {
        let manifest = capture_manifest(&record, &started, &files);
        let bytes = serde_json::to_vec_pretty(&manifest)?;
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        manifest_sha256 = Some(blobs.put(&bytes)?);
        let stamper = Stamper::new(&env.settings.timestamp)?;
        if stamper.is_configured() {
            match stamper.stamp(&digest).await {
                Ok(s) => stamp = Some(s),
                Err(e) => {
                    gathered.failure = Some(format!(
                        "the capture manifest could not be timestamped: {e}"
                    ))
                }
            }
        } else {
            tracing::warn!("capture of {of} is not timestamped: no TSA in [timestamp] urls");
        }
        files.push(CapturedFile {
            path: MANIFEST.into(),
            sha256: manifest_sha256.clone().expect("just set"),
            size: bytes.len() as u64,
        });
    }

    let attempts = env.store.capture_of(of).await?.attempts;
    let retry_at = match (&gathered.failure, job) {
        (Some(_), Some(_)) if attempts < MAX_ATTEMPTS => {
            let delay = env.settings.evidence.retry_after_s * 2f64.powi(attempts as i32 - 1);
            Some(crate::clock::after(Utc::now(), delay))
        }
        _ => None,
    };
    if let Some(failure) = &gathered.failure {
        tracing::warn!(capture = %of, url = %record.candidate_url, error = %failure, "capture failed");
    }
    let tsa_time = stamp.as_ref().map(|s| s.verified.gen_time);
    env.store
        .finish_capture(
            job,
            of,
            &CaptureOutcome {
                files: &files,
                manifest_sha256: manifest_sha256.as_deref(),
                token: stamp.as_ref().map(|s| s.token.as_slice()),
                tsa_url: stamp.as_ref().map(|s| s.tsa_url.as_str()),
                tsa_time,
                error: gathered.failure.as_deref(),
            },
            retry_at,
            Utc::now(),
        )
        .await?;
    Ok(env.store.capture_of(of).await?)
}

/// The match as the capture `of` sees it: for a further location, the
/// match with that location's candidate in place of its first one (the
/// same upload, so the match's segments hold for it too).
async fn captured_record(store: &Store, of: &CaptureOf) -> anyhow::Result<MatchRecord> {
    let mut record = store.find_match(of.match_id()).await?;
    if let CaptureOf::Location { candidate_id, .. } = of {
        let location = store.get_candidate(candidate_id).await.with_context(|| {
            format!(
                "location {candidate_id} of match {} is gone: nothing to capture",
                record.id
            )
        })?;
        record.candidate_id = location.id;
        record.candidate_url = location.canonical_url;
        record.platform = location.platform;
        record.uploader = location.uploader;
        record.candidate_title = location.title;
        record.published_at = location.published_at;
        record.media_url = location.media_url;
        record.media_sha256 = location.media_sha256;
        record.source = location.source;
        record.scan_id = location.scan_id;
    }
    Ok(record)
}

/// The capture manifest: what was captured, when, and every file's hash.
fn capture_manifest(
    record: &MatchRecord,
    started: &chrono::DateTime<Utc>,
    files: &[CapturedFile],
) -> serde_json::Value {
    json!({
        "kind": MANIFEST_KIND,
        "reelguard_version": env!("CARGO_PKG_VERSION"),
        "match_id": record.id,
        "work_id": record.work_id,
        "upload_url": record.candidate_url,
        "captured_at": to_seconds(*started),
        "files": files,
    })
}

async fn gather(
    env: &CaptureEnv<'_>,
    record: &MatchRecord,
    started: &chrono::DateTime<Utc>,
    out: &mut Gathered,
) -> anyhow::Result<()> {
    let evidence = &env.settings.evidence;
    let source = env
        .store
        .get_source(&record.source)
        .await
        .with_context(|| {
            format!(
                "source {} of match {} was removed: add it again to capture through its client",
                record.source, record.id
            )
        })?
        .config;
    let client = HttpClient::new(&source)?;
    let url = record.candidate_url.clone();
    let mut fetch = fetch_record(&source, &url, *started);

    // The page first: it is what the capture must have.
    let page_result = client.fetch_page(&url, evidence.max_page_bytes).await;
    let page_failure = match page_result {
        Ok(page) => {
            fetch["status"] = json!(page.status);
            fetch["final_url"] = json!(page.final_url.as_str());
            fetch["redirected"] = json!(!page.redirects.is_empty());
            fetch["redirect_chain"] = json!(page.redirects);
            fetch["remote_addr"] = json!(page.remote_addr);
            fetch["headers"] = json!(page
                .headers
                .iter()
                .map(|(k, v)| json!([k, v]))
                .collect::<Vec<_>>());
            fetch["body_sha256"] = json!(sha256_hex(&page.body));
            fetch["body_bytes"] = json!(page.body.len());
            let content_type = page
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.to_lowercase())
                .unwrap_or_default();
            if content_type.contains("html") {
                out.files.push(("capture/page.html".into(), page.body));
                None
            } else {
                Some(format!(
                    "{url} is not an HTML page (content-type {:?}, {} bytes): the page was not captured",
                    content_type,
                    page.body.len()
                ))
            }
        }
        Err(error) => Some(format!("cannot fetch the upload's page: {error}")),
    };
    let tls_url = fetch["final_url"].as_str().unwrap_or(&url).to_string();
    fetch["tls_peer_chain"] = tls_peer_chain(&source, &tls_url, out).await;
    out.files.push((
        "capture/fetch.json".into(),
        serde_json::to_vec_pretty(&fetch)?,
    ));

    if page_failure.is_none() {
        chromium_captures(env, &source, &url, out).await;
    }
    media(env, record, out);
    frame_files(env, record, out).await;
    if let Some(failure) = page_failure {
        anyhow::bail!(failure);
    }
    Ok(())
}

/// The start of `fetch.json`: what was asked for, when, and through which
/// proxy (never with its `user:password@`: the file is made to be handed
/// to courts and platforms).
fn fetch_record(source: &SourceConfig, url: &str, started: DateTime<Utc>) -> serde_json::Value {
    json!({
        "requested_url": url,
        "fetched_at": to_seconds(started),
        "proxy": source.proxy.as_deref().map(crate::secret::redact_url),
        "source": source.name,
    })
}

/// Where the TLS peer chain is written in the bundle.
const TLS_CHAIN: &str = "capture/tls-chain.pem";

/// Records the certificate chain of `url`'s server (when https, and not
/// through a proxy) into [`TLS_CHAIN`]; returns what `fetch.json` says.
async fn tls_peer_chain(source: &SourceConfig, url: &str, out: &mut Gathered) -> serde_json::Value {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" => parsed,
        _ => return json!("not https: no TLS peer certificate"),
    };
    if let Some(proxy) = &source.proxy {
        let proxy = crate::secret::redact_url(proxy);
        return json!(format!(
            "not recorded: the page was fetched through the proxy {proxy}, whose connection to the server cannot be seen"
        ));
    }
    let extra_roots = match &source.ca_cert {
        Some(path) => match std::fs::read(path) {
            Ok(pem) => Some(pem),
            Err(e) => return json!(format!("not recorded: cannot read ca_cert {path}: {e}")),
        },
        None => None,
    };
    let timeout = std::time::Duration::from_secs_f64(source.timeout_s);
    let recorded = tls_chain::record(
        &parsed,
        &crate::ssrf::Allow::of(source),
        extra_roots.as_deref(),
        timeout,
    )
    .await
    .and_then(|chain| Ok((chain.to_pem()?, chain)));
    match recorded {
        Ok((pem, chain)) => {
            out.files.push((TLS_CHAIN.into(), pem.into_bytes()));
            chain.summary(TLS_CHAIN)
        }
        Err(e) => json!(format!("not recorded: {e:#}")),
    }
}

/// The screenshot and PDF of the page, by headless Chromium going out only
/// through a guarding proxy with the source's permissions and proxy; what
/// the proxy refused is noted.
async fn chromium_captures(
    env: &CaptureEnv<'_>,
    source: &SourceConfig,
    url: &str,
    out: &mut Gathered,
) {
    let evidence = &env.settings.evidence;
    let Some(binary) = chromium::find(evidence.chromium.as_deref()) else {
        out.notes.push(
            "chromium not installed: no screenshot or PDF of the page (scripts/setup.sh installs it; or set evidence.chromium)".into(),
        );
        return;
    };
    let guard = match GuardProxy::start(
        crate::ssrf::Allow::of(source),
        source.proxy.as_deref(),
        std::time::Duration::from_secs_f64(evidence.chromium_timeout_s),
    )
    .await
    {
        Ok(guard) => guard,
        Err(why) => {
            out.notes.push(format!("no screenshot or PDF: {why}"));
            return;
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            out.notes.push(format!("no screenshot or PDF: {e}"));
            return;
        }
    };
    for (output, name) in [
        (Output::Screenshot, "screenshot.png"),
        (Output::Pdf, "page.pdf"),
    ] {
        let file = dir.path().join(name);
        let network = chromium::Network::Guarded(guard.addr());
        match chromium::render(
            &binary,
            url,
            output,
            &file,
            evidence.chromium_timeout_s,
            network,
        )
        .await
        {
            Ok(bytes) => out.files.push((format!("capture/{name}"), bytes)),
            Err(e) => out.notes.push(format!("no capture/{name}: {e:#}")),
        }
    }
    let mut refused = guard.refused();
    refused.sort();
    refused.dedup();
    if !refused.is_empty() {
        out.notes.push(format!(
            "the browser was refused {} request(s) the page made: {}",
            refused.len(),
            refused.join("; ")
        ));
    }
}

/// The candidate's media as the daemon kept it, when it did.
fn kept_media(env: &CaptureEnv<'_>, record: &MatchRecord) -> Option<PathBuf> {
    if let Some(url) = record.media_url.as_deref() {
        if url.starts_with("file://") {
            return url::Url::parse(url).ok()?.to_file_path().ok();
        }
    }
    let file = env.media_dir.join(format!("{}.media", record.candidate_id));
    if file.is_file() {
        return Some(file);
    }
    let dir = env.media_dir.join(&record.candidate_id);
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_file())
}

fn media(env: &CaptureEnv<'_>, record: &MatchRecord, out: &mut Gathered) {
    if let Some(sha256) = &record.media_sha256 {
        out.files.push((
            "capture/media.sha256".into(),
            format!(
                "{sha256}  media (downloaded from {})\n",
                record.media_url.as_deref().unwrap_or(&record.candidate_url)
            )
            .into_bytes(),
        ));
    }
    let Some(path) = kept_media(env, record) else {
        out.notes.push(
            "the upload's media was not kept ([daemon] retention): only its SHA-256 is captured"
                .into(),
        );
        return;
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > env.settings.evidence.max_media_bytes {
        out.notes.push(format!(
            "the media ({size} bytes) is larger than evidence.max_media_bytes: only its SHA-256 is captured"
        ));
        return;
    }
    match env.settings.blobs_in(env.data_dir).put_file(&path) {
        Ok((sha256, size)) => {
            if record.media_sha256.as_deref().is_some_and(|s| s != sha256) {
                out.notes.push(format!(
                    "the kept media {} no longer has the SHA-256 recorded at download; not captured",
                    path.display()
                ));
                return;
            }
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .filter(|e| *e != "media" && e.len() <= 5)
                .unwrap_or("mp4");
            out.media_blob = Some((format!("capture/media.{ext}"), sha256, size));
        }
        Err(e) => out.notes.push(format!("media not captured: {e:#}")),
    }
}

async fn frame_files(env: &CaptureEnv<'_>, record: &MatchRecord, out: &mut Gathered) {
    let segments = frames::best_first(&record.segments);
    let work = match env.store.find_work(&record.work_id).await {
        Ok(work) => work,
        Err(e) => {
            out.notes.push(format!("no frames: {e}"));
            return;
        }
    };
    let upload_end = segments.iter().map(|s| s.query_end_s).fold(0.0, f64::max);
    match frames::timeline_png(&segments, upload_end, work.duration_s) {
        Ok(png) => out.files.push(("frames/timeline.png".into(), png)),
        Err(e) => out.notes.push(format!("no timeline: {e:#}")),
    }
    let Some(upload) = kept_media(env, record) else {
        out.notes
            .push("no frame pairs: the upload's media was not kept".into());
        return;
    };
    let work_file = PathBuf::from(&work.source_path);
    let moments = frames::moments(&segments, 3);
    let times: Vec<_> = moments
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"file": format!("frames/pair-{}.png", i + 1), "upload_s": m.upload_s, "work_s": m.work_s}))
        .collect();
    let limits = env.settings.limits.clone();
    let result = tokio::task::spawn_blocking(move || {
        frames::frame_pairs(&work_file, &upload, &moments, &limits)
    })
    .await;
    match result {
        Ok(Ok(pairs)) => {
            for (i, png) in pairs.into_iter().enumerate() {
                out.files.push((format!("frames/pair-{}.png", i + 1), png));
            }
            out.files.push((
                "frames/pairs.json".into(),
                serde_json::to_vec_pretty(
                    &json!({"left": "work", "right": "upload", "pairs": times}),
                )
                .expect("JSON values serialise"),
            ));
        }
        Ok(Err(e)) => out.notes.push(format!("no frame pairs: {e:#}")),
        Err(e) => out.notes.push(format!("no frame pairs: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn proxy_credentials_never_reach_fetch_json() {
        let mut source = SourceConfig::new(
            "s",
            crate::source_config::SourceKind::Feed,
            "https://videos.example/feed.xml",
        );
        source.proxy = Some("socks5h://alice:hunter2@127.0.0.1:1080".into());
        let record = fetch_record(&source, "https://videos.example/v/1", Utc::now());
        // The TLS chain is not recorded through a proxy, and says so.
        let mut out = Gathered {
            files: Vec::new(),
            media_blob: None,
            notes: Vec::new(),
            failure: None,
        };
        let tls = tls_peer_chain(&source, "https://videos.example/v/1", &mut out).await;
        for written in [record.to_string(), tls.to_string()] {
            assert!(!written.contains("hunter2"), "{written}");
            assert!(
                written.contains("socks5h://***@127.0.0.1:1080"),
                "{written}"
            );
        }
    }
}
