//! The Debian package (`make package` runs `scripts/package-deb.sh` on the
//! release binary): packed here from the test binary, uncompressed, its
//! file list, control fields, maintainer scripts and system config checked;
//! `systemd-analyze verify` accepts its unit where systemd is installed.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{path_str, repo_root, scratch_dir};

/// Runs `program args` and returns its stdout; panics with its stderr.
fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn the_debian_package_holds_the_binary_docs_config_and_a_hardened_unit() {
    let scratch = scratch_dir();
    let out = scratch.path().join("debian");
    let script = repo_root().join("scripts/package-deb.sh");
    // The test build holds the stand-ins, which a package must not ship:
    // the script refuses it unless told this is a test.
    let refused = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_reelguard"))
        .arg(&out)
        .output()
        .expect("run scripts/package-deb.sh");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("--features testkit"),
        "package-deb.sh packed a test build: {said}"
    );
    let built = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_reelguard"))
        .arg(&out)
        .env("DEB_COMPRESSION", "none")
        .env("ALLOW_TESTKIT", "1")
        .output()
        .expect("run scripts/package-deb.sh");
    assert!(
        built.status.success(),
        "package-deb.sh: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8(built.stdout).unwrap().trim().to_string();
    assert!(Path::new(&deb).is_file(), "no package at {deb:?}");

    // The file list.
    let listing = output("dpkg-deb", &["--contents", &deb]);
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for wanted in [
        "./usr/bin/reelguard",
        "./usr/share/man/man1/reelguard.1.gz",
        "./usr/share/bash-completion/completions/reelguard",
        "./usr/share/zsh/vendor-completions/_reelguard",
        "./usr/share/fish/vendor_completions.d/reelguard.fish",
        "./etc/reelguard/config.toml",
        "./lib/systemd/system/reelguard.service",
        "./usr/share/doc/reelguard/copyright",
    ] {
        assert!(files.contains(&wanted), "{wanted} missing:\n{listing}");
    }
    assert!(
        listing.lines().all(|l| l.contains(" root/root ")),
        "every file belongs to root:\n{listing}"
    );

    // The control fields.
    let field = |name: &str| {
        output("dpkg-deb", &["--field", &deb, name])
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "reelguard");
    assert_eq!(field("Version"), env!("CARGO_PKG_VERSION"));
    let depends = field("Depends");
    for needed in [
        "libavcodec",
        "libavformat",
        "libswscale",
        "libc6",
        "adduser",
        "fonts-wqy-microhei",
    ] {
        assert!(
            depends.contains(needed),
            "Depends lacks {needed}: {depends}"
        );
    }
    assert!(field("Recommends").contains("chromium"));
    let conffiles = output("dpkg-deb", &["--info", &deb, "conffiles"]);
    assert_eq!(conffiles.trim(), "/etc/reelguard/config.toml");
    let postinst = output("dpkg-deb", &["--info", &deb, "postinst"]);
    assert!(postinst.contains("adduser --system"), "{postinst}");

    // The unpacked tree: the system config loads and puts the data in the
    // service's state directory; the unit is hardened.
    let tree = scratch.path().join("tree");
    output("dpkg-deb", &["--extract", &deb, path_str(&tree)]);
    let config = tree.join("etc/reelguard/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("\ndata_dir = \"/var/lib/reelguard\"\n"),
        "{text}"
    );
    let (code, _, stderr) = common::run(&[
        "--config",
        path_str(&config),
        "--data-dir",
        path_str(&scratch.path().join("data")),
        "sources",
        "list",
    ]);
    assert_eq!(code, 0, "the packaged config does not load: {stderr}");
    let unit_path = tree.join("lib/systemd/system/reelguard.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    for line in [
        "User=reelguard",
        "ProtectSystem=strict",
        "StateDirectory=reelguard",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ExecStart=/usr/bin/reelguard daemon",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    let man = output(
        "sh",
        &[
            "-c",
            &format!(
                "zcat {}",
                path_str(&tree.join("usr/share/man/man1/reelguard.1.gz"))
            ),
        ],
    );
    assert!(man.contains(".TH reelguard 1"), "{man}");

    // systemd's own check, with ExecStart resolved inside the unpacked tree.
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let verified = Command::new("systemd-analyze")
            // Other units (sysinit.target) may be missing in a container.
            .args(["verify", "--man=no", "--recursive-errors=no", "--root"])
            .arg(&tree)
            .arg("/lib/systemd/system/reelguard.service")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&verified.stderr);
        assert!(
            verified.status.success() && !said.contains("reelguard.service:"),
            "systemd-analyze verify: {}\n{said}",
            verified.status
        );
    } else {
        eprintln!("note: systemd-analyze is not installed; the unit was not verified");
    }
}
