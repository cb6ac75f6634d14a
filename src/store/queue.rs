//! The persisted job queue that scans, candidates and captures stand on
//! (the alert outbox leases whole batches of its own rows the same way:
//! owner, expiry, take-over; see `alerts.rs`).
//!
//! A job is one row of `jobs`, id `KIND:SUBJECT`, so a subject has at most
//! one job of a kind. Claiming leases it (owner, expiry) and counts the
//! attempt; a job whose lease expired is claimed again by anyone. Each
//! job's outcome is written by the caller in the same transaction that
//! finishes the job ([`finish`]), so a crash leaves the whole step or none
//! of it. Only kinds this binary knows are claimed.

use chrono::{DateTime, Utc};

use super::codec::time;
use super::{Backend, Store, StoreError};
use crate::domain::{JobKind, JobState, Named};

/// A leased job.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    /// A source name (scan), a candidate id (candidate) or a match id (capture).
    pub subject: String,
    pub scan_id: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// Which jobs a claim may take.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFilter {
    /// Only jobs of these kinds (a node's roles).
    pub kinds: Vec<JobKind>,
    /// Only jobs of these scans (`reelguard scan` runs its own).
    pub scans: Option<Vec<String>>,
}

impl JobFilter {
    /// Any job of a kind this binary knows.
    pub fn all() -> JobFilter {
        JobFilter {
            kinds: JobKind::ALL.to_vec(),
            scans: None,
        }
    }

    /// Any job of the given scans.
    pub fn of_scans(scans: &[String]) -> JobFilter {
        JobFilter {
            scans: Some(scans.to_vec()),
            ..JobFilter::all()
        }
    }
}

/// The id of the job of `kind` for `subject`: one such job per subject.
pub fn job_id(kind: JobKind, subject: &str) -> String {
    format!("{kind}:{subject}")
}

/// Queues the job of `kind` for `subject` (nothing when it exists).
pub(super) async fn insert(
    tx: &mut sqlx::AnyConnection,
    kind: JobKind,
    subject: &str,
    scan_id: Option<&str>,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, subject, scan_id, state, max_attempts, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
    )
    .bind(job_id(kind, subject))
    .bind(kind)
    .bind(subject)
    .bind(scan_id)
    .bind(JobState::Queued)
    .bind(max_attempts)
    .bind(time(now))
    .bind(time(now))
    .bind(time(now))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Ends a job (done or failed), inside the transaction of its outcome.
