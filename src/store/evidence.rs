//! Evidence state: each match's capture (its state, files and token) and
//! the review history of its status.

use sqlx::Row;

use super::jobs::{finish_job, finish_scan_if_complete, new_id};
use super::{Job, Store, StoreError};

/// Every status a match can have, in review order.
pub const MATCH_STATUSES: [&str; 6] = [
    "pending",
    "confirmed",
    "dismissed",
    "licensed",
    "claimed",
    "resolved",
];

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
#[derive(Clone, Debug)]
pub struct CaptureRecord {
    pub match_id: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub files: Vec<CapturedFile>,
    pub manifest_sha256: Option<String>,
    pub token: Option<Vec<u8>>,
    pub tsa_url: Option<String>,
    pub tsa_time: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// One recorded change of a match's status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatusChange {
    pub from: String,
    pub to: String,
    pub note: Option<String>,
    pub at: String,
}

/// What a finished capture attempt stores.
pub struct CaptureOutcome<'a> {
    pub files: &'a [CapturedFile],
    pub manifest_sha256: Option<&'a str>,
    pub token: Option<&'a [u8]>,
    pub tsa_url: Option<&'a str>,
    pub tsa_time: Option<&'a str>,
    /// None when the capture is complete.
    pub error: Option<&'a str>,
}

/// The job id of a match's capture: one job per match.
pub fn capture_job_id(match_id: &str) -> String {
    format!("capture-{match_id}")
}

