//! The 256-bit DCT hash of one 64×64 luminance window (PDQ-style), its mirror
//! variant and a quality score.
//!
//! The window's 16×16 lowest non-DC DCT coefficients are thresholded at their
//! median. Bits are stored in zig-zag order (lowest frequencies first), so the
//! first bits are the most stable ones; the index's first chunk benefits.

use std::fmt;

/// Side of the square window a hash is computed from.
pub const WINDOW_SIDE: usize = 64;
/// Pixels in one window.
pub const WINDOW_PIXELS: usize = WINDOW_SIDE * WINDOW_SIDE;
/// Number of DCT frequencies kept per axis (16 × 16 = 256 bits).
const FREQUENCIES: usize = 16;
/// Mean absolute gradient (grey levels per pixel) at which quality reaches 1.0.
const FULL_QUALITY_GRADIENT: f32 = 6.0;

/// A 256-bit perceptual hash. Bit `i` lives in word `i / 64`, bit `i % 64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash256(pub [u64; 4]);

impl Hash256 {
    /// Number of bytes in the serialised form.
    pub const BYTES: usize = 32;

    /// Hamming distance (0..=256).
    #[inline(always)]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Bits `start .. start + len` as an integer, bit `start` lowest (len ≤ 64).
    pub fn bits(&self, start: usize, len: usize) -> u64 {
        debug_assert!(len <= 64 && start + len <= 256);
        let word = start / 64;
        let shift = start % 64;
        let low = self.0[word] >> shift;
        let value = if shift != 0 && word + 1 < 4 {
            low | (self.0[word + 1] << (64 - shift))
        } else {
            low
        };
        if len == 64 {
            value
        } else {
            value & ((1u64 << len) - 1)
        }
    }

    /// Returns the hash with bit `i` flipped.
    pub fn flipped(&self, i: usize) -> Hash256 {
        let mut words = self.0;
        words[i / 64] ^= 1u64 << (i % 64);
        Hash256(words)
    }

    /// Little-endian serialisation (word 0 first).
    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Inverse of [`Hash256::to_bytes`].
    pub fn from_bytes(bytes: &[u8; Self::BYTES]) -> Hash256 {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        Hash256(words)
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", hex::encode(self.to_bytes()))
    }
}

/// The hashes of one window: as seen, and as seen in a mirror.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowHash {
    pub hash: Hash256,
    /// Hash of the horizontally flipped window (derived from the same DCT).
    pub mirrored: Hash256,
    /// 0.0 (flat) ..= 1.0 (detailed), from the window's mean gradient.
    pub quality: f32,
}

/// Computes [`WindowHash`]es; holds the precomputed DCT basis.
pub struct DctHasher {
    /// `basis[k * 64 + x]` = DCT-II basis of frequency `k + 1` at sample `x`.
    basis: Vec<f32>,
    /// `zigzag[bit]` = coefficient index `u * 16 + v` stored at that bit.
    zigzag: [usize; 256],
}

impl Default for DctHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl DctHasher {
    pub fn new() -> DctHasher {
        let n = WINDOW_SIDE as f32;
        let scale = (2.0 / n).sqrt();
        let mut basis = vec![0f32; FREQUENCIES * WINDOW_SIDE];
        for k in 0..FREQUENCIES {
            for x in 0..WINDOW_SIDE {
                let angle = std::f32::consts::PI / (2.0 * n) * (k + 1) as f32 * (2 * x + 1) as f32;
                basis[k * WINDOW_SIDE + x] = scale * angle.cos();
            }
        }
        let mut order: Vec<usize> = (0..FREQUENCIES * FREQUENCIES).collect();
        order.sort_by_key(|&i| (i / FREQUENCIES + i % FREQUENCIES, i / FREQUENCIES));
        let mut zigzag = [0usize; 256];
        zigzag.copy_from_slice(&order);
        DctHasher { basis, zigzag }
    }

    /// Hashes a 64×64 window given row-major in grey levels (0..=255).
    pub fn hash(&self, window: &[f32; WINDOW_PIXELS]) -> WindowHash {
        let coefficients = self.dct(window);
        // Mirroring x negates every coefficient of odd horizontal frequency.
        let mut mirrored = coefficients;
        for (i, value) in mirrored.iter_mut().enumerate() {
            let horizontal_frequency = i % FREQUENCIES + 1;
            if horizontal_frequency % 2 == 1 {
                *value = -*value;
            }
        }
        WindowHash {
            hash: self.threshold(&coefficients),
            mirrored: self.threshold(&mirrored),
            quality: quality(window),
        }
    }

    /// The 16×16 DCT coefficients `c[u * 16 + v]` (u vertical, v horizontal).
    fn dct(&self, window: &[f32; WINDOW_PIXELS]) -> [f32; 256] {
        // rows[y * 16 + v] = sum_x window[y][x] * basis[v][x]
        let mut rows = vec![0f32; WINDOW_SIDE * FREQUENCIES];
        for y in 0..WINDOW_SIDE {
            let line = &window[y * WINDOW_SIDE..(y + 1) * WINDOW_SIDE];
            for v in 0..FREQUENCIES {
                let base = &self.basis[v * WINDOW_SIDE..(v + 1) * WINDOW_SIDE];
                rows[y * FREQUENCIES + v] = line.iter().zip(base).map(|(a, b)| a * b).sum();
            }
        }
        let mut out = [0f32; 256];
        for u in 0..FREQUENCIES {
            let base = &self.basis[u * WINDOW_SIDE..(u + 1) * WINDOW_SIDE];
            for v in 0..FREQUENCIES {
                let mut sum = 0f32;
                for (y, weight) in base.iter().enumerate() {
                    sum += weight * rows[y * FREQUENCIES + v];
                }
                out[u * FREQUENCIES + v] = sum;
            }
        }
        out
    }

