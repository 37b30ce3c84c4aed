//! Sample data for a first look (`verdict serve --demo`): a web shop's
//! test cases in suites, three runs with realistic results (a closed
//! release, one in progress, a nightly smoke run), notes, re-tests that
//! show up in history, and a demo user who can sign in. Everything goes
//! through the [`Store`] trait, so it works on any backend, and only into
//! an empty database: demo data must never mix with real data.

mod data;

use verdict_store::{
    Execution, NewCase, NewRun, NewUser, Page, ProjectId, ResultQuery, Role, RunId, Status, Store,
    Timestamp, User,
};

use data::{CASES, DAY, HOUR, Step};

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_PROJECT: &str = "Demo: Web shop (sample data)";

/// What was seeded.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub project: ProjectId,
    pub user: User,
    /// Oldest first: the closed release, the release in progress, the smoke run.
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
        status,
        note: note.map(str::to_string),
        elapsed_ms: (status != Status::NotTested && elapsed_s > 0).then_some(elapsed_s * 1000),
    }
}

/// Records steps in order (history follows), through the store.
async fn record(store: &dyn Store, run: RunId, steps: &[Step<'_>]) -> Result<(), String> {
    let listing = store
        .list_results(
            run,
            ResultQuery {
                statuses: Vec::new(),
                after: None,
                q: None,
                page: Page {
                    page: 1,
                    per_page: 1000,
                },
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    for (case, status, note, seconds, who, at) in steps {
        let title = CASES.get(*case).map(|c| c.1).unwrap_or_default();
        let Some(result) = listing.items.iter().find(|r| r.case_title == title) else {
            continue;
        };
        store
            .record_result(
                run,
                result.id,
                run_of(*status, *note, *seconds),
                *who,
                Timestamp::from_millis(*at),
            )
            .await
            .map_err(|e| format!("recording a demo result: {e}"))?;
    }
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
        .create_project(DEMO_PROJECT.into(), dana.id, t(30 * DAY))
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
        })
        .collect();
    let cases = store
        .upsert_cases(project.id, cases, t(30 * DAY))
        .await
        .map_err(err("the cases"))?;
    let new_run = |name: &str, description: &str, case_ids| NewRun {
        name: name.into(),
        description: Some(description.into()),
        key: None,
        meta: verdict_store::RunMeta::default(),
        case_ids,
    };
    let (r23, _) = store
        .create_run(
            project.id,
            new_run(
                "Release 2.3 regression",
                "Sample data: the full manual regression before release 2.3 (closed).",
                None,
            ),
            t(21 * DAY),
        )
        .await
        .map_err(err("a run"))?;
    let (r24, _) = store
        .create_run(
            project.id,
            new_run(
                "Release 2.4 regression",
                "Sample data: the manual regression for release 2.4, in progress. Try marking the rest!",
                None,
            ),
            t(3 * DAY),
        )
        .await
        .map_err(err("a run"))?;
    let smoke_cases = cases
        .iter()
        .filter(|c| {
            matches!(
                c.case.suite.as_deref(),
                Some("Sign-in & accounts" | "Checkout & payment")
            )
        })
        .map(|c| c.case.id)
        .collect();
    let (smoke, _) = store
        .create_run(
            project.id,
            new_run(
                "Nightly smoke — build 1187",
                "Sample data: automated smoke tests uploaded by CI overnight.",
                Some(smoke_cases),
            ),
            t(10 * HOUR),
        )
        .await
        .map_err(err("a run"))?;

    let people = data::People {
        dana: dana.id,
        sam: sam.id,
        lee: lee.id,
        bot: bot.id,
    };
    let now_ms = now.millis();
    record(store, r23.id, &data::release_23(&people, now_ms)).await?;
    store
        .close_run(r23.id, Timestamp::from_millis(now_ms - 18 * DAY))
        .await
        .map_err(err("closing a run"))?;
    record(store, r24.id, &data::release_24(&people, now_ms)).await?;
    record(store, smoke.id, &data::smoke(&people, now_ms)).await?;

    Ok(DemoInfo {
        project: project.id,
        user: dana,
        runs: vec![r23.id, r24.id, smoke.id],
    })
}
