//! Fresh PostgreSQL databases for tests (cargo feature `testing`).
//!
//! Tests that need PostgreSQL read a server URL from
//! `VERDICT_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`)
//! and skip, passing, when it is unset. Each test gets its own database,
//! created through an admin connection to the URL's database and dropped
//! (`WITH (FORCE)`, so open pools do not hold it) when the test is done:
//!
//! ```no_run
//! # async fn example() {
//! use verdict_postgres::testing::TestDatabase;
//!
//! let Some(db) = TestDatabase::from_env().await else {
//!     eprintln!("{}", verdict_postgres::testing::SKIP_MESSAGE);
//!     return;
//! };
//! let store = db.connect().await.expect("connect");
//! // … use `store`, or hand `db.url()` to `verdict serve` instances …
//! db.drop_database().await.expect("drop");
//! # }
//! ```
//!
//! A `TestDatabase` that is dropped without [`TestDatabase::drop_database`]
//! (a failed assertion) is still dropped, from a helper thread.

use crate::{PgConfig, PgStore};
use verdict_store::{Execution, ResultId, RunId, StoreResult, TestResult, Timestamp, UserId};

/// The environment variable naming the PostgreSQL server for tests.
pub const URL_VAR: &str = "VERDICT_TEST_POSTGRES_URL";
/// What a test prints when it skips for want of [`URL_VAR`].
pub const SKIP_MESSAGE: &str =
    "SKIPPED: set VERDICT_TEST_POSTGRES_URL to run the PostgreSQL conformance suite";

/// The advisory lock key start-up holds while migrating, so a test can
/// hold it and watch a start wait.
pub const MIGRATION_LOCK: i64 = crate::migrations::MIGRATION_LOCK;

/// The environment variable naming the CA certificate of the test
/// server's TLS certificate (issued for the host name `localhost`; a
/// client certificate for user `postgres` lies beside it, `client.crt`
/// and `client.key`), for the tests of TLS.
pub const TLS_ROOTCERT_VAR: &str = "VERDICT_TEST_POSTGRES_TLS_ROOTCERT";
/// Set to `1`: the TLS tests fail, instead of skipping, without
/// [`TLS_ROOTCERT_VAR`] (CI sets it).
pub const REQUIRE_TLS_VAR: &str = "VERDICT_REQUIRE_POSTGRES_TLS";

/// The CA of [`TLS_ROOTCERT_VAR`]; `None` (after printing why the test
/// skips) when it is unset, a panic when [`REQUIRE_TLS_VAR`] is `1`.
pub fn tls_rootcert_from_env() -> Option<std::path::PathBuf> {
    match std::env::var(TLS_ROOTCERT_VAR) {
        Ok(path) if !path.trim().is_empty() => Some(path.into()),
        _ if std::env::var(REQUIRE_TLS_VAR).as_deref() == Ok("1") => {
            panic!("{REQUIRE_TLS_VAR}=1 but {TLS_ROOTCERT_VAR} is unset (source .ci/pg-tls.sh)")
        }
        _ => {
            println!(
                "SKIPPED: set {TLS_ROOTCERT_VAR} (and {URL_VAR}) to a PostgreSQL server with TLS on (.ci/pg-tls.sh)"
            );
            None
        }
    }
}

/// The statements a PATCH of one result sends, in order, for raw
/// baselines that send the same: the token look-up (`$1` hash) and the
/// checked write (see `record_result_as`: `$1` result, `$2` run, `$3`
/// status, `$4` note, `$5` elapsed, `$6` tested by, `$7` tested at, `$8`
/// steps, `$9` defects, `$10` output, `$11` actor, `$12` now, `$13`
/// admin).
pub fn patch_statements() -> [String; 2] {
    [
        crate::users::authenticate_sql(),
        crate::results::record_sql(),
    ]
}

/// Writes PATCHes (`run`, `result`, `execution`, `actor`, `admin`,
/// `now`) as the store writes PATCHes that arrive together: one statement
/// for all of them (the k-th PATCH of a result in the k-th), whatever else
/// is running. The answers, in order, are what each PATCH answers.
pub async fn record_together(
    store: &PgStore,
    patches: Vec<(RunId, ResultId, Execution, UserId, bool, Timestamp)>,
) -> Vec<StoreResult<Option<TestResult>>> {
    let patches = patches
        .into_iter()
        .map(
            |(run, id, execution, actor, admin, now)| crate::patches::Patch {
                run,
                id,
                execution,
                actor,
                admin,
                now,
            },
        )
        .collect();
    crate::patches::write_together(store, patches).await
}

