//! Runs: create (or find by key), list, show, rename, add cases, close.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_api::schema as s;
use verdict_store::{
    CaseId, FieldError, NewRun, Role, RunMeta, RunMetaPatch, RunPatch, RunState, StoreError,
    Timestamp, Write, Written,
};

use crate::auth::{Caller, ensure};
use crate::checks::{build_url, commit, meta_text};
use crate::dto::{self, MAX_TEXT_CHARS, done, optional_text, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, ProjectPath, Query, QuerySet, RunPath,
};
use crate::idempotent::{self, Retry};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::double_option;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
        .routes(routes!(add_cases))
        .routes(routes!(close))
}

/// Longest run description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 64 * 1024;
/// Run metadata as sent (create): each field checked.
fn run_meta(
    branch: Option<&str>,
    commit_: Option<&str>,
    url: Option<&str>,
    environment: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> RunMeta {
    RunMeta {
        branch: branch.map(|b| meta_text("branch", b, errors)),
        commit: commit_.map(|c| commit(c, errors)),
        build_url: url.map(|u| build_url(u, errors)),
        environment: environment.map(|e| meta_text("environment", e, errors)),
    }
}

/// Case ids as sent, each once, and for each where it stands in the request
/// (every place, when it was listed more than once).
struct CaseIds {
    ids: Vec<CaseId>,
    at: Vec<Vec<usize>>,
}

fn case_ids(field: &str, ids: &[String], max: usize, errors: &mut Vec<FieldError>) -> CaseIds {
    let mut out = CaseIds {
        ids: Vec::new(),
        at: Vec::new(),
    };
    if ids.len() > max {
        errors.push(FieldError::new(
            field,
            format!("must list at most {max} cases"),
        ));
        return out;
    }
    let mut seen: HashMap<CaseId, usize> = HashMap::with_capacity(ids.len());
    for (i, raw) in ids.iter().enumerate() {
        match raw.parse::<CaseId>() {
            // Listing a case twice means the same as once.
            Ok(id) => match seen.entry(id) {
                Entry::Occupied(e) => out.at[*e.get()].push(i),
                Entry::Vacant(e) => {
                    e.insert(out.ids.len());
                    out.ids.push(id);
                    out.at.push(vec![i]);
                }
            },
            Err(e) => errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string())),
        }
    }
    out
}

