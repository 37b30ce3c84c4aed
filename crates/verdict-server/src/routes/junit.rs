//! POST /v1/runs/:rid/results/junit: a JUnit XML report (gzip allowed) as
//! executions, matched to cases by key (`classname.name`), following the
//! mapping table of API §4. Atomic like a bulk upload.

use axum::Json;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_junit::{Outcome, TestCase};
use verdict_store::{
    DetailsPatch, Execution, FieldError, ImportRequest, KeyedEntry, Priority, Role, Status, Step,
    StepResult, Timestamp,
};

use crate::auth::{Caller, ensure};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::execution::MAX_ELAPSED_SECONDS;
use crate::extract::{IdempotencyKeyHeader, Query, QuerySet, RunPath, decode, flag, read_body};
use crate::idempotent::fingerprint;
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(import))
}

fn is_xml(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/xml" || essence == "text/xml" || essence.ends_with("+xml")
}

/// Cuts a note to the limit on a character boundary.
fn clip(mut s: String, limit: usize) -> String {
    if s.len() > limit {
        let mut end = limit;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn elapsed(ms: Option<u64>) -> Option<i64> {
    ms.and_then(|ms| i64::try_from(ms).ok())
        .filter(|ms| *ms <= MAX_ELAPSED_SECONDS * 1000)
}

/// One testcase's executions in order; the last one is current. A flaky
/// pass is its failed attempts then the pass; a failure with reruns is the
/// first failure then each rerun. Only the last carries the testcase's
/// output, cut to its last `output_limit` bytes (a not-tested one none).
fn executions(
    tc: &TestCase,
    skipped_as: Status,
    note_limit: usize,
    output_limit: usize,
) -> Vec<Execution> {
    let mut all = executions_without_output(tc, skipped_as, note_limit);
    if let Some(last) = all.last_mut()
        && last.status != Status::NotTested
    {
        last.output = tc
            .output
            .as_deref()
            .map(|o| verdict_junit::tail(o, output_limit).into_owned())
            .filter(|o| !o.is_empty());
    }
    all
}

fn executions_without_output(
    tc: &TestCase,
    skipped_as: Status,
    note_limit: usize,
) -> Vec<Execution> {
    let failed = |d: &verdict_junit::Detail, ms| Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status: Status::Failed,
        note: Some(d.note(note_limit)).filter(|n| !n.is_empty()),
        elapsed_ms: elapsed(ms),
        output: None,
    };
    let attempts = tc.attempts.iter().map(|a| failed(&a.detail, a.time_ms));
    let last = match &tc.outcome {
        Outcome::Passed => Execution {
            step_results: Vec::new(),
            defects: Vec::new(),
            status: Status::Passed,
            note: None,
            elapsed_ms: elapsed(tc.time_ms),
            output: None,
        },
        Outcome::Failed(d) | Outcome::Errored(d) => {
            let mut all = vec![failed(d, tc.time_ms)];
            all.extend(attempts);
            return all;
        }
        Outcome::Skipped { .. } if skipped_as == Status::NotTested => Execution {
            step_results: Vec::new(),
            defects: Vec::new(),
            status: Status::NotTested,
            note: None,
            elapsed_ms: None,
            output: None,
        },
        Outcome::Skipped { message } => Execution {
            step_results: Vec::new(),
            defects: Vec::new(),
            status: skipped_as,
            note: Some(clip(
                match message.as_deref().filter(|m| !m.is_empty()) {
                    Some(m) => format!("skipped: {m}"),
                    None => "skipped".to_string(),
                },
                note_limit,
            )),
            elapsed_ms: elapsed(tc.time_ms),
            output: None,
        },
    };
    let mut all: Vec<Execution> = attempts.collect();
    all.push(last);
    all
}

/// What a testcase's properties say (TestRail-style, as trcli writes
/// them, and Verdict's own from an export).
#[derive(Default)]
struct Props {
    details: DetailsPatch,
    steps: Vec<StepResult>,
    defects: Vec<String>,
    comments: Vec<String>,
    status: Option<Status>,
    key: Option<String>,
}

fn step_status(s: &str) -> Option<Status> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "passed" => Status::Passed,
        "failed" => Status::Failed,
        "blocked" => Status::Blocked,
        "retest" => Status::Retest,
        "untested" | "not_tested" => Status::NotTested,
        "skipped" => Status::Blocked,
        _ => return None,
    })
}

fn priority_id(s: &str) -> Option<Priority> {
    Some(match s.trim() {
        "1" => Priority::Low,
        "2" => Priority::Medium,
        "3" => Priority::High,
        "4" => Priority::Critical,
        _ => return None,
    })
}

