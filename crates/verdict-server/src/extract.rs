//! Extractors that turn requests into typed values at the edge and fail in
//! our own envelope: a JSON body (content type, size limit, syntax vs.
//! validation), query parameters (unknown or repeated ones are refused),
//! ids in the path (malformed is simply not found) and the
//! `Idempotency-Key` header. Each parameter set is also its own OpenAPI
//! description (`IntoParams`), so what a handler documents is what it reads.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use std::io::Read;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde::de::value::StrDeserializer;
use utoipa::IntoParams;
use verdict_api::schema as s;
use verdict_store::{
    AttachmentId, CaseId, FieldError, Page, ProjectId, ResultId, RunId, TokenId, UserId,
};

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

// ---------------------------------------------------------------------------
// Path, query and header parameters. Each set is a type that both parses
// what the handler extracts and documents it (`IntoParams`), so a
// `#[utoipa::path(params(RunPath, PageQuery))]` says exactly what the
// handler reads.

/// What went wrong reading one parameter: its name (once known) and why.
#[derive(Debug)]
pub struct ParamError {
    field: Option<String>,
    message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

impl serde::de::Error for ParamError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        ParamError {
            field: None,
            message: message.to_string(),
        }
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError::invalid(e.field.as_deref().unwrap_or("query"), e.message)
    }
}

/// One parameter's text, as a serde deserializer: a string, or `Some` of
/// one for an optional field.
struct Text(String);

impl<'de> serde::Deserializer<'de> for Text {
    type Error = ParamError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, ParamError> {
        v.visit_string(self.0)
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, ParamError> {
        v.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A set's parameters as serde reads a struct: in the struct's field order,
/// each name checked for repetition just before its value is read, so the
/// first problem in that order is the one reported.
struct Fields {
    fields: std::vec::IntoIter<(&'static str, Vec<String>)>,
    value: Option<(&'static str, String)>,
}

impl<'de> serde::de::MapAccess<'de> for Fields {
    type Error = ParamError;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParamError> {
        for (name, mut values) in self.fields.by_ref() {
            match values.len() {
                0 => continue,
                1 => {
                    let value = values.pop().unwrap_or_default();
                    let key = seed.deserialize(StrDeserializer::<ParamError>::new(name))?;
                    self.value = Some((name, value));
                    return Ok(Some(key));
                }
                _ => {
                    return Err(ParamError {
                        field: Some(name.into()),
                        message: "given more than once".into(),
                    });
                }
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParamError> {
        let (name, value) = self.value.take().unwrap_or_default();
        seed.deserialize(Text(value)).map_err(|mut e| {
            e.field.get_or_insert_with(|| name.into());
            e
        })
    }
}

/// The parameters of one set, read out of a request's `pairs`: serde names
/// the struct's fields (the same fields `IntoParams` documents), and those
/// are taken out of `pairs`; what is left is for the next set, or unknown.
struct Set<'a> {
    pairs: &'a mut Vec<(String, String)>,
}

impl<'de> serde::Deserializer<'de> for Set<'_> {
    type Error = ParamError;

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        names: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ParamError> {
        let mut fields: Vec<(&'static str, Vec<String>)> =
            names.iter().map(|n| (*n, Vec::new())).collect();
        self.pairs.retain(
            |(name, value)| match fields.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => {
                    values.push(value.clone());
                    false
                }
                None => true,
            },
        );
        v.visit_map(Fields {
            fields: fields.into_iter(),
            value: None,
        })
    }

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        Err(serde::de::Error::custom("a parameter set is a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Reads a set from `pairs`, taking its parameters out of them.
fn read_set<T: DeserializeOwned>(pairs: &mut Vec<(String, String)>) -> Result<T, ParamError> {
    T::deserialize(Set { pairs })
}

/// For `#[serde(deserialize_with)]`: a value by its `FromStr` (an id, in a
/// path or a query), its error the message.
pub fn parsed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// [`parsed`] for an optional query parameter.
pub fn parsed_some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    parsed(d).map(Some)
}

/// For `#[serde(deserialize_with)]`: `true` or `false` (absent is false,
/// with `#[serde(default)]`).
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match String::deserialize(d)?.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(serde::de::Error::custom("must be true or false")),
    }
}

fn whole_number(min: u32, max: u32) -> String {
    format!("must be a whole number from {min} to {max}")
}

// ---- Path parameters -------------------------------------------------------

/// Extracts a path parameter set: each field by its name in the route, a
/// malformed id a 404 like an unknown one.
macro_rules! path_sets {
    ($($name:ident),* $(,)?) => {$(
        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
                let raw = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|_| ApiError::NotFound)?;
                let mut pairs: Vec<(String, String)> = raw
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                read_set(&mut pairs).map_err(|_| ApiError::NotFound)
            }
        }
    )*};
}

path_sets!(
    UserPath,
    TokenPath,
    ProjectPath,
    MemberPath,
    CasePath,
    RunPath,
    ResultPath,
    AttachmentPath,
    WebhookPath,
    DeliveryPath
);

/// `{wid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The webhook. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::WebhookId)]
    pub wid: verdict_store::WebhookId,
}

/// `{wid}` and `{event_id}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// The webhook. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::WebhookId)]
    pub wid: verdict_store::WebhookId,
    /// An event queued for the webhook. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::EventId)]
    pub event_id: verdict_store::EventId,
}

/// `{uid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::UserId)]
    pub uid: UserId,
}

/// `{tid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::TokenId)]
    pub tid: TokenId,
}

/// `{pid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The project. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::ProjectId)]
    pub pid: ProjectId,
}

