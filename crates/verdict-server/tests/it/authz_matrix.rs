//! The authorization matrix: every endpoint × every kind of caller, with
//! the status API §5 and docs/DECISIONS.md call for. A new endpoint needs
//! a row here (the list is checked against the router's documented routes
//! where the OpenAPI document is available).

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    BadToken,
    RevokedToken,
    NonMember,
    Viewer,
    Tester,
    Manager,
    Admin,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::BadToken,
    Caller::RevokedToken,
    Caller::NonMember,
    Caller::Viewer,
    Caller::Tester,
    Caller::Manager,
    Caller::Admin,
];

/// Who may call an endpoint, and what success looks like.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// No token needed.
    Public,
    /// Any authenticated user.
    AnyUser(u16),
    /// A project member with at least this role (admins too); non-members 404.
    Member(Role, u16),
    /// Admins only; other users 403.
    Admin(u16),
    /// Admins only; to other users the thing does not exist (404).
    AdminElseHidden(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Viewer,
    Tester,
    Manager,
}

fn expected(access: Access, caller: Caller) -> u16 {
    use Caller::*;
    let unauthenticated = matches!(caller, Anonymous | BadToken | RevokedToken);
    match access {
        Access::Public => 200,
        _ if unauthenticated => 401,
        Access::AnyUser(ok) => ok,
        Access::Admin(ok) => {
            if caller == Admin {
                ok
            } else {
                403
            }
        }
        Access::AdminElseHidden(ok) => {
            if caller == Admin {
                ok
            } else {
                404
            }
        }
        Access::Member(needed, ok) => {
            let role = match caller {
                Viewer => Role::Viewer,
                Tester => Role::Tester,
                Manager | Admin => Role::Manager,
                _ => return 404,
            };
            if role >= needed { ok } else { 403 }
        }
    }
}

struct Fixture {
    project: String,
    run: String,
    result: String,
    attachment: String,
    other_user: String,
    tokens: Vec<(Caller, Option<String>)>,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (project, _, run) = app.seeded(3).await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let attachment = attach(app, &run, &result, "fixture.txt").await;
    let (other_user, _) = app.user("other").await;
    let (_, non_member) = app.user("stranger").await;
    let (_, revoked) = app.user("revoked").await;
    let tid = app.get("/v1/tokens", &revoked).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.delete(&format!("/v1/tokens/{tid}"), &revoked)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let tokens = vec![
        (Caller::Anonymous, None),
        (
            Caller::BadToken,
            Some("vdt_not_a_token_at_all_0000".to_string()),
        ),
        (Caller::RevokedToken, Some(revoked)),
        (Caller::NonMember, Some(non_member)),
        (
            Caller::Viewer,
            Some(app.member(&project, "viewer", "viewer").await),
        ),
        (
            Caller::Tester,
            Some(app.member(&project, "tester", "tester").await),
        ),
        (
            Caller::Manager,
            Some(app.member(&project, "manager", "manager").await),
        ),
        (Caller::Admin, Some(app.admin.clone())),
    ];
    Fixture {
        project,
        run,
        result,
        attachment,
        other_user,
        tokens,
    }
}

/// A text file attached by the admin: its id.
async fn attach(app: &TestApp, run: &str, result: &str, name: &str) -> String {
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/{result}/attachments?name={name}"),
            &app.admin,
            Some("text/plain"),
            "some output",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["data"][0]["id"].as_str().unwrap().to_string()
}

