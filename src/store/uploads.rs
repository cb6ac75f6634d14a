//! Videos uploaded for registration (`uploads`), each fingerprinted by a
//! `register` job on the queue; the row keeps its state and progress for
//! the dashboard, and the id of the work it became.

use chrono::{DateTime, Utc};

use super::codec::{time, StoredTime};
use super::queue::{self, Job};
use super::{Store, StoreError};
use crate::domain::{JobKind, JobState, UploadState};

/// An uploaded video and where its registration is.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UploadRecord {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub rights_statement: Option<String>,
    /// The name the uploader gave the file.
    pub file_name: String,
    /// Where the file is kept (it becomes the work's file).
    pub path: String,
    pub size_bytes: i64,
    /// The video's SHA-256 (none for uploads queued before it was kept).
    pub sha256: Option<String>,
    pub state: UploadState,
    /// Share of the video fingerprinted, 0 to 1.
    pub progress: f64,
    pub error: Option<String>,
    pub work_id: Option<String>,
    /// The name of the token that uploaded it.
    pub uploaded_by: Option<String>,
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "StoredTime")]
    pub updated_at: DateTime<Utc>,
}

const UPLOAD_COLUMNS: &str = "id, title, owner, rights_statement, file_name, path, size_bytes, \
     sha256, state, progress, error, work_id, uploaded_by, created_at, updated_at";

/// What a video to be queued already is.
#[derive(Clone, Debug, PartialEq)]
pub enum Registration {
    /// Registered as this work.
    Work { id: String, title: String },
    /// Queued (or being fingerprinted) as this upload.
    Queued(Box<UploadRecord>),
}

/// Attempts a register job gets: a video that stops the process this often
/// is not going to register.
const REGISTER_ATTEMPTS: i64 = 3;

impl Store {
    /// Records a received upload (state queued) and queues its register
    /// job, in one transaction.
    pub async fn create_upload(&self, upload: &UploadRecord) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query(
            "INSERT INTO uploads (id, title, owner, rights_statement, file_name, path, size_bytes, \
             sha256, state, progress, error, work_id, uploaded_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&upload.id)
        .bind(&upload.title)
        .bind(&upload.owner)
        .bind(&upload.rights_statement)
        .bind(&upload.file_name)
        .bind(&upload.path)
        .bind(upload.size_bytes)
        .bind(&upload.sha256)
        .bind(upload.state)
        .bind(upload.progress)
        .bind(&upload.error)
        .bind(&upload.work_id)
        .bind(&upload.uploaded_by)
        .bind(time(upload.created_at))
        .bind(time(upload.updated_at))
        .execute(&mut *tx)
        .await?;
        queue::insert(
            &mut tx,
            JobKind::Register,
            &upload.id,
            None,
            REGISTER_ATTEMPTS,
            upload.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One upload by id.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// What already stands for the video with this SHA-256: the work it is
    /// registered as, or an upload of it still queued or fingerprinting.
    pub async fn registration_of(&self, sha256: &str) -> Result<Option<Registration>, StoreError> {
        if let Some(work) = self.work_by_sha256(sha256).await? {
            return Ok(Some(Registration::Work {
                id: work.id,
                title: work.title,
            }));
        }
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE sha256 = $1 AND state IN ($2, $3) \
             ORDER BY created_at, id LIMIT 1"
        );
        let upload: Option<UploadRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(sha256)
            .bind(UploadState::Queued)
            .bind(UploadState::Fingerprinting)
            .fetch_optional(&self.pool)
            .await?;
        Ok(upload.map(|u| Registration::Queued(Box::new(u))))
    }

    /// Uploads not yet registered (queued, fingerprinting or failed), the
    /// oldest first.
    pub async fn unfinished_uploads(&self) -> Result<Vec<UploadRecord>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE state <> $1 ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(UploadState::Ready)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The newest uploads first.
    pub async fn list_uploads(&self, limit: i64) -> Result<Vec<UploadRecord>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records how far fingerprinting got (state fingerprinting), unless
    /// the upload has finished meanwhile.
    pub async fn set_upload_progress(
        &self,
        id: &str,
        progress: f64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE uploads SET state = $1, progress = $2, updated_at = $3 \
             WHERE id = $4 AND state IN ($5, $1)",
        )
        .bind(UploadState::Fingerprinting)
        .bind(progress.clamp(0.0, 1.0))
        .bind(time(now))
        .bind(id)
        .bind(UploadState::Queued)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends an upload's register job: ready as `work_id`, or failed with
    /// the reason, in the transaction that finishes the job.
    pub async fn finish_upload(
        &self,
        job: &Job,
        outcome: Result<&str, &str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let (state, work_id, error) = match outcome {
            Ok(work_id) => (UploadState::Ready, Some(work_id), None),
            Err(error) => (UploadState::Failed, None, Some(error)),
        };
        sqlx::query(
            "UPDATE uploads SET state = $1, work_id = $2, error = $3, \
             progress = CASE WHEN $4 = 1 THEN 1.0 ELSE progress END, updated_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(work_id)
        .bind(error)
        .bind(i64::from(state == UploadState::Ready))
        .bind(time(now))
        .bind(&job.subject)
        .execute(&mut *tx)
        .await?;
        let job_state = match state {
            UploadState::Ready => JobState::Done,
            _ => JobState::Failed,
        };
        queue::finish(&mut tx, &job.id, job_state, error, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
