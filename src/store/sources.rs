//! Sources (their settings and run state), conditional-GET validators and
//! the YouTube API quota count.

use sqlx::Row;

use super::{Store, StoreError};
use crate::sources::config::SourceConfig;
use crate::sources::http::Validators;

/// A stored source with its run state.
#[derive(Clone, Debug)]
pub struct StoredSource {
    pub config: SourceConfig,
    /// `cli` (added with `sources add`) or `config` (from `[[sources]]`).
    pub origin: String,
    pub last_run_at: Option<String>,
    pub next_run_at: Option<String>,
    pub last_error: Option<String>,
}

impl Store {
    /// Adds a source, or replaces the settings of one with the same name
    /// (keeping its run state).
    pub async fn upsert_source(
        &self,
        config: &SourceConfig,
        origin: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let settings = serde_json::to_string(config).expect("a source config serializes");
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
        .bind(now)
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
        let rows = sqlx::query(
            "SELECT name, settings, origin, last_run_at, next_run_at, last_error FROM sources ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(source_from_row).collect()
    }

    pub async fn get_source(&self, name: &str) -> Result<StoredSource, StoreError> {
        let row = sqlx::query(
            "SELECT name, settings, origin, last_run_at, next_run_at, last_error FROM sources WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => source_from_row(&row),
            None => Err(StoreError::SourceNotFound(name.to_string())),
        }
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
        ran_at: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sources SET last_run_at = $1, last_error = $2 WHERE name = $3")
            .bind(ran_at)
            .bind(error)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_next_run(&self, name: &str, next: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE sources SET next_run_at = $1 WHERE name = $2")
            .bind(next)
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
        let row = sqlx::query(
            "SELECT etag, last_modified FROM http_validators WHERE source = $1 AND url = $2",
        )
        .bind(source)
        .bind(url)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some(Validators {
                etag: row.try_get("etag")?,
                last_modified: row.try_get("last_modified")?,
            }),
            None => None,
        })
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
        let row = sqlx::query("SELECT quota_day, quota_used FROM sources WHERE name = $1")
            .bind(source)
            .fetch_optional(&mut *tx)
            .await?;
        let used = match row {
            Some(row) => {
                let quota_day: Option<String> = row.try_get("quota_day")?;
                let used: i64 = row.try_get("quota_used")?;
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

fn source_from_row(row: &sqlx::any::AnyRow) -> Result<StoredSource, StoreError> {
    let name: String = row.try_get("name")?;
    let settings: String = row.try_get("settings")?;
    let config: SourceConfig =
        serde_json::from_str(&settings).map_err(|e| StoreError::BadSource {
            name: name.clone(),
            reason: e.to_string(),
        })?;
    Ok(StoredSource {
        config,
        origin: row.try_get("origin")?,
        last_run_at: row.try_get("last_run_at")?,
        next_run_at: row.try_get("next_run_at")?,
        last_error: row.try_get("last_error")?,
    })
}