/// Queues the capture of a new match (inside the transaction that records
/// it). The job belongs to the scan, so `reelguard scan` runs it before it
/// returns.
pub(super) async fn queue_capture(
    tx: &mut sqlx::AnyConnection,
    match_id: &str,
    scan_id: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO captures (match_id, state, created_at) VALUES ($1, 'pending', $2) \
         ON CONFLICT (match_id) DO NOTHING",
    )
    .bind(match_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (id, kind, subject, scan_id, state, max_attempts, run_after, created_at, updated_at) \
         VALUES ($1, 'capture', $2, $3, 'queued', $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(capture_job_id(match_id))
    .bind(match_id)
    .bind(scan_id)
    .bind(CAPTURE_MAX_ATTEMPTS)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// The capture of a match (a pending one when none was queued yet).
    pub async fn capture(&self, match_id: &str) -> Result<CaptureRecord, StoreError> {
        let row = sqlx::query(
            "SELECT match_id, state, attempts, error, files, manifest_sha256, token, tsa_url, \
             tsa_time, started_at, finished_at FROM captures WHERE match_id = $1",
        )
        .bind(match_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(CaptureRecord {
                match_id: match_id.to_string(),
                state: "pending".into(),
                attempts: 0,
                error: None,
                files: Vec::new(),
                manifest_sha256: None,
                token: None,
                tsa_url: None,
                tsa_time: None,
                started_at: None,
                finished_at: None,
            });
        };
        let files: String = row.try_get("files")?;
        Ok(CaptureRecord {
            match_id: row.try_get("match_id")?,
            state: row.try_get("state")?,
            attempts: row.try_get("attempts")?,
            error: row.try_get("error")?,
            files: serde_json::from_str(&files).map_err(|e| StoreError::Damaged {
                work_id: match_id.to_string(),
                reason: format!("capture file list: {e}"),
            })?,
            manifest_sha256: row.try_get("manifest_sha256")?,
            token: row.try_get("token")?,
            tsa_url: row.try_get("tsa_url")?,
            tsa_time: row.try_get("tsa_time")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }

    /// Records the start of a capture attempt.
    pub async fn start_capture(&self, match_id: &str, now: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO captures (match_id, state, attempts, started_at, created_at) \
             VALUES ($1, 'pending', 1, $2, $3) ON CONFLICT (match_id) DO UPDATE SET \
             attempts = captures.attempts + 1, started_at = excluded.started_at",
        )
        .bind(match_id)
        .bind(now)
        .bind(now)
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
        retry_at: Option<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let files = serde_json::to_string(outcome.files).expect("file lists serialise");
        let state = if outcome.error.is_none() {
            "done"
        } else {
            "failed"
        };
        sqlx::query(
            "UPDATE captures SET state = $1, error = $2, files = $3, manifest_sha256 = $4, token = $5, \
             tsa_url = $6, tsa_time = $7, finished_at = $8 WHERE match_id = $9",
        )
        .bind(state)
        .bind(outcome.error)
        .bind(files)
        .bind(outcome.manifest_sha256)
        .bind(outcome.token)
        .bind(outcome.tsa_url)
        .bind(outcome.tsa_time)
        .bind(now)
        .bind(match_id)
        .execute(&mut *tx)
        .await?;
        if let Some(job) = job {
            match (outcome.error, retry_at) {
                (Some(error), Some(retry_at)) => {
                    sqlx::query(
                        "UPDATE jobs SET state = 'queued', scan_id = NULL, lease_owner = NULL, \
                         lease_expires_at = NULL, last_error = $1, run_after = $2, updated_at = $3 WHERE id = $4",
                    )
                    .bind(error)
                    .bind(retry_at)
                    .bind(now)
                    .bind(&job.id)
                    .execute(&mut *tx)
                    .await?;
                }
                (Some(error), None) => {
                    finish_job(&mut tx, &job.id, "failed", Some(error), now).await?
                }
                (None, _) => finish_job(&mut tx, &job.id, "done", None, now).await?,
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
        now: &str,
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

    /// Changes a match's status and records the change. Refuses changes the
    /// review flow does not allow (see [`allowed_transition`]).
    pub async fn set_match_status(
        &self,
        match_id: &str,
        to: &str,
        note: Option<&str>,
        now: &str,
    ) -> Result<StatusChange, StoreError> {
        let mut tx = self.write_transaction().await?;
        let from: String = sqlx::query("SELECT status FROM matches WHERE id = $1")
            .bind(match_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::MatchNotFound(match_id.to_string()))?
            .try_get("status")?;
        if !allowed_transition(&from, to) {
            return Err(StoreError::BadTransition {
                id: match_id.to_string(),
                from,
                to: to.to_string(),
            });
        }
        sqlx::query("UPDATE matches SET status = $1 WHERE id = $2")
            .bind(to)
            .bind(match_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO match_status_history (id, match_id, from_status, to_status, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(match_id)
        .bind(&from)
        .bind(to)
        .bind(note)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StatusChange {
            from,
            to: to.to_string(),
            note: note.map(str::to_string),
            at: now.to_string(),
        })
    }

    /// A match's status changes, oldest first.
    pub async fn status_history(&self, match_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_status, to_status, note, at FROM match_status_history \
             WHERE match_id = $1 ORDER BY at, id",
        )
        .bind(match_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatusChange {
                    from: row.try_get("from_status")?,
                    to: row.try_get("to_status")?,
                    note: row.try_get("note")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }
}

/// The review flow: a pending match is confirmed, dismissed or licensed (a
/// reviewer may change their mind among those); only a confirmed match is
/// claimed, and only a claimed one resolved.
pub fn allowed_transition(from: &str, to: &str) -> bool {
    let reviewed = ["pending", "confirmed", "dismissed", "licensed"];
    match to {
        "confirmed" | "dismissed" | "licensed" => reviewed.contains(&from) && from != to,
        "claimed" => from == "confirmed",
        "resolved" => from == "claimed",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::allowed_transition;

    #[test]
    fn review_flow() {
        assert!(allowed_transition("pending", "confirmed"));
        assert!(allowed_transition("dismissed", "confirmed"));
        assert!(allowed_transition("confirmed", "claimed"));
        assert!(allowed_transition("claimed", "resolved"));
        assert!(!allowed_transition("pending", "claimed"));
        assert!(!allowed_transition("pending", "resolved"));
        assert!(!allowed_transition("claimed", "dismissed"));
        assert!(!allowed_transition("confirmed", "confirmed"));
        assert!(!allowed_transition("pending", "pending"));
    }
}
