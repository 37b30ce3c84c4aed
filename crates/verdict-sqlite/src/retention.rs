//! Retention: deleting closed runs past their time with everything that
//! hangs off them, and giving the freed pages back to the filesystem.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};
use verdict_store::*;

use crate::db_err;

/// Runs one statement that answers one integer for `run`.
fn count(c: &Connection, sql: &str, run: i64) -> StoreResult<i64> {
    c.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row([run], |r| r.get(0)))
        .map_err(db_err)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Counts, then (unless dry) deletes, run by run, in the writer's one
/// transaction: attachment rows, history, results, the run. Nothing else
/// names a run or a result (idempotency answers are per user and expire on
/// their own).
pub(crate) fn prune(c: &Connection, request: &PruneRequest) -> StoreResult<PruneOutcome> {
    let runs: Vec<i64> = c
        .prepare_cached(
            "SELECT id FROM runs
             WHERE closed_at IS NOT NULL AND closed_at < ?1 AND (?2 IS NULL OR project_id = ?2)
             ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map(
                params![
                    request.closed_before.millis(),
                    request.project.map(ProjectId::get)
                ],
                |r| r.get(0),
            )?
            .collect()
        })
        .map_err(db_err)?;
    let outcome = prune_runs(c, &runs, request.dry_run)?;
    if !request.dry_run {
        prune_webhook_events(c, request)?;
    }
    Ok(outcome)
}

/// Webhook events as old, done with (none still pending), go with
/// their deliveries and attempts; never the newest event, whose id keeps
/// the next one new (the table has no AUTOINCREMENT counter: the next id
/// is the largest plus one). The events table has no index besides its
/// ids (see `webhooks::fan_out`): a prune reads it through.
fn prune_webhook_events(c: &Connection, request: &PruneRequest) -> StoreResult<()> {
    let done = "SELECT e.id FROM webhook_events e
         WHERE e.created_at < ?1 AND (?2 IS NULL OR e.project_id = ?2) AND e.fanned = 1
           AND e.id < (SELECT max(id) FROM webhook_events)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 0)";
    for sql in [
        format!("DELETE FROM webhook_attempts WHERE event_id IN ({done})"),
        format!("DELETE FROM webhook_deliveries WHERE event_id IN ({done})"),
        format!("DELETE FROM webhook_events WHERE id IN ({done})"),
    ] {
        c.prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    request.closed_before.millis(),
                    request.project.map(ProjectId::get)
                ])
            })
            .map_err(db_err)?;
    }
    Ok(())
}

/// Deletes one run, open or closed, as a prune would (a TestRail
/// `delete_run`). `NotFound` for an unknown run.
pub(crate) fn delete_run(c: &Connection, run: RunId) -> StoreResult<PruneOutcome> {
    crate::runs::get_run(c, run)?;
    prune_runs(c, &[run.get()], false)
}

/// Counts, then (unless `dry_run`) deletes, these runs and what hangs off them.
fn prune_runs(c: &Connection, runs: &[i64], dry_run: bool) -> StoreResult<PruneOutcome> {
    let mut outcome = PruneOutcome {
        runs: runs.len() as u64,
        ..PruneOutcome::default()
    };
    let mut digests = BTreeSet::new();
    for &run in runs {
        outcome.results += unsigned(count(
            c,
            "SELECT count(*) FROM results WHERE run_id = ?1",
            run,
        )?);
        outcome.executions += unsigned(count(
            c,
            "SELECT count(*) FROM history h JOIN results r ON r.id = h.result_id
             WHERE r.run_id = ?1",
            run,
        )?);
        let (files, bytes): (i64, i64) = c
            .prepare_cached(
                "SELECT count(*), coalesce(sum(a.size), 0) FROM attachments a
                 JOIN results r ON r.id = a.result_id WHERE r.run_id = ?1",
            )
            .and_then(|mut stmt| stmt.query_row([run], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(db_err)?;
        outcome.attachments += unsigned(files);
        outcome.attachment_bytes += unsigned(bytes);
        if dry_run || files == 0 {
            continue;
        }
        let mut named = c
            .prepare_cached(
                "SELECT DISTINCT a.sha256 FROM attachments a
                 JOIN results r ON r.id = a.result_id WHERE r.run_id = ?1",
            )
            .map_err(db_err)?;
        let rows = named
            .query_map([run], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        for digest in rows {
            digests.insert(digest.map_err(db_err)?);
        }
    }
    if dry_run {
        return Ok(outcome);
    }
    for &run in runs {
        for sql in [
            "DELETE FROM attachments WHERE result_id IN (SELECT id FROM results WHERE run_id = ?1)",
            "DELETE FROM history WHERE result_id IN (SELECT id FROM results WHERE run_id = ?1)",
            "DELETE FROM results WHERE run_id = ?1",
            "DELETE FROM runs WHERE id = ?1",
        ] {
            c.prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute([run]))
                .map_err(db_err)?;
        }
    }
    let digests: Vec<String> = digests.into_iter().collect();
    let still = crate::attachments::referenced_digests(c, &digests)?;
    outcome.unreferenced = digests.into_iter().filter(|d| !still.contains(d)).collect();
    Ok(outcome)
}

/// Gives free pages back to the filesystem, outside any transaction (on
/// the writer, between groups). A database created with incremental
/// auto-vacuum frees them in place; an older one is rewritten once by a
/// VACUUM that converts it, so later reclaims are incremental. The WAL,
/// which now holds the moved pages, is checkpointed into the file and
/// truncated.
pub(crate) fn reclaim(c: &Connection) -> StoreResult<()> {
    let mode: i64 = c
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .map_err(db_err)?;
    // 2: INCREMENTAL.
    if mode == 2 {
        // Each step frees one page (and answers an empty row).
        let mut stmt = c.prepare("PRAGMA incremental_vacuum").map_err(db_err)?;
        let mut steps = stmt.query([]).map_err(db_err)?;
        while steps.next().map_err(db_err)?.is_some() {}
    } else {
        c.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM")
            .map_err(db_err)?;
    }
    // (busy, WAL frames, frames checkpointed); busy when a reader held
    // the WAL past the busy timeout: the space comes back at a later
    // checkpoint.
    let busy: i64 = c
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .map_err(db_err)?;
    if busy != 0 {
        tracing::info!("readers kept the WAL from being truncated; it will be later");
    }
    Ok(())
}

/// The database file and its WAL, as they are on disk now.
pub(crate) fn database_bytes(c: &Connection) -> StoreResult<u64> {
    let pages: i64 = c
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let Some(path) = c.path().filter(|p| !p.is_empty()) else {
        return Ok(unsigned(pages));
    };
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).ok();
    let main = size(path).unwrap_or(unsigned(pages));
    let wal = size(&format!("{path}-wal")).unwrap_or(0);
    Ok(main + wal)
}
