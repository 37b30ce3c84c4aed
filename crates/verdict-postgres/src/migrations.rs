//! Schema migrations, applied at start-up in one transaction under a
//! transaction-scoped advisory lock, and recorded in `verdict_migrations`:
//! any number of instances may start at once on an empty database; the
//! first migrates, the others wait for the lock and find nothing to do.
//!
//! The schema mirrors SQLite's (`verdict-sqlite/src/migrations.rs`): the
//! same tables, keys, unique constraints and indexes; ids are identity
//! BIGINTs, times BIGINT milliseconds, statuses and roles SMALLINT codes.
//! Identity sequences are named so that bulk inserts can draw ids from them
//! (see `pool::alloc_ids`).

use deadpool_postgres::Object;

use crate::error::{Result, db_err};
use crate::pool::col;

/// `pg_advisory_xact_lock` key held while migrating ("verdict" + 1).
pub(crate) const MIGRATION_LOCK: i64 = 0x7665_7264_6963_7401;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME users_id_seq) PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    admin         BOOLEAN NOT NULL DEFAULT false,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME tokens_id_seq) PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    hash         BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE projects (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME projects_id_seq) PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    role       SMALLINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX members_user ON members (user_id, project_id);

CREATE TABLE cases (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME cases_id_seq) PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    title      TEXT NOT NULL,
    key        TEXT,
    suite      TEXT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- A key is unique among a project's live cases; deleting frees it.
CREATE UNIQUE INDEX cases_key ON cases (project_id, key)
    WHERE key IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX cases_project ON cases (project_id, id) WHERE deleted_at IS NULL;

CREATE TABLE runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME runs_id_seq) PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id),
    name        TEXT NOT NULL,
    description TEXT,
    key         TEXT,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT,
    passed      BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    blocked     BIGINT NOT NULL DEFAULT 0,
    retest      BIGINT NOT NULL DEFAULT 0,
    not_tested  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX runs_key ON runs (project_id, key) WHERE key IS NOT NULL;
CREATE INDEX runs_project ON runs (project_id, id);

-- One row per (run, case). Listing walks results_run in id order; a status
-- filter walks one results_run_status range per status, merged by id.
CREATE TABLE results (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME results_id_seq) PRIMARY KEY,
    run_id     BIGINT NOT NULL REFERENCES runs (id),
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    status     SMALLINT NOT NULL DEFAULT 0,
    note       TEXT,
    elapsed_ms BIGINT,
    tested_by  BIGINT REFERENCES users (id),
    tested_at  BIGINT
);
CREATE UNIQUE INDEX results_run_case ON results (run_id, case_id);
CREATE INDEX results_run ON results (run_id, id);
CREATE INDEX results_run_status ON results (run_id, status, id);

CREATE TABLE history (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME history_id_seq) PRIMARY KEY,
    result_id  BIGINT NOT NULL REFERENCES results (id),
    status     SMALLINT NOT NULL,
    note       TEXT,
    elapsed_ms BIGINT,
    tested_by  BIGINT NOT NULL REFERENCES users (id),
    tested_at  BIGINT NOT NULL
);
CREATE INDEX history_result ON history (result_id, id);