/// Every endpoint: (name, access). `request` builds a fresh request for one
/// call, creating whatever a destructive call consumes.
const ENDPOINTS: &[(&str, Access)] = &[
    ("GET /healthz", Access::Public),
    ("GET /readyz", Access::Public),
    ("GET /metrics", Access::Public),
    ("GET /openapi.json", Access::Public),
    ("GET /docs", Access::Public),
    ("GET /docs/docs.css", Access::Public),
    ("PUT /v1/me/password", Access::AnyUser(204)),
    ("PUT /v1/users/{uid}/password", Access::Admin(204)),
    ("GET /v1/me", Access::AnyUser(200)),
    ("POST /v1/users", Access::Admin(201)),
    ("GET /v1/users", Access::Admin(200)),
    ("GET /v1/users/{uid}", Access::AdminElseHidden(200)),
    ("PATCH /v1/users/{uid}", Access::Admin(200)),
    ("DELETE /v1/users/{uid}/tokens", Access::Admin(200)),
    ("POST /v1/tokens", Access::AnyUser(201)),
    ("GET /v1/tokens", Access::AnyUser(200)),
    ("DELETE /v1/tokens/{tid}", Access::AdminElseHidden(204)),
    ("POST /v1/projects", Access::AnyUser(201)),
    ("GET /v1/projects", Access::AnyUser(200)),
    ("GET /v1/projects/{pid}", Access::Member(Role::Viewer, 200)),
    (
        "PATCH /v1/projects/{pid}",
        Access::Member(Role::Manager, 200),
    ),
    (
        "GET /v1/projects/{pid}/sections",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/projects/{pid}/members",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "PUT /v1/projects/{pid}/members/{uid}",
        Access::Member(Role::Manager, 200),
    ),
    (
        "DELETE /v1/projects/{pid}/members/{uid}",
        Access::Member(Role::Manager, 204),
    ),
    (
        "POST /v1/projects/{pid}/cases",
        Access::Member(Role::Manager, 201),
    ),
    (
        "GET /v1/projects/{pid}/cases",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "POST /v1/projects/{pid}/cases/bulk",
        Access::Member(Role::Manager, 200),
    ),
    ("GET /v1/cases/{cid}", Access::Member(Role::Viewer, 200)),
    ("PATCH /v1/cases/{cid}", Access::Member(Role::Manager, 200)),
    ("DELETE /v1/cases/{cid}", Access::Member(Role::Manager, 204)),
    (
        "POST /v1/projects/{pid}/runs",
        Access::Member(Role::Tester, 201),
    ),
    (
        "GET /v1/projects/{pid}/runs",
        Access::Member(Role::Viewer, 200),
    ),
    ("GET /v1/runs/{rid}", Access::Member(Role::Viewer, 200)),
    ("PATCH /v1/runs/{rid}", Access::Member(Role::Manager, 200)),
    (
        "POST /v1/runs/{rid}/cases",
        Access::Member(Role::Manager, 200),
    ),
    (
        "POST /v1/runs/{rid}/close",
        Access::Member(Role::Manager, 200),
    ),
    (
        "GET /v1/runs/{rid}/results",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "POST /v1/runs/{rid}/results/bulk",
        Access::Member(Role::Tester, 200),
    ),
    (
        "POST /v1/runs/{rid}/results/junit",
        Access::Member(Role::Tester, 200),
    ),
    (
        "GET /v1/runs/{rid}/results/{id}",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "PATCH /v1/runs/{rid}/results/{id}",
        Access::Member(Role::Tester, 200),
    ),
    (
        "PUT /v1/runs/{rid}/results/{id}",
        Access::Member(Role::Tester, 200),
    ),
    (
        "GET /v1/runs/{rid}/results/{id}/history",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "POST /v1/runs/{rid}/results/{id}/attachments",
        Access::Member(Role::Tester, 201),
    ),
    (
        "GET /v1/runs/{rid}/results/{id}/attachments",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/attachments/{aid}",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "DELETE /v1/attachments/{aid}",
        Access::Member(Role::Manager, 204),
    ),
    (
        "GET /v1/attachments/{aid}/content",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "PATCH /v1/runs/{rid}/results/{id}/assignment",
        Access::Member(Role::Tester, 200),
    ),
    (
        "POST /v1/runs/{rid}/assign",
        Access::Member(Role::Tester, 200),
    ),
    ("GET /v1/me/work", Access::AnyUser(200)),
    (
        "GET /v1/runs/{rid}/export",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "PUT /v1/cases/{cid}/quarantine",
        Access::Member(Role::Manager, 200),
    ),
    (
        "DELETE /v1/cases/{cid}/quarantine",
        Access::Member(Role::Manager, 204),
    ),
    (
        "GET /v1/cases/{cid}/results",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/runs/{rid}/compare",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/runs/{rid}/failures",
        Access::Member(Role::Viewer, 200),
    ),
    ("GET /v1/runs/{rid}/gate", Access::Member(Role::Viewer, 200)),
    (
        "GET /v1/projects/{pid}/flaky",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/projects/{pid}/durations",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "GET /v1/projects/{pid}/trends",
        Access::Member(Role::Viewer, 200),
    ),
    (
        "POST /v1/projects/{pid}/webhooks",
        Access::Member(Role::Manager, 201),
    ),
    (
        "GET /v1/projects/{pid}/webhooks",
        Access::Member(Role::Manager, 200),
    ),
    ("GET /v1/webhooks/{wid}", Access::Member(Role::Manager, 200)),
    (
        "PATCH /v1/webhooks/{wid}",
        Access::Member(Role::Manager, 200),
    ),
    (
        "DELETE /v1/webhooks/{wid}",
        Access::Member(Role::Manager, 204),
    ),
    (
        "POST /v1/webhooks/{wid}/test",
        Access::Member(Role::Manager, 202),
    ),
    (
        "GET /v1/webhooks/{wid}/deliveries",
        Access::Member(Role::Manager, 200),
    ),
    (
        "POST /v1/webhooks/{wid}/deliveries/{event_id}/redeliver",
        Access::Member(Role::Manager, 202),
    ),
];

