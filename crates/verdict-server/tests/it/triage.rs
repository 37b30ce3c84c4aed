//! Triage over HTTP: run metadata, compare with a baseline, failures by
//! signature (real failure messages from the JUnit corpus too), the quality
//! gate, quarantine, flaky cases, a case across runs, durations and trends.
//! Every history is built through the API; every answer is known.

use crate::common;

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::{Resp, TestApp, is_utc_instant};
use serde_json::{Value, json};

// ---- helpers -------------------------------------------------------------------

/// A run in `pid` named `name` with `meta` merged into the body.
async fn run_with(app: &TestApp, pid: &str, name: &str, meta: Value) -> String {
    let mut body = json!({"name": name});
    if let Value::Object(fields) = meta {
        for (k, v) in fields {
            body[k] = v;
        }
    }
    let r = app
        .post(&format!("/v1/projects/{pid}/runs"), &app.admin, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.id()
}

/// Records `(case, status, elapsed_ms, note)` executions in one bulk.
async fn play(app: &TestApp, run: &str, entries: &[(&str, &str, Option<i64>, Option<&str>)]) {
    let results: Vec<Value> = entries
        .iter()
        .map(|(case, status, ms, note)| {
            let mut e = json!({"test_case_id": case, "status": status});
            if let Some(ms) = ms {
                e["elapsed_ms"] = json!(ms);
            }
            if let Some(note) = note {
                e["note"] = json!(note);
            }
            e
        })
        .collect();
    let r = app.bulk(run, &app.admin, json!({"results": results})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A run of `branch` over every case, with `statuses` (one per case, in
/// order; `None` leaves it untested).
async fn played(
    app: &TestApp,
    pid: &str,
    name: &str,
    branch: &str,
    cases: &[String],
    statuses: &[Option<&str>],
) -> String {
    let run = run_with(app, pid, name, json!({"branch": branch})).await;
    let entries: Vec<(&str, &str, Option<i64>, Option<&str>)> = cases
        .iter()
        .zip(statuses)
        .filter_map(|(c, s)| s.map(|s| (c.as_str(), s, None, None)))
        .collect();
    if !entries.is_empty() {
        play(app, &run, &entries).await;
    }
    run
}

/// The `field` of every item of `items`.
fn each<'a>(items: &'a Value, field: &str) -> Vec<&'a Value> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| &i[field])
        .collect()
}

fn meta(total: i64, page: u32, per_page: u32) -> Value {
    json!({"total": total, "page": page, "per_page": per_page})
}

async fn ok(app: &TestApp, path: &str) -> Resp {
    let r = app.get(path, &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r
}

/// Each path answers 422 naming exactly `field`.
async fn all_invalid(app: &TestApp, paths: &[String], field: &str) {
    for path in paths {
        let r = app.get(path, &app.admin).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.body
        );
        assert_eq!(r.fields(), [field], "{path}: {}", r.body);
    }
}

async fn all_not_found(app: &TestApp, paths: &[String]) {
    for path in paths {
        let r = app.get(path, &app.admin).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
}

async fn result_id(app: &TestApp, run: &str, case: &str) -> Value {
    json!(app.result_of(run, case).await)
}

// ---- run metadata ----------------------------------------------------------------

#[tokio::test]
async fn run_metadata_is_kept_changed_cleared_and_filters_the_run_list() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let body = json!({"name": "CI #1", "branch": " main ", "commit": "3F2A1C9",
        "build_url": "https://ci.example.com/builds/1?x=1", "environment": "linux / chromium 131"});
    let r = app
        .post(&format!("/v1/projects/{pid}/runs"), &tester, body)
        .await;
    let run = r.created().clone();
    assert_eq!(
        [
            &run["branch"],
            &run["commit"],
            &run["build_url"],
            &run["environment"]
        ],
        [
            &json!("main"),
            &json!("3f2a1c9"),
            &json!("https://ci.example.com/builds/1?x=1"),
            &json!("linux / chromium 131")
        ]
    );
    let main = r.id();
    assert_eq!(
        app.get(&format!("/v1/runs/{main}"), &tester).await.data(),
        &run
    );
    let bare = run_with(&app, &pid, "bare", json!({})).await;
    let dev = run_with(&app, &pid, "dev", json!({"branch": "dev", "commit": null})).await;
    let bare_run = ok(&app, &format!("/v1/runs/{bare}")).await;
    for field in ["branch", "commit", "build_url", "environment"] {
        assert_eq!(bare_run.data()[field], Value::Null, "{field}");
    }

    // ?branch= filters exactly; newest first as ever.
    let list = ok(&app, &format!("/v1/projects/{pid}/runs?branch=main")).await;
    assert_eq!(each(list.data(), "id"), [&json!(main)]);
    assert_eq!(list.body["meta"], meta(1, 1, 20));
    let list = ok(
        &app,
        &format!("/v1/projects/{pid}/runs?branch=dev&state=open"),
    )
    .await;
    assert_eq!(each(list.data(), "id"), [&json!(dev)]);
    let list = ok(&app, &format!("/v1/projects/{pid}/runs?branch=Main")).await;
    assert_eq!(list.body["meta"]["total"], 0);
    let list = ok(&app, &format!("/v1/projects/{pid}/runs")).await;
    assert_eq!(
        each(list.data(), "id"),
        [&json!(dev), &json!(bare), &json!(main)]
    );

    // A run found again by its key is answered as it is.
    let keyed = json!({"name": "shared", "key": "build-7", "branch": "main"});
    let first = app
        .post(&format!("/v1/projects/{pid}/runs"), &tester, keyed)
        .await;
    let again = json!({"name": "shared", "key": "build-7", "branch": "dev", "commit": "abcd"});
    let second = app
        .post(&format!("/v1/projects/{pid}/runs"), &tester, again)
        .await;
    assert_eq!(second.ok(), first.created());
    assert_eq!(second.ok()["commit"], Value::Null);

    // PATCH: a field not given is left alone, null clears.
    let path = format!("/v1/runs/{main}");
    let r = app
        .patch(
            &path,
            &app.admin,
            json!({"branch": "release/2.3", "commit": null}),
        )
        .await;
    let patched = r.ok();
    assert_eq!(patched["branch"], "release/2.3");
    assert_eq!(patched["commit"], Value::Null);
    assert_eq!(patched["build_url"], "https://ci.example.com/builds/1?x=1");
    assert_eq!(patched["name"], "CI #1");
    let r = app
        .patch(
            &path,
            &app.admin,
            json!({"build_url": null, "environment": null, "commit": "ABCDEF0123"}),
        )
        .await;
    let patched = r.ok();
    assert_eq!(
        [
            &patched["build_url"],
            &patched["environment"],
            &patched["commit"]
        ],
        [&Value::Null, &Value::Null, &json!("abcdef0123")]
    );
}

#[tokio::test]
async fn bad_run_metadata_is_refused_naming_the_field() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let run = run_with(&app, &pid, "r", json!({"branch": "main"})).await;
    let long = "b".repeat(256);
    let long_url = format!("https://ci.example.com/{}", "a".repeat(2030));
    let cases = [
        (json!({"branch": ""}), "branch"),
        (json!({"branch": "   "}), "branch"),
        (json!({"branch": long}), "branch"),
        (json!({"branch": "a\nb"}), "branch"),
        (json!({"branch": 5}), "branch"),
        (json!({"commit": "abc"}), "commit"),
        (json!({"commit": "xyz1234"}), "commit"),
        (json!({"commit": " 3f2a1c9"}), "commit"),
        (json!({"commit": "a".repeat(65)}), "commit"),
        (json!({"build_url": "ftp://ci.example.com/1"}), "build_url"),
        (json!({"build_url": "https://"}), "build_url"),
        (json!({"build_url": "/builds/1"}), "build_url"),
        (
            json!({"build_url": "https://ci.example.com/a b"}),
            "build_url",
        ),
        (json!({"build_url": long_url}), "build_url"),
        (json!({"environment": ""}), "environment"),
        (json!({"environment": "linux\u{7}"}), "environment"),
        (json!({"environment": "e".repeat(256)}), "environment"),
    ];
    for (fields, field) in &cases {
        let mut body = fields.clone();
        body["name"] = json!("x");
        let r = app
            .post(&format!("/v1/projects/{pid}/runs"), &app.admin, body)
            .await;
        r.invalid(&[field]);
        let r = app
            .patch(&format!("/v1/runs/{run}"), &app.admin, fields.clone())
            .await;
        r.invalid(&[field]);
    }
    // Every bad field at once, in the body's order.
    let body =
        json!({"name": "x", "branch": "", "commit": "zz", "build_url": "x", "environment": ""});
    let r = app
        .post(&format!("/v1/projects/{pid}/runs"), &app.admin, body)
        .await;
    r.invalid(&["branch", "commit", "build_url", "environment"]);
    assert_eq!(
        app.total(&format!("/v1/projects/{pid}/runs")).await,
        1,
        "nothing created"
    );
    let unchanged = ok(&app, &format!("/v1/runs/{run}")).await;
    assert_eq!(unchanged.data()["branch"], "main");
    // A URL of 2048 characters is fine; http too.
    let url = format!("http://ci.example.com/{}", "a".repeat(2048 - 22));
    assert_eq!(url.len(), 2048);
    let r = app
        .patch(
            &format!("/v1/runs/{run}"),
            &app.admin,
            json!({"build_url": url}),
        )
        .await;
    assert_eq!(r.ok()["build_url"], json!(url));

    let runs = format!("/v1/projects/{pid}/runs");
    all_invalid(
        &app,
        &[format!("{runs}?branch="), format!("{runs}?branch={long}")],
        "branch",
    )
    .await;
}

// ---- compare -------------------------------------------------------------------

#[tokio::test]
async fn compare_sorts_cases_into_the_seven_categories() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 8).await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    // The baseline: c4 untested, c8 untested.
    let base = run_with(&app, &pid, "base", json!({"branch": "main"})).await;
    play(
        &app,
        &base,
        &[
            (&c[0], "passed", None, None),
            (&c[1], "failed", None, Some("expected 1 but got 2")),
            (&c[2], "failed", None, None),
            (&c[4], "passed", None, None),
            (&c[5], "passed", None, None),
            (&c[6], "passed", None, None),
        ],
    )
    .await;
    // The run holds neither c5 (missing) nor tests c8.
    let ids: Vec<&String> = c
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, c)| c)
        .collect();
    let body = json!({"name": "now", "branch": "main", "case_ids": ids});
    let now = app
        .post(&format!("/v1/projects/{pid}/runs"), &app.admin, body)
        .await
        .id();
    play(
        &app,
        &now,
        &[
            (
                &c[0],
                "failed",
                None,
                Some("expected 3 but got 4\n  at Sum.java:12"),
            ),
            (&c[1], "failed", None, Some("expected 7 but got 9")),
            (&c[2], "passed", None, None),
            (&c[3], "passed", None, None),
            (&c[5], "blocked", None, None),
            (&c[6], "passed", None, None),
        ],
    )
    .await;

    let r = app.get(&format!("/v1/runs/{now}/compare"), &viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = r.data();
    assert_eq!(data["run_id"], json!(now));
    assert_eq!(data["baseline_id"], json!(base));
    assert_eq!(
        data["summary"],
        json!({"new_failure": 1, "still_failing": 1, "fixed": 1, "new_test": 1,
            "missing": 1, "changed": 1, "unchanged": 1})
    );
    assert_eq!(r.body["meta"], meta(6, 1, 20));
    let changes = data["changes"].as_array().unwrap();
    let signature = changes[0]["signature"].clone();
    let sig = signature.as_str().unwrap();
    assert!(
        sig.len() == 16 && sig.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sig}"
    );
    let row = |i: usize, category: &str, status: Value, base: Value, result: Value, sig: Value| {
        json!({"test_case_id": c[i], "key": format!("k{}", i + 1), "title": format!("Case {}", i + 1),
            "category": category, "status": status, "baseline_status": base,
            "result_id": result, "signature": sig})
    };
    let expected = json!([
        row(
            0,
            "new_failure",
            json!("failed"),
            json!("passed"),
            result_id(&app, &now, &c[0]).await,
            signature.clone()
        ),
        // The same message with other numbers: the same signature.
        row(
            1,
            "still_failing",
            json!("failed"),
            json!("failed"),
            result_id(&app, &now, &c[1]).await,
            signature.clone()
        ),
        row(
            2,
            "fixed",
            json!("passed"),
            json!("failed"),
            result_id(&app, &now, &c[2]).await,
            Value::Null
        ),
        row(
            3,
            "new_test",
            json!("passed"),
            Value::Null,
            result_id(&app, &now, &c[3]).await,
            Value::Null
        ),
        row(
            4,
            "missing",
            Value::Null,
            json!("passed"),
            Value::Null,
            Value::Null
        ),
        row(
            5,
            "changed",
            json!("blocked"),
            json!("passed"),
            result_id(&app, &now, &c[5]).await,
            Value::Null
        ),
    ]);
    assert_eq!(data["changes"], expected);

    // Paged, filtered, and against an explicit baseline.
    let r = ok(&app, &format!("/v1/runs/{now}/compare?per_page=2&page=2")).await;
    assert_eq!(r.data()["changes"], json!([expected[2], expected[3]]));
    assert_eq!(r.body["meta"], meta(6, 2, 2));
    assert_eq!(
        r.data()["summary"],
        data["summary"],
        "the summary counts every case"
    );
    let r = ok(
        &app,
        &format!("/v1/runs/{now}/compare?category=fixed,%20new_failure"),
    )
    .await;
    assert_eq!(r.data()["changes"], json!([expected[0], expected[2]]));
    assert_eq!(r.body["meta"]["total"], 2);
    let r = ok(&app, &format!("/v1/runs/{now}/compare?category=unchanged")).await;
    assert_eq!(each(&r.data()["changes"], "test_case_id"), [&json!(c[6])]);
    let r = ok(&app, &format!("/v1/runs/{now}/compare?baseline={base}")).await;
    assert_eq!(
        r.body,
        ok(&app, &format!("/v1/runs/{now}/compare?baseline=auto"))
            .await
            .body
    );
    assert_eq!(r.data()["changes"], expected);

    // The first run has no baseline: every tested case is new.
    let r = ok(&app, &format!("/v1/runs/{base}/compare")).await;
    assert_eq!(r.data()["baseline_id"], Value::Null);
    assert_eq!(
        r.data()["summary"],
        json!({"new_failure": 2, "still_failing": 0, "fixed": 0, "new_test": 4,
            "missing": 0, "changed": 0, "unchanged": 0})
    );
    // Compared the other way round, with an explicit later baseline.
    let r = ok(&app, &format!("/v1/runs/{base}/compare?baseline={now}")).await;
    assert_eq!(r.data()["baseline_id"], json!(now));
    assert_eq!(
        r.data()["summary"],
        json!({"new_failure": 1, "still_failing": 1, "fixed": 1, "new_test": 1,
            "missing": 1, "changed": 1, "unchanged": 1})
    );
    let categories: Vec<(&Value, &Value)> = r.data()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (&c["test_case_id"], &c["category"]))
        .collect();
    assert_eq!(
        categories,
        [
            (&json!(c[2]), &json!("new_failure")),
            (&json!(c[1]), &json!("still_failing")),
            (&json!(c[0]), &json!("fixed")),
            (&json!(c[4]), &json!("new_test")),
            (&json!(c[3]), &json!("missing")),
            (&json!(c[5]), &json!("changed")),
        ]
    );
}

