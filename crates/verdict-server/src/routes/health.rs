//! Liveness and readiness, for load balancers and orchestrators. No token.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;

use crate::error::{ApiError, ApiResult};
use crate::metrics;
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// Liveness, readiness and the metrics (no token), each registered with
/// its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics::render))
}

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
