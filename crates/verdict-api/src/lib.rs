//! Verdict's wire types: what goes over HTTP, as JSON. Ids, statuses and
//! times are plain strings here (`res_001`, `passed`, RFC 3339), so a client
//! needs nothing but serde. The server parses these into domain types at
//! its edge.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
pub mod schema;
mod webhooks;

pub use webhooks::*;

/// `{ "data": … }`: every answer with a body. The OpenAPI document names
/// each one it uses (`ProjectData`, referencing `Project`) instead of
/// deriving a schema here: a generic one would copy the entity inline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// A page of a list and where it stands (named per entity in the OpenAPI
/// document, as `Data` is: `ProjectPage`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meta {
    /// How many items the filter matches in all.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Present on result lists when this page is full: pass it as `after`
    /// to read the next page in constant time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::ResultId>))]
    pub next_after: Option<String>,
}

/// The error envelope every error answers with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

// --- resources --------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub id: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Token {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TokenId))]
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Timestamp>))]
    pub last_used_at: Option<String>,
}

/// A token as minted: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TokenId))]
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ProjectId))]
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    /// Turns a result's defects into links: `{id}` is replaced by the
    /// percent-encoded defect. Null when the project has none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::DefectUrlTemplate))]
    pub defect_url_template: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub user_id: String,
    pub name: String,
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Role))]
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ProjectId))]
    pub project_id: String,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::OptionalText))]
    pub key: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::OptionalText))]
    pub suite: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    /// Set while the case is quarantined: the quality gate counts it for
    /// no rule (its results are still recorded and shown).
    pub quarantined: Option<Quarantine>,
    /// What must hold before the steps (multi-line); null when none.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Preconditions))]
    pub preconditions: Option<String>,
    /// What a tester does, in order; empty when none.
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub steps: Vec<Step>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Priority))]
    pub priority: Option<String>,
    /// Requirement or issue keys; empty when none.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Refs))]
    pub refs: Vec<String>,
}

/// The most characters a case's preconditions may have.
pub const MAX_PRECONDITIONS_CHARS: usize = 65_536;
/// The most steps a case may have.
pub const MAX_STEPS: usize = 100;
/// The most characters of a step's action or expected outcome.
pub const MAX_STEP_CHARS: usize = 10_000;
/// The most refs a case may have.
pub const MAX_REFS: usize = 100;
/// The most characters of one ref.
pub const MAX_REF_CHARS: usize = 255;
/// Most step results one execution carries.
pub const MAX_STEP_RESULTS: usize = 100;
/// Longest step result `actual`, in characters.
pub const MAX_ACTUAL_CHARS: usize = 10_000;
/// Most defects one execution carries.
pub const MAX_DEFECTS: usize = 50;
/// Longest defect id, in characters.
pub const MAX_DEFECT_CHARS: usize = 255;

/// One step of a case: what to do and, optionally, what should happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::StepAction))]
    pub action: String,
    /// At most 10,000 characters as sent; trimmed, and then empty means none.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, max_length = 10000, required = false)
    )]
    pub expected: Option<String>,
}

/// Absent is `None`; present, even `null`, is `Some` (a field a PATCH or
/// an upsert by key clears with `null`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Absent is `None`; `null` is the empty list, as `[]` is.
fn list_or_null<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(d).map(|v| Some(v.unwrap_or_default()))
}

/// Why a case is quarantined, by whom, since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quarantine {
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub passed: i64,
    pub failed: i64,
    pub blocked: i64,
    pub retest: i64,
    pub not_tested: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ProjectId))]
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub key: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunState))]
    pub state: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Timestamp>))]
    pub closed_at: Option<String>,
    pub counts: Counts,
    /// The branch the run's code was built from (null when not given).
    pub branch: Option<String>,
    /// The commit built, lower-case hex (null when not given).
    pub commit: Option<String>,
    /// The CI build that made the run (null when not given).
    pub build_url: Option<String>,
    /// Where it ran, free text such as `linux / chromium 131` (null when
    /// not given). Runs are compared with runs of the same environment.
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestResult {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    pub test_case_title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Status))]
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Note))]
    pub note: Option<String>,
    /// Whole seconds (rounded down), as the Test Results API has it.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Elapsed))]
    pub elapsed: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ElapsedMs))]
    pub elapsed_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>))]
    pub tested_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Timestamp>))]
    pub tested_at: Option<String>,
    /// The latest execution's outcome of each of the case's steps, by
    /// position (`[]` when none were recorded).
    #[serde(default)]
    pub step_results: Vec<StepResult>,
    /// The latest execution's defect ids (`[]` when none).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Defects))]
    pub defects: Vec<String>,
    /// Who is to test it next (null: nobody). Kept across executions.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>))]
    pub assigned_to: Option<String>,
    /// The latest execution's output (a JUnit testcase's `system-out`, `system-err` and failure text, its last `--max-output-bytes`): present only when asked for with `?include=output` (then
    /// null when there is none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub output: Option<Option<String>>,
}

