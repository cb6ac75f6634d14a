//! Temporal alignment: turns a candidate's probes into matched segments.
//!
//! Pure code: no I/O. Seed and extend:
//! 1. *Seeds*: every probe of every candidate sample is searched in the
//!    [`Index`] within `seed_radius` bits.
//! 2. *Hypotheses*: seeds vote for a line `work_time = speed × query_time +
//!    offset` per work, for speeds between `min_speed` and `max_speed`.
//! 3. *Extension*: along each hypothesis every candidate sample is compared
//!    with the work's sample at the predicted time, at the looser
//!    `frame_radius`; runs of agreeing samples (with short gaps for overlays
//!    and cuts) become segments, scored by how densely and how closely they
//!    agree. A lone frame never makes a match: a segment needs
//!    `min_matched_frames` distinct work samples agreeing.

mod local;
mod refine;

pub use local::{placed_windows, KeypointIndex, KeypointIndexBuilder, KeypointSeeds, Placement};
pub use refine::refine_window;

use crate::fingerprint::{Probe, QueryFingerprint, Rect, Track, View};
use crate::index::{values_within, Hit, Index};

/// The tracks a work's hashes are kept in, in the order seeds are sought.
const TRACKS: [Track; 3] = [Track::Main, Track::Centre, Track::Strip];

/// Tunables of the matcher; defaults come from `make bench`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchConfig {
    /// Bit flips enumerated per index chunk when seeding; the exact seed
    /// radius is `(chunk_radius + 1) × chunks − 1` bits (chunks: 6–16,
    /// fewer for larger indexes). Range 0–2; cost grows steeply. Unset: 2
    /// for indexes of up to `AUTO_WIDE_SEED_FRAMES` frames, else 1.
    pub chunk_radius: Option<u32>,
    /// Bit flips tried on the index's first chunk (the lowest frequencies)
    /// to find far seeds (up to `frame_radius` bits) that the exact search
    /// cannot reach; 0 turns it off. Unset: for indexes of up to
    /// `AUTO_WIDE_SEED_FRAMES` frames, as many (at most 4) as keep the
    /// enumeration within `COARSE_LOOKUP_BUDGET` values; else off.
    pub coarse_chunk_radius: Option<u32>,
    /// Largest distance (bits of 256) at which an aligned sample agrees.
    /// Range 40–90.
    pub frame_radius: u32,
    /// Samples below this quality (0–1) are neither searched nor compared.
    pub min_quality: f32,
    /// Fewest distinct work samples (2 per second) a segment must agree
    /// with.
    pub min_matched_frames: usize,
    /// Lowest segment score (0–1) reported.
    pub min_score: f64,
    /// Longest run of disagreeing samples inside a segment, in seconds.
    pub max_gap_s: f64,
    /// Slowest and fastest speed of a copy relative to the work.
    pub min_speed: f64,
    pub max_speed: f64,
    /// Most seeds kept per candidate sample (the closest ones).
    pub max_seeds_per_sample: usize,
    /// Most hypotheses extended per candidate.
    pub max_hypotheses: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            chunk_radius: None,
            coarse_chunk_radius: None,
            frame_radius: 72,
            min_quality: 0.12,
            min_matched_frames: 3,
            min_score: 0.35,
            max_gap_s: 2.0,
            min_speed: 0.8,
            max_speed: 1.25,
            max_seeds_per_sample: 48,
            max_hypotheses: 48,
        }
    }
}

impl MatchConfig {
    /// Checks `[matching]`: every number finite and in range, naming the
    /// key, the value and the range.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::bounds::{float, int};
        if let Some(radius) = self.chunk_radius {
            int("matching.chunk_radius", radius, 0..=2, "bit flips")?;
        }
        if let Some(radius) = self.coarse_chunk_radius {
            int("matching.coarse_chunk_radius", radius, 0..=4, "bit flips")?;
        }
        int("matching.frame_radius", self.frame_radius, 0..=256, "bits")?;
        float("matching.min_quality", self.min_quality, 0.0..=1.0, "")?;
        int(
            "matching.min_matched_frames",
            self.min_matched_frames,
            2..=1_000_000,
            "samples",
        )?;
        float("matching.min_score", self.min_score, 0.0..=1.0, "")?;
        float(
            "matching.max_gap_s",
            self.max_gap_s,
            0.0..=3600.0,
            "seconds",
        )?;
        float("matching.min_speed", self.min_speed, 0.25..=1.0, "")?;
        float("matching.max_speed", self.max_speed, 1.0..=4.0, "")?;
        int(
            "matching.max_seeds_per_sample",
            self.max_seeds_per_sample,
            1..=10_000,
            "",
        )?;
        int(
            "matching.max_hypotheses",
            self.max_hypotheses,
            1..=10_000,
            "",
        )?;
        Ok(())
    }
}

