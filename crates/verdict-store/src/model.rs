//! Domain types: what the store keeps and hands back. Values here are
//! already valid (parsed at the HTTP boundary), so nothing inside re-checks.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::{CaseId, ProjectId, ResultId, RunId, TokenId, UserId};
use crate::time::Timestamp;

/// The status of one result. `NotTested` is where every result starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    Blocked,
    Retest,
    NotTested,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Passed,
        Status::Failed,
        Status::Blocked,
        Status::Retest,
        Status::NotTested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Blocked => "blocked",
            Status::Retest => "retest",
            Status::NotTested => "not_tested",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// A small stable code for storage (and the index into [`Counts`]).
    pub fn code(self) -> i64 {
        match self {
            Status::NotTested => 0,
            Status::Passed => 1,
            Status::Failed => 2,
            Status::Blocked => 3,
            Status::Retest => 4,
        }
    }

    pub fn from_code(code: i64) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.code() == code)
    }
}

/// A project role. Ordered: a higher role can do everything a lower one can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Tester,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Tester => "tester",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Tester, Role::Manager]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn code(self) -> i64 {
        match self {
            Role::Viewer => 1,
            Role::Tester => 2,
            Role::Manager => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<Role> {
        [Role::Viewer, Role::Tester, Role::Manager]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// One execution's data: what a PATCH or a bulk entry sets on a result.
/// Setting `NotTested` carries no note and no elapsed time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub status: Status,
    pub note: Option<String>,
    pub elapsed_ms: Option<i64>,
    /// One per step of the case, in order (none for `NotTested`).
    pub step_results: Vec<crate::StepResult>,
    /// Defect ids (`SHOP-2291`), distinct, in the order given.
    pub defects: Vec<String>,
    /// What the test printed (a JUnit testcase's `<system-out>`,
    /// `<system-err>` and failure text), already cut to the server's
    /// `--max-output-bytes`; `None` when there was none.
    pub output: Option<String>,
}

impl Execution {
    /// An execution with only a status, a note and an elapsed time.
    pub fn new(status: Status, note: Option<String>, elapsed_ms: Option<i64>) -> Execution {
        Execution {
            status,
            note,
            elapsed_ms,
            step_results: Vec::new(),
            defects: Vec::new(),
            output: None,
        }
    }

    /// The `tested_by` and `tested_at` a result keeps after this execution
    /// by `actor` at `now`: none for `NotTested`, which clears the result.
    pub fn tested(&self, actor: UserId, now: Timestamp) -> (Option<UserId>, Option<Timestamp>) {
        if self.status == Status::NotTested {
            (None, None)
        } else {
            (Some(actor), Some(now))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    /// An already-hashed password (PHC string), if the user has one.
    pub password_hash: Option<String>,
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// SHA-256 of a token secret; the secret itself is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at: Timestamp,
    /// `https://tracker.example.com/browse/{id}`: turns defects into links.
    pub defect_url_template: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub project_id: ProjectId,
    pub title: String,
    pub key: Option<String>,
    pub suite: Option<String>,
    pub created_at: Timestamp,
    /// Set while the case is quarantined: the gate counts it for no rule.
    pub quarantine: Option<crate::Quarantine>,
    /// What a tester follows: preconditions, steps, priority, refs.
    pub details: CaseDetails,
}

/// One step of a manual case: what to do and, optionally, what should happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s {
            "low" => Priority::Low,
            "medium" => Priority::Medium,
            "high" => Priority::High,
            "critical" => Priority::Critical,
            _ => return None,
        })
    }
}

/// The optional fields a tester follows. Empty lists mean none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseDetails {
    pub preconditions: Option<String>,
    pub steps: Vec<Step>,
    pub priority: Option<Priority>,
    pub refs: Vec<String>,
}

impl CaseDetails {
    /// Steps as stored (JSON text); `None` when there are none.
    pub fn steps_json(&self) -> Option<String> {
        if self.steps.is_empty() {
            return None;
        }
        serde_json::to_string(&self.steps).ok()
    }

