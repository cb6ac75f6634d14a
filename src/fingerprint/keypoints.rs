//! Local keypoints: corners found at several scales, each described by a
//! 256-bit binary descriptor of the patch around it (intensity tests steered
//! by the patch's own orientation).
//!
//! Pure code: a frame in, keypoints out. A copy that shows only part of a
//! work, scaled, moved or slightly turned (harder crops, zooms anywhere,
//! reframed windows, split-screen parts, small pictures-in-picture, any
//! surround) keeps many of the work's corners and the patches around them,
//! wherever they land in its frame: unlike a window hash, a keypoint needs
//! no guess of where the work lies in the copy. The descriptors are 256-bit
//! like the frame hashes, so the same Hamming index searches them.

use image::GrayImage;

use super::hash::Hash256;

/// Level `l` of the pyramid is the frame scaled by `2^(-l/2)`.
/// Largest offset (pixels of the level) of a test point from the keypoint.
const TEST_EXTENT: f32 = 11.0;
/// Each test compares the means of two boxes of side `2 × BOX_RADIUS + 1`.
const BOX_RADIUS: i32 = 2;
/// Keypoints keep this far (level pixels) from the level's border, so every
/// turned test box lies inside it.
const MARGIN: i32 = 18;
/// Radius of the disc whose intensity centroid gives the orientation.
const ORIENTATION_RADIUS: i32 = 10;
/// Structure tensors are averaged over a square of this radius.
const TENSOR_RADIUS: i32 = 2;
/// Smallest eigenvalue (squared grey levels per pixel) of a corner's mean
/// structure tensor: below it, the point is an edge or flat.
const MIN_CORNERNESS: f32 = 60.0;
/// The frame is split into `GRID × GRID` cells per level; keypoints are
/// taken from every cell in turn, so one busy corner of the frame (a logo,
/// a caption) cannot take them all.
const GRID: usize = 4;

/// One corner of a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keypoint {
    /// Position, as shares (0–1) of the frame's width and height.
    pub x: f32,
    pub y: f32,
    /// Size of the described patch relative to the frame (1 at the full
    /// frame, smaller at coarser levels): the patch spans `1 / scale` times
    /// as many frame pixels.
    pub scale: f32,
    pub descriptor: Hash256,
}

/// Finds and describes keypoints; holds the test pattern.
pub struct KeypointDescriber {
    /// 256 pairs of test offsets `(x1, y1, x2, y2)` around a keypoint.
    pattern: Vec<[f32; 4]>,
}

impl Default for KeypointDescriber {
    fn default() -> Self {
        Self::new()
    }
}

impl KeypointDescriber {
    pub fn new() -> KeypointDescriber {
        // A fixed pseudo-random pattern, denser near the centre (sum of
        // three uniforms): the same on every machine and in every version
        // of the scheme.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
        };
        let mut coordinate = move || {
            let sum = uniform() + uniform() + uniform();
            (sum / 3.0 * TEST_EXTENT * 1.6).clamp(-TEST_EXTENT, TEST_EXTENT)
        };
        let pattern = (0..256)
            .map(|_| [coordinate(), coordinate(), coordinate(), coordinate()])
            .collect();
        KeypointDescriber { pattern }
    }

    /// At most `limit` keypoints of `frame`, spread over `levels` pyramid
    /// levels and over its area, strongest corners first within each cell.
    pub fn describe(&self, frame: &GrayImage, limit: usize, levels: usize) -> Vec<Keypoint> {
        let mut keypoints = Vec::with_capacity(limit);
        let per_level = limit.div_ceil(levels.max(1));
        let full = Plane::of(frame);
        for level in 0..levels {
            let scale = 0.5f32.powf(level as f32 / 2.0);
            let resized;
            let level_image = if level == 0 {
                &full
            } else {
                let width = (frame.width() as f32 * scale).round() as usize;
                let height = (frame.height() as f32 * scale).round() as usize;
                resized = full.resized(width, height);
                &resized
            };
            if level_image.width as i32 <= 2 * MARGIN || level_image.height as i32 <= 2 * MARGIN {
                break;
            }
            let sums = BoxSums::of(level_image);
            let quota = per_level.min(limit - keypoints.len());
            for (x, y) in corners(level_image, quota) {
                let angle = orientation(level_image, x, y);
                keypoints.push(Keypoint {
                    x: (x as f32 + 0.5) / level_image.width as f32,
                    y: (y as f32 + 0.5) / level_image.height as f32,
                    scale,
                    descriptor: self.descriptor(&sums, x, y, angle),
                });
            }
        }
        keypoints
    }

    /// [`Self::describe`] of the frame seen in a mirror, with positions
    /// given in the frame's own (unmirrored) coordinates.
    pub fn describe_mirrored(
        &self,
        frame: &GrayImage,
        limit: usize,
        levels: usize,
    ) -> Vec<Keypoint> {
        let mut points = self.describe(&image::imageops::flip_horizontal(frame), limit, levels);
        for point in &mut points {
            point.x = 1.0 - point.x;
        }
        points
    }

    fn descriptor(&self, sums: &BoxSums, x: i32, y: i32, angle: f32) -> Hash256 {
        let (sin, cos) = angle.sin_cos();
        let at = |dx: f32, dy: f32| {
            let px = x + (cos * dx - sin * dy).round() as i32;
            let py = y + (sin * dx + cos * dy).round() as i32;
            sums.box_sum(px, py, BOX_RADIUS)
        };
        let mut words = [0u64; 4];
        for (bit, [x1, y1, x2, y2]) in self.pattern.iter().enumerate() {
            if at(*x1, *y1) < at(*x2, *y2) {
                words[bit / 64] |= 1 << (bit % 64);
            }
        }
        Hash256(words)
    }
}

