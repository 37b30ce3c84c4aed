//! Test cases. Deleting a case hides it and frees its key; results that
//! runs hold for it stay (history is never lost).

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::*;

use crate::projects::get_project;
use crate::{db_err, found, is_unique_violation};

pub(crate) const COLUMNS: &str = "id, project_id, title, key, suite, created_at, quarantine_reason, quarantined_by, quarantined_at, preconditions, steps, priority, refs";

pub(crate) fn case_row(r: &Row<'_>) -> rusqlite::Result<Case> {
    let quarantine = match (
        r.get::<_, Option<String>>(6)?,
        r.get::<_, Option<i64>>(7)?,
        r.get::<_, Option<i64>>(8)?,
    ) {
        (Some(reason), Some(by), Some(at)) => Some(Quarantine {
            reason,
            by: UserId::from_db(by),
            at: Timestamp::from_millis(at),
        }),
        _ => None,
    };
    let details = CaseDetails::from_columns(r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?)
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, e.into())
        })?;
    Ok(Case {
        quarantine,
        details,
        id: CaseId::from_db(r.get(0)?),
        project_id: ProjectId::from_db(r.get(1)?),
        title: r.get(2)?,
        key: r.get(3)?,
        suite: r.get(4)?,
        created_at: Timestamp::from_millis(r.get(5)?),
    })
}

fn key_conflict(e: rusqlite::Error, key: Option<&str>) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::duplicate_key("case", key.unwrap_or_default())
    } else {
        db_err(e)
    }
}

pub(crate) fn insert(
    c: &Connection,
    project: ProjectId,
    case: &NewCase,
    now: Timestamp,
) -> StoreResult<Case> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO cases (project_id, title, key, suite, created_at,
                 preconditions, steps, priority, refs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(db_err)?;
    let details = case.details.created();
    stmt.execute(params![
        project.get(),
        case.title,
        case.key,
        case.suite,
        now.millis(),
        details.preconditions,
        details.steps_json(),
        details.priority_str(),
        details.refs_json(),
    ])
    .map_err(|e| key_conflict(e, case.key.as_deref()))?;
    Ok(Case {
        id: CaseId::from_db(c.last_insert_rowid()),
        project_id: project,
        title: case.title.clone(),
        key: case.key.clone(),
        suite: case.suite.clone(),
        created_at: now,
        quarantine: None,
        details,
    })
}

pub(crate) fn create_case(
    c: &Connection,
    project: ProjectId,
    case: &NewCase,
    now: Timestamp,
) -> StoreResult<Case> {
    get_project(c, project)?;
    insert(c, project, case, now)
}

pub(crate) fn upsert_cases(
    c: &Connection,
    project: ProjectId,
    cases: &[NewCase],
    now: Timestamp,
) -> StoreResult<Vec<CaseUpsert>> {
    get_project(c, project)?;
    let mut find = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM cases WHERE project_id = ?1 AND key = ?2 AND deleted_at IS NULL"
        ))
        .map_err(db_err)?;
    let mut update = c
        .prepare_cached(
            "UPDATE cases SET title = ?2, suite = ?3,
                 preconditions = ?4, steps = ?5, priority = ?6, refs = ?7
             WHERE id = ?1",
        )
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(cases.len());
    for new in cases {
        let existing = match &new.key {
            Some(key) => find
                .query_row(params![project.get(), key], case_row)
                .optional()
                .map_err(db_err)?,
            None => None,
        };
        out.push(match existing {
            Some(mut case) => {
                // Details the entry leaves out keep the case's.
                new.details.apply(&mut case.details);
                let d = &case.details;
                update
                    .execute(params![
                        case.id.get(),
                        new.title,
                        new.suite,
                        d.preconditions,
                        d.steps_json(),
                        d.priority_str(),
                        d.refs_json(),
                    ])
                    .map_err(db_err)?;
                case.title = new.title.clone();
                case.suite = new.suite.clone();
                CaseUpsert {
                    case,
                    created: false,
                }
            }
            None => CaseUpsert {
                case: insert(c, project, new, now)?,
                created: true,
            },
        });
    }
    Ok(out)
}

pub(crate) fn get_case(c: &Connection, id: CaseId) -> StoreResult<Case> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM cases WHERE id = ?1 AND deleted_at IS NULL"
        ))
        .map_err(db_err)?;
    found(stmt.query_row([id.get()], case_row))
}

