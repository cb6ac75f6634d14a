//! Several nodes on one database: each node's heartbeat (`nodes`), named
//! leases that one node at a time holds (`leases`: the scheduler), and the
//! queue's state for `reelguard cluster status`.

use chrono::{DateTime, Utc};

use super::codec::{time, MaybeStoredTime, StoredTime};
use super::{Store, StoreError};
use crate::domain::{AlertState, JobKind, JobState, ScanStatus};

/// A node as it last reported itself.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Node {
    /// Its lease owner name (`host:pid:random`).
    pub id: String,
    pub host: String,
    /// Its `[daemon] roles`, comma-separated names.
    pub roles: String,
    /// The reelguard version it runs.
    pub version: String,
    #[sqlx(try_from = "StoredTime")]
    pub started_at: DateTime<Utc>,
    #[sqlx(try_from = "StoredTime")]
    pub last_seen: DateTime<Utc>,
}

/// Who holds a named lease, until when.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct LeaseHolder {
    pub owner: String,
    #[sqlx(try_from = "StoredTime")]
    pub expires_at: DateTime<Utc>,
}

/// The queue's jobs of one kind that are waiting or running.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct QueueDepth {
    pub kind: JobKind,
    pub queued: i64,
    pub running: i64,
    /// When the longest-waiting queued job became due.
    #[sqlx(try_from = "MaybeStoredTime")]
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Counts for the metrics, see [`Store::metric_counts`].
#[derive(Clone, Debug, Default)]
pub struct MetricCounts {
    pub jobs: Vec<(JobKind, JobState, i64)>,
    /// Source, status, scans, scans that met errors.
    pub scans: Vec<(String, ScanStatus, i64, i64)>,
    pub matches: Vec<(crate::domain::MatchStatus, u64)>,
    pub alerts: Vec<(AlertState, i64)>,
}

impl Store {
    /// Records that `node` is alive at `now`.
    pub async fn heartbeat(&self, node: &Node, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nodes (id, host, roles, version, started_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(&node.id)
        .bind(&node.host)
        .bind(&node.roles)
        .bind(&node.version)
        .bind(time(node.started_at))
        .bind(time(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a node (it stopped).
    pub async fn remove_node(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Nodes seen since `since`, most recently started first.
    pub async fn nodes_seen_since(&self, since: DateTime<Utc>) -> Result<Vec<Node>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, host, roles, version, started_at, last_seen FROM nodes \
             WHERE last_seen >= $1 ORDER BY started_at DESC, id",
        )
        .bind(time(since))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes or renews the lease `name` for `owner` until `until`; true when
    /// `owner` holds it now. One statement (an upsert that changes the row
    /// only when `owner` holds it or it expired), so two nodes asking at
    /// once cannot both get it, on SQLite or PostgreSQL.
    pub async fn hold_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE leases.owner = excluded.owner OR leases.expires_at < $4 RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(time(until))
        .bind(time(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(held.as_deref() == Some(owner))
    }

    /// Gives the lease `name` up, if `owner` holds it.
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who holds the lease `name` (it may have expired).
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, StoreError> {
        Ok(
            sqlx::query_as("SELECT owner, expires_at FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Jobs waiting or running, per kind (kinds with none are left out).
    pub async fn queue_depths(&self) -> Result<Vec<QueueDepth>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, \
             SUM(CASE WHEN state = $1 THEN 1 ELSE 0 END) AS queued, \
             SUM(CASE WHEN state = $2 THEN 1 ELSE 0 END) AS running, \
             MIN(CASE WHEN state = $1 THEN run_after END) AS oldest_due \
             FROM jobs WHERE state IN ($1, $2) GROUP BY kind ORDER BY kind",
        )
        .bind(JobState::Queued)
        .bind(JobState::Running)
        .fetch_all(&self.pool)
        .await?)
    }

    /// What the metrics count: jobs per kind and state, scans per source
    /// and status (with those that met errors), matches per status, alerts
    /// per state.
    pub async fn metric_counts(&self) -> Result<MetricCounts, StoreError> {
        let jobs: Vec<(JobKind, JobState, i64)> = sqlx::query_as(
            "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&self.pool)
        .await?;
        let scans: Vec<(String, ScanStatus, i64, i64)> = sqlx::query_as(
            "SELECT source, status, COUNT(*), SUM(CASE WHEN errors <> '[]' THEN 1 ELSE 0 END)              FROM scans GROUP BY source, status ORDER BY source, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let alerts: Vec<(AlertState, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM alerts GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(MetricCounts {
            jobs,
            scans,
            matches: self.match_counts().await?,
            alerts,
        })
    }

    /// Jobs that finished (done or failed) since `since`.
    pub async fn jobs_finished_since(&self, since: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE state IN ($1, $2) AND updated_at >= $3",
        )
        .bind(JobState::Done)
        .bind(JobState::Failed)
        .bind(time(since))
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn one_holder_at_a_time(store: &Store) {
        let t0 = crate::clock::parse("2026-01-01T00:00:00Z").unwrap();
        let until = crate::clock::after(t0, 10.0);
        assert!(store.hold_lease("scheduler", "a", until, t0).await.unwrap());
        assert!(!store.hold_lease("scheduler", "b", until, t0).await.unwrap());
        // The holder renews; the other takes over only once it expired.
        let t1 = crate::clock::after(t0, 5.0);
        assert!(store
            .hold_lease("scheduler", "a", crate::clock::after(t1, 10.0), t1)
            .await
            .unwrap());
        let t2 = crate::clock::after(t0, 12.0);
        assert!(!store.hold_lease("scheduler", "b", t2, t2).await.unwrap());
        // After a's renewed expiry (t1 + 10 s = 15 s), b takes it over.
        let t3 = crate::clock::after(t0, 16.0);
        let later = crate::clock::after(t3, 10.0);
        assert!(store.hold_lease("scheduler", "b", later, t3).await.unwrap());
        assert_eq!(
            store
                .lease_holder("scheduler")
                .await
                .unwrap()
                .unwrap()
                .owner,
            "b"
        );
        store.release_lease("scheduler", "a").await.unwrap();
        assert!(store.lease_holder("scheduler").await.unwrap().is_some());
        store.release_lease("scheduler", "b").await.unwrap();
        assert!(store.hold_lease("scheduler", "a", later, t3).await.unwrap());

        let node = Node {
            id: "h:1:x".into(),
            host: "h".into(),
            roles: "scan,candidate".into(),
            version: "0.1.0".into(),
            started_at: t0,
            last_seen: t0,
        };
        store.heartbeat(&node, t0).await.unwrap();
        store.heartbeat(&node, t3).await.unwrap();
        let seen = store.nodes_seen_since(t1).await.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].last_seen, t3);
        assert!(store.nodes_seen_since(later).await.unwrap().is_empty());
        store.remove_node("h:1:x").await.unwrap();
        assert!(store.nodes_seen_since(t0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_until_it_expires_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        one_holder_at_a_time(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_until_it_expires_postgres() {
        let Some(db) = crate::testkit::postgres::TestDatabase::create("leases").await else {
            return;
        };
        let store = Store::open(&db.url).await.unwrap();
        one_holder_at_a_time(&store).await;
        store.close().await;
    }
}
