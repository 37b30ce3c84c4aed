//! Sample data for a first look (`verdict serve --demo`): a web shop's
//! test cases in suites, two manual release runs with realistic results (a
//! closed release, one in progress), notes, re-tests that show up in
//! history, a month of nightly smoke runs uploaded by CI on `main` and a
//! feature branch's runs (see [`history`]: flaky, broken and fixed,
//! slowing, quarantined), and a demo user who can sign in. In the release
//! in progress some results are assigned to the demo user and to another
//! tester, and a few carry step results and defects (which link to a
//! made-up tracker). Everything goes
//! through the [`Store`] trait, so it works on any backend, and only into
//! an empty database: demo data must never mix with real data.

mod data;
mod history;

use verdict_store::{
    AssignTarget, BulkEntry, BulkRequest, CaseId, CaseUpsert, Execution, NewCase, NewProject,
    NewRun, NewUser, Page, ProjectId, Quarantine, ResultId, ResultQuery, Role, RunId, RunMeta,
    Status, StepResult, Store, Timestamp, User, UserId,
};

use data::{CASES, DAY, Step};

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_PROJECT: &str = "Demo: Web shop (sample data)";
/// Where the demo project's defects link to (a made-up tracker).
pub const DEMO_DEFECT_URL: &str = "https://issues.example.com/browse/{id}";

/// What was seeded.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub project: ProjectId,
    pub user: User,
    /// The closed release, the release in progress, the latest nightly on
    /// `main`.
    pub runs: Vec<RunId>,
}

/// Whether the database holds no users yet (a fresh install).
pub async fn is_empty(store: &dyn Store) -> Result<bool, String> {
    let users = store
        .list_users(Page {
            page: 1,
            per_page: 1,
        })
        .await
        .map_err(|e| format!("cannot read users: {e}"))?;
    Ok(users.total == 0)
}

fn key(suite: &str, title: &str) -> String {
    let simple = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_")
            .to_lowercase()
    };
    format!("shop.{}.{}", simple(suite), simple(title))
}

fn run_of(status: Status, note: Option<&str>, elapsed_s: i64) -> Execution {
    Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status,
        note: note.map(str::to_string),
        elapsed_ms: (status != Status::NotTested && elapsed_s > 0).then_some(elapsed_s * 1000),
        output: None,
    }
}

/// Step results and defects for an execution of a case (by index).
type Extras = fn(usize, Status) -> (Vec<StepResult>, Vec<String>);

/// What a tester recorded beyond status and note, for some executions of
/// the release in progress: step results (for the cases with steps) and
/// defects. By case index and status.
fn release_24_extras(case: usize, status: Status) -> (Vec<StepResult>, Vec<String>) {
    let step = |status: Status, actual: Option<&str>| StepResult {
        status,
        actual: actual.map(Into::into),
    };
    match (case, status) {
        (0, Status::Passed) => (vec![step(Status::Passed, None); 3], Vec::new()),
        (2, _) => (Vec::new(), vec!["SHOP-2291".into()]),
        (3, Status::Passed) => (
            vec![
                step(Status::Passed, None),
                step(Status::Passed, Some("The link arrived after 40 s")),
                step(Status::Passed, None),
            ],
            Vec::new(),
        ),
        (24, Status::Failed) => (Vec::new(), vec!["SHOP-2304".into()]),
        _ => (Vec::new(), Vec::new()),
    }
}

