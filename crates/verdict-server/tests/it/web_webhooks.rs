//! The webhooks pages: a project's managers add a webhook (its secret shown
//! once), send it a test ping, pause and resume it, see its delivery
//! attempts, redeliver an event and delete it (after a confirmation page).
//! Testers get the 403 page, people outside the project "Not found"; bad
//! inputs re-render the form (422) and write nothing; every post needs the
//! session's CSRF field. Effects are checked through the API (and the
//! store's delivery worker calls, which the API does not expose).

use crate::common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Resp, TestApp, html};
use serde_json::{Value, json};
use verdict_store::{DeliveryOutcome, Timestamp};

use crate::web_setup::{post, see_other};

/// A page fetched with the session and one more cookie (`name=value`).
async fn page_with_cookie(app: &TestApp, path: &str, s: &str, extra: &str) -> Resp {
    let req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header("cookie", format!("verdict_session={s}; {extra}"))
        .body(Body::empty())
        .expect("request");
    app.send(req).await
}

/// The `name=value` part of the response's Set-Cookie named `name`.
fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

async fn webhooks(app: &TestApp, project: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/projects/{project}/webhooks"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().expect("webhooks").clone()
}

const HOOK: &str = "https://hooks.example.com/verdict";

#[tokio::test]
async fn managers_add_a_webhook_and_see_its_secret_once() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let list = format!("/projects/{project}/webhooks");

    // The project page links the page for managers only.
    let home = format!("/projects/{project}");
    assert!(html(&app.page(&home, Some(&manager)).await).contains(&list));
    assert!(!html(&app.page(&home, Some(&tester)).await).contains(&list));

    let page = app.page(&list, Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("No webhook yet"));
    assert!(html(&page).contains("name=\"url\""));

    // Bad inputs: the form again with each problem and what was entered.
    let r = post(
        &app,
        &list,
        &manager,
        &[("url", "ftp://files.example.com/x"), ("format", "xml")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", html(&r));
    let body = html(&r);
    assert!(body.contains("Nothing was saved"), "{body}");
    assert!(
        body.contains("must be an absolute http or https URL"),
        "{body}"
    );
    assert!(body.contains("must be standard or slack"), "{body}");
    assert!(body.contains("must name at least one"), "{body}");
    assert!(body.contains("value=\"ftp://files.example.com/x\""));
    let r = post(
        &app,
        &list,
        &manager,
        &[
            ("url", HOOK),
            ("events", "run.deleted"),
            ("format", "standard"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("must be run.created, run.closed or results.recorded"));
    // A private target is refused by default.
    let r = post(
        &app,
        &list,
        &manager,
        &[
            ("url", "http://169.254.169.254/latest"),
            ("events", "run.closed"),
            ("format", "standard"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", html(&r));
    assert!(webhooks(&app, &project).await.is_empty(), "nothing made");

    // Added: the webhook's page, with the secret for this one view.
    let r = post(
        &app,
        &list,
        &manager,
        &[
            ("url", HOOK),
            ("events", "run.closed"),
            ("events", "results.recorded"),
            ("format", "slack"),
        ],
    )
    .await;
    let to = see_other(&r, "/webhooks/");
    let cookie = set_cookie(&r, "verdict_webhook_secret").expect("the secret travels");
    let hooks = webhooks(&app, &project).await;
    assert_eq!(hooks.len(), 1);
    let w = &hooks[0];
    assert_eq!(to, format!("/webhooks/{}", w["id"].as_str().expect("id")));
    assert_eq!(w["url"], HOOK);
    assert_eq!(w["events"], json!(["run.closed", "results.recorded"]));
    assert_eq!(w["format"], "slack");
    assert_eq!(w["active"], true);
    assert!(w.get("secret").is_none());

    let shown = page_with_cookie(&app, &to, &manager, &cookie).await;
    assert_eq!(shown.status, StatusCode::OK);
    let body = html(&shown);
    assert!(body.contains("copy it now"), "{body}");
    let secret = body
        .split("id=\"webhook-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret is on the page");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(
        set_cookie(&shown, "verdict_webhook_secret").is_some_and(|c| c.ends_with('=')),
        "the page clears the cookie it showed"
    );
    // Not again; nor for another webhook's page, nor another value.
    assert!(!html(&app.page(&to, Some(&manager)).await).contains("whsec_"));
    let forged = format!(
        "verdict_webhook_secret={}:whsec_Zm9v",
        w["id"].as_str().expect("id")
    );
    assert!(
        !html(&page_with_cookie(&app, &to, &manager, &forged).await).contains("whsec_"),
        "only the webhook's own secret is shown"
    );

    // The list shows it.
    let body = app.page(&list, Some(&manager)).await;
    let body = html(&body);
    assert!(body.contains(HOOK));
    assert!(body.contains("run.closed, results.recorded"));
    assert!(body.contains("slack"));
    assert!(body.contains("active"));
}

#[tokio::test]
async fn managers_test_pause_redeliver_and_delete_a_webhook() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let r = app
        .post(
            &format!("/v1/projects/{project}/webhooks"),
            &app.admin,
            json!({"url": HOOK, "events": ["results.recorded"], "format": "standard"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let wid = r.body["data"]["id"].as_str().expect("id").to_string();
    let show = format!("/webhooks/{wid}");
    let page = app.page(&show, Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("Nothing sent yet"));
    assert!(!html(&page).contains("whsec_"), "never the secret");

    // A test ping is queued.
    let r = post(&app, &format!("{show}/test"), &manager, &[]).await;
    see_other(&r, &show);
    let page = page_with_cookie(
        &app,
        &show,
        &manager,
        &set_cookie(&r, "verdict_notice").expect("notice"),
    )
    .await;
    assert!(
        html(&page).contains("A test ping is on its way"),
        "{}",
        html(&page)
    );

    // Its attempt (made as the delivery worker makes it) is listed, with
    // a button to send it again.
    let now = Timestamp::now();
    let claimed = app
        .store
        .claim_deliveries(now, Timestamp::from_millis(now.millis() + 60_000), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "the ping");
    let c = &claimed[0];
    assert_eq!(c.event_type, "ping");
    app.store
        .finish_deliveries(vec![DeliveryOutcome {
            event_id: c.event_id,
            webhook_id: c.webhook_id,
            claimed_until: c.claimed_until,
            first_attempt_at: c.first_attempt_at,
            delivered: false,
            status_code: Some(503),
            error: Some("the receiver answered 503".into()),
            duration_ms: 42,
            at: now,
            next_attempt_at: None,
        }])
        .await
        .expect("finish");
    let body = app.page(&show, Some(&manager)).await;
    let body = html(&body);
    assert!(body.contains("ping"), "{body}");
    assert!(body.contains("503"));
    assert!(body.contains("the receiver answered 503"));
    assert!(body.contains("42 ms"));
    let event = c.event_id.to_string();
    let redeliver = format!("{show}/deliveries/{event}/redeliver");
    assert!(body.contains(&redeliver), "{body}");
    let r = post(&app, &redeliver, &manager, &[]).await;
    see_other(&r, &show);
    let again = app
        .store
        .claim_deliveries(
            Timestamp::now(),
            Timestamp::from_millis(now.millis() + 120_000),
            10,
        )
        .await
        .expect("claim");
    assert_eq!(again.len(), 1, "due again");
    assert_eq!(again[0].event_id, c.event_id);
    // An event never queued for it: "Not found".
    let r = post(
        &app,
        &format!("{show}/deliveries/evt_999999/redeliver"),
        &manager,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Paused and resumed; a bad value changes nothing.
    let r = post(
        &app,
        &format!("{show}/active"),
        &manager,
        &[("active", "no")],
    )
    .await;
    see_other(&r, &show);
    let api = format!("/v1/webhooks/{wid}");
    assert_eq!(
        app.get(&api, &app.admin).await.body["data"]["active"],
        false
    );
    assert!(html(&app.page(&show, Some(&manager)).await).contains(">Resume<"));
    let r = post(
        &app,
        &format!("{show}/active"),
        &manager,
        &[("active", "maybe")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&api, &app.admin).await.body["data"]["active"],
        false
    );
    let r = post(
        &app,
        &format!("{show}/active"),
        &manager,
        &[("active", "yes")],
    )
    .await;
    see_other(&r, &show);
    assert_eq!(app.get(&api, &app.admin).await.body["data"]["active"], true);

    // Deleted after a confirmation page.
    let confirm = app.page(&format!("{show}/delete"), Some(&manager)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(html(&confirm).contains("Yes, delete the webhook"));
    assert_eq!(
        webhooks(&app, &project).await.len(),
        1,
        "asking deletes nothing"
    );
    let r = post(&app, &format!("{show}/delete"), &manager, &[]).await;
    see_other(&r, &format!("/projects/{project}/webhooks"));
    assert!(webhooks(&app, &project).await.is_empty());
    assert_eq!(
        app.page(&show, Some(&manager)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_managers_open_the_webhook_pages_and_every_form_needs_csrf() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let other = app.project("Elsewhere").await;
    let (_, outsider) = app.web_member(&other, "olga", "manager").await;
    let r = app
        .post(
            &format!("/v1/projects/{project}/webhooks"),
            &app.admin,
            json!({"url": HOOK, "events": ["run.created"], "format": "standard"}),
        )
        .await;
    let wid = r.body["data"]["id"].as_str().expect("id").to_string();
    let event = app
        .store
        .queue_ping(wid.parse().expect("wid"), Timestamp::now())
        .await
        .expect("ping")
        .to_string();
    let list = format!("/projects/{project}/webhooks");
    let show = format!("/webhooks/{wid}");
    let pages = [list.clone(), show.clone(), format!("{show}/delete")];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            list.clone(),
            vec![
                ("url", HOOK),
                ("events", "run.created"),
                ("format", "standard"),
            ],
        ),
        (format!("{show}/test"), vec![]),
        (format!("{show}/active"), vec![("active", "no")]),
        (format!("{show}/deliveries/{event}/redeliver"), vec![]),
        (format!("{show}/delete"), vec![]),
    ];
    let before = (
        webhooks(&app, &project).await,
        app.get(
            &format!("{show}/deliveries").replace("/webhooks", "/v1/webhooks"),
            &app.admin,
        )
        .await
        .body,
    );
    for p in &pages {
        assert_eq!(
            app.page(p, Some(&manager)).await.status,
            StatusCode::OK,
            "{p}"
        );
        assert_eq!(
            app.page(p, Some(&tester)).await.status,
            StatusCode::FORBIDDEN,
            "{p}"
        );
        assert_eq!(
            app.page(p, Some(&outsider)).await.status,
            StatusCode::NOT_FOUND,
            "{p}"
        );
    }
    for (path, fields) in &posts {
        assert_eq!(
            post(&app, path, &tester, fields).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            post(&app, path, &outsider, fields).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        for token in [None, Some("0".repeat(64))] {
            let mut all = fields.clone();
            if let Some(t) = &token {
                all.push(("csrf", t));
            }
            let r = app.form(path, Some(&manager), &all, &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(html(&r).contains("Form expired"), "{path}");
        }
    }
    let after = (
        webhooks(&app, &project).await,
        app.get(
            &format!("{show}/deliveries").replace("/webhooks", "/v1/webhooks"),
            &app.admin,
        )
        .await
        .body,
    );
    assert_eq!(before, after, "nothing was written");
    // Signed out: sent to sign in.
    let r = app.page(&list, None).await;
    see_other(&r, "/login");
}