#[tokio::test]
async fn the_baseline_is_the_latest_earlier_tested_run_of_the_branch_and_environment() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 1).await;
    let passed = [Some("passed")];
    let baseline = |run: String| {
        let app = &app;
        async move { ok(app, &format!("/v1/runs/{run}/compare")).await.data()["baseline_id"].clone() }
    };
    let m1 = played(&app, &pid, "m1", "main", &c, &passed).await;
    let _d1 = played(&app, &pid, "d1", "dev", &c, &passed).await;
    let _m2 = played(&app, &pid, "m2 (nothing tested)", "main", &c, &[None]).await;
    let m3 = played(&app, &pid, "m3", "main", &c, &passed).await;
    assert_eq!(baseline(m3.clone()).await, json!(m1));
    assert_eq!(baseline(m1.clone()).await, Value::Null);
    // Without a branch: the latest earlier run without one.
    let n1 = run_with(&app, &pid, "n1", json!({})).await;
    play(&app, &n1, &[(&c[0], "passed", None, None)]).await;
    let n2 = run_with(&app, &pid, "n2", json!({})).await;
    assert_eq!(baseline(n2).await, json!(n1));
    // With an environment: the same environment; without: any.
    let linux = run_with(
        &app,
        &pid,
        "e1",
        json!({"branch": "main", "environment": "linux"}),
    )
    .await;
    play(&app, &linux, &[(&c[0], "failed", None, None)]).await;
    let mac = run_with(
        &app,
        &pid,
        "e2",
        json!({"branch": "main", "environment": "mac"}),
    )
    .await;
    play(&app, &mac, &[(&c[0], "passed", None, None)]).await;
    let linux2 = run_with(
        &app,
        &pid,
        "e3",
        json!({"branch": "main", "environment": "linux"}),
    )
    .await;
    assert_eq!(baseline(linux2).await, json!(linux));
    let any = run_with(&app, &pid, "m4", json!({"branch": "main"})).await;
    assert_eq!(baseline(any).await, json!(mac));
}