/// Records steps in order (history follows), through the store; `extras`
/// adds step results and defects to some executions.
async fn record(
    store: &dyn Store,
    run: RunId,
    steps: &[Step<'_>],
    extras: Option<Extras>,
) -> Result<(), String> {
    let listing = store
        .list_results(
            run,
            ResultQuery {
                assignee: None,
                statuses: Vec::new(),
                after: None,
                q: None,
                page: Page {
                    page: 1,
                    per_page: 1000,
                },
                key: None,
                output: false,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    for (case, status, note, seconds, who, at) in steps {
        let title = CASES.get(*case).map(|c| c.1).unwrap_or_default();
        let Some(result) = listing.items.iter().find(|r| r.case_title == title) else {
            continue;
        };
        let mut execution = run_of(*status, *note, *seconds);
        if let Some(extras) = extras {
            (execution.step_results, execution.defects) = extras(*case, *status);
        }
        store
            .record_result(run, result.id, execution, *who, Timestamp::from_millis(*at))
            .await
            .map_err(|e| format!("recording a demo result: {e}"))?;
    }
    Ok(())
}

/// Shares out the release in progress: the first untested results to the
/// demo user (their *My work*), the next ones to Sam, and the failures
/// back to whoever found them.
async fn assign_release_24(store: &dyn Store, run: RunId, p: &data::People) -> Result<(), String> {
    let listing = store
        .list_results(
            run,
            ResultQuery {
                assignee: None,
                statuses: Vec::new(),
                after: None,
                q: None,
                page: Page {
                    page: 1,
                    per_page: 1000,
                },
                key: None,
                output: false,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let untested: Vec<ResultId> = listing
        .items
        .iter()
        .filter(|r| r.status == Status::NotTested)
        .map(|r| r.id)
        .collect();
    let failed = |who: UserId| -> Vec<ResultId> {
        listing
            .items
            .iter()
            .filter(|r| r.status == Status::Failed && r.tested_by == Some(who))
            .map(|r| r.id)
            .collect()
    };
    let mut dana: Vec<ResultId> = untested.iter().take(6).copied().collect();
    dana.extend(failed(p.dana));
    let mut sam: Vec<ResultId> = untested.iter().skip(6).take(5).copied().collect();
    sam.extend(failed(p.sam));
    for (ids, who) in [(dana, p.dana), (sam, p.sam)] {
        if ids.is_empty() {
            continue;
        }
        store
            .assign_results(run, AssignTarget::Results(ids), Some(who))
            .await
            .map_err(|e| format!("demo data: assigning results: {e}"))?;
    }
    Ok(())
}

/// Uploads a CI run's results as CI would: one bulk request, at `at` plus
/// a quarter of an hour.
async fn upload(
    store: &dyn Store,
    run: RunId,
    cases: &[CaseUpsert],
    plan: &history::Planned,
    bot: verdict_store::UserId,
    at: Timestamp,
) -> Result<(), String> {
    let mut entries = Vec::new();
    for (case, executions) in &plan.executions {
        let Some(case) = cases.get(*case) else {
            continue;
        };
        for (status, note, ms) in executions {
            entries.push(BulkEntry {
                index: entries.len(),
                case_id: case.case.id,
                execution: Execution {
                    step_results: Vec::new(),
                    defects: Vec::new(),
                    status: *status,
                    note: note.clone(),
                    elapsed_ms: Some(*ms),
                    output: None,
                },
            });
        }
    }
    store
        .record_bulk(BulkRequest {
            run,
            actor: bot,
            now: Timestamp::from_millis(at.millis() + 15 * 60_000),
            entries,
            partial: false,
            refused: Vec::new(),
            idempotency: None,
        })
        .await
        .map_err(|e| format!("demo data: uploading a CI run: {e}"))?;
    Ok(())
}

/// Seeds the demo; the caller has checked [`is_empty`].
pub async fn seed(store: &dyn Store, now: Timestamp) -> Result<DemoInfo, String> {
    let password_hash = crate::auth::passwords::hash_password(DEMO_PASSWORD.into())
        .await
        .map_err(|e| format!("demo data: hashing the demo password: {e:?}"))?;
    let err = |what: &str| {
        let what = what.to_string();
        move |e: verdict_store::StoreError| format!("demo data: {what}: {e}")
    };
    let t = |ms_ago: i64| Timestamp::from_millis(now.millis() - ms_ago);
    let person = |name: &str, email: &str, hash: Option<String>| NewUser {
        name: name.into(),
        email: email.into(),
        password_hash: hash,
        admin: false,
    };
    let dana = store
        .create_user(
            person("Dana Demo", DEMO_EMAIL, Some(password_hash)),
            t(30 * DAY),
        )
        .await
        .map_err(err("the demo user"))?;
    let sam = store
        .create_user(person("Sam Rivera", "sam@example.com", None), t(30 * DAY))
        .await
        .map_err(err("a tester"))?;
    let lee = store
        .create_user(person("Lee Okafor", "lee@example.com", None), t(30 * DAY))
        .await
        .map_err(err("a lead"))?;
    let bot = store
        .create_user(person("CI bot", "ci-bot@example.com", None), t(30 * DAY))
        .await
        .map_err(err("a bot"))?;
    let project = store
        .create_project(
            NewProject {
                name: DEMO_PROJECT.into(),
                defect_url_template: Some(DEMO_DEFECT_URL.into()),
            },
            dana.id,
            t(30 * DAY),
        )
        .await
        .map_err(err("the project"))?;
    store
        .set_member(project.id, sam.id, Role::Tester)
        .await
        .map_err(err("a member"))?;
    store
        .set_member(project.id, lee.id, Role::Manager)
        .await
        .map_err(err("a member"))?;
    store
        .set_member(project.id, bot.id, Role::Tester)
        .await
        .map_err(err("a member"))?;
    let cases: Vec<NewCase> = CASES
        .iter()
        .map(|(suite, title)| NewCase {
            title: (*title).into(),
            key: Some(key(suite, title)),
            suite: Some((*suite).into()),
            details: manual_details(title),
        })
        .collect();
    let cases = store
        .upsert_cases(project.id, cases, t(30 * DAY))
        .await
        .map_err(err("the cases"))?;
    let people = data::People {
        dana: dana.id,
        sam: sam.id,
        lee: lee.id,
    };
    let now_ms = now.millis();
    let smoke_cases: Vec<CaseId> = history::SMOKE
        .iter()
        .filter_map(|i| cases.get(*i).map(|c| c.case.id))
        .collect();
    // Every run in the order it happened, so ids follow time (a run's
    // baseline is the latest earlier one): the two manual releases among
    // the nightly CI runs.
    enum Planned {
        Release23,
        Release24,
        Ci(history::Planned),
    }
    let mut planned: Vec<(i64, Planned)> = vec![
        (21 * DAY, Planned::Release23),
        (3 * DAY, Planned::Release24),
    ];
    planned.extend(
        history::plan()
            .into_iter()
            .map(|p| (p.ago_ms, Planned::Ci(p))),
    );
    planned.sort_by_key(|(ago, _)| std::cmp::Reverse(*ago));
    let manual = |name: &str, description: &str| NewRun {
        name: name.into(),
        description: Some(description.into()),
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    let mut releases = Vec::new();
    let mut latest_nightly = None;
    for (ago, plan) in planned {
        let at = t(ago);
        match plan {
            Planned::Release23 | Planned::Release24 => {
                let r23 = matches!(plan, Planned::Release23);
                let new = if r23 {
                    manual(
                        "Release 2.3 regression",
                        "Sample data: the full manual regression before release 2.3 (closed).",
                    )
                } else {
                    manual(
                        "Release 2.4 regression",
                        "Sample data: the manual regression for release 2.4, in progress. Try marking the rest!",
                    )
                };
                let (run, _) = store
                    .create_run(project.id, new, at)
                    .await
                    .map_err(err("a run"))?;
                if r23 {
                    record(store, run.id, &data::release_23(&people, now_ms), None).await?;
                    store
                        .close_run(run.id, Timestamp::from_millis(now_ms - 18 * DAY))
                        .await
                        .map_err(err("closing a run"))?;
                } else {
                    record(
                        store,
                        run.id,
                        &data::release_24(&people, now_ms),
                        Some(release_24_extras),
                    )
                    .await?;
                    assign_release_24(store, run.id, &people).await?;
                }
                releases.push(run.id);
            }
            Planned::Ci(p) => {
                let new = NewRun {
                    name: p.name.clone(),
                    description: Some(
                        "Sample data: automated smoke tests uploaded by CI overnight.".into(),
                    ),
                    key: None,
                    meta: RunMeta {
                        branch: Some(p.branch.into()),
                        commit: Some(p.commit.clone()),
                        build_url: Some(p.build_url()),
                        environment: Some(history::ENVIRONMENT.into()),
                    },
                    case_ids: Some(smoke_cases.clone()),
                };
                let (run, _) = store
                    .create_run(project.id, new, at)
                    .await
                    .map_err(err("a CI run"))?;
                upload(store, run.id, &cases, &p, bot.id, at).await?;
                if p.branch == "main" {
                    latest_nightly = Some(run.id);
                }
            }
        }
    }
    if let Some(case) = cases.get(history::QUARANTINED) {
        store
            .set_quarantine(
                case.case.id,
                Some(Quarantine {
                    reason: history::QUARANTINE_REASON.into(),
                    by: lee.id,
                    at: t(12 * DAY),
                }),
            )
            .await
            .map_err(err("quarantining a case"))?;
    }
    let mut runs = releases;
    runs.extend(latest_nightly);

    Ok(DemoInfo {
        project: project.id,
        user: dana,
        runs,
    })
}

/// What a tester follows, for a few of the demo's cases (the rest have none).
fn manual_details(title: &str) -> verdict_store::DetailsPatch {
    use verdict_store::{DetailsPatch, Priority, Step as CaseStep};
    let step = |action: &str, expected: Option<&str>| CaseStep {
        action: action.into(),
        expected: expected.map(Into::into),
    };
    match title {
        "Sign in with valid credentials" => DetailsPatch {
            preconditions: Some(Some(
                "A registered account with a verified email.\nSigned out.".into(),
            )),
            steps: Some(vec![
                step(
                    "Open the shop and choose Sign in",
                    Some("The sign-in form shows"),
                ),
                step("Enter the account's email and password", None),
                step(
                    "Press Sign in",
                    Some("The account menu shows the user's name"),
                ),
            ]),
            priority: Some(Some(Priority::Critical)),
            refs: Some(vec!["REQ-101".into(), "SHOP-12".into()]),
        },
        "Reset password by email link" => DetailsPatch {
            preconditions: Some(Some("A registered account; access to its mailbox.".into())),
            steps: Some(vec![
                step(
                    "Choose Forgot password and enter the email",
                    Some("A confirmation says an email was sent"),
                ),
                step(
                    "Open the link in the email",
                    Some("A form asks for a new password"),
                ),
                step("Set a new password and sign in with it", Some("Signed in")),
            ]),
            priority: Some(Some(Priority::High)),
            refs: Some(vec!["REQ-104".into()]),
        },
        "Checkout as a guest" => DetailsPatch {
            preconditions: Some(Some("Signed out; a product in stock.".into())),
            steps: Some(vec![
                step("Add a product to the cart and open the cart", None),
                step(
                    "Choose Checkout as a guest",
                    Some("The address form shows, without a sign-in"),
                ),
                step(
                    "Enter an address and continue",
                    Some("The payment choices show with the order total"),
                ),
            ]),
            priority: Some(Some(Priority::High)),
            refs: Some(vec!["REQ-201".into()]),
        },
        "Pay by credit card" => DetailsPatch {
            preconditions: Some(Some(
                "A cart ready for payment; the test card 4111 1111 1111 1111.".into(),
            )),
            steps: Some(vec![
                step("Choose Credit card", Some("The card form shows")),
                step("Enter the test card with any future expiry and CVC", None),
                step(
                    "Press Pay",
                    Some("The order confirmation page shows the order number"),
                ),
            ]),
            priority: Some(Some(Priority::Critical)),
            refs: Some(vec!["REQ-210".into(), "PAY-7".into()]),
        },
        _ => DetailsPatch::default(),
    }
}
