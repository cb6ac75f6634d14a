//! `reelguard db migrate-to`: the whole database copied into another one
//! (an empty PostgreSQL database), in one transaction on the target, then
//! verified table by table (row count and a SHA-256 over every row).

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Backend, Store, StoreError};

/// The running cluster's state, not copied: the nodes that run on the
/// target rebuild it.
const NOT_COPIED: &[&str] = &["leases", "nodes"];

/// Every other table, parents before children (foreign keys), with the
/// columns that order its rows.
const TABLES: &[(&str, &str)] = &[
    ("works", "id"),
    ("fingerprints", "work_id"),
    ("artifacts", "work_id, seq"),
    ("chain_heads", "work_id, seq"),
    ("sources", "name"),
    ("http_validators", "source, url"),
    ("scans", "id"),
    ("candidates", "id"),
    ("jobs", "id"),
    ("matches", "id"),
    ("captures", "match_id"),
    ("match_status_history", "id"),
    ("match_locations", "match_id, candidate_id"),
    ("location_captures", "match_id, candidate_id"),
    ("alerts", "id"),
    ("tokens", "id"),
    ("server_keys", "name"),
    ("uploads", "id"),
];

/// What one table held, as copied and as read back from the target.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Real,
    Blob,
}

/// One column's value, as read from either database.
enum Value {
    Text(Option<String>),
    Integer(Option<i64>),
    Real(Option<f64>),
    Blob(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &sqlx::any::AnyRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
        Ok(match kind {
            Kind::Text => Value::Text(row.try_get(i)?),
            Kind::Integer => Value::Integer(row.try_get(i)?),
            Kind::Real => Value::Real(row.try_get(i)?),
            Kind::Blob => Value::Blob(row.try_get(i)?),
        })
    }

    /// A canonical encoding for the hash: a tag, then the value.
    fn hash_into(&self, hasher: &mut Sha256) {
        fn put(hasher: &mut Sha256, tag: u8, bytes: Option<&[u8]>) {
            match bytes {
                None => hasher.update([tag, 0]),
                Some(b) => {
                    hasher.update([tag, 1]);
                    hasher.update((b.len() as u64).to_be_bytes());
                    hasher.update(b);
                }
            }
        }
        match self {
            Value::Text(v) => put(hasher, b't', v.as_deref().map(str::as_bytes)),
            Value::Integer(v) => put(
                hasher,
                b'i',
                v.map(i64::to_be_bytes).as_ref().map(|b| &b[..]),
            ),
            Value::Real(v) => put(
                hasher,
                b'r',
                v.map(|f| f.to_bits().to_be_bytes())
                    .as_ref()
                    .map(|b| &b[..]),
            ),
            Value::Blob(v) => put(hasher, b'b', v.as_deref()),
        }
    }
}

impl Store {
    /// (column, kind) of `table`, in schema order.
    async fn columns_of(&self, table: &str) -> Result<Vec<(String, Kind)>, StoreError> {
        let rows = match self.backend {
            Backend::Sqlite => {
                sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::query(
                    "SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(&self.pool)
                .await?
            }
        };
        let mut columns = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get("name")?;
            let declared: String = row.try_get("type")?;
            let kind = match declared.to_ascii_lowercase().as_str() {
                "text" => Kind::Text,
                "integer" | "bigint" => Kind::Integer,
                "double precision" | "real" => Kind::Real,
                "blob" | "bytea" => Kind::Blob,
                other => {
                    return Err(StoreError::Copy(format!(
                        "column {table}.{name} has type {other:?}, which the copy does not know"
                    )))
                }
            };
            columns.push((name, kind));
        }
        Ok(columns)
    }

    /// Row count and SHA-256 of every table, in [`TABLES`] order.
    pub async fn table_digests(&self) -> Result<Vec<TableCopy>, StoreError> {
        let mut digests = Vec::with_capacity(TABLES.len());
        for (table, order) in TABLES {
            let columns = self.columns_of(table).await?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
            let mut hasher = Sha256::new();
            let mut count = 0u64;
            use futures_util::TryStreamExt as _;
            while let Some(row) = rows.try_next().await? {
                for (i, (_, kind)) in columns.iter().enumerate() {
                    Value::read(&row, i, *kind)?.hash_into(&mut hasher);
                }
                count += 1;
            }
            digests.push(TableCopy {
                table: table.to_string(),
                rows: count,
                sha256: hex::encode(hasher.finalize()),
            });
        }
        Ok(digests)
    }

    /// Copies every row of this store into `target`, which must be empty,
    /// in one transaction on the target (an interrupted copy leaves it
    /// empty), then checks that both hold the same rows. Returns each
    /// table's count and hash.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<TableCopy>, StoreError> {
        let ours: Vec<(String, String)> = self.schema_columns().await?;
        let theirs: Vec<(String, String)> = target.schema_columns().await?;
        if ours != theirs {
            return Err(StoreError::Copy(
                "the two databases have different schemas; run the same reelguard version on both"
                    .into(),
            ));
        }
        let mut tables: Vec<&str> = ours
            .iter()
            .map(|(t, _)| t.as_str())
            .filter(|t| !NOT_COPIED.contains(t))
            .collect();
        tables.dedup();
        let mut known: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
        known.sort();
        if tables != known {
            return Err(StoreError::Copy(format!(
                "the schema has tables {tables:?}; the copy knows {known:?}"
            )));
        }
        for (table, _) in TABLES {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM {table}"
            )))
            .fetch_one(&target.pool)
            .await?;
            let n: i64 = row.try_get("n")?;
            if n != 0 {
                return Err(StoreError::Copy(format!(
                    "the target database is not empty (table {table} has {n} rows); give an empty database"
                )));
            }
        }
        let mut tx = target.pool.begin().await?;
        for (table, order) in TABLES {
            let columns = self.columns_of(table).await?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            let select = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                (1..=names.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&self.pool);
            use futures_util::TryStreamExt as _;
            while let Some(row) = rows.try_next().await? {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                for (i, (_, kind)) in columns.iter().enumerate() {
                    query = match Value::read(&row, i, *kind)? {
                        Value::Text(v) => query.bind(v),
                        Value::Integer(v) => query.bind(v),
                        Value::Real(v) => query.bind(v),
                        Value::Blob(v) => query.bind(v),
                    };
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        let copied = self.table_digests().await?;
        let stored = target.table_digests().await?;
        if copied != stored {
            return Err(StoreError::Copy(format!(
                "the copy differs from the original: {:?}",
                copied
                    .iter()
                    .zip(&stored)
                    .filter(|(a, b)| a != b)
                    .map(|(a, _)| &a.table)
                    .collect::<Vec<_>>()
            )));
        }
        Ok(stored)
    }
}
