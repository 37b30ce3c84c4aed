//! Run counts stay equal to the results they count through any mix of
//! writes: single PATCHes, atomic and partial bulks, refused bulks, bulks
//! large enough to read the whole run, and writes that commit together.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{TestApp, results_path};
use serde_json::{Value, json};

async fn record(app: &TestApp, run: &str, res: &str, token: &str, body: Value) {
    let r = app
        .patch(&results_path(run, &format!("/{res}")), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Recounts the run from its listing, asserts the run's counts and every
/// status filter's `meta.total` agree, and returns the status of each case.
async fn assert_counts_match_results(app: &TestApp, run: &str) -> BTreeMap<String, String> {
    let all = app.all_results(run).await;
    let listed: BTreeMap<String, String> = all
        .iter()
        .map(|r| {
            (
                r["test_case_id"].as_str().expect("case").to_string(),
                r["status"].as_str().expect("status").to_string(),
            )
        })
        .collect();
    let mut recount = json!({"passed": 0, "failed": 0, "blocked": 0, "retest": 0, "not_tested": 0, "total": all.len()});
    for status in listed.values() {
        recount[status] = json!(recount[status].as_i64().expect("n") + 1);
    }
    assert_eq!(app.counts(run).await, recount);
    for status in STATUSES {
        let r = app
            .get(&results_path(run, &format!("?status={status}")), &app.admin)
            .await;
        assert_eq!(r.body["meta"]["total"], recount[status], "{status}");
    }
    listed
}

const STATUSES: [&str; 5] = ["passed", "failed", "blocked", "retest", "not_tested"];

/// A small deterministic generator, so a failure replays exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[tokio::test]
async fn counts_after_mixed_writes_equal_a_recount_of_the_results() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(30).await;
    let tester = app.member(&project, "ci", "tester").await;
    let mut expected: BTreeMap<String, &str> =
        cases.iter().map(|c| (c.clone(), "not_tested")).collect();
    let mut rng = Lcg(7);
    for round in 0..24 {
        match round % 4 {
            0 => {
                let case = &cases[rng.next(30)];
                let status = STATUSES[rng.next(5)];
                let res = app.result_of(&run, case).await;
                record(&app, &run, &res, &tester, json!({"status": status})).await;
                expected.insert(case.clone(), status);
            }
            1 | 2 => {
                // Repeats are likely with 12 picks from 30 cases.
                let mut list = Vec::new();
                for _ in 0..12 {
                    let case = &cases[rng.next(30)];
                    let status = STATUSES[rng.next(5)];
                    list.push(json!({"test_case_id": case, "status": status}));
                    expected.insert(case.clone(), status);
                }
                let query = if round % 4 == 2 { "?partial=true" } else { "" };
                if query.is_empty() {
                    let r = app.bulk(&run, &tester, json!({"results": list})).await;
                    assert_eq!(r.data()["updated"], 12);
                } else {
                    list.push(json!({"test_case_id": "tc_999", "status": "passed"}));
                    list.push(json!({"test_case_id": cases[0], "status": "?"}));
                    let r = app
                        .post(
                            &results_path(&run, &format!("/bulk{query}")),
                            &tester,
                            json!({"results": list}),
                        )
                        .await;
                    assert_eq!(r.data()["updated"], 12);
                }
            }
            _ => {
                // An atomic bulk with one bad entry changes nothing.
                let bad = json!({"results": [{"test_case_id": cases[rng.next(30)], "status": "passed"},
                                             {"test_case_id": "tc_999", "status": "failed"}]});
                app.bulk(&run, &tester, bad)
                    .await
                    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            }
        }
    }
    let listed = assert_counts_match_results(&app, &run).await;
    let expected: BTreeMap<String, String> = expected
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(app.counts(&run).await["total"], 30);
}

#[tokio::test]
async fn a_bulk_covering_the_whole_run_counts_each_execution_once() {
    // More than 256 entries over most of the run: the store reads the run
    // at once instead of looking up each case.
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(300).await;
    let mut list = Vec::new();
    let mut expected = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let status = STATUSES[i % 5];
        list.push(json!({"test_case_id": case, "status": status}));
        expected.insert(case.clone(), status.to_string());
    }
    for (i, case) in cases.iter().enumerate().take(50) {
        let status = STATUSES[(i + 1) % 5];
        list.push(json!({"test_case_id": case, "status": status}));
        expected.insert(case.clone(), status.to_string());
    }
    list.push(json!({"test_case_id": "tc_999999", "status": "passed"}));
    let r = app
        .post(
            &results_path(&run, "/bulk?partial=true"),
            &app.admin,
            json!({"results": list.clone()}),
        )
        .await;
    assert_eq!(r.data()["updated"], 350);
    assert_eq!(r.data()["rejected"][0]["index"], 350);
    assert_eq!(r.data()["rejected"][0]["code"], "case_not_in_run");
    assert_eq!(assert_counts_match_results(&app, &run).await, expected);
    // Atomic, the same request writes nothing and names the stranger.
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &app.admin, json!({"results": list})).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["results[350].test_case_id"]);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_commit_together_and_failures_write_nothing() {
    let app = Arc::new(TestApp::new().await);
    let (_, cases, run) = app.seeded(20).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40usize {
        let (app, run, cases) = (Arc::clone(&app), run.clone(), cases.clone());
        tasks.spawn(async move {
            let case = &cases[i % 20];
            let status = STATUSES[i % 4];
            if i % 5 == 4 {
                // Refused by the store after validation: must leave no trace.
                let bad = json!({"results": [{"test_case_id": case, "status": "passed"},
                                             {"test_case_id": "tc_999", "status": "passed"}]});
                let r = app.bulk(&run, &app.admin, bad).await;
                r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
                return (i, None);
            }
            let r = app
                .bulk(
                    &run,
                    &app.admin,
                    json!({"results": [{"test_case_id": case, "status": status}]}),
                )
                .await;
            assert_eq!(r.data()["updated"], 1);
            (
                i,
                Some(
                    r.data()["results"][0]["id"]
                        .as_str()
                        .expect("id")
                        .to_string(),
                ),
            )
        });
    }
    let mut applied = 0;
    while let Some(done) = tasks.join_next().await {
        if done.expect("task").1.is_some() {
            applied += 1;
        }
    }
    assert_eq!(applied, 32);
    assert_counts_match_results(&app, &run).await;
    let mut executions = 0;
    for r in app.all_results(&run).await {
        executions += app.history(&run, r["id"].as_str().expect("id")).await.len();
    }
    assert_eq!(executions, 32);
}
