//! `verdict upload`: JUnit XML reports from CI into a run, in one command.
//!
//! Reports are parsed locally first (a broken file stops the upload before
//! anything is sent, unless `--skip-invalid` leaves it out), the run is
//! found or created (a run key lets parallel jobs share one run; no run
//! option at all makes a new run named after the CI build), and the
//! testcases go up in chunks under the server's limits (a chunk the server
//! finds too large, 413, is split in two and sent again). Each chunk
//! carries its own idempotency key, so retries after 429, 5xx or a dropped
//! connection never apply a chunk twice.
//!
//! Files a testcase's output names with `[[ATTACHMENT|path]]` lines are
//! attached to its result once the results are in (see `attach`).
//!
//! The summary counts as the server does: one test per key, the last
//! testcase with that key deciding, so it matches the run.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::Args;
use reqwest::{Method, StatusCode};
use verdict_api as api;
use verdict_junit::{Outcome, TestCase};

use super::attach;
use super::http::Client;
use super::run::print_run;
use super::triage::{self, GateFlags};
use super::{Connection, Failure, ci, table};

/// Exit code when `--fail-on-failed` is set and a test failed.
const EXIT_TESTS_FAILED: u8 = 3;

/// Exit code for bad usage.
const EXIT_USAGE: u8 = 2;

/// Outside a CI the upload knows, the build-number variables a run
/// without a name is named after, first found first.
const CI_BUILDS: [(&str, &str); 1] = [("BUILD_NUMBER", "build")];

/// Every way to choose the run, for `--help` and for usage errors.
const RUN_CHOICES: &str = "\
Choose the run in one of these ways:
  --run RUN                        upload into an existing run (run_…)
  --run-name NAME                  create a new run with this name
  --run-key KEY [--run-name NAME]  create the run, or join the one another job created with KEY
  (no run option)                  create a new run named after the CI build (GitHub Actions,
                                   GitLab CI, Jenkins, CircleCI, Buildkite, Azure Pipelines,
                                   Bitbucket Pipelines, or $BUILD_NUMBER) or, outside CI, the time

A run the upload creates records the branch (a pull request's source branch), the commit
and the build's URL from the CI's variables; --branch, --commit, --build-url and
--environment set or override them. Every upload ends with the run compared with its
baseline (the latest earlier run of the same branch):
  Compared with run_041 (main @ 3f2a1c9): 2 new failures, 1 fixed, 1 flaky (quarantined)
Gate flags (--no-new-failures, --max-failures, --min-pass-rate, --min-tests) check the run
after the upload, print the rules as a table and exit with code 3 when one fails.";

#[derive(Args, Debug)]
#[command(after_help = RUN_CHOICES)]
pub struct UploadArgs {
    /// The project id (prj_…).
    #[arg(long)]
    project: String,
    /// Upload into this existing run (run_…).
    #[arg(long)]
    run: Option<String>,
    /// Create a new run with this name (default: the CI build, or the time).
    #[arg(long)]
    run_name: Option<String>,
    /// A key shared by parallel jobs (e.g. the pipeline id): the first creates the run, the others join it.
    #[arg(long)]
    run_key: Option<String>,
    /// Create cases for testcases the project does not have yet.
    #[arg(long)]
    create_missing: bool,
    /// How a skipped test is recorded: blocked, retest or not_tested.
    #[arg(long, default_value = "blocked")]
    skipped_as: String,
    /// Close the run after the upload (needs the manager role).
    #[arg(long)]
    close: bool,
    /// Report what would happen (needs --run); writes nothing.
    #[arg(long)]
    dry_run: bool,
    /// Exit with code 3 when a test failed or errored (its last result, as in the run).
    #[arg(long)]
    fail_on_failed: bool,
    /// Upload the readable reports when some cannot be read, list the others and exit with code 1.
    #[arg(long)]
    skip_invalid: bool,
    /// Most executions per request (the server's default limit; chunks a
    /// server with a lower limit refuses are split until they fit).
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    chunk_size: u32,
    /// The branch a created run records (default: the CI's; a pull request's source branch).
    #[arg(long)]
    branch: Option<String>,
    /// The commit a created run records (default: the CI's).
    #[arg(long)]
    commit: Option<String>,
    /// The build's page a created run links to (default: the CI's).
    #[arg(long)]
    build_url: Option<String>,
    /// Where the tests ran, e.g. "linux / chromium 131"; runs with one are compared only with runs of the same.
    #[arg(long)]
    environment: Option<String>,
    /// Leave out the closing line that compares the run with its baseline (it costs a few reads).
    #[arg(long)]
    no_compare: bool,
    /// Only files inside this folder are attached: `[[ATTACHMENT|path]]` lines in a
    /// testcase's output (paths relative to its report's folder) attach those files to its result.
    #[arg(long, value_name = "DIR", default_value = ".")]
    attachments_root: PathBuf,
    #[command(flatten)]
    gate: GateFlags,
    /// Report files, directories (searched for *.xml) or glob patterns.
    #[arg(required = true)]
    files: Vec<String>,
    #[command(flatten)]
    conn: Connection,
}

/// The body that creates a run: its name and key, and what the CI built.
#[derive(Debug, serde::Serialize)]
struct NewRun {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    case_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
}

/// A variable of the environment, unless unset or blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Most bytes of XML per request, well under the server's default limit.
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

fn xml_files_in(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            xml_files_in(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Files, directories and glob patterns to a list of report files.
fn expand(inputs: &[String]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            xml_files_in(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.to_path_buf());
        } else if input.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(input)
                .map_err(|e| Failure::usage(format!("{input}: {e}")))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if matches.is_empty() {
                return Err(Failure::usage(format!("{input}: no file matches")));
            }
            files.extend(matches);
        } else {
            return Err(Failure::usage(format!(
                "{input}: no such file or directory"
            )));
        }
    }
    if files.is_empty() {
        return Err(Failure::usage("no report files found"));
    }
    Ok(files)
}