pub(crate) fn list_cases(
    c: &Connection,
    project: ProjectId,
    query: &CaseQuery,
    page: Page,
) -> StoreResult<Listing<Case>> {
    let (limit, offset) = page.bounds();
    // A plain substring test (no LIKE wildcards in user text), ignoring
    // case beyond ASCII like PostgreSQL's lower(): see `search`.
    // ?7: a section (see `IN_SECTION`), ?8: a priority.
    let filter = format!(
        "project_id = ?1 AND deleted_at IS NULL
        AND (?2 IS NULL OR key = ?2)
        AND (?3 IS NULL OR verdict_contains(title, ?3))
        AND (?6 IS NULL OR (quarantine_reason IS NOT NULL) = ?6)
        AND (?7 IS NULL OR {})
        AND (?8 IS NULL OR priority = ?8)",
        in_section_sql("?7")
    );
    let q = query.q.as_deref().map(crate::search::fold);
    let priority = query.priority.map(Priority::as_str);
    let total = c
        .query_row(
            // ?4 and ?5 are the page's; absent here, bound as NULL.
            &format!("SELECT count(*) FROM cases WHERE {filter}"),
            params![
                project.get(),
                query.key,
                q,
                None::<i64>,
                None::<i64>,
                query.quarantined,
                query.suite,
                priority
            ],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM cases WHERE {filter} ORDER BY id LIMIT ?4 OFFSET ?5"
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map(
            params![
                project.get(),
                query.key,
                q,
                limit,
                offset,
                query.quarantined,
                query.suite,
                priority
            ],
            case_row,
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

/// [`in_section`] in SQL: whether `suite` is the section bound at
/// `param` or nested in it. A prefix compared as text, not `LIKE` (which
/// ignores ASCII case in SQLite and reads `%` and `_` in the section).
pub(crate) fn in_section_sql(param: &str) -> String {
    format!("(suite = {param} OR substr(suite, 1, length({param}) + 3) = {param} || ' / ')")
}

/// The project's sections: the cases without a suite first, then each
/// suite by name (byte order), with its case count.
pub(crate) fn list_sections(c: &Connection, project: ProjectId) -> StoreResult<Vec<Section>> {
    get_project(c, project)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT suite, count(*) FROM cases WHERE project_id = ?1 AND deleted_at IS NULL
             GROUP BY suite ORDER BY suite IS NOT NULL, suite",
        )
        .map_err(db_err)?;
    stmt.query_map([project.get()], |r| {
        Ok(Section {
            suite: r.get(0)?,
            cases: r.get(1)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}

/// The ids of the project's live cases in the section or nested in it.
pub(crate) fn section_case_ids(
    c: &Connection,
    project: ProjectId,
    suite: &str,
) -> StoreResult<Vec<CaseId>> {
    get_project(c, project)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT id FROM cases WHERE project_id = ?1 AND deleted_at IS NULL AND {}
             ORDER BY id",
            in_section_sql("?2")
        ))
        .map_err(db_err)?;
    stmt.query_map(params![project.get(), suite], |r| {
        Ok(CaseId::from_db(r.get(0)?))
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}

pub(crate) fn update_case(c: &Connection, id: CaseId, patch: &CasePatch) -> StoreResult<Case> {
    let mut case = get_case(c, id)?;
    if let Some(title) = &patch.title {
        case.title = title.clone();
    }
    if let Some(key) = &patch.key {
        case.key = key.clone();
    }
    if let Some(suite) = &patch.suite {
        case.suite = suite.clone();
    }
    patch.details.apply(&mut case.details);
    let d = &case.details;
    c.execute(
        "UPDATE cases SET title = ?2, key = ?3, suite = ?4,
             preconditions = ?5, steps = ?6, priority = ?7, refs = ?8
         WHERE id = ?1",
        params![
            id.get(),
            case.title,
            case.key,
            case.suite,
            d.preconditions,
            d.steps_json(),
            d.priority_str(),
            d.refs_json(),
        ],
    )
    .map_err(|e| key_conflict(e, case.key.as_deref()))?;
    Ok(case)
}

pub(crate) fn delete_case(c: &Connection, id: CaseId) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE cases SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.get(), Timestamp::now().millis()],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Quarantines the case (or releases it with `None`) and returns it.
pub(crate) fn set_quarantine(
    c: &Connection,
    id: CaseId,
    quarantine: Option<&Quarantine>,
) -> StoreResult<Case> {
    let mut case = get_case(c, id)?;
    c.execute(
        "UPDATE cases SET quarantine_reason = ?2, quarantined_by = ?3, quarantined_at = ?4
         WHERE id = ?1",
        params![
            id.get(),
            quarantine.map(|q| q.reason.as_str()),
            quarantine.map(|q| q.by.get()),
            quarantine.map(|q| q.at.millis())
        ],
    )
    .map_err(db_err)?;
    case.quarantine = quarantine.cloned();
    Ok(case)
}
