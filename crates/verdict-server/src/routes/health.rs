//! Liveness and readiness, for load balancers and orchestrators. No token.

use axum::Json;
use axum::extract::State;
use verdict_api as api;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn ok() -> Json<api::Data<api::Health>> {
    Json(api::Data {
        data: api::Health {
            status: "ok".into(),
        },
    })
}

/// The process is up.
pub async fn healthz() -> Json<api::Data<api::Health>> {
    ok()
}

/// The database answers.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<api::Data<api::Health>>> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::Unavailable
    })?;
    Ok(ok())
}
