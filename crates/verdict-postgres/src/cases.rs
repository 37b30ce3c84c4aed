//! Test cases. Deleting a case hides it and frees its key; results that
//! runs hold for it stay (history is never lost).
//!
//! New cases are inserted in key order (their ids drawn beforehand, in
//! request order), so two transactions creating overlapping keys wait on
//! each other's keys in the same order and cannot deadlock; when one finds
//! a key the other just committed, it runs again and then sees that case,
//! as it would have had the two run one after the other.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::backend;
use verdict_store::*;

use crate::error::{Error, Result, db_err, is_unique_violation, other, unique_is_race};
use crate::pool::{
    Param, alloc_ids, analyze_after_insert, col, execute, query, query_found, sorted_ids,
};
use crate::projects::get_project;

const COLUMNS: &str = "id, project_id, title, key, suite, created_at,
    quarantine_reason, quarantined_by, quarantined_at,
    preconditions, steps, priority, refs";

fn case_row(r: &Row) -> Result<Case> {
    let reason: Option<String> = col(r, 6)?;
    let quarantine = match reason {
        Some(reason) => Some(Quarantine {
            reason,
            by: UserId::from_db(col::<Option<i64>>(r, 7)?.unwrap_or_default()),
            at: Timestamp::from_millis(col::<Option<i64>>(r, 8)?.unwrap_or_default()),
        }),
        None => None,
    };
    Ok(Case {
        id: CaseId::from_db(col(r, 0)?),
        project_id: ProjectId::from_db(col(r, 1)?),
        title: col(r, 2)?,
        key: col(r, 3)?,
        suite: col(r, 4)?,
        created_at: Timestamp::from_millis(col(r, 5)?),
        quarantine,
        details: CaseDetails::from_columns(col(r, 9)?, col(r, 10)?, col(r, 11)?, col(r, 12)?)
            .map_err(other)?,
    })
}

fn key_conflict(e: tokio_postgres::Error, key: Option<&str>) -> Error {
    if is_unique_violation(&e) {
        StoreError::duplicate_key("case", key.unwrap_or_default()).into()
    } else {
        db_err(e)
    }
}

pub(crate) async fn create_case(
    tx: &Transaction<'_>,
    project: ProjectId,
    case: &NewCase,
    now: Timestamp,
) -> Result<Case> {
    // Inserted only into a project that exists: a missing one is NotFound.
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO cases (project_id, title, key, suite, created_at,
                 preconditions, steps, priority, refs)
             SELECT id, $2, $3, $4, $5, $6, $7, $8, $9 FROM projects WHERE id = $1
             RETURNING {COLUMNS}"
        ))
        .await
        .map_err(db_err)?;
    let d = case.details.created();
    let row = tx
        .query_opt(
            &stmt,
            &[
                &project.get(),
                &case.title,
                &case.key,
                &case.suite,
                &now.millis(),
                &d.preconditions,
                &d.steps_json(),
                &d.priority_str(),
                &d.refs_json(),
            ],
        )
        .await
        .map_err(|e| key_conflict(e, case.key.as_deref()))?;
    case_row(&row.ok_or(Error::Store(StoreError::NotFound))?)
}

/// Inserts new cases with the given ids, in key order (see the module
/// docs). A key taken meanwhile by a concurrent transaction retries.
pub(crate) async fn insert_many(
    tx: &Transaction<'_>,
    project: ProjectId,
    cases: &[Case],
) -> Result<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = cases.iter().map(|c| c.id.get()).collect();
    let titles: Vec<&str> = cases.iter().map(|c| c.title.as_str()).collect();
    let keys: Vec<Option<&str>> = cases.iter().map(|c| c.key.as_deref()).collect();
    let suites: Vec<Option<&str>> = cases.iter().map(|c| c.suite.as_deref()).collect();
    let created: Vec<i64> = cases.iter().map(|c| c.created_at.millis()).collect();
    let pre: Vec<Option<&str>> = cases
        .iter()
        .map(|c| c.details.preconditions.as_deref())
        .collect();
    let steps: Vec<Option<String>> = cases.iter().map(|c| c.details.steps_json()).collect();
    let prio: Vec<Option<&str>> = cases.iter().map(|c| c.details.priority_str()).collect();
    let refs: Vec<Option<String>> = cases.iter().map(|c| c.details.refs_json()).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO cases (id, project_id, title, key, suite, created_at,
                 preconditions, steps, priority, refs) OVERRIDING SYSTEM VALUE
             SELECT e.id, $1, e.title, e.key, e.suite, e.created_at,
                    e.preconditions, e.steps, e.priority, e.refs
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                         $7::text[], $8::text[], $9::text[], $10::text[])
                  AS e(id, title, key, suite, created_at, preconditions, steps, priority, refs)
             ORDER BY e.key, e.id",
        )
        .await
        .map_err(db_err)?;
    tx.execute(
        &stmt,
        &[
            &project.get(),
            &ids,
            &titles,
            &keys,
            &suites,
            &created,
            &pre,
            &steps,
            &prio,
            &refs,
        ],
    )
    .await
    .map_err(unique_is_race)?;
    analyze_after_insert(tx, "cases", cases.len()).await
}

