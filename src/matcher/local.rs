//! Keypoint matching: a candidate's keyframes are paired with the works'
//! keyframes by their keypoints' descriptors, each pairing is kept only if
//! one geometric transform (an affine map: scale per axis, shift, small turn,
//! optionally mirrored) carries the work's points onto the candidate's, and
//! keyframes that pass line up in time into segments.
//!
//! Pure code: no I/O. The transform check is what makes a pairing evidence:
//! corners of unrelated videos pair up by chance (text, edges, textures), but
//! not a dozen of them in the same arrangement. It also tells where the
//! work sits in the candidate's frame.

use std::collections::BTreeMap;

use super::{FramePair, MatchConfig, Segment, SPEED_STEP};
use crate::fingerprint::{
    regions, FrameHash, Keypoint, QueryFingerprint, Rect, Track, View, REFERENCE_CROP,
};
use crate::index::{Hit, Index, IndexBuilder, TrackSpec};

/// Largest descriptor distance (bits of 256) at which two keypoints pair.
const PAIR_RADIUS: u32 = 40;
/// Fewest pairs one transform must carry for a keyframe to count.
const MIN_INLIERS: usize = 10;
/// Largest distance, in candidate frame heights, between a candidate point
/// and where the transform puts its work point.
const INLIER_TOLERANCE: f32 = 0.03;
/// Up to this many pairs, transforms are fitted through every triple of
/// them; beyond, through `FIT_TRIALS` random triples (with a third of the
/// pairs right, about 20 of them are all right).
const MAX_EXHAUSTIVE_PAIRS: usize = 16;
const FIT_TRIALS: usize = 600;
/// Smallest and largest scale of the fitted transform along either axis
/// (a picture-in-picture a quarter of the frame wide; a 9:16 window of a
/// 16:9 work), the most one axis may be stretched against the other, and
/// the largest turn (radians).
const MIN_SCALE: f32 = 0.2;
const MAX_SCALE: f32 = 4.0;
const MAX_STRETCH: f32 = 1.8;
const MAX_TURN: f32 = 0.35;
/// Seeds whose geometry segments are grown around (the strongest).
const MAX_GEOMETRY_CENTRES: usize = 12;
/// Two transforms show the work in the same place when they put its
/// centre within this distance (candidate frame heights) and its size
/// within this ratio.
const SAME_PLACE: f32 = 0.06;
const SAME_SIZE: f32 = 1.15;
/// Width (seconds) of the offset bins keyframes vote in, and how far
/// (work seconds) a keyframe may lie off the line it is counted on: a work
/// keyframe is met by the candidate keyframes within a few tenths of a
/// second of it.
const OFFSET_BIN_S: f64 = 1.0;
const LINE_TOLERANCE_S: f64 = 0.6;

/// A keypoint of a work in the index.
#[derive(Clone, Copy, Debug)]
struct IndexedPoint {
    owner: u32,
    keyframe: u32,
    /// Position in work frame heights (x runs to the frame's aspect).
    x: f32,
    y: f32,
}

/// What the index knows of one work's keyframes.
#[derive(Clone, Copy, Debug)]
struct KeyframeTrack {
    span: usize,
    keyframe_rate: f64,
    duration_s: f64,
    /// Width / height of the work's frames.
    aspect: f32,
}

/// The works' keypoints in a Hamming index, with their positions.
pub struct KeypointIndex {
    index: Index,
    points: Vec<IndexedPoint>,
    works: Vec<Option<KeyframeTrack>>,
}

/// Collects works' keyframes, then builds the [`KeypointIndex`].
#[derive(Default)]
pub struct KeypointIndexBuilder {
    builder: IndexBuilder,
    points: Vec<IndexedPoint>,
    works: Vec<Option<KeyframeTrack>>,
}

impl KeypointIndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the keyframes (at `keyframe_rate` per second) of the work the
    /// caller numbers `owner`; `aspect` is its frames' width / height.
    pub fn add_work(
        &mut self,
        owner: usize,
        keyframes: &[Vec<Keypoint>],
        keyframe_rate: f64,
        duration_s: f64,
        aspect: f32,
    ) {
        if keyframes.iter().all(Vec::is_empty) || aspect.is_nan() || aspect <= 0.0 {
            return;
        }
        let mut hashes = Vec::new();
        for (keyframe, points) in keyframes.iter().enumerate() {
            for point in points {
                hashes.push(FrameHash {
                    hash: point.descriptor,
                    quality: 1.0,
                });
                self.points.push(IndexedPoint {
                    owner: owner as u32,
                    keyframe: keyframe as u32,
                    x: point.x * aspect,
                    y: point.y,
                });
            }
        }
        let spec = TrackSpec {
            owner,
            track: Track::Keypoints,
            sample_rate: keyframe_rate,
            duration_s,
        };
        let span = self.builder.add_track(&spec, &hashes, 0.0);
        if self.works.len() <= owner {
            self.works.resize(owner + 1, None);
        }
        self.works[owner] = Some(KeyframeTrack {
            span,
            keyframe_rate,
            duration_s,
            aspect,
        });
    }

    pub fn build(self) -> KeypointIndex {
        KeypointIndex {
            index: self.builder.build(),
            points: self.points,
            works: self.works,
        }
    }
}

