//! Webhooks: the resource (manager only, secret shown once, clear errors),
//! and delivery end to end with the worker running and a receiver on
//! loopback: every event type, signed with the Standard Webhooks headers,
//! retried after a 500, redelivered with the same id and body, and on
//! PostgreSQL never sent by two instances at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{TestApp, results_path};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    raw: Vec<u8>,
    body: Value,
}

/// A webhook receiver on loopback. Paths: `/ok` answers 200; `/flaky`
/// answers 500 to the first attempt at each event, then 200; `/slow`
/// answers 200 after 100 ms. It counts requests for one event to one
/// path that were in flight at the same time.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
    overlaps: Arc<Mutex<u32>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let r = receiver.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let r = r.clone();
                async move { r.take(uri.path(), &headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, base)
    }

    async fn take(&self, path: &str, headers: &HeaderMap, body: Bytes) -> StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let id = header("webhook-id");
        // One event goes to each of its webhooks (paths) on its own.
        let key = format!("{path} {id}");
        {
            let mut in_flight = self.in_flight.lock().unwrap();
            let n = in_flight.entry(key.clone()).or_insert(0);
            if *n > 0 {
                *self.overlaps.lock().unwrap() += 1;
            }
            *n += 1;
        }
        if path == "/slow" {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let earlier = {
            let mut got = self.got.lock().unwrap();
            let earlier = got.iter().filter(|g| g.id == id && g.path == path).count();
            got.push(Received {
                path: path.to_string(),
                id: id.clone(),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                raw: body.to_vec(),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            });
            earlier
        };
        if let Some(n) = self.in_flight.lock().unwrap().get_mut(&key) {
            *n -= 1;
        }
        if path == "/flaky" && earlier == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }

    fn on(&self, path: &str) -> Vec<Received> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|g| g.path == path).cloned().collect()
    }

    /// Waits (at most `secs`) until `path` has received `n` requests.
    async fn wait_for(&self, path: &str, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.on(path);
            if got.len() >= n || tokio::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn create_webhook(app: &TestApp, project: &str, body: Value) -> (String, String) {
    let r = app
        .post(
            &format!("/v1/projects/{project}/webhooks"),
            &app.admin,
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.data()["secret"].as_str().unwrap().to_string();
    (r.id(), secret)
}

#[tokio::test]
async fn webhooks_are_created_listed_changed_and_deleted_with_the_secret_shown_once() {
    let app = TestApp::new().await;
    let p = app.project("Hooks").await;
    let path = format!("/v1/projects/{p}/webhooks");
    let r = app
        .post(
            &path,
            &app.admin,
            json!({"url": "https://hooks.example.com/a", "events": ["run.closed", "run.created", "run.closed"], "format": "slack"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let d = r.data();
    let id = r.id();
    assert!(id.starts_with("whk_"), "{id}");
    let secret = d["secret"].as_str().unwrap();
    let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(bytes.len(), 32);
    assert_eq!(d["events"], json!(["run.created", "run.closed"]));
    assert_eq!(
        (d["format"].as_str(), d["active"].as_bool()),
        (Some("slack"), Some(true))
    );
    assert_eq!(d["project_id"], p.as_str());

    // Never shown again.
    let one = app.get(&format!("/v1/webhooks/{id}"), &app.admin).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.data().get("secret").is_none(), "{}", one.body);
    assert_eq!(one.data()["url"], "https://hooks.example.com/a");
    let list = app.get(&path, &app.admin).await;
    assert_eq!(list.body["meta"]["total"], 1);
    assert!(list.data()[0].get("secret").is_none());

    let changed = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            &app.admin,
            json!({"active": false, "events": ["results.recorded"], "format": "standard", "url": "http://hooks.example.com/b"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let c = changed.data();
    assert_eq!(c["events"], json!(["results.recorded"]));
    assert_eq!(
        (c["active"].as_bool(), c["format"].as_str()),
        (Some(false), Some("standard"))
    );
    assert_eq!(c["url"], "http://hooks.example.com/b");

    // Retried with the same key: the same webhook and secret, once.
    let send = |key: &str| {
        Request::post(path.as_str())
            .header("authorization", format!("Bearer {}", app.admin))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(
                json!({"url": "https://hooks.example.com/c", "events": ["run.created"], "format": "standard"})
                    .to_string(),
            ))
            .unwrap()
    };
    let first = app.send(send("k1")).await;
    let again = app.send(send("k1")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(first.body, again.body);
    assert_eq!(app.get(&path, &app.admin).await.body["meta"]["total"], 2);

    let gone = app.delete(&format!("/v1/webhooks/{id}"), &app.admin).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    app.get(&format!("/v1/webhooks/{id}"), &app.admin)
        .await
        .not_found();
    app.get(&format!("/v1/webhooks/{id}/deliveries"), &app.admin)
        .await
        .not_found();
    app.get("/v1/webhooks/whk_nope", &app.admin)
        .await
        .not_found();
    app.get(&format!("/v1/webhooks/{id}/deliveries"), &app.admin)
        .await
        .not_found();
    assert_eq!(app.get(&path, &app.admin).await.body["meta"]["total"], 1);
}

#[tokio::test]
async fn bad_webhooks_are_refused_naming_each_field_and_nothing_is_made() {
    let app = TestApp::new().await;
    let p = app.project("Hooks").await;
    let path = format!("/v1/projects/{p}/webhooks");
    let ok = json!({"url": "https://hooks.example.com/a", "events": ["run.created"], "format": "standard"});
    let with = |field: &str, value: Value| {
        let mut b = ok.clone();
        b[field] = value;
        b
    };
    for (body, fields) in [
        (with("url", json!("ftp://hooks.example.com/a")), vec!["url"]),
        (with("url", json!("not a url")), vec!["url"]),
        (with("url", json!("/relative/path")), vec!["url"]),
        (
            with("url", json!("http://127.0.0.1:9000/hook")),
            vec!["url"],
        ),
        (
            with("url", json!("http://169.254.169.254/latest")),
            vec!["url"],
        ),
        (with("url", json!("http://10.0.0.5/hook")), vec!["url"]),
        (with("url", json!("http://localhost/hook")), vec!["url"]),
        (with("events", json!([])), vec!["events"]),
        (
            with("events", json!(["run.created", "ping"])),
            vec!["events[1]"],
        ),
        (with("events", json!(["nope"])), vec!["events[0]"]),
        (with("format", json!("xml")), vec!["format"]),
        (
            json!({"url": "gopher://x", "events": [], "format": "teams"}),
            vec!["url", "events", "format"],
        ),
    ] {
        let r = app.post(&path, &app.admin, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {}",
            r.body
        );
        assert_eq!(r.fields(), fields, "{body} → {}", r.body);
    }
    // Not JSON of this shape at all.
    for body in [
        json!({"url": "https://hooks.example.com/a", "events": ["run.created"]}),
        json!({"url": "https://hooks.example.com/a", "events": "run.created", "format": "standard"}),
        with("secret", json!("whsec_mine")),
    ] {
        let r = app.post(&path, &app.admin, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body} → {} {}",
            r.status,
            r.body
        );
        assert!(r.body["error"].is_object(), "{}", r.body);
    }
    assert_eq!(app.get(&path, &app.admin).await.body["meta"]["total"], 0);

    // A change is checked the same way and leaves the webhook alone.
    let id = app.post(&path, &app.admin, ok.clone()).await.id();
    let r = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            &app.admin,
            json!({"url": "http://127.0.0.1/x", "events": [], "format": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["url", "events", "format"]);
    let one = app.get(&format!("/v1/webhooks/{id}"), &app.admin).await;
    assert_eq!(one.data()["url"], "https://hooks.example.com/a");
    assert_eq!(one.data()["events"], json!(["run.created"]));

    // Unknown projects and events.
    app.post("/v1/projects/prj_999/webhooks", &app.admin, ok.clone())
        .await
        .not_found();
    app.post(
        &format!("/v1/webhooks/{id}/deliveries/evt_999/redeliver"),
        &app.admin,
        json!({}),
    )
    .await
    .not_found();
    app.post(
        &format!("/v1/webhooks/{id}/deliveries/bogus/redeliver"),
        &app.admin,
        json!({}),
    )
    .await
    .not_found();
}

/// The signature a Standard Webhooks receiver checks.
fn signed_correctly(r: &Received, secret: &str) -> bool {
    let ts: i64 = r.timestamp.parse().unwrap_or(0);
    let expected =
        verdict_server::webhooks::send::signature(secret, &r.id, ts, &r.raw).unwrap_or_default();
    r.signature.split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn every_event_is_delivered_signed_once_per_write_and_only_to_subscribers() {
    let (app, worker) = TestApp::with_webhooks().await;
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Hooks").await;
    let cases = app.cases(&p, 3).await;
    let all = json!(["run.created", "run.closed", "results.recorded"]);
    let (hook, secret) = create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/ok"), "events": all, "format": "standard"}),
    )
    .await;
    create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/slack"), "events": ["run.closed"], "format": "slack"}),
    )
    .await;
    create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/paused"), "events": all, "format": "standard", "active": false}),
    )
    .await;

    let run = app.run(&p, "nightly").await;
    let bulk = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed", "note": "boom\nat line 2"},
                {"test_case_id": cases[1], "status": "passed"},
            ]}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.body);
    // Refused as a whole: nothing written, no event.
    let refused = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [{"test_case_id": "tc_999", "status": "passed"}]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let junit = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &app.admin,
            Some("application/xml"),
            r#"<testsuite><testcase classname="m" name="t"/></testsuite>"#,
        )
        .await;
    assert_eq!(junit.status, StatusCode::OK, "{}", junit.body);
    let result = app.result_of(&run, &cases[2]).await;
    let patched = app
        .patch(
            &results_path(&run, &format!("/{result}")),
            &app.admin,
            json!({"status": "failed", "note": "timeout"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    app.close_run(&run).await;
    // Closing again changes nothing: no second event.
    app.close_run(&run).await;
    let ping = app
        .post(&format!("/v1/webhooks/{hook}/test"), &app.admin, json!({}))
        .await;
    assert_eq!(ping.status, StatusCode::ACCEPTED, "{}", ping.body);

    let got = receiver.wait_for("/ok", 6, 20).await;
    let slack = receiver.wait_for("/slack", 1, 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.on("/ok");
    assert_eq!(got_after.len(), 6, "{got_after:#?}");
    assert!(receiver.on("/paused").is_empty());
    assert_eq!(receiver.on("/slack").len(), 1);

    let mut types: Vec<&str> = got
        .iter()
        .map(|g| g.body["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "ping",
            "results.recorded",
            "results.recorded",
            "results.recorded",
            "run.closed",
            "run.created"
        ]
    );
    for g in &got {
        assert!(g.id.starts_with("evt_"), "{}", g.id);
        assert!(signed_correctly(g, &secret), "{g:?}");
        let now = verdict_store::Timestamp::now().millis() / 1000;
        let ts: i64 = g.timestamp.parse().unwrap();
        assert!((now - ts).abs() < 60, "{ts}");
        assert!(g.body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let of = |t: &str| -> Vec<&Value> {
        got.iter()
            .filter(|g| g.body["type"] == t)
            .map(|g| &g.body["data"])
            .collect()
    };
    assert_eq!(of("run.created")[0]["id"], run.as_str());
    assert_eq!(of("run.created")[0]["name"], "nightly");
    let closed = of("run.closed")[0];
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["counts"]["failed"], 2);
    assert!(
        closed["compare"]["summary"]["new_failure"].is_number(),
        "{closed}"
    );
    let recorded = of("results.recorded");
    let by_executions: HashMap<i64, &Value> = recorded
        .iter()
        .map(|d| (d["executions"].as_i64().unwrap(), *d))
        .collect();
    let bulk_event = recorded
        .iter()
        .find(|d| d["executions"] == 2)
        .expect("the bulk's event");
    assert_eq!(bulk_event["run_id"], run.as_str());
    assert_eq!(bulk_event["run_name"], "nightly");
    assert_eq!(bulk_event["project_id"], p.as_str());
    assert_eq!(
        bulk_event["new_failures"],
        json!([{"test_case_id": cases[0], "title": "Case 1", "note": "boom"}])
    );
    assert!(bulk_event["counts"]["failed"].as_i64().unwrap() >= 1);
    assert!(by_executions.contains_key(&1));
    let patch_event = recorded
        .iter()
        .find(|d| {
            d["new_failures"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["note"] == "timeout"))
        })
        .expect("the PATCH's event names its new failure");
    assert_eq!(patch_event["executions"], 1);
    assert_eq!(of("ping")[0]["webhook_id"], hook.as_str());
    assert!(
        slack[0].body["text"].as_str().unwrap().contains("nightly"),
        "{:?}",
        slack[0].body
    );

    // Every attempt is listed, newest first, delivered.
    let deliveries = app
        .get(&format!("/v1/webhooks/{hook}/deliveries"), &app.admin)
        .await;
    assert_eq!(deliveries.status, StatusCode::OK);
    assert_eq!(deliveries.body["meta"]["total"], 6);
    for d in deliveries.data().as_array().unwrap() {
        assert_eq!(
            (d["attempt"].as_i64(), d["status_code"].as_i64()),
            (Some(1), Some(200)),
            "{d}"
        );
        assert_eq!(d["state"], "delivered");
        assert!(d["error"].is_null());
    }
    worker.shutdown().await;
}

#[tokio::test]
async fn each_results_recorded_event_carries_the_counts_its_write_left() {
    // No worker while writing: every event is sent only after all the
    // writes, so counts read when sending would all be the last ones.
    let app = TestApp::with_webhooks_queued().await;
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Counts").await;
    let cases = app.cases(&p, 3).await;
    create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/ok"), "events": ["results.recorded"], "format": "standard"}),
    )
    .await;
    let run = app.run(&p, "counted").await;
    let bulk = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed"},
                {"test_case_id": cases[1], "status": "passed"},
            ]}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.body);
    for (case, status) in [(&cases[2], "blocked"), (&cases[0], "passed")] {
        let result = app.result_of(&run, case).await;
        let patched = app
            .patch(
                &results_path(&run, &format!("/{result}")),
                &app.admin,
                json!({"status": status}),
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    }
    let junit = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit"),
            &app.admin,
            Some("application/xml"),
            r#"<testsuite><testcase name="k2"><failure/></testcase></testsuite>"#,
        )
        .await;
    assert_eq!(junit.status, StatusCode::OK, "{}", junit.body);
    assert!(receiver.on("/ok").is_empty(), "nothing sent yet");

    let worker = app.start_worker();
    let got = receiver.wait_for("/ok", 4, 20).await;
    assert_eq!(got.len(), 4, "{got:#?}");
    let mut events: Vec<(String, Value)> = got
        .iter()
        .map(|g| (g.id.clone(), g.body["data"]["counts"].clone()))
        .collect();
    // Event ids grow with the writes.
    events.sort_by_key(|(id, _)| id.trim_start_matches("evt_").parse::<i64>().unwrap());
    let counts = |passed: i64, failed: i64, blocked: i64, not_tested: i64| {
        json!({"passed": passed, "failed": failed, "blocked": blocked, "retest": 0,
               "not_tested": not_tested, "total": 3})
    };
    let seen: Vec<Value> = events.into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        seen,
        [
            counts(1, 1, 0, 1), // the bulk
            counts(1, 1, 1, 0), // a PATCH: blocked
            counts(2, 0, 1, 0), // a PATCH: the failure passes
            counts(1, 1, 1, 0), // the JUnit report fails case 2
        ]
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn a_failed_attempt_is_retried_and_a_redelivery_sends_the_same_event_again() {
    let (app, worker) = TestApp::with_webhooks().await;
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Hooks").await;
    let (hook, secret) = create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/flaky"), "events": ["run.created"], "format": "standard"}),
    )
    .await;
    app.run(&p, "r").await;
    // A 500 first, then (after about 5 s) the retry.
    let got = receiver.wait_for("/flaky", 2, 30).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].id, got[1].id);
    assert_eq!(got[0].raw, got[1].raw, "every attempt sends the same body");
    assert!(signed_correctly(&got[1], &secret));
    let path = format!("/v1/webhooks/{hook}/deliveries");
    let mut listed = app.get(&path, &app.admin).await;
    for _ in 0..40 {
        if listed.body["meta"]["total"] == 2 && listed.data()[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = app.get(&path, &app.admin).await;
    }
    let d = listed.data();
    assert_eq!(listed.body["meta"]["total"], 2, "{}", listed.body);
    assert_eq!(
        (d[0]["attempt"].as_i64(), d[0]["status_code"].as_i64()),
        (Some(2), Some(200))
    );
    assert_eq!(
        (d[1]["attempt"].as_i64(), d[1]["status_code"].as_i64()),
        (Some(1), Some(500))
    );
    assert!(d[1]["error"].is_string(), "{}", d[1]);
    assert_eq!(d[0]["state"], "delivered");
    let event = d[0]["event_id"].as_str().unwrap().to_string();

    // Paging, newest first.
    let page = app
        .get(&format!("{path}?per_page=1&page=2"), &app.admin)
        .await;
    assert_eq!(page.data()[0]["attempt"], 1);

    let again = app
        .post(&format!("{path}/{event}/redeliver"), &app.admin, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.data()["event_id"], event.as_str());
    let got = receiver.wait_for("/flaky", 3, 20).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].id, event);
    assert_eq!(got[2].raw, got[0].raw);
    worker.shutdown().await;
}