/// The outcome of one step of a case in one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepResult {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Status))]
    pub status: String,
    /// What actually happened, when it differs from the expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub actual: Option<String>,
}

/// One result on the caller's *My work* list: the result and where it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkItem {
    #[serde(flatten)]
    pub result: TestResult,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunId))]
    pub run_id: String,
    pub run_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ProjectId))]
    pub project_id: String,
    pub project_name: String,
}

/// `PATCH /v1/runs/:rid/results/:id/assignment`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetAssignment {
    /// The assignee: a member of the run's project with role tester or
    /// manager, or an admin. `null` assigns the result to nobody.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>, required = true))]
    pub user_id: Option<String>,
}

/// `POST /v1/runs/:rid/assign`: an assignee and exactly one selector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignResults {
    /// The assignee (see `SetAssignment`); `null`: nobody.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>, required = true))]
    pub user_id: Option<String>,
    /// These results of the run: 1 to 10,000 distinct ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::schema::ResultId>>, min_items = 1, max_items = 10000))]
    pub result_ids: Option<Vec<String>>,
    /// Every result whose case lies in this section (its suite, or one
    /// nested in it: `Checkout / Payments` is in `Checkout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// `true`: every result of the run assigned to nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unassigned: Option<bool>,
}

/// How many results an assignment matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assigned {
    pub assigned: u64,
}

/// One execution in a result's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Execution {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub result_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Status))]
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Note))]
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Elapsed))]
    pub elapsed: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ElapsedMs))]
    pub elapsed_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub tested_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub tested_at: String,
    #[serde(default)]
    pub step_results: Vec<StepResult>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Defects))]
    pub defects: Vec<String>,
    /// The execution's output: present only when asked for with `?include=output` (then
    /// null when there is none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub output: Option<Option<String>>,
}

/// A file attached to one execution of a result (a screenshot, a log).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": "att_001", "result_id": "res_001", "execution": 1, "name": "screenshot.png",
    "content_type": "image/png", "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_by": "user_001", "created_at": "2026-03-26T10:15:00Z"})))]
pub struct Attachment {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::AttachmentId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub result_id: String,
    /// The execution it belongs to: its position in the result's history,
    /// oldest first, from 1 (0: attached before the first execution).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub execution: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::AttachmentName))]
    pub name: String,
    /// The MIME type it was sent with (`application/octet-stream` when none).
    pub content_type: String,
    /// Bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Sha256))]
    pub sha256: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::UserId))]
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
}

// --- requests ----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub name: String,
    /// `name@domain`: at most 254 characters; trimmed, no spaces, one `@`;
    /// unique regardless of case.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 254,
            pattern = r"^[\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+[\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
        )
    )]
    pub email: String,
    /// For the web UI's sign-in: 8 characters to 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>))]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::schema::DefectUrlTemplate, required = false)
    )]
    pub defect_url_template: Option<String>,
}

/// One section of a project: the cases whose `suite` is exactly this
/// (`null`: the cases without one). Sections nest by ` / `
/// (`Checkout / Payments` is inside `Checkout`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Section {
    pub suite: Option<String>,
    /// How many live cases carry exactly this suite.
    pub cases: i64,
}

