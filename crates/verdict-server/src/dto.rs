//! Domain values to wire values, and the checks on plain text fields that
//! every resource shares.

use verdict_api as api;
use verdict_store as domain;
use verdict_store::FieldError;

pub fn user(u: &domain::User) -> api::User {
    api::User {
        id: u.id.to_string(),
        name: u.name.clone(),
        email: u.email.clone(),
        admin: u.admin,
        created_at: u.created_at.to_string(),
    }
}

pub fn token(t: &domain::Token) -> api::Token {
    api::Token {
        id: t.id.to_string(),
        name: t.name.clone(),
        user_id: t.user_id.to_string(),
        created_at: t.created_at.to_string(),
        last_used_at: t.last_used_at.map(|t| t.to_string()),
    }
}

pub fn project(p: &domain::Project) -> api::Project {
    api::Project {
        id: p.id.to_string(),
        name: p.name.clone(),
        created_at: p.created_at.to_string(),
        defect_url_template: p.defect_url_template.clone(),
    }
}

pub fn member(m: &domain::Member) -> api::Member {
    api::Member {
        user_id: m.user.id.to_string(),
        name: m.user.name.clone(),
        email: m.user.email.clone(),
        role: m.role.as_str().into(),
    }
}

pub fn case(c: &domain::Case) -> api::Case {
    api::Case {
        id: c.id.to_string(),
        project_id: c.project_id.to_string(),
        title: c.title.clone(),
        key: c.key.clone(),
        suite: c.suite.clone(),
        created_at: c.created_at.to_string(),
        quarantined: c.quarantine.as_ref().map(|q| api::Quarantine {
            reason: q.reason.clone(),
            by: q.by.to_string(),
            at: q.at.to_string(),
        }),
        preconditions: c.details.preconditions.clone(),
        steps: c
            .details
            .steps
            .iter()
            .map(|s| api::Step {
                action: s.action.clone(),
                expected: s.expected.clone(),
            })
            .collect(),
        priority: c.details.priority_str().map(Into::into),
        refs: c.details.refs.clone(),
    }
}

pub fn counts(c: &domain::Counts) -> api::Counts {
    api::Counts {
        passed: c.passed,
        failed: c.failed,
        blocked: c.blocked,
        retest: c.retest,
        not_tested: c.not_tested,
        total: c.total(),
    }
}

pub fn run(r: &domain::Run) -> api::Run {
    api::Run {
        id: r.id.to_string(),
        project_id: r.project_id.to_string(),
        name: r.name.clone(),
        description: r.description.clone(),
        key: r.key.clone(),
        state: r.state.as_str().into(),
        created_at: r.created_at.to_string(),
        closed_at: r.closed_at.map(|t| t.to_string()),
        counts: counts(&r.counts),
        branch: r.meta.branch.clone(),
        commit: r.meta.commit.clone(),
        build_url: r.meta.build_url.clone(),
        environment: r.meta.environment.clone(),
    }
}

/// Whole seconds, rounded down, from milliseconds.
fn seconds(ms: Option<i64>) -> Option<i64> {
    ms.map(|ms| ms.div_euclid(1000))
}

pub fn result(r: &domain::TestResult) -> api::TestResult {
    api::TestResult {
        id: r.id.to_string(),
        test_case_id: r.case_id.to_string(),
        test_case_title: r.case_title.clone(),
        status: r.status.as_str().into(),
        note: r.note.clone(),
        elapsed: seconds(r.elapsed_ms),
        elapsed_ms: r.elapsed_ms,
        tested_by: r.tested_by.map(|u| u.to_string()),
        tested_at: r.tested_at.map(|t| t.to_string()),
        step_results: step_results(&r.step_results),
        defects: r.defects.clone(),
        assigned_to: r.assigned_to.map(|u| u.to_string()),
        output: None,
    }
}

pub fn step_results(steps: &[domain::StepResult]) -> Vec<api::StepResult> {
    steps
        .iter()
        .map(|s| api::StepResult {
            status: s.status.as_str().into(),
            actual: s.actual.clone(),
        })
        .collect()
}

pub fn work_item(w: &domain::WorkItem) -> api::WorkItem {
    api::WorkItem {
        result: result(&w.result),
        run_id: w.result.run_id.to_string(),
        run_name: w.run_name.clone(),
        project_id: w.project_id.to_string(),
        project_name: w.project_name.clone(),
    }
}

pub fn execution(h: &domain::HistoryEntry) -> api::Execution {
    api::Execution {
        result_id: h.result_id.to_string(),
        status: h.status.as_str().into(),
        note: h.note.clone(),
        elapsed: seconds(h.elapsed_ms),
        elapsed_ms: h.elapsed_ms,
        tested_by: h.tested_by.to_string(),
        tested_at: h.tested_at.to_string(),
        step_results: step_results(&h.step_results),
        defects: h.defects.clone(),
        output: None,
    }
}

