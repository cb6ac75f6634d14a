//! The registered works as the matcher searches them, following the store.
//!
//! A catalogue is kept in parts, each an index of some works, so that it
//! follows the store without rebuilding what it already holds (a node of a
//! cluster sees works registered or removed on another node):
//! - works registered since are loaded into a new part, merged with the
//!   parts before it while those are at most twice its size (in frames),
//!   so there are about log2(growth) parts and a frame is indexed again
//!   only a logarithmic number of times;
//! - a removed work's segments are dropped at once, and its part is rebuilt
//!   once a quarter of its works are gone.
//!
//! Search breadth follows each part's own size (a small part is searched
//! with wider seeds, as a small catalogue is).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::fingerprint::{
    DctHasher, QueryFingerprint, Stills, Track, View, WindowFingerprinter, ALGORITHM,
    READABLE_ALGORITHMS,
};
use crate::index::{Index, IndexBuilder, TrackSpec};
use crate::matcher::{
    combine, find_matches, placed_windows, refine_window, KeypointIndex, KeypointIndexBuilder,
    KeypointSeeds, MatchConfig, Segment,
};
use crate::media::{DecodeLimits, MediaError};
use crate::store::{Store, StoreError, StoredFingerprint, Work};

use super::sample_candidate;

/// A segment of a candidate attributed to a registered work.
pub struct Found<'a> {
    pub work: &'a Work,
    pub segment: Segment,
}

/// The registered works and their index (see the module doc).
#[derive(Default)]
pub struct Catalog {
    parts: Vec<Arc<Part>>,
    /// Works removed from the store since their part was built.
    removed: HashSet<String>,
    /// Works left out because their fingerprint uses another scheme.
    pub stale: Vec<StaleWork>,
}

/// Works indexed together.
struct Part {
    index: Index,
    keypoints: KeypointIndex,
    works: Vec<Work>,
}

impl Part {
    /// Main-track frames of its works (the size parts are merged by).
    fn frames(&self) -> i64 {
        self.works.iter().map(|w| w.frames).sum()
    }
}

/// Builds one part from stored fingerprints.
struct PartBuilder<'a> {
    config: &'a MatchConfig,
    index: IndexBuilder,
    keypoints: KeypointIndexBuilder,
    works: Vec<Work>,
    stale: Vec<StaleWork>,
}

impl<'a> PartBuilder<'a> {
    fn new(config: &'a MatchConfig) -> Self {
        PartBuilder {
            config,
            index: IndexBuilder::new(),
            keypoints: KeypointIndexBuilder::new(),
            works: Vec::new(),
            stale: Vec::new(),
        }
    }

    fn add(&mut self, work: Work, stored: StoredFingerprint) {
        if !READABLE_ALGORITHMS.contains(&stored.algorithm.as_str()) {
            self.stale.push(StaleWork {
                work,
                algorithm: stored.algorithm,
            });
            return;
        }
        let fingerprint = &stored.fingerprint;
        let owner = self.works.len();
        let main = TrackSpec {
            owner,
            track: Track::Main,
            sample_rate: fingerprint.sample_rate,
            duration_s: work.duration_s,
        };
        let min_quality = self.config.min_quality;
        self.index
            .add_track(&main, &fingerprint.frames, min_quality);
        for region in &fingerprint.regions {
            let spec = TrackSpec {
                track: region.region.track(),
                sample_rate: fingerprint.region_sample_rate(),
                ..main
            };
            self.index.add_track(&spec, &region.frames, min_quality);
        }
        self.keypoints.add_work(
            owner,
            &fingerprint.keyframes,
            fingerprint.region_sample_rate(),
            work.duration_s,
            work.width as f32 / work.height.max(1) as f32,
        );
        self.works.push(work);
    }

    fn build(self) -> (Part, Vec<StaleWork>) {
        let part = Part {
            index: self.index.build(),
            keypoints: self.keypoints.build(),
            works: self.works,
        };
        (part, self.stale)
    }
}

