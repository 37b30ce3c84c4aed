//! Verdict's wire types: what goes over HTTP, as JSON. Ids, statuses and
//! times are plain strings here (`res_001`, `passed`, RFC 3339), so a client
//! needs nothing but serde. The server parses these into domain types at
//! its edge.

// No unwrap() on anything a client or the environment controls; tests may.
#![warn(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};

/// `{ "data": … }`: every answer with a body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// A page of a list and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// How many items the filter matches in all.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Present on result lists when this page is full: pass it as `after`
    /// to read the next page in constant time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// The error envelope (DESIGN §6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

// --- resources --------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A token as minted: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub created_at: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub key: Option<String>,
    pub suite: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counts {
    pub passed: i64,
    pub failed: i64,
    pub blocked: i64,
    pub retest: i64,
    pub not_tested: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub key: Option<String>,
    pub state: String,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    pub id: String,
    pub test_case_id: String,
    pub test_case_title: String,
    pub status: String,
    pub note: Option<String>,
    /// Whole seconds (rounded down), as the Test Results API has it.
    pub elapsed: Option<i64>,
    pub elapsed_ms: Option<i64>,
    pub tested_by: Option<String>,
    pub tested_at: Option<String>,
}

/// One execution in a result's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    pub result_id: String,
    pub status: String,
    pub note: Option<String>,
    pub elapsed: Option<i64>,
    pub elapsed_ms: Option<i64>,
    pub tested_by: String,
    pub tested_at: String,
}

// --- requests ----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkCases {
    pub cases: Vec<CreateCase>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkCasesOutcome {
    pub created: u64,
    pub updated: u64,
    pub cases: Vec<CaseRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRef {
    pub id: String,
    pub key: Option<String>,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCases {
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
pub struct BulkOutcome {
    pub updated: u64,
    pub results: Vec<AppliedResult>,
    /// Only in `?partial=true` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedEntry>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppliedResult {
    pub id: String,
    pub test_case_id: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectedEntry {
    pub index: usize,
    pub test_case_id: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// The answer to a JUnit import: a bulk answer plus what happened to cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
