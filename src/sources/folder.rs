//! `folder` sources: a local directory where videos are dropped by hand (or
//! by another downloader). Every video file directly inside it, or one
//! level down, is a candidate, identified by its `file://` URL. Files
//! changed in the last two seconds are left for the next scan (they may
//! still be being written), and so are `.part` files.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use futures_util::future::BoxFuture;

use super::{Listing, ScanContext, Source};
use crate::store::NewCandidate;

const VIDEO_EXTENSIONS: [&str; 11] = [
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "ogv", "flv", "ts", "3gp", "wmv",
];
const SETTLE: Duration = Duration::from_secs(2);

pub struct FolderSource;

impl Source for FolderSource {
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>> {
        Box::pin(async move {
            let dir = PathBuf::from(&cx.config.url);
            let files = tokio::task::spawn_blocking(move || list_videos(&dir))
                .await
                .context("listing task failed")??;
            let mut listing = Listing::default();
            for (path, modified) in files {
                let url = url::Url::from_file_path(&path)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| format!("file://{}", path.display()));
                let published_at = modified.map(chrono::DateTime::<chrono::Utc>::from);
                listing.candidates.push(NewCandidate {
                    canonical_url: url.clone(),
                    platform: "folder".into(),
                    uploader: String::new(),
                    title: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    published_at,
                    media_url: Some(url),
                });
            }
            Ok(listing)
        })
    }
}

/// Video files in `dir` and its direct subdirectories, sorted, with their
/// modification times; recently changed files are left out.
pub fn list_videos(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Option<SystemTime>)>> {
    let dir = std::fs::canonicalize(dir).with_context(|| {
        format!(
            "folder {} cannot be opened; create it or fix url",
            dir.display()
        )
    })?;
    let mut out = Vec::new();
    let mut pending = vec![(dir, 0)];
    while let Some((current, depth)) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("cannot list folder {}", current.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if depth == 0 {
                    pending.push((path, depth + 1));
                }
                continue;
            }
            let is_video = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            let modified = meta.modified().ok();
            let settled = modified
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_none_or(|age| age >= SETTLE);
            if is_video && settled && meta.len() > 0 {
                out.push((path, modified));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_settled_video_files_one_level_deep() {
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        for name in [
            "a.mp4",
            "notes.txt",
            "sub/b.WEBM",
            "sub/deeper/c.mp4",
            "d.mp4.part",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"x").unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        std::fs::write(dir.path().join("fresh.mp4"), b"x").unwrap();
        let names: Vec<String> = list_videos(dir.path())
            .unwrap()
            .into_iter()
            .map(|(p, _)| {
                p.strip_prefix(std::fs::canonicalize(dir.path()).unwrap())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, vec!["a.mp4", "sub/b.WEBM"]);
    }
}
