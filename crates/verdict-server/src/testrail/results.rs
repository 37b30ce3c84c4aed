//! Tests, results and attachments: `get_tests`, `get_test`,
//! `get_results*`, `add_result*`, `add_results*`,
//! `add_attachment_to_result`.

use serde_json::Value;

use super::{TrRequest, TrResult};
use crate::state::AppState;

/// Answers the calls this module serves; `None` for any other endpoint
/// (the dispatcher then answers "Unknown method").
pub async fn dispatch(_state: &AppState, req: &TrRequest) -> Option<TrResult<Value>> {
    // One arm per endpoint: `"get_tests" => Some(get_tests(state, req).await),`
    let _ = req.endpoint.as_str();
    None
}
