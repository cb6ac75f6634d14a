//! Fitting a placed window to the work's own hashes.
//!
//! Keypoints place a work in a candidate's frame to within their inlier
//! tolerance (a few per cent of the frame), averaged over a few keyframes;
//! a window hash needs its window within about 2 % of its size. So before
//! the second look hashes a candidate at a placed window, each side of the
//! window is moved, coarse to fine, to where the window's hashes on a few
//! kept samples come closest to the work's hashes at the times the
//! keypoints paired them with. The fit only chooses the window: the hashes
//! of the whole candidate there, searched like any probe, are the evidence.
//!
//! Pure code: samples in, a rectangle out.

use super::Placement;
use crate::fingerprint::{DctHasher, Hash256, Rect, Still};
use crate::index::Index;

/// Steps (shares of the window's width or height) a side is moved by,
/// coarse to fine, and the most passes over the four sides per step.
const STEPS: [f32; 4] = [0.04, 0.02, 0.01, 0.005];
const MAX_PASSES: usize = 4;
/// Largest move of a side, as a share of the placed window's size: the fit
/// refines the keypoints' placement, it does not search the frame.
const MAX_MOVE: f32 = 0.2;
/// A kept sample is fitted against the keyframe paired within this many
/// seconds of it, and the work samples this many either side of the
/// paired time.
const SAME_MOMENT_S: f64 = 0.06;
const WORK_SAMPLE_REACH: i64 = 1;

