//! The run page as a tester uses it: a compact list (one line per result)
//! with the selected result (`?result=`) in detail — the case's fields and
//! steps, a result per step, the recording form with empty fields, defects
//! as links when the project has a template, the history and the
//! assignment; saving step results and defects (the API's rules, nothing
//! written on a bad value); assigning one result, the checked ones, every
//! unassigned one or a section; *My work*; the export links and the print
//! report's parts.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, csrf, html};
use serde_json::json;
use verdict_store::{Page, ProjectPatch, ResultId, ResultQuery, RunId, TestResult};

/// A project with a case that has every detail, two plain cases in a
/// section and one outside it, and a run over them: (project, run, result
/// ids in case order).
async fn manual_run(app: &TestApp) -> (String, String, Vec<String>) {
    let project = app.project("Shop").await;
    let r = app
        .post(
            &format!("/v1/projects/{project}/cases"),
            &app.admin,
            json!({"title": "Pay by card", "suite": "Checkout",
                "preconditions": "A cart with one item.\nSigned in.",
                "steps": [
                    {"action": "Open the cart", "expected": "The item is listed"},
                    {"action": "Pay with the test card", "expected": "Paid"},
                ],
                "priority": "high", "refs": ["REQ-7", "SHOP-1"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.bulk_cases(
        &project,
        vec![
            json!({"title": "Pay by invoice", "suite": "Checkout / Invoices"}),
            json!({"title": "Search by name", "suite": "Search"}),
            json!({"title": "Sign out"}),
        ],
    )
    .await;
    let run = app.run(&project, "Release").await;
    let ids = app
        .all_results(&run)
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    (project, run, ids)
}

/// The run's results as the store holds them (step results, defects and
/// the assignee included), with every history: equal before and after a
/// refused post means nothing was written.
async fn stored(app: &TestApp, run: &str) -> String {
    let run: RunId = run.parse().expect("run id");
    let all = app
        .store
        .list_results(
            run,
            ResultQuery {
                statuses: Vec::new(),
                after: None,
                q: None,
                assignee: None,
                page: Page {
                    page: 1,
                    per_page: 1000,
                },
                key: None,
                output: false,
            },
        )
        .await
        .expect("results");
    let mut out = format!("{:?}", all.items);
    for r in &all.items {
        let h = app
            .store
            .result_history(
                run,
                r.id,
                Page {
                    page: 1,
                    per_page: 1000,
                },
            )
            .await
            .expect("history");
        out.push_str(&format!("{:?}", h.items));
    }
    out
}

async fn result(app: &TestApp, run: &str, id: &str) -> TestResult {
    let run: RunId = run.parse().expect("run id");
    let id: ResultId = id.parse().expect("result id");
    app.store.get_result(run, id).await.expect("result")
}

/// How many lines the list has.
fn lines(body: &str) -> usize {
    body.matches("<tr class=\"result").count()
}

/// Who each result is assigned to (user ids), in order.
async fn assignees(app: &TestApp, run: &str, ids: &[String]) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            result(app, run, id)
                .await
                .assigned_to
                .map(|u| u.to_string()),
        );
    }
    out
}

fn location(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(r));
    r.headers["location"].to_str().expect("ascii").to_string()
}

