//! Throwaway PostgreSQL databases for the tests: one per test, created on
//! the local server and dropped afterwards, so tests run in parallel
//! without sharing state.
//!
//! The PostgreSQL runs are on when `REELGUARD_TEST_POSTGRES=1` (`.ci/run`
//! sets it). Unset, [`TestDatabase::create`] prints one line saying the run
//! was skipped and why, and returns `None`; set, a server that cannot be
//! reached fails the test.

/// Turns the PostgreSQL test runs on.
pub const ENABLE_VAR: &str = "REELGUARD_TEST_POSTGRES";
/// Overrides the server (default: trust auth at 127.0.0.1:5432, user
/// `postgres`, maintenance database `test`).
pub const ADMIN_URL_VAR: &str = "REELGUARD_TEST_POSTGRES_URL";
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own for one test; dropped with the value.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

/// True when the PostgreSQL runs are on.
pub fn enabled() -> bool {
    std::env::var(ENABLE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn admin_url() -> String {
    std::env::var(ADMIN_URL_VAR).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

impl TestDatabase {
    /// Creates an empty database for the test `label`, or `None` (with one
    /// line on stderr) when the PostgreSQL runs are off.
    ///
    /// # Panics
    /// When the runs are on and the server cannot be reached.
    pub async fn create(label: &str) -> Option<TestDatabase> {
        if !enabled() {
            eprintln!(
                "{label}: PostgreSQL run skipped: {ENABLE_VAR} is not set (set it to 1 with a server at 127.0.0.1:5432)"
            );
            return None;
        }
        use sqlx::Connection as _;
        let admin_url = admin_url();
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{ENABLE_VAR} is set but PostgreSQL at {} cannot be reached: {e}",
                    crate::store::redact_url(&admin_url)
                )
            });
        let name = format!(
            "reelguard_test_{}_{}",
            label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                })
                .take(30)
                .collect::<String>(),
            uuid::Uuid::new_v4().simple()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("admin URL parses");
        url.set_path(&name);
        Some(TestDatabase {
            url: url.to_string(),
            name,
            admin_url,
        })
    }

    /// Blocking [`TestDatabase::create`], for tests without a runtime.
    pub fn create_blocking(label: &str) -> Option<TestDatabase> {
        let label = label.to_string();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(TestDatabase::create(&label))
        })
        .join()
        .expect("create the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        // Drop may run inside a runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(async move {
                    use sqlx::Connection as _;
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    admin.close().await
                })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("cannot drop test database {}: {e}", self.name);
        }
    }
}