/// How many tokens (API tokens and browser sessions) were revoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoked {
    pub revoked: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Role))]
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseKey))]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::OptionalText))]
    pub suite: Option<String>,
    /// Multi-line. Left out: none on create; in a bulk upsert, a case that
    /// exists keeps its own (`null` clears it).
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::schema::Preconditions, required = false)
    )]
    pub preconditions: Option<Option<String>>,
    /// Left out: none on create; in a bulk upsert, a case that exists keeps
    /// its own (`[]` or `null` clears them).
    #[serde(
        default,
        deserialize_with = "list_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<Vec<Step>>, max_items = 100, required = false)
    )]
    pub steps: Option<Vec<Step>>,
    /// Left out: none on create; in a bulk upsert, a case that exists keeps
    /// its own (`null` clears it).
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::schema::Priority, required = false)
    )]
    pub priority: Option<Option<String>>,
    /// Left out: none on create; in a bulk upsert, a case that exists keeps
    /// its own (`[]` or `null` clears them).
    #[serde(
        default,
        deserialize_with = "list_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::schema::Refs, required = false)
    )]
    pub refs: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkCases {
    pub cases: Vec<CreateCase>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkCasesOutcome {
    pub created: u64,
    pub updated: u64,
    pub cases: Vec<CaseRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRef {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::OptionalText))]
    pub key: Option<String>,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub name: String,
    /// At most 65,536 characters; trimmed; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 65536))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::OptionalText))]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::schema::CaseId>>))]
    pub case_ids: Option<Vec<String>>,
    /// A section: the run takes every live case whose suite is this one
    /// or nested in it (`Checkout` takes `Checkout / Payments`). Not with
    /// `case_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Name>))]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Branch>))]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Commit>))]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::BuildUrl>))]
    pub build_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Environment>))]
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddCases {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schema::CaseId>))]
    pub case_ids: Vec<String>,
}

/// PATCH/PUT of one result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateResult {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_results: Option<Vec<StepResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defects: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkResults {
    pub results: Vec<BulkResultEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkResultEntry {
    pub test_case_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_results: Option<Vec<StepResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defects: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkOutcome {
    pub updated: u64,
    pub results: Vec<AppliedResult>,
    /// Only in `?partial=true` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedEntry>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedResult {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Status))]
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedEntry {
    pub index: usize,
    pub test_case_id: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}

/// The answer to a JUnit import: a bulk answer plus what happened to cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JunitOutcome {
    /// Executions applied (flaky attempts count one each).
    pub updated: u64,
    /// Testcases in the report.
    pub testcases: u64,
    pub results: Vec<AppliedResult>,
    /// Cases created for keys the project lacked.
    pub created: u64,
    /// Existing cases added to the run.
    pub added: u64,
    /// Distinct keys that were already in the run.
    pub matched: u64,
    /// Only in `?partial=true` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedEntry>>,
}

/// The answer to a JUnit import with `?dry_run=true`: nothing was written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JunitDryRun {
    pub dry_run: bool,
    pub testcases: u64,
    /// Executions the import would record.
    pub executions: u64,
    pub matched: u64,
    pub would_create: u64,
    pub would_add: u64,
    /// Keys with no case in the run that would not be created.
    pub unmatched: Vec<String>,
}

// --- triage -------------------------------------------------------------------

/// `PUT /v1/cases/:cid/quarantine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetQuarantine {
    /// Why: 1 to 1000 characters, trimmed.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Name))]
    pub reason: String,
}

/// How many cases fall in each category of a comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompareSummary {
    pub new_failure: i64,
    pub still_failing: i64,
    pub fixed: i64,
    pub new_test: i64,
    pub missing: i64,
    pub changed: i64,
    pub unchanged: i64,
}

/// One case whose status differs between the baseline and the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    pub key: Option<String>,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Category))]
    pub category: String,
    /// Its status in the run; null when the run does not test it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Status>))]
    pub status: Option<String>,
    /// Its status in the baseline; null when the baseline does not test it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Status>))]
    pub baseline_status: Option<String>,
    /// Its result in the run; null when the run does not hold the case.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::ResultId>))]
    pub result_id: Option<String>,
    /// The failure signature when it failed in the run, else null.
    pub signature: Option<String>,
}