struct Parsed {
    path: PathBuf,
    testcases: Vec<TestCase>,
}

/// The reports that parse, and "path: reason" for each that does not.
fn parse_all(files: &[PathBuf]) -> (Vec<Parsed>, Vec<String>) {
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        match std::fs::read(path) {
            Err(e) => errors.push(format!("{}: {e}", path.display())),
            Ok(bytes) => match verdict_junit::parse(&bytes) {
                Err(e) => errors.push(format!("{}: {e}", path.display())),
                Ok(report) => out.push(Parsed {
                    path: path.clone(),
                    testcases: report.testcases,
                }),
            },
        }
    }
    (out, errors)
}

/// What testcases come to in a run: one test per key, the last testcase
/// with the key deciding (the server records them in order, the last one
/// current), and what was folded on the way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    tests: usize,
    passed: usize,
    /// Failed or errored.
    failed: usize,
    skipped: usize,
    /// Testcases whose key an earlier one had.
    duplicates: usize,
    /// Keys that more than one testcase had.
    duplicate_keys: usize,
    /// Surefire rerun and flaky attempts inside testcases.
    reruns: usize,
}

impl Tally {
    fn of<'a>(testcases: impl IntoIterator<Item = &'a TestCase>) -> Tally {
        // The junit crate's key: the one the server matches cases by.
        let mut last: HashMap<String, (&Outcome, usize)> = HashMap::new();
        let mut t = Tally::default();
        for tc in testcases {
            t.reruns += tc.attempts.len();
            let seen = last.entry(tc.key()).or_insert((&tc.outcome, 0));
            seen.0 = &tc.outcome;
            seen.1 += 1;
        }
        for (outcome, n) in last.values() {
            t.tests += 1;
            if *n > 1 {
                t.duplicate_keys += 1;
                t.duplicates += n - 1;
            }
            match outcome {
                Outcome::Passed => t.passed += 1,
                Outcome::Failed(_) | Outcome::Errored(_) => t.failed += 1,
                Outcome::Skipped { .. } => t.skipped += 1,
            }
        }
        t
    }

    fn row(&self, label: String) -> Vec<String> {
        vec![
            label,
            self.tests.to_string(),
            self.passed.to_string(),
            self.failed.to_string(),
            self.skipped.to_string(),
        ]
    }
}

/// Splits testcases into chunks of at most `max_executions` executions (a
/// testcase always travels with its reruns), as ranges of `testcases`.
fn plan(testcases: &[&TestCase], max_executions: usize) -> VecDeque<Range<usize>> {
    let mut out = VecDeque::new();
    let mut start = 0;
    while start < testcases.len() {
        let mut end = start;
        let mut executions = 0;
        while end < testcases.len() {
            let n = 1 + testcases[end].attempts.len();
            if end > start && executions + n > max_executions {
                break;
            }
            executions += n;
            end += 1;
        }
        out.push_back(start..end);
        start = end;
    }
    out
}

