//! A real router over a real database per test. `TestApp::new()` opens a
//! fresh SQLite file in a temp dir (dropped with the app), bootstraps an
//! admin token, and offers one helper per common arrangement so tests read
//! as arrange, act, assert.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use verdict_postgres::testing::TestDatabase;
use verdict_server::{AppState, Limits};
use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::Store;

pub const ADMIN: &str = "vdt_test_admin_token_0123456789";

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    /// The attachment storage the router uses.
    pub blobs: Arc<verdict_server::blobs::Blobs>,
    pub admin: String,
    _dir: tempfile::TempDir,
    /// The PostgreSQL database of this test, dropped with the app.
    _pg: Option<TestDatabase>,
}

/// The backend under test: SQLite in a temp dir by default;
/// `VERDICT_TEST_BACKEND=postgres` runs the same suite on a fresh PostgreSQL
/// database per test (the server named by `VERDICT_TEST_POSTGRES_URL`).
async fn open_store(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Option<TestDatabase>) {
    if std::env::var("VERDICT_TEST_BACKEND").as_deref() == Ok("postgres") {
        let db = TestDatabase::from_env()
            .await
            .expect("VERDICT_TEST_BACKEND=postgres needs VERDICT_TEST_POSTGRES_URL");
        let store: Arc<dyn Store> = Arc::new(db.connect().await.expect("connect to PostgreSQL"));
        return (store, Some(db));
    }
    let config = SqliteConfig {
        path: dir.path().join("verdict.db"),
        synchronous: Synchronous::Full,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config).expect("open sqlite"));
    (store, None)
}

/// The attachment storage of a test: a folder in its temp dir, or, when
/// `VERDICT_TEST_ATTACHMENTS` is an `s3://bucket/prefix?…` URL, a prefix
/// of its own under that one (so tests that count stored files see only
/// theirs).
pub fn blobs_in(dir: &tempfile::TempDir) -> Arc<verdict_server::blobs::Blobs> {
    if let Some(url) = s3_location() {
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), format!("?{q}")),
            None => (url.clone(), String::new()),
        };
        let unique = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .trim_start_matches('.')
            .to_string();
        let location = format!("{}/{unique}{query}", path.trim_end_matches('/'));
        return Arc::new(
            verdict_server::blobs::Blobs::open(&location).expect("attachment storage on S3"),
        );
    }
    Arc::new(
        verdict_server::blobs::Blobs::folder(attachments_dir_in(dir)).expect("attachment folder"),
    )
}

/// `VERDICT_TEST_ATTACHMENTS`, when it names S3 storage.
pub fn s3_location() -> Option<String> {
    std::env::var("VERDICT_TEST_ATTACHMENTS")
        .ok()
        .filter(|u| u.starts_with("s3://"))
}

