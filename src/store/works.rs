//! Works and their frame fingerprints.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use super::codec::{time, StoredTime};
use super::{Store, StoreError};
use crate::fingerprint::{keypoints, Fingerprint, FrameHash, Hash256, ALGORITHM};

/// A registered work as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Work {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    /// Who holds which rights, in the owner's words.
    pub rights_statement: Option<String>,
    pub source_path: String,
    pub source_sha256: String,
    pub source_bytes: i64,
    pub duration_s: f64,
    pub width: i64,
    pub height: i64,
    pub codec: String,
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
    /// Number of fingerprinted samples (main track).
    #[sqlx(rename = "frame_count")]
    pub frames: i64,
}

/// A work's row with its fingerprint's.
#[derive(sqlx::FromRow)]
struct FingerprintRow {
    #[sqlx(flatten)]
    work: Work,
    algorithm: String,
    sample_rate: f64,
    hashes: Vec<u8>,
    qualities: Vec<u8>,
    keypoints: Option<Vec<u8>>,
}

/// A work's stored fingerprint, with the scheme it was computed with.
pub struct StoredFingerprint {
    pub algorithm: String,
    pub fingerprint: Fingerprint,
}

/// A `SELECT` of works joined with their fingerprint row, followed by `$tail`.
macro_rules! select_works {
    ($extra_columns:literal, $tail:literal) => {
        concat!(
            "SELECT w.id, w.title, w.owner, w.rights_statement, w.source_path, w.source_sha256, w.source_bytes, ",
            "w.duration_s, w.width, w.height, w.codec, w.created_at, f.frame_count",
            $extra_columns,
            " FROM works w JOIN fingerprints f ON f.work_id = w.id ",
            $tail
        )
    };
}

