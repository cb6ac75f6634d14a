//! The alert outbox (`alerts` table): rows written with their match, then
//! leased, delivered and marked with the server's answer.
//!
//! Exactly once: a row is unique per (match, recipient, channel). Rows that
//! go out together share a `batch`; a sender leases a whole batch (state
//! `sending`, owner, expiry) before it sends, and records the outcome for
//! the batch afterwards. A batch left `sending` by a process that died is
//! put back in the queue at start-up (`release_alert_leases`), and one whose
//! lease expired is taken over: it is sent again only because no answer was
//! recorded for it.

use sqlx::Row;

use super::{Store, StoreError};

/// Who gets alerts for new matches, decided by the `[alerts]` configuration
/// when a match is recorded. The default plan alerts nobody.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertPlan {
    /// (channel, recipient) pairs: `email` and an address, or
    /// `webhook:KIND` and the webhook's recipient name.
    pub targets: Vec<(String, String)>,
    /// Matches scoring below this are not alerted.
    pub min_score: f64,
    /// The end of the current digest window (RFC 3339) when alerts are
    /// gathered into digests; None sends each alert at once.
    pub digest_at: Option<String>,
}

/// A stored outbox row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AlertRecord {
    pub id: String,
    pub match_id: String,
    pub channel: String,
    pub recipient: String,
    pub batch: String,
    pub due_at: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub server_response: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

const ALERT_COLUMNS: &str = "id, match_id, channel, recipient, batch, due_at, state, attempts, \
     next_attempt_at, last_error, server_response, created_at, delivered_at";

/// Writes the outbox rows of a match just inserted (inside its transaction).
/// Returns how many rows were written.
pub(super) async fn enqueue_for_match(
    tx: &mut sqlx::AnyConnection,
    plan: &AlertPlan,
    match_id: &str,
    score: f64,
    now: &str,
) -> Result<u64, StoreError> {
    if score < plan.min_score {
        return Ok(0);
    }
    let mut written = 0;
    for (channel, recipient) in &plan.targets {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (batch, due_at) = match &plan.digest_at {
            Some(at) => (format!("digest:{at}:{channel}:{recipient}"), at.as_str()),
            None => (format!("alert:{id}"), now),
        };
        written += sqlx::query(
            "INSERT INTO alerts (id, match_id, channel, recipient, batch, due_at, state, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8) \
             ON CONFLICT (match_id, recipient, channel) DO NOTHING",
        )
        .bind(&id)
        .bind(match_id)
        .bind(channel)
        .bind(recipient)
        .bind(&batch)
        .bind(due_at)
        .bind(due_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    Ok(written)
}

impl Store {
    /// Leases the next batch that is due (queued and past its next attempt,
    /// or `sending` with an expired lease) and returns its rows, oldest
    /// first; each row's attempt is counted. A batch waits while the
    /// evidence capture of one of its matches is still pending, unless that
    /// alert was queued before `capture_wait_since`.
    pub async fn claim_alert_batch(
        &self,
        owner: &str,
        lease_until: &str,
        now: &str,
        capture_wait_since: &str,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let batch: Option<String> = sqlx::query_scalar(
            "SELECT batch FROM alerts a WHERE ((state = 'queued' AND next_attempt_at <= $1 AND due_at <= $2) \
             OR (state = 'sending' AND lease_expires_at < $3)) \
             AND NOT EXISTS (SELECT 1 FROM alerts b JOIN captures c ON c.match_id = b.match_id \
             WHERE b.batch = a.batch AND c.state = 'pending' AND b.created_at > $4) \
             ORDER BY next_attempt_at, created_at, id LIMIT 1",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(capture_wait_since)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(batch) = batch else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "UPDATE alerts SET state = 'sending', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1 WHERE batch = $3 AND (state = 'queued' \
             OR (state = 'sending' AND lease_expires_at < $4)) RETURNING {ALERT_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(&batch)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut alerts: Vec<AlertRecord> =
            rows.iter().map(alert_from_row).collect::<Result<_, _>>()?;
        alerts.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(alerts)
    }

    /// Records a delivered batch with the server's answer. Only the
    /// lease holder's rows change; returns how many did.
    pub async fn mark_alerts_delivered(
        &self,
        batch: &str,
        owner: &str,
        response: &str,
        now: &str,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE alerts SET state = 'delivered', server_response = $1, delivered_at = $2, \
             last_error = NULL, lease_owner = NULL, lease_expires_at = NULL \
             WHERE batch = $3 AND lease_owner = $4 AND state = 'sending'",
        )
        .bind(response)
        .bind(now)
        .bind(batch)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Records a failed attempt: back in the queue until `retry_at`, or
    /// `failed` for good when `retry_at` is None.
    pub async fn mark_alerts_failed(
        &self,
        batch: &str,
        owner: &str,
        error: &str,
        retry_at: Option<&str>,
    ) -> Result<u64, StoreError> {
        let state = if retry_at.is_some() {
            "queued"
        } else {
            "failed"
        };
        let result = sqlx::query(
            "UPDATE alerts SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE batch = $4 AND lease_owner = $5 AND state = 'sending'",
        )
        .bind(state)
        .bind(error)
        .bind(retry_at)
        .bind(batch)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Puts batches leased by processes that `is_alive` says are gone back
    /// in the queue (their sends never recorded an answer). Returns the rows.
    pub async fn release_alert_leases(
        &self,
        is_alive: impl Fn(&str) -> bool,
    ) -> Result<u64, StoreError> {
        let owners: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT lease_owner FROM alerts WHERE state = 'sending' AND lease_owner IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut released = 0;
        for owner in owners.iter().filter(|o| !is_alive(o)) {
            released += sqlx::query(
                "UPDATE alerts SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL \
                 WHERE state = 'sending' AND lease_owner = $1",
            )
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(released)
    }

    /// Makes every queued digest due at `now` (the digests go out at the
    /// next delivery instead of at their scheduled time). Returns the rows.
    pub async fn flush_digests(&self, now: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE alerts SET due_at = $1, next_attempt_at = CASE WHEN next_attempt_at < $2 THEN next_attempt_at ELSE $3 END \
             WHERE state = 'queued' AND batch LIKE 'digest:%' AND due_at > $4",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Queues every failed alert again with a fresh count of attempts
    /// (after the cause, e.g. a wrong password, was fixed). Returns the rows.
    pub async fn retry_failed_alerts(&self, now: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE alerts SET state = 'queued', attempts = 0, next_attempt_at = $1 WHERE state = 'failed'",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Every outbox row, newest first (at most `limit`).
    pub async fn list_alerts(&self, limit: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Rows waiting to be sent (queued or sending), and the earliest time one is due.
    pub async fn pending_alerts(&self) -> Result<(i64, Option<String>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(CASE WHEN next_attempt_at > due_at THEN next_attempt_at ELSE due_at END) AS next FROM alerts \
             WHERE state IN ('queued', 'sending')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("next")?))
    }
}

fn alert_from_row(row: &sqlx::any::AnyRow) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: row.try_get("id")?,
        match_id: row.try_get("match_id")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        batch: row.try_get("batch")?,
        due_at: row.try_get("due_at")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        server_response: row.try_get("server_response")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}
