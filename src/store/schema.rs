//! How far a database's schema is from this binary's migrations, read
//! without creating or migrating anything (`reelguard doctor`).

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;

use super::{Backend, DatabaseUrl, StoreError};

/// A database's schema against this binary's migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaState {
    /// No database, or one no reelguard has used: the first command makes it.
    Absent,
    /// Every migration of this binary is applied.
    Current { version: i64 },
    /// Older: the next command applies the missing migrations.
    Behind { version: i64, latest: i64 },
    /// Migrated by a newer reelguard: this binary refuses it.
    Ahead { version: i64, latest: i64 },
}

impl SchemaState {
    fn of(applied: Option<i64>, latest: i64) -> SchemaState {
        match applied {
            None => SchemaState::Absent,
            Some(version) if version == latest => SchemaState::Current { version },
            Some(version) if version < latest => SchemaState::Behind { version, latest },
            Some(version) => SchemaState::Ahead { version, latest },
        }
    }
}

/// The newest migration this binary has for `backend`.
pub(super) fn latest(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Connects to the database at `url` (a SQLite file read-only, and only if
/// it exists) and compares its applied migrations with this binary's.
pub async fn schema_state(url: &str) -> Result<SchemaState, StoreError> {
    let target = DatabaseUrl::parse(url)?;
    let backend = target.backend;
    let open_error = |source: sqlx::Error| target.open_error(source);
    const APPLIED: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
    let applied: Option<i64> = match backend {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(open_error)?
                .read_only(true);
            if !options.get_filename().exists() {
                return Ok(SchemaState::Absent);
            }
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .map_err(open_error)?;
            let tracked: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(&mut conn)
            .await?;
            let applied = match tracked {
                0 => None,
                _ => sqlx::query_scalar(APPLIED).fetch_one(&mut conn).await?,
            };
            conn.close().await?;
            applied
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.map_err(open_error)?;
            let tracked: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await?;
            let applied = match tracked {
                false => None,
                true => sqlx::query_scalar(APPLIED).fetch_one(&mut conn).await?,
            };
            conn.close().await?;
            applied
        }
    };
    Ok(SchemaState::of(applied, latest(backend)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_migrations_are_compared_with_the_newest() {
        assert_eq!(SchemaState::of(None, 13), SchemaState::Absent);
        assert_eq!(
            SchemaState::of(Some(13), 13),
            SchemaState::Current { version: 13 }
        );
        assert_eq!(
            SchemaState::of(Some(12), 13),
            SchemaState::Behind {
                version: 12,
                latest: 13
            }
        );
        assert_eq!(
            SchemaState::of(Some(14), 13),
            SchemaState::Ahead {
                version: 14,
                latest: 13
            }
        );
    }

    #[tokio::test]
    async fn a_missing_file_is_absent_and_an_opened_one_current() {
        let dir = tempfile::tempdir().unwrap();
        let url = super::super::sqlite_url(dir.path());
        assert_eq!(schema_state(&url).await.unwrap(), SchemaState::Absent);
        let store = super::super::Store::open(&url).await.unwrap();
        store.close().await;
        assert_eq!(
            schema_state(&url).await.unwrap(),
            SchemaState::Current {
                version: latest(Backend::Sqlite)
            }
        );
    }
}
