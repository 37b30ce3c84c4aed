//! The web UI keeps the API's roles: a non-member gets 404 pages, a viewer
//! sees but cannot record (403, nothing written), a tester records through
//! the same store call as the API (history and counts follow), a manager
//! closes runs, and a closed run is read-only.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, csrf, html};

#[tokio::test]
async fn a_non_member_gets_not_found_pages_and_writes_nothing() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    app.user_with_password("stranger", "correct horse battery")
        .await;
    let (_, s) = app
        .sign_in("stranger@example.com", "correct horse battery")
        .await;
    let s = s.expect("session");
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    for path in [
        format!("/projects/{project}"),
        format!("/runs/{run}"),
        format!("/runs/{run}/results/{result}/history"),
        "/projects/prj_999".to_string(),
        "/runs/not_an_id".to_string(),
    ] {
        let r = app.page(&path, Some(&s)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(html(&r).contains("Not found"), "{path}: an HTML page");
    }
    assert!(!html(&app.page("/projects", Some(&s)).await).contains("Seeded"));
    let before = app.snapshot(&run).await;
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&s),
            &[("status", "passed"), ("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn a_viewer_sees_the_run_but_cannot_record_or_close() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(3).await;
    let (_, s) = app.web_member(&project, "vic", "viewer").await;
    let page = app.page(&format!("/runs/{run}"), Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(body.contains("Case 1") && body.contains("You are a viewer"));
    assert!(
        !body.contains("class=\"record\""),
        "no forms to record with"
    );
    assert!(!body.contains("Close run"));

    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/runs/{run}/results/{result}");
    let before = app.snapshot(&run).await;
    let fields = [("status", "passed"), ("csrf", &csrf(&s))];
    let r = app.form(&path, Some(&s), &fields, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(html(&r).contains("Not allowed"));
    let r = app
        .form(&path, Some(&s), &fields, &[("accept", "application/json")])
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot(&run).await, before, "nothing was written");
}

#[tokio::test]
async fn a_tester_records_through_the_same_path_as_the_api() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(3).await;
    let (uid, s) = app.web_member(&project, "tess", "tester").await;
    let result = app.all_results(&run).await[1]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/runs/{run}/results/{result}");
    let back = format!("/runs/{run}?status=not_tested&page=1");

    // A plain form post: saved, then back to the same view, the result
    // selected.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "failed"),
                ("note", "  Button does nothing  "),
                ("elapsed", "42"),
                ("back", &back),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"].to_str().expect("ascii"),
        format!("/runs/{run}?status=not_tested&result={result}#r-{result}")
    );
    let stored = app
        .get(&format!("/v1/runs/{run}/results/{result}"), &app.admin)
        .await;
    let d = stored.data();
    assert_eq!(
        (
            d["status"].as_str(),
            d["note"].as_str(),
            d["elapsed"].as_i64()
        ),
        (Some("failed"), Some("Button does nothing"), Some(42))
    );
    assert_eq!(d["tested_by"], uid.as_str());
    assert_eq!(app.counts(&run).await["failed"], 1);

    // The script's post: JSON with the result, its badge and a new summary.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "passed"),
                ("note", ""),
                ("elapsed", ""),
            ],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["result"]["status"], "passed");
    assert!(d["result"]["note"].is_null());
    assert!(d["status_html"].as_str().expect("html").contains("Passed"));
    assert!(
        d["summary_html"]
            .as_str()
            .expect("html")
            .contains("1 of 3 tested")
    );
    assert_eq!(app.history(&run, &result).await.len(), 2, "two executions");
    assert_eq!(app.counts(&run).await["failed"], 0);

    // "Not tested" resets: the note and elapsed the form shows are not sent.
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "not_tested"),
                ("note", "old note"),
                ("elapsed", "5"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.counts(&run).await["not_tested"], 3);

    // A bad field re-renders the page with the problem, and writes nothing.
    let before = app.snapshot(&run).await;
    for (status, elapsed) in [("passed", "1.5"), ("passed", "-3"), ("sideways", "")] {
        let r = app
            .form(
                &path,
                Some(&s),
                &[
                    ("csrf", &csrf(&s)),
                    ("status", status),
                    ("elapsed", elapsed),
                    ("back", &back),
                ],
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{status} {elapsed}"
        );
        let body = html(&r);
        assert!(body.contains("role=\"alert\""), "{body}");
        assert!(
            body.contains("Elapsed: ") || body.contains("Status: "),
            "{body}"
        );
    }
    assert_eq!(app.snapshot(&run).await, before);
    // A tester does not close runs.
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_manager_closes_a_run_and_it_is_read_only_afterwards() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    let (_, s) = app.web_member(&project, "max", "manager").await;
    assert!(html(&app.page(&format!("/runs/{run}"), Some(&s)).await).contains("Close run"));
    // The button leads to a confirmation page first; the run stays open.
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"].to_str().expect("ascii"),
        format!("/runs/{run}/close")
    );
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data()["state"],
        "open"
    );
    let confirm = app.page(&format!("/runs/{run}/close"), Some(&s)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(html(&confirm).contains("Yes, close the run"));
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &csrf(&s)), ("confirm", "yes")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"].to_str().expect("ascii"),
        format!("/runs/{run}")
    );
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data()["state"],
        "closed"
    );

    let page = app.page(&format!("/runs/{run}"), Some(&s)).await;
    let body = html(&page);
    assert!(body.contains("This run is closed"));
    assert!(!body.contains("class=\"record\"") && !body.contains("Close run"));
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let before = app.snapshot(&run).await;
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&s),
            &[("csrf", &csrf(&s)), ("status", "passed")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn pages_and_assets_follow_the_content_security_policy() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    let (_, s) = app.web_member(&project, "max", "manager").await;
    for path in [
        "/projects".to_string(),
        format!("/projects/{project}"),
        format!("/runs/{run}"),
        format!("/runs/{run}/compare"),
        format!("/runs/{run}/failures"),
        format!("/cases/{}", cases[0]),
        "/tokens".into(),
        "/login".into(),
    ] {
        // Signed in, /login sends on to /projects: ask it signed out.
        let r = app
            .page(&path, Some(s.as_str()).filter(|_| path != "/login"))
            .await;
        let body = html(&r);
        assert!(r.headers.contains_key("content-security-policy"), "{path}");
        assert!(
            !body.contains("<script>") && !body.contains(" style=") && !body.contains("<style"),
            "{path}: nothing inline"
        );
        assert!(!body.contains(" onclick="), "{path}");
    }
    for (path, kind) in [
        ("/assets/style.css", "text/css"),
        ("/assets/app.js", "text/javascript"),
    ] {
        let r = app.page(path, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(kind)
        );
        assert!(
            r.headers["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("immutable")
        );
    }
    // Pages link their assets by content digest, so a new build is a new URL.
    assert!(html(&app.page("/login", None).await).contains("/assets/app.js?v="));
}
