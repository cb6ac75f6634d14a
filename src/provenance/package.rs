//! The provenance package (`works export WORK -o work.zip`) and its offline
//! check (`reelguard verify work.zip`).
//!
//! Layout:
//! - `manifest.json`: the work, each chain entry with its stage, file name,
//!   size, SHA-256, entry hash and token time, the chain head, and every other
//!   file of the package with its SHA-256 and size;
//! - `chain/NN-STAGE.txt`: each entry's canonical text (its SHA-256 is the
//!   entry hash; `prev:` names the entry before);
//! - `tokens/NN-STAGE.tsr`: RFC 3161 token over the artifact's SHA-256;
//! - `chain-head.tsr`: RFC 3161 token over the last entry's hash;
//! - `tsa/tsa-ca.pem`, `tsa/tsa-certs.pem`: the CA certificates the tokens
//!   chain to, and the TSA certificates;
//! - `artifacts.sha256`: the original files' hashes, for `sha256sum -c`;
//! - `certificate.pdf`, `certificate.html`, `VERIFY.md`;
//! - `SHA256SUMS`: every file above, for `sha256sum -c`;
//! - `timestamp/manifest.tsr`: a token over `manifest.json`, when a TSA
//!   answered at export time.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::chain::{self, ChainEntry};
use crate::clock::to_seconds;
use crate::engine::sha256_hex;
use crate::store::{Artifact, ChainHead, Work};
use crate::timestamp::token::{certificate_pem, parse_pem_certificates, verify_token};
use crate::timestamp::Stamp;

/// What `manifest.json` says this zip is.
pub const PACKAGE_KIND: &str = "reelguard-provenance-package";
const MANIFEST: &str = "manifest.json";
const SUMS: &str = "SHA256SUMS";
const MANIFEST_TOKEN: &str = "timestamp/manifest.tsr";
/// The chain head's token, the CA certificates and the TSA certificates, as
/// named inside the package.
pub const HEAD_TOKEN: &str = "chain-head.tsr";
pub const CA_FILE: &str = "tsa/tsa-ca.pem";
pub const TSA_CERTS_FILE: &str = "tsa/tsa-certs.pem";
/// Largest member an untrusted zip may hold, and all members together, when reading.
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// Beyond [`RATIO_ALLOWANCE`] bytes, a member may expand to at most this
/// many times its compressed size (deflate reaches about 1030:1 on zeros;
/// real files stay far below 200:1).
pub const MAX_RATIO: u64 = 200;
const RATIO_ALLOWANCE: u64 = 1 << 20;
/// Most entries, and the largest central directory, an untrusted zip may have.
const MAX_ENTRIES: usize = 100_000;
const MAX_DIRECTORY_BYTES: u64 = 64 << 20;

/// Files of a package by path, in a stable order.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Everything an export needs, already loaded and checked.
pub struct ExportInput<'a> {
    /// The package's file name, as `VERIFY.md` names it.
    pub package_file: String,
    pub work: &'a Work,
    pub artifacts: &'a [Artifact],
    /// The current chain head.
    pub head: &'a ChainHead,
    /// The certificate chains of the tokens (TSA certificate first, anchor last).
    pub token_chains: Vec<Vec<Vec<u8>>>,
    pub certificate_pdf: Vec<u8>,
    pub certificate_html: String,
}

fn entry_stem(artifact: &Artifact) -> String {
    format!("{:02}-{}", artifact.seq, artifact.stage)
}

/// The package's files, without `manifest.json`, `SHA256SUMS` and the
/// manifest token (see `seal`).
pub fn package_files(input: &ExportInput) -> Files {
    let mut files = Files::new();
    for artifact in input.artifacts {
        let stem = entry_stem(artifact);
        files.insert(
            format!("chain/{stem}.txt"),
            artifact.chain_entry().canonical_text().into_bytes(),
        );
        if let Some(stamp) = &artifact.stamp {
            files.insert(format!("tokens/{stem}.tsr"), stamp.token.clone());
        }
    }
    if let Some(stamp) = &input.head.stamp {
        files.insert(HEAD_TOKEN.into(), stamp.token.clone());
    }
    let mut anchors = Vec::new();
    let mut tsa_certs = Vec::new();
    for chain in &input.token_chains {
        let Some((anchor, rest)) = chain.split_last() else {
            continue;
        };
        if !anchors.contains(anchor) {
            anchors.push(anchor.clone());
        }
        for cert in rest {
            if !tsa_certs.contains(cert) {
                tsa_certs.push(cert.clone());
            }
        }
    }
    let pem = |certs: &[Vec<u8>]| certs.iter().map(|c| certificate_pem(c)).collect::<String>();
    files.insert(CA_FILE.into(), pem(&anchors).into_bytes());
    files.insert(TSA_CERTS_FILE.into(), pem(&tsa_certs).into_bytes());
    let sums: String = input
        .artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.file_name))
        .collect();
    files.insert("artifacts.sha256".into(), sums.into_bytes());
    files.insert("certificate.pdf".into(), input.certificate_pdf.clone());
    files.insert(
        "certificate.html".into(),
        input.certificate_html.clone().into_bytes(),
    );
    files.insert("VERIFY.md".into(), verify_instructions(input).into_bytes());
    files
}

