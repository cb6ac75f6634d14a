//! `reelguard verify` on zips and manifests made by an attacker: every
//! hostile zip is built at test time from a genuine provenance package
//! (registered and exported once, timestamped by the local TSA), and each is
//! refused with a message naming the entry, without reading outside the
//! `--files` directory and within 100 MB of memory for a zip bomb.

use crate::common;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{path_str, process_dir, run, run_json, timestamp_config, TsaServer};
use reelguard::provenance::package::{read_zip, Files};

/// A genuine package, its files, and a directory with its originals.
struct Genuine {
    dir: PathBuf,
    package: PathBuf,
    files: Files,
    originals: PathBuf,
}

fn bikes() -> PathBuf {
    common::repo_root().join("fixtures/bikes.mp4")
}

const NOTES: &str = "notes.txt";
const NOTES_TEXT: &str = "A rider crosses the city at dawn.\n";

/// Registered and exported once per test process.
fn genuine() -> &'static Genuine {
    static GENUINE: OnceLock<Genuine> = OnceLock::new();
    GENUINE.get_or_init(|| {
        // The TSA only has to live until the export; leaked so it never stops early.
        let tsa: &'static TsaServer = Box::leak(Box::new(TsaServer::start("127.0.0.1:0")));
        let dir = process_dir("hostile-zip");
        let data = dir.join("data");
        let config = timestamp_config(&dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);
        let originals = dir.join("originals");
        std::fs::create_dir_all(&originals).unwrap();
        std::fs::write(originals.join(NOTES), NOTES_TEXT).unwrap();
        std::fs::copy(bikes(), originals.join("bikes.mp4")).unwrap();
        let concept = format!("concept={}", path_str(&originals.join(NOTES)));
        let work = run_json(
            &data,
            &[
                "--config",
                path_str(&config),
                "register",
                path_str(&bikes()),
                "--title",
                "Dawn ride",
                "--artifact",
                &concept,
            ],
        );
        let package = dir.join("work.zip");
        let (code, stdout, stderr) = run(&[
            "--data-dir",
            path_str(&data),
            "--config",
            path_str(&config),
            "works",
            "export",
            work["work_id"].as_str().unwrap(),
            "-o",
            path_str(&package),
        ]);
        assert_eq!(code, 0, "export failed: {stdout}{stderr}");
        let files = read_zip(&package).unwrap();
        Genuine {
            dir,
            package,
            files,
            originals,
        }
    })
}

fn verify(zip: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify", path_str(zip)];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    (code, format!("{stdout}{stderr}"))
}

/// A fresh path for a hostile zip named after the case.
fn hostile_path(case: &str) -> PathBuf {
    genuine().dir.join(format!("{case}.zip"))
}

