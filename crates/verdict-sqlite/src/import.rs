//! Report imports: executions addressed by case key (JUnit `classname.name`).
//! Keys are resolved to the run's cases, missing ones created on request,
//! and the executions applied exactly like a bulk upload, in one
//! transaction.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use verdict_store::*;

use crate::cases::insert as insert_case;
use crate::results::{add_counts, apply_located, locate};
use crate::runs::open_run;
use crate::{db_err, idempotency};

/// What a key turned out to be.
enum Found {
    InRun,
    /// A live case of the project that the run does not hold.
    InProject(CaseId),
    Missing,
}

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

    // Each distinct key once, in order of first appearance.
    let mut case_of: HashMap<&str, Option<CaseId>> = HashMap::new();
    let mut order: Vec<&KeyedEntry> = Vec::new();
    let mut find = c
        .prepare_cached(
            "SELECT id FROM cases WHERE project_id = ?1 AND key = ?2 AND deleted_at IS NULL",
        )
        .map_err(db_err)?;
    for entry in &req.entries {
        if case_of.contains_key(entry.key.as_str()) {
            continue;
        }
        let id: Option<i64> = find
            .query_row(params![run.project_id.get(), entry.key], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        case_of.insert(&entry.key, id.map(CaseId::from_db));
        order.push(entry);
    }
    let known: Vec<BulkEntry> = order
        .iter()
        .filter_map(|e| {
            case_of[e.key.as_str()].map(|case_id| BulkEntry {
                index: e.index,
                case_id,
                execution: e.execution.clone(),
            })
        })
        .collect();
    let mut located = locate(c, &run, &known)?;
    let found = |e: &KeyedEntry| match case_of[e.key.as_str()] {
        Some(id) if located.contains_key(&id.get()) => Found::InRun,
        Some(id) => Found::InProject(id),
        None => Found::Missing,
    };

    let mut matched = 0;
    let mut to_add = Vec::new();
    let mut to_create = Vec::new();
    let mut unmatched = Vec::new();
    for e in &order {
        match (found(e), req.create_missing) {
            (Found::InRun, _) => matched += 1,
            (Found::InProject(id), true) => to_add.push(id),
            (Found::Missing, true) => to_create.push(*e),
            (_, false) => unmatched.push(e.key.clone()),
        }
    }
    let (created, added) = (to_create.len() as u64, to_add.len() as u64);
    if req.dry_run {
        return Ok(ImportOutcome {
            bulk: BulkOutcome {
                updated: 0,
                results: Vec::new(),
                rejected: Vec::new(),
                replayed: false,
            },
            matched,
            created,
            added,
            unmatched,
            dry_run: true,
        });
    }

    // Entries whose key has no case in the run (and none is made for it):
    // named once per testcase.
    let mut rejected: Vec<Rejection> = Vec::new();
    let mut bad = Vec::new();
    if !unmatched.is_empty() {
        let mut last_index = None;
        for e in &req.entries {
            let missing = !req.create_missing && !matches!(found(e), Found::InRun);
            if missing && last_index != Some(e.index) {
                last_index = Some(e.index);
                let message = format!(
                    "no case with key {:?} in this run (create_missing=true creates it)",
                    e.key
                );
                bad.push(FieldError::new(
                    format!("testcases[{}]", e.index),
                    message.clone(),
                ));
                rejected.push(Rejection {
                    index: e.index,
                    test_case_id: None,
                    code: "case_not_found".into(),
                    message,
                });
            }
        }
        if !req.partial {
            return Err(StoreError::Invalid(bad));
        }
    }

    let mut add = c
        .prepare_cached("INSERT INTO results (run_id, case_id) VALUES (?1, ?2)")
        .map_err(db_err)?;
    for e in to_create {
        let case = insert_case(
            c,
            run.project_id,
            &NewCase {
                title: e.title.clone(),
                key: Some(e.key.clone()),
                suite: e.suite.clone(),
            },
            req.now,
        )?;
        case_of.insert(&e.key, Some(case.id));
        to_add.push(case.id);
    }
    for id in &to_add {
        add.execute([run.id.get(), id.get()]).map_err(db_err)?;
        located.insert(id.get(), (c.last_insert_rowid(), Status::NotTested));
    }
    let mut delta = Counts::default();
    delta.add(Status::NotTested, to_add.len() as i64);
    add_counts(c, run.id, &delta)?;

    let entries: Vec<BulkEntry> = req
        .entries
        .iter()
        .filter_map(|e| {
            case_of[e.key.as_str()].map(|case_id| BulkEntry {
                index: e.index,
                case_id,
                execution: e.execution.clone(),
            })
        })
        .collect();
    let results = apply_located(c, run.id, &entries, &mut located, req.actor, req.now)?;
    let outcome = ImportOutcome {
        bulk: BulkOutcome {
            updated: results.len() as u64,
            results,
            rejected,
            replayed: false,
        },
        matched,
        created,
        added,
        unmatched,
        dry_run: false,
    };
    if let Some(idem) = &req.idempotency {
        idempotency::remember(c, req.actor, idem, req.now, &outcome)?;
    }
    Ok(outcome)
}
