//! Schema migrations, applied in order at start-up. `PRAGMA user_version`
//! records how many have run; each runs in its own transaction.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE members (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    role       INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members (user_id, project_id);

CREATE TABLE cases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    title      TEXT NOT NULL,
    key        TEXT,
    suite      TEXT,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX cases_key ON cases (project_id, key)
    WHERE key IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX cases_project ON cases (project_id) WHERE deleted_at IS NULL;

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    name        TEXT NOT NULL,
    description TEXT,
    key         TEXT,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    passed      INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    blocked     INTEGER NOT NULL DEFAULT 0,
    retest      INTEGER NOT NULL DEFAULT 0,
    not_tested  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX runs_key ON runs (project_id, key) WHERE key IS NOT NULL;
CREATE INDEX runs_project ON runs (project_id);

-- One row per (run, case). Ordered listing uses results_run (the rowid is
-- the last column of every index, so it serves ORDER BY id within a run);
-- a status filter uses results_run_status the same way.
CREATE TABLE results (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    status     INTEGER NOT NULL DEFAULT 0,
    note       TEXT,
    elapsed_ms INTEGER,
    tested_by  INTEGER REFERENCES users (id),
    tested_at  INTEGER
);
CREATE UNIQUE INDEX results_run_case ON results (run_id, case_id);
CREATE INDEX results_run ON results (run_id);
CREATE INDEX results_run_status ON results (run_id, status);

CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    result_id  INTEGER NOT NULL REFERENCES results (id),
    status     INTEGER NOT NULL,
    note       TEXT,
    elapsed_ms INTEGER,
    tested_by  INTEGER NOT NULL REFERENCES users (id),
    tested_at  INTEGER NOT NULL
);
CREATE INDEX history_result ON history (result_id);

CREATE TABLE idempotency (
    user_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    outcome     BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created_at);
"#,
    // 2. Tokens given at start-up (VERDICT_ADMIN_TOKEN) are valid only while
    // starts keep giving them: marked here, revoked by a start without.
    r#"
ALTER TABLE tokens ADD COLUMN given_at_start INTEGER NOT NULL DEFAULT 0;
"#,
    // 3. Triage: where a run came from (branch, commit, build, environment)
    // and the sum of its results' elapsed times, kept with the counts; a
    // case's quarantine; each result's flags (a failed execution, a pass
    // after one), kept at write time. Backfilled from what is there: the
    // elapsed sums from the results, the flags from each result's history
    // in execution order (a pass after the first failure is a retried
    // pass). results_case serves a case across runs.
    r#"
ALTER TABLE runs ADD COLUMN branch TEXT;
ALTER TABLE runs ADD COLUMN "commit" TEXT;
ALTER TABLE runs ADD COLUMN build_url TEXT;
ALTER TABLE runs ADD COLUMN environment TEXT;
ALTER TABLE runs ADD COLUMN elapsed_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_branch ON runs (project_id, branch, id);

ALTER TABLE cases ADD COLUMN quarantine_reason TEXT;
ALTER TABLE cases ADD COLUMN quarantined_by INTEGER REFERENCES users (id);
ALTER TABLE cases ADD COLUMN quarantined_at INTEGER;

ALTER TABLE results ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
CREATE INDEX results_case ON results (case_id, run_id);

UPDATE runs SET elapsed_ms = (
    SELECT coalesce(sum(r.elapsed_ms), 0) FROM results r WHERE r.run_id = runs.id
);
UPDATE results SET flags = 1 | CASE WHEN EXISTS (
        SELECT 1 FROM history p
        WHERE p.result_id = results.id AND p.status = 1
          AND p.id > (SELECT min(f.id) FROM history f WHERE f.result_id = results.id AND f.status = 2)
    ) THEN 2 ELSE 0 END
WHERE id IN (SELECT result_id FROM history WHERE status = 2);
"#,
    // What a tester follows. Steps and refs are JSON arrays as text, NULL
    // when there are none.
    r#"
