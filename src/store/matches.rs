//! Matches: a candidate that copies a registered work.

use sqlx::Row;

use super::{Store, StoreError};

/// A match to record: the work, the best segment's score and every segment (JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct NewMatch {
    pub work_id: String,
    pub score: f64,
    /// JSON list of segments (query and work time ranges, frames, speed).
    pub segments: String,
}

/// A stored match with what the review needs of its candidate and work.
#[derive(Clone, Debug)]
pub struct MatchRecord {
    pub id: String,
    pub work_id: String,
    pub work_title: String,
    pub candidate_id: String,
    pub candidate_url: String,
    pub platform: String,
    pub uploader: String,
    pub candidate_title: String,
    pub published_at: Option<String>,
    pub media_url: Option<String>,
    pub media_sha256: Option<String>,
    pub source: String,
    /// The scan that discovered the candidate.
    pub scan_id: String,
    pub score: f64,
    pub status: String,
    pub segments: String,
    pub created_at: String,
}

const SELECT_MATCHES: &str = "SELECT m.id, m.work_id, w.title AS work_title, m.candidate_id, \
     c.canonical_url, c.platform, c.uploader, c.title AS candidate_title, c.published_at, c.media_url, \
     c.media_sha256, c.source, c.scan_id, m.score, m.status, m.segments, m.created_at \
     FROM matches m JOIN candidates c ON c.id = m.candidate_id JOIN works w ON w.id = m.work_id";

impl Store {
    /// Every match, oldest first.
    pub async fn list_matches(&self) -> Result<Vec<MatchRecord>, StoreError> {
        let sql = format!("{SELECT_MATCHES} ORDER BY m.created_at, m.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(match_from_row).collect()
    }

    /// The matches recorded for one candidate.
    pub async fn matches_of_candidate(
        &self,
        candidate_id: &str,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        let sql = format!("{SELECT_MATCHES} WHERE m.candidate_id = $1 ORDER BY m.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(candidate_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(match_from_row).collect()
    }

    /// The match whose id is `query` or starts with it.
    pub async fn find_match(&self, query: &str) -> Result<MatchRecord, StoreError> {
        let sql = format!("{SELECT_MATCHES} WHERE m.id = $1 OR m.id LIKE $2 ORDER BY m.id LIMIT 6");
        let pattern = format!("{}%", query.replace(['%', '_'], ""));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(pattern)
            .fetch_all(&self.pool)
            .await?;
        let found: Vec<MatchRecord> = rows.iter().map(match_from_row).collect::<Result<_, _>>()?;
        if let Some(exact) = found.iter().find(|m| m.id == query) {
            return Ok(exact.clone());
        }
        match found.len() {
            0 => Err(StoreError::MatchNotFound(query.to_string())),
            1 => Ok(found.into_iter().next().expect("one match")),
            _ => Err(StoreError::AmbiguousMatch {
                query: query.to_string(),
                ids: found
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

fn match_from_row(row: &sqlx::any::AnyRow) -> Result<MatchRecord, StoreError> {
    Ok(MatchRecord {
        id: row.try_get("id")?,
        work_id: row.try_get("work_id")?,
        work_title: row.try_get("work_title")?,
        candidate_id: row.try_get("candidate_id")?,
        candidate_url: row.try_get("canonical_url")?,
        platform: row.try_get("platform")?,
        uploader: row.try_get("uploader")?,
        candidate_title: row.try_get("candidate_title")?,
        published_at: row.try_get("published_at")?,
        media_url: row.try_get("media_url")?,
        media_sha256: row.try_get("media_sha256")?,
        source: row.try_get("source")?,
        scan_id: row.try_get("scan_id")?,
        score: row.try_get("score")?,
        status: row.try_get("status")?,
        segments: row.try_get("segments")?,
        created_at: row.try_get("created_at")?,
    })
}