/// A pair of samples that agree along a segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FramePair {
    pub query_sample: u32,
    /// Sample of the segment's track (its own sample rate).
    pub work_sample: u32,
    pub distance: u32,
    /// The candidate's probe that agreed.
    pub view: View,
    pub mirrored: bool,
    /// The probe's window, in shares of the candidate frame.
    pub window: Rect,
}

/// How a copy was disguised, as far as the agreeing probes tell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Views {
    /// The work track met: its whole picture, its centre half, or a strip.
    pub track: Track,
    /// The view most pairs agreed through.
    pub view: View,
    /// Share (0–1) of agreeing pairs that were mirrored.
    pub mirrored_share: f64,
    /// Where in the candidate frame the work was seen: the median window
    /// of the agreeing probes (shares of the frame).
    pub window: Rect,
}

/// A run of the candidate that copies a run of a work.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// The owner of the span matched (the caller's number for the work).
    pub work: usize,
    /// Position of the matched track's span in the index.
    pub span: usize,
    pub track: Track,
    /// 0–1: share of agreeing samples × their closeness.
    pub score: f64,
    pub query_start_s: f64,
    pub query_end_s: f64,
    pub work_start_s: f64,
    pub work_end_s: f64,
    /// Work seconds per candidate second.
    pub speed: f64,
    pub pairs: Vec<FramePair>,
}

impl Segment {
    /// Candidate samples that agree with the work.
    pub fn matched_frames(&self) -> usize {
        self.pairs.len()
    }

    /// Distinct work samples the segment agrees with.
    pub fn work_samples(&self) -> usize {
        distinct_work_samples(&self.pairs)
    }

    /// How the copy was disguised; None for a segment without pairs.
    pub fn views(&self) -> Option<Views> {
        if self.pairs.is_empty() {
            return None;
        }
        let mut counts: Vec<(View, usize)> = Vec::new();
        for pair in &self.pairs {
            match counts.iter_mut().find(|(v, _)| *v == pair.view) {
                Some((_, n)) => *n += 1,
                None => counts.push((pair.view, 1)),
            }
        }
        let view = counts.iter().max_by_key(|(_, n)| *n).map(|(v, _)| *v)?;
        let mirrored = self.pairs.iter().filter(|p| p.mirrored).count();
        let median = |f: fn(&Rect) -> f32| {
            let mut values: Vec<f32> = self.pairs.iter().map(|p| f(&p.window)).collect();
            values.sort_by(f32::total_cmp);
            values[values.len() / 2]
        };
        Some(Views {
            track: self.track,
            view,
            mirrored_share: mirrored as f64 / self.pairs.len() as f64,
            window: Rect {
                x: median(|r| r.x),
                y: median(|r| r.y),
                width: median(|r| r.width),
                height: median(|r| r.height),
            },
        })
    }
}

fn distinct_work_samples(pairs: &[FramePair]) -> usize {
    let mut samples: Vec<u32> = pairs.iter().map(|p| p.work_sample).collect();
    samples.sort_unstable();
    samples.dedup();
    samples.len()
}

/// One seed: a candidate sample close to a work sample.
#[derive(Clone, Copy, Debug)]
struct Seed {
    query_sample: u32,
    span: usize,
    work_sample: u32,
    distance: u32,
}

/// A line along which to compare a candidate with a work.
#[derive(Clone, Copy, Debug)]
struct Hypothesis {
    span: usize,
    speed: f64,
    offset_s: f64,
    /// Weighted votes behind it.
    score: f64,
}