/// The window of `placement` moved to fit the work's hashes on `stills`
/// (the candidate's samples at the placement's moments); the placed window
/// itself when nothing can be compared.
pub fn refine_window(
    index: &Index,
    hasher: &DctHasher,
    placement: &Placement,
    stills: &[Still],
) -> Rect {
    let targets = targets(index, placement, stills);
    if targets.is_empty() {
        return placement.window;
    }
    let cost = |window: &Rect| -> u32 {
        targets
            .iter()
            .map(|(still, hashes)| {
                let hashed = still.hash(hasher, window);
                hashes
                    .iter()
                    .map(|h| hashed.hash.distance(h).min(hashed.mirrored.distance(h)))
                    .min()
                    .unwrap_or(256)
            })
            .sum()
    };
    let start = Sides::of(&placement.window);
    let mut best = start;
    let mut best_cost = cost(&best.rect());
    for step in STEPS {
        for _ in 0..MAX_PASSES {
            let mut moved = false;
            for side in 0..4 {
                for direction in [-1.0, 1.0] {
                    let Some(trial) = best.moved(side, direction * step, &start) else {
                        continue;
                    };
                    let trial_cost = cost(&trial.rect());
                    if trial_cost < best_cost {
                        (best, best_cost, moved) = (trial, trial_cost, true);
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    best.rect()
}

/// Each still paired with the work hashes around the moment the keypoints
/// paired it with.
fn targets<'a>(
    index: &Index,
    placement: &Placement,
    stills: &'a [Still],
) -> Vec<(&'a Still, Vec<Hash256>)> {
    let Some(span) = index
        .works()
        .iter()
        .position(|span| span.owner == placement.work && span.track == placement.track)
    else {
        return Vec::new();
    };
    let rate = index.works()[span].sample_rate;
    stills
        .iter()
        .filter_map(|still| {
            let &(_, work_s) = placement
                .moments
                .iter()
                .find(|(time_s, _)| (time_s - still.time_s).abs() <= SAME_MOMENT_S)?;
            let nearest = (work_s * rate).round() as i64;
            let hashes: Vec<Hash256> = (nearest - WORK_SAMPLE_REACH..=nearest + WORK_SAMPLE_REACH)
                .filter_map(|sample| u32::try_from(sample).ok())
                .filter_map(|sample| index.sample(span, sample).copied())
                .collect();
            (!hashes.is_empty()).then_some((still, hashes))
        })
        .collect()
}

/// A window as its four sides (shares of the frame): left, top, right,
/// bottom.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sides([f32; 4]);

impl Sides {
    fn of(rect: &Rect) -> Sides {
        Sides([rect.x, rect.y, rect.x + rect.width, rect.y + rect.height])
    }

    fn rect(&self) -> Rect {
        let [left, top, right, bottom] = self.0;
        Rect {
            x: left,
            y: top,
            width: right - left,
            height: bottom - top,
        }
    }

    /// Side `side` moved by `share` of the placed window's size along its
    /// axis, if it stays inside the frame and within `MAX_MOVE` of where
    /// `start` (the placed window) has it.
    fn moved(&self, side: usize, share: f32, start: &Sides) -> Option<Sides> {
        // Sides 0 and 2 (left, right) move along x, 1 and 3 along y.
        let size = if side.is_multiple_of(2) {
            start.0[2] - start.0[0]
        } else {
            start.0[3] - start.0[1]
        };
        let mut sides = *self;
        sides.0[side] += share * size;
        let value = sides.0[side];
        let inside = (0.0..=1.0).contains(&value);
        let near = (value - start.0[side]).abs() <= MAX_MOVE * size;
        (inside && near).then_some(sides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Stills, Track};
    use crate::index::{IndexBuilder, TrackSpec};
    use image::GrayImage;

    /// A textured picture: smooth blobs at several scales.
    fn picture(width: u32, height: u32) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| {
            let (x, y) = (x as f32, y as f32);
            let value = 128.0
                + 50.0 * (x / 23.0).sin() * (y / 31.0).cos()
                + 35.0 * ((x + 2.0 * y) / 11.0).sin()
                + 25.0 * ((3.0 * x - y) / 7.0).cos();
            image::Luma([value.clamp(0.0, 255.0) as u8])
        })
    }

    #[test]
    fn a_window_placed_a_little_off_is_moved_onto_the_work() {
        let hasher = DctHasher::new();
        let frame = picture(512, 288);
        // The work's hashed region is this part of the candidate's frame.
        let truth = Rect {
            x: 0.2,
            y: 0.15,
            width: 0.5,
            height: 0.6,
        };
        let mut stills = Stills::at(&[0.0]);
        stills.push(frame.clone());
        let stills = stills.finish();
        let work_hash = stills[0].hash(&hasher, &truth).hash;
        let mut builder = IndexBuilder::new();
        let spec = TrackSpec {
            owner: 0,
            track: Track::Centre,
            sample_rate: 1.0,
            duration_s: 1.0,
        };
        builder.add_track(
            &spec,
            &[crate::fingerprint::FrameHash {
                hash: work_hash,
                quality: 1.0,
            }],
            0.0,
        );
        let index = builder.build();
        // Keypoints put it 4 % to the left and 5 % too tall.
        let placement = Placement {
            work: 0,
            track: Track::Centre,
            window: Rect {
                x: 0.18,
                y: 0.14,
                width: 0.5,
                height: 0.63,
            },
            moments: vec![(0.0, 0.0)],
        };
        let before = stills[0]
            .hash(&hasher, &placement.window)
            .hash
            .distance(&work_hash);
        let fitted = refine_window(&index, &hasher, &placement, &stills);
        let after = stills[0].hash(&hasher, &fitted).hash.distance(&work_hash);
        assert!(
            after < 30 && after < before / 2,
            "{before} -> {after}: {fitted:?}"
        );
        for (got, want) in [
            (fitted.x, truth.x),
            (fitted.y, truth.y),
            (fitted.width, truth.width),
            (fitted.height, truth.height),
        ] {
            assert!((got - want).abs() < 0.015, "{fitted:?}");
        }
    }

    #[test]
    fn without_the_work_or_its_moment_the_placed_window_is_kept() {
        let hasher = DctHasher::new();
        let mut stills = Stills::at(&[1.0]);
        for _ in 0..20 {
            stills.push(picture(256, 144));
        }
        let stills = stills.finish();
        assert_eq!(stills.len(), 1);
        let index = IndexBuilder::new().build();
        let placement = Placement {
            work: 0,
            track: Track::Main,
            window: Rect {
                x: 0.1,
                y: 0.1,
                width: 0.8,
                height: 0.8,
            },
            moments: vec![(1.0, 0.5)],
        };
        assert_eq!(
            refine_window(&index, &hasher, &placement, &stills),
            placement.window
        );
    }
}