#[tokio::test]
async fn the_run_page_lists_one_line_per_result_and_details_the_selected_one() {
    let app = TestApp::new().await;
    let (project, run, ids) = manual_run(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    app.patch(
        &format!("/v1/runs/{run}/results/{}", ids[1]),
        &app.admin,
        json!({"status": "failed", "note": "Declined\nat the second try"}),
    )
    .await
    .ok();

    // Without `result`: every result a line, the first untested selected.
    let page = app.page(&format!("/runs/{run}"), Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert_eq!(lines(body), 4, "one line per result");
    for id in &ids {
        assert!(
            body.contains(&format!("href=\"/runs/{run}?result={id}#r-{id}\"")),
            "{id}: each line selects its result"
        );
    }
    assert!(body.contains(&format!("data-result=\"{}\"", ids[0])));
    // A line shows the first line of the note; the whole note is for print.
    assert!(body.contains("<span class=\"first-line\">Declined</span>"));
    assert!(
        body.contains("<span class=\"print-only full-note\">Declined\nat the second try</span>")
    );

    // The case in detail: its fields, steps with a result each, the form.
    let page = app
        .page(&format!("/runs/{run}?result={}", ids[0]), Some(&s))
        .await;
    let body = html(&page);
    for shown in [
        "Pay by card",
        "high",
        "REQ-7, SHOP-1",
        "A cart with one item.\nSigned in.",
        "Open the cart",
        "Expected: The item is listed",
        "Pay with the test card",
        "Checkout",
    ] {
        assert!(body.contains(shown), "{shown}");
    }
    let id = &ids[0];
    for field in [
        format!("id=\"step-{id}-1\" name=\"step_1_status\""),
        format!("id=\"step-{id}-2\" name=\"step_2_status\""),
        format!("id=\"actual-{id}-2\" name=\"step_2_actual\""),
        format!("<textarea id=\"note-{id}\" name=\"note\" rows=\"2\"></textarea>"),
        format!("id=\"defects-{id}\" type=\"text\" name=\"defects\""),
        format!("id=\"assignee-{id}\" name=\"user_id\""),
    ] {
        assert!(body.contains(&field), "{field}");
    }
    assert!(
        !body.contains("name=\"defects\" value="),
        "defects start empty"
    );
    assert!(
        body.contains(&format!("<label for=\"step-{id}-1\">Step 1 result</label>")),
        "every control has a label"
    );
    assert!(body.contains("Nothing has been recorded for this result yet."));

    // Another result selected (a filtered view keeps the filter).
    let page = app
        .page(
            &format!("/runs/{run}?status=failed&result={}", ids[1]),
            Some(&s),
        )
        .await;
    let body = html(&page);
    assert_eq!(lines(body), 1);
    assert!(body.contains(&format!("data-result=\"{}\"", ids[1])));
    assert!(
        body.contains("Declined\nat the second try"),
        "the note in full"
    );

    // Export links and the print report's parts.
    for link in [
        format!("href=\"/runs/{run}/export.csv\""),
        format!("href=\"/runs/{run}/export.xml\""),
    ] {
        assert!(body.contains(&link), "{link}");
    }
    assert!(body.contains("<button class=\"print\" type=\"button\" hidden>"));
    assert!(body.contains("use your browser's Print"));

    // A result that is not there (or not a result id) selects nothing.
    for bad in ["res_999999", "nonsense", "run_1"] {
        let page = app
            .page(&format!("/runs/{run}?result={bad}"), Some(&s))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{bad}");
    }

    // The script's detail: JSON; a browser asking for it goes to the page.
    let r = app
        .send(
            axum::http::Request::builder()
                .uri(format!("/runs/{run}/results/{}", ids[1]))
                .header("cookie", format!("verdict_session={s}"))
                .header("accept", "application/json")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["data"]["detail_html"]
            .as_str()
            .expect("html")
            .contains("Declined")
    );
    let r = app
        .page(&format!("/runs/{run}/results/{}", ids[1]), Some(&s))
        .await;
    assert_eq!(
        location(&r),
        format!("/runs/{run}?result={0}#r-{0}", ids[1])
    );
    let r = app
        .send(
            axum::http::Request::builder()
                .uri(format!("/runs/{run}/results/res_999999"))
                .header("cookie", format!("verdict_session={s}"))
                .header("accept", "application/json")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn step_results_and_defects_are_saved_and_shown_as_links() {
    let app = TestApp::new().await;
    let (project, run, ids) = manual_run(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    let path = format!("/runs/{run}/results/{id}");
    let back = format!("/runs/{run}?status=not_tested");

    // A plain post: saved, then back to the same view, this result selected.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("back", &back),
                ("step_1_status", "passed"),
                ("step_1_actual", ""),
                ("step_2_status", "failed"),
                ("step_2_actual", "  Error 502  "),
                ("status", "failed"),
                ("note", "Gateway down"),
                ("elapsed", ""),
                ("defects", "SHOP-9, PAY 1/2 , ,SHOP-9"),
            ],
            &[],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/runs/{run}?status=not_tested&result={id}#r-{id}")
    );
    let now = result(&app, &run, id).await;
    assert_eq!(
        format!("{:?}", now.step_results),
        format!(
            "{:?}",
            vec![
                verdict_store::StepResult {
                    status: verdict_store::Status::Passed,
                    actual: None
                },
                verdict_store::StepResult {
                    status: verdict_store::Status::Failed,
                    actual: Some("Error 502".into())
                },
            ]
        )
    );
    assert_eq!(now.defects, vec!["SHOP-9", "PAY 1/2"], "trimmed, one each");

    // Without a template, defects are text; with one, links (the id
    // percent-encoded).
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(body.contains("<span class=\"defect\">SHOP-9</span>"));
    assert!(body.contains("Error 502"), "the step's actual result");
    app.store
        .update_project(
            project.parse().expect("project id"),
            ProjectPatch {
                name: None,
                defect_url_template: Some(Some("https://issues.example.com/browse/{id}".into())),
            },
        )
        .await
        .expect("template");
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(
        body.contains("href=\"https://issues.example.com/browse/SHOP-9\""),
        "{body}"
    );
    assert!(body.contains("href=\"https://issues.example.com/browse/PAY%201%2F2\""));
    // The history page shows the execution's step results and defects.
    let history = app
        .page(&format!("/runs/{run}/results/{id}/history"), Some(&s))
        .await;
    let body = html(&history);
    assert!(body.contains("Error 502") && body.contains("browse/SHOP-9"));

    // The script's save: JSON, with what the result held before (for `u`).
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "passed"),
                ("step_2_status", "passed"),
            ],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        d["previous"]["step_results"],
        json!([{"status": "passed", "actual": null}, {"status": "failed", "actual": "Error 502"}])
    );
    assert_eq!(d["previous"]["defects"], json!(["SHOP-9", "PAY 1/2"]));
    let now = result(&app, &run, id).await;
    assert_eq!(now.step_results.len(), 2, "step 1 blank: not tested");
    assert_eq!(now.step_results[0].status, verdict_store::Status::NotTested);
    assert!(now.defects.is_empty(), "each execution records its own");

    // The undo's post: a `defect` field is one defect, commas and all.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "failed"),
                ("defect", "A, B"),
                ("defect", "C"),
            ],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(result(&app, &run, id).await.defects, vec!["A, B", "C"]);

    // "Not tested" resets: step results and defects typed with it go.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "not_tested"),
                ("step_1_status", "passed"),
                ("defects", "SHOP-1"),
            ],
            &[],
        )
        .await;
    location(&r);
    let now = result(&app, &run, id).await;
    assert!(now.step_results.is_empty() && now.defects.is_empty());
}

