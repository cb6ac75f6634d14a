//! The alert outbox (`alerts` table): rows written with their match, then
//! leased, delivered and marked with the server's answer.
//!
//! Exactly once: a row is unique per (match, recipient, channel, location). Rows that
//! go out together share a `batch`; a sender leases a whole batch (state
//! `sending`, owner, expiry) before it sends, and records the outcome for
//! the batch afterwards. A batch left `sending` by a process that died is
//! put back in the queue at start-up (`release_alert_leases`), and one whose
//! lease expired is taken over: it is sent again only because no answer was
//! recorded for it.

use chrono::{DateTime, Utc};

use super::codec::{time, MaybeStoredTime, StoredTime};
use super::{Store, StoreError};
use crate::domain::{AlertState, CaptureState};

/// Who gets alerts for new matches, decided by the `[alerts]` configuration
/// when a match is recorded. The default plan alerts nobody.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertPlan {
    /// (channel, recipient) pairs: `email` and an address, or
    /// `webhook:KIND` and the webhook's recipient name.
    pub targets: Vec<(String, String)>,
    /// Matches scoring below this are not alerted.
    pub min_score: f64,
    /// The end of the current digest window when alerts are gathered into
    /// digests; None sends each alert at once.
    pub digest_at: Option<DateTime<Utc>>,
}

/// A stored outbox row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AlertRecord {
    pub id: String,
    pub match_id: String,
    pub channel: String,
    pub recipient: String,
    pub batch: String,
    #[sqlx(try_from = "StoredTime")]
    pub due_at: DateTime<Utc>,
    pub state: AlertState,
    pub attempts: i64,
    #[sqlx(try_from = "StoredTime")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub server_response: Option<String>,
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The candidate of a new location of an already confirmed match, when
    /// the alert is about that location rather than the match itself.
    pub location_candidate_id: Option<String>,
}

const ALERT_COLUMNS: &str = "id, match_id, channel, recipient, batch, due_at, state, attempts, \
     next_attempt_at, last_error, server_response, created_at, delivered_at, location_candidate_id";

