//! Frame fingerprints: greyscale analysis frames in, 256-bit hashes out.
//!
//! Pure code: no I/O, no clock. A registered work gets one hash per sample
//! (the centre of its picture inside any black bars); a candidate video gets
//! several *probes* per sample (centre crops at a few scales, inner pictures
//! found by their edges, the picture turned back when corner wedges show a
//! rotation, the crops with flat overlaid boxes painted over, each also
//! mirrored), so that cropped, mirrored, letterboxed, picture-in-picture,
//! rotated and captioned copies still meet the work's hashes.

pub mod frame;
pub mod hash;

use image::GrayImage;

pub use frame::Rect;
pub use hash::{DctHasher, Hash256};

/// Name and version of the hashing scheme; stored with every fingerprint.
/// Change it whenever a change here alters the hashes of the same video.
pub const ALGORITHM: &str = "reelguard-dct256-v1";
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
/// Work samples analysed together for bars (8 s at 2 fps).
const BLOCK_SAMPLES: usize = 16;
/// Candidate samples analysed together for bars, inner pictures, rotation
/// (4 s at 10 fps).
const QUERY_BLOCK_SAMPLES: usize = 40;
/// Share of the picture (per axis) a work's hash covers, centred. Leaving the
/// outer border out makes hashes robust to crops and corner logos.
const REFERENCE_CROP: f32 = 0.8;
/// Centre crops a candidate is probed with: a copy cropped by `c` per side
/// meets the work's hash at `REFERENCE_CROP / (1 - 2c)`.
const QUERY_CROPS: [f32; 5] = [0.8, 0.85, 0.9, 0.95, 1.0];

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
}

/// One hash of a candidate sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub hash: Hash256,
    pub quality: f32,
    pub view: View,
    pub mirrored: bool,
}

/// Fingerprint of a candidate: `slots[i]` holds the probes of the frame at
/// `i / sample_rate` s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryFingerprint {
    pub sample_rate: f64,
    pub slots: Vec<Vec<Probe>>,
}

/// Builds a work's [`Fingerprint`] from its sampled frames, in order.
pub struct ReferenceFingerprinter {
    hasher: DctHasher,
    pending: Vec<GrayImage>,
    frames: Vec<FrameHash>,
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
            pending: Vec::new(),
            frames: Vec::new(),
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
        Fingerprint {
            sample_rate: SAMPLE_RATE,
            frames: self.frames,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let content = frame::content_box(&self.pending);
        let window = content.centred(REFERENCE_CROP);
        for sample in self.pending.drain(..) {
            let hashed = self
                .hasher
                .hash(&frame::IntegralImage::new(&sample).window(&window));
            self.frames.push(FrameHash {
                hash: hashed.hash,
                quality: hashed.quality,
            });
        }
    }
}

/// Builds a candidate's [`QueryFingerprint`] from its sampled frames, in order.
pub struct QueryFingerprinter {
    hasher: DctHasher,
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
            pending: Vec::new(),
            previous_inner: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Adds the next sample (the frame at `count / QUERY_SAMPLE_RATE` s).
    pub fn push(&mut self, frame: GrayImage) {
        self.pending.push(frame);
        if self.pending.len() == QUERY_BLOCK_SAMPLES {
            self.flush();
        }
    }

    pub fn finish(mut self) -> QueryFingerprint {
        self.flush();
        let duration_s = self.slots.len() as f64 / QUERY_SAMPLE_RATE;
        let step = if duration_s <= DENSE_QUERY_MAX_S {
            1
        } else if duration_s <= 2.0 * DENSE_QUERY_MAX_S {
            2
        } else {
            (QUERY_SAMPLE_RATE / SAMPLE_RATE) as usize
        };
        let slots = self.slots.into_iter().step_by(step).collect();
        QueryFingerprint {
            sample_rate: QUERY_SAMPLE_RATE / step as f64,
            slots,
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
        let detected = edges
            .as_ref()
            .map(frame::inner_pictures)
            .unwrap_or_default();
        let inner = frame::merge_rects(&detected, &self.previous_inner);
        for (i, rect) in inner.iter().enumerate() {
            windows.push((View::Inner(i as u8), rect.centred(REFERENCE_CROP)));
        }
        self.previous_inner = detected;
        let derotations = derotations(&self.pending, &content);
        let boxes = edges.as_ref().map(frame::flat_boxes).unwrap_or_default();
        for sample in self.pending.drain(..) {
            let integral = frame::IntegralImage::new(&sample);
            let mut probes = Vec::with_capacity(windows.len() * 4 + 4);
            for &(view, rect) in &windows {
                push_probes(&self.hasher, &integral, view, &rect, &mut probes);
            }
            for &degrees in &derotations {
                let turned = frame::rotate(&sample, degrees);
                let rect = content.centred(REFERENCE_CROP);
                let integral = frame::IntegralImage::new(&turned);
                let view = View::Derotated(degrees > 0.0);
                push_probes(&self.hasher, &integral, view, &rect, &mut probes);
            }
            if !boxes.is_empty() {
                let filled = frame::IntegralImage::new(&frame::fill_boxes(&sample, &boxes));
                for (i, &crop) in QUERY_CROPS.iter().enumerate() {
                    let rect = content.centred(crop);
                    push_probes(
                        &self.hasher,
                        &filled,
                        View::Uncovered(i as u8),
                        &rect,
                        &mut probes,
                    );
                }
            }
            self.slots.push(probes);
        }
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
    probes: &mut Vec<Probe>,
) {
    let hashed = hasher.hash(&integral.window(rect));
    for (hash, mirrored) in [(hashed.hash, false), (hashed.mirrored, true)] {
        probes.push(Probe {
            hash,
            quality: hashed.quality,
            view,
            mirrored,
        });
    }
}
