//! The fuzz corpus as regression tests: every input of
//! `fuzz/corpus/TARGET` and every crash kept in `fuzz/artifacts/TARGET`
//! goes through its fuzz target's function (`reelguard::fuzzing`), and
//! none may panic. `make fuzz` grows the corpus; a crash it finds is fixed
//! and its input kept here.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::repo_root;

/// A fuzz target's function: takes any bytes, must not panic.
type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("feed", reelguard::fuzzing::feed),
    ("page", reelguard::fuzzing::page),
    ("youtube_reply", reelguard::fuzzing::youtube_reply),
    ("tsa_reply", reelguard::fuzzing::tsa_reply),
    ("archive", reelguard::fuzzing::archive),
    ("config", reelguard::fuzzing::config),
];

#[test]
fn every_fuzz_corpus_input_and_kept_crash_is_handled_without_a_panic() {
    let fuzz = repo_root().join("fuzz");
    let mut failures = Vec::new();
    for (target, run) in TARGETS {
        let mut inputs = 0;
        for kind in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                inputs += 1;
                if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
                    failures.push(path.display().to_string());
                }
            }
        }
        assert!(inputs > 0, "fuzz/corpus/{target} is empty");
    }
    assert!(failures.is_empty(), "these inputs panic: {failures:#?}");
}
