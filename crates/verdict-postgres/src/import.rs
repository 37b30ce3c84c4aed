//! Report imports: executions addressed by case key (JUnit `classname.name`).
//! Keys are resolved to the run's cases with one query, missing cases
//! created with one insert (in key order, see [`crate::cases`]), the cases
//! added to the run with one insert, and the executions applied exactly like
//! a bulk upload, all in one transaction that starts by locking the run.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::Transaction;
use verdict_store::*;

use crate::bulk::{apply_located, locate};
use crate::cases::{insert_many, live_ids_by_key};
use crate::error::{Result, other};
use crate::idempotency;
use crate::pool::{alloc_ids, col, query};
use crate::runs::{insert_results, lock_open_run};

/// What a key turned out to be.
enum Found {
    InRun,
    /// A live case of the project that the run does not hold.
    InProject(CaseId),
    Missing,
}

pub(crate) async fn import_keyed(
    tx: &Transaction<'_>,
    req: &ImportRequest,
) -> Result<ImportOutcome> {
    if !req.dry_run
        && let Some(idem) = &req.idempotency
        && let Some(mut outcome) =
            idempotency::replay::<ImportOutcome>(tx, req.actor, idem, req.now).await?
    {
        outcome.bulk.replayed = true;
        return Ok(outcome);
    }
    let run = lock_open_run(tx, req.run).await?;

    // Each distinct key once, in order of first appearance.
    let mut seen: HashSet<&str> = HashSet::new();
    let order: Vec<&KeyedEntry> = req
        .entries
        .iter()
        .filter(|e| seen.insert(e.key.as_str()))
        .collect();
    let keys: Vec<&str> = order.iter().map(|e| e.key.as_str()).collect();
    // The live cases these keys name, share-locked in id order (as every
    // writer locks cases) so none is deleted before its result is written.
    // A case whose key changed in between is not used (its key is read
    // again under the lock); that entry is then a case to create.
    let ids = live_ids_by_key(tx, run.project_id, &keys).await?;
    let rows = query(
        tx,
        "SELECT c.key, c.id FROM unnest($1::bigint[]) AS k(id)
         CROSS JOIN LATERAL (SELECT key, id FROM cases
             WHERE id = k.id AND deleted_at IS NULL OFFSET 0 FOR SHARE) AS c",
        &[&ids],
    )
    .await?;
    let mut case_of: HashMap<&str, Option<CaseId>> = keys.iter().map(|k| (*k, None)).collect();
    for r in &rows {
        let key: String = col(r, 0)?;
        if let Some(slot) = case_of.get_mut(key.as_str()) {
            *slot = Some(CaseId::from_db(col(r, 1)?));
        }
    }
    let known: Vec<i64> = case_of.values().flatten().map(|id| id.get()).collect();
    let mut located = locate(tx, run.id, &known).await?;
    let found =
        |e: &KeyedEntry, case_of: &HashMap<&str, Option<CaseId>>| match case_of[e.key.as_str()] {
            Some(id) if located.contains_key(&id.get()) => Found::InRun,
            Some(id) => Found::InProject(id),
            None => Found::Missing,
        };

    let mut matched = 0;
    let mut to_add = Vec::new();
    let mut to_create = Vec::new();
    let mut unmatched = Vec::new();
    for e in &order {
        match (found(e, &case_of), req.create_missing) {
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
            let missing = !req.create_missing && !matches!(found(e, &case_of), Found::InRun);
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
            return Err(StoreError::Invalid(bad).into());
        }
    }

    // New cases get ids in order of first appearance, then join the run
    // after the project cases it lacked.
    let mut ids = alloc_ids(tx, "cases_id_seq", to_create.len())
        .await?
        .into_iter();
    let mut new_cases = Vec::with_capacity(to_create.len());
    for e in &to_create {
        let id = CaseId::from_db(ids.next().ok_or_else(|| other("ran out of case ids"))?);
        new_cases.push(Case {
            id,
            project_id: run.project_id,
            title: e.title.clone(),
            key: Some(e.key.clone()),
            suite: e.suite.clone(),
            created_at: req.now,
        });
        case_of.insert(e.key.as_str(), Some(id));
        to_add.push(id);
    }
    insert_many(tx, run.project_id, &new_cases).await?;
    for (result, case) in insert_results(tx, run.id, &to_add).await? {
        located.insert(case, (result, Status::NotTested));
    }
    let mut delta = Counts::default();
    delta.add(Status::NotTested, to_add.len() as i64);

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
    let results = apply_located(
        tx,
        run.id,
        &entries,
        &mut located,
        req.actor,
        req.now,
        delta,
    )
    .await?;
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
        idempotency::remember(tx, req.actor, idem, req.now, &outcome).await?;
    }
    Ok(outcome)
}
