//! Access: the dashboard's and the API's tokens (only their SHA-256 is
//! kept) and the server keys every node shares (the session-cookie key).

use chrono::{DateTime, Utc};

use super::codec::{time, MaybeStoredTime, StoredTime};
use super::jobs::new_id;
use super::{Store, StoreError};
use crate::domain::AccessRole;

/// A stored token, without the token itself.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: AccessRole,
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "MaybeStoredTime")]
    pub revoked_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked_at";

impl Store {
    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Records a new token by the SHA-256 of its text. Refuses a name a
    /// live token already has: the name is what the audit trail shows.
    pub async fn create_token(
        &self,
        name: &str,
        role: AccessRole,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let mut tx = self.write_transaction().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM tokens WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::TokenNameTaken(name.to_string()));
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO tokens (id, name, role, token_sha256, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(name)
        .bind(role)
        .bind(token_sha256)
        .bind(time(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TokenRecord {
            id,
            name: name.to_string(),
            role,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// Every token, live and revoked, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// The live token whose text has this SHA-256.
    pub async fn live_token_by_hash(
        &self,
        token_sha256: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_sha256 = $1 AND revoked_at IS NULL"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The token with this id, live or revoked.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Notes that a token was used.
    pub async fn touch_token(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(time(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes the live token named `name_or_id` (its name, or its id).
    pub async fn revoke_token(
        &self,
        name_or_id: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE (name = $1 OR id = $1) AND revoked_at IS NULL"
        );
        let found: Option<TokenRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name_or_id)
            .fetch_optional(&self.pool)
            .await?;
        let mut token = found.ok_or_else(|| StoreError::TokenNotFound(name_or_id.to_string()))?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2")
            .bind(time(now))
            .bind(&token.id)
            .execute(&self.pool)
            .await?;
        token.revoked_at = Some(now);
        Ok(token)
    }

    /// The server key `name`, made from `fresh()` and stored the first
    /// time it is asked for. Every node reads the same key: the first
    /// writer wins and the others read what it wrote.
    pub async fn server_key(
        &self,
        name: &str,
        fresh: impl FnOnce() -> Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, StoreError> {
        let read = "SELECT value FROM server_keys WHERE name = $1";
        let stored: Option<Vec<u8>> = sqlx::query_scalar(read)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(value) = stored {
            return Ok(value);
        }
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh())
        .bind(time(now))
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar(read)
            .bind(name)
            .fetch_one(&self.pool)
            .await?)
    }
}
