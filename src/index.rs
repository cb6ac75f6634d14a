//! In-memory index of the registered works' frame hashes with exact
//! Hamming-radius search by multi-index hashing.
//!
//! Pure code: no I/O. The 256 hash bits are split into `m` contiguous chunks.
//! If two hashes differ in at most `r` bits, then by the pigeonhole principle
//! at least one chunk differs in at most `r / m` bits; so a search enumerates,
//! per chunk, every chunk value within `r / m` bits of the query's chunk,
//! looks each up in that chunk's table and checks the full distance of what
//! it finds. The result is exactly what a linear scan returns.
//!
//! Memory per indexed frame: the 32-byte hash, a 4-byte id per chunk table,
//! one bit of "flat frame" flag and a small directory per table. Frame times
//! are implicit: the frames of a work are stored in sample order.

use crate::fingerprint::{FrameHash, Hash256, Track};

/// Fewest and most chunks a table set may have.
const MIN_CHUNKS: usize = 6;
const MAX_CHUNKS: usize = 16;
/// Extra chunk bits beyond log2(frames): a lookup then meets a stranger
/// with probability about 2^-10.
const CHUNK_BITS_MARGIN: usize = 10;
/// Most directory bits per table (a 2^23-entry directory is 32 MiB).
const MAX_DIRECTORY_BITS: u32 = 23;
/// Directory bits below log2(frames): buckets hold about 2^this ids.
const BUCKET_BITS: u32 = 2;
/// What looking up one chunk value costs, in comparisons of a query with a
/// frame: enumerating, sorting and deduplicating the value, then reading
/// its bucket at a random place, against a few instructions over frames
/// read in order. [`Index::gather`] compares directly below that ratio.
const LOOKUP_COST: u64 = 4;

/// Where one track of a registered work's frames lives in the index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkSpan {
    /// Id of the span's first frame.
    pub first: u32,
    /// Number of frames (samples) of the span.
    pub len: u32,
    pub duration_s: f64,
    pub sample_rate: f64,
    /// The caller's number for the work the span belongs to.
    pub owner: usize,
    /// Which hashes of the work the span holds.
    pub track: Track,
}

/// A frame found by a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub frame: u32,
    pub distance: u32,
}

/// What a track added to the index belongs to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackSpec {
    pub owner: usize,
    pub track: Track,
    pub sample_rate: f64,
    pub duration_s: f64,
}

/// Collects works' fingerprints, then builds the [`Index`].
#[derive(Default)]
pub struct IndexBuilder {
    hashes: Vec<Hash256>,
    searchable: Vec<bool>,
    works: Vec<WorkSpan>,
}

impl IndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves room for `frames` more frames.
    pub fn reserve(&mut self, frames: usize) {
        self.hashes.reserve(frames);
        self.searchable.reserve(frames);
    }

    /// Adds a work's main track as its own owner (the span's position).
    /// Returns that position.
    pub fn add_work(
        &mut self,
        frames: &[FrameHash],
        sample_rate: f64,
        duration_s: f64,
        min_quality: f32,
    ) -> usize {
        let owner = self.works.len();
        let track = TrackSpec {
            owner,
            track: Track::Main,
            sample_rate,
            duration_s,
        };
        self.add_track(&track, frames, min_quality)
    }

    /// Adds one track of a work; frames below `min_quality` are kept for
    /// alignment but never returned by a search. Returns the span's
    /// position in the index.
    pub fn add_track(&mut self, spec: &TrackSpec, frames: &[FrameHash], min_quality: f32) -> usize {
        let first = self.hashes.len() as u32;
        for frame in frames {
            self.hashes.push(frame.hash);
            self.searchable.push(frame.quality >= min_quality);
        }
        self.works.push(WorkSpan {
            first,
            len: frames.len() as u32,
            duration_s: spec.duration_s,
            sample_rate: spec.sample_rate,
            owner: spec.owner,
            track: spec.track,
        });
        self.works.len() - 1
    }

    /// Adds a work whose every frame is searchable (synthetic data, tests).
    pub fn add_hashes(&mut self, hashes: &[Hash256], sample_rate: f64) -> usize {
        let first = self.hashes.len() as u32;
        self.hashes.extend_from_slice(hashes);
        self.searchable
            .extend(std::iter::repeat_n(true, hashes.len()));
        let duration_s = hashes.len() as f64 / sample_rate;
        self.works.push(WorkSpan {
            first,
            len: hashes.len() as u32,
            duration_s,
            sample_rate,
            owner: self.works.len(),
            track: Track::Main,
        });
        self.works.len() - 1
    }

    pub fn build(self) -> Index {
        let IndexBuilder {
            hashes,
            searchable,
            works,
        } = self;
        assert!(
            hashes.len() < u32::MAX as usize,
            "index holds at most 2^32 - 1 frames"
        );
        let searchable_ids: Vec<u32> = (0..hashes.len() as u32)
            .filter(|&id| searchable[id as usize])
            .collect();
        let chunks = chunk_count(searchable_ids.len());
        let tables = chunk_bounds(chunks)
            .into_iter()
            .map(|(start, len)| ChunkTable::build(&hashes, &searchable_ids, start, len))
            .collect();
        let mut flags = vec![0u64; hashes.len().div_ceil(64)];
        for (id, &ok) in searchable.iter().enumerate() {
            if ok {
                flags[id / 64] |= 1 << (id % 64);
            }
        }
        Index {
            hashes,
            searchable: flags,
            works,
            tables,
        }
    }
}

