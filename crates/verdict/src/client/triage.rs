//! What a run says against its baseline, for CI: the line every upload
//! ends with (`Compared with run_041 (main @ 3f2a1c9): 2 new failures, 1
//! fixed, 1 flaky (quarantined)`) and the quality gate (`verdict gate`, and
//! the same flags on `verdict upload`), which prints its rules as a table
//! and fails the job with exit code 3.

use std::collections::HashSet;

use clap::Args;
use serde::Deserialize;
use verdict_api as api;

use super::http::{ApiFailure, Client};
use super::run::branch_at_commit;
use super::{Connection, Failure, encode, table};

/// Exit code of a gate that did not pass.
pub const EXIT_GATE_FAILED: u8 = 3;

/// The gate's rules, as flags (shared by `verdict gate` and `verdict upload`).
#[derive(Args, Debug, Clone, Default)]
pub struct GateFlags {
    /// Gate: fail when a test fails that did not fail in the baseline.
    #[arg(long)]
    pub no_new_failures: bool,
    /// Gate: fail when more than N tests failed.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<u64>,
    /// Gate: fail when fewer than P percent of the tested results passed.
    #[arg(long, value_name = "P", value_parser = percent)]
    pub min_pass_rate: Option<f64>,
    /// Gate: fail when fewer than N results were tested.
    #[arg(long, value_name = "N")]
    pub min_tests: Option<u64>,
    /// Gate: count quarantined tests too (by default they count for no rule).
    #[arg(long)]
    pub include_quarantined: bool,
    /// Compare with this run (run_…) instead of the latest earlier run of the same branch.
    #[arg(long, value_name = "RUN")]
    pub baseline: Option<String>,
}

fn percent(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err("must be between 0 and 100".into())
    }
}

impl GateFlags {
    /// Whether any rule is given.
    pub fn any(&self) -> bool {
        self.no_new_failures
            || self.max_failures.is_some()
            || self.min_pass_rate.is_some()
            || self.min_tests.is_some()
    }

    fn query(&self) -> String {
        let mut q = vec![format!("ignore_quarantined={}", !self.include_quarantined)];
        if self.no_new_failures {
            q.push("no_new_failures=true".into());
        }
        if let Some(n) = self.max_failures {
            q.push(format!("max_failures={n}"));
        }
        if let Some(p) = self.min_pass_rate {
            q.push(format!("min_pass_rate={p}"));
        }
        if let Some(n) = self.min_tests {
            q.push(format!("min_tests={n}"));
        }
        if let Some(b) = &self.baseline {
            q.push(format!("baseline={}", encode(b)));
        }
        q.join("&")
    }
}

#[derive(Args, Debug)]
pub struct GateArgs {
    /// The run to check (run_…).
    run: String,
    #[command(flatten)]
    rules: GateFlags,
    /// Print the server's answer as JSON instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Rule {
    rule: String,
    passed: bool,
    actual: f64,
    limit: f64,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Gate {
    passed: bool,
    baseline_id: Option<String>,
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Debug, Deserialize)]
struct Paged<T> {
    data: Vec<T>,
    meta: Meta,
}

#[derive(Debug, Deserialize)]
struct Meta {
    total: i64,
}

#[derive(Debug, Default, Deserialize)]
struct Summary {
    new_failure: i64,
    still_failing: i64,
    fixed: i64,
}

#[derive(Debug, Deserialize)]
struct ChangeRow {
    test_case_id: String,
}

#[derive(Debug, Deserialize)]
struct Comparison {
    baseline_id: Option<String>,
    summary: Summary,
    changes: Vec<ChangeRow>,
}

#[derive(Debug, Deserialize)]
struct ComparisonPage {
    data: Comparison,
    meta: Meta,
}

#[derive(Debug, Deserialize)]
struct FlakyRow {
    test_case_id: String,
    key: Option<String>,
    quarantined: bool,
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.2}")
    }
}