pub fn bulk_outcome(o: &domain::BulkOutcome, partial: bool) -> api::BulkOutcome {
    api::BulkOutcome {
        updated: o.updated,
        results: o
            .results
            .iter()
            .map(|a| api::AppliedResult {
                id: a.id.to_string(),
                test_case_id: a.test_case_id.to_string(),
                status: a.status.as_str().into(),
            })
            .collect(),
        rejected: partial.then(|| {
            o.rejected
                .iter()
                .map(|r| api::RejectedEntry {
                    index: r.index,
                    test_case_id: r.test_case_id.clone(),
                    code: r.code.clone(),
                    message: r.message.clone(),
                })
                .collect()
        }),
    }
}

pub fn compare_summary(s: &domain::CompareSummary) -> api::CompareSummary {
    api::CompareSummary {
        new_failure: s.new_failure,
        still_failing: s.still_failing,
        fixed: s.fixed,
        new_test: s.new_test,
        missing: s.missing,
        changed: s.changed,
        unchanged: s.unchanged,
    }
}

pub fn change(c: &domain::Change) -> api::Change {
    api::Change {
        test_case_id: c.case_id.to_string(),
        key: c.key.clone(),
        title: c.title.clone(),
        category: c.category.as_str().into(),
        status: c.status.map(|s| s.as_str().into()),
        baseline_status: c.baseline_status.map(|s| s.as_str().into()),
        result_id: c.result_id.map(|r| r.to_string()),
        signature: c.signature.clone(),
    }
}

pub fn failure_group(g: &domain::FailureGroup) -> api::FailureGroup {
    api::FailureGroup {
        signature: g.signature.clone(),
        message: g.message.clone(),
        count: g.count,
        new: g.new,
        results: g
            .results
            .iter()
            .map(|r| api::FailureRef {
                result_id: r.result_id.to_string(),
                test_case_id: r.case_id.to_string(),
                title: r.title.clone(),
            })
            .collect(),
    }
}

pub fn flaky_case(f: &domain::FlakyCase) -> api::FlakyCase {
    api::FlakyCase {
        test_case_id: f.case_id.to_string(),
        key: f.key.clone(),
        title: f.title.clone(),
        score: f.score,
        flips: f.flips,
        runs: f.runs,
        retried_pass: f.retried_pass,
        quarantined: f.quarantined,
        last_flip_run_id: f.last_flip_run_id.map(|r| r.to_string()),
        statuses: f.statuses.iter().map(|s| s.as_str().into()).collect(),
    }
}

pub fn case_run_result(r: &domain::CaseRunResult) -> api::CaseRunResult {
    api::CaseRunResult {
        run_id: r.run_id.to_string(),
        run_name: r.run_name.clone(),
        branch: r.branch.clone(),
        commit: r.commit.clone(),
        result_id: r.result_id.to_string(),
        status: r.status.as_str().into(),
        note: r.note.clone(),
        elapsed_ms: r.elapsed_ms,
        tested_by: r.tested_by.map(|u| u.to_string()),
        tested_at: r.tested_at.map(|t| t.to_string()),
    }
}

pub fn case_durations(d: &domain::CaseDurations) -> api::CaseDurations {
    api::CaseDurations {
        test_case_id: d.case_id.to_string(),
        title: d.title.clone(),
        runs: d.runs,
        p50_ms: d.p50_ms,
        p95_ms: d.p95_ms,
        last_ms: d.last_ms,
        previous_p50_ms: d.previous_p50_ms,
        change: d.change,
    }
}

pub fn trend_row(t: &domain::TrendRow) -> api::TrendRow {
    api::TrendRow {
        run_id: t.run_id.to_string(),
        name: t.name.clone(),
        created_at: t.created_at.to_string(),
        branch: t.branch.clone(),
        counts: counts(&t.counts),
        pass_rate: t.pass_rate,
        elapsed_ms: t.elapsed_ms,
    }
}

/// Longest name, title, key or suite, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A required one-line text: not too long as sent (the limit counts the
/// characters sent, as the OpenAPI `maxLength` does), then trimmed and not
/// empty.
pub fn required_text(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    if value.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        ));
    } else if trimmed.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    }
    trimmed.to_string()
}

/// An optional text: not too long as sent, then trimmed; empty means absent.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value?;
    if value.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.to_string())
}

pub fn done(errors: Vec<FieldError>) -> Result<(), crate::error::ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::error::ApiError::Invalid(errors))
    }
}

pub fn attachment(a: &domain::Attachment) -> api::Attachment {
    api::Attachment {
        id: a.id.to_string(),
        result_id: a.result_id.to_string(),
        execution: a.execution,
        name: a.name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        sha256: a.sha256.clone(),
        created_by: a.created_by.to_string(),
        created_at: a.created_at.to_string(),
    }
}
