//! PATCHes of single results (those without an `Idempotency-Key`) written
//! together: group commit.
//!
//! One PATCH is one short statement, and at many connections PostgreSQL's
//! cost per statement and per commit (parse/bind/execute, a WAL flush, a
//! round trip) is most of what a PATCH costs. So a PATCH joins a queue, and
//! at most [`WORKERS`] workers per store each take everything queued (at
//! most [`BATCH`]) and write it with ONE statement over arrays
//! ([`batch_sql`]): one round trip and one commit for all of them.
//!
//! - **No added wait.** A PATCH that finds a worker free starts one at
//!   once; only PATCHes arriving while every worker is busy wait, and they
//!   wait for a statement that was going to delay them anyway.
//! - **No queue behind a lock.** A statement can wait on a row lock (a
//!   bulk upload or a close holds its run's for as long as it takes). A
//!   PATCH still queued after [`ESCAPE`] leaves the queue and runs on its
//!   own connection, as it would without batching, so PATCHes of other
//!   runs are not held up by one run's lock for more than that.
//! - **Same answers as one at a time.** Each PATCH is checked on its own in
//!   the statement (run open, actor a tester or more, result in the run);
//!   those it did not write get the same lookup as a single PATCH (404,
//!   409, or refused). PATCHes of the same result in one batch are written
//!   in order of arrival: the k-th of a result goes in the k-th statement
//!   ("wave").
//! - **No deadlocks.** The statement locks runs `FOR KEY SHARE` in id order,
//!   then results `FOR UPDATE` in (run, result) order, and only then the
//!   count stripes, summed per run, in run order — the order a single PATCH
//!   takes them in, so batches, single PATCHes, closes and bulks (which lock
//!   their run `FOR UPDATE` first) never wait for each other in a cycle.
//! - **Failures.** A statement that lost a race (deadlock, serialization)
//!   runs again, as any write does; one that failed for any other reason
//!   wrote nothing, and its PATCHes run one by one, so one bad PATCH cannot
//!   fail the others. A connection that died while the statement was out
//!   may have committed it: its PATCHes answer 503 and are never run again
//!   (the API's rule for an answer that was lost).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;
use verdict_store::backend::triage;
use verdict_store::*;

use crate::PgStore;
use crate::error::{Error, Result, other};
use crate::pool::{self, Param, query, statement};
use crate::projects;
use crate::results::{self, result_row, status_code};

/// Workers per store: batch statements in flight at once. Measured at 32
/// connections on two instances (2 cores): 1 worker 3,855–4,344/s, 2
/// workers 3,391–3,860/s, 3 workers 2,823–3,049/s, 4 workers 3,666/s:
/// fewer workers make bigger batches. Two, so one statement waiting on a
/// lock does not stop the instance's PATCHes by itself.
pub(crate) const WORKERS: usize = 2;
/// How long a PATCH waits in the queue before it runs on its own.
pub(crate) const ESCAPE: std::time::Duration = std::time::Duration::from_millis(50);
/// PATCHes in one statement at most.
pub(crate) const BATCH: usize = 64;

/// One PATCH of a result, as [`results::record_result_as`] takes it.
pub(crate) struct Patch {
    pub run: RunId,
    pub id: ResultId,
    pub execution: Execution,
    pub actor: UserId,
    pub admin: bool,
    pub now: Timestamp,
}

type Answer = StoreResult<Option<TestResult>>;

struct Job {
    /// Its place in the queue's numbering, to find it there.
    ticket: u64,
    patch: Patch,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Job>,
    /// Workers running (at most [`WORKERS`]).
    workers: usize,
    /// The next job's ticket.
    tickets: u64,
}

/// The queue of a store's PATCHes; clones share it.
#[derive(Clone, Default)]
pub(crate) struct Patches {
    queue: Arc<Mutex<Queue>>,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Nothing is left half-changed under this lock, so a poisoned one is
    // still consistent.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Patches {
    /// Writes `patch` with the PATCHes queued beside it; the answer
    /// [`results::record_result_as`] would give.
    pub(crate) async fn record(&self, store: &PgStore, patch: Patch) -> Answer {
        let (reply, mut answer) = oneshot::channel();
        let (ticket, start) = {
            let mut queue = lock(&self.queue);
            let ticket = queue.tickets;
            queue.tickets += 1;
            queue.waiting.push_back(Job {
                ticket,
                patch,
                reply,
            });
            let start = queue.workers < WORKERS;
            if start {
                queue.workers += 1;
            }
            (ticket, start)
        };
        if start {
            tokio::spawn(work(Arc::clone(&self.queue), store.clone()));
        }
        let abandoned =
            |_| StoreError::Unavailable("the write was abandoned by its worker".to_string());
        if let Ok(answer) = tokio::time::timeout(ESCAPE, &mut answer).await {
            return answer.map_err(abandoned)?;
        }
        // Still queued after ESCAPE: every worker is held up. Unless a
        // worker took it meanwhile, it runs on its own.
        let mine = {
            let mut queue = lock(&self.queue);
            let at = queue.waiting.iter().position(|job| job.ticket == ticket);
            at.and_then(|at| queue.waiting.remove(at))
        };
        match mine {
            Some(job) => one(store, &job.patch).await,
            None => answer.await.map_err(abandoned)?,
        }
    }
}