impl KeypointIndex {
    /// Keypoints indexed.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// Bytes the index and the positions take.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.points.len() * std::mem::size_of::<IndexedPoint>()
    }
}

/// A work point paired with a candidate point (both in frame heights).
#[derive(Clone, Copy, Debug)]
struct PointPair {
    query_point: usize,
    query: (f32, f32),
    work: (f32, f32),
    distance: u32,
}

/// `q = [a b; c d] w + (e, f)`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Affine {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    e: f32,
    f: f32,
}

impl Affine {
    /// The map carrying three work points onto three candidate points.
    fn through(pairs: [&PointPair; 3]) -> Option<Affine> {
        let [p, q, r] = pairs.map(|pair| pair.work);
        let det = (q.0 - p.0) * (r.1 - p.1) - (r.0 - p.0) * (q.1 - p.1);
        // Nearly collinear points fix no transform.
        if det.abs() < 0.01 {
            return None;
        }
        let solve = |v: [f32; 3]| {
            let a = ((v[1] - v[0]) * (r.1 - p.1) - (v[2] - v[0]) * (q.1 - p.1)) / det;
            let b = ((q.0 - p.0) * (v[2] - v[0]) - (r.0 - p.0) * (v[1] - v[0])) / det;
            (a, b, v[0] - a * p.0 - b * p.1)
        };
        let (a, b, e) = solve(pairs.map(|pair| pair.query.0));
        let (c, d, f) = solve(pairs.map(|pair| pair.query.1));
        Some(Affine { a, b, c, d, e, f })
    }

    fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        (
            self.a * x + self.b * y + self.e,
            self.c * x + self.d * y + self.f,
        )
    }

    /// Whether this map puts the pair's work point within
    /// `INLIER_TOLERANCE` of its candidate point.
    fn carries(&self, pair: &PointPair) -> bool {
        let (x, y) = self.apply(pair.work);
        (x - pair.query.0).hypot(y - pair.query.1) <= INLIER_TOLERANCE
    }

    /// Whether this is a way a copy shows a work: mirrored exactly when
    /// `mirrored`, scales in range, little stretch, little turn or shear.
    fn plausible(&self, mirrored: bool) -> bool {
        let determinant = self.a * self.d - self.b * self.c;
        if (determinant < 0.0) != mirrored || determinant == 0.0 {
            return false;
        }
        let sx = self.a.hypot(self.c);
        let sy = self.b.hypot(self.d);
        let in_range = |s: f32| (MIN_SCALE..=MAX_SCALE).contains(&s);
        if !in_range(sx) || !in_range(sy) || sx / sy > MAX_STRETCH || sy / sx > MAX_STRETCH {
            return false;
        }
        // The work's x axis, seen in the candidate (turned back if mirrored).
        let along_x = if mirrored { -self.a } else { self.a };
        let turn = self.c.atan2(along_x).abs();
        let shear = (self.a * self.b + self.c * self.d).abs() / (sx * sy);
        turn <= MAX_TURN && shear <= MAX_TURN.sin()
    }
}

/// Whether two fitted transforms show the work in the same place at the
/// same size (and the same way round).
fn same_geometry(a: &Affine, b: &Affine) -> bool {
    let determinant = |t: &Affine| t.a * t.d - t.b * t.c;
    let (da, db) = (determinant(a), determinant(b));
    if (da < 0.0) != (db < 0.0) {
        return false;
    }
    let size = (da.abs() / db.abs()).sqrt();
    // The work's centre (any point inside it would do; its picture is
    // about one height tall).
    let centre = (0.8, 0.5);
    let (ax, ay) = a.apply(centre);
    let (bx, by) = b.apply(centre);
    (ax - bx).hypot(ay - by) <= SAME_PLACE && (1.0 / SAME_SIZE..=SAME_SIZE).contains(&size)
}

/// Fewest pairs a keyframe's transform must carry to place a window (fewer
/// than a keypoint segment needs: the window's hashes are the evidence),
/// and the fewest candidate keyframes that must put the work in the same
/// place at the same size, at consistent times.
const PLACE_MIN_INLIERS: usize = 6;
const PLACE_MIN_KEYFRAMES: usize = 2;
/// Agreeing keyframes must also agree in time: their offsets (work time
/// minus candidate time) may differ by this much (seconds), plus this share
/// of the time between them (speeds 0.8–1.25).
const PLACE_OFFSET_S: f64 = 1.0;
const PLACE_DRIFT: f64 = 0.25;
/// Works placed per candidate (the best-supported ones).
const MAX_PLACED_WORKS: usize = 3;
/// A placed window is used only if this share of it lies inside the frame.
const PLACE_MIN_INSIDE: f32 = 0.95;
/// Most keyframes per placement whose samples the window is fitted on.
const MAX_PLACE_MOMENTS: usize = 6;