/// `manifest.json` for `files`.
pub fn manifest(input: &ExportInput, files: &Files) -> serde_json::Value {
    let work = input.work;
    let artifacts: Vec<_> = input
        .artifacts
        .iter()
        .map(|a| {
            let stem = entry_stem(a);
            json!({
                "seq": a.seq,
                "stage": a.stage,
                "file_name": a.file_name,
                "size_bytes": a.size_bytes,
                "sha256": a.sha256,
                "media_created_at": a.media_created_at,
                "added_at": to_seconds(a.added_at),
                "prev_hash": a.prev_hash,
                "entry_hash": a.entry_hash,
                "entry_file": format!("chain/{stem}.txt"),
                "token_file": a.stamp.as_ref().map(|_| format!("tokens/{stem}.tsr")),
                "tsa_time": a.stamp.as_ref().map(|s| to_seconds(s.tsa_time)),
                "tsa_name": a.stamp.as_ref().map(|s| s.tsa_name.clone()),
                "tsa_serial": a.stamp.as_ref().map(|s| s.tsa_serial.clone()),
                "tsa_url": a.stamp.as_ref().map(|s| s.tsa_url.clone()),
            })
        })
        .collect();
    let head = input.head;
    json!({
        "kind": PACKAGE_KIND,
        "version": 1,
        "reelguard_version": env!("CARGO_PKG_VERSION"),
        "exported_at": to_seconds(chrono::Utc::now()),
        "work": {
            "id": work.id,
            "title": work.title,
            "owner": work.owner,
            "rights_statement": work.rights_statement,
            "registered_at": to_seconds(work.created_at),
            "duration_s": work.duration_s,
            "width": work.width,
            "height": work.height,
            "sha256": work.source_sha256,
        },
        "artifacts": artifacts,
        "chain_head": {
            "seq": head.seq,
            "hash": head.head_hash,
            "token_file": head.stamp.as_ref().map(|_| HEAD_TOKEN),
            "tsa_time": head.stamp.as_ref().map(|s| to_seconds(s.tsa_time)),
            "tsa_name": head.stamp.as_ref().map(|s| s.tsa_name.clone()),
            "tsa_serial": head.stamp.as_ref().map(|s| s.tsa_serial.clone()),
        },
        "files": file_list(files),
    })
}

fn file_list(files: &Files) -> Vec<serde_json::Value> {
    files
        .iter()
        .map(
            |(path, bytes)| json!({"path": path, "sha256": sha256_hex(bytes), "size": bytes.len()}),
        )
        .collect()
}

/// Adds `manifest.json`, its token (when given) and `SHA256SUMS`.
pub fn seal(
    mut files: Files,
    manifest: &serde_json::Value,
    manifest_stamp: Option<&Stamp>,
) -> Files {
    let manifest_bytes = serde_json::to_vec_pretty(manifest).expect("JSON values serialise");
    files.insert(MANIFEST.into(), manifest_bytes);
    if let Some(stamp) = manifest_stamp {
        files.insert(MANIFEST_TOKEN.into(), stamp.token.clone());
    }
    let sums: String = files
        .iter()
        .map(|(path, bytes)| format!("{}  {path}\n", sha256_hex(bytes)))
        .collect();
    files.insert(SUMS.into(), sums.into_bytes());
    files
}

/// SHA-256 of the manifest as `seal` writes it (what its token covers).
pub fn manifest_digest(manifest: &serde_json::Value) -> [u8; 32] {
    Sha256::digest(serde_json::to_vec_pretty(manifest).expect("JSON values serialise")).into()
}