/// A greyscale image as floats.
struct Plane {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

impl Plane {
    fn of(frame: &GrayImage) -> Plane {
        Plane {
            width: frame.width() as usize,
            height: frame.height() as usize,
            pixels: frame.as_raw().iter().map(|&p| f32::from(p)).collect(),
        }
    }

    fn zeros(width: usize, height: usize) -> Plane {
        Plane {
            width,
            height,
            pixels: vec![0.0; width * height],
        }
    }

    fn at(&self, x: i32, y: i32) -> f32 {
        self.pixels[y as usize * self.width + x as usize]
    }

    /// Area-averaged resampling to a smaller size.
    fn resized(&self, width: usize, height: usize) -> Plane {
        let columns = coverage(self.width, width);
        let rows = coverage(self.height, height);
        let mut pixels = vec![0f32; width * height];
        for (y, (first_row, row_weights)) in rows.iter().enumerate() {
            for (x, (first_column, column_weights)) in columns.iter().enumerate() {
                let mut total = 0f32;
                let mut weight = 0f32;
                for (yy, &wy) in (*first_row..).zip(row_weights) {
                    let row = &self.pixels[yy * self.width..];
                    for (xx, &wx) in (*first_column..).zip(column_weights) {
                        total += wx * wy * row[xx];
                        weight += wx * wy;
                    }
                }
                pixels[y * width + x] = if weight > 0.0 { total / weight } else { 0.0 };
            }
        }
        Plane {
            width,
            height,
            pixels,
        }
    }
}

/// For each of `to` cells resampling `from` source pixels along one axis:
/// its first source pixel and the share of each source pixel it covers.
/// Computed once per axis rather than once per output pixel.
fn coverage(from: usize, to: usize) -> Vec<(usize, Vec<f32>)> {
    let step = from as f32 / to as f32;
    (0..to)
        .map(|i| {
            let (start, end) = (i as f32 * step, (i + 1) as f32 * step);
            let first = start.floor() as usize;
            let weights = (first..(end.ceil() as usize).min(from))
                .map(|s| (end.min(s as f32 + 1.0) - start.max(s as f32)).max(0.0))
                .collect();
            (first, weights)
        })
        .collect()
}

/// Summed-area table of a plane, for box sums.
struct BoxSums {
    width: usize,
    sums: Vec<f64>,
}

impl BoxSums {
    fn of(plane: &Plane) -> BoxSums {
        let width = plane.width + 1;
        let mut sums = vec![0f64; width * (plane.height + 1)];
        for y in 0..plane.height {
            let mut row = 0f64;
            for x in 0..plane.width {
                row += f64::from(plane.pixels[y * plane.width + x]);
                sums[(y + 1) * width + x + 1] = sums[y * width + x + 1] + row;
            }
        }
        BoxSums { width, sums }
    }

