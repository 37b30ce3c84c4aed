//! TestRail API v2's tests and results through HTTP with Basic auth: what
//! `add_result*` writes is what Verdict's own API shows, bulk calls are
//! all or nothing, lists page with `_links`, and attachments land on the
//! execution.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{Resp, TestApp};
use crate::testrail::{admin_auth, assert_tr_error, basic, tr};

/// The number of a Verdict id (`tc_007` → 7), as TestRail's ids are.
fn num(id: &str) -> i64 {
    id.rsplit('_')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a Verdict id")
}

/// A project with `n` cases and a run over them: (project, cases, run),
/// the cases and run as TestRail numbers.
async fn seeded(app: &TestApp, n: usize) -> (String, Vec<i64>, i64, String) {
    let (project, cases, run) = app.seeded(n).await;
    (
        project,
        cases.iter().map(|c| num(c)).collect(),
        num(&run),
        run,
    )
}

/// The v1 result of the case with TestRail number `case`.
fn v1_of(results: &[Value], case: i64) -> Value {
    results
        .iter()
        .find(|r| num(r["test_case_id"].as_str().unwrap_or("")) == case)
        .cloned()
        .expect("the case's result")
}

#[tokio::test]
async fn add_results_for_cases_writes_what_v1_shows() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let (_, cases, run, v1_run) = seeded(&app, 3).await;
    let body = json!({"results": [
        {"case_id": cases[0], "status_id": 1, "comment": "", "elapsed": "1m 5s",
         "attachments": [], "version": "1.2.3"},
        {"case_id": cases[1], "status_id": 5, "comment": "Type: AssertionError\nMessage: 500",
         "elapsed": "2s", "defects": "BUG-1, BUG-2,BUG-1",
         "custom_step_results": [{"content": "open", "status_id": 1},
                                 {"content": "pay", "status_id": 5, "actual": "declined"}]},
        {"case_id": cases[2].to_string(), "status_id": "2", "custom_field": 7},
    ]});
    let r = tr(
        &app,
        "POST",
        &format!("add_results_for_cases/{run}"),
        Some(&auth),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let answered = r.body.as_array().expect("a list of results");
    assert_eq!(answered.len(), 3);
    let v1 = app.all_results(&v1_run).await;
    for (i, a) in answered.iter().enumerate() {
        let mine = v1_of(&v1, cases[i]);
        assert_eq!(a["id"], json!(num(mine["id"].as_str().unwrap())), "{a}");
        assert_eq!(a["test_id"], a["id"]);
        assert!(a["created_on"].is_i64(), "{a}");
        assert!(a["created_by"].is_i64(), "{a}");
    }
    assert_eq!(
        answered
            .iter()
            .map(|a| a["status_id"].as_i64())
            .collect::<Vec<_>>(),
        [Some(1), Some(5), Some(2)]
    );
    assert_eq!(answered[0]["elapsed"], "1m 5s");
    assert_eq!(answered[1]["defects"], "BUG-1, BUG-2");
    let first = v1_of(&v1, cases[0]);
    assert_eq!(first["status"], "passed");
    assert_eq!(first["elapsed_ms"], 65_000);
    assert_eq!(first["note"], Value::Null, "an empty comment is no note");
    let second = v1_of(&v1, cases[1]);
    assert_eq!(second["status"], "failed");
    assert_eq!(second["note"], "Type: AssertionError\nMessage: 500");
    assert_eq!(second["elapsed_ms"], 2_000);
    assert_eq!(second["defects"], json!(["BUG-1", "BUG-2"]));
    assert_eq!(
        second["step_results"],
        json!([{"status": "passed"}, {"status": "failed", "actual": "declined"}])
    );
    assert_eq!(v1_of(&v1, cases[2])["status"], "blocked");
}

