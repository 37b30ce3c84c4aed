//! Runs. A TestRail run is a Verdict run; its `*_count` fields are the
//! run's counts by status. Verdict keeps no `include_all` flag: a run
//! holds the cases it was given (all of the project's, with
//! `include_all`), and is answered with `include_all` false.

use std::collections::HashSet;

use serde_json::{Value, json};
use verdict_store::{
    CaseId, CaseQuery, NewRun, Page, ProjectId, Role, Run, RunFilter, RunId, RunMeta, RunPatch,
    RunState, Timestamp,
};

use super::auth::ensure;
use super::sections::check_suite;
use super::wire::unix;
use super::{Body, OrField, TrError, TrRequest, TrResult};
use crate::dto::{optional_text, required_text};
use crate::state::AppState;

/// Longest run description, in characters (as the v1 API).
const MAX_DESCRIPTION_CHARS: usize = 65_536;

pub fn render(r: &Run, req: &TrRequest) -> Value {
    let c = &r.counts;
    json!({
        "id": r.id.get(),
        "suite_id": r.project_id.get(),
        "name": r.name,
        "description": r.description,
        "milestone_id": null,
        "assignedto_id": null,
        "include_all": false,
        "is_completed": r.state == RunState::Closed,
        "completed_on": r.closed_at.map(unix),
        "config": null,
        "config_ids": [],
        "passed_count": c.passed,
        "blocked_count": c.blocked,
        "untested_count": c.not_tested,
        "retest_count": c.retest,
        "failed_count": c.failed,
        "custom_status1_count": 0,
        "custom_status2_count": 0,
        "custom_status3_count": 0,
        "custom_status4_count": 0,
        "custom_status5_count": 0,
        "custom_status6_count": 0,
        "custom_status7_count": 0,
        "project_id": r.project_id.get(),
        "plan_id": null,
        "entry_index": null,
        "entry_id": null,
        "created_on": unix(r.created_at),
        "created_by": null,
        "updated_on": unix(r.closed_at.unwrap_or(r.created_at)),
        "refs": null,
        "dataset_id": null,
        "start_on": null,
        "due_on": null,
        "url": req.url(&format!("/runs/{}", r.id)),
    })
}

/// `get_runs/{project_id}[&is_completed=0|1]`: paged as `runs`, newest first.
pub async fn get_runs(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "project_id")?);
    req.caller.role(state, project).await?;
    let paging = req.paging()?;
    let filter = RunFilter {
        state: req.param_bool("is_completed")?.map(|done| match done {
            true => RunState::Closed,
            false => RunState::Open,
        }),
        branch: None,
    };
    let listing = paging
        .fetch(|page| state.store.list_runs(project, filter.clone(), page))
        .await?;
    Ok(req.paged("runs", listing, paging, |r| render(r, req)))
}

/// `get_run/{run_id}`.
pub async fn get_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = RunId::from_db(req.id(0, "run_id")?);
    let (run, _) = req.caller.run(state, id).await?;
    Ok(render(&run, req))
}

/// Every live case of the project, by id.
async fn all_cases(state: &AppState, project: ProjectId) -> TrResult<Vec<CaseId>> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let listing = state
            .store
            .list_cases(
                project,
                CaseQuery::default(),
                Page {
                    page,
                    per_page: 1000,
                },
            )
            .await?;
        let n = listing.items.len();
        ids.extend(listing.items.iter().map(|c| c.id));
        if n < 1000 || ids.len() as i64 >= listing.total {
            return Ok(ids);
        }
        page += 1;
    }
}

/// The cases a body names: `None` for every case (`include_all`, which
/// TestRail takes as true when left out of `add_run`).
fn chosen(body: &Body, include_all_default: bool) -> TrResult<Option<Vec<CaseId>>> {
    let include_all = body.bool("include_all")?.unwrap_or(include_all_default);
    if include_all {
        return Ok(None);
    }
    let mut seen = HashSet::new();
    let ids = body.ids("case_ids")?.unwrap_or_default();
    Ok(Some(
        ids.into_iter()
            .filter(|id| seen.insert(*id))
            .map(CaseId::from_db)
            .collect(),
    ))
}

/// A store refusal of case ids, named the TestRail way.
fn case_ids_error(e: verdict_store::StoreError) -> TrError {
    match e {
        verdict_store::StoreError::Invalid(fields)
            if fields.iter().any(|f| f.field.starts_with("case_ids")) =>
        {
            TrError::invalid(
                "case_ids",
                "holds an ID that is not a valid or accessible test case of this project",
            )
        }
        other => other.into(),
    }
}