    fn threshold(&self, coefficients: &[f32; 256]) -> Hash256 {
        let mut sorted = *coefficients;
        let (_, median, _) = sorted.select_nth_unstable_by(128, |a, b| a.total_cmp(b));
        let median = *median;
        let mut words = [0u64; 4];
        for (bit, &index) in self.zigzag.iter().enumerate() {
            if coefficients[index] > median {
                words[bit / 64] |= 1u64 << (bit % 64);
            }
        }
        Hash256(words)
    }
}

/// Mean absolute gradient of the window mapped to 0..=1.
fn quality(window: &[f32; WINDOW_PIXELS]) -> f32 {
    let mut total = 0f32;
    for y in 0..WINDOW_SIDE {
        for x in 0..WINDOW_SIDE {
            let here = window[y * WINDOW_SIDE + x];
            if x + 1 < WINDOW_SIDE {
                total += (window[y * WINDOW_SIDE + x + 1] - here).abs();
            }
            if y + 1 < WINDOW_SIDE {
                total += (window[(y + 1) * WINDOW_SIDE + x] - here).abs();
            }
        }
    }
    let gradients = (2 * WINDOW_SIDE * (WINDOW_SIDE - 1)) as f32;
    (total / gradients / FULL_QUALITY_GRADIENT).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(seed: u32) -> [f32; WINDOW_PIXELS] {
        let mut window = [0f32; WINDOW_PIXELS];
        for y in 0..WINDOW_SIDE {
            for x in 0..WINDOW_SIDE {
                let (fx, fy, s) = (x as f32, y as f32, seed as f32);
                window[y * WINDOW_SIDE + x] = 128.0
                    + 60.0 * ((fx * 0.21 + s).sin() * (fy * 0.13 + 2.0 * s).cos())
                    + 40.0 * ((fx + fy) * 0.07 * (1.0 + s * 0.1)).sin()
                    + 20.0 * ((fx * fy * 0.003) + s).cos();
            }
        }
        window
    }

    fn mirror(window: &[f32; WINDOW_PIXELS]) -> [f32; WINDOW_PIXELS] {
        let mut out = [0f32; WINDOW_PIXELS];
        for y in 0..WINDOW_SIDE {
            for x in 0..WINDOW_SIDE {
                out[y * WINDOW_SIDE + x] = window[y * WINDOW_SIDE + WINDOW_SIDE - 1 - x];
            }
        }
        out
    }

    #[test]
    fn mirrored_window_hashes_to_the_originals_mirror_variant() {
        let hasher = DctHasher::new();
        for seed in 0..20 {
            let window = textured(seed);
            let original = hasher.hash(&window);
            let flipped = hasher.hash(&mirror(&window));
            assert!(
                original.mirrored.distance(&flipped.hash) <= 2,
                "seed {seed}"
            );
            assert!(
                flipped.mirrored.distance(&original.hash) <= 2,
                "seed {seed}"
            );
        }
    }

    fn noise(seed: u64) -> [f32; WINDOW_PIXELS] {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut window = [0f32; WINDOW_PIXELS];
        for pixel in window.iter_mut() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *pixel = (state >> 56) as f32;
        }
        window
    }

    #[test]
    fn hash_has_balanced_bits_and_separates_different_content() {
        let hasher = DctHasher::new();
        for seed in 0..10 {
            let a = hasher.hash(&noise(seed)).hash;
            let b = hasher.hash(&noise(seed + 100)).hash;
            let ones: u32 = a.0.iter().map(|w| w.count_ones()).sum();
            assert!((124..=132).contains(&ones), "ones = {ones}");
            assert!(a.distance(&b) > 90, "distance = {}", a.distance(&b));
        }
    }

    #[test]
    fn brightness_shift_keeps_the_hash_and_flat_windows_have_no_quality() {
        let hasher = DctHasher::new();
        let window = textured(3);
        let mut brighter = window;
        brighter.iter_mut().for_each(|p| *p = *p * 0.8 + 30.0);
        let (a, b) = (hasher.hash(&window), hasher.hash(&brighter));
        assert!(a.hash.distance(&b.hash) <= 4);
        assert!(a.quality > 0.5);
        assert!(hasher.hash(&[40.0; WINDOW_PIXELS]).quality < 0.01);
    }

    #[test]
    fn bits_extracts_ranges_across_word_boundaries() {
        let hash = Hash256([u64::MAX, 0, 0xF0F0, 1 << 63]);
        assert_eq!(hash.bits(60, 8), 0x0F);
        assert_eq!(hash.bits(128, 16), 0xF0F0);
        assert_eq!(hash.bits(255, 1), 1);
        assert_eq!(hash.bits(0, 64), u64::MAX);
        assert_eq!(Hash256::from_bytes(&hash.to_bytes()), hash);
    }
}
