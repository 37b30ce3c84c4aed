//! Triage, decided once for both backends: which category a case falls in,
//! what a failure's signature is, how flaky a case is, a case's duration
//! percentiles, and the quality gate's rules. A backend reads the rows
//! these functions take, in the order they say, and answers with what they
//! return.

pub mod signature;

use std::collections::HashMap;

use crate::{
    CaseDurations, CaseId, Category, CompareSummary, FieldError, FlakyCase, GateFacts, ResultId,
    RunId, Status, StoreError,
};

/// The most runs a history question may look at.
pub const MAX_WINDOW: u32 = 500;

/// Result flags kept on each result at write time (both backends, column
/// `flags`): it has had a failed execution in its run.
pub const FLAG_FAILED: i64 = 1;
/// A failed execution of the result was followed, later in the same run,
/// by a passed one: a pass after a retry.
pub const FLAG_RETRIED_PASS: i64 = 2;

/// A result's flags after one more execution with `status`.
pub fn next_flags(flags: i64, status: Status) -> i64 {
    match status {
        Status::Failed => flags | FLAG_FAILED,
        Status::Passed if flags & FLAG_FAILED != 0 => flags | FLAG_RETRIED_PASS,
        _ => flags,
    }
}

/// The error of a `baseline` that is not a run of the same project (or is
/// the run itself).
pub fn bad_baseline(why: &str) -> StoreError {
    StoreError::Invalid(vec![FieldError::new("baseline", why)])
}

/// The category of a case by its status now and in the baseline, where
/// `None` (or `not_tested`) means the run does not test it; `None` when
/// neither does.
pub fn category(now: Option<Status>, base: Option<Status>) -> Option<Category> {
    let now = now.filter(|s| *s != Status::NotTested);
    let base = base.filter(|s| *s != Status::NotTested);
    Some(match (now, base) {
        (None, None) => return None,
        (Some(Status::Failed), Some(Status::Failed)) => Category::StillFailing,
        (Some(Status::Failed), _) => Category::NewFailure,
        (Some(Status::Passed), Some(Status::Failed)) => Category::Fixed,
        (Some(_), None) => Category::NewTest,
        (None, Some(_)) => Category::Missing,
        (Some(a), Some(b)) if a == b => Category::Unchanged,
        (Some(_), Some(_)) => Category::Changed,
    })
}

/// One row of a run as a comparison reads it: (case id, status, result id).
pub type RunRow = (i64, Status, i64);

/// One case of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    pub case_id: i64,
    pub category: Category,
    pub status: Option<Status>,
    pub baseline_status: Option<Status>,
    /// The case's result in the run, if the run holds it.
    pub result_id: Option<i64>,
}

/// Every case of the run and the baseline that one of them tests, with its
/// category. Both inputs are ordered by case id; so is the output. Cases a
/// run holds but has not tested count as not in it.
pub fn compare(now: &[RunRow], base: &[RunRow]) -> Vec<Compared> {
    let mut out = Vec::with_capacity(now.len().max(base.len()));
    let (mut i, mut j) = (0, 0);
    while i < now.len() || j < base.len() {
        let a = now.get(i);
        let b = base.get(j);
        let (case, n, bs) = match (a, b) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                i += 1;
                j += 1;
                (a.0, Some(*a), Some(b.1))
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                i += 1;
                (a.0, Some(*a), None)
            }
            (Some(a), None) => {
                i += 1;
                (a.0, Some(*a), None)
            }
            (_, Some(b)) => {
                j += 1;
                (b.0, None, Some(b.1))
            }
            (None, None) => break,
        };
        let status = n.map(|r| r.1);
        if let Some(category) = category(status, bs) {
            out.push(Compared {
                case_id: case,
                category,
                status: status.filter(|s| *s != Status::NotTested),
                baseline_status: bs.filter(|s| *s != Status::NotTested),
                result_id: n.map(|r| r.2),
            });
        }
    }
    out
}

/// The summary of a comparison.
pub fn summarize(compared: &[Compared]) -> CompareSummary {
    let mut summary = CompareSummary::default();
    for c in compared {
        summary.add(c.category, 1);
    }
    summary
}

/// The changes a comparison lists (every category but `unchanged`, or
/// those in `categories`), ordered by category then case id.
pub fn changes(compared: &[Compared], categories: &[Category]) -> Vec<Compared> {
    let mut listed: Vec<Compared> = compared
        .iter()
        .filter(|c| {
            if categories.is_empty() {
                c.category != Category::Unchanged
            } else {
                categories.contains(&c.category)
            }
        })
        .copied()
        .collect();
    listed.sort_by_key(|c| (c.category, c.case_id));
    listed
}

