//! Upgrading: the database an earlier reelguard left after a day's use
//! (`tests/fixtures/upgrade/`, dumped by `scripts/make-upgrade-fixture.sh`
//! from that release's binary) opens with this binary, which migrates it
//! without losing a row, and everything in it still works.

use std::path::{Path, PathBuf};

use reelguard::store::SchemaState;

use crate::common::{self, Backend};

/// The schema version of the fixtures: the last release before location
/// captures (migration 13).
const PREVIOUS_SCHEMA: i64 = 12;

fn fixture(backend: Backend) -> PathBuf {
    common::repo_root().join(format!(
        "tests/fixtures/upgrade/schema-{PREVIOUS_SCHEMA}-{}.sql",
        backend.name()
    ))
}

/// Loads the dump into `data_dir`'s database, as the earlier release left it.
fn load_dump(backend: Backend, data_dir: &Path) {
    // The SQL is the checked-in fixture's, nothing else.
    let dump = std::fs::read_to_string(fixture(backend)).expect("the upgrade fixture");
    let url = common::store_url(data_dir);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // SQLite creates the database file; the PostgreSQL test database exists.
    let url = match backend {
        Backend::Sqlite => format!("{url}?mode=rwc"),
        Backend::Postgres => url,
    };
    runtime.block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(dump.as_str()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("load {}: {e}", fixture(backend).display()));
        conn.close().await.unwrap();
    });
}

fn schema_state(data_dir: &Path) -> SchemaState {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime
        .block_on(reelguard::store::schema_state(&common::store_url(data_dir)))
        .expect("read the schema version")
}

on_both_backends!(a_database_of_the_previous_schema_is_migrated_and_keeps_every_row);

fn a_database_of_the_previous_schema_is_migrated_and_keeps_every_row(backend: Backend) {
    let scratch = common::scratch_dir();
    let data = scratch.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let Some(_db) = common::database_for(backend, "upgrade", &data) else {
        return;
    };
    load_dump(backend, &data);
    let latest = match schema_state(&data) {
        SchemaState::Behind { version, latest } => {
            assert_eq!(version, PREVIOUS_SCHEMA);
            latest
        }
        other => panic!("the fixture should be behind this binary: {other:?}"),
    };

    // The first command migrates it; the rows are all there.
    let works = common::run_json(&data, &["works", "list"]);
    let titles: Vec<&str> = works["works"]
        .as_array()
        .expect("works[]")
        .iter()
        .map(|w| w["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{works}");
    assert!(titles.contains(&"Bikes 单车"), "{works}");
    assert!(titles.contains(&"Big Buck Bunny"), "{works}");
    assert_eq!(
        schema_state(&data),
        SchemaState::Current { version: latest }
    );

    let matches = common::run_json(&data, &["matches", "list"]);
    let listed = matches["matches"].as_array().expect("matches[]");
    assert_eq!(listed.len(), 1, "{matches}");
    assert_eq!(listed[0]["status"], "confirmed", "{matches}");
    let match_id = listed[0]["id"].as_str().unwrap().to_string();
    let shown = common::run_json(&data, &["matches", "show", &match_id]);
    assert!(
        shown.to_string().contains("mirrored copy"),
        "the review note survives: {shown}"
    );

    // The alert outbox was rebuilt by migration 13: the refused alert is
    // still there, with its error.
    let alerts = common::run_json(&data, &["alerts", "list"]);
    let rows = alerts["alerts"].as_array().expect("alerts[]");
    assert!(!rows.is_empty(), "{alerts}");
    assert!(
        rows.iter()
            .all(|a| a["match_id"] == match_id.as_str() && a["state"] == "failed"),
        "{alerts}"
    );

    // The stored fingerprints still find a copy.
    let copy = scratch.path().join("bikes-mirrored.mp4");
    let clip = common::Footage.path("bikes.mp4");
    common::ffmpeg(&[
        "-v",
        "error",
        "-y",
        "-i",
        clip.to_str().unwrap(),
        "-vf",
        "hflip",
        copy.to_str().unwrap(),
    ]);
    let found = common::run_json(&data, &["match", copy.to_str().unwrap()]);
    assert!(
        found.to_string().contains("Bikes 单车"),
        "the migrated work is found: {found}"
    );
}