/// Writes `entries` (name, bytes) as a deflated zip, in that order.
fn write_entries(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The genuine package's entries followed by `extra` ones.
fn genuine_plus(path: &Path, extra: &[(&str, &[u8])]) {
    let mut entries: Vec<(&str, &[u8])> = genuine()
        .files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    entries.extend_from_slice(extra);
    write_entries(path, &entries);
}

/// Replaces the `nth` (or, with None, every) occurrence of `from` in the
/// zip at `path` by `to` (same length): renames an entry in its local
/// header, its central directory record, or both. Returns how many.
fn patch_name(path: &Path, from: &str, to: &str, nth: Option<usize>) -> usize {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let mut found = 0;
    let mut at = 0;
    while let Some(offset) = bytes[at..]
        .windows(from.len())
        .position(|w| w == from.as_bytes())
    {
        let start = at + offset;
        if nth.is_none_or(|n| n == found) {
            bytes[start..start + to.len()].copy_from_slice(to.as_bytes());
        }
        found += 1;
        at = start + from.len();
    }
    std::fs::write(path, bytes).unwrap();
    found
}

/// The zip is refused as input (exit 2) before any check runs, and the
/// message names `needles`.
fn assert_refused(zip: &Path, needles: &[&str]) -> String {
    let started = Instant::now();
    let (code, report) = verify(zip, &[]);
    assert_eq!(code, 2, "not refused:\n{report}");
    assert!(
        !report.contains("PASS") && !report.contains("checks passed"),
        "checks ran on a hostile zip:\n{report}"
    );
    assert!(
        report.contains("ask the sender for the original"),
        "the message does not say what to do:\n{report}"
    );
    for needle in needles {
        assert!(report.contains(needle), "no {needle:?} in:\n{report}");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    report
}

#[test]
fn the_genuine_package_verifies_with_and_without_its_originals() {
    let genuine = genuine();
    let (code, report) = verify(&genuine.package, &[]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = verify(&genuine.package, &["--files", path_str(&genuine.originals)]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report.matches("PASS  original").count(), 2, "{report}");
}

#[test]
fn a_name_held_twice_is_refused_even_when_the_forgery_comes_first() {
    let target = "certificate.html";
    let placeholder = "Q".repeat(target.len());
    let zip = hostile_path("duplicate");
    let mut entries: Vec<(&str, &[u8])> = vec![(&placeholder, b"<h1>forged</h1>".as_slice())];
    entries.extend(
        genuine()
            .files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
    );
    write_entries(&zip, &entries);
    // Local header and central directory record of the forged entry.
    assert_eq!(patch_name(&zip, &placeholder, target, None), 2);
    assert_refused(&zip, &[r#""certificate.html" twice"#]);

    // The same file under "./NAME" is a duplicate too.
    let zip = hostile_path("duplicate-dot");
    let target = "./certificate.html";
    let placeholder = "Q".repeat(target.len());
    genuine_plus(&zip, &[(&placeholder, b"<h1>forged</h1>")]);
    assert_eq!(patch_name(&zip, &placeholder, target, None), 2);
    assert_refused(&zip, &["the same file twice", "./certificate.html"]);
}

#[test]
fn entries_with_unsafe_names_are_refused() {
    for (case, name, reason) in [
        ("dotdot", "../evil.txt", r#"".." component"#),
        ("dotdot-inner", "chain/../../evil.txt", r#"".." component"#),
        ("absolute", "/etc/evil.txt", "absolute path"),
        ("drive", "C:/evil.txt", "drive letter"),
        ("backslash", "C:\\evil.txt", "backslash"),
    ] {
        let zip = hostile_path(case);
        let placeholder = "Q".repeat(name.len());
        genuine_plus(&zip, &[(&placeholder, b"evil")]);
        assert_eq!(patch_name(&zip, &placeholder, name, None), 2, "{case}");
        let report = assert_refused(&zip, &[reason]);
        assert!(report.contains(&format!("{name:?}")), "{case}: {report}");
    }
}

#[test]
fn symbolic_links_and_other_special_entries_are_refused() {
    let zip = hostile_path("symlink");
    let file = std::fs::File::create(&zip).unwrap();
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in &genuine().files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer
        .add_symlink("chain/evil.txt", "/etc/hostname", options)
        .unwrap();
    writer.finish().unwrap();
    assert_refused(&zip, &[r#""chain/evil.txt" is a symbolic link"#]);

    // A FIFO and a block device: Unix file types in the external attributes.
    for (case, mode) in [("fifo", 0o010_644u32), ("device", 0o060_644)] {
        let zip = hostile_path(case);
        genuine_plus(&zip, &[("pipe", b"")]);
        let mut bytes = std::fs::read(&zip).unwrap();
        let (at, _) = central_records(&bytes)
            .into_iter()
            .find(|(_, name)| name == "pipe")
            .unwrap();
        bytes[at + 5] = 3; // made by Unix
        bytes[at + 38..at + 42].copy_from_slice(&(mode << 16).to_le_bytes());
        std::fs::write(&zip, bytes).unwrap();
        assert_refused(&zip, &[r#""pipe" is not a regular file"#]);
    }
}

/// (offset, name) of each central directory record of the zip `bytes`
/// (no zip64, no comment).
fn central_records(bytes: &[u8]) -> Vec<(usize, String)> {
    let eocd = bytes.len() - 22;
    assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let mut at = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut records = Vec::new();
    while at < eocd {
        let name_len = u16_at(at + 28);
        let name = String::from_utf8_lossy(&bytes[at + 46..at + 46 + name_len]).into_owned();
        records.push((at, name));
        at += 46 + name_len + u16_at(at + 30) + u16_at(at + 32);
    }
    records
}

#[test]
fn an_entry_the_manifest_does_not_list_fails_verification() {
    let zip = hostile_path("unlisted");
    genuine_plus(&zip, &[("extra/readme.txt", b"added later")]);
    let (code, report) = verify(&zip, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("FAIL  extra/readme.txt: not listed in manifest.json"),
        "{report}"
    );
}

#[test]
fn a_local_header_that_disagrees_with_the_directory_is_refused() {
    let zip = hostile_path("local-name");
    let placeholder = "Q".repeat("chain/evil.txt".len());
    genuine_plus(&zip, &[(&placeholder, b"evil")]);
    // Only the local header is renamed: tools reading local headers would
    // extract a file the directory does not name.
    assert_eq!(patch_name(&zip, &placeholder, "chain/evil.txt", Some(0)), 2);
    assert_refused(&zip, &[&format!("{placeholder:?}"), "filename mismatch"]);
}

#[test]
fn overlapping_entries_are_refused() {
    // Two central directory records pointing at the same local entry: copy
    // the last record of the directory and rename the copy.
    let zip = hostile_path("overlap");
    let target = "certificate.html";
    genuine_plus(&zip, &[]);
    let mut bytes = std::fs::read(&zip).unwrap();
    let eocd = bytes.len() - 22;
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let u32_at =
        |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let (at, _) = central_records(&bytes)
        .into_iter()
        .find(|(_, name)| name == target)
        .expect("the record of certificate.html");
    let len = 46 + u16_at(&bytes, at + 28) + u16_at(&bytes, at + 30) + u16_at(&bytes, at + 32);
    let mut copy = bytes[at..at + len].to_vec();
    copy[46..46 + target.len()].copy_from_slice(b"certificate.htm2");
    let count = u16_at(&bytes, eocd + 10) as u16 + 1;
    let size = u32_at(&bytes, eocd + 12) + copy.len();
    let mut end = bytes.split_off(eocd);
    bytes.extend_from_slice(&copy);
    end[8..10].copy_from_slice(&count.to_le_bytes());
    end[10..12].copy_from_slice(&count.to_le_bytes());
    end[12..16].copy_from_slice(&(size as u32).to_le_bytes());
    bytes.extend_from_slice(&end);
    std::fs::write(&zip, bytes).unwrap();
    let report = assert_refused(&zip, &["certificate.htm"]);
    assert!(
        report.contains("overlap") || report.contains("filename mismatch"),
        "{report}"
    );
}

/// CRC-32 (IEEE), for the small zips written by hand.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Writes bits least significant first, as deflate does.
struct Bits<W: Write> {
    out: W,
    acc: u64,
    pending: u32,
}

impl<W: Write> Bits<W> {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.pending;
        self.pending += count;
        while self.pending >= 8 {
            self.out.write_all(&[self.acc as u8]).unwrap();
            self.acc >>= 8;
            self.pending -= 8;
        }
    }
    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    /// `count` zero bits, written a MiB at a time.
    fn zeros(&mut self, mut count: u64) {
        while count > 0 && self.pending != 0 {
            self.put(0, 1);
            count -= 1;
        }
        let chunk = vec![0u8; 1 << 20];
        let mut bytes = count / 8;
        while bytes > 0 {
            let n = bytes.min(chunk.len() as u64) as usize;
            self.out.write_all(&chunk[..n]).unwrap();
            bytes -= n as u64;
        }
        self.put(0, (count % 8) as u32);
    }
    fn finish(mut self) -> W {
        if self.pending > 0 {
            self.put(0, 8 - self.pending);
        }
        self.out
    }
}

/// A raw deflate stream of `size` zero bytes, written streaming (one
/// dynamic-Huffman block in which a 258-byte copy costs 2 bits, about
/// 1030:1 like zlib).
fn deflate_zeros<W: Write>(out: W, size: u64) -> W {
    let mut bits = Bits {
        out,
        acc: 0,
        pending: 0,
    };
    bits.put(1, 1); // last block
    bits.put(2, 2); // dynamic Huffman
    bits.put(286 - 257, 5); // literal/length codes
    bits.put(2 - 1, 5); // distance codes
    bits.put(18 - 4, 4); // code length codes
                         // Code length code lengths in their order: 18 -> 1 bit, 2 and 1 -> 2 bits.
    for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        bits.put(
            match symbol {
                18 => 1,
                1 | 2 => 2,
                _ => 0,
            },
            3,
        );
    }
    // Canonical code-length codes: 18 = "0", 1 = "10", 2 = "11".
    let zeros = |bits: &mut Bits<W>, n: u64| {
        bits.code(0, 1);
        bits.put(n - 11, 7);
    };
    bits.code(3, 2); // literal 0: length 2
    zeros(&mut bits, 138);
    zeros(&mut bits, 117); // literals 1..=255 unused
    bits.code(3, 2); // 256 (end of block): length 2
    zeros(&mut bits, 28); // 257..=284 unused
    bits.code(2, 2); // 285 (length 258): length 1
    bits.code(2, 2); // distance 0: length 1
    bits.code(2, 2); // distance 1: length 1
                     // Literal/length codes: 285 = "0", literal 0 = "10", end = "11"; distance 0 = "0".
    if size > 0 {
        bits.code(2, 2);
        let rest = size - 1;
        bits.zeros(2 * (rest / 258)); // each copy of 258 bytes at distance 1
        for _ in 0..rest % 258 {
            bits.code(2, 2);
        }
    }
    bits.code(3, 2);
    bits.finish()
}

/// A zip with deflated members `names`, each holding `size` zeros; their
/// headers say `claimed` bytes (a lying header when it differs).
fn write_bomb(path: &Path, names: &[&str], size: u64, claimed: u32, crc: u32) {
    let header = |name: &str, compressed: u32, local_at: Option<u32>| {
        let signature: u32 = if local_at.is_some() {
            0x0201_4b50
        } else {
            0x0403_4b50
        };
        let mut h = signature.to_le_bytes().to_vec();
        if local_at.is_some() {
            h.extend_from_slice(&20u16.to_le_bytes()); // made by
        }
        h.extend_from_slice(&20u16.to_le_bytes()); // needed
        h.extend_from_slice(&0u16.to_le_bytes()); // flags
        h.extend_from_slice(&8u16.to_le_bytes()); // deflate
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&33u16.to_le_bytes()); // 1980-01-01
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&compressed.to_le_bytes());
        h.extend_from_slice(&claimed.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // extra
        if let Some(local_at) = local_at {
            h.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
            h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
            h.extend_from_slice(&local_at.to_le_bytes());
        }
        h.extend_from_slice(name.as_bytes());
        h
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut central = Vec::new();
    for name in names {
        let local_at = file.stream_position().unwrap();
        let local = header(name, 0, None);
        file.write_all(&local).unwrap();
        file = deflate_zeros(file, size);
        let data_end = file.stream_position().unwrap();
        let compressed = (data_end - local_at - local.len() as u64) as u32;
        // The compressed size, now known, into the local header.
        file.seek(SeekFrom::Start(local_at + 18)).unwrap();
        file.write_all(&compressed.to_le_bytes()).unwrap();
        file.seek(SeekFrom::Start(data_end)).unwrap();
        central.extend(header(name, compressed, Some(local_at as u32)));
    }
    let dir_start = file.stream_position().unwrap();
    file.write_all(&central).unwrap();
    let mut end = 0x0605_4b50u32.to_le_bytes().to_vec();
    end.extend_from_slice(&[0; 4]);
    end.extend_from_slice(&(names.len() as u16).to_le_bytes());
    end.extend_from_slice(&(names.len() as u16).to_le_bytes());
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&(dir_start as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    file.write_all(&end).unwrap();
    file.flush().unwrap();
}

#[test]
fn the_hand_made_deflate_stream_is_a_real_zip_of_zeros() {
    // The bomb below is only a bomb if its stream inflates: check a small one.
    let dir = common::scratch_dir();
    // One MiB: the most any member may expand to regardless of its ratio.
    let size = 1 << 20;
    let path = dir.path().join("zeros.zip");
    write_bomb(
        &path,
        &["zeros.bin"],
        size,
        size as u32,
        crc32(&vec![0; size as usize]),
    );
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < size / 500, "{compressed} bytes: not a bomb");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut entry = archive.by_index(0).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut out).unwrap();
    assert_eq!(out.len() as u64, size);
    assert!(out.iter().all(|b| *b == 0));
    drop(entry);
    // And the verifier reads it (then finds no manifest).
    let (code, report) = verify(&path, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL  manifest.json: missing"), "{report}");
}

#[test]
fn a_zip_bomb_is_refused_within_100_mb() {
    let gib: u64 = 1 << 30;
    let names = [
        "frames/bomb.png",
        "frames/bomb2.png",
        "frames/bomb3.png",
        "frames/bomb4.png",
    ];
    for (case, members, size, claimed, needles) in [
        // 2 GiB of zeros in about 2 MB, honest header: refused from the sizes alone.
        ("bomb", 1, 2 * gib, (2 * gib) as u32, &["a zip bomb"][..]),
        // Lying header: refused one byte after the size it claims.
        ("bomb-lying", 1, 2 * gib, 1 << 20, &[][..]),
        // Four members of 800 MB, each under the 1 GiB member limit (3.2 GB in all).
        ("bomb-split", 4, 800 << 20, 800 << 20, &["a zip bomb"][..]),
    ] {
        let zip = hostile_path(case);
        write_bomb(&zip, &names[..members], size, claimed, 0);
        assert!(std::fs::metadata(&zip).unwrap().len() < 4 << 20);
        let started = Instant::now();
        let mut expected = vec![r#""frames/bomb.png""#];
        expected.extend_from_slice(needles);
        let report = assert_refused(&zip, &expected);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{case}: refused only after {:?}",
            started.elapsed()
        );
        match common::run_measured(&["verify", path_str(&zip)], &[], None) {
            Some((code, stdout, stderr, peak_kib)) => {
                let report = format!("{stdout}{stderr}");
                assert_eq!(code, 2, "{case}: {report}");
                assert!(
                    peak_kib < 100 * 1024,
                    "{case}: peak RSS {peak_kib} KiB\n{report}"
                );
                eprintln!("{case}: refused with a peak RSS of {peak_kib} KiB");
            }
            None => eprintln!(
                "{case}: /usr/bin/time is missing; peak RSS not measured (refused in {:?}):\n{report}",
                started.elapsed()
            ),
        }
    }
}

/// The genuine package with the first artifact's file name in
/// manifest.json changed to `name` (SHA256SUMS redone): what an attacker
/// sends to make `--files` read something else.
fn package_naming(case: &str, name: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut files = genuine().files.clone();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    manifest["artifacts"][0]["file_name"] = name.into();
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    files.remove("SHA256SUMS");
    let sums: String = files
        .iter()
        .map(|(path, bytes)| format!("{}  {path}\n", hex::encode(Sha256::digest(bytes))))
        .collect();
    files.insert("SHA256SUMS".into(), sums.into_bytes());
    let zip = hostile_path(case);
    reelguard::provenance::package::write_zip(&zip, &files).unwrap();
    zip
}

#[test]
fn files_named_outside_the_directory_are_never_read() {
    let genuine = genuine();
    let outside = genuine.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join(NOTES), NOTES_TEXT).unwrap();
    let dir = path_str(&genuine.originals);
    for (case, name, reason) in [
        ("dev-zero", "/dev/zero", "an absolute path"),
        ("dotdot-files", "../outside/notes.txt", r#"contains "..""#),
        (
            "etc",
            "../../../../../../../../etc/hostname",
            r#"contains "..""#,
        ),
    ] {
        let zip = package_naming(case, name);
        let started = Instant::now();
        let (code, report) = verify(&zip, &["--files", dir]);
        assert!(started.elapsed() < Duration::from_secs(30), "{case}");
        assert_eq!(code, 1, "{case}: {report}");
        let line = report
            .lines()
            .find(|l| l.starts_with(&format!("FAIL  original {name:?}")))
            .unwrap_or_else(|| panic!("{case}: no FAIL line for {name}:\n{report}"));
        assert!(line.contains("refused") && line.contains(reason), "{line}");
        assert!(line.contains("ask the sender for the original"), "{line}");
    }

    // A device reached through a symbolic link inside the directory.
    let devdir = genuine.dir.join("originals-dev");
    std::fs::create_dir_all(&devdir).unwrap();
    std::os::unix::fs::symlink("/dev/zero", devdir.join("zero")).unwrap();
    let zip = package_naming("dev-link", "zero");
    let (code, report) = verify(&zip, &["--files", path_str(&devdir)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(r#"FAIL  original "zero": refused"#)
            && report.contains("leads to /dev/zero"),
        "{report}"
    );

    // A FIFO in the directory under the registered name: opening it would
    // block for ever.
    let fifodir = genuine.dir.join("originals-fifo");
    std::fs::create_dir_all(&fifodir).unwrap();
    let status = Command::new("mkfifo")
        .arg(fifodir.join(NOTES))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(bikes(), fifodir.join("bikes.mp4")).unwrap();
    let started = Instant::now();
    let (code, report) = verify(&genuine.package, &["--files", path_str(&fifodir)]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(r#"FAIL  original "notes.txt": refused"#)
            && report.contains("is not a regular file"),
        "{report}"
    );
}

#[test]
fn a_symbolic_link_out_of_the_files_directory_is_refused() {
    let genuine = genuine();
    // Same bytes as the registered file, but outside DIR: still refused.
    let outside = genuine.dir.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join(NOTES), NOTES_TEXT).unwrap();
    let linked = genuine.dir.join("originals-linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(outside.join(NOTES), linked.join(NOTES)).unwrap();
    std::fs::copy(bikes(), linked.join("bikes.mp4")).unwrap();
    let (code, report) = verify(&genuine.package, &["--files", path_str(&linked)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(r#"FAIL  original "notes.txt": refused"#)
            && report.contains("symbolic link out of the directory"),
        "{report}"
    );
    assert!(
        report.contains("PASS  original"),
        "bikes.mp4 still checks: {report}"
    );

    // A longer file is read only to one byte past the registered size.
    let longer = genuine.dir.join("originals-longer");
    std::fs::create_dir_all(&longer).unwrap();
    std::fs::write(longer.join(NOTES), NOTES_TEXT.repeat(1000)).unwrap();
    std::fs::copy(bikes(), longer.join("bikes.mp4")).unwrap();
    let (code, report) = verify(&genuine.package, &["--files", path_str(&longer)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains(&format!("more than {} bytes", NOTES_TEXT.len())),
        "{report}"
    );
}

/// A bundle whose CA file holds a certificate announcing more bytes than
/// its PEM block holds is refused at once: it once kept `verify` (and the
/// public verification page) busy forever.
#[test]
fn a_ca_certificate_longer_than_its_block_is_refused_at_once() {
    let zip = hostile_path("truncated-ca");
    write_entries(
        &zip,
        &[
            (
                "manifest.json",
                br#"{"kind":"reelguard-evidence-bundle","files":[]}"#,
            ),
            (
                "timestamp/tsa-ca.pem",
                b"-----BEGIN CERTIFICATE-----\nMII0\n-----END CERTIFICATE-----\n",
            ),
        ],
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reelguard"))
        .args(["verify", path_str(&zip)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("verify still runs after 60 s on a truncated CA certificate");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!status.success(), "a bundle without files verified");
}