/// `{pid}` and `{uid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The project. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::ProjectId)]
    pub pid: ProjectId,
    /// The user. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::UserId)]
    pub uid: UserId,
}

/// `{cid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CasePath {
    /// The test case. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::CaseId)]
    pub cid: CaseId,
}

/// `{rid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The run. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::RunId)]
    pub rid: RunId,
}

/// `{rid}` and `{id}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ResultPath {
    /// The run. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::RunId)]
    pub rid: RunId,
    /// The result (one case in the run). Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::ResultId)]
    pub id: ResultId,
}

/// `{aid}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttachmentPath {
    /// The attachment. Malformed or unknown: 404.
    #[serde(deserialize_with = "parsed")]
    #[param(value_type = s::AttachmentId)]
    pub aid: AttachmentId,
}

// ---- Query parameters ------------------------------------------------------

/// A set of query parameters: a struct whose `IntoParams` documents them
/// and whose `Deserialize` reads them from text (`#[serde(default)]` for
/// the optional ones, `deserialize_with` for checked values, so a bad value
/// is a 422 naming the parameter).
pub trait QuerySet: DeserializeOwned + IntoParams {
    /// What needs the server's settings, once the fields are read.
    fn check(&mut self, _state: &AppState) -> ApiResult<()> {
        Ok(())
    }
}

/// What [`Query`] reads: one [`QuerySet`], none (`()`), or two in order.
pub trait FromQuery: Sized {
    /// Takes the parameters this reads out of `pairs`.
    fn take(pairs: &mut Vec<(String, String)>, state: &AppState) -> ApiResult<Self>;
}

impl<T: QuerySet> FromQuery for T {
    fn take(pairs: &mut Vec<(String, String)>, state: &AppState) -> ApiResult<Self> {
        let mut value: T = read_set(pairs)?;
        value.check(state)?;
        Ok(value)
    }
}

impl FromQuery for () {
    fn take(_: &mut Vec<(String, String)>, _: &AppState) -> ApiResult<Self> {
        Ok(())
    }
}

impl<A: FromQuery, B: FromQuery> FromQuery for (A, B) {
    fn take(pairs: &mut Vec<(String, String)>, state: &AppState) -> ApiResult<Self> {
        let a = A::take(pairs, state)?;
        let b = B::take(pairs, state)?;
        Ok((a, b))
    }
}

/// A handler's query parameters. Any parameter its sets do not name is
/// refused (422, each one named), so a typo (`per_pge`) is an error and not
/// silently ignored; so is one given twice.
pub struct Query<T>(pub T);

/// A handler that reads no query parameter still refuses any.
pub type NoQuery = Query<()>;

impl<T: FromQuery> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let mut pairs = query_pairs(parts);
        let value = T::take(&mut pairs, state)?;
        if pairs.is_empty() {
            return Ok(Query(value));
        }
        Err(ApiError::Invalid(
            pairs
                .into_iter()
                .map(|(k, _)| FieldError::new(k, "unknown query parameter"))
                .collect(),
        ))
    }
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The default of `per_page` (or the server's maximum, if lower).
const PER_PAGE: u32 = 20;

/// `page` and `per_page`: outside the range is a 422, never clamped.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1. A page past the end is empty, with the true total.
    #[serde(default = "first_page", deserialize_with = "page_number")]
    // `usize`: an integer with no `format` (`u32` would say int32, whose
    // range is smaller than the page's).
    #[param(value_type = usize, minimum = 1, maximum = 4294967295u32, default = 1)]
    page: u32,
    /// Items per page, 1 to 1000 (the server's `--max-per-page`).
    // Its range is the server's limit, so `check` reads it: 0 stands for
    // anything that is not a whole number.
    #[serde(default, deserialize_with = "lenient_number")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000, default = 20)]
    per_page: Option<u32>,
}

fn first_page() -> u32 {
    1
}

fn page_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match String::deserialize(d)?.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(serde::de::Error::custom(whole_number(1, u32::MAX))),
    }
}

fn lenient_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(Some(String::deserialize(d)?.parse::<u32>().unwrap_or(0)))
}

impl QuerySet for PageQuery {
    fn check(&mut self, state: &AppState) -> ApiResult<()> {
        let max = state.limits.max_per_page;
        self.per_page = match self.per_page {
            None => Some(PER_PAGE.min(max)),
            Some(n) if (1..=max).contains(&n) => Some(n),
            Some(_) => return Err(ApiError::invalid("per_page", whole_number(1, max))),
        };
        Ok(())
    }
}

impl PageQuery {
    /// The page asked for, within the server's limit.
    pub fn page(&self) -> Page {
        Page {
            page: self.page,
            per_page: self.per_page.unwrap_or(PER_PAGE),
        }
    }
}

// ---- Headers ---------------------------------------------------------------

/// The `Idempotency-Key` header of the writes that take one, if sent.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters, scoped to the caller and kept 24 hours. A retry with the same key and the same request answers the stored answer (with `Idempotent-Replayed: true`) and writes nothing; the same key with another request is a 422 `idempotency_key_reused`.
    #[param(
        rename = "Idempotency-Key",
        value_type = String,
        required = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    pub key: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKeyHeader { key: None });
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                )
            })?;
        Ok(IdempotencyKeyHeader {
            key: Some(key.to_string()),
        })
    }
}

// ---- The web pages' query --------------------------------------------------

/// The web pages' query parameters: read by name, the rest ignored (a page
/// keeps working with a parameter it does not know).
pub struct WebQuery(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for WebQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        Ok(WebQuery(query_pairs(parts)))
    }
}

impl WebQuery {
    /// The parameter `name`, if given; twice is a 422.
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
}
