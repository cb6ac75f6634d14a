//! Pictures of a match: frames of the work and of the upload side by side,
//! and a timeline plot of which seconds of the upload copy which seconds of
//! the work. PNG bytes out; decoding goes through `media::frames_at`.

use crate::domain::StoredSegment;
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context as _;
use image::{Rgb, RgbImage};
use plotters::prelude::*;

use crate::media::{self, DecodeLimits};

/// Height of each picture in a frame pair.
const PAIR_HEIGHT: u32 = 360;
/// Grey gap between the two pictures.
const GAP: u32 = 16;
/// Longer side the frames are decoded at.
const DECODE_SIDE: u32 = 640;

/// The segments of a match, best first.
pub fn best_first(segments: &[StoredSegment]) -> Vec<StoredSegment> {
    let mut segments = segments.to_vec();
    segments.sort_by(|a, b| b.score.total_cmp(&a.score));
    segments
}

/// A matched moment: seconds into the upload and into the work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moment {
    pub upload_s: f64,
    pub work_s: f64,
}

/// `count` moments spread over the best segment (a quarter, half and three
/// quarters in, for three), mapping upload time to work time linearly.
pub fn moments(segments: &[StoredSegment], count: usize) -> Vec<Moment> {
    let Some(best) = segments.first() else {
        return Vec::new();
    };
    (1..=count)
        .map(|i| {
            let f = i as f64 / (count + 1) as f64;
            Moment {
                upload_s: best.query_start_s + f * (best.query_end_s - best.query_start_s),
                work_s: best.work_start_s + f * (best.work_end_s - best.work_start_s),
            }
        })
        .collect()
}

/// The work's frame and the upload's frame side by side (work on the
/// left), both scaled to the same height, as PNG.
pub fn frame_pair_png(work_frame: &RgbImage, candidate_frame: &RgbImage) -> Vec<u8> {
    let scale = |picture: &RgbImage| {
        let width = (picture.width() as f64 * PAIR_HEIGHT as f64 / picture.height().max(1) as f64)
            .round()
            .max(1.0) as u32;
        image::imageops::resize(
            picture,
            width,
            PAIR_HEIGHT,
            image::imageops::FilterType::Triangle,
        )
    };
    let (left, right) = (scale(work_frame), scale(candidate_frame));
    let mut canvas = RgbImage::from_pixel(
        left.width() + GAP + right.width(),
        PAIR_HEIGHT,
        Rgb([128, 128, 128]),
    );
    image::imageops::replace(&mut canvas, &left, 0, 0);
    image::imageops::replace(&mut canvas, &right, i64::from(left.width() + GAP), 0);
    encode_png(&canvas)
}

/// Decodes the frames at `moments` from the work's file and the upload's
/// file and returns one side-by-side PNG per moment.
pub fn frame_pairs(
    work_file: &Path,
    upload_file: &Path,
    moments: &[Moment],
    limits: &DecodeLimits,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let work_times: Vec<f64> = moments.iter().map(|m| m.work_s).collect();
    let upload_times: Vec<f64> = moments.iter().map(|m| m.upload_s).collect();
    let work = media::frames_at(work_file, &work_times, DECODE_SIDE, limits)
        .with_context(|| format!("cannot decode the work {}", work_file.display()))?;
    let upload = media::frames_at(upload_file, &upload_times, DECODE_SIDE, limits)
        .with_context(|| format!("cannot decode the upload {}", upload_file.display()))?;
    Ok(work
        .iter()
        .zip(&upload)
        .map(|(w, u)| frame_pair_png(w, u))
        .collect())
}

/// The best frame pair of a match (the middle of its best segment) as PNG,
/// from the work's file and the upload's file. For alerts and reports.
pub fn best_frame_pair(
    work_file: &Path,
    upload_file: &Path,
    segments: &[StoredSegment],
    limits: &DecodeLimits,
) -> anyhow::Result<Vec<u8>> {
    let segments = best_first(segments);
    let moment = moments(&segments, 1);
    anyhow::ensure!(!moment.is_empty(), "the match has no segments");
    frame_pairs(work_file, upload_file, &moment, limits)?
        .pop()
        .context("no frame pair was made")
}

