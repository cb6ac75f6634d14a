//! Sources (their settings and run state), conditional-GET validators and
//! the YouTube API quota count.

use chrono::{DateTime, Utc};

use super::codec::{json, time, MaybeStoredTime};
use super::{Store, StoreError};
use crate::domain::SourceOrigin;
use crate::source_config::SourceConfig;

/// Conditional-GET validators of an earlier response (ETag, Last-Modified).
#[derive(Clone, Debug, Default, PartialEq, sqlx::FromRow)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A stored source with its run state.
#[derive(Clone, Debug)]
pub struct StoredSource {
    pub config: SourceConfig,
    pub origin: SourceOrigin,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A `sources` row; its settings are checked when read ([`SourceRow::parse`]).
#[derive(sqlx::FromRow)]
struct SourceRow {
    name: String,
    settings: String,
    origin: SourceOrigin,
    #[sqlx(try_from = "MaybeStoredTime")]
    last_run_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "MaybeStoredTime")]
    next_run_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl SourceRow {
    fn parse(self) -> Result<StoredSource, StoreError> {
        let config = serde_json::from_str(&self.settings).map_err(|e| StoreError::BadSource {
            name: self.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(StoredSource {
            config,
            origin: self.origin,
            last_run_at: self.last_run_at,
            next_run_at: self.next_run_at,
            last_error: self.last_error,
        })
    }
}

const SOURCE_COLUMNS: &str = "name, settings, origin, last_run_at, next_run_at, last_error";

impl Store {
    /// Adds a source, or replaces the settings of one with the same name
    /// (keeping its run state).
    pub async fn upsert_source(
        &self,
        config: &SourceConfig,
        origin: SourceOrigin,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let settings = json(config);
        sqlx::query(
            "INSERT INTO sources (name, kind, url, settings, origin, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
             settings = excluded.settings, origin = excluded.origin",
        )
        .bind(&config.name)
        .bind(config.kind.as_str())
        .bind(&config.url)
        .bind(settings)
        .bind(origin)
        .bind(time(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn source_exists(&self, name: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM sources WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub async fn list_sources(&self) -> Result<Vec<StoredSource>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources ORDER BY name");
        let rows: Vec<SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(SourceRow::parse).collect()
    }

    pub async fn get_source(&self, name: &str) -> Result<StoredSource, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE name = $1");
        let row: Option<SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.ok_or_else(|| StoreError::SourceNotFound(name.to_string()))?
            .parse()
    }

    pub async fn remove_source(&self, name: &str) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM sources WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::SourceNotFound(name.to_string()));
        }
        sqlx::query("DELETE FROM http_validators WHERE source = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the end of a scan: when it ran and its error (None clears it).
    pub async fn record_source_run(
        &self,
        name: &str,
        ran_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sources SET last_run_at = $1, last_error = $2 WHERE name = $3")
            .bind(time(ran_at))
            .bind(error)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_next_run(
        &self,
        name: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sources SET next_run_at = $1 WHERE name = $2")
            .bind(next.map(time))
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn validators(
        &self,
        source: &str,
        url: &str,
    ) -> Result<Option<Validators>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT etag, last_modified FROM http_validators WHERE source = $1 AND url = $2",
        )
        .bind(source)
        .bind(url)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn save_validators(
        &self,
        source: &str,
        url: &str,
        validators: &Validators,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO http_validators (source, url, etag, last_modified) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified",
        )
        .bind(source)
        .bind(url)
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends `units` of a source's daily API quota (`day` is the UTC date).
    /// Returns the units used today before this call, or None (spending
    /// nothing) when `units` would exceed `limit`.
    pub async fn spend_quota(
        &self,
        source: &str,
        day: &str,
        units: u32,
        limit: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let row: Option<(Option<String>, i64)> =
            sqlx::query_as("SELECT quota_day, quota_used FROM sources WHERE name = $1")
                .bind(source)
                .fetch_optional(&mut *tx)
                .await?;
        let used = match row {
            Some((quota_day, used)) => {
                if quota_day.as_deref() == Some(day) {
                    used as u32
                } else {
                    0
                }
            }
            None => return Err(StoreError::SourceNotFound(source.to_string())),
        };
        if used + units > limit {
            return Ok(None);
        }
        sqlx::query("UPDATE sources SET quota_day = $1, quota_used = $2 WHERE name = $3")
            .bind(day)
            .bind(i64::from(used + units))
            .bind(source)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(used))
    }
}
