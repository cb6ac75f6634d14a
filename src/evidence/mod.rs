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
//! - this file: the `[evidence]` and `[review]` config.
//!
//! Captured files live as content-addressed blobs in the blob store
//! (`crate::blobs`); the database lists them per match.

pub mod bundle;
pub mod capture;
pub mod chromium;
pub mod frames;
pub mod report;
pub mod takedown;
pub mod tls_chain;

use std::path::{Path, PathBuf};

use crate::blobs::Blobs;

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
    /// `blob_dir` (default: `blobs/` in the data directory).
    pub blob_dir: Option<PathBuf>,
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

    /// The blob store for the data directory `data_dir`.
    pub fn blobs_in(&self, data_dir: &Path) -> Blobs {
        Blobs::new(
            &self
                .blob_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("blobs")),
        )
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
}