/// Writes `files` as a zip at `path` (through a temporary file, so a failed
/// export never leaves half a package).
pub fn write_zip(path: &Path, files: &Files) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut zip = zip::ZipWriter::new(temp.as_file());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    zip.finish()?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads every file of an untrusted zip (a package or bundle sent by
/// someone else), refusing anything an export never contains before a
/// single member is decompressed:
/// - a name held twice (also after dropping `./`), the forged-first trick;
/// - an absolute name (`/x`, `C:\x`), a `..` or `.` component, a backslash;
/// - a symbolic link or anything else that is not a regular file or directory;
/// - encrypted members, compression other than stored or deflate;
/// - a local header that disagrees with the central directory, entries whose
///   bytes overlap, bytes before the zip or local headers the directory does
///   not list.
///
/// Then each member is read with a cap on its uncompressed data: at most
/// [`MAX_ENTRY_BYTES`], [`MAX_TOTAL_BYTES`] in all, and beyond its first
/// MiB at most [`MAX_RATIO`] times its compressed size; the cap holds on the
/// data while decompressing (a member longer than its header says is
/// refused after one byte too many), so a zip bomb never fills memory.
pub fn read_zip(path: &Path) -> anyhow::Result<Files> {
    let refuse = |what: String| {
        anyhow::anyhow!(
            "{} is refused: {what}; a reelguard export never looks like this, so the file was \
             altered or damaged after export: ask the sender for the original",
            path.display()
        )
    };
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let file_len = file.metadata()?.len();
    let mut archive = zip::ZipArchive::new(
        file.try_clone()
            .with_context(|| format!("cannot open {}", path.display()))?,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{} is not a zip file or is damaged ({e}): ask the sender for the original",
            path.display()
        )
    })?;
    if archive.offset() != 0 {
        return Err(refuse(format!(
            "{} bytes precede the zip",
            archive.offset()
        )));
    }
    if archive.len() > MAX_ENTRIES {
        return Err(refuse(format!(
            "it holds {} entries, more than the {MAX_ENTRIES} an export may hold",
            archive.len()
        )));
    }

    // Every name as stored in the central directory, duplicates included
    // (the zip crate keeps one entry per name).
    let dir_start = archive.central_directory_start();
    let raw_names = central_directory_names(&mut file, dir_start, file_len)
        .map_err(|e| refuse(format!("its central directory is unreadable ({e})")))?;
    let mut seen = std::collections::BTreeMap::<Vec<u8>, &[u8]>::new();
    for raw in &raw_names {
        let shown = String::from_utf8_lossy(raw);
        if let Some(first) = seen.insert(normalised_name(raw), raw) {
            return Err(if first == raw.as_slice() {
                refuse(format!(
                    "the zip holds {shown:?} twice (a second copy can hide a forged file)"
                ))
            } else {
                refuse(format!(
                    "the zip holds {:?} and {shown:?}, the same file twice",
                    String::from_utf8_lossy(first)
                ))
            });
        }
    }
    if raw_names.len() != archive.len() || archive.has_duplicate_names() {
        return Err(refuse(format!(
            "its central directory lists {} records but the zip says it holds {}",
            raw_names.len(),
            archive.len()
        )));
    }

    // Names, types, methods, headers and byte ranges, before reading any data.
    let mut ranges = Vec::new();
    let mut members = Vec::new();
    let mut total = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| {
            let name = raw_names.get(index).map(|n| String::from_utf8_lossy(n));
            refuse(format!(
                "entry {:?} cannot be located ({e})",
                name.unwrap_or_default()
            ))
        })?;
        let name = entry
            .name()
            .map_err(|e| refuse(format!("an entry's name cannot be read ({e})")))?
            .to_string();
        if let Err(reason) = check_entry_name(&name) {
            return Err(refuse(format!("entry {name:?} {reason}")));
        }
        let is_dir = name.ends_with('/');
        let kind = entry.unix_mode().map(|mode| mode & 0o170_000).unwrap_or(0);
        if entry.is_symlink() || kind == 0o120_000 {
            return Err(refuse(format!("entry {name:?} is a symbolic link")));
        }
        let expected_kind = if is_dir { 0o040_000 } else { 0o100_000 };
        if (kind != 0 && kind != expected_kind) || entry.is_dir() != is_dir {
            return Err(refuse(format!(
                "entry {name:?} is not a regular file or directory (mode {:o})",
                entry.unix_mode().unwrap_or(0)
            )));
        }
        if entry.encrypted() {
            return Err(refuse(format!("entry {name:?} is encrypted")));
        }
        if !matches!(
            entry.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(refuse(format!(
                "entry {name:?} is compressed with {}, not stored or deflate",
                entry.compression()
            )));
        }
        let data_start = entry
            .data_start()
            .ok_or_else(|| refuse(format!("entry {name:?} has no data offset")))?;
        let data_end = data_start
            .checked_add(entry.compressed_size())
            .filter(|end| *end <= dir_start)
            .ok_or_else(|| refuse(format!("entry {name:?} reaches past its data")))?;
        ranges.push((entry.header_start(), data_end, name.clone()));
        if is_dir {
            continue;
        }
        let size = entry.size();
        let ratio_cap =
            RATIO_ALLOWANCE.saturating_add(MAX_RATIO.saturating_mul(entry.compressed_size()));
        if size > ratio_cap {
            return Err(refuse(format!(
                "entry {name:?} expands {} compressed bytes to {size} (more than {MAX_RATIO}:1: a zip bomb)",
                entry.compressed_size()
            )));
        }
        if size > MAX_ENTRY_BYTES {
            return Err(refuse(format!(
                "entry {name:?} expands to {size} bytes, more than the {MAX_ENTRY_BYTES} a member may hold"
            )));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(refuse(format!(
                "its members expand to more than {MAX_TOTAL_BYTES} bytes in all"
            )));
        }
        members.push((index, name, size));
    }
    ranges.sort();
    for pair in ranges.windows(2) {
        let ((_, first_end, first), (second_start, _, second)) = (
            (pair[0].0, pair[0].1, &pair[0].2),
            (pair[1].0, pair[1].1, &pair[1].2),
        );
        if first_end > second_start {
            return Err(refuse(format!(
                "entries {first:?} and {second:?} overlap (share bytes)"
            )));
        }
    }
    // Each local header says what its central directory record says (a
    // tool reading local headers would otherwise see other files), and no
    // local header hides between the entries.
    for index in 0..archive.len() {
        let options = zip::ZipReadOptions::new().enforce_header_consistency(true);
        if let Err(e) = archive.by_index_with_options(index, options) {
            let name = raw_names.get(index).map(|n| String::from_utf8_lossy(n));
            return Err(refuse(format!("entry {:?}: {e}", name.unwrap_or_default())));
        }
    }
    archive
        .validate_header_consistency()
        .map_err(|e| refuse(format!("{e}")))?;

    // The data, each member capped at the size its header gave (checked above).
    let mut files = Files::new();
    for (index, name, size) in members {
        let mut entry = archive.by_index(index)?;
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(size + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| refuse(format!("entry {name:?} cannot be read ({e})")))?;
        if bytes.len() as u64 != size {
            return Err(refuse(format!(
                "entry {name:?} holds {}{} bytes, but its header says {size} (a zip bomb or a damaged zip)",
                if bytes.len() as u64 > size { "more than " } else { "" },
                bytes.len()
            )));
        }
        files.insert(name, bytes);
    }
    Ok(files)
}