/// Writes the outbox rows of a match just inserted, or of a new location
/// (`location`: its candidate) of a confirmed match (inside the transaction
/// that records it). Returns how many rows were written.
pub(super) async fn enqueue_for_match(
    tx: &mut sqlx::AnyConnection,
    plan: &AlertPlan,
    match_id: &str,
    location: Option<&str>,
    score: f64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if score < plan.min_score {
        return Ok(0);
    }
    let mut written = 0;
    for (channel, recipient) in &plan.targets {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (batch, due_at) = match plan.digest_at {
            Some(at) => (format!("digest:{}:{channel}:{recipient}", time(at)), at),
            None => (format!("alert:{id}"), now),
        };
        written += sqlx::query(
            "INSERT INTO alerts (id, match_id, channel, recipient, batch, due_at, state, \
             next_attempt_at, created_at, location_candidate_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(match_id)
        .bind(channel)
        .bind(recipient)
        .bind(&batch)
        .bind(time(due_at))
        .bind(AlertState::Queued)
        .bind(time(now))
        .bind(location)
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
    /// evidence capture of one of its matches (or of the new location an
    /// alert is about) is still pending, unless that alert was queued
    /// before `capture_wait_since`.
    pub async fn claim_alert_batch(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
        capture_wait_since: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let batch: Option<String> = sqlx::query_scalar(
            "SELECT batch FROM alerts a WHERE ((state = $1 AND next_attempt_at <= $2 AND due_at <= $2) \
             OR (state = $3 AND lease_expires_at < $2)) \
             AND NOT EXISTS (SELECT 1 FROM alerts b WHERE b.batch = a.batch AND b.created_at > $5 \
             AND (EXISTS (SELECT 1 FROM captures c WHERE c.match_id = b.match_id AND c.state = $4) \
             OR EXISTS (SELECT 1 FROM location_captures l WHERE l.match_id = b.match_id \
             AND l.candidate_id = b.location_candidate_id AND l.state = $4))) \
             ORDER BY next_attempt_at, created_at, id LIMIT 1",
        )
        .bind(AlertState::Queued)
        .bind(time(now))
        .bind(AlertState::Sending)
        .bind(CaptureState::Pending)
        .bind(time(capture_wait_since))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(batch) = batch else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "UPDATE alerts SET state = $1, lease_owner = $2, lease_expires_at = $3, \
             attempts = attempts + 1 WHERE batch = $4 AND (state = $5 \
             OR (state = $1 AND lease_expires_at < $6)) RETURNING {ALERT_COLUMNS}"
        );
        let mut alerts: Vec<AlertRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(AlertState::Sending)
            .bind(owner)
            .bind(time(lease_until))
            .bind(&batch)
            .bind(AlertState::Queued)
            .bind(time(now))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
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
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE alerts SET state = $1, server_response = $2, delivered_at = $3, \
             last_error = NULL, lease_owner = NULL, lease_expires_at = NULL \
             WHERE batch = $4 AND lease_owner = $5 AND state = $6",
        )
        .bind(AlertState::Delivered)
        .bind(response)
        .bind(time(now))
        .bind(batch)
        .bind(owner)
        .bind(AlertState::Sending)
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
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let state = match retry_at {
            Some(_) => AlertState::Queued,
            None => AlertState::Failed,
        };
        let result = sqlx::query(
            "UPDATE alerts SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE batch = $4 AND lease_owner = $5 AND state = $6",
        )
        .bind(state)
        .bind(error)
        .bind(retry_at.map(time))
        .bind(batch)
        .bind(owner)
        .bind(AlertState::Sending)
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
            "SELECT DISTINCT lease_owner FROM alerts WHERE state = $1 AND lease_owner IS NOT NULL",
        )
        .bind(AlertState::Sending)
        .fetch_all(&self.pool)
        .await?;
        let mut released = 0;
        for owner in owners.iter().filter(|o| !is_alive(o)) {
            released += sqlx::query(
                "UPDATE alerts SET state = $1, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE state = $2 AND lease_owner = $3",
            )
            .bind(AlertState::Queued)
            .bind(AlertState::Sending)
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(released)
    }

    /// Makes every queued digest due at `now` (the digests go out at the
    /// next delivery instead of at their scheduled time). Returns the rows.
    pub async fn flush_digests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE alerts SET due_at = $1, next_attempt_at = CASE WHEN next_attempt_at < $1 THEN next_attempt_at ELSE $1 END \
             WHERE state = $2 AND batch LIKE 'digest:%' AND due_at > $1",
        )
        .bind(time(now))
        .bind(AlertState::Queued)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Queues every failed alert again with a fresh count of attempts
    /// (after the cause, e.g. a wrong password, was fixed). Returns the rows.
    pub async fn retry_failed_alerts(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.requeue_failed(None, now).await
    }

    /// Queues the alert `id` again with a fresh count of attempts, when it
    /// failed. Returns whether it did (false: no such alert, or not failed).
    pub async fn retry_failed_alert(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.requeue_failed(Some(id), now).await? == 1)
    }

    /// The one way a failed alert goes back to the queue: state queued,
    /// attempts 0, due now; its last error is kept until the next attempt.
    async fn requeue_failed(
        &self,
        id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let update =
            "UPDATE alerts SET state = $1, attempts = 0, next_attempt_at = $2 WHERE state = $3";
        let sql = match id {
            None => update.to_string(),
            Some(_) => format!("{update} AND id = $4"),
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(AlertState::Queued)
            .bind(time(now))
            .bind(AlertState::Failed);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let result = query.execute(&self.pool).await?;
        Ok(result.rows_affected())
    }

    /// One outbox row, if there is one with this id.
    pub async fn get_alert(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every outbox row, newest first (at most `limit`).
    pub async fn list_alerts(&self, limit: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Rows waiting to be sent (queued or sending), and the earliest time one is due.
    pub async fn pending_alerts(&self) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        #[derive(sqlx::FromRow)]
        struct Pending {
            n: i64,
            #[sqlx(try_from = "MaybeStoredTime")]
            next: Option<DateTime<Utc>>,
        }
        let pending: Pending = sqlx::query_as(
            "SELECT COUNT(*) AS n, MIN(CASE WHEN next_attempt_at > due_at THEN next_attempt_at ELSE due_at END) AS next FROM alerts \
             WHERE state IN ($1, $2)",
        )
        .bind(AlertState::Queued)
        .bind(AlertState::Sending)
        .fetch_one(&self.pool)
        .await?;
        Ok((pending.n, pending.next))
    }
}
