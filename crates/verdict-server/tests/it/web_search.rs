//! Title search over a run's results: `q` on `GET /v1/runs/:rid/results`
//! (case-insensitive substring of the case title, Unicode case included, `meta.total` counting the
//! matches, with the status filter and paging) and the run page's search
//! and filter, which use it.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, html};
use serde_json::json;

/// A run over cases whose titles the searches below tell apart.
async fn titled(app: &TestApp) -> (String, String) {
    let project = app.project("Shop").await;
    let titles = [
        "Login with SSO",
        "Checkout as guest",
        "login with password",
        "Logout",
        "Search 100% off",
        "Cart_total",
    ];
    let cases: Vec<_> = titles.iter().map(|t| json!({"title": t})).collect();
    app.bulk_cases(&project, cases).await;
    (project.clone(), app.run(&project, "Run").await)
}

fn titles(r: &common::Resp) -> Vec<String> {
    r.data()
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["test_case_title"].as_str().expect("title").to_string())
        .collect()
}

#[tokio::test]
async fn q_matches_titles_regardless_of_case_and_counts_the_matches() {
    let app = TestApp::new().await;
    let (_, run) = titled(&app).await;
    let r = app
        .get(&format!("/v1/runs/{run}/results?q=LOGIN"), &app.admin)
        .await;
    assert_eq!(titles(&r), ["Login with SSO", "login with password"]);
    assert_eq!(r.body["meta"]["total"], 2);
    // Wildcards are plain text.
    let r = app
        .get(&format!("/v1/runs/{run}/results?q=100%25"), &app.admin)
        .await;
    assert_eq!(titles(&r), ["Search 100% off"]);
    let r = app
        .get(&format!("/v1/runs/{run}/results?q=_"), &app.admin)
        .await;
    assert_eq!(titles(&r), ["Cart_total"]);
    // Empty (or blank) is no search.
    let r = app
        .get(&format!("/v1/runs/{run}/results?q=%20"), &app.admin)
        .await;
    assert_eq!(r.body["meta"]["total"], 6);
    let r = app
        .get(
            &format!("/v1/runs/{run}/results?q=nothing+like+it"),
            &app.admin,
        )
        .await;
    assert_eq!(r.body["meta"]["total"], 0);
    assert!(r.data().as_array().expect("list").is_empty());
    let r = app
        .get(&format!("/v1/runs/{run}/results?q=a&q=b"), &app.admin)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

/// Case is ignored beyond ASCII, alike on SQLite and PostgreSQL: on
/// SQLite `lower()` folds only A–Z. Accents still count.
#[tokio::test]
async fn q_ignores_case_beyond_ascii_in_results_and_cases() {
    let app = TestApp::new().await;
    let project = app.project("Intl").await;
    let names = ["Über den Wolken", "über uns", "Uber ride", "ÉTÉ à Paris"];
    let cases: Vec<_> = names.iter().map(|t| json!({"title": t})).collect();
    app.bulk_cases(&project, cases).await;
    let run = app.run(&project, "Run").await;
    for (q, expected) in [
        ("%C3%BCBER", vec!["Über den Wolken", "über uns"]),
        ("%C3%9Cber", vec!["Über den Wolken", "über uns"]),
        ("%C3%A9t%C3%A9", vec!["ÉTÉ à Paris"]),
        ("uber", vec!["Uber ride"]),
    ] {
        let r = app
            .get(&format!("/v1/runs/{run}/results?q={q}"), &app.admin)
            .await;
        assert_eq!(titles(&r), expected, "results, q={q}");
        assert_eq!(r.body["meta"]["total"], expected.len(), "q={q}");
        let r = app
            .get(&format!("/v1/projects/{project}/cases?q={q}"), &app.admin)
            .await;
        let found: Vec<&str> = r
            .data()
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["title"].as_str().expect("title"))
            .collect();
        assert_eq!(found, expected, "cases, q={q}");
        assert_eq!(r.body["meta"]["total"], expected.len(), "q={q}");
    }
}

#[tokio::test]
async fn q_combines_with_the_status_filter_and_paging() {
    let app = TestApp::new().await;
    let (_, run) = titled(&app).await;
    let all = app.all_results(&run).await;
    let id = |i: usize| all[i]["id"].as_str().expect("id").to_string();
    app.patch(
        &format!("/v1/runs/{run}/results/{}", id(0)),
        &app.admin,
        json!({"status": "failed"}),
    )
    .await;
    app.patch(
        &format!("/v1/runs/{run}/results/{}", id(3)),
        &app.admin,
        json!({"status": "failed"}),
    )
    .await;
    let r = app
        .get(
            &format!("/v1/runs/{run}/results?q=log&status=failed"),
            &app.admin,
        )
        .await;
    assert_eq!(titles(&r), ["Login with SSO", "Logout"]);
    assert_eq!(r.body["meta"]["total"], 2);
    let r = app
        .get(
            &format!("/v1/runs/{run}/results?q=log&per_page=2&page=2"),
            &app.admin,
        )
        .await;
    assert_eq!(titles(&r), ["Logout"]);
    assert_eq!(r.body["meta"]["total"], 3);
    // The cursor continues after an id; the total is still the whole run's.
    let r = app
        .get(
            &format!("/v1/runs/{run}/results?q=log&after={}", id(0)),
            &app.admin,
        )
        .await;
    assert_eq!(titles(&r), ["login with password", "Logout"]);
    assert_eq!(r.body["meta"]["total"], 3);
}

#[tokio::test]
async fn the_run_page_searches_and_filters() {
    let app = TestApp::new().await;
    let (project, run) = titled(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let first = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.patch(
        &format!("/v1/runs/{run}/results/{first}"),
        &app.admin,
        json!({"status": "blocked"}),
    )
    .await;

    let page = app.page(&format!("/runs/{run}?q=login"), Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(body.contains("Login with SSO") && body.contains("login with password"));
    assert!(!body.contains("Checkout as guest"));
    assert!(body.contains("Showing 1–2 of 2"));

    let body = html(
        &app.page(&format!("/runs/{run}?status=blocked"), Some(&s))
            .await,
    )
    .to_string();
    assert!(body.contains("Login with SSO") && !body.contains("Logout"));
    assert!(
        body.contains("<option value=\"blocked\" selected>"),
        "the filter shows what is applied"
    );
    // Nonsense in the URL gives the plain page, not an error.
    let r = app
        .page(&format!("/runs/{run}?status=sideways&page=zero"), Some(&s))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("Showing 1–6 of 6"));
}
