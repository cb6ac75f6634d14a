//! The mock video platform for the scan and daemon tests: uploads made from
//! the shared footage (disguised copies of registered works and unrelated
//! clips), served on 127.0.0.1 by `reelguard::testkit`, and a data
//! directory with the works registered once per test process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{path_str, run_json};

/// An upload on the mock platform.
pub struct Upload {
    pub id: &'static str,
    pub title: &'static str,
    pub uploader: &'static str,
    pub channel: &'static str,
}

/// Starts the mock platform for `media_dir` (with its catalog.json) on
/// 127.0.0.1 in a background thread that lives as long as the test process;
/// returns its base URL.
pub fn start_platform(media_dir: &Path) -> String {
    let media_dir = media_dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        runtime.block_on(async move {
            let platform = reelguard::testkit::mock_platform::MockPlatform::start(
                media_dir,
                "127.0.0.1:0".parse().expect("an address"),
            )
            .await
            .expect("start the mock platform");
            tx.send(platform.base_url.clone())
                .expect("send the base URL");
            platform.wait().await;
        });
    });
    rx.recv().expect("the mock platform started")
}

/// Writes catalog.json for `uploads` (each served as `ID.mp4`).
pub fn write_catalog(media_dir: &Path, uploads: &[Upload]) {
    let list: Vec<Value> = uploads
        .iter()
        .map(|u| {
            json!({"id": u.id, "file": format!("{}.mp4", u.id), "title": u.title,
                   "uploader": u.uploader, "channel": u.channel,
                   "published_at": "2026-11-20T08:00:00Z"})
        })
        .collect();
    std::fs::write(
        media_dir.join("catalog.json"),
        serde_json::to_string_pretty(&list).expect("json"),
    )
    .expect("write catalog.json");
}

/// The registered works: a data directory template with bikes.mp4 ("Bikes")
/// and bigbuckbunny.mp4 ("Big Buck Bunny") registered.
pub struct Works {
    pub template: PathBuf,
    pub bikes: String,
    pub bunny: String,
}

/// Registers the works once per test process. None when ../shared/media is missing.
pub fn works() -> Option<&'static Works> {
    static WORKS: OnceLock<Works> = OnceLock::new();
    for name in ["bikes.mp4", "bigbuckbunny.mp4"] {
        super::shared_media(name)?;
    }
    Some(WORKS.get_or_init(|| {
        let template = super::process_dir("works-template");
        let media = super::Footage;
        let bikes = run_json(
            &template,
            &[
                "register",
                path_str(&media.path("bikes.mp4")),
                "--title",
                "Bikes",
            ],
        );
        let bunny = run_json(
            &template,
            &[
                "register",
                path_str(&media.path("bigbuckbunny.mp4")),
                "--title",
                "Big Buck Bunny",
            ],
        );
        Works {
            template,
            bikes: bikes["work_id"].as_str().expect("work id").to_string(),
            bunny: bunny["work_id"].as_str().expect("work id").to_string(),
        }
    }))
}

/// Copies the registered works' database into `data_dir` (on PostgreSQL,
/// into its test database).
pub fn fresh_data_dir(works: &Works, data_dir: &Path) {
    super::copy_database(&works.template, data_dir);
}

/// Opens the store of a data directory (to check what was recorded).
pub fn with_store<T>(data_dir: &Path, f: impl AsyncFnOnce(&reelguard::store::Store) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let store = reelguard::store::Store::open(&super::store_url(data_dir))
            .await
            .expect("open the store");
        let out = f(&store).await;
        store.close().await;
        out
    })
}
