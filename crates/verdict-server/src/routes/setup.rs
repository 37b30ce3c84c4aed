//! Setting a team up: a project's name and defect link template, its
//! sections, and an admin's changes to a user (name, admin flag, signing
//! them out everywhere).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_api::schema as s;
use verdict_store::{ProjectPatch, Role, UserPatch};

use crate::auth::Caller;
use crate::checks::defect_url_template;
use crate::dto::{self, done, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, NoQuery, ProjectPath, UserPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::double_option;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation. The
/// PATCH operations share their paths with GET operations of the projects
/// and users modules; the router and the document merge them.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(update_project))
        .routes(routes!(sections))
        .routes(routes!(update_user))
        .routes(routes!(revoke_tokens))
}

/// A project's changes: a field not given is left alone;
/// `defect_url_template: null` clears the template.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    #[schema(value_type = Option<s::Name>)]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = s::DefectUrlTemplate, required = false)]
    defect_url_template: Option<Option<String>>,
}

#[utoipa::path(
    patch, path = "/v1/projects/{pid}", tag = "projects", operation_id = "update_project",
    summary = "Rename a project or change its defect link template (manager)",
    description = "A field left out is left alone; `defect_url_template: null` clears the template. With a template, a result's defects become links: `{id}` is replaced by the percent-encoded defect.",
    params(ProjectPath),
    request_body = UpdateProject,
    responses((status = 200, description = "The project as it now is.", body = ProjectData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: id }: ProjectPath,
    _: NoQuery,
    body: JsonBody<UpdateProject>,
) -> ApiResult<Json<api::Data<api::Project>>> {
    caller
        .require(&state, id, Role::Manager, "change the project's settings")
        .await?;
    let b = body.value;
    let mut errors = Vec::new();
    let patch = ProjectPatch {
        name: b
            .name
            .as_deref()
            .map(|n| required_text("name", n, &mut errors)),
        defect_url_template: b
            .defect_url_template
            .map(|t| t.map(|t| defect_url_template(&t, &mut errors))),
    };
    done(errors)?;
    let project = state.store.update_project(id, patch).await?;
    Ok(Json(api::Data {
        data: dto::project(&project),
    }))
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/sections", tag = "projects", operation_id = "list_sections",
    summary = "A project's sections: each suite its cases carry, with how many",
    description = "Every distinct `suite` of the project's live cases, by name, with the number of cases carrying exactly it; `suite: null` counts the cases without one. Sections nest by ` / ` (`Checkout / Payments` is inside `Checkout`); only suites cases carry are listed, so a parent with no case of its own is not (build the tree from the names). Filter cases with `GET /v1/projects/{pid}/cases?suite=…`, or start a run over a section with `suite` on `POST /v1/projects/{pid}/runs`.",
    params(ProjectPath),
    responses((status = 200, description = "Every section.", body = SectionList),
        Unauthorized, NotFound, Invalid),
)]
pub async fn sections(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: id }: ProjectPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<Vec<api::Section>>>> {
    caller.role_in(&state, id).await?;
    let sections = state.store.list_sections(id).await?;
    Ok(Json(api::Data {
        data: sections
            .into_iter()
            .map(|s| api::Section {
                suite: s.suite,
                cases: s.cases,
            })
            .collect(),
    }))
}

/// A user's changes (admins only): a field not given is left alone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(value_type = Option<s::Name>)]
    name: Option<String>,
    /// Make the user an admin (`true`) or take it back (`false`).
    admin: Option<bool>,
}

#[utoipa::path(
    patch, path = "/v1/users/{uid}", tag = "users", operation_id = "update_user",
    summary = "Rename a user, or make them an admin or take it back (admin)",
    description = "A field left out is left alone. An admin cannot take away their own admin rights (409 `own_admin`): another admin must, so there is always one left.",
    params(UserPath),
    request_body = UpdateUser,
    responses((status = 200, description = "The user as they now are.", body = UserData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    UserPath { uid: id }: UserPath,
    _: NoQuery,
    body: JsonBody<UpdateUser>,
) -> ApiResult<Json<api::Data<api::User>>> {
    caller.require_admin()?;
    let b = body.value;
    let mut errors = Vec::new();
    let patch = UserPatch {
        name: b
            .name
            .as_deref()
            .map(|n| required_text("name", n, &mut errors)),
        admin: b.admin,
    };
    done(errors)?;
    if id == caller.user.id && patch.admin == Some(false) {
        return Err(ApiError::Conflict {
            code: "own_admin",
            message: "you cannot remove your own admin rights; ask another admin".into(),
        });
    }
    let user = state.store.update_user(id, patch).await?;
    Ok(Json(api::Data {
        data: dto::user(&user),
    }))
}

#[utoipa::path(
    delete, path = "/v1/users/{uid}/tokens", tag = "users", operation_id = "revoke_user_tokens",
    summary = "Revoke every token of a user (admin)",
    description = "Deletes the user's API tokens and browser sessions alike, so they are signed out everywhere; the account stays. Answers how many there were (0 when none).",
    params(UserPath),
    responses((status = 200, description = "How many tokens were revoked.", body = RevokedData),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    caller: Caller,
    UserPath { uid: id }: UserPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Revoked>>> {
    caller.require_admin()?;
    // An unknown user is a 404, not "0 revoked".
    state.store.get_user(id).await?;
    let revoked = state.store.delete_user_tokens(id).await?;
    Ok(Json(api::Data {
        data: api::Revoked { revoked },
    }))
}
