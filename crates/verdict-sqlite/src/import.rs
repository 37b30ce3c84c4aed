//! Report imports: executions addressed by case key (JUnit `classname.name`).
//! Keys are resolved to the run's cases, missing ones created on request,
//! and the executions applied exactly like a bulk upload, in one
//! transaction. What each key is and what the import does is decided by
//! `verdict_store::backend::import`.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use verdict_store::backend::bulk::{self, Slot};
use verdict_store::backend::import::{self, Found};
use verdict_store::*;

use crate::bulk::{locate, write_applied};
use crate::cases::{insert as insert_case, update_case};
use crate::runs::open_run;
use crate::{db_err, idempotency};

pub(crate) fn import_keyed(c: &Connection, req: ImportRequest) -> StoreResult<ImportOutcome> {
    if !req.dry_run
        && let Some(idem) = &req.idempotency
        && let Some(mut outcome) =
            idempotency::replay::<ImportOutcome>(c, req.actor, idem, req.now)?
    {
        outcome.bulk.replayed = true;
        return Ok(outcome);
    }
    let run = open_run(c, req.run)?;

    let distinct = import::distinct(&req.entries);
    let mut case_of: HashMap<&str, Option<CaseId>> = HashMap::with_capacity(distinct.len());
    let mut find = c
        .prepare_cached(
            "SELECT id FROM cases WHERE project_id = ?1 AND key = ?2 AND deleted_at IS NULL",
        )
        .map_err(db_err)?;
    for entry in &distinct {
        let id: Option<i64> = find
            .query_row(params![run.project_id.get(), entry.key], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        case_of.insert(&entry.key, id.map(CaseId::from_db));
    }
    let known = import::by_case(&req.entries, |key| case_of[key]);
    let mut located = locate(c, &run, &known)?;
    let found = |e: &KeyedEntry| {
        Found::of(case_of[e.key.as_str()], |id| {
            located.contains_key(&id.get())
        })
    };
    let mut plan = import::plan(&req, &distinct, found);
    if req.dry_run {
        return Ok(plan.dry_run());
    }
    let rejected = plan.check(&req, found)?;

    // Case fields the report gives: set on the cases whose executions it
    // records (one update per case that has any; a report without any
    // costs nothing). Created cases get theirs below.
    let mut details = import::details_by_key(&req.entries);
    for e in &distinct {
        let used = match found(e) {
            Found::InRun => true,
            Found::InProject(_) => req.create_missing,
            Found::Missing => false,
        };
        if let (true, Some(patch), Some(Some(case))) = (
            used,
            details.get(e.key.as_str()),
            case_of.get(e.key.as_str()),
        ) {
            let patch = CasePatch {
                details: patch.clone(),
                ..CasePatch::default()
            };
            update_case(c, *case, &patch)?;
        }
    }

    let mut add = c
        .prepare_cached("INSERT INTO results (run_id, case_id, pos) VALUES (?1, ?2, (SELECT coalesce(max(pos), 0) + 1 FROM results WHERE run_id = ?1))")
        .map_err(db_err)?;
    for e in std::mem::take(&mut plan.to_create) {
        let new = NewCase {
            title: e.title.clone(),
            key: Some(e.key.clone()),
            suite: e.suite.clone(),
            details: details.remove(e.key.as_str()).unwrap_or_default(),
        };
        let case = insert_case(c, run.project_id, &new, req.now)?;
        case_of.insert(&e.key, Some(case.id));
        plan.to_add.push(case.id);
    }
    for id in &plan.to_add {
        add.execute([run.id.get(), id.get()]).map_err(db_err)?;
        let slot = Slot {
            id: c.last_insert_rowid(),
            status: Status::NotTested,
            elapsed_ms: None,
            flags: 0,
        };
        located.insert(id.get(), slot);
    }
    let mut delta = Counts::default();
    delta.add(Status::NotTested, plan.to_add.len() as i64);

    let entries = import::by_case(&req.entries, |key| case_of[key]);
    let applied = bulk::apply(&entries, &mut located, delta);
    write_applied(c, run.id, &applied, req.actor, req.now)?;
    crate::bulk::recorded(c, &run, &applied, req.now)?;
    let outcome = plan.outcome(applied.outcome(rejected), false);
    if let Some(idem) = &req.idempotency {
        idempotency::remember(c, req.actor, idem, req.now, &outcome)?;
    }
    Ok(outcome)
}
