//! Attachment rows: files kept with an execution, named by their sha256
//! (the bytes are in the attachment storage, not here).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::*;

use crate::error::{Result, other};
use crate::pool::{col, execute, query, query_found, query_opt};
use crate::runs::lock_open_run;

/// An attachment with its run and project, from `attachments a` joined to
/// its result `r` and run `ru` (see [`FROM`]).
const COLUMNS: &str = "a.id, ru.project_id, r.run_id, a.result_id, a.execution, a.name,
     a.content_type, a.size, a.sha256, a.created_by, a.created_at";
const FROM: &str = "attachments a JOIN results r ON r.id = a.result_id
     JOIN runs ru ON ru.id = r.run_id";

fn attachment_row(r: &Row) -> Result<Attachment> {
    Ok(Attachment {
        id: AttachmentId::from_db(col(r, 0)?),
        project_id: ProjectId::from_db(col(r, 1)?),
        run_id: RunId::from_db(col(r, 2)?),
        result_id: ResultId::from_db(col(r, 3)?),
        execution: u32::try_from(col::<i32>(r, 4)?).unwrap_or(0),
        name: col(r, 5)?,
        content_type: col(r, 6)?,
        size: u64::try_from(col::<i64>(r, 7)?).unwrap_or(0),
        sha256: col(r, 8)?,
        created_by: UserId::from_db(col(r, 9)?),
        created_at: Timestamp::from_millis(col(r, 10)?),
    })
}

/// `NotFound` unless the result is in the run (whatever the run's state).
async fn check_in_run<C: GenericClient>(c: &C, run: RunId, result: ResultId) -> Result<()> {
    query_found(
        c,
        "SELECT 1 FROM results WHERE id = $1 AND run_id = $2",
        &[&result.get(), &run.get()],
    )
    .await
    .map(drop)
}

pub(crate) async fn add_attachments(
    tx: &Transaction<'_>,
    run: RunId,
    result: ResultId,
    files: &[NewAttachment],
    actor: UserId,
    now: Timestamp,
) -> Result<Vec<Attachment>> {
    // In the order `record_result` answers (the run, open, holding the
    // result) and with its locks: the run row, then the result row, which
    // serializes adds to one result (two retries of one upload add once).
    lock_open_run(tx, run).await?;
    let id = result.get();
    query_found(
        tx,
        "SELECT 1 FROM results WHERE id = $1 AND run_id = $2 FOR UPDATE",
        &[&id, &run.get()],
    )
    .await?;
    // The latest execution is the result's last history row: its position
    // is how many there are.
    let executions: i64 = col(
        &query_found(
            tx,
            "SELECT count(*) FROM history WHERE result_id = $1",
            &[&id],
        )
        .await?,
        0,
    )?;
    let execution =
        i32::try_from(executions).map_err(|_| other("a result has too many executions"))?;
    let same = format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE a.result_id = $1 AND a.execution = $2 AND a.name = $3 AND a.sha256 = $4
         ORDER BY a.id LIMIT 1"
    );
    let mut added = Vec::with_capacity(files.len());
    for file in files {
        if let Some(row) =
            query_opt(tx, &same, &[&id, &execution, &file.name, &file.sha256]).await?
        {
            added.push(attachment_row(&row)?);
            continue;
        }
        let size = i64::try_from(file.size).map_err(|_| other("an attachment's size overflows"))?;
        let row = query_found(
            tx,
            "INSERT INTO attachments (result_id, execution, name, content_type, size, sha256,
                 created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &id,
                &execution,
                &file.name,
                &file.content_type,
                &size,
                &file.sha256,
                &actor.get(),
                &now.millis(),
            ],
        )
        .await?;
        added.push(get_attachment(tx, AttachmentId::from_db(col(&row, 0)?)).await?);
    }
    Ok(added)
}

pub(crate) async fn list_attachments<C: GenericClient>(
    c: &C,
    run: RunId,
    result: ResultId,
) -> Result<Vec<Attachment>> {
    check_in_run(c, run, result).await?;
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE a.result_id = $1 ORDER BY a.id");
    query(c, &sql, &[&result.get()])
        .await?
        .iter()
        .map(attachment_row)
        .collect()
}

pub(crate) async fn get_attachment<C: GenericClient>(
    c: &C,
    id: AttachmentId,
) -> Result<Attachment> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1");
    attachment_row(&query_found(c, &sql, &[&id.get()]).await?)
}

pub(crate) async fn delete_attachment<C: GenericClient>(c: &C, id: AttachmentId) -> Result<()> {
    let gone = execute(c, "DELETE FROM attachments WHERE id = $1", &[&id.get()]).await?;
    if gone == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

/// Which of `digests` some row names (each once, in the order given).
pub(crate) async fn referenced_digests<C: GenericClient>(
    c: &C,
    digests: &[String],
) -> Result<Vec<String>> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    // One index probe per digest (see `bulk::locate` for why not `= ANY`).
    let rows = query(
        c,
        "SELECT d.sha256 FROM unnest($1::text[]) WITH ORDINALITY AS d(sha256, n)
         WHERE EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = d.sha256)
         GROUP BY d.sha256 ORDER BY min(d.n)",
        &[&digests],
    )
    .await?;
    rows.iter().map(|r| col(r, 0)).collect()
}
