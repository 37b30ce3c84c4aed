//! The one error type of the HTTP layer. Every failure becomes the JSON
//! envelope of API §6 with the status code its kind calls for; a 500
//! says nothing internal and the cause goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verdict_api::{ErrorBody, ErrorDetail, FieldProblem};
use verdict_store::{FieldError, StoreError};

#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON (or not the syntax it claims).
    Malformed(String),
    /// 401: no token, or one we don't know.
    Unauthorized(&'static str),
    /// 403: a member whose role does not allow the action.
    Forbidden(String),
    /// 404: not there, or not the caller's to see.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: contradicts the current state.
    Conflict { code: &'static str, message: String },
    /// 413: too large, with how to fit.
    TooLarge(String),
    /// 415: not the content type the endpoint reads.
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid; every bad field named.
    Invalid(Vec<FieldError>),
    /// 422 with its own code.
    Unprocessable { code: &'static str, message: String },
    /// 429: the token's rate limit is spent (headers say when to retry).
    RateLimited(String),
    /// 503: the request took longer than the configured limit.
    Timeout(std::time::Duration),
    /// 503: the database is out of reach; retry later.
    Unavailable,
    /// 500: a bug. The message is logged, never sent.
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn forbidden(action: &str) -> Self {
        ApiError::Forbidden(format!(
            "your role in this project does not allow you to {action}"
        ))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { code, message } => ApiError::Conflict { code, message },
            StoreError::Invalid(fields) => ApiError::Invalid(fields),
            StoreError::IdempotencyKeyReused => ApiError::Unprocessable {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used with a different request; \
                          use a new key for a new request"
                    .into(),
            },
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::Other(cause) => ApiError::Internal(cause),
        }
    }
}

fn envelope(
    status: StatusCode,
    code: &str,
    message: String,
    details: Vec<FieldProblem>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message,
            details,
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Malformed(m) => {
                envelope(StatusCode::BAD_REQUEST, "malformed_request", m, vec![])
            }
            ApiError::Unauthorized(m) => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, "unauthorized", m.into(), vec![]);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            ApiError::Forbidden(m) => envelope(StatusCode::FORBIDDEN, "forbidden", m, vec![]),
            ApiError::NotFound => envelope(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource, or it is not yours to see".into(),
                vec![],
            ),
            ApiError::MethodNotAllowed => envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method".into(),
                vec![],
            ),
            ApiError::Conflict { code, message } => {
                envelope(StatusCode::CONFLICT, code, message, vec![])
            }
            ApiError::TooLarge(m) => envelope(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m,
                vec![],
            ),
            ApiError::UnsupportedMediaType(m) => envelope(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m,
                vec![],
            ),
            ApiError::Invalid(fields) => {
                let mut message = fields
                    .first()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .unwrap_or_else(|| "invalid request".into());
                if fields.len() > 1 {
                    message.push_str(&format!(" (and {} more)", fields.len() - 1));
                }
                let details = fields
                    .into_iter()
                    .map(|f| FieldProblem {
                        field: f.field,
                        message: f.message,
                    })
                    .collect();
                envelope(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    message,
                    details,
                )
            }
            ApiError::Unprocessable { code, message } => {
                envelope(StatusCode::UNPROCESSABLE_ENTITY, code, message, vec![])
            }
            ApiError::RateLimited(m) => {
                envelope(StatusCode::TOO_MANY_REQUESTS, "rate_limited", m, vec![])
            }
            ApiError::Timeout(limit) => envelope(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s; a write may still complete: retry with the same Idempotency-Key",
                    limit.as_secs()
                ),
                vec![],
            ),
            ApiError::Unavailable => {
                let mut r = envelope(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry shortly".into(),
                    vec![],
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                envelope(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged".into(),
                    vec![],
                )
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
