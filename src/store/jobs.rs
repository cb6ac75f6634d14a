//! Scans and candidates: what a scan job discovers and what a candidate
//! job records, each in one transaction with its job's completion.
//!
//! A scan job's discovery is recorded in one transaction (candidates, their
//! jobs, the scan's counts, the scan job done), and so is a candidate job's
//! result (matches, candidate done, job done). A crash at any point leaves
//! either the whole step or none of it, and a leased job whose worker died
//! is leased again (`queue.rs`): every candidate is processed to
//! completion exactly once.

use chrono::{DateTime, Utc};

use super::alerts::{enqueue_for_match, AlertPlan};
use super::codec::{json, time, MaybeStoredTime, StoredJson, StoredTime};
use super::evidence::CaptureOf;
use super::matches::NewMatch;
use super::queue::{self, Job};
use super::{Store, StoreError};
use crate::domain::{CandidateStatus, JobKind, JobState, MatchStatus, ScanStatus, StoredSegment};

/// An upload as a source listed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewCandidate {
    pub canonical_url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    pub published_at: Option<DateTime<Utc>>,
    /// Direct media (http(s) or file://), when the source gave one.
    pub media_url: Option<String>,
}

/// A stored candidate.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Candidate {
    pub id: String,
    pub source: String,
    pub scan_id: String,
    pub canonical_url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub published_at: Option<DateTime<Utc>>,
    pub media_url: Option<String>,
    pub media_sha256: Option<String>,
    pub status: CandidateStatus,
    pub error: Option<String>,
}

/// A scan with its counts; errors include its candidates' errors.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Scan {
    pub id: String,
    pub source: String,
    pub status: ScanStatus,
    #[sqlx(try_from = "StoredTime")]
    pub started_at: DateTime<Utc>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub ended_at: Option<DateTime<Utc>>,
    pub candidates: i64,
    pub new_candidates: i64,
    pub new_matches: i64,
    pub pending_jobs: i64,
    #[sqlx(try_from = "StoredJson<Vec<String>>")]
    pub errors: Vec<String>,
}

/// Seconds two copies' durations and aligned segments may differ by and
/// still be the same upload.
const SAME_UPLOAD_TOLERANCE_S: f64 = 0.5;

/// The earlier match of `m.work_id` whose upload is this candidate's: the
/// same media SHA-256, or a copy of the same length aligned with the work
/// exactly as this one is (the same upload re-encoded by another site).
async fn same_upload_matched(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    candidate_id: &str,
    m: &NewMatch,
    media_sha256: Option<&str>,
    duration_s: Option<f64>,
) -> Result<Option<String>, StoreError> {
    if let Some(sha256) = media_sha256 {
        let same_bytes: Option<String> = sqlx::query_scalar(
            "SELECT m.id FROM matches m JOIN candidates c ON c.id = m.candidate_id \
             WHERE m.work_id = $1 AND c.media_sha256 = $2 AND c.id <> $3 ORDER BY m.created_at, m.id LIMIT 1",
        )
        .bind(&m.work_id)
        .bind(sha256)
        .bind(candidate_id)
        .fetch_optional(&mut **tx)
        .await?;
        if same_bytes.is_some() {
            return Ok(same_bytes);
        }
    }
    let Some(duration) = duration_s else {
        return Ok(None);
    };
    let alike: Vec<(String, StoredJson<Vec<StoredSegment>>)> = sqlx::query_as(
        "SELECT m.id, m.segments FROM matches m JOIN candidates c ON c.id = m.candidate_id \
         WHERE m.work_id = $1 AND c.id <> $2 AND c.duration_s IS NOT NULL \
         AND c.duration_s >= $3 AND c.duration_s <= $4 ORDER BY m.created_at, m.id",
    )
    .bind(&m.work_id)
    .bind(candidate_id)
    .bind(duration - SAME_UPLOAD_TOLERANCE_S)
    .bind(duration + SAME_UPLOAD_TOLERANCE_S)
    .fetch_all(&mut **tx)
    .await?;
    Ok(alike
        .into_iter()
        .map(|(id, segments)| (id, Vec::<StoredSegment>::from(segments)))
        .find(|(_, segments)| same_alignment(segments, &m.segments))
        .map(|(id, _)| id))
}

