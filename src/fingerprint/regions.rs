//! Where, inside a picture, the extra *region* hashes of a work are taken,
//! and where a candidate is probed to meet them.
//!
//! Pure geometry: rectangles in, rectangles out. A copy that shows only part
//! of a work (a harder crop, a zoom, a 9:16 window cut from a 16:9 work, one
//! part of a split screen) cannot meet the hash of the work's centre 80 %,
//! which lies partly outside what the copy shows. So a work also keeps:
//! - the **centre** half of its picture (per axis), which any crop of up to
//!   25 % per side and any centred zoom up to 2× still shows whole;
//! - **vertical strips** as tall as 80 % of the picture and 0.35 of its
//!   height wide, spread evenly across a landscape picture. Reframing and
//!   split screens keep the work's full height and cut its width; the window
//!   they keep (at least 0.56 of the height wide for 9:16, more for 1:1, 4:5
//!   or a split part) always holds one strip whole, because strips lie at
//!   most `MAX_STRIP_STEP` apart.
//!
//! A candidate is probed with the centre half of each of its content regions
//! at several scales and offsets, and, where a region is narrow (portrait,
//! square, a split part) and large, with strip-shaped windows slid across
//! it close enough together for a hash.

use super::frame::Rect;

/// Share of the picture (per axis) a work's centre region covers.
pub const CENTRE_SHARE: f32 = 0.5;
/// Width of a strip, in units of the picture's height.
const STRIP_WIDTH: f32 = 0.35;
/// Height of a strip (centred), as a share of the picture's height.
const STRIP_HEIGHT: f32 = 0.8;
/// Largest spacing of strip centres, in units of the picture's height: a
/// 9:16 window (0.5625 heights wide) then always holds one strip whole.
const MAX_STRIP_STEP: f32 = 0.2;
/// Most strips a work keeps.
pub const MAX_STRIPS: usize = 8;
/// Pictures narrower than this (width / height) get no strips: a portrait
/// work is itself what a reframed copy shows.
const MIN_STRIP_ASPECT: f32 = 1.0;
/// Candidate regions up to this aspect (width / height) are probed with
/// strips: wider ones show the work's full width and meet its main hash.
const MAX_PROBED_STRIP_ASPECT: f32 = 1.3;
/// Smallest share of the frame's area a region probed with strips covers:
/// a reframed copy fills its frame, a split-screen part is a half or a
/// third of it. Strips of small regions (a narrow patch of a busy frame)
/// meet low-detail works' strips by chance.
const MIN_STRIP_REGION_SHARE: f32 = 0.25;
/// Spacing of the strip windows slid across a candidate region, as a share of
/// the strip's width, and the most windows per region. A window hash turns
/// about 20 of its bits per 1 % of its width it is shifted by, so a window
/// within half a step (2 %) of the work's strip stays within the exact
/// search radius.
const STRIP_PROBE_STEP: f32 = 0.04;
const MAX_STRIP_PROBES: usize = 24;
/// Scales of a candidate's centre-region probes (share of its content per
/// axis): a copy cropped by `c` per side shows the work's centre half at
/// `0.5 / (1 - 2c)`; a copy zoomed by `z` at `0.5 z`.
pub const CENTRE_PROBE_SCALES: [f32; 4] = [0.55, 0.62, 0.7, 0.8];
/// Offsets (share of the content per axis) of the off-centre probes, for
/// crops that cut one side more than the other and zooms off the centre.
const CENTRE_PROBE_SHIFT: f32 = 0.08;

/// Number of strips a work with this content aspect (width / height) keeps.
pub fn strip_count(aspect: f32) -> usize {
    if !aspect.is_finite() || aspect < MIN_STRIP_ASPECT {
        return 0;
    }
    let span = aspect - STRIP_WIDTH;
    ((span / MAX_STRIP_STEP).ceil() as usize + 1).clamp(2, MAX_STRIPS)
}

/// The work's centre region inside its content rectangle.
pub fn work_centre(content: &Rect) -> Rect {
    content.centred(CENTRE_SHARE)
}

/// The work's `count` strips inside its content rectangle, left to right.
pub fn work_strips(content: &Rect, count: usize) -> Vec<Rect> {
    strips_across(content, count)
}