#[tokio::test]
async fn bad_compare_inputs_are_refused_and_unknown_runs_not_found() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 1).await;
    let run = played(&app, &pid, "r", "main", &c, &[Some("passed")]).await;
    let other = app.project("Other").await;
    let foreign = run_with(&app, &other, "foreign", json!({})).await;
    let mut baseline = Vec::new();
    let mut category = Vec::new();
    for op in ["compare", "failures"] {
        for bad in [
            "latest",
            "run_x",
            "run_0",
            "12",
            "",
            foreign.as_str(),
            run.as_str(),
            "run_999",
        ] {
            baseline.push(format!("/v1/runs/{run}/{op}?baseline={bad}"));
        }
    }
    for bad in ["bogus", "fixed,", "Fixed", ""] {
        category.push(format!("/v1/runs/{run}/compare?category={bad}"));
    }
    all_invalid(&app, &baseline, "baseline").await;
    all_invalid(&app, &category, "category").await;
    all_invalid(
        &app,
        &[format!("/v1/runs/{run}/compare?per_page=0")],
        "per_page",
    )
    .await;
    all_invalid(&app, &[format!("/v1/runs/{run}/failures?sort=x")], "sort").await;
    all_not_found(
        &app,
        &[
            "/v1/runs/run_999/compare".into(),
            "/v1/runs/nonsense/compare".into(),
            "/v1/runs/run_999/failures".into(),
        ],
    )
    .await;
    let stranger = app.user("stranger").await.1;
    let r = app.get(&format!("/v1/runs/{run}/compare"), &stranger).await;
    r.not_found();
}

// ---- failures ------------------------------------------------------------------

