//! (being written)

use serde_json::Value;

use super::{TrError, TrRequest, TrResult};
use crate::state::AppState;

pub async fn get_suites(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn get_suite(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn get_sections(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn get_section(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}

pub async fn add_section(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Err(TrError::bad(format!("{} is not served yet", req.endpoint)))
}