ALTER TABLE cases ADD COLUMN preconditions TEXT;
ALTER TABLE cases ADD COLUMN steps TEXT;
ALTER TABLE cases ADD COLUMN priority TEXT;
ALTER TABLE cases ADD COLUMN refs TEXT;
"#,
    // 5. Manual testing: what an execution records besides its status
    // (step results, defects: JSON arrays as text, NULL when there are none,
    // so CI uploads store nothing more), on the result and on its history
    // row; whom a result is assigned to (results_assigned serves a tester's
    // work and a run's filter by assignee, and holds only assigned rows); a
    // project's defect link template.
    r#"
ALTER TABLE results ADD COLUMN step_results TEXT;
ALTER TABLE results ADD COLUMN defects TEXT;
ALTER TABLE results ADD COLUMN assigned_to INTEGER REFERENCES users (id);
CREATE INDEX results_assigned ON results (assigned_to, run_id) WHERE assigned_to IS NOT NULL;
ALTER TABLE history ADD COLUMN step_results TEXT;
ALTER TABLE history ADD COLUMN defects TEXT;
ALTER TABLE projects ADD COLUMN defect_url_template TEXT;
"#,
    // 6. Attachments and test output. What an execution printed, on the
    // result (its latest) and on its history row, NULL when none (so
    // uploads without output store nothing more). Files kept with an
    // execution: the bytes are in the attachment storage under their
    // sha256; a row names them. AUTOINCREMENT: an id is never reused, so
    // a link to a deleted attachment never shows another file.
    // attachments_result serves a result's list and the idempotent add
    // (same execution, name and digest); attachments_sha256 tells a prune
    // whether any row still names a digest.
    r#"
ALTER TABLE results ADD COLUMN output TEXT;
ALTER TABLE history ADD COLUMN output TEXT;
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id    INTEGER NOT NULL REFERENCES results (id),
    execution    INTEGER NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_result ON attachments (result_id, execution, name);
CREATE INDEX attachments_sha256 ON attachments (sha256);
"#,
    // 7. A result's position in its run (1, 2, … in id order, no gaps:
    // results are only ever added to a run and deleted with it), kept as
    // PostgreSQL keeps it so a copy between them carries it verbatim.
    // Backfilled in id order.
    r#"
ALTER TABLE results ADD COLUMN pos INTEGER NOT NULL DEFAULT 0;
UPDATE results SET pos = p.pos
FROM (SELECT id, row_number() OVER (PARTITION BY run_id ORDER BY id) AS pos FROM results) AS p
WHERE results.id = p.id;
CREATE UNIQUE INDEX results_run_pos ON results (run_id, pos);
"#,
    // 8. TestRail compatibility: a stable number for each section (a
    // case's suite path) a TestRail client has seen or created, per
    // project. AUTOINCREMENT: a number is never reused.
    r#"
CREATE TABLE testrail_sections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    path       TEXT NOT NULL
);
CREATE UNIQUE INDEX testrail_sections_path ON testrail_sections (project_id, path);
"#,
    // 9. Webhooks, as PostgreSQL keeps them: a project's subscriptions
    // (events a bit each, so a write's "is anyone subscribed" is one
    // indexed test), the outbox of events (written with the change they
    // report; `data` holds the event's facts until its first delivery
    // renders and keeps the body's data), one delivery per (event,
    // webhook) with its state, retry schedule and claim, and the log of
    // attempts. AUTOINCREMENT: an event id (the `webhook-id` header
    // receivers deduplicate on) is never reused.
    r#"
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    url        TEXT NOT NULL,
    events     INTEGER NOT NULL,
    format     TEXT NOT NULL,
    active     INTEGER NOT NULL,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_project ON webhooks (project_id, id);
CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    rendered   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE TABLE webhook_deliveries (
    event_id         INTEGER NOT NULL REFERENCES webhook_events (id),
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id),
    state            INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    first_attempt_at INTEGER,
    claimed_until    INTEGER,
    redeliver        INTEGER NOT NULL DEFAULT 0,
    last_status      INTEGER,
    last_error       TEXT,
    PRIMARY KEY (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 0;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL,
    event_id    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, webhook_id);
