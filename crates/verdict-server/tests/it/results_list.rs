//! GET /v1/runs/:rid/results — paging, the status filter, the `after`
//! cursor and the query checks (API §3).

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, results_path};
use serde_json::{Value, json};

fn ids(data: &Value) -> Vec<String> {
    data.as_array()
        .expect("list")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

/// Sets statuses by case index through one bulk as the admin.
async fn set_statuses(app: &TestApp, run: &str, cases: &[String], statuses: &[(usize, &str)]) {
    let entries: Vec<Value> = statuses
        .iter()
        .map(|(i, s)| json!({"test_case_id": cases[*i], "status": s}))
        .collect();
    let r = app.bulk(run, &app.admin, json!({"results": entries})).await;
    assert_eq!(r.data()["updated"], statuses.len());
}

async fn assert_query_refused(query: &str, field: &str) {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(3).await;
    let r = app.get(&results_path(&run, query), &app.admin).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), [field], "{query}: {}", r.body);
}

#[tokio::test]
async fn list_defaults_to_page_one_of_twenty_with_the_total() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(45).await;
    let r = app.get(&results_path(&run, ""), &app.admin).await;
    let data = r.data().as_array().expect("list");
    assert_eq!(data.len(), 20);
    let got: Vec<&str> = data
        .iter()
        .map(|d| d["test_case_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, cases[..20]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 45, "page": 1, "per_page": 20, "next_after": data[19]["id"]})
    );
    // Each item is the result exactly as GET shows it.
    let id = data[0]["id"].as_str().expect("id");
    let one = app
        .get(&results_path(&run, &format!("/{id}")), &app.admin)
        .await;
    assert_eq!(&data[0], one.data());
    assert_eq!(data[0]["status"], "not_tested");
    assert_eq!(data[0]["test_case_title"], "Case 1");
}

#[tokio::test]
async fn list_per_page_one_returns_one_result_and_the_total() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(5).await;
    let r = app
        .get(&results_path(&run, "?per_page=1&page=2"), &app.admin)
        .await;
    let data = r.data().as_array().expect("list");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["test_case_id"], cases[1]);
    assert_eq!(r.body["meta"]["total"], 5);
    assert_eq!(r.body["meta"]["page"], 2);
    assert_eq!(r.body["meta"]["per_page"], 1);
}

#[tokio::test]
async fn list_per_page_1000_returns_the_whole_run() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(45).await;
    let r = app
        .get(&results_path(&run, "?per_page=1000"), &app.admin)
        .await;
    assert_eq!(r.data().as_array().expect("list").len(), 45);
    assert_eq!(
        r.body["meta"],
        json!({"total": 45, "page": 1, "per_page": 1000})
    );
}

#[tokio::test]
async fn list_last_page_is_partial_and_pages_cover_every_result_once() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(45).await;
    let mut seen = Vec::new();
    for (page, len) in [(1, 20), (2, 20), (3, 5)] {
        let r = app
            .get(&results_path(&run, &format!("?page={page}")), &app.admin)
            .await;
        assert_eq!(r.data().as_array().expect("list").len(), len, "page {page}");
        seen.extend(ids(r.data()));
    }
    let all = ids(&json!(app.all_results(&run).await));
    assert_eq!(seen, all);
}

#[tokio::test]
async fn list_page_past_the_end_is_empty_with_the_true_total() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(45).await;
    for page in [4, 1000, u32::MAX] {
        let r = app
            .get(&results_path(&run, &format!("?page={page}")), &app.admin)
            .await;
        assert_eq!(r.data(), &json!([]), "page {page}");
        assert_eq!(
            r.body["meta"],
            json!({"total": 45, "page": page, "per_page": 20})
        );
    }
}

#[tokio::test]
async fn list_per_page_zero_is_refused() {
    assert_query_refused("?per_page=0", "per_page").await;
}

#[tokio::test]
async fn list_per_page_1001_is_refused_not_clamped() {
    assert_query_refused("?per_page=1001", "per_page").await;
}

#[tokio::test]
async fn list_negative_per_page_is_refused() {
    assert_query_refused("?per_page=-1", "per_page").await;
}

#[tokio::test]
async fn list_non_numeric_per_page_is_refused() {
    assert_query_refused("?per_page=abc", "per_page").await;
}

#[tokio::test]
async fn list_page_zero_is_refused() {
    assert_query_refused("?page=0", "page").await;
}

#[tokio::test]
async fn list_non_numeric_page_is_refused() {
    assert_query_refused("?page=two", "page").await;
}

#[tokio::test]
async fn list_unknown_query_parameter_is_refused_by_name() {
    assert_query_refused("?per_pge=100", "per_pge").await;
}

#[tokio::test]
async fn list_repeated_query_parameter_is_refused() {
    assert_query_refused("?page=1&page=2", "page").await;
}

#[tokio::test]
async fn list_unknown_status_is_refused() {
    assert_query_refused("?status=passed,skipped", "status").await;
}

#[tokio::test]
async fn list_empty_status_is_refused() {
    assert_query_refused("?status=", "status").await;
}

#[tokio::test]
async fn list_malformed_after_is_refused() {
    for after in ["abc", "tc_001", "res_", "res_0", "res_-1"] {
        assert_query_refused(&format!("?after={after}"), "after").await;
    }
}

