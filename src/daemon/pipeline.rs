//! The work behind each job. A scan job lists a source and records its new
//! candidates; a candidate job fetches the media (direct URL, the upload's
//! page, a local file or yt-dlp), skips media already processed (same
//! SHA-256), fingerprints it, matches it against every registered work and
//! records the matches, then keeps or deletes the media per `retention`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;

use super::{DaemonConfig, DaemonSettings, Retention};
use crate::clock;
use crate::domain::{JobKind, StoredSegment};
use crate::engine::{self, Catalog};
use crate::source_config::{SourceConfig, SourceKind};
use crate::sources::http::HttpClient;
use crate::sources::{self, page, ytdlp, ScanContext};
use crate::store::{Job, NewMatch, Store};

/// Where a candidate's media is, and whether it is ours to delete.
struct Media {
    path: PathBuf,
    owned: bool,
}

/// Time spent in each stage, summed over the candidates a process handled
/// (the benchmark reads it from the log).
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    pub download_s: f64,
    pub decode_s: f64,
    pub match_s: f64,
    pub candidates: u64,
}

pub struct Pipeline {
    pub store: Arc<Store>,
    settings: DaemonSettings,
    media_dir: PathBuf,
    data_dir: PathBuf,
    clients: std::sync::Mutex<HashMap<String, (SourceConfig, Arc<HttpClient>)>>,
    catalog: tokio::sync::Mutex<Option<(String, Arc<Catalog>)>>,
    pub times: std::sync::Mutex<StageTimes>,
}

impl Pipeline {
    pub fn new(store: Arc<Store>, settings: DaemonSettings, data_dir: &Path) -> Pipeline {
        let media_dir = settings.capture.media_dir_in(data_dir);
        Pipeline {
            store,
            settings,
            media_dir,
            data_dir: data_dir.to_path_buf(),
            clients: std::sync::Mutex::new(HashMap::new()),
            catalog: tokio::sync::Mutex::new(None),
            times: std::sync::Mutex::new(StageTimes::default()),
        }
    }