/// Most chunk values a coarse search may enumerate per probe when
/// `coarse_chunk_radius` is unset, and the most flips it may try.
const COARSE_LOOKUP_BUDGET: u64 = 4096;
const MAX_COARSE_CHUNK_RADIUS: u32 = 4;

/// The most flips of a `bits`-bit chunk whose enumeration stays within
/// `COARSE_LOOKUP_BUDGET` values (short chunks of small indexes get more).
fn auto_coarse_chunk_radius(bits: usize) -> u32 {
    (0..=MAX_COARSE_CHUNK_RADIUS)
        .take_while(|&radius| values_within(bits, radius) <= COARSE_LOOKUP_BUDGET)
        .last()
        .unwrap_or(0)
}

/// Largest index searched with two flips per chunk when `chunk_radius` is
/// unset (about 280 hours of video at 2 samples per second).
pub const AUTO_WIDE_SEED_FRAMES: usize = 2_000_000;

impl MatchConfig {
    /// Bit flips tried on the lowest-frequency chunk for far seeds, if any.
    pub fn coarse_chunk_radius_for(&self, index: &Index) -> Option<u32> {
        self.coarse_chunk_radius
            .or_else(|| {
                (index.searchable_frames() <= AUTO_WIDE_SEED_FRAMES)
                    .then(|| auto_coarse_chunk_radius(index.first_chunk_bits()))
            })
            .filter(|&r| r > 0)
    }

    /// The chunk radius used with `index`.
    pub fn chunk_radius_for(&self, index: &Index) -> u32 {
        self.chunk_radius
            .unwrap_or(if index.searchable_frames() <= AUTO_WIDE_SEED_FRAMES {
                2
            } else {
                1
            })
    }
}

/// Largest distance (in work samples) from a work sample at which a
/// disagreeing candidate sample counts against a hypothesis.
const MAX_PHASE_OFFSET: f64 = 0.25;

/// Spacing of the speeds tried, and the offset tolerance of a vote.
const SPEED_STEP: f64 = 0.025;
const OFFSET_BIN_S: f64 = 0.5;

/// Finds the segments of `query` that copy registered works, best first.
/// `seeds` are the query's keypoint seeds in `keypoints`
/// ([`KeypointSeeds::of`]).
pub fn find_matches(
    index: &Index,
    keypoints: &KeypointIndex,
    seeds: &KeypointSeeds,
    query: &QueryFingerprint,
    query_duration_s: f64,
    config: &MatchConfig,
) -> Vec<Segment> {
    let local = local::find_local(keypoints, seeds, query, query_duration_s, config);
    // Flat probes are dropped once here; every later step sees usable ones.
    let query = &QueryFingerprint {
        sample_rate: query.sample_rate,
        slots: query
            .slots
            .iter()
            .map(|probes| {
                probes
                    .iter()
                    .filter(|p| p.quality >= config.min_quality)
                    .copied()
                    .collect()
            })
            .collect(),
        keyframes: Vec::new(),
    };
    let seeds = collect_seeds(index, query, config);
    let hypotheses = vote(index, &seeds, query.sample_rate, config);
    let mut segments: Vec<Segment> = Vec::new();
    for hypothesis in hypotheses {
        for segment in extend(index, query, query_duration_s, &hypothesis, config) {
            let refined = refine(index, query, query_duration_s, &segment, config);
            segments.extend(refined);
        }
    }
    segments.extend(local);
    segments
        .retain(|s| s.score >= config.min_score && s.work_samples() >= config.min_matched_frames);
    deduplicate(segments, config)
}

/// The segments of two looks at one candidate (from [`find_matches`]), as
/// one de-duplicated list, best first.
pub fn combine(first: Vec<Segment>, second: Vec<Segment>, config: &MatchConfig) -> Vec<Segment> {
    let mut segments = first;
    segments.extend(second);
    deduplicate(segments, config)
}

