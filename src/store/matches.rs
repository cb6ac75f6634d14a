//! Matches: a candidate that copies a registered work.

use chrono::{DateTime, Utc};

use super::codec::{MaybeStoredTime, StoredJson, StoredTime};
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

const SELECT_MATCHES: &str = "SELECT m.id, m.work_id, w.title AS work_title, m.candidate_id, \
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

    /// The match whose id is `query` or starts with it.
    pub async fn find_match(&self, query: &str) -> Result<MatchRecord, StoreError> {
        let sql = format!("{SELECT_MATCHES} WHERE m.id = $1 OR m.id LIKE $2 ORDER BY m.id LIMIT 6");
        let pattern = format!("{}%", query.replace(['%', '_'], ""));
        let found: Vec<MatchRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(pattern)
            .fetch_all(&self.pool)
            .await?;
        match super::by_id_prefix(query, found, |m| &m.id) {
            Ok(m) => Ok(m),
            Err(None) => Err(StoreError::MatchNotFound(query.to_string())),
            Err(Some(ids)) => Err(StoreError::AmbiguousMatch {
                query: query.to_string(),
                ids,
            }),
        }
    }
}