/// Whether two matches align their uploads with the work the same way.
fn same_alignment(a: &[StoredSegment], b: &[StoredSegment]) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= SAME_UPLOAD_TOLERANCE_S;
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).all(|(s, t)| {
            close(s.query_start_s, t.query_start_s)
                && close(s.query_end_s, t.query_end_s)
                && close(s.work_start_s, t.work_start_s)
                && close(s.work_end_s, t.work_end_s)
        })
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
        now: DateTime<Utc>,
        max_attempts: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.write_transaction().await?;
        let active: Option<Option<String>> = sqlx::query_scalar(
            "SELECT scan_id FROM jobs WHERE kind = $1 AND subject = $2 AND state IN ($3, $4) LIMIT 1",
        )
        .bind(JobKind::Scan)
        .bind(source)
        .bind(JobState::Queued)
        .bind(JobState::Running)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(Some(scan_id)) = active {
            return Ok(scan_id);
        }
        let scan_id = new_id();
        sqlx::query("INSERT INTO scans (id, source, status, started_at) VALUES ($1, $2, $3, $4)")
            .bind(&scan_id)
            .bind(source)
            .bind(ScanStatus::Discovering)
            .bind(time(now))
            .execute(&mut *tx)
            .await?;
        // A scan job's subject is its source; its id names the scan, since
        // one source is scanned many times.
        sqlx::query(
            "INSERT INTO jobs (id, kind, subject, scan_id, state, max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
        )
        .bind(queue::job_id(JobKind::Scan, &scan_id))
        .bind(JobKind::Scan)
        .bind(source)
        .bind(&scan_id)
        .bind(JobState::Queued)
        .bind(max_attempts)
        .bind(time(now))
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
        now: DateTime<Utc>,
    ) -> Result<(i64, i64), StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut new = 0i64;
        for candidate in listed {
            let id = new_id();
            let inserted = sqlx::query(
                "INSERT INTO candidates (id, source, scan_id, canonical_url, platform, uploader, title, \
                 published_at, media_url, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (canonical_url) DO NOTHING",
            )
            .bind(&id)
            .bind(source)
            .bind(scan_id)
            .bind(&candidate.canonical_url)
            .bind(&candidate.platform)
            .bind(&candidate.uploader)
            .bind(&candidate.title)
            .bind(candidate.published_at.map(time))
            .bind(&candidate.media_url)
            .bind(CandidateStatus::Queued)
            .bind(time(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            new += 1;
            queue::insert(
                &mut tx,
                JobKind::Candidate,
                &id,
                Some(scan_id),
                job.max_attempts,
                now,
            )
            .await?;
        }
        let listed_count = listed.len() as i64;
        let (status, ended_at) = match new {
            0 => (ScanStatus::Done, Some(time(now))),
            _ => (ScanStatus::Processing, None),
        };
        sqlx::query(
            "UPDATE scans SET status = $1, candidates = $2, new_candidates = $3, errors = $4, \
             ended_at = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(listed_count)
        .bind(new)
        .bind(json(errors))
        .bind(ended_at)
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        queue::finish(&mut tx, &job.id, JobState::Done, None, now).await?;
        tx.commit().await?;
        Ok((listed_count, new))
    }

    /// Records a scan that could not list its source.
    pub async fn fail_scan(
        &self,
        job: &Job,
        scan_id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query("UPDATE scans SET status = $1, ended_at = $2, errors = $3 WHERE id = $4")
            .bind(ScanStatus::Failed)
            .bind(time(now))
            .bind(json(&[error]))
            .bind(scan_id)
            .execute(&mut *tx)
            .await?;
        queue::finish(&mut tx, &job.id, JobState::Failed, Some(error), now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_candidate(&self, id: &str) -> Result<Candidate, StoreError> {
        let sql = format!("SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::CandidateNotFound(id.to_string()))
    }

    /// Candidates of a scan, in discovery order.
    pub async fn candidates_of_scan(&self, scan_id: &str) -> Result<Vec<Candidate>, StoreError> {
        let sql =
            format!("SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE scan_id = $1 ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scan_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every candidate, oldest first.
    pub async fn list_candidates(&self) -> Result<Vec<Candidate>, StoreError> {
        let sql = format!("SELECT {CANDIDATE_COLUMNS} FROM candidates ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
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
        Ok(sqlx::query_scalar(
            "SELECT id FROM candidates WHERE media_sha256 = $1 AND id <> $2 AND status = $3 ORDER BY id LIMIT 1",
        )
        .bind(sha256)
        .bind(except)
        .bind(CandidateStatus::Done)
        .fetch_optional(&self.pool)
        .await?)
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
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut inserted = 0;
        for m in matches {
            // One upload, one match: the same media already matched this
            // work elsewhere, so this URL is another location of that match.
            if let Some(earlier) =
                same_upload_matched(&mut tx, candidate_id, m, media_sha256, duration_s).await?
            {
                let located = sqlx::query(
                    "INSERT INTO match_locations (match_id, candidate_id, found_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (match_id, candidate_id) DO NOTHING",
                )
                .bind(&earlier)
                .bind(candidate_id)
                .bind(time(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if located == 1 {
                    // The new URL is captured like the match's first one,
                    // and the owner hears of it once the match is confirmed.
                    let of = CaptureOf::Location {
                        match_id: earlier.clone(),
                        candidate_id: candidate_id.to_string(),
                    };
                    super::evidence::queue_capture(&mut tx, &of, job.scan_id.as_deref(), now)
                        .await?;
                    let (status, score): (MatchStatus, f64) =
                        sqlx::query_as("SELECT status, score FROM matches WHERE id = $1")
                            .bind(&earlier)
                            .fetch_one(&mut *tx)
                            .await?;
                    if status.alerts_new_locations() {
                        enqueue_for_match(
                            &mut tx,
                            alerts,
                            &earlier,
                            Some(candidate_id),
                            score,
                            now,
                        )
                        .await?;
                    }
                }
                continue;
            }
            let match_id = new_id();
            let added = sqlx::query(
                "INSERT INTO matches (id, work_id, candidate_id, score, segments, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (candidate_id, work_id) DO NOTHING",
            )
            .bind(&match_id)
            .bind(&m.work_id)
            .bind(candidate_id)
            .bind(m.score)
            .bind(json(&m.segments))
            .bind(MatchStatus::Pending)
            .bind(time(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added == 1 {
                let of = CaptureOf::Match(match_id.clone());
                super::evidence::queue_capture(&mut tx, &of, job.scan_id.as_deref(), now).await?;
                // The match's alerts are queued with it: never one without the other.
                enqueue_for_match(&mut tx, alerts, &match_id, None, m.score, now).await?;
            }
            inserted += added;
        }
        let status = match duplicate_of {
            Some(_) => CandidateStatus::Duplicate,
            None => CandidateStatus::Done,
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
        .bind(time(now))
        .bind(candidate_id)
        // Not kept prepared: a connection that first ran it for a duplicate
        // (no duration, a NULL) kept a parameter type that a later duration
        // did not fit on PostgreSQL ("incorrect binary data format in bind
        // parameter 5"); a fresh statement takes this call's types.
        .persistent(false)
        .execute(&mut *tx)
        .await?;
        queue::finish(&mut tx, &job.id, JobState::Done, None, now).await?;
        finish_scan_if_complete(&mut tx, job.scan_id.as_deref(), now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// The other places a match's upload was found, oldest first.
    pub async fn match_locations(&self, match_id: &str) -> Result<Vec<Candidate>, StoreError> {
        let sql = format!(
            "SELECT {} FROM match_locations l JOIN candidates c ON c.id = l.candidate_id \
             WHERE l.match_id = $1 ORDER BY l.found_at, c.id",
            CANDIDATE_COLUMNS
                .split(", ")
                .map(|column| format!("c.{}", column.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(match_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records a candidate that could not be processed.
    pub async fn fail_candidate(
        &self,
        job: &Job,
        candidate_id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query(
            "UPDATE candidates SET status = $1, error = $2, processed_at = $3 WHERE id = $4",
        )
        .bind(CandidateStatus::Failed)
        .bind(error)
        .bind(time(now))
        .bind(candidate_id)
        .execute(&mut *tx)
        .await?;
        queue::finish(&mut tx, &job.id, JobState::Failed, Some(error), now).await?;
        finish_scan_if_complete(&mut tx, job.scan_id.as_deref(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Scans, newest first (at most `limit`).
    pub async fn list_scans(&self, limit: i64) -> Result<Vec<Scan>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM scans ORDER BY started_at DESC, id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        self.scans_by_id(&ids).await
    }

    /// The scans of one source, newest first (at most `limit`).
    pub async fn list_scans_of_source(
        &self,
        source: &str,
        limit: i64,
    ) -> Result<Vec<Scan>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM scans WHERE source = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(source)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.scans_by_id(&ids).await
    }

    async fn scans_by_id(&self, ids: &[String]) -> Result<Vec<Scan>, StoreError> {
        let mut scans = Vec::with_capacity(ids.len());
        for id in ids {
            scans.push(self.get_scan(id).await?);
        }
        Ok(scans)
    }

    pub async fn get_scan(&self, id: &str) -> Result<Scan, StoreError> {
        let mut scan: Scan = sqlx::query_as(
            "SELECT s.id, s.source, s.status, s.started_at, s.ended_at, s.candidates, s.new_candidates, s.errors, \
             (SELECT COUNT(*) FROM matches m JOIN candidates c ON c.id = m.candidate_id WHERE c.scan_id = s.id) AS new_matches, \
             (SELECT COUNT(*) FROM jobs j WHERE j.scan_id = s.id AND j.state IN ($2, $3)) AS pending_jobs \
             FROM scans s WHERE s.id = $1",
        )
        .bind(id)
        .bind(JobState::Queued)
        .bind(JobState::Running)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::ScanNotFound(id.to_string()))?;
        let failed: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT canonical_url, error FROM candidates WHERE scan_id = $1 AND status = $2 ORDER BY id",
        )
        .bind(id)
        .bind(CandidateStatus::Failed)
        .fetch_all(&self.pool)
        .await?;
        for (url, error) in failed {
            scan.errors
                .push(format!("{url}: {}", error.unwrap_or_default()));
        }
        Ok(scan)
    }

    /// A cheap summary of the registered works, to notice when the index
    /// must be rebuilt.
    pub async fn works_signature(&self) -> Result<String, StoreError> {
        let (n, last): (i64, Option<String>) =
            sqlx::query_as("SELECT COUNT(*) AS n, MAX(id) AS last FROM works")
                .fetch_one(&self.pool)
                .await?;
        Ok(format!("{n}:{}", last.unwrap_or_default()))
    }
}

pub(super) async fn finish_scan_if_complete(
    tx: &mut sqlx::AnyConnection,
    scan_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(scan_id) = scan_id else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE scans SET status = $1, ended_at = $2 WHERE id = $3 AND status = $4 \
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE scan_id = $3 AND state IN ($5, $6))",
    )
    .bind(ScanStatus::Done)
    .bind(time(now))
    .bind(scan_id)
    .bind(ScanStatus::Processing)
    .bind(JobState::Queued)
    .bind(JobState::Running)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobFilter;

    fn candidate(url: &str) -> NewCandidate {
        NewCandidate {
            canonical_url: url.into(),
            platform: "p".into(),
            ..NewCandidate::default()
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        crate::clock::parse(text).unwrap()
    }

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
        let t0 = at("2026-01-01T00:00:00.000Z");
        let t1 = at("2026-01-01T00:00:10.000Z");
        let t2 = at("2026-01-01T00:00:20.000Z");
        let later = at("2026-01-01T01:00:00.000Z");
        let scan_id = store.enqueue_scan("s", t0, 3).await.unwrap();
        assert_eq!(
            store.enqueue_scan("s", t0, 3).await.unwrap(),
            scan_id,
            "one active scan per source"
        );

        let scan_job = store
            .claim_job("a", t1, t0, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (scan_job.kind, scan_job.subject.as_str()),
            (JobKind::Scan, "s")
        );
        assert!(
            store
                .claim_job("b", t1, t0, &JobFilter::all())
                .await
                .unwrap()
                .is_none(),
            "leased"
        );
        let listed = [candidate("u1"), candidate("u2")];
        assert_eq!(
            store
                .record_discovery(&scan_job, &scan_id, "s", &listed, &[], t0)
                .await
                .unwrap(),
            (2, 2)
        );
        // The same uploads again: no new candidate, no new job.
        let again = store.enqueue_scan("s", t0, 3).await.unwrap();
        let job = store
            .claim_job(
                "a",
                t1,
                t0,
                &JobFilter::of_scans(std::slice::from_ref(&again)),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .record_discovery(&job, &again, "s", &listed, &[], t0)
                .await
                .unwrap(),
            (2, 0)
        );
        assert_eq!(
            store.get_scan(&again).await.unwrap().status,
            ScanStatus::Done
        );

        let first = store
            .claim_job(
                "a",
                t1,
                t0,
                &JobFilter::of_scans(std::slice::from_ref(&scan_id)),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.kind, JobKind::Candidate);
        // Owner "a" dies; after the lease expires "b" takes the job over.
        let second = store
            .claim_job("b", later, t0, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        assert_ne!(second.id, first.id, "the other candidate");
        let taken = store
            .claim_job("b", later, t2, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.id, first.id);
        assert_eq!(taken.attempts, 2);
        // A graceful release gives the attempt back; a dead owner's does not.
        assert_eq!(
            store.release_leases(Some("b"), |_| true, t1).await.unwrap(),
            2
        );
        let retaken = store
            .claim_job("c", later, t1, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(retaken.attempts, 1 + 1);
        assert_eq!(
            store
                .release_leases(None, |owner| owner != "c", t1)
                .await
                .unwrap(),
            1
        );
        let retaken = store
            .claim_job("d", later, t1, &JobFilter::all())
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
                t1,
            )
            .await
            .unwrap();
        assert_eq!(
            store.get_scan(&scan_id).await.unwrap().status,
            ScanStatus::Processing
        );
        let last = store
            .claim_job("d", later, t1, &JobFilter::all())
            .await
            .unwrap()
            .unwrap();
        store
            .fail_candidate(&last, &last.subject, "boom", t1)
            .await
            .unwrap();
        let scan = store.get_scan(&scan_id).await.unwrap();
        assert_eq!(scan.status, ScanStatus::Done);
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
            .claim_job("e", later, later, &JobFilter::all())
            .await
            .unwrap()
            .is_none());
    }
}