/// The live cases with these ids (sorted: the order writers lock cases
/// in), locked for update; one index probe per id.
async fn lock_live(tx: &Transaction<'_>, ids: &[i64]) -> Result<Vec<Case>> {
    let rows = query(
        tx,
        &format!(
            "SELECT c.* FROM unnest($1::bigint[]) AS k(id)
             CROSS JOIN LATERAL (SELECT {COLUMNS} FROM cases
                 WHERE id = k.id AND deleted_at IS NULL OFFSET 0 FOR UPDATE) AS c"
        ),
        &[&ids],
    )
    .await?;
    rows.iter().map(case_row).collect()
}

/// The ids of the live cases of `project` with these keys, sorted (the
/// order writers lock cases in), read without locking: one index probe per
/// key (see `bulk::locate` for why not `key = ANY($2)`).
pub(crate) async fn live_ids_by_key(
    tx: &Transaction<'_>,
    project: ProjectId,
    keys: &[&str],
) -> Result<Vec<i64>> {
    let rows = query(
        tx,
        "SELECT c.id FROM unnest($2::text[]) AS k(key)
         CROSS JOIN LATERAL (SELECT id FROM cases
             WHERE project_id = $1 AND key = k.key AND deleted_at IS NULL OFFSET 0) AS c",
        &[&project.get(), &keys],
    )
    .await?;
    sorted_ids(&rows)
}

pub(crate) async fn upsert_cases(
    tx: &Transaction<'_>,
    project: ProjectId,
    cases: &[NewCase],
    now: Timestamp,
) -> Result<Vec<CaseUpsert>> {
    get_project(tx, project).await?;
    let mut keys: Vec<&str> = cases.iter().filter_map(|c| c.key.as_deref()).collect();
    keys.sort_unstable();
    keys.dedup();
    // The live cases these keys name, locked in id order. (A key changed in
    // between makes the insert below collide, and the whole upsert runs again.)
    let ids = live_ids_by_key(tx, project, &keys).await?;
    let mut by_key: HashMap<String, Case> = HashMap::new();
    for case in lock_live(tx, &ids).await? {
        if let Some(key) = case.key.clone() {
            by_key.insert(key, case);
        }
    }
    let existing: HashSet<CaseId> = by_key.values().map(|c| c.id).collect();
    // One new case per keyless entry and per distinct key not found.
    let new_keys: HashSet<&str> = cases
        .iter()
        .filter_map(|c| c.key.as_deref())
        .filter(|k| !by_key.contains_key(*k))
        .collect();
    let fresh = cases.iter().filter(|c| c.key.is_none()).count() + new_keys.len();
    let mut ids = alloc_ids(tx, "cases_id_seq", fresh).await?.into_iter();

    // In request order, as if one at a time: an entry whose key exists (or
    // was created earlier in this request) updates that case.
    let mut out = Vec::with_capacity(cases.len());
    let mut created: Vec<usize> = Vec::new();
    for new in cases {
        if let Some(case) = new.key.as_ref().and_then(|k| by_key.get_mut(k)) {
            case.title = new.title.clone();
            case.suite = new.suite.clone();
            // Details the entry leaves out keep the case's.
            new.details.apply(&mut case.details);
            out.push(CaseUpsert {
                case: case.clone(),
                created: false,
            });
            continue;
        }
        let id = ids.next().ok_or_else(|| other("ran out of case ids"))?;
        let case = Case {
            id: CaseId::from_db(id),
            project_id: project,
            title: new.title.clone(),
            key: new.key.clone(),
            suite: new.suite.clone(),
            created_at: now,
            quarantine: None,
            details: new.details.created(),
        };
        if let Some(key) = &new.key {
            by_key.insert(key.clone(), case.clone());
        }
        created.push(out.len());
        out.push(CaseUpsert {
            case,
            created: true,
        });
    }

    // Final state: a case created here is inserted as it ends up; a case
    // that existed gets the last title and suite given for its key.
    let inserts: Vec<Case> = created
        .iter()
        .map(|&i| {
            let case = &out[i].case;
            case.key
                .as_ref()
                .and_then(|k| by_key.get(k))
                .unwrap_or(case)
                .clone()
        })
        .collect();
    let mut updates: Vec<&Case> = by_key
        .values()
        .filter(|c| existing.contains(&c.id))
        .collect();
    updates.sort_by_key(|c| c.id);
    insert_many(tx, project, &inserts).await?;
    if !updates.is_empty() {
        let ids: Vec<i64> = updates.iter().map(|c| c.id.get()).collect();
        let titles: Vec<&str> = updates.iter().map(|c| c.title.as_str()).collect();
        let suites: Vec<Option<&str>> = updates.iter().map(|c| c.suite.as_deref()).collect();
        let pre: Vec<Option<&str>> = updates
            .iter()
            .map(|c| c.details.preconditions.as_deref())
            .collect();
        let steps: Vec<Option<String>> = updates.iter().map(|c| c.details.steps_json()).collect();
        let prio: Vec<Option<&str>> = updates.iter().map(|c| c.details.priority_str()).collect();
        let refs: Vec<Option<String>> = updates.iter().map(|c| c.details.refs_json()).collect();
        execute(
            tx,
            "UPDATE cases c SET title = u.title, suite = u.suite,
                 preconditions = u.preconditions, steps = u.steps,
                 priority = u.priority, refs = u.refs
             FROM unnest($1::bigint[], $2::text[], $3::text[],
                         $4::text[], $5::text[], $6::text[], $7::text[])
                  AS u(id, title, suite, preconditions, steps, priority, refs)
             WHERE c.id = u.id",
            &[&ids, &titles, &suites, &pre, &steps, &prio, &refs],
        )
        .await?;
    }
    Ok(out)
}

