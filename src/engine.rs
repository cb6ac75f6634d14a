//! Wires the pieces together for callers: decode → fingerprint, and
//! store → index → match (`catalog.rs`: the works as searched, following
//! the store).

mod catalog;

use std::io::Read;
use std::path::Path;

pub use catalog::{is_newer_scheme, Catalog, Found, StaleWork};

use crate::fingerprint::{
    Fingerprint, QueryFingerprint, QueryFingerprinter, ReferenceFingerprinter, ANALYSIS_SIDE,
    QUERY_ANALYSIS_SIDE, QUERY_SAMPLE_RATE, SAMPLE_RATE,
};
use crate::media::{sample_video, DecodeLimits, MediaError, VideoInfo};

/// Decodes a work's video and computes its fingerprint.
pub fn fingerprint_work(
    path: &Path,
    limits: &DecodeLimits,
    on_progress: impl FnMut(f64, &VideoInfo),
) -> Result<(VideoInfo, Fingerprint), MediaError> {
    let mut fingerprinter = ReferenceFingerprinter::new();
    let info = sample_video(
        path,
        SAMPLE_RATE,
        ANALYSIS_SIDE,
        limits,
        |f| fingerprinter.push(f),
        on_progress,
    )?;
    Ok((info, fingerprinter.finish()))
}

/// Decodes a candidate video and computes its probes.
pub fn fingerprint_candidate(
    path: &Path,
    limits: &DecodeLimits,
    on_progress: impl FnMut(f64, &VideoInfo),
) -> Result<(VideoInfo, QueryFingerprint), MediaError> {
    let mut fingerprinter = QueryFingerprinter::new();
    let info = sample_candidate(path, limits, |f| fingerprinter.push(f), on_progress)?;
    Ok((info, fingerprinter.finish()))
}

/// Decodes a candidate's samples: both looks at it decode it this way, so
/// that their probes are of the same samples.
fn sample_candidate(
    path: &Path,
    limits: &DecodeLimits,
    on_sample: impl FnMut(image::GrayImage),
    on_progress: impl FnMut(f64, &VideoInfo),
) -> Result<VideoInfo, MediaError> {
    sample_video(
        path,
        QUERY_SAMPLE_RATE,
        QUERY_ANALYSIS_SIDE,
        limits,
        on_sample,
        on_progress,
    )
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    sha256_reader(std::fs::File::open(path)?)
}

/// SHA-256 (hex) and size of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}
