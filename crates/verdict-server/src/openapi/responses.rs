//! The error answers of the API as reusable OpenAPI responses, one per
//! status, each the `ErrorBody` envelope of API §6. A handler's
//! `#[utoipa::path]` lists the markers of the errors it can return (e.g.
//! `responses((status = 200, …), Unauthorized, NotFound)`); the layers that
//! wrap every route (rate limit, timeout) add theirs to every operation in
//! [`super::Finish`].

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Response, schema::Ref};

/// What each error status means here, and the `code` values it carries.
const ERRORS: &[(&str, &str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The body is not well-formed (JSON or XML, with the position) or a gzip body cannot be decoded.",
        "malformed_request",
    ),
    (
        "401",
        "Unauthorized",
        "No token, a header that is not `Bearer vdt_…`, or an unknown or revoked token.",
        "unauthorized",
    ),
    (
        "403",
        "Forbidden",
        "A member whose role does not allow the action (or a non-admin doing an admin's job).",
        "forbidden",
    ),
    (
        "404",
        "NotFound",
        "Not found, or not the caller's to see: a malformed or unknown id in the path, or a project the caller is not a member of (never 403, so ids leak nothing).",
        "not_found",
    ),
    (
        "409",
        "Conflict",
        "The request contradicts the current state: `run_closed` (a closed run takes no result changes), `duplicate_key` (a case key taken in the project), `duplicate_email`, `password_not_set` (a current password sent for an account that has none).",
        "run_closed",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body (after gzip decoding) or the number of entries is over the limit; the message says how to split.",
        "payload_too_large",
    ),
    (
        "416",
        "RangeNotSatisfiable",
        "The `Range` asked for lies outside the file; `Content-Range: bytes */size` gives its size.",
        "range_not_satisfiable",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "Not the content type (or content encoding) the endpoint reads.",
        "unsupported_media_type",
    ),
    (
        "422",
        "ValidationFailed",
        "Well-formed but invalid: `validation_failed` with every bad field named in `details` (unknown or repeated query parameters and body fields too), or `idempotency_key_reused` (the same Idempotency-Key with another request).",
        "validation_failed",
    ),
    (
        "429",
        "RateLimited",
        "The token's rate limit is spent; retry after `Retry-After` seconds.",
        "rate_limited",
    ),
    (
        "503",
        "Unavailable",
        "`unavailable`: the database cannot be reached (retry after `Retry-After`); `timeout`: the request took longer than the configured limit (a write may still complete: retry with the same Idempotency-Key).",
        "unavailable",
    ),
];

fn integer_header(description: &str) -> Value {
    json!({ "schema": { "type": "integer", "minimum": 0 }, "description": description })
}

/// The headers an error status carries besides the body.
fn headers(status: &str) -> Value {
    match status {
        "401" => json!({
            "WWW-Authenticate": { "schema": { "type": "string", "enum": ["Bearer"] }, "description": "Always `Bearer`." }
        }),
        "429" => json!({
            "Retry-After": integer_header("Seconds until a request is allowed again."),
            "RateLimit-Limit": integer_header("Requests the token may make at once."),
            "RateLimit-Remaining": integer_header("Requests left now."),
            "RateLimit-Reset": integer_header("Seconds until one request is allowed again."),
        }),
        "416" => json!({
            "Content-Range": { "schema": { "type": "string" }, "description": "`bytes */size`." }
        }),
        "503" => json!({
            "Retry-After": integer_header("Seconds to wait before retrying (sent with `unavailable`)."),
        }),
        _ => json!({}),
    }
}

fn response(status: &str, description: &str, code: &str) -> Response {
    let mut value = json!({
        "description": description,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/ErrorBody" },
            "example": { "error": { "code": code, "message": "…" } },
        } },
    });
    let headers = headers(status);
    if headers.as_object().is_some_and(|h| !h.is_empty()) {
        value["headers"] = headers;
    }
    match serde_json::from_value::<Response>(value.clone()) {
        Ok(r) => {
            debug_assert_eq!(serde_json::to_value(&r).ok(), Some(value));
            r
        }
        Err(e) => panic!("error response {status} does not parse: {e}"),
    }
}

/// Every error response, for `components.responses`.
pub fn components() -> Vec<(String, RefOr<Response>)> {
    ERRORS
        .iter()
        .map(|(status, name, description, code)| {
            (
                name.to_string(),
                RefOr::T(response(status, description, code)),
            )
        })
        .collect()
}

/// `status` → a reference to its component response.
pub fn reference(status: &str) -> Option<(String, RefOr<Response>)> {
    ERRORS
        .iter()
        .find(|(s, ..)| *s == status)
        .map(|(s, name, ..)| (s.to_string(), RefOr::Ref(Ref::from_response_name(*name))))
}

/// Declares a marker type that a `#[utoipa::path]` lists in `responses(…)`.
macro_rules! marker {
    ($($name:ident = $status:literal),* $(,)?) => {$(
        #[doc = concat!("The ", $status, " error answer.")]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                reference($status).into_iter().collect()
            }
        }
    )*};
}

marker!(
    BadRequest = "400",
    Unauthorized = "401",
    Forbidden = "403",
    NotFound = "404",
    Conflict = "409",
    TooLarge = "413",
    UnsupportedMediaType = "415",
    RangeNotSatisfiable = "416",
    Invalid = "422",
);

/// A JSON body's errors: malformed (400), too large (413), not JSON (415)
/// and invalid (422).
pub struct JsonErrors;

impl utoipa::IntoResponses for JsonErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        ["400", "413", "415", "422"]
            .into_iter()
            .filter_map(reference)
            .collect()
    }
}