/// The best-supported place of one work in the candidate's frame: the
/// transform its agreeing keyframes share.
struct Place {
    /// Inliers of the agreeing keyframes, in all.
    support: usize,
    owner: u32,
    transform: Affine,
    /// The candidate frame's aspect (width / height).
    aspect: f32,
    /// (candidate, work) times of the strongest keyframes, most pairs first.
    moments: Vec<(f64, f64)>,
}

/// Where keypoints place a work's hashed region in the candidate's frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub work: usize,
    /// The work track whose region the window shows.
    pub track: Track,
    /// The window, in shares of the frame's width and height.
    pub window: Rect,
    /// Candidate and work times (seconds) of the keyframes that placed it,
    /// most pairs first.
    pub moments: Vec<(f64, f64)>,
}

/// Windows of the candidate's frame where its keypoints place a work that
/// `found` does not already hold: the
/// work's main window, else its centre, else its strips, mapped through the
/// transform that several candidate keyframes agree on. A hash needs its
/// window placed to within about 2 % of its size, which no fixed set of
/// probes achieves for a crop, zoom or reframe anywhere in the frame;
/// keypoints too few for a segment of their own still place it.
pub fn placed_windows(
    keypoints: &KeypointIndex,
    seeds: &KeypointSeeds,
    found: &[Segment],
) -> Vec<Placement> {
    let mut by_owner: BTreeMap<u32, Vec<LocalSeed>> = BTreeMap::new();
    for &seed in &seeds.0 {
        if !found
            .iter()
            .any(|segment| segment.work == seed.owner as usize)
        {
            by_owner.entry(seed.owner).or_default().push(seed);
        }
    }
    // The best-supported place of each work.
    let mut places: Vec<Place> = Vec::new();
    for (owner, seeds) in &by_owner {
        let Some(track) = keypoints.works[*owner as usize] else {
            continue;
        };
        let best = seeds
            .iter()
            .filter_map(|centre| {
                let offset =
                    |seed: &LocalSeed| f64::from(seed.keyframe) / track.keyframe_rate - seed.time_s;
                let alike: Vec<&LocalSeed> = seeds
                    .iter()
                    .filter(|seed| {
                        let drift = (seed.time_s - centre.time_s).abs();
                        same_geometry(&seed.transform, &centre.transform)
                            && (offset(seed) - offset(centre)).abs()
                                <= PLACE_OFFSET_S + PLACE_DRIFT * drift
                    })
                    .collect();
                let mut times: Vec<f64> = alike.iter().map(|seed| seed.time_s).collect();
                times.sort_by(f64::total_cmp);
                times.dedup();
                (times.len() >= PLACE_MIN_KEYFRAMES).then(|| {
                    let support = alike.iter().map(|seed| seed.inliers).sum::<usize>();
                    (support, centre, alike)
                })
            })
            .max_by_key(|(support, ..)| *support);
        if let Some((support, centre, mut alike)) = best {
            let transform = mean_transform(&alike);
            alike.sort_by_key(|seed| std::cmp::Reverse(seed.inliers));
            let moments = alike
                .iter()
                .take(MAX_PLACE_MOMENTS)
                .map(|seed| {
                    let work_s = f64::from(seed.keyframe) / track.keyframe_rate;
                    (seed.time_s, work_s)
                })
                .collect();
            places.push(Place {
                support,
                owner: *owner,
                transform,
                aspect: centre.aspect,
                moments,
            });
        }
    }
    places.sort_by(|a, b| b.support.cmp(&a.support).then(a.owner.cmp(&b.owner)));
    places.truncate(MAX_PLACED_WORKS);

    let mut windows = Vec::new();
    for Place {
        owner,
        transform,
        aspect: query_aspect,
        moments,
        ..
    } in places
    {
        let Some(track) = keypoints.works[owner as usize] else {
            continue;
        };
        // The work's picture in work heights, and its hashed regions.
        let work = Rect {
            x: 0.0,
            y: 0.0,
            width: track.aspect,
            height: 1.0,
        };
        let strips = regions::work_strips(&work, regions::strip_count(track.aspect));
        let candidates = [
            vec![(Track::Main, work.centred(REFERENCE_CROP))],
            vec![(Track::Centre, regions::work_centre(&work))],
            strips
                .into_iter()
                .map(|strip| (Track::Strip, strip))
                .collect(),
        ];
        for group in candidates {
            let inside: Vec<Placement> = group
                .into_iter()
                .filter_map(|(track, region)| {
                    placed(&transform, &region, query_aspect).map(|window| Placement {
                        work: owner as usize,
                        track,
                        window,
                        moments: moments.clone(),
                    })
                })
                .collect();
            if !inside.is_empty() {
                windows.extend(inside);
                break;
            }
        }
    }
    windows
}

