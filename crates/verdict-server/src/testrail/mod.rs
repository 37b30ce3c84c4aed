//! TestRail API v2, the part CI pipelines use, so the unmodified `trcli`
//! (and scripts written against TestRail) upload to Verdict. Every call is
//! `/index.php?/api/v2/<endpoint>[/<id>[/<id2>]][&k=v…]`: the route is the
//! query string. Answers and errors are TestRail's (see [`wire`] and
//! [`error`]); the mapping onto Verdict's resources is in docs/API.md. Not
//! part of the v1 OpenAPI document.

pub mod auth;
mod cases;
pub mod error;
pub mod meta;
mod projects;
mod results;
mod runs;
mod sections;
mod users;
pub mod wire;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};
use verdict_store::Listing;

pub use auth::TrCaller;
pub use error::{OrField, TrError, TrResult};
pub use wire::Paging;

use crate::state::AppState;

/// The one path every TestRail call goes to.
pub const PATH: &str = "/index.php";

/// The route of the TestRail API.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route(PATH, get(entry).post(entry))
}

/// One parsed TestRail call.
pub struct TrRequest {
    pub method: Method,
    /// `get_cases`, `add_result_for_case`, …
    pub endpoint: String,
    /// The path segments after the endpoint (`/1/2`), as sent.
    pub ids: Vec<String>,
    /// The `&k=v` filters after the path, decoded, in order.
    pub params: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// The request body (JSON for every `add_`/`update_` call but
    /// attachments, which are multipart).
    pub body: Bytes,
    pub caller: TrCaller,
}

impl TrRequest {
    /// The `index`th path id (0: the first after the endpoint), named
    /// `field` in errors.
    pub fn id(&self, index: usize, field: &str) -> TrResult<i64> {
        let text = self.ids.get(index).ok_or_else(|| TrError::missing(field))?;
        wire::parse_id(text, field)
    }

    /// A filter's value (`&suite_id=1`), the last one when repeated.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer filter; 400 naming it when it is not an integer.
    pub fn param_int(&self, name: &str) -> TrResult<Option<i64>> {
        match self.param(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| TrError::invalid(name, "is not a valid integer")),
        }
    }

    /// A boolean filter (`1`/`0`, `true`/`false`).
    pub fn param_bool(&self, name: &str) -> TrResult<Option<bool>> {
        match self.param(name) {
            None | Some("") => Ok(None),
            Some("1") | Some("true") => Ok(Some(true)),
            Some("0") | Some("false") => Ok(Some(false)),
            Some(_) => Err(TrError::invalid(name, "is not a valid boolean")),
        }
    }

    /// `offset` (default 0) and `limit` (1..=250, default 250).
    pub fn paging(&self) -> TrResult<Paging> {
        let limit = self.param_int("limit")?.unwrap_or(wire::MAX_LIMIT);
        let offset = self.param_int("offset")?.unwrap_or(0);
        if !(1..=wire::MAX_LIMIT).contains(&limit) {
            return Err(TrError::invalid("limit", "must be between 1 and 250"));
        }
        if offset < 0 {
            return Err(TrError::invalid("offset", "must be 0 or more"));
        }
        Ok(Paging { offset, limit })
    }

    /// A page of Verdict's web UI, as TestRail's `url` fields give one
    /// (relative to the server: Verdict does not know its public address).
    pub fn url(&self, path: &str) -> String {
        path.to_string()
    }

    /// `/api/v2/<endpoint>[/<id>…]`: what `_links` repeat.
    pub fn base(&self) -> String {
        let mut s = format!("/api/v2/{}", self.endpoint);
        for id in &self.ids {
            s.push('/');
            s.push_str(id);
        }
        s
    }

    /// A paged list's answer for this call (see [`wire::paged`]).
    pub fn paged<T>(
        &self,
        name: &str,
        listing: Listing<T>,
        paging: Paging,
        render: impl Fn(&T) -> Value,
    ) -> Value {
        let items = listing.items.iter().map(render).collect();
        wire::paged(
            name,
            items,
            listing.total,
            paging,
            &self.base(),
            &self.params,
        )
    }

    /// The JSON body as an object (an empty body is `{}`); 400 otherwise.
    pub fn body(&self) -> TrResult<Body> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(TrError::bad("The request body must be a JSON object.")),
            Err(e) => Err(TrError::bad(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }
}

/// A JSON request body, read field by field the way TestRail does:
/// unknown fields are ignored, a field of the wrong type is a 400 naming it.
pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// A string field (numbers are taken as their text).
    pub fn str(&self, field: &str) -> TrResult<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(TrError::invalid(field, "is not a valid string")),
        }
    }

    /// An integer field (a string of digits is taken too).
    pub fn int(&self, field: &str) -> TrResult<Option<i64>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| TrError::invalid(field, "is not a valid integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| TrError::invalid(field, "is not a valid integer")),
            Some(_) => Err(TrError::invalid(field, "is not a valid integer")),
        }
    }

    /// A positive id field.
    pub fn id(&self, field: &str) -> TrResult<Option<i64>> {
        match self.int(field)? {
            Some(n) if n <= 0 => Err(TrError::invalid(field, "is not a valid ID")),
            other => Ok(other),
        }
    }

    /// A boolean field (`true`/`false`, `1`/`0`).
    pub fn bool(&self, field: &str) -> TrResult<Option<bool>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(_) => Err(TrError::invalid(field, "is not a valid boolean")),
        }
    }

    /// A list of positive ids (`case_ids`).
    pub fn ids(&self, field: &str) -> TrResult<Option<Vec<i64>>> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let bad = || TrError::invalid(field, "is not a valid list of IDs");
        let list = v.as_array().ok_or_else(bad)?;
        list.iter()
            .map(|x| match x {
                Value::Number(n) => n.as_i64().filter(|n| *n > 0),
                Value::String(s) => s.trim().parse().ok().filter(|n: &i64| *n > 0),
                _ => None,
            })
            .collect::<Option<Vec<i64>>>()
            .map(Some)
            .ok_or_else(bad)
    }
}

