//! Triage (API §10): a run compared with its baseline, its failures grouped
//! by signature, the quality gate; a project's flaky cases, durations and
//! trend; a case across runs. Every one a read for any member.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_api::schema as s;
use verdict_store::backend::triage::{GateRules, MAX_WINDOW, evaluate};
use verdict_store::{BaselineChoice, BranchFilter, Category, DurationQuery, DurationSort, RunId};

use crate::auth::Caller;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{CasePath, PageQuery, ProjectPath, Query, QuerySet, RunPath, flag};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::listing;
use crate::routes::runs::branch_param;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(compare))
        .routes(routes!(failures))
        .routes(routes!(gate))
        .routes(routes!(flaky))
        .routes(routes!(case_results))
        .routes(routes!(durations))
        .routes(routes!(trends))
}

/// The results a failure group lists (the first, by result id).
const RESULTS_PER_GROUP: usize = 20;
/// The default window of runs, and of a trend.
const DEFAULT_WINDOW: u32 = 30;
/// The default least flip score that lists a case.
const DEFAULT_THRESHOLD: f64 = 0.1;
/// The largest count `max_failures` and `min_tests` take.
const MAX_COUNT: i64 = 1_000_000_000;

// ---- parameter values --------------------------------------------------------

fn auto() -> BaselineChoice {
    BaselineChoice::Auto
}

/// `auto` or a run id.
fn baseline_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BaselineChoice, D::Error> {
    let text = String::deserialize(d)?;
    if text == "auto" {
        return Ok(BaselineChoice::Auto);
    }
    text.parse::<RunId>()
        .map(BaselineChoice::Run)
        .map_err(|_| serde::de::Error::custom("must be auto or a run id (run_…)"))
}

fn window() -> u32 {
    DEFAULT_WINDOW
}

/// A count of runs: 1 to 500.
fn runs_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match String::deserialize(d)?.parse::<u32>() {
        Ok(n) if (1..=MAX_WINDOW).contains(&n) => Ok(n),
        _ => Err(serde::de::Error::custom(format!(
            "must be a whole number from 1 to {MAX_WINDOW}"
        ))),
    }
}

fn threshold() -> f64 {
    DEFAULT_THRESHOLD
}

fn number_in<'de, D: serde::Deserializer<'de>>(d: D, max: f64) -> Result<f64, D::Error> {
    match String::deserialize(d)?.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(x),
        _ => Err(serde::de::Error::custom(format!(
            "must be a number from 0 to {max}"
        ))),
    }
}

/// A flip score: 0 to 1.
fn fraction<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    number_in(d, 1.0)
}

/// A percentage: 0 to 100.
fn percent<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number_in(d, 100.0).map(Some)
}

/// A count: 0 to [`MAX_COUNT`].
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match String::deserialize(d)?.parse::<i64>() {
        Ok(n) if (0..=MAX_COUNT).contains(&n) => Ok(Some(n)),
        _ => Err(serde::de::Error::custom(format!(
            "must be a whole number from 0 to {MAX_COUNT}"
        ))),
    }
}

fn yes() -> bool {
    true
}

/// One category or a comma-separated list.
fn categories<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Category>, D::Error> {
    String::deserialize(d)?
        .split(',')
        .map(|c| {
            Category::parse(c.trim()).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{c:?} is not a category: use one or more of new_failure, still_failing, fixed, new_test, missing, changed, unchanged (comma-separated)"
                ))
            })
        })
        .collect()
}

fn sort_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DurationSort, D::Error> {
    match String::deserialize(d)?.as_str() {
        "slowest" => Ok(DurationSort::Slowest),
        "regressed" => Ok(DurationSort::Regressed),
        _ => Err(serde::de::Error::custom("must be slowest or regressed")),
    }
}

fn slowest() -> DurationSort {
    DurationSort::Slowest
}

/// One category or a comma-separated list of them, with the whitespace
/// `trim` ignores around each.
struct CategoryList;