/// The mean of transforms that agree (same place, size and way round).
fn mean_transform(seeds: &[&LocalSeed]) -> Affine {
    let n = seeds.len().max(1) as f32;
    let sum =
        |value: fn(&Affine) -> f32| seeds.iter().map(|s| value(&s.transform)).sum::<f32>() / n;
    Affine {
        a: sum(|t| t.a),
        b: sum(|t| t.b),
        c: sum(|t| t.c),
        d: sum(|t| t.d),
        e: sum(|t| t.e),
        f: sum(|t| t.f),
    }
}

/// Where `transform` puts `region` (work heights) in a candidate frame of
/// `aspect`: the box around its mapped corners, in shares of the frame,
/// if nearly all of it lies inside (then clipped to the frame).
fn placed(transform: &Affine, region: &Rect, aspect: f32) -> Option<Rect> {
    let mapped = mapped_box(transform, region, aspect);
    let area = mapped.width * mapped.height;
    let inside = clipped_to_frame(&mapped);
    if area.is_nan() || area <= 0.0 || inside.width * inside.height < PLACE_MIN_INSIDE * area {
        return None;
    }
    Some(inside)
}

/// The box around `region` (work heights) carried by `transform` into a
/// candidate frame of `aspect`, in shares of the frame (not clipped).
fn mapped_box(transform: &Affine, region: &Rect, aspect: f32) -> Rect {
    let corners = [
        (region.x, region.y),
        (region.x + region.width, region.y),
        (region.x, region.y + region.height),
        (region.x + region.width, region.y + region.height),
    ]
    .map(|corner| transform.apply(corner));
    let (mut left, mut right, mut top, mut bottom) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in corners {
        left = left.min(x / aspect);
        right = right.max(x / aspect);
        top = top.min(y);
        bottom = bottom.max(y);
    }
    Rect {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    }
}

/// The part of `rect` (shares of a frame) inside the frame; empty (zero
/// width or height) when none is.
fn clipped_to_frame(rect: &Rect) -> Rect {
    let (left, right) = (
        rect.x.clamp(0.0, 1.0),
        (rect.x + rect.width).clamp(0.0, 1.0),
    );
    let (top, bottom) = (
        rect.y.clamp(0.0, 1.0),
        (rect.y + rect.height).clamp(0.0, 1.0),
    );
    Rect {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    }
}

/// One candidate keyframe whose keypoints fit one work keyframe's.
#[derive(Clone, Copy, Debug)]
struct LocalSeed {
    owner: u32,
    keyframe: u32,
    time_s: f64,
    inliers: usize,
    distance: u32,
    mirrored: bool,
    transform: Affine,
    /// Width / height of the candidate's frames.
    aspect: f32,
}

/// The candidate keyframes whose keypoints fit a work keyframe's through
/// one plausible transform (at least `PLACE_MIN_INLIERS` pairs), sought once
/// for both uses: segments of their own ([`find_local`], from the seeds of
/// at least `MIN_INLIERS` pairs) and placements ([`placed_windows`]).
#[derive(Debug, Default)]
pub struct KeypointSeeds(Vec<LocalSeed>);

impl KeypointSeeds {
    pub fn of(keypoints: &KeypointIndex, query: &QueryFingerprint, config: &MatchConfig) -> Self {
        if keypoints.points.is_empty() {
            return KeypointSeeds::default();
        }
        KeypointSeeds(collect_seeds(keypoints, query, config, PLACE_MIN_INLIERS))
    }
}

/// Segments of `query` whose keyframes' keypoints fit works' keyframes.
pub fn find_local(
    keypoints: &KeypointIndex,
    seeds: &KeypointSeeds,
    query: &QueryFingerprint,
    query_duration_s: f64,
    config: &MatchConfig,
) -> Vec<Segment> {
    let mut by_owner: BTreeMap<u32, Vec<LocalSeed>> = BTreeMap::new();
    // A transform's fit does not depend on the least count asked of it
    // (`fit`), so these are exactly the seeds a search for `MIN_INLIERS`
    // would give.
    for &seed in seeds.0.iter().filter(|seed| seed.inliers >= MIN_INLIERS) {
        by_owner.entry(seed.owner).or_default().push(seed);
    }
    let mut segments = Vec::new();
    for (owner, seeds) in by_owner {
        let Some(track) = keypoints.works[owner as usize] else {
            continue;
        };
        // A copy shows the work in one place at one size (within a shot):
        // seeds are aligned in time only with others of the same geometry,
        // around each of the strongest in turn.
        let mut centres = seeds.clone();
        centres.sort_by(|a, b| {
            b.inliers
                .cmp(&a.inliers)
                .then(a.time_s.total_cmp(&b.time_s))
        });
        centres.truncate(MAX_GEOMETRY_CENTRES);
        let best = centres
            .iter()
            .filter_map(|centre| {
                let alike: Vec<LocalSeed> = seeds
                    .iter()
                    .filter(|seed| same_geometry(&seed.transform, &centre.transform))
                    .copied()
                    .collect();
                align(
                    &track,
                    owner as usize,
                    &alike,
                    query,
                    query_duration_s,
                    config,
                )
            })
            .max_by(|a, b| {
                a.work_samples()
                    .cmp(&b.work_samples())
                    .then(a.score.total_cmp(&b.score))
            });
        segments.extend(best);
    }
    segments
}