/// Chunk count for `n` searchable frames: chunks of about log2(n) + 10 bits.
fn chunk_count(n: usize) -> usize {
    let log2 = (n.max(2) as f64).log2().ceil() as usize;
    (256 / (log2 + CHUNK_BITS_MARGIN)).clamp(MIN_CHUNKS, MAX_CHUNKS)
}

/// (first bit, bit count) of each of `chunks` near-equal contiguous chunks.
fn chunk_bounds(chunks: usize) -> Vec<(usize, usize)> {
    let mut bounds = Vec::with_capacity(chunks);
    let mut start = 0;
    for i in 0..chunks {
        let len = 256 / chunks + usize::from(i < 256 % chunks);
        bounds.push((start, len));
        start += len;
    }
    bounds
}

/// Frame ids sorted by one chunk's value, with a directory on its top bits.
///
/// Each entry packs the frame id (low `id_bits`) with the chunk bits just
/// below the directory bits (the *fragment*, high bits), so a bucket scan
/// reads a frame's hash only when its fragment already agrees.
struct ChunkTable {
    start: usize,
    len: usize,
    directory_bits: u32,
    fragment_bits: u32,
    id_bits: u32,
    /// `directory[b]..directory[b + 1]` is the range of `entries` whose
    /// chunk value has top bits `b`.
    directory: Vec<u32>,
    entries: Vec<u32>,
}

impl ChunkTable {
    fn build(hashes: &[Hash256], ids: &[u32], start: usize, len: usize) -> ChunkTable {
        let wanted = (ids.len().max(1) as f64).log2().ceil() as u32;
        let directory_bits = wanted
            .saturating_sub(BUCKET_BITS)
            .clamp(1, MAX_DIRECTORY_BITS)
            .min(len as u32);
        let id_bits = (hashes.len().max(2) as f64).log2().ceil() as u32;
        let fragment_bits = (32 - id_bits).min(len as u32 - directory_bits).min(16);
        let shift = len as u32 - directory_bits;
        let buckets = 1usize << directory_bits;
        let mut directory = vec![0u32; buckets + 1];
        for &id in ids {
            directory[(hashes[id as usize].bits(start, len) >> shift) as usize + 1] += 1;
        }
        for b in 0..buckets {
            directory[b + 1] += directory[b];
        }
        // Scatter (value, id) pairs by bucket, then sort each small bucket.
        let mut cursor = directory.clone();
        let mut pairs = vec![(0u64, 0u32); ids.len()];
        for &id in ids {
            let value = hashes[id as usize].bits(start, len);
            let slot = &mut cursor[(value >> shift) as usize];
            pairs[*slot as usize] = (value, id);
            *slot += 1;
        }
        for b in 0..buckets {
            pairs[directory[b] as usize..directory[b + 1] as usize].sort_unstable();
        }
        let mut table = ChunkTable {
            start,
            len,
            directory_bits,
            fragment_bits,
            id_bits,
            directory,
            entries: Vec::new(),
        };
        table.entries = pairs
            .into_iter()
            .map(|(value, id)| id | table.fragment(value) << id_bits)
            .collect();
        table
    }

