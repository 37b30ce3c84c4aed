//! Cases: a Verdict case is a TestRail case of the project's one suite,
//! in the section of its `suite` path. `custom_automation_id` is the
//! case's key, `refs` its refs (comma-separated), `custom_preconds` its
//! preconditions, `custom_steps_separated` its steps, `priority_id` its
//! priority. TestRail's other case fields (type, template, estimate,
//! milestone) are accepted and not kept.

use std::collections::HashMap;

use serde_json::{Value, json};
use verdict_api as api;
use verdict_store::{
    Case, CaseId, CasePatch, CaseQuery, DetailsPatch, FieldError, NewCase, ProjectId, Role,
};

use super::auth::ensure;
use super::meta::{priority_id, priority_of};
use super::sections::{by_path, check_suite, numbers};
use super::wire::unix;
use super::{Body, OrField, TrError, TrRequest, TrResult};
use crate::checks::{Given, case_key, details};
use crate::dto::required_text;
use crate::state::AppState;

/// A case as TestRail answers it; `sections` maps suite paths to numbers.
pub fn render(c: &Case, sections: &HashMap<&str, i64>) -> Value {
    let d = &c.details;
    let steps: Option<Vec<Value>> = (!d.steps.is_empty()).then(|| {
        d.steps
            .iter()
            .map(|s| {
                json!({
                    "content": s.action,
                    "expected": s.expected.clone().unwrap_or_default(),
                    "additional_info": null,
                    "refs": null,
                })
            })
            .collect()
    });
    let refs = (!d.refs.is_empty()).then(|| d.refs.join(", "));
    json!({
        "id": c.id.get(),
        "title": c.title,
        "section_id": c.suite.as_deref().and_then(|s| sections.get(s)),
        "template_id": 2,
        "type_id": if c.key.is_some() { 3 } else { 7 },
        "priority_id": d.priority.map_or(2, priority_id),
        "milestone_id": null,
        "refs": refs,
        "created_by": null,
        "created_on": unix(c.created_at),
        "updated_by": null,
        "updated_on": unix(c.created_at),
        "estimate": null,
        "estimate_forecast": null,
        "suite_id": c.project_id.get(),
        "display_order": c.id.get(),
        "is_deleted": 0,
        "labels": [],
        "custom_automation_id": c.key,
        "custom_preconds": d.preconditions,
        "custom_steps_separated": steps,
    })
}

/// Renders cases of one project with their section numbers.
async fn render_all(state: &AppState, project: ProjectId, cases: &[Case]) -> TrResult<Vec<Value>> {
    let sections = numbers(
        state,
        project,
        cases.iter().filter_map(|c| c.suite.as_deref()),
    )
    .await?;
    let ids = by_path(&sections);
    Ok(cases.iter().map(|c| render(c, &ids)).collect())
}

/// A Verdict check's field named the TestRail way.
fn testrail_field(field: &str) -> String {
    for (ours, theirs) in [
        ("preconditions", "custom_preconds"),
        ("steps", "custom_steps_separated"),
        ("priority", "priority_id"),
        ("refs", "refs"),
        ("title", "title"),
    ] {
        if let Some(rest) = field.strip_prefix(ours) {
            let rest = if ours == "refs" { "" } else { rest };
            return format!("{theirs}{rest}");
        }
    }
    field.to_string()
}

fn refused(errors: Vec<FieldError>) -> TrResult<()> {
    match errors.first() {
        None => Ok(()),
        Some(e) => Err(TrError::invalid(
            &testrail_field(&e.field),
            e.message.trim_end_matches('.'),
        )),
    }
}

/// The case details a body sets (what it leaves out is `None`).
fn details_of(body: &Body, errors: &mut Vec<FieldError>) -> TrResult<DetailsPatch> {
    let preconditions = match body.has("custom_preconds") {
        false => None,
        true => Some(body.str("custom_preconds")?),
    };
    let steps: Option<Vec<api::Step>> = match body.get("custom_steps_separated") {
        None if body.has("custom_steps_separated") => Some(Vec::new()),
        None => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .map(|s| {
                    let text = |k: &str| match s.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(t)) => Ok(Some(t.clone())),
                        Some(_) => Err(TrError::invalid(
                            "custom_steps_separated",
                            "must hold steps of content and expected text",
                        )),
                    };
                    Ok(api::Step {
                        action: text("content")?.unwrap_or_default(),
                        expected: text("expected")?,
                    })
                })
                .collect::<TrResult<_>>()?,
        ),
        Some(_) => {
            return Err(TrError::invalid(
                "custom_steps_separated",
                "is not a list of steps",
            ));
        }
    };
    let priority = match body.int("priority_id")? {
        None => None,
        Some(id) => Some(
            priority_of(id)
                .ok_or_else(|| TrError::not_accessible("priority_id", "priority"))?
                .as_str(),
        ),
    };
    let refs: Option<Vec<String>> = match body.has("refs") {
        false => None,
        true => Some(
            body.str("refs")?
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
        ),
    };
    Ok(details(
        "",
        Given {
            preconditions: preconditions.as_ref().map(|p| p.as_deref()),
            steps: steps.as_deref(),
            priority: priority.map(Some),
            refs: refs.as_deref(),
        },
        errors,
    ))
}

/// The key a body sets: `Some(None)` clears it.
fn key_of(body: &Body) -> TrResult<Option<Option<String>>> {
    match body.has("custom_automation_id") {
        false => Ok(None),
        true => Ok(Some(case_key(body.str("custom_automation_id")?.as_deref()))),
    }
}

