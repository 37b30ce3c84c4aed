//! The Test Results API (API §3): list, one, update, bulk, history.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_api::schema as s;
use verdict_store::{
    Assignee, BulkEntry, BulkRequest, IdempotencyKey, RefusedEntry, ResultId, ResultQuery, Role,
    Status, Timestamp, UserId, Write, Written,
};

use crate::auth::{Caller, ensure};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::execution::{self, RawEntry};
use crate::extract::{
    IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, Query, QuerySet, ResultPath, RunPath, flag,
    parsed_some,
};
use crate::idempotent::{self, Retry, fingerprint};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(bulk))
        .routes(routes!(get_one, update))
        .routes(routes!(history))
}

const RECORD: &str = "record results";

/// The result list's filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultFilter {
    /// One status or a comma-separated list (`failed,blocked`).
    #[serde(default, deserialize_with = "statuses")]
    #[param(value_type = StatusList, inline)]
    status: Vec<Status>,
    /// A result id: the page continues after it, in constant time however deep (`page` then counts from there). `meta.next_after` gives the next one.
    #[serde(default, deserialize_with = "parsed_some")]
    #[param(value_type = Option<s::ResultId>)]
    after: Option<ResultId>,
    /// Only results whose case title contains this text, regardless of case; `meta.total` counts the matches.
    #[serde(default)]
    q: Option<String>,
    /// Only results assigned to this user (`user_3`), or with `none` to nobody.
    #[serde(default, deserialize_with = "assignee")]
    #[param(value_type = Option<AssignedTo>, inline)]
    assigned_to: Option<Assignee>,
    /// Only the result of the case with exactly this key (`classname.name`, as stored; case-sensitive).
    #[serde(default)]
    key: Option<String>,
}

/// `?include=`: what a result answer adds to its fields.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeQuery {
    /// `output`: each result's (or execution's) output as `output` (a string, or null when there is none). With it, `per_page` is at most 50 (outputs may be 1 MiB each).
    #[serde(default, deserialize_with = "includes")]
    #[param(value_type = Option<Include>, inline)]
    include: Includes,
}

impl QuerySet for IncludeQuery {}

/// What `?include=` asked for.
#[derive(Default, Clone, Copy)]
pub struct Includes {
    output: bool,
}

/// The most results (or executions) a page may hold with their output:
/// at the default `--max-output-bytes` (1 MiB) a page is then at most
/// 50 MiB, where 1000 would be a gigabyte.
pub const MAX_PER_PAGE_WITH_OUTPUT: u32 = 50;

impl IncludeQuery {
    /// Refuses a page too large for outputs.
    fn check_page(&self, page: verdict_store::Page) -> ApiResult<()> {
        if self.include.output && page.per_page > MAX_PER_PAGE_WITH_OUTPUT {
            return Err(ApiError::invalid(
                "per_page",
                format!(
                    "must be a whole number from 1 to {MAX_PER_PAGE_WITH_OUTPUT} with include=output"
                ),
            ));
        }
        Ok(())
    }
}

fn includes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Includes, D::Error> {
    let mut out = Includes::default();
    for item in String::deserialize(d)?.split(',') {
        match item.trim() {
            "output" => out.output = true,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "{other:?} cannot be included: use output"
                )));
            }
        }
    }
    Ok(out)
}

/// `output` (the one thing that can be included so far).
struct Include;

impl utoipa::PartialSchema for Include {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        s::schema(serde_json::json!({
            "type": "string",
            "enum": ["output"],
        }))
    }
}

impl utoipa::ToSchema for Include {}

/// A result on the wire, with its output when asked for.
fn result_with(r: &verdict_store::TestResult, include: Includes) -> api::TestResult {
    let mut out = dto::result(r);
    if include.output {
        out.output = Some(r.output.clone());
    }
    out
}

impl QuerySet for ResultFilter {}

fn assignee<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Assignee>, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    if s == "none" {
        return Ok(Some(Assignee::Nobody));
    }
    s.parse::<UserId>()
        .map(|u| Some(Assignee::User(u)))
        .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a user id (user_…) or none")))
}

/// A user id or `none`.
struct AssignedTo;

impl utoipa::PartialSchema for AssignedTo {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        s::schema(serde_json::json!({
            "type": "string",
            "pattern": "^(user_0*[1-9][0-9]{0,17}|none)$",
        }))
    }
}

impl utoipa::ToSchema for AssignedTo {}

fn statuses<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Status>, D::Error> {
    String::deserialize(d)?
        .split(',')
        .map(|s| {
            Status::parse(s.trim()).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{s:?} is not a status: use one or more of passed, failed, blocked, retest, not_tested (comma-separated)"
                ))
            })
        })
        .collect()
}

/// One status or a comma-separated list of them, with the whitespace
/// `trim` ignores around each.
struct StatusList;

impl utoipa::PartialSchema for StatusList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = format!("[{}]*", s::WHITESPACE);
        let one = format!("{ws}(passed|failed|blocked|retest|not_tested){ws}");
        s::schema(serde_json::json!({
            "type": "string",
            "pattern": format!("^{one}(,{one})*$"),
        }))
    }
}

