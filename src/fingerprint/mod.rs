//! Frame fingerprints: greyscale analysis frames in, 256-bit hashes out.
//!
//! Pure code: no I/O, no clock. A registered work gets one *main* hash per
//! sample (the centre of its picture inside any black bars) and, once a
//! second, *region* hashes of parts of its picture (`regions.rs`: the centre
//! half, vertical strips), kept as separate tracks. A candidate video gets
//! several *probes* per sample (centre crops of the picture inside its bars
//! and of the part that is sharp and moving, inner pictures found by their
//! edges, the picture turned back when corner wedges show a rotation, the
//! crops with flat overlaid boxes painted over, and on every other sample
//! the windows that meet the region tracks; each also mirrored), so that
//! cropped, zoomed, reframed, surrounded, split, mirrored, picture-in-picture,
//! rotated and captioned copies still meet some hash of the work.
//!
//! Both also get *keypoints* (`keypoints.rs`): corners with binary
//! descriptors, once a second on a work and several times a second on a
//! candidate (also mirrored). They need no guess of where the work lies in
//! the copy, so they reach what no window can: crops up to a quarter per
//! side, zooms anywhere, reframed windows, split-screen parts.

pub mod frame;
pub mod hash;
pub mod keypoints;
pub mod regions;

use image::GrayImage;

pub use frame::Rect;
pub use hash::{DctHasher, Hash256};
pub use keypoints::{Keypoint, KeypointDescriber};

/// Name and version of the hashing scheme; stored with every fingerprint.
/// Change it whenever a change here alters the hashes of the same video.
/// v2 = v1's main hashes followed by the region tracks; v3 = v2 and
/// keypoints.
pub const ALGORITHM: &str = "reelguard-dct256-v3";
/// Earlier schemes whose fingerprints are still read: their hashes are
/// v3's, they only lack the keypoints (v2) or also the region tracks (v1);
/// such works are matched on what they have until registered again.
pub const READABLE_ALGORITHMS: [&str; 3] =
    [ALGORITHM, "reelguard-dct256-v2", "reelguard-dct256-v1"];
/// Keypoints described per work keyframe, and per candidate keyframe (each
/// way round: as seen and mirrored). A candidate gets more: it may show the
/// work small among other things.
pub const WORK_KEYPOINTS: usize = 32;
pub const QUERY_KEYPOINTS: usize = 128;
/// Pyramid levels keypoints are sought in (each `1/√2` the size of the one
/// before). A candidate is decoded at twice the work's size
/// ([`QUERY_ANALYSIS_SIDE`]) and searched over more levels, so a work shown
/// small in it (a picture-in-picture, a split-screen part) still meets the
/// work's patches at their size, and one shown large (a 9:16 window of a
/// 16:9 work) too.
pub const WORK_KEYPOINT_LEVELS: usize = 4;
pub const QUERY_KEYPOINT_LEVELS: usize = 6;
/// Every `QUERY_KEYFRAME_STEP`-th candidate sample is a keyframe (5 per
/// second at 10 samples per second): a work keyframe (1 per second) then
/// always has a candidate keyframe within a tenth of a second. Past
/// `DENSE_QUERY_MAX_S`, every `SPARSE_QUERY_KEYFRAME_STEP`-th (2 per second).
const QUERY_KEYFRAME_STEP: usize = 2;
const SPARSE_QUERY_KEYFRAME_STEP: usize = 5;
/// Every `REGION_STEP`-th main sample also gets region hashes (1 per second).
pub const REGION_STEP: usize = 2;
/// Region tracks every work keeps besides its strips: the centre region.
const FIXED_REGIONS: usize = 1;
/// Samples per second of a registered work.
pub const SAMPLE_RATE: f64 = 2.0;
/// Samples per second of a short candidate: some candidate sample then
/// shows (nearly) the very frame of each work sample, which matters for
/// fast motion, where a frame's neighbours look different.
pub const QUERY_SAMPLE_RATE: f64 = 10.0;
/// Candidates up to this long (seconds) keep all samples; up to twice as
/// long, every other one (5 per second); longer ones, every fifth (2 per
/// second), which bounds the search cost of long videos.
const DENSE_QUERY_MAX_S: f64 = 60.0;
/// Longer side, in pixels, of the analysis frames the decoder produces.
pub const ANALYSIS_SIDE: u32 = 256;
/// Longer side of a candidate's decoded frames: its keyframes' keypoints
/// are sought at this size, everything else on the frame halved to
/// [`ANALYSIS_SIDE`].
pub const QUERY_ANALYSIS_SIDE: u32 = 2 * ANALYSIS_SIDE;
/// Work samples analysed together for bars (8 s at 2 fps).
const BLOCK_SAMPLES: usize = 16;
/// Candidate samples analysed together for bars, inner pictures, rotation
/// (4 s at 10 fps).
const QUERY_BLOCK_SAMPLES: usize = 40;
/// Share of the picture (per axis) a work's hash covers, centred. Leaving the
/// outer border out makes hashes robust to crops and corner logos.
pub const REFERENCE_CROP: f32 = 0.8;
/// Centre crops a candidate is probed with: a copy cropped by `c` per side
/// meets the work's hash at `REFERENCE_CROP / (1 - 2c)`.
const QUERY_CROPS: [f32; 5] = [0.8, 0.85, 0.9, 0.95, 1.0];
/// Centre crops of the sharp, moving part of a candidate frame.
const ACTIVE_CROPS: [f32; 3] = [0.8, 0.9, 1.0];
/// Every `REGION_PROBE_STEP`-th candidate sample is probed for the region
/// tracks (5 per second): they hold one hash a second, so denser probing
/// finds nothing new.
const REGION_PROBE_STEP: usize = 2;