impl utoipa::PartialSchema for CategoryList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = format!("[{}]*", s::WHITESPACE);
        let one =
            format!("{ws}(new_failure|still_failing|fixed|new_test|missing|changed|unchanged){ws}");
        s::schema(serde_json::json!({
            "type": "string",
            "pattern": format!("^{one}(,{one})*$"),
        }))
    }
}

impl utoipa::ToSchema for CategoryList {}

/// `slowest` or `regressed`.
struct DurationOrder;

impl utoipa::PartialSchema for DurationOrder {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        s::schema(serde_json::json!({
            "type": "string",
            "enum": ["slowest", "regressed"],
            "default": "slowest",
        }))
    }
}

impl utoipa::ToSchema for DurationOrder {}

// ---- compare -------------------------------------------------------------------

/// What a comparison is made with, and which changes it lists.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareFilter {
    /// `auto` (the baseline rule, API §10) or another run of the project. A malformed id, an unknown run or a run of another project is a 422 naming `baseline`.
    #[serde(default = "auto", deserialize_with = "baseline_param")]
    #[param(value_type = Option<String>, pattern = "^(auto|run_0*[1-9][0-9]{0,17})$", default = "auto")]
    baseline: BaselineChoice,
    /// Only changes of these categories (comma-separated); by default every category but `unchanged`.
    #[serde(default, deserialize_with = "categories")]
    #[param(value_type = CategoryList, inline)]
    category: Vec<Category>,
}