/// Sends a request to one instance's router.
async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn two_instances_on_one_postgresql_database_never_send_one_event_at_once() {
    let (app, worker) = TestApp::with_webhooks().await;
    let Some((other, other_worker)) = app.second_instance().await else {
        println!("skipped: two instances need PostgreSQL (VERDICT_TEST_BACKEND=postgres)");
        worker.shutdown().await;
        return;
    };
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Hooks").await;
    let cases = app.cases(&p, 4).await;
    for path in ["slow", "slow2"] {
        create_webhook(
            &app,
            &p,
            json!({"url": format!("{base}/{path}"), "events": ["results.recorded"], "format": "standard"}),
        )
        .await;
    }
    let run = app.run(&p, "r").await;
    let results: Vec<String> = {
        let mut out = Vec::new();
        for c in &cases {
            out.push(app.result_of(&run, c).await);
        }
        out
    };
    // 40 PATCHes, half through each instance: 40 events, 80 deliveries.
    let writes = 40;
    for i in 0..writes {
        let router = if i % 2 == 0 { &app.router } else { &other };
        let path = results_path(&run, &format!("/{}", results[i % results.len()]));
        let status = if i % 3 == 0 { "failed" } else { "passed" };
        let (code, body) = call(
            router,
            "PATCH",
            &path,
            &app.admin,
            json!({"status": status}),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let slow = receiver.wait_for("/slow", writes, 60).await;
    let slow2 = receiver.wait_for("/slow2", writes, 60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        *receiver.overlaps.lock().unwrap(),
        0,
        "an event was in flight twice at once"
    );
    for got in [&slow, &slow2] {
        let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), writes, "every event delivered");
        // Every answer arrived: no event was sent twice.
        assert_eq!(got.len(), writes);
    }
    assert_eq!(receiver.on("/slow").len(), writes);
    assert_eq!(receiver.on("/slow2").len(), writes);
    worker.shutdown().await;
    other_worker.shutdown().await;
}

