//! Tests, results and attachments: `get_tests`, `get_test`,
//! `get_results*`, `add_result*`, `add_results*`,
//! `add_attachment_to_result`.
//!
//! A TestRail test (a case in a run) is a Verdict result, and a TestRail
//! result is one of its executions. Verdict keeps executions under their
//! result without ids of their own, so a TestRail result's id is its
//! test's id: `add_attachment_to_result/<id>` attaches to the test's latest
//! execution, which is the one the `add_result*` call that answered `id`
//! just wrote. Bulk calls go through the store's one-transaction bulk
//! path: all applied, or (any entry wrong) none.

use axum::body::Body as HttpBody;
use serde_json::{Map, Value, json};
use verdict_api::{MAX_ACTUAL_CHARS, MAX_DEFECTS, MAX_STEP_RESULTS};
use verdict_store::{
    BulkEntry, BulkRequest, CaseId, Execution, HistoryEntry, Listing, ResultId, ResultQuery, Role,
    Run, RunId, RunState, Status, StepResult, StoreError, TestResult, Timestamp, UserId,
};

use super::auth::ensure;
use super::error::{OrField, TrError, TrResult};
use super::wire::{self, Paging};
use super::{Body, TrRequest};
use crate::attachments as files;
use crate::execution::{MAX_ELAPSED_SECONDS, defect};
use crate::state::AppState;

const RECORD: &str = "add test results";

/// Answers the calls this module serves; `None` for any other endpoint
/// (the dispatcher then answers "Unknown method").
pub async fn dispatch(state: &AppState, req: &TrRequest) -> Option<TrResult<Value>> {
    Some(match req.endpoint.as_str() {
        "get_tests" => get_tests(state, req).await,
        "get_test" => get_test(state, req).await,
        "get_results" => get_results(state, req).await,
        "get_results_for_case" => get_results_for_case(state, req).await,
        "get_results_for_run" => get_results_for_run(state, req).await,
        "add_result" => add_result(state, req).await,
        "add_result_for_case" => add_result_for_case(state, req).await,
        "add_results" => add_results(state, req).await,
        "add_results_for_cases" => add_results_for_cases(state, req).await,
        "add_attachment_to_result" => add_attachment_to_result(state, req).await,
        _ => return None,
    })
}

// --- reading ---------------------------------------------------------------

/// `get_tests/<run_id>[&status_id=1,5]`: the run's tests, paged.
async fn get_tests(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let run = run_of(state, req).await?.0;
    let statuses = status_filter(req)?.unwrap_or_default();
    let paging = req.paging()?;
    let listing = results_page(state, run.id, statuses, paging).await?;
    Ok(req.paged("tests", listing, paging, test_json))
}

/// `get_test/<test_id>`.
async fn get_test(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (_, _, result) = test_of(state, req).await?;
    Ok(test_json(&result))
}

/// `get_results_for_run/<run_id>[&status_id=…]`: the latest result of
/// every test that has one (untested tests have none), paged.
async fn get_results_for_run(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let run = run_of(state, req).await?.0;
    let statuses = status_filter(req)?.unwrap_or_else(|| {
        Status::ALL
            .into_iter()
            .filter(|s| *s != Status::NotTested)
            .collect()
    });
    let paging = req.paging()?;
    let listing = results_page(state, run.id, statuses, paging).await?;
    Ok(req.paged("results", listing, paging, latest_json))
}

/// `get_results/<test_id>[&status_id=…]`: the test's results, newest
/// first, paged.
async fn get_results(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, _, result) = test_of(state, req).await?;
    history(state, req, run.id, result.id).await
}

/// `get_results_for_case/<run_id>/<case_id>`: as `get_results` for the
/// case's test in the run.
async fn get_results_for_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, _) = run_of(state, req).await?;
    let case = CaseId::from_db(req.id(1, "case_id")?);
    let result = result_of_case(state, &run, case).await?;
    history(state, req, run.id, result).await
}

async fn history(state: &AppState, req: &TrRequest, run: RunId, id: ResultId) -> TrResult<Value> {
    let statuses = status_filter(req)?;
    let paging = req.paging()?;
    let (first, second) = paging.pages();
    let a = state.store.result_history(run, id, first).await?;
    let b = match second {
        Some(p) => Some(state.store.result_history(run, id, p).await?),
        None => None,
    };
    let mut listing = paging.window(a, b);
    if let Some(statuses) = statuses {
        // A test's history is short (one execution per CI run or retry):
        // filtering the window keeps the paging simple and exact enough.
        listing.items.retain(|e| statuses.contains(&e.status));
    }
    Ok(req.paged("results", listing, paging, history_json))
}

