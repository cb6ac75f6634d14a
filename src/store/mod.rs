//! The database. The only module with SQL; one file per table group.
//!
//! SQLite (WAL mode) in the data directory by default, or PostgreSQL
//! (`database_url = "postgres://..."`). The schema is versioned by the
//! migrations in `migrations/sqlite/` and `migrations/postgres/`, which
//! define the same tables and columns (a test checks it).

mod access;
mod alerts;
mod artifacts;
mod cluster;
mod codec;
mod copy;
mod evidence;
mod jobs;
mod matches;
mod queue;
mod schema;
mod sources;
mod uploads;
mod works;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::ConnectOptions;

pub use access::TokenRecord;
pub use alerts::{AlertPlan, AlertRecord};
pub use artifacts::{Artifact, ChainHead, NewArtifact, PendingStamp, StampTarget, StoredStamp};
pub use cluster::{LeaseHolder, MetricCounts, Node, QueueDepth};
pub use copy::TableCopy;
pub use evidence::{CaptureOf, CaptureOutcome, CaptureRecord, CapturedFile, StatusChange};
pub use jobs::{Candidate, NewCandidate, Scan};
pub use matches::{MatchFilter, MatchPage, MatchRecord, NewMatch};
pub use queue::{job_id, Job, JobFilter};
pub use schema::{schema_state, SchemaState};
pub use sources::{StoredSource, Validators};
pub use uploads::{Registration, UploadRecord};
pub use works::{StoredFingerprint, Work};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database_url = {0:?}: use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE")]
    BadUrl(String),
    #[error("cannot open database {url}: {source}; {hint}")]
    Open {
        url: String,
        hint: String,
        source: sqlx::Error,
    },
    #[error("cannot migrate database {url}: {source}; {hint}")]
    Migrate {
        url: String,
        hint: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("no work matches {0:?}; `reelguard works list` shows the registered works")]
    WorkNotFound(String),
    #[error("{query:?} names several works ({ids}); give the whole id, or more of its end")]
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
    #[error("{query:?} names several matches ({ids}); give the whole id, or more of its end")]
    AmbiguousMatch { query: String, ids: String },
    #[error("match {id} is {from}; it cannot become {to} (pending → confirmed / dismissed / licensed → claimed (confirmed only) → resolved)")]
    BadTransition {
        id: String,
        from: crate::domain::MatchStatus,
        to: crate::domain::MatchStatus,
    },
    #[error("a live token is already named {0:?}; revoke it first (`reelguard tokens revoke {0}`) or choose another name")]
    TokenNameTaken(String),
    #[error("no live token named {0:?}; `reelguard tokens list` shows the tokens")]
    TokenNotFound(String),
    #[error(
        "job {id} cannot run: {reason}; it was written by another reelguard version, or by hand"
    )]
    BadJob { id: String, reason: String },
    #[error("cannot copy the database: {0}")]
    Copy(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Which database a store runs on. The SQL is the same on both (the
/// portable subset, `$n` parameters); the few differences are matched on
/// this in `src/store/` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://` / `postgresql://`
    /// or `sqlite:`.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }
}

/// `url` with its password (if any) replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The URL of the SQLite database `reelguard.db` in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("reelguard.db").display())
}

/// How many characters of an id's end are shown as its short id. Ids are
/// UUIDv7: they begin with their creation time (every work made the same
/// week shares its first characters), and their last 32 bits are random,
/// so 8 hex characters tell rows apart in practice.
pub const SHORT_ID_LEN: usize = 8;

/// The short id shown for `id`: its last [`SHORT_ID_LEN`] characters.
pub fn short_id(id: &str) -> &str {
    let start = id.len().saturating_sub(SHORT_ID_LEN);
    id.get(start..).unwrap_or(id)
}

/// How a query names a row, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    /// The whole id.
    Exactly,
    /// The end of the id (at least 4 characters): the short id or more.
    ByEnd,
    /// The start of the id.
    ByStart,
    /// The title, ignoring case (works only).
    ByTitle,
}

/// The fewest characters a query needs to be taken as the end of an id.
const MIN_END_LEN: usize = 4;