#[tokio::test]
async fn failures_are_grouped_by_signature_and_new_against_the_baseline() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 5).await;
    let r1 = run_with(&app, &pid, "r1", json!({"branch": "main"})).await;
    play(
        &app,
        &r1,
        &[
            (
                &c[0],
                "failed",
                None,
                Some("expected 3 but got 4\n\tat Sum.test(Sum.java:12)"),
            ),
            (&c[1], "failed", None, Some("  \n expected 7 but got 9")),
            (&c[2], "failed", None, Some("NullPointerException")),
            (
                &c[3],
                "failed",
                None,
                Some("Timeout after 30000 ms waiting for '#submit'"),
            ),
            (&c[4], "passed", None, Some("expected 1 but got 1")),
        ],
    )
    .await;
    let r = ok(&app, &format!("/v1/runs/{r1}/failures")).await;
    assert_eq!(r.body["meta"], meta(3, 1, 20));
    let groups = r.data().as_array().unwrap();
    assert_eq!(groups[0]["message"], "expected <n> but got <n>");
    assert_eq!(groups[0]["count"], 2);
    assert_eq!(groups[0]["new"], true, "no baseline: every group is new");
    assert_eq!(
        groups[0]["results"],
        json!([
            {"result_id": app.result_of(&r1, &c[0]).await, "test_case_id": c[0], "title": "Case 1"},
            {"result_id": app.result_of(&r1, &c[1]).await, "test_case_id": c[1], "title": "Case 2"},
        ])
    );
    let mut singles: Vec<(String, Value)> = groups[1..]
        .iter()
        .map(|g| {
            (
                g["message"].as_str().unwrap().to_string(),
                g["results"][0]["test_case_id"].clone(),
            )
        })
        .collect();
    singles.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        singles,
        [
            ("NullPointerException".to_string(), json!(c[2])),
            (
                "Timeout after <n> ms waiting for '<value>'".to_string(),
                json!(c[3])
            ),
        ]
    );
    // The groups' signatures are the ones compare shows.
    let compare = ok(&app, &format!("/v1/runs/{r1}/compare?category=new_failure")).await;
    assert_eq!(
        compare.data()["changes"][0]["signature"],
        groups[0]["signature"]
    );
    assert_eq!(
        compare.data()["changes"][1]["signature"],
        groups[0]["signature"]
    );

    // The next run: the same message with other numbers is not new.
    let r2 = run_with(&app, &pid, "r2", json!({"branch": "main"})).await;
    play(
        &app,
        &r2,
        &[
            (&c[0], "failed", None, Some("expected 5 but got 6")),
            (
                &c[2],
                "failed",
                None,
                Some("java.io.IOException: Connection reset"),
            ),
        ],
    )
    .await;
    let r = ok(&app, &format!("/v1/runs/{r2}/failures")).await;
    let groups = r.data().as_array().unwrap();
    let by_message: Vec<(&Value, &Value, &Value)> = groups
        .iter()
        .map(|g| (&g["message"], &g["count"], &g["new"]))
        .collect();
    let mut by_message = by_message;
    by_message.sort_by_key(|(m, _, _)| m.as_str().unwrap().to_string());
    assert_eq!(
        by_message,
        [
            (&json!("expected <n> but got <n>"), &json!(1), &json!(false)),
            (
                &json!("java.io.IOException: Connection reset"),
                &json!(1),
                &json!(true)
            ),
        ]
    );
    // Against an explicit baseline without that failure, it is new.
    let empty = run_with(&app, &pid, "empty", json!({"branch": "main"})).await;
    let r = ok(&app, &format!("/v1/runs/{r2}/failures?baseline={empty}")).await;
    assert!(
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["new"] == true)
    );
    // Paged: the largest group first.
    let r = ok(&app, &format!("/v1/runs/{r1}/failures?per_page=1")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["count"], 2);
    assert_eq!(r.body["meta"], meta(3, 1, 1));
    let r = ok(&app, &format!("/v1/runs/{r1}/failures?page=4&per_page=1")).await;
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 3);
}

/// The shared JUnit corpus, read in place: next to the workspace, as the
/// other corpus tests find it, or where `VERDICT_JUNIT_CORPUS` says.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("VERDICT_JUNIT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/junit")
        });
    dir.is_dir().then_some(dir)
}

async fn import(app: &TestApp, run: &str, file: &Path) {
    let xml = std::fs::read(file).unwrap();
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &app.admin,
            Some("application/xml"),
            xml,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", file.display(), r.body);
}

