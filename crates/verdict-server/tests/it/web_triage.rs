//! The triage pages: the run page's comparison with its baseline (counts
//! that link to the changes), the failures grouped by message with every
//! message and stack trace in full, the project page's trend chart, flaky
//! and slowest tests, and the case page (its status in the latest runs,
//! its durations, its results across runs, quarantine by a manager with a
//! form that redirects). Access is the API's: a non-member gets 404 pages,
//! a viewer cannot quarantine. On data made through the API, and on the
//! demo data, seeded through the store as `verdict serve --demo` does.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, csrf, html};
use serde_json::{Value, json};

/// A project with three keyed cases and two runs on `main` made through
/// the API: the first passes case 1 and fails case 2, the second fails
/// case 1 (a new failure), passes case 2 (fixed) and passes case 3 (a new
/// test). (project, cases, first run, second run).
async fn two_runs(app: &TestApp) -> (String, Vec<String>, String, String) {
    let project = app.project("Shop").await;
    let cases = app.cases(&project, 3).await;
    let mut runs = Vec::new();
    for (n, statuses) in [
        [
            ("passed", None),
            ("failed", Some("expected 3 but got 4")),
            ("not_tested", None),
        ],
        [
            (
                "failed",
                Some("expected 7 but got 9\n    at checkout.spec.ts:12:5"),
            ),
            ("passed", None),
            ("passed", None),
        ],
    ]
    .iter()
    .enumerate()
    {
        let run = app
            .post(
                &format!("/v1/projects/{project}/runs"),
                &app.admin,
                json!({"name": format!("Nightly {n}"), "branch": "main",
                       "commit": format!("3f2a1c9{n}"), "environment": "linux"}),
            )
            .await
            .id();
        let results: Vec<Value> = statuses
            .iter()
            .zip(&cases)
            .map(|((status, note), case)| {
                let mut e = json!({"test_case_id": case, "status": status});
                if *status != "not_tested" {
                    e["elapsed_ms"] = json!(1500);
                }
                if let Some(n) = note {
                    e["note"] = json!(n);
                }
                e
            })
            .collect();
        let r = app
            .bulk(&run, &app.admin, json!({ "results": results }))
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        runs.push(run);
    }
    let second = runs.pop().expect("two runs");
    let first = runs.pop().expect("two runs");
    (project, cases, first, second)
}