/// What a gate counts of a comparison, given which cases are quarantined
/// (left out when `ignore_quarantined`).
pub fn gate_facts(
    baseline_id: Option<RunId>,
    compared: &[Compared],
    quarantined: &dyn Fn(i64) -> bool,
    ignore_quarantined: bool,
) -> GateFacts {
    let mut facts = GateFacts {
        baseline_id,
        summary: summarize(compared),
        new_failures: 0,
        failures: 0,
        passed: 0,
        tested: 0,
    };
    for c in compared {
        if ignore_quarantined && quarantined(c.case_id) {
            continue;
        }
        if c.category == Category::NewFailure {
            facts.new_failures += 1;
        }
        match c.status {
            Some(Status::Failed) => facts.failures += 1,
            Some(Status::Passed) => facts.passed += 1,
            _ => {}
        }
        if c.status.is_some() {
            facts.tested += 1;
        }
    }
    facts
}

/// The rules of a quality gate; every one optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateRules {
    pub no_new_failures: bool,
    pub max_failures: Option<i64>,
    /// Percent of tested results, 0–100.
    pub min_pass_rate: Option<f64>,
    pub min_tests: Option<i64>,
}

impl GateRules {
    pub fn is_empty(&self) -> bool {
        !self.no_new_failures
            && self.max_failures.is_none()
            && self.min_pass_rate.is_none()
            && self.min_tests.is_none()
    }
}

/// One rule checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    /// `no_new_failures`, `max_failures`, `min_pass_rate`, `min_tests`.
    pub rule: &'static str,
    pub passed: bool,
    pub actual: f64,
    pub limit: f64,
}

/// Checks each given rule, in the order above. The pass rate of a run
/// with nothing tested is 0.
pub fn evaluate(rules: &GateRules, facts: &GateFacts) -> Vec<RuleOutcome> {
    let mut out = Vec::new();
    if rules.no_new_failures {
        out.push(RuleOutcome {
            rule: "no_new_failures",
            passed: facts.new_failures == 0,
            actual: facts.new_failures as f64,
            limit: 0.0,
        });
    }
    if let Some(max) = rules.max_failures {
        out.push(RuleOutcome {
            rule: "max_failures",
            passed: facts.failures <= max,
            actual: facts.failures as f64,
            limit: max as f64,
        });
    }
    if let Some(min) = rules.min_pass_rate {
        let rate = if facts.tested == 0 {
            0.0
        } else {
            // Two decimals, so the answer reads like the limit it is held to.
            (facts.passed as f64 * 10_000.0 / facts.tested as f64).round() / 100.0
        };
        out.push(RuleOutcome {
            rule: "min_pass_rate",
            passed: rate >= min,
            actual: rate,
            limit: min,
        });
    }
    if let Some(min) = rules.min_tests {
        out.push(RuleOutcome {
            rule: "min_tests",
            passed: facts.tested >= min,
            actual: facts.tested as f64,
            limit: min as f64,
        });
    }
    out
}

/// One result of a flaky question's window: (case id, run id, status,
/// flags). A backend reads the results of the window's runs whose status
/// is passed or failed or whose flags hold [`FLAG_RETRIED_PASS`].
pub type FlakyRow = (i64, i64, Status, i64);

