//! The database. The only module with SQL; one file per table group.
//!
//! SQLite (WAL mode) in the data directory by default; the schema is
//! versioned by the migrations in `migrations/`.

mod alerts;
mod artifacts;
mod evidence;
mod jobs;
mod matches;
mod sources;
mod works;

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use alerts::{AlertPlan, AlertRecord};
pub use artifacts::{Artifact, ChainHead, NewArtifact, PendingStamp, StampTarget, StoredStamp};
pub use evidence::{
    allowed_transition, capture_job_id, CaptureOutcome, CaptureRecord, CapturedFile, StatusChange,
    MATCH_STATUSES,
};
pub use jobs::{Candidate, Job, NewCandidate, Scan};
pub use matches::{MatchRecord, NewMatch};
pub use sources::StoredSource;
pub use works::{StoredFingerprint, Work};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot migrate database {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("no work matches {0:?}; `reelguard works list` shows the registered works")]
    WorkNotFound(String),
    #[error("{query:?} matches several works ({ids}); give more of the id")]
    AmbiguousWork { query: String, ids: String },
    #[error("this video is already registered as work {id} ({title:?}); remove it first with `reelguard works remove {id}`")]
    AlreadyRegistered { id: String, title: String },
    #[error("stored fingerprint of work {work_id} is damaged: {reason}")]
    Damaged { work_id: String, reason: String },
    #[error("no source named {0:?}; `reelguard sources list` shows the configured sources")]
    SourceNotFound(String),
    #[error("stored settings of source {name:?} are damaged: {reason}; remove and add it again")]
    BadSource { name: String, reason: String },
    #[error("no candidate {0:?}")]
    CandidateNotFound(String),
    #[error("no scan {0:?}; `reelguard scans list` shows the scans")]
    ScanNotFound(String),
    #[error("no match {0:?}; `reelguard matches list` shows the matches")]
    MatchNotFound(String),
    #[error("{query:?} matches several matches ({ids}); give more of the id")]
    AmbiguousMatch { query: String, ids: String },
    #[error("match {id} is {from}; it cannot become {to} (pending → confirmed / dismissed / licensed → claimed (confirmed only) → resolved)")]
    BadTransition {
        id: String,
        from: String,
        to: String,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database `reelguard.db` in `data_dir`.
    pub async fn open_in(data_dir: &Path) -> Result<Store, StoreError> {
        let url = format!("sqlite://{}", data_dir.join("reelguard.db").display());
        Store::open(&url).await
    }

    /// Opens (creating if needed) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            url: url.to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                url: url.to_string(),
                source,
            })?;
        Ok(Store { pool })
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so it waits for other writers (up to the busy timeout) instead of
    /// failing with "database is locked" when it upgrades from reading.
    async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}