fn attachments_dir_in(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("attachments")
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// `data` of a 2xx answer; panics with the body otherwise.
    pub fn data(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        &self.body["data"]
    }

    pub fn id(&self) -> String {
        self.data()["id"].as_str().expect("id").to_string()
    }

    /// Asserts an error answer: status, code, and the envelope's shape.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"].is_string(),
            "body: {}",
            self.body
        );
    }

    /// The `details[].field` names of an error.
    pub fn fields(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|f| f["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn webhook_config() -> verdict_server::webhooks::WebhookConfig {
    verdict_server::webhooks::WebhookConfig {
        allow_private: true,
        public_url: Some("https://verdict.example.com".into()),
    }
}

/// A router over `store` allowing loopback webhook targets, and its
/// running delivery worker.
fn webhook_instance(
    store: Arc<dyn Store>,
    blobs: Arc<verdict_server::blobs::Blobs>,
) -> (Router, verdict_server::webhooks::worker::Worker) {
    let state =
        AppState::new(store.clone(), Limits::default(), blobs).with_webhooks(webhook_config());
    let worker = verdict_server::webhooks::worker::Worker::start(store, state.webhooks.clone())
        .expect("start the delivery worker");
    (verdict_server::build_router(state), worker)
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_limits(Limits::default()).await
    }

    /// The attachment folder (`None` on S3 storage).
    pub fn attachments_dir(&self) -> Option<std::path::PathBuf> {
        s3_location()
            .is_none()
            .then(|| attachments_dir_in(&self._dir))
    }

    pub async fn with_limits(limits: Limits) -> Self {
        Self::with_router(|store, blobs| {
            verdict_server::build_router(AppState::new(store, limits, blobs))
        })
        .await
    }

    /// A fresh database with the admin bootstrapped, served by the router
    /// `make` builds over its store and attachment storage.
    async fn with_router(
        make: impl FnOnce(Arc<dyn Store>, Arc<verdict_server::blobs::Blobs>) -> Router,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, pg) = open_store(&dir).await;
        verdict_server::bootstrap(store.as_ref(), Some(ADMIN))
            .await
            .expect("bootstrap");
        let blobs = blobs_in(&dir);
        let router = make(store.clone(), blobs.clone());
        TestApp {
            router,
            store,
            blobs,
            admin: ADMIN.to_string(),
            _dir: dir,
            _pg: pg,
        }
    }

    /// An app whose webhooks may target loopback addresses (the tests'
    /// receivers), with its delivery worker running, as `verdict serve`
    /// runs it.
    pub async fn with_webhooks() -> (Self, verdict_server::webhooks::worker::Worker) {
        let mut worker = None;
        let app = Self::with_router(|store, blobs| {
            let (router, w) = webhook_instance(store, blobs);
            worker = Some(w);
            router
        })
        .await;
        (app, worker.expect("the worker started"))
    }

    /// An app whose webhooks may target loopback addresses, with no
    /// delivery worker yet: events queue up until [`Self::start_worker`].
    pub async fn with_webhooks_queued() -> Self {
        Self::with_router(|store, blobs| {
            let state =
                AppState::new(store, Limits::default(), blobs).with_webhooks(webhook_config());
            verdict_server::build_router(state)
        })
        .await
    }

    /// Starts a delivery worker on this app's store (it finds what is due
    /// at once, then polls).
    pub fn start_worker(&self) -> verdict_server::webhooks::worker::Worker {
        let hub = Arc::new(verdict_server::webhooks::Hub::new(webhook_config()));
        verdict_server::webhooks::worker::Worker::start(self.store.clone(), hub)
            .expect("start the delivery worker")
    }

    /// Another instance on this app's PostgreSQL database (`None` on
    /// SQLite): its own connections, router and delivery worker.
    pub async fn second_instance(
        &self,
    ) -> Option<(Router, verdict_server::webhooks::worker::Worker)> {
        let db = self._pg.as_ref()?;
        let store: Arc<dyn Store> = Arc::new(db.connect().await.expect("connect to PostgreSQL"));
        Some(webhook_instance(store, self.blobs.clone()))
    }

    /// Sends a request as built; the body is parsed as JSON when there is one.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            // JSON where the answer is JSON (everything but /metrics and /docs).
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A JSON request with an optional bearer token.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// A request with a raw body and content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req.body(body.into()).expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call("DELETE", path, Some(token), None).await
    }

    /// A new non-admin user and a token for them: (user id, token).
    pub async fn user(&self, name: &str) -> (String, String) {
        let user = self
            .post(
                "/v1/users",
                &self.admin,
                json!({"name": name, "email": format!("{name}@example.com")}),
            )
            .await;
        let uid = user.id();
        let token = self
            .post(
                "/v1/tokens",
                &self.admin,
                json!({"name": "test", "user_id": uid}),
            )
            .await;
        let secret = token.data()["token"].as_str().expect("token").to_string();
        (uid, secret)
    }

    /// A user with `role` in `project`: their token.
    pub async fn member(&self, project: &str, name: &str, role: &str) -> String {
        let (uid, token) = self.user(name).await;
        let r = self
            .put(
                &format!("/v1/projects/{project}/members/{uid}"),
                &self.admin,
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        token
    }

    pub async fn project(&self, name: &str) -> String {
        self.post("/v1/projects", &self.admin, json!({"name": name}))
            .await
            .id()
    }

    /// A run with no cases in a new project named `name`: (project, run).
    pub async fn empty_run(&self, name: &str) -> (String, String) {
        let project = self.project(name).await;
        let run = self
            .post(
                &format!("/v1/projects/{project}/runs"),
                &self.admin,
                json!({"name": "ci", "case_ids": []}),
            )
            .await
            .id();
        (project, run)
    }

    /// `n` keyed cases (`k1`…): their ids.
    pub async fn cases(&self, project: &str, n: usize) -> Vec<String> {
        let cases: Vec<Value> = (1..=n)
            .map(|i| json!({"title": format!("Case {i}"), "key": format!("k{i}")}))
            .collect();
        self.bulk_cases(project, cases).await
    }

    /// The given cases (`{"title", "key"?, …}`) made in one bulk: their ids.
    pub async fn bulk_cases(&self, project: &str, cases: Vec<Value>) -> Vec<String> {
        let r = self
            .post(
                &format!("/v1/projects/{project}/cases/bulk"),
                &self.admin,
                json!({"cases": cases}),
            )
            .await;
        r.data()["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// A run over every case of the project: its id.
    pub async fn run(&self, project: &str, name: &str) -> String {
        self.post(
            &format!("/v1/projects/{project}/runs"),
            &self.admin,
            json!({"name": name}),
        )
        .await
        .id()
    }

    /// Every operation of the served OpenAPI document ([`operations`]).
    /// Tests that must cover every endpoint read this instead of keeping a
    /// list of their own, so a new endpoint is covered without touching them.
    pub async fn documented_operations(&self) -> Vec<(String, String, Value)> {
        let doc = self.call("GET", "/openapi.json", None, None).await;
        let ops = operations(&doc.body);
        assert!(!ops.is_empty(), "the document describes no operation");
        ops
    }

    /// A project with `n` cases and a run over them: (project, cases, run).
    pub async fn seeded(&self, n: usize) -> (String, Vec<String>, String) {
        let project = self.project("Seeded").await;
        let cases = self.cases(&project, n).await;
        let run = self.run(&project, "Run").await;
        (project, cases, run)
    }

    /// Every result of a run (all pages), ordered by id.
    pub async fn all_results(&self, run: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/v1/runs/{run}/results?per_page=1000"),
                &self.admin,
            )
            .await;
        r.data().as_array().expect("list").clone()
    }

    pub async fn counts(&self, run: &str) -> Value {
        self.get(&format!("/v1/runs/{run}"), &self.admin)
            .await
            .data()["counts"]
            .clone()
    }

    /// The result id of `case` in `run`.
    pub async fn result_of(&self, run: &str, case: &str) -> String {
        self.all_results(run)
            .await
            .iter()
            .find(|r| r["test_case_id"] == case)
            .and_then(|r| r["id"].as_str())
            .expect("case in run")
            .to_string()
    }

    pub async fn history(&self, run: &str, result: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/v1/runs/{run}/results/{result}/history?per_page=1000"),
                &self.admin,
            )
            .await;
        r.data().as_array().expect("history").clone()
    }
}

