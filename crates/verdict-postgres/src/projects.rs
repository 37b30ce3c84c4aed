//! Projects and their members.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::*;

use crate::error::{Result, other};
use crate::pool::{Param, col, execute, query, query_found, query_opt};
use crate::users::{get_user, user_at};

fn project_row(r: &Row) -> Result<Project> {
    Ok(Project {
        defect_url_template: col(r, 3)?,
        id: ProjectId::from_db(col(r, 0)?),
        name: col(r, 1)?,
        created_at: Timestamp::from_millis(col(r, 2)?),
    })
}

pub(crate) fn role_of(code: i16) -> Result<Role> {
    Role::from_code(i64::from(code)).ok_or_else(|| other(format!("unknown role code {code}")))
}

pub(crate) fn role_code(role: Role) -> i16 {
    // Codes are 1..=3 (see `Role::code`).
    i16::try_from(role.code()).unwrap_or(i16::MAX)
}

pub(crate) async fn create_project(
    tx: &Transaction<'_>,
    project: &NewProject,
    creator: UserId,
    now: Timestamp,
) -> Result<Project> {
    // One statement: the project and its creator as manager.
    let row = query_found(
        tx,
        "WITH p AS (INSERT INTO projects (name, created_at, defect_url_template)
                    VALUES ($1, $2, $5)
                    RETURNING id, name, created_at, defect_url_template),
              m AS (INSERT INTO members (project_id, user_id, role) SELECT id, $3, $4 FROM p)
         SELECT id, name, created_at, defect_url_template FROM p",
        &[
            &project.name,
            &now.millis(),
            &creator.get(),
            &role_code(Role::Manager),
            &project.defect_url_template,
        ],
    )
    .await?;
    project_row(&row)
}

/// Renames the project or changes its defect link template (one
/// statement: a field not in the patch keeps its value).
pub(crate) async fn update_project<C: GenericClient>(
    c: &C,
    id: ProjectId,
    patch: &ProjectPatch,
) -> Result<Project> {
    let template = patch.defect_url_template.clone().flatten();
    let row = query_found(
        c,
        "UPDATE projects SET name = coalesce($2, name),
             defect_url_template = CASE WHEN $3 THEN $4 ELSE defect_url_template END
         WHERE id = $1 RETURNING id, name, created_at, defect_url_template",
        &[
            &id.get(),
            &patch.name,
            &patch.defect_url_template.is_some(),
            &template,
        ],
    )
    .await?;
    project_row(&row)
}

pub(crate) async fn get_project<C: GenericClient>(c: &C, id: ProjectId) -> Result<Project> {
    let row = query_found(
        c,
        "SELECT id, name, created_at, defect_url_template FROM projects WHERE id = $1",
        &[&id.get()],
    )
    .await?;
    project_row(&row)
}

pub(crate) async fn list_projects<C: GenericClient>(
    c: &C,
    member: Option<UserId>,
    page: Page,
) -> Result<Listing<Project>> {
    let (limit, offset) = page.bounds();
    let (total, rows) = match member {
        None => {
            let params: [&Param<'_>; 2] = [&limit, &offset];
            tokio::try_join!(
                query_found(c, "SELECT count(*) FROM projects", &[]),
                query(
                    c,
                    "SELECT id, name, created_at, defect_url_template FROM projects ORDER BY id LIMIT $1 OFFSET $2",
                    &params,
                ),
            )?
        }
        Some(user) => {
            let user = user.get();
            let params: [&Param<'_>; 3] = [&user, &limit, &offset];
            tokio::try_join!(
                query_found(
                    c,
                    "SELECT count(*) FROM members WHERE user_id = $1",
                    &params[..1],
                ),
                query(
                    c,
                    "SELECT p.id, p.name, p.created_at, p.defect_url_template FROM members m
                     JOIN projects p ON p.id = m.project_id
                     WHERE m.user_id = $1 ORDER BY p.id LIMIT $2 OFFSET $3",
                    &params,
                ),
            )?
        }
    };
    Ok(Listing {
        items: rows.iter().map(project_row).collect::<Result<_>>()?,
        total: col(&total, 0)?,
    })
}

pub(crate) async fn role<C: GenericClient>(
    c: &C,
    project: ProjectId,
    user: UserId,
) -> Result<Option<Role>> {
    let row = query_opt(
        c,
        "SELECT role FROM members WHERE project_id = $1 AND user_id = $2",
        &[&project.get(), &user.get()],
    )
    .await?;
    row.map(|r| role_of(col(&r, 0)?)).transpose()
}

/// A run's project (`$1`) and the role of a user (`$2`) in it.
pub(crate) const RUN_ACCESS: &str = "SELECT r.project_id, m.role FROM runs r
     LEFT JOIN members m ON m.project_id = r.project_id AND m.user_id = $2
     WHERE r.id = $1";

/// A run's project and the user's role in it, in one statement.
pub(crate) async fn run_access<C: GenericClient>(
    c: &C,
    run: RunId,
    user: UserId,
) -> Result<(ProjectId, Option<Role>)> {
    let row = query_found(c, RUN_ACCESS, &[&run.get(), &user.get()]).await?;
    let role = col::<Option<i16>>(&row, 1)?.map(role_of).transpose()?;
    Ok((ProjectId::from_db(col(&row, 0)?), role))
}

pub(crate) async fn set_member(
    tx: &Transaction<'_>,
    project: ProjectId,
    user: UserId,
    role: Role,
) -> Result<Member> {
    let (_, user) = tokio::try_join!(get_project(tx, project), get_user(tx, user))?;
    execute(
        tx,
        "INSERT INTO members (project_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
        &[&project.get(), &user.id.get(), &role_code(role)],
    )
    .await?;
    Ok(Member { user, role })
}

pub(crate) async fn remove_member<C: GenericClient>(
    c: &C,
    project: ProjectId,
    user: UserId,
) -> Result<()> {
    let n = execute(
        c,
        "DELETE FROM members WHERE project_id = $1 AND user_id = $2",
        &[&project.get(), &user.get()],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

pub(crate) async fn list_members<C: GenericClient>(
    c: &C,
    project: ProjectId,
) -> Result<Vec<Member>> {
    let rows = query(
        c,
        "SELECT u.id, u.name, u.email, u.admin, u.created_at, m.role
         FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = $1 ORDER BY u.id",
        &[&project.get()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user: user_at(r, 0)?,
                role: role_of(col(r, 5)?)?,
            })
        })
        .collect()
}