fn collect_seeds(index: &Index, query: &QueryFingerprint, config: &MatchConfig) -> Vec<Seed> {
    let radius = index.exact_radius(config.chunk_radius_for(index));
    let coarse_chunk_radius = config.coarse_chunk_radius_for(index);
    let mut seeds = Vec::new();
    let mut hits: Vec<Hit> = Vec::new();
    let mut hashes = Vec::new();
    for (sample, probes) in query.slots.iter().enumerate() {
        // Each track is sought with its own probes, and keeps its own
        // closest seeds: a track's hits say nothing about another's.
        for track in TRACKS {
            hits.clear();
            hashes.clear();
            hashes.extend(
                probes
                    .iter()
                    .filter(|p| p.view.track() == track)
                    .map(|p| p.hash),
            );
            if hashes.is_empty() {
                continue;
            }
            index.search_many(&hashes, radius, &mut hits);
            if let Some(chunk_radius) = coarse_chunk_radius {
                index.search_coarse(&hashes, chunk_radius, config.frame_radius, &mut hits);
                hits.sort_unstable_by_key(|h| (h.frame, h.distance));
                hits.dedup_by_key(|h| h.frame);
            }
            hits.sort_unstable_by_key(|h| h.distance);
            let found = hits
                .iter()
                .map(|hit| (index.locate(hit.frame), hit.distance))
                .filter(|&((span, _), _)| index.works()[span].track == track)
                .take(config.max_seeds_per_sample);
            for ((span, work_sample), distance) in found {
                seeds.push(Seed {
                    query_sample: sample as u32,
                    span,
                    work_sample,
                    distance,
                });
            }
        }
    }
    seeds
}

/// Per work and speed, seeds vote for time offsets in bins of
/// `OFFSET_BIN_S`, each candidate sample once per bin, weighted by how close
/// it is; bins that beat their neighbours (counting them in) become
/// hypotheses. Weighting matters on still scenes, where every frame looks
/// like every other and only the exact alignment is close everywhere.
fn vote(index: &Index, seeds: &[Seed], query_rate: f64, config: &MatchConfig) -> Vec<Hypothesis> {
    let mut by_span: Vec<Vec<&Seed>> = vec![Vec::new(); index.works().len()];
    for seed in seeds {
        by_span[seed.span].push(seed);
    }
    let speeds_count = ((config.max_speed - config.min_speed) / SPEED_STEP).round() as usize + 1;
    let weight = |distance: u32| 1.0 - f64::from(distance) / f64::from(config.frame_radius + 1);
    let mut hypotheses = Vec::new();
    for (span, work_seeds) in by_span.iter().enumerate() {
        if work_seeds.is_empty() {
            continue;
        }
        let work_rate = index.works()[span].sample_rate;
        for step in 0..speeds_count {
            let speed = config.min_speed + step as f64 * SPEED_STEP;
            // (bin, sample, weight, offset), one per sample and bin (the closest).
            let mut votes: Vec<(i64, u32, f64, f64)> = work_seeds
                .iter()
                .map(|s| {
                    let query_time = s.query_sample as f64 / query_rate;
                    let offset = s.work_sample as f64 / work_rate - speed * query_time;
                    let bin = (offset / OFFSET_BIN_S).round() as i64;
                    (bin, s.query_sample, weight(s.distance).max(0.0), offset)
                })
                .collect();
            votes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
            votes.dedup_by_key(|v| (v.0, v.1));
            // Per bin: total weight, weighted offset sum.
            let mut bins: Vec<(i64, f64, f64)> = Vec::new();
            for (bin, _, w, offset) in votes {
                match bins.last_mut() {
                    Some(last) if last.0 == bin => {
                        last.1 += w;
                        last.2 += w * offset;
                    }
                    _ => bins.push((bin, w, w * offset)),
                }
            }
            let at = |b: i64| bins.binary_search_by_key(&b, |x| x.0).ok().map(|i| bins[i]);
            let smoothed = |b: i64| (b - 1..=b + 1).filter_map(at).map(|x| x.1).sum::<f64>();
            for &(bin, _, _) in &bins {
                let score = smoothed(bin);
                if score < smoothed(bin - 1) || score < smoothed(bin + 1) {
                    continue;
                }
                let (total, weighted) = (bin - 1..=bin + 1)
                    .filter_map(at)
                    .fold((0.0, 0.0), |acc, x| (acc.0 + x.1, acc.1 + x.2));
                let offset_s = if total > 0.0 {
                    weighted / total
                } else {
                    bin as f64 * OFFSET_BIN_S
                };
                hypotheses.push(Hypothesis {
                    span,
                    speed,
                    offset_s,
                    score,
                });
            }
        }
    }
    // Strongest first; among equals, speeds nearest 1× (the common case).
    hypotheses.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((a.speed - 1.0).abs().total_cmp(&(b.speed - 1.0).abs()))
    });
    hypotheses.truncate(config.max_hypotheses);
    hypotheses
}