    /// The data directory (blobs, media).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn daemon_config(&self) -> &DaemonConfig {
        &self.settings.daemon
    }

    pub fn settings(&self) -> &DaemonSettings {
        &self.settings
    }

    /// The HTTP client of a source (rebuilt when its settings change).
    fn client(&self, config: &SourceConfig) -> anyhow::Result<Arc<HttpClient>> {
        let mut clients = self.clients.lock().expect("client cache lock");
        if let Some((cached, client)) = clients.get(&config.name) {
            if cached == config {
                return Ok(client.clone());
            }
        }
        let client = Arc::new(HttpClient::new(config)?);
        clients.insert(config.name.clone(), (config.clone(), client.clone()));
        Ok(client)
    }

    /// The index of the registered works, brought up to date (what
    /// changed is loaded, see `engine::Catalog::follow`) when they change,
    /// whichever node registered or removed them.
    async fn catalog(&self) -> anyhow::Result<Arc<Catalog>> {
        let signature = self.store.works_signature().await?;
        let mut cached = self.catalog.lock().await;
        let matching = &self.settings.matching;
        let (catalog, warned) = match cached.as_ref() {
            Some((known, catalog)) if *known == signature => return Ok(catalog.clone()),
            Some((_, catalog)) => (
                catalog.follow(&self.store, matching).await?,
                catalog.stale.iter().map(|s| s.work.id.clone()).collect(),
            ),
            None => (
                Catalog::load(&self.store, matching).await?,
                std::collections::HashSet::new(),
            ),
        };
        for work in catalog
            .stale
            .iter()
            .filter(|s| !warned.contains(&s.work.id))
        {
            tracing::warn!(work = %work.work.id, "{}", work.advice());
        }
        tracing::debug!(
            works = catalog.works().count(),
            parts = catalog.parts(),
            "catalogue followed"
        );
        let catalog = Arc::new(catalog);
        *cached = Some((signature, catalog.clone()));
        Ok(catalog)
    }

    /// Runs a leased job to completion and records its outcome. An error
    /// here is a storage failure: the job stays leased and is retried when
    /// the lease expires.
    pub async fn run_job(&self, job: &Job) -> anyhow::Result<()> {
        if job.attempts > job.max_attempts {
            let error = format!(
                "gave up after {} attempts: the process handling this job stopped each time (a crash while decoding?)",
                job.max_attempts
            );
            let now = clock::now();
            return match job.kind {
                JobKind::Scan => {
                    let scan_id = job.scan_id.clone().unwrap_or_default();
                    Ok(self.store.fail_scan(job, &scan_id, &error, now).await?)
                }
                JobKind::Capture | JobKind::LocationCapture => {
                    Ok(self.store.give_up_capture(job, &error, now).await?)
                }
                JobKind::Candidate => Ok(self
                    .store
                    .fail_candidate(job, &job.subject, &error, now)
                    .await?),
                JobKind::Register => Ok(self.store.finish_upload(job, Err(&error), now).await?),
            };
        }
        match job.kind {
            JobKind::Scan => self.scan(job).await,
            JobKind::Candidate => self.candidate(job).await,
            JobKind::Capture | JobKind::LocationCapture => self.capture(job).await,
            JobKind::Register => self.register(job).await,
        }
    }

    /// Registers an uploaded video as a work, storing its progress about
    /// once a second for the dashboard.
    async fn register(&self, job: &Job) -> anyhow::Result<()> {
        let Some(upload) = self.store.upload(&job.subject).await? else {
            let error = format!("upload {} is no longer stored", job.subject);
            return Ok(self
                .store
                .finish_upload(job, Err(&error), clock::now())
                .await?);
        };
        let capture = &self.settings.capture;
        let stamper = match crate::timestamp::Stamper::new(&capture.timestamp) {
            Ok(stamper) => stamper,
            Err(e) => {
                let error = format!("[timestamp] does not load: {e:#}");
                return Ok(self
                    .store
                    .finish_upload(job, Err(&error), clock::now())
                    .await?);
            }
        };
        let new = crate::provenance::register::NewWork {
            id: upload.id.clone(),
            video: PathBuf::from(&upload.path),
            title: upload.title.clone(),
            owner: upload.owner.clone().or_else(|| capture.owner.name.clone()),
            rights_statement: upload.rights_statement.clone(),
            artifacts: Vec::new(),
        };
        self.store
            .set_upload_progress(&upload.id, 0.0, clock::now())
            .await?;
        let (progress_tx, mut progress_rx) = tokio::sync::watch::channel(0.0f64);
        let reporter = {
            let store = self.store.clone();
            let id = upload.id.clone();
            tokio::spawn(async move {
                while progress_rx.changed().await.is_ok() {
                    let fraction = *progress_rx.borrow_and_update();
                    let _ = store.set_upload_progress(&id, fraction, clock::now()).await;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            })
        };
        let registered = crate::provenance::register::register_work(
            &self.store,
            &stamper,
            &capture.limits,
            &new,
            move |position, info| {
                if info.duration_s > 0.0 {
                    let _ = progress_tx.send((position / info.duration_s).clamp(0.0, 1.0));
                }
            },
        )
        .await;
        reporter.abort();
        let now = clock::now();
        match registered {
            Ok((work, summary)) => {
                tracing::info!(upload = %upload.id, work = %work.id, frames = work.frames, pending_stamps = summary.pending.len(), "uploaded video registered");
                self.store.finish_upload(job, Ok(&work.id), now).await?;
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(upload = %upload.id, error = %error, "uploaded video not registered");
                self.store.finish_upload(job, Err(&error), now).await?;
            }
        }
        Ok(())
    }

    /// Captures the evidence of a new match or of a new location of one
    /// (see `evidence::capture`).
    async fn capture(&self, job: &Job) -> anyhow::Result<()> {
        let env = crate::evidence::capture::CaptureEnv {
            store: &self.store,
            settings: &self.settings.capture,
            data_dir: &self.data_dir,
            media_dir: &self.media_dir,
        };
        let of = crate::store::CaptureOf::of_job(job)?;
        crate::evidence::capture::run(&env, Some(job), &of).await?;
        Ok(())
    }

    async fn scan(&self, job: &Job) -> anyhow::Result<()> {
        let scan_id = job.scan_id.clone().context("scan job without a scan")?;
        let name = &job.subject;
        let started = clock::now();
        let outcome = self.list_source(name).await;
        let now = clock::now();
        match outcome {
            Ok(listing) => {
                let listing = listing.bounded();
                let (listed, new) = self
                    .store
                    .record_discovery(
                        job,
                        &scan_id,
                        name,
                        &listing.candidates,
                        &listing.errors,
                        now,
                    )
                    .await?;
                tracing::info!(source = %name, scan = %scan_id, listed, new, errors = listing.errors.len(), "source listed");
                let error = listing.errors.first().map(String::as_str);
                self.store.record_source_run(name, started, error).await?;
            }
            Err(error) => {
                let message = format!("{error:#}");
                tracing::warn!(source = %name, scan = %scan_id, error = %message, "scan failed");
                self.store.fail_scan(job, &scan_id, &message, now).await?;
                // The source may have been removed meanwhile; then there is nothing to update.
                let _ = self
                    .store
                    .record_source_run(name, started, Some(&message))
                    .await;
            }
        }
        Ok(())
    }

    async fn list_source(&self, name: &str) -> anyhow::Result<sources::Listing> {
        let source = self.store.get_source(name).await?;
        let config = source.config;
        let client = self.client(&config)?;
        let work_titles = self
            .store
            .list_works()
            .await?
            .into_iter()
            .map(|w| w.title)
            .collect();
        let cx = ScanContext {
            config: &config,
            client: &client,
            store: &self.store,
            work_titles,
            now: Utc::now(),
            conditional: true,
        };
        sources::for_kind(config.kind)
            .discover(&cx)
            .await
            .with_context(|| format!("source {name} ({})", config.kind.as_str()))
    }

    async fn candidate(&self, job: &Job) -> anyhow::Result<()> {
        let candidate_id = &job.subject;
        let result = self.process_candidate(job, candidate_id).await;
        if let Err(error) = result {
            let message = format!("{error:#}");
            let candidate = self.store.get_candidate(candidate_id).await?;
            // A failure that passes (the platform unreachable or overloaded,
            // a full disk) is tried again later while attempts are left,
            // instead of losing the candidate.
            if passing(&error) && job.attempts < job.max_attempts {
                let delay =
                    self.daemon_config().retry_base_s * 2f64.powi(job.attempts.max(1) as i32 - 1);
                let retry_at = clock::after(Utc::now(), delay);
                tracing::warn!(candidate = %candidate.canonical_url, error = %message, retry_at = %clock::stored(retry_at), "candidate not processed; trying again later");
                self.store
                    .retry_job(&job.id, &message, retry_at, clock::now())
                    .await?;
                return Ok(());
            }
            tracing::warn!(candidate = %candidate.canonical_url, error = %message, "candidate failed");
            self.store
                .fail_candidate(job, candidate_id, &message, clock::now())
                .await?;
        }
        Ok(())
    }

    async fn process_candidate(&self, job: &Job, candidate_id: &str) -> anyhow::Result<()> {
        let candidate = self.store.get_candidate(candidate_id).await?;
        let source = self
            .store
            .get_source(&candidate.source)
            .await
            .with_context(|| format!("source {} was removed", candidate.source))?
            .config;

        let started = Instant::now();
        // The job's deadline for its download, whatever the server does
        // (the decode after it has its own, limits.max_decode_s).
        let deadline = sources::http::media_deadline(&source);
        let media = tokio::time::timeout(deadline, self.fetch_media(&source, &candidate))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the media of {} was not fetched within {:.0} s (the download deadline of source {}: its timeout_s and max_media_bytes at {} bytes/s)",
                    crate::secret::redact_url(&candidate.canonical_url),
                    deadline.as_secs_f64(),
                    source.name,
                    sources::http::MIN_DOWNLOAD_RATE
                )
            })??;
        let download_s = started.elapsed().as_secs_f64();

        let path = media.path.clone();
        let (sha256, bytes) = tokio::task::spawn_blocking(move || engine::sha256_file(&path))
            .await
            .context("hashing task failed")?
            .with_context(|| format!("cannot read {}", media.path.display()))?;

        // The same media under another URL: reuse that candidate's result.
        if let Some(original) = self
            .store
            .processed_candidate_with_media(&sha256, candidate_id)
            .await?
        {
            let copies: Vec<NewMatch> = self
                .store
                .matches_of_candidate(&original)
                .await?
                .into_iter()
                .map(|m| NewMatch {
                    work_id: m.work_id,
                    score: m.score,
                    segments: m.segments,
                })
                .filter(|_| {
                    !self
                        .settings
                        .review
                        .allows(&candidate.uploader, &candidate.canonical_url)
                })
                .collect();
            self.store
                .complete_candidate(
                    job,
                    candidate_id,
                    Some(&sha256),
                    Some(bytes as i64),
                    None,
                    Some(&original),
                    &copies,
                    &crate::alerts::plan(&self.settings.alerts, Utc::now())?,
                    clock::now(),
                )
                .await?;
            self.retain(&media, !copies.is_empty());
            return Ok(());
        }

        let mut limits = self.settings.capture.limits.clone();
        limits.max_duration_s = limits.max_duration_s.min(source.max_duration_s);
        let path = media.path.clone();
        let decode_started = Instant::now();
        let decode_limits = limits.clone();
        let decoded = tokio::task::spawn_blocking(move || {
            engine::fingerprint_candidate(&path, &decode_limits, |_, _| {})
        })
        .await
        .context("fingerprinting task failed")?;
        let decode_s = decode_started.elapsed().as_secs_f64();
        let (info, query) = match decoded {
            Ok(decoded) => decoded,
            Err(error) => {
                self.retain(&media, false);
                return Err(anyhow::Error::new(error).context(format!(
                    "the upload's video cannot be used (duration cap: the smaller of sources.{}.max_duration_s = {} and limits.max_duration_s)",
                    source.name, source.max_duration_s
                )));
            }
        };

        let match_started = Instant::now();
        let catalog = self.catalog().await?;
        let segments = {
            let (catalog, path) = (catalog.clone(), media.path.clone());
            let matching = self.settings.matching.clone();
            let duration_s = info.duration_s;
            tokio::task::spawn_blocking(move || {
                catalog.find_in_video(&path, &limits, query, duration_s, &matching)
            })
            .await
            .context("matching task failed")?
            .context("the upload's video could not be decoded a second time")?
        };
        let found = catalog.found(segments);
        let mut by_work: Vec<(String, f64, Vec<StoredSegment>)> = Vec::new();
        for f in &found {
            let s = &f.segment;
            let segment = StoredSegment {
                score: round3(s.score),
                query_start_s: round3(s.query_start_s),
                query_end_s: round3(s.query_end_s),
                work_start_s: round3(s.work_start_s),
                work_end_s: round3(s.work_end_s),
                matched_frames: s.matched_frames() as u64,
                speed: round3(s.speed),
            };
            match by_work.iter_mut().find(|(id, _, _)| *id == f.work.id) {
                Some((_, score, segments)) => {
                    *score = score.max(s.score);
                    segments.push(segment);
                }
                None => by_work.push((f.work.id.clone(), s.score, vec![segment])),
            }
        }
        let matches: Vec<NewMatch> = by_work
            .into_iter()
            .map(|(work_id, score, segments)| NewMatch {
                work_id,
                score: round3(score),
                segments,
            })
            .collect();
        // The creator's own and licensed channels are not infringements.
        let allowed = self
            .settings
            .review
            .allows(&candidate.uploader, &candidate.canonical_url);
        let matches = if allowed && !matches.is_empty() {
            tracing::info!(candidate = %candidate.canonical_url, uploader = %candidate.uploader, "allowlisted uploader: matches not recorded");
            Vec::new()
        } else {
            matches
        };
        let match_s = match_started.elapsed().as_secs_f64();
        let inserted = self
            .store
            .complete_candidate(
                job,
                candidate_id,
                Some(&sha256),
                Some(bytes as i64),
                Some(info.duration_s),
                None,
                &matches,
                &crate::alerts::plan(&self.settings.alerts, Utc::now())?,
                clock::now(),
            )
            .await?;
        {
            let mut times = self.times.lock().expect("stage times lock");
            times.download_s += download_s;
            times.decode_s += decode_s;
            times.match_s += match_s;
            times.candidates += 1;
        }
        tracing::info!(
            candidate = %candidate.canonical_url,
            matches = matches.len(),
            new_matches = inserted,
            download_s, decode_s, match_s,
            "candidate processed"
        );
        self.retain(&media, !matches.is_empty());
        Ok(())
    }

    /// Gets the candidate's media into a local file.
    async fn fetch_media(
        &self,
        source: &SourceConfig,
        candidate: &crate::store::Candidate,
    ) -> anyhow::Result<Media> {
        if let Some(url) = candidate.media_url.as_deref() {
            if let Some(path) = url.strip_prefix("file://") {
                if source.kind != SourceKind::Folder {
                    anyhow::bail!("refused {url}: only folder sources read local files");
                }
                let path = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.to_file_path().ok())
                    .unwrap_or_else(|| PathBuf::from(path));
                return Ok(Media { path, owned: false });
            }
            return self.download(source, &candidate.id, url).await;
        }
        if source.kind == SourceKind::Ytdlp {
            return self.download_ytdlp(source, candidate).await;
        }
        // Only the upload's page is known: look for the video on it.
        let client = self.client(source)?;
        let page_url = &candidate.canonical_url;
        let media_url = match client.get_document(page_url, None).await? {
            sources::http::Document::Fresh {
                text, final_url, ..
            } => page::parse_page(&text, &final_url)
                .media_urls
                .into_iter()
                .next(),
            sources::http::Document::NotModified => None,
        };
        match media_url {
            Some(url) => {
                self.store.set_candidate_media_url(&candidate.id, &url).await?;
                self.download(source, &candidate.id, &url).await
            }
            None if ytdlp::program(source).is_ok() => self.download_ytdlp(source, candidate).await,
            None => anyhow::bail!(
                "no direct video on {page_url} (looked for og:video, JSON-LD contentUrl, <video>); install yt-dlp or set ytdlp_path on source {} to download from this platform",
                source.name
            ),
        }
    }

    async fn download(&self, source: &SourceConfig, id: &str, url: &str) -> anyhow::Result<Media> {
        std::fs::create_dir_all(&self.media_dir)
            .with_context(|| format!("cannot create {}", self.media_dir.display()))?;
        let part = self.media_dir.join(format!("{id}.part"));
        let done = self.media_dir.join(format!("{id}.media"));
        if done.is_file() {
            return Ok(Media {
                path: done,
                owned: true,
            });
        }
        let client = self.client(source)?;
        client.download(url, &part, source.max_media_bytes).await?;
        std::fs::rename(&part, &done)
            .with_context(|| format!("cannot move {} to {}", part.display(), done.display()))?;
        Ok(Media {
            path: done,
            owned: true,
        })
    }

    async fn download_ytdlp(
        &self,
        source: &SourceConfig,
        candidate: &crate::store::Candidate,
    ) -> anyhow::Result<Media> {
        let dir = self.media_dir.join(&candidate.id);
        let path = ytdlp::download(source, &candidate.canonical_url, &dir).await?;
        Ok(Media { path, owned: true })
    }

    /// Keeps or deletes downloaded media per `retention`.
    fn retain(&self, media: &Media, matched: bool) {
        if !media.owned {
            return;
        }
        let keep = match self.settings.daemon.retention {
            Retention::All => true,
            Retention::Matches => matched,
            Retention::Delete => false,
        };
        if !keep {
            if let Err(e) = std::fs::remove_file(&media.path) {
                tracing::warn!(path = %media.path.display(), "cannot delete media: {e}");
            }
            if let Some(parent) = media.path.parent().filter(|p| *p != self.media_dir) {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

/// Whether a candidate's failure may pass by itself: a fetch that may
/// ([`FetchError::may_pass`](crate::sources::http::FetchError::may_pass)),
/// a local file that could not be written or read (a full disk), or the
/// database away.
fn passing(error: &anyhow::Error) -> bool {
    use crate::sources::http::FetchError;
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<FetchError>() {
            Some(fetch) => fetch.may_pass(),
            None => cause.is::<std::io::Error>() || cause.is::<crate::store::StoreError>(),
        })
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
