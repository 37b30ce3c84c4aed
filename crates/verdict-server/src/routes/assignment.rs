//! Who tests what (API §11): assigning one result or many of a run to a
//! tester, and the caller's own list of assigned results (*My work*).
//! Assignment is not an execution: status, note, tester and history stay.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{AssignTarget, FieldError, ResultId, Role, Run, UserId};

use crate::auth::{Caller, ensure};
use crate::dto::{self, MAX_TEXT_CHARS, done};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, NoQuery, PageQuery, Query, ResultPath, RunPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(assign_one))
        .routes(routes!(assign_many))
        .routes(routes!(my_work))
}

const ASSIGN: &str = "assign results";

/// Most result ids one assignment names.
pub const MAX_ASSIGN_IDS: usize = 10_000;

/// The `user_id` of an assignment body: required; a user id or null.
fn assignee_field(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<UserId> {
    match body.get("user_id") {
        None => {
            errors.push(FieldError::new(
                "user_id",
                "is required: a user id (user_…), or null for nobody",
            ));
            None
        }
        Some(Value::Null) => None,
        Some(Value::String(s)) => match s.trim().parse::<UserId>() {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(FieldError::new("user_id", e.to_string()));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "user_id",
                "must be a user id (user_…) or null",
            ));
            None
        }
    }
}

fn unknown_fields(body: &Map<String, Value>, known: &[&str], errors: &mut Vec<FieldError>) {
    for key in body.keys() {
        if !known.contains(&key.as_str()) {
            errors.push(FieldError::new(key.clone(), "unknown field"));
        }
    }
}

/// Whether `user` may be given results of the run: an admin, or a member
/// of its project with role tester or manager. Else a 422 on `user_id`.
async fn check_assignee(state: &AppState, run: &Run, user: UserId) -> ApiResult<()> {
    let refuse = || {
        ApiError::invalid(
            "user_id",
            "must be a member of the run's project with role tester or manager, or an admin",
        )
    };
    let found = match state.store.get_user(user).await {
        Ok(u) => u,
        Err(verdict_store::StoreError::NotFound) => return Err(refuse()),
        Err(e) => return Err(e.into()),
    };
    if found.admin {
        return Ok(());
    }
    match state.store.role(run.project_id, user).await? {
        Some(role) if role >= Role::Tester => Ok(()),
        _ => Err(refuse()),
    }
}