/// Applies case details to existing cases (each id once), set-based: their
/// details read (in id order, with the lock the caller holds), patched
/// here, written back with one statement.
pub(crate) async fn apply_details(
    tx: &Transaction<'_>,
    patches: &HashMap<i64, &DetailsPatch>,
) -> Result<()> {
    if patches.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = patches.keys().copied().collect();
    ids.sort_unstable();
    let mut cases = lock_live(tx, &ids).await?;
    for case in &mut cases {
        if let Some(patch) = patches.get(&case.id.get()) {
            patch.apply(&mut case.details);
        }
    }
    let ids: Vec<i64> = cases.iter().map(|c| c.id.get()).collect();
    let pre: Vec<Option<&str>> = cases
        .iter()
        .map(|c| c.details.preconditions.as_deref())
        .collect();
    let steps: Vec<Option<String>> = cases.iter().map(|c| c.details.steps_json()).collect();
    let prio: Vec<Option<&str>> = cases.iter().map(|c| c.details.priority_str()).collect();
    let refs: Vec<Option<String>> = cases.iter().map(|c| c.details.refs_json()).collect();
    execute(
        tx,
        "UPDATE cases c SET preconditions = u.preconditions, steps = u.steps,
             priority = u.priority, refs = u.refs
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])
              AS u(id, preconditions, steps, priority, refs)
         WHERE c.id = u.id",
        &[&ids, &pre, &steps, &prio, &refs],
    )
    .await?;
    Ok(())
}

pub(crate) async fn get_case<C: GenericClient>(c: &C, id: CaseId) -> Result<Case> {
    let sql = format!("SELECT {COLUMNS} FROM cases WHERE id = $1 AND deleted_at IS NULL");
    case_row(&query_found(c, &sql, &[&id.get()]).await?)
}

pub(crate) async fn list_cases<C: GenericClient>(
    c: &C,
    project: ProjectId,
    query_: &CaseQuery,
    page: Page,
) -> Result<Listing<Case>> {
    let (limit, offset) = page.bounds();
    // strpos() on lower() avoids LIKE's wildcards in user text.
    // Quarantined cases are their own statement, walking cases_quarantined.
    let quarantined = match query_.quarantined {
        Some(true) => "quarantine_reason IS NOT NULL",
        Some(false) => "quarantine_reason IS NULL",
        None => "true",
    };
    // $4: a section (see `in_section_sql`), $5 its nested pattern, $6 a
    // priority.
    let filter = format!(
        "project_id = $1 AND deleted_at IS NULL AND {quarantined}
        AND ($2::text IS NULL OR key = $2::text)
        AND ($3::text IS NULL OR strpos(lower(title), lower($3::text)) > 0)
        AND ($4::text IS NULL OR {})
        AND ($6::text IS NULL OR priority = $6::text)",
        in_section_sql("$4", "$5")
    );
    let count = format!("SELECT count(*) FROM cases WHERE {filter}");
    let list = format!("SELECT {COLUMNS} FROM cases WHERE {filter} ORDER BY id LIMIT $7 OFFSET $8");
    let project = project.get();
    let pattern = query_.suite.as_deref().map(backend::manual::nested_pattern);
    let priority = query_.priority.map(Priority::as_str);
    let params: [&Param<'_>; 8] = [
        &project,
        &query_.key,
        &query_.q,
        &query_.suite,
        &pattern,
        &priority,
        &limit,
        &offset,
    ];
    let (total, rows) = tokio::try_join!(
        query_found(c, &count, &params[..6]),
        query(c, &list, &params),
    )?;
    Ok(Listing {
        items: rows.iter().map(case_row).collect::<Result<_>>()?,
        total: col(&total, 0)?,
    })
}