/// Candidate keyframes whose points fit a work keyframe's through one
/// plausible transform carrying at least `min_inliers` pairs.
fn collect_seeds(
    keypoints: &KeypointIndex,
    query: &QueryFingerprint,
    config: &MatchConfig,
    min_inliers: usize,
) -> Vec<LocalSeed> {
    let radius = keypoints
        .index
        .exact_radius(config.chunk_radius_for(&keypoints.index))
        .min(PAIR_RADIUS);
    let mut seeds = Vec::new();
    let mut hits: Vec<Hit> = Vec::new();
    for keyframe in &query.keyframes {
        for (points, mirrored) in [(&keyframe.points, false), (&keyframe.mirrored, true)] {
            // Pairs per (work, keyframe), in a fixed order.
            let mut groups: BTreeMap<(u32, u32), Vec<PointPair>> = BTreeMap::new();
            for (query_point, point) in points.iter().enumerate() {
                hits.clear();
                keypoints.index.search(&point.descriptor, radius, &mut hits);
                for hit in &hits {
                    let indexed = keypoints.points[hit.frame as usize];
                    groups
                        .entry((indexed.owner, indexed.keyframe))
                        .or_default()
                        .push(PointPair {
                            query_point,
                            query: (point.x * keyframe.aspect, point.y),
                            work: (indexed.x, indexed.y),
                            distance: hit.distance,
                        });
                }
            }
            for ((owner, work_keyframe), pairs) in groups {
                if pairs.len() < min_inliers {
                    continue;
                }
                if let Some((transform, inliers, distance)) = fit(pairs, mirrored, min_inliers) {
                    seeds.push(LocalSeed {
                        owner,
                        keyframe: work_keyframe,
                        time_s: keyframe.time_s,
                        inliers,
                        distance,
                        mirrored,
                        transform,
                        aspect: keyframe.aspect,
                    });
                }
            }
        }
    }
    seeds
}

/// The plausible transform carrying the most pairs (each candidate point
/// counted once), if it carries at least `min_inliers`; with the inlier
/// count and their median descriptor distance.
fn fit(
    mut pairs: Vec<PointPair>,
    mirrored: bool,
    min_inliers: usize,
) -> Option<(Affine, usize, u32)> {
    // One pair per candidate point: its closest.
    pairs.sort_by_key(|p| (p.query_point, p.distance));
    pairs.dedup_by_key(|p| p.query_point);
    if pairs.len() < min_inliers {
        return None;
    }
    pairs.sort_by_key(|p| p.distance);
    let carried = |transform: &Affine| pairs.iter().filter(|pair| transform.carries(pair)).count();
    let mut best: Option<(Affine, usize)> = None;
    let mut consider = |triple: [&PointPair; 3]| {
        let Some(transform) = Affine::through(triple) else {
            return;
        };
        if !transform.plausible(mirrored) {
            return;
        }
        let count = carried(&transform);
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((transform, count));
        }
    };
    if pairs.len() <= MAX_EXHAUSTIVE_PAIRS {
        for i in 0..pairs.len() {
            for j in i + 1..pairs.len() {
                for k in j + 1..pairs.len() {
                    consider([&pairs[i], &pairs[j], &pairs[k]]);
                }
            }
        }
    } else {
        // Random triples (a fixed sequence: the same answer every run).
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut pick = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % pairs.len() as u64) as usize
        };
        for _ in 0..FIT_TRIALS {
            let (i, j, k) = (pick(), pick(), pick());
            if i != j && j != k && i != k {
                consider([&pairs[i], &pairs[j], &pairs[k]]);
            }
        }
    }
    let (transform, inliers) = best.filter(|&(_, count)| count >= min_inliers)?;
    let mut distances: Vec<u32> = pairs
        .iter()
        .filter(|pair| transform.carries(pair))
        .map(|pair| pair.distance)
        .collect();
    distances.sort_unstable();
    Some((transform, inliers, distances[distances.len() / 2]))
}

