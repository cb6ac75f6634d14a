//! Pure operations on small greyscale analysis frames: black-bar detection,
//! inner-picture (picture-in-picture) detection and resampling a rectangle of
//! a frame into a hash window.

use image::GrayImage;

use super::hash::{WINDOW_PIXELS, WINDOW_SIDE};

/// A rectangle in frame pixels (fractional coordinates allowed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn of_frame(frame: &GrayImage) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            width: frame.width() as f32,
            height: frame.height() as f32,
        }
    }

    /// The centred rectangle covering `fraction` of this one's width and height.
    pub fn centred(&self, fraction: f32) -> Rect {
        let (width, height) = (self.width * fraction, self.height * fraction);
        Rect {
            x: self.x + (self.width - width) / 2.0,
            y: self.y + (self.height - height) / 2.0,
            width,
            height,
        }
    }

    fn area(&self) -> f32 {
        self.width * self.height
    }

    fn intersection_over_union(&self, other: &Rect) -> f32 {
        let left = self.x.max(other.x);
        let right = (self.x + self.width).min(other.x + other.width);
        let top = self.y.max(other.y);
        let bottom = (self.y + self.height).min(other.y + other.height);
        let overlap = (right - left).max(0.0) * (bottom - top).max(0.0);
        overlap / (self.area() + other.area() - overlap)
    }
}

/// Summed-area table of a frame, for exact box averages at fractional coordinates.
pub struct IntegralImage {
    width: usize,
    height: usize,
    sums: Vec<u32>,
}

