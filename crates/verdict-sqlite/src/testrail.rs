//! TestRail compatibility: numbered sections.

use rusqlite::{Connection, params};
use verdict_store::*;

use crate::db_err;
use crate::projects::get_project;

fn section_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NumberedSection> {
    Ok(NumberedSection {
        id: r.get(0)?,
        project_id: ProjectId::from_db(r.get(1)?),
        path: r.get(2)?,
    })
}

pub(crate) fn numbered_sections(
    c: &Connection,
    project: ProjectId,
) -> StoreResult<Vec<NumberedSection>> {
    get_project(c, project)?;
    c.prepare_cached(
        "SELECT id, project_id, path FROM testrail_sections WHERE project_id = ?1 ORDER BY id",
    )
    .and_then(|mut stmt| stmt.query_map([project.get()], section_row)?.collect())
    .map_err(db_err)
}

pub(crate) fn number_sections(
    c: &Connection,
    project: ProjectId,
    paths: &[String],
) -> StoreResult<Vec<NumberedSection>> {
    get_project(c, project)?;
    let mut insert = c
        .prepare_cached(
            "INSERT INTO testrail_sections (project_id, path) VALUES (?1, ?2)
             ON CONFLICT (project_id, path) DO NOTHING",
        )
        .map_err(db_err)?;
    for path in paths {
        insert
            .execute(params![project.get(), path])
            .map_err(db_err)?;
    }
    numbered_sections(c, project)
}

pub(crate) fn numbered_section(c: &Connection, id: i64) -> StoreResult<NumberedSection> {
    c.prepare_cached("SELECT id, project_id, path FROM testrail_sections WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], section_row))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            other => db_err(other),
        })
}

pub(crate) fn delete_numbered_section(c: &Connection, id: i64) -> StoreResult<()> {
    let n = c
        .prepare_cached("DELETE FROM testrail_sections WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute([id]))
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