impl CaseIds {
    /// The store names a bad id by its place in the list it was given (each
    /// id once); the client needs its place in the request, so `case_ids[i]`
    /// is renamed to every place where that id was sent.
    fn in_request(&self, e: StoreError) -> ApiError {
        let StoreError::Invalid(fields) = e else {
            return e.into();
        };
        let mut named: Vec<(usize, FieldError)> = Vec::with_capacity(fields.len());
        for f in fields {
            let places = f
                .field
                .strip_prefix("case_ids[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<usize>().ok())
                .and_then(|i| self.at.get(i));
            match places {
                Some(places) => named.extend(places.iter().map(|&p| {
                    (
                        p,
                        FieldError::new(format!("case_ids[{p}]"), f.message.clone()),
                    )
                })),
                None => named.push((usize::MAX, f)),
            }
        }
        named.sort_by_key(|(p, _)| *p);
        ApiError::Invalid(named.into_iter().map(|(_, f)| f).collect())
    }
}

#[utoipa::path(
    post, path = "/v1/projects/{pid}/runs", tag = "runs", operation_id = "create_run",
    summary = "Create a run, or find it by key (tester)",
    description = "Without `case_ids` or `suite` the run takes every live case of the project; with `suite`, every live case in that section or one nested in it (none there: 422). `case_ids` and `suite` together are a 422. With a `key` that exists, the answer is 200 with that run as it is, so parallel CI jobs share one run. `branch`, `commit`, `build_url` and `environment` say what CI built; runs are compared with the latest earlier run of the same branch (and environment).",
    params(ProjectPath, IdempotencyKeyHeader),
    request_body = api::CreateRun,
    responses(
        (status = 201, description = "Created.", body = RunData),
        (status = 200, description = "A run with this key exists: that run, unchanged.", body = RunData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateRun>,
) -> ApiResult<Response> {
    caller
        .require(&state, project, Role::Tester, "create runs")
        .await?;
    let retry = Retry::of(key, &Method::POST, &uri, &body.raw);
    let b = body.value;
    let mut errors = Vec::new();
    let name = required_text("name", &b.name, &mut errors);
    let description = optional_text(
        "description",
        b.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
        &mut errors,
    );
    let key = optional_text("key", b.key.as_deref(), MAX_TEXT_CHARS, &mut errors);
    let ids = b
        .case_ids
        .as_ref()
        .map(|ids| case_ids("case_ids", ids, state.limits.max_bulk_results, &mut errors));
    let section = b.suite.as_deref().map(|s| {
        if b.case_ids.is_some() {
            errors.push(FieldError::new(
                "suite",
                "send either suite or case_ids, not both",
            ));
        }
        required_text("suite", s, &mut errors)
    });
    let meta = run_meta(
        b.branch.as_deref(),
        b.commit.as_deref(),
        b.build_url.as_deref(),
        b.environment.as_deref(),
        &mut errors,
    );
    done(errors)?;
    let section_ids = match section {
        Some(section) => {
            let found = state
                .store
                .section_case_ids(project, section.clone())
                .await?;
            if found.is_empty() {
                return Err(ApiError::invalid(
                    "suite",
                    format!("no case of this project is in the section {section:?}"),
                ));
            }
            Some(found)
        }
        None => None,
    };
    let new = NewRun {
        name,
        description,
        key,
        meta,
        case_ids: section_ids.or_else(|| ids.as_ref().map(|c| c.ids.clone())),
    };
    let in_request = |e: StoreError| match &ids {
        Some(ids) => ids.in_request(e),
        None => e.into(),
    };
    if let Some(retry) = retry {
        let write = Write::CreateRun { project, run: new };
        let answer = idempotent::apply(&state, &caller, retry, write, |w| match w {
            Written::Run(run, created) => Some((found_or_created(*created), Some(data(run)))),
            _ => None,
        })
        .await
        .map_err(in_request)?;
        return idempotent::respond(answer);
    }
    let (run, created) = state
        .store
        .create_run(project, new, Timestamp::now())
        .await
        .map_err(in_request)?;
    Ok((found_or_created(created), Json(data(&run))).into_response())
}

fn found_or_created(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

fn data(run: &verdict_store::Run) -> api::Data<api::Run> {
    api::Data {
        data: dto::run(run),
    }
}

/// The run list's filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// Only open or only closed runs.
    #[serde(default, deserialize_with = "run_state")]
    #[param(value_type = Option<s::RunState>)]
    state: Option<RunState>,
    /// Only runs of this branch (exactly).
    #[serde(default, deserialize_with = "branch_param")]
    #[param(value_type = Option<s::BranchName>)]
    branch: Option<String>,
}

/// A `branch` query parameter: 1 to 255 characters, as a run's branch.
pub(crate) fn branch_param<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    let mut errors = Vec::new();
    let branch = meta_text("branch", &value, &mut errors);
    match errors.pop() {
        Some(e) => Err(serde::de::Error::custom(e.message)),
        None => Ok(Some(branch)),
    }
}

impl QuerySet for RunFilter {}

fn run_state<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RunState>, D::Error> {
    match String::deserialize(d)?.as_str() {
        "open" => Ok(Some(RunState::Open)),
        "closed" => Ok(Some(RunState::Closed)),
        _ => Err(serde::de::Error::custom("must be open or closed")),
    }
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/runs", tag = "runs", operation_id = "list_runs",
    summary = "List a project's runs, newest first",
    params(ProjectPath, PageQuery, RunFilter),
    responses((status = 200, description = "A page of runs.", body = RunPage),
        Unauthorized, NotFound, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query((
        paging,
        RunFilter {
            state: run_state,
            branch,
        },
    )): Query<(PageQuery, RunFilter)>,
) -> ApiResult<Json<api::Page<api::Run>>> {
    let page = paging.page();
    caller.role_in(&state, project).await?;
    let filter = verdict_store::RunFilter {
        state: run_state,
        branch,
    };
    let listing = state.store.list_runs(project, filter, page).await?;
    Ok(Json(api::Page {
        data: listing.items.iter().map(dto::run).collect(),
        meta: api::Meta {
            total: listing.total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }))
}

#[utoipa::path(
    get, path = "/v1/runs/{rid}", tag = "runs", operation_id = "get_run",
    summary = "One run, with its counts",
    params(RunPath),
    responses((status = 200, description = "The run.", body = RunData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: id }: RunPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let (run, _) = caller.run(&state, id).await?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}

/// A run's changes: a field not given is left alone; `null` clears
/// `description`, `branch`, `commit`, `build_url` or `environment`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRun {
    #[schema(value_type = Option<verdict_api::schema::Name>)]
    name: Option<String>,
    /// Trimmed; empty or null clears it; at most 65,536 characters.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 65536)]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = s::Branch, required = false)]
    branch: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = s::Commit, required = false)]
    commit: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = s::BuildUrl, required = false)]
    build_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = s::Environment, required = false)]
    environment: Option<Option<String>>,
}