/// Puts the two halves of a chunk of several testcases back in front of
/// the queue; a chunk of one testcase cannot be split (false).
fn split(chunk: &Range<usize>, queue: &mut VecDeque<Range<usize>>) -> bool {
    if chunk.len() < 2 {
        return false;
    }
    let middle = chunk.start + chunk.len() / 2;
    queue.push_front(middle..chunk.end);
    queue.push_front(chunk.start..middle);
    true
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    // A clash of upload ids needs the same user, run and chunk number too.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Options that do not go together, or a dry run without a run, as a
/// usage error listing every way to choose the run.
fn check_run_options(args: &UploadArgs) -> Result<(), Failure> {
    let problem = if args.run.is_some() && (args.run_name.is_some() || args.run_key.is_some()) {
        "--run uploads into an existing run: it does not go with --run-name or --run-key"
    } else if args.dry_run && args.run.is_none() {
        "--dry-run needs --run (a dry run creates nothing, not even a run)"
    } else {
        return Ok(());
    };
    Err(Failure {
        message: format!("{problem}\n{RUN_CHOICES}"),
        code: EXIT_USAGE,
    })
}

/// A new run's name without --run-name: the CI build, or the time.
fn default_run_name(build: Option<&ci::Build>) -> String {
    if let Some(b) = build
        && let Some(n) = &b.number
    {
        return format!("{} {n}", b.provider);
    }
    for (var, label) in CI_BUILDS {
        if let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            return format!("{label} {}", value.trim());
        }
    }
    format!("upload {}", verdict_store::Timestamp::now())
}

async fn find_run(client: &Client, args: &UploadArgs) -> Result<api::Run, Failure> {
    if let Some(run) = &args.run {
        let found: api::Data<api::Run> = client
            .get(&format!("/v1/runs/{run}"))
            .await
            .map_err(|f| f.naming(&format!("run {run}")))?;
        return Ok(found.data);
    }
    let build = ci::detect(&var);
    let name = args
        .run_name
        .clone()
        .unwrap_or_else(|| default_run_name(build.as_ref()));
    let build = build.unwrap_or_default();
    let commit = args
        .commit
        .clone()
        .or_else(|| build.commit.filter(|c| ci::is_commit(c)));
    let body = NewRun {
        name,
        key: args.run_key.clone(),
        // A CI run holds what its reports hold; without create_missing it
        // starts from every case of the project.
        case_ids: args.create_missing.then(Vec::new),
        branch: args.branch.clone().or(build.branch),
        commit,
        build_url: args.build_url.clone().or(build.build_url),
        environment: args.environment.clone(),
    };
    let (status, run): (_, api::Data<api::Run>) = client
        .post(&format!("/v1/projects/{}/runs", args.project), &body)
        .await
        .map_err(|f| f.naming(&format!("project {}", args.project)))?;
    let what = if status.as_u16() == 201 {
        "created"
    } else {
        "joined"
    };
    eprintln!("{what} run {} ({})", run.data.id, run.data.name);
    Ok(run.data)
}

