//! Registering a finished video as a work: fingerprint it, store the work
//! with its fingerprint, chain its creation-stage files with the video as
//! the final cut, and timestamp what was added. `reelguard register` and
//! the `register` job of videos uploaded to the dashboard both do it here.
//!
//! A video can also be queued (`register --queue`, `works import`): it is
//! copied into the blob store, which every node reads, and an upload row
//! with its `register` job is stored; any node's worker fingerprints it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::StampSummary;
use crate::blobs::{safe_file_name, Blobs};
use crate::domain::UploadState;
use crate::engine;
use crate::media::{DecodeLimits, VideoInfo};
use crate::store::{Registration, Store, StoreError, UploadRecord, Work};
use crate::timestamp::{StampError, Stamper};

/// What to register.
#[derive(Clone, Debug)]
pub struct NewWork {
    /// The work's id (a retried registration passes the same one and finds
    /// the work it already stored).
    pub id: String,
    /// The finished video; the work keeps this path.
    pub video: PathBuf,
    pub title: String,
    pub owner: Option<String>,
    pub rights_statement: Option<String>,
    /// Creation-stage files (stage, file), earlier stages first; the video
    /// is added after them as the final cut.
    pub artifacts: Vec<(&'static str, PathBuf)>,
}

/// A video to queue for registration.
#[derive(Clone, Debug)]
pub struct VideoToQueue {
    pub video: PathBuf,
    pub title: String,
    pub owner: Option<String>,
    pub rights_statement: Option<String>,
    /// Who queued it (a token's name, or `cli`).
    pub queued_by: String,
}

/// What queueing a video did.
#[derive(Clone, Debug, PartialEq)]
pub enum Queued {
    /// Copied into the blob store and queued as this upload.
    New(Box<UploadRecord>),
    /// Not queued: the same video (by SHA-256) is registered or queued.
    Already(Registration),
}

/// Queues `video` for registration by any node (see the module doc),
/// unless the same video is registered or queued already.
pub async fn queue_registration(
    store: &Store,
    blobs: &Blobs,
    video: &VideoToQueue,
) -> anyhow::Result<Queued> {
    let path = video.video.clone();
    let (sha256, size) = tokio::task::spawn_blocking(move || engine::sha256_file(&path))
        .await
        .context("hashing task failed")?
        .with_context(|| format!("cannot read {}", video.video.display()))?;
    if let Some(found) = store.registration_of(&sha256).await? {
        return Ok(Queued::Already(found));
    }
    let id = uuid::Uuid::now_v7().simple().to_string();
    let file_name = video
        .video
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kept = {
        let (blobs, id, name, from) = (
            blobs.clone(),
            id.clone(),
            safe_file_name(&file_name),
            video.video.clone(),
        );
        tokio::task::spawn_blocking(move || blobs.put_upload(&id, &name, &from))
            .await
            .context("copying task failed")??
    };
    let now = crate::clock::now();
    let record = UploadRecord {
        id,
        title: video.title.clone(),
        owner: video.owner.clone(),
        rights_statement: video.rights_statement.clone(),
        file_name,
        path: kept.display().to_string(),
        size_bytes: size as i64,
        sha256: Some(sha256),
        state: UploadState::Queued,
        progress: 0.0,
        error: None,
        work_id: None,
        uploaded_by: Some(video.queued_by.clone()),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = store.create_upload(&record).await {
        let _ = std::fs::remove_dir_all(blobs.upload_dir(&record.id));
        return Err(anyhow::Error::new(e).context(format!(
            "cannot queue {} for registration",
            video.video.display()
        )));
    }
    Ok(Queued::New(Box::new(record)))
}

/// Registers `new` (see the module doc); `on_progress` is called from the
/// decoding thread with the decoded position and the video's facts. When
/// the work with `new.id` is already stored, only what is missing of it
/// is done.
pub async fn register_work(
    store: &Store,
    stamper: &Stamper,
    limits: &DecodeLimits,
    new: &NewWork,
    on_progress: impl FnMut(f64, &VideoInfo) + Send + 'static,
) -> anyhow::Result<(Work, StampSummary)> {
    let work = match store.work_by_id(&new.id).await? {
        Some(work) => work,
        None => fingerprint_and_store(store, limits, new, on_progress).await?,
    };
    if store.artifacts(&work.id).await?.is_empty() {
        let mut artifacts = Vec::with_capacity(new.artifacts.len() + 1);
        for (stage, path) in &new.artifacts {
            artifacts.push(super::describe_file(stage, path)?);
        }
        artifacts.push(super::describe_file("final-cut", &new.video)?);
        store.append_artifacts(&work.id, &artifacts).await?;
    }
    let summary = stamp_new(store, stamper, Some(&work.id)).await?;
    Ok((work, summary))
}

async fn fingerprint_and_store(
    store: &Store,
    limits: &DecodeLimits,
    new: &NewWork,
    on_progress: impl FnMut(f64, &VideoInfo) + Send + 'static,
) -> anyhow::Result<Work> {
    let path = new.video.clone();
    let limits = limits.clone();
    let (info, fingerprint) =
        tokio::task::spawn_blocking(move || engine::fingerprint_work(&path, &limits, on_progress))
            .await
            .context("fingerprinting task failed")??;
    let (sha256, bytes) = engine::sha256_file(&new.video)
        .with_context(|| format!("cannot read {}", new.video.display()))?;
    let work = Work {
        id: new.id.clone(),
        title: new.title.clone(),
        owner: new.owner.clone(),
        rights_statement: new.rights_statement.clone(),
        source_path: absolute(&new.video).display().to_string(),
        source_sha256: sha256,
        source_bytes: bytes as i64,
        duration_s: info.duration_s,
        width: i64::from(info.width),
        height: i64::from(info.height),
        codec: info.codec,
        created_at: crate::clock::now(),
        frames: fingerprint.frames.len() as i64,
    };
    match store.insert_work(&work, &fingerprint).await {
        Ok(()) => Ok(work),
        Err(e @ StoreError::AlreadyRegistered { .. }) => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot store work {}", work.id))),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Stamps what is pending for `work_id` (or every work) if TSAs are
/// configured; without them, everything pending stays so, with the reason.
pub async fn stamp_new(
    store: &Store,
    stamper: &Stamper,
    work_id: Option<&str>,
) -> anyhow::Result<StampSummary> {
    if !stamper.is_configured() {
        return Ok(StampSummary {
            stamped: 0,
            pending: store
                .pending_stamps(work_id)
                .await?
                .into_iter()
                .map(|item| (item, StampError::NotConfigured.to_string()))
                .collect(),
        });
    }
    super::stamp_pending(store, stamper, work_id).await
}