/// One window of a run's results (offset paging over the store's pages).
async fn results_page(
    state: &AppState,
    run: RunId,
    statuses: Vec<Status>,
    paging: Paging,
) -> TrResult<Listing<TestResult>> {
    let query = |page| ResultQuery {
        statuses: statuses.clone(),
        after: None,
        q: None,
        assignee: None,
        key: None,
        output: false,
        page,
    };
    let (first, second) = paging.pages();
    let a = state.store.list_results(run, query(first)).await?;
    let b = match second {
        Some(p) => Some(state.store.list_results(run, query(p)).await?),
        None => None,
    };
    Ok(paging.window(a, b))
}

/// `&status_id=1,5`: the statuses filtered on, if any.
fn status_filter(req: &TrRequest) -> TrResult<Option<Vec<Status>>> {
    let Some(text) = req.param("status_id").filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    text.split(',')
        .map(|part| {
            part.trim()
                .parse::<i64>()
                .ok()
                .and_then(wire::status_of)
                .ok_or_else(|| {
                    TrError::invalid("status_id", "is not a valid list of status IDs (1 to 5)")
                })
        })
        .collect::<TrResult<Vec<Status>>>()
        .map(Some)
}

// --- writing ---------------------------------------------------------------

/// `add_result/<test_id>`: one result for a test.
async fn add_result(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, role, result) = test_of(state, req).await?;
    record_one(state, req, &run, role, result.case_id).await
}

/// `add_result_for_case/<run_id>/<case_id>`: one result for the case's
/// test in the run.
async fn add_result_for_case(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, role) = run_of(state, req).await?;
    let case = CaseId::from_db(req.id(1, "case_id")?);
    record_one(state, req, &run, role, case).await
}

/// The body's one result for `case`'s test in `run`.
async fn record_one(
    state: &AppState,
    req: &TrRequest,
    run: &Run,
    role: Role,
    case: CaseId,
) -> TrResult<Value> {
    ensure(role, Role::Tester, RECORD)?;
    let execution = execution_of(&req.body()?.0, "", state)?;
    let entries = vec![BulkEntry {
        index: 0,
        case_id: case,
        execution,
    }];
    let mut answers = record(state, req, run, entries).await?;
    answers
        .pop()
        .ok_or_else(|| TrError::bad("No result was written."))
}

/// `add_results_for_cases/<run_id>`: `{"results": [{"case_id", …}]}`, all
/// in one transaction.
async fn add_results_for_cases(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, role) = run_of(state, req).await?;
    ensure(role, Role::Tester, RECORD)?;
    let body = req.body()?;
    let list = results_list(&body, state)?;
    let mut entries = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let prefix = format!("results[{index}].");
        let entry = entry_object(entry, index)?;
        let case = Body(entry.clone())
            .id("case_id")
            .map_err(|e| at(&prefix, e))?
            .ok_or_else(|| TrError::missing(&format!("{prefix}case_id")))?;
        entries.push(BulkEntry {
            index,
            case_id: CaseId::from_db(case),
            execution: execution_of(entry, &prefix, state)?,
        });
    }
    Ok(Value::Array(record(state, req, &run, entries).await?))
}

/// `add_results/<run_id>`: `{"results": [{"test_id", …}]}`, all in one
/// transaction.
async fn add_results(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let (run, role) = run_of(state, req).await?;
    ensure(role, Role::Tester, RECORD)?;
    let body = req.body()?;
    let list = results_list(&body, state)?;
    let mut entries = Vec::with_capacity(list.len());
    let mut cases: Vec<(i64, CaseId)> = Vec::new();
    for (index, entry) in list.iter().enumerate() {
        let prefix = format!("results[{index}].");
        let entry = entry_object(entry, index)?;
        let test = Body(entry.clone())
            .id("test_id")
            .map_err(|e| at(&prefix, e))?
            .ok_or_else(|| TrError::missing(&format!("{prefix}test_id")))?;
        let case = match cases.iter().find(|(t, _)| *t == test) {
            Some((_, case)) => *case,
            None => {
                let found = state
                    .store
                    .get_result(run.id, ResultId::from_db(test))
                    .await
                    .or_field(&format!("{prefix}test_id"), "test of this run")?;
                cases.push((test, found.case_id));
                found.case_id
            }
        };
        entries.push(BulkEntry {
            index,
            case_id: case,
            execution: execution_of(entry, &prefix, state)?,
        });
    }
    Ok(Value::Array(record(state, req, &run, entries).await?))
}