#[tokio::test]
async fn bad_step_results_or_defects_are_refused_and_nothing_is_written() {
    let app = TestApp::new().await;
    let (project, run, ids) = manual_run(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let path = format!("/runs/{run}/results/{}", ids[0]);
    let long_actual = "x".repeat(10_001);
    let long_defect = "D".repeat(256);
    let many: String = (0..51).map(|i| format!("D-{i},")).collect();
    let before = stored(&app, &run).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("step_1_status", "sideways")], "Step 1 result"),
        (vec![("step_101_status", "passed")], "Step results"),
        (vec![("step_0_status", "passed")], "Step results"),
        (
            vec![("step_1_actual", long_actual.as_str())],
            "Step 1 actual result",
        ),
        (vec![("defects", long_defect.as_str())], "Defect 1"),
        (vec![("defects", "OK-1, BAD\u{7}")], "Defect 2"),
        (vec![("defects", many.as_str())], "Defects"),
    ];
    for (fields, named) in &cases {
        let mut form = vec![("csrf", csrf(&s)), ("status", "failed".to_string())];
        form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.form(&path, Some(&s), &form, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body = html(&r);
        assert!(body.contains("role=\"alert\""), "{fields:?}");
        assert!(body.contains(&format!("{named}: ")), "{named}: {body}");
        // The script gets the API's error, naming the field.
        let r = app
            .form(&path, Some(&s), &form, &[("accept", "application/json")])
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "passed"),
                ("step_2_status", "bogus"),
            ],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(r.fields(), ["step_results[1].status"]);
    assert_eq!(stored(&app, &run).await, before, "nothing was written");
}

