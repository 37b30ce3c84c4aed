//! Manual testing through the API: step results and defects on PATCH and
//! bulk (atomic and partial), assignment (one, many by selector, roles,
//! assignees, a closed run), the `assigned_to` filter and My work.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};

fn result_path(run: &str, id: &str) -> String {
    format!("/v1/runs/{run}/results/{id}")
}

async fn setup(app: &TestApp) -> (String, Vec<String>, String) {
    app.seeded(3).await
}

#[tokio::test]
async fn patch_records_step_results_and_defects() {
    let app = TestApp::new().await;
    let (_, cases, run) = setup(&app).await;
    let res = app.result_of(&run, &cases[0]).await;
    let r = app
        .patch(
            &result_path(&run, &res),
            &app.admin,
            json!({"status": "failed", "note": "checkout broke",
                   "step_results": [{"status": "passed"}, {"status": "failed", "actual": "  500 error  "},
                                    {"status": "blocked", "actual": "   "}],
                   "defects": [" SHOP-1 ", "SHOP-2", "SHOP-1"]}),
        )
        .await;
    let d = r.data();
    assert_eq!(
        d["step_results"],
        json!([{"status": "passed"}, {"status": "failed", "actual": "500 error"}, {"status": "blocked"}])
    );
    assert_eq!(d["defects"], json!(["SHOP-1", "SHOP-2"]));
    assert_eq!(d["assigned_to"], Value::Null);
    let h = app.history(&run, &res).await;
    assert_eq!(h[0]["defects"], json!(["SHOP-1", "SHOP-2"]));
    assert_eq!(h[0]["step_results"][1]["actual"], "500 error");
    // A plain execution clears them (a field not given is empty).
    let r = app
        .patch(
            &result_path(&run, &res),
            &app.admin,
            json!({"status": "passed"}),
        )
        .await;
    assert_eq!(r.data()["step_results"], json!([]));
    assert_eq!(r.data()["defects"], json!([]));
}

fn bad_inputs() -> Vec<(Value, &'static str)> {
    let many_steps: Vec<Value> = (0..101).map(|_| json!({"status": "passed"})).collect();
    let many_defects: Vec<Value> = (0..51).map(|i| json!(format!("D-{i}"))).collect();
    vec![
        (
            json!({"status": "passed", "step_results": "x"}),
            "step_results",
        ),
        (
            json!({"status": "passed", "step_results": many_steps}),
            "step_results",
        ),
        (
            json!({"status": "passed", "step_results": [{"status": "done"}]}),
            "step_results[0].status",
        ),
        (
            json!({"status": "passed", "step_results": [{"status": "passed"}, {}]}),
            "step_results[1].status",
        ),
        (
            json!({"status": "passed", "step_results": [7]}),
            "step_results[0]",
        ),
        (
            json!({"status": "passed", "step_results": [{"status": "passed", "actual": 3}]}),
            "step_results[0].actual",
        ),
        (
            json!({"status": "passed", "step_results": [{"status": "passed", "actual": "x".repeat(10_001)}]}),
            "step_results[0].actual",
        ),
        (
            json!({"status": "passed", "step_results": [{"status": "passed", "extra": 1}]}),
            "step_results[0].extra",
        ),
        (json!({"status": "passed", "defects": "SHOP-1"}), "defects"),
        (
            json!({"status": "passed", "defects": many_defects}),
            "defects",
        ),
        (json!({"status": "passed", "defects": ["  "]}), "defects[0]"),
        (
            json!({"status": "passed", "defects": ["ok", "x".repeat(256)]}),
            "defects[1]",
        ),
        (
            json!({"status": "passed", "defects": ["a\u{7}b"]}),
            "defects[0]",
        ),
        (json!({"status": "passed", "defects": [1]}), "defects[0]"),
        (
            json!({"status": "not_tested", "step_results": [{"status": "passed"}]}),
            "step_results",
        ),
        (
            json!({"status": "not_tested", "defects": ["SHOP-1"]}),
            "defects",
        ),
    ]
}

