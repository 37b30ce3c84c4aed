//! Verdict's wire types: what goes over HTTP, as JSON. Ids, statuses and
//! times are plain strings here (`res_001`, `passed`, RFC 3339), so a client
//! needs nothing but serde. The server parses these into domain types at
//! its edge.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
pub mod schema;

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