/// Compares the candidate with the work along a hypothesis and returns the
/// runs that agree.
fn extend(
    index: &Index,
    query: &QueryFingerprint,
    query_duration_s: f64,
    hypothesis: &Hypothesis,
    config: &MatchConfig,
) -> Vec<Segment> {
    let span = index.works()[hypothesis.span];
    let max_gap = (config.max_gap_s * query.sample_rate).round() as usize;
    // Per sample: Some(pair) agrees, None disagrees; samples without a probe
    // of the track (flat, or not probed for it) are skipped.
    let mut verdicts: Vec<(u32, Option<FramePair>)> = Vec::new();
    let mut probes: Vec<&Probe> = Vec::new();
    for (sample, slot) in query.slots.iter().enumerate() {
        probes.clear();
        probes.extend(slot.iter().filter(|p| p.view.track() == span.track));
        if probes.is_empty() {
            continue;
        }
        let query_time = sample as f64 / query.sample_rate;
        let work_time = hypothesis.speed * query_time + hypothesis.offset_s;
        // The two work samples around the predicted time (one when exact).
        let position = work_time * span.sample_rate;
        let (below, above) = (position.floor() as i64, position.ceil() as i64);
        let mut best: Option<FramePair> = None;
        for work_sample in below..=above {
            if work_sample < 0 {
                continue;
            }
            let Some(hash) = index.sample(hypothesis.span, work_sample as u32) else {
                continue;
            };
            for probe in &probes {
                let distance = probe.hash.distance(hash);
                if best.is_none_or(|b| distance < b.distance) {
                    best = Some(FramePair {
                        query_sample: sample as u32,
                        work_sample: work_sample as u32,
                        distance,
                        view: probe.view,
                        mirrored: probe.mirrored,
                        window: probe.window,
                    });
                }
            }
        }
        let Some(best) = best else {
            continue; // outside the work, or the work is flat there
        };
        // A candidate sample between two work samples may show a moment the
        // work's samples skip (fast motion): it can agree, but it is no
        // evidence against the hypothesis when it does not.
        let off_phase = (position - position.round()).abs() > MAX_PHASE_OFFSET;
        if off_phase && best.distance > config.frame_radius {
            continue;
        }
        verdicts.push((
            sample as u32,
            (best.distance <= config.frame_radius).then_some(best),
        ));
    }

    let mut segments = Vec::new();
    let mut run: Vec<FramePair> = Vec::new();
    let mut disagreeing = 0usize;
    let mut gap = 0usize;
    let mut close = |run: &mut Vec<FramePair>, disagreeing: usize| {
        if distinct_work_samples(run) >= config.min_matched_frames {
            segments.push(segment_from(
                index,
                query,
                query_duration_s,
                hypothesis,
                std::mem::take(run),
                disagreeing,
                config,
            ));
        }
        run.clear();
    };
    for (_, verdict) in verdicts {
        match verdict {
            Some(pair) => {
                if !run.is_empty() {
                    disagreeing += gap;
                }
                gap = 0;
                run.push(pair);
            }
            None if run.is_empty() => {}
            None => {
                gap += 1;
                if gap > max_gap {
                    close(&mut run, disagreeing);
                    disagreeing = 0;
                    gap = 0;
                }
            }
        }
    }
    close(&mut run, disagreeing);
    segments
}

