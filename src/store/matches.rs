//! Matches: a candidate that copies a registered work.

use chrono::{DateTime, Utc};

use super::codec::{time, MaybeStoredTime, StoredJson, StoredTime};
use super::{Store, StoreError};
use crate::domain::{MatchStatus, StoredSegment};

/// A match to record: the work, the best segment's score and every segment.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMatch {
    pub work_id: String,
    pub score: f64,
    pub segments: Vec<StoredSegment>,
}

/// A stored match with what the review needs of its candidate and work.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MatchRecord {
    pub id: String,
    pub work_id: String,
    pub work_title: String,
    /// The work's length, seconds.
    pub work_duration_s: f64,
    pub candidate_id: String,
    #[sqlx(rename = "canonical_url")]
    pub candidate_url: String,
    pub platform: String,
    pub uploader: String,
    pub candidate_title: String,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub published_at: Option<DateTime<Utc>>,
    pub media_url: Option<String>,
    pub media_sha256: Option<String>,
    pub source: String,
    /// The scan that discovered the candidate.
    pub scan_id: String,
    pub score: f64,
    pub status: MatchStatus,
    #[sqlx(try_from = "StoredJson<Vec<StoredSegment>>")]
    pub segments: Vec<StoredSegment>,
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
}

/// Which matches a listing shows (every field optional: all of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MatchFilter {
    pub status: Option<MatchStatus>,
    /// A work id.
    pub work: Option<String>,
    /// A source name.
    pub source: Option<String>,
    pub platform: Option<String>,
    /// Found at or after.
    pub since: Option<DateTime<Utc>>,
    /// Found before.
    pub until: Option<DateTime<Utc>>,
}

/// One page of a listing, newest first, and how many match in all.
#[derive(Clone, Debug)]
pub struct MatchPage {
    pub matches: Vec<MatchRecord>,
    pub total: u64,
}

#[derive(sqlx::FromRow)]
struct CaptureFilesRow {
    match_id: String,
    #[sqlx(try_from = "StoredJson<Vec<crate::store::CapturedFile>>")]
    files: Vec<crate::store::CapturedFile>,
}

const SELECT_MATCHES: &str = "SELECT m.id, m.work_id, w.title AS work_title, w.duration_s AS work_duration_s, m.candidate_id, \
     c.canonical_url, c.platform, c.uploader, c.title AS candidate_title, c.published_at, c.media_url, \
     c.media_sha256, c.source, c.scan_id, m.score, m.status, m.segments, m.created_at \
     FROM matches m JOIN candidates c ON c.id = m.candidate_id JOIN works w ON w.id = m.work_id";

impl Store {
    /// Every match, oldest first.
    pub async fn list_matches(&self) -> Result<Vec<MatchRecord>, StoreError> {
        let sql = format!("{SELECT_MATCHES} ORDER BY m.created_at, m.id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// The matches `filter` selects, newest first: `limit` of them after
    /// the first `offset`.
    pub async fn page_of_matches(
        &self,
        filter: &MatchFilter,
        limit: u32,
        offset: u64,
    ) -> Result<MatchPage, StoreError> {
        let mut clauses = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut add = |clause: &str, value: String| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("${}", values.len())));
        };
        if let Some(status) = filter.status {
            add("m.status = ?", status.to_string());
        }
        if let Some(work) = &filter.work {
            add("m.work_id = ?", work.clone());
        }
        if let Some(source) = &filter.source {
            add("c.source = ?", source.clone());
        }
        if let Some(platform) = &filter.platform {
            add("c.platform = ?", platform.clone());
        }
        if let Some(since) = filter.since {
            add("m.created_at >= ?", time(since));
        }
        if let Some(until) = filter.until {
            add("m.created_at < ?", time(until));
        }
        let conditions = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        // The candidates are joined only when a filter needs them; the page's
        // ids come from an index in page order, and only those rows are read
        // whole.
        let from = if filter.source.is_some() || filter.platform.is_some() {
            "matches m JOIN candidates c ON c.id = m.candidate_id"
        } else {
            "matches m"
        };
        let count_sql = format!("SELECT COUNT(*) FROM {from}{conditions}");
        let mut count = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql));
        for value in &values {
            count = count.bind(value);
        }
        let total: i64 = count.fetch_one(&self.pool).await?;
        let ids_sql = format!(
            "SELECT m.id FROM {from}{conditions} ORDER BY m.created_at DESC, m.id DESC \
             LIMIT {limit} OFFSET {offset}"
        );
        let mut ids = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(ids_sql));
        for value in &values {
            ids = ids.bind(value);
        }
        let ids = ids.fetch_all(&self.pool).await?;
        let matches = if ids.is_empty() {
            Vec::new()
        } else {
            let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let page_sql = format!(
                "{SELECT_MATCHES} WHERE m.id IN ({}) ORDER BY m.created_at DESC, m.id DESC",
                marks.join(", ")
            );
            let mut page = sqlx::query_as(sqlx::AssertSqlSafe(page_sql));
            for id in &ids {
                page = page.bind(id);
            }
            page.fetch_all(&self.pool).await?
        };
        Ok(MatchPage {
            matches,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// The captured files of each of `match_ids` that has a capture.
    pub async fn capture_files_of(
        &self,
        match_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<crate::store::CapturedFile>>, StoreError>
    {
        if match_ids.is_empty() {
            return Ok(Default::default());
        }
        let marks: Vec<String> = (1..=match_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT match_id, files FROM captures WHERE match_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, CaptureFilesRow>(sqlx::AssertSqlSafe(sql));
        for id in match_ids {
            query = query.bind(id);
        }
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| (row.match_id, row.files))
            .collect())
    }

    /// Matches by status, for the metrics.
    pub async fn match_counts(&self) -> Result<Vec<(MatchStatus, u64)>, StoreError> {
        let rows: Vec<(MatchStatus, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM matches GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// The matches recorded for one candidate.
    pub async fn matches_of_candidate(
        &self,
        candidate_id: &str,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        let sql = format!("{SELECT_MATCHES} WHERE m.candidate_id = $1 ORDER BY m.id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(candidate_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The match `query` names: its id, its short id (the end of its id,
    /// at least 4 characters) or the start of its id, in that order of
    /// preference.
    pub async fn find_match(&self, query: &str) -> Result<MatchRecord, StoreError> {
        let sql = format!(
            "{SELECT_MATCHES} WHERE m.id = $1 OR m.id LIKE $2 OR m.id LIKE $3 \
             ORDER BY CASE WHEN m.id = $1 THEN 0 WHEN m.id LIKE $3 THEN 1 ELSE 2 END, m.id LIMIT 6"
        );
        let (start, end) = super::id_patterns(query);
        let found: Vec<MatchRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await?;
        match super::pick(query, found, |m| &m.id, |_| None) {
            Ok(m) => Ok(m),
            Err(None) => Err(StoreError::MatchNotFound(query.to_string())),
            Err(Some(ids)) => Err(StoreError::AmbiguousMatch {
                query: query.to_string(),
                ids,
            }),
        }
    }
}