CREATE TABLE idempotency (
    user_id     BIGINT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    outcome     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
"#,
    // 2. No statistics on the columns that say which run a result (and which
    // project a case) belongs to. Statistics describe the runs that existed
    // at the last ANALYZE: a run created a moment ago looks empty, so a
    // lookup by case used the (run_id, id) index and checked case_id row by
    // row (7 s for a 10,000-result import instead of 0.1 s), and once a
    // run is analyzed as most of the table, page 1 walked the primary key
    // through every older run (125 ms instead of 1 ms). Without them every
    // id is assumed to hold 0.5% of the table, which keeps each lookup on
    // the index made for it. (On a database migrated earlier, statistics
    // already gathered stay until dropped by a superuser; new ones are not.)
    r#"
ALTER TABLE results ALTER COLUMN run_id SET STATISTICS 0;
ALTER TABLE cases ALTER COLUMN project_id SET STATISTICS 0;
"#,
    // 3. Tokens given at start-up (VERDICT_ADMIN_TOKEN) are valid only while
    // starts keep giving them: marked here, revoked by a start without.
    r#"
ALTER TABLE tokens ADD COLUMN given_at_start BOOLEAN NOT NULL DEFAULT false;
"#,
    // 4. Triage: run metadata and the sum of a run's elapsed times (kept at
    // write time, so trends never scan results), quarantine, result flags
    // (kept at write time: a failed execution, a pass after one), and the
    // indexes of a branch's runs and of a case across runs. Existing rows
    // are backfilled: elapsed sums from the results, flags from the history
    // in execution order (a pass after the first failure is a retried pass).
    r#"
ALTER TABLE runs
    ADD COLUMN branch      TEXT,
    ADD COLUMN commit      TEXT,
    ADD COLUMN build_url   TEXT,
    ADD COLUMN environment TEXT,
    ADD COLUMN elapsed_ms  BIGINT NOT NULL DEFAULT 0;
UPDATE runs SET elapsed_ms = s.total
FROM (SELECT run_id, sum(elapsed_ms)::bigint AS total FROM results
      WHERE elapsed_ms IS NOT NULL GROUP BY run_id) AS s
WHERE runs.id = s.run_id AND s.total <> 0;
CREATE INDEX runs_branch ON runs (project_id, branch, id);

ALTER TABLE cases
    ADD COLUMN quarantine_reason TEXT,
    ADD COLUMN quarantined_by    BIGINT REFERENCES users (id),
    ADD COLUMN quarantined_at    BIGINT;
-- PostgreSQL only: a project's quarantined cases without scanning it.
CREATE INDEX cases_quarantined ON cases (project_id, id) WHERE quarantine_reason IS NOT NULL;

ALTER TABLE results ADD COLUMN flags SMALLINT NOT NULL DEFAULT 0;
UPDATE results SET flags = f.flags
FROM (SELECT result_id,
             (CASE WHEN bool_or(status = 2) THEN 1 ELSE 0 END)
             | (CASE WHEN max(id) FILTER (WHERE status = 1)
                        > min(id) FILTER (WHERE status = 2) THEN 2 ELSE 0 END) AS flags
      FROM history GROUP BY result_id) AS f
WHERE results.id = f.result_id AND f.flags <> 0;
-- Partial on a condition every row meets, so that only a query that says
-- `case_id > 0` may use it: a case's runs. Without, a run's cases found
-- by (run_id, case_id) (a bulk's look-up) tie between both indexes, and
-- this one, scattered over every run, may win.
CREATE INDEX results_case ON results (case_id, run_id) WHERE case_id > 0;
"#,
    // What a tester follows, as SQLite stores it: steps and refs are JSON
    // arrays as text (read and written whole, never queried inside), NULL
    // when there are none.
    r#"
ALTER TABLE cases
    ADD COLUMN preconditions TEXT,
    ADD COLUMN steps         TEXT,
    ADD COLUMN priority      TEXT,
    ADD COLUMN refs          TEXT;
"#,
    // 6. Manual testing, as SQLite stores it: step results and defects of
    // an execution (JSON arrays as text, read and written whole, NULL when
    // there are none, so CI uploads write nothing more) on the result and
    // its history row; whom a result is assigned to (results_assigned, of
    // assigned rows only, serves a tester's work and a run's filter by
    // assignee); a project's defect link template. Adding NULL columns
    // rewrites no table.
    r#"
ALTER TABLE results
    ADD COLUMN step_results TEXT,
    ADD COLUMN defects      TEXT,
    ADD COLUMN assigned_to  BIGINT REFERENCES users (id);
CREATE INDEX results_assigned ON results (assigned_to, run_id) WHERE assigned_to IS NOT NULL;
ALTER TABLE history
    ADD COLUMN step_results TEXT,
    ADD COLUMN defects      TEXT;
ALTER TABLE projects ADD COLUMN defect_url_template TEXT;
"#,
    // 7. Attachments and test output, as SQLite stores them: what an
    // execution printed on the result (its latest) and its history row,
    // NULL when none (adding NULL columns rewrites no table); files kept
    // with an execution, named by their sha256 (the bytes are in the
    // attachment storage). Identity ids are never reused.
    // attachments_result serves a result's list and the idempotent add;
    // attachments_sha256 tells a prune whether any row still names a
    // digest.
    r#"
ALTER TABLE results ADD COLUMN output TEXT;
ALTER TABLE history ADD COLUMN output TEXT;
CREATE TABLE attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME attachments_id_seq) PRIMARY KEY,
    result_id    BIGINT NOT NULL REFERENCES results (id),
    execution    INT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    created_by   BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_result ON attachments (result_id, execution, name);
CREATE INDEX attachments_sha256 ON attachments (sha256);
"#,
    // 8. A result's position in its run (1, 2, … in id order, no gaps:
    // results are only ever added to a run, under its lock, and deleted
    // with it), as SQLite keeps it: a page deep in a run is an index
    // range from a position, not an OFFSET that walks every row before
    // it. Backfilled in id order.
    r#"
ALTER TABLE results ADD COLUMN pos BIGINT;
UPDATE results SET pos = p.pos
FROM (SELECT id, row_number() OVER (PARTITION BY run_id ORDER BY id) AS pos FROM results) AS p
WHERE results.id = p.id;
ALTER TABLE results ALTER COLUMN pos SET NOT NULL;
CREATE UNIQUE INDEX results_run_pos ON results (run_id, pos);
"#,
    // 9. Count stripes: a PATCH adds its change of a run's counts (and of
    // its elapsed sum) to one of 64 rows of the run, picked by its
    // connection, instead of the run row, which every PATCH of the run
    // would otherwise wait for in turn. A run's counts are its row's plus
    // its stripes'; a writer that needs them exact (close, bulk, adding
    // cases) locks the run and folds the stripes into the row.
    r#"
CREATE TABLE run_count_stripes (
    run_id     BIGINT NOT NULL REFERENCES runs (id),
    stripe     SMALLINT NOT NULL,
    passed     BIGINT NOT NULL DEFAULT 0,
    failed     BIGINT NOT NULL DEFAULT 0,
    blocked    BIGINT NOT NULL DEFAULT 0,
    retest     BIGINT NOT NULL DEFAULT 0,
    not_tested BIGINT NOT NULL DEFAULT 0,
    elapsed_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, stripe)
);
"#,
    // 10. TestRail compatibility: a stable number for each section (a
    // case's suite path) a TestRail client has seen or created, per
    // project.
    r#"