/// `add_run/{project_id}` `{name, description?, suite_id?, include_all?,
/// case_ids?}` (a tester or more).
pub async fn add_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "project_id")?);
    let role = req.caller.role(state, project).await?;
    ensure(role, Role::Tester, "add runs")?;
    let body = req.body()?;
    check_suite(project, body.id("suite_id")?)?;
    let mut errors = Vec::new();
    let name = body.str("name")?.ok_or_else(|| TrError::missing("name"))?;
    let name = required_text("name", &name, &mut errors);
    let description = optional_text(
        "description",
        body.str("description")?.as_deref(),
        MAX_DESCRIPTION_CHARS,
        &mut errors,
    );
    if let Some(e) = errors.first() {
        return Err(TrError::invalid(&e.field, &e.message));
    }
    let case_ids = chosen(&body, true)?;
    if case_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > state.limits.max_bulk_results)
    {
        return Err(TrError::invalid(
            "case_ids",
            "holds more cases than one run takes",
        ));
    }
    let new = NewRun {
        name,
        description,
        key: None,
        meta: RunMeta::default(),
        case_ids,
    };
    let (run, _) = state
        .store
        .create_run(project, new, Timestamp::now())
        .await
        .map_err(case_ids_error)?;
    Ok(render(&run, req))
}

/// `update_run/{run_id}` `{name?, description?, include_all?, case_ids?}`.
/// Cases named (or, with `include_all`, every case) that the run lacks are
/// added; cases the run holds stay, with their results (Verdict never
/// drops results from a run). Adding cases takes a tester, as a report
/// upload does; renaming or describing takes a manager.
pub async fn update_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = RunId::from_db(req.id(0, "run_id")?);
    let (run, role) = req.caller.run(state, id).await?;
    let body = req.body()?;
    check_suite(run.project_id, body.id("suite_id")?)?;
    let mut errors = Vec::new();
    let name = body
        .str("name")?
        .map(|n| required_text("name", &n, &mut errors))
        .filter(|n| *n != run.name);
    let description = match body.has("description") {
        false => None,
        true => Some(optional_text(
            "description",
            body.str("description")?.as_deref(),
            MAX_DESCRIPTION_CHARS,
            &mut errors,
        ))
        .filter(|d| *d != run.description),
    };
    if let Some(e) = errors.first() {
        return Err(TrError::invalid(&e.field, &e.message));
    }
    ensure(role, Role::Tester, "update runs")?;
    if name.is_some() || description.is_some() {
        ensure(
            role,
            Role::Manager,
            "rename runs or change their description",
        )?;
    }
    let adds = match (
        body.has("include_all") || body.has("case_ids"),
        chosen(&body, false)?,
    ) {
        (false, _) => None,
        (true, None) => Some(all_cases(state, run.project_id).await?),
        (true, Some(ids)) => Some(ids),
    };
    if run.state == RunState::Closed && (adds.is_some() || name.is_some() || description.is_some())
    {
        return Err(TrError::bad(
            "Field :run_id is a completed test run; it cannot be changed.",
        ));
    }
    if name.is_some() || description.is_some() {
        let patch = RunPatch {
            name,
            description,
            ..RunPatch::default()
        };
        state.store.update_run(id, patch).await?;
    }
    if let Some(ids) = adds.filter(|ids| !ids.is_empty()) {
        state
            .store
            .add_cases_to_run(id, ids)
            .await
            .map_err(case_ids_error)?;
    }
    let run = state.store.get_run(id).await.or_field("run_id", "run")?;
    Ok(render(&run, req))
}

/// `close_run/{run_id}` (a manager, as closing in Verdict).
pub async fn close_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = RunId::from_db(req.id(0, "run_id")?);
    let (_, role) = req.caller.run(state, id).await?;
    ensure(role, Role::Manager, "close runs")?;
    let run = state.store.close_run(id, Timestamp::now()).await?;
    Ok(render(&run, req))
}

/// `delete_run/{run_id}` (a manager): the run goes with its results and
/// their history and attachment rows (the files' bytes are freed by the
/// next prune).
pub async fn delete_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = RunId::from_db(req.id(0, "run_id")?);
    let (_, role) = req.caller.run(state, id).await?;
    ensure(role, Role::Manager, "delete runs")?;
    state.store.delete_run(id).await.or_field("run_id", "run")?;
    Ok(Value::Null)
}