#[tokio::test]
async fn real_failure_messages_group_by_signature_across_runs() {
    let Some(dir) = corpus() else {
        println!("triage corpus: skipped (the JUnit corpus was not found)");
        return;
    };
    let app = TestApp::new().await;
    let pid = app.project("Corpus").await;
    // googletest: four failing tests whose messages all start with the
    // same line; they are one group.
    let gtest = run_with(
        &app,
        &pid,
        "gtest",
        json!({"branch": "main", "case_ids": []}),
    )
    .await;
    import(
        &app,
        &gtest,
        &dir.join("googletest/gtest-xml-output-unittest-golden.xml"),
    )
    .await;
    let r = ok(&app, &format!("/v1/runs/{gtest}/failures")).await;
    let groups = r.data().as_array().unwrap();
    assert_eq!(groups.len(), 1, "{}", r.body);
    assert_eq!(groups[0]["message"], "gtest_xml_output_unittest_.cc:*");
    assert_eq!(groups[0]["count"], 4);
    let failed = app
        .get(
            &format!("/v1/runs/{gtest}/results?status=failed"),
            &app.admin,
        )
        .await;
    assert_eq!(
        each(&groups[0]["results"], "result_id"),
        each(failed.data(), "id"),
        "the group holds the run's failed results, by result id"
    );

    // tst: twenty failures, numbers and lines differing; each its own group.
    let tst = dir.join("tst-cpp/disabled-status-single-quotes.xml");
    let first = run_with(
        &app,
        &pid,
        "tst 1",
        json!({"branch": "main", "case_ids": []}),
    )
    .await;
    import(&app, &first, &tst).await;
    let r = ok(&app, &format!("/v1/runs/{first}/failures?per_page=100")).await;
    let groups = r.data().as_array().unwrap().clone();
    assert_eq!(r.body["meta"]["total"], 20);
    assert!(groups.iter().all(|g| g["count"] == 1 && g["new"] == true));
    let messages: Vec<&str> = groups
        .iter()
        .map(|g| g["message"].as_str().unwrap())
        .collect();
    for expected in [
        // check_eq(3628800, 3628801) at main.cpp:72
        "/home/ivan/prj/tst/tests/failed/main.cpp:<n>: error: check_eq(<n>, <n>)",
        "/home/ivan/prj/tst/tests/failed/checks.cpp:<n>: error: check_ge(<n>, <n>)failed!",
        "uncaught (anonymous namespace)::some_unknown_exception",
    ] {
        assert!(messages.contains(&expected), "{expected} in {messages:?}");
    }
    // The same report again on the branch: the same signatures, none new,
    // every failure still failing.
    let second = run_with(
        &app,
        &pid,
        "tst 2",
        json!({"branch": "main", "case_ids": []}),
    )
    .await;
    import(&app, &second, &tst).await;
    let r = ok(&app, &format!("/v1/runs/{second}/failures?per_page=100")).await;
    let again = r.data().as_array().unwrap();
    let signatures = |gs: &[Value]| {
        let mut s: Vec<String> = gs
            .iter()
            .map(|g| g["signature"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    assert_eq!(signatures(again), signatures(&groups));
    assert!(again.iter().all(|g| g["new"] == false));
    let compare = ok(&app, &format!("/v1/runs/{second}/compare?per_page=100")).await;
    assert_eq!(compare.data()["baseline_id"], json!(first));
    assert_eq!(compare.data()["summary"]["still_failing"], 20);
    assert_eq!(compare.data()["summary"]["new_failure"], 0);
    // The same failure recorded by hand with other numbers: its signature.
    let case = groups
        .iter()
        .find(|g| {
            g["message"]
                == "/home/ivan/prj/tst/tests/failed/main.cpp:<n>: error: check_eq(<n>, <n>)"
        })
        .unwrap();
    let by_hand = run_with(&app, &pid, "by hand", json!({"branch": "hand"})).await;
    let cid = case["results"][0]["test_case_id"].as_str().unwrap();
    play(
        &app,
        &by_hand,
        &[(
            cid,
            "failed",
            None,
            Some("/home/ivan/prj/tst/tests/failed/main.cpp:80: error: check_eq(120, 121)"),
        )],
    )
    .await;
    let r = ok(&app, &format!("/v1/runs/{by_hand}/failures")).await;
    assert_eq!(r.data()[0]["signature"], case["signature"]);
}

// ---- gate and quarantine -----------------------------------------------------------

#[tokio::test]
async fn the_gate_checks_each_rule_and_quarantine_changes_only_the_gate() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 4).await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    let manager = app.member(&pid, "mona", "manager").await;
    let base = played(
        &app,
        &pid,
        "base",
        "main",
        &c,
        &[
            Some("passed"),
            Some("passed"),
            Some("failed"),
            Some("passed"),
        ],
    )
    .await;
    let run = played(
        &app,
        &pid,
        "run",
        "main",
        &c,
        &[
            Some("failed"),
            Some("passed"),
            Some("failed"),
            Some("passed"),
        ],
    )
    .await;
    let gate = |q: &str| format!("/v1/runs/{run}/gate?{q}");
    let summary = json!({"new_failure": 1, "still_failing": 1, "fixed": 0, "new_test": 0,
        "missing": 0, "changed": 0, "unchanged": 2});

    let r = app.get(&gate("no_new_failures=true"), &viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"data": {"passed": false, "baseline_id": base,
            "rules": [{"rule": "no_new_failures", "passed": false, "actual": 1.0, "limit": 0.0}],
            "summary": summary}})
    );
    let r = ok(
        &app,
        &gate("min_tests=4&min_pass_rate=50&max_failures=2&no_new_failures=false"),
    )
    .await;
    assert_eq!(
        r.data(),
        &json!({"passed": true, "baseline_id": base,
            "rules": [
                {"rule": "max_failures", "passed": true, "actual": 2.0, "limit": 2.0},
                {"rule": "min_pass_rate", "passed": true, "actual": 50.0, "limit": 50.0},
                {"rule": "min_tests", "passed": true, "actual": 4.0, "limit": 4.0}],
            "summary": summary})
    );
    let r = ok(&app, &gate("min_pass_rate=50.01&max_failures=1")).await;
    assert_eq!(r.data()["passed"], false);
    assert_eq!(
        each(&r.data()["rules"], "passed"),
        [&json!(false), &json!(false)]
    );
    // Against an explicit baseline.
    let r = ok(
        &app,
        &gate(&format!("no_new_failures=true&baseline={base}")),
    )
    .await;
    assert_eq!(r.data()["baseline_id"], json!(base));

    // Quarantine the new failure: the gate passes, nothing else changes.
    let results_before = app.all_results(&run).await;
    let compare_before = ok(&app, &format!("/v1/runs/{run}/compare")).await.body;
    let failures_before = ok(&app, &format!("/v1/runs/{run}/failures")).await.body;
    let q = app
        .put(
            &format!("/v1/cases/{}/quarantine", c[0]),
            &manager,
            json!({"reason": "flaky on CI"}),
        )
        .await;
    assert_eq!(q.ok()["quarantined"]["reason"], "flaky on CI");
    let r = ok(
        &app,
        &gate("no_new_failures=true&max_failures=1&min_tests=4"),
    )
    .await;
    assert_eq!(
        r.data(),
        &json!({"passed": false, "baseline_id": base,
            "rules": [
                {"rule": "no_new_failures", "passed": true, "actual": 0.0, "limit": 0.0},
                {"rule": "max_failures", "passed": true, "actual": 1.0, "limit": 1.0},
                {"rule": "min_tests", "passed": false, "actual": 3.0, "limit": 4.0}],
            "summary": summary}),
        "quarantined cases count for no rule; the summary counts every case"
    );
    let r = ok(&app, &gate("no_new_failures=true&ignore_quarantined=false")).await;
    assert_eq!(r.data()["passed"], false);
    let r = ok(&app, &gate("no_new_failures=true&ignore_quarantined=true")).await;
    assert_eq!(r.data()["passed"], true);
    assert_eq!(app.all_results(&run).await, results_before);
    assert_eq!(
        ok(&app, &format!("/v1/runs/{run}/compare")).await.body,
        compare_before
    );
    assert_eq!(
        ok(&app, &format!("/v1/runs/{run}/failures")).await.body,
        failures_before
    );
    // Released: the gate fails again.
    let r = app
        .delete(&format!("/v1/cases/{}/quarantine", c[0]), &manager)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = ok(&app, &gate("no_new_failures=true")).await;
    assert_eq!(r.data()["passed"], false);
}

