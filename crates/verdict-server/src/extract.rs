//! Extractors that turn requests into typed values at the edge and fail in
//! our own envelope: a JSON body (content type, size limit, syntax vs.
//! validation), query parameters (unknown or repeated ones are refused), and
//! ids in the path (malformed is simply not found).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use std::io::Read;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use verdict_store::{FieldError, Page};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A body's bytes: gzip (by `Content-Encoding`, or by its magic bytes) is
/// decoded, within the body limit after decoding (API §7).
pub fn decode(headers: &HeaderMap, raw: &[u8], limit: usize) -> ApiResult<Vec<u8>> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("identity") => raw.starts_with(&[0x1f, 0x8b]),
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "content encoding {other:?} is not supported; send the body plain or gzip"
            )));
        }
    };
    if !gzip {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(raw).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| ApiError::Malformed(format!("the gzip body cannot be decoded: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::TooLarge(format!(
            "the body is larger than the limit of {limit} bytes once decompressed; \
             send less per request"
        )));
    }
    Ok(out)
}

/// A JSON request body, parsed; `raw` keeps the bytes (for idempotency).
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

/// serde_json appends " at line L column C" to data errors; the field path
/// says where, so the position is noise there.
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// Parses JSON, telling a broken document (400, with the position) from a
/// document with a wrong field (422, naming the field).
///
/// Every body is a JSON object: serde would also read a struct from an
/// array of its fields (`[[…]]` as `{"results": […]}`), so a well-formed
/// document that is not an object is refused as such.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let not_object = || ApiError::invalid("body", "must be a JSON object");
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    // Tracking the path wraps every value of the document (2.8% of the
    // server's CPU in a bulk upload); only an error needs it, so a body
    // that parses is parsed once without it, and one that does not is
    // parsed again to say where.
    if is_object && let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if !is_object => not_object(),
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                ApiError::Invalid(vec![FieldError::new(
                    field,
                    without_position(inner.to_string()),
                )])
            }
            _ => ApiError::Malformed(format!(
                "malformed JSON at line {} column {}: {}",
                inner.line(),
                inner.column(),
                without_position(inner.to_string())
            )),
        }
    })?;
    de.end().map_err(|e| {
        ApiError::Malformed(format!(
            "malformed JSON at line {} column {}: trailing characters after the document",
            e.line(),
            e.column()
        ))
    })?;
    if !is_object {
        return Err(not_object());
    }
    Ok(value)
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}

/// Reads a whole body within the configured limit.
pub async fn read_body(req: Request, limit: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::TooLarge(format!(
                "the request body is larger than the limit of {limit} bytes; send less per request"
            ))
        })
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "send the body as application/json (got {:?})",
                if content_type.is_empty() {
                    "no content type"
                } else {
                    content_type
                }
            )));
        }
        let headers = req.headers().clone();
        let limit = state.limits.max_body_bytes;
        let raw = read_body(req, limit).await?;
        let value = parse_json(&decode(&headers, &raw, limit)?)?;
        Ok(JsonBody { value, raw })
    }
}

/// The path's parameters as strings, in order. Parsing them into ids is the
/// handler's job; a malformed id is a 404 like an unknown one.
pub struct PathIds(pub Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Ok(PathIds(raw.iter().map(|(_, v)| v.to_string()).collect()))
    }
}

impl PathIds {
    /// The `i`th parameter as an id; malformed is not found.
    pub fn id<T: std::str::FromStr>(&self, i: usize) -> ApiResult<T> {
        self.0
            .get(i)
            .and_then(|s| s.parse().ok())
            .ok_or(ApiError::NotFound)
    }
}

/// Query parameters. Handlers take the ones they know; `finish` refuses the
/// rest, so a typo (`per_pge`) is an error and not silently ignored.
pub struct Query(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let pairs = parts
            .uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Query(pairs))
    }
}

impl Query {
    pub fn take(&mut self, name: &str) -> ApiResult<Option<String>> {
        let mut found = None;
        let mut count = 0;
        self.0.retain(|(k, v)| {
            if k == name {
                count += 1;
                found = Some(v.clone());
                false
            } else {
                true
            }
        });
        if count > 1 {
            return Err(ApiError::invalid(name, "given more than once"));
        }
        Ok(found)
    }

    pub fn take_bool(&mut self, name: &str) -> ApiResult<bool> {
        match self.take(name)?.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::invalid(name, "must be true or false")),
        }
    }

    fn take_number(&mut self, name: &str, min: u32, max: u32, default: u32) -> ApiResult<u32> {
        match self.take(name)? {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    name,
                    format!("must be a whole number from {min} to {max}"),
                )),
            },
        }
    }

    /// `page` (≥ 1, default 1) and `per_page` (1..=max, default 20).
    pub fn take_page(&mut self, max_per_page: u32) -> ApiResult<Page> {
        let page = self.take_number("page", 1, u32::MAX, 1)?;
        let per_page = self.take_number("per_page", 1, max_per_page, 20.min(max_per_page))?;
        Ok(Page { page, per_page })
    }

    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(ApiError::Invalid(
            self.0
                .into_iter()
                .map(|(k, _)| FieldError::new(k, "unknown query parameter"))
                .collect(),
        ))
    }
}
