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
    let text = metrics(&app).await;
    assert!(
        text.contains("# HELP verdict_http_requests_total HTTP requests by matched route, method and status.\n# TYPE verdict_http_requests_total counter\n"),
        "{text}"
    );
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

/// GET /metrics as its text; retried while it is answered 503 (a test
/// server with a tiny request timeout may time it out too).
async fn metrics(app: &TestApp) -> String {
    for _ in 0..200 {
        let res = tower::ServiceExt::oneshot(
            app.router.clone(),
            Request::get("/metrics").body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            continue;
        }
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        return String::from_utf8(body.to_vec()).unwrap();
    }
    panic!("GET /metrics timed out 200 times");
}

/// The value of the sample line that starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_429_is_counted_under_its_route_with_its_status() {
    let app = TestApp::with_limits(Limits {
        rate_limit_per_minute: 1,
        rate_limit_burst: 1,
        ..Limits::default()
    })
    .await;
    let r = app.get("/v1/me", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..2 {
        let r = app.get("/v1/me", &app.admin).await;
        r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    let text = metrics(&app).await;
    let series = |status: u16| {
        format!(r#"verdict_http_requests_total{{route="/v1/me",method="GET",status="{status}"}}"#)
    };
    assert_eq!(sample(&text, &series(200)), 1.0, "{text}");
    assert_eq!(sample(&text, &series(429)), 2.0, "{text}");
    assert_eq!(
        sample(
            &text,
            r#"verdict_http_request_duration_seconds_count{route="/v1/me"}"#
        ),
        3.0
    );
}

#[tokio::test]
async fn a_timeout_is_counted_under_its_route_with_its_status() {
    let app = TestApp::with_limits(Limits {
        request_timeout: Duration::from_millis(1),
        ..Limits::default()
    })
    .await;
    let project = app
        .store
        .create_project(
            "slow".into(),
            admin_id(&app).await,
            verdict_store::Timestamp::now(),
        )
        .await
        .unwrap()
        .id;
    let cases: Vec<serde_json::Value> = (0..2000)
        .map(|i| json!({"title": format!("c{i}")}))
        .collect();
    let r = app
        .post(
            &format!("/v1/projects/{project}/cases/bulk"),
            &app.admin,
            json!({"cases": cases}),
        )
        .await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"verdict_http_requests_total{route="/v1/projects/{pid}/cases/bulk",method="POST",status="503"}"#
        ),
        1.0,
        "{text}"
    );
}

async fn admin_id(app: &TestApp) -> verdict_store::UserId {
    app.store
        .list_users(verdict_store::Page {
            page: 1,
            per_page: 1,
        })
        .await
        .unwrap()
        .items[0]
        .id
}

#[tokio::test]
async fn metrics_show_the_build_and_the_process() {
    let app = TestApp::new().await;
    let text = metrics(&app).await;
    let build = format!(
        "verdict_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build), "{text}");
    assert!(text.contains("# TYPE verdict_build_info gauge\n"), "{text}");
    if !cfg!(target_os = "linux") {
        assert!(!text.contains("process_"), "{text}");
        return;
    }
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
    for gauge in [
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {gauge} gauge\n")),
            "{gauge} in {text}"
        );
    }
    let cpu = sample(&text, "process_cpu_seconds_total");
    assert!(cpu >= 0.0, "{cpu}");
    let rss = sample(&text, "process_resident_memory_bytes");
    let virt = sample(&text, "process_virtual_memory_bytes");
    // A test process holds a database and a runtime: megabytes, not bytes.
    assert!(rss > 1e6 && virt >= rss, "rss {rss}, virtual {virt}");
    let open = sample(&text, "process_open_fds");
    let max = sample(&text, "process_max_fds");
    assert!(open >= 3.0 && max >= open, "open {open}, max {max}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let start = sample(&text, "process_start_time_seconds");
    // This test process started at most a few hours ago (and not in the
    // future: /proc's clock ticks are 1/100 s).
    assert!(
        start <= now + 1.0 && start > now - 6.0 * 3600.0,
        "start {start}, now {now}"
    );
}
