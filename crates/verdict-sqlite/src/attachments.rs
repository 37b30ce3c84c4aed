//! Attachment rows: files kept with an execution, named by their sha256
//! (the bytes are in the attachment storage, not here).

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::*;

use crate::{db_err, found};

/// An attachment with its run and project, from `attachments a` joined to
/// its result `r` and run `ru` (see [`FROM`]).
const COLUMNS: &str = "a.id, ru.project_id, r.run_id, a.result_id, a.execution, a.name,
     a.content_type, a.size, a.sha256, a.created_by, a.created_at";
const FROM: &str = "attachments a JOIN results r ON r.id = a.result_id
     JOIN runs ru ON ru.id = r.run_id";

fn attachment_row(r: &Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: AttachmentId::from_db(r.get(0)?),
        project_id: ProjectId::from_db(r.get(1)?),
        run_id: RunId::from_db(r.get(2)?),
        result_id: ResultId::from_db(r.get(3)?),
        execution: r.get(4)?,
        name: r.get(5)?,
        content_type: r.get(6)?,
        size: u64::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
        sha256: r.get(8)?,
        created_by: UserId::from_db(r.get(9)?),
        created_at: Timestamp::from_millis(r.get(10)?),
    })
}

/// Whether the run is closed and whether the result is in it; `NotFound`
/// for an unknown run.
fn run_of(c: &Connection, run: RunId, result: ResultId) -> StoreResult<(bool, bool)> {
    let mut stmt = c
        .prepare_cached(
            "SELECT ru.closed_at IS NOT NULL, r.id FROM runs ru
             LEFT JOIN results r ON r.id = ?2 AND r.run_id = ru.id
             WHERE ru.id = ?1",
        )
        .map_err(db_err)?;
    found(stmt.query_row([run.get(), result.get()], |r| {
        Ok((r.get::<_, bool>(0)?, r.get::<_, Option<i64>>(1)?.is_some()))
    }))
}

pub(crate) fn add_attachments(
    c: &Connection,
    run: RunId,
    result: ResultId,
    files: &[NewAttachment],
    actor: UserId,
    now: Timestamp,
) -> StoreResult<Vec<Attachment>> {
    // In the order `record_result` answers: the run, open, holding the
    // result.
    let (closed, in_run) = run_of(c, run, result)?;
    if closed {
        return Err(StoreError::run_closed());
    }
    if !in_run {
        return Err(StoreError::NotFound);
    }
    // The latest execution is the result's last history row: its position
    // is how many there are.
    let execution: i64 = c
        .prepare_cached("SELECT count(*) FROM history WHERE result_id = ?1")
        .and_then(|mut stmt| stmt.query_row([result.get()], |r| r.get(0)))
        .map_err(db_err)?;
    let mut existing = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE a.result_id = ?1 AND a.execution = ?2 AND a.name = ?3 AND a.sha256 = ?4
             ORDER BY a.id LIMIT 1"
        ))
        .map_err(db_err)?;
    let mut insert = c
        .prepare_cached(
            "INSERT INTO attachments (result_id, execution, name, content_type, size, sha256,
                 created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(db_err)?;
    let mut added = Vec::with_capacity(files.len());
    for file in files {
        let same = existing
            .query_row(
                params![result.get(), execution, file.name, file.sha256],
                attachment_row,
            )
            .optional()
            .map_err(db_err)?;
        if let Some(same) = same {
            added.push(same);
            continue;
        }
        let size = i64::try_from(file.size)
            .map_err(|_| StoreError::Other("an attachment's size overflows".into()))?;
        insert
            .execute(params![
                result.get(),
                execution,
                file.name,
                file.content_type,
                size,
                file.sha256,
                actor.get(),
                now.millis()
            ])
            .map_err(db_err)?;
        added.push(get_attachment(
            c,
            AttachmentId::from_db(c.last_insert_rowid()),
        )?);
    }
    Ok(added)
}

pub(crate) fn list_attachments(
    c: &Connection,
    run: RunId,
    result: ResultId,
) -> StoreResult<Vec<Attachment>> {
    if !run_of(c, run, result)?.1 {
        return Err(StoreError::NotFound);
    }
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE a.result_id = ?1 ORDER BY a.id"
        ))
        .map_err(db_err)?;
    stmt.query_map([result.get()], attachment_row)
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)
}

pub(crate) fn get_attachment(c: &Connection, id: AttachmentId) -> StoreResult<Attachment> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = ?1"))
        .map_err(db_err)?;
    found(stmt.query_row([id.get()], attachment_row))
}

pub(crate) fn delete_attachment(c: &Connection, id: AttachmentId) -> StoreResult<()> {
    let gone = c
        .prepare_cached("DELETE FROM attachments WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute([id.get()]))
        .map_err(db_err)?;
    if gone == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Which of `digests` some row names (each once, in the order given).
pub(crate) fn referenced_digests(c: &Connection, digests: &[String]) -> StoreResult<Vec<String>> {
    let mut stmt = c
        .prepare_cached("SELECT 1 FROM attachments WHERE sha256 = ?1 LIMIT 1")
        .map_err(db_err)?;
    let mut seen = HashSet::with_capacity(digests.len());
    let mut named = Vec::new();
    for digest in digests {
        if !seen.insert(digest) {
            continue;
        }
        let hit = stmt.exists([digest]).map_err(db_err)?;
        if hit {
            named.push(digest.clone());
        }
    }
    Ok(named)
}
