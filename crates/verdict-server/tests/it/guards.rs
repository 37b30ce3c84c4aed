//! Rate limits, timeouts, security headers, CORS and /metrics.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use serde_json::json;
use verdict_server::Limits;

#[tokio::test]
async fn a_token_past_its_burst_gets_429_with_retry_after_and_others_do_not() {
    let app = TestApp::with_limits(Limits {
        // One a minute: nothing refills while the test runs, however slow.
        rate_limit_per_minute: 1,
        rate_limit_burst: 3,
        ..Limits::default()
    })
    .await;
    let (_, other) = app.user("olga").await; // 2 requests by the admin
    let r = app.get("/v1/me", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["ratelimit-limit"], "3");
    assert_eq!(r.headers["ratelimit-remaining"], "0");
    let r = app.get("/v1/me", &app.admin).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.headers["ratelimit-remaining"], "0");
    let r = app.get("/v1/me", &other).await;
    assert_eq!(r.status, StatusCode::OK, "another token has its own budget");
}

#[tokio::test]
async fn the_rate_limit_can_be_turned_off() {
    let app = TestApp::with_limits(Limits {
        rate_limit_per_minute: 0,
        rate_limit_burst: 1,
        ..Limits::default()
    })
    .await;
    for _ in 0..5 {
        let r = app.get("/v1/me", &app.admin).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.headers.contains_key("ratelimit-limit"));
    }
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_a_503_timeout() {
    let app = TestApp::with_limits(Limits {
        request_timeout: Duration::from_millis(1),
        ..Limits::default()
    })
    .await;
    // Seeding 2,000 cases through the API takes far longer than 1 ms.
    let cases: Vec<serde_json::Value> = (0..2000)
        .map(|i| json!({"title": format!("c{i}")}))
        .collect();
    // Arranged through the store: any request may exceed 1 ms on a busy machine.
    let admin = app
        .store
        .list_users(verdict_store::Page {
            page: 1,
            per_page: 1,
        })
        .await
        .unwrap()
        .items[0]
        .id;
    let project = app
        .store
        .create_project("slow".into(), admin, verdict_store::Timestamp::now())
        .await
        .unwrap()
        .id;
    let r = app
        .post(
            &format!("/v1/projects/{project}/cases/bulk"),
            &app.admin,
            json!({"cases": cases}),
        )
        .await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
}

#[tokio::test]
async fn answers_carry_security_headers_and_no_cors_unless_configured() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::get("/v1/me")
                .header("authorization", format!("Bearer {}", app.admin))
                .header("origin", "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(!r.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn configured_origins_get_cors_and_others_do_not() {
    let app = TestApp::with_limits(Limits {
        cors_origins: vec!["https://dash.example".into()],
        ..Limits::default()
    })
    .await;
    let preflight = |origin: &str| {
        Request::options("/v1/projects")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let router = app.router.clone();
    let ok = tower::ServiceExt::oneshot(router.clone(), preflight("https://dash.example"))
        .await
        .unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let other = tower::ServiceExt::oneshot(router, preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_results_written() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(3).await;
    let r = app
        .post(
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            json!({"results": [{"test_case_id": cases[0], "status": "passed"}, {"test_case_id": cases[1], "status": "failed"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.get("/v1/runs/run_999/results", &app.admin).await;
    let res = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains(r#"verdict_http_requests_total{route="/v1/runs/{rid}/results/bulk",method="POST",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(
        r#"verdict_http_requests_total{route="/v1/runs/{rid}/results",method="GET",status="404"} 1"#
    ));
    assert!(text.contains("verdict_results_written_total 2"), "{text}");
    assert!(text.contains(r#"verdict_http_request_duration_seconds_bucket{route="/v1/runs/{rid}/results/bulk",le="+Inf"} 1"#));
    assert!(text.contains("verdict_db_connections{state=\"idle\"}"));
}