/// Checks the gate's rules on `run`, prints them as a table, and answers
/// whether the gate passed.
pub async fn check(
    client: &Client,
    run: &str,
    rules: &GateFlags,
    json: bool,
) -> Result<bool, Failure> {
    let gate: Data<Gate> = client
        .get(&format!("/v1/runs/{run}/gate?{}", rules.query()))
        .await
        .map_err(|f| Failure::from(f.naming(&format!("run {run}"))))?;
    let gate = gate.data;
    if json {
        let text = serde_json::to_string_pretty(&gate).map_err(|e| Failure::new(e.to_string()))?;
        println!("{text}");
        return Ok(gate.passed);
    }
    let rows: Vec<Vec<String>> = gate
        .rules
        .iter()
        .map(|r| {
            vec![
                r.rule.clone(),
                number(r.actual),
                number(r.limit),
                if r.passed { "passed" } else { "FAILED" }.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["rule", "actual", "limit", "result"], &rows)
    );
    let against = gate
        .baseline_id
        .as_deref()
        .map_or("no baseline".to_string(), |b| format!("baseline {b}"));
    println!(
        "gate {} ({against})",
        if gate.passed { "passed" } else { "FAILED" }
    );
    Ok(gate.passed)
}

pub async fn gate(args: GateArgs) -> Result<(), Failure> {
    if !args.rules.any() {
        return Err(Failure::usage(
            "give at least one rule: --no-new-failures, --max-failures N, --min-pass-rate P, --min-tests N",
        ));
    }
    let client = Client::new(&args.conn)?;
    if check(&client, &args.run, &args.rules, args.json).await? {
        Ok(())
    } else {
        Err(Failure {
            message: format!("the gate of run {} failed", args.run),
            code: EXIT_GATE_FAILED,
        })
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The line an upload ends with: the run against its baseline, and how
/// many of its failures (and passes after a retry, `retried`: the keys of
/// testcases that passed after failed attempts in the report) are known
/// flaky on the branch, and how many of those are quarantined.
pub async fn summary_line(
    client: &Client,
    project: &str,
    run: &str,
    branch: Option<&str>,
    baseline: Option<&str>,
    retried: &HashSet<String>,
) -> Result<String, ApiFailure> {
    let base = baseline.map_or(String::new(), |b| format!("&baseline={}", encode(b)));
    // The cases failing now, every page of them.
    let mut failing: HashSet<String> = HashSet::new();
    let mut compared: Option<Comparison> = None;
    for page in 1..=50 {
        let answer: ComparisonPage = client
            .get(&format!(
                "/v1/runs/{run}/compare?category=new_failure,still_failing&per_page=1000&page={page}{base}"
            ))
            .await?;
        failing.extend(answer.data.changes.iter().map(|c| c.test_case_id.clone()));
        let done = (page as i64) * 1000 >= answer.meta.total;
        if compared.is_none() {
            compared = Some(answer.data);
        }
        if done {
            break;
        }
    }
    let Some(compared) = compared else {
        return Ok(String::new());
    };
    let branch_query = branch.map_or(String::new(), |b| format!("&branch={}", encode(b)));
    let (mut flaky, mut quarantined) = (0i64, 0i64);
    // Nothing failed and nothing passed on a retry: nothing can be flaky.
    let pages = if failing.is_empty() && retried.is_empty() {
        0
    } else {
        10
    };
    for page in 1..=pages {
        let answer: Paged<FlakyRow> = client
            .get(&format!(
                "/v1/projects/{project}/flaky?per_page=1000&page={page}{branch_query}"
            ))
            .await?;
        for row in &answer.data {
            let now = failing.contains(&row.test_case_id)
                || row.key.as_ref().is_some_and(|k| retried.contains(k));
            if now {
                flaky += 1;
                if row.quarantined {
                    quarantined += 1;
                }
            }
        }
        if (page as i64) * 1000 >= answer.meta.total {
            break;
        }
    }
    let s = &compared.summary;
    let flaky_text = match (flaky, quarantined) {
        (0, _) | (_, 0) => format!("{flaky} flaky"),
        (n, q) if n == q => format!("{n} flaky (quarantined)"),
        (n, q) => format!("{n} flaky ({q} quarantined)"),
    };
    let Some(baseline_id) = compared.baseline_id else {
        let on = branch.map_or("no branch".to_string(), str::to_string);
        return Ok(format!(
            "No earlier run to compare with ({on}): {}, {flaky_text}",
            plural(s.new_failure + s.still_failing, "failure", "failures")
        ));
    };
    let base: Data<api::Run> = client.get(&format!("/v1/runs/{baseline_id}")).await?;
    let at = branch_at_commit(base.data.branch.as_deref(), base.data.commit.as_deref())
        .map_or(String::new(), |b| format!(" ({b})"));
    Ok(format!(
        "Compared with {baseline_id}{at}: {}, {} fixed, {flaky_text}",
        plural(s.new_failure, "new failure", "new failures"),
        s.fixed
    ))
}
