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

/// Whose capture: a match's first URL (its own candidate, table
/// `captures`) or a further location of it (table `location_captures`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureOf {
    Match(String),
    Location {
        match_id: String,
        candidate_id: String,
    },
}

impl CaptureOf {
    pub fn match_id(&self) -> &str {
        match self {
            CaptureOf::Match(id) | CaptureOf::Location { match_id: id, .. } => id,
        }
    }

    /// The capture a capture job is for.
    pub fn of_job(job: &Job) -> Result<CaptureOf, StoreError> {
        match job.kind {
            JobKind::Capture => Ok(CaptureOf::Match(job.subject.clone())),
            JobKind::LocationCapture => match job.subject.split_once('/') {
                Some((match_id, candidate_id)) => Ok(CaptureOf::Location {
                    match_id: match_id.to_string(),
                    candidate_id: candidate_id.to_string(),
                }),
                None => Err(StoreError::BadJob {
                    id: job.id.clone(),
                    reason: "its subject is not MATCH/CANDIDATE".into(),
                }),
            },
            other => Err(StoreError::BadJob {
                id: job.id.clone(),
                reason: format!("a {other} job captures nothing"),
            }),
        }
    }

    fn job(&self) -> (JobKind, String) {
        match self {
            CaptureOf::Match(id) => (JobKind::Capture, id.clone()),
            CaptureOf::Location {
                match_id,
                candidate_id,
            } => (
                JobKind::LocationCapture,
                format!("{match_id}/{candidate_id}"),
            ),
        }
    }

    /// The table, its key columns and their values.
    fn key(&self) -> (&'static str, &'static str, Vec<&str>) {
        match self {
            CaptureOf::Match(id) => ("captures", "match_id", vec![id]),
            CaptureOf::Location {
                match_id,
                candidate_id,
            } => (
                "location_captures",
                "match_id, candidate_id",
                vec![match_id, candidate_id],
            ),
        }
    }

    /// `col = $first AND ...` over the key columns, numbered from `first`.
    fn condition(&self, first: usize) -> String {
        let (_, columns, _) = self.key();
        columns
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", first + i))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl std::fmt::Display for CaptureOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureOf::Match(id) => write!(f, "match {id}"),
            CaptureOf::Location {
                match_id,
                candidate_id,
            } => write!(f, "location {candidate_id} of match {match_id}"),
        }
    }
}

/// Queues a capture (inside the transaction that records its match or
/// location). The job belongs to the scan, so `reelguard scan` runs it
/// before it returns.
pub(super) async fn queue_capture(
    tx: &mut sqlx::AnyConnection,
    of: &CaptureOf,
    scan_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (table, columns, values) = of.key();
    let marks: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let n = values.len();
    let sql = format!(
        "INSERT INTO {table} ({columns}, state, created_at) VALUES ({}, ${}, ${}) \
         ON CONFLICT ({columns}) DO NOTHING",
        marks.join(", "),
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = query.bind(value);
    }
    query
        .bind(CaptureState::Pending)
        .bind(time(now))
        .execute(&mut *tx)
        .await?;
    let (kind, subject) = of.job();
    queue::insert(tx, kind, &subject, scan_id, CAPTURE_MAX_ATTEMPTS, now).await
}

const CAPTURE_COLUMNS: &str = "match_id, state, attempts, error, files, manifest_sha256, token, \
     tsa_url, tsa_time, started_at, finished_at";

impl Store {
    /// The capture of a match's first URL (a pending one when none was
    /// queued yet).
    pub async fn capture(&self, match_id: &str) -> Result<CaptureRecord, StoreError> {
        self.capture_of(&CaptureOf::Match(match_id.to_string()))
            .await
    }

    /// A capture (a pending one when none was queued yet).
    pub async fn capture_of(&self, of: &CaptureOf) -> Result<CaptureRecord, StoreError> {
        let (table, _, values) = of.key();
        let sql = format!(
            "SELECT {CAPTURE_COLUMNS} FROM {table} WHERE {}",
            of.condition(1)
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        let row: Option<CaptureRecord> = query.fetch_optional(&self.pool).await?;
        Ok(row.unwrap_or_else(|| CaptureRecord {
            match_id: of.match_id().to_string(),
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

    /// A match's further locations, oldest first, each with its capture
    /// (a pending one when none was queued: locations found before
    /// locations were captured).
    pub async fn captured_locations(
        &self,
        match_id: &str,
    ) -> Result<Vec<(super::Candidate, CaptureRecord)>, StoreError> {
        let mut captures = self.location_captures(match_id).await?;
        let mut out = Vec::new();
        for candidate in self.match_locations(match_id).await? {
            let capture = match captures.remove(&candidate.id) {
                Some(capture) => capture,
                None => {
                    self.capture_of(&CaptureOf::Location {
                        match_id: match_id.to_string(),
                        candidate_id: candidate.id.clone(),
                    })
                    .await?
                }
            };
            out.push((candidate, capture));
        }
        Ok(out)
    }

    /// The captures of a match's further locations, by candidate id.
    async fn location_captures(
        &self,
        match_id: &str,
    ) -> Result<std::collections::HashMap<String, CaptureRecord>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            candidate_id: String,
            #[sqlx(flatten)]
            capture: CaptureRecord,
        }
        let sql = format!(
            "SELECT candidate_id, {CAPTURE_COLUMNS} FROM location_captures WHERE match_id = $1"
        );
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(match_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.candidate_id, row.capture))
            .collect())
    }

    /// Records the start of a capture attempt.
    pub async fn start_capture(
        &self,
        of: &CaptureOf,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (table, columns, values) = of.key();
        let n = values.len();
        let marks: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({columns}, state, attempts, started_at, created_at) \
             VALUES ({}, ${}, 1, ${}, ${}) ON CONFLICT ({columns}) DO UPDATE SET \
             attempts = {table}.attempts + 1, started_at = excluded.started_at",
            marks.join(", "),
            n + 1,
            n + 2,
            n + 2
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        query
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
        of: &CaptureOf,
        outcome: &CaptureOutcome<'_>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let state = match outcome.error {
            None => CaptureState::Done,
            Some(_) => CaptureState::Failed,
        };
        let (table, _, values) = of.key();
        let sql = format!(
            "UPDATE {table} SET state = $1, error = $2, files = $3, manifest_sha256 = $4, token = $5, \
             tsa_url = $6, tsa_time = $7, finished_at = $8 WHERE {}",
            of.condition(9)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state)
            .bind(outcome.error)
            .bind(json(outcome.files))
            .bind(outcome.manifest_sha256)
            .bind(outcome.token)
            .bind(outcome.tsa_url)
            .bind(outcome.tsa_time.map(time))
            .bind(time(now));
        for value in values {
            query = query.bind(value);
        }
        query.execute(&mut *tx).await?;
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
        self.finish_capture(Some(job), &CaptureOf::of_job(job)?, &outcome, None, now)
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
