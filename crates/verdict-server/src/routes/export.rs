//! GET /v1/runs/:rid/export: a run's results as CSV or JUnit XML (API §11).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::export::{Export, Format};
use crate::extract::{Query, QuerySet, RunPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(export))
}

/// The export's options.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (the default) or `junit`.
    #[serde(default)]
    #[param(value_type = Option<ExportFormat>, inline)]
    format: Option<String>,
}

impl QuerySet for ExportQuery {}

/// What `format` takes.
struct ExportFormat;

impl utoipa::PartialSchema for ExportFormat {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        verdict_api::schema::schema(serde_json::json!({
            "type": "string",
            "enum": ["csv", "junit"],
            "default": "csv",
        }))
    }
}

impl utoipa::ToSchema for ExportFormat {}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/export", tag = "runs", operation_id = "export_run",
    summary = "A run's results as a file (CSV or JUnit XML)",
    description = "CSV (RFC 4180, UTF-8, a header row; testers as emails, defects joined by `, `, step results as `1 passed; 2 failed: actual`; a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so spreadsheets do not run it) or JUnit XML (one `<testsuite>` per suite; each testcase carries `verdict_status`, `verdict_key`, `testrail_result_step` and `testrail_result_field` properties, so importing the file into another run of the project restores statuses, step results and defects). Sent as a download (`Content-Disposition: attachment`).",
    params(RunPath, ExportQuery),
    responses(
        (status = 200, description = "The file.", content(
            (String = "text/csv; charset=utf-8", example = json!("result_id,case_id,case_key,title,suite,status,note,elapsed_ms,tested_by,tested_at,assigned_to,defects,step_results\r\nres_1,tc_1,,Login,Auth,failed,500 on submit,12000,ann@example.com,2026-03-26T10:15:00Z,ann@example.com,SHOP-2291,1 passed; 2 failed: 500 on submit\r\n")),
            (String = "application/xml"),
        )),
        Unauthorized, NotFound, Invalid),
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RunPath { rid }: RunPath,
    Query(ExportQuery { format }): Query<ExportQuery>,
) -> ApiResult<Response> {
    let (run, _) = caller.run(&state, rid).await?;
    // Left out, CSV; given, exactly one of the two (an empty value too is
    // a 422, as the published enum says).
    let format = match format.as_deref() {
        None => Format::Csv,
        Some(f) => {
            Format::parse(f).ok_or_else(|| ApiError::invalid("format", "must be csv or junit"))?
        }
    };
    Ok(Export::load(&state, run).await?.response(format))
}
