//! Wires the pieces together for callers: decode → fingerprint, and
//! store → index → match.

use std::io::Read;
use std::path::Path;

use crate::fingerprint::{
    DctHasher, Fingerprint, QueryFingerprint, QueryFingerprinter, ReferenceFingerprinter, Stills,
    Track, View, WindowFingerprinter, ALGORITHM, ANALYSIS_SIDE, QUERY_ANALYSIS_SIDE,
    QUERY_SAMPLE_RATE, READABLE_ALGORITHMS, SAMPLE_RATE,
};
use crate::index::{Index, IndexBuilder, TrackSpec};
use crate::matcher::{
    combine, find_matches, placed_windows, refine_window, KeypointIndex, KeypointIndexBuilder,
    KeypointSeeds, MatchConfig, Segment,
};
use crate::media::{sample_video, DecodeLimits, MediaError, VideoInfo};
use crate::store::{Store, StoreError, Work};

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

/// A segment of a candidate attributed to a registered work.
pub struct Found<'a> {
    pub work: &'a Work,
    pub segment: Segment,
}

/// The registered works and their index, rebuilt from the store.
pub struct Catalog {
    index: Index,
    keypoints: KeypointIndex,
    works: Vec<Work>,
    /// Works left out because their fingerprint uses another scheme.
    pub stale: Vec<StaleWork>,
}

/// A work left out of the catalogue: its fingerprint's scheme is not one
/// this binary reads.
pub struct StaleWork {
    pub work: Work,
    /// The scheme it was fingerprinted with.
    pub algorithm: String,
}

impl StaleWork {
    /// What happened and what to do: a newer scheme (written by a newer
    /// reelguard, e.g. another node of the cluster) needs this binary
    /// upgraded; an older one needs the work registered again.
    pub fn advice(&self) -> String {
        scheme_advice(&self.work.title, &self.algorithm)
    }
}

/// [`StaleWork::advice`] for a work titled `title` fingerprinted with
/// `algorithm`: schemes of one family are ordered by their version.
fn scheme_advice(title: &str, algorithm: &str) -> String {
    let version = |scheme: &str| {
        scheme
            .strip_prefix(SCHEME_FAMILY)
            .and_then(|v| v.parse::<u32>().ok())
    };
    match (version(algorithm), version(ALGORITHM)) {
        (Some(theirs), Some(ours)) if theirs > ours => format!(
            "work {title:?} was fingerprinted by a newer reelguard ({algorithm}, this binary reads up to {ALGORITHM}) and is skipped: upgrade this binary"
        ),
        _ => format!(
            "work {title:?} was fingerprinted with {algorithm}, which this binary no longer reads, and is skipped: register it again"
        ),
    }
}

/// The common start of the hashing schemes' names, before their version.
const SCHEME_FAMILY: &str = "reelguard-dct256-v";

impl Catalog {
    pub async fn load(store: &Store, config: &MatchConfig) -> Result<Catalog, StoreError> {
        let mut builder = IndexBuilder::new();
        builder.reserve(store.stored_hash_count().await?);
        let mut keypoints = KeypointIndexBuilder::new();
        let mut works = Vec::new();
        let mut stale = Vec::new();
        store
            .each_fingerprint(|work, stored| {
                if !READABLE_ALGORITHMS.contains(&stored.algorithm.as_str()) {
                    stale.push(StaleWork {
                        work,
                        algorithm: stored.algorithm.clone(),
                    });
                    return;
                }
                let fingerprint = &stored.fingerprint;
                let owner = works.len();
                let main = TrackSpec {
                    owner,
                    track: Track::Main,
                    sample_rate: fingerprint.sample_rate,
                    duration_s: work.duration_s,
                };
                builder.add_track(&main, &fingerprint.frames, config.min_quality);
                for region in &fingerprint.regions {
                    let spec = TrackSpec {
                        track: region.region.track(),
                        sample_rate: fingerprint.region_sample_rate(),
                        ..main
                    };
                    builder.add_track(&spec, &region.frames, config.min_quality);
                }
                keypoints.add_work(
                    owner,
                    &fingerprint.keyframes,
                    fingerprint.region_sample_rate(),
                    work.duration_s,
                    work.width as f32 / work.height.max(1) as f32,
                );
                works.push(work);
            })
            .await?;
        Ok(Catalog {
            index: builder.build(),
            keypoints: keypoints.build(),
            works,
            stale,
        })
    }

    pub fn works(&self) -> &[Work] {
        &self.works
    }

    /// The works of `segments`.
    pub fn found(&self, segments: Vec<Segment>) -> Vec<Found<'_>> {
        segments
            .into_iter()
            .map(|segment| Found {
                work: &self.works[segment.work],
                segment,
            })
            .collect()
    }

    /// Segments of the candidate video at `path` that copy registered
    /// works, best first; `query` is its first look
    /// ([`fingerprint_candidate`], with the same `limits`). Where its
    /// keypoints place a work in the frame that the first look did not
    /// find, the second look: the video is decoded again to keep the
    /// samples the keypoints paired, each placed window is fitted to the
    /// work's hashes on them, and a last decode hashes the fitted windows.
    /// It costs two decodes and happens only then.
    pub fn find_in_video(
        &self,
        path: &Path,
        limits: &DecodeLimits,
        query: QueryFingerprint,
        duration_s: f64,
        config: &MatchConfig,
    ) -> Result<Vec<Segment>, MediaError> {
        let seeds = KeypointSeeds::of(&self.keypoints, &query, config);
        let segments = find_matches(
            &self.index,
            &self.keypoints,
            &seeds,
            &query,
            duration_s,
            config,
        );
        let placements = placed_windows(&self.keypoints, &seeds, &segments);
        if placements.is_empty() {
            return Ok(segments);
        }
        let times: Vec<f64> = placements
            .iter()
            .flat_map(|placement| placement.moments.iter().map(|&(time_s, _)| time_s))
            .collect();
        let mut stills = Stills::at(&times);
        sample_candidate(path, limits, |f| stills.push(f), |_, _| {})?;
        let stills = stills.finish();
        let hasher = DctHasher::new();
        let windows: Vec<(View, _)> = placements
            .iter()
            .map(|placement| {
                let window = refine_window(&self.index, &hasher, placement, &stills);
                (View::Placed(placement.track), window)
            })
            .collect();
        tracing::debug!(placements = ?placements, windows = ?windows, "second look at {}", path.display());
        let mut fingerprinter = WindowFingerprinter::new(windows);
        sample_candidate(path, limits, |f| fingerprinter.push(f), |_, _| {})?;
        // The second look searches only the placed windows' probes.
        let placed = QueryFingerprint {
            sample_rate: query.sample_rate,
            slots: fingerprinter.finish(),
            keyframes: Vec::new(),
        };
        // It has no keyframes, so no keypoint seeds.
        let more = find_matches(
            &self.index,
            &self.keypoints,
            &KeypointSeeds::default(),
            &placed,
            duration_s,
            config,
        );
        Ok(combine(segments, more, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_work_says_whether_to_upgrade_or_register_again() {
        let newer = scheme_advice("Dawn ride", "reelguard-dct256-v9");
        assert!(
            newer.contains("newer reelguard") && newer.contains("upgrade this binary"),
            "{newer}"
        );
        for older in ["reelguard-dct256-v0", "reelguard-dct64"] {
            let advice = scheme_advice("Dawn ride", older);
            assert!(
                advice.contains("register it again") && advice.contains(older),
                "{advice}"
            );
        }
        assert!(ALGORITHM.starts_with(SCHEME_FAMILY), "{ALGORITHM}");
    }
}
