//! Runs: POST/GET /v1/projects/:pid/runs, GET/PATCH /v1/runs/:rid,
//! POST /v1/runs/:rid/cases and POST /v1/runs/:rid/close.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, is_utc_instant};
use serde_json::{Value, json};

fn runs(pid: &str) -> String {
    format!("/v1/projects/{pid}/runs")
}

fn at(run: &str) -> String {
    format!("/v1/runs/{run}")
}

fn meta(total: i64, page: u32, per_page: u32) -> Value {
    json!({"total": total, "page": page, "per_page": per_page})
}

fn counts(not_tested: i64, total: i64) -> Value {
    json!({"passed": 0, "failed": 0, "blocked": 0, "retest": 0,
        "not_tested": not_tested, "total": total})
}

async fn create(app: &TestApp, pid: &str, token: &str, body: Value) -> Resp {
    app.post(&runs(pid), token, body).await
}

async fn close(app: &TestApp, run: &str, token: &str) -> Resp {
    let path = format!("/v1/runs/{run}/close");
    app.call("POST", &path, Some(token), None).await
}

async fn add(app: &TestApp, run: &str, token: &str, body: Value) -> Resp {
    app.post(&format!("/v1/runs/{run}/cases"), token, body)
        .await
}

/// The `field` of every item of a list answer, as a JSON array.
fn each(r: &Resp, field: &str) -> Value {
    let items = r.data().as_array().expect("list");
    Value::Array(items.iter().map(|i| i[field].clone()).collect())
}

/// The case ids of a run's results, sorted, as a JSON array.
async fn cases_in(app: &TestApp, run: &str) -> Value {
    let results = app.all_results(run).await;
    let mut ids: Vec<&str> = results
        .iter()
        .map(|r| r["test_case_id"].as_str().expect("id"))
        .collect();
    ids.sort();
    json!(ids)
}

#[tokio::test]
async fn a_run_without_case_ids_takes_every_live_case_untested() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 4).await;
    app.delete(&format!("/v1/cases/{}", ids[1]), &app.admin)
        .await
        .status_is(StatusCode::NO_CONTENT);
    let tester = app.member(&pid, "tess", "tester").await;
    let body = json!({"name": " Nightly ", "description": " d "});
    let r = create(&app, &pid, &tester, body).await;
    let run = r.created().clone();
    assert!(run["id"].as_str().unwrap().starts_with("run_"));
    assert!(is_utc_instant(run["created_at"].as_str().unwrap()));
    let expected = json!({"id": run["id"], "project_id": pid, "name": "Nightly",
        "description": "d", "key": null, "state": "open", "created_at": run["created_at"],
        "closed_at": null, "counts": counts(3, 3), "branch": null, "commit": null,
        "build_url": null, "environment": null});
    assert_eq!(run, expected);
    let rid = r.id();
    let results = app.all_results(&rid).await;
    let in_order: Vec<&Value> = results.iter().map(|r| &r["test_case_id"]).collect();
    assert_eq!(in_order, [&ids[0], &ids[2], &ids[3]], "case order");
    for result in &results {
        let untested = json!({"id": result["id"], "test_case_id": result["test_case_id"],
            "test_case_title": result["test_case_title"], "status": "not_tested", "note": null,
            "elapsed": null, "elapsed_ms": null, "tested_by": null, "tested_at": null,
            "step_results": [], "defects": [], "assigned_to": null});
        assert_eq!(*result, untested);
    }
    assert_eq!(app.get(&at(&rid), &tester).await.body["data"], run);

    // A project without cases makes an empty run.
    let empty = app.project("Empty").await;
    let r = create(&app, &empty, &app.admin, json!({"name": "R"})).await;
    assert_eq!(r.created()["counts"], counts(0, 0));
}

#[tokio::test]
async fn case_ids_choose_the_cases_and_duplicates_count_once() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 3).await;
    let body = json!({"name": "Some", "case_ids": [ids[2], ids[0], ids[2], "tc_1"]});
    let r = create(&app, &pid, &app.admin, body).await;
    assert_eq!(r.created()["counts"], counts(2, 2));
    assert_eq!(cases_in(&app, &r.id()).await, json!([ids[0], ids[2]]));
    let body = json!({"name": "None", "case_ids": []});
    let r = create(&app, &pid, &app.admin, body).await;
    assert_eq!(r.created()["counts"], counts(0, 0));
}

