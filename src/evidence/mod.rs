//! Evidence for a match: what is captured the moment it is found, and the
//! bundle a claim is built on.
//!
//! - `capture.rs`: the capture job (page, headers, screenshot and PDF from
//!   headless Chromium, media hash and copy, frame pairs, timeline), sealed
//!   by a capture manifest and its RFC 3161 token;
//! - `frames.rs`: matched frame pairs side by side and the timeline plot (PNG);
//! - `chromium.rs`: headless Chromium through its command line;
//! - `bundle.rs`: `evidence export` (the claim zip) and its offline check;
//! - `report.rs`: the bilingual report (HTML, and PDF printed by Chromium);
//! - `takedown.rs`: the DMCA notice, platform form fields and a plain email;
//! - this file: the `[evidence]` and `[review]` config and the blob store.
//!
//! Captured files live as content-addressed blobs under
//! `<data_dir>/blobs/sha256/ab/cdef…`; the database lists them per match.

pub mod bundle;
pub mod capture;
pub mod chromium;
pub mod frames;
pub mod report;
pub mod takedown;
pub mod tls_chain;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// What capture and evidence export read of the configuration: `[evidence]`,
/// `[timestamp]`, `[limits]`, `[owner]` and where the daemon keeps media.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptureSettings {
    pub evidence: EvidenceConfig,
    pub timestamp: crate::timestamp::TimestampConfig,
    pub limits: crate::media::DecodeLimits,
    pub owner: crate::domain::OwnerConfig,
    /// `[daemon] media_dir` (default: `media/` in the data directory).
    pub media_dir: Option<PathBuf>,
    /// `[http] public_url`: where certificates' QR codes send people to
    /// check a work (empty: nowhere; the QR code holds the chain head).
    pub public_url: String,
}

impl CaptureSettings {
    /// Where downloaded media is kept for the data directory `data_dir`.
    pub fn media_dir_in(&self, data_dir: &Path) -> PathBuf {
        self.media_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("media"))
    }
}

/// `[evidence]`: how captures are made.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The Chromium binary [default: `chromium`, then `chromium-browser`, on PATH].
    pub chromium: Option<PathBuf>,
    /// Seconds Chromium may take for a screenshot or a PDF.
    pub chromium_timeout_s: f64,
    /// Media up to this size (bytes) is copied into the capture; larger media
    /// is represented by its SHA-256 only.
    pub max_media_bytes: u64,
    /// Largest page (bytes) the capture keeps.
    pub max_page_bytes: u64,
    /// Seconds before a failed capture job is tried again (doubled per attempt).
    pub retry_after_s: f64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            chromium: None,
            chromium_timeout_s: 30.0,
            max_media_bytes: 200 * 1024 * 1024,
            max_page_bytes: 8 * 1024 * 1024,
            retry_after_s: 60.0,
        }
    }
}

impl EvidenceConfig {
    /// Checks `[evidence]`: every number finite and in range, naming the key,
    /// the value and the range.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::bounds::{float, int, DAY_S, GIB, TIB};
        float(
            "evidence.chromium_timeout_s",
            self.chromium_timeout_s,
            1.0..=600.0,
            "seconds",
        )?;
        // 0: media is never copied, only its SHA-256 recorded.
        int(
            "evidence.max_media_bytes",
            self.max_media_bytes,
            0..=TIB,
            "bytes",
        )?;
        int(
            "evidence.max_page_bytes",
            self.max_page_bytes,
            1024..=GIB,
            "bytes",
        )?;
        float(
            "evidence.retry_after_s",
            self.retry_after_s,
            0.0..=DAY_S,
            "seconds",
        )?;
        Ok(())
    }
}

/// `[review]`: how matches are reviewed.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// The creator's own and licensed channels or uploaders (names or channel
    /// URLs, compared case-insensitively): their uploads are never recorded as matches.
    pub allowlist: Vec<String>,
}

impl ReviewConfig {
    /// Checks `[review]`. It holds no numbers and any allowlist entry is
    /// valid (blank ones never match), so there is nothing to refuse yet;
    /// `Config::validate` calls it like every other section's.
    pub fn validate(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Whether an upload by `uploader` on `url` is allowed (by name, or by a
    /// URL that starts with an allowlisted URL).
    pub fn allows(&self, uploader: &str, url: &str) -> bool {
        let uploader = uploader.trim().to_lowercase();
        let url = url.to_lowercase();
        self.allowlist.iter().any(|entry| {
            let entry = entry.trim().to_lowercase();
            !entry.is_empty()
                && (entry == uploader || (entry.contains("://") && url.starts_with(entry.as_str())))
        })
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Content-addressed files under `<data_dir>/blobs/sha256/`.
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    pub fn new(data_dir: &Path) -> Blobs {
        Blobs {
            root: data_dir.join("blobs").join("sha256"),
        }
    }

    /// Where the blob with this SHA-256 is kept.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(&sha256[2..])
    }

    /// Stores `bytes` and returns their SHA-256.
    pub fn put(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let temp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
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
            let dir = path.parent().expect("blob paths have a parent");
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let temp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            std::fs::copy(file, temp.path())
                .with_context(|| format!("cannot copy {} into the blob store", file.display()))?;
            temp.persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok((sha256, size))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_names_and_channel_urls() {
        let review = ReviewConfig {
            allowlist: vec!["Li Hua".into(), "https://mock.example/channel/lihua".into()],
        };
        assert!(review.allows("li hua", "https://other.example/v/1"));
        assert!(review.allows("someone", "https://mock.example/channel/lihua/v/9"));
        assert!(!review.allows("copycat", "https://mock.example/channel/copycat/v/1"));
        assert!(!ReviewConfig::default().allows("", ""));
    }

    #[test]
    fn blobs_round_trip_and_detect_damage() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let sha = blobs.put(b"evidence").unwrap();
        assert_eq!(blobs.get(&sha).unwrap(), b"evidence");
        std::fs::write(blobs.path(&sha), b"tampered").unwrap();
        assert!(blobs.get(&sha).is_err());
    }
}