pub(super) async fn finish(
    tx: &mut sqlx::AnyConnection,
    job_id: &str,
    state: JobState,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(error)
    .bind(time(now))
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Puts a job back in the queue to run at `run_after` (after a transient
/// failure), detached from its scan when `detach` (so the scan does not
/// wait for the retry).
pub(super) async fn requeue(
    tx: &mut sqlx::AnyConnection,
    job_id: &str,
    error: &str,
    run_after: DateTime<Utc>,
    detach: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = $1, scan_id = CASE WHEN $2 = 1 THEN NULL ELSE scan_id END, \
         lease_owner = NULL, lease_expires_at = NULL, last_error = $3, run_after = $4, updated_at = $5 \
         WHERE id = $6",
    )
    .bind(JobState::Queued)
    .bind(i64::from(detach))
    .bind(error)
    .bind(time(run_after))
    .bind(time(now))
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// Leases the next ready job (queued and due, or running with an expired
    /// lease) that `filter` lets through.
    pub async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
        filter: &JobFilter,
    ) -> Result<Option<Job>, StoreError> {
        let kinds = &filter.kinds;
        let scans = filter.scans.as_deref();
        if kinds.is_empty() {
            return Ok(None);
        }
        let first_kind = 6;
        let first_scan = first_kind + kinds.len();
        let placeholders = |from: usize, count: usize| {
            (from..from + count)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let scan_filter = match scans {
            Some([]) => return Ok(None),
            Some(ids) => format!(" AND scan_id IN ({})", placeholders(first_scan, ids.len())),
            None => String::new(),
        };
        // On PostgreSQL two claims at once must not pick the same row: the
        // inner SELECT locks it and skips rows another claim has locked.
        // SQLite runs one writer at a time, so the plain subquery is enough.
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET state = $1, lease_owner = $2, lease_expires_at = $3, \
             attempts = attempts + 1, updated_at = $4 \
             WHERE id = (SELECT id FROM jobs WHERE ((state = $5 AND run_after <= $4) \
             OR (state = $1 AND lease_expires_at < $4)) AND kind IN ({kinds}){scan_filter} \
             ORDER BY run_after, created_at, id LIMIT 1{lock}) \
             RETURNING id, kind, subject, scan_id, attempts, max_attempts",
            kinds = placeholders(first_kind, kinds.len()),
        );
        let mut query = sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql))
            .bind(JobState::Running)
            .bind(owner)
            .bind(time(lease_until))
            .bind(time(now))
            .bind(JobState::Queued);
        for kind in kinds.iter() {
            query = query.bind(*kind);
        }
        for id in scans.unwrap_or(&[]) {
            query = query.bind(id);
        }
        Ok(query.fetch_optional(&self.pool).await?)
    }

    /// Extends a lease this owner holds; false when the lease was lost.
    pub async fn renew_lease(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = $4",
        )
        .bind(time(lease_until))
        .bind(job_id)
        .bind(owner)
        .bind(JobState::Running)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Puts running jobs back in the queue: those of `owner` (a graceful
    /// stop: the attempt is not counted), or (None) those whose owner
    /// `is_alive` says is gone (a crash: the attempt counts, so a job that
    /// keeps killing its process is given up after `max_attempts`).
    pub async fn release_leases(
        &self,
        owner: Option<&str>,
        is_alive: impl Fn(&str) -> bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Lease {
            id: String,
            lease_owner: Option<String>,
        }
        let leases: Vec<Lease> =
            sqlx::query_as("SELECT id, lease_owner FROM jobs WHERE state = $1")
                .bind(JobState::Running)
                .fetch_all(&self.pool)
                .await?;
        let mut released = 0;
        for lease in leases {
            let lease_owner = lease.lease_owner.unwrap_or_default();
            let release = match owner {
                Some(owner) => lease_owner == owner,
                None => !is_alive(&lease_owner),
            };
            if release {
                let refund = i64::from(owner.is_some());
                released += sqlx::query(
                    "UPDATE jobs SET state = $1, lease_owner = NULL, lease_expires_at = NULL, \
                     attempts = CASE WHEN attempts > $2 THEN attempts - $2 ELSE 0 END, updated_at = $3 \
                     WHERE id = $4 AND state = $5",
                )
                .bind(JobState::Queued)
                .bind(refund)
                .bind(time(now))
                .bind(&lease.id)
                .bind(JobState::Running)
                .execute(&self.pool)
                .await?
                .rows_affected();
            }
        }
        Ok(released)
    }

    /// Queues a job again after a transient failure.
    pub async fn retry_job(
        &self,
        job_id: &str,
        error: &str,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        requeue(&mut conn, job_id, error, run_after, false, now).await
    }

    /// How many jobs are in each state.
    pub async fn job_states(
        &self,
    ) -> Result<std::collections::BTreeMap<JobState, i64>, StoreError> {
        let rows: Vec<(JobState, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Jobs queued or running, in all.
    pub async fn pending_jobs(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ($1, $2)")
            .bind(JobState::Queued)
            .bind(JobState::Running)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_of_a_kind_this_binary_does_not_know_are_left_for_one_that_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let now = crate::clock::parse("2026-01-01T00:00:00Z").unwrap();
        sqlx::query(
            "INSERT INTO jobs (id, kind, subject, state, max_attempts, run_after, created_at, updated_at) \
             VALUES ('fingerprint:w1', 'fingerprint', 'w1', 'queued', 3, $1, $1, $1)",
        )
        .bind(time(now))
        .execute(&store.pool)
        .await
        .unwrap();
        let later = crate::clock::after(now, 60.0);
        assert!(store
            .claim_job("a", later, later, &JobFilter::all())
            .await
            .unwrap()
            .is_none());
        let mut conn = store.pool.acquire().await.unwrap();
        insert(&mut conn, JobKind::Candidate, "c1", None, 3, now)
            .await
            .unwrap();
        drop(conn);
        let job = store
            .claim_job("a", later, later, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (job.id.as_str(), job.kind),
            ("candidate:c1", JobKind::Candidate)
        );
        // A stored state this binary does not know is an error naming it.
        sqlx::query("UPDATE jobs SET state = 'paused' WHERE id = 'fingerprint:w1'")
            .execute(&store.pool)
            .await
            .unwrap();
        let error = store.job_states().await.unwrap_err().to_string();
        assert!(error.contains("unknown job state \"paused\""), "{error}");
        store.close().await;
    }
}
