//! Retention: deleting closed runs past their time with everything that
//! hangs off them, and vacuuming the tables that emptied.

use deadpool_postgres::{Object, Pool, Transaction};
use verdict_store::*;

use crate::error::{Result, db_err};
use crate::pool::{client, col, execute, query, query_found};

/// The tables a prune deletes from: VACUUMed by [`reclaim`].
const PRUNED: [&str; 5] = [
    "attachments",
    "history",
    "results",
    "run_count_stripes",
    "runs",
];

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The runs to prune, their results, history and attachments counted, then
/// (unless dry) deleted, children first, in this one transaction. The runs
/// are locked first, as every write of a run's results does, so nothing is
/// added to them meanwhile (a closed run takes no results, and no
/// attachment; only deletes). Nothing else names a run or a result
/// (idempotency answers are per user and expire on their own).
pub(crate) async fn prune(tx: &Transaction<'_>, request: &PruneRequest) -> Result<PruneOutcome> {
    // A large prune takes longer than the request timeout that bounds the
    // server's statements.
    tx.batch_execute("SET LOCAL statement_timeout = 0")
        .await
        .map_err(db_err)?;
    let lock = if request.dry_run { "" } else { "FOR UPDATE" };
    let runs: Vec<i64> = query(
        tx,
        &format!(
            "SELECT id FROM runs
             WHERE closed_at IS NOT NULL AND closed_at < $1
               AND ($2::bigint IS NULL OR project_id = $2::bigint)
             ORDER BY id {lock}"
        ),
        &[
            &request.closed_before.millis(),
            &request.project.map(ProjectId::get),
        ],
    )
    .await?
    .iter()
    .map(|r| col(r, 0))
    .collect::<Result<_>>()?;
    if !request.dry_run {
        prune_webhook_events(tx, request).await?;
    }
    prune_runs(tx, &runs, request.dry_run).await
}

/// Deletes one run, open or closed, as a prune would (a TestRail
/// `delete_run`), after locking it. `NotFound` for an unknown run.
pub(crate) async fn delete_run(tx: &Transaction<'_>, run: RunId) -> Result<PruneOutcome> {
    query_found(
        tx,
        "SELECT id FROM runs WHERE id = $1 FOR UPDATE",
        &[&run.get()],
    )
    .await?;
    prune_runs(tx, &[run.get()], false).await
}

/// Counts, then (unless `dry_run`) deletes, these runs (locked by the
/// caller) and what hangs off them.
async fn prune_runs(tx: &Transaction<'_>, runs: &[i64], dry_run: bool) -> Result<PruneOutcome> {
    if runs.is_empty() {
        return Ok(PruneOutcome::default());
    }
    let runs = runs.to_vec();
    // The pruned runs' results (a probe of results_run per run).
    let results = "SELECT r.id FROM unnest($1::bigint[]) AS k(run_id)
         JOIN results r ON r.run_id = k.run_id";
    let counts = query_found(
        tx,
        &format!(
            "WITH res AS MATERIALIZED ({results})
             SELECT (SELECT count(*) FROM res),
                    (SELECT count(*) FROM res JOIN history h ON h.result_id = res.id),
                    (SELECT count(*) FROM res JOIN attachments a ON a.result_id = res.id),
                    (SELECT coalesce(sum(a.size), 0)::bigint FROM res
                         JOIN attachments a ON a.result_id = res.id)"
        ),
        &[&runs],
    )
    .await?;
    let mut outcome = PruneOutcome {
        runs: runs.len() as u64,
        results: unsigned(col(&counts, 0)?),
        executions: unsigned(col(&counts, 1)?),
        attachments: unsigned(col(&counts, 2)?),
        attachment_bytes: unsigned(col(&counts, 3)?),
        unreferenced: Vec::new(),
    };
    if dry_run {
        return Ok(outcome);
    }
    let digests: Vec<String> = query(
        tx,
        &format!("DELETE FROM attachments WHERE result_id IN ({results}) RETURNING sha256"),
        &[&runs],
    )
    .await?
    .iter()
    .map(|r| col(r, 0))
    .collect::<Result<_>>()?;
    execute(
        tx,
        &format!("DELETE FROM history WHERE result_id IN ({results})"),
        &[&runs],
    )
    .await?;
    execute(
        tx,
        "DELETE FROM results WHERE run_id IN (SELECT unnest($1::bigint[]))",
        &[&runs],
    )
    .await?;
    execute(
        tx,
        "DELETE FROM run_count_stripes WHERE run_id IN (SELECT unnest($1::bigint[]))",
        &[&runs],
    )
    .await?;
    execute(
        tx,
        "DELETE FROM runs WHERE id IN (SELECT unnest($1::bigint[]))",
        &[&runs],
    )
    .await?;
    let mut digests = digests;
    digests.sort_unstable();
    digests.dedup();
    outcome.unreferenced = query(
        tx,
        "SELECT d FROM unnest($1::text[]) AS d
         WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = d) ORDER BY d",
        &[&digests],
    )
    .await?
    .iter()
    .map(|r| col(r, 0))
    .collect::<Result<_>>()?;
    Ok(outcome)
}

/// VACUUMs the tables a prune deletes from, so their free space is reused
/// (and trailing empty pages are given back to the filesystem). VACUUM
/// runs outside a transaction and may take longer than the statements'
/// bound, which is lifted for it on this connection and restored after;
/// a connection where that may have failed is not reused.
pub(crate) async fn reclaim(pool: &Pool) -> Result<()> {
    let conn = client(pool).await?;
    let outcome = vacuum(&conn).await;
    let reset = conn
        .batch_execute("RESET statement_timeout")
        .await
        .map_err(db_err);
    if outcome.is_err() || reset.is_err() || conn.is_closed() {
        drop(Object::take(conn));
    }
    outcome.and(reset)
}

async fn vacuum(conn: &Object) -> Result<()> {
    conn.batch_execute("SET statement_timeout = 0")
        .await
        .map_err(db_err)?;
    for table in PRUNED {
        conn.batch_execute(&format!("VACUUM {table}"))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn database_bytes(conn: &Object) -> Result<u64> {
    let row = query_found(conn, "SELECT pg_database_size(current_database())", &[]).await?;
    Ok(unsigned(col(&row, 0)?))
}

/// Webhook events older than the cut-off and done with (no delivery still
/// pending) go, with their deliveries and attempts.
async fn prune_webhook_events(tx: &Transaction<'_>, request: &PruneRequest) -> Result<()> {
    let done = "SELECT e.id FROM webhook_events e
         WHERE e.created_at < $1 AND ($2::bigint IS NULL OR e.project_id = $2::bigint) AND e.fanned
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 0)";
    for sql in [
        format!("DELETE FROM webhook_attempts WHERE event_id IN ({done})"),
        format!("DELETE FROM webhook_deliveries WHERE event_id IN ({done})"),
        format!("DELETE FROM webhook_events WHERE id IN ({done})"),
    ] {
        execute(
            tx,
            &sql,
            &[
                &request.closed_before.millis(),
                &request.project.map(ProjectId::get),
            ],
        )
        .await?;
    }
    Ok(())
}