/// The hash of one sampled frame of a work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameHash {
    pub hash: Hash256,
    /// 0.0 (flat) ..= 1.0 (detailed).
    pub quality: f32,
}

/// Fingerprint of a work: `frames[i]` is the frame shown at `i / sample_rate` s.
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    pub sample_rate: f64,
    pub frames: Vec<FrameHash>,
    /// Region tracks, each with one hash per `REGION_STEP` main samples.
    pub regions: Vec<RegionTrack>,
    /// Keypoints of every `REGION_STEP`-th main sample (the keyframes, at
    /// [`Fingerprint::region_sample_rate`]); empty for older schemes.
    pub keyframes: Vec<Vec<Keypoint>>,
}

/// Which hashes of a work a probe can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// The centre 80 % of the picture, every sample.
    Main,
    /// The centre half of the picture.
    Centre,
    /// A vertical strip (reframed windows, split-screen parts).
    Strip,
    /// The keyframes' keypoints.
    Keypoints,
}

/// A region of a work's picture hashed into its own track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    Centre,
    /// Strip `index` of `count`, left to right.
    Strip {
        index: u8,
        count: u8,
    },
}

impl Region {
    pub fn track(&self) -> Track {
        match self {
            Region::Centre => Track::Centre,
            Region::Strip { .. } => Track::Strip,
        }
    }
}

/// The hashes of one region of a work, one per `REGION_STEP` main samples.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionTrack {
    pub region: Region,
    pub frames: Vec<FrameHash>,
}

impl Fingerprint {
    /// Samples per second of the region tracks.
    pub fn region_sample_rate(&self) -> f64 {
        self.sample_rate / REGION_STEP as f64
    }

    /// Number of hashes, main and region, without copying them.
    pub fn stored_len(&self) -> usize {
        self.frames.len() + self.regions.iter().map(|t| t.frames.len()).sum::<usize>()
    }

    /// Every hash in storage order: the main samples, then each region
    /// track in turn (the centre, then the strips left to right).
    pub fn stored_frames(&self) -> Vec<FrameHash> {
        let mut all = Vec::with_capacity(self.stored_len());
        all.extend_from_slice(&self.frames);
        for track in &self.regions {
            all.extend_from_slice(&track.frames);
        }
        all
    }