impl utoipa::ToSchema for StatusList {}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/results", tag = "results", operation_id = "list_results",
    summary = "List a run's results, ordered by result id",
    description = "`meta.total` counts what the filters match in the whole run; a page past the end is an empty `data` with the true total. When a page is full, `meta.next_after` is the id to pass as `after`.",
    params(RunPath, PageQuery, ResultFilter, IncludeQuery),
    responses((status = 200, description = "A page of results.", body = TestResultPage,
        example = json!({"data": [{"id": "res_001", "test_case_id": "tc_001",
            "test_case_title": "Login with valid credentials", "status": "passed",
            "note": "Verified on Chrome 120 and Firefox 121", "elapsed": 45, "elapsed_ms": 45000,
            "tested_by": "user_001", "tested_at": "2026-03-26T10:15:00Z",
            "step_results": [{"status": "passed"}], "defects": [], "assigned_to": "user_001"}],
            "meta": {"total": 45, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query((paging, (filter, include))): Query<(PageQuery, (ResultFilter, IncludeQuery))>,
) -> ApiResult<Json<api::Page<api::TestResult>>> {
    let page = paging.page();
    include.check_page(page)?;
    // An empty search is no search (a cleared search box sends `q=`).
    let title = filter
        .q
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    caller.run(&state, run).await?;
    let listing = state
        .store
        .list_results(
            run,
            ResultQuery {
                assignee: filter.assigned_to,
                statuses: filter.status,
                after: filter.after,
                q: title,
                page,
                key: filter.key,
                output: include.include.output,
            },
        )
        .await?;
    let next_after = (listing.items.len() == page.per_page as usize)
        .then(|| listing.items.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(api::Page {
        data: listing
            .items
            .iter()
            .map(|r| result_with(r, include.include))
            .collect(),
        meta: api::Meta {
            total: listing.total,
            page: page.page,
            per_page: page.per_page,
            next_after,
        },
    }))
}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/results/{id}", tag = "results", operation_id = "get_result",
    summary = "One result",
    params(ResultPath, IncludeQuery),
    responses((status = 200, description = "The result.", body = TestResultData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid: run, id }: ResultPath,
    Query(include): Query<IncludeQuery>,
) -> ApiResult<Json<api::Data<api::TestResult>>> {
    caller.run(&state, run).await?;
    let result = state.store.get_result(run, id).await?;
    Ok(Json(api::Data {
        data: result_with(&result, include.include),
    }))
}

#[utoipa::path(
    // PUT is accepted as the same as PATCH (API §3); the document's PUT
    // gets its own operation id in `openapi::Finish`.
    method(patch, put), path = "/v1/runs/{rid}/results/{id}", tag = "results", operation_id = "update_result",
    summary = "Record one execution (tester)",
    description = "Sets status, note, elapsed, step results and defects together (a field not given is null or empty) as the caller, now; appended to the result's history. Step results match the case's steps by position; defects are trimmed and repeats dropped. `not_tested` clears the result and takes none of them. The assignee is kept. PUT is accepted as the same.",
    params(ResultPath, IdempotencyKeyHeader),
    request_body(content = api::UpdateResult,
        example = json!({"status": "failed", "note": "…", "elapsed": 120,
            "step_results": [{"status": "passed"}, {"status": "failed", "actual": "500 error"}],
            "defects": ["SHOP-2291"]})),
    responses((status = 200, description = "The result, with the caller as `tested_by`.", body = TestResultData),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
#[allow(clippy::too_many_arguments)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid: run, id }: ResultPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    method: Method,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<RawEntry>,
) -> ApiResult<Response> {
    // Without a key, the access check is part of the write (one statement
    // on PostgreSQL); what a refusal says is worked out only then, in the
    // order it always had: a hidden run (404), a role (403), the body (422).
    let checked = execution::check(&body.value, String::new, false, state.limits.max_note_bytes);
    let execution = match checked {
        Ok((_, execution)) => execution,
        Err(errors) => {
            ensure(caller.run_role(&state, run).await?, Role::Tester, RECORD)?;
            return Err(ApiError::Invalid(errors));
        }
    };
    if let Some(retry) = Retry::of(key, &method, &uri, &body.raw) {
        ensure(caller.run_role(&state, run).await?, Role::Tester, RECORD)?;
        let write = Write::RecordResult { run, id, execution };
        let answer = idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Result(r) => Some((StatusCode::OK, Some(recorded(r)))),
            _ => None,
        })
        .await?;
        if !idempotent::replayed(&answer) {
            state.metrics.results_written(1);
        }
        return Ok(answer);
    }
    let written = state
        .store
        .record_result_as(
            run,
            id,
            execution,
            caller.user.id,
            caller.user.admin,
            Timestamp::now(),
        )
        .await?;
    let Some(result) = written else {
        ensure(caller.run_role(&state, run).await?, Role::Tester, RECORD)?;
        // The role changed between the write and this look-up.
        return Err(ApiError::forbidden(RECORD));
    };
    state.metrics.results_written(1);
    Ok(Json(recorded(&result)).into_response())
}

/// The answer to a recorded execution.
fn recorded(result: &verdict_store::TestResult) -> api::Data<api::TestResult> {
    api::Data {
        data: dto::result(result),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    results: Vec<RawEntry>,
}

/// `?partial=true` of a bulk upload.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartialQuery {
    /// Apply the valid entries and list the others in `rejected` (200), instead of writing nothing and answering 422. `true` or `false`.
    #[serde(default, deserialize_with = "flag")]
    #[param(default = false)]
    partial: bool,
}

impl QuerySet for PartialQuery {}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/results/bulk", tag = "results", operation_id = "bulk_results",
    summary = "Record many executions at once (tester)",
    description = "Matched by `test_case_id` within the run; entries apply in order (the same case twice is two executions, the last one current). Atomic by default: if any entry is invalid or names a case that is not in the run, nothing is written and the 422 names every bad entry by index (`results[3].status`). With `?partial=true` the valid entries are applied and the others listed in `rejected`. More entries than the limit (50,000 by default) is a 413 that says how to split.",
    params(RunPath, PartialQuery, IdempotencyKeyHeader),
    request_body(content = api::BulkResults,
        example = json!({"results": [
            {"test_case_id": "tc_001", "status": "passed", "elapsed": 12},
            {"test_case_id": "tc_002", "status": "failed",
             "note": "AssertionError: expected 200 but got 500", "elapsed": 8}]})),
    responses((status = 200, description = "`updated` counts the entries applied; `results` is in request order, each with its result id.",
        body = BulkOutcomeData,
        headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.")),
        example = json!({"data": {"updated": 2, "results": [
            {"id": "res_001", "test_case_id": "tc_001", "status": "passed"},
            {"id": "res_002", "test_case_id": "tc_002", "status": "failed"}]}})),
        Unauthorized, Forbidden, NotFound, Conflict, JsonErrors),
)]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query(PartialQuery { partial }): Query<PartialQuery>,
    IdempotencyKeyHeader { key }: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<BulkBody>,
) -> ApiResult<Response> {
    let (_, role) = caller.run(&state, run).await?;
    ensure(role, Role::Tester, RECORD)?;
    let max = state.limits.max_bulk_results;
    let entries = body.value.results;
    if entries.len() > max {
        return Err(ApiError::TooLarge(format!(
            "{} results in one request; the limit is {max}: split them into requests of at most {max} results each",
            entries.len()
        )));
    }
    let mut valid = Vec::with_capacity(entries.len());
    // Bad entries go to the store too: it names them together with the
    // valid ones whose case is not in the run (API §3), or, when partial,
    // rejects them in its answer.
    let mut refused = Vec::new();
    for (index, raw) in entries.iter().enumerate() {
        let prefix = || format!("results[{index}].");
        match execution::check(raw, prefix, true, state.limits.max_note_bytes) {
            Ok((Some(case_id), execution)) => valid.push(BulkEntry {
                index,
                case_id,
                execution,
            }),
            Ok((None, _)) => {
                return Err(ApiError::Internal(
                    "bulk entry checked without its case".into(),
                ));
            }
            Err(errors) => refused.push(RefusedEntry {
                index,
                test_case_id: raw.raw_case_id(),
                errors,
            }),
        }
    }
    let idempotency = key.map(|key| IdempotencyKey {
        key,
        fingerprint: fingerprint("POST", &uri, &body.raw),
    });
    let outcome = state
        .store
        .record_bulk(BulkRequest {
            run,
            actor: caller.user.id,
            now: Timestamp::now(),
            entries: valid,
            partial,
            refused,
            idempotency,
        })
        .await?;
    if !outcome.replayed {
        state.metrics.results_written(outcome.updated);
    }
    let mut response = Json(api::Data {
        data: dto::bulk_outcome(&outcome, partial),
    })
    .into_response();
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/results/{id}/history", tag = "results", operation_id = "result_history",
    summary = "Every execution of a result, newest first",
    params(ResultPath, PageQuery, IncludeQuery),
    responses((status = 200, description = "A page of executions.", body = ExecutionPage),
        Unauthorized, NotFound, Invalid),
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid: run, id }: ResultPath,
    Query((paging, include)): Query<(PageQuery, IncludeQuery)>,
) -> ApiResult<Json<api::Page<api::Execution>>> {
    let page = paging.page();
    include.check_page(page)?;
    caller.run(&state, run).await?;
    let listing = state.store.result_history(run, id, page).await?;
    Ok(Json(api::Page {
        data: listing
            .items
            .iter()
            .map(|h| {
                let mut out = dto::execution(h);
                if include.include.output {
                    out.output = Some(h.output.clone());
                }
                out
            })
            .collect(),
        meta: api::Meta {
            total: listing.total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }))
}