/// A worker's place, given back when it ends by any other way than
/// finding the queue empty (a panic, or its runtime shutting down): then,
/// if it was the last worker, the PATCHes still queued are dropped, which
/// answers them with an error, so nobody waits forever.
struct Place {
    queue: Arc<Mutex<Queue>>,
    left: bool,
}

impl Drop for Place {
    fn drop(&mut self) {
        if !self.left {
            let mut queue = lock(&self.queue);
            queue.workers = queue.workers.saturating_sub(1);
            if queue.workers == 0 {
                queue.waiting.clear();
            }
        }
    }
}

/// A worker: writes batches until the queue is empty.
async fn work(queue: Arc<Mutex<Queue>>, store: PgStore) {
    let mut place = Place { queue, left: false };
    loop {
        let batch: Vec<Job> = {
            let mut queue = lock(&place.queue);
            if queue.waiting.is_empty() {
                // Checked and given up under the lock a PATCH is queued
                // under: a PATCH queued after this starts a worker.
                queue.workers -= 1;
                drop(queue);
                place.left = true;
                return;
            }
            let n = queue.waiting.len().min(BATCH);
            queue.waiting.drain(..n).collect()
        };
        write(&store, batch).await;
    }
}

/// Writes `patches` as one batch, however many workers are busy (waves
/// included): for tests of the batch statement, which the queue only uses
/// when PATCHes arrive together.
#[cfg(feature = "testing")]
pub(crate) async fn write_together(store: &PgStore, patches: Vec<Patch>) -> Vec<Answer> {
    let (jobs, answers): (Vec<Job>, Vec<_>) = patches
        .into_iter()
        .map(|patch| {
            let (reply, answer) = oneshot::channel();
            (
                Job {
                    ticket: 0,
                    patch,
                    reply,
                },
                answer,
            )
        })
        .unzip();
    write(store, jobs).await;
    let mut out = Vec::with_capacity(answers.len());
    for answer in answers {
        out.push(
            answer
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("no answer".to_string()))),
        );
    }
    out
}

