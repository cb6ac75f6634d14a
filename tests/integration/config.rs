//! A bad config file is refused at start-up, before any work: exit code 2,
//! no panic, and the error names the file, the key and the allowed range.

use crate::common;

use std::path::Path;

use common::{path_str, run, run_with_env, scratch_dir};

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

/// A home directory of its own for each discovery case: `HOME` and
/// `XDG_CONFIG_HOME` (empty: unset) as given, nothing else configured.
fn discover_run(
    home: &Path,
    xdg: &Path,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut env = vec![
        ("HOME", path_str(home)),
        ("XDG_CONFIG_HOME", path_str(xdg)),
        ("XDG_DATA_HOME", ""),
    ];
    env.extend_from_slice(extra_env);
    let mut full = vec!["-v"];
    full.extend_from_slice(args);
    run_with_env(&full, &env)
}

/// Writes a config file at `path` whose data dir is `data`.
fn config_with_data_dir(path: &Path, data: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("data_dir = {:?}\n", path_str(data))).unwrap();
}

#[test]
fn each_command_finds_its_config_flag_env_xdg_home_and_says_which_with_v() {
    let dir = scratch_dir();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let no_xdg = Path::new("");
    let data = |name: &str| dir.path().join(name);
    let has_database = |name: &str| data(name).join("reelguard.db").exists();

    // Nothing anywhere: the embedded defaults, data under ~/.local/share.
    let (code, stdout, stderr) = discover_run(&home, no_xdg, &[], &["works", "list"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("configuration: the embedded defaults"),
        "{stderr}"
    );
    assert!(home.join(".local/share/reelguard/reelguard.db").exists());

    // ~/.config/reelguard/config.toml when XDG_CONFIG_HOME is unset.
    let home_config = home.join(".config/reelguard/config.toml");
    config_with_data_dir(&home_config, &data("from-home"));
    let (code, stdout, stderr) = discover_run(&home, no_xdg, &[], &["works", "list"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "configuration: {} (the user's config file)",
            home_config.display()
        )),
        "{stderr}"
    );
    assert!(has_database("from-home"));

    // $XDG_CONFIG_HOME/reelguard/config.toml in its place when set.
    let xdg = dir.path().join("xdg");
    let xdg_config = xdg.join("reelguard/config.toml");
    config_with_data_dir(&xdg_config, &data("from-xdg"));
    let (code, stdout, stderr) = discover_run(&home, &xdg, &[], &["sources", "list"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("configuration: {}", xdg_config.display())),
        "{stderr}"
    );
    assert!(has_database("from-xdg"));

    // REELGUARD_CONFIG before both, --config before it.
    let env_config = dir.path().join("env.toml");
    config_with_data_dir(&env_config, &data("from-env"));
    let env = [("REELGUARD_CONFIG", path_str(&env_config))];
    let (code, stdout, stderr) = discover_run(&home, &xdg, &env, &["works", "list"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "configuration: {} (REELGUARD_CONFIG)",
            env_config.display()
        )),
        "{stderr}"
    );
    assert!(has_database("from-env"));
    let flag_config = dir.path().join("flag.toml");
    config_with_data_dir(&flag_config, &data("from-flag"));
    let (code, stdout, stderr) = discover_run(
        &home,
        &xdg,
        &env,
        &["--config", path_str(&flag_config), "matches", "list"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "configuration: {} (--config)",
            flag_config.display()
        )),
        "{stderr}"
    );
    assert!(has_database("from-flag"));

    // A named file that does not exist is an error naming it; a discovered
    // one is not looked for then.
    let missing = dir.path().join("missing.toml");
    let (code, _, stderr) = discover_run(
        &home,
        &xdg,
        &[],
        &["--config", path_str(&missing), "works", "list"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{} (--config) does not exist", missing.display())),
        "{stderr}"
    );
    let env = [("REELGUARD_CONFIG", path_str(&missing))];
    let (code, _, stderr) = discover_run(&home, &xdg, &env, &["works", "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} (REELGUARD_CONFIG) does not exist",
            missing.display()
        )),
        "{stderr}"
    );

    // A discovered file is read like a named one: a bad one is refused.
    std::fs::write(&xdg_config, "[limits]\nmax_decode_s = nan\n").unwrap();
    let (code, _, stderr) = discover_run(&home, &xdg, &[], &["works", "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("invalid config file {}", xdg_config.display())),
        "{stderr}"
    );
}