/// Per case, what its rows say, for cases that are flaky: a flip score at
/// least `threshold` or a pass after a retry. `rows` in any order; the
/// answer ordered by score descending, then retried passes descending,
/// then case id. Key, title and quarantine are left for the caller.
pub fn flaky(rows: &[FlakyRow], threshold: f64) -> Vec<FlakyCase> {
    let mut by_case: HashMap<i64, Vec<(i64, Status, i64)>> = HashMap::new();
    for (case, run, status, flags) in rows {
        by_case
            .entry(*case)
            .or_default()
            .push((*run, *status, *flags));
    }
    let mut out = Vec::new();
    for (case, mut runs) in by_case {
        runs.sort_unstable_by_key(|r| r.0);
        let retried_pass = runs.iter().filter(|r| r.2 & FLAG_RETRIED_PASS != 0).count() as i64;
        let counted: Vec<(i64, Status)> = runs
            .iter()
            .filter(|r| matches!(r.1, Status::Passed | Status::Failed))
            .map(|r| (r.0, r.1))
            .collect();
        let mut flips = 0;
        let mut last_flip = None;
        for pair in counted.windows(2) {
            if pair[0].1 != pair[1].1 {
                flips += 1;
                last_flip = Some(pair[1].0);
            }
        }
        let n = counted.len() as i64;
        let score = if n < 2 {
            0.0
        } else {
            flips as f64 / (n - 1) as f64
        };
        if (flips > 0 && score >= threshold) || retried_pass >= 1 {
            out.push(FlakyCase {
                case_id: CaseId::from_db(case),
                key: None,
                title: String::new(),
                score,
                flips,
                runs: n,
                retried_pass,
                quarantined: false,
                last_flip_run_id: last_flip.map(RunId::from_db),
                statuses: counted.iter().map(|r| r.1).collect(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.retried_pass.cmp(&a.retried_pass))
            .then(a.case_id.cmp(&b.case_id))
    });
    out
}

/// The nearest-rank percentile `p` (0–100] of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One elapsed time of a durations question: (case id, run id, elapsed
/// ms), for results with an elapsed time in the window's runs and the
/// window before; `recent` tells which run ids are in the window.
pub type DurationRow = (i64, i64, i64);

/// Per case with an elapsed time in the window: its percentiles, last and
/// change against the window before. Unsorted; titles left for the caller.
pub fn durations(rows: &[DurationRow], recent: &dyn Fn(i64) -> bool) -> Vec<CaseDurations> {
    // Per case: (run, ms) in the window, and ms in the window before.
    type Times = (Vec<(i64, i64)>, Vec<i64>);
    let mut by_case: HashMap<i64, Times> = HashMap::new();
    for (case, run, ms) in rows {
        let entry = by_case.entry(*case).or_default();
        if recent(*run) {
            entry.0.push((*run, *ms));
        } else {
            entry.1.push(*ms);
        }
    }
    let mut out = Vec::new();
    for (case, (mut now, mut before)) in by_case {
        if now.is_empty() {
            continue;
        }
        now.sort_unstable();
        let last_ms = now.last().map_or(0, |r| r.1);
        let mut values: Vec<i64> = now.iter().map(|r| r.1).collect();
        values.sort_unstable();
        before.sort_unstable();
        let p50 = percentile(&values, 50.0);
        let previous = (!before.is_empty()).then(|| percentile(&before, 50.0));
        let change = previous.and_then(|prev| (prev > 0).then(|| p50 as f64 / prev as f64));
        out.push(CaseDurations {
            case_id: CaseId::from_db(case),
            title: String::new(),
            runs: values.len() as i64,
            p50_ms: p50,
            p95_ms: percentile(&values, 95.0),
            last_ms,
            previous_p50_ms: previous,
            change,
        });
    }
    out
}

/// Sorts durations as asked: by p50 (slowest first) or by change (largest
/// first, those without one last), then case id.
pub fn sort_durations(rows: &mut [CaseDurations], sort: crate::DurationSort) {
    match sort {
        crate::DurationSort::Slowest => {
            rows.sort_by(|a, b| b.p50_ms.cmp(&a.p50_ms).then(a.case_id.cmp(&b.case_id)));
        }
        crate::DurationSort::Regressed => rows.sort_by(|a, b| {
            let key = |d: &CaseDurations| d.change.unwrap_or(f64::NEG_INFINITY);
            key(b).total_cmp(&key(a)).then(a.case_id.cmp(&b.case_id))
        }),
    }
}

/// The groups of a run's failures by signature: `failures` are (result id,
/// case id, title, note) ordered by result id; `baseline` the signatures of
/// the baseline's failures. Largest group first, then by signature; each
/// keeps its first `per_group` results.
pub fn group_failures(
    failures: Vec<(i64, i64, String, Option<String>)>,
    baseline: &std::collections::HashSet<String>,
    per_group: usize,
) -> Vec<crate::FailureGroup> {
    let mut groups: Vec<crate::FailureGroup> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (result, case, title, note) in failures {
        let sig = signature::of(note.as_deref());
        let i = *at.entry(sig.signature.clone()).or_insert_with(|| {
            groups.push(crate::FailureGroup {
                new: !baseline.contains(&sig.signature),
                signature: sig.signature.clone(),
                message: sig.message.clone(),
                count: 0,
                results: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[i];
        group.count += 1;
        if group.results.len() < per_group {
            group.results.push(crate::FailureRef {
                result_id: ResultId::from_db(result),
                case_id: CaseId::from_db(case),
                title,
                note,
            });
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    groups
}