/// [`in_section`] in SQL: whether `suite` is the section bound at
/// `section` or nested in it, `pattern` being the section's
/// [`nested_pattern`](backend::manual::nested_pattern) (LIKE is
/// case-sensitive here, and its wildcards in the section are escaped).
pub(crate) fn in_section_sql(section: &str, pattern: &str) -> String {
    format!("(suite = {section}::text OR suite LIKE {pattern}::text ESCAPE '\\')")
}

/// The project's sections: the cases without a suite first, then each
/// suite by name (byte order, as SQLite sorts), with its case count.
pub(crate) async fn list_sections<C: GenericClient>(
    c: &C,
    project: ProjectId,
) -> Result<Vec<Section>> {
    get_project(c, project).await?;
    let rows = query(
        c,
        "SELECT suite, count(*) FROM cases WHERE project_id = $1 AND deleted_at IS NULL
         GROUP BY suite ORDER BY suite IS NOT NULL, suite COLLATE \"C\"",
        &[&project.get()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Section {
                suite: col(r, 0)?,
                cases: col(r, 1)?,
            })
        })
        .collect()
}

/// The ids of the project's live cases in the section or nested in it.
pub(crate) async fn section_case_ids<C: GenericClient>(
    c: &C,
    project: ProjectId,
    suite: &str,
) -> Result<Vec<CaseId>> {
    get_project(c, project).await?;
    let pattern = backend::manual::nested_pattern(suite);
    let sql = format!(
        "SELECT id FROM cases WHERE project_id = $1 AND deleted_at IS NULL AND {} ORDER BY id",
        in_section_sql("$2", "$3")
    );
    query(c, &sql, &[&project.get(), &suite, &pattern])
        .await?
        .iter()
        .map(|r| Ok(CaseId::from_db(col(r, 0)?)))
        .collect()
}

pub(crate) async fn update_case(
    tx: &Transaction<'_>,
    id: CaseId,
    patch: &CasePatch,
) -> Result<Case> {
    // One statement: a field not in the patch keeps its value.
    let sql = format!(
        "UPDATE cases SET
             title = CASE WHEN $2 THEN $3 ELSE title END,
             key   = CASE WHEN $4 THEN $5 ELSE key END,
             suite = CASE WHEN $6 THEN $7 ELSE suite END,
             preconditions = CASE WHEN $8 THEN $9 ELSE preconditions END,
             steps    = CASE WHEN $10 THEN $11 ELSE steps END,
             priority = CASE WHEN $12 THEN $13 ELSE priority END,
             refs     = CASE WHEN $14 THEN $15 ELSE refs END
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let stmt = tx.prepare_cached(&sql).await.map_err(db_err)?;
    let new_key = patch.key.clone().flatten();
    // The new values as stored: applied to empty details, a field the
    // patch leaves out is unused (its flag is false).
    let d = patch.details.created();
    let row = tx
        .query_opt(
            &stmt,
            &[
                &id.get(),
                &patch.title.is_some(),
                &patch.title,
                &patch.key.is_some(),
                &new_key,
                &patch.suite.is_some(),
                &patch.suite.clone().flatten(),
                &patch.details.preconditions.is_some(),
                &d.preconditions,
                &patch.details.steps.is_some(),
                &d.steps_json(),
                &patch.details.priority.is_some(),
                &d.priority_str(),
                &patch.details.refs.is_some(),
                &d.refs_json(),
            ],
        )
        .await
        .map_err(|e| key_conflict(e, new_key.as_deref()))?;
    case_row(&row.ok_or(Error::Store(StoreError::NotFound))?)
}

pub(crate) async fn delete_case<C: GenericClient>(c: &C, id: CaseId) -> Result<()> {
    let n = execute(
        c,
        "UPDATE cases SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[&id.get(), &Timestamp::now().millis()],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

/// Quarantines the case (or with `None` releases it); `NotFound` for a
/// deleted or unknown case.
pub(crate) async fn set_quarantine<C: GenericClient>(
    c: &C,
    id: CaseId,
    quarantine: Option<&Quarantine>,
) -> Result<Case> {
    let sql = format!(
        "UPDATE cases SET quarantine_reason = $2, quarantined_by = $3, quarantined_at = $4
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let reason = quarantine.map(|q| q.reason.as_str());
    let by = quarantine.map(|q| q.by.get());
    let at = quarantine.map(|q| q.at.millis());
    case_row(&query_found(c, &sql, &[&id.get(), &reason, &by, &at]).await?)
}
