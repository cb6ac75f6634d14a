//! `reelguard backup` and `restore` of a SQLite data directory: what was
//! stored before the backup (a token, a blob) is back after a restore into
//! an empty directory; restoring over a database asks first; a directory
//! that is not a finished backup is refused.

use crate::common;

use std::path::Path;

use serde_json::Value;

use common::{path_str, run, scratch_dir};

/// `reelguard --data-dir DATA ARGS...`
fn rg(data: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--data-dir", path_str(data)];
    all.extend_from_slice(args);
    run(&all)
}

/// The revocation time of the token named `name` (None: live).
fn revoked_at(data: &Path, name: &str) -> Option<String> {
    let (code, stdout, stderr) = rg(data, &["tokens", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let token = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no token {name}: {listed}"));
    token["revoked_at"].as_str().map(str::to_string)
}

#[test]
fn a_backup_restores_the_database_and_the_blobs() {
    let scratch = scratch_dir();
    let data = scratch.path().join("data");
    let (code, _, stderr) = rg(&data, &["tokens", "create", "Li Hua", "--role", "reviewer"]);
    assert_eq!(code, 0, "{stderr}");
    let blob = Path::new("blobs/sha256/ab/abcd");
    std::fs::create_dir_all(data.join(blob).parent().unwrap()).unwrap();
    std::fs::write(data.join(blob), b"captured bytes").unwrap();

    let backup = scratch.path().join("backup");
    let (code, stdout, stderr) = rg(&data, &["backup", path_str(&backup), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["files"], 2, "the database and the blob: {report}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(backup.join("reelguard.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the copy holds credentials: mode {mode:o}");
    }
    // Changed after the backup: the restore takes it back.
    let (code, _, stderr) = rg(&data, &["tokens", "revoke", "Li Hua", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(revoked_at(&data, "Li Hua").is_some());

    let restored = scratch.path().join("restored");
    let (code, _, stderr) = rg(&restored, &["restore", path_str(&backup)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(revoked_at(&restored, "Li Hua"), None);
    assert_eq!(
        std::fs::read(restored.join(blob)).unwrap(),
        b"captured bytes"
    );

    // Over an existing database: asked, so refused without a terminal.
    let (code, _, stderr) = rg(&data, &["restore", path_str(&backup)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(revoked_at(&data, "Li Hua").is_some());
    let (code, _, stderr) = rg(&data, &["restore", path_str(&backup), "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(revoked_at(&data, "Li Hua"), None);

    // Not a backup; not into a non-empty directory.
    let (code, _, stderr) = rg(&data, &["restore", path_str(&data)]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = rg(&data, &["backup", path_str(&backup)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
}
