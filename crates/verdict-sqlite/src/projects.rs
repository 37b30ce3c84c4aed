//! Projects and their members.

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::*;

use crate::users::{get_user, user_row};
use crate::{db_err, found};

fn project_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        defect_url_template: r.get(3)?,
        id: ProjectId::from_db(r.get(0)?),
        name: r.get(1)?,
        created_at: Timestamp::from_millis(r.get(2)?),
    })
}

fn role_of(code: i64) -> rusqlite::Result<Role> {
    Role::from_code(code).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, code))
}

pub(crate) fn create_project(
    c: &Connection,
    project: &NewProject,
    creator: UserId,
    now: Timestamp,
) -> StoreResult<Project> {
    c.execute(
        "INSERT INTO projects (name, created_at, defect_url_template) VALUES (?1, ?2, ?3)",
        params![project.name, now.millis(), project.defect_url_template],
    )
    .map_err(db_err)?;
    let id = ProjectId::from_db(c.last_insert_rowid());
    c.execute(
        "INSERT INTO members (project_id, user_id, role) VALUES (?1, ?2, ?3)",
        params![id.get(), creator.get(), Role::Manager.code()],
    )
    .map_err(db_err)?;
    get_project(c, id)
}

pub(crate) fn get_project(c: &Connection, id: ProjectId) -> StoreResult<Project> {
    let mut stmt = c
        .prepare_cached(
            "SELECT id, name, created_at, defect_url_template FROM projects WHERE id = ?1",
        )
        .map_err(db_err)?;
    found(stmt.query_row([id.get()], project_row))
}

/// Renames the project or changes its defect link template.
pub(crate) fn update_project(
    c: &Connection,
    id: ProjectId,
    patch: &ProjectPatch,
) -> StoreResult<Project> {
    let mut project = get_project(c, id)?;
    if let Some(name) = &patch.name {
        project.name = name.clone();
    }
    if let Some(template) = &patch.defect_url_template {
        project.defect_url_template = template.clone();
    }
    c.execute(
        "UPDATE projects SET name = ?2, defect_url_template = ?3 WHERE id = ?1",
        params![id.get(), project.name, project.defect_url_template],
    )
    .map_err(db_err)?;
    Ok(project)
}

pub(crate) fn list_projects(
    c: &Connection,
    member: Option<UserId>,
    page: Page,
) -> StoreResult<Listing<Project>> {
    let (limit, offset) = page.bounds();
    let (items, total) = match member {
        None => {
            let total = c
                .query_row("SELECT count(*) FROM projects", [], |r| r.get(0))
                .map_err(db_err)?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, name, created_at, defect_url_template FROM projects ORDER BY id LIMIT ?1 OFFSET ?2",
                )
                .map_err(db_err)?;
            let items = stmt
                .query_map([limit, offset], project_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(db_err)?;
            (items, total)
        }
        Some(user) => {
            let total = c
                .query_row(
                    "SELECT count(*) FROM members WHERE user_id = ?1",
                    [user.get()],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT p.id, p.name, p.created_at, p.defect_url_template FROM members m
                     JOIN projects p ON p.id = m.project_id
                     WHERE m.user_id = ?1 ORDER BY p.id LIMIT ?2 OFFSET ?3",
                )
                .map_err(db_err)?;
            let items = stmt
                .query_map([user.get(), limit, offset], project_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(db_err)?;
            (items, total)
        }
    };
    Ok(Listing { items, total })
}

pub(crate) fn role(c: &Connection, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
    let mut stmt = c
        .prepare_cached("SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2")
        .map_err(db_err)?;
    stmt.query_row([project.get(), user.get()], |r| role_of(r.get(0)?))
        .optional()
        .map_err(db_err)
}

pub(crate) fn set_member(
    c: &Connection,
    project: ProjectId,
    user: UserId,
    role: Role,
) -> StoreResult<Member> {
    get_project(c, project)?;
    let user = get_user(c, user)?;
    c.execute(
        "INSERT INTO members (project_id, user_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
        params![project.get(), user.id.get(), role.code()],
    )
    .map_err(db_err)?;
    Ok(Member { user, role })
}

pub(crate) fn remove_member(c: &Connection, project: ProjectId, user: UserId) -> StoreResult<()> {
    let n = c
        .execute(
            "DELETE FROM members WHERE project_id = ?1 AND user_id = ?2",
            [project.get(), user.get()],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn list_members(c: &Connection, project: ProjectId) -> StoreResult<Vec<Member>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT u.id, u.name, u.email, u.admin, u.created_at, m.role
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.project_id = ?1 ORDER BY u.id",
        )
        .map_err(db_err)?;
    stmt.query_map([project.get()], |r| {
        Ok(Member {
            user: user_row(r)?,
            role: role_of(r.get(5)?)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}