impl IntegralImage {
    pub fn new(frame: &GrayImage) -> IntegralImage {
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let stride = width + 1;
        let mut sums = vec![0u32; stride * (height + 1)];
        let pixels = frame.as_raw();
        for y in 0..height {
            let mut row = 0u32;
            for x in 0..width {
                row += u32::from(pixels[y * width + x]);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        IntegralImage {
            width,
            height,
            sums,
        }
    }

    /// Sum of pixel values over [0, x) × [0, y), bilinear between grid points.
    fn sum_to(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, self.width as f32);
        let y = y.clamp(0.0, self.height as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width), (y0 + 1).min(self.height));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let stride = self.width + 1;
        let at = |xx: usize, yy: usize| self.sums[yy * stride + xx] as f32;
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn box_mean(&self, left: f32, top: f32, right: f32, bottom: f32) -> f32 {
        let area = (right - left) * (bottom - top);
        if area <= 0.0 {
            return 0.0;
        }
        let sum = self.sum_to(right, bottom) - self.sum_to(left, bottom) - self.sum_to(right, top)
            + self.sum_to(left, top);
        sum / area
    }

    /// Area-averages `rect` into a 64×64 window (row-major grey levels).
    pub fn window(&self, rect: &Rect) -> [f32; WINDOW_PIXELS] {
        let mut out = [0f32; WINDOW_PIXELS];
        let step_x = rect.width / WINDOW_SIDE as f32;
        let step_y = rect.height / WINDOW_SIDE as f32;
        // Boxes narrower than a pixel are widened to one pixel so that
        // upscaled windows are still smooth.
        let (half_x, half_y) = (step_x.max(1.0) / 2.0, step_y.max(1.0) / 2.0);
        for row in 0..WINDOW_SIDE {
            let centre_y = rect.y + (row as f32 + 0.5) * step_y;
            for col in 0..WINDOW_SIDE {
                let centre_x = rect.x + (col as f32 + 0.5) * step_x;
                out[row * WINDOW_SIDE + col] = self.box_mean(
                    centre_x - half_x,
                    centre_y - half_y,
                    centre_x + half_x,
                    centre_y + half_y,
                );
            }
        }
        out
    }
}

/// Brightest grey level a bar pixel may have (limited-range black is 16).
const BAR_LEVEL: u8 = 48;
/// A line is part of a bar when at most this share of its pixels is brighter.
const BAR_BRIGHT_SHARE: f32 = 0.02;
/// Content narrower than this share of the frame is not trusted as a crop.
const MIN_CONTENT_SHARE: f32 = 0.15;

/// The part of the frames inside black bars (letterbox, pillarbox), taken
/// over several frames of a shot: a side is cropped only as far as it is a
/// bar in every frame, and opposite sides by the same depth.
pub fn content_box(frames: &[GrayImage]) -> Rect {
    let Some(first) = frames.first() else {
        return Rect {
            x: 0.0,
            y: 0.0,
            width: 0.0,
            height: 0.0,
        };
    };
    let (width, height) = (first.width() as usize, first.height() as usize);
    let (mut top, mut bottom, mut left, mut right) = (height, height, width, width);
    for frame in frames {
        let pixels = frame.as_raw();
        let row_is_bar = |y: usize| line_is_bar(pixels[y * width..(y + 1) * width].iter().copied());
        let col_is_bar = |x: usize| line_is_bar((0..height).map(|y| pixels[y * width + x]));
        top = top.min((0..height).take_while(|&y| row_is_bar(y)).count());
        bottom = bottom.min((0..height).rev().take_while(|&y| row_is_bar(y)).count());
        left = left.min((0..width).take_while(|&x| col_is_bar(x)).count());
        right = right.min((0..width).rev().take_while(|&x| col_is_bar(x)).count());
    }
    // Bars come in centred pairs; dark space on one side only is part of the
    // picture (a night sky, a black stage), so only the shared depth is cut.
    let (top, bottom) = (top.min(bottom), top.min(bottom));
    let (left, right) = (left.min(right), left.min(right));
    let mut rect = Rect::of_frame(first);
    let content_height = height.saturating_sub(top + bottom);
    if content_height as f32 >= MIN_CONTENT_SHARE * height as f32 {
        rect.y = top as f32;
        rect.height = content_height as f32;
    }
    let content_width = width.saturating_sub(left + right);
    if content_width as f32 >= MIN_CONTENT_SHARE * width as f32 {
        rect.x = left as f32;
        rect.width = content_width as f32;
    }
    rect
}

fn line_is_bar(line: impl Iterator<Item = u8>) -> bool {
    let (mut count, mut bright) = (0usize, 0usize);
    for value in line {
        count += 1;
        bright += usize::from(value > BAR_LEVEL);
    }
    count > 0 && (bright as f32) <= BAR_BRIGHT_SHARE * count as f32
}

/// Smallest and largest rotation (degrees) read from corner wedges.
const MIN_WEDGE_ANGLE: f32 = 1.0;
const MAX_WEDGE_ANGLE: f32 = 15.0;
/// Shortest long leg, in pixels, of a corner wedge that is trusted.
const MIN_WEDGE_LEG: usize = 8;

/// The angle (degrees, unsigned) by which a picture was turned inside its
/// frame, read from the black triangles a rotation with black fill leaves
/// along the sides of `content`: on each side, the depth of the black run
/// changes linearly along the side with slope tan(angle). `None` unless at
/// least two sides agree on such an angle.
pub fn corner_wedge_angle(frames: &[GrayImage], content: &Rect) -> Option<f32> {
    let first = frames.first()?;
    let width = first.width() as usize;
    let (left, top) = (content.x as usize, content.y as usize);
    let (right, bottom) = (
        (content.x + content.width) as usize,
        (content.y + content.height) as usize,
    );
    if right <= left + 4 * MIN_WEDGE_LEG || bottom <= top + 4 * MIN_WEDGE_LEG {
        return None;
    }
    let dark = |x: usize, y: usize| {
        frames
            .iter()
            .all(|f| f.as_raw()[y * width + x] <= BAR_LEVEL)
    };
    let (content_width, content_height) = (right - left, bottom - top);
    // Depth of the dark run at position i along a side, walking inwards.
    let side =
        |along: usize, depth_limit: usize, pixel: &dyn Fn(usize, usize) -> (usize, usize)| {
            let depth = |i: usize| {
                (0..depth_limit)
                    .take_while(|&d| {
                        let (x, y) = pixel(i, d);
                        dark(x, y)
                    })
                    .count()
            };
            // A wedge starts at a corner and thins out along the side: take
            // the positions from each end while the run lasts (dark picture
            // content elsewhere on the side is not part of it).
            let wedge = |positions: &mut dyn Iterator<Item = usize>| -> Option<f32> {
                let points: Vec<(f32, f32)> = positions
                    .map(|i| (i as f32, depth(i)))
                    .take_while(|&(_, d)| d > 0 && d < depth_limit)
                    .map(|(i, d)| (i, d as f32))
                    .collect();
                slope_angle(&points)
            };
            [
                wedge(&mut (0..along / 2)),
                wedge(&mut (along / 2..along).rev()),
            ]
        };
    let angles: Vec<f32> = [
        side(content_height, content_width / 3, &|i, d| {
            (left + d, top + i)
        }),
        side(content_height, content_width / 3, &|i, d| {
            (right - 1 - d, top + i)
        }),
        side(content_width, content_height / 3, &|i, d| {
            (left + i, top + d)
        }),
        side(content_width, content_height / 3, &|i, d| {
            (left + i, bottom - 1 - d)
        }),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    if angles.len() < 2 {
        return None;
    }
    let mut sorted = angles.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let agreeing: Vec<f32> = angles
        .into_iter()
        .filter(|a| (a - median).abs() <= 1.0)
        .collect();
    (agreeing.len() >= 2).then(|| agreeing.iter().sum::<f32>() / agreeing.len() as f32)
}

/// Angle (degrees) of the least-squares line through (position, depth)
/// points, when they are many and lie on a line of plausible slope.
fn slope_angle(points: &[(f32, f32)]) -> Option<f32> {
    if points.len() < MIN_WEDGE_LEG {
        return None;
    }
    let n = points.len() as f32;
    let mean_x = points.iter().map(|p| p.0).sum::<f32>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f32>() / n;
    let spread: f32 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if spread <= 0.0 {
        return None;
    }
    let slope = points
        .iter()
        .map(|p| (p.0 - mean_x) * (p.1 - mean_y))
        .sum::<f32>()
        / spread;
    let residual = points
        .iter()
        .map(|p| (p.1 - mean_y - slope * (p.0 - mean_x)).abs())
        .sum::<f32>()
        / n;
    let angle = slope.abs().atan().to_degrees();
    ((MIN_WEDGE_ANGLE..=MAX_WEDGE_ANGLE).contains(&angle) && residual <= 1.5).then_some(angle)
}

/// The frame turned by `degrees` (clockwise) about its centre, bilinear,
/// black outside.
pub fn rotate(frame: &GrayImage, degrees: f32) -> GrayImage {
    let (width, height) = (frame.width(), frame.height());
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((width as f32 - 1.0) / 2.0, (height as f32 - 1.0) / 2.0);
    let pixels = frame.as_raw();
    let at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= width as i64 || y >= height as i64 {
            0.0
        } else {
            f32::from(pixels[y as usize * width as usize + x as usize])
        }
    };
    GrayImage::from_fn(width, height, |x, y| {
        // Inverse mapping: where this output pixel comes from.
        let (rx, ry) = (x as f32 - cx, y as f32 - cy);
        let sx = cos * rx + sin * ry + cx;
        let sy = -sin * rx + cos * ry + cy;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let value = (at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx) * (1.0 - fy)
            + (at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
        image::Luma([value.round().clamp(0.0, 255.0) as u8])
    })
}

/// Smallest side of an inner picture, as a share of the frame's side.
const INNER_MIN_SHARE: f32 = 0.25;
/// Largest side of an inner picture, as a share of the frame's side.
const INNER_MAX_SHARE: f32 = 0.85;
/// A border line must be this many times stronger than the frame's mean edge.
const INNER_EDGE_CONTRAST: f32 = 1.8;
/// Candidate lines kept per axis.
const INNER_LINES: usize = 12;
/// Rectangles overlapping more than this (intersection over union) are one.
const SAME_RECT_IOU: f32 = 0.9;
/// Inner pictures reported per shot.
pub const MAX_INNER_PICTURES: usize = 4;

/// Rectangles that look like a picture inserted into the frame: four straight
/// edges that stay put over the shot while the content moves.
pub fn inner_pictures(frames: &[GrayImage]) -> Vec<Rect> {
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    let (width, height) = (first.width() as usize, first.height() as usize);
    if width < 16 || height < 16 {
        return Vec::new();
    }
    let planes: Vec<Vec<f32>> = frames
        .iter()
        .map(|f| f.as_raw().iter().map(|&v| f32::from(v)).collect())
        .collect();
    let (gradient_x, gradient_y) = mean_gradients(&planes, width, height);
    let mut candidates = rectangles(&gradient_x, &gradient_y, width, height);
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Over a busy background (foliage, games, noise) the picture's border is
    // no stronger than the background's own edges, but the texture changes
    // there: look for rectangles in the map of edge strength too, after
    // those of the picture itself (which are placed more precisely).
    let texture: Vec<f32> = gradient_x
        .iter()
        .zip(&gradient_y)
        .map(|(x, y)| x + y)
        .collect();
    let (texture_x, texture_y) = mean_gradients(std::slice::from_ref(&texture), width, height);
    let mut in_texture = rectangles(&texture_x, &texture_y, width, height);
    in_texture.sort_by(|a, b| b.0.total_cmp(&a.0));
    candidates.extend(in_texture);

    let mut chosen: Vec<Rect> = Vec::new();
    for (_, rect) in candidates {
        if chosen
            .iter()
            .all(|other| other.intersection_over_union(&rect) < SAME_RECT_IOU)
        {
            chosen.push(rect);
        }
        if chosen.len() == MAX_INNER_PICTURES {
            break;
        }
    }
    chosen
}

/// Means over `planes` of the absolute horizontal and vertical differences.
fn mean_gradients(planes: &[Vec<f32>], width: usize, height: usize) -> (Vec<f32>, Vec<f32>) {
    let mut gradient_x = vec![0f32; width * height];
    let mut gradient_y = vec![0f32; width * height];
    for pixels in planes {
        for y in 0..height {
            for x in 0..width {
                let here = pixels[y * width + x];
                if x + 1 < width {
                    gradient_x[y * width + x] += (pixels[y * width + x + 1] - here).abs();
                }
                if y + 1 < height {
                    gradient_y[y * width + x] += (pixels[(y + 1) * width + x] - here).abs();
                }
            }
        }
    }
    let count = planes.len().max(1) as f32;
    gradient_x
        .iter_mut()
        .chain(gradient_y.iter_mut())
        .for_each(|g| *g /= count);
    (gradient_x, gradient_y)
}

/// Rectangles whose four sides follow strong lines of the gradient maps,
/// with their weakest side's strength relative to the maps' mean.
fn rectangles(
    gradient_x: &[f32],
    gradient_y: &[f32],
    width: usize,
    height: usize,
) -> Vec<(f32, Rect)> {
    let mean_edge = (gradient_x.iter().sum::<f32>() + gradient_y.iter().sum::<f32>())
        / (2 * width * height) as f32;
    if mean_edge <= f32::EPSILON {
        return Vec::new();
    }
    let column_profile: Vec<f32> = (0..width - 1)
        .map(|x| (0..height).map(|y| gradient_x[y * width + x]).sum::<f32>() / height as f32)
        .collect();
    let row_profile: Vec<f32> = (0..height - 1)
        .map(|y| gradient_y[y * width..(y + 1) * width].iter().sum::<f32>() / width as f32)
        .collect();
    let columns = profile_peaks(&column_profile);
    let rows = profile_peaks(&row_profile);

    // Mean gradient along a vertical edge at column x between rows y0..y1.
    let vertical_support = |x: usize, y0: usize, y1: usize| {
        (y0..=y1).map(|y| gradient_x[y * width + x]).sum::<f32>() / (y1 - y0 + 1) as f32
    };
    let horizontal_support = |y: usize, x0: usize, x1: usize| {
        gradient_y[y * width + x0..=y * width + x1]
            .iter()
            .sum::<f32>()
            / (x1 - x0 + 1) as f32
    };

    let mut candidates: Vec<(f32, Rect)> = Vec::new();
    for (i, &left) in columns.iter().enumerate() {
        for &right in &columns[i + 1..] {
            let (left, right) = (left.min(right), left.max(right));
            let inner_width = (right - left) as f32;
            if !(INNER_MIN_SHARE..=INNER_MAX_SHARE).contains(&(inner_width / width as f32)) {
                continue;
            }
            for (j, &top) in rows.iter().enumerate() {
                for &bottom in &rows[j + 1..] {
                    let (top, bottom) = (top.min(bottom), top.max(bottom));
                    let inner_height = (bottom - top) as f32;
                    if !(INNER_MIN_SHARE..=INNER_MAX_SHARE)
                        .contains(&(inner_height / height as f32))
                    {
                        continue;
                    }
                    let sides = [
                        vertical_support(left, top + 1, bottom),
                        vertical_support(right, top + 1, bottom),
                        horizontal_support(top, left + 1, right),
                        horizontal_support(bottom, left + 1, right),
                    ];
                    let weakest = sides.iter().copied().fold(f32::INFINITY, f32::min) / mean_edge;
                    if weakest < INNER_EDGE_CONTRAST {
                        continue;
                    }
                    // An edge at index i lies between pixels i and i + 1.
                    let rect = Rect {
                        x: (left + 1) as f32,
                        y: (top + 1) as f32,
                        width: inner_width,
                        height: inner_height,
                    };
                    candidates.push((weakest, rect));
                }
            }
        }
    }
    candidates
}

/// `first` followed by the rectangles of `second` that overlap none of them.
pub fn merge_rects(first: &[Rect], second: &[Rect]) -> Vec<Rect> {
    let mut merged = first.to_vec();
    for rect in second {
        if merged
            .iter()
            .all(|other| other.intersection_over_union(rect) < SAME_RECT_IOU)
        {
            merged.push(*rect);
        }
    }
    merged
}

/// Positions of the strongest local maxima of a profile.
fn profile_peaks(profile: &[f32]) -> Vec<usize> {
    let mut peaks: Vec<usize> = (0..profile.len())
        .filter(|&i| {
            let lo = i.saturating_sub(2);
            let hi = (i + 2).min(profile.len() - 1);
            (lo..=hi).all(|j| profile[j] <= profile[i]) && profile[i] > 0.0
        })
        .collect();
    peaks.sort_by(|&a, &b| profile[b].total_cmp(&profile[a]));
    peaks.truncate(INNER_LINES);
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(width: u32, height: u32, seed: u32) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| {
            let v = ((x * 7 + y * 13 + seed * 31) % 97) as f32 / 97.0;
            let w = (((x as f32) * 0.3 + seed as f32).sin() * ((y as f32) * 0.2).cos() + 1.0) / 2.0;
            image::Luma([(60.0 + 120.0 * (0.5 * v + 0.5 * w)) as u8])
        })
    }