pub async fn run(args: UploadArgs) -> Result<(), Failure> {
    check_run_options(&args)?;
    let files = expand(&args.files)?;
    let (parsed, unreadable) = parse_all(&files);
    if !unreadable.is_empty() && (!args.skip_invalid || parsed.is_empty()) {
        let hint = if args.skip_invalid {
            ""
        } else {
            " (--skip-invalid uploads the others)"
        };
        return Err(Failure::new(format!(
            "nothing was uploaded: {} report(s) cannot be read{hint}\n  {}",
            unreadable.len(),
            unreadable.join("\n  ")
        )));
    }
    for e in &unreadable {
        eprintln!("skipping {e}");
    }
    let reports: Vec<(&Path, &[TestCase])> = parsed
        .iter()
        .map(|p| (p.path.as_path(), p.testcases.as_slice()))
        .collect();
    let attachments = attach::plan(&reports, &args.attachments_root)?;
    for line in &attachments.refused {
        eprintln!("verdict: {line}");
    }
    let client = Client::with_retries(&args.conn, 7)?;
    let run = find_run(&client, &args).await?;
    if run.project_id != args.project {
        return Err(Failure::usage(format!(
            "run {} belongs to project {}, not {}",
            run.id, run.project_id, args.project
        )));
    }
    let all: Vec<&TestCase> = parsed.iter().flat_map(|p| p.testcases.iter()).collect();
    let mut queue = plan(&all, args.chunk_size as usize);
    let query = format!(
        "?create_missing={}&skipped_as={}&dry_run={}",
        args.create_missing, args.skipped_as, args.dry_run
    );
    let path = format!("/v1/runs/{}/results/junit{query}", run.id);
    let progress = std::io::stderr().is_terminal() && queue.len() > 1;
    let upload_id = random_hex();
    let (mut updated, mut created, mut added) = (0u64, 0u64, 0u64);
    let mut dry = api::JunitDryRun {
        dry_run: true,
        testcases: 0,
        executions: 0,
        matched: 0,
        would_create: 0,
        would_add: 0,
        unmatched: Vec::new(),
    };
    // Chunks recorded so far, and bodies sent (each under a key of its own).
    let (mut done, mut sent) = (0usize, 0usize);
    while let Some(chunk) = queue.pop_front() {
        let xml = verdict_junit::to_xml(&all[chunk.clone()]);
        if xml.len() > CHUNK_BYTES && split(&chunk, &mut queue) {
            continue;
        }
        let number = done + 1;
        if progress {
            eprint!("\ruploading chunk {number}/{} …", number + queue.len());
        }
        let key = format!("verdict-upload-{upload_id}-{sent}");
        sent += 1;
        let mut retried =
            |r: &super::http::Retry| eprintln!("{}{r}", if progress { "\n" } else { "" });
        let body = Some(("application/xml", xml.into_bytes()));
        let outcome = if args.dry_run {
            client
                .send_bytes::<api::Data<api::JunitDryRun>>(
                    Method::POST,
                    &path,
                    body,
                    None,
                    &mut retried,
                )
                .await
                .map(|(_, answer)| {
                    let d = answer.data;
                    dry.testcases += d.testcases;
                    dry.executions += d.executions;
                    dry.matched += d.matched;
                    dry.would_create += d.would_create;
                    dry.would_add += d.would_add;
                    dry.unmatched.extend(d.unmatched);
                })
        } else {
            client
                .send_bytes::<api::Data<api::JunitOutcome>>(
                    Method::POST,
                    &path,
                    body,
                    Some(&key),
                    &mut retried,
                )
                .await
                .map(|(_, answer)| {
                    updated += answer.data.updated;
                    created += answer.data.created;
                    added += answer.data.added;
                })
        };
        match outcome {
            Ok(()) => done += 1,
            // Over this server's limits: nothing was written; send it in halves.
            Err(f)
                if f.status == Some(StatusCode::PAYLOAD_TOO_LARGE) && split(&chunk, &mut queue) =>
            {
                eprintln!(
                    "{}chunk {number} ({} testcases) is too large for the server, sending it in two halves: {}",
                    if progress { "\n" } else { "" },
                    chunk.len(),
                    f.message
                );
            }
            Err(f) if args.dry_run => return Err(f.naming(&format!("run {}", run.id)).into()),
            Err(f) => {
                return Err(Failure::new(format!(
                    "chunk {number} of the upload failed (earlier chunks are recorded): {}",
                    f.naming(&format!("run {}", run.id)).message
                )));
            }
        }
    }
    if progress {
        eprintln!();
    }
    let tally = print_summary(&parsed);
    // Reports left out make the command fail once the others are in.
    let skipped = (!unreadable.is_empty()).then(|| {
        Failure::new(format!(
            "{} report(s) cannot be read and were skipped (the others were uploaded):\n  {}",
            unreadable.len(),
            unreadable.join("\n  ")
        ))
    });
    if args.dry_run {
        println!(
            "dry run: {} executions; {} cases matched, {} would be created, {} would be added to the run, {} unmatched",
            dry.executions,
            dry.matched,
            dry.would_create,
            dry.would_add,
            dry.unmatched.len()
        );
        for key in dry.unmatched.iter().take(20) {
            println!("  unmatched: {key}");
        }
        for w in &attachments.files {
            println!(
                "  would attach {} ({}) to {}",
                w.name,
                w.path.display(),
                w.key
            );
        }
        println!(
            "dry run: would attach {} files, {} refused",
            attachments.files.len(),
            attachments.refused.len()
        );
        return skipped
            .or_else(|| refused_failure(attachments.refused.len(), 0))
            .map_or(Ok(()), Err);
    }
    println!("uploaded {updated} executions ({created} cases created, {added} added to the run)");
    // Before a --close: a closed run takes no attachments.
    let attached = if attachments.files.is_empty() {
        attach::Attached::default()
    } else {
        attach::upload(&client, &run.id, &attachments.files, &mut |r| {
            eprintln!("{r}")
        })
        .await
    };
    for line in &attached.failed {
        eprintln!("verdict: cannot attach {line}");
    }
    if !attachments.files.is_empty() || !attachments.refused.is_empty() {
        let mut line = format!(
            "attached {} files, {} refused",
            attached.attached,
            attachments.refused.len()
        );
        if attached.already > 0 {
            line.push_str(&format!(", {} already attached", attached.already));
        }
        if !attached.failed.is_empty() {
            line.push_str(&format!(", {} failed", attached.failed.len()));
        }
        println!("{line}");
    }
    let not_attached = refused_failure(attachments.refused.len(), attached.failed.len());
    let named = |f: super::http::ApiFailure| f.naming(&format!("run {}", run.id));
    let run = if args.close {
        let (_, closed): (_, api::Data<api::Run>) = client
            .post(
                &format!("/v1/runs/{}/close", run.id),
                &serde_json::json!({}),
            )
            .await
            .map_err(named)?;
        closed.data
    } else {
        let fresh: api::Data<api::Run> = client
            .get(&format!("/v1/runs/{}", run.id))
            .await
            .map_err(named)?;
        fresh.data
    };
    print_run(&run, false)?;
    // The comparison informs; it never fails an upload that is recorded.
    let retried: std::collections::HashSet<String> = all
        .iter()
        .filter(|tc| matches!(tc.outcome, Outcome::Passed) && !tc.attempts.is_empty())
        .map(|tc| tc.key())
        .collect();
    if !args.no_compare {
        match triage::summary_line(
            &client,
            &args.project,
            &run.id,
            run.branch.as_deref(),
            args.gate.baseline.as_deref(),
            &retried,
        )
        .await
        {
            Ok(line) => println!("{line}"),
            Err(f) => eprintln!(
                "verdict: cannot compare the run with its baseline: {}",
                f.message
            ),
        }
    }
    let gate_failed = if args.gate.any() {
        !triage::check(&client, &run.id, &args.gate, false).await?
    } else {
        false
    };
    if let Some(failure) = skipped.or(not_attached) {
        if args.fail_on_failed && tally.failed > 0 {
            eprintln!("verdict: {} test(s) failed", tally.failed);
        }
        return Err(failure);
    }
    if gate_failed {
        return Err(Failure {
            message: format!("the gate of run {} failed", run.id),
            code: triage::EXIT_GATE_FAILED,
        });
    }
    if args.fail_on_failed && tally.failed > 0 {
        return Err(Failure {
            message: format!("{} test(s) failed", tally.failed),
            code: EXIT_TESTS_FAILED,
        });
    }
    Ok(())
}

