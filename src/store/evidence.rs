//! Evidence state: each match's capture (its state, files and token) and
//! the review history of its status.

use chrono::{DateTime, Utc};

use super::codec::{json, time, MaybeStoredTime, StoredJson, StoredTime};
use super::jobs::{finish_scan_if_complete, new_id};
use super::queue::{self, Job};
use super::{Store, StoreError};
use crate::domain::{CaptureState, JobKind, JobState, MatchStatus};

/// How many times a capture job runs before it is left failed (a later
/// `evidence capture MATCH` still retries it).
const CAPTURE_MAX_ATTEMPTS: i64 = 3;

/// One file of a capture: its path in the bundle and its blob's hash.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CapturedFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// A match's capture.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CaptureRecord {
    pub match_id: String,
    pub state: CaptureState,
    pub attempts: i64,
    pub error: Option<String>,
    #[sqlx(try_from = "StoredJson<Vec<CapturedFile>>")]
    pub files: Vec<CapturedFile>,
    pub manifest_sha256: Option<String>,
    pub token: Option<Vec<u8>>,
    pub tsa_url: Option<String>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub tsa_time: Option<DateTime<Utc>>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub started_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// One recorded change of a match's status.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StatusChange {
    #[sqlx(rename = "from_status")]
    pub from: MatchStatus,
    #[sqlx(rename = "to_status")]
    pub to: MatchStatus,
    pub note: Option<String>,
    #[sqlx(try_from = "StoredTime")]
    pub at: DateTime<Utc>,
    /// The name of the token that made the change in the dashboard or the
    /// API; `None` on the command line.
    pub actor: Option<String>,
}

/// What a finished capture attempt stores.
pub struct CaptureOutcome<'a> {
    pub files: &'a [CapturedFile],
    pub manifest_sha256: Option<&'a str>,
    pub token: Option<&'a [u8]>,
    pub tsa_url: Option<&'a str>,
    pub tsa_time: Option<DateTime<Utc>>,
    /// None when the capture is complete.
    pub error: Option<&'a str>,
}

/// Queues the capture of a new match (inside the transaction that records
/// it). The job belongs to the scan, so `reelguard scan` runs it before it
/// returns.
pub(super) async fn queue_capture(
    tx: &mut sqlx::AnyConnection,
    match_id: &str,
    scan_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO captures (match_id, state, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (match_id) DO NOTHING",
    )
    .bind(match_id)
    .bind(CaptureState::Pending)
    .bind(time(now))
    .execute(&mut *tx)
    .await?;
    queue::insert(
        tx,
        JobKind::Capture,
        match_id,
        scan_id,
        CAPTURE_MAX_ATTEMPTS,
        now,
    )
    .await
}

impl Store {
    /// The capture of a match (a pending one when none was queued yet).
    pub async fn capture(&self, match_id: &str) -> Result<CaptureRecord, StoreError> {
        let row: Option<CaptureRecord> = sqlx::query_as(
            "SELECT match_id, state, attempts, error, files, manifest_sha256, token, tsa_url, \
             tsa_time, started_at, finished_at FROM captures WHERE match_id = $1",
        )
        .bind(match_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.unwrap_or_else(|| CaptureRecord {
            match_id: match_id.to_string(),
            state: CaptureState::Pending,
            attempts: 0,
            error: None,
            files: Vec::new(),
            manifest_sha256: None,
            token: None,
            tsa_url: None,
            tsa_time: None,
            started_at: None,
            finished_at: None,
        }))
    }

    /// Records the start of a capture attempt.
    pub async fn start_capture(
        &self,
        match_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO captures (match_id, state, attempts, started_at, created_at) \
             VALUES ($1, $2, 1, $3, $3) ON CONFLICT (match_id) DO UPDATE SET \
             attempts = captures.attempts + 1, started_at = excluded.started_at",
        )
        .bind(match_id)
        .bind(CaptureState::Pending)
        .bind(time(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records what a capture attempt produced and finishes its job: done,
    /// or queued again at `retry_at` (outside its scan, so the scan is not
    /// held up), or failed when `retry_at` is None.
    pub async fn finish_capture(
        &self,
        job: Option<&Job>,
        match_id: &str,
        outcome: &CaptureOutcome<'_>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let state = match outcome.error {
            None => CaptureState::Done,
            Some(_) => CaptureState::Failed,
        };
        sqlx::query(
            "UPDATE captures SET state = $1, error = $2, files = $3, manifest_sha256 = $4, token = $5, \
             tsa_url = $6, tsa_time = $7, finished_at = $8 WHERE match_id = $9",
        )
        .bind(state)
        .bind(outcome.error)
        .bind(json(outcome.files))
        .bind(outcome.manifest_sha256)
        .bind(outcome.token)
        .bind(outcome.tsa_url)
        .bind(outcome.tsa_time.map(time))
        .bind(time(now))
        .bind(match_id)
        .execute(&mut *tx)
        .await?;
        if let Some(job) = job {
            match (outcome.error, retry_at) {
                (Some(error), Some(retry_at)) => {
                    queue::requeue(&mut tx, &job.id, error, retry_at, true, now).await?
                }
                (Some(error), None) => {
                    queue::finish(&mut tx, &job.id, JobState::Failed, Some(error), now).await?
                }
                (None, _) => queue::finish(&mut tx, &job.id, JobState::Done, None, now).await?,
            }
            finish_scan_if_complete(&mut tx, job.scan_id.as_deref(), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Leaves a capture failed whose job kept stopping its process.
    pub async fn give_up_capture(
        &self,
        job: &Job,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let outcome = CaptureOutcome {
            files: &[],
            manifest_sha256: None,
            token: None,
            tsa_url: None,
            tsa_time: None,
            error: Some(error),
        };
        self.finish_capture(Some(job), &job.subject, &outcome, None, now)
            .await
    }

    /// Changes a match's status and records the change with who made it
    /// (`actor`: a token's name, `None` on the command line). Refuses
    /// changes the review flow does not allow (see [`MatchStatus::can_become`]).
    pub async fn set_match_status(
        &self,
        match_id: &str,
        to: MatchStatus,
        note: Option<&str>,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StatusChange, StoreError> {
        let mut tx = self.write_transaction().await?;
        let from: MatchStatus = sqlx::query_scalar("SELECT status FROM matches WHERE id = $1")
            .bind(match_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::MatchNotFound(match_id.to_string()))?;
        if !from.can_become(to) {
            return Err(StoreError::BadTransition {
                id: match_id.to_string(),
                from,
                to,
            });
        }
        sqlx::query("UPDATE matches SET status = $1 WHERE id = $2")
            .bind(to)
            .bind(match_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO match_status_history (id, match_id, from_status, to_status, note, at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(match_id)
        .bind(from)
        .bind(to)
        .bind(note)
        .bind(time(now))
        .bind(actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StatusChange {
            from,
            to,
            note: note.map(str::to_string),
            at: now,
            actor: actor.map(str::to_string),
        })
    }

    /// A match's status changes, oldest first.
    pub async fn status_history(&self, match_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT from_status, to_status, note, at, actor FROM match_status_history \
             WHERE match_id = $1 ORDER BY at, id",
        )
        .bind(match_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
