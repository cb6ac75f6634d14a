//! Scans, candidates and the persisted job queue.
//!
//! A scan job's discovery is recorded in one transaction (candidates, their
//! jobs, the scan's counts, the scan job done), and so is a candidate job's
//! result (matches, candidate done, job done). A crash at any point leaves
//! either the whole step or none of it, and a leased job whose worker died
//! is leased again: every candidate is processed to completion exactly once.

use sqlx::Row;

use super::alerts::{enqueue_for_match, AlertPlan};
use super::matches::NewMatch;
use super::{Backend, Store, StoreError};

/// An upload as a source listed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewCandidate {
    pub canonical_url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    pub published_at: Option<String>,
    /// Direct media (http(s) or file://), when the source gave one.
    pub media_url: Option<String>,
}

/// A stored candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: String,
    pub source: String,
    pub scan_id: String,
    pub canonical_url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    pub published_at: Option<String>,
    pub media_url: Option<String>,
    pub media_sha256: Option<String>,
    pub status: String,
    pub error: Option<String>,
}

/// A leased job.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: String,
    /// `scan` or `candidate`.
    pub kind: String,
    /// A source name (scan) or a candidate id (candidate).
    pub subject: String,
    pub scan_id: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// A scan with its counts; errors include its candidates' errors.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Scan {
    pub id: String,
    pub source: String,
    pub status: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub candidates: i64,
    pub new_candidates: i64,
    pub new_matches: i64,
    pub pending_jobs: i64,
    pub errors: Vec<String>,
}

impl Scan {
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }
}

pub(super) fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

const CANDIDATE_COLUMNS: &str = "id, source, scan_id, canonical_url, platform, uploader, title, \
     published_at, media_url, media_sha256, status, error";

