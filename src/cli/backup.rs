//! `reelguard backup DIR` and `reelguard restore DIR`: a consistent copy of
//! a SQLite data directory, taken while the daemon runs, and putting it back.
//!
//! The database is copied first, as one snapshot (`Store::backup_into`),
//! then every other file of the data directory (blobs, uploads, kept media,
//! alert bundles). A blob is written under its hash before the row naming
//! it commits, so every file the copied database names is in the copy;
//! files written after the snapshot are copied too, and are merely unused.
//! `BACKUP.json` is written last: a directory without it is not a backup.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::{confirm, Context, InputError};
use crate::clock;

/// The database file in a data directory and in a backup.
const DATABASE: &str = "reelguard.db";
/// Written last; a restore refuses a directory without it.
const MARK: &str = "BACKUP.json";

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    reelguard backup /srv/backups/reelguard-$(date +%F)\n  \
    sudo -u reelguard reelguard backup /var/backups/reelguard --json")]
pub struct BackupArgs {
    /// A new (or empty) directory to write the copy into
    pub dir: PathBuf,
    /// Print as JSON: {"backup", "files", "bytes"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Example (the daemon stopped):\n  \
    reelguard restore /srv/backups/reelguard-2026-12-01 --yes")]
pub struct RestoreArgs {
    /// A directory written by `reelguard backup`
    pub dir: PathBuf,
    /// Replace an existing database without asking (stop the daemon first)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print as JSON: {"restored", "files", "bytes"}
    #[arg(long)]
    pub json: bool,
}

/// Files a copy covers, and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Copied {
    files: u64,
    bytes: u64,
}

fn refuse_postgres(context: &Context) -> anyhow::Result<()> {
    match &context.config.database_url {
        Some(url) if !url.starts_with("sqlite:") => Err(InputError(
            "the database is PostgreSQL: back it up with pg_dump and pg_restore, and copy the blob directory (`blob_dir`, default blobs/ in the data directory) with it".into(),
        )
        .into()),
        _ => Ok(()),
    }
}

pub async fn backup(context: &Context, args: BackupArgs) -> anyhow::Result<()> {
    refuse_postgres(context)?;
    let data = context.data_dir()?;
    if !data.join(DATABASE).is_file() {
        return Err(InputError(format!(
            "no database in {}: nothing to back up (is --data-dir right?)",
            data.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    if super::absolute(&args.dir).starts_with(super::absolute(&data)) {
        return Err(InputError(format!(
            "{} is inside the data directory {}: back up somewhere else",
            args.dir.display(),
            data.display()
        ))
        .into());
    }
    if std::fs::read_dir(&args.dir)?.next().is_some() {
        return Err(InputError(format!(
            "{} is not empty: back up into a new directory",
            args.dir.display()
        ))
        .into());
    }
    let store = context.open_store().await?;
    let snapshot = store.backup_into(&args.dir.join(DATABASE)).await;
    store.close().await;
    snapshot?;
    let mut copied = copy_tree(&data, &args.dir, &|path| is_database_file(&data, path))?;
    let database_bytes = std::fs::metadata(args.dir.join(DATABASE))?.len();
    copied.files += 1;
    copied.bytes += database_bytes;
    let mark = serde_json::json!({
        "reelguard": env!("CARGO_PKG_VERSION"),
        "created_at": clock::stored(clock::now()),
        "data_dir": data,
        "files": copied.files,
        "bytes": copied.bytes,
    });
    std::fs::write(args.dir.join(MARK), serde_json::to_string_pretty(&mark)?)?;
    if let Some(blob_dir) = &context.config.blob_dir {
        if !super::absolute(blob_dir).starts_with(super::absolute(&data)) {
            eprintln!(
                "note: blob_dir {} is outside the data directory and not in this backup: copy it with the backup",
                blob_dir.display()
            );
        }
    }
    if args.json {
        let out =
            serde_json::json!({ "backup": args.dir, "files": copied.files, "bytes": copied.bytes });
        println!("{out}");
    } else {
        println!(
            "backed up {} into {}: {} files, {:.1} MiB",
            data.display(),
            args.dir.display(),
            copied.files,
            copied.bytes as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}

pub async fn restore(context: &Context, args: RestoreArgs) -> anyhow::Result<()> {
    refuse_postgres(context)?;
    if !args.dir.join(MARK).is_file() || !args.dir.join(DATABASE).is_file() {
        return Err(InputError(format!(
            "{} is not a finished backup (no {MARK} or {DATABASE}): give a directory `reelguard backup` wrote",
            args.dir.display()
        ))
        .into());
    }
    let data = context.data_dir()?;
    if data.join(DATABASE).exists() {
        confirm(
            &format!(
                "Replace the database in {} with the backup in {}? Stop the daemon first.",
                data.display(),
                args.dir.display()
            ),
            args.yes,
        )?;
    }
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    for name in [DATABASE, "reelguard.db-wal", "reelguard.db-shm"] {
        match std::fs::remove_file(data.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e)
                    .with_context(|| format!("cannot remove {}", data.join(name).display()))
            }
            _ => {}
        }
    }
    let copied = copy_tree(&args.dir, &data, &|path| path == args.dir.join(MARK))?;
    // A backup of an older version is migrated now, not by the next command.
    context.open_store().await?.close().await;
    if args.json {
        let out =
            serde_json::json!({ "restored": data, "files": copied.files, "bytes": copied.bytes });
        println!("{out}");
    } else {
        println!(
            "restored {} from {}: {} files",
            data.display(),
            args.dir.display(),
            copied.files
        );
    }
    Ok(())
}

/// The database and SQLite's side files at the top of `data`.
fn is_database_file(data: &Path, path: &Path) -> bool {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .any(|suffix| path == data.join(format!("{DATABASE}{suffix}")))
}

/// Copies the regular files under `from` into `to` (replacing files there),
/// except those `skip` names. A file removed while the copy runs (media
/// retention) is left out.
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let mut pending = vec![from.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if skip(&path) {
                continue;
            }
            let target = to.join(path.strip_prefix(from).expect("under from"));
            if kind.is_dir() {
                std::fs::create_dir_all(&target)
                    .with_context(|| format!("cannot create {}", target.display()))?;
                pending.push(path);
            } else if kind.is_file() {
                match std::fs::copy(&path, &target) {
                    Ok(bytes) => {
                        copied.files += 1;
                        copied.bytes += bytes;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot copy {} to {}", path.display(), target.display())
                        })
                    }
                }
            }
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_copied_without_the_skipped_files() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("blobs/sha256/ab")).unwrap();
        std::fs::write(from.path().join("blobs/sha256/ab/abcd"), b"blob").unwrap();
        std::fs::write(from.path().join(DATABASE), b"db").unwrap();
        std::fs::write(from.path().join("reelguard.db-wal"), b"wal").unwrap();
        let data = from.path().to_path_buf();
        let copied = copy_tree(from.path(), to.path(), &|p| is_database_file(&data, p)).unwrap();
        assert_eq!(copied, Copied { files: 1, bytes: 4 });
        assert_eq!(
            std::fs::read(to.path().join("blobs/sha256/ab/abcd")).unwrap(),
            b"blob"
        );
        assert!(!to.path().join(DATABASE).exists());
        assert!(!to.path().join("reelguard.db-wal").exists());
    }
}