fn segment_from(
    index: &Index,
    query: &QueryFingerprint,
    query_duration_s: f64,
    hypothesis: &Hypothesis,
    pairs: Vec<FramePair>,
    disagreeing: usize,
    config: &MatchConfig,
) -> Segment {
    let span = index.works()[hypothesis.span];
    let step = 1.0 / query.sample_rate;
    let first = pairs.first().map_or(0, |p| p.query_sample) as f64 * step;
    let last = pairs.last().map_or(0, |p| p.query_sample) as f64 * step;
    let to_work = |t: f64| (hypothesis.speed * t + hypothesis.offset_s).clamp(0.0, span.duration_s);
    // Edge gaps are bridged like inner ones: a run that stops at most
    // `max_gap_s` short of the candidate's own start or end reaches it when
    // the work goes on there (a copy's first or last seconds are often
    // covered by a title or a logo).
    let (mut query_start_s, mut query_end_s) =
        (first, (last + step).min(query_duration_s.max(last)));
    let work_at = |t: f64| hypothesis.speed * t + hypothesis.offset_s;
    let slack = 0.5 / span.sample_rate;
    if query_start_s <= config.max_gap_s && work_at(0.0) >= -slack {
        query_start_s = 0.0;
    }
    if query_duration_s - query_end_s <= config.max_gap_s
        && work_at(query_duration_s) <= span.duration_s + slack
    {
        query_end_s = query_end_s.max(query_duration_s);
    }
    let density = pairs.len() as f64 / (pairs.len() + disagreeing) as f64;
    let mean_distance =
        pairs.iter().map(|p| f64::from(p.distance)).sum::<f64>() / pairs.len() as f64;
    let closeness = (1.0 - mean_distance / 128.0).max(0.0);
    Segment {
        work: span.owner,
        span: hypothesis.span,
        track: span.track,
        score: density * closeness,
        query_start_s,
        query_end_s,
        work_start_s: to_work(query_start_s),
        work_end_s: to_work(query_end_s),
        speed: hypothesis.speed,
        pairs,
    }
}

/// Re-fits speed and offset to a segment's pairs by least squares and
/// extends once more along the fitted line; keeps the better result.
fn refine(
    index: &Index,
    query: &QueryFingerprint,
    query_duration_s: f64,
    segment: &Segment,
    config: &MatchConfig,
) -> Vec<Segment> {
    let span = index.works()[segment.span];
    let points: Vec<(f64, f64)> = segment
        .pairs
        .iter()
        .map(|p| {
            (
                p.query_sample as f64 / query.sample_rate,
                p.work_sample as f64 / span.sample_rate,
            )
        })
        .collect();
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let spread: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if points.len() < 4 || spread < 1.0 {
        return vec![segment.clone()];
    }
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let speed = (covariance / spread).clamp(config.min_speed, config.max_speed);
    let hypothesis = Hypothesis {
        span: segment.span,
        speed,
        offset_s: mean_y - speed * mean_x,
        score: evidence(segment, config),
    };
    let refined = extend(index, query, query_duration_s, &hypothesis, config);
    // The fit must clearly pay: on short runs it mostly chases jitter.
    let gained: f64 = refined.iter().map(|s| evidence(s, config)).sum();
    if gained > 1.05 * evidence(segment, config) {
        refined
    } else {
        vec![segment.clone()]
    }
}

/// How strongly a segment's pairs support it: near-exact pairs count about
/// one each, pairs at the edge of `frame_radius` almost nothing. On still
/// scenes, where many alignments agree loosely, the true one wins.
fn evidence(segment: &Segment, config: &MatchConfig) -> f64 {
    let radius = f64::from(config.frame_radius.max(1));
    segment
        .pairs
        .iter()
        .map(|p| (1.0 - f64::from(p.distance) / radius).max(0.0))
        .sum()
}