"#,
    // 10: an event's deliveries are made by the delivery worker, not by
    // the write that queues it (`fanned` = 0 until then), so a write adds
    // one outbox row, however many webhooks listen. Events queued before
    // have their deliveries: fanned.
    r#"
ALTER TABLE webhook_events ADD COLUMN fanned INTEGER NOT NULL DEFAULT 1;
CREATE INDEX webhook_events_unfanned ON webhook_events (id) WHERE fanned = 0;
"#,
    // 11: webhook events without AUTOINCREMENT, which read and wrote the
    // `sqlite_sequence` row in every write that queued an event (measured:
    // most of what an event cost a PATCH). Ids stay never reused another
    // way: retention never deletes the newest event, so the next id (the
    // largest plus one) is always new; a counter past the largest id left
    // by pruning is kept as a placeholder row that no webhook receives.
    // Run with foreign keys off (a table rebuild), checked before commit
    // (`REBUILT`).
    r#"
CREATE TABLE webhook_events_v11 (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    rendered   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    fanned     INTEGER NOT NULL DEFAULT 1
);
INSERT INTO webhook_events_v11 (id, project_id, type, data, rendered, created_at, fanned)
    SELECT id, project_id, type, data, rendered, created_at, fanned FROM webhook_events;
INSERT INTO webhook_events_v11 (id, project_id, type, data, rendered, created_at, fanned)
    SELECT s.seq, 0, 'reserved', '{}', 1, 0, 1 FROM sqlite_sequence s
    WHERE s.name = 'webhook_events'
        AND s.seq > coalesce((SELECT max(id) FROM webhook_events), 0);
DROP TABLE webhook_events;
ALTER TABLE webhook_events_v11 RENAME TO webhook_events;
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE INDEX webhook_events_unfanned ON webhook_events (id) WHERE fanned = 0;
DELETE FROM sqlite_sequence WHERE name = 'webhook_events';
"#,
    // 12: webhook events without indexes. Each index was one more page
    // every group commit wrote (and checkpointed) for the events of its
    // PATCHes. The worker finds the events to fan out from a mark instead:
    // every event up to `webhook_fanout.through` has its deliveries, and
    // events are only ever added after the newest (no row: 0). Retention,
    // once a day, reads the table through instead of by `created_at`.
    r#"
DROP INDEX webhook_events_unfanned;
DROP INDEX webhook_events_created;
CREATE TABLE webhook_fanout (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    through INTEGER NOT NULL
);
INSERT INTO webhook_fanout (id, through)
    SELECT 1, coalesce((SELECT min(id) - 1 FROM webhook_events WHERE fanned = 0),
                       (SELECT max(id) FROM webhook_events))
    WHERE EXISTS (SELECT 1 FROM webhook_events);
"#,
];

/// Migrations that rebuild a table (by their number, from 1), run with
/// foreign keys off as SQLite's procedure for changing a table says, and
/// the tables whose foreign keys are checked before they commit.
const REBUILT: &[(usize, &[&str])] = &[(11, &["webhook_deliveries"])];

/// The schema version a fully migrated database has.
pub(crate) fn count() -> usize {
    MIGRATIONS.len()
}

/// Brings the schema up to date. Returns how many migrations ran.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    let mut ran = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let rebuilt = REBUILT.iter().find(|(n, _)| *n == i + 1).map(|(_, t)| *t);
        if rebuilt.is_some() {
            // Only outside a transaction does this take effect.
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        }
        let outcome = run_one(conn, i, sql, rebuilt.unwrap_or_default());
        if rebuilt.is_some() {
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
        }
        if outcome? {
            ran += 1;
        }
    }
    Ok(ran)
}