#[tokio::test]
async fn bad_case_ids_are_named_by_index_and_nothing_is_created() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 2).await;
    let foreign = app.cases(&app.project("Other").await, 1).await.remove(0);
    app.delete(&format!("/v1/cases/{}", ids[1]), &app.admin)
        .await
        .status_is(StatusCode::NO_CONTENT);
    for (case_ids, fields) in [
        (json!([ids[0], "tc_999"]), &["case_ids[1]"][..]),
        (json!([foreign, ids[0]]), &["case_ids[0]"]),
        (json!([ids[1]]), &["case_ids[0]"]), // deleted
        (
            json!(["bogus", ids[0], "run_001"]),
            &["case_ids[0]", "case_ids[2]"],
        ),
        // Indexes are the request's, duplicates or not.
        (json!([ids[0], ids[0], "tc_999"]), &["case_ids[2]"]),
        (
            json!(["tc_9", ids[0], "tc_009"]),
            &["case_ids[0]", "case_ids[2]"],
        ),
        (json!([ids[0], 5]), &["case_ids[1]"]),
        (json!(ids[0]), &["case_ids"]),
    ] {
        let body = json!({"name": "R", "case_ids": case_ids});
        create(&app, &pid, &app.admin, body).await.invalid(fields);
    }
    assert_eq!(app.total(&runs(&pid)).await, 0, "nothing created");
}

#[tokio::test]
async fn creating_a_run_checks_its_fields_and_the_callers_role() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let long = "d".repeat(65_537);
    for (body, field) in [
        (json!({}), "body"),
        (json!({"name": " "}), "name"),
        (json!({"name": "n".repeat(1001)}), "name"),
        (json!({"name": "R", "description": long}), "description"),
        (json!({"name": "R", "key": "k".repeat(1001)}), "key"),
        (json!({"name": "R", "state": "closed"}), "state"),
    ] {
        create(&app, &pid, &app.admin, body).await.invalid(&[field]);
    }
    let ok = json!({"name": "R"});
    create(&app, &pid, &viewer, ok.clone()).await.forbidden();
    create(&app, &pid, &stranger, ok.clone()).await.not_found();
    create(&app, "prj_999", &app.admin, ok).await.not_found();
    assert_eq!(app.total(&runs(&pid)).await, 0, "nothing created");
    let body = json!({"name": "R", "description": "d".repeat(65_536)});
    create(&app, &pid, &app.admin, body).await.created();
}

#[tokio::test]
async fn a_key_that_exists_answers_200_with_that_run() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 2).await;
    let tester = app.member(&pid, "tess", "tester").await;
    let body = json!({"name": "CI 42", "key": "pipe-42"});
    let first = create(&app, &pid, &tester, body).await;
    assert_eq!(first.created()["key"], "pipe-42");
    let body = json!({"name": "Other", "key": " pipe-42 ", "case_ids": [ids[0]]});
    let again = create(&app, &pid, &tester, body).await;
    again.status_is(StatusCode::OK);
    assert_eq!(again.body, first.body, "that run, unchanged");
    assert_eq!(app.total(&runs(&pid)).await, 1);
    // The same key in another project is another run.
    let other = app.project("Other").await;
    let r = create(
        &app,
        &other,
        &app.admin,
        json!({"name": "CI", "key": "pipe-42"}),
    );
    assert_ne!(r.await.created()["id"], first.created()["id"]);
}