#[test]
fn init_from_a_clean_home_then_commands_need_no_flags() {
    let dir = scratch_dir();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [
        ("HOME", path_str(&home)),
        ("XDG_CONFIG_HOME", ""),
        ("XDG_DATA_HOME", ""),
    ];
    let (code, stdout, stderr) = run_with_env(
        &[
            "init",
            "--owner-name",
            "Li Hua 李华",
            "--owner-email",
            "lihua@example.com",
        ],
        &env,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let config = home.join(".config/reelguard/config.toml");
    let data = home.join(".local/share/reelguard");
    assert!(
        stdout.contains(&format!("wrote {}", config.display())),
        "{stdout}"
    );
    assert!(data.is_dir(), "init creates the data directory");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("name = \"Li Hua 李华\""), "{text}");
    assert!(text.contains("email = \"lihua@example.com\""), "{text}");
    assert!(text.contains("\nsystem_roots = true\n"), "{text}");
    assert!(
        text.contains("\nurls = [\"http://timestamp.digicert.com\""),
        "{text}"
    );
    // The next commands, without --config: the file is found.
    let next: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .collect();
    assert_eq!(next.len(), 4, "{stdout}");
    for (line, command) in next
        .iter()
        .zip(["doctor", "register", "sources add", "daemon"])
    {
        assert!(
            line.trim_start()
                .starts_with(&format!("reelguard {command}")),
            "{stdout}"
        );
    }

    // Any command now runs with no flags, on that file and data directory.
    let (code, stdout, stderr) = run_with_env(&["-v", "works", "list"], &env);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("no works registered yet"), "{stdout}");
    assert!(
        stderr.contains(&format!("configuration: {}", config.display())),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "colour codes off a terminal: {stderr:?}"
    );
    assert!(data.join("reelguard.db").exists());

    // A second init refuses to overwrite; --force replaces the file.
    let (code, _, stderr) = run_with_env(&["init", "--no-timestamps"], &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{} already exists", config.display()))
            && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    let (code, stdout, stderr) = run_with_env(&["init", "--no-timestamps", "--force"], &env);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("trusted timestamps: off"), "{stdout}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\nurls = []\n") && !text.contains("system_roots = true"));
    let (code, stdout, stderr) = run_with_env(&["works", "list"], &env);
    assert_eq!(code, 0, "{stdout}{stderr}");

    // --config writes elsewhere, --data-dir goes into it, and the next
    // commands name the file they would not find on their own.
    let other = dir.path().join("elsewhere/reelguard.toml");
    let other_data = dir.path().join("other-data");
    let (code, stdout, stderr) = run_with_env(
        &[
            "--config",
            path_str(&other),
            "--data-dir",
            path_str(&other_data),
            "init",
            "--no-timestamps",
        ],
        &env,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(other_data.is_dir());
    assert!(
        stdout.contains(&format!("reelguard --config {} daemon", other.display())),
        "{stdout}"
    );
    let (code, stdout, stderr) =
        run_with_env(&["--config", path_str(&other), "sources", "list"], &env);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(other_data.join("reelguard.db").exists());
}

#[test]
fn completions_and_the_man_page_read_no_configuration() {
    let env = [("REELGUARD_CONFIG", "/nonexistent/reelguard.toml")];
    for (args, needles) in [
        (
            &["completions", "bash"][..],
            &["register", "works", "init", "completions", "man"][..],
        ),
        (&["completions", "zsh"][..], &["register", "verify"][..]),
        (&["completions", "fish"][..], &["register", "verify"][..]),
        (&["man"][..], &[".TH reelguard 1", "reelguard\\-init"][..]),
    ] {
        let (code, stdout, stderr) = run_with_env(args, &env);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        for needle in needles {
            assert!(stdout.contains(needle), "{args:?} lacks {needle:?}");
        }
    }
    // Any other command reads it, and names it when it is missing.
    let (code, _, stderr) = run_with_env(&["works", "list"], &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/reelguard.toml"), "{stderr}");
}

#[test]
fn output_piped_into_a_program_that_stopped_reading_ends_without_a_panic() {
    // A pipe whose reader is gone before the command starts: its first
    // line of output meets a closed pipe, as under `reelguard works list | head`
    // once head has exited.
    let dir = scratch_dir();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reelguard"))
        .args(["--data-dir", path_str(dir.path()), "works", "list"])
        .env("XDG_CONFIG_HOME", common::no_user_config())
        .env_remove("REELGUARD_CONFIG")
        .env_remove("REELGUARD_DATABASE_URL")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
