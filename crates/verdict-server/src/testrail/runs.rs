//! (being written)

use serde_json::Value;

use super::{TrError, TrRequest, TrResult};
use crate::state::AppState;

pub async fn get_runs(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn get_run(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn add_run(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn update_run(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn close_run(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn delete_run(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}