#[tokio::test]
async fn a_prune_removes_old_delivered_events_and_keeps_pending_ones() {
    let (app, worker) = TestApp::with_webhooks().await;
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Hooks").await;
    let (ok, _) = create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/ok"), "events": ["run.created"], "format": "standard"}),
    )
    .await;
    // Nothing listens on port 9 of loopback: its delivery stays pending.
    let (dead, _) = create_webhook(
        &app,
        &p,
        json!({"url": "http://127.0.0.1:9/", "events": ["run.created"], "format": "standard"}),
    )
    .await;
    app.run(&p, "r").await;
    receiver.wait_for("/ok", 1, 20).await;
    let listed = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/v1/webhooks/{id}/deliveries"), &app.admin)
                .await
                .body["meta"]["total"]
                .as_i64()
                .unwrap()
        }
    };
    for _ in 0..100 {
        if listed(ok.clone()).await == 1 && listed(dead.clone()).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (listed(ok.clone()).await, listed(dead.clone()).await),
        (1, 1)
    );
    let later =
        verdict_store::Timestamp::from_millis(verdict_store::Timestamp::now().millis() + 1000);
    let request = verdict_store::PruneRequest {
        closed_before: later,
        project: None,
        dry_run: false,
    };
    app.store.prune(request).await.unwrap();
    // The event is still pending for one webhook: kept for both.
    assert_eq!(
        (listed(ok.clone()).await, listed(dead.clone()).await),
        (1, 1)
    );
    app.delete(&format!("/v1/webhooks/{dead}"), &app.admin)
        .await;
    // A newer event (another project's): the newest event is never pruned
    // (on SQLite its id keeps the next one new), so the old one can go.
    let other = app.project("Other").await;
    let (newer, _) = create_webhook(
        &app,
        &other,
        json!({"url": format!("{base}/newer"), "events": ["run.created"], "format": "standard"}),
    )
    .await;
    app.run(&other, "r").await;
    receiver.wait_for("/newer", 1, 20).await;
    for _ in 0..100 {
        if listed(newer.clone()).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let request = verdict_store::PruneRequest {
        closed_before: later,
        project: Some(verdict_store::ProjectId::from_db(
            p.trim_start_matches("prj_").parse().unwrap(),
        )),
        dry_run: false,
    };
    app.store.prune(request).await.unwrap();
    assert_eq!(listed(ok.clone()).await, 0);
    assert_eq!(
        listed(newer.clone()).await,
        1,
        "another project's event stays"
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn new_failures_are_those_the_comparison_with_the_baseline_calls_new() {
    let (app, worker) = TestApp::with_webhooks().await;
    let (receiver, base) = Receiver::start().await;
    let p = app.project("Hooks").await;
    let cases = app.cases(&p, 3).await;
    let first = app.run(&p, "first").await;
    let r = app
        .bulk(
            &first,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed", "note": "old"},
                {"test_case_id": cases[1], "status": "passed"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.close_run(&first).await;
    create_webhook(
        &app,
        &p,
        json!({"url": format!("{base}/ok"), "events": ["results.recorded"], "format": "standard"}),
    )
    .await;
    let second = app.run(&p, "second").await;
    let r = app
        .bulk(
            &second,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed", "note": "still"},
                {"test_case_id": cases[1], "status": "failed", "note": "new one\nmore"},
                {"test_case_id": cases[2], "status": "failed"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let got = receiver.wait_for("/ok", 1, 20).await;
    let data = &got[0].body["data"];
    assert_eq!(data["executions"], 3);
    assert_eq!(
        data["new_failures"],
        json!([
            {"test_case_id": cases[1], "title": "Case 2", "note": "new one"},
            {"test_case_id": cases[2], "title": "Case 3", "note": null},
        ])
    );
    let compared = app
        .get(&format!("/v1/runs/{second}/compare"), &app.admin)
        .await;
    assert_eq!(
        compared.data()["summary"]["new_failure"],
        2,
        "{}",
        compared.body
    );
    worker.shutdown().await;
}
