//! Sources (their settings and run state), conditional-GET validators and
//! the YouTube API quota count.

use chrono::{DateTime, Utc};

use super::codec::{json, time, MaybeStoredTime};
use super::{Store, StoreError};
use crate::domain::SourceOrigin;
use crate::source_config::{SourceConfig, SourceKind};

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
    /// The API quota spent: units used on the last UTC day counted.
    pub quota_spent: Option<QuotaSpent>,
}

/// API quota units used on one UTC day (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaSpent {
    pub day: String,
    pub used: u32,
}

impl StoredSource {
    /// Whether this kind of source spends a daily API quota
    /// (`quota_per_day`): only `youtube-search` does.
    pub fn has_quota(&self) -> bool {
        self.config.kind == SourceKind::YoutubeSearch
    }

    /// The API quota units left on the UTC day of `now`; None for a kind
    /// without a quota. A day not counted yet has all of `quota_per_day`.
    pub fn quota_left(&self, now: DateTime<Utc>) -> Option<u32> {
        if !self.has_quota() {
            return None;
        }
        // The day `sources::youtube` counts in.
        let today = now.format("%Y-%m-%d").to_string();
        let used = match &self.quota_spent {
            Some(spent) if spent.day == today => spent.used,
            _ => 0,
        };
        Some(self.config.quota_per_day.saturating_sub(used))
    }

    /// When the source runs next: the time a daemon planned, else, once it
    /// has run, the schedule's first firing after `now` in its time zone.
    /// None for a source that never ran (a daemon scans it at once) or
    /// whose schedule does not parse.
    pub fn next_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.next_run_at.is_some() || self.last_run_at.is_none() {
            return self.next_run_at;
        }
        let (schedule, tz) = self.config.cron().ok()?;
        crate::crontab::next_fire(&schedule, tz, now)
    }
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
    quota_day: Option<String>,
    quota_used: i64,
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
            quota_spent: self.quota_day.map(|day| QuotaSpent {
                day,
                used: u32::try_from(self.quota_used).unwrap_or(u32::MAX),
            }),
        })
    }
}

const SOURCE_COLUMNS: &str =
    "name, settings, origin, last_run_at, next_run_at, last_error, quota_day, quota_used";

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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::clock::parse(text).unwrap()
    }

    fn stored(kind: SourceKind) -> StoredSource {
        StoredSource {
            config: SourceConfig::new("s", kind, "https://example.com/"),
            origin: SourceOrigin::Cli,
            last_run_at: None,
            next_run_at: None,
            last_error: None,
            quota_spent: None,
        }
    }

    #[test]
    fn quota_left_counts_the_day_spent_and_only_kinds_with_a_quota() {
        let now = at("2026-03-01T23:59:00.000Z");
        let mut s = stored(SourceKind::YoutubeSearch);
        assert_eq!(s.quota_left(now), Some(10_000));
        s.quota_spent = Some(QuotaSpent {
            day: "2026-03-01".into(),
            used: 300,
        });
        assert_eq!(s.quota_left(now), Some(9_700));
        assert_eq!(s.quota_left(at("2026-03-02T00:01:00.000Z")), Some(10_000));
        assert_eq!(stored(SourceKind::Feed).quota_left(now), None);
    }

    #[test]
    fn the_next_run_is_the_planned_one_else_the_schedule_s_in_its_zone() {
        let now = at("2026-01-01T00:30:00.000Z");
        let mut s = stored(SourceKind::Feed);
        s.config.schedule = "0 9 * * *".into();
        s.config.timezone = "Asia/Shanghai".into();
        assert_eq!(s.next_run(now), None, "never ran: due at once");
        s.last_run_at = Some(now);
        assert_eq!(s.next_run(now), Some(at("2026-01-01T01:00:00.000Z")));
        let planned = at("2026-01-02T01:00:00.000Z");
        s.next_run_at = Some(planned);
        assert_eq!(s.next_run(now), Some(planned));
    }
}
