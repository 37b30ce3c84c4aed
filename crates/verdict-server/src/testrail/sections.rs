//! The one suite and the sections. A project has one suite ("Master",
//! its id the project's); a section is a case's `suite` path (`Checkout /
//! Payments` is `Payments` inside `Checkout`), numbered the first time a
//! TestRail client sees or creates it, and the number never changes.

use std::collections::HashMap;

use serde_json::{Value, json};
use verdict_store::{
    NumberedSection, ProjectId, Role, SECTION_SEPARATOR, parent_section, section_and_ancestors,
};

use super::auth::ensure;
use super::wire::unix;
use super::{OrField, TrError, TrRequest, TrResult};
use crate::state::AppState;

/// The suite of a project (its id is the project's).
fn suite(project: &verdict_store::Project, req: &TrRequest) -> Value {
    json!({
        "id": project.id.get(),
        "name": "Master",
        "description": null,
        "project_id": project.id.get(),
        "is_master": true,
        "is_baseline": false,
        "is_completed": false,
        "completed_on": null,
        "created_on": unix(project.created_at),
        "url": req.url(&format!("/projects/{}/cases", project.id)),
    })
}

/// Checks a `suite_id` sent with a call on `project`: it must be the
/// project's one suite.
pub fn check_suite(project: ProjectId, suite_id: Option<i64>) -> TrResult<()> {
    match suite_id {
        Some(s) if s != project.get() => Err(TrError::not_accessible("suite_id", "test suite")),
        _ => Ok(()),
    }
}

/// `get_suites/{project_id}`: the one suite, as a list.
pub async fn get_suites(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = ProjectId::from_db(req.id(0, "project_id")?);
    req.caller.role(state, id).await?;
    let project = state.store.get_project(id).await?;
    Ok(json!([suite(&project, req)]))
}

/// `get_suite/{suite_id}`.
pub async fn get_suite(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = ProjectId::from_db(req.id(0, "suite_id")?);
    req.caller
        .role(state, id)
        .await
        .map_err(|_| TrError::not_accessible("suite_id", "test suite"))?;
    let project = state.store.get_project(id).await?;
    Ok(suite(&project, req))
}

/// The numbers of the project's sections, numbering those of `suites`
/// (and the sections they are nested in) that have none yet.
pub async fn numbers(
    state: &AppState,
    project: ProjectId,
    suites: impl IntoIterator<Item = &str>,
) -> TrResult<Vec<NumberedSection>> {
    let known = state.store.numbered_sections(project).await?;
    let have: std::collections::HashSet<&str> = known.iter().map(|s| s.path.as_str()).collect();
    let mut missing = Vec::new();
    for suite in suites {
        for path in section_and_ancestors(suite) {
            if !have.contains(path.as_str()) && !missing.contains(&path) {
                missing.push(path);
            }
        }
    }
    if missing.is_empty() {
        return Ok(known);
    }
    Ok(state.store.number_sections(project, missing).await?)
}

/// Path → number.
pub fn by_path(sections: &[NumberedSection]) -> HashMap<&str, i64> {
    sections.iter().map(|s| (s.path.as_str(), s.id)).collect()
}

/// Every section of a project in tree order (a section before what is
/// nested in it, siblings by name), rendered.
fn tree(sections: &[NumberedSection]) -> Vec<Value> {
    let ids = by_path(sections);
    let mut sorted: Vec<&NumberedSection> = sections.iter().collect();
    // Tree order: compare paths part by part.
    sorted.sort_by(|a, b| {
        a.path
            .split(SECTION_SEPARATOR)
            .cmp(b.path.split(SECTION_SEPARATOR))
    });
    sorted
        .iter()
        .enumerate()
        .map(|(i, s)| render(s, &ids, i as i64 + 1))
        .collect()
}

fn render(s: &NumberedSection, ids: &HashMap<&str, i64>, order: i64) -> Value {
    let name = s.path.rsplit(SECTION_SEPARATOR).next().unwrap_or(&s.path);
    json!({
        "id": s.id,
        "suite_id": s.project_id.get(),
        "name": name,
        "description": null,
        "parent_id": parent_section(&s.path).and_then(|p| ids.get(p)),
        "display_order": order,
        "depth": s.path.matches(SECTION_SEPARATOR).count(),
    })
}

