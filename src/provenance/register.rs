//! Registering a finished video as a work: fingerprint it, store the work
//! with its fingerprint, chain its creation-stage files with the video as
//! the final cut, and timestamp what was added. `reelguard register` and
//! the `register` job of videos uploaded to the dashboard both do it here.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::StampSummary;
use crate::engine;
use crate::media::{DecodeLimits, VideoInfo};
use crate::store::{Store, StoreError, Work};
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