// --- helpers for the results tests (appended) --------------------------------

/// `/v1/runs/{run}/results` and what follows it.
pub fn results_path(run: &str, rest: &str) -> String {
    format!("/v1/runs/{run}/results{rest}")
}

/// Whether `s` is an RFC 3339 UTC instant with whole seconds and a `Z`
/// (`2026-03-26T10:15:00Z`).
pub fn is_utc_instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

impl TestApp {
    /// A user with `role` in `project`: (user id, token).
    pub async fn member_with_id(&self, project: &str, name: &str, role: &str) -> (String, String) {
        let (uid, token) = self.user(name).await;
        let r = self
            .put(
                &format!("/v1/projects/{project}/members/{uid}"),
                &self.admin,
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        (uid, token)
    }

    /// The admin's user id.
    pub async fn admin_id(&self) -> String {
        self.get("/v1/me", &self.admin).await.id()
    }

    /// POST …/results/bulk as `token`.
    pub async fn bulk(&self, run: &str, token: &str, body: Value) -> Resp {
        self.post(&results_path(run, "/bulk"), token, body).await
    }

    /// POST …/results/bulk with an `Idempotency-Key`, as `token`.
    pub async fn bulk_with_key(&self, run: &str, token: &str, key: &str, body: &Value) -> Resp {
        let req = Request::builder()
            .method(Method::POST)
            .uri(results_path(run, "/bulk"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }

    /// Closes a run as the admin.
    pub async fn close_run(&self, run: &str) {
        let r = self
            .call(
                "POST",
                &format!("/v1/runs/{run}/close"),
                Some(&self.admin),
                None,
            )
            .await;
        assert_eq!(r.data()["state"], "closed");
    }

    /// Everything a result write can change in a run: every result, the
    /// counts and every result's history. Equal snapshots before and after a
    /// refused request prove that nothing was written.
    pub async fn snapshot(&self, run: &str) -> Value {
        let results = self.all_results(run).await;
        let mut histories = Vec::new();
        for r in &results {
            let id = r["id"].as_str().expect("id");
            histories.push(json!({"id": id, "history": self.history(run, id).await}));
        }
        json!({"results": results, "counts": self.counts(run).await, "histories": histories})
    }
}

// --- helpers for the web UI tests (appended) ---------------------------------

/// The secret in a `Set-Cookie: verdict_session=…` header, if one was set
/// (an empty value, which clears the cookie, is `Some("")`).
pub fn session_cookie(resp: &Resp) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("verdict_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// The body of an HTML answer.
pub fn html(resp: &Resp) -> &str {
    resp.body.as_str().unwrap_or("")
}

/// `application/x-www-form-urlencoded` of these fields.
pub fn urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl TestApp {
    /// An app whose web UI has these settings (default limits).
    pub async fn with_web(web: verdict_server::WebConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, pg) = open_store(&dir).await;
        verdict_server::bootstrap(store.as_ref(), Some(ADMIN))
            .await
            .expect("bootstrap");
        let blobs = blobs_in(&dir);
        let state = AppState::new(store.clone(), Limits::default(), blobs.clone()).with_web(web);
        TestApp {
            router: verdict_server::build_router(state),
            store,
            blobs,
            admin: ADMIN.to_string(),
            _dir: dir,
            _pg: pg,
        }
    }

    /// A new non-admin user with a password (`{name}@example.com`): (user
    /// id, API token).
    pub async fn user_with_password(&self, name: &str, password: &str) -> (String, String) {
        let user = self
            .post(
                "/v1/users",
                &self.admin,
                json!({"name": name, "email": format!("{name}@example.com"), "password": password}),
            )
            .await;
        let uid = user.id();
        let token = self
            .post(
                "/v1/tokens",
                &self.admin,
                json!({"name": "test", "user_id": uid}),
            )
            .await;
        (
            uid,
            token.data()["token"].as_str().expect("token").to_string(),
        )
    }

    /// A GET of a page, with the session cookie when given.
    pub async fn page(&self, path: &str, session: Option<&str>) -> Resp {
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(s) = session {
            req = req.header("cookie", format!("verdict_session={s}"));
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// A form post with the session cookie when given; `extra` headers
    /// (Origin, Accept…) are added as they are.
    pub async fn form(
        &self,
        path: &str,
        session: Option<&str>,
        fields: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(s) = session {
            req = req.header("cookie", format!("verdict_session={s}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(urlencoded(fields))).expect("request"))
            .await
    }

    /// Signs in through the form: the answer and the session secret.
    pub async fn sign_in(&self, email: &str, password: &str) -> (Resp, Option<String>) {
        let r = self
            .form(
                "/login",
                None,
                &[("email", email), ("password", password)],
                &[],
            )
            .await;
        let secret = session_cookie(&r).filter(|s| !s.is_empty());
        (r, secret)
    }

    /// A signed-in user with `role` in `project`: (user id, session secret).
    pub async fn web_member(&self, project: &str, name: &str, role: &str) -> (String, String) {
        let (uid, _) = self.user_with_password(name, "correct horse battery").await;
        let r = self
            .put(
                &format!("/v1/projects/{project}/members/{uid}"),
                &self.admin,
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let (resp, secret) = self
            .sign_in(&format!("{name}@example.com"), "correct horse battery")
            .await;
        (uid, secret.unwrap_or_else(|| panic!("signed in: {resp:?}")))
    }
}

/// The CSRF field a page of `session` carries.
pub fn csrf(session: &str) -> String {
    verdict_server::web::session::csrf_for(session)
}

// --- helpers for the resource and auth tests (appended) ----------------------

impl TestApp {
    /// An app over a fresh, empty database: no admin, no token (`admin` is
    /// empty). For bootstrap tests, which run `verdict_server::bootstrap` on
    /// `store` themselves.
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, pg) = open_store(&dir).await;
        let blobs = blobs_in(&dir);
        let router = verdict_server::build_router(AppState::new(
            store.clone(),
            Limits::default(),
            blobs.clone(),
        ));
        TestApp {
            router,
            store,
            blobs,
            admin: String::new(),
            _dir: dir,
            _pg: pg,
        }
    }

    /// A request with this exact `Authorization` header (none when `None`).
    pub async fn with_authorization(&self, path: &str, authorization: Option<&str>) -> Resp {
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// `meta.total` of a GET list as the admin.
    pub async fn total(&self, path: &str) -> i64 {
        let r = self.get(path, &self.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["meta"]["total"].as_i64().expect("meta.total")
    }
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

impl Resp {
    /// Asserts a 404 `not_found`.
    pub fn not_found(&self) {
        self.assert_error(StatusCode::NOT_FOUND, "not_found");
    }

    /// Asserts a 403 `forbidden`.
    pub fn forbidden(&self) {
        self.assert_error(StatusCode::FORBIDDEN, "forbidden");
    }

    /// Asserts a 422 `validation_failed` naming exactly `fields`, in order.
    pub fn invalid(&self, fields: &[&str]) {
        self.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(self.fields(), fields, "{}", self.body);
    }

    /// Asserts the status; answers the response for more checks.
    pub fn status_is(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }
}

impl Resp {
    /// `data` of a 201 answer; panics with the body otherwise.
    pub fn created(&self) -> &Value {
        self.status_is(StatusCode::CREATED).data()
    }

    /// `data` of a 200 answer; panics with the body otherwise.
    pub fn ok(&self) -> &Value {
        self.status_is(StatusCode::OK).data()
    }
}

/// Every operation an OpenAPI document describes, as (METHOD, path
/// template, operation object), in the document's order.
pub fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// A documented path with its parameters filled by name (`{rid}` and so
/// on) from `ids`; a parameter `ids` does not name fails the test, so a new
/// kind of path parameter is noticed.
pub fn fill_path(template: &str, ids: &[(&str, &str)]) -> String {
    let mut path = template.to_string();
    for (name, value) in ids {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(
        !path.contains('{'),
        "no id given for a parameter of {template}"
    );
    path
}

/// Whether an operation takes a JSON body.
pub fn takes_json(op: &Value) -> bool {
    op["requestBody"]["content"]["application/json"].is_object()
}

/// Whether an operation wants a token (the document lists its security).
pub fn wants_token(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| {
        s.iter()
            .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
    })
}

// --- helpers for several instances on one database (appended) -------------

impl TestApp {
    /// Two apps (as two `verdict serve` instances) on one fresh PostgreSQL
    /// database, each with its own store and pool; the admin token works on
    /// both. `None` when `VERDICT_TEST_POSTGRES_URL` is unset.
    pub async fn postgres_pair() -> Option<(TestApp, TestApp)> {
        let db = TestDatabase::from_env().await?;
        let mut apps = Vec::new();
        let mut owner = Some(db);
        for _ in 0..2 {
            let db = owner.as_ref().expect("the database");
            let store: Arc<dyn Store> =
                Arc::new(db.connect().await.expect("connect to PostgreSQL"));
            verdict_server::bootstrap(store.as_ref(), Some(ADMIN))
                .await
                .expect("bootstrap");
            let dir = tempfile::tempdir().expect("tempdir");
            let blobs = blobs_in(&dir);
            let router = verdict_server::build_router(AppState::new(
                store.clone(),
                Limits::default(),
                blobs.clone(),
            ));
            apps.push(TestApp {
                router,
                store,
                blobs,
                admin: ADMIN.to_string(),
                _dir: dir,
                // The second app keeps the database; dropped last.
                _pg: if apps.is_empty() { None } else { owner.take() },
            });
        }
        let b = apps.pop()?;
        let a = apps.pop()?;
        Some((a, b))
    }
}