/// Every section of the project, each case's suite numbered.
async fn all(state: &AppState, project: ProjectId) -> TrResult<Vec<NumberedSection>> {
    let suites = state.store.list_sections(project).await?;
    numbers(
        state,
        project,
        suites.iter().filter_map(|s| s.suite.as_deref()),
    )
    .await
}

/// `get_sections/{project_id}[&suite_id=…]`: paged as `sections`.
pub async fn get_sections(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "project_id")?);
    req.caller.role(state, project).await?;
    check_suite(project, req.param_int("suite_id")?)?;
    let paging = req.paging()?;
    let sections = all(state, project).await?;
    let listing = paging.slice(tree(&sections));
    Ok(req.paged("sections", listing, paging, Value::clone))
}

/// A section the caller may see, with the project's numbered sections.
async fn section(
    state: &AppState,
    req: &TrRequest,
    field: &str,
    id: i64,
) -> TrResult<(NumberedSection, Role, Vec<NumberedSection>)> {
    let s = state
        .store
        .numbered_section(id)
        .await
        .or_field(field, "section")?;
    let role = req
        .caller
        .role(state, s.project_id)
        .await
        .map_err(|_| TrError::not_accessible(field, "section"))?;
    let sections = state.store.numbered_sections(s.project_id).await?;
    Ok((s, role, sections))
}

/// `get_section/{section_id}`.
pub async fn get_section(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = req.id(0, "section_id")?;
    let (_, _, sections) = section(state, req, "section_id", id).await?;
    tree(&sections)
        .into_iter()
        .find(|s| s["id"] == id)
        .ok_or_else(|| TrError::not_accessible("section_id", "section"))
}

/// The path of a section of `project` to create: `name` inside the
/// section `parent_id` (or at the top). A name holding ` / ` names a
/// nested path, as Verdict's suites do.
async fn new_path(
    state: &AppState,
    req: &TrRequest,
    project: ProjectId,
    name: &str,
    parent: Option<i64>,
) -> TrResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TrError::missing("name"));
    }
    let path = match parent {
        None => name.to_string(),
        Some(p) => {
            let (parent, _, _) = section(state, req, "parent_id", p).await?;
            if parent.project_id != project {
                return Err(TrError::not_accessible("parent_id", "section"));
            }
            format!("{}{SECTION_SEPARATOR}{name}", parent.path)
        }
    };
    if path.chars().count() > crate::dto::MAX_TEXT_CHARS {
        return Err(TrError::invalid(
            "name",
            "makes a section path longer than 1000 characters",
        ));
    }
    Ok(path)
}

/// `add_section/{project_id}` `{name, suite_id?, parent_id?,
/// description?}` (a tester or more: creating cases is what a report
/// upload does). A section that exists already is answered as it is.
pub async fn add_section(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = ProjectId::from_db(req.id(0, "project_id")?);
    let role = req.caller.role(state, project).await?;
    ensure(role, Role::Tester, "add sections")?;
    let body = req.body()?;
    check_suite(project, body.id("suite_id")?)?;
    let name = body.str("name")?.ok_or_else(|| TrError::missing("name"))?;
    let path = new_path(state, req, project, &name, body.id("parent_id")?).await?;
    let sections = numbers(state, project, [path.as_str()]).await?;
    tree(&sections)
        .into_iter()
        .find(|s| by_path(&sections).get(path.as_str()) == s["id"].as_i64().as_ref())
        .ok_or_else(|| {
            TrError::from(crate::error::ApiError::Internal(
                "a numbered section vanished".into(),
            ))
        })
}

/// `delete_section/{section_id}` (a manager): forgets the number of a
/// section no case lies in. Verdict does not delete cases with their
/// section: a section that holds cases is refused.
pub async fn delete_section(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = req.id(0, "section_id")?;
    let (s, role, _) = section(state, req, "section_id", id).await?;
    ensure(role, Role::Manager, "delete sections")?;
    let cases = state
        .store
        .section_case_ids(s.project_id, s.path.clone())
        .await?;
    if !cases.is_empty() {
        return Err(TrError::bad(format!(
            "Section {id} holds {} cases; Verdict does not delete cases with their section (delete the cases first).",
            cases.len()
        )));
    }
    state.store.delete_numbered_section(id).await?;
    Ok(Value::Null)
}