    fn fragment(&self, value: u64) -> u32 {
        let shift = self.len as u32 - self.directory_bits - self.fragment_bits;
        ((value >> shift) & ((1u64 << self.fragment_bits) - 1)) as u32
    }

    /// Appends to `ids` every id whose chunk equals one of `values`.
    ///
    /// Three passes, each a loop of independent memory loads that the CPU
    /// overlaps: the directory ranges of all values, then the entries whose
    /// fragment agrees, then the hashes that settle it. (Looking values up
    /// one by one would wait for each load in turn.)
    fn lookup_all(&self, hashes: &[Hash256], values: &[u64], ids: &mut Vec<u32>) {
        let shift = self.len as u32 - self.directory_bits;
        let ranges: Vec<(u32, u32)> = values
            .iter()
            .map(|&value| {
                let bucket = (value >> shift) as usize;
                (self.directory[bucket], self.directory[bucket + 1])
            })
            .collect();
        let id_mask = if self.id_bits >= 32 {
            u32::MAX
        } else {
            (1u32 << self.id_bits) - 1
        };
        let mut maybe: Vec<(u32, u64)> = Vec::new();
        for (&value, &(start, end)) in values.iter().zip(&ranges) {
            let fragment = self.fragment(value);
            for &entry in &self.entries[start as usize..end as usize] {
                if entry.checked_shr(self.id_bits).unwrap_or(0) == fragment {
                    maybe.push((entry & id_mask, value));
                }
            }
        }
        ids.extend(
            maybe
                .into_iter()
                .filter(|&(id, value)| hashes[id as usize].bits(self.start, self.len) == value)
                .map(|(id, _)| id),
        );
    }
}

/// One search of [`Index::gather`]: the frames that have a chunk of
/// `tables` within `chunk_radius` bits of a query's, and whose smallest
/// distance to the `queries` is at most `max_distance`.
#[derive(Clone, Copy)]
struct Gather<'a> {
    tables: &'a [ChunkTable],
    queries: &'a [Hash256],
    chunk_radius: u32,
    max_distance: u32,
}

/// The searchable frame hashes of all registered works.
pub struct Index {
    hashes: Vec<Hash256>,
    /// Bit per frame: set when the frame is detailed enough to be searched.
    searchable: Vec<u64>,
    works: Vec<WorkSpan>,
    tables: Vec<ChunkTable>,
}

impl Index {
    /// Number of frames held (searchable or not).
    pub fn frames(&self) -> usize {
        self.hashes.len()
    }

    pub fn works(&self) -> &[WorkSpan] {
        &self.works
    }

    /// Number of frames a search can return.
    pub fn searchable_frames(&self) -> usize {
        self.tables.first().map_or(0, |t| t.entries.len())
    }

    /// Bits in the first (lowest-frequency) chunk.
    pub fn first_chunk_bits(&self) -> usize {
        self.tables.first().map_or(0, |t| t.len)
    }

    /// Number of chunk tables (m).
    pub fn chunks(&self) -> usize {
        self.tables.len()
    }

    /// Largest radius searched with `chunk_radius` bit flips per chunk.
    pub fn exact_radius(&self, chunk_radius: u32) -> u32 {
        (chunk_radius + 1) * self.tables.len() as u32 - 1
    }

    /// Bytes of memory the index holds.
    pub fn memory_bytes(&self) -> usize {
        let tables: usize = self
            .tables
            .iter()
            .map(|t| (t.entries.capacity() + t.directory.capacity()) * 4)
            .sum();
        self.hashes.capacity() * Hash256::BYTES
            + self.searchable.capacity() * 8
            + self.works.capacity() * std::mem::size_of::<WorkSpan>()
            + tables
    }

    /// The work holding `frame` and the frame's sample number within it.
    pub fn locate(&self, frame: u32) -> (usize, u32) {
        let work = self.works.partition_point(|w| w.first <= frame) - 1;
        (work, frame - self.works[work].first)
    }

    /// Hash of a work's sample, if it exists and is searchable.
    pub fn sample(&self, work: usize, sample: u32) -> Option<&Hash256> {
        let span = self.works.get(work)?;
        if sample >= span.len {
            return None;
        }
        let id = (span.first + sample) as usize;
        let searchable = self.searchable[id / 64] & (1 << (id % 64)) != 0;
        searchable.then(|| &self.hashes[id])
    }