#[utoipa::path(
    patch, path = "/v1/runs/{rid}/results/{id}/assignment", tag = "results", operation_id = "assign_result",
    summary = "Assign one result to a tester (tester)",
    description = "`user_id` is who is to test it next: a member of the run's project with role tester or manager, or an admin (anyone else is a 422 naming `user_id`); `null` assigns it to nobody. Not an execution: status, note, tester and history are unchanged, and later executions keep the assignee. A closed run is a 409 `run_closed`.",
    params(ResultPath),
    request_body(content = api::SetAssignment, example = json!({"user_id": "user_002"})),
    responses((status = 200, description = "The result, with its new `assigned_to`.", body = TestResultData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn assign_one(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid, id }: ResultPath,
    _: NoQuery,
    body: JsonBody<Map<String, Value>>,
) -> ApiResult<Json<api::Data<api::TestResult>>> {
    let (run, role) = caller.run(&state, rid).await?;
    ensure(role, Role::Tester, ASSIGN)?;
    // A result of another run is not found here (the store would name it
    // as a bad `result_ids[0]`).
    state.store.get_result(rid, id).await?;
    let body = body.value;
    let mut errors = Vec::new();
    unknown_fields(&body, &["user_id"], &mut errors);
    let user = assignee_field(&body, &mut errors);
    done(errors)?;
    if let Some(user) = user {
        check_assignee(&state, &run, user).await?;
    }
    state
        .store
        .assign_results(rid, AssignTarget::Results(vec![id]), user)
        .await?;
    let result = state.store.get_result(rid, id).await?;
    Ok(Json(api::Data {
        data: dto::result(&result),
    }))
}

/// The selector of a bulk assignment; every problem goes to `errors`.
fn target(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<AssignTarget> {
    let given: Vec<&str> = ["result_ids", "suite", "unassigned"]
        .into_iter()
        .filter(|k| body.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() != 1 {
        errors.push(FieldError::new(
            "body",
            format!(
                "must have exactly one of result_ids, suite, unassigned (it has {})",
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(", ")
                }
            ),
        ));
        return None;
    }
    match given[0] {
        "result_ids" => {
            let Some(Value::Array(items)) = body.get("result_ids") else {
                errors.push(FieldError::new(
                    "result_ids",
                    "must be an array of result ids (res_…)",
                ));
                return None;
            };
            if items.is_empty() || items.len() > MAX_ASSIGN_IDS {
                errors.push(FieldError::new(
                    "result_ids",
                    format!(
                        "must have 1 to {MAX_ASSIGN_IDS} ids (it has {})",
                        items.len()
                    ),
                ));
                return None;
            }
            let mut ids = Vec::with_capacity(items.len());
            let mut seen = HashSet::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let field = || format!("result_ids[{i}]");
                match item.as_str().map(str::parse::<ResultId>) {
                    Some(Ok(id)) if seen.insert(id) => ids.push(id),
                    Some(Ok(_)) => {
                        errors.push(FieldError::new(field(), "is given more than once"));
                    }
                    Some(Err(e)) => errors.push(FieldError::new(field(), e.to_string())),
                    None => errors.push(FieldError::new(field(), "must be a string (res_…)")),
                }
            }
            Some(AssignTarget::Results(ids))
        }
        "suite" => match body.get("suite") {
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => {
                errors.push(FieldError::new(
                    "suite",
                    format!("must be at most {MAX_TEXT_CHARS} characters"),
                ));
                None
            }
            Some(Value::String(s)) if !s.trim().is_empty() => {
                Some(AssignTarget::Suite(s.trim().to_string()))
            }
            Some(Value::String(_)) => {
                errors.push(FieldError::new("suite", "must not be empty"));
                None
            }
            _ => {
                errors.push(FieldError::new("suite", "must be a string (a section)"));
                None
            }
        },
        _ => match body.get("unassigned") {
            Some(Value::Bool(true)) => Some(AssignTarget::Unassigned),
            _ => {
                errors.push(FieldError::new(
                    "unassigned",
                    "must be true (leave it out to choose results another way)",
                ));
                None
            }
        },
    }
}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/assign", tag = "results", operation_id = "assign_results",
    summary = "Assign many results of a run (tester)",
    description = "Exactly one selector: `result_ids` (1 to 10,000 distinct results of the run; one not in it is a 422 naming `result_ids[i]` and nothing changes), `suite` (every result whose case lies in that section or one nested in it) or `unassigned: true` (every result assigned to nobody). None or two: a 422 naming `body`. The assignee is checked as for one result. A closed run is a 409 `run_closed`. `assigned` counts the results the selector matched.",
    params(RunPath),
    request_body(content = api::AssignResults,
        example = json!({"user_id": "user_002", "suite": "Checkout"})),
    responses((status = 200, description = "How many results were assigned.", body = AssignedData,
        example = json!({"data": {"assigned": 12}})),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn assign_many(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid }: RunPath,
    _: NoQuery,
    body: JsonBody<Map<String, Value>>,
) -> ApiResult<Json<api::Data<api::Assigned>>> {
    let (run, role) = caller.run(&state, rid).await?;
    ensure(role, Role::Tester, ASSIGN)?;
    let body = body.value;
    let mut errors = Vec::new();
    unknown_fields(
        &body,
        &["user_id", "result_ids", "suite", "unassigned"],
        &mut errors,
    );
    let user = assignee_field(&body, &mut errors);
    let target = target(&body, &mut errors);
    done(errors)?;
    let Some(target) = target else {
        return Err(ApiError::Internal(
            "assignment checked without a selector".into(),
        ));
    };
    if let Some(user) = user {
        check_assignee(&state, &run, user).await?;
    }
    let assigned = state.store.assign_results(rid, target, user).await?;
    Ok(Json(api::Data {
        data: api::Assigned { assigned },
    }))
}

#[utoipa::path(
    get, path = "/v1/me/work", tag = "results", operation_id = "my_work",
    summary = "The results assigned to the caller",
    description = "Across the open runs of the caller's projects: untested (`not_tested`) first, then by run, then by result. Each item is the result with its run's and project's id and name.",
    params(PageQuery),
    responses((status = 200, description = "A page of assigned results.", body = WorkItemPage),
        Unauthorized, Invalid),
)]
pub async fn my_work(
    State(state): State<AppState>,
    caller: Caller,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::WorkItem>>> {
    let page = paging.page();
    let listing = state.store.my_work(caller.user.id, page).await?;
    Ok(Json(super::listing(listing, page, dto::work_item)))
}