/// The `results` array of a bulk call, within the server's bulk limit.
fn results_list<'a>(body: &'a Body, state: &AppState) -> TrResult<&'a Vec<Value>> {
    let list = body
        .get("results")
        .ok_or_else(|| TrError::missing("results"))?
        .as_array()
        .ok_or_else(|| TrError::invalid("results", "is not a valid array"))?;
    let max = state.limits.max_bulk_results;
    if list.len() > max {
        return Err(TrError::invalid(
            "results",
            &format!(
                "has {} entries; at most {max} are taken in one request",
                list.len()
            ),
        ));
    }
    Ok(list)
}

fn entry_object(entry: &Value, index: usize) -> TrResult<&Map<String, Value>> {
    entry
        .as_object()
        .ok_or_else(|| TrError::invalid(&format!("results[{index}]"), "is not a valid object"))
}

/// Records the executions in one transaction (the store's bulk path) and
/// answers them as TestRail results, in request order.
async fn record(
    state: &AppState,
    req: &TrRequest,
    run: &Run,
    entries: Vec<BulkEntry>,
) -> TrResult<Vec<Value>> {
    if run.state == RunState::Closed {
        return Err(closed());
    }
    let actor = req.caller.user.id;
    let now = Timestamp::now();
    let executions: Vec<Execution> = entries.iter().map(|e| e.execution.clone()).collect();
    let outcome = state
        .store
        .record_bulk(BulkRequest {
            run: run.id,
            actor,
            now,
            entries,
            partial: false,
            refused: Vec::new(),
            idempotency: None,
        })
        .await
        .map_err(|e| match e {
            StoreError::Invalid(fields) => {
                let first = fields.first().map(|f| {
                    let single = !f.field.starts_with("results[");
                    let field = f.field.replace("test_case_id", "case_id");
                    let field = if single { "case_id".to_string() } else { field };
                    format!(
                        "Field :{field} is not a valid test case of this run ({}).",
                        f.message.trim_end_matches('.')
                    )
                });
                TrError::bad(first.unwrap_or_else(|| "Invalid results.".into()))
            }
            StoreError::Conflict { .. } => closed(),
            other => other.into(),
        })?;
    if !outcome.replayed {
        state.metrics.results_written(outcome.updated);
    }
    Ok(outcome
        .results
        .iter()
        .zip(&executions)
        .map(|(applied, e)| execution_json(applied.id, e, actor, now))
        .collect())
}

fn closed() -> TrError {
    TrError::bad("The test run is closed: it takes no more results.")
}

/// Prefixes the field a [`TrError`] names (`Field :status_id` →
/// `Field :results[3].status_id`).
fn at(prefix: &str, e: TrError) -> TrError {
    if prefix.is_empty() {
        return e;
    }
    TrError {
        message: e
            .message
            .replacen("Field :", &format!("Field :{prefix}"), 1),
        ..e
    }
}

/// A TestRail result's fields as an execution: `status_id` (required),
/// `comment` (the note), `elapsed` (a timespan), `defects` (comma
/// separated), `custom_step_results`. `version`, `assignedto_id` and
/// custom fields are not kept; unknown fields are ignored, as TestRail
/// does (trcli sends its own `attachments` list along).
fn execution_of(entry: &Map<String, Value>, prefix: &str, state: &AppState) -> TrResult<Execution> {
    let b = Body(entry.clone());
    let status = b
        .int("status_id")
        .map_err(|e| at(prefix, e))?
        .ok_or_else(|| TrError::missing(&format!("{prefix}status_id")))?;
    let status = wire::status_of(status).ok_or_else(|| {
        TrError::invalid(
            &format!("{prefix}status_id"),
            "is not a valid status (1 passed, 2 blocked, 3 untested, 4 retest, 5 failed)",
        )
    })?;
    let max_note = state.limits.max_note_bytes;
    let note = match b.str("comment").map_err(|e| at(prefix, e))? {
        Some(c) if c.len() > max_note => {
            return Err(TrError::invalid(
                &format!("{prefix}comment"),
                &format!("is longer than {max_note} bytes ({})", c.len()),
            ));
        }
        Some(c) if !c.trim().is_empty() => Some(c),
        _ => None,
    };
    let elapsed_ms = match b.str("elapsed").map_err(|e| at(prefix, e))? {
        Some(text) if !text.trim().is_empty() => Some(
            wire::parse_timespan(&text)
                .filter(|ms| *ms <= MAX_ELAPSED_SECONDS * 1000)
                .ok_or_else(|| {
                    TrError::invalid(
                        &format!("{prefix}elapsed"),
                        "is not a valid timespan (such as 30s, 1m 5s or 2h)",
                    )
                })?,
        ),
        _ => None,
    };
    let mut defects: Vec<String> = Vec::new();
    if let Some(text) = b.str("defects").map_err(|e| at(prefix, e))? {
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let d =
                defect(part).map_err(|why| TrError::invalid(&format!("{prefix}defects"), &why))?;
            if !defects.contains(&d) {
                defects.push(d);
            }
        }
    }
    if defects.len() > MAX_DEFECTS {
        return Err(TrError::invalid(
            &format!("{prefix}defects"),
            &format!("names more than {MAX_DEFECTS} defects"),
        ));
    }
    let step_results = match b.get("custom_step_results") {
        None => Vec::new(),
        Some(v) => steps_of(v, &format!("{prefix}custom_step_results"))?,
    };
    if status == Status::NotTested
        && (note.is_some() || !defects.is_empty() || !step_results.is_empty())
    {
        return Err(TrError::invalid(
            &format!("{prefix}status_id"),
            "3 (untested) clears the test: send it without comment, defects or step results",
        ));
    }
    Ok(Execution {
        status,
        note,
        elapsed_ms,
        step_results,
        defects,
        output: None,
    })
}