    /// Appends to `out` every searchable frame within `radius` bits of
    /// `query`, each once, in frame order.
    pub fn search(&self, query: &Hash256, radius: u32, out: &mut Vec<Hit>) {
        self.search_many(std::slice::from_ref(query), radius, out);
    }

    /// Appends to `out` every searchable frame within `radius` bits of any
    /// of `queries`, each once (with its smallest distance), in frame order.
    ///
    /// The chunk values to look up are gathered for all queries first,
    /// sorted and deduplicated, so that each table is walked once in address
    /// order and the memory loads of neighbouring lookups overlap.
    pub fn search_many(&self, queries: &[Hash256], radius: u32, out: &mut Vec<Hit>) {
        let chunk_radius = radius / self.tables.len() as u32;
        let search = Gather {
            tables: &self.tables,
            queries,
            chunk_radius,
            max_distance: radius,
        };
        self.gather(&search, out);
    }

    /// Appends to `out` frames whose first chunk (the lowest frequencies,
    /// the bits that survive heavy edits best) is within `chunk_radius`
    /// bits of a query's and whose whole hash is within `max_distance`.
    /// Not exhaustive: it finds far neighbours that [`Index::search_many`]
    /// cannot reach at an affordable radius.
    pub fn search_coarse(
        &self,
        queries: &[Hash256],
        chunk_radius: u32,
        max_distance: u32,
        out: &mut Vec<Hit>,
    ) {
        let search = Gather {
            tables: &self.tables[..1],
            queries,
            chunk_radius,
            max_distance,
        };
        self.gather(&search, out);
    }

    /// Appends to `out` the frames that have a chunk of `tables` within
    /// `chunk_radius` bits of a query's and whose smallest distance to the
    /// queries is at most `max_distance`, in frame order.
    ///
    /// Two ways give that same answer; the cheaper one is taken. Looking
    /// chunk values up costs [`LOOKUP_COST`] per enumerated value, whatever
    /// the index holds; comparing each searchable frame with each query
    /// costs one per pair. A small index (a creator's few works, where a
    /// probe enumerates thousands of values to meet a few hundred frames)
    /// is compared directly.
    fn gather(&self, search: &Gather, out: &mut Vec<Hit>) {
        let Gather {
            tables,
            queries,
            chunk_radius,
            ..
        } = *search;
        let lookups: u64 = tables
            .iter()
            .map(|t| values_within(t.len, chunk_radius))
            .sum::<u64>()
            .saturating_mul(queries.len() as u64);
        let comparisons = (self.searchable_frames() as u64).saturating_mul(queries.len() as u64);
        if comparisons <= lookups.saturating_mul(LOOKUP_COST) {
            self.compare_all(search, out);
        } else {
            self.look_up(search, out);
        }
    }

    /// [`Index::gather`] by comparing every searchable frame with each query,
    /// with the CPU's population-count instruction where it has one (the
    /// portable count takes several times as long).
    fn compare_all(&self, search: &Gather, out: &mut Vec<Hit>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction (checked just above).
            unsafe { self.compare_all_popcnt(search, out) };
            return;
        }
        self.compare_all_with(search, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn compare_all_popcnt(&self, search: &Gather, out: &mut Vec<Hit>) {
        self.compare_all_with(search, out);
    }

    /// The body of [`Index::compare_all`], inlined into each variant so that
    /// it is compiled with that variant's instructions.
    #[inline(always)]
    fn compare_all_with(&self, search: &Gather, out: &mut Vec<Hit>) {
        let Gather {
            tables,
            queries,
            chunk_radius,
            max_distance,
        } = *search;
        for (word_index, &word) in self.searchable.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let id = word_index * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let hash = &self.hashes[id];
                let distance = closest_distance(queries, hash);
                if distance > max_distance {
                    continue;
                }
                let chunk_near = queries.iter().any(|q| {
                    tables.iter().any(|t| {
                        (q.bits(t.start, t.len) ^ hash.bits(t.start, t.len)).count_ones()
                            <= chunk_radius
                    })
                });
                if chunk_near {
                    out.push(Hit {
                        frame: id as u32,
                        distance,
                    });
                }
            }
        }
    }

    /// [`Index::gather`] by looking up every value within `chunk_radius` of
    /// the queries' chunks in `tables`.
    fn look_up(&self, search: &Gather, out: &mut Vec<Hit>) {
        let Gather {
            tables,
            queries,
            chunk_radius,
            max_distance,
        } = *search;
        let begin = out.len();
        let mut values: Vec<u64> = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for table in tables {
            values.clear();
            for query in queries {
                let value = query.bits(table.start, table.len);
                for_each_within(value, table.len, chunk_radius, &mut |probe| {
                    values.push(probe)
                });
            }
            values.sort_unstable();
            values.dedup();
            table.lookup_all(&self.hashes, &values, &mut candidates);
        }
        candidates.sort_unstable();
        candidates.dedup();
        for &id in &candidates {
            let hash = &self.hashes[id as usize];
            let distance = closest_distance(queries, hash);
            if distance <= max_distance {
                out.push(Hit {
                    frame: id,
                    distance,
                });
            }
        }
        debug_assert!(out[begin..].windows(2).all(|w| w[0].frame < w[1].frame));
    }

    /// The same answer as [`Index::search`] by a linear scan (for tests and
    /// benchmarks).
    pub fn search_linear(&self, query: &Hash256, radius: u32) -> Vec<Hit> {
        (0..self.hashes.len())
            .filter(|&id| self.searchable[id / 64] & (1 << (id % 64)) != 0)
            .filter_map(|id| {
                let distance = query.distance(&self.hashes[id]);
                (distance <= radius).then_some(Hit {
                    frame: id as u32,
                    distance,
                })
            })
            .collect()
    }
}