CREATE TABLE testrail_sections (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME testrail_sections_id_seq) PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    path       TEXT NOT NULL
);
CREATE UNIQUE INDEX testrail_sections_path ON testrail_sections (project_id, path);
"#,
    // 11. Webhooks, as SQLite keeps them: a project's subscriptions
    // (events a bit each, so a write's "is anyone subscribed" is one
    // indexed test), the outbox of events (written with the change they
    // report; `data` holds the event's facts until its first delivery
    // renders and keeps the body's data), one delivery per (event,
    // webhook) with its state, retry schedule and claim (taken with
    // FOR UPDATE SKIP LOCKED, held until `claimed_until`), and the log of
    // attempts.
    r#"
CREATE TABLE webhooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME webhooks_id_seq) PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    url        TEXT NOT NULL,
    events     BIGINT NOT NULL,
    format     TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_project ON webhooks (project_id, id);
CREATE TABLE webhook_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME webhook_events_id_seq) PRIMARY KEY,
    project_id BIGINT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    rendered   BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE TABLE webhook_deliveries (
    event_id         BIGINT NOT NULL REFERENCES webhook_events (id),
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id),
    state            BIGINT NOT NULL DEFAULT 0,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    first_attempt_at BIGINT,
    claimed_until    BIGINT,
    redeliver        BOOLEAN NOT NULL DEFAULT false,
    last_status      BIGINT,
    last_error       TEXT,
    PRIMARY KEY (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 0;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);
CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME webhook_attempts_id_seq) PRIMARY KEY,
    webhook_id  BIGINT NOT NULL,
    event_id    BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, webhook_id);
"#,
    // 12: an event's deliveries are made by the delivery worker, not by
    // the write that queues it (`fanned` false until then), so a write
    // adds one outbox row, however many webhooks listen. Events queued
    // before have their deliveries: fanned.
    r#"
ALTER TABLE webhook_events ADD COLUMN fanned BOOLEAN NOT NULL DEFAULT true;
CREATE INDEX webhook_events_unfanned ON webhook_events (id) WHERE NOT fanned;
"#,
];

/// Brings the schema up to date. Returns how many migrations ran.
pub(crate) async fn migrate(client: &mut Object) -> Result<usize> {
    let tx = client.transaction().await.map_err(db_err)?;
    // Waiting for another instance's migration, or a migration rebuilding a
    // big table, may take longer than the request timeout that bounds the
    // server's statements (`PgConfig::bound_statements`).
    tx.batch_execute("SET LOCAL statement_timeout = 0")
        .await
        .map_err(db_err)?;
    // Taken before anything else, the table check included, so concurrent
    // starters never race on CREATE TABLE.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS verdict_migrations (
             version    INT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db_err)?;
    let applied = tx
        .query("SELECT version FROM verdict_migrations", &[])
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| col::<i32>(r, 0))
        .collect::<Result<Vec<_>>>()?;
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
        tracing::warn!(
            database = newer,
            known,
            "the database schema is newer than this build of verdict"
        );
    }
    let mut ran = 0;
    for (version, sql) in (1..).zip(MIGRATIONS.iter()) {
        if applied.contains(&version) {
            continue;
        }
        tx.batch_execute(sql).await.map_err(db_err)?;
        tx.execute(
            "INSERT INTO verdict_migrations (version, applied_at) VALUES ($1, now())",
            &[&version],
        )
        .await
        .map_err(db_err)?;
        ran += 1;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(ran)
}