#[tokio::test]
async fn patch_refuses_every_bad_step_result_and_defect() {
    let app = TestApp::new().await;
    let (_, cases, run) = setup(&app).await;
    let res = app.result_of(&run, &cases[0]).await;
    for (body, field) in bad_inputs() {
        let r = app
            .patch(&result_path(&run, &res), &app.admin, body.clone())
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), vec![field.to_string()], "{body}");
    }
    // Nothing was written; empty lists with not_tested are fine.
    assert!(app.history(&run, &res).await.is_empty());
    let r = app
        .patch(
            &result_path(&run, &res),
            &app.admin,
            json!({"status": "not_tested", "step_results": [], "defects": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn bulk_checks_step_results_and_defects_atomic_and_partial() {
    let app = TestApp::new().await;
    let (_, cases, run) = setup(&app).await;
    let good = json!({"test_case_id": cases[0], "status": "failed",
        "step_results": [{"status": "failed", "actual": "no"}], "defects": ["BUG-1"]});
    for (bad, field) in bad_inputs() {
        let mut entry = bad.clone();
        entry["test_case_id"] = json!(cases[1]);
        let r = app
            .bulk(&run, &app.admin, json!({"results": [good.clone(), entry]}))
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), vec![format!("results[1].{field}")], "{bad}");
    }
    let res0 = app.result_of(&run, &cases[0]).await;
    assert!(
        app.history(&run, &res0).await.is_empty(),
        "atomic: nothing written"
    );
    // Partial: the good entry applies, the bad one is rejected.
    let r = app
        .post(
            &format!("/v1/runs/{run}/results/bulk?partial=true"),
            &app.admin,
            json!({"results": [good, {"test_case_id": cases[1], "status": "passed", "defects": [""]}]}),
        )
        .await;
    let d = r.data();
    assert_eq!(d["updated"], 1);
    assert_eq!(d["rejected"][0]["index"], 1);
    let one = app.get(&result_path(&run, &res0), &app.admin).await;
    assert_eq!(one.data()["defects"], json!(["BUG-1"]));
    assert_eq!(
        one.data()["step_results"],
        json!([{"status": "failed", "actual": "no"}])
    );
}

#[tokio::test]
async fn assignment_of_one_result() {
    let app = TestApp::new().await;
    let (project, cases, run) = setup(&app).await;
    let (tester_id, tester) = app.member_with_id(&project, "tess", "tester").await;
    let (viewer_id, viewer) = app.member_with_id(&project, "vic", "viewer").await;
    let (stranger_id, _) = app.user("stranger").await;
    let res = app.result_of(&run, &cases[0]).await;
    let path = format!("{}/assignment", result_path(&run, &res));
    let r = app
        .patch(&path, &tester, json!({"user_id": tester_id}))
        .await;
    assert_eq!(r.data()["assigned_to"], tester_id);
    assert_eq!(r.data()["status"], "not_tested");
    assert!(app.history(&run, &res).await.is_empty(), "not an execution");
    // The assignee survives an execution.
    let r = app
        .patch(
            &result_path(&run, &res),
            &tester,
            json!({"status": "passed"}),
        )
        .await;
    assert_eq!(r.data()["assigned_to"], tester_id);
    // An admin who is no member may be assigned.
    let admin_id = app.admin_id().await;
    let r = app
        .patch(&path, &tester, json!({"user_id": admin_id}))
        .await;
    assert_eq!(r.data()["assigned_to"], admin_id);
    // Bad assignees and bodies.
    for (body, field) in [
        (json!({"user_id": viewer_id}), "user_id"),
        (json!({"user_id": stranger_id}), "user_id"),
        (json!({"user_id": "user_99999"}), "user_id"),
        (json!({"user_id": "bob"}), "user_id"),
        (json!({"user_id": 3}), "user_id"),
        (json!({}), "user_id"),
        (json!({"user_id": null, "who": 1}), "who"),
    ] {
        let r = app.patch(&path, &tester, body.clone()).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), vec![field.to_string()], "{body}");
    }
    // A viewer may not assign; null unassigns.
    app.patch(&path, &viewer, json!({"user_id": null}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = app.patch(&path, &tester, json!({"user_id": null})).await;
    assert_eq!(r.data()["assigned_to"], Value::Null);
    // Unknown result: 404; closed run: 409.
    app.patch(
        &format!("{}/assignment", result_path(&run, "res_99999")),
        &tester,
        json!({"user_id": null}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.close_run(&run).await;
    app.patch(&path, &tester, json!({"user_id": tester_id}))
        .await
        .assert_error(StatusCode::CONFLICT, "run_closed");
}

#[tokio::test]
async fn assignment_by_selector() {
    let app = TestApp::new().await;
    let project = app.project("shop").await;
    let cases = app
        .bulk_cases(
            &project,
            vec![
                json!({"title": "Pay", "key": "a", "suite": "Checkout"}),
                json!({"title": "Card", "key": "b", "suite": "Checkout / Payments"}),
                json!({"title": "Other", "key": "c", "suite": "Checkout2"}),
                json!({"title": "Login", "key": "d"}),
            ],
        )
        .await;
    let run = app.run(&project, "manual").await;
    let (tid, tester) = app.member_with_id(&project, "tess", "tester").await;
    let (mid, _) = app.member_with_id(&project, "mia", "manager").await;
    let assign = format!("/v1/runs/{run}/assign");
    let r = app
        .post(
            &assign,
            &tester,
            json!({"user_id": tid, "suite": "Checkout"}),
        )
        .await;
    assert_eq!(r.data()["assigned"], 2);
    let r = app
        .post(
            &assign,
            &tester,
            json!({"user_id": mid, "unassigned": true}),
        )
        .await;
    assert_eq!(r.data()["assigned"], 2);
    let login = app.result_of(&run, &cases[3]).await;
    let r = app
        .post(
            &assign,
            &tester,
            json!({"user_id": null, "result_ids": [login]}),
        )
        .await;
    assert_eq!(r.data()["assigned"], 1);
    // The filter.
    let list = |q: String| {
        let app = &app;
        let tester = tester.clone();
        let run = run.clone();
        async move {
            let r = app
                .get(&format!("/v1/runs/{run}/results?assigned_to={q}"), &tester)
                .await;
            let ids: Vec<String> = r
                .data()
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["test_case_id"].as_str().unwrap().to_string())
                .collect();
            (ids, r.body["meta"]["total"].clone())
        }
    };
    assert_eq!(
        list(tid.clone()).await,
        (vec![cases[0].clone(), cases[1].clone()], json!(2))
    );
    assert_eq!(list(mid.clone()).await, (vec![cases[2].clone()], json!(1)));
    assert_eq!(
        list("none".into()).await,
        (vec![cases[3].clone()], json!(1))
    );
    let r = app
        .get(&format!("/v1/runs/{run}/results?assigned_to=bob"), &tester)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), vec!["assigned_to"]);
    // Bad selectors.
    for (body, field) in [
        (json!({"user_id": tid}), "body"),
        (
            json!({"user_id": tid, "suite": "Checkout", "unassigned": true}),
            "body",
        ),
        (json!({"user_id": tid, "result_ids": []}), "result_ids"),
        (json!({"user_id": tid, "result_ids": "res_1"}), "result_ids"),
        (
            json!({"user_id": tid, "result_ids": [login, login]}),
            "result_ids[1]",
        ),
        (
            json!({"user_id": tid, "result_ids": ["nope"]}),
            "result_ids[0]",
        ),
        (
            json!({"user_id": tid, "result_ids": ["res_99999"]}),
            "result_ids[0]",
        ),
        (json!({"user_id": tid, "suite": "  "}), "suite"),
        (json!({"user_id": tid, "suite": 1}), "suite"),
        (json!({"user_id": tid, "unassigned": false}), "unassigned"),
        (json!({"suite": "Checkout"}), "user_id"),
        (
            json!({"user_id": "user_99999", "suite": "Checkout"}),
            "user_id",
        ),
        (json!({"user_id": tid, "suite": "Checkout", "x": 1}), "x"),
    ] {
        let r = app.post(&assign, &tester, body.clone()).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), vec![field.to_string()], "{body}");
    }
    let ids: Vec<Value> = (0..10_001)
        .map(|i| json!(format!("res_{}", i + 1)))
        .collect();
    let r = app
        .post(&assign, &tester, json!({"user_id": tid, "result_ids": ids}))
        .await;
    assert_eq!(r.fields(), vec!["result_ids"]);
    // Nothing changed by the refused requests.
    assert_eq!(list(tid.clone()).await.1, json!(2));
    let viewer = app.member(&project, "vic", "viewer").await;
    app.post(
        &assign,
        &viewer,
        json!({"user_id": null, "unassigned": true}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.close_run(&run).await;
    app.post(
        &assign,
        &tester,
        json!({"user_id": tid, "unassigned": true}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "run_closed");
}

#[tokio::test]
async fn my_work_lists_untested_first_across_open_runs() {
    let app = TestApp::new().await;
    let (project, cases, run) = setup(&app).await;
    let (tid, tester) = app.member_with_id(&project, "tess", "tester").await;
    let run2 = app.run(&project, "second").await;
    for r in [&run, &run2] {
        app.post(
            &format!("/v1/runs/{r}/assign"),
            &tester,
            json!({"user_id": tid, "unassigned": true}),
        )
        .await
        .data();
    }
    let tested = app.result_of(&run, &cases[0]).await;
    app.patch(
        &result_path(&run, &tested),
        &tester,
        json!({"status": "failed"}),
    )
    .await
    .data();
    let r = app.get("/v1/me/work?per_page=100", &tester).await;
    let items = r.data().as_array().unwrap().clone();
    assert_eq!(r.body["meta"]["total"], 6);
    assert_eq!(items.len(), 6);
    assert_eq!(items[5]["id"], tested, "the tested one last");
    assert!(items[..5].iter().all(|i| i["status"] == "not_tested"));
    assert_eq!(items[0]["run_id"], run);
    assert_eq!(items[0]["project_id"], project);
    assert!(items[0]["run_name"].is_string() && items[0]["project_name"].is_string());
    assert_eq!(items[0]["assigned_to"], tid);
    let r = app.get("/v1/me/work?per_page=2&page=2", &tester).await;
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    assert_eq!(r.data()[0]["id"], items[2]["id"]);
    // A closed run's results leave the list; others see only their own.
    app.close_run(&run2).await;
    assert_eq!(
        app.get("/v1/me/work", &tester).await.body["meta"]["total"],
        3
    );
    assert_eq!(
        app.get("/v1/me/work", &app.admin).await.body["meta"]["total"],
        0
    );
    app.get("/v1/me/work?per_page=0", &tester)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}
