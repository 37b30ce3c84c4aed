//! TestRail's errors: `{"error": "…"}` with the status TestRail uses (400
//! for a bad or unknown id or field, 401 for bad credentials, 403 for a
//! role that does not allow the action, 429 with `Retry-After`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verdict_store::StoreError;

use crate::error::ApiError;

/// A failed TestRail call.
#[derive(Debug)]
pub struct TrError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds, for a 429.
    pub retry_after: Option<u64>,
}

pub type TrResult<T> = Result<T, TrError>;

impl TrError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> TrError {
        TrError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: what TestRail answers for a bad field or an unknown id.
    pub fn bad(message: impl Into<String>) -> TrError {
        TrError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 for a field that names nothing the caller may see, in
    /// TestRail's words: `Field :run_id is not a valid or accessible run.`
    pub fn not_accessible(field: &str, what: &str) -> TrError {
        TrError::bad(format!(
            "Field :{field} is not a valid or accessible {what}."
        ))
    }

    /// 400 for a required field that is absent.
    pub fn missing(field: &str) -> TrError {
        TrError::bad(format!("Field :{field} is a required field."))
    }

    /// 400 for a field of the wrong type or out of range.
    pub fn invalid(field: &str, why: &str) -> TrError {
        TrError::bad(format!("Field :{field} {why}."))
    }

    pub fn unauthorized(message: impl Into<String>) -> TrError {
        TrError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> TrError {
        TrError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn rate_limited(retry_after: u64) -> TrError {
        TrError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("API rate limit exceeded; retry in {retry_after} s."),
            retry_after: Some(retry_after),
        }
    }
}

impl From<ApiError> for TrError {
    fn from(e: ApiError) -> TrError {
        match e {
            ApiError::Malformed(m) => TrError::bad(m),
            ApiError::Unauthorized(m) => TrError::unauthorized(m),
            ApiError::Forbidden(m) => TrError::forbidden(m),
            ApiError::NotFound => {
                TrError::bad("The requested object does not exist or is not accessible.")
            }
            ApiError::MethodNotAllowed => {
                TrError::bad("This method does not take this HTTP method.")
            }
            ApiError::Conflict { message, .. } => TrError::bad(message),
            ApiError::TooLarge(m) => TrError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            ApiError::UnsupportedMediaType(m) => {
                TrError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, m)
            }
            ApiError::Invalid(fields) => {
                let message = fields
                    .first()
                    .map(|f| format!("Field :{} {}.", f.field, f.message.trim_end_matches('.')))
                    .unwrap_or_else(|| "Invalid request.".into());
                TrError::bad(message)
            }
            ApiError::Unprocessable { message, .. } => TrError::bad(message),
            ApiError::RateLimited(m) => TrError {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: m,
                retry_after: Some(1),
            },
            ApiError::Timeout(limit) => TrError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("The request took longer than {} s.", limit.as_secs()),
            ),
            ApiError::Unavailable => TrError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is out of reach; retry later.",
            ),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error in a TestRail call");
                TrError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
            }
        }
    }
}

impl From<StoreError> for TrError {
    fn from(e: StoreError) -> TrError {
        TrError::from(ApiError::from(e))
    }
}

/// Turns a store's `NotFound` into TestRail's 400 naming the field.
pub trait OrField<T> {
    fn or_field(self, field: &str, what: &str) -> TrResult<T>;
}

impl<T> OrField<T> for Result<T, StoreError> {
    fn or_field(self, field: &str, what: &str) -> TrResult<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => TrError::not_accessible(field, what),
            other => other.into(),
        })
    }
}

impl<T> OrField<T> for Result<T, ApiError> {
    fn or_field(self, field: &str, what: &str) -> TrResult<T> {
        self.map_err(|e| match e {
            ApiError::NotFound => TrError::not_accessible(field, what),
            other => other.into(),
        })
    }
}

impl IntoResponse for TrError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
