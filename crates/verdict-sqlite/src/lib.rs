//! [`Store`] on embedded SQLite, the zero-setup default. One database file
//! in WAL mode; by default every answered write is on disk (the WAL is
//! fdatasynced before the answer, see `wal_sync`); writes are
//! group-committed by one writer thread (see [`pool`]), reads run on a
//! small connection pool.

mod cases;
mod idempotency;
mod import;
mod migrations;
mod pool;
mod projects;
mod results;
mod runs;
mod search;
mod users;
mod wal_sync;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode};
use verdict_store::*;

pub use pool::Synchronous;

/// Where and how to open the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
}

impl SqliteConfig {
    /// Reads `sqlite://PATH[?synchronous=full|normal]`: `sqlite://verdict.db`
    /// is relative to the working directory, `sqlite:///var/lib/v.db` absolute.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| format!("not a sqlite URL: {url}"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err("the sqlite URL names no file (sqlite://verdict.db)".into());
        }
        let mut synchronous = Synchronous::Full;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => {
                    synchronous = Synchronous::Full
                }
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => {
                    synchronous = Synchronous::Normal
                }
                _ => {
                    return Err(format!(
                        "unknown sqlite URL option {pair:?} (synchronous=full|normal)"
                    ));
                }
            }
        }
        Ok(Self {
            path: PathBuf::from(path),
            synchronous,
        })
    }
}

/// The SQLite store. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<pool::Pool>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(config: &SqliteConfig) -> StoreResult<Self> {
        let mut conn = pool::open_connection(&config.path, config.synchronous).map_err(db_err)?;
        let ran = migrations::migrate(&mut conn).map_err(db_err)?;
        if ran > 0 {
            tracing::info!(migrations = ran, "sqlite schema migrated");
        }
        drop(conn);
        let pool = pool::Pool::start(config.path.clone(), config.synchronous).map_err(db_err)?;
        Ok(Self { pool })
    }
}

/// Maps a driver error: lock and I/O trouble is `Unavailable` (retryable);
/// anything else is a bug or a broken file.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::ReadOnly
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// `QueryReturnedNoRows` is a `NotFound`; everything else maps as [`db_err`].
pub(crate) fn found<T>(r: rusqlite::Result<T>) -> StoreResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(StoreError::NotFound),
        Err(e) => Err(db_err(e)),
    }
}

pub(crate) fn status_of(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, code))
}

pub(crate) fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