#[tokio::test]
async fn list_filtered_by_one_status_counts_only_its_matches() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(10).await;
    set_statuses(
        &app,
        &run,
        &cases,
        &[(1, "passed"), (4, "failed"), (6, "passed"), (7, "passed")],
    )
    .await;
    let r = app
        .get(&results_path(&run, "?status=passed"), &app.admin)
        .await;
    let got: Vec<&str> = r
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["test_case_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [&cases[1], &cases[6], &cases[7]]);
    assert_eq!(r.body["meta"]["total"], 3);
    let r = app
        .get(
            &results_path(&run, "?status=not_tested&per_page=2"),
            &app.admin,
        )
        .await;
    assert_eq!(r.data().as_array().expect("list").len(), 2);
    assert_eq!(r.body["meta"]["total"], 6);
}

#[tokio::test]
async fn list_filtered_by_a_comma_list_merges_statuses_in_id_order() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(10).await;
    set_statuses(
        &app,
        &run,
        &cases,
        &[
            (0, "failed"),
            (2, "blocked"),
            (3, "failed"),
            (5, "retest"),
            (8, "blocked"),
        ],
    )
    .await;
    let r = app
        .get(&results_path(&run, "?status=blocked,failed"), &app.admin)
        .await;
    let got: Vec<&str> = r
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["test_case_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [&cases[0], &cases[2], &cases[3], &cases[8]]);
    assert_eq!(r.body["meta"]["total"], 4);
    // The total counts the filter, not the page; a repeated status counts once.
    let r = app
        .get(
            &results_path(&run, "?status=failed,blocked,failed&per_page=3&page=2"),
            &app.admin,
        )
        .await;
    let got: Vec<&str> = r
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["test_case_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [&cases[8]]);
    assert_eq!(r.body["meta"]["total"], 4);
}

#[tokio::test]
async fn list_is_ordered_by_result_id_not_case_id() {
    let app = TestApp::new().await;
    let project = app.project("Order").await;
    let cases = app.cases(&project, 3).await;
    let run = app
        .post(
            &format!("/v1/projects/{project}/runs"),
            &app.admin,
            json!({"name": "r", "case_ids": [cases[2], cases[0], cases[1]]}),
        )
        .await
        .id();
    let all = app.all_results(&run).await;
    let got: Vec<&str> = all
        .iter()
        .map(|d| d["test_case_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [&cases[2], &cases[0], &cases[1]]);
    let listed = ids(&json!(all));
    let mut sorted = listed.clone();
    sorted.sort_by_key(|id| id["res_".len()..].parse::<u64>().expect("number"));
    assert_eq!(listed, sorted);
}

/// Follows `meta.next_after` from the start; every page but the last is full.
async fn chain(app: &TestApp, run: &str, extra: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut query = format!("?per_page=7{extra}");
    for _ in 0..100 {
        let r = app.get(&results_path(run, &query), &app.admin).await;
        let page = ids(r.data());
        seen.extend(page.clone());
        match r.body["meta"]["next_after"].as_str() {
            Some(next) => {
                assert_eq!(page.len(), 7, "a page with next_after is full");
                assert_eq!(Some(next), page.last().map(String::as_str));
                query = format!("?per_page=7&after={next}{extra}");
            }
            None => {
                assert!(page.len() < 7, "{}", r.body);
                return seen;
            }
        }
    }
    panic!("the cursor never ran out");
}

#[tokio::test]
async fn list_after_cursor_chains_over_every_result_exactly_once() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(45).await;
    let all = ids(&json!(app.all_results(&run).await));
    assert_eq!(chain(&app, &run, "").await, all);
    // A run that is an exact multiple of the page ends on an empty page.
    let (_, _, run) = app.seeded(14).await;
    let all = ids(&json!(app.all_results(&run).await));
    assert_eq!(chain(&app, &run, "").await, all);
}

#[tokio::test]
async fn list_after_cursor_with_status_filter_keeps_the_filter_total() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(30).await;
    let failed: Vec<(usize, &str)> = (0..30)
        .filter(|i| i % 3 == 0)
        .map(|i| (i, "failed"))
        .collect();
    set_statuses(&app, &run, &cases, &failed).await;
    let expected: Vec<String> = app
        .all_results(&run)
        .await
        .iter()
        .filter(|r| r["status"] == "failed")
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(expected.len(), 10);
    assert_eq!(chain(&app, &run, "&status=failed").await, expected);
    let r = app
        .get(
            &results_path(&run, &format!("?status=failed&after={}", expected[8])),
            &app.admin,
        )
        .await;
    assert_eq!(ids(r.data()), [expected[9].clone()]);
    assert_eq!(r.body["meta"]["total"], 10);
}

#[tokio::test]
async fn list_after_the_last_result_is_empty() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(3).await;
    let all = ids(&json!(app.all_results(&run).await));
    let r = app
        .get(
            &results_path(&run, &format!("?after={}", all[2])),
            &app.admin,
        )
        .await;
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 3);
}

#[tokio::test]
async fn list_of_unknown_or_malformed_run_is_not_found() {
    let app = TestApp::new().await;
    app.seeded(2).await;
    for run in ["run_999", "run_0", "abc", "res_001", "run_1x"] {
        let r = app.get(&results_path(run, ""), &app.admin).await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}