#[tokio::test]
async fn the_list_is_newest_first_paged_and_filtered_by_state() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let r1 = app.run(&pid, "R1").await;
    let r2 = app.run(&pid, "R2").await;
    let r3 = app.run(&pid, "R3").await;
    close(&app, &r2, &app.admin).await.status_is(StatusCode::OK);
    let list = |q: &str| format!("{}?{q}", runs(&pid));
    let r = app.get(&runs(&pid), &viewer).await;
    assert_eq!(each(&r, "id"), json!([r3, r2, r1]));
    assert_eq!(r.body["meta"], meta(3, 1, 20));
    let r = app.get(&list("page=2&per_page=2"), &viewer).await;
    assert_eq!(each(&r, "id"), json!([r1]));
    assert_eq!(r.body["meta"], meta(3, 2, 2));
    let r = app.get(&list("state=open"), &viewer).await;
    assert_eq!(each(&r, "id"), json!([r3, r1]));
    assert_eq!(r.body["meta"]["total"], 2);
    let r = app.get(&list("state=closed"), &viewer).await;
    assert_eq!(
        (each(&r, "id"), each(&r, "state")),
        (json!([r2]), json!(["closed"]))
    );
    for (q, field) in [
        ("state=done", "state"),
        ("state=", "state"),
        ("per_page=1001", "per_page"),
        ("name=R1", "name"),
    ] {
        app.get(&list(q), &viewer).await.invalid(&[field]);
    }
    app.get(&runs(&pid), &stranger).await.not_found();
}

#[tokio::test]
async fn one_run_shows_its_counts_to_members_only() {
    let app = TestApp::new().await;
    let (pid, ids, run) = app.seeded(5).await;
    let results: Vec<Value> = ["passed", "failed", "blocked", "retest"]
        .iter()
        .zip(&ids)
        .map(|(s, id)| json!({"test_case_id": id, "status": s}))
        .collect();
    app.bulk(&run, &app.admin, json!({"results": results}))
        .await
        .ok();
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let r = app.get(&at(&run), &viewer).await;
    let expected = json!({"passed": 1, "failed": 1, "blocked": 1, "retest": 1,
        "not_tested": 1, "total": 5});
    assert_eq!(r.data()["counts"], expected);
    app.get(&at(&run), &stranger).await.not_found();
    for bad in ["run_999", "run_x", "prj_001", "42"] {
        app.get(&at(bad), &app.admin).await.not_found();
    }
}

#[tokio::test]
async fn a_manager_renames_a_run_and_changes_or_clears_its_description() {
    let app = TestApp::new().await;
    let (pid, _, run) = app.seeded(1).await;
    let manager = app.member(&pid, "mona", "manager").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let (_, stranger) = app.user("stranger").await;
    let path = at(&run);
    let named = |r: &Resp| json!([r.ok()["name"], r.ok()["description"]]);
    let body = json!({"name": " Rel 2 ", "description": "notes"});
    let r = app.patch(&path, &manager, body).await;
    assert_eq!(named(&r), json!(["Rel 2", "notes"]));
    let r = app
        .patch(&path, &manager, json!({"description": null}))
        .await;
    assert_eq!(named(&r), json!(["Rel 2", null]));
    assert_eq!(app.get(&path, &tester).await.body, r.body);

    let before = app.get(&path, &app.admin).await.body;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "n".repeat(1001), "description": "x"}),
            "name",
        ),
        (json!({"description": "d".repeat(65_537)}), "description"),
        (json!({"state": "closed"}), "state"),
        (json!({"key": "k"}), "key"),
    ] {
        app.patch(&path, &manager, body).await.invalid(&[field]);
    }
    let x = json!({"name": "X"});
    app.patch(&path, &tester, x.clone()).await.forbidden();
    app.patch(&path, &stranger, x.clone()).await.not_found();
    app.patch(&at("run_999"), &app.admin, x).await.not_found();
    let after = app.get(&path, &app.admin).await.body;
    assert_eq!(after, before, "nothing changed");
}

#[tokio::test]
async fn adding_cases_skips_those_present_and_answers_the_counts() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 4).await;
    let body = json!({"name": "R", "case_ids": [ids[0]]});
    let run = create(&app, &pid, &app.admin, body).await.id();
    let passed = json!({"results": [{"test_case_id": ids[0], "status": "passed"}]});
    app.bulk(&run, &app.admin, passed).await.ok();
    let manager = app.member(&pid, "mona", "manager").await;
    let body = json!({"case_ids": [ids[0], ids[2], ids[1], ids[2]]});
    let r = add(&app, &run, &manager, body).await;
    let data = r.ok();
    assert_eq!(data["id"], run.as_str());
    let expected = json!({"passed": 1, "failed": 0, "blocked": 0, "retest": 0,
        "not_tested": 2, "total": 3});
    assert_eq!(data["counts"], expected);
    assert_eq!(app.get(&at(&run), &manager).await.body, r.body);
    let results = app.all_results(&run).await;
    assert_eq!(results[0]["status"], "passed", "left alone");
    assert_eq!(cases_in(&app, &run).await, json!([ids[0], ids[1], ids[2]]));
}

