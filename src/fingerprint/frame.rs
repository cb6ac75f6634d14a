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

    /// This rectangle, given in shares of `frame`'s width and height, in
    /// `frame`'s units.
    pub fn of_shares(&self, frame: &Rect) -> Rect {
        Rect {
            x: frame.x + self.x * frame.width,
            y: frame.y + self.y * frame.height,
            width: self.width * frame.width,
            height: self.height * frame.height,
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

    /// This rectangle with `margin` pixels taken off every side.
    pub fn shrunk(&self, margin: f32) -> Rect {
        Rect {
            x: self.x + margin,
            y: self.y + margin,
            width: self.width - 2.0 * margin,
            height: self.height - 2.0 * margin,
        }
    }

    /// Whether the two rectangles share any area.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
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

/// The frame at half its width and height, each pixel the mean of a 2×2
/// block (an odd last row or column is dropped).
pub fn halved(frame: &GrayImage) -> GrayImage {
    let (width, height) = (frame.width() / 2, frame.height() / 2);
    GrayImage::from_fn(width.max(1), height.max(1), |x, y| {
        let (x, y) = (
            (2 * x).min(frame.width() - 1),
            (2 * y).min(frame.height() - 1),
        );
        let (x1, y1) = (
            (x + 1).min(frame.width() - 1),
            (y + 1).min(frame.height() - 1),
        );
        let sum: u32 = [(x, y), (x1, y), (x, y1), (x1, y1)]
            .iter()
            .map(|&(px, py)| u32::from(frame.get_pixel(px, py)[0]))
            .sum();
        image::Luma([((sum + 2) / 4) as u8])
    })
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
    fn sum_at(&self, x: GridPoint, y: GridPoint) -> f32 {
        let stride = self.width + 1;
        let at = |xx: usize, yy: usize| self.sums[yy * stride + xx] as f32;
        let top = at(x.below, y.below) * (1.0 - x.fraction) + at(x.above, y.below) * x.fraction;
        let bottom = at(x.below, y.above) * (1.0 - x.fraction) + at(x.above, y.above) * x.fraction;
        top * (1.0 - y.fraction) + bottom * y.fraction
    }

    fn box_mean(&self, left: f32, top: f32, right: f32, bottom: f32) -> f32 {
        let (x, y) = (
            |v| GridPoint::on(v, self.width),
            |v| GridPoint::on(v, self.height),
        );
        self.mean_between(
            (right - left) * (bottom - top),
            [x(left), y(top), x(right), y(bottom)],
        )
    }

    /// Mean level of the box of `area` pixels whose sides (left, top,
    /// right, bottom) are placed on the grid.
    fn mean_between(&self, area: f32, [left, top, right, bottom]: [GridPoint; 4]) -> f32 {
        if area <= 0.0 {
            return 0.0;
        }
        let sum = self.sum_at(right, bottom) - self.sum_at(left, bottom) - self.sum_at(right, top)
            + self.sum_at(left, top);
        sum / area
    }

    /// Mean level inside `rect`.
    pub fn mean(&self, rect: &Rect) -> f32 {
        self.box_mean(rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
    }

    /// Mean level of the ring `ring` pixels wide just outside `rect`,
    /// clipped to the frame.
    pub fn ring_mean(&self, rect: &Rect, ring: f32) -> f32 {
        let (width, height) = (self.width as f32, self.height as f32);
        let outer_left = (rect.x - ring).max(0.0);
        let outer_top = (rect.y - ring).max(0.0);
        let outer_right = (rect.x + rect.width + ring).min(width);
        let outer_bottom = (rect.y + rect.height + ring).min(height);
        let outer = (outer_right - outer_left) * (outer_bottom - outer_top);
        let inner = rect.width * rect.height;
        if outer - inner <= 0.0 {
            return 0.0;
        }
        let outer_sum = self.box_mean(outer_left, outer_top, outer_right, outer_bottom) * outer;
        let inner_sum = self.mean(rect) * inner;
        (outer_sum - inner_sum) / (outer - inner)
    }

    /// Area-averages `rect` into a 64×64 window (row-major grey levels).
    ///
    /// Each pixel is the mean of its box, as [`IntegralImage::box_mean`]
    /// computes it; the box edges of a column (or row) are the same in every
    /// row (or column), so they are placed on the grid once.
    pub fn window(&self, rect: &Rect) -> [f32; WINDOW_PIXELS] {
        let mut out = [0f32; WINDOW_PIXELS];
        let step_x = rect.width / WINDOW_SIDE as f32;
        let step_y = rect.height / WINDOW_SIDE as f32;
        // Boxes narrower than a pixel are widened to one pixel so that
        // upscaled windows are still smooth.
        let (half_x, half_y) = (step_x.max(1.0) / 2.0, step_y.max(1.0) / 2.0);
        let edges = |start: f32, step: f32, half: f32, size: usize| {
            std::array::from_fn::<_, WINDOW_SIDE, _>(|i| {
                let centre = start + (i as f32 + 0.5) * step;
                let (low, high) = (centre - half, centre + half);
                (
                    high - low,
                    GridPoint::on(low, size),
                    GridPoint::on(high, size),
                )
            })
        };
        let columns = edges(rect.x, step_x, half_x, self.width);
        let rows = edges(rect.y, step_y, half_y, self.height);
        for (row, &(height, top, bottom)) in rows.iter().enumerate() {
            for (col, &(width, left, right)) in columns.iter().enumerate() {
                out[row * WINDOW_SIDE + col] =
                    self.mean_between(width * height, [left, top, right, bottom]);
            }
        }
        out
    }
}

/// A coordinate of an [`IntegralImage`] clamped to it and placed between two
/// grid lines, for bilinear reading.
#[derive(Clone, Copy)]
struct GridPoint {
    below: usize,
    above: usize,
    /// How far past `below` the coordinate lies (0–1).
    fraction: f32,
}

impl GridPoint {
    /// `value` on a grid of `size` cells (lines 0 to `size`).
    fn on(value: f32, size: usize) -> GridPoint {
        let value = value.clamp(0.0, size as f32);
        // Not negative after the clamp: truncation is the floor.
        let below = value as usize;
        GridPoint {
            below,
            above: (below + 1).min(size),
            fraction: value - below as f32,
        }
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

/// Step (degrees) between the rotations [`fitted_wedge_angle`] tries.
const FIT_ANGLE_STEP: f32 = 0.25;
/// Pixels this close to a turned picture's edge are left out of the fit:
/// scaling and coding blur the edge over about a pixel.
const FIT_EDGE_MARGIN: f32 = 1.5;
/// Width (pixels) of the band just inside the turned edge that is checked
/// for picture.
const FIT_BAND: f32 = 2.0;
/// Share of the predicted wedges that must be dark in every frame.
const FIT_MIN_DARK_SHARE: f32 = 0.97;
/// Share of the band inside the wedges that must be lit in some frame: a
/// dark picture edge may hide part of the turned edge, not most of it.
const FIT_MIN_LIT_SHARE: f32 = 0.3;
/// Fewest wedge pixels a fit is trusted on.
const FIT_MIN_WEDGE_PIXELS: usize = 4 * MIN_WEDGE_LEG * MIN_WEDGE_LEG;

/// The signed angle (degrees, positive clockwise) by which the picture
/// filling `content` was turned about its centre, with black fill and the
/// frame size kept, found by testing the wedges each angle predicts: at the
/// true angle the four wedges are dark in every frame and the picture just
/// inside their edges is lit. Unlike [`corner_wedge_angle`] it needs no
/// clean wedge outline, so it still works where the picture's own edge is
/// dark along part of a wedge. `None` when no angle fits.
pub fn fitted_wedge_angle(frames: &[GrayImage], content: &Rect) -> Option<f32> {
    let first = frames.first()?;
    let width = first.width() as usize;
    let mut brightest = vec![0u8; first.as_raw().len()];
    for frame in frames {
        for (b, &v) in brightest.iter_mut().zip(frame.as_raw()) {
            *b = (*b).max(v);
        }
    }
    let (half_width, half_height) = (content.width / 2.0, content.height / 2.0);
    let (centre_x, centre_y) = (content.x + half_width, content.y + half_height);
    let (left, top) = (content.x as usize, content.y as usize);
    let (right, bottom) = (
        (content.x + content.width) as usize,
        (content.y + content.height) as usize,
    );
    if right <= left + 4 * MIN_WEDGE_LEG || bottom <= top + 4 * MIN_WEDGE_LEG {
        return None;
    }
    // A picture turned with the frame size kept leaves every corner of the
    // frame black: most shots are ruled out here, before any fitting.
    let corners = [
        (left, top),
        (right - 1, top),
        (left, bottom - 1),
        (right - 1, bottom - 1),
    ];
    if corners
        .iter()
        .any(|&(x, y)| brightest[y * width + x] > BAR_LEVEL)
    {
        return None;
    }
    let steps = ((MAX_WEDGE_ANGLE - MIN_WEDGE_ANGLE) / FIT_ANGLE_STEP).round() as usize;
    let mut best: Option<(f32, f32)> = None; // (lit share, angle)
    for step in 0..=steps {
        for sign in [1.0f32, -1.0] {
            let degrees = sign * (MIN_WEDGE_ANGLE + step as f32 * FIT_ANGLE_STEP);
            let (sin, cos) = degrees.to_radians().sin_cos();
            let (mut wedge, mut wedge_dark, mut band, mut band_lit) =
                (0usize, 0usize, 0usize, 0usize);
            for y in top..bottom {
                let ry = y as f32 + 0.5 - centre_y;
                for x in left..right {
                    let rx = x as f32 + 0.5 - centre_x;
                    // Where this pixel was before the turn (as in `rotate`),
                    // and how far inside the picture's edge that is.
                    let (sx, sy) = (cos * rx + sin * ry, -sin * rx + cos * ry);
                    let inside = (half_width - sx.abs()).min(half_height - sy.abs());
                    let dark = brightest[y * width + x] <= BAR_LEVEL;
                    if inside <= -FIT_EDGE_MARGIN {
                        wedge += 1;
                        wedge_dark += usize::from(dark);
                    } else if (FIT_EDGE_MARGIN..FIT_EDGE_MARGIN + FIT_BAND).contains(&inside) {
                        band += 1;
                        band_lit += usize::from(!dark);
                    }
                }
            }
            if wedge < FIT_MIN_WEDGE_PIXELS || band == 0 {
                continue;
            }
            let dark_share = wedge_dark as f32 / wedge as f32;
            let lit_share = band_lit as f32 / band as f32;
            if dark_share >= FIT_MIN_DARK_SHARE
                && lit_share >= FIT_MIN_LIT_SHARE
                && best.is_none_or(|(lit, _)| lit_share > lit)
            {
                best = Some((lit_share, degrees));
            }
        }
    }
    best.map(|(_, degrees)| degrees)
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

/// The frames of a shot as pixel planes, and their mean edge strengths:
/// computed once per block for both [`inner_pictures`] and [`flat_boxes`].
pub struct ShotEdges<'a> {
    frames: &'a [GrayImage],
    width: usize,
    height: usize,
    planes: Vec<Vec<f32>>,
    gradient_x: Vec<f32>,
    gradient_y: Vec<f32>,
}

impl<'a> ShotEdges<'a> {
    /// None for no frames, or frames under 16 pixels on a side.
    pub fn of(frames: &'a [GrayImage]) -> Option<ShotEdges<'a>> {
        let first = frames.first()?;
        let (width, height) = (first.width() as usize, first.height() as usize);
        if width < 16 || height < 16 {
            return None;
        }
        let planes: Vec<Vec<f32>> = frames
            .iter()
            .map(|f| f.as_raw().iter().map(|&v| f32::from(v)).collect())
            .collect();
        let (gradient_x, gradient_y) = mean_gradients(&planes, width, height);
        Some(ShotEdges {
            frames,
            width,
            height,
            planes,
            gradient_x,
            gradient_y,
        })
    }
}

/// Smallest side of an inner picture, as a share of the frame's side.
const INNER_MIN_SHARE: f32 = 0.25;
/// Largest side of an inner picture, as a share of the frame's side.
const INNER_MAX_SHARE: f32 = 0.85;
/// A small picture's longer side (as a share of the frame's) is at least
/// this; a picture-in-picture a quarter of a portrait frame wide is less
/// than a tenth of its height.
const SMALL_MIN_LONG_SHARE: f32 = 0.2;
/// Shortest side of a small picture, in analysis pixels: smaller windows
/// hold too little detail for a hash.
const SMALL_MIN_SIDE: usize = 14;
/// Width-to-height ratios a small picture may have: those of videos
/// (9:16 to 2.39:1) with some slack for a crop.
const SMALL_ASPECTS: std::ops::RangeInclusive<f32> = 0.45..=2.6;
/// Pictures found from band lines reported per shot, beside the larger ones.
const MAX_SMALL_PICTURES: usize = 3;
/// A border line must be this many times stronger than the frame's mean edge.
const INNER_EDGE_CONTRAST: f32 = 1.8;
/// Candidate lines kept per axis from the whole frame's profile.
const INNER_LINES: usize = 12;
/// Candidate lines kept per band: the strongest lines of a whole-frame
/// profile are those that cross the frame, and a small picture's sides do
/// not.
const BAND_LINES: usize = 6;
/// Bands per axis (each a quarter of the frame, half overlapping).
const BANDS: usize = 7;
/// Rectangles overlapping more than this (intersection over union) are one.
const SAME_RECT_IOU: f32 = 0.9;
/// Inner pictures reported per shot.
pub const MAX_INNER_PICTURES: usize = 4 + MAX_SMALL_PICTURES;

/// Rectangles that look like a picture inserted into the frame: four straight
/// edges that stay put over the shot while the content moves. Up to four
/// with sides of at least a quarter of the frame's (split-screen parts, large
/// pictures-in-picture) from lines that cross much of the frame, then up to
/// three of any size from lines found band by band (small pictures).
pub fn inner_pictures(edges: &ShotEdges) -> Vec<Rect> {
    let ShotEdges {
        width,
        height,
        gradient_x,
        gradient_y,
        ..
    } = edges;
    let (width, height) = (*width, *height);
    let large = |w: f32, h: f32| {
        let shares = INNER_MIN_SHARE..=INNER_MAX_SHARE;
        shares.contains(&(w / width as f32)) && shares.contains(&(h / height as f32))
    };
    let picture = SideMaps::new(gradient_x, gradient_y, width, height);
    let mut candidates = picture.rectangles(&picture.whole_lines(), &large);
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Over a busy background (foliage, games, noise) the picture's border is
    // no stronger than the background's own edges, but the texture changes
    // there: look for rectangles in the map of edge strength too, after
    // those of the picture itself (which are placed more precisely).
    let texture: Vec<f32> = gradient_x
        .iter()
        .zip(gradient_y)
        .map(|(x, y)| x + y)
        .collect();
    let (texture_x, texture_y) = mean_gradients(std::slice::from_ref(&texture), width, height);
    let texture = SideMaps::new(&texture_x, &texture_y, width, height);
    let mut in_texture = texture.rectangles(&texture.whole_lines(), &large);
    in_texture.sort_by(|a, b| b.0.total_cmp(&a.0));
    candidates.extend(in_texture);
    let mut chosen = distinct(candidates, &[], MAX_INNER_PICTURES - MAX_SMALL_PICTURES);

    // Lines found band by band also give the sides of large pictures whose
    // lines are not among the whole frame's strongest (a test card, a game
    // with its own straight edges, behind or inside the picture).
    let small = |w: f32, h: f32| {
        let (w_share, h_share) = (w / width as f32, h / height as f32);
        w_share.max(h_share) >= SMALL_MIN_LONG_SHARE
            && w_share.max(h_share) <= INNER_MAX_SHARE
            && w.min(h) >= SMALL_MIN_SIDE as f32
            && SMALL_ASPECTS.contains(&(w / h))
    };
    let mut small_ones = picture.rectangles(&picture.band_lines(), &small);
    small_ones.sort_by(|a, b| b.0.total_cmp(&a.0));
    let small_chosen = distinct(small_ones, &chosen, MAX_SMALL_PICTURES);
    chosen.extend(small_chosen);
    chosen
}

/// Up to `limit` of `candidates` (best first), skipping any that is the same
/// rectangle as one already chosen or in `taken`.
fn distinct(candidates: Vec<(f32, Rect)>, taken: &[Rect], limit: usize) -> Vec<Rect> {
    let mut chosen: Vec<Rect> = Vec::new();
    for (_, rect) in candidates {
        if chosen.len() == limit {
            break;
        }
        if chosen
            .iter()
            .chain(taken)
            .all(|other| other.intersection_over_union(&rect) < SAME_RECT_IOU)
        {
            chosen.push(rect);
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

/// Candidate lines of rectangle sides: columns (edges between pixel columns
/// `x` and `x + 1`) and rows.
struct Lines {
    columns: Vec<usize>,
    rows: Vec<usize>,
}

/// Gradient maps summed along their lines, so that the mean strength of any
/// stretch of a column's or a row's edge costs two lookups.
struct SideMaps {
    width: usize,
    height: usize,
    mean_edge: f32,
    /// `down[y * width + x]`: the horizontal differences of column x, rows 0..y.
    down: Vec<f32>,
    /// `across[y * (width + 1) + x]`: the vertical differences of row y, columns 0..x.
    across: Vec<f32>,
}

impl SideMaps {
    fn new(gradient_x: &[f32], gradient_y: &[f32], width: usize, height: usize) -> SideMaps {
        let mut down = vec![0f32; (height + 1) * width];
        for y in 0..height {
            for x in 0..width {
                down[(y + 1) * width + x] = down[y * width + x] + gradient_x[y * width + x];
            }
        }
        let mut across = vec![0f32; height * (width + 1)];
        for y in 0..height {
            for x in 0..width {
                across[y * (width + 1) + x + 1] =
                    across[y * (width + 1) + x] + gradient_y[y * width + x];
            }
        }
        let mean_edge = (gradient_x.iter().sum::<f32>() + gradient_y.iter().sum::<f32>())
            / (2 * width * height) as f32;
        SideMaps {
            width,
            height,
            mean_edge,
            down,
            across,
        }
    }

    /// Mean strength of the vertical edge at column `x`, rows `y0..=y1`.
    fn vertical(&self, x: usize, y0: usize, y1: usize) -> f32 {
        (self.down[(y1 + 1) * self.width + x] - self.down[y0 * self.width + x])
            / (y1 - y0 + 1) as f32
    }

    /// Mean strength of the horizontal edge at row `y`, columns `x0..=x1`.
    fn horizontal(&self, y: usize, x0: usize, x1: usize) -> f32 {
        let row = y * (self.width + 1);
        (self.across[row + x1 + 1] - self.across[row + x0]) / (x1 - x0 + 1) as f32
    }

    /// Mean column strength over rows `y0..y1` and mean row strength over
    /// columns `x0..x1`.
    fn profiles(&self, y0: usize, y1: usize, x0: usize, x1: usize) -> (Vec<f32>, Vec<f32>) {
        let columns = (0..self.width - 1)
            .map(|x| self.vertical(x, y0, y1 - 1))
            .collect();
        let rows = (0..self.height - 1)
            .map(|y| self.horizontal(y, x0, x1 - 1))
            .collect();
        (columns, rows)
    }

    /// The strongest lines across the whole frame.
    fn whole_lines(&self) -> Lines {
        let (columns, rows) = self.profiles(0, self.height, 0, self.width);
        Lines {
            columns: profile_peaks(&columns, INNER_LINES),
            rows: profile_peaks(&rows, INNER_LINES),
        }
    }

    /// The strongest lines within each band of the frame, with those of the
    /// whole frame.
    fn band_lines(&self) -> Lines {
        let mut lines = self.whole_lines();
        let band = |extent: usize, index: usize| {
            let start = extent * index / (BANDS + 1);
            (start, (start + extent * 2 / (BANDS + 1)).min(extent))
        };
        for index in 0..BANDS {
            let (y0, y1) = band(self.height, index);
            let (x0, x1) = band(self.width, index);
            if y1 <= y0 || x1 <= x0 {
                continue;
            }
            let (columns, rows) = self.profiles(y0, y1, x0, x1);
            lines.columns.extend(profile_peaks(&columns, BAND_LINES));
            lines.rows.extend(profile_peaks(&rows, BAND_LINES));
        }
        for found in [&mut lines.columns, &mut lines.rows] {
            found.sort_unstable();
            found.dedup();
        }
        lines
    }

    /// Rectangles whose four sides follow `lines` and are strong along their
    /// whole length, and whose width and height (pixels) `fits` accepts, with
    /// their weakest side's strength relative to the maps' mean.
    fn rectangles(&self, lines: &Lines, fits: &dyn Fn(f32, f32) -> bool) -> Vec<(f32, Rect)> {
        if self.mean_edge <= f32::EPSILON {
            return Vec::new();
        }
        let floor = INNER_EDGE_CONTRAST * self.mean_edge;
        let mut candidates: Vec<(f32, Rect)> = Vec::new();
        for (i, &left) in lines.columns.iter().enumerate() {
            for &right in &lines.columns[i + 1..] {
                let (left, right) = (left.min(right), left.max(right));
                let inner_width = (right - left) as f32;
                for (j, &top) in lines.rows.iter().enumerate() {
                    for &bottom in &lines.rows[j + 1..] {
                        let (top, bottom) = (top.min(bottom), top.max(bottom));
                        let inner_height = (bottom - top) as f32;
                        if !fits(inner_width, inner_height) {
                            continue;
                        }
                        let weakest = self
                            .vertical(left, top + 1, bottom)
                            .min(self.vertical(right, top + 1, bottom))
                            .min(self.horizontal(top, left + 1, right))
                            .min(self.horizontal(bottom, left + 1, right));
                        if weakest < floor {
                            continue;
                        }
                        // An edge at index i lies between pixels i and i + 1.
                        let rect = Rect {
                            x: (left + 1) as f32,
                            y: (top + 1) as f32,
                            width: inner_width,
                            height: inner_height,
                        };
                        candidates.push((weakest / self.mean_edge, rect));
                    }
                }
            }
        }
        candidates
    }
}

/// Least mean change (grey levels) between consecutive samples for a pixel
/// to count as moving: coding noise stays below it.
const ACTIVE_MIN_MOTION: f32 = 3.0;
/// A moving pixel counts as sharp when its edge strength is at least this
/// share of the `ACTIVE_SHARP_RANK`-th percentile over moving pixels: a
/// blurred enlargement of the picture behind it moves too, but is soft.
const ACTIVE_SHARP_SHARE: f32 = 0.4;
const ACTIVE_SHARP_RANK: usize = 90;
/// A column (row) belongs to the region when it holds at least this share
/// of the busiest column's (row's) sharp moving pixels.
const ACTIVE_LINE_SHARE: f32 = 0.2;
/// Least share of the frame (per axis) an active region may cover, and the
/// most: a region that is nearly the whole frame adds nothing.
const ACTIVE_MIN_SHARE: f32 = 0.25;
const ACTIVE_MAX_SHARE: f32 = 0.92;

/// The rectangle where the picture is both sharp and moving over the shot:
/// the content inside any surround, whatever it is made of. Solid colours
/// and gradients neither move nor have edges, caption bands and frames have
/// edges but stay still, and a blurred enlargement of the video moves but is
/// soft, so all of them fall outside. None when the shot holds still, or
/// when the region is (nearly) the whole frame.
pub fn active_region(edges: &ShotEdges) -> Option<Rect> {
    let ShotEdges {
        width,
        height,
        planes,
        gradient_x,
        gradient_y,
        ..
    } = edges;
    let (width, height) = (*width, *height);
    if planes.len() < 2 {
        return None;
    }
    let mut motion = vec![0f32; width * height];
    for pair in planes.windows(2) {
        for (m, (a, b)) in motion.iter_mut().zip(pair[0].iter().zip(&pair[1])) {
            *m += (a - b).abs();
        }
    }
    let steps = (planes.len() - 1) as f32;
    let moving: Vec<bool> = motion
        .iter()
        .map(|m| m / steps >= ACTIVE_MIN_MOTION)
        .collect();
    let strength = |i: usize| gradient_x[i] + gradient_y[i];
    let mut moving_strengths: Vec<f32> = (0..moving.len())
        .filter(|&i| moving[i])
        .map(strength)
        .collect();
    if moving_strengths.len() < (width * height) / 50 {
        return None;
    }
    // The sharp content is a minority of the moving pixels when a blurred
    // enlargement fills the rest: judge sharpness against the upper end.
    let rank = moving_strengths.len() * ACTIVE_SHARP_RANK / 100;
    let (_, upper, _) = moving_strengths.select_nth_unstable_by(rank, f32::total_cmp);
    let sharp_level = ACTIVE_SHARP_SHARE * *upper;
    let mut columns = vec![0usize; width];
    let mut rows = vec![0usize; height];
    for (y, row) in rows.iter_mut().enumerate() {
        for (x, column) in columns.iter_mut().enumerate() {
            let i = y * width + x;
            if moving[i] && strength(i) >= sharp_level {
                *column += 1;
                *row += 1;
            }
        }
    }
    let (x0, x1) = busy_span(&columns)?;
    let (y0, y1) = busy_span(&rows)?;
    let (w, h) = ((x1 + 1 - x0) as f32, (y1 + 1 - y0) as f32);
    let share = ACTIVE_MIN_SHARE..=1.0;
    if !share.contains(&(w / width as f32)) || !share.contains(&(h / height as f32)) {
        return None;
    }
    if w / width as f32 > ACTIVE_MAX_SHARE && h / height as f32 > ACTIVE_MAX_SHARE {
        return None;
    }
    Some(Rect {
        x: x0 as f32,
        y: y0 as f32,
        width: w,
        height: h,
    })
}

/// First and last position whose count reaches `ACTIVE_LINE_SHARE` of the
/// largest.
fn busy_span(counts: &[usize]) -> Option<(usize, usize)> {
    let peak = *counts.iter().max()?;
    if peak == 0 {
        return None;
    }
    let level = (ACTIVE_LINE_SHARE * peak as f32).max(1.0) as usize;
    let first = counts.iter().position(|&c| c >= level)?;
    let last = counts.iter().rposition(|&c| c >= level)?;
    Some((first, last))
}

/// Smallest side of a flat box (caption plate, logo block), as a share of
/// the frame's side; smaller boxes hardly move a hash.
const BOX_MIN_SHARE: f32 = 0.08;
/// Largest standard deviation (grey levels) inside a flat box in any frame,
/// and largest change of its mean level over the frames.
const BOX_MAX_SPREAD: f32 = 4.0;
/// Least difference (grey levels) between a flat box's level and the mean
/// of the picture around it: a box the picture's colour hides little.
const BOX_MIN_CONTRAST: f32 = 24.0;
/// Largest mean edge strength (grey levels per pixel, |dx| + |dy| averaged
/// over the shot) inside a flat box.
const BOX_MAX_TEXTURE: f32 = 1.5;
/// Pixels along a box's sides that scaling and coding may blur, left out
/// when checking its inside.
const BOX_EDGE_BLUR: f32 = 2.0;
/// Width (pixels) of the ring around a box whose mean fills it.
const BOX_RING: f32 = 3.0;
/// Flat boxes reported per shot.
pub const MAX_FLAT_BOXES: usize = 2;

/// Flat, still, contrasting rectangles laid over the picture (a caption
/// plate, a logo block, a censor bar): four straight edges around a single
/// grey level that does not change over the shot. Such a box replaces part
/// of the picture with a level unrelated to it, which moves the lowest DCT
/// frequencies, and so the hash, far more than the hidden detail would.
pub fn flat_boxes(edges: &ShotEdges) -> Vec<Rect> {
    let ShotEdges {
        frames,
        width,
        height,
        planes,
        gradient_x,
        gradient_y,
    } = edges;
    let (width, height) = (*width, *height);
    let shares = BOX_MIN_SHARE..=INNER_MAX_SHARE;
    let fits = |w: f32, h: f32| {
        shares.contains(&(w / width as f32)) && shares.contains(&(h / height as f32))
    };
    let maps = SideMaps::new(gradient_x, gradient_y, width, height);
    let mut candidates = maps.rectangles(&maps.whole_lines(), &fits);
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Edge strength, summed for quick means over rectangles: a flat box has
    // none inside, which rules out nearly every candidate cheaply.
    let texture = IntegralImage::new(&GrayImage::from_fn(width as u32, height as u32, |x, y| {
        let i = y as usize * width + x as usize;
        image::Luma([(gradient_x[i] + gradient_y[i]).round().min(255.0) as u8])
    }));
    let integrals: Vec<IntegralImage> = frames.iter().map(IntegralImage::new).collect();
    let mut chosen: Vec<Rect> = Vec::new();
    for (_, rect) in candidates {
        if chosen.len() == MAX_FLAT_BOXES {
            break;
        }
        let inner = rect.shrunk(BOX_EDGE_BLUR);
        if inner.width <= 0.0
            || inner.height <= 0.0
            || texture.mean(&inner) > BOX_MAX_TEXTURE
            || chosen.iter().any(|other| other.overlaps(&rect))
            || !is_flat_box(planes, width, &integrals, &rect)
        {
            continue;
        }
        chosen.push(rect);
    }
    chosen
}

/// Whether `rect` holds one still grey level, unlike the ring around it.
fn is_flat_box(
    planes: &[Vec<f32>],
    width: usize,
    integrals: &[IntegralImage],
    rect: &Rect,
) -> bool {
    // The rectangle's outermost pixels may be blurred by scaling: skip them.
    let inner = rect.shrunk(BOX_EDGE_BLUR);
    let (x0, y0) = (inner.x.max(0.0) as usize, inner.y.max(0.0) as usize);
    let (x1, y1) = (
        (inner.x + inner.width).max(0.0) as usize,
        (inner.y + inner.height).max(0.0) as usize,
    );
    if x1 <= x0 || y1 <= y0 {
        return false;
    }
    let count = ((x1 - x0) * (y1 - y0)) as f64;
    let (mut lowest, mut highest, mut contrast) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f32);
    for (pixels, integral) in planes.iter().zip(integrals) {
        // Sums in f64: a large box's sum of squares outgrows f32's precision.
        let (mut sum, mut squares) = (0.0f64, 0.0f64);
        for y in y0..y1 {
            for &v in &pixels[y * width + x0..y * width + x1] {
                sum += f64::from(v);
                squares += f64::from(v * v);
            }
        }
        let mean = (sum / count) as f32;
        let spread = (squares / count - (sum / count).powi(2)).max(0.0).sqrt();
        if spread > f64::from(BOX_MAX_SPREAD) {
            return false;
        }
        lowest = lowest.min(mean);
        highest = highest.max(mean);
        contrast += (mean - integral.ring_mean(rect, BOX_RING)).abs();
    }
    highest - lowest <= BOX_MAX_SPREAD && contrast / planes.len() as f32 >= BOX_MIN_CONTRAST
}

/// The frame with each box (and a pixel around it, which scaling blurs)
/// painted with the mean of the picture around it: a neutral stand-in for
/// what the box hides.
pub fn fill_boxes(frame: &GrayImage, boxes: &[Rect]) -> GrayImage {
    let integral = IntegralImage::new(frame);
    let mut filled = frame.clone();
    let (width, height) = (frame.width(), frame.height());
    for rect in boxes {
        let level = integral.ring_mean(rect, BOX_RING).round().clamp(0.0, 255.0) as u8;
        let x0 = (rect.x - 1.0).max(0.0) as u32;
        let y0 = (rect.y - 1.0).max(0.0) as u32;
        let x1 = ((rect.x + rect.width + 1.0).ceil() as u32).min(width);
        let y1 = ((rect.y + rect.height + 1.0).ceil() as u32).min(height);
        for y in y0..y1 {
            for x in x0..x1 {
                filled.put_pixel(x, y, image::Luma([level]));
            }
        }
    }
    filled
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

/// Positions of the `limit` strongest local maxima of a profile.
fn profile_peaks(profile: &[f32], limit: usize) -> Vec<usize> {
    let mut peaks: Vec<usize> = (0..profile.len())
        .filter(|&i| {
            let lo = i.saturating_sub(2);
            let hi = (i + 2).min(profile.len() - 1);
            (lo..=hi).all(|j| profile[j] <= profile[i]) && profile[i] > 0.0
        })
        .collect();
    peaks.sort_by(|&a, &b| profile[b].total_cmp(&profile[a]));
    peaks.truncate(limit);
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

    /// A window's pixels are exactly the box means its boxes have, for
    /// windows inside the frame, across its edge, upscaled and thin.
    #[test]
    fn window_pixels_are_the_means_of_their_boxes() {
        let image = IntegralImage::new(&pattern(160, 90, 3));
        let rects = [
            (0.0, 0.0, 160.0, 90.0),
            (12.3, 7.7, 100.1, 61.9),
            (-20.0, -5.0, 90.0, 120.0),
            (150.5, 80.25, 30.0, 20.0),
            (40.0, 30.0, 8.5, 70.0),
        ];
        for (x, y, width, height) in rects {
            let rect = Rect {
                x,
                y,
                width,
                height,
            };
            let window = image.window(&rect);
            let (step_x, step_y) = (width / WINDOW_SIDE as f32, height / WINDOW_SIDE as f32);
            let (half_x, half_y) = (step_x.max(1.0) / 2.0, step_y.max(1.0) / 2.0);
            for row in 0..WINDOW_SIDE {
                let centre_y = y + (row as f32 + 0.5) * step_y;
                for col in 0..WINDOW_SIDE {
                    let centre_x = x + (col as f32 + 0.5) * step_x;
                    let mean = image.box_mean(
                        centre_x - half_x,
                        centre_y - half_y,
                        centre_x + half_x,
                        centre_y + half_y,
                    );
                    assert_eq!(
                        window[row * WINDOW_SIDE + col].to_bits(),
                        mean.to_bits(),
                        "{rect:?} at row {row}, column {col}"
                    );
                }
            }
        }
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
    fn small_picture_in_a_portrait_frame_is_found() {
        // A 16:9 picture a third of a 9:16 frame wide is a tenth of its
        // height: its sides barely move whole-frame profiles, and a bright
        // stripe across the frame outshines them there.
        let frames: Vec<GrayImage> = (0..6)
            .map(|seed| {
                let mut frame = pattern(144, 256, seed * 5);
                let stripe = GrayImage::from_pixel(144, 6, image::Luma([250]));
                image::imageops::replace(&mut frame, &stripe, 0, 60);
                let inner = GrayImage::from_fn(48, 27, |x, y| {
                    let phase = (x as f32 * 0.2 + y as f32 * 0.1 + seed as f32 * 0.9).sin();
                    image::Luma([(200.0 + 40.0 * phase) as u8])
                });
                image::imageops::replace(&mut frame, &inner, 70, 180);
                frame
            })
            .collect();
        let found = inner_pictures(&ShotEdges::of(&frames).unwrap());
        assert!(
            found.iter().any(|r| (r.x - 70.0).abs() <= 1.0
                && (r.y - 180.0).abs() <= 1.0
                && (r.width - 48.0).abs() <= 2.0
                && (r.height - 27.0).abs() <= 2.0),
            "{found:?}"
        );
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
        let found = inner_pictures(&ShotEdges::of(&frames).unwrap());
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

    /// A detailed picture whose left and bottom edges are dark (a dark
    /// suit, a car's interior), as frames of a shot.
    fn dark_edged(seed: u32) -> GrayImage {
        GrayImage::from_fn(256, 210, |x, y| {
            let level = if x < 20 || y >= 180 {
                20
            } else {
                120 + (x * 3 + y * 5 + seed) % 100
            };
            image::Luma([level as u8])
        })
    }

    #[test]
    fn rotation_of_a_dark_edged_picture_is_fitted_with_its_direction() {
        for degrees in [5.0f32, -7.0] {
            let frames: Vec<GrayImage> = (0..3)
                .map(|seed| rotate(&dark_edged(seed), degrees))
                .collect();
            let content = content_box(&frames);
            let fitted = fitted_wedge_angle(&frames, &content).expect("wedges fitted");
            assert!(
                (fitted - degrees).abs() <= 0.75,
                "{degrees}° fitted as {fitted}°"
            );
        }
    }

    #[test]
    fn unturned_dark_edged_picture_fits_no_rotation() {
        let frames: Vec<GrayImage> = (0..3).map(dark_edged).collect();
        assert_eq!(fitted_wedge_angle(&frames, &content_box(&frames)), None);
        let dark = vec![GrayImage::from_pixel(256, 210, image::Luma([10]))];
        assert_eq!(fitted_wedge_angle(&dark, &content_box(&dark)), None);
    }

    #[test]
    fn flat_box_over_moving_content_is_found_and_filled() {
        let frames: Vec<GrayImage> = (0..6)
            .map(|seed| {
                let mut frame = pattern(256, 192, seed * 3);
                let plate = GrayImage::from_pixel(88, 64, image::Luma([210]));
                image::imageops::replace(&mut frame, &plate, 150, 10);
                frame
            })
            .collect();
        let boxes = flat_boxes(&ShotEdges::of(&frames).unwrap());
        assert!(
            boxes.iter().any(|r| (r.x - 150.0).abs() <= 1.0
                && (r.y - 10.0).abs() <= 1.0
                && (r.width - 88.0).abs() <= 2.0
                && (r.height - 64.0).abs() <= 2.0),
            "{boxes:?}"
        );
        let filled = fill_boxes(&frames[0], &boxes);
        let inside = filled.get_pixel(190, 40)[0];
        assert!((60..=180).contains(&inside), "box painted with {inside}");
        // Pixels away from the box are untouched.
        assert_eq!(filled.get_pixel(20, 150), frames[0].get_pixel(20, 150));
    }

    #[test]
    fn moving_pictures_and_plain_frames_have_no_flat_boxes() {
        let frames: Vec<GrayImage> = (0..6)
            .map(|seed| {
                let mut frame = pattern(256, 144, seed * 3);
                let inner = pattern(128, 72, seed * 5 + 1);
                image::imageops::replace(&mut frame, &inner, 95, 17);
                frame
            })
            .collect();
        assert_eq!(flat_boxes(&ShotEdges::of(&frames).unwrap()), Vec::new());
        let plain = vec![GrayImage::from_pixel(100, 80, image::Luma([90]))];
        assert_eq!(flat_boxes(&ShotEdges::of(&plain).unwrap()), Vec::new());
    }

    #[test]
    fn ring_mean_reads_only_around_the_rectangle() {
        let mut frame = GrayImage::from_pixel(40, 40, image::Luma([50]));
        image::imageops::replace(
            &mut frame,
            &GrayImage::from_pixel(10, 10, image::Luma([200])),
            15,
            15,
        );
        let integral = IntegralImage::new(&frame);
        let plate = Rect {
            x: 15.0,
            y: 15.0,
            width: 10.0,
            height: 10.0,
        };
        assert!((integral.ring_mean(&plate, 3.0) - 50.0).abs() < 0.01);
        assert!((integral.mean(&plate) - 200.0).abs() < 0.01);
        assert!((integral.mean(&plate.shrunk(2.0)) - 200.0).abs() < 0.01);
        let beside = |x: f32| Rect { x, ..plate };
        assert!(plate.overlaps(&beside(24.0)) && !plate.overlaps(&beside(25.0)));
    }

    #[test]
    fn window_of_a_uniform_frame_is_uniform() {
        let frame = GrayImage::from_pixel(50, 30, image::Luma([100]));
        let integral = IntegralImage::new(&frame);
        let window = integral.window(&Rect::of_frame(&frame).centred(0.8));
        assert!(window.iter().all(|v| (v - 100.0).abs() < 0.01));
    }
}