/// The best line `work time = speed × candidate time + offset` through one
/// work's seeds, as a segment, if enough distinct work keyframes lie on it.
fn align(
    track: &KeyframeTrack,
    owner: usize,
    seeds: &[LocalSeed],
    query: &QueryFingerprint,
    query_duration_s: f64,
    config: &MatchConfig,
) -> Option<Segment> {
    let work_time = |seed: &LocalSeed| f64::from(seed.keyframe) / track.keyframe_rate;
    let speeds = ((config.max_speed - config.min_speed) / SPEED_STEP).round() as usize + 1;
    // (distinct keyframes, inliers, speed, seeds on the line)
    let mut best: Option<(usize, usize, f64, Vec<LocalSeed>)> = None;
    for step in 0..speeds {
        let speed = config.min_speed + step as f64 * SPEED_STEP;
        let mut bins: BTreeMap<i64, Vec<LocalSeed>> = BTreeMap::new();
        for seed in seeds {
            let offset = work_time(seed) - speed * seed.time_s;
            bins.entry((offset / OFFSET_BIN_S).round() as i64)
                .or_default()
                .push(*seed);
        }
        for (&bin, _) in bins.iter() {
            // A bin and its neighbours: seeds near a bin edge still count.
            let on_line: Vec<LocalSeed> = (bin - 1..=bin + 1)
                .filter_map(|b| bins.get(&b))
                .flatten()
                .copied()
                .collect();
            let mut keyframes: Vec<u32> = on_line.iter().map(|s| s.keyframe).collect();
            keyframes.sort_unstable();
            keyframes.dedup();
            let inliers = on_line.iter().map(|s| s.inliers).sum();
            let better = best.as_ref().is_none_or(|(k, i, s, _)| {
                (keyframes.len(), inliers) > (*k, *i)
                    || ((keyframes.len(), inliers) == (*k, *i)
                        && (speed - 1.0).abs() < (s - 1.0).abs())
            });
            if better {
                best = Some((keyframes.len(), inliers, speed, on_line));
            }
        }
    }
    let (keyframes, _, speed, mut on_line) = best?;
    if keyframes < config.min_matched_frames {
        return None;
    }
    // The offset of the strongest seed places the line; seeds off it by
    // more than `LINE_TOLERANCE_S` are dropped.
    on_line.sort_by(|a, b| {
        b.inliers
            .cmp(&a.inliers)
            .then(a.time_s.total_cmp(&b.time_s))
    });
    let anchor = on_line[0];
    let offset = work_time(&anchor) - speed * anchor.time_s;
    let miss = |s: &LocalSeed| (work_time(s) - speed * s.time_s - offset).abs();
    on_line.retain(|s| miss(s) <= LINE_TOLERANCE_S);
    // Keep, per work keyframe, the seed nearest the line.
    on_line.sort_by(|a, b| {
        a.keyframe
            .cmp(&b.keyframe)
            .then(miss(a).total_cmp(&miss(b)))
    });
    on_line.dedup_by_key(|s| s.keyframe);
    on_line.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    // Distinct work keyframes must be met at distinct candidate times: one
    // candidate frame that resembles several moments of a still work is
    // one piece of evidence, not several.
    let mut times: Vec<u64> = on_line.iter().map(|s| s.time_s.to_bits()).collect();
    times.dedup();
    if times.len() < config.min_matched_frames {
        return None;
    }
    let half_step = 0.5 / track.keyframe_rate / speed;
    let first = on_line.first()?.time_s;
    let last = on_line.last()?.time_s;
    let query_start_s = (first - half_step).max(0.0);
    let query_end_s = (last + half_step).min(query_duration_s.max(last));
    let work_start_s = (speed * query_start_s + offset).max(0.0);
    let work_end_s = (speed * query_end_s + offset).min(track.duration_s);
    if work_end_s <= work_start_s {
        return None;
    }
    let expected = ((work_end_s - work_start_s) * track.keyframe_rate)
        .round()
        .max(1.0);
    let score = (on_line.len() as f64 / expected).min(1.0);
    let pairs = on_line
        .iter()
        .map(|seed| FramePair {
            query_sample: (seed.time_s * query.sample_rate).round() as u32,
            work_sample: seed.keyframe,
            distance: seed.distance,
            view: View::Keypoints,
            mirrored: seed.mirrored,
            window: work_picture_in(&seed.transform, track.aspect, seed.aspect),
        })
        .collect();
    Some(Segment {
        work: owner,
        span: track.span,
        track: Track::Keypoints,
        score,
        query_start_s,
        query_end_s,
        work_start_s,
        work_end_s,
        speed,
        pairs,
    })
}