#[tokio::test]
async fn add_results_for_cases_with_a_bad_entry_writes_nothing() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let (project, cases, run, v1_run) = seeded(&app, 2).await;
    let other = app
        .bulk_cases(&project, vec![json!({"title": "Not in the run"})])
        .await;
    let outside = num(&other[0]);
    let good = json!({"case_id": cases[0], "status_id": 1});
    let cases_bad: Vec<(Value, &str)> = vec![
        (
            json!({"case_id": outside, "status_id": 1}),
            "results[1].case_id",
        ),
        (
            json!({"case_id": 999_999, "status_id": 1}),
            "results[1].case_id",
        ),
        (json!({"status_id": 1}), "results[1].case_id"),
        (json!({"case_id": cases[1]}), "results[1].status_id"),
        (
            json!({"case_id": cases[1], "status_id": 9}),
            "results[1].status_id",
        ),
        (
            json!({"case_id": cases[1], "status_id": "passed"}),
            "results[1].status_id",
        ),
        (
            json!({"case_id": cases[1], "status_id": 1, "elapsed": "soon"}),
            "results[1].elapsed",
        ),
        (
            json!({"case_id": cases[1], "status_id": 1, "comment": [5]}),
            "results[1].comment",
        ),
        (
            json!({"case_id": cases[1], "status_id": 3, "comment": "x"}),
            "results[1].status_id",
        ),
        (
            json!({"case_id": cases[1], "status_id": 5, "custom_step_results": [{"status_id": 8}]}),
            "results[1].custom_step_results[0].status_id",
        ),
        (json!("not an object"), "results[1]"),
    ];
    for (bad, field) in cases_bad {
        let r = tr(
            &app,
            "POST",
            &format!("add_results_for_cases/{run}"),
            Some(&auth),
            Some(json!({"results": [good.clone(), bad.clone()]})),
        )
        .await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
        let message = r.body["error"].as_str().unwrap_or("");
        assert!(message.contains(field), "{bad}: {message}");
    }
    for body in [json!({}), json!({"results": "all"}), json!([1])] {
        let r = tr(
            &app,
            "POST",
            &format!("add_results_for_cases/{run}"),
            Some(&auth),
            Some(body),
        )
        .await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        app.counts(&v1_run).await["not_tested"],
        2,
        "nothing written"
    );
    let first = v1_of(&app.all_results(&v1_run).await, cases[0]);
    let first = first["id"].as_str().expect("id");
    assert!(app.history(&v1_run, first).await.is_empty(), "no execution");
}

