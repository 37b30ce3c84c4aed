//! Test cases: create, bulk upsert by key, list and search, show, edit, delete.

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
    Case, CasePatch, CaseQuery, FieldError, NewCase, Priority, Quarantine, Role, Timestamp, Write,
    Written,
};

use crate::auth::{Caller, ensure};
use crate::checks::{Given, case_key, details};
use crate::dto::{self, MAX_TEXT_CHARS, done, optional_text, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    CasePath, IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, ProjectPath, Query, QuerySet,
    flag,
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
        .routes(routes!(bulk))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(quarantine, release))
}

const EDIT: &str = "edit test cases";

// The stored key is at most as long as any other text the API takes.
const _: () = assert!(verdict_junit::MAX_KEY_CHARS == MAX_TEXT_CHARS);

fn new_case(prefix: &str, c: &api::CreateCase, errors: &mut Vec<FieldError>) -> NewCase {
    NewCase {
        title: required_text(&format!("{prefix}title"), &c.title, errors),
        key: case_key(c.key.as_deref()),
        suite: optional_text(
            &format!("{prefix}suite"),
            c.suite.as_deref(),
            MAX_TEXT_CHARS,
            errors,
        ),
        details: details(
            prefix,
            Given {
                preconditions: c.preconditions.as_ref().map(|p| p.as_deref()),
                steps: c.steps.as_deref(),
                priority: c.priority.as_ref().map(|p| p.as_deref()),
                refs: c.refs.as_deref(),
            },
            errors,
        ),
    }
}

#[utoipa::path(
    post, path = "/v1/projects/{pid}/cases", tag = "cases", operation_id = "create_case",
    summary = "Create a test case (manager)",
    params(ProjectPath, IdempotencyKeyHeader),
    request_body = api::CreateCase,
    responses((status = 201, description = "Created.", body = CaseData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateCase>,
) -> ApiResult<Response> {
    caller.require(&state, project, Role::Manager, EDIT).await?;
    let mut errors = Vec::new();
    let new = new_case("", &body.value, &mut errors);
    done(errors)?;
    if let Some(retry) = Retry::of(key, &Method::POST, &uri, &body.raw) {
        let write = Write::CreateCase { project, case: new };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Case(c) => Some((StatusCode::CREATED, Some(data(c)))),
            _ => None,
        })
        .await;
    }
    let case = state
        .store
        .create_case(project, new, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(data(&case))).into_response())
}

fn data(case: &Case) -> api::Data<api::Case> {
    api::Data {
        data: dto::case(case),
    }
}

#[utoipa::path(
    post, path = "/v1/projects/{pid}/cases/bulk", tag = "cases", operation_id = "bulk_cases",
    summary = "Create or update many cases, upserting by key (manager)",
    description = "A keyed case that exists is updated; every other entry creates a case. Answers in request order. More than the bulk limit (50,000 by default) is a 413.",
    params(ProjectPath),
    request_body = api::BulkCases,
    responses((status = 200, description = "What was created and updated, in request order.", body = BulkCasesOutcomeData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    _: NoQuery,
    body: JsonBody<api::BulkCases>,
) -> ApiResult<Json<api::Data<api::BulkCasesOutcome>>> {
    caller.require(&state, project, Role::Manager, EDIT).await?;
    let max = state.limits.max_bulk_results;
    if body.value.cases.len() > max {
        return Err(ApiError::TooLarge(format!(
            "{} cases in one request; the limit is {max}: split them into requests of at most {max} cases each",
            body.value.cases.len()
        )));
    }
    let mut errors = Vec::new();
    let new: Vec<NewCase> = body
        .value
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| new_case(&format!("cases[{i}]."), c, &mut errors))
        .collect();
    done(errors)?;
    let upserts = state
        .store
        .upsert_cases(project, new, Timestamp::now())
        .await?;
    let created = upserts.iter().filter(|u| u.created).count() as u64;
    Ok(Json(api::Data {
        data: api::BulkCasesOutcome {
            created,
            updated: upserts.len() as u64 - created,
            cases: upserts
                .iter()
                .map(|u| api::CaseRef {
                    id: u.case.id.to_string(),
                    key: u.case.key.clone(),
                    title: u.case.title.clone(),
                })
                .collect(),
        },
    }))
}