impl Store {
    /// Queues a scan of `source`, or returns the scan already queued or running for it.
    pub async fn enqueue_scan(
        &self,
        source: &str,
        now: &str,
        max_attempts: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.write_transaction().await?;
        let active = sqlx::query(
            "SELECT scan_id FROM jobs WHERE kind = 'scan' AND subject = $1 AND state IN ('queued', 'running') LIMIT 1",
        )
        .bind(source)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = active {
            return Ok(row.try_get("scan_id")?);
        }
        let scan_id = new_id();
        sqlx::query(
            "INSERT INTO scans (id, source, status, started_at) VALUES ($1, $2, 'discovering', $3)",
        )
        .bind(&scan_id)
        .bind(source)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO jobs (id, kind, subject, scan_id, state, max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, 'scan', $2, $3, 'queued', $4, $5, $6, $7)",
        )
        .bind(format!("scan:{scan_id}"))
        .bind(source)
        .bind(&scan_id)
        .bind(max_attempts)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(scan_id)
    }

    /// Records what a scan found: new candidates (by canonical URL) with a
    /// job each, the counts, and the scan job done. Returns (listed, new).
    pub async fn record_discovery(
        &self,
        job: &Job,
        scan_id: &str,
        source: &str,
        listed: &[NewCandidate],
        errors: &[String],
        now: &str,
    ) -> Result<(i64, i64), StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut new = 0i64;
        for candidate in listed {
            let id = new_id();
            let inserted = sqlx::query(
                "INSERT INTO candidates (id, source, scan_id, canonical_url, platform, uploader, title, \
                 published_at, media_url, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10) \
                 ON CONFLICT (canonical_url) DO NOTHING",
            )
            .bind(&id)
            .bind(source)
            .bind(scan_id)
            .bind(&candidate.canonical_url)
            .bind(&candidate.platform)
            .bind(&candidate.uploader)
            .bind(&candidate.title)
            .bind(&candidate.published_at)
            .bind(&candidate.media_url)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            new += 1;
            sqlx::query(
                "INSERT INTO jobs (id, kind, subject, scan_id, state, max_attempts, run_after, created_at, updated_at) \
                 VALUES ($1, 'candidate', $2, $3, 'queued', $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(format!("candidate:{id}"))
            .bind(&id)
            .bind(scan_id)
            .bind(job.max_attempts)
            .bind(now)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let listed_count = listed.len() as i64;
        let status = if new == 0 { "done" } else { "processing" };
        sqlx::query(
            "UPDATE scans SET status = $1, candidates = $2, new_candidates = $3, errors = $4, \
             ended_at = CASE WHEN $5 = 'done' THEN $6 ELSE NULL END WHERE id = $7",
        )
        .bind(status)
        .bind(listed_count)
        .bind(new)
        .bind(serde_json::to_string(errors).expect("strings serialize"))
        .bind(status)
        .bind(now)
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        finish_job(&mut tx, &job.id, "done", None, now).await?;
        tx.commit().await?;
        Ok((listed_count, new))
    }

    /// Records a scan that could not list its source.
    pub async fn fail_scan(
        &self,
        job: &Job,
        scan_id: &str,
        error: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query("UPDATE scans SET status = 'failed', ended_at = $1, errors = $2 WHERE id = $3")
            .bind(now)
            .bind(serde_json::to_string(&[error]).expect("strings serialize"))
            .bind(scan_id)
            .execute(&mut *tx)
            .await?;
        finish_job(&mut tx, &job.id, "failed", Some(error), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Leases the next ready job (queued and due, or running with an expired
    /// lease), optionally only jobs of the given scans.
    pub async fn claim_job(
        &self,
        owner: &str,
        lease_until: &str,
        now: &str,
        scans: Option<&[String]>,
    ) -> Result<Option<Job>, StoreError> {
        let filter = match scans {
            Some([]) => return Ok(None),
            Some(ids) => format!(
                " AND scan_id IN ({})",
                (6..6 + ids.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
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
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE ((state = 'queued' AND run_after <= $4) \
             OR (state = 'running' AND lease_expires_at < $5)){filter} \
             ORDER BY run_after, created_at, id LIMIT 1{lock}) \
             RETURNING id, kind, subject, scan_id, attempts, max_attempts"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(now)
            .bind(now);
        for id in scans.unwrap_or(&[]) {
            query = query.bind(id);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(Job {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                subject: row.try_get("subject")?,
                scan_id: row.try_get("scan_id")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        })
        .transpose()
    }

    /// Extends a lease this owner holds; false when the lease was lost.
    pub async fn renew_lease(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(lease_until)
        .bind(job_id)
        .bind(owner)
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
        now: &str,
    ) -> Result<u64, StoreError> {
        let rows = sqlx::query("SELECT id, lease_owner FROM jobs WHERE state = 'running'")
            .fetch_all(&self.pool)
            .await?;
        let mut released = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            let lease_owner: Option<String> = row.try_get("lease_owner")?;
            let lease_owner = lease_owner.unwrap_or_default();
            let release = match owner {
                Some(owner) => lease_owner == owner,
                None => !is_alive(&lease_owner),
            };
            if release {
                let refund = i64::from(owner.is_some());
                released += sqlx::query(
                    "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
                     attempts = CASE WHEN attempts > $1 THEN attempts - $2 ELSE 0 END, updated_at = $3 \
                     WHERE id = $4 AND state = 'running'",
                )
                .bind(refund)
                .bind(refund)
                .bind(now)
                .bind(&id)
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
        run_after: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
             last_error = $1, run_after = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(error)
        .bind(run_after)
        .bind(now)
        .bind(job_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_candidate(&self, id: &str) -> Result<Candidate, StoreError> {
        let sql = format!("SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::CandidateNotFound(id.to_string()))?;
        candidate_from_row(&row)
    }

    /// Candidates of a scan, in discovery order.
    pub async fn candidates_of_scan(&self, scan_id: &str) -> Result<Vec<Candidate>, StoreError> {
        let sql =
            format!("SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE scan_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(scan_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// Every candidate, oldest first.
    pub async fn list_candidates(&self) -> Result<Vec<Candidate>, StoreError> {
        let sql = format!("SELECT {CANDIDATE_COLUMNS} FROM candidates ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// Remembers the media URL found for a candidate (on its page).
    pub async fn set_candidate_media_url(&self, id: &str, url: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE candidates SET media_url = $1 WHERE id = $2")
            .bind(url)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A processed candidate (other than `except`) whose media had this SHA-256.
    pub async fn processed_candidate_with_media(
        &self,
        sha256: &str,
        except: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM candidates WHERE media_sha256 = $1 AND id <> $2 AND status = 'done' ORDER BY id LIMIT 1",
        )
        .bind(sha256)
        .bind(except)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("id")).transpose().map_err(Into::into)
    }

    /// Records a processed candidate: its matches (never twice for one
    /// candidate and work), its media, the job done, and the scan done when
    /// this was its last job. Returns how many matches were new.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_candidate(
        &self,
        job: &Job,
        candidate_id: &str,
        media_sha256: Option<&str>,
        media_bytes: Option<i64>,
        duration_s: Option<f64>,
        duplicate_of: Option<&str>,
        matches: &[NewMatch],
        alerts: &AlertPlan,
        now: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut inserted = 0;
        for m in matches {
            let match_id = new_id();
            let added = sqlx::query(
                "INSERT INTO matches (id, work_id, candidate_id, score, segments, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (candidate_id, work_id) DO NOTHING",
            )
            .bind(&match_id)
            .bind(&m.work_id)
            .bind(candidate_id)
            .bind(m.score)
            .bind(&m.segments)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added == 1 {
                super::evidence::queue_capture(&mut tx, &match_id, job.scan_id.as_deref(), now)
                    .await?;
                // The match's alerts are queued with it: never one without the other.
                enqueue_for_match(&mut tx, alerts, &match_id, m.score, now).await?;
            }
            inserted += added;
        }
        let status = if duplicate_of.is_some() {
            "duplicate"
        } else {
            "done"
        };
        sqlx::query(
            "UPDATE candidates SET status = $1, duplicate_of = $2, media_sha256 = $3, media_bytes = $4, \
             duration_s = $5, error = NULL, processed_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(duplicate_of)
        .bind(media_sha256)
        .bind(media_bytes)
        .bind(duration_s)
        .bind(now)
        .bind(candidate_id)
        .execute(&mut *tx)
        .await?;
        finish_job(&mut tx, &job.id, "done", None, now).await?;
        finish_scan_if_complete(&mut tx, job.scan_id.as_deref(), now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Records a candidate that could not be processed.
    pub async fn fail_candidate(
        &self,
        job: &Job,
        candidate_id: &str,
        error: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query(
            "UPDATE candidates SET status = 'failed', error = $1, processed_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now)
        .bind(candidate_id)
        .execute(&mut *tx)
        .await?;
        finish_job(&mut tx, &job.id, "failed", Some(error), now).await?;
        finish_scan_if_complete(&mut tx, job.scan_id.as_deref(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Scans, newest first (at most `limit`).
    pub async fn list_scans(&self, limit: i64) -> Result<Vec<Scan>, StoreError> {
        let rows = sqlx::query("SELECT id FROM scans ORDER BY started_at DESC, id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut scans = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            scans.push(self.get_scan(&id).await?);
        }
        Ok(scans)
    }

    pub async fn get_scan(&self, id: &str) -> Result<Scan, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.source, s.status, s.started_at, s.ended_at, s.candidates, s.new_candidates, s.errors, \
             (SELECT COUNT(*) FROM matches m JOIN candidates c ON c.id = m.candidate_id WHERE c.scan_id = s.id) AS new_matches, \
             (SELECT COUNT(*) FROM jobs j WHERE j.scan_id = s.id AND j.state IN ('queued', 'running')) AS pending_jobs \
             FROM scans s WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::ScanNotFound(id.to_string()))?;
        let errors: String = row.try_get("errors")?;
        let mut errors: Vec<String> = serde_json::from_str(&errors).unwrap_or_default();
        let failed = sqlx::query(
            "SELECT canonical_url, error FROM candidates WHERE scan_id = $1 AND status = 'failed' ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for candidate in failed {
            let url: String = candidate.try_get("canonical_url")?;
            let error: Option<String> = candidate.try_get("error")?;
            errors.push(format!("{url}: {}", error.unwrap_or_default()));
        }
        Ok(Scan {
            id: row.try_get("id")?,
            source: row.try_get("source")?,
            status: row.try_get("status")?,
            started_at: row.try_get("started_at")?,
            ended_at: row.try_get("ended_at")?,
            candidates: row.try_get("candidates")?,
            new_candidates: row.try_get("new_candidates")?,
            new_matches: row.try_get("new_matches")?,
            pending_jobs: row.try_get("pending_jobs")?,
            errors,
        })
    }

    /// How many jobs are in each state.
    pub async fn job_states(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// Jobs queued or running, in all.
    pub async fn pending_jobs(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }

    /// A cheap summary of the registered works, to notice when the index
    /// must be rebuilt.
    pub async fn works_signature(&self) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MAX(id) AS last FROM works")
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        let last: Option<String> = row.try_get("last")?;
        Ok(format!("{n}:{}", last.unwrap_or_default()))
    }
}

pub(super) async fn finish_job(
    tx: &mut sqlx::AnyConnection,
    job_id: &str,
    state: &str,
    error: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(error)
    .bind(now)
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn finish_scan_if_complete(
    tx: &mut sqlx::AnyConnection,
    scan_id: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    let Some(scan_id) = scan_id else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE scans SET status = 'done', ended_at = $1 WHERE id = $2 AND status = 'processing' \
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE scan_id = $3 AND state IN ('queued', 'running'))",
    )
    .bind(now)
    .bind(scan_id)
    .bind(scan_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn candidate_from_row(row: &sqlx::any::AnyRow) -> Result<Candidate, StoreError> {
    Ok(Candidate {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        scan_id: row.try_get("scan_id")?,
        canonical_url: row.try_get("canonical_url")?,
        platform: row.try_get("platform")?,
        uploader: row.try_get("uploader")?,
        title: row.try_get("title")?,
        published_at: row.try_get("published_at")?,
        media_url: row.try_get("media_url")?,
        media_sha256: row.try_get("media_sha256")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(url: &str) -> NewCandidate {
        NewCandidate {
            canonical_url: url.into(),
            platform: "p".into(),
            ..NewCandidate::default()
        }
    }

    const T0: &str = "2026-01-01T00:00:00.000Z";
    const T1: &str = "2026-01-01T00:00:10.000Z";
    const T2: &str = "2026-01-01T00:00:20.000Z";
    const LATER: &str = "2026-01-01T01:00:00.000Z";

    #[tokio::test]
    async fn jobs_are_leased_once_taken_over_when_leases_expire_and_scans_finish_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        leases_and_takeovers(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn jobs_are_leased_once_taken_over_when_leases_expire_and_scans_finish_postgres() {
        let Some(db) = crate::testkit::postgres::TestDatabase::create("jobs_leases").await else {
            return;
        };
        let store = Store::open(&db.url).await.unwrap();
        leases_and_takeovers(&store).await;
        store.close().await;
    }

    async fn leases_and_takeovers(store: &Store) {
        let scan_id = store.enqueue_scan("s", T0, 3).await.unwrap();
        assert_eq!(
            store.enqueue_scan("s", T0, 3).await.unwrap(),
            scan_id,
            "one active scan per source"
        );

        let scan_job = store.claim_job("a", T1, T0, None).await.unwrap().unwrap();
        assert_eq!(
            (scan_job.kind.as_str(), scan_job.subject.as_str()),
            ("scan", "s")
        );
        assert!(
            store.claim_job("b", T1, T0, None).await.unwrap().is_none(),
            "leased"
        );
        let listed = [candidate("u1"), candidate("u2")];
        assert_eq!(
            store
                .record_discovery(&scan_job, &scan_id, "s", &listed, &[], T0)
                .await
                .unwrap(),
            (2, 2)
        );
        // The same uploads again: no new candidate, no new job.
        let again = store.enqueue_scan("s", T0, 3).await.unwrap();
        let job = store
            .claim_job("a", T1, T0, Some(std::slice::from_ref(&again)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .record_discovery(&job, &again, "s", &listed, &[], T0)
                .await
                .unwrap(),
            (2, 0)
        );
        assert_eq!(store.get_scan(&again).await.unwrap().status, "done");

        let first = store
            .claim_job("a", T1, T0, Some(std::slice::from_ref(&scan_id)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.kind, "candidate");
        // Owner "a" dies; after the lease expires "b" takes the job over.
        let second = store
            .claim_job("b", LATER, T0, None)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(second.id, first.id, "the other candidate");
        let taken = store
            .claim_job("b", LATER, T2, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.id, first.id);
        assert_eq!(taken.attempts, 2);
        // A graceful release gives the attempt back; a dead owner's does not.
        assert_eq!(
            store.release_leases(Some("b"), |_| true, T1).await.unwrap(),
            2
        );
        let retaken = store
            .claim_job("c", LATER, T1, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(retaken.attempts, 1 + 1);
        assert_eq!(
            store
                .release_leases(None, |owner| owner != "c", T1)
                .await
                .unwrap(),
            1
        );
        let retaken = store
            .claim_job("d", LATER, T1, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(retaken.attempts, 3, "a crash counts as an attempt");

        store
            .complete_candidate(
                &retaken,
                &retaken.subject,
                Some("sha"),
                Some(1),
                Some(1.0),
                None,
                &[],
                &crate::store::AlertPlan::default(),
                T1,
            )
            .await
            .unwrap();
        assert_eq!(store.get_scan(&scan_id).await.unwrap().status, "processing");
        let last = store
            .claim_job("d", LATER, T1, None)
            .await
            .unwrap()
            .unwrap();
        store
            .fail_candidate(&last, &last.subject, "boom", T1)
            .await
            .unwrap();
        let scan = store.get_scan(&scan_id).await.unwrap();
        assert_eq!(scan.status, "done");
        assert_eq!(scan.pending_jobs, 0);
        assert_eq!(scan.errors.len(), 1);
        assert!(scan.errors[0].ends_with(": boom"), "{:?}", scan.errors);
        assert_eq!(
            store
                .processed_candidate_with_media("sha", "other")
                .await
                .unwrap(),
            Some(retaken.subject.clone())
        );
        assert!(store
            .claim_job("e", LATER, LATER, None)
            .await
            .unwrap()
            .is_none());
    }
}