    /// Rebuilds a fingerprint from [`Self::stored_frames`] and the number of
    /// main samples; the region layout follows from the counts.
    pub fn from_stored(
        sample_rate: f64,
        mut all: Vec<FrameHash>,
        main_frames: usize,
        keyframes: Vec<Vec<Keypoint>>,
    ) -> Result<Fingerprint, String> {
        if all.len() < main_frames {
            return Err(format!(
                "{} stored hashes for {main_frames} samples",
                all.len()
            ));
        }
        let extra = all.split_off(main_frames);
        let per_track = main_frames.div_ceil(REGION_STEP);
        let mut regions = Vec::new();
        if !extra.is_empty() {
            if per_track == 0 || !extra.len().is_multiple_of(per_track) {
                return Err(format!(
                    "{} region hashes do not fill tracks of {per_track}",
                    extra.len()
                ));
            }
            let tracks = extra.len() / per_track;
            let strips = tracks
                .checked_sub(FIXED_REGIONS)
                .filter(|&s| s <= regions::MAX_STRIPS);
            let Some(strips) = strips else {
                return Err(format!("{tracks} region tracks is not a valid layout"));
            };
            let layout =
                std::iter::once(Region::Centre).chain((0..strips).map(|i| Region::Strip {
                    index: i as u8,
                    count: strips as u8,
                }));
            for (region, frames) in layout.zip(extra.chunks_exact(per_track)) {
                regions.push(RegionTrack {
                    region,
                    frames: frames.to_vec(),
                });
            }
        }
        if keyframes.len() > main_frames.div_ceil(REGION_STEP) {
            return Err(format!(
                "{} keyframes for {main_frames} samples",
                keyframes.len()
            ));
        }
        Ok(Fingerprint {
            sample_rate,
            frames: all,
            regions,
            keyframes,
        })
    }
}

/// Which part of a candidate frame a probe hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The centre crop `QUERY_CROPS[i]` of the picture inside any bars.
    Crop(u8),
    /// The i-th inner picture detected in the shot.
    Inner(u8),
    /// The picture turned back by the rotation read from its corner wedges
    /// (clockwise when true), then cropped like `Crop(0)`.
    Derotated(bool),
    /// The centre crop `QUERY_CROPS[i]` with the flat boxes laid over the
    /// shot (captions, logo plates) painted with the level around them.
    Uncovered(u8),
    /// The centre crop `ACTIVE_CROPS[i]` of the part of the frame that is
    /// sharp and moving (the picture inside any surround).
    Active(u8),
    /// A window that may show a work's centre region.
    Centre,
    /// A strip-shaped window of a narrow part of the frame.
    Strip,
    /// Keypoints of the whole frame whose positions fit one geometric
    /// transform of the work's (the window is the work's picture mapped
    /// into the frame).
    Keypoints,
    /// A window where keypoints placed a work's hashed region (its main
    /// window, centre or a strip): the second look at a candidate.
    Placed(Track),
}

impl View {
    /// The work track this view is compared with.
    pub fn track(&self) -> Track {
        match self {
            View::Centre => Track::Centre,
            View::Strip => Track::Strip,
            View::Keypoints => Track::Keypoints,
            View::Placed(track) => *track,
            _ => Track::Main,
        }
    }
}

/// One hash of a candidate sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub hash: Hash256,
    pub quality: f32,
    pub view: View,
    pub mirrored: bool,
    /// The window hashed, in shares of the frame's width and height.
    pub window: Rect,
}

/// Fingerprint of a candidate: `slots[i]` holds the probes of the frame at
/// `i / sample_rate` s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryFingerprint {
    pub sample_rate: f64,
    pub slots: Vec<Vec<Probe>>,
    /// Keyframes with their keypoints, in time order.
    pub keyframes: Vec<QueryKeyframe>,
}