/// The case list's filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// Only the case with this key, put in its stored form first (trimmed; a key longer than 1000 characters shortened as on create).
    #[serde(default)]
    key: Option<String>,
    /// Cases whose title or key contains this text.
    #[serde(default)]
    q: Option<String>,
    /// Only quarantined cases (`true`) or only the others (`false`).
    #[serde(default, deserialize_with = "some_flag")]
    #[param(value_type = Option<bool>)]
    quarantined: Option<bool>,
    /// Only cases in this section or one nested in it: `Checkout` matches
    /// the suites `Checkout` and `Checkout / Payments`, not `Checkout2`.
    /// Trimmed; not empty.
    #[serde(default, deserialize_with = "section")]
    #[param(value_type = Option<s::Name>)]
    suite: Option<String>,
    /// Only cases of this priority.
    #[serde(default, deserialize_with = "priority")]
    #[param(value_type = Option<String>, pattern = "^(low|medium|high|critical)$")]
    priority: Option<Priority>,
}

impl QuerySet for CaseFilter {}

/// A `suite` query parameter: a section's name, as a case's suite.
fn section<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    let trimmed = value.trim();
    if value.chars().count() > MAX_TEXT_CHARS {
        Err(serde::de::Error::custom(format!(
            "must be at most {MAX_TEXT_CHARS} characters"
        )))
    } else if trimmed.is_empty() {
        Err(serde::de::Error::custom(
            "must not be empty (leave it out for every case)",
        ))
    } else {
        Ok(Some(trimmed.to_string()))
    }
}

fn priority<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Priority>, D::Error> {
    let value = String::deserialize(d)?;
    Priority::parse(&value)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("must be one of low, medium, high, critical"))
}

fn some_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    flag(d).map(Some)
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/cases", tag = "cases", operation_id = "list_cases",
    summary = "List and search a project's cases, oldest first",
    params(ProjectPath, PageQuery, CaseFilter),
    responses((status = 200, description = "A page of cases.", body = CasePage),
        Unauthorized, NotFound, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query((paging, filter)): Query<(PageQuery, CaseFilter)>,
) -> ApiResult<Json<api::Page<api::Case>>> {
    let page = paging.page();
    let query = CaseQuery {
        suite: filter.suite,
        priority: filter.priority,
        // The key as sent maps to its stored form; a blank one matches none.
        key: filter
            .key
            .map(|k| verdict_junit::case_key(&k).unwrap_or_default()),
        q: filter.q.filter(|s| !s.trim().is_empty()),
        quarantined: filter.quarantined,
    };
    caller.role_in(&state, project).await?;
    let listing = state.store.list_cases(project, query, page).await?;
    Ok(Json(api::Page {
        data: listing.items.iter().map(dto::case).collect(),
        meta: api::Meta {
            total: listing.total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }))
}

#[utoipa::path(
    get, path = "/v1/cases/{cid}", tag = "cases", operation_id = "get_case",
    summary = "One test case",
    params(CasePath),
    responses((status = 200, description = "The case.", body = CaseData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: id }: CasePath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Case>>> {
    let case = state.store.get_case(id).await?;
    caller.role_in_existing(&state, case.project_id).await?;
    Ok(Json(api::Data {
        data: dto::case(&case),
    }))
}

/// A case's changes: a field not given is left alone; `key`, `suite`,
/// `preconditions` or `priority` `null` clears it, as `steps` or `refs`
/// `[]` (or `null`) does.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    #[schema(value_type = Option<verdict_api::schema::Name>)]
    title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = verdict_api::schema::CaseKey, required = false)]
    key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = verdict_api::schema::OptionalText, required = false)]
    suite: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = verdict_api::schema::Preconditions, required = false)]
    preconditions: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<api::Step>>, max_items = 100, required = false)]
    steps: Option<Option<Vec<api::Step>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = verdict_api::schema::Priority, required = false)]
    priority: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = verdict_api::schema::Refs, required = false)]
    refs: Option<Option<Vec<String>>>,
}

