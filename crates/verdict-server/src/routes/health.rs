//! Liveness and readiness, for load balancers and orchestrators. No token.

use axum::Json;
use axum::extract::State;
use verdict_api as api;

use crate::error::{ApiError, ApiResult};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

fn ok() -> Json<api::Data<api::Health>> {
    Json(api::Data {
        data: api::Health {
            status: "ok".into(),
        },
    })
}

/// The process is up.
#[utoipa::path(
    get, path = "/healthz", tag = "operations", operation_id = "healthz",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Up.", body = HealthData,
        example = json!({"data": {"status": "ok"}}))),
)]
pub async fn healthz() -> Json<api::Data<api::Health>> {
    ok()
}

/// The database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations", operation_id = "readyz",
    summary = "Readiness: the database answers",
    responses((status = 200, description = "Ready.", body = HealthData,
        example = json!({"data": {"status": "ok"}}))),
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<api::Data<api::Health>>> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::Unavailable
    })?;
    Ok(ok())
}