/// A work left out of the catalogue: its fingerprint's scheme is not one
/// this binary reads.
#[derive(Clone)]
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
/// `algorithm`.
fn scheme_advice(title: &str, algorithm: &str) -> String {
    if is_newer_scheme(algorithm) {
        format!(
            "work {title:?} was fingerprinted by a newer reelguard ({algorithm}, this binary reads up to {ALGORITHM}) and is skipped: upgrade this binary"
        )
    } else {
        format!(
            "work {title:?} was fingerprinted with {algorithm}, which this binary no longer reads, and is skipped: register it again"
        )
    }
}

/// Whether `algorithm` is a later version of this binary's hashing scheme
/// (written by a newer reelguard): schemes of one family are ordered by
/// their version.
pub fn is_newer_scheme(algorithm: &str) -> bool {
    let version = |scheme: &str| {
        scheme
            .strip_prefix(SCHEME_FAMILY)
            .and_then(|v| v.parse::<u32>().ok())
    };
    matches!((version(algorithm), version(ALGORITHM)), (Some(theirs), Some(ours)) if theirs > ours)
}

/// The common start of the hashing schemes' names, before their version.
const SCHEME_FAMILY: &str = "reelguard-dct256-v";

/// A part is rebuilt once more than this share of its works is removed.
const MAX_REMOVED_SHARE: f64 = 0.25;

impl Catalog {
    /// Every registered work, loaded from the store.
    pub async fn load(store: &Store, config: &MatchConfig) -> Result<Catalog, StoreError> {
        Catalog::default().follow(store, config).await
    }

    /// This catalogue brought up to date with the store (see the module
    /// doc); the parts that did not change are shared with it.
    pub async fn follow(&self, store: &Store, config: &MatchConfig) -> Result<Catalog, StoreError> {
        let stored: HashMap<String, i64> = store.work_frame_counts().await?.into_iter().collect();
        let held: HashSet<&str> = self
            .parts
            .iter()
            .flat_map(|p| &p.works)
            .chain(self.stale.iter().map(|s| &s.work))
            .map(|w| w.id.as_str())
            .collect();
        let mut load: Vec<String> = stored
            .keys()
            .filter(|id| !held.contains(id.as_str()))
            .cloned()
            .collect();
        let gone = |id: &str| !stored.contains_key(id);
        let mut stale: Vec<StaleWork> = self
            .stale
            .iter()
            .filter(|s| !gone(&s.work.id))
            .cloned()
            .collect();
        let mut parts = Vec::with_capacity(self.parts.len() + 1);
        for part in &self.parts {
            let removed = part.works.iter().filter(|w| gone(&w.id)).count();
            if (removed as f64) <= MAX_REMOVED_SHARE * part.works.len() as f64 {
                parts.push(part.clone());
            } else {
                load.extend(
                    part.works
                        .iter()
                        .filter(|w| !gone(&w.id))
                        .map(|w| w.id.clone()),
                );
            }
        }
        if !load.is_empty() {
            let mut load_frames: i64 = load.iter().map(|id| stored[id]).sum();
            while let Some(last) = parts.last() {
                if last.frames() > 2 * load_frames {
                    break;
                }
                load_frames += last.frames();
                load.extend(
                    last.works
                        .iter()
                        .filter(|w| !gone(&w.id))
                        .map(|w| w.id.clone()),
                );
                parts.pop();
            }
            let mut builder = PartBuilder::new(config);
            if parts.is_empty() {
                // Everything: one streamed pass, sized up front.
                builder.index.reserve(store.stored_hash_count().await?);
                store
                    .each_fingerprint(|work, stored| builder.add(work, stored))
                    .await?;
                stale.clear();
            } else {
                store
                    .each_fingerprint_of(&load, |work, stored| builder.add(work, stored))
                    .await?;
            }
            let (part, newly_stale) = builder.build();
            stale.extend(newly_stale);
            if !part.works.is_empty() {
                parts.push(Arc::new(part));
            }
        }
        let removed = parts
            .iter()
            .flat_map(|p| &p.works)
            .filter(|w| gone(&w.id))
            .map(|w| w.id.clone())
            .collect();
        Ok(Catalog {
            parts,
            removed,
            stale,
        })
    }