/// `count` strip-shaped windows spread evenly across `region`, left to right.
fn strips_across(region: &Rect, count: usize) -> Vec<Rect> {
    let height = region.height;
    let width = (STRIP_WIDTH * height).min(region.width);
    let strip_height = STRIP_HEIGHT * height;
    let y = region.y + (height - strip_height) / 2.0;
    let span = region.width - width;
    (0..count)
        .map(|k| {
            let t = if count > 1 {
                k as f32 / (count - 1) as f32
            } else {
                0.5
            };
            Rect {
                x: region.x + t * span,
                y,
                width,
                height: strip_height,
            }
        })
        .collect()
}

/// Windows of a candidate region that may show a work's centre region: each
/// scale centred, and the middle scales also shifted along each axis.
pub fn centre_probes(region: &Rect) -> Vec<Rect> {
    let mut windows = Vec::new();
    for (i, &scale) in CENTRE_PROBE_SCALES.iter().enumerate() {
        let centred = region.centred(scale);
        windows.push(centred);
        if i == 0 || i == CENTRE_PROBE_SCALES.len() - 1 {
            continue;
        }
        let (dx, dy) = (
            CENTRE_PROBE_SHIFT * region.width,
            CENTRE_PROBE_SHIFT * region.height,
        );
        for (sx, sy) in [(-dx, 0.0), (dx, 0.0), (0.0, -dy), (0.0, dy)] {
            windows.push(Rect {
                x: centred.x + sx,
                y: centred.y + sy,
                ..centred
            });
        }
    }
    windows
}

/// Strip-shaped windows slid across a narrow candidate region of `frame`
/// (none for a wide or a small one).
pub fn strip_probes(region: &Rect, frame: &Rect) -> Vec<Rect> {
    let small = region.width * region.height < MIN_STRIP_REGION_SHARE * frame.width * frame.height;
    if region.height <= 0.0 || region.width / region.height > MAX_PROBED_STRIP_ASPECT || small {
        return Vec::new();
    }
    let width = (STRIP_WIDTH * region.height).min(region.width);
    let span = region.width - width;
    let count = ((span / (STRIP_PROBE_STEP * width)).ceil() as usize + 1).min(MAX_STRIP_PROBES);
    strips_across(region, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: f32, y: f32, width: f32, height: f32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn landscape_works_get_strips_portrait_ones_none() {
        assert_eq!(strip_count(16.0 / 9.0), 8);
        assert_eq!(strip_count(4.0 / 3.0), 6);
        assert_eq!(strip_count(9.0 / 16.0), 0);
        assert_eq!(strip_count(f32::NAN), 0);
    }

    #[test]
    fn every_9_16_window_of_a_16_9_work_holds_a_whole_strip() {
        let content = rect(0.0, 0.0, 256.0, 144.0);
        let strips = work_strips(&content, strip_count(256.0 / 144.0));
        let window = 144.0 * 9.0 / 16.0;
        let mut x = 0.0;
        while x + window <= 256.0 {
            assert!(
                strips
                    .iter()
                    .any(|s| s.x >= x - 0.01 && s.x + s.width <= x + window + 0.01),
                "no strip inside the window at {x}"
            );
            x += 1.0;
        }
    }

    #[test]
    fn strips_are_probed_only_in_narrow_regions() {
        let frame = rect(0.0, 0.0, 256.0, 256.0);
        assert!(strip_probes(&rect(0.0, 0.0, 256.0, 144.0), &frame).is_empty());
        assert!(strip_probes(&rect(0.0, 0.0, 60.0, 100.0), &frame).is_empty());
        let probes = strip_probes(&rect(10.0, 0.0, 144.0, 256.0), &frame);
        assert!(!probes.is_empty() && probes.len() <= MAX_STRIP_PROBES);
        for p in &probes {
            assert!(p.x >= 10.0 && p.x + p.width <= 154.01);
        }
    }

    #[test]
    fn strip_probes_of_a_9_16_region_are_close_enough_for_a_hash() {
        let region = rect(0.0, 0.0, 144.0, 256.0);
        let probes = strip_probes(&region, &region);
        let width = probes[0].width;
        for pair in probes.windows(2) {
            assert!(pair[1].x - pair[0].x <= STRIP_PROBE_STEP * width + 1e-3);
        }
        assert!((probes.last().unwrap().x + width - 144.0).abs() < 1e-3);
    }

    #[test]
    fn centre_probes_include_the_centred_half_scale_windows() {
        let region = rect(0.0, 0.0, 200.0, 100.0);
        let probes = centre_probes(&region);
        assert!(probes.contains(&region.centred(0.55)));
        assert_eq!(probes.len(), 4 + 2 * 4);
    }
}