/// Where the work's picture lies in the candidate frame (shares of its
/// width and height, clipped to the frame): the bounding box of the work
/// frame's corners carried by `transform`.
fn work_picture_in(transform: &Affine, work_aspect: f32, query_aspect: f32) -> Rect {
    let work = Rect {
        x: 0.0,
        y: 0.0,
        width: work_aspect,
        height: 1.0,
    };
    clipped_to_frame(&mapped_box(transform, &work, query_aspect))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::frame::halved;
    use crate::fingerprint::keypoints::tests::{cropped, scene};
    use crate::fingerprint::{
        KeypointDescriber, QueryKeyframe, QUERY_KEYPOINTS, QUERY_KEYPOINT_LEVELS, WORK_KEYPOINTS,
        WORK_KEYPOINT_LEVELS,
    };

    const WORK_SECONDS: u64 = 10;

    /// The work's picture at its second `second`, at a candidate's size
    /// (the work itself is described at half that size).
    fn work_picture(second: u64) -> GrayImage {
        scene(100 + second, 512, 288)
    }

    fn seeds_of(index: &KeypointIndex, query: &QueryFingerprint) -> KeypointSeeds {
        KeypointSeeds::of(index, query, &MatchConfig::default())
    }

    /// A work whose every second is another scene, with its keypoint index.
    fn work_index(describer: &KeypointDescriber) -> KeypointIndex {
        let keyframes: Vec<Vec<Keypoint>> = (0..WORK_SECONDS)
            .map(|second| {
                let frame = halved(&work_picture(second));
                describer.describe(&frame, WORK_KEYPOINTS, WORK_KEYPOINT_LEVELS)
            })
            .collect();
        let mut builder = KeypointIndexBuilder::new();
        builder.add_work(0, &keyframes, 1.0, WORK_SECONDS as f64, 256.0 / 144.0);
        builder.build()
    }

    /// A candidate of `seconds` showing, at its second `t`, what `frame`
    /// makes of the work's scene at second `t + offset`, 5 keyframes a second.
    fn candidate(
        describer: &KeypointDescriber,
        seconds: u64,
        offset: u64,
        frame: impl Fn(u64) -> GrayImage,
    ) -> QueryFingerprint {
        let keyframes = (0..seconds * 5)
            .map(|k| {
                let image = frame(k / 5 + offset);
                QueryKeyframe {
                    time_s: k as f64 / 5.0,
                    aspect: image.width() as f32 / image.height() as f32,
                    points: describer.describe(&image, QUERY_KEYPOINTS, QUERY_KEYPOINT_LEVELS),
                    mirrored: describer.describe_mirrored(
                        &image,
                        QUERY_KEYPOINTS,
                        QUERY_KEYPOINT_LEVELS,
                    ),
                }
            })
            .collect();
        QueryFingerprint {
            sample_rate: 5.0,
            slots: vec![Vec::new(); (seconds * 5) as usize],
            keyframes,
        }
    }

    use image::GrayImage;

    #[test]
    fn a_cropped_zoomed_copy_is_found_at_its_offset_with_where_it_sits() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        // Seconds 3..9 of the work, the left 25 % and top 10 % cut off,
        // scaled back to the full frame.
        let query = candidate(&describer, 6, 3, |second| {
            cropped(&work_picture(second), (128, 28, 384, 260), (512, 288))
        });
        let segments = find_local(
            &index,
            &seeds_of(&index, &query),
            &query,
            6.0,
            &MatchConfig::default(),
        );
        assert_eq!(segments.len(), 1, "{segments:?}");
        let segment = &segments[0];
        assert_eq!(segment.track, Track::Keypoints);
        assert!(
            (segment.speed - 1.0).abs() < 0.051,
            "speed {}",
            segment.speed
        );
        let offset = segment.work_start_s - segment.query_start_s;
        assert!((offset - 3.0).abs() <= 0.6, "offset {offset}");
        assert!(segment.score >= 0.5, "score {}", segment.score);
        // The work's picture extends past the copy's left and top edges.
        let window = segment.views().unwrap().window;
        assert!(window.x < 0.05 && window.y < 0.05, "{window:?}");
        assert!(segment.pairs.iter().all(|p| !p.mirrored));
    }

    #[test]
    fn a_mirrored_copy_inside_a_surround_is_found_mirrored() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        // The work at three quarters of its size, mirrored, on a busy background of another scene.
        let query = candidate(&describer, 5, 2, |second| {
            let mut frame = scene(999, 512, 288);
            let small = cropped(&work_picture(second), (0, 0, 512, 288), (384, 216));
            let small = image::imageops::flip_horizontal(&small);
            image::imageops::replace(&mut frame, &small, 96, 40);
            frame
        });
        let segments = find_local(
            &index,
            &seeds_of(&index, &query),
            &query,
            5.0,
            &MatchConfig::default(),
        );
        assert_eq!(segments.len(), 1, "{segments:?}");
        assert!(segments[0].pairs.iter().all(|p| p.mirrored));
        let window = segments[0].views().unwrap().window;
        assert!((window.x - 96.0 / 512.0).abs() < 0.05, "{window:?}");
        assert!((window.width - 0.75).abs() < 0.08, "{window:?}");
    }

    /// The work at three quarters of its size at (96, 40) over another scene.
    fn shrunk_copy(second: u64) -> GrayImage {
        let mut frame = scene(999, 512, 288);
        let small = cropped(&work_picture(second), (0, 0, 512, 288), (384, 216));
        image::imageops::replace(&mut frame, &small, 96, 40);
        frame
    }

    #[test]
    fn keypoints_place_the_window_a_hash_of_the_copy_needs() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        let config = MatchConfig::default();
        let query = candidate(&describer, 4, 2, shrunk_copy);
        let seeds = KeypointSeeds::of(&index, &query, &config);
        let placements = placed_windows(&index, &seeds, &[]);
        // The work's hashed window (its centre 80 %) as the copy shows it.
        let Placement {
            work,
            track,
            window,
            ref moments,
        } = placements[0];
        assert_eq!((work, track), (0, Track::Main), "{placements:?}");
        assert!(moments.len() >= 2, "{placements:?}");
        for (got, want) in [
            (window.x, (96.0 + 0.1 * 384.0) / 512.0),
            (window.y, (40.0 + 0.1 * 216.0) / 288.0),
            (window.width, 0.8 * 384.0 / 512.0),
            (window.height, 0.8 * 216.0 / 288.0),
        ] {
            assert!((got - want).abs() < 0.02, "{window:?}");
        }
        // A work already found needs no second look.
        let found = find_local(&index, &seeds, &query, 4.0, &config);
        assert!(!found.is_empty());
        assert!(placed_windows(&index, &seeds, &found).is_empty());
    }

    #[test]
    fn a_window_cut_by_a_crop_is_placed_on_the_work_centre() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        // The left 25 % and top 10 % cut off: the work's centre 80 % no
        // longer fits in the copy, its centre half does.
        let query = candidate(&describer, 4, 3, |second| {
            cropped(&work_picture(second), (128, 28, 384, 260), (512, 288))
        });
        let placements = placed_windows(&index, &seeds_of(&index, &query), &[]);
        let Placement { track, window, .. } = placements[0];
        assert_eq!(track, Track::Centre, "{placements:?}");
        let (top, height) = (28.0 / 288.0, 260.0 / 288.0);
        for (got, want) in [
            (window.x, 0.0),
            (window.width, (0.75 - 0.25) / 0.75),
            (window.y, (0.25 - top) / height),
            (window.height, 0.5 / height),
        ] {
            assert!((got - want).abs() < 0.03, "{window:?}");
        }
    }

    #[test]
    fn unrelated_scenes_place_no_window() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        let query = candidate(&describer, 8, 0, |second| scene(500 + second, 512, 288));
        assert!(placed_windows(&index, &seeds_of(&index, &query), &[]).is_empty());
    }

    #[test]
    fn unrelated_scenes_match_nothing() {
        let describer = KeypointDescriber::new();
        let index = work_index(&describer);
        let query = candidate(&describer, 8, 0, |second| scene(500 + second, 512, 288));
        assert!(find_local(
            &index,
            &seeds_of(&index, &query),
            &query,
            8.0,
            &MatchConfig::default()
        )
        .is_empty());
    }

    #[test]
    fn fitted_transforms_reject_impossible_geometry() {
        let pair = |work: (f32, f32), query: (f32, f32)| PointPair {
            query_point: 0,
            query,
            work,
            distance: 0,
        };
        // Scale 2, shift (0.1, 0.2): a zoom.
        let zoom = [
            pair((0.0, 0.0), (0.1, 0.2)),
            pair((1.0, 0.0), (2.1, 0.2)),
            pair((0.0, 1.0), (0.1, 2.2)),
        ];
        let transform = Affine::through([&zoom[0], &zoom[1], &zoom[2]]).unwrap();
        assert!(transform.plausible(false));
        assert!(!transform.plausible(true));
        // Squashed five times along one axis: no copy does that.
        let squash = [
            pair((0.0, 0.0), (0.0, 0.0)),
            pair((1.0, 0.0), (5.0, 0.0)),
            pair((0.0, 1.0), (0.0, 1.0)),
        ];
        let transform = Affine::through([&squash[0], &squash[1], &squash[2]]).unwrap();
        assert!(!transform.plausible(false));
        // Collinear points fix nothing.
        let line = [
            pair((0.0, 0.0), (0.0, 0.0)),
            pair((1.0, 1.0), (1.0, 1.0)),
            pair((2.0, 2.0), (2.0, 2.0)),
        ];
        assert!(Affine::through([&line[0], &line[1], &line[2]]).is_none());
    }
}