impl QuerySet for CompareFilter {}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/compare", tag = "triage", operation_id = "compare_run",
    summary = "Compare a run with its baseline",
    description = "Every case the run or the baseline tests falls in one category (API §10): `summary` counts them all; `changes` lists one page of them (every category but `unchanged`, or those of `category`), ordered by category then case id, and `meta.total` counts what the filter matches.",
    params(RunPath, PageQuery, CompareFilter),
    responses((status = 200, description = "The comparison.", body = api::ComparisonPage,
        example = json!({"data": {"run_id": "run_042", "baseline_id": "run_041",
            "summary": {"new_failure": 1, "still_failing": 0, "fixed": 1, "new_test": 0,
                "missing": 0, "changed": 0, "unchanged": 40},
            "changes": [{"test_case_id": "tc_007", "key": "auth.LoginTest.expired",
                "title": "expired", "category": "new_failure", "status": "failed",
                "baseline_status": "passed", "result_id": "res_107",
                "signature": "4761c33f4bd22aec"}]},
            "meta": {"total": 2, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn compare(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query((paging, filter)): Query<(PageQuery, CompareFilter)>,
) -> ApiResult<Json<api::ComparisonPage>> {
    let page = paging.page();
    caller.run(&state, run).await?;
    let c = state
        .store
        .compare_runs(run, filter.baseline, filter.category, page)
        .await?;
    Ok(Json(api::ComparisonPage {
        data: api::Comparison {
            run_id: c.run_id.to_string(),
            baseline_id: c.baseline_id.map(|r| r.to_string()),
            summary: dto::compare_summary(&c.summary),
            changes: c.changes.items.iter().map(dto::change).collect(),
        },
        meta: api::Meta {
            total: c.changes.total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }))
}

// ---- failures ------------------------------------------------------------------

/// Which run a run's failures are held against (for `new`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BaselineParam {
    /// `auto` (the baseline rule, API §10) or another run of the project. A malformed id, an unknown run or a run of another project is a 422 naming `baseline`.
    #[serde(default = "auto", deserialize_with = "baseline_param")]
    #[param(value_type = Option<String>, pattern = "^(auto|run_0*[1-9][0-9]{0,17})$", default = "auto")]
    baseline: BaselineChoice,
}

impl QuerySet for BaselineParam {}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/failures", tag = "triage", operation_id = "run_failures",
    summary = "A run's failures, grouped by signature",
    description = "Failed results whose notes' first lines normalise to the same text share a signature (API §10). Largest group first (then by signature); each lists its first 20 results by result id; `new` is true when no failure of the baseline has the signature.",
    params(RunPath, PageQuery, BaselineParam),
    responses((status = 200, description = "A page of failure groups.", body = FailureGroupPage,
        example = json!({"data": [{"signature": "4761c33f4bd22aec",
            "message": "expected <n> but got <n>", "count": 2, "new": true,
            "results": [{"result_id": "res_101", "test_case_id": "tc_001", "title": "sum"},
                {"result_id": "res_102", "test_case_id": "tc_002", "title": "product"}]}],
            "meta": {"total": 1, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn failures(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query((paging, BaselineParam { baseline })): Query<(PageQuery, BaselineParam)>,
) -> ApiResult<Json<api::Page<api::FailureGroup>>> {
    let page = paging.page();
    caller.run(&state, run).await?;
    let report = state
        .store
        .run_failures(run, baseline, RESULTS_PER_GROUP, page)
        .await?;
    Ok(Json(listing(report.groups, page, dto::failure_group)))
}

// ---- gate ----------------------------------------------------------------------

/// A quality gate's rules: at least one of the first four.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GateQuery {
    /// `true`: no case may be a `new_failure`.
    #[serde(default, deserialize_with = "flag")]
    #[param(value_type = Option<bool>)]
    no_new_failures: bool,
    /// At most this many failed results.
    #[serde(default, deserialize_with = "count")]
    #[param(value_type = Option<usize>, minimum = 0, maximum = 1000000000)]
    max_failures: Option<i64>,
    /// At least this percent (0 to 100) of the tested results passed.
    #[serde(default, deserialize_with = "percent")]
    #[param(value_type = Option<f64>, minimum = 0, maximum = 100)]
    min_pass_rate: Option<f64>,
    /// At least this many tested results.
    #[serde(default, deserialize_with = "count")]
    #[param(value_type = Option<usize>, minimum = 0, maximum = 1000000000)]
    min_tests: Option<i64>,
    /// `true` (the default): quarantined cases count for no rule.
    #[serde(default = "yes", deserialize_with = "flag")]
    #[param(value_type = Option<bool>, default = true)]
    ignore_quarantined: bool,
    /// `auto` (the baseline rule, API §10) or another run of the project, for `no_new_failures`.
    #[serde(default = "auto", deserialize_with = "baseline_param")]
    #[param(value_type = Option<String>, pattern = "^(auto|run_0*[1-9][0-9]{0,17})$", default = "auto")]
    baseline: BaselineChoice,
}

impl QuerySet for GateQuery {}

impl GateQuery {
    fn rules(&self) -> GateRules {
        GateRules {
            no_new_failures: self.no_new_failures,
            max_failures: self.max_failures,
            min_pass_rate: self.min_pass_rate,
            min_tests: self.min_tests,
        }
    }
}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/gate", tag = "triage", operation_id = "run_gate",
    summary = "Check a run against a quality gate",
    description = "Each rule given is checked, in the order `no_new_failures`, `max_failures`, `min_pass_rate`, `min_tests`; `passed` is true when all pass. Quarantined cases count for no rule unless `ignore_quarantined=false`; `summary` counts every case. No rule given: 422 naming `rules`.",
    params(RunPath, GateQuery),
    responses((status = 200, description = "The gate's verdict.", body = GateData,
        example = json!({"data": {"passed": false, "baseline_id": "run_041",
            "rules": [{"rule": "no_new_failures", "passed": false, "actual": 1.0, "limit": 0.0},
                {"rule": "min_pass_rate", "passed": true, "actual": 97.5, "limit": 95.0}],
            "summary": {"new_failure": 1, "still_failing": 0, "fixed": 1, "new_test": 0,
                "missing": 0, "changed": 0, "unchanged": 38}}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn gate(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid: run }: RunPath,
    Query(query): Query<GateQuery>,
) -> ApiResult<Json<api::Data<api::Gate>>> {
    let rules = query.rules();
    if rules.is_empty() {
        return Err(ApiError::invalid(
            "rules",
            "give at least one rule: no_new_failures=true, max_failures, min_pass_rate or min_tests",
        ));
    }
    caller.run(&state, run).await?;
    let facts = state
        .store
        .gate_facts(run, query.baseline, query.ignore_quarantined)
        .await?;
    let rules: Vec<api::GateRule> = evaluate(&rules, &facts)
        .into_iter()
        .map(|r| api::GateRule {
            rule: r.rule.into(),
            passed: r.passed,
            actual: r.actual,
            limit: r.limit,
        })
        .collect();
    Ok(Json(api::Data {
        data: api::Gate {
            passed: rules.iter().all(|r| r.passed),
            baseline_id: facts.baseline_id.map(|r| r.to_string()),
            rules,
            summary: dto::compare_summary(&facts.summary),
        },
    }))
}

// ---- flaky ---------------------------------------------------------------------

/// Which runs a flaky question looks at, and what it lists.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlakyFilter {
    /// Only runs of this branch (exactly); by default every run of the project.
    #[serde(default, deserialize_with = "branch_param")]
    #[param(value_type = Option<s::BranchName>)]
    branch: BranchFilter,
    /// The latest this many runs that tested anything (1 to 500).
    #[serde(default = "window", deserialize_with = "runs_count")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 500, default = 30)]
    window: u32,
    /// The least flip score (0 to 1) that lists a case; a case that passed after a retry is listed whatever its score.
    #[serde(default = "threshold", deserialize_with = "fraction")]
    #[param(value_type = Option<f64>, minimum = 0, maximum = 1, default = 0.1)]
    threshold: f64,
}

impl QuerySet for FlakyFilter {}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/flaky", tag = "triage", operation_id = "list_flaky_cases",
    summary = "A project's flaky cases",
    description = "Over the latest `window` runs that tested anything, counting only `passed` and `failed`: `flips` are status changes between consecutive runs, `score` = flips ÷ (runs − 1), `retried_pass` the runs in which a failed execution was followed by a passed one (API §10). Listed when `score` ≥ `threshold` (with a flip) or `retried_pass` ≥ 1; by score, then retried passes, descending.",
    params(ProjectPath, PageQuery, FlakyFilter),
    responses((status = 200, description = "A page of flaky cases.", body = FlakyCasePage,
        example = json!({"data": [{"test_case_id": "tc_003", "key": "cart.CartTest.total",
            "title": "total", "score": 0.5, "flips": 2, "runs": 5, "retried_pass": 1,
            "quarantined": false, "last_flip_run_id": "run_005",
            "statuses": ["passed", "passed", "passed", "failed", "passed"]}],
            "meta": {"total": 1, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn flaky(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query((paging, filter)): Query<(PageQuery, FlakyFilter)>,
) -> ApiResult<Json<api::Page<api::FlakyCase>>> {
    let page = paging.page();
    caller.role_in(&state, project).await?;
    let query = verdict_store::FlakyQuery {
        branch: filter.branch,
        window: filter.window,
        threshold: filter.threshold,
    };
    let found = state.store.flaky_cases(project, query, page).await?;
    Ok(Json(listing(found, page, dto::flaky_case)))
}

// ---- a case across runs ----------------------------------------------------------

/// Which runs a history looks at.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchParam {
    /// Only runs of this branch (exactly); by default every run of the project.
    #[serde(default, deserialize_with = "branch_param")]
    #[param(value_type = Option<s::BranchName>)]
    branch: BranchFilter,
}

impl QuerySet for BranchParam {}

#[utoipa::path(
    get, path = "/v1/cases/{cid}/results", tag = "triage", operation_id = "list_case_results",
    summary = "A case's result in each run, newest run first",
    params(CasePath, PageQuery, BranchParam),
    responses((status = 200, description = "A page of the case's results.", body = CaseRunResultPage,
        example = json!({"data": [{"run_id": "run_042", "run_name": "CI #42", "branch": "main",
            "commit": "3f2a1c9", "result_id": "res_107", "status": "failed",
            "note": "expected 3 but got 4", "elapsed_ms": 1200, "tested_by": "user_002",
            "tested_at": "2026-03-26T10:15:00Z"}],
            "meta": {"total": 1, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn case_results(
    State(state): State<AppState>,
    caller: Caller,
    CasePath { cid: case }: CasePath,
    Query((paging, BranchParam { branch })): Query<(PageQuery, BranchParam)>,
) -> ApiResult<Json<api::Page<api::CaseRunResult>>> {
    let page = paging.page();
    let found = state.store.get_case(case).await?;
    caller.role_in_existing(&state, found.project_id).await?;
    let results = state.store.case_results(case, branch, page).await?;
    Ok(Json(listing(results, page, dto::case_run_result)))
}

// ---- durations -----------------------------------------------------------------

/// Which runs a durations question looks at, and its order.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DurationFilter {
    /// Only runs of this branch (exactly); by default every run of the project.
    #[serde(default, deserialize_with = "branch_param")]
    #[param(value_type = Option<s::BranchName>)]
    branch: BranchFilter,
    /// The latest this many runs that tested anything (1 to 500); the window before is as many again.
    #[serde(default = "window", deserialize_with = "runs_count")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 500, default = 30)]
    window: u32,
    /// `slowest` (by p50) or `regressed` (by change, those without one last).
    #[serde(default = "slowest", deserialize_with = "sort_param")]
    #[param(value_type = Option<DurationOrder>, inline)]
    sort: DurationSort,
}

impl QuerySet for DurationFilter {}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/durations", tag = "triage", operation_id = "list_durations",
    summary = "A project's cases by duration",
    description = "Per case with an elapsed time in the latest `window` runs: nearest-rank p50 and p95, the newest, the p50 of the window before and `change` = p50 ÷ previous p50 (API §10).",
    params(ProjectPath, PageQuery, DurationFilter),
    responses((status = 200, description = "A page of cases' durations.", body = CaseDurationsPage,
        example = json!({"data": [{"test_case_id": "tc_009", "title": "checkout",
            "runs": 30, "p50_ms": 5200, "p95_ms": 7900, "last_ms": 5100,
            "previous_p50_ms": 2600, "change": 2.0}],
            "meta": {"total": 1, "page": 1, "per_page": 20}})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn durations(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query((paging, filter)): Query<(PageQuery, DurationFilter)>,
) -> ApiResult<Json<api::Page<api::CaseDurations>>> {
    let page = paging.page();
    caller.role_in(&state, project).await?;
    let query = DurationQuery {
        branch: filter.branch,
        window: filter.window,
        sort: filter.sort,
    };
    let found = state.store.durations(project, query, page).await?;
    Ok(Json(listing(found, page, dto::case_durations)))
}

// ---- trends --------------------------------------------------------------------

/// Which runs a trend shows.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendFilter {
    /// Only runs of this branch (exactly); by default every run of the project.
    #[serde(default, deserialize_with = "branch_param")]
    #[param(value_type = Option<s::BranchName>)]
    branch: BranchFilter,
    /// The latest this many runs (1 to 500), those with nothing tested included.
    #[serde(default = "window", deserialize_with = "runs_count")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 500, default = 30)]
    runs: u32,
}

impl QuerySet for TrendFilter {}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/trends", tag = "triage", operation_id = "project_trends",
    summary = "A project's latest runs, oldest first",
    description = "One row per run: its counts, `pass_rate` = passed ÷ tested (null when nothing is tested) and `elapsed_ms`, the sum of its results' elapsed times.",
    params(ProjectPath, TrendFilter),
    responses((status = 200, description = "The runs, oldest first.", body = TrendRowList,
        example = json!({"data": [{"run_id": "run_041", "name": "CI #41",
            "created_at": "2026-03-26T10:15:00Z", "branch": "main",
            "counts": {"passed": 39, "failed": 1, "blocked": 0, "retest": 0,
                "not_tested": 0, "total": 40},
            "pass_rate": 0.975, "elapsed_ms": 81200}]})),
        Unauthorized, NotFound, Invalid),
)]
pub async fn trends(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query(filter): Query<TrendFilter>,
) -> ApiResult<Json<api::Data<Vec<api::TrendRow>>>> {
    caller.role_in(&state, project).await?;
    let rows = state
        .store
        .trends(project, filter.branch, filter.runs)
        .await?;
    Ok(Json(api::Data {
        data: rows.iter().map(dto::trend_row).collect(),
    }))
}