/// The file names of a zip's central directory records, in order, read
/// from the raw bytes (duplicates included).
fn central_directory_names(
    file: &mut std::fs::File,
    dir_start: u64,
    file_len: u64,
) -> anyhow::Result<Vec<Vec<u8>>> {
    use std::io::{Seek, SeekFrom};
    const RECORD: usize = 46;
    const SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    let length = file_len
        .checked_sub(dir_start)
        .filter(|l| *l <= MAX_DIRECTORY_BYTES)
        .context("the central directory is out of range or too large")?;
    let mut directory = Vec::with_capacity(length as usize);
    file.seek(SeekFrom::Start(dir_start))?;
    file.take(length).read_to_end(&mut directory)?;
    let mut names = Vec::new();
    let mut at = 0usize;
    while directory.len() >= at + 4 && directory[at..at + 4] == SIGNATURE {
        let record = directory
            .get(at..at + RECORD)
            .context("a record is cut short")?;
        let field =
            |offset: usize| u16::from_le_bytes([record[offset], record[offset + 1]]) as usize;
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        let name = directory
            .get(at + RECORD..at + RECORD + name_len)
            .context("a name is cut short")?;
        names.push(name.to_vec());
        at += RECORD + name_len + extra_len + comment_len;
        if names.len() > MAX_ENTRIES {
            anyhow::bail!("more than {MAX_ENTRIES} records");
        }
    }
    Ok(names)
}

