//! (being written)

use serde_json::Value;

use super::{TrError, TrRequest, TrResult};
use crate::state::AppState;

pub async fn get_cases(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn get_case(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn add_case(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn update_case(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn delete_case(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}