/// The command fails, once everything else is done, when a file named by a
/// report was not attached.
fn refused_failure(refused: usize, failed: usize) -> Option<Failure> {
    (refused + failed > 0).then(|| {
        Failure::new(format!(
            "{} attachment(s) were not uploaded ({refused} refused, {failed} failed; the rest was uploaded)",
            refused + failed
        ))
    })
}

/// The table of reports and their tests (each report on its own, then all
/// of them together, as in the run), and what was folded. Returns the total.
fn print_summary(parsed: &[Parsed]) -> Tally {
    let mut rows: Vec<Vec<String>> = parsed
        .iter()
        .map(|p| Tally::of(&p.testcases).row(p.path.display().to_string()))
        .collect();
    let total = Tally::of(parsed.iter().flat_map(|p| p.testcases.iter()));
    if parsed.len() > 1 {
        rows.push(total.row("total".into()));
    }
    print!(
        "{}",
        table::render(&["report", "tests", "passed", "failed", "skipped"], &rows)
    );
    if total.duplicates > 0 || total.reruns > 0 {
        println!(
            "folded {} duplicate testcase(s) of {} key(s) and {} rerun(s): each test counts once, with its last result, as in the run",
            total.duplicates, total.duplicate_keys, total.reruns
        );
    }
    total
}