/// The smallest distance from `hash` to any of `queries` (`u32::MAX` for
/// none).
fn closest_distance(queries: &[Hash256], hash: &Hash256) -> u32 {
    queries
        .iter()
        .map(|q| q.distance(hash))
        .min()
        .unwrap_or(u32::MAX)
}

/// How many `bits`-bit values lie within `radius` flips of one value: the
/// lookups a search of a `bits`-bit chunk at that radius makes per query.
pub fn values_within(bits: usize, radius: u32) -> u64 {
    let mut total = 0u64;
    let mut combinations = 1u64; // C(bits, k)
    for k in 0..=radius.min(bits as u32) {
        if k > 0 {
            combinations =
                combinations.saturating_mul(bits as u64 + 1 - u64::from(k)) / u64::from(k);
        }
        total = total.saturating_add(combinations);
    }
    total
}

/// Calls `visit` with every `bits`-bit value within `radius` flips of `value`.
fn for_each_within(value: u64, bits: usize, radius: u32, visit: &mut impl FnMut(u64)) {
    fn flip_from(value: u64, from: usize, bits: usize, left: u32, visit: &mut impl FnMut(u64)) {
        visit(value);
        if left == 0 {
            return;
        }
        for bit in from..bits {
            flip_from(value ^ (1 << bit), bit + 1, bits, left - 1, visit);
        }
    }
    flip_from(value, 0, bits, radius, visit);
}