    /// Refs as stored (JSON text); `None` when there are none.
    pub fn refs_json(&self) -> Option<String> {
        if self.refs.is_empty() {
            return None;
        }
        serde_json::to_string(&self.refs).ok()
    }

    pub fn priority_str(&self) -> Option<&'static str> {
        self.priority.map(Priority::as_str)
    }

    /// Reads the stored columns back; `Err` names what the database holds
    /// that this version cannot read.
    pub fn from_columns(
        preconditions: Option<String>,
        steps: Option<String>,
        priority: Option<String>,
        refs: Option<String>,
    ) -> Result<CaseDetails, String> {
        let steps = match steps {
            Some(s) => serde_json::from_str(&s).map_err(|e| format!("case steps: {e}"))?,
            None => Vec::new(),
        };
        let refs = match refs {
            Some(s) => serde_json::from_str(&s).map_err(|e| format!("case refs: {e}"))?,
            None => Vec::new(),
        };
        let priority = match priority {
            Some(p) => Some(Priority::parse(&p).ok_or_else(|| format!("case priority {p:?}"))?),
            None => None,
        };
        Ok(CaseDetails {
            preconditions,
            steps,
            priority,
            refs,
        })
    }
}

/// A change to a case's details: `None` leaves a field alone; `Some(None)`
/// or `Some(vec![])` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailsPatch {
    pub preconditions: Option<Option<String>>,
    pub steps: Option<Vec<Step>>,
    pub priority: Option<Option<Priority>>,
    pub refs: Option<Vec<String>>,
}

impl DetailsPatch {
    pub fn apply(&self, d: &mut CaseDetails) {
        if let Some(p) = &self.preconditions {
            d.preconditions = p.clone();
        }
        if let Some(s) = &self.steps {
            d.steps = s.clone();
        }
        if let Some(p) = self.priority {
            d.priority = p;
        }
        if let Some(r) = &self.refs {
            d.refs = r.clone();
        }
    }

    /// The details of a case created with this: what is absent is none.
    pub fn created(&self) -> CaseDetails {
        let mut d = CaseDetails::default();
        self.apply(&mut d);
        d
    }
}

/// A case to create, or (in an upsert by key) the new state of the case
/// with its key: there, details left out (`None`) keep the case's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCase {
    pub title: String,
    pub key: Option<String>,
    pub suite: Option<String>,
    pub details: DetailsPatch,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasePatch {
    pub title: Option<String>,
    pub key: Option<Option<String>>,
    pub suite: Option<Option<String>>,
    pub details: DetailsPatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseUpsert {
    pub case: Case,
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Open,
    Closed,
}

impl RunState {
    /// A run is closed once it has a closing time.
    pub fn of(closed_at: Option<Timestamp>) -> RunState {
        if closed_at.is_some() {
            RunState::Closed
        } else {
            RunState::Open
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Open => "open",
            RunState::Closed => "closed",
        }
    }
}

/// Results of a run by status, kept up to date in the same transaction as
/// the results, so reading them never scans the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: i64,
    pub failed: i64,
    pub blocked: i64,
    pub retest: i64,
    pub not_tested: i64,
}

impl Counts {
    pub fn total(&self) -> i64 {
        self.passed + self.failed + self.blocked + self.retest + self.not_tested
    }

    pub fn get(&self, status: Status) -> i64 {
        match status {
            Status::Passed => self.passed,
            Status::Failed => self.failed,
            Status::Blocked => self.blocked,
            Status::Retest => self.retest,
            Status::NotTested => self.not_tested,
        }
    }

    /// The change of one result moving from `from` to `to`.
    pub fn moved(from: Status, to: Status) -> Counts {
        let mut delta = Counts::default();
        delta.add(from, -1);
        delta.add(to, 1);
        delta
    }