/// Keeps, of segments of one work that overlap in the candidate, the best.
fn deduplicate(mut segments: Vec<Segment>, config: &MatchConfig) -> Vec<Segment> {
    segments.sort_by(|a, b| evidence(b, config).total_cmp(&evidence(a, config)));
    let mut kept: Vec<Segment> = Vec::new();
    for segment in segments {
        let overlaps = kept.iter().any(|k| {
            k.work == segment.work && {
                let overlap = k.query_end_s.min(segment.query_end_s)
                    - k.query_start_s.max(segment.query_start_s);
                let shorter = (k.query_end_s - k.query_start_s)
                    .min(segment.query_end_s - segment.query_start_s);
                overlap > 0.5 * shorter
            }
        });
        if !overlaps {
            kept.push(segment);
        }
    }
    kept.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.pairs.len().cmp(&a.pairs.len()))
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{FrameHash, Hash256};
    use crate::index::test_support::{query_of, random_hashes};
    use crate::index::IndexBuilder;

    fn noisy(hash: &Hash256, flips: usize, salt: usize) -> Hash256 {
        (0..flips).fold(*hash, |h, i| h.flipped((i * 37 + salt * 11) % 256))
    }

    fn no_keypoints() -> KeypointIndex {
        KeypointIndexBuilder::new().build()
    }

    fn index_of(works: &[&[Hash256]]) -> Index {
        let mut builder = IndexBuilder::new();
        for hashes in works {
            let frames: Vec<FrameHash> = hashes
                .iter()
                .map(|&hash| FrameHash { hash, quality: 1.0 })
                .collect();
            builder.add_work(&frames, 2.0, hashes.len() as f64 / 2.0, 0.1);
        }
        builder.build()
    }

    #[test]
    fn embedded_noisy_copy_is_found_and_localised() {
        let work = random_hashes(1, 40); // 20 s
        let other = random_hashes(2, 40);
        let index = index_of(&[&other, &work]);
        // 6 s of unrelated footage, then work seconds 5..15 with noise.
        let mut candidate = random_hashes(3, 12);
        candidate.extend(
            work[10..30]
                .iter()
                .enumerate()
                .map(|(i, h)| noisy(h, 20, i)),
        );
        candidate.extend(random_hashes(4, 8));
        let segments = find_matches(
            &index,
            &no_keypoints(),
            &KeypointSeeds::default(),
            &query_of(&candidate),
            20.0,
            &MatchConfig::default(),
        );
        assert_eq!(segments.len(), 1, "{segments:?}");
        let s = &segments[0];
        assert_eq!(s.work, 1);
        assert!((s.query_start_s - 6.0).abs() <= 0.5 && (s.query_end_s - 16.0).abs() <= 0.5);
        assert!((s.work_start_s - 5.0).abs() <= 0.5 && (s.work_end_s - 15.0).abs() <= 0.5);
    }

    #[test]
    fn sped_up_copy_is_aligned() {
        let work = random_hashes(5, 60); // 30 s
        let index = index_of(&[&work]);
        // 1.2× faster: candidate second t shows work second 1.2 t.
        let candidate: Vec<Hash256> = (0..40)
            .map(|i| work[((i as f64 * 1.2).round() as usize).min(59)])
            .map(|h| noisy(&h, 10, 3))
            .collect();
        let segments = find_matches(
            &index,
            &no_keypoints(),
            &KeypointSeeds::default(),
            &query_of(&candidate),
            20.0,
            &MatchConfig::default(),
        );
        assert!(!segments.is_empty());
        let s = &segments[0];
        assert!((s.speed - 1.2).abs() <= 0.03, "speed {}", s.speed);
        assert!(s.work_end_s >= 23.0, "{s:?}");
    }

    #[test]
    fn unrelated_candidate_matches_nothing() {
        let index = index_of(&[&random_hashes(6, 200)]);
        let candidate = random_hashes(7, 200);
        assert!(find_matches(
            &index,
            &no_keypoints(),
            &KeypointSeeds::default(),
            &query_of(&candidate),
            100.0,
            &MatchConfig::default()
        )
        .is_empty());
    }

    #[test]
    fn coarse_radius_shrinks_as_chunks_grow() {
        assert_eq!(auto_coarse_chunk_radius(17), 4); // 3214 values
        assert_eq!(auto_coarse_chunk_radius(23), 3); // 2048 values
        assert_eq!(auto_coarse_chunk_radius(32), 2); // 529 values
    }

    #[test]
    fn a_single_identical_frame_is_not_a_match() {
        let work = random_hashes(8, 20);
        let index = index_of(&[&work]);
        let mut candidate = random_hashes(9, 20);
        candidate[10] = work[4];
        assert!(find_matches(
            &index,
            &no_keypoints(),
            &KeypointSeeds::default(),
            &query_of(&candidate),
            10.0,
            &MatchConfig::default()
        )
        .is_empty());
    }
}
