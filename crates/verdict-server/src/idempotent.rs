//! Writes retried under an `Idempotency-Key`. A handler that was sent the
//! header hands its write to [`write`] instead of calling the store: the
//! store applies it once under the caller's key, in one transaction with
//! the rendered answer (status and body), and a retry of the same request
//! gets that answer back, byte for byte, with `Idempotent-Replayed: true`.
//! Without the header a handler takes its usual path, at no extra cost.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};
use verdict_store::{
    Answer, IdempotencyKey, IdempotentWrite, Rendered, StoreError, StoreResult, Timestamp, Write,
    Written,
};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKeyHeader;
use crate::state::AppState;

/// What makes a request that request: a retry must match it exactly.
pub fn fingerprint(method: &str, uri: &Uri, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(uri.path().as_bytes());
    h.update(b"?");
    h.update(uri.query().unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().into()
}

/// A request sent with an `Idempotency-Key`: the key and its fingerprint.
pub struct Retry(IdempotencyKey);

impl Retry {
    /// The request's key, if it was sent one, fingerprinted with the
    /// request's method, path, query and body.
    pub fn of(
        header: IdempotencyKeyHeader,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Option<Self> {
        Self::with_fingerprint(header, fingerprint(method.as_str(), uri, body))
    }

    /// The request's key with a fingerprint worked out by the handler (when
    /// the body holds what must not be kept, such as a password).
    pub fn with_fingerprint(header: IdempotencyKeyHeader, fingerprint: [u8; 32]) -> Option<Self> {
        header
            .key
            .map(|key| Retry(IdempotencyKey { key, fingerprint }))
    }
}

/// Applies `write` once under the caller's key and answers its first
/// answer: `render` makes it from what the write did (the handler's own
/// answer, as it would send it without the key).
pub async fn write<B, F>(
    state: &AppState,
    caller: &Caller,
    retry: Retry,
    write: Write,
    render: F,
) -> ApiResult<Response>
where
    B: Serialize,
    F: Fn(&Written) -> Option<(StatusCode, Option<B>)> + Send + Sync + 'static,
{
    respond(apply(state, caller, retry, write, render).await?)
}

/// [`write`], the store's answer not yet a response (for a handler that
/// words the store's errors itself).
pub async fn apply<B, F>(
    state: &AppState,
    caller: &Caller,
    retry: Retry,
    write: Write,
    render: F,
) -> StoreResult<Answer>
where
    B: Serialize,
    F: Fn(&Written) -> Option<(StatusCode, Option<B>)> + Send + Sync + 'static,
{
    state
        .store
        .write_idempotent(IdempotentWrite {
            write,
            actor: caller.user.id,
            key: retry.0,
            now: Timestamp::now(),
            render: Box::new(move |written| rendered(render(written))),
        })
        .await
}

/// The response for an answer: its status and body, and
/// `Idempotent-Replayed: true` when it is a replay.
pub fn respond(answer: Answer) -> ApiResult<Response> {
    let status = StatusCode::from_u16(answer.status)
        .map_err(|_| ApiError::Internal(format!("stored answer status {}", answer.status)))?;
    let mut response = Response::new(Body::from(answer.bytes.clone()));
    *response.status_mut() = status;
    if !answer.bytes.is_empty() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Whether an answer is a replay (the write was not applied this time).
pub fn replayed(response: &Response) -> bool {
    response.headers().contains_key("idempotent-replayed")
}

/// An answer's status and JSON bytes (none for a 204). A write answers
/// the kind of outcome its variant names; anything else is an error that
/// undoes the write.
fn rendered<B: Serialize>(answer: Option<(StatusCode, Option<B>)>) -> StoreResult<Rendered> {
    let (status, body) = answer
        .ok_or_else(|| StoreError::Other("a write answered another kind of outcome".into()))?;
    let bytes = match body {
        Some(body) => serde_json::to_vec(&body)
            .map_err(|e| StoreError::Other(format!("cannot render an answer: {e}")))?,
        None => Vec::new(),
    };
    Ok(Rendered {
        status: status.as_u16(),
        bytes,
    })
}