    /// How many results have one of `statuses` (every result when empty).
    pub fn matching(&self, statuses: &[Status]) -> i64 {
        if statuses.is_empty() {
            self.total()
        } else {
            statuses.iter().map(|s| self.get(*s)).sum()
        }
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &Counts) {
        for status in Status::ALL {
            self.add(status, other.get(status));
        }
    }

    pub fn add(&mut self, status: Status, n: i64) {
        let slot = match status {
            Status::Passed => &mut self.passed,
            Status::Failed => &mut self.failed,
            Status::Blocked => &mut self.blocked,
            Status::Retest => &mut self.retest,
            Status::NotTested => &mut self.not_tested,
        };
        *slot += n;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: Option<String>,
    pub key: Option<String>,
    pub state: RunState,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub counts: Counts,
    pub meta: RunMeta,
}

/// Where a run's results came from: what CI built. Every field optional;
/// `commit` is stored lower-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub build_url: Option<String>,
    pub environment: Option<String>,
}

/// A partial update of [`RunMeta`]: `None` leaves a field alone,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMetaPatch {
    pub branch: Option<Option<String>>,
    pub commit: Option<Option<String>>,
    pub build_url: Option<Option<String>>,
    pub environment: Option<Option<String>>,
}

/// Which runs a run listing holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub state: Option<RunState>,
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub name: String,
    pub description: Option<String>,
    pub key: Option<String>,
    pub meta: RunMeta,
    /// `None`: every case of the project. Ids are distinct.
    pub case_ids: Option<Vec<CaseId>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub meta: RunMetaPatch,
}

/// The current state of one case in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub id: ResultId,
    pub run_id: RunId,
    pub case_id: CaseId,
    pub case_title: String,
    pub status: Status,
    pub note: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub tested_by: Option<UserId>,
    pub tested_at: Option<Timestamp>,
    /// The latest execution's step results and defects (like `note`).
    pub step_results: Vec<crate::StepResult>,
    pub defects: Vec<String>,
    /// Who is to test it next; kept across executions.
    pub assigned_to: Option<UserId>,
    /// The latest execution's output. Read by `get_result` always, by
    /// `list_results` only with [`ResultQuery::output`]; `None` otherwise.
    pub output: Option<String>,
}

/// One past execution of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub result_id: ResultId,
    pub status: Status,
    pub note: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub tested_by: UserId,
    pub tested_at: Timestamp,
    pub step_results: Vec<crate::StepResult>,
    pub defects: Vec<String>,
    /// The execution's output (always read).
    pub output: Option<String>,
}

/// Offset paging; `page` starts at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }

    /// `(limit, offset)`, as SQL wants them.
    pub fn bounds(&self) -> (i64, i64) {
        (i64::from(self.per_page), self.offset())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultQuery {
    /// Empty: every status.
    pub statuses: Vec<Status>,
    /// Keyset paging: results after this id (then `page` counts from there).
    pub after: Option<ResultId>,
    /// Case-insensitive substring of the case title (the web UI's search).
    /// `None`: every title; then the total comes from the run's counters.
    pub q: Option<String>,
    /// Only results assigned to this user, or to nobody.
    pub assignee: Option<crate::Assignee>,
    /// Only the result of the case with exactly this key.
    pub key: Option<String>,
    /// Read each result's output too (otherwise `output` is `None`).
    pub output: bool,
    pub page: Page,
}

impl ResultQuery {
    /// The statuses filtered on, each once, ordered by code.
    pub fn distinct_statuses(&self) -> Vec<Status> {
        let mut statuses = self.statuses.clone();
        statuses.sort_by_key(|s| s.code());
        statuses.dedup();
        statuses
    }

    /// What the SQL of this listing needs.
    pub fn bounds(&self) -> ResultBounds {
        let (limit, offset) = self.page.bounds();
        ResultBounds {
            statuses: self.distinct_statuses(),
            after: self.after.map_or(0, |a| a.get()),
            limit,
            offset,
        }
    }
}

/// A [`ResultQuery`] as SQL wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultBounds {
    /// Each status once, ordered by code; empty: every status.
    pub statuses: Vec<Status>,
    /// The id results are listed after (0: from the start).
    pub after: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub key: Option<String>,
    /// Case-insensitive substring of the title.
    pub q: Option<String>,
    /// Only quarantined cases (true) or only the others (false).
    pub quarantined: Option<bool>,
    /// Only cases in this section or one nested in it (see
    /// [`in_section`](crate::in_section)).
    pub suite: Option<String>,
    pub priority: Option<Priority>,
}

