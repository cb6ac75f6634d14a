//! A bad config file is refused at start-up, before any work: exit code 2,
//! no panic, and the error names the file, the key and the allowed range.

mod common;

use common::{path_str, run, scratch_dir};

/// Runs `reelguard --config FILE works list` with `text` as FILE.
fn with_config(text: &str) -> (i32, String, String, String) {
    let dir = scratch_dir();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let args = [
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "works",
        "list",
    ];
    let (code, stdout, stderr) = run(&args);
    let context = format!(
        "reelguard {}\nconfig:\n{text}\nexit code: {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.join(" ")
    );
    (code, stdout, stderr, context)
}

#[test]
fn a_nan_limit_is_refused_naming_the_key() {
    let (code, _, stderr, context) = with_config("[limits]\nmax_decode_s = nan\n");
    assert!(!stderr.contains("panicked"), "{context}");
    assert_eq!(code, 2, "a bad config is bad input\n{context}");
    assert!(stderr.contains("invalid config file"), "{context}");
    assert!(
        stderr.contains("limits.max_decode_s = NaN")
            && stderr.contains("finite number of seconds between 1 and 86400"),
        "the error names the key, the value and the range\n{context}"
    );
}

#[test]
fn out_of_range_numbers_of_other_sections_are_refused() {
    for (text, key) in [
        ("[evidence]\nchromium_timeout_s = -1.0\n", "evidence.chromium_timeout_s"),
        ("[daemon]\nlease_s = 100000000000\n", "daemon.lease_s"),
        ("[alerts]\nretry_max_s = inf\n", "alerts.retry_max_s"),
        ("[matching]\nmax_seeds_per_sample = 0\n", "matching.max_seeds_per_sample"),
        (
            "[[sources]]\nname = \"s\"\nkind = \"feed\"\nurl = \"https://x.example/f\"\ntimeout_s = 1e300\n",
            "sources.s.timeout_s",
        ),
    ] {
        let (code, _, stderr, context) = with_config(text);
        assert!(!stderr.contains("panicked"), "{context}");
        assert_eq!(code, 2, "{context}");
        assert!(stderr.contains(&format!("{key} = ")), "{context}");
    }
}
