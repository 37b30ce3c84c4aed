//! Report imports: executions addressed by case key (JUnit `classname.name`).
//! Keys are resolved to the run's cases with one query, missing cases
//! created with one insert (in key order, see [`crate::cases`]), the cases
//! added to the run with one insert, and the executions applied exactly like
//! a bulk upload, all in one transaction that starts by locking the run.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use verdict_store::backend::bulk::{self, Slot};
use verdict_store::backend::import::{self, Found};
use verdict_store::*;

use crate::bulk::{locate, write_applied};
use crate::cases::{apply_details, insert_many, live_ids_by_key};
use crate::error::{Result, other};
use crate::idempotency;
use crate::pool::{alloc_ids, col, query};
use crate::runs::{insert_results, lock_open_run};

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

    let distinct = import::distinct(&req.entries);
    let keys: Vec<&str> = distinct.iter().map(|e| e.key.as_str()).collect();
    // The live cases these keys name, share-locked in id order (as every
    // writer locks cases) so none is deleted before its result is written.
    // A case whose key changed in between is not used (its key is read
    // again under the lock); that entry is then a case to create.
    // A report that sets case fields locks the cases for update instead
    // (it writes them below).
    let mut details = import::details_by_key(&req.entries);
    let ids = live_ids_by_key(tx, run.project_id, &keys).await?;
    let lock = if details.is_empty() {
        "FOR SHARE"
    } else {
        "FOR UPDATE"
    };
    let rows = query(
        tx,
        &format!(
            "SELECT c.key, c.id FROM unnest($1::bigint[]) AS k(id)
             CROSS JOIN LATERAL (SELECT key, id FROM cases
                 WHERE id = k.id AND deleted_at IS NULL OFFSET 0 {lock}) AS c"
        ),
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
    let found = |e: &KeyedEntry| {
        Found::of(case_of[e.key.as_str()], |id| {
            located.contains_key(&id.get())
        })
    };
    let mut plan = import::plan(req, &distinct, found);
    if req.dry_run {
        return Ok(plan.dry_run());
    }
    let rejected = plan.check(req, found)?;

    // Case fields the report gives: set on the cases whose executions it
    // records, with one statement; created cases get theirs below.
    let mut patches: HashMap<i64, &DetailsPatch> = HashMap::new();
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
            patches.insert(case.get(), patch);
        }
    }
    apply_details(tx, &patches).await?;
    drop(patches);

    // New cases get ids in order of first appearance, then join the run
    // after the project cases it lacked.
    let to_create = std::mem::take(&mut plan.to_create);
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
            quarantine: None,
            details: details
                .remove(e.key.as_str())
                .map(|d| d.created())
                .unwrap_or_default(),
        });
        case_of.insert(e.key.as_str(), Some(id));
        plan.to_add.push(id);
    }
    insert_many(tx, run.project_id, &new_cases).await?;
    for (result, case) in insert_results(tx, run.id, &plan.to_add).await? {
        located.insert(
            case,
            Slot {
                id: result,
                status: Status::NotTested,
                elapsed_ms: None,
                flags: 0,
            },
        );
    }
    let mut delta = Counts::default();
    delta.add(Status::NotTested, plan.to_add.len() as i64);

    let entries = import::by_case(&req.entries, |key| case_of[key]);
    let applied = bulk::apply(&entries, &mut located, delta);
    write_applied(tx, run.id, &applied, req.actor, req.now).await?;
    crate::bulk::recorded(tx, &run, &applied, req.now).await?;
    let outcome = plan.outcome(applied.outcome(rejected), false);
    if let Some(idem) = &req.idempotency {
        idempotency::remember(tx, req.actor, idem, req.now, &outcome).await?;
    }
    Ok(outcome)
}