fn named(query: &str, id: &str, title: Option<&str>) -> Option<Named> {
    if id == query {
        Some(Named::Exactly)
    } else if query.len() >= MIN_END_LEN && id.ends_with(query) {
        Some(Named::ByEnd)
    } else if !query.is_empty() && id.starts_with(query) {
        Some(Named::ByStart)
    } else if title.is_some_and(|t| t.to_lowercase() == query.to_lowercase()) {
        Some(Named::ByTitle)
    } else {
        None
    }
}

/// LIKE patterns for the rows a query may name: (start, end). The end
/// pattern matches nothing for a query too short to be an id's end.
fn id_patterns(query: &str) -> (String, String) {
    let clean = query.replace(['%', '_'], "");
    let end = if query.len() >= MIN_END_LEN {
        format!("%{clean}")
    } else {
        String::new()
    };
    (format!("{clean}%"), end)
}

/// The one row `query` names best (see [`Named`]). Err(None): none;
/// Err(Some(list)): several named alike, each as `short id "title"`.
fn pick<T>(
    query: &str,
    found: Vec<T>,
    id: impl Fn(&T) -> &str,
    title: impl Fn(&T) -> Option<&str>,
) -> Result<T, Option<String>> {
    let ranked: Vec<(Named, T)> = found
        .into_iter()
        .filter_map(|row| named(query, id(&row), title(&row)).map(|how| (how, row)))
        .collect();
    let Some(best) = ranked.iter().map(|(how, _)| *how).min() else {
        return Err(None);
    };
    let mut chosen: Vec<T> = ranked
        .into_iter()
        .filter(|(how, _)| *how == best)
        .map(|(_, row)| row)
        .collect();
    if chosen.len() == 1 {
        return Ok(chosen.pop().expect("one row"));
    }
    let listed: Vec<String> = chosen
        .iter()
        .map(|row| match title(row) {
            Some(t) => format!("{} {t:?}", id(row)),
            None => id(row).to_string(),
        })
        .collect();
    Err(Some(listed.join(", ")))
}

/// The database holds proxy credentials, source headers and webhook URLs:
/// it is created readable and writable by its owner only (0600), and an
/// existing one (with its `-wal` and `-shm` files, which SQLite creates with
/// the database's mode) open to others is narrowed to that.
fn keep_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        // A missing directory: SQLite's own error says so.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(metadata) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 && metadata.is_file() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
            tracing::warn!(
                "{} was readable by other users (mode {:o}); it holds credentials, so it is now {:o}",
                file.display(),
                mode & 0o777,
                mode & 0o700
            );
        }
    }
    Ok(())
}

/// A database URL as messages name it (password hidden) and its backend.
pub(crate) struct DatabaseUrl {
    pub shown: String,
    pub backend: Backend,
}

impl DatabaseUrl {
    pub(crate) fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let shown = redact_url(url);
        match Backend::of_url(url) {
            Some(backend) => Ok(DatabaseUrl { shown, backend }),
            None => Err(StoreError::BadUrl(shown)),
        }
    }

    /// A failure to connect to this database, with what to do about it.
    pub(crate) fn open_error(&self, source: sqlx::Error) -> StoreError {
        StoreError::Open {
            url: self.shown.clone(),
            hint: open_hint(self.backend, &source),
            source,
        }
    }
}

/// What to do about a failure to open `url`.
fn open_hint(backend: Backend, error: &sqlx::Error) -> String {
    if backend == Backend::Sqlite {
        return "check that the data directory exists and is writable".to_string();
    }
    if let sqlx::Error::Database(db) = error {
        match db.code().as_deref() {
            Some("28P01") | Some("28000") => {
                return "authentication failed: check the user and password in database_url (or REELGUARD_DATABASE_URL) and pg_hba.conf".to_string()
            }
            Some("3D000") => {
                return "the database does not exist: create it (`createdb NAME`) or fix the name in database_url".to_string()
            }
            _ => {}
        }
    }
    if matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) {
        return "is the PostgreSQL server running and listening at that host and port?".to_string();
    }
    "check database_url (or REELGUARD_DATABASE_URL) and that the PostgreSQL server is up"
        .to_string()
}

/// What to do about a failed migration; `latest` is the newest schema
/// version this binary has.
fn migrate_hint(error: &sqlx::migrate::MigrateError, latest: i64) -> String {
    match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => format!(
            "the database is at schema version {version} or later, written by a newer reelguard; this binary (reelguard {}) knows schema versions up to {latest}: upgrade it",
            env!("CARGO_PKG_VERSION")
        ),
        sqlx::migrate::MigrateError::VersionMismatch(_) => {
            "a migration applied to this database differs from this binary's: restore a backup or use the matching reelguard".to_string()
        }
        _ => "see the database error above".to_string(),
    }
}