fn step_text(s: &str, what: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err(format!("{what}: a step must not be empty"))
    } else if t.chars().count() > api::MAX_STEP_CHARS {
        Err(format!(
            "{what}: a step must be at most {} characters",
            api::MAX_STEP_CHARS
        ))
    } else {
        Ok(t.to_string())
    }
}

/// Reads the properties Verdict understands; `Err` says which is malformed.
fn props(tc: &TestCase) -> Result<Props, String> {
    let mut p = Props::default();
    let mut custom_steps: Option<String> = None;
    let mut custom_expected: Option<String> = None;
    for prop in &tc.properties {
        let value = prop.value.as_str();
        match prop.name.as_str() {
            "verdict_status" => {
                p.status = Some(Status::parse(value.trim()).ok_or_else(|| {
                    format!("verdict_status {value:?} is not one of passed, failed, blocked, retest, not_tested")
                })?);
            }
            "verdict_key" => {
                p.key = Some(
                    verdict_junit::case_key(value)
                        .ok_or_else(|| "verdict_key must not be empty".to_string())?,
                );
            }
            "testrail_case_field" => {
                let (field, rest) = value
                    .split_once(':')
                    .ok_or_else(|| format!("testrail_case_field {value:?} is not field:value"))?;
                match field.trim() {
                    "refs" => {
                        let mut refs: Vec<String> = Vec::new();
                        for r in rest.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                            let r = crate::execution::defect(r)
                                .map_err(|e| format!("refs: a ref {e}"))?;
                            if !refs.contains(&r) {
                                refs.push(r);
                            }
                        }
                        if refs.len() > api::MAX_REFS {
                            return Err(format!("refs: at most {} refs", api::MAX_REFS));
                        }
                        p.details.refs = Some(refs);
                    }
                    "priority_id" => {
                        p.details.priority = Some(Some(priority_id(rest).ok_or_else(|| {
                            format!("priority_id {:?} is not 1, 2, 3 or 4", rest.trim())
                        })?));
                    }
                    "custom_preconds" => {
                        if rest.chars().count() > api::MAX_PRECONDITIONS_CHARS {
                            return Err(format!(
                                "custom_preconds must be at most {} characters",
                                api::MAX_PRECONDITIONS_CHARS
                            ));
                        }
                        let t = rest.trim();
                        p.details.preconditions = Some((!t.is_empty()).then(|| t.to_string()));
                    }
                    "custom_steps_separated" => {
                        #[derive(serde::Deserialize)]
                        struct Separated {
                            content: String,
                            #[serde(default)]
                            expected: Option<String>,
                        }
                        let list: Vec<Separated> = serde_json::from_str(rest).map_err(|e| {
                            format!("custom_steps_separated is not a JSON array of {{content, expected}}: {e}")
                        })?;
                        if list.len() > api::MAX_STEPS {
                            return Err(format!(
                                "custom_steps_separated: at most {} steps",
                                api::MAX_STEPS
                            ));
                        }
                        let mut steps = Vec::with_capacity(list.len());
                        for s in list {
                            steps.push(Step {
                                action: step_text(&s.content, "custom_steps_separated")?,
                                expected: match s.expected.as_deref().map(str::trim) {
                                    Some(e) if !e.is_empty() => {
                                        Some(step_text(e, "custom_steps_separated")?)
                                    }
                                    _ => None,
                                },
                            });
                        }
                        p.details.steps = Some(steps);
                    }
                    "custom_steps" => custom_steps = Some(rest.to_string()),
                    "custom_expected" => custom_expected = Some(rest.to_string()),
                    _ => {}
                }
            }
            "testrail_result_step" => {
                let (status, text) = value.split_once(':').unwrap_or((value, ""));
                let status = step_status(status).ok_or_else(|| {
                    format!("testrail_result_step {value:?} does not start with passed, failed, blocked, retest, untested or skipped and a colon")
                })?;
                let text = text.trim();
                if text.chars().count() > api::MAX_ACTUAL_CHARS {
                    return Err(format!(
                        "testrail_result_step: the text must be at most {} characters",
                        api::MAX_ACTUAL_CHARS
                    ));
                }
                // An export writes `Step N` for a step without an actual.
                let placeholder = format!("Step {}", p.steps.len() + 1);
                let actual = (!text.is_empty() && text != placeholder).then(|| text.to_string());
                p.steps.push(StepResult { status, actual });
                if p.steps.len() > api::MAX_STEP_RESULTS {
                    return Err(format!(
                        "testrail_result_step: at most {} steps",
                        api::MAX_STEP_RESULTS
                    ));
                }
            }
            "testrail_result_comment" => {
                let t = value.trim();
                if !t.is_empty() {
                    p.comments.push(t.to_string());
                }
            }
            "testrail_result_field" => {
                let (field, rest) = value
                    .split_once(':')
                    .ok_or_else(|| format!("testrail_result_field {value:?} is not field:value"))?;
                if field.trim() == "defects" {
                    for d in rest.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                        let d = crate::execution::defect(d)
                            .map_err(|e| format!("defects: a defect {e}"))?;
                        if !p.defects.contains(&d) {
                            p.defects.push(d);
                        }
                    }
                    if p.defects.len() > api::MAX_DEFECTS {
                        return Err(format!("defects: at most {} defects", api::MAX_DEFECTS));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(action) = custom_steps {
        let expected = custom_expected
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| step_text(e, "custom_expected"))
            .transpose()?;
        p.details.steps = Some(vec![Step {
            action: step_text(&action, "custom_steps")?,
            expected,
        }]);
    }
    Ok(p)
}

/// Applies what the properties say to a testcase's last (current)
/// execution: `verdict_status` wins over the elements, step results and
/// defects are recorded, comments appended to the note.
fn apply(last: &mut Execution, p: &Props, note_limit: usize) {
    if let Some(status) = p.status {
        last.status = status;
    }
    if last.status == Status::NotTested {
        *last = Execution::new(Status::NotTested, None, None);
        return;
    }
    last.step_results = p.steps.clone();
    last.defects = p.defects.clone();
    if !p.comments.is_empty() {
        let mut note = last.note.take().unwrap_or_default();
        for c in &p.comments {
            if !note.is_empty() {
                note.push('\n');
            }
            note.push_str(c);
        }
        last.note = Some(clip(note, note_limit));
    }
}

fn entries(
    testcases: &[TestCase],
    skipped_as: Status,
    note_limit: usize,
    output_limit: usize,
) -> Result<Vec<KeyedEntry>, ApiError> {
    let mut out = Vec::with_capacity(testcases.len());
    let mut errors = Vec::new();
    for (index, tc) in testcases.iter().enumerate() {
        let props = if tc.properties.is_empty() {
            Props::default()
        } else {
            match props(tc) {
                Ok(p) => p,
                Err(message) => {
                    errors.push(FieldError::new(
                        format!("testcases[{index}].properties"),
                        message,
                    ));
                    continue;
                }
            }
        };
        // The key rule the cases API applies too; title and suite made to
        // fit its limits, so what an import creates the API would accept.
        let key = props.key.clone().unwrap_or_else(|| tc.key());
        let title = tc
            .name
            .as_deref()
            .and_then(verdict_junit::case_text)
            .unwrap_or_else(|| key.clone());
        let suite = tc.classname.as_deref().and_then(verdict_junit::case_text);
        let mut all = executions(tc, skipped_as, note_limit, output_limit);
        if !tc.properties.is_empty()
            && let Some(last) = all.last_mut()
        {
            apply(last, &props, note_limit);
        }
        for execution in all {
            out.push(KeyedEntry {
                details: props.details.clone(),
                index,
                key: key.clone(),
                title: title.clone(),
                suite: suite.clone(),
                execution,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// The JUnit import's options.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JunitQuery {
    /// Create cases for keys the project lacks (title = the testcase name, suite = the classname) and add existing project cases to the run. `true` or `false`.
    #[serde(default, deserialize_with = "flag")]
    #[param(default = false)]
    create_missing: bool,
    /// Report matched / would-create / unmatched and write nothing. `true` or `false`.
    #[serde(default, deserialize_with = "flag")]
    #[param(default = false)]
    dry_run: bool,
    /// Apply what matches and list the rest in `rejected` (200). `true` or `false`.
    #[serde(default, deserialize_with = "flag")]
    #[param(default = false)]
    partial: bool,
    /// The status a skipped testcase gets.
    #[serde(default = "blocked", deserialize_with = "skipped_as")]
    #[param(value_type = SkippedAs, inline)]
    skipped_as: Status,
}

impl QuerySet for JunitQuery {}

fn blocked() -> Status {
    Status::Blocked
}

fn skipped_as<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
    match String::deserialize(d)?.as_str() {
        "blocked" => Ok(Status::Blocked),
        "retest" => Ok(Status::Retest),
        "not_tested" => Ok(Status::NotTested),
        _ => Err(serde::de::Error::custom(
            "must be one of blocked, retest, not_tested",
        )),
    }
}

/// What `skipped_as` takes.
struct SkippedAs;

impl utoipa::PartialSchema for SkippedAs {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        verdict_api::schema::schema(serde_json::json!({
            "type": "string",
            "enum": ["blocked", "retest", "not_tested"],
            "default": "blocked",
        }))
    }
}

impl utoipa::ToSchema for SkippedAs {}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/results/junit", tag = "results", operation_id = "import_junit",
    summary = "Import a JUnit XML report (tester)",
    description = "Testcases map to cases by key (`classname.name`, or a `verdict_key` property): no child element is `passed`, `<failure>`/`<error>` is `failed`, `<skipped>` is `blocked` (see `skipped_as`), and a `verdict_status` property wins over the elements; flaky and rerun attempts are separate executions, the last one current, which keeps the testcase's `system-out`, `system-err` and failure body as its `output` (the last `--max-output-bytes`; read with `?include=output`). TestRail-style testcase properties (trcli's names) are read: `testrail_case_field` `refs:`, `priority_id:1..4`, `custom_preconds:`, `custom_steps_separated:` (JSON), `custom_steps:`/`custom_expected:` set the case's details; `testrail_result_step` (`passed:actual`), `testrail_result_field` `defects:A-1,A-2` and `testrail_result_comment` go with the current execution. A malformed value of one of these is a 422 naming `testcases[i].properties`. Atomic like a bulk upload (`?partial=true` as there): without `create_missing`, a key with no case in the run is a 422 naming `testcases[i]`. Gzip bodies are accepted (`Content-Encoding: gzip` or the gzip magic bytes); the size limit applies after decoding. Not XML, truncated, a DTD or entity declaration, or too deep: 400 with the position, nothing written.",
    params(RunPath, JunitQuery, IdempotencyKeyHeader),
    request_body(content = crate::openapi::xml::JunitReport, content_type = "application/xml",
        description = "A JUnit/xUnit XML report (`application/xml`, `text/xml` or `*+xml`; gzip allowed).",
        example = json!("<testsuite name=\"auth\"><testcase classname=\"auth.LoginTest\" name=\"validCredentials\" time=\"1.234\"/><testcase classname=\"auth.LoginTest\" name=\"wrongPassword\"><failure type=\"AssertionError\" message=\"expected 401\">stack</failure></testcase></testsuite>")),
    responses((status = 200, description = "What the import did, or with `dry_run=true` what it would do.",
        body = JunitAnswerData,
        headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key."))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Invalid),
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query(JunitQuery {
        create_missing,
        dry_run,
        partial,
        skipped_as,
    }): Query<JunitQuery>,
    IdempotencyKeyHeader { key }: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_xml(content_type) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the report as application/xml (got {:?})",
            if content_type.is_empty() {
                "no content type"
            } else {
                content_type
            }
        )));
    }
    let (_, role) = caller.run(&state, run).await?;
    ensure(role, Role::Tester, "import results")?;
    let limits = &state.limits;
    let raw = read_body(req, limits.max_body_bytes).await?;
    let xml = decode(&headers, &raw, limits.max_body_bytes)?;
    let parse_limits = verdict_junit::Limits {
        max_depth: limits.max_xml_depth,
        max_text_bytes: limits.max_note_bytes,
        max_output_bytes: limits.max_output_bytes,
    };
    // Parsing is CPU work proportional to the report: keep it off the
    // async workers.
    let report =
        tokio::task::spawn_blocking(move || verdict_junit::parse_with(&xml, &parse_limits))
            .await
            .map_err(|e| ApiError::Internal(format!("parse task failed: {e}")))?
            .map_err(|e| ApiError::Malformed(format!("malformed JUnit XML at {e}")))?;
    let testcases = report.testcases.len() as u64;
    let entries = entries(
        &report.testcases,
        skipped_as,
        limits.max_note_bytes,
        limits.max_output_bytes,
    )?;
    if entries.len() > limits.max_bulk_results {
        return Err(ApiError::TooLarge(format!(
            "the report holds {} executions; the limit is {} per request: split it \
             (verdict upload sends large reports in chunks)",
            entries.len(),
            limits.max_bulk_results
        )));
    }
    let executions = entries.len() as u64;
    let idempotency = key.map(|key| verdict_store::IdempotencyKey {
        key,
        fingerprint: fingerprint("POST", &uri, &raw),
    });
    let outcome = state
        .store
        .import_results(ImportRequest {
            run,
            actor: caller.user.id,
            now: Timestamp::now(),
            entries,
            create_missing,
            dry_run,
            partial,
            idempotency,
        })
        .await?;
    if outcome.dry_run {
        return Ok(Json(api::Data {
            data: api::JunitDryRun {
                dry_run: true,
                testcases,
                executions,
                matched: outcome.matched,
                would_create: outcome.created,
                would_add: outcome.added,
                unmatched: outcome.unmatched,
            },
        })
        .into_response());
    }
    if !outcome.bulk.replayed {
        state.metrics.results_written(outcome.bulk.updated);
    }
    let bulk = dto::bulk_outcome(&outcome.bulk, partial);
    let mut response = Json(api::Data {
        data: api::JunitOutcome {
            updated: bulk.updated,
            testcases,
            results: bulk.results,
            created: outcome.created,
            added: outcome.added,
            matched: outcome.matched,
            rejected: bulk.rejected,
        },
    })
    .into_response();
    if outcome.bulk.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
