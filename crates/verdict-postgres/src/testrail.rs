//! TestRail compatibility: numbered sections.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use verdict_store::*;

use crate::error::Result;
use crate::pool::{col, execute, query, query_found};
use crate::projects::get_project;

fn section_row(r: &Row) -> Result<NumberedSection> {
    Ok(NumberedSection {
        id: col(r, 0)?,
        project_id: ProjectId::from_db(col(r, 1)?),
        path: col(r, 2)?,
    })
}

pub(crate) async fn numbered_sections<C: GenericClient>(
    c: &C,
    project: ProjectId,
) -> Result<Vec<NumberedSection>> {
    get_project(c, project).await?;
    query(
        c,
        "SELECT id, project_id, path FROM testrail_sections WHERE project_id = $1 ORDER BY id",
        &[&project.get()],
    )
    .await?
    .iter()
    .map(section_row)
    .collect()
}

pub(crate) async fn number_sections<C: GenericClient>(
    c: &C,
    project: ProjectId,
    paths: &[String],
) -> Result<Vec<NumberedSection>> {
    get_project(c, project).await?;
    // In the order given, so parents (listed first) get the lower numbers.
    execute(
        c,
        "INSERT INTO testrail_sections (project_id, path)
         SELECT $1, p FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n
         ON CONFLICT (project_id, path) DO NOTHING",
        &[&project.get(), &paths],
    )
    .await?;
    numbered_sections(c, project).await
}

pub(crate) async fn numbered_section<C: GenericClient>(c: &C, id: i64) -> Result<NumberedSection> {
    let row = query_found(
        c,
        "SELECT id, project_id, path FROM testrail_sections WHERE id = $1",
        &[&id],
    )
    .await?;
    section_row(&row)
}

pub(crate) async fn delete_numbered_section<C: GenericClient>(c: &C, id: i64) -> Result<()> {
    let n = execute(c, "DELETE FROM testrail_sections WHERE id = $1", &[&id]).await?;
    if n == 0 {
        return Err(crate::error::Error::Store(StoreError::NotFound));
    }
    Ok(())
}