#[utoipa::path(
    patch, path = "/v1/cases/{cid}", tag = "cases", operation_id = "update_case",
    summary = "Edit a test case (manager)",
    params(CasePath, IdempotencyKeyHeader),
    request_body = UpdateCase,
    responses((status = 200, description = "The case as it now is.", body = CaseData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: id }: CasePath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<UpdateCase>,
) -> ApiResult<Response> {
    let retry = Retry::of(key, &Method::PATCH, &uri, &body.raw);
    let case = state.store.get_case(id).await?;
    let role = caller.role_in_existing(&state, case.project_id).await?;
    ensure(role, Role::Manager, EDIT)?;
    let b = body.value;
    let mut errors = Vec::new();
    let patch = CasePatch {
        title: b
            .title
            .as_deref()
            .map(|t| required_text("title", t, &mut errors)),
        key: b.key.map(|k| case_key(k.as_deref())),
        suite: b
            .suite
            .map(|s| optional_text("suite", s.as_deref(), MAX_TEXT_CHARS, &mut errors)),
        details: details(
            "",
            Given {
                preconditions: b.preconditions.as_ref().map(|p| p.as_deref()),
                steps: b.steps.as_ref().map(|s| s.as_deref().unwrap_or_default()),
                priority: b.priority.as_ref().map(|p| p.as_deref()),
                refs: b.refs.as_ref().map(|r| r.as_deref().unwrap_or_default()),
            },
            &mut errors,
        ),
    };
    done(errors)?;
    if let Some(retry) = retry {
        let write = Write::UpdateCase { id, patch };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Case(c) => Some((StatusCode::OK, Some(data(c)))),
            _ => None,
        })
        .await;
    }
    let case = state.store.update_case(id, patch).await?;
    Ok(Json(data(&case)).into_response())
}

#[utoipa::path(
    delete, path = "/v1/cases/{cid}", tag = "cases", operation_id = "delete_case",
    summary = "Delete a test case (manager)",
    description = "Hides the case (404 afterwards) and frees its key; the results runs hold for it, and their history, stay.",
    params(CasePath, IdempotencyKeyHeader),
    responses((status = 204, description = "Deleted."), Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: id }: CasePath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let retry = Retry::of(key, &Method::DELETE, &uri, b"");
    let case = match state.store.get_case(id).await {
        // A retried delete whose case is gone already: the stored answer,
        // if there is one, tells.
        Err(verdict_store::StoreError::NotFound) if retry.is_some() => None,
        found => Some(found?),
    };
    if let Some(case) = case {
        let role = caller.role_in_existing(&state, case.project_id).await?;
        ensure(role, Role::Manager, EDIT)?;
    }
    if let Some(retry) = retry {
        let write = Write::DeleteCase { id };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Gone => Some((StatusCode::NO_CONTENT, None::<()>)),
            _ => None,
        })
        .await;
    }
    state.store.delete_case(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

const QUARANTINE: &str = "quarantine test cases";

#[utoipa::path(
    put, path = "/v1/cases/{cid}/quarantine", tag = "cases", operation_id = "quarantine_case",
    summary = "Quarantine a test case (manager)",
    description = "A quarantined case's results are recorded and shown as ever; the quality gate counts it for no rule (unless asked with `ignore_quarantined=false`). Quarantining a quarantined case replaces its reason, `by` and `at`.",
    params(CasePath),
    request_body = api::SetQuarantine,
    responses((status = 200, description = "The case, with `quarantined` set.", body = CaseData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn quarantine(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: id }: CasePath,
    _: NoQuery,
    body: JsonBody<api::SetQuarantine>,
) -> ApiResult<Json<api::Data<api::Case>>> {
    let case = state.store.get_case(id).await?;
    let role = caller.role_in_existing(&state, case.project_id).await?;
    ensure(role, Role::Manager, QUARANTINE)?;
    let mut errors = Vec::new();
    let reason = required_text("reason", &body.value.reason, &mut errors);
    done(errors)?;
    let quarantine = Quarantine {
        reason,
        by: caller.user.id,
        at: Timestamp::now(),
    };
    let case = state.store.set_quarantine(id, Some(quarantine)).await?;
    Ok(Json(api::Data {
        data: dto::case(&case),
    }))
}

#[utoipa::path(
    delete, path = "/v1/cases/{cid}/quarantine", tag = "cases", operation_id = "release_case",
    summary = "Take a test case out of quarantine (manager)",
    description = "Also 204 when the case is not quarantined.",
    params(CasePath),
    responses((status = 204, description = "Not quarantined (any more)."),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: id }: CasePath,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    let case = state.store.get_case(id).await?;
    let role = caller.role_in_existing(&state, case.project_id).await?;
    ensure(role, Role::Manager, QUARANTINE)?;
    state.store.set_quarantine(id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
