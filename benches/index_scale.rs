//! Scale benchmark: an index of synthetic frame hashes standing for 1,000 and
//! 10,000 hours of registered video (2 samples per second), its memory per
//! frame, build time, and the time to match a 10-minute candidate on one core.
//!
//! Run with `cargo bench --bench index_scale`; prints a Markdown table.
//! `REELGUARD_SCALE_HOURS=10,100` overrides the sizes.

use std::time::Instant;

use reelguard::fingerprint::{Hash256, Probe, QueryFingerprint, Rect, View, SAMPLE_RATE};
use reelguard::index::IndexBuilder;
use reelguard::matcher::{find_matches, KeypointIndexBuilder, KeypointSeeds, MatchConfig};

/// Works are 10 minutes long.
const WORK_SAMPLES: usize = 1200;
/// Probes per candidate sample, as a real candidate without inner pictures
/// or rotation has: five centre crops, each as seen and mirrored.
const PROBES_PER_SAMPLE: usize = 10;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> Hash256 {
        Hash256([self.next(), self.next(), self.next(), self.next()])
    }

    /// `hash` with `flips` random bits flipped.
    fn noisy(&mut self, hash: &Hash256, flips: usize) -> Hash256 {
        (0..flips).fold(*hash, |h, _| h.flipped((self.next() % 256) as usize))
    }
}

fn main() {
    let hours: Vec<usize> = std::env::var("REELGUARD_SCALE_HOURS")
        .ok()
        .map(|v| v.split(',').filter_map(|h| h.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let config = MatchConfig::default();
    println!("| hours registered | frames | chunks | seed radius (bits) | index memory | bytes/frame | build time | match 10-min candidate | found |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for hours in hours {
        let frames = (hours as f64 * 3600.0 * SAMPLE_RATE) as usize;
        let works = frames.div_ceil(WORK_SAMPLES);
        let mut random = SplitMix(hours as u64);
        let started = Instant::now();
        let mut builder = IndexBuilder::new();
        builder.reserve(works * WORK_SAMPLES);
        let mut work_hashes = vec![Hash256::default(); WORK_SAMPLES];
        // The candidate copies minutes 2-4 of work `target`.
        let target = works / 2;
        let mut copied = Vec::new();
        for work in 0..works {
            work_hashes.iter_mut().for_each(|h| *h = random.hash());
            if work == target {
                copied = work_hashes[240..480].to_vec();
            }
            builder.add_hashes(&work_hashes, SAMPLE_RATE);
        }
        let generated = started.elapsed();
        let started = Instant::now();
        let index = builder.build();
        let build_time = started.elapsed();

        // 10 minutes: 3 min unrelated, 2 min copy (noisy), 5 min unrelated.
        let mut slots = Vec::with_capacity(WORK_SAMPLES);
        for sample in 0..WORK_SAMPLES {
            let copy = (360..600).contains(&sample).then(|| copied[sample - 360]);
            let probes = (0..PROBES_PER_SAMPLE)
                .map(|p| {
                    let hash = match copy {
                        // One view sees the work closely, the others poorly.
                        Some(h) if p == 0 => random.noisy(&h, 8),
                        Some(h) => random.noisy(&h, 60),
                        None => random.hash(),
                    };
                    Probe {
                        hash,
                        quality: 1.0,
                        view: View::Crop((p / 2) as u8),
                        mirrored: p % 2 == 1,
                        window: Rect {
                            x: 0.0,
                            y: 0.0,
                            width: 1.0,
                            height: 1.0,
                        },
                    }
                })
                .collect();
            slots.push(probes);
        }
        // Synthetic hashes have no keypoints: this measures the hash index.
        let query = QueryFingerprint {
            sample_rate: SAMPLE_RATE,
            slots,
            keyframes: Vec::new(),
        };
        let no_keypoints = KeypointIndexBuilder::new().build();
        let started = Instant::now();
        let segments = find_matches(
            &index,
            &no_keypoints,
            &KeypointSeeds::default(),
            &query,
            600.0,
            &config,
        );
        let match_time = started.elapsed();
        let found = segments.first().is_some_and(|s| {
            s.work == target
                && (s.query_start_s - 180.0).abs() <= 1.0
                && (s.query_end_s - 300.0).abs() <= 1.0
        });
        let memory = index.memory_bytes();
        eprintln!("{hours} h: generated in {:.1} s", generated.as_secs_f64());
        println!(
            "| {hours} | {} | {} | {} | {:.2} GiB | {:.1} | {:.1} s | {:.3} s | {} |",
            index.frames(),
            index.chunks(),
            index.exact_radius(config.chunk_radius_for(&index)),
            memory as f64 / (1u64 << 30) as f64,
            memory as f64 / index.frames() as f64,
            build_time.as_secs_f64(),
            match_time.as_secs_f64(),
            if found { "yes" } else { "NO" }
        );
        drop(index);
    }
}