#[tokio::test]
async fn results_are_assigned_one_at_a_time_and_many_at_once() {
    let app = TestApp::new().await;
    let (project, run, ids) = manual_run(&app).await;
    let (tess, s) = app.web_member(&project, "tess", "tester").await;
    let (max, _) = app.web_member(&project, "max", "manager").await;
    let (vic, viewer) = app.web_member(&project, "vic", "viewer").await;
    let (stranger, _) = app.user("sid").await;
    let token = csrf(&s);
    let assignee = |r: &TestResult| r.assigned_to.map(|u| u.to_string());
    let status_before = app.counts(&run).await;

    // One, from its detail: back to the same view, the result selected.
    let back = format!("/runs/{run}?q=pay");
    let r = app
        .form(
            &format!("/runs/{run}/results/{}/assign", ids[0]),
            Some(&s),
            &[("csrf", &token), ("user_id", &max), ("back", &back)],
            &[],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/runs/{run}?q=pay&result={0}#r-{0}", ids[0])
    );
    assert_eq!(
        assignee(&result(&app, &run, &ids[0]).await),
        Some(max.clone())
    );
    let page = html(&app.page(&format!("/runs/{run}"), Some(&s)).await).to_string();
    assert!(page.contains("<td class=\"assignee\">max</td>"), "{page}");
    assert!(page.contains(&format!("<option value=\"{max}\" selected>max</option>")));
    assert!(
        !page.contains(&format!("<option value=\"{vic}\"")),
        "no viewers"
    );
    // Unassigning is the undo.
    let r = app
        .form(
            &format!("/runs/{run}/results/{}/assign", ids[0]),
            Some(&s),
            &[("csrf", &token), ("user_id", "")],
            &[],
        )
        .await;
    location(&r);
    assert_eq!(assignee(&result(&app, &run, &ids[0]).await), None);

    // Many: the checked lines, then every unassigned one, then a section.
    let r = app
        .form(
            &format!("/runs/{run}/assign"),
            Some(&s),
            &[
                ("csrf", &token),
                ("target", "selected"),
                ("result_ids", &ids[1]),
                ("result_ids", &ids[3]),
                ("user_id", &tess),
                ("back", &back),
            ],
            &[],
        )
        .await;
    assert_eq!(location(&r), back);
    let t = Some(tess.clone());
    assert_eq!(
        assignees(&app, &run, &ids).await,
        [None, t.clone(), None, t.clone()]
    );
    let r = app
        .form(
            &format!("/runs/{run}/assign"),
            Some(&s),
            &[
                ("csrf", &token),
                ("target", "unassigned"),
                ("user_id", &max),
            ],
            &[],
        )
        .await;
    location(&r);
    let m = Some(max.clone());
    assert_eq!(
        assignees(&app, &run, &ids).await,
        [m.clone(), t.clone(), m.clone(), t.clone()]
    );
    let r = app
        .form(
            &format!("/runs/{run}/assign"),
            Some(&s),
            &[
                ("csrf", &token),
                ("target", "section"),
                ("suite", "Checkout"),
                ("user_id", ""),
            ],
            &[],
        )
        .await;
    location(&r);
    assert_eq!(
        assignees(&app, &run, &ids).await,
        [None, None, m.clone(), t.clone()]
    );
    assert_eq!(app.counts(&run).await, status_before, "no status changed");
    assert!(
        app.history(&run, &ids[0]).await.is_empty(),
        "not an execution"
    );

    // Refused, nothing changed: a viewer, a stranger, nonsense, no CSRF.
    let before = stored(&app, &run).await;
    let one = format!("/runs/{run}/results/{}/assign", ids[0]);
    let many = format!("/runs/{run}/assign");
    for (path, fields, status) in [
        (
            &one,
            vec![("user_id", vic.as_str())],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &one,
            vec![("user_id", stranger.as_str())],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &one,
            vec![("user_id", "user_x")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &many,
            vec![("target", "selected"), ("user_id", "")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &many,
            vec![
                ("target", "selected"),
                ("result_ids", "res_99999"),
                ("user_id", ""),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &many,
            vec![
                ("target", "selected"),
                ("result_ids", "nonsense"),
                ("user_id", ""),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &many,
            vec![("target", "everything"), ("user_id", "")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &many,
            vec![("target", "section"), ("suite", " "), ("user_id", "")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let mut form = vec![("csrf", token.as_str())];
        form.extend(fields.iter().copied());
        let r = app.form(path, Some(&s), &form, &[]).await;
        assert_eq!(r.status, status, "{path} {fields:?}: {}", html(&r));
    }
    let r = app
        .form(&one, Some(&s), &[("user_id", tess.as_str())], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF field");
    let r = app
        .form(
            &one,
            Some(&viewer),
            &[("csrf", &csrf(&viewer)), ("user_id", "")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a viewer assigns nothing");
    let page = app.page(&format!("/runs/{run}"), Some(&viewer)).await;
    assert!(!html(&page).contains("/assign\""), "no assignment forms");
    assert_eq!(stored(&app, &run).await, before, "nothing was written");

    // A closed run: no assignment.
    app.close_run(&run).await;
    let r = app
        .form(&one, Some(&s), &[("csrf", &token), ("user_id", "")], &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn my_work_lists_what_is_assigned_to_me_in_open_runs_untested_first() {
    let app = TestApp::new().await;
    let (project, run, ids) = manual_run(&app).await;
    let other = app.run(&project, "Hotfix").await;
    let closed = app.run(&project, "Old").await;
    let (tess, s) = app.web_member(&project, "tess", "tester").await;
    let (_, nobody) = app.web_member(&project, "nia", "tester").await;

    // Nothing yet: the page says how work gets assigned.
    let page = app.page("/work", Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(body.contains("Nothing is assigned to you"), "{body}");
    assert!(body.contains("Assign results"));
    assert!(
        body.contains("<a href=\"/work\">My work</a>"),
        "in the navigation"
    );

    for r in [&run, &other, &closed] {
        let r = app
            .form(
                &format!("/runs/{r}/assign"),
                Some(&s),
                &[
                    ("csrf", &csrf(&s)),
                    ("target", "unassigned"),
                    ("user_id", &tess),
                ],
                &[],
            )
            .await;
        location(&r);
    }
    app.close_run(&closed).await;
    app.patch(
        &format!("/v1/runs/{run}/results/{}", ids[0]),
        &app.admin,
        json!({"status": "passed"}),
    )
    .await
    .ok();

    let page = app.page("/work", Some(&s)).await;
    let body = html(&page);
    assert!(
        body.contains("8 results assigned to you in open runs"),
        "{body}"
    );
    assert!(body.contains("Release") && body.contains("Hotfix") && body.contains("Shop"));
    assert!(!body.contains(">Old<"), "a closed run is not work");
    for id in &ids {
        assert!(body.contains(&format!("href=\"/runs/{run}?result={id}#r-{id}\"")));
    }
    // Untested first: the passed one comes after every untested one.
    let passed = body.find(&format!("?result={}#", ids[0])).expect("passed");
    let untested = body
        .find(&format!("?result={}#", ids[1]))
        .expect("untested");
    assert!(untested < passed, "untested first");
    // Someone else's list stays empty.
    assert!(html(&app.page("/work", Some(&nobody)).await).contains("Nothing is assigned"));
    // Signed out: sign in first.
    let r = app.page("/work", None).await;
    assert!(location(&r).starts_with("/login"));
}