/// The keypoints of one candidate sample, as seen and mirrored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryKeyframe {
    pub time_s: f64,
    /// Width / height of the sample.
    pub aspect: f32,
    pub points: Vec<Keypoint>,
    /// The sample seen in a mirror (positions in the sample's own frame).
    pub mirrored: Vec<Keypoint>,
}

/// Builds a work's [`Fingerprint`] from its sampled frames, in order.
pub struct ReferenceFingerprinter {
    hasher: DctHasher,
    describer: KeypointDescriber,
    keyframes: Vec<Vec<Keypoint>>,
    pending: Vec<GrayImage>,
    frames: Vec<FrameHash>,
    /// Strips per region sample, fixed by the first block's content.
    strips: Option<usize>,
    /// `regions[0]` the centre, then the strips.
    regions: Vec<Vec<FrameHash>>,
}

impl Default for ReferenceFingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceFingerprinter {
    pub fn new() -> Self {
        ReferenceFingerprinter {
            hasher: DctHasher::new(),
            describer: KeypointDescriber::new(),
            keyframes: Vec::new(),
            pending: Vec::new(),
            frames: Vec::new(),
            strips: None,
            regions: Vec::new(),
        }
    }

    /// Adds the next sample (the frame at `count / SAMPLE_RATE` s).
    pub fn push(&mut self, frame: GrayImage) {
        self.pending.push(frame);
        if self.pending.len() == BLOCK_SAMPLES {
            self.flush();
        }
    }