#[tokio::test]
async fn bad_gates_are_refused_naming_the_parameter() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 1).await;
    let run = played(&app, &pid, "r", "main", &c, &[Some("passed")]).await;
    let gate = |q: &str| format!("/v1/runs/{run}/gate?{q}");
    all_invalid(
        &app,
        &[
            format!("/v1/runs/{run}/gate"),
            gate("no_new_failures=false"),
            gate("ignore_quarantined=false"),
            gate("baseline=auto"),
        ],
        "rules",
    )
    .await;
    for (param, values) in [
        ("no_new_failures", &["yes", "1", ""][..]),
        ("max_failures", &["-1", "1.5", "x", "1000000001"]),
        ("min_pass_rate", &["-0.1", "100.5", "NaN", "inf", "x"]),
        ("min_tests", &["-1", "2.0", ""]),
        ("ignore_quarantined", &["no", "0"]),
        ("baseline", &["run_x", "last", "run_999"]),
    ] {
        let paths: Vec<String> = values
            .iter()
            .map(|v| {
                gate(&format!("min_tests=0&{param}={v}"))
                    .replace("min_tests=0&min_tests", "min_tests")
            })
            .collect();
        all_invalid(&app, &paths, param).await;
    }
    all_invalid(&app, &[gate("min_tests=1&rules=1")], "rules").await;
    all_not_found(&app, &["/v1/runs/run_999/gate?min_tests=1".into()]).await;
    // The bounds themselves are fine.
    let r = ok(&app, &gate("min_pass_rate=100&max_failures=0&min_tests=0")).await;
    assert_eq!(r.data()["passed"], true);
    let r = ok(&app, &gate("min_pass_rate=0&max_failures=1000000000")).await;
    assert_eq!(r.data()["passed"], true);
}

#[tokio::test]
async fn quarantine_is_set_replaced_released_and_filters_cases() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 3).await;
    let (manager_id, manager) = app.member_with_id(&pid, "mona", "manager").await;
    let path = format!("/v1/cases/{}/quarantine", c[1]);
    let r = app
        .put(&path, &manager, json!({"reason": "  flaky on CI  "}))
        .await;
    let case = r.ok().clone();
    assert_eq!(case["id"], json!(c[1]));
    assert_eq!(case["quarantined"]["reason"], "flaky on CI");
    assert_eq!(case["quarantined"]["by"], json!(manager_id));
    let at = case["quarantined"]["at"].as_str().unwrap();
    assert!(is_utc_instant(at), "{at}");
    assert_eq!(ok(&app, &format!("/v1/cases/{}", c[1])).await.data(), &case);
    let list = |q: &str| format!("/v1/projects/{pid}/cases?{q}");
    let r = ok(&app, &list("quarantined=true")).await;
    assert_eq!(each(r.data(), "id"), [&json!(c[1])]);
    assert_eq!(r.data()[0], case);
    let r = ok(&app, &list("quarantined=false")).await;
    assert_eq!(each(r.data(), "id"), [&json!(c[0]), &json!(c[2])]);
    assert_eq!(r.data()[0]["quarantined"], Value::Null);
    assert_eq!(ok(&app, &list("")).await.body["meta"]["total"], 3);
    let r = ok(&app, &list("quarantined=true&q=Case%203")).await;
    assert_eq!(r.body["meta"]["total"], 0);

    // Again: the reason and who are replaced.
    let r = app
        .put(&path, &app.admin, json!({"reason": "still flaky"}))
        .await;
    assert_eq!(r.ok()["quarantined"]["reason"], "still flaky");
    assert_eq!(r.ok()["quarantined"]["by"], json!(app.admin_id().await));
    // Released, and releasing again is fine.
    for _ in 0..2 {
        let r = app.delete(&path, &manager).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    assert_eq!(
        ok(&app, &format!("/v1/cases/{}", c[1])).await.data()["quarantined"],
        Value::Null
    );
    assert_eq!(
        ok(&app, &list("quarantined=true")).await.body["meta"]["total"],
        0
    );

    // Bad input.
    for (body, field) in [
        (json!({"reason": ""}), "reason"),
        (json!({"reason": "   "}), "reason"),
        (json!({"reason": "r".repeat(1001)}), "reason"),
        (json!({"reason": 5}), "reason"),
        (json!({"reason": "x", "until": "never"}), "until"),
    ] {
        app.put(&path, &manager, body).await.invalid(&[field]);
    }
    app.put(&path, &manager, json!({})).await.invalid(&["body"]);
    assert_eq!(
        ok(&app, &format!("/v1/cases/{}", c[1])).await.data()["quarantined"],
        Value::Null
    );
    all_invalid(
        &app,
        &[list("quarantined=yes"), list("quarantined=")],
        "quarantined",
    )
    .await;
    let tester = app.member(&pid, "tess", "tester").await;
    app.put(&path, &tester, json!({"reason": "x"}))
        .await
        .forbidden();
    app.delete(&path, &tester).await.forbidden();
    app.put(
        "/v1/cases/tc_999/quarantine",
        &app.admin,
        json!({"reason": "x"}),
    )
    .await
    .not_found();
    app.delete("/v1/cases/tc_999/quarantine", &app.admin)
        .await
        .not_found();
    app.delete(&format!("/v1/cases/{}", c[2]), &app.admin).await;
    app.put(
        &format!("/v1/cases/{}/quarantine", c[2]),
        &app.admin,
        json!({"reason": "x"}),
    )
    .await
    .not_found();
}

// ---- flaky and a case across runs ------------------------------------------------

