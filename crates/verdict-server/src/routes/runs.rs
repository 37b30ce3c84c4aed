//! Runs: create (or find by key), list, show, rename, add cases, close.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use verdict_api as api;
use verdict_store::{
    CaseId, FieldError, NewRun, ProjectId, Role, RunId, RunPatch, RunState, Timestamp,
};

use crate::auth::{Caller, ensure};
use crate::dto::{self, MAX_TEXT_CHARS, done, optional_text, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathIds, Query};
use crate::routes::double_option;
use crate::state::AppState;

/// Longest run description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 64 * 1024;

fn case_ids(field: &str, ids: &[String], max: usize, errors: &mut Vec<FieldError>) -> Vec<CaseId> {
    if ids.len() > max {
        errors.push(FieldError::new(
            field,
            format!("must list at most {max} cases"),
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for (i, raw) in ids.iter().enumerate() {
        match raw.parse::<CaseId>() {
            // Listing a case twice means the same as once.
            Ok(id) if seen.insert(id) => out.push(id),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string())),
        }
    }
    out
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    q: Query,
    body: JsonBody<api::CreateRun>,
) -> ApiResult<(StatusCode, Json<api::Data<api::Run>>)> {
    let project: ProjectId = path.id(0)?;
    q.finish()?;
    caller
        .require(&state, project, Role::Tester, "create runs")
        .await?;
    let b = body.value;
    let mut errors = Vec::new();
    let new = NewRun {
        name: required_text("name", &b.name, &mut errors),
        description: optional_text(
            "description",
            b.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
            &mut errors,
        ),
        key: optional_text("key", b.key.as_deref(), MAX_TEXT_CHARS, &mut errors),
        case_ids: b
            .case_ids
            .as_ref()
            .map(|ids| case_ids("case_ids", ids, state.limits.max_bulk_results, &mut errors)),
    };
    done(errors)?;
    let (run, created) = state
        .store
        .create_run(project, new, Timestamp::now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(api::Data {
            data: dto::run(&run),
        }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    mut q: Query,
) -> ApiResult<Json<api::Page<api::Run>>> {
    let project: ProjectId = path.id(0)?;
    let page = q.take_page(state.limits.max_per_page)?;
    let run_state = match q.take("state")?.as_deref() {
        None => None,
        Some("open") => Some(RunState::Open),
        Some("closed") => Some(RunState::Closed),
        Some(_) => return Err(ApiError::invalid("state", "must be open or closed")),
    };
    q.finish()?;
    caller.role_in(&state, project).await?;
    let listing = state.store.list_runs(project, run_state, page).await?;
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

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    q: Query,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let id: RunId = path.id(0)?;
    q.finish()?;
    let (run, _) = caller.run(&state, id).await?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRun {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    q: Query,
    body: JsonBody<UpdateRun>,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let id: RunId = path.id(0)?;
    q.finish()?;
    let (_, role) = caller.run(&state, id).await?;
    ensure(role, Role::Manager, "edit runs")?;
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
    };
    done(errors)?;
    let run = state.store.update_run(id, patch).await?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}

pub async fn add_cases(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    q: Query,
    body: JsonBody<api::AddCases>,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let id: RunId = path.id(0)?;
    q.finish()?;
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
    let run = state.store.add_cases_to_run(id, ids).await?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}

pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    q: Query,
) -> ApiResult<Json<api::Data<api::Run>>> {
    let id: RunId = path.id(0)?;
    q.finish()?;
    let (_, role) = caller.run(&state, id).await?;
    ensure(role, Role::Manager, "close runs")?;
    let run = state.store.close_run(id, Timestamp::now()).await?;
    Ok(Json(api::Data {
        data: dto::run(&run),
    }))
}
