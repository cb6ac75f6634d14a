//! The engine stays pure: `fingerprint`, `index` and `matcher` compute on
//! values they are given. Their code (outside `#[cfg(test)]` modules) may
//! not reach for files, the network, processes, the environment, the
//! clock, randomness, async or the database.

use std::path::{Path, PathBuf};

const ENGINE: &[&str] = &["src/fingerprint", "src/index.rs", "src/matcher.rs"];

const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", "file I/O"),
    ("std::io", "I/O"),
    ("std::net", "the network"),
    ("std::process", "processes"),
    ("std::env", "the environment"),
    ("std::thread", "threads"),
    ("std::time", "the clock"),
    ("SystemTime", "the clock"),
    ("Instant", "the clock"),
    ("chrono", "the clock"),
    ("fastrand", "randomness"),
    ("rand::", "randomness"),
    ("uuid", "randomness and the clock"),
    ("tokio", "async"),
    ("async ", "async"),
    (".await", "async"),
    ("sqlx", "the database"),
    ("reqwest", "the network"),
    ("crate::store", "the database"),
    ("crate::media", "file I/O (decoding)"),
    ("crate::config", "configuration loading"),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The file's code before its first `#[cfg(test)]`, without comments.
fn production_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_engine_does_no_io_clock_randomness_or_async() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for part in ENGINE {
        rust_files(&root.join(part), &mut files);
    }
    assert!(files.len() >= 5, "engine files not found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        for (token, what) in FORBIDDEN {
            if let Some(line) = code.lines().position(|l| l.contains(token)) {
                found.push(format!(
                    "{}:{}: `{token}` ({what})",
                    file.strip_prefix(root).unwrap().display(),
                    line + 1
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_forbidden_import() {
    let code = production_code("use std::fs;\n// std::net in a comment\n#[cfg(test)]\nuse tokio;");
    assert!(code.contains("std::fs"));
    assert!(!code.contains("std::net"));
    assert!(!code.contains("tokio"));
}