#[tokio::test]
async fn flaky_lists_flipping_and_retried_cases_but_not_steady_ones() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    // c1 flips every run, c2 always fails, c3 always passes, c4 is fixed
    // once, c5 passes after a retry in the last run.
    let c = app.cases(&pid, 5).await;
    let p = Some("passed");
    let f = Some("failed");
    let mut runs = Vec::new();
    for (i, statuses) in [
        [p, f, p, f, p],
        [f, f, p, f, p],
        [p, f, p, p, p],
        [f, f, p, p, p],
        [p, f, p, p, None],
    ]
    .iter()
    .enumerate()
    {
        runs.push(played(&app, &pid, &format!("r{}", i + 1), "main", &c, statuses).await);
    }
    play(
        &app,
        &runs[4],
        &[(&c[4], "failed", None, None), (&c[4], "passed", None, None)],
    )
    .await;
    // A run of another branch that holds only c3, failing.
    let body = json!({"name": "dev", "branch": "dev", "case_ids": [c[2]]});
    let dev = app
        .post(&format!("/v1/projects/{pid}/runs"), &app.admin, body)
        .await
        .id();
    play(&app, &dev, &[(&c[2], "failed", None, None)]).await;

    let flaky = |q: &str| format!("/v1/projects/{pid}/flaky?{q}");
    let r = ok(&app, &flaky("branch=main")).await;
    let statuses = |s: &[&str]| json!(s);
    assert_eq!(
        r.data(),
        &json!([
            {"test_case_id": c[0], "key": "k1", "title": "Case 1", "score": 1.0, "flips": 4,
                "runs": 5, "retried_pass": 0, "quarantined": false, "last_flip_run_id": runs[4],
                "statuses": statuses(&["passed", "failed", "passed", "failed", "passed"])},
            {"test_case_id": c[3], "key": "k4", "title": "Case 4", "score": 0.25, "flips": 1,
                "runs": 5, "retried_pass": 0, "quarantined": false, "last_flip_run_id": runs[2],
                "statuses": statuses(&["failed", "failed", "passed", "passed", "passed"])},
            {"test_case_id": c[4], "key": "k5", "title": "Case 5", "score": 0.0, "flips": 0,
                "runs": 5, "retried_pass": 1, "quarantined": false, "last_flip_run_id": null,
                "statuses": statuses(&["passed", "passed", "passed", "passed", "passed"])},
        ])
    );
    assert_eq!(r.body["meta"], meta(3, 1, 20));
    // Every run (no branch): c3 failed once at the end, 1 flip in 5.
    let r = ok(&app, &flaky("")).await;
    assert_eq!(
        each(r.data(), "test_case_id"),
        [&json!(c[0]), &json!(c[3]), &json!(c[2]), &json!(c[4])]
    );
    assert_eq!(r.data()[2]["score"], 0.2);
    assert_eq!(r.data()[2]["last_flip_run_id"], json!(dev));
    let r = ok(&app, &flaky("branch=main&threshold=0.5")).await;
    assert_eq!(each(r.data(), "test_case_id"), [&json!(c[0]), &json!(c[4])]);
    let r = ok(&app, &flaky("branch=main&threshold=0")).await;
    assert_eq!(
        each(r.data(), "test_case_id"),
        [&json!(c[0]), &json!(c[3]), &json!(c[4])],
        "never a steady case"
    );
    let r = ok(&app, &flaky("branch=main&window=2")).await;
    assert_eq!(each(r.data(), "test_case_id"), [&json!(c[0]), &json!(c[4])]);
    assert_eq!(r.data()[0]["statuses"], json!(["failed", "passed"]));
    let r = ok(&app, &flaky("branch=main&per_page=1&page=2")).await;
    assert_eq!(each(r.data(), "test_case_id"), [&json!(c[3])]);
    assert_eq!(r.body["meta"], meta(3, 2, 1));
    let r = ok(&app, &flaky("branch=nope")).await;
    assert_eq!(r.body["meta"]["total"], 0);
    app.put(
        &format!("/v1/cases/{}/quarantine", c[0]),
        &app.admin,
        json!({"reason": "known"}),
    )
    .await
    .ok();
    let r = ok(&app, &flaky("branch=main")).await;
    assert_eq!(r.data()[0]["quarantined"], true, "still listed, marked");

    // Bad input.
    let bad = |q: &str| flaky(q);
    all_invalid(
        &app,
        &[
            bad("window=0"),
            bad("window=501"),
            bad("window=x"),
            bad("window=-1"),
        ],
        "window",
    )
    .await;
    all_invalid(
        &app,
        &[
            bad("threshold=1.5"),
            bad("threshold=-0.1"),
            bad("threshold=NaN"),
            bad("threshold=x"),
        ],
        "threshold",
    )
    .await;
    all_invalid(
        &app,
        &[bad("branch="), bad(&format!("branch={}", "b".repeat(256)))],
        "branch",
    )
    .await;
    let r = ok(&app, &flaky("window=500&threshold=1")).await;
    assert_eq!(each(r.data(), "test_case_id"), [&json!(c[0]), &json!(c[4])]);
    all_not_found(&app, &["/v1/projects/prj_999/flaky".into()]).await;
}

#[tokio::test]
async fn a_case_across_runs_newest_first() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 2).await;
    let admin = app.admin_id().await;
    let r1 = run_with(
        &app,
        &pid,
        "r1",
        json!({"branch": "main", "commit": "aaaa111"}),
    )
    .await;
    play(&app, &r1, &[(&c[0], "passed", Some(1500), Some("fine"))]).await;
    let r2 = run_with(&app, &pid, "r2", json!({"branch": "dev"})).await;
    play(
        &app,
        &r2,
        &[(&c[0], "failed", Some(2500), Some("expected 1 but got 2"))],
    )
    .await;
    // r3 holds the case but has not tested it.
    let r3 = run_with(&app, &pid, "r3", json!({"branch": "main"})).await;
    play(&app, &r3, &[(&c[1], "passed", None, None)]).await;

    let path = format!("/v1/cases/{}/results", c[0]);
    let r = ok(&app, &path).await;
    assert_eq!(r.body["meta"], meta(3, 1, 20));
    let rows = r.data().as_array().unwrap();
    assert_eq!(
        each(r.data(), "run_id"),
        [&json!(r3), &json!(r2), &json!(r1)]
    );
    assert_eq!(
        rows[1],
        json!({"run_id": r2, "run_name": "r2", "branch": "dev", "commit": null,
            "result_id": app.result_of(&r2, &c[0]).await, "status": "failed",
            "note": "expected 1 but got 2", "elapsed_ms": 2500, "tested_by": admin,
            "tested_at": rows[1]["tested_at"]})
    );
    assert!(is_utc_instant(rows[1]["tested_at"].as_str().unwrap()));
    assert_eq!(rows[2]["commit"], "aaaa111");
    assert_eq!(
        [
            &rows[0]["status"],
            &rows[0]["tested_by"],
            &rows[0]["elapsed_ms"]
        ],
        [&json!("not_tested"), &Value::Null, &Value::Null]
    );
    let r = ok(&app, &format!("{path}?branch=main")).await;
    assert_eq!(each(r.data(), "run_id"), [&json!(r3), &json!(r1)]);
    let r = ok(&app, &format!("{path}?branch=main&per_page=1&page=2")).await;
    assert_eq!(each(r.data(), "run_id"), [&json!(r1)]);
    assert_eq!(r.body["meta"], meta(2, 2, 1));
    all_invalid(&app, &[format!("{path}?branch=")], "branch").await;
    all_invalid(&app, &[format!("{path}?window=3")], "window").await;
    all_not_found(
        &app,
        &[
            "/v1/cases/tc_999/results".into(),
            "/v1/cases/x/results".into(),
        ],
    )
    .await;
}