/// The server URL from [`URL_VAR`], if set and not empty.
pub fn url_from_env() -> Option<String> {
    std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

/// A database created for one test, named `verdict_test_<random hex>`.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
    dropped: bool,
}

impl TestDatabase {
    /// A fresh database on the server of [`URL_VAR`]; `None` when the
    /// variable is unset. Panics when the server cannot be used: a test
    /// that was asked to run against PostgreSQL must not pass silently.
    pub async fn from_env() -> Option<TestDatabase> {
        let admin_url = url_from_env()?;
        match Self::create(&admin_url).await {
            Ok(db) => Some(db),
            Err(e) => panic!("{URL_VAR} is set but no test database could be created: {e}"),
        }
    }

    /// Creates a fresh, empty database on the server `admin_url` points at
    /// (connecting to its database to issue `CREATE DATABASE`).
    pub async fn create(admin_url: &str) -> Result<TestDatabase, String> {
        let name = format!("verdict_test_{:016x}", random_u64()?);
        let url = with_database(admin_url, &name)?;
        admin(admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(TestDatabase {
            admin_url: admin_url.to_string(),
            name,
            url,
            dropped: false,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database (the server URL with the database replaced,
    /// its query parameters kept), for [`PgConfig::from_url`] or for
    /// `VERDICT_DATABASE_URL` of a `verdict serve` process.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn config(&self) -> Result<PgConfig, String> {
        PgConfig::from_url(&self.url)
    }

    /// A store on this database (migrated).
    pub async fn connect(&self) -> StoreResult<PgStore> {
        let config = self
            .config()
            .map_err(|e| verdict_store::StoreError::Other(format!("test database URL: {e}")))?;
        PgStore::connect(&config).await
    }

    /// A direct connection to this database (TLS as the URL says), to
    /// look at or stage rows directly. Its connection task runs on the
    /// current runtime.
    pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
        crate::connect_client(&self.config()?)
            .await
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// Drops the database, closing any connection still open to it.
    pub async fn drop_database(mut self) -> Result<(), String> {
        self.dropped = true;
        drop_db(&self.admin_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop may run inside a runtime (a panicking async test): use a
        // thread with its own.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(drop_db(&admin_url, &name))
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

async fn drop_db(admin_url: &str, name: &str) -> Result<(), String> {
    admin(
        admin_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
}

/// Runs one statement on a short-lived connection to the admin URL.
async fn admin(admin_url: &str, sql: &str) -> Result<(), String> {
    let config = PgConfig::from_url(admin_url)?;
    let (client, task) = crate::open(&config).await.map_err(|e| {
        format!(
            "cannot connect to the test server: {}",
            crate::error::describe(&e)
        )
    })?;
    let outcome = client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("{sql}: {}", crate::error::describe(&e)));
    drop(client);
    let _ = task.await;
    outcome
}

/// `url` with its database (path) replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("not a PostgreSQL URL (postgres://user@host:port/database)")?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// `url` with one more query parameter (`name=value`), after any it has
/// (the server URL may carry `sslmode` and `sslrootcert`).
pub fn with_param(url: &str, param: &str) -> String {
    let joint = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joint}{param}")
}

fn random_u64() -> Result<u64, String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::{with_database, with_param};

    #[test]
    fn replaces_the_database_and_keeps_the_rest() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?pool_size=4&connect_timeout=2", "t2").unwrap(),
            "postgresql://u:p@h/t2?pool_size=4&connect_timeout=2"
        );
        assert_eq!(
            with_database("postgres://h:1?pool_size=2", "t3").unwrap(),
            "postgres://h:1/t3?pool_size=2"
        );
        assert_eq!(
            with_database(
                "postgres://postgres@localhost:5432/postgres?sslmode=verify-full&sslrootcert=/ci/ca.crt",
                "t4"
            )
            .unwrap(),
            "postgres://postgres@localhost:5432/t4?sslmode=verify-full&sslrootcert=/ci/ca.crt"
        );
        assert_eq!(
            with_param("postgres://h/d", "pool_size=1"),
            "postgres://h/d?pool_size=1"
        );
        assert_eq!(
            with_param("postgres://h/d?sslmode=require", "pool_size=1"),
            "postgres://h/d?sslmode=require&pool_size=1"
        );
    }
}