/// `get_cases/{project_id}[&suite_id=…][&section_id=…][&filter=…]`: paged
/// as `cases`, by id. `section_id` takes the cases of that section and of
/// the sections nested in it.
pub async fn get_cases(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "project_id")?);
    req.caller.role(state, project).await?;
    check_suite(project, req.param_int("suite_id")?)?;
    let paging = req.paging()?;
    let mut query = CaseQuery {
        q: req
            .param("filter")
            .map(str::to_string)
            .filter(|q| !q.is_empty()),
        ..CaseQuery::default()
    };
    if let Some(section) = req.param_int("section_id")? {
        let s = state
            .store
            .numbered_section(section)
            .await
            .or_field("section_id", "section")?;
        if s.project_id != project {
            return Err(TrError::not_accessible("section_id", "section"));
        }
        query.suite = Some(s.path);
    }
    let listing = paging
        .fetch(|page| state.store.list_cases(project, query.clone(), page))
        .await?;
    let rendered = render_all(state, project, &listing.items).await?;
    let listing = verdict_store::Listing {
        items: rendered,
        total: listing.total,
    };
    Ok(req.paged("cases", listing, paging, Value::clone))
}

/// `get_case/{case_id}`.
pub async fn get_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = CaseId::from_db(req.id(0, "case_id")?);
    let (case, _) = req.caller.case(state, id).await?;
    one(state, &case).await
}

async fn one(state: &AppState, case: &Case) -> TrResult<Value> {
    render_all(state, case.project_id, std::slice::from_ref(case))
        .await?
        .pop()
        .ok_or_else(|| TrError::from(crate::error::ApiError::Internal("no case rendered".into())))
}

/// The section a `section_id` names, checked to be of `project` when given.
async fn section_path(
    state: &AppState,
    req: &TrRequest,
    id: i64,
    project: Option<ProjectId>,
) -> TrResult<(ProjectId, String)> {
    let s = state
        .store
        .numbered_section(id)
        .await
        .or_field("section_id", "section")?;
    if project.is_some_and(|p| p != s.project_id) {
        return Err(TrError::not_accessible("section_id", "section"));
    }
    req.caller
        .role(state, s.project_id)
        .await
        .map_err(|_| TrError::not_accessible("section_id", "section"))?;
    Ok((s.project_id, s.path))
}

/// `add_case/{section_id}` `{title, custom_automation_id?, refs?,
/// custom_preconds?, custom_steps_separated?, priority_id?, …}` (a tester
/// or more, as a report upload creates cases).
pub async fn add_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let section = req.id(0, "section_id")?;
    let (project, path) = section_path(state, req, section, None).await?;
    let role = req.caller.role(state, project).await?;
    ensure(role, Role::Tester, "add cases")?;
    let body = req.body()?;
    let title = body
        .str("title")?
        .ok_or_else(|| TrError::missing("title"))?;
    let mut errors = Vec::new();
    let title = required_text("title", &title, &mut errors);
    let details = details_of(&body, &mut errors)?;
    refused(errors)?;
    let new = NewCase {
        title,
        key: key_of(&body)?.flatten(),
        suite: Some(path),
        details,
    };
    let case = state
        .store
        .create_case(project, new, verdict_store::Timestamp::now())
        .await?;
    one(state, &case).await
}

/// `update_case/{case_id}`: the fields sent change; `section_id` moves the
/// case (a manager, as editing cases is in Verdict).
pub async fn update_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = CaseId::from_db(req.id(0, "case_id")?);
    let (case, role) = req.caller.case(state, id).await?;
    ensure(role, Role::Manager, "edit cases")?;
    let body = req.body()?;
    let mut errors = Vec::new();
    let title = body
        .str("title")?
        .map(|t| required_text("title", &t, &mut errors));
    let details = details_of(&body, &mut errors)?;
    refused(errors)?;
    let suite = match body.id("section_id")? {
        None => None,
        Some(s) => Some(Some(
            section_path(state, req, s, Some(case.project_id)).await?.1,
        )),
    };
    let patch = CasePatch {
        title,
        key: key_of(&body)?,
        suite,
        details,
    };
    let case = state.store.update_case(id, patch).await?;
    one(state, &case).await
}

/// `delete_case/{case_id}` (a manager): the case leaves the project; runs
/// keep their results.
pub async fn delete_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = CaseId::from_db(req.id(0, "case_id")?);
    let (_, role) = req.caller.case(state, id).await?;
    ensure(role, Role::Manager, "delete cases")?;
    state.store.delete_case(id).await?;
    Ok(Value::Null)
}

/// `delete_cases/{suite_id}` `{case_ids: […]}` (a manager): each case as
/// [`delete_case`]; every id is checked before any is deleted.
pub async fn delete_cases(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "suite_id")?);
    let role = req
        .caller
        .role(state, project)
        .await
        .map_err(|_| TrError::not_accessible("suite_id", "test suite"))?;
    ensure(role, Role::Manager, "delete cases")?;
    let body = req.body()?;
    let ids = body
        .ids("case_ids")?
        .ok_or_else(|| TrError::missing("case_ids"))?;
    for &id in &ids {
        let case = state
            .store
            .get_case(CaseId::from_db(id))
            .await
            .or_field("case_ids", "test case")?;
        if case.project_id != project {
            return Err(TrError::not_accessible("case_ids", "test case"));
        }
    }
    for id in ids {
        state.store.delete_case(CaseId::from_db(id)).await?;
    }
    Ok(Value::Null)
}