/// Runs migration `i` (from 0) in its own transaction, unless another
/// process ran it first; `checked`: tables whose foreign keys must hold
/// before it commits. Whether it ran.
fn run_one(conn: &mut Connection, i: usize, sql: &str, checked: &[&str]) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if usize::try_from(now).unwrap_or(0) > i {
        return Ok(false);
    }
    tx.execute_batch(sql)?;
    for table in checked {
        let broken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_foreign_key_check(?1))",
            [table],
            |r| r.get(0),
        )?;
        if broken {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migration {} would leave rows of {table} pointing nowhere",
                    i + 1
                )),
            ));
        }
    }
    tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    tx.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use verdict_store::*;

    use super::*;
    use crate::{SqliteConfig, SqliteStore, Synchronous};

    /// Makes `conn`'s database as version `version` of the schema left it.
    fn written_by(conn: &Connection, version: usize) {
        for (i, sql) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
    }

    /// Project 1 with webhook 1, subscribed to every event.
    const ONE_WEBHOOK: &str = "INSERT INTO projects (id, name, created_at) VALUES (1, 'P', 0);
         INSERT INTO webhooks (id, project_id, url, events, format, active, secret, created_at)
             VALUES (1, 1, 'https://example.com/h', 7, 'standard', 1, 's', 0);";

    fn one_page() -> Page {
        Page {
            page: 1,
            per_page: 10,
        }
    }

    /// Retried passes by case, as the store reports them.
    async fn retried(store: &SqliteStore) -> Vec<(CaseId, i64)> {
        let query = FlakyQuery {
            branch: None,
            window: 30,
            threshold: 0.1,
        };
        let flaky = store.flaky_cases(ProjectId::from_db(1), query, one_page());
        let items = flaky.await.unwrap().items;
        items.iter().map(|f| (f.case_id, f.retried_pass)).collect()
    }

    /// A database written by version 2 comes out of migration 3 with its
    /// runs' elapsed sums and its results' flags as if they had been kept
    /// all along, and keeps them from there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn triage_backfills_what_version_2_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            written_by(&conn, 2);
            // Case 1 failed then passed (a retried pass), case 2 passed
            // then failed, case 3 only passed, case 4 is untested.
            conn.execute_batch(
                "INSERT INTO users (id, name, email, admin, created_at)
                     VALUES (1, 'o', 'o@example.com', 1, 0);
                 INSERT INTO projects (id, name, created_at) VALUES (1, 'P', 0);
                 INSERT INTO members (project_id, user_id, role) VALUES (1, 1, 3);
                 INSERT INTO cases (id, project_id, title, key, created_at)
                     VALUES (1, 1, 'a', 'a', 0), (2, 1, 'b', 'b', 0),
                            (3, 1, 'c', 'c', 0), (4, 1, 'd', 'd', 0);
                 INSERT INTO runs (id, project_id, name, created_at, passed, failed, not_tested)
                     VALUES (1, 1, 'r1', 0, 2, 1, 1);
                 INSERT INTO results (id, run_id, case_id, status, elapsed_ms, tested_by, tested_at)
                     VALUES (1, 1, 1, 1, 50, 1, 0), (2, 1, 2, 2, 30, 1, 0),
                            (3, 1, 3, 1, NULL, 1, 0), (4, 1, 4, 0, NULL, NULL, NULL);
                 INSERT INTO history (id, result_id, status, elapsed_ms, tested_by, tested_at)
                     VALUES (1, 1, 2, 10, 1, 0), (2, 1, 1, 50, 1, 0), (3, 2, 1, 5, 1, 0),
                            (4, 2, 2, 30, 1, 0), (5, 3, 1, NULL, 1, 0);",
            )
            .unwrap();
        }
        let config = SqliteConfig {
            path,
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open(&config).unwrap();
        let (p, run) = (ProjectId::from_db(1), RunId::from_db(1));
        let trend = store.trends(p, None, 30).await.unwrap();
        assert_eq!(trend[0].elapsed_ms, 80, "the sum of the results' times");
        assert_eq!(store.get_run(run).await.unwrap().meta, RunMeta::default());
        assert_eq!(retried(&store).await, [(CaseId::from_db(1), 1)]);
        assert_eq!(
            store.get_case(CaseId::from_db(1)).await.unwrap().quarantine,
            None
        );
        // Case 2 has failed in this run: a pass now is a pass on retry.
        let pass = Execution {
            step_results: Vec::new(),
            defects: Vec::new(),
            status: Status::Passed,
            note: None,
            elapsed_ms: Some(40),
            output: None,
        };
        let at = Timestamp::from_millis(1);
        let actor = UserId::from_db(1);
        store
            .record_result(run, ResultId::from_db(2), pass.clone(), actor, at)
            .await
            .unwrap();
        store
            .record_result(run, ResultId::from_db(3), pass, actor, at)
            .await
            .unwrap();
        assert_eq!(
            retried(&store).await,
            [(CaseId::from_db(1), 1), (CaseId::from_db(2), 1)],
            "case 3 never failed"
        );
        let trend = store.trends(p, None, 30).await.unwrap();
        assert_eq!(trend[0].elapsed_ms, 130, "80 - 30 + 40 + 40");
    }

    /// A database written by version 4 comes out of migration 5 with no
    /// step results, defects, assignee or defect template, and takes them
    /// from there: on the result, on new history rows only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn manual_testing_columns_start_empty_on_a_version_4_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        {
            let conn = Connection::open(&path).unwrap();
            written_by(&conn, 4);
            conn.execute_batch(
                "INSERT INTO users (id, name, email, admin, created_at)
                     VALUES (1, 'o', 'o@example.com', 1, 0);
                 INSERT INTO projects (id, name, created_at) VALUES (1, 'P', 0);
                 INSERT INTO members (project_id, user_id, role) VALUES (1, 1, 3);
                 INSERT INTO cases (id, project_id, title, key, suite, created_at)
                     VALUES (1, 1, 'a', 'a', 'Cart', 0);
                 INSERT INTO runs (id, project_id, name, created_at, failed)
                     VALUES (1, 1, 'r1', 0, 1);
                 INSERT INTO results (id, run_id, case_id, status, note, tested_by, tested_at)
                     VALUES (1, 1, 1, 2, 'old', 1, 0);
                 INSERT INTO history (id, result_id, status, note, tested_by, tested_at)
                     VALUES (1, 1, 2, 'old', 1, 0);",
            )
            .unwrap();
        }
        let config = SqliteConfig {
            path,
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open(&config).unwrap();
        let (p, run, id) = (
            ProjectId::from_db(1),
            RunId::from_db(1),
            ResultId::from_db(1),
        );
        let actor = UserId::from_db(1);
        let project = store.get_project(p).await.unwrap();
        assert_eq!(project.defect_url_template, None);
        let old = store.get_result(run, id).await.unwrap();
        assert_eq!(
            (old.step_results.len(), old.defects.len(), old.assigned_to),
            (0, 0, None)
        );
        let sections = store.list_sections(p).await.unwrap();
        assert_eq!(sections.len(), 1);
        store
            .assign_results(run, AssignTarget::Unassigned, Some(actor))
            .await
            .unwrap();
        let mut again = Execution::new(Status::Failed, Some("new".into()), None);
        again.defects = vec!["A-1".into()];
        store
            .record_result(run, id, again, actor, Timestamp::from_millis(1))
            .await
            .unwrap();
        let now = store.get_result(run, id).await.unwrap();
        assert_eq!(
            (now.defects, now.assigned_to),
            (vec!["A-1".into()], Some(actor))
        );
        let page = Page {
            page: 1,
            per_page: 10,
        };
        let h = store.result_history(run, id, page).await.unwrap().items;
        assert_eq!(
            h.iter().map(|e| e.defects.len()).collect::<Vec<_>>(),
            [1, 0]
        );
    }

    /// A database written by version 5 (created without incremental
    /// auto-vacuum) comes out of migration 6 with no output on its results
    /// and history and no attachments, takes both from there, and is
    /// converted to incremental auto-vacuum by its first reclaim, which
    /// then gives a prune's pages back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn output_and_attachments_on_a_version_5_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
            written_by(&conn, 5);
            conn.execute_batch(
                "INSERT INTO users (id, name, email, admin, created_at)
                     VALUES (1, 'o', 'o@example.com', 1, 0);
                 INSERT INTO projects (id, name, created_at) VALUES (1, 'P', 0);
                 INSERT INTO members (project_id, user_id, role) VALUES (1, 1, 3);
                 INSERT INTO cases (id, project_id, title, key, created_at)
                     VALUES (1, 1, 'a', 'a', 0);
                 INSERT INTO runs (id, project_id, name, created_at, failed, closed_at)
                     VALUES (1, 1, 'r1', 0, 1, 5);
                 INSERT INTO results (id, run_id, case_id, status, note, tested_by, tested_at)
                     VALUES (1, 1, 1, 2, 'old', 1, 0);
                 INSERT INTO history (id, result_id, status, note, tested_by, tested_at)
                     VALUES (1, 1, 2, 'old', 1, 0);",
            )
            .unwrap();
            // Pages a prune will free.
            conn.execute_batch(
                "CREATE TABLE filler (x BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                 INSERT INTO filler SELECT randomblob(2000) FROM n;",
            )
            .unwrap();
            let mode: i64 = conn
                .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, 0, "an older file has no auto-vacuum");
        }
        let config = SqliteConfig {
            path: path.clone(),
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open(&config).unwrap();
        let (run, id) = (RunId::from_db(1), ResultId::from_db(1));
        assert_eq!(store.get_result(run, id).await.unwrap().output, None);
        let page = Page {
            page: 1,
            per_page: 10,
        };
        let h = store.result_history(run, id, page).await.unwrap().items;
        assert_eq!(h[0].output, None);
        assert_eq!(store.list_attachments(run, id).await.unwrap(), vec![]);

        // The filler stands for pruned rows: dropped, its pages are free
        // but stay in the file until a reclaim converts it.
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("DROP TABLE filler").unwrap();
        }
        let before = store.database_bytes().await.unwrap();
        store.reclaim().await.unwrap();
        let after = store.database_bytes().await.unwrap();
        assert!(
            after + 3_000_000 < before,
            "{before} bytes before, {after} after"
        );
        let conn = Connection::open(&path).unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "converted to incremental");
        drop(conn);
        let pruned = store
            .prune(PruneRequest {
                closed_before: Timestamp::from_millis(10),
                project: None,
                dry_run: false,
            })
            .await
            .unwrap();
        assert_eq!((pruned.runs, pruned.results, pruned.executions), (1, 1, 1));
        store.reclaim().await.unwrap();
    }

    /// A new file is created with incremental auto-vacuum (it can only be
    /// set before the first table), so a reclaim never has to rewrite it.
    #[test]
    fn new_databases_are_created_with_incremental_auto_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let config = SqliteConfig {
            path: path.clone(),
            synchronous: Synchronous::Normal,
        };
        drop(SqliteStore::open(&config).unwrap());
        let conn = Connection::open(&path).unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2);
    }

    /// A database written by version 10 comes out of migration 11 with its
    /// webhook events and their deliveries as they were, no AUTOINCREMENT
    /// counter, and ids that are still never reused: the counter left past
    /// the largest id by a prune is kept as a placeholder, new events come
    /// after it, and a prune never deletes the newest event.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_events_lose_their_counter_but_never_reuse_an_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
            written_by(&conn, 10);
            // Events 1..5 were written, 4 and 5 pruned since.
            conn.execute_batch(ONE_WEBHOOK).unwrap();
            conn.execute_batch(
                "INSERT INTO webhook_events (id, project_id, type, data, rendered, created_at, fanned)
                     VALUES (1, 1, 'ping', '{\"a\":1}', 1, 10, 1),
                            (2, 1, 'run.created', '{\"b\":2}', 0, 20, 1),
                            (3, 1, 'results.recorded', '{\"c\":3}', 0, 30, 0),
                            (5, 1, 'ping', '{}', 1, 40, 1);
                 DELETE FROM webhook_events WHERE id = 5;
                 INSERT INTO webhook_deliveries (event_id, webhook_id, state, next_attempt_at)
                     VALUES (1, 1, 1, 10), (2, 1, 1, 20);",
            )
            .unwrap();
            let seq: i64 = conn
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'webhook_events'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(seq, 5);
        }
        let config = SqliteConfig {
            path: path.clone(),
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open(&config).unwrap();
        let conn = Connection::open(&path).unwrap();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'webhook_events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
        let events: Vec<(i64, String, String, i64)> = conn
            .prepare("SELECT id, type, data, fanned FROM webhook_events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let kept: Vec<(i64, &str, &str, i64)> = events
            .iter()
            .map(|(id, t, d, f)| (*id, t.as_str(), d.as_str(), *f))
            .collect();
        assert_eq!(
            kept,
            [
                (1, "ping", "{\"a\":1}", 1),
                (2, "run.created", "{\"b\":2}", 1),
                (3, "results.recorded", "{\"c\":3}", 0),
                (5, "reserved", "{}", 1),
            ]
        );
        let deliveries: i64 = conn
            .query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(deliveries, 2);
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);

        // Everything old and done is pruned but the newest event.
        conn.execute("UPDATE webhook_events SET fanned = 1", [])
            .unwrap();
        store
            .prune(PruneRequest {
                closed_before: Timestamp::from_millis(1_000),
                project: None,
                dry_run: false,
            })
            .await
            .unwrap();
        let left: Vec<i64> = conn
            .prepare("SELECT id FROM webhook_events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, [5], "the newest event stays");
        conn.execute(
            "INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
             VALUES (1, 'ping', '{}', 1, 50, 0)",
            [],
        )
        .unwrap();
        assert_eq!(
            conn.last_insert_rowid(),
            6,
            "a new event's id was never used"
        );
    }

    /// A database written by version 11 comes out of migration 12 with
    /// no index on its webhook events and a mark just before the first
    /// event still to fan out; the worker's claims then make the
    /// deliveries of exactly those events, oldest first, moving the mark,
    /// and move it past events that need none (a ping).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_events_are_fanned_out_from_a_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        {
            let conn = Connection::open(&path).unwrap();
            written_by(&conn, 11);
            // Events 1 and 2 have their deliveries; 3 and 4 wait for theirs.
            conn.execute_batch(ONE_WEBHOOK).unwrap();
            conn.execute_batch(
                "INSERT INTO webhook_events (id, project_id, type, data, rendered, created_at, fanned)
                     VALUES (1, 1, 'run.created', '{}', 0, 10, 1),
                            (2, 1, 'run.created', '{}', 0, 20, 1),
                            (3, 1, 'run.created', '{}', 0, 30, 0),
                            (4, 1, 'run.closed', '{}', 0, 40, 0);
                 INSERT INTO webhook_deliveries (event_id, webhook_id, state, next_attempt_at)
                     VALUES (1, 1, 1, 10), (2, 1, 1, 20);",
            )
            .unwrap();
        }
        let config = SqliteConfig {
            path: path.clone(),
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open(&config).unwrap();
        let conn = Connection::open(&path).unwrap();
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        let mark = |conn: &Connection| -> i64 {
            conn.query_row("SELECT through FROM webhook_fanout", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(mark(&conn), 2);

        // One event per claim: 3, then 4.
        let now = Timestamp::from_millis(1_000);
        let until = Timestamp::from_millis(61_000);
        for event in [3, 4] {
            let claimed = store.claim_deliveries(now, until, 1).await.unwrap();
            let ids: Vec<i64> = claimed.iter().map(|d| d.event_id.get()).collect();
            assert_eq!(ids, [event]);
            assert_eq!(mark(&conn), event);
        }
        let deliveries: Vec<i64> = conn
            .prepare("SELECT event_id FROM webhook_deliveries ORDER BY event_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(deliveries, [1, 2, 3, 4], "no event fanned out twice");
        let unfanned: i64 = conn
            .query_row(
                "SELECT count(*) FROM webhook_events WHERE fanned = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unfanned, 0);

        // A ping has its one delivery already: the mark passes it.
        let ping = store.queue_ping(WebhookId::from_db(1), now).await.unwrap();
        assert_eq!(ping.get(), 5);
        let claimed = store.claim_deliveries(now, until, 8).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|d| d.event_id.get()).collect();
        assert_eq!(ids, [5]);
        assert_eq!(mark(&conn), 5);
    }
}