/// `custom_step_results: [{"status_id": 1, "actual": "…", …}]`.
fn steps_of(value: &Value, field: &str) -> TrResult<Vec<StepResult>> {
    let list = value
        .as_array()
        .ok_or_else(|| TrError::invalid(field, "is not a valid array"))?;
    if list.len() > MAX_STEP_RESULTS {
        return Err(TrError::invalid(
            field,
            &format!("has more than {MAX_STEP_RESULTS} steps"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, step)| {
            let name = format!("{field}[{i}]");
            let step = step
                .as_object()
                .ok_or_else(|| TrError::invalid(&name, "is not a valid object"))?;
            let b = Body(step.clone());
            let status = b
                .int("status_id")
                .map_err(|e| at(&format!("{name}."), e))?
                .and_then(wire::status_of)
                .filter(|s| *s != Status::NotTested)
                .ok_or_else(|| {
                    TrError::invalid(
                        &format!("{name}.status_id"),
                        "is not a valid step status (1 passed, 2 blocked, 4 retest, 5 failed)",
                    )
                })?;
            let actual = b
                .str("actual")
                .map_err(|e| at(&format!("{name}."), e))?
                .filter(|a| !a.trim().is_empty());
            if actual
                .as_ref()
                .is_some_and(|a| a.chars().count() > MAX_ACTUAL_CHARS)
            {
                return Err(TrError::invalid(
                    &format!("{name}.actual"),
                    &format!("is longer than {MAX_ACTUAL_CHARS} characters"),
                ));
            }
            Ok(StepResult { status, actual })
        })
        .collect()
}

// --- attachments -----------------------------------------------------------

/// `add_attachment_to_result/<result_id>`: multipart, the file in a part
/// named `attachment`; kept with the test's latest execution.
async fn add_attachment_to_result(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = ResultId::from_db(req.id(0, "result_id")?);
    let run = state
        .store
        .result_run(id)
        .await
        .or_field("result_id", "result")?;
    let (run, role) = req
        .caller
        .run(state, run)
        .await
        .map_err(|_| TrError::not_accessible("result_id", "result"))?;
    ensure(role, Role::Tester, "add attachments")?;
    if run.state == RunState::Closed {
        return Err(TrError::bad(
            "The test run is closed: it takes no more attachments.",
        ));
    }
    let mut request = axum::extract::Request::new(HttpBody::from(req.body.clone()));
    *request.headers_mut() = req.headers.clone();
    let multipart = files::multipart(state, request).await?;
    let received = files::receive_parts(state, multipart, "attachment").await?;
    if received.files.is_empty() {
        return Err(TrError::missing("attachment"));
    }
    let attached = files::attach(state, run.id, id, received.files, req.caller.user.id).await?;
    let first = attached
        .first()
        .ok_or_else(|| TrError::missing("attachment"))?;
    Ok(json!({ "attachment_id": first.id.get() }))
}

// --- lookups and rendering -------------------------------------------------

/// The run of the call's first id, and the caller's role in its project.
async fn run_of(state: &AppState, req: &TrRequest) -> TrResult<(Run, Role)> {
    let id = RunId::from_db(req.id(0, "run_id")?);
    req.caller.run(state, id).await
}

/// The test of the call's first id: its run, the caller's role, and the
/// result it is.
async fn test_of(state: &AppState, req: &TrRequest) -> TrResult<(Run, Role, TestResult)> {
    let id = ResultId::from_db(req.id(0, "test_id")?);
    let hidden = || TrError::not_accessible("test_id", "test");
    let run = state
        .store
        .result_run(id)
        .await
        .or_field("test_id", "test")?;
    let (run, role) = req.caller.run(state, run).await.map_err(|_| hidden())?;
    let result = state
        .store
        .get_result(run.id, id)
        .await
        .or_field("test_id", "test")?;
    Ok((run, role, result))
}

/// The test of `case` in `run`.
async fn result_of_case(state: &AppState, run: &Run, case: CaseId) -> TrResult<ResultId> {
    let missing = || TrError::not_accessible("case_id", "test case of this run");
    let found = state
        .store
        .get_case(case)
        .await
        .or_field("case_id", "test case")?;
    if found.project_id != run.project_id {
        return Err(missing());
    }
    // The case's results, newest run first: the run asked for is usually
    // among the first.
    let mut page = 1;
    loop {
        let listing = state
            .store
            .case_results(
                case,
                None,
                verdict_store::Page {
                    page,
                    per_page: wire::MAX_LIMIT as u32,
                },
            )
            .await?;
        if let Some(r) = listing.items.iter().find(|r| r.run_id == run.id) {
            return Ok(r.result_id);
        }
        if listing.items.is_empty() || i64::from(page) * wire::MAX_LIMIT >= listing.total {
            return Err(missing());
        }
        page += 1;
    }
}

fn user_number(u: Option<UserId>) -> Value {
    u.map_or(Value::Null, |u| json!(u.get()))
}

fn elapsed_json(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(wire::format_timespan(ms)))
}

fn defects_json(defects: &[String]) -> Value {
    if defects.is_empty() {
        Value::Null
    } else {
        json!(defects.join(", "))
    }
}

fn steps_json(steps: &[StepResult]) -> Value {
    if steps.is_empty() {
        return Value::Null;
    }
    steps
        .iter()
        .map(|s| {
            json!({
                "content": null,
                "expected": null,
                "actual": s.actual,
                "status_id": wire::status_id(s.status),
            })
        })
        .collect()
}

/// A test: a case in a run (a Verdict result).
fn test_json(r: &TestResult) -> Value {
    json!({
        "id": r.id.get(),
        "case_id": r.case_id.get(),
        "run_id": r.run_id.get(),
        "status_id": wire::status_id(r.status),
        "assignedto_id": user_number(r.assigned_to),
        "title": r.case_title,
        "template_id": 2,
        "type_id": 7,
        "priority_id": null,
        "estimate": null,
        "estimate_forecast": null,
        "refs": null,
        "milestone_id": null,
    })
}

/// A result from the fields of an execution.
#[allow(clippy::too_many_arguments)]
fn result_json(
    id: ResultId,
    status: Status,
    note: Option<&str>,
    elapsed_ms: Option<i64>,
    defects: &[String],
    steps: &[StepResult],
    by: Option<UserId>,
    at: Option<Timestamp>,
) -> Value {
    json!({
        "id": id.get(),
        "test_id": id.get(),
        "status_id": wire::status_id(status),
        "comment": note,
        "version": null,
        "elapsed": elapsed_json(elapsed_ms),
        "defects": defects_json(defects),
        "created_by": user_number(by),
        "created_on": at.map(wire::unix),
        "assignedto_id": null,
        "custom_step_results": steps_json(steps),
        "attachment_ids": [],
    })
}

/// A test's latest result.
fn latest_json(r: &TestResult) -> Value {
    result_json(
        r.id,
        r.status,
        r.note.as_deref(),
        r.elapsed_ms,
        &r.defects,
        &r.step_results,
        r.tested_by,
        r.tested_at,
    )
}

/// One result from a test's history.
fn history_json(e: &HistoryEntry) -> Value {
    result_json(
        e.result_id,
        e.status,
        e.note.as_deref(),
        e.elapsed_ms,
        &e.defects,
        &e.step_results,
        Some(e.tested_by),
        Some(e.tested_at),
    )
}

/// A result just written.
fn execution_json(id: ResultId, e: &Execution, by: UserId, at: Timestamp) -> Value {
    result_json(
        id,
        e.status,
        e.note.as_deref(),
        e.elapsed_ms,
        &e.defects,
        &e.step_results,
        Some(by),
        Some(at),
    )
}