/// DejaVu Sans (installed by scripts/setup.sh), registered once for plot labels.
fn label_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        ];
        let Some(bytes) = candidates.iter().find_map(|p| std::fs::read(p).ok()) else {
            return false;
        };
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
    })
}

/// The timeline plot: upload seconds across, work seconds up, one line per
/// matched segment (a straight copy is a diagonal; a gap is a missing part).
pub fn timeline_png(
    segments: &[StoredSegment],
    upload_duration_s: f64,
    work_duration_s: f64,
) -> anyhow::Result<Vec<u8>> {
    let (width, height) = (900u32, 520u32);
    let x_max = segments
        .iter()
        .map(|s| s.query_end_s)
        .fold(upload_duration_s, f64::max)
        .max(1.0);
    let y_max = segments
        .iter()
        .map(|s| s.work_end_s)
        .fold(work_duration_s, f64::max)
        .max(1.0);
    let labels = label_font();
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut builder = ChartBuilder::on(&root);
        builder.margin(20);
        if labels {
            builder
                .caption(
                    "Matched seconds: upload (across) vs work (up)",
                    ("sans-serif", 22),
                )
                .x_label_area_size(45)
                .y_label_area_size(55);
        }
        let mut chart = builder
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(plot_error)?;
        if labels {
            chart
                .configure_mesh()
                .x_desc("upload time (s)")
                .y_desc("work time (s)")
                .label_style(("sans-serif", 15))
                .draw()
                .map_err(plot_error)?;
        } else {
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_y_mesh()
                .x_labels(0)
                .y_labels(0)
                .draw()
                .map_err(plot_error)?;
        }
        for segment in segments {
            chart
                .draw_series(LineSeries::new(
                    [
                        (segment.query_start_s, segment.work_start_s),
                        (segment.query_end_s, segment.work_end_s),
                    ],
                    RED.stroke_width(4),
                ))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    let picture = RgbImage::from_raw(width, height, buffer).expect("buffer has the plot's size");
    Ok(encode_png(&picture))
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the timeline plot: {error:?}")
}

fn encode_png(picture: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("PNG encoding to memory does not fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(q: (f64, f64), w: (f64, f64), score: f64) -> StoredSegment {
        StoredSegment {
            score,
            query_start_s: q.0,
            query_end_s: q.1,
            work_start_s: w.0,
            work_end_s: w.1,
            matched_frames: 10,
            speed: 1.0,
        }
    }

    #[test]
    fn moments_spread_over_the_best_segment() {
        let segments = vec![segment((2.0, 10.0), (0.0, 8.0), 0.9)];
        let m = moments(&segments, 3);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[1],
            Moment {
                upload_s: 6.0,
                work_s: 4.0
            }
        );
        assert!(moments(&[], 3).is_empty());
    }

    #[test]
    fn frame_pair_is_both_pictures_side_by_side() {
        let work = RgbImage::from_pixel(64, 36, Rgb([255, 0, 0]));
        let upload = RgbImage::from_pixel(36, 64, Rgb([0, 0, 255]));
        let png = frame_pair_png(&work, &upload);
        let pair = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(pair.height(), PAIR_HEIGHT);
        assert_eq!(pair.width(), 640 + GAP + 203);
        assert_eq!(pair.get_pixel(10, 10), &Rgb([255, 0, 0]));
        assert_eq!(pair.get_pixel(pair.width() - 10, 10), &Rgb([0, 0, 255]));
    }

    #[test]
    fn timeline_draws_the_segments() {
        let png = timeline_png(&[segment((0.0, 10.0), (0.0, 10.0), 0.9)], 12.0, 10.0).unwrap();
        let plot = image::load_from_memory(&png).unwrap().to_rgb8();
        let red = plot
            .pixels()
            .filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60)
            .count();
        assert!(red > 500, "the segment line is drawn ({red} red pixels)");
    }
}
