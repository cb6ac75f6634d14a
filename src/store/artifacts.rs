//! Artifacts (creation-stage files) of works, their hash chain and the
//! RFC 3161 tokens on artifacts and chain heads.

use chrono::{DateTime, Utc};

use super::codec::{time, MaybeStoredTime, StoredTime};
use super::{Store, StoreError};
use crate::chain;

/// A checked token as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStamp {
    /// DER TimeStampToken.
    pub token: Vec<u8>,
    pub tsa_url: String,
    /// The TSA's genTime.
    pub tsa_time: DateTime<Utc>,
    pub tsa_serial: String,
    pub tsa_name: String,
}

/// The token columns of an artifact or chain head row: a stamp when the
/// token is there.
#[derive(sqlx::FromRow)]
struct StampColumns {
    token: Option<Vec<u8>>,
    tsa_url: Option<String>,
    #[sqlx(try_from = "MaybeStoredTime")]
    tsa_time: Option<DateTime<Utc>>,
    tsa_serial: Option<String>,
    tsa_name: Option<String>,
}

impl From<StampColumns> for Option<StoredStamp> {
    fn from(columns: StampColumns) -> Self {
        Some(StoredStamp {
            token: columns.token?,
            tsa_url: columns.tsa_url.unwrap_or_default(),
            tsa_time: columns.tsa_time.unwrap_or_default(),
            tsa_serial: columns.tsa_serial.unwrap_or_default(),
            tsa_name: columns.tsa_name.unwrap_or_default(),
        })
    }
}

/// An artifact to add: the facts about the file.
#[derive(Clone, Debug)]
pub struct NewArtifact {
    pub stage: String,
    pub file_name: String,
    pub source_path: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub media_created_at: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Artifact {
    pub work_id: String,
    #[sqlx(try_from = "i64")]
    pub seq: u32,
    pub stage: String,
    pub file_name: String,
    pub source_path: String,
    #[sqlx(try_from = "i64")]
    pub size_bytes: u64,
    pub sha256: String,
    /// The creation time the file's own metadata states, as it states it.
    pub media_created_at: Option<String>,
    #[sqlx(try_from = "StoredTime")]
    pub added_at: DateTime<Utc>,
    pub prev_hash: String,
    pub entry_hash: String,
    /// None while the timestamp is pending.
    #[sqlx(flatten, try_from = "StampColumns")]
    pub stamp: Option<StoredStamp>,
    pub stamp_error: Option<String>,
}

impl Artifact {
    pub fn chain_entry(&self) -> chain::ChainEntry {
        chain::ChainEntry {
            work_id: self.work_id.clone(),
            seq: self.seq,
            prev_hash: self.prev_hash.clone(),
            stage: self.stage.clone(),
            file_name: self.file_name.clone(),
            size_bytes: self.size_bytes,
            sha256: self.sha256.clone(),
        }
    }
}

/// A timestamped (or pending) chain head: the hash of entry `seq`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainHead {
    pub work_id: String,
    #[sqlx(try_from = "i64")]
    pub seq: u32,
    pub head_hash: String,
    #[sqlx(flatten, try_from = "StampColumns")]
    pub stamp: Option<StoredStamp>,
    pub stamp_error: Option<String>,
}

/// What a pending timestamp is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampTarget {
    Artifact,
    ChainHead,
}

impl StampTarget {
    fn table(self) -> &'static str {
        match self {
            StampTarget::Artifact => "artifacts",
            StampTarget::ChainHead => "chain_heads",
        }
    }
}

/// A digest still waiting for its token.
#[derive(Clone, Debug)]
pub struct PendingStamp {
    pub target: StampTarget,
    pub work_id: String,
    pub seq: u32,
    /// Hex SHA-256 the token must cover.
    pub digest: String,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    work_id: String,
    #[sqlx(try_from = "i64")]
    seq: u32,
    digest: String,
}

const STAMP_COLUMNS: &str = "token, tsa_url, tsa_time, tsa_serial, tsa_name, stamp_error";