    /// Sum of the square of radius `r` around `(x, y)` (inside the plane).
    fn box_sum(&self, x: i32, y: i32, r: i32) -> f64 {
        let (x0, y0) = ((x - r) as usize, (y - r) as usize);
        let (x1, y1) = ((x + r + 1) as usize, (y + r + 1) as usize);
        let w = self.width;
        self.sums[y1 * w + x1] - self.sums[y0 * w + x1] - self.sums[y1 * w + x0]
            + self.sums[y0 * w + x0]
    }
}

/// Up to `quota` corners of `plane` (at least `MARGIN` from its border):
/// local maxima of the smaller eigenvalue of the mean structure tensor,
/// taken from the grid's cells in turn, strongest first in each.
fn corners(plane: &Plane, quota: usize) -> Vec<(i32, i32)> {
    let (width, height) = (plane.width, plane.height);
    // Gradient products, then their box sums.
    let (mut xx, mut yy, mut xy) = (
        Plane::zeros(width, height),
        Plane::zeros(width, height),
        Plane::zeros(width, height),
    );
    for y in 1..height as i32 - 1 {
        for x in 1..width as i32 - 1 {
            let gx = (plane.at(x + 1, y) - plane.at(x - 1, y)) / 2.0;
            let gy = (plane.at(x, y + 1) - plane.at(x, y - 1)) / 2.0;
            let i = y as usize * width + x as usize;
            xx.pixels[i] = gx * gx;
            yy.pixels[i] = gy * gy;
            xy.pixels[i] = gx * gy;
        }
    }
    let (sxx, syy, sxy) = (BoxSums::of(&xx), BoxSums::of(&yy), BoxSums::of(&xy));
    let area = f64::from((2 * TENSOR_RADIUS + 1).pow(2));
    let mut strength = vec![0f32; width * height];
    let inner = MARGIN - 1;
    for y in inner..height as i32 - inner {
        for x in inner..width as i32 - inner {
            let a = sxx.box_sum(x, y, TENSOR_RADIUS) / area;
            let b = syy.box_sum(x, y, TENSOR_RADIUS) / area;
            let c = sxy.box_sum(x, y, TENSOR_RADIUS) / area;
            let half_trace = (a + b) / 2.0;
            let spread = (((a - b) / 2.0).powi(2) + c * c).sqrt();
            strength[y as usize * width + x as usize] = (half_trace - spread) as f32;
        }
    }
    // Local maxima above the floor, per grid cell.
    let mut cells: Vec<Vec<(f32, i32, i32)>> = vec![Vec::new(); GRID * GRID];
    for y in MARGIN..height as i32 - MARGIN {
        for x in MARGIN..width as i32 - MARGIN {
            let here = strength[y as usize * width + x as usize];
            if here < MIN_CORNERNESS {
                continue;
            }
            let is_peak = (-1..=1).all(|dy: i32| {
                (-1..=1).all(|dx: i32| {
                    let there = strength[(y + dy) as usize * width + (x + dx) as usize];
                    (dx == 0 && dy == 0) || there < here || (there == here && (dy, dx) > (0, 0))
                })
            });
            if is_peak {
                let cell = (y as usize * GRID / height) * GRID + x as usize * GRID / width;
                cells[cell].push((here, x, y));
            }
        }
    }
    for cell in &mut cells {
        cell.sort_by(|a, b| b.0.total_cmp(&a.0));
    }
    let mut chosen = Vec::with_capacity(quota);
    let mut round = 0;
    while chosen.len() < quota {
        let mut any = false;
        for cell in &cells {
            if let Some(&(_, x, y)) = cell.get(round) {
                any = true;
                if chosen.len() < quota {
                    chosen.push((x, y));
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    chosen
}

/// Direction (radians) from `(x, y)` to the intensity centroid of the disc
/// around it: turning the tests by it makes them follow a turned picture.
fn orientation(plane: &Plane, x: i32, y: i32) -> f32 {
    let (mut m10, mut m01) = (0f32, 0f32);
    let r2 = ORIENTATION_RADIUS * ORIENTATION_RADIUS;
    for dy in -ORIENTATION_RADIUS..=ORIENTATION_RADIUS {
        for dx in -ORIENTATION_RADIUS..=ORIENTATION_RADIUS {
            if dx * dx + dy * dy > r2 {
                continue;
            }
            let value = plane.at(x + dx, y + dy);
            m10 += dx as f32 * value;
            m01 += dy as f32 * value;
        }
    }
    m01.atan2(m10)
}

/// Bytes of one stored keypoint: x and y (shares of the frame, 16 bits
/// each), the level, the descriptor.
const STORED_POINT_BYTES: usize = 2 + 2 + 1 + Hash256::BYTES;

/// Keypoint positions are kept as shares (0–1) of the frame's width and
/// height, so frames of any size compare.
impl Keypoint {
    fn level(&self) -> u8 {
        (-2.0 * self.scale.log2()).round().clamp(0.0, 255.0) as u8
    }
}

/// The stored form of keyframes' keypoints: per keyframe a 16-bit count,
/// then each point.
pub fn encode(keyframes: &[Vec<Keypoint>]) -> Vec<u8> {
    let points: usize = keyframes.iter().map(Vec::len).sum();
    let mut bytes = Vec::with_capacity(2 * keyframes.len() + points * STORED_POINT_BYTES);
    for points in keyframes {
        bytes.extend_from_slice(&(points.len().min(usize::from(u16::MAX)) as u16).to_le_bytes());
        for point in points.iter().take(usize::from(u16::MAX)) {
            let share = |v: f32| ((v.clamp(0.0, 1.0) * 65535.0).round() as u16).to_le_bytes();
            bytes.extend_from_slice(&share(point.x));
            bytes.extend_from_slice(&share(point.y));
            bytes.push(point.level());
            bytes.extend_from_slice(&point.descriptor.to_bytes());
        }
    }
    bytes
}

/// Reads what [`encode`] wrote; an error says where the bytes stop making sense.
pub fn decode(mut bytes: &[u8]) -> Result<Vec<Vec<Keypoint>>, String> {
    let mut keyframes = Vec::new();
    while !bytes.is_empty() {
        let Some((count, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(format!("keyframe {}: truncated count", keyframes.len()));
        };
        let count = usize::from(u16::from_le_bytes(*count));
        let size = count * STORED_POINT_BYTES;
        if rest.len() < size {
            return Err(format!(
                "keyframe {}: {count} points need {size} bytes, {} left",
                keyframes.len(),
                rest.len()
            ));
        }
        let (points, rest) = rest.split_at(size);
        keyframes.push(
            points
                .chunks_exact(STORED_POINT_BYTES)
                .map(|p| {
                    let share = |b: &[u8]| f32::from(u16::from_le_bytes([b[0], b[1]])) / 65535.0;
                    Keypoint {
                        x: share(&p[0..2]),
                        y: share(&p[2..4]),
                        scale: 0.5f32.powf(f32::from(p[4]) / 2.0),
                        descriptor: Hash256::from_bytes(
                            p[5..].try_into().expect("32-byte descriptor"),
                        ),
                    }
                })
                .collect(),
        );
        bytes = rest;
    }
    Ok(keyframes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn resizing_averages_each_output_pixels_area_exactly() {
        // The area average written out per output pixel: the weights
        // `coverage` computes once per axis must give the same floats.
        let plane = Plane::of(&scene(7, 517, 291));
        for (width, height) in [(366, 206), (258, 145), (183, 103), (129, 73)] {
            let (sx, sy) = (
                plane.width as f32 / width as f32,
                plane.height as f32 / height as f32,
            );
            let resized = plane.resized(width, height);
            for y in 0..height {
                let (y0, y1) = (y as f32 * sy, (y + 1) as f32 * sy);
                for x in 0..width {
                    let (x0, x1) = (x as f32 * sx, (x + 1) as f32 * sx);
                    let (mut total, mut weight) = (0f32, 0f32);
                    for yy in y0.floor() as usize..(y1.ceil() as usize).min(plane.height) {
                        let wy = (y1.min(yy as f32 + 1.0) - y0.max(yy as f32)).max(0.0);
                        for xx in x0.floor() as usize..(x1.ceil() as usize).min(plane.width) {
                            let wx = (x1.min(xx as f32 + 1.0) - x0.max(xx as f32)).max(0.0);
                            total += wx * wy * plane.pixels[yy * plane.width + xx];
                            weight += wx * wy;
                        }
                    }
                    let expected = if weight > 0.0 { total / weight } else { 0.0 };
                    assert_eq!(
                        resized.pixels[y * width + x].to_bits(),
                        expected.to_bits(),
                        "{width}x{height} at ({x}, {y})"
                    );
                }
            }
        }
    }

    /// A deterministic scene of overlapping shaded rectangles: plenty of
    /// corners, few alike.
    pub(crate) fn scene(seed: u64, width: u32, height: u32) -> GrayImage {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move |bound: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % u64::from(bound)) as u32
        };
        let mut image = GrayImage::from_pixel(width, height, image::Luma([90]));
        for _ in 0..60 {
            let (w, h) = (8 + next(width / 5), 8 + next(height / 5));
            let (x0, y0) = (next(width), next(height));
            let level = 40.0 + next(175) as f32;
            // Each rectangle shaded along its own direction.
            let (gx, gy) = (next(9) as f32 - 4.0, next(9) as f32 - 4.0);
            for y in y0..(y0 + h).min(height) {
                for x in x0..(x0 + w).min(width) {
                    let shade = level + gx * (x - x0) as f32 + gy * (y - y0) as f32;
                    image.put_pixel(x, y, image::Luma([shade.clamp(0.0, 255.0) as u8]));
                }
            }
        }
        image
    }

    /// The part of `image` from `(x, y)` of size `w × h`, scaled to `out_w × out_h`.
    pub(crate) fn cropped(
        image: &GrayImage,
        (x, y, w, h): (u32, u32, u32, u32),
        (out_w, out_h): (u32, u32),
    ) -> GrayImage {
        let part = image::imageops::crop_imm(image, x, y, w, h).to_image();
        image::imageops::resize(&part, out_w, out_h, image::imageops::FilterType::Triangle)
    }

    /// How many of `a`'s points have a descriptor within `radius` of one of `b`'s.
    fn paired(a: &[Keypoint], b: &[Keypoint], radius: u32) -> usize {
        a.iter()
            .filter(|p| {
                b.iter()
                    .any(|q| p.descriptor.distance(&q.descriptor) <= radius)
            })
            .count()
    }

    #[test]
    fn corners_are_found_spread_and_described_the_same_after_a_crop_and_zoom() {
        let describer = KeypointDescriber::new();
        let work = scene(1, 256, 144);
        let points = describer.describe(&work, 32, 4);
        assert_eq!(points.len(), 32);
        assert!(points
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y)));
        assert!(points.iter().any(|p| p.x < 0.5) && points.iter().any(|p| p.x > 0.5));
        // The middle 70 % shown 1.4 times larger.
        let zoomed = cropped(&work, (38, 22, 180, 100), (256, 144));
        let seen = describer.describe(&zoomed, 48, 4);
        let other = describer.describe(&scene(2, 256, 144), 48, 4);
        let (same, unrelated) = (paired(&seen, &points, 40), paired(&other, &points, 40));
        // Descriptors alone pair some corners of unrelated pictures too
        // (a corner of a rectangle looks like any other): the geometric fit
        // in the matcher is what tells them apart.
        assert!(same >= 16, "{same} of the zoomed copy's points pair");
        assert!(
            same > unrelated,
            "{same} paired against {unrelated} of another scene"
        );
    }

    #[test]
    fn mirrored_points_are_the_mirror_images_positions() {
        let describer = KeypointDescriber::new();
        let frame = scene(3, 200, 120);
        let flipped = image::imageops::flip_horizontal(&frame);
        let direct = describer.describe(&frame, 24, 4);
        let mirrored = describer.describe_mirrored(&flipped, 24, 4);
        assert_eq!(direct.len(), mirrored.len());
        for (a, b) in direct.iter().zip(&mirrored) {
            assert_eq!(a.descriptor, b.descriptor);
            assert!((a.x + b.x - 1.0).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6);
        }
    }

    #[test]
    fn flat_frames_have_no_keypoints() {
        let describer = KeypointDescriber::new();
        let flat = GrayImage::from_pixel(256, 144, image::Luma([128]));
        assert!(describer.describe(&flat, 32, 4).is_empty());
    }

    #[test]
    fn stored_keypoints_read_back() {
        let describer = KeypointDescriber::new();
        let keyframes = vec![
            describer.describe(&scene(4, 256, 144), 16, 4),
            Vec::new(),
            describer.describe(&scene(5, 256, 144), 8, 4),
        ];
        let read = decode(&encode(&keyframes)).unwrap();
        assert_eq!(read.len(), 3);
        for (got, want) in read.iter().flatten().zip(keyframes.iter().flatten()) {
            assert_eq!(got.descriptor, want.descriptor);
            assert_eq!(got.scale, want.scale);
            assert!((got.x - want.x).abs() < 1e-4 && (got.y - want.y).abs() < 1e-4);
        }
        let bytes = encode(&keyframes);
        let error = decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(error.contains("keyframe 2"), "{error}");
    }
}
