//! Shared by this crate's tests: a fresh database per test (or a skip),
//! a small arrangement for the race tests, and id-insensitive comparison.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use verdict_postgres::PgStore;
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};
use verdict_store::*;

/// A fresh database and a store on it; `None` (after printing the skip
/// message) when `VERDICT_TEST_POSTGRES_URL` is unset.
pub async fn fresh() -> Option<(TestDatabase, PgStore)> {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return None;
    };
    let store = db.connect().await.expect("connect to the test database");
    Some((db, store))
}

/// Renumbers ids in a log (`CaseId(7)`, `tc_007`) by rank within their
/// kind, so two stores whose sequences skipped different numbers (PostgreSQL
/// never reuses a number an aborted insert took) compare equal while their
/// order is still checked.
pub fn normalize_ids(lines: &[String]) -> Vec<String> {
    const KINDS: [(&str, &str); 7] = [
        ("UserId(", "user_"),
        ("TokenId(", "tok_"),
        ("ProjectId(", "prj_"),
        ("CaseId(", "tc_"),
        ("RunId(", "run_"),
        ("ResultId(", "res_"),
        ("AttachmentId(", "att_"),
    ];
    let mut seen: Vec<std::collections::BTreeSet<u64>> = vec![Default::default(); KINDS.len()];
    let scan = |line: &str, f: &mut dyn FnMut(usize, usize, usize, u64)| {
        for (k, (typed, shown)) in KINDS.iter().enumerate() {
            for pat in [*typed, *shown] {
                let mut from = 0;
                while let Some(at) = line[from..].find(pat) {
                    let start = from + at + pat.len();
                    let digits: String = line[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    let preceded = line[..from + at]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_ascii_alphanumeric());
                    if !digits.is_empty() && !preceded {
                        f(k, start, start + digits.len(), digits.parse().unwrap());
                    }
                    from = start;
                }
            }
        }
    };
    for line in lines {
        scan(line, &mut |k, _, _, n| {
            seen[k].insert(n);
        });
    }
    let rank = |k: usize, n: u64| seen[k].iter().position(|v| *v == n).unwrap() + 1;
    lines
        .iter()
        .map(|line| {
            let mut spans = Vec::new();
            scan(line, &mut |k, s, e, n| spans.push((s, e, rank(k, n))));
            spans.sort();
            let mut out = String::new();
            let mut at = 0;
            for (s, e, r) in spans {
                out.push_str(&line[at..s]);
                out.push_str(&format!("#{r}"));
                at = e;
            }
            out.push_str(&line[at..]);
            out
        })
        .collect()
}

pub fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(1_774_520_100_000 + s * 1000)
}

/// Deadlocks PostgreSQL detected in this database: retried, so invisible
/// to callers, but a correct lock order has none. Backends report them when
/// they exit, so the stores are dropped first.
pub async fn deadlocks(db: &TestDatabase, stores: [Arc<PgStore>; 2]) -> i64 {
    drop(stores);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let client = db.client().await.unwrap();
    client
        .query_one(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

pub fn all_results() -> ResultQuery {
    ResultQuery {
        assignee: None,
        statuses: vec![],
        after: None,
        q: None,
        page: Page {
            page: 1,
            per_page: 1000,
        },
        key: None,
        output: false,
    }
}

/// A non-admin user, "ci".
pub async fn ci_user(store: &PgStore) -> User {
    store
        .create_user(
            NewUser {
                name: "ci".into(),
                email: "ci@example.com".into(),
                password_hash: None,
                admin: false,
            },
            t(0),
        )
        .await
        .expect("user")
}

/// Two stores on one database, a user, a project with `cases` keyed cases.
pub async fn setup(
    cases: usize,
) -> Option<(TestDatabase, [Arc<PgStore>; 2], User, Project, Vec<CaseId>)> {
    let (db, a) = fresh().await?;
    let b = db.connect().await.unwrap();
    let user = ci_user(&a).await;
    let project = a.create_project("p".into(), user.id, t(0)).await.unwrap();
    let new: Vec<NewCase> = (0..cases)
        .map(|i| NewCase {
            title: format!("case {i}"),
            key: Some(format!("k{i:04}")),
            suite: None,
            details: Default::default(),
        })
        .collect();
    let ids = a
        .upsert_cases(project.id, new, t(0))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    Some((db, [Arc::new(a), Arc::new(b)], user, project, ids))
}