/// A raw entry name without `.` and empty components (`./a//b` is `a/b`),
/// as stored otherwise (case kept): two entries with the same normalised
/// name are the same file.
fn normalised_name(raw: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = raw
        .split(|b| *b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .collect();
    parts.join(&b'/')
}

/// A name an export writes: relative, `/`-separated, no `.`/`..`/empty
/// components, no backslash, drive letter or control character.
fn check_entry_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("has an empty name");
    }
    if name.starts_with('/') {
        return Err("is an absolute path");
    }
    if name.contains('\\') {
        return Err("contains a backslash (a Windows path separator)");
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    for (i, part) in body.split('/').enumerate() {
        match part {
            "" => return Err("has an empty path component"),
            "." => return Err("has a \".\" component"),
            ".." => return Err("has a \"..\" component (it would point outside the package)"),
            _ if i == 0 && part.len() >= 2 && part.as_bytes()[1] == b':' => {
                return Err("starts with a drive letter (an absolute Windows path)")
            }
            _ => {}
        }
    }
    Ok(())
}

/// One line of a verification report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub item: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(item: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            item: item.into(),
            ok: true,
            detail: detail.into(),
        }
    }
    pub fn fail(item: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            item: item.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The CA certificates shipped in a package (`tsa/tsa-ca.pem`).
pub fn package_anchors(files: &Files, prefix: &str) -> Vec<Certificate> {
    files
        .get(&format!("{prefix}{CA_FILE}"))
        .and_then(|pem| parse_pem_certificates(pem).ok())
        .unwrap_or_default()
}

/// Checks a provenance package whose files sit under `prefix` ("" for a
/// package on its own). `originals`: a directory with the artifact files.
pub fn verify_package(
    files: &Files,
    prefix: &str,
    anchors: &[Certificate],
    originals: Option<&Path>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let path = |name: &str| format!("{prefix}{name}");
    let Some(manifest_bytes) = files.get(&path(MANIFEST)) else {
        checks.push(Check::fail(
            path(MANIFEST),
            "missing: this is not a reelguard package",
        ));
        return checks;
    };
    let manifest: serde_json::Value = match serde_json::from_slice(manifest_bytes) {
        Ok(value) => value,
        Err(e) => {
            checks.push(Check::fail(path(MANIFEST), format!("not valid JSON: {e}")));
            return checks;
        }
    };
    if manifest["kind"] != PACKAGE_KIND {
        checks.push(Check::fail(
            path(MANIFEST),
            format!("kind is {}, not {PACKAGE_KIND}", manifest["kind"]),
        ));
        return checks;
    }

    checks.extend(check_listed_files(files, prefix, &manifest));
    checks.extend(check_sums_file(files, prefix));
    match files.get(&path(MANIFEST_TOKEN)) {
        Some(token) => {
            let digest: [u8; 32] = Sha256::digest(manifest_bytes).into();
            checks.push(token_check(
                &path(MANIFEST_TOKEN),
                token,
                &digest,
                anchors,
                "manifest.json",
            ));
        }
        None => checks.push(Check::pass(
            path(MANIFEST_TOKEN),
            "absent (no TSA answered at export); the chain-head token still dates every stage",
        )),
    }

    // The chain: entries rebuilt from the manifest, each against its text file.
    let artifacts = manifest["artifacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut entries = Vec::new();
    for artifact in &artifacts {
        let entry = ChainEntry {
            work_id: manifest["work"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            seq: artifact["seq"].as_u64().unwrap_or(0) as u32,
            prev_hash: artifact["prev_hash"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            stage: artifact["stage"].as_str().unwrap_or_default().to_string(),
            file_name: artifact["file_name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            size_bytes: artifact["size_bytes"].as_u64().unwrap_or(0),
            sha256: artifact["sha256"].as_str().unwrap_or_default().to_string(),
        };
        let claimed = artifact["entry_hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let entry_file = path(artifact["entry_file"].as_str().unwrap_or_default());
        match files.get(&entry_file) {
            Some(text) if text == entry.canonical_text().as_bytes() => {}
            Some(_) => checks.push(Check::fail(
                &entry_file,
                "does not match the entry in manifest.json",
            )),
            None => checks.push(Check::fail(&entry_file, "missing")),
        }
        entries.push((entry, claimed));
    }
    let head_hash = match chain::check(&entries) {
        Ok(head) => {
            checks.push(Check::pass(
                "hash chain",
                format!("{} entries, unbroken, head {head}", entries.len()),
            ));
            Some(head)
        }
        Err(reason) => {
            checks.push(Check::fail("hash chain", reason));
            None
        }
    };

    // Each artifact's token covers its SHA-256.
    for (artifact, (entry, _)) in artifacts.iter().zip(&entries) {
        let label = format!("{:02} {} ({})", entry.seq, entry.stage, entry.file_name);
        let Some(token_file) = artifact["token_file"].as_str() else {
            checks.push(Check::fail(
                format!("artifact {label}"),
                "pending timestamp: no token yet (run `reelguard works timestamp` and export again)",
            ));
            continue;
        };
        let token_path = path(token_file);
        let Some(token) = files.get(&token_path) else {
            checks.push(Check::fail(&token_path, "missing"));
            continue;
        };
        match super::parse_digest(&entry.sha256) {
            Ok(digest) => checks.push(token_check(&token_path, token, &digest, anchors, &label)),
            Err(e) => checks.push(Check::fail(&token_path, format!("{e:#}"))),
        }
    }

    // The head token covers the last entry's hash: nothing dropped or reordered since.
    let head = &manifest["chain_head"];
    match (head["token_file"].as_str(), &head_hash) {
        (None, _) => checks.push(Check::fail(
            path(HEAD_TOKEN),
            "the chain head is not timestamped yet (pending)",
        )),
        (Some(_), None) => checks.push(Check::fail(
            path(HEAD_TOKEN),
            "cannot be checked: the hash chain is broken",
        )),
        (Some(token_file), Some(head_hash)) => {
            let token_path = path(token_file);
            let recorded = head["hash"].as_str().unwrap_or_default();
            if recorded != head_hash {
                checks.push(Check::fail(
                    &token_path,
                    format!("manifest names head {recorded}, but the chain ends at {head_hash}: a stage was added or removed"),
                ));
            } else {
                match (files.get(&token_path), super::parse_digest(head_hash)) {
                    (Some(token), Ok(digest)) => checks.push(token_check(
                        &token_path,
                        token,
                        &digest,
                        anchors,
                        "chain head",
                    )),
                    (None, _) => checks.push(Check::fail(&token_path, "missing")),
                    (_, Err(e)) => checks.push(Check::fail(&token_path, format!("{e:#}"))),
                }
            }
        }
    }

    if let Some(dir) = originals {
        for entry in entries.iter().map(|(e, _)| e) {
            checks.push(check_original(dir, entry));
        }
    }
    checks
}

/// Checks an RFC 3161 token over `digest` and says what it vouches for.
pub fn token_check(
    item: &str,
    token: &[u8],
    digest: &[u8; 32],
    anchors: &[Certificate],
    what: &str,
) -> Check {
    match verify_token(token, digest, None, anchors) {
        Ok(verified) => Check::pass(
            item,
            format!(
                "RFC 3161 token over {what}: {} by {} (serial {})",
                to_seconds(verified.gen_time),
                verified.tsa_name,
                verified.serial
            ),
        ),
        Err(e) => Check::fail(item, format!("token over {what} refused: {e}")),
    }
}

/// Every file the manifest lists is there with its hash and size, and no
/// file is there that it does not list.
fn check_listed_files(files: &Files, prefix: &str, manifest: &serde_json::Value) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    let mut good = 0;
    for item in manifest["files"].as_array().into_iter().flatten() {
        let name = format!("{prefix}{}", item["path"].as_str().unwrap_or_default());
        listed.insert(name.clone());
        match files.get(&name) {
            None => checks.push(Check::fail(&name, "listed in manifest.json but missing")),
            Some(bytes) => {
                let actual = sha256_hex(bytes);
                if Some(actual.as_str()) != item["sha256"].as_str()
                    || Some(bytes.len() as u64) != item["size"].as_u64()
                {
                    checks.push(Check::fail(
                        &name,
                        format!(
                            "changed: SHA-256 {actual} ({} bytes), manifest.json says {} ({} bytes)",
                            bytes.len(),
                            item["sha256"].as_str().unwrap_or("?"),
                            item["size"]
                        ),
                    ));
                } else {
                    good += 1;
                }
            }
        }
    }
    for name in files.keys().filter(|n| n.starts_with(prefix)) {
        let own = [MANIFEST, SUMS, MANIFEST_TOKEN].map(|f| format!("{prefix}{f}"));
        if !listed.contains(name) && !own.contains(name) {
            checks.push(Check::fail(
                name,
                "not listed in manifest.json (added after export)",
            ));
        }
    }
    checks.push(Check::pass(
        format!("{prefix}{MANIFEST}"),
        format!("{good} listed files match their SHA-256 and size"),
    ));
    checks
}

/// `SHA256SUMS` agrees with the files (what `sha256sum -c` checks).
fn check_sums_file(files: &Files, prefix: &str) -> Vec<Check> {
    let name = format!("{prefix}{SUMS}");
    let Some(text) = files.get(&name) else {
        return vec![Check::fail(&name, "missing")];
    };
    let text = String::from_utf8_lossy(text);
    let mut bad = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let Some((hash, file)) = line.split_once("  ") else {
            bad.push(format!("unreadable line {line:?}"));
            continue;
        };
        match files.get(&format!("{prefix}{file}")) {
            Some(bytes) if sha256_hex(bytes) == hash => {}
            Some(_) => bad.push(format!("{file}: hash differs")),
            None => bad.push(format!("{file}: missing")),
        }
    }
    if bad.is_empty() {
        vec![Check::pass(&name, format!("{count} files match"))]
    } else {
        vec![Check::fail(&name, bad.join("; "))]
    }
}

/// Checks one original file in `dir` (the user's `--files DIR`). The name
/// comes from a manifest someone else wrote: it must be a plain relative
/// path that stays inside `dir` once symbolic links are resolved, and lead
/// to a regular file (never a device, FIFO or directory); at most the
/// registered size plus one byte is read.
fn check_original(dir: &Path, entry: &ChainEntry) -> Check {
    let name = &entry.file_name;
    let item = format!("original {}", dir.join(name).display());
    let path = match original_path(dir, name) {
        Ok(path) => path,
        Err(reason) => {
            return Check::fail(format!("original {name:?}"), format!("refused: {reason}"))
        }
    };
    let differs = |sha256: &str, size: String| {
        Check::fail(
            &item,
            format!(
                "differs from stage {} {}: SHA-256 {sha256} ({size} bytes), registered {} ({} bytes)",
                entry.seq, entry.stage, entry.sha256, entry.size_bytes
            ),
        )
    };
    match hash_capped(&path, entry.size_bytes) {
        Ok((sha256, size)) if size > entry.size_bytes => {
            differs(&sha256, format!("more than {}", entry.size_bytes))
        }
        Ok((sha256, size)) if sha256 == entry.sha256 && size == entry.size_bytes => {
            Check::pass(item, format!("matches stage {} {}", entry.seq, entry.stage))
        }
        Ok((sha256, size)) => differs(&sha256, size.to_string()),
        Err(e) => Check::fail(item, format!("cannot read: {e:#}")),
    }
}

/// `name` under `dir`, refused unless it is a relative path without `..`
/// that resolves (symbolic links followed) to a regular file inside `dir`.
fn original_path(dir: &Path, name: &str) -> Result<std::path::PathBuf, String> {
    use std::path::Component;
    let relative = Path::new(name);
    let altered = |what: &str| {
        format!(
            "the manifest names {what}, outside --files {}; the package was altered after export: ask the sender for the original",
            dir.display()
        )
    };
    if name.is_empty() || name.contains('\\') || name.contains('\0') {
        return Err(altered("no plain file name"));
    }
    for component in relative.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(altered("a path that contains \"..\"")),
            Component::RootDir | Component::Prefix(_) => return Err(altered("an absolute path")),
        }
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let joined = root.join(relative);
    let resolved = match joined.canonicalize() {
        Ok(resolved) => resolved,
        // Missing: reported by the read below, as for any missing original.
        Err(_) if std::fs::symlink_metadata(&joined).is_err() => return Ok(joined),
        Err(e) => return Err(format!("cannot resolve it: {e}")),
    };
    if !resolved.starts_with(&root) {
        return Err(format!(
            "{} leads to {}, a symbolic link out of the directory: copy the original file itself into {}",
            joined.display(),
            resolved.display(),
            dir.display()
        ));
    }
    let metadata = std::fs::metadata(&resolved).map_err(|e| format!("cannot read it: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "{} is not a regular file (a device, FIFO, socket or directory): put the original file there",
            resolved.display()
        ));
    }
    Ok(resolved)
}

/// SHA-256 and size of at most `limit + 1` bytes of the regular file at
/// `path` (a size above `limit` means the file is longer than registered).
fn hash_capped(path: &Path, limit: u64) -> anyhow::Result<(String, u64)> {
    let file = std::fs::File::open(path)?;
    // Checked again on the open file, in case the path changed meanwhile.
    if !file.metadata()?.is_file() {
        anyhow::bail!("not a regular file");
    }
    Ok(crate::engine::sha256_reader(
        file.take(limit.saturating_add(1)),
    )?)
}

/// `VERIFY.md`. Every line inside its code blocks is a command that runs
/// as printed in the unpacked package (`provenance::commands` formats them);
/// commands with placeholders are in the prose.
fn verify_instructions(input: &ExportInput) -> String {
    use super::commands::{
        openssl_token_text, openssl_verify_data, openssl_verify_digest, reelguard_verify,
        sha256sum_check,
    };
    let work = input.work;
    let draft = super::certificate::Draft::counting(
        input.artifacts.iter().filter(|a| a.stamp.is_none()).count(),
        input.artifacts.len(),
        input.head.stamp.is_none(),
    );
    let mut text = match &draft {
        Some(draft) => format!(
            "**{}**\n\n**{}**\n\n\
             Until every stage and the chain head are timestamped, this package does not prove\n\
             when they existed. `reelguard works timestamp` retries; then export it again.\n\
             在所有阶段及存证链头加盖时间戳之前，本存证包不能证明其存在时间。\n\n",
            draft.english(),
            draft.chinese()
        ),
        None => String::new(),
    };
    text += &format!(
        "# Verifying this provenance package\n\n\
         Work **{}** (`{}`), registered {}.\n\n\
         Every creation stage below was hashed with SHA-256 and the hash was\n\
         timestamped by an RFC 3161 time-stamping authority (TSA). The stages form a\n\
         hash chain: each entry in `chain/` names the hash of the entry before it, and\n\
         the last entry's hash (the chain head) is timestamped too, so no stage can be\n\
         back-dated, reordered or removed without breaking a check.\n\n\
         Each command in the blocks below runs as shown, in the directory the package\n\
         is in (reelguard) or the directory it was unpacked into (the others).\n\n\
         ## With reelguard\n\n\
         ```\n{}\n```\n\n\
         Add `--files DIR` to check the original files in DIR too, and `--ca FILE` to check\n\
         the tokens against a CA certificate you trust instead of the one in the package.\n\n\
         ## With standard tools only\n\n\
         Unpack the zip, then in its directory, every file of the package:\n\n\
         ```\n{}\n```\n\n",
        work.title,
        work.id,
        work.created_at,
        reelguard_verify(&input.package_file),
        sha256sum_check(SUMS),
    );
    let (stamped, pending): (Vec<&Artifact>, Vec<&Artifact>) =
        input.artifacts.iter().partition(|a| a.stamp.is_some());
    if !stamped.is_empty() {
        text.push_str("Each stage's token (OpenSSL 1.1 or later):\n\n```\n");
        for artifact in &stamped {
            text.push_str(&openssl_verify_digest(
                &format!("tokens/{}.tsr", entry_stem(artifact)),
                &artifact.sha256,
                CA_FILE,
                TSA_CERTS_FILE,
            ));
            text.push('\n');
        }
        text.push_str(
            "```\n\nWith the original file at hand, `-data FILE` in place of `-digest HASH` checks the\n\
             file itself, and `sha256sum -c artifacts.sha256`, run where the files are, checks them all.\n\n",
        );
    }
    if !pending.is_empty() {
        let names: Vec<String> = pending.iter().map(|a| entry_stem(a)).collect();
        text.push_str(&format!(
            "Not yet timestamped (no token in this package): {}. `reelguard works timestamp`\n\
             retries them; export the package again once it succeeds.\n\n",
            names.join(", ")
        ));
    }
    let last = input.artifacts.last().map(entry_stem).unwrap_or_default();
    text.push_str(&format!(
        "The chain: `sha256sum chain/*.txt` prints each entry hash; each file's `prev:` line must equal\n\
         the hash of the file before it, and the last one, `chain/{last}.txt`, is the chain head"
    ));
    if input.head.stamp.is_some() {
        text.push_str(&format!(
            ", timestamped by:\n\n```\n{}\n```\n\n`{}` prints a token's time, serial number and TSA.\n",
            openssl_verify_data(
                HEAD_TOKEN,
                &format!("chain/{last}.txt"),
                CA_FILE,
                TSA_CERTS_FILE
            ),
            openssl_token_text(HEAD_TOKEN),
        ));
    } else {
        text.push_str(", not yet timestamped.\n");
    }
    text.push_str(&format!(
        "The CA in `{CA_FILE}` is the one the TSA chains to: compare its fingerprint\n\
         (`openssl x509 -in {CA_FILE} -noout -fingerprint -sha256`) with the one the TSA publishes.\n"
    ));
    text
}
