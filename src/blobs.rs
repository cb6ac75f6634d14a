//! The blob store: the files every node of a cluster must read.
//!
//! - captured evidence (pages, screenshots, media, frame pairs), as
//!   content-addressed blobs under `sha256/ab/cdef…`, checked against their
//!   hash when read;
//! - videos queued for registration (`register --queue`, `works import`,
//!   dashboard uploads) under `uploads/ID/NAME`, which any node's register
//!   job fingerprints and which stay the work's file.
//!
//! It is a directory, `blob_dir` (default: `blobs/` in the data dir), which
//! the nodes of a cluster share as a mount. Every write and read of those
//! files goes through [`Blobs`], so an object store can be put behind the
//! same methods (ARCHITECTURE.md says which crate would back S3).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::engine::sha256_hex;

/// The blob directory and what is kept in it.
#[derive(Clone, Debug)]
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    /// The store kept in `blob_dir`.
    pub fn new(blob_dir: &Path) -> Blobs {
        Blobs {
            root: blob_dir.to_path_buf(),
        }
    }

    /// Where the blob with this SHA-256 is kept.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root
            .join("sha256")
            .join(&sha256[..2])
            .join(&sha256[2..])
    }

    /// The directory of the upload `id`: its video waits there for a
    /// register job and stays as the work's file.
    pub fn upload_dir(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// Stores `bytes` and returns their SHA-256.
    pub fn put(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        let temp = temp_beside(&path)?;
        std::fs::write(temp.path(), bytes)
            .with_context(|| format!("cannot write {}", temp.path().display()))?;
        temp.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(sha256)
    }

    /// Stores a file by copying it (for media too large to hold in memory).
    pub fn put_file(&self, file: &Path) -> anyhow::Result<(String, u64)> {
        let (sha256, size) = crate::engine::sha256_file(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let path = self.path(&sha256);
        if !path.is_file() {
            let temp = temp_beside(&path)?;
            std::fs::copy(file, temp.path())
                .with_context(|| format!("cannot copy {} into the blob store", file.display()))?;
            temp.persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok((sha256, size))
    }

    /// Copies `file` into a new upload's directory under `name`; the copy
    /// appears whole or not at all.
    pub fn put_upload(&self, id: &str, name: &str, file: &Path) -> anyhow::Result<PathBuf> {
        let path = self.upload_dir(id).join(name);
        let temp = temp_beside(&path)?;
        std::fs::copy(file, temp.path())
            .with_context(|| format!("cannot copy {} into the blob store", file.display()))?;
        temp.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// The bytes of a blob, checked against their hash.
    pub fn get(&self, sha256: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.path(sha256);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "blob {sha256} is missing ({}); run `reelguard evidence capture` again",
                path.display()
            )
        })?;
        if sha256_hex(&bytes) != sha256 {
            anyhow::bail!(
                "blob {} is damaged (its SHA-256 is no longer {sha256}); run `reelguard evidence capture` again",
                path.display()
            );
        }
        Ok(bytes)
    }
}

/// A file name that is safe to join onto a directory: the last component
/// of what was sent, with anything but letters, digits, `.`, `-` and `_`
/// replaced by `_`, no leading dot, at most 100 characters; `upload` when
/// nothing is left.
pub fn safe_file_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "upload".to_string()
    } else {
        cleaned
    }
}

/// A temporary file in the directory of `path` (created), to be persisted
/// as `path` once written.
fn temp_beside(path: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_detect_damage() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let sha = blobs.put(b"evidence").unwrap();
        assert!(blobs.path(&sha).starts_with(dir.path().join("sha256")));
        assert_eq!(blobs.get(&sha).unwrap(), b"evidence");
        std::fs::write(blobs.path(&sha), b"tampered").unwrap();
        assert!(blobs.get(&sha).is_err());
    }

    #[test]
    fn an_upload_is_kept_under_its_id_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("film.mp4");
        std::fs::write(&source, b"video").unwrap();
        let blobs = Blobs::new(&dir.path().join("blobs"));
        let kept = blobs.put_upload("u1", "film.mp4", &source).unwrap();
        assert_eq!(kept, dir.path().join("blobs/uploads/u1/film.mp4"));
        assert_eq!(std::fs::read(&kept).unwrap(), b"video");
        assert_eq!(
            std::fs::read_dir(kept.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn sent_names_never_leave_their_directory() {
        assert_eq!(safe_file_name("clip.mp4"), "clip.mp4");
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\videos\\my clip.mov"), "my_clip.mov");
        assert_eq!(safe_file_name(".."), "upload");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(""), "upload");
        assert_eq!(safe_file_name("a\0b"), "a_b");
        assert_eq!(safe_file_name("作品.mp4"), "作品.mp4");
        assert_eq!(safe_file_name(&"x".repeat(300)).len(), 100);
    }
}