/// The handler of `/index.php`: parses the call, authenticates it, and
/// answers TestRail's way whatever happens.
async fn entry(State(state): State<AppState>, req: Request) -> Response {
    match handle(&state, req).await {
        // TestRail's `delete_*` answer an empty body.
        Ok(Value::Null) => axum::http::StatusCode::OK.into_response(),
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, req: Request) -> TrResult<Value> {
    let query = req.uri().query().unwrap_or("").to_string();
    let (path, rest) = query.split_once('&').unwrap_or((query.as_str(), ""));
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some(route) = path.strip_prefix("/api/v2/") else {
        return Err(TrError::new(
            axum::http::StatusCode::NOT_FOUND,
            "Not a TestRail API call: the query string must start with /api/v2/<method>.",
        ));
    };
    let mut segments = route.split('/').filter(|s| !s.is_empty());
    let endpoint = segments.next().unwrap_or("").to_string();
    let ids: Vec<String> = segments.map(str::to_string).collect();
    let params: Vec<(String, String)> = form_urlencoded::parse(rest.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let address = crate::client::address(
        req.extensions(),
        req.headers(),
        &state.limits.trusted_proxies,
    );
    let caller = auth::authenticate(state, req.headers(), address).await?;
    let method = req.method().clone();
    let reads = endpoint.starts_with("get_");
    match (reads, &method) {
        (true, &Method::GET) | (false, &Method::POST) => {}
        (true, _) => return Err(TrError::bad(format!("{endpoint} takes a GET request."))),
        (false, _) => return Err(TrError::bad(format!("{endpoint} takes a POST request."))),
    }
    let headers = req.headers().clone();
    let limit = if endpoint.starts_with("add_attachment") {
        usize::try_from(state.limits.max_attachment_bytes).unwrap_or(usize::MAX)
    } else {
        state.limits.max_body_bytes
    };
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            TrError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {limit} bytes or was cut off."),
            )
        })?;
    let request = TrRequest {
        method,
        endpoint,
        ids,
        params,
        headers,
        body,
        caller,
    };
    dispatch(state, &request).await
}

/// One arm per endpoint. Results, tests and attachments are answered by
/// [`results::dispatch`] (the fallback arm).
async fn dispatch(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    match req.endpoint.as_str() {
        // Projects and users.
        "get_projects" => projects::get_projects(state, req).await,
        "get_project" => projects::get_project(state, req).await,
        "get_users" => users::get_users(state, req).await,
        "get_user" => users::get_user(state, req).await,
        "get_user_by_email" => users::get_user_by_email(state, req).await,
        "get_current_user" => users::get_current_user(state, req).await,
        // Fixed lists.
        "get_case_fields" => Ok(meta::case_fields()),
        "get_case_types" => Ok(meta::case_types()),
        "get_priorities" => Ok(meta::priorities()),
        "get_statuses" => Ok(meta::statuses()),
        "get_result_fields" => Ok(meta::result_fields()),
        "get_templates" => Ok(meta::templates()),
        // Suites and sections.
        "get_suites" => sections::get_suites(state, req).await,
        "get_suite" => sections::get_suite(state, req).await,
        "get_sections" => sections::get_sections(state, req).await,
        "get_section" => sections::get_section(state, req).await,
        "add_section" => sections::add_section(state, req).await,
        "delete_section" => sections::delete_section(state, req).await,
        // Cases.
        "get_cases" => cases::get_cases(state, req).await,
        "get_case" => cases::get_case(state, req).await,
        "add_case" => cases::add_case(state, req).await,
        "update_case" => cases::update_case(state, req).await,
        "delete_case" => cases::delete_case(state, req).await,
        "delete_cases" => cases::delete_cases(state, req).await,
        // Runs.
        "get_runs" => runs::get_runs(state, req).await,
        "get_run" => runs::get_run(state, req).await,
        "add_run" => runs::add_run(state, req).await,
        "update_run" => runs::update_run(state, req).await,
        "close_run" => runs::close_run(state, req).await,
        "delete_run" => runs::delete_run(state, req).await,
        // Tests, results and attachments (results.rs).
        _ => match results::dispatch(state, req).await {
            Some(answer) => answer,
            None => Err(TrError::bad(format!(
                "Unknown method '{}': Verdict serves a part of TestRail API v2 (see its API documentation).",
                req.endpoint
            ))),
        },
    }
}