    #[test]
    fn content_box_finds_letterbox_bars() {
        let frames: Vec<GrayImage> = (0..3)
            .map(|seed| {
                let inner = pattern(200, 100, seed);
                let mut framed = GrayImage::from_pixel(200, 160, image::Luma([16]));
                image::imageops::replace(&mut framed, &inner, 0, 30);
                framed
            })
            .collect();
        let rect = content_box(&frames);
        assert_eq!(
            (rect.x, rect.y, rect.width, rect.height),
            (0.0, 30.0, 200.0, 100.0)
        );
    }

    #[test]
    fn content_box_keeps_dark_frames_whole() {
        let frames = vec![GrayImage::from_pixel(100, 80, image::Luma([10]))];
        let rect = content_box(&frames);
        assert_eq!((rect.width, rect.height), (100.0, 80.0));
    }

    #[test]
    fn inner_picture_is_found_over_a_moving_background() {
        let frames: Vec<GrayImage> = (0..6)
            .map(|seed| {
                let mut frame = pattern(256, 144, seed * 3);
                // Smooth moving content, brighter than the background.
                let inner = GrayImage::from_fn(128, 72, |x, y| {
                    let phase = (x as f32 * 0.05 + y as f32 * 0.03 + seed as f32 * 0.7).sin();
                    image::Luma([(225.0 + 25.0 * phase) as u8])
                });
                image::imageops::replace(&mut frame, &inner, 95, 17);
                frame
            })
            .collect();
        let found = inner_pictures(&frames);
        assert!(
            found.iter().any(|r| (r.x - 95.0).abs() <= 1.0
                && (r.y - 17.0).abs() <= 1.0
                && (r.width - 128.0).abs() <= 2.0
                && (r.height - 72.0).abs() <= 2.0),
            "{found:?}"
        );
    }

    #[test]
    fn rotation_is_read_from_corner_wedges_and_undone() {
        let frames: Vec<GrayImage> = (0..3)
            .map(|seed| {
                let bright = GrayImage::from_fn(256, 144, |x, y| {
                    image::Luma([(120 + (x * 3 + y * 5 + seed) % 100) as u8])
                });
                rotate(&bright, 5.0)
            })
            .collect();
        let content = content_box(&frames);
        let angle = corner_wedge_angle(&frames, &content).expect("wedges found");
        assert!((angle - 5.0).abs() < 1.0, "angle {angle}");
        let plain = vec![pattern(256, 144, 1)];
        assert_eq!(corner_wedge_angle(&plain, &content_box(&plain)), None);
    }

    #[test]
    fn window_of_a_uniform_frame_is_uniform() {
        let frame = GrayImage::from_pixel(50, 30, image::Luma([100]));
        let integral = IntegralImage::new(&frame);
        let window = integral.window(&Rect::of_frame(&frame).centred(0.8));
        assert!(window.iter().all(|v| (v - 100.0).abs() < 0.01));
    }
}