#[utoipa::path(
    patch, path = "/v1/runs/{rid}", tag = "runs", operation_id = "update_run",
    summary = "Rename a run, change its description or its metadata (manager)",
    params(RunPath, IdempotencyKeyHeader),
    request_body = UpdateRun,
    responses((status = 200, description = "The run as it now is.", body = RunData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: id }: RunPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<UpdateRun>,
) -> ApiResult<Response> {
    let (_, role) = caller.run(&state, id).await?;
    ensure(role, Role::Manager, "edit runs")?;
    let retry = Retry::of(key, &Method::PATCH, &uri, &body.raw);
    let b = body.value;
    let mut errors = Vec::new();
    let patch = RunPatch {
        name: b
            .name
            .as_deref()
            .map(|n| required_text("name", n, &mut errors)),
        description: b.description.map(|d| {
            optional_text(
                "description",
                d.as_deref(),
                MAX_DESCRIPTION_CHARS,
                &mut errors,
            )
        }),
        meta: RunMetaPatch {
            branch: b
                .branch
                .map(|v| v.map(|v| meta_text("branch", &v, &mut errors))),
            commit: b.commit.map(|v| v.map(|v| commit(&v, &mut errors))),
            build_url: b.build_url.map(|v| v.map(|v| build_url(&v, &mut errors))),
            environment: b
                .environment
                .map(|v| v.map(|v| meta_text("environment", &v, &mut errors))),
        },
    };
    done(errors)?;
    if let Some(retry) = retry {
        let write = Write::UpdateRun { id, patch };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Run(run, _) => Some((StatusCode::OK, Some(data(run)))),
            _ => None,
        })
        .await;
    }
    let run = state.store.update_run(id, patch).await?;
    Ok(Json(data(&run)).into_response())
}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/cases", tag = "runs", operation_id = "add_cases_to_run",
    summary = "Add cases to a run (manager)",
    description = "Cases already in the run are left alone. Every id must be a live case of the run's project (else 422 naming `case_ids[i]`).",
    params(RunPath),
    request_body = api::AddCases,
    responses((status = 200, description = "The run with its new counts.", body = RunData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn add_cases(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: id }: RunPath,
    _: NoQuery,
    body: JsonBody<api::AddCases>,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let (_, role) = caller.run(&state, id).await?;
    ensure(role, Role::Manager, "add cases to runs")?;
    let mut errors = Vec::new();
    let ids = case_ids(
        "case_ids",
        &body.value.case_ids,
        state.limits.max_bulk_results,
        &mut errors,
    );
    done(errors)?;
    let run = state
        .store
        .add_cases_to_run(id, ids.ids.clone())
        .await
        .map_err(|e| ids.in_request(e))?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/close", tag = "runs", operation_id = "close_run",
    summary = "Close a run (manager)",
    description = "A closed run takes no result changes. Closing a closed run answers 200 with the run unchanged.",
    params(RunPath, IdempotencyKeyHeader),
    responses((status = 200, description = "The run, `state: closed`.", body = RunData),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: id }: RunPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let (_, role) = caller.run(&state, id).await?;
    ensure(role, Role::Manager, "close runs")?;
    if let Some(retry) = Retry::of(key, &Method::POST, &uri, b"") {
        let write = Write::CloseRun { id };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Run(run, _) => Some((StatusCode::OK, Some(data(run)))),
            _ => None,
        })
        .await;
    }
    let run = state.store.close_run(id, Timestamp::now()).await?;
    Ok(Json(data(&run)).into_response())
}
