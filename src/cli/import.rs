//! `reelguard works import DIR`: queue every video of a folder (a back
//! catalogue) for registration, for the daemons' workers to fingerprint.
//!
//! Each video is hashed, copied into the blob store and queued like
//! `register --queue`; one already registered or queued (the same bytes,
//! by SHA-256) is skipped, so an import can be run again after it stopped.
//! Its title is its file name without the extension.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::progress::CountProgress;
use super::register::QUEUED_BY_CLI;
use super::{Context, InputError};
use crate::provenance::register::{queue_registration, Queued, VideoToQueue};
use crate::shapes::UploadJson;
use crate::store::{short_id, Registration, Store};

/// File extensions taken as videos (compared case-insensitively).
const VIDEO_EXTENSIONS: &[&str] = &[
    "3gp", "avi", "flv", "m2ts", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "mts", "ogv", "ts",
    "webm", "wmv",
];

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    reelguard works import /srv/catalogue\n  \
    reelguard works import ~/Videos/2025 --owner \"Li Hua\" --json")]
pub struct ImportArgs {
    /// The folder; its subfolders are searched too. Files with a video
    /// extension (mp4, mov, mkv, webm, avi, ...) are taken
    pub dir: PathBuf,
    /// Who owns the rights [default: owner.name from the config]
    #[arg(long)]
    pub owner: Option<String>,
    /// Rights statement for every work of the folder
    #[arg(long, value_name = "TEXT")]
    pub rights: Option<String>,
    /// Print as JSON: {"queued": [registrations], "skipped": [{"file",
    /// "reason"}], "failed": [{"file", "error"}]}
    #[arg(long)]
    pub json: bool,
}

/// What the import did with one file.
enum Outcome {
    Queued(Box<crate::store::UploadRecord>),
    Skipped(String),
    Failed(String),
}

pub async fn run(context: &Context, store: &Store, args: ImportArgs) -> anyhow::Result<()> {
    if !args.dir.is_dir() {
        return Err(InputError(format!(
            "{} is not a folder: give the folder that holds the videos",
            args.dir.display()
        ))
        .into());
    }
    let (videos, others) = videos_in(&args.dir)?;
    if videos.is_empty() {
        return Err(InputError(format!(
            "no video in {} ({others} other files; taken: {})",
            args.dir.display(),
            VIDEO_EXTENSIONS.join(", ")
        ))
        .into());
    }
    let blobs = context.blobs()?;
    let owner = args.owner.or_else(|| context.config.owner.name.clone());
    let rights = args.rights.filter(|r| !r.trim().is_empty());
    let progress = CountProgress::new(videos.len() as u64, args.json);
    let mut outcomes = Vec::with_capacity(videos.len());
    for video in videos {
        progress.working_on(&video.display().to_string());
        let to_queue = VideoToQueue {
            title: title_of(&video),
            video: video.clone(),
            owner: owner.clone(),
            rights_statement: rights.clone(),
            queued_by: QUEUED_BY_CLI.to_string(),
        };
        let outcome = match queue_registration(store, &blobs, &to_queue).await {
            Ok(Queued::New(upload)) => Outcome::Queued(upload),
            Ok(Queued::Already(Registration::Work { id, title })) => Outcome::Skipped(format!(
                "already registered as work {} (\"{title}\")",
                short_id(&id)
            )),
            Ok(Queued::Already(Registration::Queued(upload))) => Outcome::Skipped(format!(
                "already queued as registration {} (\"{}\", {})",
                short_id(&upload.id),
                upload.title,
                upload.state
            )),
            Err(e) => Outcome::Failed(format!("{e:#}")),
        };
        progress.done_one();
        outcomes.push((video, outcome));
    }
    progress.finish();
    report(&outcomes, args.json);
    let failed = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} videos could not be queued (listed above); fix them and run the import again: what is queued is skipped", outcomes.len());
    }
    Ok(())
}

fn report(outcomes: &[(PathBuf, Outcome)], json: bool) {
    if json {
        let mut queued = Vec::new();
        let mut skipped = Vec::new();
        let mut failed = Vec::new();
        for (file, outcome) in outcomes {
            match outcome {
                Outcome::Queued(upload) => {
                    queued.push(serde_json::json!(UploadJson::from(upload.as_ref())))
                }
                Outcome::Skipped(reason) => {
                    skipped.push(serde_json::json!({ "file": file, "reason": reason }))
                }
                Outcome::Failed(error) => {
                    failed.push(serde_json::json!({ "file": file, "error": error }))
                }
            }
        }
        let out = serde_json::json!({ "queued": queued, "skipped": skipped, "failed": failed });
        println!("{out}");
        return;
    }
    let mut queued = 0;
    for (file, outcome) in outcomes {
        match outcome {
            Outcome::Queued(upload) => {
                queued += 1;
                println!("queued   {}  {}", short_id(&upload.id), file.display());
            }
            Outcome::Skipped(reason) => println!("skipped  {}: {reason}", file.display()),
            Outcome::Failed(error) => eprintln!("failed   {}: {error}", file.display()),
        }
    }
    println!(
        "{queued} of {} videos queued; a running `reelguard daemon` (every node of a cluster) fingerprints them: follow them with `reelguard works list`",
        outcomes.len()
    );
}

/// The videos under `dir` (by extension), sorted, and how many other files
/// there are.
fn videos_in(dir: &Path) -> anyhow::Result<(Vec<PathBuf>, usize)> {
    let mut videos = Vec::new();
    let mut others = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && is_video(&path) {
                videos.push(path);
            } else {
                others += 1;
            }
        }
    }
    videos.sort();
    Ok((videos, others))
}

fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A work's title from its file: the name without the extension.
fn title_of(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().trim().to_string())
        .filter(|stem| !stem.is_empty())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_are_found_in_subfolders_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("2025/june")).unwrap();
        for name in [
            "b.MP4",
            "2025/a.mov",
            "2025/june/c.webm",
            "notes.txt",
            ".DS_Store",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let (videos, others) = videos_in(dir.path()).unwrap();
        let names: Vec<_> = videos
            .iter()
            .map(|v| v.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["2025/a.mov", "2025/june/c.webm", "b.MP4"]);
        assert_eq!(others, 2);
        assert_eq!(title_of(Path::new("/x/My film.final.mp4")), "My film.final");
    }
}