/// The number a strip's category shows.
fn strip_count(page: &str, category: &str) -> i64 {
    let at = page
        .find(&format!("data-category=\"{category}\""))
        .unwrap_or_else(|| panic!("no {category} in the strip"));
    let rest = &page[at..];
    let start = rest.find("<span class=\"n\">").expect("a count") + "<span class=\"n\">".len();
    rest[start..]
        .split('<')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[tokio::test]
async fn the_run_page_compares_with_its_baseline_and_links_each_count() {
    let app = TestApp::new().await;
    let (project, _, first, second) = two_runs(&app).await;
    let (_, s) = app.web_member(&project, "vic", "viewer").await;

    let r = app.page(&format!("/runs/{second}"), Some(&s)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(
        page.contains(&format!(
            "Compared with <a href=\"/runs/{first}\">{first} Nightly 0</a> (main @ 3f2a1c9)"
        )),
        "{page}"
    );
    assert_eq!(strip_count(page, "new_failure"), 1);
    assert_eq!(strip_count(page, "fixed"), 1);
    assert_eq!(strip_count(page, "still_failing"), 0);
    assert_eq!(strip_count(page, "new_test"), 1);
    assert!(page.contains(&format!(
        "href=\"/runs/{second}/compare?category=new_failure\""
    )));
    assert!(page.contains(&format!("href=\"/runs/{second}/failures\"")));
    // Branch, commit and environment are shown; case titles link to the case.
    assert!(page.contains("<code>main</code>") && page.contains("linux"));
    assert!(page.contains("href=\"/cases/tc_001\""));

    // The first run has nothing to compare with: it says so.
    let r = app.page(&format!("/runs/{first}"), Some(&s)).await;
    assert!(html(&r).contains("No earlier run to compare with"));

    // The changes, filtered by category.
    let r = app
        .page(
            &format!("/runs/{second}/compare?category=new_failure"),
            Some(&s),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(
        page.contains("Case 1") && !page.contains("Case 2"),
        "{page}"
    );
    let r = app.page(&format!("/runs/{second}/compare"), Some(&s)).await;
    let page = html(&r);
    for title in [
        "Case 1",
        "Case 2",
        "Case 3",
        "New failure",
        "Fixed",
        "New test",
    ] {
        assert!(page.contains(title), "{title}");
    }
    // A category that makes no sense gives every change, not an error.
    let r = app
        .page(
            &format!("/runs/{second}/compare?category=bogus&page=x"),
            Some(&s),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("Case 3"));
}

#[tokio::test]
async fn failures_are_grouped_by_message_shown_in_full_and_new_groups_say_so() {
    let app = TestApp::new().await;
    let (project, _, first, second) = two_runs(&app).await;
    let (_, s) = app.web_member(&project, "vic", "viewer").await;
    let r = app
        .page(&format!("/runs/{second}/failures"), Some(&s))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    // The baseline failed with "expected 3 but got 4": the same signature.
    assert!(!page.contains("class=\"badge new-group\""), "{page}");
    assert!(page.contains("the baseline failed like this too"));
    assert!(page.contains("<details>") && page.contains("<pre class=\"trace\""));
    assert!(
        page.contains("at checkout.spec.ts:12:5"),
        "the stack trace in full"
    );
    // In the first run (no baseline) every group is new, marked in words.
    let r = app.page(&format!("/runs/{first}/failures"), Some(&s)).await;
    let page = html(&r);
    assert!(page.contains(">New</span>"), "{page}");
    assert!(page.contains("expected 3 but got 4"));
}

#[tokio::test]
async fn a_non_member_gets_not_found_pages_and_quarantines_nothing() {
    let app = TestApp::new().await;
    let (_, cases, _, second) = two_runs(&app).await;
    app.user_with_password("stranger", "correct horse battery")
        .await;
    let (_, s) = app
        .sign_in("stranger@example.com", "correct horse battery")
        .await;
    let s = s.expect("session");
    let case = &cases[0];
    for path in [
        format!("/runs/{second}/compare"),
        format!("/runs/{second}/failures"),
        format!("/cases/{case}"),
        "/cases/tc_999".to_string(),
        "/cases/not_an_id".to_string(),
    ] {
        let r = app.page(&path, Some(&s)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(html(&r).contains("Not found"), "{path}");
    }
    let r = app
        .form(
            &format!("/cases/{case}/quarantine"),
            Some(&s),
            &[("csrf", &csrf(&s)), ("reason", "mine now")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let now = app.get(&format!("/v1/cases/{case}"), &app.admin).await;
    assert_eq!(now.data()["quarantined"], Value::Null);
}

#[tokio::test]
async fn the_case_page_shows_its_runs_and_a_manager_quarantines_it_by_a_form() {
    let app = TestApp::new().await;
    let (project, cases, first, second) = two_runs(&app).await;
    let case = &cases[0];
    let path = format!("/cases/{case}");

    // A viewer sees the case and its history, but no quarantine form, and
    // a post of one is refused.
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let r = app.page(&path, Some(&viewer)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains("<h1>Case 1"), "{page}");
    assert!(page.contains("<code>k1</code>") && page.contains("Not quarantined"));
    assert!(page.contains("class=\"strip\"") && page.contains("class=\"spark\""));
    assert!(
        page.contains("oldest first: passed, failed"),
        "the strip in words"
    );
    assert!(
        page.contains(&format!("href=\"/runs/{first}\""))
            && page.contains(&format!("href=\"/runs/{second}\""))
    );
    assert!(page.contains("Results across runs"));
    assert!(!page.contains("/quarantine\""), "no form for a viewer");
    assert!(
        !page.contains("Preconditions") && !page.contains("<ol class=\"steps\">"),
        "no details, no sections"
    );

    // Details a manager gives show, escaped.
    let details = json!({"preconditions": "A <cart>.\nA user.", "priority": "high",
        "refs": ["REQ-1", "BUG&2"],
        "steps": [{"action": "Pay <now>", "expected": "A receipt"}, {"action": "Leave"}]});
    app.patch(&format!("/v1/cases/{case}"), &app.admin, details)
        .await
        .ok();
    let r = app.page(&path, Some(&viewer)).await;
    let page = html(&r);
    assert!(
        page.contains("<p class=\"multiline\">A &lt;cart&gt;.\nA user.</p>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"priority\">high</span>"));
    assert!(page.contains("<code>REQ-1</code>, <code>BUG&amp;2</code>"));
    assert!(page.contains(
        "<ol class=\"steps\"><li><span class=\"action multiline\">Pay &lt;now&gt;</span> → \
         <span class=\"expected multiline\">A receipt</span></li>\
         <li><span class=\"action multiline\">Leave</span></li></ol>"
    ));
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    for s in [&viewer, &tester] {
        let r = app
            .form(
                &format!("{path}/quarantine"),
                Some(s),
                &[("csrf", &csrf(s)), ("reason", "flaky")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(html(&r).contains("Not allowed"));
    }
    let quarantined = || async {
        app.get(&format!("/v1/cases/{case}"), &app.admin)
            .await
            .data()["quarantined"]
            .clone()
    };
    assert_eq!(quarantined().await, Value::Null, "nothing was written");

    // A manager: the form; a post without the session's token, or without
    // a reason, writes nothing.
    let (_, manager) = app.web_member(&project, "mia", "manager").await;
    let page = app.page(&path, Some(&manager)).await;
    assert!(html(&page).contains(&format!("action=\"{path}/quarantine\"")));
    let r = app
        .form(
            &format!("{path}/quarantine"),
            Some(&manager),
            &[("reason", "flaky")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .form(
            &format!("{path}/quarantine"),
            Some(&manager),
            &[("csrf", &csrf(&manager)), ("reason", "   ")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Reason: say why"));
    assert_eq!(quarantined().await, Value::Null);

    // Quarantined: a redirect back to the page (a reload writes nothing),
    // which says so, as does the API.
    let r = app
        .form(
            &format!("{path}/quarantine"),
            Some(&manager),
            &[
                ("csrf", &csrf(&manager)),
                ("reason", "Times out <sometimes>"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], path.as_str());
    assert_eq!(quarantined().await["reason"], "Times out <sometimes>");
    let page = app.page(&path, Some(&manager)).await;
    let page = html(&page);
    assert!(
        page.contains("Times out &lt;sometimes&gt;") && page.contains("by mia"),
        "{page}"
    );
    assert!(page.contains(&format!("action=\"{path}/release\"")));
    let project_page = app
        .page(&format!("/projects/{project}"), Some(&manager))
        .await;
    assert!(html(&project_page).contains("badge quarantined"));

    // Released after a page that asks: the case page's button posts
    // without its "Yes", which changes nothing and leads to that page.
    let r = app
        .form(
            &format!("{path}/release"),
            Some(&manager),
            &[("csrf", &csrf(&manager))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], format!("{path}/release").as_str());
    assert_eq!(quarantined().await["reason"], "Times out <sometimes>");
    let asks = app.page(&format!("{path}/release"), Some(&manager)).await;
    assert_eq!(asks.status, StatusCode::OK);
    let asks = html(&asks);
    assert!(
        asks.contains("from quarantine?") && asks.contains("Times out &lt;sometimes&gt;"),
        "{asks}"
    );
    assert!(asks.contains("name=\"confirm\" value=\"yes\""));
    let r = app
        .form(
            &format!("{path}/release"),
            Some(&manager),
            &[("csrf", &csrf(&manager)), ("confirm", "yes")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(quarantined().await, Value::Null);
    assert!(html(&app.page(&path, Some(&manager)).await).contains("Not quarantined"));
}

/// The demo data, seeded through the store, and the demo user's session.
async fn demo(app: &TestApp) -> String {
    verdict_server::demo::seed(app.store.as_ref(), verdict_store::Timestamp::now())
        .await
        .expect("demo data");
    let (_, s) = app
        .sign_in(
            verdict_server::demo::DEMO_EMAIL,
            verdict_server::demo::DEMO_PASSWORD,
        )
        .await;
    s.expect("the demo user signs in")
}

/// The id of the run named `name` in the demo project.
async fn run_named(app: &TestApp, name: &str) -> String {
    let runs = app
        .get("/v1/projects/prj_001/runs?per_page=100", &app.admin)
        .await;
    runs.data()
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("no run {name}"))
        .to_string()
}

#[tokio::test]
async fn the_demo_shows_every_part_of_triage() {
    let app = TestApp::new().await;
    let s = demo(&app).await;

    // The latest nightly: three new failures, one fixed, one still failing.
    let nightly = run_named(&app, "Nightly smoke — build 1187").await;
    let previous = run_named(&app, "Nightly smoke — build 1186").await;
    let r = app.page(&format!("/runs/{nightly}"), Some(&s)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(
        page.contains(&format!(
            "{previous} Nightly smoke — build 1186</a> (main @ "
        )),
        "{page}"
    );
    assert_eq!(strip_count(page, "new_failure"), 3);
    assert_eq!(strip_count(page, "fixed"), 1);
    assert_eq!(strip_count(page, "still_failing"), 1);
    // Its failures: the gateway timeout twice in one new group.
    let r = app
        .page(&format!("/runs/{nightly}/failures"), Some(&s))
        .await;
    let page = html(&r);
    assert!(page.contains("2 × "), "{page}");
    assert!(
        page.contains("at GatewayClient.send"),
        "stack traces in full"
    );
    assert!(page.contains(">New</span>"));

    // The feature branch's second run: new failures against its first.
    let feature = run_named(&app, "Login rework — build 1189").await;
    let r = app.page(&format!("/runs/{feature}"), Some(&s)).await;
    let page = html(&r);
    assert!(page.contains("(feature/login @ "), "{page}");
    assert_eq!(strip_count(page, "new_failure"), 3);
    assert_eq!(strip_count(page, "fixed"), 1);

    // The project page on main: 30 runs in the trend, PayPal flaky, the
    // quarantined 3-D Secure case flaky too, guest checkout among the slowest.
    let r = app.page("/projects/prj_001?branch=main", Some(&s)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains("the latest 30 runs of branch main"), "{page}");
    assert!(page.contains("role=\"img\"") && page.contains("<desc>"));
    let flaky = &page
        [page.find("id=\"flaky\"").expect("flaky")..page.find("id=\"slowest\"").expect("slowest")];
    assert!(
        flaky.contains("Pay with PayPal") && flaky.contains("Quarantined"),
        "{flaky}"
    );
    assert!(flaky.contains("passed on a retry"));
    let slowest = &page[page.find("id=\"slowest\"").expect("slowest")..];
    assert!(slowest.contains("Checkout as a guest"), "{slowest}");
    // Every branch by default, and the page still answers.
    let r = app.page("/projects/prj_001", Some(&s)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("runs of every branch"));

    // The guest checkout's case page: slower and slower.
    let cases = app
        .get(
            "/v1/projects/prj_001/cases?per_page=100&q=guest",
            &app.admin,
        )
        .await;
    let guest = cases.data()[0]["id"].as_str().expect("id").to_string();
    let r = app.page(&format!("/cases/{guest}"), Some(&s)).await;
    let page = html(&r);
    assert!(page.contains("Duration in the last"), "{page}");
    assert!(page.contains(", oldest first)"));
}