impl Store {
    /// Stores a new work with its fingerprint, atomically.
    pub async fn insert_work(
        &self,
        work: &Work,
        fingerprint: &Fingerprint,
    ) -> Result<(), StoreError> {
        if let Some(existing) = self.work_by_sha256(&work.source_sha256).await? {
            return Err(StoreError::AlreadyRegistered {
                id: existing.id,
                title: existing.title,
            });
        }
        let stored = fingerprint.stored_frames();
        let mut hashes = Vec::with_capacity(stored.len() * Hash256::BYTES);
        let mut qualities = Vec::with_capacity(stored.len());
        for frame in &stored {
            hashes.extend_from_slice(&frame.hash.to_bytes());
            qualities.push((frame.quality.clamp(0.0, 1.0) * 255.0).round() as u8);
        }
        let mut tx = self.write_transaction().await?;
        sqlx::query(
            "INSERT INTO works (id, title, owner, rights_statement, source_path, source_sha256, \
             source_bytes, duration_s, width, height, codec, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&work.id)
        .bind(&work.title)
        .bind(&work.owner)
        .bind(&work.rights_statement)
        .bind(&work.source_path)
        .bind(&work.source_sha256)
        .bind(work.source_bytes)
        .bind(work.duration_s)
        .bind(work.width)
        .bind(work.height)
        .bind(&work.codec)
        .bind(time(work.created_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO fingerprints (work_id, algorithm, sample_rate, frame_count, hashes, qualities, \
             keypoints) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&work.id)
        .bind(ALGORITHM)
        .bind(fingerprint.sample_rate)
        .bind(fingerprint.frames.len() as i64)
        .bind(hashes)
        .bind(qualities)
        .bind(keypoints::encode(&fingerprint.keyframes))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_works(&self) -> Result<Vec<Work>, StoreError> {
        let sql = select_works!("", "ORDER BY w.created_at, w.id");
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    /// The work `query` names: its id, its short id (the end of its id,
    /// at least 4 characters), the start of its id, or its title (ignoring
    /// case), in that order of preference.
    pub async fn find_work(&self, query: &str) -> Result<Work, StoreError> {
        let sql = select_works!(
            "",
            "WHERE w.id = $1 OR w.id LIKE $2 OR w.id LIKE $3 OR lower(w.title) = lower($1) \
             ORDER BY CASE WHEN w.id = $1 THEN 0 WHEN w.id LIKE $3 THEN 1 \
             WHEN w.id LIKE $2 THEN 2 ELSE 3 END, w.id LIMIT 6"
        );
        let (start, end) = super::id_patterns(query);
        let works: Vec<Work> = sqlx::query_as(sql)
            .bind(query)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await?;
        match super::pick(query, works, |w| &w.id, |w| Some(&w.title)) {
            Ok(work) => Ok(work),
            Err(None) => Err(StoreError::WorkNotFound(query.to_string())),
            Err(Some(ids)) => Err(StoreError::AmbiguousWork {
                query: query.to_string(),
                ids,
            }),
        }
    }

    /// The work with exactly this id, if stored.
    pub async fn work_by_id(&self, id: &str) -> Result<Option<Work>, StoreError> {
        let sql = select_works!("", "WHERE w.id = $1");
        Ok(sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn work_by_sha256(&self, sha256: &str) -> Result<Option<Work>, StoreError> {
        let sql = select_works!("", "WHERE w.source_sha256 = $1");
        Ok(sqlx::query_as(sql)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Removes a work and its fingerprint.
    pub async fn remove_work(&self, id: &str) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM works WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::WorkNotFound(id.to_string()));
        }
        Ok(())
    }

    /// How many hashes the stored fingerprints hold in all (every track),
    /// to size the index before [`Store::each_fingerprint`] fills it.
    pub async fn stored_hash_count(&self) -> Result<usize, StoreError> {
        let bytes: Option<i64> =
            sqlx::query_scalar("SELECT CAST(SUM(LENGTH(hashes)) AS BIGINT) FROM fingerprints")
                .fetch_one(&self.pool)
                .await?;
        Ok(bytes.unwrap_or(0) as usize / Hash256::BYTES)
    }

    /// The hashing schemes the stored fingerprints use.
    pub async fn fingerprint_schemes(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT algorithm FROM fingerprints ORDER BY algorithm")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Every work's id and main-track frame count.
    pub async fn work_frame_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT w.id, f.frame_count FROM works w JOIN fingerprints f ON f.work_id = w.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// [`Store::each_fingerprint`] for the works of `ids` only (those still
    /// stored), a few hundred per query.
    pub async fn each_fingerprint_of(
        &self,
        ids: &[String],
        mut add: impl FnMut(Work, StoredFingerprint),
    ) -> Result<(), StoreError> {
        const PER_QUERY: usize = 500;
        for chunk in ids.chunks(PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "{} WHERE w.id IN ({}) ORDER BY w.created_at, w.id",
                select_works!(
                    ", f.algorithm, f.sample_rate, f.hashes, f.qualities, f.keypoints",
                    ""
                ),
                marks.join(", ")
            );
            let mut query = sqlx::query_as::<_, FingerprintRow>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            let mut rows = query.fetch(&self.pool);
            while let Some(row) = rows.try_next().await? {
                let (work, stored) = row.parse()?;
                add(work, stored);
            }
        }
        Ok(())
    }

    /// Calls `add` with every work and its stored fingerprint, oldest first.
    /// Rows are streamed: one work's blobs are in memory at a time besides
    /// what `add` keeps, so the index is built without a second full copy.
    pub async fn each_fingerprint(
        &self,
        mut add: impl FnMut(Work, StoredFingerprint),
    ) -> Result<(), StoreError> {
        let sql = select_works!(
            ", f.algorithm, f.sample_rate, f.hashes, f.qualities, f.keypoints",
            "ORDER BY w.created_at, w.id"
        );
        let mut rows = sqlx::query_as::<_, FingerprintRow>(sql).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let (work, stored) = row.parse()?;
            add(work, stored);
        }
        Ok(())
    }
}

impl FingerprintRow {
    fn parse(self) -> Result<(Work, StoredFingerprint), StoreError> {
        let FingerprintRow {
            work,
            algorithm,
            sample_rate,
            hashes,
            qualities,
            keypoints,
        } = self;
        if hashes.len() != qualities.len() * Hash256::BYTES
            || (qualities.len() as i64) < work.frames
        {
            return Err(StoreError::Damaged {
                work_id: work.id,
                reason: format!(
                    "{} hash bytes and {} qualities for {} frames",
                    hashes.len(),
                    qualities.len(),
                    work.frames
                ),
            });
        }
        let frames = hashes
            .chunks_exact(Hash256::BYTES)
            .zip(&qualities)
            .map(|(bytes, &quality)| FrameHash {
                hash: Hash256::from_bytes(bytes.try_into().expect("32-byte chunk")),
                quality: f32::from(quality) / 255.0,
            })
            .collect();
        let damaged = |reason| StoreError::Damaged {
            work_id: work.id.clone(),
            reason,
        };
        let keyframes = keypoints
            .as_deref()
            .map(keypoints::decode)
            .transpose()
            .map_err(|reason| damaged(format!("keypoints: {reason}")))?
            .unwrap_or_default();
        let fingerprint =
            Fingerprint::from_stored(sample_rate, frames, work.frames as usize, keyframes)
                .map_err(damaged)?;
        Ok((
            work,
            StoredFingerprint {
                algorithm,
                fingerprint,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(id: &str, sha: &str) -> Work {
        Work {
            id: id.into(),
            title: format!("title {id}"),
            owner: None,
            rights_statement: None,
            source_path: "/videos/a.mp4".into(),
            source_sha256: sha.into(),
            source_bytes: 10,
            duration_s: 1.5,
            width: 640,
            height: 360,
            codec: "h264".into(),
            created_at: crate::clock::parse("2026-01-01T00:00:00Z").unwrap(),
            frames: 3,
        }
    }

    fn fingerprint() -> Fingerprint {
        let frames = (0..3u64)
            .map(|i| FrameHash {
                hash: Hash256([i, !i, i << 7, 42]),
                quality: i as f32 / 2.0,
            })
            .collect();
        let point = |i: u64| crate::fingerprint::Keypoint {
            x: 0.25,
            y: 0.5,
            scale: 0.5,
            descriptor: Hash256([i, 7, !i, 9]),
        };
        Fingerprint {
            sample_rate: 2.0,
            frames,
            regions: Vec::new(),
            keyframes: vec![vec![point(1), point(2)], vec![point(3)]],
        }
    }

    #[tokio::test]
    async fn works_round_trip_and_duplicates_are_refused_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        round_trip(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn works_round_trip_and_duplicates_are_refused_postgres() {
        let Some(db) = crate::testkit::postgres::TestDatabase::create("works_round_trip").await
        else {
            return;
        };
        let store = Store::open(&db.url).await.unwrap();
        round_trip(&store).await;
        store.close().await;
    }

    async fn round_trip(store: &Store) {
        store
            .insert_work(&work("0abc", "sha-1"), &fingerprint())
            .await
            .unwrap();
        store
            .insert_work(&work("0abd", "sha-2"), &fingerprint())
            .await
            .unwrap();
        let again = store
            .insert_work(&work("0xyz", "sha-1"), &fingerprint())
            .await;
        assert!(matches!(again, Err(StoreError::AlreadyRegistered { .. })));

        assert_eq!(store.list_works().await.unwrap().len(), 2);
        assert_eq!(store.find_work("0abc").await.unwrap().id, "0abc");
        assert!(matches!(
            store.find_work("0ab").await,
            Err(StoreError::AmbiguousWork { .. })
        ));
        assert!(matches!(
            store.find_work("zz").await,
            Err(StoreError::WorkNotFound(_))
        ));
        // A title (any case) and the end of an id (a short id) name a work;
        // an end is preferred to a start.
        assert_eq!(store.find_work("TITLE 0abd").await.unwrap().id, "0abd");
        let long = work("0abc0000feed1234", "sha-3");
        store.insert_work(&long, &fingerprint()).await.unwrap();
        assert_eq!(store.find_work("feed1234").await.unwrap().id, long.id);
        assert_eq!(store.find_work("1234").await.unwrap().id, long.id);
        assert!(matches!(
            store.find_work("0abc0").await,
            Ok(Work { ref id, .. }) if *id == long.id
        ));
        store.remove_work(&long.id).await.unwrap();

        let mut loaded = Vec::new();
        store
            .each_fingerprint(|work, stored| loaded.push((work, stored)))
            .await
            .unwrap();
        assert_eq!(loaded[0].1.algorithm, ALGORITHM);
        let original = fingerprint();
        for (got, want) in loaded[0].1.fingerprint.frames.iter().zip(&original.frames) {
            assert_eq!(got.hash, want.hash);
            assert!((got.quality - want.quality).abs() < 0.01);
        }
        let keyframes = &loaded[0].1.fingerprint.keyframes;
        assert_eq!(keyframes.len(), original.keyframes.len());
        for (got, want) in keyframes
            .iter()
            .flatten()
            .zip(original.keyframes.iter().flatten())
        {
            assert_eq!(got.descriptor, want.descriptor);
            assert!((got.x - want.x).abs() < 1e-4 && (got.y - want.y).abs() < 1e-4);
            assert_eq!(got.scale, want.scale);
        }
        store.remove_work("0abc").await.unwrap();
        assert_eq!(store.list_works().await.unwrap().len(), 1);
        assert!(store.remove_work("0abc").await.is_err());
    }
}