/// Statements slower than this are logged at [`SLOW_STATEMENT_LEVEL`].
const SLOW_STATEMENT: std::time::Duration = std::time::Duration::from_secs(1);
/// Debug, not sqlx's warning: a busy daemon's long scans and migrations
/// are expected, and `-vv` (or `REELGUARD_LOG=sqlx=debug`) shows them.
const SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

pub struct Store {
    pool: sqlx::AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the database `reelguard.db` in `data_dir`.
    pub async fn open_in(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open(&sqlite_url(data_dir)).await
    }

    /// Opens and migrates the database at `url`: `sqlite:` (created if
    /// missing) or `postgres://` (the database must exist).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = DatabaseUrl::parse(url)?;
        let (shown, backend) = (&target.shown, target.backend);
        let open_error = |source: sqlx::Error| target.open_error(source);
        let migrate_error = |source: sqlx::migrate::MigrateError| StoreError::Migrate {
            url: shown.clone(),
            hint: migrate_hint(&source, schema::latest(backend)),
            source,
        };
        // Migrations run on a typed connection (each backend has its own
        // folder); queries then go through one `Any` pool.
        match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url).map_err(open_error)?;
                keep_private(options.get_filename()).map_err(|e| open_error(sqlx::Error::Io(e)))?;
                let options = options
                    .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .map_err(open_error)?;
                let migrated = sqlx::migrate!("migrations/sqlite").run(&pool).await;
                pool.close().await;
                migrated.map_err(migrate_error)?;
            }
            Backend::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(open_error)?
                    .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(open_error)?;
                let migrated = sqlx::migrate!("migrations/postgres").run(&pool).await;
                pool.close().await;
                migrated.map_err(migrate_error)?;
            }
        }
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(std::time::Duration::from_secs(30))
            // An idle connection is never inside a transaction. One that
            // says it is is stuck: when SQLite rolls a transaction back by
            // itself (a COMMIT that failed on a full disk), sqlx 0.9.0
            // keeps counting it as open, and every later BEGIN on that
            // connection fails. Close it; the pool opens a fresh one.
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // The journal mode is kept in the file; these are per connection.
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(
                sqlx::any::AnyConnectOptions::from_str(url)
                    .map_err(open_error)?
                    .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT),
            )
            .await
            .map_err(open_error)?;
        Ok(Store { pool, backend })
    }

    /// The database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction that waits for the other writers instead of
    /// racing them. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it waits (up to the busy timeout) instead of
    /// failing with "database is locked" when it upgrades from reading. On
    /// PostgreSQL it takes one transaction-scoped advisory lock, so write
    /// transactions run one at a time there too and every read-then-write
    /// step (one active scan per source, one capture per match) keeps the
    /// guarantee it has on SQLite. Job claims do not take it: they use
    /// `FOR UPDATE SKIP LOCKED`.
    async fn write_transaction(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock(7340001)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Writes a consistent copy of the SQLite database to `file` (which must
    /// not exist; made readable by its owner only) while other processes go
    /// on writing: `VACUUM INTO` reads one snapshot. PostgreSQL is backed up
    /// with its own tools.
    pub async fn backup_into(&self, file: &Path) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            return Err(StoreError::Copy(
                "the database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc DB > reelguard.dump`)".into(),
            ));
        }
        let target = file
            .to_str()
            .ok_or_else(|| StoreError::Copy(format!("{} is not a UTF-8 path", file.display())))?;
        // Made empty and private first: the copy holds the credentials too.
        keep_private(file).map_err(|e| StoreError::Copy(format!("{}: {e}", file.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every (table, column) of the schema, sorted, without the migration
    /// bookkeeping table.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'"
            }
        };
        let mut columns: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
        columns.sort();
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_migration_folders_define_the_same_tables_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open_in(dir.path()).await.unwrap();
        let sqlite_columns = sqlite.schema_columns().await.unwrap();
        sqlite.close().await;
        assert!(sqlite_columns.contains(&("jobs".to_string(), "lease_owner".to_string())));
        let Some(db) = crate::testkit::postgres::TestDatabase::create("schema").await else {
            return;
        };
        let postgres = Store::open(&db.url).await.unwrap();
        let postgres_columns = postgres.schema_columns().await.unwrap();
        postgres.close().await;
        assert_eq!(sqlite_columns, postgres_columns);
    }

    #[tokio::test]
    async fn a_database_of_a_newer_schema_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        refused_when_ahead(&sqlite_url(dir.path())).await;
        if let Some(db) = crate::testkit::postgres::TestDatabase::create("ahead").await {
            refused_when_ahead(&db.url).await;
        }
    }

    /// Opens `url`, records a migration newer than this binary's as applied
    /// (as a newer reelguard would) and opens it again.
    async fn refused_when_ahead(url: &str) {
        let store = Store::open(url).await.unwrap();
        let latest = schema::latest(store.backend);
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, 'from a newer reelguard', TRUE, $2, 0)",
        )
        .bind(latest + 1)
        .bind(vec![0u8; 48])
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;
        let refused = Store::open(url)
            .await
            .err()
            .expect("a newer schema is refused");
        let message = refused.to_string();
        assert!(
            message.contains(&format!("schema version {}", latest + 1))
                && message.contains(&format!("up to {latest}"))
                && message.contains("upgrade it"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn the_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        store.close().await;
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .map(|m| m.permissions().mode() & 0o777)
                .ok()
        };
        assert_eq!(mode("reelguard.db"), Some(0o600));
        for side in ["reelguard.db-wal", "reelguard.db-shm"] {
            assert!(mode(side).is_none_or(|m| m & 0o077 == 0), "{side}");
        }
        // One left open to others by an older version is narrowed.
        std::fs::set_permissions(
            dir.path().join("reelguard.db"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        Store::open_in(dir.path()).await.unwrap().close().await;
        assert_eq!(mode("reelguard.db"), Some(0o600));
    }

    #[test]
    fn messages_hide_the_password() {
        assert_eq!(
            redact_url("postgres://reel:secret@db.example:5432/reel"),
            "postgres://reel:***@db.example:5432/reel"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    /// Two works made the same millisecond-ish: their ids share the time prefix.
    const BIKES: (&str, &str) = ("019aee3f5c2a7b1c8d2e4f60a1b2c3d4", "Bikes");
    const CITY: (&str, &str) = ("019aee3f5c2a7b1c8d2e4f6099e8f7a6", "City at night");

    fn pick_work(query: &str) -> Result<&'static str, Option<String>> {
        pick(query, vec![BIKES, CITY], |w| w.0, |w| Some(w.1)).map(|w| w.0)
    }

    #[test]
    fn a_short_id_is_the_random_end_of_the_id() {
        assert_eq!(short_id(BIKES.0), "a1b2c3d4");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn rows_are_named_by_id_short_id_start_or_title_in_that_order() {
        assert_eq!(pick_work(BIKES.0), Ok(BIKES.0));
        assert_eq!(pick_work("a1b2c3d4"), Ok(BIKES.0));
        assert_eq!(pick_work("c3d4"), Ok(BIKES.0));
        assert_eq!(pick_work("city at NIGHT"), Ok(CITY.0));
        // The shared time prefix names both: listed with titles.
        let both = pick_work("019aee3f").unwrap_err().unwrap();
        assert!(
            both.contains("\"Bikes\"") && both.contains("\"City at night\""),
            "{both}"
        );
        // More of the start names one.
        assert_eq!(pick_work("019aee3f5c2a7b1c8d2e4f60a1"), Ok(BIKES.0));
        assert_eq!(pick_work("nothing"), Err(None));
        // Too short to be taken as an end.
        assert_eq!(pick_work("3d4"), Err(None));
    }

    #[test]
    fn like_patterns_cannot_be_widened_by_the_query() {
        assert_eq!(
            id_patterns("a1b2"),
            ("a1b2%".to_string(), "%a1b2".to_string())
        );
        assert_eq!(id_patterns("a%_"), ("a%".to_string(), String::new()));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_password_with_what_to_do() {
        // Port 1 on 127.0.0.1: nothing listens there.
        let error = Store::open("postgres://reel:secret@127.0.0.1:1/reel")
            .await
            .err()
            .expect("no server")
            .to_string();
        assert!(
            error.contains("postgres://reel:***@127.0.0.1:1/reel"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
        assert!(
            error.contains("is the PostgreSQL server running"),
            "{error}"
        );
    }
}