/// A list page and the number of items the filter matches in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// One valid bulk entry, with its index in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkEntry {
    pub index: usize,
    pub case_id: CaseId,
    pub execution: Execution,
}

/// A bulk entry the HTTP layer refused (a bad field), with everything wrong
/// with it, named the way the client wrote it (`results[3].status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEntry {
    pub index: usize,
    /// The entry's `test_case_id` as sent, if it was a string.
    pub test_case_id: Option<String>,
    pub errors: Vec<FieldError>,
}

/// An entry that was not applied (partial mode), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub index: usize,
    pub test_case_id: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// A digest of everything that makes the request what it is (route,
    /// query, body), so a reused key with another request is caught.
    pub fingerprint: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub run: RunId,
    pub actor: UserId,
    pub now: Timestamp,
    pub entries: Vec<BulkEntry>,
    /// Apply what is valid and report the rest, instead of all-or-nothing.
    pub partial: bool,
    /// Entries the HTTP layer already refused, in index order. Partial: they
    /// are merged into the outcome's rejections (so a replay answers exactly
    /// the same). Atomic: the request fails with `Invalid` naming them and
    /// every entry whose case is not in the run, whatever else holds (a
    /// closed run, a reused idempotency key), and writes nothing.
    pub refused: Vec<RefusedEntry>,
    pub idempotency: Option<IdempotencyKey>,
}

impl BulkRequest {
    /// Whether this request can only fail: atomic, with refused entries.
    /// The store then only looks for the entries whose case is not in the
    /// run, to name them too.
    pub fn is_refused(&self) -> bool {
        !self.partial && !self.refused.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEntry {
    pub id: ResultId,
    pub test_case_id: CaseId,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// Executions applied (entries, not distinct results).
    pub updated: u64,
    /// In request order.
    pub results: Vec<AppliedEntry>,
    /// In request order; empty unless partial.
    pub rejected: Vec<Rejection>,
    /// Set when this answer is the stored answer to an earlier request with
    /// the same idempotency key.
    #[serde(skip)]
    pub replayed: bool,
}

/// One execution addressed by case key instead of id: a JUnit testcase (or
/// one attempt of it). `index` is the testcase's position in the report, so
/// several entries (flaky attempts) may share one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedEntry {
    pub index: usize,
    pub key: String,
    /// Title and suite for a case created for this key.
    pub title: String,
    pub suite: Option<String>,
    pub execution: Execution,
    /// Case fields the report carries (TestRail-style properties): set on
    /// the case, created or matched; what is absent is left alone.
    pub details: DetailsPatch,
}

/// A report import: executions by case key, atomic unless `partial`.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub run: RunId,
    pub actor: UserId,
    pub now: Timestamp,
    pub entries: Vec<KeyedEntry>,
    /// Create cases for keys the project lacks, and add project cases that
    /// are not in the run yet to it.
    pub create_missing: bool,
    /// Work out what would happen and write nothing.
    pub dry_run: bool,
    pub partial: bool,
    pub idempotency: Option<IdempotencyKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The executions applied (none in a dry run).
    pub bulk: BulkOutcome,
    /// Distinct keys whose case was already in the run.
    pub matched: u64,
    /// Cases created for new keys (in a dry run: that would be).
    pub created: u64,
    /// Existing project cases added to the run (in a dry run: that would be).
    pub added: u64,
    /// Distinct keys that have no case in the run and were not created.
    pub unmatched: Vec<String>,
    pub dry_run: bool,
}
