//! Triage: the domain types of what the store answers about runs over time
//! (compare with a baseline, failure groups, flaky cases, durations,
//! trends, a case across runs, the gate). What is decided without the
//! database (categories, signatures, flip scores, percentiles, the gate's
//! rules) is in [`crate::backend::triage`]; the backends only read.

use crate::ids::{CaseId, ResultId, RunId, UserId};
use crate::model::{Counts, Status};
use crate::time::Timestamp;

/// Which run a run is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineChoice {
    /// The baseline rule: the most recent earlier run of the project with
    /// the same branch (and environment, when the run has one) that has at
    /// least one tested result.
    Auto,
    /// This run; it must be another run of the same project (else
    /// `Invalid` naming `baseline`).
    Run(RunId),
}

/// Where a case falls when a run is compared with its baseline: the first
/// that fits, in this order. A case is *in* a run when its result there is
/// tested (any status but `not_tested`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Failed now; not failed in the baseline, or not in it.
    NewFailure,
    /// Failed now and in the baseline.
    StillFailing,
    /// Passed now; failed in the baseline.
    Fixed,
    /// In this run only (and not failed).
    NewTest,
    /// In the baseline only.
    Missing,
    /// Any other status change.
    Changed,
    /// The same status.
    Unchanged,
}

impl Category {
    /// In table order, which is also the order of a comparison's changes.
    pub const ALL: [Category; 7] = [
        Category::NewFailure,
        Category::StillFailing,
        Category::Fixed,
        Category::NewTest,
        Category::Missing,
        Category::Changed,
        Category::Unchanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::NewFailure => "new_failure",
            Category::StillFailing => "still_failing",
            Category::Fixed => "fixed",
            Category::NewTest => "new_test",
            Category::Missing => "missing",
            Category::Changed => "changed",
            Category::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How many cases fall in each category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareSummary {
    pub new_failure: i64,
    pub still_failing: i64,
    pub fixed: i64,
    pub new_test: i64,
    pub missing: i64,
    pub changed: i64,
    pub unchanged: i64,
}

impl CompareSummary {
    pub fn get(&self, category: Category) -> i64 {
        match category {
            Category::NewFailure => self.new_failure,
            Category::StillFailing => self.still_failing,
            Category::Fixed => self.fixed,
            Category::NewTest => self.new_test,
            Category::Missing => self.missing,
            Category::Changed => self.changed,
            Category::Unchanged => self.unchanged,
        }
    }

    pub fn add(&mut self, category: Category, n: i64) {
        let slot = match category {
            Category::NewFailure => &mut self.new_failure,
            Category::StillFailing => &mut self.still_failing,
            Category::Fixed => &mut self.fixed,
            Category::NewTest => &mut self.new_test,
            Category::Missing => &mut self.missing,
            Category::Changed => &mut self.changed,
            Category::Unchanged => &mut self.unchanged,
        };
        *slot += n;
    }
}

/// One case that changed between the baseline and the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub case_id: CaseId,
    pub key: Option<String>,
    pub title: String,
    pub category: Category,
    /// Its status in the run (`None` when missing from it).
    pub status: Option<Status>,
    /// Its status in the baseline (`None` when not in it).
    pub baseline_status: Option<Status>,
    /// Its result in the run (`None` when the run does not hold the case).
    pub result_id: Option<ResultId>,
    /// The failure signature when failed now.
    pub signature: Option<String>,
}

/// A run compared with its baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub run_id: RunId,
    pub baseline_id: Option<RunId>,
    pub summary: CompareSummary,
    /// Every category but `unchanged`, filtered, ordered by category then
    /// case id, one page of them; `total` counts what the filter matches.
    pub changes: crate::Listing<Change>,
}

/// One failed result in a failure group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRef {
    pub result_id: ResultId,
    pub case_id: CaseId,
    pub title: String,
    /// The whole note (the web UI shows it; the API leaves it out).
    pub note: Option<String>,
}

/// Failed results that share a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    pub signature: String,
    /// The normalised first line of the notes.
    pub message: String,
    pub count: i64,
    /// No failure of the baseline has this signature (true without one).
    pub new: bool,
    /// The first few, by result id.
    pub results: Vec<FailureRef>,
}

/// A run's failures grouped by signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReport {
    pub run_id: RunId,
    pub baseline_id: Option<RunId>,
    /// Largest first (then by signature), one page of them.
    pub groups: crate::Listing<FailureGroup>,
}

/// Which runs a history question looks at: those of one branch, or (with
/// `None`) every run of the project.
pub type BranchFilter = Option<String>;

#[derive(Debug, Clone, PartialEq)]
pub struct FlakyQuery {
    pub branch: BranchFilter,
    /// How many of the latest runs (1–500).
    pub window: u32,
    /// The least flip score that lists a case.
    pub threshold: f64,
}

/// A case whose status flips between runs, or that passed on a retry.
#[derive(Debug, Clone, PartialEq)]
pub struct FlakyCase {
    pub case_id: CaseId,
    pub key: Option<String>,
    pub title: String,
    /// flips ÷ (runs − 1); 0 with fewer than 2 runs.
    pub score: f64,
    pub flips: i64,
    /// Runs of the window in which the case passed or failed.
    pub runs: i64,
    /// Runs in which a failed execution was followed by a passed one.
    pub retried_pass: i64,
    pub quarantined: bool,
    /// The run in which its status last changed.
    pub last_flip_run_id: Option<RunId>,
    /// Its passed/failed statuses, oldest → newest.
    pub statuses: Vec<Status>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationSort {
    /// By p50, slowest first.
    Slowest,
    /// By change (p50 ÷ previous p50), largest first; cases without a
    /// previous window last.
    Regressed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationQuery {
    pub branch: BranchFilter,
    pub window: u32,
    pub sort: DurationSort,
}

/// A case's durations over a window of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseDurations {
    pub case_id: CaseId,
    pub title: String,
    /// Runs of the window in which it had an elapsed time.
    pub runs: i64,
    pub p50_ms: i64,
    pub p95_ms: i64,
    /// In the newest of those runs.
    pub last_ms: i64,
    /// The p50 over the window before.
    pub previous_p50_ms: Option<i64>,
    /// p50 ÷ previous p50.
    pub change: Option<f64>,
}

/// One run in a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    pub run_id: RunId,
    pub name: String,
    pub created_at: Timestamp,
    pub branch: Option<String>,
    pub counts: Counts,
    /// passed ÷ tested; `None` when nothing is tested.
    pub pass_rate: Option<f64>,
    /// The sum of its results' elapsed times.
    pub elapsed_ms: i64,
}

/// A case's result in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRunResult {
    pub run_id: RunId,
    pub run_name: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub result_id: ResultId,
    pub status: Status,
    pub note: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub tested_by: Option<UserId>,
    pub tested_at: Option<Timestamp>,
}

/// What the quality gate's rules are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFacts {
    pub baseline_id: Option<RunId>,
    /// The comparison's summary, every case counted.
    pub summary: CompareSummary,
    /// The rest count only cases that are not quarantined when the gate
    /// ignores quarantined cases.
    pub new_failures: i64,
    pub failures: i64,
    pub passed: i64,
    /// Results whose status is not `not_tested`.
    pub tested: i64,
}

/// Why a case is quarantined, by whom, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    pub reason: String,
    pub by: UserId,
    pub at: Timestamp,
}