#[tokio::test]
async fn writes_need_access_and_an_open_run() {
    let app = TestApp::new().await;
    let (project, cases, run, v1_run) = seeded(&app, 1).await;
    let body = json!({"results": [{"case_id": cases[0], "status_id": 1}]});
    let call = format!("add_results_for_cases/{run}");
    // No credentials, or a wrong token: 401.
    let r = tr(&app, "POST", &call, None, Some(body.clone())).await;
    assert_tr_error(&r, StatusCode::UNAUTHORIZED);
    // A viewer may read but not write: 403; a stranger sees no run: 400.
    let viewer = app.member(&project, "vera", "viewer").await;
    let viewer = basic("vera@example.com", &viewer);
    let r = tr(&app, "POST", &call, Some(&viewer), Some(body.clone())).await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let r = tr(
        &app,
        "GET",
        &format!("get_tests/{run}"),
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (_, stranger) = app.user("sam").await;
    let stranger = basic("sam@example.com", &stranger);
    for (method, call) in [
        ("POST", call.as_str()),
        ("GET", &format!("get_tests/{run}")),
        ("GET", &format!("get_results_for_run/{run}")),
    ] {
        let r = tr(&app, method, call, Some(&stranger), Some(body.clone())).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    // Unknown and malformed runs.
    for call in [
        "add_results_for_cases/999999",
        "add_results_for_cases/x",
        "add_results_for_cases",
    ] {
        let auth = admin_auth(&app).await;
        let r = tr(&app, "POST", call, Some(&auth), Some(body.clone())).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    // A closed run takes no results.
    let auth = admin_auth(&app).await;
    app.close_run(&v1_run).await;
    let r = tr(&app, "POST", &call, Some(&auth), Some(body.clone())).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(app.counts(&v1_run).await["not_tested"], 1);
}

#[tokio::test]
async fn tests_page_with_links_and_filter_by_status() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let (_, cases, run, _) = seeded(&app, 5).await;
    let results: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"case_id": c, "status_id": if i % 2 == 0 { 5 } else { 1 }}))
        .collect();
    let r = tr(
        &app,
        "POST",
        &format!("add_results_for_cases/{run}"),
        Some(&auth),
        Some(json!({"results": results})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Follow `_links.next` the way TestRail clients do.
    let mut seen = Vec::new();
    let mut next = Some(format!("/api/v2/get_tests/{run}&limit=2"));
    while let Some(link) = next {
        let call = link.trim_start_matches("/api/v2/");
        let page = tr(&app, "GET", call, Some(&auth), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["limit"], 2);
        for t in page.body["tests"].as_array().expect("tests") {
            assert_eq!(t["run_id"], run);
            assert!(t["title"].is_string(), "{t}");
            seen.push(t["case_id"].as_i64().expect("case_id"));
        }
        next = page.body["_links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen, cases);
    let failed = tr(
        &app,
        "GET",
        &format!("get_tests/{run}&status_id=5"),
        Some(&auth),
        None,
    )
    .await;
    let failed: Vec<i64> = failed.body["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t["case_id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(failed, [cases[0], cases[2], cases[4]]);
    let both = tr(
        &app,
        "GET",
        &format!("get_tests/{run}&status_id=1,5"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(both.body["size"], 5);
    // One test.
    let first = tr(
        &app,
        "GET",
        &format!("get_tests/{run}&limit=1"),
        Some(&auth),
        None,
    )
    .await;
    let test_id = first.body["tests"][0]["id"].as_i64().expect("id");
    let one = tr(
        &app,
        "GET",
        &format!("get_test/{test_id}"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["case_id"], cases[0]);
    assert_eq!(one.body["status_id"], 5);
    // Bad inputs.
    for call in [
        format!("get_tests/{run}&status_id=9"),
        format!("get_tests/{run}&status_id=x"),
        format!("get_tests/{run}&limit=0"),
        format!("get_tests/{run}&limit=251"),
        "get_tests/999999".to_string(),
        "get_test/999999".to_string(),
        "get_test/0".to_string(),
    ] {
        let r = tr(&app, "GET", &call, Some(&auth), None).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn single_results_and_their_history() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let (_, cases, run, v1_run) = seeded(&app, 2).await;
    let r = tr(
        &app,
        "POST",
        &format!("add_result_for_case/{run}/{}", cases[0]),
        Some(&auth),
        Some(json!({"status_id": 5, "comment": "first try", "elapsed": "30s"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let test_id = r.body["test_id"].as_i64().expect("test_id");
    let r = tr(
        &app,
        "POST",
        &format!("add_result/{test_id}"),
        Some(&auth),
        Some(json!({"status_id": 1, "comment": "second try", "defects": "BUG-9"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status_id"], 1);
    // add_results by test id.
    let other = tr(
        &app,
        "GET",
        &format!("get_tests/{run}&limit=1&offset=1"),
        Some(&auth),
        None,
    )
    .await;
    let other_test = other.body["tests"][0]["id"].as_i64().expect("id");
    let r = tr(
        &app,
        "POST",
        &format!("add_results/{run}"),
        Some(&auth),
        Some(json!({"results": [{"test_id": other_test, "status_id": 4}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = tr(
        &app,
        "POST",
        &format!("add_results/{run}"),
        Some(&auth),
        Some(json!({"results": [{"test_id": 999_999, "status_id": 4}]})),
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    // The run's results: each test's latest.
    let all = tr(
        &app,
        "GET",
        &format!("get_results_for_run/{run}"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let statuses: Vec<i64> = all.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status_id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, [1, 4]);
    let retest = tr(
        &app,
        "GET",
        &format!("get_results_for_run/{run}&status_id=4"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(retest.body["size"], 1);
    // A test's history, newest first, by test or by case.
    for call in [
        format!("get_results/{test_id}"),
        format!("get_results_for_case/{run}/{}", cases[0]),
    ] {
        let h = tr(&app, "GET", &call, Some(&auth), None).await;
        assert_eq!(h.status, StatusCode::OK, "{call}: {}", h.body);
        let comments: Vec<&str> = h.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["comment"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(comments, ["second try", "first try"], "{call}");
        assert_eq!(h.body["results"][1]["elapsed"], "30s");
        assert_eq!(h.body["results"][0]["defects"], "BUG-9");
    }
    let v1 = v1_of(&app.all_results(&v1_run).await, cases[0]);
    assert_eq!(v1["note"], "second try");
    assert_eq!(v1["defects"], json!(["BUG-9"]));
    // Bad inputs.
    for (method, call, body) in [
        (
            "POST",
            "add_result/999999".to_string(),
            json!({"status_id": 1}),
        ),
        (
            "POST",
            format!("add_result/{test_id}"),
            json!({"comment": "no status"}),
        ),
        (
            "POST",
            format!("add_result_for_case/{run}/999999"),
            json!({"status_id": 1}),
        ),
        (
            "POST",
            format!("add_result_for_case/{run}"),
            json!({"status_id": 1}),
        ),
        ("GET", "get_results/999999".to_string(), json!({})),
        (
            "GET",
            format!("get_results_for_case/{run}/999999"),
            json!({}),
        ),
    ] {
        let r = tr(&app, method, &call, Some(&auth), Some(body)).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
}

async fn upload(app: &TestApp, auth: &str, call: &str, part: &str, bytes: &[u8]) -> Resp {
    let boundary = "XyZtrBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"shot.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method("POST")
        .uri(format!("/index.php?/api/v2/{call}"))
        .header("authorization", auth)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    app.send(req).await
}

#[tokio::test]
async fn attachments_land_on_the_latest_execution() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let (_, cases, run, v1_run) = seeded(&app, 1).await;
    let r = tr(
        &app,
        "POST",
        &format!("add_results_for_cases/{run}"),
        Some(&auth),
        Some(json!({"results": [{"case_id": cases[0], "status_id": 5}]})),
    )
    .await;
    let result_id = r.body[0]["id"].as_i64().expect("id");
    let png = b"\x89PNG\r\n\x1a\n\0\0binary\xff";
    let r = upload(
        &app,
        &auth,
        &format!("add_attachment_to_result/{result_id}"),
        "attachment",
        png,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["attachment_id"].is_i64(), "{}", r.body);
    let listed = app
        .get(
            &format!("/v1/runs/{v1_run}/results/res_{result_id:03}/attachments"),
            &app.admin,
        )
        .await;
    let listed = listed.data().as_array().expect("attachments").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "shot.png");
    assert_eq!(listed[0]["size"], png.len());
    assert_eq!(listed[0]["execution"], 1);
    // Bad inputs: another part name, an unknown result, not multipart.
    let r = upload(
        &app,
        &auth,
        &format!("add_attachment_to_result/{result_id}"),
        "file",
        png,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = upload(
        &app,
        &auth,
        "add_attachment_to_result/999999",
        "attachment",
        png,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(
        &app,
        "POST",
        &format!("add_attachment_to_result/{result_id}"),
        Some(&auth),
        Some(json!({})),
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let after = app
        .get(
            &format!("/v1/runs/{v1_run}/results/res_{result_id:03}/attachments"),
            &app.admin,
        )
        .await;
    assert_eq!(
        after.data().as_array().map(Vec::len),
        Some(1),
        "nothing added"
    );
}