pub(crate) fn check_page(page: Page) -> (i64, i64) {
    (i64::from(page.per_page), page.offset())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.pool
            .read(|c: &Connection| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }

    fn pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    async fn create_user(&self, user: NewUser, now: Timestamp) -> StoreResult<User> {
        self.pool
            .write(move |c| users::create_user(c, &user, now))
            .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.pool.point(|c| users::get_user(c, id))
    }

    async fn list_users(&self, page: Page) -> StoreResult<Listing<User>> {
        self.pool.read(move |c| users::list_users(c, page)).await
    }

    async fn login_lookup(&self, email: String) -> StoreResult<Option<(User, Option<String>)>> {
        self.pool
            .read(move |c| users::login_lookup(c, &email))
            .await
    }

    async fn set_password(&self, user: UserId, hash: Option<String>) -> StoreResult<()> {
        self.pool
            .write(move |c| users::set_password(c, user, hash.as_deref()))
            .await
    }

    async fn bootstrap_admin(
        &self,
        token: Option<TokenHash>,
        fresh: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Bootstrap> {
        self.pool
            .write(move |c| users::bootstrap_admin(c, token, fresh, now))
            .await
    }

    async fn revoke_start_tokens(
        &self,
        keep: Option<TokenHash>,
        public: Vec<TokenHash>,
    ) -> StoreResult<u64> {
        self.pool
            .write(move |c| users::revoke_start_tokens(c, keep.as_ref(), &public))
            .await
    }

    async fn create_token(
        &self,
        user: UserId,
        name: String,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Token> {
        self.pool
            .write(move |c| users::create_token(c, user, &name, &hash, now))
            .await
    }

    async fn authenticate(
        &self,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<(User, TokenId)>> {
        let found = self.pool.point(|c| users::authenticate(c, &hash))?;
        let Some((user, token, last_used)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|t| now.millis() - t.millis() > users::TOUCH_EVERY_MS) {
            // Noting the use is not worth failing or delaying the request.
            let pool = Arc::clone(&self.pool);
            tokio::spawn(async move {
                let _ = pool.write(move |c| users::touch_token(c, token, now)).await;
            });
        }
        Ok(Some((user, token)))
    }

    async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<Token>> {
        self.pool.read(move |c| users::list_tokens(c, user)).await
    }

    async fn get_token(&self, id: TokenId) -> StoreResult<Token> {
        self.pool.point(|c| users::get_token(c, id))
    }

    async fn delete_token(&self, id: TokenId) -> StoreResult<()> {
        self.pool.write(move |c| users::delete_token(c, id)).await
    }

    async fn create_project(
        &self,
        name: String,
        creator: UserId,
        now: Timestamp,
    ) -> StoreResult<Project> {
        self.pool
            .write(move |c| projects::create_project(c, &name, creator, now))
            .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        self.pool.point(|c| projects::get_project(c, id))
    }

    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: Page,
    ) -> StoreResult<Listing<Project>> {
        self.pool
            .read(move |c| projects::list_projects(c, member, page))
            .await
    }

    async fn role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        self.pool.point(|c| projects::role(c, project, user))
    }

    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> StoreResult<Member> {
        self.pool
            .write(move |c| projects::set_member(c, project, user, role))
            .await
    }

    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        self.pool
            .write(move |c| projects::remove_member(c, project, user))
            .await
    }

    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        self.pool
            .read(move |c| projects::list_members(c, project))
            .await
    }

    async fn create_case(
        &self,
        project: ProjectId,
        case: NewCase,
        now: Timestamp,
    ) -> StoreResult<Case> {
        self.pool
            .write(move |c| cases::create_case(c, project, &case, now))
            .await
    }

    async fn upsert_cases(
        &self,
        project: ProjectId,
        new: Vec<NewCase>,
        now: Timestamp,
    ) -> StoreResult<Vec<CaseUpsert>> {
        self.pool
            .write(move |c| cases::upsert_cases(c, project, &new, now))
            .await
    }

    async fn get_case(&self, id: CaseId) -> StoreResult<Case> {
        self.pool.point(|c| cases::get_case(c, id))
    }

    async fn list_cases(
        &self,
        project: ProjectId,
        query: CaseQuery,
        page: Page,
    ) -> StoreResult<Listing<Case>> {
        self.pool
            .read(move |c| cases::list_cases(c, project, &query, page))
            .await
    }

    async fn update_case(&self, id: CaseId, patch: CasePatch) -> StoreResult<Case> {
        self.pool
            .write(move |c| cases::update_case(c, id, &patch))
            .await
    }

    async fn delete_case(&self, id: CaseId) -> StoreResult<()> {
        self.pool.write(move |c| cases::delete_case(c, id)).await
    }

    async fn create_run(
        &self,
        project: ProjectId,
        run: NewRun,
        now: Timestamp,
    ) -> StoreResult<(Run, bool)> {
        self.pool
            .write(move |c| runs::create_run(c, project, &run, now))
            .await
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        self.pool.point(|c| runs::get_run(c, id))
    }

    async fn list_runs(
        &self,
        project: ProjectId,
        state: Option<RunState>,
        page: Page,
    ) -> StoreResult<Listing<Run>> {
        self.pool
            .read(move |c| runs::list_runs(c, project, state, page))
            .await
    }

    async fn update_run(&self, id: RunId, patch: RunPatch) -> StoreResult<Run> {
        self.pool
            .write(move |c| runs::update_run(c, id, &patch))
            .await
    }

    async fn add_cases_to_run(&self, id: RunId, cases: Vec<CaseId>) -> StoreResult<Run> {
        self.pool
            .write(move |c| runs::add_cases_to_run(c, id, &cases))
            .await
    }

    async fn close_run(&self, id: RunId, now: Timestamp) -> StoreResult<Run> {
        self.pool.write(move |c| runs::close_run(c, id, now)).await
    }

    async fn list_results(
        &self,
        run: RunId,
        query: ResultQuery,
    ) -> StoreResult<Listing<TestResult>> {
        self.pool
            .read(move |c| results::list_results(c, run, &query))
            .await
    }

    async fn get_result(&self, run: RunId, id: ResultId) -> StoreResult<TestResult> {
        self.pool.point(|c| results::get_result(c, run, id))
    }

    async fn record_result(
        &self,
        run: RunId,
        id: ResultId,
        execution: Execution,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<TestResult> {
        self.pool
            .write(move |c| results::record_result(c, run, id, &execution, actor, now))
            .await
    }

    async fn record_bulk(&self, request: BulkRequest) -> StoreResult<BulkOutcome> {
        self.pool
            .write_bulk(move |c| results::record_bulk(c, request))
            .await
    }

    async fn import_results(&self, request: ImportRequest) -> StoreResult<ImportOutcome> {
        self.pool
            .write_bulk(move |c| import::import_keyed(c, request))
            .await
    }

    async fn result_history(
        &self,
        run: RunId,
        id: ResultId,
        page: Page,
    ) -> StoreResult<Listing<HistoryEntry>> {
        self.pool
            .read(move |c| results::result_history(c, run, id, page))
            .await
    }
}