    /// How many parts the works are indexed in.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The works searched.
    pub fn works(&self) -> impl Iterator<Item = &Work> {
        self.parts
            .iter()
            .flat_map(|p| &p.works)
            .filter(|w| !self.removed.contains(&w.id))
    }

    /// The work numbered `number` in segments this catalogue returned.
    fn work(&self, number: usize) -> &Work {
        let mut left = number;
        for part in &self.parts {
            if left < part.works.len() {
                return &part.works[left];
            }
            left -= part.works.len();
        }
        panic!("work {number} is not in this catalogue");
    }

    /// The works of `segments`.
    pub fn found(&self, segments: Vec<Segment>) -> Vec<Found<'_>> {
        segments
            .into_iter()
            .map(|segment| Found {
                work: self.work(segment.work),
                segment,
            })
            .collect()
    }

    /// Segments of the candidate video at `path` that copy registered
    /// works, best first; `query` is its first look
    /// ([`super::fingerprint_candidate`], with the same `limits`). Where its
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
        let mut first = Vec::with_capacity(self.parts.len());
        let mut placements = Vec::new();
        for (number, part) in self.parts.iter().enumerate() {
            let seeds = KeypointSeeds::of(&part.keypoints, &query, config);
            let segments = find_matches(
                &part.index,
                &part.keypoints,
                &seeds,
                &query,
                duration_s,
                config,
            );
            placements.extend(
                placed_windows(&part.keypoints, &seeds, &segments)
                    .into_iter()
                    .map(|placement| (number, placement)),
            );
            first.push(segments);
        }
        let by_part = if placements.is_empty() {
            first
        } else {
            let times: Vec<f64> = placements
                .iter()
                .flat_map(|(_, placement)| placement.moments.iter().map(|&(time_s, _)| time_s))
                .collect();
            let mut stills = Stills::at(&times);
            sample_candidate(path, limits, |f| stills.push(f), |_, _| {})?;
            let stills = stills.finish();
            let hasher = DctHasher::new();
            let windows: Vec<(View, _)> = placements
                .iter()
                .map(|(number, placement)| {
                    let index = &self.parts[*number].index;
                    let window = refine_window(index, &hasher, placement, &stills);
                    (View::Placed(placement.track), window)
                })
                .collect();
            tracing::debug!(placements = ?placements, windows = ?windows, "second look at {}", path.display());
            let mut fingerprinter = WindowFingerprinter::new(windows);
            sample_candidate(path, limits, |f| fingerprinter.push(f), |_, _| {})?;
            // The second look searches only the placed windows' probes,
            // in every part (as one index would be).
            let placed = QueryFingerprint {
                sample_rate: query.sample_rate,
                slots: fingerprinter.finish(),
                keyframes: Vec::new(),
            };
            first
                .into_iter()
                .zip(&self.parts)
                .map(|(segments, part)| {
                    // It has no keyframes, so no keypoint seeds.
                    let more = find_matches(
                        &part.index,
                        &part.keypoints,
                        &KeypointSeeds::default(),
                        &placed,
                        duration_s,
                        config,
                    );
                    combine(segments, more, config)
                })
                .collect()
        };
        Ok(self.merge(by_part, config))
    }

    /// One list of the parts' segments, numbered across the catalogue and
    /// best first, without those of removed works.
    fn merge(&self, by_part: Vec<Vec<Segment>>, config: &MatchConfig) -> Vec<Segment> {
        let mut offset = 0;
        let mut all = Vec::new();
        for (segments, part) in by_part.into_iter().zip(&self.parts) {
            all.extend(segments.into_iter().filter_map(|mut segment| {
                let removed = self.removed.contains(&part.works[segment.work].id);
                segment.work += offset;
                (!removed).then_some(segment)
            }));
            offset += part.works.len();
        }
        match self.parts.len() {
            0 | 1 => all,
            _ => combine(all, Vec::new(), config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Fingerprint, FrameHash};
    use crate::index::test_support::{query_of, random_hashes};

    /// A work of `frames` random frames (2 per second), seeded by `seed`.
    fn work(seed: u64, frames: usize) -> (Work, Fingerprint) {
        let work = Work {
            id: format!("work-{seed:02}"),
            title: format!("Work {seed}"),
            owner: None,
            rights_statement: None,
            source_path: format!("/videos/{seed}.mp4"),
            source_sha256: format!("sha-{seed}"),
            source_bytes: 10,
            duration_s: frames as f64 / 2.0,
            width: 640,
            height: 360,
            codec: "h264".into(),
            created_at: crate::clock::parse("2026-01-01T00:00:00Z").unwrap(),
            frames: frames as i64,
        };
        let fingerprint = Fingerprint {
            sample_rate: 2.0,
            frames: random_hashes(seed, frames)
                .into_iter()
                .map(|hash| FrameHash { hash, quality: 1.0 })
                .collect(),
            regions: Vec::new(),
            keyframes: Vec::new(),
        };
        (work, fingerprint)
    }

    /// A candidate showing 40 s of work `seed` (from its 10th second).
    fn copy_of(seed: u64) -> QueryFingerprint {
        query_of(&random_hashes(seed, 100)[20..100])
    }

    /// The works `catalog` finds in a copy of work `seed` (no keyframes:
    /// nothing is decoded).
    fn found_in_copy_of(catalog: &Catalog, seed: u64) -> Vec<String> {
        let config = MatchConfig::default();
        let segments = catalog
            .find_in_video(
                Path::new("/nonexistent.mp4"),
                &DecodeLimits::default(),
                copy_of(seed),
                40.0,
                &config,
            )
            .unwrap();
        catalog
            .found(segments)
            .iter()
            .map(|f| f.work.id.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_catalogue_follows_registrations_and_removals_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let config = MatchConfig::default();
        let register = async |seed: u64, frames: usize| {
            let (work, fingerprint) = work(seed, frames);
            store.insert_work(&work, &fingerprint).await.unwrap();
        };
        for seed in 1..=4 {
            register(seed, 600).await;
        }
        let first = Catalog::load(&store, &config).await.unwrap();
        assert_eq!((first.parts(), first.works().count()), (1, 4));
        assert_eq!(found_in_copy_of(&first, 2), ["work-02"]);

        // A small registration is a part of its own; the next one merges
        // with it, not with the large part.
        register(5, 200).await;
        let second = first.follow(&store, &config).await.unwrap();
        assert_eq!((second.parts(), second.works().count()), (2, 5));
        assert!(Arc::ptr_eq(&first.parts[0], &second.parts[0]));
        assert_eq!(found_in_copy_of(&second, 5), ["work-05"]);
        assert_eq!(found_in_copy_of(&second, 3), ["work-03"]);
        register(6, 200).await;
        let third = second.follow(&store, &config).await.unwrap();
        assert_eq!((third.parts(), third.works().count()), (2, 6));
        assert!(Arc::ptr_eq(&first.parts[0], &third.parts[0]));
        assert_eq!(found_in_copy_of(&third, 6), ["work-06"]);

        // One of four works removed: its matches stop at once, its part
        // is kept. Two of four: the part is rebuilt without them.
        store.remove_work("work-01").await.unwrap();
        let fourth = third.follow(&store, &config).await.unwrap();
        assert!(found_in_copy_of(&fourth, 1).is_empty());
        assert!(Arc::ptr_eq(&first.parts[0], &fourth.parts[0]));
        assert_eq!(fourth.works().count(), 5);
        store.remove_work("work-02").await.unwrap();
        let fifth = fourth.follow(&store, &config).await.unwrap();
        assert!(found_in_copy_of(&fifth, 2).is_empty());
        assert!(fifth.removed.is_empty());
        assert_eq!(fifth.works().count(), 4);
        for seed in [3, 4, 5, 6] {
            assert_eq!(found_in_copy_of(&fifth, seed), [format!("work-{seed:02}")]);
        }
        // Unchanged, it shares every part.
        let same = fifth.follow(&store, &config).await.unwrap();
        assert_eq!(same.parts(), fifth.parts());
        assert!(same
            .parts
            .iter()
            .zip(&fifth.parts)
            .all(|(a, b)| Arc::ptr_eq(a, b)));
        store.close().await;
    }

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
