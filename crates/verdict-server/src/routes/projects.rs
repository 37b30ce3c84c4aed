//! Projects and their members.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{NewProject, Role, Timestamp, Write, Written};

use crate::auth::Caller;
use crate::checks::defect_url_template;
use crate::dto::{self, done, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    IdempotencyKeyHeader, JsonBody, MemberPath, NoQuery, PageQuery, ProjectPath, Query,
};
use crate::idempotent::{self, Retry};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::{listing, page_of};
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(members))
        .routes(routes!(set_member, remove_member))
}

#[utoipa::path(
    post, path = "/v1/projects", tag = "projects", operation_id = "create_project",
    summary = "Create a project (the creator becomes its manager)",
    params(IdempotencyKeyHeader),
    request_body = api::CreateProject,
    responses((status = 201, description = "Created.", body = ProjectData),
        Unauthorized, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateProject>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let name = required_text("name", &body.value.name, &mut errors);
    let defect_url_template = body
        .value
        .defect_url_template
        .as_deref()
        .map(|t| defect_url_template(t, &mut errors));
    done(errors)?;
    let project = NewProject {
        name,
        defect_url_template,
    };
    if let Some(retry) = Retry::of(key, &Method::POST, &uri, &body.raw) {
        let write = Write::CreateProject { project };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Project(p) => Some((StatusCode::CREATED, Some(data(p)))),
            _ => None,
        })
        .await;
    }
    let project = state
        .store
        .create_project(project, caller.user.id, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(data(&project))).into_response())
}

fn data(project: &verdict_store::Project) -> api::Data<api::Project> {
    api::Data {
        data: dto::project(project),
    }
}

#[utoipa::path(
    get, path = "/v1/projects", tag = "projects", operation_id = "list_projects",
    summary = "The caller's projects (every project for an admin)",
    params(PageQuery),
    responses((status = 200, description = "A page of projects.", body = ProjectPage),
        Unauthorized, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::Project>>> {
    let page = paging.page();
    let member = (!caller.user.admin).then_some(caller.user.id);
    let found = state.store.list_projects(member, page).await?;
    Ok(Json(listing(found, page, dto::project)))
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}", tag = "projects", operation_id = "get_project",
    summary = "One project",
    params(ProjectPath),
    responses((status = 200, description = "The project.", body = ProjectData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: id }: ProjectPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Project>>> {
    caller.role_in(&state, id).await?;
    let project = state.store.get_project(id).await?;
    Ok(Json(api::Data {
        data: dto::project(&project),
    }))
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/members", tag = "projects", operation_id = "list_members",
    summary = "A project's members",
    params(ProjectPath, PageQuery),
    responses((status = 200, description = "A page of members.", body = MemberPage),
        Unauthorized, NotFound, Invalid),
)]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: id }: ProjectPath,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::Member>>> {
    let page = paging.page();
    caller.role_in(&state, id).await?;
    let members = state.store.list_members(id).await?;
    Ok(Json(page_of(
        members.iter().map(dto::member).collect(),
        page,
    )))
}

#[utoipa::path(
    put, path = "/v1/projects/{pid}/members/{uid}", tag = "projects", operation_id = "set_member",
    summary = "Add a member or change their role (manager)",
    params(MemberPath),
    request_body = api::SetMember,
    responses((status = 200, description = "The membership.", body = MemberData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn set_member(
    State(state): State<AppState>,
    caller: Caller,
    MemberPath {
        pid: project,
        uid: user,
    }: MemberPath,
    _: NoQuery,
    body: JsonBody<api::SetMember>,
) -> ApiResult<Json<api::Data<api::Member>>> {
    caller
        .require(&state, project, Role::Manager, "manage members")
        .await?;
    let role = Role::parse(&body.value.role)
        .ok_or_else(|| ApiError::invalid("role", "must be one of viewer, tester, manager"))?;
    let member = state.store.set_member(project, user, role).await?;
    Ok(Json(api::Data {
        data: dto::member(&member),
    }))
}

#[utoipa::path(
    delete, path = "/v1/projects/{pid}/members/{uid}", tag = "projects", operation_id = "remove_member",
    summary = "Remove a member (manager)",
    params(MemberPath),
    responses((status = 204, description = "Removed."), Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    MemberPath {
        pid: project,
        uid: user,
    }: MemberPath,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    caller
        .require(&state, project, Role::Manager, "manage members")
        .await?;
    state.store.remove_member(project, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