/// A webhook of the project, made by the admin: its id.
async fn webhook(app: &TestApp, project: &str) -> String {
    let r = app
        .post(
            &format!("/v1/projects/{project}/webhooks"),
            &app.admin,
            json!({"url": "https://hooks.example.com/verdict", "events": ["run.created"], "format": "standard"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.id()
}

/// (method, path, JSON body or XML body) for one call of `endpoint`.
async fn request(
    app: &TestApp,
    fx: &Fixture,
    endpoint: &str,
    n: usize,
) -> (String, String, Option<Value>, Option<&'static str>) {
    let (method, template) = endpoint.split_once(' ').unwrap();
    let p = &fx.project;
    let mut body = None;
    let mut xml = None;
    let path = match endpoint {
        "DELETE /v1/tokens/{tid}" => {
            // A token of another user each time.
            let t = app
                .post(
                    "/v1/tokens",
                    &app.admin,
                    json!({"name": "victim", "user_id": fx.other_user}),
                )
                .await;
            format!("/v1/tokens/{}", t.id())
        }
        "DELETE /v1/projects/{pid}/members/{uid}" => {
            let (uid, _) = app.user(&format!("leaver{n}")).await;
            app.put(
                &format!("/v1/projects/{p}/members/{uid}"),
                &app.admin,
                json!({"role": "viewer"}),
            )
            .await;
            format!("/v1/projects/{p}/members/{uid}")
        }
        "DELETE /v1/cases/{cid}"
        | "GET /v1/cases/{cid}"
        | "PATCH /v1/cases/{cid}"
        | "PUT /v1/cases/{cid}/quarantine"
        | "DELETE /v1/cases/{cid}/quarantine"
        | "GET /v1/cases/{cid}/results" => {
            let c = app
                .post(
                    &format!("/v1/projects/{p}/cases"),
                    &app.admin,
                    json!({"title": format!("c{n}")}),
                )
                .await;
            if method == "PATCH" {
                body = Some(json!({"title": "renamed"}));
            }
            if method == "PUT" {
                body = Some(json!({"reason": "flaky on CI"}));
            }
            template.replace("{cid}", &c.id())
        }
        "DELETE /v1/attachments/{aid}" => {
            // The admin's, so only managers (and admins) may delete it.
            let aid = attach(app, &fx.run, &fx.result, &format!("doomed{n}.txt")).await;
            format!("/v1/attachments/{aid}")
        }
        "POST /v1/webhooks/{wid}/deliveries/{event_id}/redeliver" => {
            let wid = webhook(app, p).await;
            let ping = app
                .post(&format!("/v1/webhooks/{wid}/test"), &app.admin, json!({}))
                .await;
            let event = ping.data()["event_id"].as_str().unwrap().to_string();
            format!("/v1/webhooks/{wid}/deliveries/{event}/redeliver")
        }
        _ if template.starts_with("/v1/webhooks/{wid}") => {
            let wid = webhook(app, p).await;
            if method == "PATCH" {
                body = Some(json!({"active": false}));
            }
            template.replace("{wid}", &wid)
        }
        "POST /v1/runs/{rid}/close" => {
            let r = app
                .post(
                    &format!("/v1/projects/{p}/runs"),
                    &app.admin,
                    json!({"name": format!("r{n}")}),
                )
                .await;
            format!("/v1/runs/{}/close", r.id())
        }
        _ => {
            body = match endpoint {
                "POST /v1/users" => {
                    Some(json!({"name": format!("u{n}"), "email": format!("u{n}@example.com")}))
                }
                "POST /v1/tokens" => Some(json!({"name": "t"})),
                "PUT /v1/me/password" | "PUT /v1/users/{uid}/password" => {
                    Some(json!({"new_password": "a long enough password"}))
                }
                "POST /v1/projects" => Some(json!({"name": "p"})),
                "PATCH /v1/projects/{pid}" => Some(
                    json!({"name": "renamed", "defect_url_template": "https://bugs.example.com/{id}"}),
                ),
                "PATCH /v1/users/{uid}" => Some(json!({"name": "renamed"})),
                "PUT /v1/projects/{pid}/members/{uid}" => Some(json!({"role": "viewer"})),
                "POST /v1/projects/{pid}/cases" => Some(json!({"title": format!("case {n}")})),
                "POST /v1/projects/{pid}/cases/bulk" => {
                    Some(json!({"cases": [{"title": "b", "key": format!("bulk{n}")}]}))
                }
                "POST /v1/projects/{pid}/runs" => Some(json!({"name": "run"})),
                "POST /v1/projects/{pid}/webhooks" => Some(
                    json!({"url": "https://hooks.example.com/new", "events": ["run.closed"], "format": "slack"}),
                ),
                "PATCH /v1/runs/{rid}" => Some(json!({"name": "renamed"})),
                "POST /v1/runs/{rid}/cases" => Some(json!({"case_ids": ["tc_001"]})),
                "POST /v1/runs/{rid}/results/bulk" => {
                    Some(json!({"results": [{"test_case_id": "tc_001", "status": "passed"}]}))
                }
                "PATCH /v1/runs/{rid}/results/{id}" | "PUT /v1/runs/{rid}/results/{id}" => {
                    Some(json!({"status": "failed"}))
                }
                "PATCH /v1/runs/{rid}/results/{id}/assignment" => Some(json!({"user_id": null})),
                "POST /v1/runs/{rid}/assign" => Some(json!({"user_id": null, "unassigned": true})),
                _ => None,
            };
            if endpoint == "POST /v1/runs/{rid}/results/junit" {
                xml = Some(r#"<testsuite><testcase classname="m" name="t"/></testsuite>"#);
            }
            let mut query = "";
            if endpoint == "POST /v1/runs/{rid}/results/{id}/attachments" {
                // A raw upload (sent as XML, a type like any other).
                xml = Some("<log>screenshot bytes</log>");
                query = "?name=trace.xml";
            }
            let path = template
                .replace("{pid}", p)
                .replace("{rid}", &fx.run)
                .replace("{id}", &fx.result)
                .replace("{uid}", &fx.other_user)
                .replace("{aid}", &fx.attachment)
                .replace("/junit", "/junit?create_missing=true")
                .replace("/gate", "/gate?min_tests=0");
            format!("{path}{query}")
        }
    };
    (method.to_string(), path, body, xml)
}

/// Every operation the OpenAPI document (generated from the router's
/// handlers) describes has a row here, and every row is documented: a new
/// endpoint without a row fails this test.
#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let app = TestApp::new().await;
    let mut documented: Vec<String> = app
        .documented_operations()
        .await
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    documented.sort();
    let mut rows: Vec<String> = ENDPOINTS.iter().map(|(e, _)| e.to_string()).collect();
    rows.sort();
    assert_eq!(
        rows, documented,
        "every documented operation needs a row, and only those"
    );
}

#[tokio::test]
async fn every_endpoint_answers_every_caller_as_the_rules_say() {
    let app = TestApp::new().await;
    let fx = fixture(&app).await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, (endpoint, access)) in ENDPOINTS.iter().enumerate() {
        for (caller, token) in &fx.tokens {
            let (method, path, body, xml) = request(&app, &fx, endpoint, i * 100 + checked).await;
            let r = match xml {
                Some(x) => {
                    let t = token.clone().unwrap_or_default();
                    if token.is_none() {
                        app.call(&method, &path, None, None).await
                    } else {
                        app.raw(&method, &path, &t, Some("application/xml"), x)
                            .await
                    }
                }
                None => app.call(&method, &path, token.as_deref(), body).await,
            };
            let want = expected(*access, *caller);
            // An anonymous JUnit call has no body at all: still 401 first.
            if r.status.as_u16() != want {
                failures.push(format!(
                    "{endpoint} as {caller:?}: got {} want {want}: {}",
                    r.status, r.body
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "authorization matrix: {} endpoints x {} callers = {checked} checks",
        ENDPOINTS.len(),
        CALLERS.len()
    );
}