// ---- durations and trends ---------------------------------------------------------

#[tokio::test]
async fn durations_percentiles_change_and_order() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 3).await;
    let mut runs = Vec::new();
    for (i, ms) in [
        [Some(100), Some(1000), None],
        [Some(200), Some(1000), None],
        [Some(300), Some(1000), None],
        [Some(500), Some(1000), Some(50)],
    ]
    .iter()
    .enumerate()
    {
        let run = run_with(
            &app,
            &pid,
            &format!("r{}", i + 1),
            json!({"branch": "main"}),
        )
        .await;
        let entries: Vec<(&str, &str, Option<i64>, Option<&str>)> = c
            .iter()
            .zip(ms)
            .filter_map(|(c, ms)| ms.map(|ms| (c.as_str(), "passed", Some(ms), None)))
            .collect();
        play(&app, &run, &entries).await;
        runs.push(run);
    }
    let durations = |q: &str| format!("/v1/projects/{pid}/durations?{q}");
    let r = ok(&app, &durations("window=2")).await;
    assert_eq!(
        r.data(),
        &json!([
            {"test_case_id": c[1], "title": "Case 2", "runs": 2, "p50_ms": 1000, "p95_ms": 1000,
                "last_ms": 1000, "previous_p50_ms": 1000, "change": 1.0},
            {"test_case_id": c[0], "title": "Case 1", "runs": 2, "p50_ms": 300, "p95_ms": 500,
                "last_ms": 500, "previous_p50_ms": 100, "change": 3.0},
            {"test_case_id": c[2], "title": "Case 3", "runs": 1, "p50_ms": 50, "p95_ms": 50,
                "last_ms": 50, "previous_p50_ms": null, "change": null},
        ])
    );
    assert_eq!(r.body["meta"], meta(3, 1, 20));
    let r = ok(&app, &durations("window=2&sort=regressed")).await;
    assert_eq!(
        each(r.data(), "test_case_id"),
        [&json!(c[0]), &json!(c[1]), &json!(c[2])]
    );
    let r = ok(&app, &durations("sort=slowest&branch=main")).await;
    assert_eq!(
        r.data()[1],
        json!({"test_case_id": c[0], "title": "Case 1", "runs": 4, "p50_ms": 200, "p95_ms": 500,
            "last_ms": 500, "previous_p50_ms": null, "change": null})
    );
    let r = ok(&app, &durations("branch=dev")).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let r = ok(&app, &durations("window=2&per_page=2&page=2")).await;
    assert_eq!(each(r.data(), "test_case_id"), [&json!(c[2])]);

    all_invalid(
        &app,
        &[durations("sort=fastest"), durations("sort=")],
        "sort",
    )
    .await;
    all_invalid(
        &app,
        &[durations("window=0"), durations("window=501")],
        "window",
    )
    .await;
    all_invalid(&app, &[durations("branch=")], "branch").await;
    all_not_found(&app, &["/v1/projects/prj_999/durations".into()]).await;
}

#[tokio::test]
async fn trends_list_the_latest_runs_oldest_first() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let c = app.cases(&pid, 4).await;
    let r1 = run_with(&app, &pid, "r1", json!({"branch": "main"})).await;
    play(
        &app,
        &r1,
        &[
            (&c[0], "passed", Some(1000), None),
            (&c[1], "passed", Some(250), None),
            (&c[2], "failed", None, None),
            (&c[3], "blocked", Some(5), None),
        ],
    )
    .await;
    let r2 = run_with(&app, &pid, "r2", json!({"branch": "dev"})).await;
    play(&app, &r2, &[(&c[0], "failed", Some(10), None)]).await;
    let r3 = run_with(&app, &pid, "r3", json!({"branch": "main"})).await;

    let trends = |q: &str| format!("/v1/projects/{pid}/trends?{q}");
    let r = ok(&app, &trends("")).await;
    assert!(r.body.get("meta").is_none());
    let rows = r.data().as_array().unwrap();
    assert_eq!(
        each(r.data(), "run_id"),
        [&json!(r1), &json!(r2), &json!(r3)]
    );
    assert_eq!(
        rows[0],
        json!({"run_id": r1, "name": "r1", "created_at": rows[0]["created_at"], "branch": "main",
            "counts": {"passed": 2, "failed": 1, "blocked": 1, "retest": 0, "not_tested": 0, "total": 4},
            "pass_rate": 0.5, "elapsed_ms": 1255})
    );
    assert!(is_utc_instant(rows[0]["created_at"].as_str().unwrap()));
    assert_eq!(
        (&rows[1]["pass_rate"], &rows[1]["elapsed_ms"]),
        (&json!(0.0), &json!(10))
    );
    assert_eq!(
        (
            &rows[2]["pass_rate"],
            &rows[2]["elapsed_ms"],
            &rows[2]["counts"]["not_tested"]
        ),
        (&Value::Null, &json!(0), &json!(4)),
        "a run with nothing tested is a row too"
    );
    let r = ok(&app, &trends("runs=2")).await;
    assert_eq!(each(r.data(), "run_id"), [&json!(r2), &json!(r3)]);
    let r = ok(&app, &trends("branch=main&runs=500")).await;
    assert_eq!(each(r.data(), "run_id"), [&json!(r1), &json!(r3)]);
    // A later execution changes the sum.
    play(&app, &r1, &[(&c[1], "passed", Some(50), None)]).await;
    let r = ok(&app, &trends("branch=main&runs=1")).await;
    assert_eq!(each(r.data(), "run_id"), [&json!(r3)]);
    let r = ok(&app, &trends("branch=main")).await;
    assert_eq!(r.data()[0]["elapsed_ms"], 1055);

    all_invalid(
        &app,
        &[trends("runs=0"), trends("runs=501"), trends("runs=x")],
        "runs",
    )
    .await;
    all_invalid(&app, &[trends("page=1")], "page").await;
    all_not_found(&app, &["/v1/projects/prj_999/trends".into()]).await;
}