/// Helpers shared by the tests of the pure modules.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::fingerprint::{Hash256, Probe, QueryFingerprint, Rect, View};

    /// A candidate at 2 samples per second whose frames are `hashes`, each
    /// one whole-frame probe.
    pub fn query_of(hashes: &[Hash256]) -> QueryFingerprint {
        QueryFingerprint {
            sample_rate: 2.0,
            slots: hashes
                .iter()
                .map(|&hash| {
                    vec![Probe {
                        hash,
                        quality: 1.0,
                        view: View::Crop(0),
                        mirrored: false,
                        window: Rect {
                            x: 0.0,
                            y: 0.0,
                            width: 1.0,
                            height: 1.0,
                        },
                    }]
                })
                .collect(),
            keyframes: Vec::new(),
        }
    }

    /// Deterministic pseudo-random hashes (splitmix64).
    pub fn random_hashes(seed: u64, count: usize) -> Vec<Hash256> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| Hash256([next(), next(), next(), next()]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::random_hashes;
    use super::*;
    use proptest::prelude::*;

    fn near(hash: &Hash256, flips: &[usize]) -> Hash256 {
        flips.iter().fold(*hash, |h, &bit| h.flipped(bit))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn search_returns_exactly_what_brute_force_returns(
            seed in any::<u64>(),
            count in 1usize..3000,
            radius in 0u32..40,
            flips in proptest::collection::vec(0usize..256, 0..40),
            pick in any::<prop::sample::Index>(),
        ) {
            let hashes = random_hashes(seed, count);
            let mut builder = IndexBuilder::new();
            builder.add_hashes(&hashes, 2.0);
            let index = builder.build();
            // Queries near an indexed hash (so hits exist) and far from all.
            let queries = [near(&hashes[pick.index(count)], &flips), random_hashes(!seed, 1)[0]];
            for query in queries {
                let mut found = Vec::new();
                index.search(&query, radius, &mut found);
                prop_assert_eq!(found, index.search_linear(&query, radius));
            }
            // Several queries at once: the union, each frame at its smallest distance.
            let mut found = Vec::new();
            index.search_many(&queries, radius, &mut found);
            let mut expected: Vec<Hit> =
                queries.iter().flat_map(|q| index.search_linear(q, radius)).collect();
            expected.sort_unstable();
            expected.dedup_by_key(|h| h.frame);
            prop_assert_eq!(found, expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The two ways of gathering give the same frames at the same
        /// distances, for the exact search (all chunks) and the coarse one
        /// (the first chunk only, a distance cap beyond the exact radius).
        #[test]
        fn comparing_every_frame_finds_what_the_lookups_find(
            seed in any::<u64>(),
            count in 1usize..800,
            chunk_radius in 0u32..3,
            max_distance in 0u32..120,
            coarse in any::<bool>(),
            flips in proptest::collection::vec(0usize..256, 0..60),
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..4),
        ) {
            let hashes = random_hashes(seed, count);
            let mut builder = IndexBuilder::new();
            builder.add_hashes(&hashes, 2.0);
            let index = builder.build();
            let queries: Vec<Hash256> = picks
                .iter()
                .enumerate()
                .map(|(i, pick)| near(&hashes[pick.index(count)], &flips[..flips.len() * i / 3]))
                .collect();
            let tables = if coarse { &index.tables[..1] } else { &index.tables[..] };
            let search = Gather { tables, queries: &queries, chunk_radius, max_distance };
            let (mut compared, mut looked_up) = (Vec::new(), Vec::new());
            index.compare_all(&search, &mut compared);
            index.look_up(&search, &mut looked_up);
            prop_assert_eq!(&compared, &looked_up);
            // The portable count gives what the CPU's instruction gives.
            let mut portable = Vec::new();
            index.compare_all_with(&search, &mut portable);
            prop_assert_eq!(compared, portable);
        }
    }

    #[test]
    fn values_within_counts_what_the_enumeration_visits() {
        for (bits, radius) in [(16, 0), (16, 2), (16, 4), (43, 1), (5, 9)] {
            let mut visited = 0u64;
            for_each_within(0, bits, radius, &mut |_| visited += 1);
            assert_eq!(
                values_within(bits, radius),
                visited,
                "{bits} bits, radius {radius}"
            );
        }
    }

    #[test]
    fn flat_frames_are_never_found_and_works_are_located() {
        let hashes = random_hashes(7, 20);
        let frames: Vec<FrameHash> = hashes
            .iter()
            .enumerate()
            .map(|(i, &hash)| FrameHash {
                hash,
                quality: if i == 3 { 0.0 } else { 0.9 },
            })
            .collect();
        let mut builder = IndexBuilder::new();
        builder.add_work(&frames[..10], 2.0, 5.0, 0.1);
        builder.add_work(&frames[10..], 2.0, 5.0, 0.1);
        let index = builder.build();
        let mut found = Vec::new();
        index.search(&hashes[3], 0, &mut found);
        assert!(found.is_empty());
        index.search(&hashes[13], 0, &mut found);
        assert_eq!(
            found,
            vec![Hit {
                frame: 13,
                distance: 0
            }]
        );
        assert_eq!(index.locate(13), (1, 3));
        assert!(index.sample(0, 3).is_none());
        assert_eq!(index.sample(1, 3), Some(&hashes[13]));
    }

    #[test]
    fn chunk_count_shrinks_as_the_index_grows() {
        assert_eq!(chunk_count(100), 15);
        assert_eq!(chunk_count(72_000_000), 6);
        let bounds = chunk_bounds(6);
        assert_eq!(bounds.iter().map(|b| b.1).sum::<usize>(), 256);
        assert_eq!(bounds.last().map(|b| b.0 + b.1), Some(256));
    }
}