impl Store {
    /// Appends artifacts to a work's chain and records the new chain head,
    /// atomically. Returns the new artifacts.
    pub async fn append_artifacts(
        &self,
        work_id: &str,
        new: &[NewArtifact],
    ) -> Result<Vec<Artifact>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let head: Option<(i64, String)> = sqlx::query_as(
            "SELECT seq, entry_hash FROM artifacts WHERE work_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(work_id)
        .fetch_optional(&mut *tx)
        .await?;
        let items: Vec<_> = new
            .iter()
            .map(|a| {
                (
                    a.stage.clone(),
                    a.file_name.clone(),
                    a.size_bytes,
                    a.sha256.clone(),
                )
            })
            .collect();
        let entries = chain::extend(work_id, head.map(|(seq, hash)| (seq as u32, hash)), &items);
        let added_at = crate::clock::now();
        let mut out = Vec::with_capacity(new.len());
        for (artifact, (entry, hash)) in new.iter().zip(&entries) {
            sqlx::query(
                "INSERT INTO artifacts (work_id, seq, stage, file_name, source_path, size_bytes, \
                 sha256, media_created_at, added_at, prev_hash, entry_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(work_id)
            .bind(i64::from(entry.seq))
            .bind(&artifact.stage)
            .bind(&artifact.file_name)
            .bind(&artifact.source_path)
            .bind(artifact.size_bytes as i64)
            .bind(&artifact.sha256)
            .bind(&artifact.media_created_at)
            .bind(time(added_at))
            .bind(&entry.prev_hash)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            out.push(Artifact {
                work_id: work_id.to_string(),
                seq: entry.seq,
                stage: artifact.stage.clone(),
                file_name: artifact.file_name.clone(),
                source_path: artifact.source_path.clone(),
                size_bytes: artifact.size_bytes,
                sha256: artifact.sha256.clone(),
                media_created_at: artifact.media_created_at.clone(),
                added_at,
                prev_hash: entry.prev_hash.clone(),
                entry_hash: hash.clone(),
                stamp: None,
                stamp_error: None,
            });
        }
        if let Some((entry, hash)) = entries.last() {
            sqlx::query("INSERT INTO chain_heads (work_id, seq, head_hash) VALUES ($1, $2, $3)")
                .bind(work_id)
                .bind(i64::from(entry.seq))
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A work's artifacts in chain order.
    pub async fn artifacts(&self, work_id: &str) -> Result<Vec<Artifact>, StoreError> {
        let sql = format!(
            "SELECT work_id, seq, stage, file_name, source_path, size_bytes, sha256, \
             media_created_at, added_at, prev_hash, entry_hash, {STAMP_COLUMNS} \
             FROM artifacts WHERE work_id = $1 ORDER BY seq"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(work_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The work (and link) whose chain had `head_hash` as a head, current
    /// or earlier.
    pub async fn chain_head_owner(
        &self,
        head_hash: &str,
    ) -> Result<Option<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT work_id, seq FROM chain_heads WHERE head_hash = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(head_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A work's chain heads, oldest first; the last is the current head.
    pub async fn chain_heads(&self, work_id: &str) -> Result<Vec<ChainHead>, StoreError> {
        let sql = format!(
            "SELECT work_id, seq, head_hash, {STAMP_COLUMNS} FROM chain_heads \
             WHERE work_id = $1 ORDER BY seq"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(work_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every artifact and chain head still without a token (of one work, or all).
    pub async fn pending_stamps(
        &self,
        work_id: Option<&str>,
    ) -> Result<Vec<PendingStamp>, StoreError> {
        let mut out = Vec::new();
        for (target, digest_column) in [
            (StampTarget::Artifact, "sha256"),
            (StampTarget::ChainHead, "head_hash"),
        ] {
            let sql = format!(
                "SELECT work_id, seq, {digest_column} AS digest FROM {} \
                 WHERE token IS NULL AND ($1 IS NULL OR work_id = $2) ORDER BY work_id, seq",
                target.table()
            );
            let rows: Vec<PendingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(work_id)
                .bind(work_id)
                .fetch_all(&self.pool)
                .await?;
            out.extend(rows.into_iter().map(|row| PendingStamp {
                target,
                work_id: row.work_id,
                seq: row.seq,
                digest: row.digest,
            }));
        }
        Ok(out)
    }

    /// Records the token for a pending artifact or chain head.
    pub async fn set_stamp(
        &self,
        target: StampTarget,
        work_id: &str,
        seq: u32,
        stamp: &StoredStamp,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET token = $1, tsa_url = $2, tsa_time = $3, tsa_serial = $4, tsa_name = $5, \
             stamp_error = NULL WHERE work_id = $6 AND seq = $7",
            target.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&stamp.token)
            .bind(&stamp.tsa_url)
            .bind(time(stamp.tsa_time))
            .bind(&stamp.tsa_serial)
            .bind(&stamp.tsa_name)
            .bind(work_id)
            .bind(i64::from(seq))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records why the last timestamp attempt failed (the item stays pending).
    pub async fn set_stamp_error(
        &self,
        target: StampTarget,
        work_id: &str,
        seq: u32,
        error: &str,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET stamp_error = $1 WHERE work_id = $2 AND seq = $3 AND token IS NULL",
            target.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(error)
            .bind(work_id)
            .bind(i64::from(seq))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