    pub fn finish(mut self) -> Fingerprint {
        self.flush();
        let strips = self.strips.unwrap_or(0);
        let regions = self
            .regions
            .into_iter()
            .enumerate()
            .map(|(i, frames)| RegionTrack {
                region: if i == 0 {
                    Region::Centre
                } else {
                    Region::Strip {
                        index: (i - 1) as u8,
                        count: strips as u8,
                    }
                },
                frames,
            })
            .collect();
        Fingerprint {
            sample_rate: SAMPLE_RATE,
            frames: self.frames,
            regions,
            keyframes: self.keyframes,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let content = frame::content_box(&self.pending);
        let window = content.centred(REFERENCE_CROP);
        let strips = *self
            .strips
            .get_or_insert_with(|| regions::strip_count(content.width / content.height.max(1.0)));
        let mut region_windows = vec![regions::work_centre(&content)];
        region_windows.extend(regions::work_strips(&content, strips));
        if self.regions.is_empty() {
            self.regions = vec![Vec::new(); region_windows.len()];
        }
        for sample in self.pending.drain(..) {
            let integral = frame::IntegralImage::new(&sample);
            let hash_of = |rect: &Rect| {
                let hashed = self.hasher.hash(&integral.window(rect));
                FrameHash {
                    hash: hashed.hash,
                    quality: hashed.quality,
                }
            };
            if self.frames.len().is_multiple_of(REGION_STEP) {
                for (track, rect) in self.regions.iter_mut().zip(&region_windows) {
                    track.push(hash_of(rect));
                }
                self.keyframes.push(self.describer.describe(
                    &sample,
                    WORK_KEYPOINTS,
                    WORK_KEYPOINT_LEVELS,
                ));
            }
            self.frames.push(hash_of(&window));
        }
    }
}

/// Builds a candidate's [`QueryFingerprint`] from its sampled frames, in order.
pub struct QueryFingerprinter {
    hasher: DctHasher,
    describer: KeypointDescriber,
    keyframes: Vec<QueryKeyframe>,
    pending: Vec<GrayImage>,
    /// Inner pictures of the previous block: they usually persist.
    previous_inner: Vec<Rect>,
    slots: Vec<Vec<Probe>>,
}

impl Default for QueryFingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryFingerprinter {
    pub fn new() -> Self {
        QueryFingerprinter {
            hasher: DctHasher::new(),
            describer: KeypointDescriber::new(),
            keyframes: Vec::new(),
            pending: Vec::new(),
            previous_inner: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Adds the next sample (the frame at `count / QUERY_SAMPLE_RATE` s),
    /// decoded with its longer side [`QUERY_ANALYSIS_SIDE`] (a smaller one
    /// is used as it is).
    pub fn push(&mut self, frame: GrayImage) {
        let count = self.slots.len() + self.pending.len();
        let dense = (count as f64) < DENSE_QUERY_MAX_S * QUERY_SAMPLE_RATE;
        let step = if dense {
            QUERY_KEYFRAME_STEP
        } else {
            SPARSE_QUERY_KEYFRAME_STEP
        };
        if count.is_multiple_of(step) {
            self.keyframes.push(QueryKeyframe {
                time_s: count as f64 / QUERY_SAMPLE_RATE,
                aspect: frame.width() as f32 / frame.height().max(1) as f32,
                points: self
                    .describer
                    .describe(&frame, QUERY_KEYPOINTS, QUERY_KEYPOINT_LEVELS),
                mirrored: self.describer.describe_mirrored(
                    &frame,
                    QUERY_KEYPOINTS,
                    QUERY_KEYPOINT_LEVELS,
                ),
            });
        }
        self.pending.push(analysis_frame(frame));
        if self.pending.len() == QUERY_BLOCK_SAMPLES {
            self.flush();
        }
    }

    pub fn finish(mut self) -> QueryFingerprint {
        self.flush();
        let step = kept_sample_step(self.slots.len());
        let slots = self.slots.into_iter().step_by(step).collect();
        QueryFingerprint {
            sample_rate: QUERY_SAMPLE_RATE / step as f64,
            slots,
            keyframes: self.keyframes,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let content = frame::content_box(&self.pending);
        let mut windows: Vec<(View, Rect)> = QUERY_CROPS
            .iter()
            .enumerate()
            .map(|(i, &crop)| (View::Crop(i as u8), content.centred(crop)))
            .collect();
        let edges = frame::ShotEdges::of(&self.pending);
        let active = edges.as_ref().and_then(frame::active_region);
        if let Some(active) = &active {
            for (i, &crop) in ACTIVE_CROPS.iter().enumerate() {
                windows.push((View::Active(i as u8), active.centred(crop)));
            }
        }
        let detected = edges
            .as_ref()
            .map(frame::inner_pictures)
            .unwrap_or_default();
        let inner = frame::merge_rects(&detected, &self.previous_inner);
        for (i, rect) in inner.iter().enumerate() {
            windows.push((View::Inner(i as u8), rect.centred(REFERENCE_CROP)));
        }
        self.previous_inner = detected;
        // The parts of the frame that may show a work partly: its content,
        // its sharp moving part, and each inner picture (a split-screen part).
        let mut parts = vec![content];
        parts.extend(active);
        parts.extend(inner.iter().copied());
        let frame_rect = Rect::of_frame(&self.pending[0]);
        let mut region_windows: Vec<(View, Rect)> = Vec::new();
        for part in &parts {
            region_windows.extend(
                regions::centre_probes(part)
                    .into_iter()
                    .map(|r| (View::Centre, r)),
            );
            region_windows.extend(
                regions::strip_probes(part, &frame_rect)
                    .into_iter()
                    .map(|r| (View::Strip, r)),
            );
        }
        let derotations = derotations(&self.pending, &content);
        let boxes = edges.as_ref().map(frame::flat_boxes).unwrap_or_default();
        for sample in self.pending.drain(..) {
            let integral = frame::IntegralImage::new(&sample);
            let frame_rect = Rect::of_frame(&sample);
            let mut probes = Vec::with_capacity(windows.len() * 4 + 4);
            let mut push = |integral: &frame::IntegralImage, view: View, rect: &Rect| {
                push_probes(&self.hasher, integral, view, rect, &frame_rect, &mut probes)
            };
            for &(view, rect) in &windows {
                push(&integral, view, &rect);
            }
            if self.slots.len().is_multiple_of(REGION_PROBE_STEP) {
                for &(view, rect) in &region_windows {
                    push(&integral, view, &rect);
                }
            }
            for &degrees in &derotations {
                let turned = frame::rotate(&sample, degrees);
                let rect = content.centred(REFERENCE_CROP);
                let integral = frame::IntegralImage::new(&turned);
                push(&integral, View::Derotated(degrees > 0.0), &rect);
            }
            if !boxes.is_empty() {
                let filled = frame::IntegralImage::new(&frame::fill_boxes(&sample, &boxes));
                for (i, &crop) in QUERY_CROPS.iter().enumerate() {
                    push(&filled, View::Uncovered(i as u8), &content.centred(crop));
                }
            }
            self.slots.push(probes);
        }
    }
}

/// A candidate sample (decoded at [`QUERY_ANALYSIS_SIDE`]) at the size
/// every hash is taken at: halved, unless it is already that small.
fn analysis_frame(frame: GrayImage) -> GrayImage {
    if frame.width().max(frame.height()) > ANALYSIS_SIDE {
        frame::halved(&frame)
    } else {
        frame
    }
}

/// Every how many candidate samples one is kept, for a candidate of
/// `samples` samples at [`QUERY_SAMPLE_RATE`]: all up to
/// `DENSE_QUERY_MAX_S`, every other one up to twice that, then as many as a
/// work has (which bounds the search cost of long videos).
fn kept_sample_step(samples: usize) -> usize {
    let duration_s = samples as f64 / QUERY_SAMPLE_RATE;
    if duration_s <= DENSE_QUERY_MAX_S {
        1
    } else if duration_s <= 2.0 * DENSE_QUERY_MAX_S {
        2
    } else {
        (QUERY_SAMPLE_RATE / SAMPLE_RATE) as usize
    }
}

/// Hashes given windows of every sample of a candidate, decoded as for a
/// [`QueryFingerprinter`]: the second look at a candidate, once its
/// keypoints have placed a work in the frame and so tell which window a
/// hash needs (see `matcher::placed_windows`).
pub struct WindowFingerprinter {
    hasher: DctHasher,
    /// Views and windows, in shares of the frame's width and height.
    windows: Vec<(View, Rect)>,
    slots: Vec<Vec<Probe>>,
}

impl WindowFingerprinter {
    pub fn new(windows: Vec<(View, Rect)>) -> Self {
        WindowFingerprinter {
            hasher: DctHasher::new(),
            windows,
            slots: Vec::new(),
        }
    }

    /// Adds the next sample, as [`QueryFingerprinter::push`] takes it.
    pub fn push(&mut self, frame: GrayImage) {
        let analysis = analysis_frame(frame);
        let integral = frame::IntegralImage::new(&analysis);
        let frame_rect = Rect::of_frame(&analysis);
        let mut probes = Vec::with_capacity(2 * self.windows.len());
        for (view, share) in &self.windows {
            let rect = share.of_shares(&frame_rect);
            push_probes(
                &self.hasher,
                &integral,
                *view,
                &rect,
                &frame_rect,
                &mut probes,
            );
        }
        self.slots.push(probes);
    }

    /// The probes per kept sample, in step with the `slots` of the
    /// [`QueryFingerprint`] of the same video.
    pub fn finish(self) -> Vec<Vec<Probe>> {
        let step = kept_sample_step(self.slots.len());
        self.slots.into_iter().step_by(step).collect()
    }
}

/// A few samples of a candidate, kept whole (at the analysis size) so that a
/// window can be hashed at any place: the second look fits each window
/// where keypoints placed a work to the work's own hashes
/// (`matcher::refine_window`) before the whole candidate is hashed there.
pub struct Stills {
    /// Sample indices (at [`QUERY_SAMPLE_RATE`], from 0) to keep, ascending.
    wanted: Vec<usize>,
    seen: usize,
    kept: Vec<Still>,
}

/// One kept sample: its time and its integral image.
pub struct Still {
    pub time_s: f64,
    integral: frame::IntegralImage,
    frame: Rect,
}

impl Stills {
    /// Keeps the samples nearest to `times_s` (seconds), each once.
    pub fn at(times_s: &[f64]) -> Self {
        let mut wanted: Vec<usize> = times_s
            .iter()
            .filter(|t| t.is_finite() && **t >= 0.0)
            .map(|t| (t * QUERY_SAMPLE_RATE).round() as usize)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        Stills {
            wanted,
            seen: 0,
            kept: Vec::new(),
        }
    }

    /// Adds the next sample, as [`QueryFingerprinter::push`] takes it.
    pub fn push(&mut self, frame: GrayImage) {
        let index = self.seen;
        self.seen += 1;
        if self.wanted.binary_search(&index).is_err() {
            return;
        }
        let analysis = analysis_frame(frame);
        self.kept.push(Still {
            time_s: index as f64 / QUERY_SAMPLE_RATE,
            integral: frame::IntegralImage::new(&analysis),
            frame: Rect::of_frame(&analysis),
        });
    }

    pub fn finish(self) -> Vec<Still> {
        self.kept
    }
}

impl Still {
    /// The hash of `share` (a window in shares of the frame's width and
    /// height), as seen and mirrored.
    pub fn hash(&self, hasher: &DctHasher, share: &Rect) -> hash::WindowHash {
        hasher.hash(&self.integral.window(&share.of_shares(&self.frame)))
    }
}

/// The turns (degrees, clockwise) that undo a rotation of the picture in
/// `content`, read from its corner wedges. The outline of clean wedges gives
/// the angle but not its direction: both are tried. Where a dark picture
/// edge blurs the outline, the angle (with its direction) that best fits
/// the wedges' expected shape is used instead.
fn derotations(frames: &[GrayImage], content: &Rect) -> Vec<f32> {
    if let Some(angle) = frame::corner_wedge_angle(frames, content) {
        vec![angle, -angle]
    } else {
        frame::fitted_wedge_angle(frames, content)
            .map(|turned| vec![-turned])
            .unwrap_or_default()
    }
}

/// Hashes one window of a sample as seen and mirrored.
fn push_probes(
    hasher: &DctHasher,
    integral: &frame::IntegralImage,
    view: View,
    rect: &Rect,
    frame: &Rect,
    probes: &mut Vec<Probe>,
) {
    let hashed = hasher.hash(&integral.window(rect));
    let window = Rect {
        x: rect.x / frame.width,
        y: rect.y / frame.height,
        width: rect.width / frame.width,
        height: rect.height / frame.height,
    };
    for (hash, mirrored) in [(hashed.hash, false), (hashed.mirrored, true)] {
        probes.push(Probe {
            hash,
            quality: hashed.quality,
            view,
            mirrored,
            window,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_window_probes_keep_step_with_the_candidate_probes() {
        let frame =
            GrayImage::from_fn(64, 36, |x, y| image::Luma([((x * 7 + y * 13) % 251) as u8]));
        let whole = Rect {
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: 1.0,
        };
        let mut placed = WindowFingerprinter::new(vec![(View::Placed(Track::Centre), whole)]);
        let mut candidate = QueryFingerprinter::new();
        // 70 s at 10 samples a second: past a minute, every other one is kept.
        for _ in 0..700 {
            placed.push(frame.clone());
            candidate.push(frame.clone());
        }
        let slots = placed.finish();
        assert_eq!(slots.len(), 350);
        assert_eq!(candidate.finish().slots.len(), slots.len());
        for probes in &slots {
            assert_eq!(probes.len(), 2, "as seen and mirrored");
            assert!(probes.iter().all(|p| p.window == whole));
            assert!(probes.iter().all(|p| p.view.track() == Track::Centre));
        }
    }
}