#[tokio::test]
async fn adding_cases_refuses_bad_ids_lacking_roles_and_closed_runs() {
    let app = TestApp::new().await;
    let (pid, ids, run) = app.seeded(1).await;
    let cases = format!("/v1/projects/{pid}/cases");
    let more = app.post(&cases, &app.admin, json!({"title": "New"})).await;
    let more = more.id();
    let foreign = app.cases(&app.project("Other").await, 1).await.remove(0);
    let tester = app.member(&pid, "tess", "tester").await;
    let (_, stranger) = app.user("stranger").await;
    let before = app.snapshot(&run).await;
    for (body, fields) in [
        (json!({"case_ids": [more, "tc_999"]}), &["case_ids[1]"][..]),
        (json!({"case_ids": [foreign]}), &["case_ids[0]"]),
        (
            json!({"case_ids": ["x", more, "y"]}),
            &["case_ids[0]", "case_ids[2]"],
        ),
        (json!({"case_ids": [more, more, "tc_9"]}), &["case_ids[2]"]),
        (json!({}), &["body"]),
        (json!({"case_ids": [more], "all": true}), &["all"]),
    ] {
        add(&app, &run, &app.admin, body).await.invalid(fields);
    }
    let ok = json!({"case_ids": [more]});
    add(&app, &run, &tester, ok.clone()).await.forbidden();
    add(&app, &run, &stranger, ok.clone()).await.not_found();
    add(&app, "run_9", &app.admin, ok.clone()).await.not_found();
    assert_eq!(app.snapshot(&run).await, before, "nothing written");
    app.close_run(&run).await;
    let closed = app.get(&at(&run), &app.admin).await.body;
    let r = add(&app, &run, &app.admin, ok).await;
    r.assert_error(StatusCode::CONFLICT, "run_closed");
    assert_eq!(app.get(&at(&run), &app.admin).await.body, closed);
    assert_eq!(cases_in(&app, &run).await, json!([ids[0]]));
}

#[tokio::test]
async fn a_manager_closes_a_run_once_and_closing_again_changes_nothing() {
    let app = TestApp::new().await;
    let (pid, _, run) = app.seeded(2).await;
    let manager = app.member(&pid, "mona", "manager").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let (_, stranger) = app.user("stranger").await;
    close(&app, &run, &tester).await.forbidden();
    close(&app, &run, &stranger).await.not_found();
    close(&app, "run_999", &app.admin).await.not_found();
    let open = app.get(&at(&run), &tester).await;
    assert_eq!(
        json!([open.ok()["state"], open.ok()["closed_at"]]),
        json!(["open", null])
    );

    let r = close(&app, &run, &manager).await;
    let data = r.ok();
    assert_eq!(data["state"], "closed");
    assert!(is_utc_instant(data["closed_at"].as_str().unwrap()));
    let mut unchanged = open.body.clone();
    unchanged["data"]["state"] = json!("closed");
    unchanged["data"]["closed_at"] = data["closed_at"].clone();
    assert_eq!(r.body, unchanged, "only state and closed_at change");
    let again = close(&app, &run, &manager).await;
    assert_eq!(again.status_is(StatusCode::OK).body, r.body, "the same");
    assert_eq!(app.get(&at(&run), &tester).await.body, r.body);
}

#[tokio::test]
async fn parallel_jobs_with_one_key_share_one_run() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    app.cases(&pid, 3).await;
    let body = json!({"name": "CI", "key": "pipe-7"});
    let job = || create(&app, &pid, &app.admin, body.clone());
    let all = tokio::join!(job(), job(), job(), job(), job(), job());
    let all = [all.0, all.1, all.2, all.3, all.4, all.5];
    let created: Vec<&Resp> = all.iter().filter(|r| r.status.as_u16() == 201).collect();
    assert_eq!(created.len(), 1, "exactly one job creates the run");
    for r in &all {
        assert_eq!(r.body, created[0].body, "the others get that same run");
    }
    assert_eq!(app.total(&runs(&pid)).await, 1);
}