/// A run compared with its baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunId))]
    pub run_id: String,
    /// Null when the run has no baseline: every tested case is then new.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::RunId>))]
    pub baseline_id: Option<String>,
    /// Every case, each in one category.
    pub summary: CompareSummary,
    /// One page of the changes (`unchanged` only when asked for), by
    /// category then case id.
    pub changes: Vec<Change>,
}

/// The answer of a comparison: the comparison, and where its page of
/// changes stands among all of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComparisonPage {
    pub data: Comparison,
    pub meta: Meta,
}

/// One failed result of a failure group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureRef {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub result_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    pub title: String,
}

/// A run's failed results that share a failure signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureGroup {
    /// 16 lower-case hex digits, the same for the same normalised message.
    pub signature: String,
    /// The normalised first line of the failures' notes.
    pub message: String,
    pub count: i64,
    /// No failure of the baseline has this signature (true without a baseline).
    pub new: bool,
    /// The group's first 20 results, by result id.
    pub results: Vec<FailureRef>,
}

/// A case whose status flips between runs, or that passed after a retry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlakyCase {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    pub key: Option<String>,
    pub title: String,
    /// flips ÷ (runs − 1); 0 with fewer than 2 runs.
    pub score: f64,
    /// Status changes between consecutive runs.
    pub flips: i64,
    /// Runs of the window in which the case passed or failed.
    pub runs: i64,
    /// Runs in which a failed execution was followed by a passed one.
    pub retried_pass: i64,
    pub quarantined: bool,
    /// The run in which its status last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::RunId>))]
    pub last_flip_run_id: Option<String>,
    /// `passed` or `failed` in each of those runs, oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schema::Status>))]
    pub statuses: Vec<String>,
}

/// A case's result in one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRunResult {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunId))]
    pub run_id: String,
    pub run_name: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ResultId))]
    pub result_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Status))]
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Note))]
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ElapsedMs))]
    pub elapsed_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::UserId>))]
    pub tested_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Timestamp>))]
    pub tested_at: Option<String>,
}

/// A case's durations over a window of runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDurations {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CaseId))]
    pub test_case_id: String,
    pub title: String,
    /// Runs of the window in which the case had an elapsed time.
    pub runs: i64,
    /// Nearest-rank median, in milliseconds.
    pub p50_ms: i64,
    /// Nearest-rank 95th percentile, in milliseconds.
    pub p95_ms: i64,
    /// In the newest of those runs.
    pub last_ms: i64,
    /// The p50 over the window before this one (null without one).
    pub previous_p50_ms: Option<i64>,
    /// p50 ÷ previous p50 (null without a previous p50, or when it is 0).
    pub change: Option<f64>,
}

/// One run in a trend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendRow {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::RunId))]
    pub run_id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
    pub branch: Option<String>,
    pub counts: Counts,
    /// passed ÷ tested (0 to 1); null when nothing is tested.
    pub pass_rate: Option<f64>,
    /// The sum of its results' elapsed times, in milliseconds.
    pub elapsed_ms: i64,
}

/// One rule of a quality gate, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateRule {
    /// `no_new_failures`, `max_failures`, `min_pass_rate` or `min_tests`.
    pub rule: String,
    pub passed: bool,
    /// What the run has (a percent, two decimals, for `min_pass_rate`).
    pub actual: f64,
    /// What the rule allows.
    pub limit: f64,
}

/// A quality gate's verdict on a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gate {
    /// Every rule passed.
    pub passed: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::RunId>))]
    pub baseline_id: Option<String>,
    /// The rules given, in the order `no_new_failures`, `max_failures`,
    /// `min_pass_rate`, `min_tests`.
    pub rules: Vec<GateRule>,
    /// The comparison with the baseline, every case counted (quarantined
    /// ones too).
    pub summary: CompareSummary,
}

// --- passwords (the web UI's sign-in) ----------------------------------------

/// `PUT /v1/me/password`: the caller changes their own password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Required when the account has a password; a wrong one is a 422
    /// naming this field. Leave it out to set a first password: sent for
    /// an account that has none, it is a 409 `password_not_set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub current_password: Option<String>,
    /// 8 characters to 1024 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}

/// `PUT /v1/users/:uid/password`: an admin sets anyone's password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// 8 characters to 1024 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}