/// Writes a batch in waves (the k-th PATCH of a result in the batch goes
/// in the k-th statement); a wave of one PATCH, a lone PATCH's batch
/// included, is written as a single PATCH.
async fn write(store: &PgStore, batch: Vec<Job>) {
    let mut waves: Vec<Vec<Job>> = Vec::new();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for job in batch {
        let k = seen.entry(job.patch.id.get()).or_insert(0);
        if waves.len() <= *k {
            waves.push(Vec::new());
        }
        waves[*k].push(job);
        *k += 1;
    }
    for wave in waves {
        if wave.len() == 1 {
            for job in wave {
                let answer = one(store, &job.patch).await;
                let _ = job.reply.send(answer);
            }
            continue;
        }
        match together(store, &wave).await {
            Ok(answers) => {
                for (job, answer) in wave.into_iter().zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            // Nothing was written (and nothing can have been: the statement
            // failed in the database): one by one, each gets its own answer.
            Err(Error::Store(e)) if !matches!(e, StoreError::Unavailable(_)) => {
                tracing::debug!(error = %e, "a batch of PATCHes failed; writing them one by one");
                for job in wave {
                    let answer = one(store, &job.patch).await;
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                let e = e.into_store();
                for job in wave {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One PATCH in its own statement (the path without a batch).
async fn one(store: &PgStore, patch: &Patch) -> Answer {
    statement!(store, |c| results::record_result_as(
        &c,
        patch.run,
        patch.id,
        &patch.execution,
        patch.actor,
        patch.admin,
        patch.now
    ))
}

/// A wave (no result twice) in one statement, run again while it loses
/// races. `Ok`: an answer per PATCH, in order. `Err(Store(_))` other than
/// `Unavailable`: the statement failed and wrote nothing.
async fn together(store: &PgStore, wave: &[Job]) -> Result<Vec<Answer>> {
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let outcome = async {
            let c = pool::client(&store.pool).await?;
            let outcome = statement_for(&c, wave).await;
            pool::settle(c, &outcome);
            outcome
        }
        .await;
        match outcome {
            Err(e) if pool::again(&e, attempt, false) => pool::backoff(attempt).await,
            other => return other,
        }
    }
}

/// Runs [`batch_sql`] for `wave`, then looks up why each PATCH it did not
/// write was refused.
async fn statement_for(c: &deadpool_postgres::Object, wave: &[Job]) -> Result<Vec<Answer>> {
    let n = wave.len();
    let mut ids = Vec::with_capacity(n);
    let mut runs = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut notes = Vec::with_capacity(n);
    let mut elapsed = Vec::with_capacity(n);
    let mut by = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut steps = Vec::with_capacity(n);
    let mut defects = Vec::with_capacity(n);
    let mut outputs = Vec::with_capacity(n);
    let mut actors = Vec::with_capacity(n);
    let mut nows = Vec::with_capacity(n);
    let mut admins = Vec::with_capacity(n);
    for Job { patch: p, .. } in wave {
        let e = &p.execution;
        let (tested_by, tested_at) = e.tested(p.actor, p.now);
        ids.push(p.id.get());
        runs.push(p.run.get());
        statuses.push(status_code(e.status));
        notes.push(e.note.as_deref());
        elapsed.push(e.elapsed_ms);
        by.push(tested_by.map(|u| u.get()));
        at.push(tested_at.map(|t| t.millis()));
        steps.push(backend::manual::stored_steps(e));
        defects.push(backend::manual::stored_defects(e));
        outputs.push(e.output.as_deref());
        actors.push(p.actor.get());
        nows.push(p.now.millis());
        admins.push(p.admin);
    }
    let params: [&Param<'_>; 13] = [
        &ids, &runs, &statuses, &notes, &elapsed, &by, &at, &steps, &defects, &outputs, &actors,
        &nows, &admins,
    ];
    let rows = query(c, &BATCH_SQL, &params).await?;
    let mut written: Vec<Option<&tokio_postgres::Row>> = vec![None; n];
    for row in &rows {
        let place = pool::col::<i64>(row, 12)?;
        let slot = usize::try_from(place - 1)
            .ok()
            .and_then(|i| written.get_mut(i))
            .ok_or_else(|| other(format!("a batch answered for PATCH {place} of {n}")))?;
        *slot = Some(row);
    }
    let mut answers = Vec::with_capacity(n);
    for (Job { patch: p, .. }, row) in wave.iter().zip(written) {
        let answer = match row {
            Some(row) => result_row(row).map(|mut result| {
                (result.step_results, result.defects) = backend::manual::kept(&p.execution);
                result.output = p.execution.output.clone();
                Some(result)
            }),
            None => results::refused(c, p.run, p.actor, p.admin).await,
        };
        answers.push(answer.map_err(Error::into_store));
    }
    Ok(answers)
}

/// [`batch_sql`], built once.
static BATCH_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(batch_sql);

/// The statement of a wave: `$1`..`$13` are arrays, one element per PATCH,
/// of what [`results::record_sql`] takes as `$1`..`$13`. Writes what that
/// statement writes for each PATCH the actor may make in an open run, and
/// answers a row per PATCH written (its place in the arrays, from 1, last).
pub(crate) fn batch_sql() -> String {
    let code = |s: Status| status_code(s);
    let (failed, passed) = (code(Status::Failed), code(Status::Passed));
    let (flag_failed, flag_retried) = (triage::FLAG_FAILED, triage::FLAG_RETRIED_PASS);
    let tester = projects::role_code(Role::Tester);
    let (recorded, bit) = (
        EventType::ResultsRecorded.name(),
        EventType::ResultsRecorded.bit(),
    );
    let moved = |s: Status, name: &str| {
        let k = code(s);
        format!("(u.status = {k})::int - (u.old_status = {k})::int AS {name}")
    };
    let counts = ["passed", "failed", "blocked", "retest", "not_tested"]
        .iter()
        .map(|c| format!("'{c}', run.{c} + coalesce(st.{c}, 0) + sum(m.d_{c}) OVER w"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH p AS MATERIALIZED (
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[],
                 $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                 $11::bigint[], $12::bigint[], $13::boolean[]) WITH ORDINALITY
                 AS p(result_id, run_id, status, note, elapsed_ms, tested_by, tested_at,
                     step_results, defects, output, actor, now, admin, n)
         ),
         run AS MATERIALIZED (
             SELECT id, closed_at, project_id, passed, failed, blocked, retest, not_tested
             FROM runs WHERE id IN (SELECT run_id FROM p)
             ORDER BY id
             FOR KEY SHARE
         ),
         ok AS MATERIALIZED (
             SELECT p.*, run.project_id FROM p JOIN run ON run.id = p.run_id
             WHERE run.closed_at IS NULL
                 AND (p.admin OR EXISTS (SELECT 1 FROM members m
                     WHERE m.project_id = run.project_id AND m.user_id = p.actor
                         AND m.role >= {tester}))
         ),
         old AS MATERIALIZED (
             SELECT r.id, r.status, r.elapsed_ms, r.flags FROM results r
             WHERE (r.id, r.run_id) IN (SELECT result_id, run_id FROM ok)
             ORDER BY r.run_id, r.id
             FOR UPDATE
         ),
         u AS (
             UPDATE results r SET status = ok.status, note = ok.note,
                 elapsed_ms = ok.elapsed_ms, tested_by = ok.tested_by, tested_at = ok.tested_at,
                 flags = CASE WHEN ok.status = {failed} THEN old.flags | {flag_failed}
                              WHEN ok.status = {passed} AND old.flags & {flag_failed} <> 0
                                  THEN old.flags | {flag_retried}
                              ELSE old.flags END,
                 step_results = ok.step_results, defects = ok.defects, output = ok.output
             FROM old JOIN ok ON ok.result_id = old.id
             WHERE r.id = old.id
             RETURNING r.id, r.run_id, r.case_id, r.status, r.note, r.elapsed_ms, r.tested_by,
                 r.tested_at, r.step_results, r.defects, r.assigned_to,
                 old.status AS old_status, old.elapsed_ms AS old_elapsed,
                 ok.output AS new_output, ok.actor, ok.now, ok.project_id, ok.n
         ),
         h AS (
             INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at,
                 step_results, defects, output)
             SELECT u.id, u.status, u.note, u.elapsed_ms, u.actor, u.now, u.step_results,
                 u.defects, u.new_output
             FROM u ORDER BY u.n
         ),
         m AS (
             SELECT u.id, u.run_id, u.status, u.old_status, u.project_id, u.now, u.n,
                 {}, {}, {}, {}, {},
                 coalesce(u.elapsed_ms, 0) - coalesce(u.old_elapsed, 0) AS d_elapsed
             FROM u
         ),
         -- Last, once every result is locked (the sum needs all of them):
         -- the counts' change added to this connection's stripe of each run.
         d AS (
             INSERT INTO run_count_stripes AS s
                 (run_id, stripe, passed, failed, blocked, retest, not_tested, elapsed_ms)
             SELECT m.run_id, pg_backend_pid() % 64, sum(m.d_passed), sum(m.d_failed),
                 sum(m.d_blocked), sum(m.d_retest), sum(m.d_not_tested), sum(m.d_elapsed)
             FROM m WHERE m.status <> m.old_status OR m.d_elapsed <> 0
             GROUP BY m.run_id ORDER BY m.run_id
             ON CONFLICT (run_id, stripe) DO UPDATE SET
                 passed = s.passed + excluded.passed, failed = s.failed + excluded.failed,
                 blocked = s.blocked + excluded.blocked, retest = s.retest + excluded.retest,
                 not_tested = s.not_tested + excluded.not_tested,
                 elapsed_ms = s.elapsed_ms + excluded.elapsed_ms
         ),
         -- The stripes as this statement sees them, per run.
         st AS (
             SELECT run_id, sum(passed)::bigint AS passed, sum(failed)::bigint AS failed,
                 sum(blocked)::bigint AS blocked, sum(retest)::bigint AS retest,
                 sum(not_tested)::bigint AS not_tested
             FROM run_count_stripes WHERE run_id IN (SELECT id FROM run)
             GROUP BY run_id
         ),
         -- `results.recorded` for the projects a webhook subscribes to it
         -- in, with the counts each PATCH left: the run's row, its stripes,
         -- and the changes of this batch's PATCHes of the run up to it.
         ev AS (
             INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
             SELECT m.project_id, '{recorded}',
                 json_build_object('run_id', m.run_id, 'executions', 1, 'failed',
                     CASE WHEN m.status = {failed} THEN json_build_array(m.id)
                          ELSE json_build_array() END,
                     'counts', json_build_object({counts}))::text,
                 false, m.now, false
             FROM m JOIN run ON run.id = m.run_id LEFT JOIN st ON st.run_id = m.run_id
             WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.project_id = m.project_id
                 AND w.active AND w.events & {bit} <> 0)
             WINDOW w AS (PARTITION BY m.run_id ORDER BY m.n)
             ORDER BY m.n
         )
         SELECT u.id, u.run_id, u.case_id, c.title, u.status, u.note, u.elapsed_ms,
             u.tested_by, u.tested_at, u.step_results, u.defects, u.assigned_to, u.n
         FROM u JOIN cases c ON c.id = u.case_id",
        moved(Status::Passed, "d_passed"),
        moved(Status::Failed, "d_failed"),
        moved(Status::Blocked, "d_blocked"),
        moved(Status::Retest, "d_retest"),
        moved(Status::NotTested, "d_not_tested"),
    )
}
