//! Accessibility: axe-core in real headless Chromium on every page of the
//! web UI, against `verdict serve --demo`, at 1280 and 390 px wide. Any
//! violation of impact "serious" or "critical" fails the test, each listed
//! with its rule, impact, help text, first targets, URL and width; the
//! others ("moderate", "minor") are printed.
//!
//! axe-core is not part of the product: .ci/axe.sh installs the pinned
//! version under target/axe and exports `VERDICT_AXE_JS`, the path of its
//! axe.min.js, which the test reads from disk and injects into each page.
//! Without Chromium or without that file the test prints "SKIPPED: …" and
//! passes, unless `VERDICT_REQUIRE_BROWSER=1`, when either is a failure.
//!
//!   . .ci/axe.sh && VERDICT_REQUIRE_BROWSER=1 cargo test -p verdict --test it accessibility

use crate::common;
use crate::webdriver;

use common::Server;
use serde_json::{Value, json};
use webdriver::{Browser, ONE_AT_A_TIME, available};

/// Every page of the web UI that axe checks, as (who looks, path).
///
/// To add a page: add one line with its path on the demo data (the demo's
/// ids are stable: prj_001 is the project, run_029 the manual release in
/// progress, run_032 a nightly with failures, tc_024 a case). `{result}`
/// stands for a result of run_029, `{stepped}` for one of its results with
/// step results and `{stepped_case}` for that result's case (a case with
/// steps), `{image}` and `{log}` for a screenshot and a log attached to
/// `{stepped}` by the test, `{quarantined}` for the quarantined case, `{token}` for an API token of the server's admin, `{user}` for
/// a tester of the project (Sam Rivera), `{webhook}` for a webhook of the
/// project sent a test ping. Use
/// `SignedOut` for pages seen before signing in, `Admin` for the demo
/// user (who manages the project), `SiteAdmin` for the server's admin (the
/// users pages), `Tester` for that tester signed in, `Newcomer` for a user in no
/// project. Each page must answer 200, except `/no/such/page`, the "Not
/// found" page.
const PAGES: &[(Who, &str)] = &[
    (Who::SignedOut, "/login"),
    (Who::Admin, "/projects"),
    (Who::Admin, "/projects/prj_001"),
    (Who::Admin, "/projects/prj_001?branch=main"),
    (Who::Admin, "/projects/prj_001/settings"),
    (Who::Admin, "/projects/prj_001/members/{user}/remove"),
    (Who::Admin, "/projects/prj_001/cases"),
    (
        Who::Admin,
        "/projects/prj_001/cases?suite=Checkout&q=card&priority=high",
    ),
    (Who::Admin, "/projects/prj_001/cases/new"),
    (Who::Admin, "/projects/prj_001/runs/new"),
    (Who::Admin, "/projects/prj_001/webhooks"),
    (Who::Admin, "/webhooks/{webhook}"),
    (Who::Admin, "/webhooks/{webhook}/delete"),
    (Who::Admin, "/runs/run_029"),
    (Who::Admin, "/runs/run_029?status=not_tested"),
    (Who::Admin, "/runs/run_029?result={stepped}"),
    (Who::Admin, "/attachments/{image}"),
    (Who::Admin, "/attachments/{log}"),
    (Who::Admin, "/attachments/{image}/delete"),
    (Who::Admin, "/runs/run_029/results/{result}/history"),
    (Who::Admin, "/runs/run_029/edit"),
    (Who::Admin, "/runs/run_029/close"),
    (Who::Admin, "/runs/run_032"),
    (Who::Admin, "/runs/run_032/compare"),
    (Who::Admin, "/runs/run_032/compare?category=new_failure"),
    (Who::Admin, "/runs/run_032/failures"),
    (Who::Admin, "/cases/tc_024"),
    (Who::Admin, "/cases/{stepped_case}"),
    (Who::Admin, "/cases/{stepped_case}/edit"),
    (Who::Admin, "/cases/{stepped_case}/delete"),
    (Who::Admin, "/cases/{quarantined}/release"),
    (Who::Admin, "/work"),
    (Who::SiteAdmin, "/users"),
    (Who::SiteAdmin, "/users/{user}/admin"),
    (Who::SiteAdmin, "/users/{user}/tokens"),
    (Who::SiteAdmin, "/tokens/{token}/revoke"),
    (Who::Admin, "/tokens"),
    (Who::Admin, NOT_FOUND),
    (Who::Tester, "/projects"),
    (Who::Tester, "/runs/run_029"),
    (Who::Tester, "/runs/run_029?result={stepped}"),
    (Who::Tester, "/attachments/{log}"),
    (Who::Tester, "/work"),
    (Who::Tester, "/cases/{stepped_case}"),
    (Who::Tester, "/tokens"),
    (Who::Newcomer, "/projects"),
    (Who::Newcomer, "/work"),
];

/// The widths every page is checked at, with the window's height.
const SIZES: &[(u32, u32)] = &[(1280, 800), (390, 844)];

/// The impacts that fail the test.
const FAILING: &[&str] = &["serious", "critical"];

/// The page that answers 404 on purpose.
const NOT_FOUND: &str = "/no/such/page";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    SignedOut,
    Admin,
    Tester,
    Newcomer,
    SiteAdmin,
}

/// The tester's email (a demo user given a password by the test) and the
/// newcomer's, and the password both sign in with.
const TESTER: &str = "sam@example.com";
const NEWCOMER: &str = "nia@example.com";
const PASSWORD: &str = "correct horse battery";

const ADMIN: &str = "vdt_accessibility_test_admin_012345";

/// A 4×4 red PNG (an attached screenshot).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x06, 0x00, 0x00, 0x00, 0xa9, 0xf1, 0x9e,
    0x7e, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0xa6, 0xa1, 0xf1,
    0x1f, 0x19, 0x33, 0x90, 0x2e, 0x00, 0x00, 0x67, 0xc8, 0x21, 0x51, 0x77, 0x38, 0xa9, 0xc5, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const DEMO_RUN: &str = "run_029";

/// axe.min.js, read from `VERDICT_AXE_JS`; `None` (the test says it was
/// skipped) when it is missing, unless the browser tests are required.
fn axe_source(test: &str) -> Option<String> {
    let required = std::env::var("VERDICT_REQUIRE_BROWSER").as_deref() == Ok("1");
    let why = match std::env::var("VERDICT_AXE_JS") {
        Ok(path) if !path.is_empty() => match std::fs::read_to_string(&path) {
            Ok(source) => return Some(source),
            Err(e) => format!("VERDICT_AXE_JS={path} cannot be read: {e}"),
        },
        _ => "VERDICT_AXE_JS is not set".to_string(),
    };
    let why = format!("{test}: {why} (install axe-core with `. .ci/axe.sh`)");
    if required {
        panic!("VERDICT_REQUIRE_BROWSER=1 but {why}");
    }
    println!("SKIPPED: {why}");
    None
}

/// Injects axe (once per page) and runs it on the whole document: the
/// violations, and the checks axe could not decide ("incomplete", to be
/// reviewed by a person), each as {id, impact, help, helpUrl, nodes, targets}.
async fn axe(b: &Browser, source: &str) -> (Vec<Value>, Vec<Value>) {
    let present = b
        .client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("script");
    if present != json!(true) {
        // Through WebDriver, so the page's Content-Security-Policy (no
        // inline or foreign scripts) stays as it is for the product.
        b.client
            .execute(source, vec![])
            .await
            .unwrap_or_else(|e| panic!("inject axe-core: {e}"));
    }
    let answer = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const brief = v => ({
                 id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                 nodes: v.nodes.length,
                 targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))});
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done({violations: r.violations.map(brief),
                                incomplete: r.incomplete.map(brief)}))
               .catch(e => done({error: String(e)}));",
            vec![],
        )
        .await;
    if let Some(error) = answer.get("error") {
        panic!("axe.run failed: {error}");
    }
    let list = |key: &str| answer[key].as_array().cloned().unwrap_or_default();
    (list("violations"), list("incomplete"))
}

/// One line about a violation (or an undecided check) on a page.
fn describe(path: &str, width: u32, v: &Value) -> String {
    let targets: Vec<&str> = v["targets"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "{path} at {width} px: {} ({}, {} element(s)): {} — {} [{}]",
        v["id"].as_str().unwrap_or("?"),
        v["impact"].as_str().unwrap_or("no impact"),
        v["nodes"],
        v["help"].as_str().unwrap_or(""),
        targets.join(", "),
        v["helpUrl"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn every_page_has_no_serious_or_critical_accessibility_violation() {
    let test = "every_page_has_no_serious_or_critical_accessibility_violation";
    if !available(test) {
        return;
    }
    let Some(source) = axe_source(test) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(&dir.path().join("verdict.db"), Some(ADMIN), &["--demo"]);
    let base = server.url.clone();
    let http = common::http();

    let api = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.expect("API request");
            assert!(res.status().is_success(), "{}", res.status());
            res.json::<Value>().await.unwrap_or(Value::Null)
        }
    };

    // A result of the manual run, for its history page, and one with step
    // results (its case has steps).
    let results = api(
        reqwest::Method::GET,
        &format!("/v1/runs/{DEMO_RUN}/results?per_page=100"),
        None,
    )
    .await;
    let results = results["data"].as_array().expect("results").clone();
    let result = results[0]["id"].as_str().expect("a result").to_string();
    let stepped = results
        .iter()
        .find(|r| r["step_results"].as_array().is_some_and(|s| !s.is_empty()))
        .expect("a result with step results");
    let stepped_case = stepped["test_case_id"].as_str().expect("case").to_string();
    let stepped = stepped["id"].as_str().expect("id").to_string();

    // A screenshot and a log on that result (its detail shows them).
    let attach = |name: &str, content_type: &str, body: Vec<u8>| {
        let req = http
            .post(format!(
                "{base}/v1/runs/{DEMO_RUN}/results/{stepped}/attachments?name={name}"
            ))
            .bearer_auth(ADMIN)
            .header("content-type", content_type)
            .body(body);
        async move {
            let res = req.send().await.expect("upload");
            assert!(res.status().is_success(), "{}", res.status());
            let body = res.json::<Value>().await.expect("json");
            body["data"][0]["id"]
                .as_str()
                .expect("attachment id")
                .to_string()
        }
    };
    let image = attach("checkout.png", "image/png", PNG.to_vec()).await;
    let log = attach(
        "server.log",
        "text/plain",
        b"GET /cart 200\nPOST /pay 500 <timeout>\n".to_vec(),
    )
    .await;

    let cases = api(
        reqwest::Method::GET,
        "/v1/projects/prj_001/cases?per_page=100",
        None,
    )
    .await;
    let quarantined = cases["data"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["quarantined"].is_object())
        .and_then(|c| c["id"].as_str())
        .expect("the quarantined case")
        .to_string();

    // A webhook of the project, sent a ping (its page lists the attempt).
    let webhook = api(
        reqwest::Method::POST,
        "/v1/projects/prj_001/webhooks",
        Some(json!({"url": "https://hooks.example.com/verdict", "events": ["run.closed", "results.recorded"], "format": "slack"})),
    )
    .await;
    let webhook = webhook["data"]["id"]
        .as_str()
        .expect("webhook id")
        .to_string();
    api(
        reqwest::Method::POST,
        &format!("/v1/webhooks/{webhook}/test"),
        None,
    )
    .await;

    // The tester signs in with a password; the newcomer is in no project.
    let users = api(reqwest::Method::GET, "/v1/users?per_page=100", None).await;
    let user = users["data"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == TESTER)
        .and_then(|u| u["id"].as_str())
        .expect("the demo tester")
        .to_string();
    api(
        reqwest::Method::PUT,
        &format!("/v1/users/{user}/password"),
        Some(json!({"new_password": PASSWORD})),
    )
    .await;
    let token = api(
        reqwest::Method::POST,
        "/v1/tokens",
        Some(json!({"name": "CI on main"})),
    )
    .await;
    let token = token["data"]["id"].as_str().expect("token id").to_string();
    let me = api(reqwest::Method::GET, "/v1/me", None).await;
    let admin_email = me["data"]["email"].as_str().expect("email").to_string();
    let admin_id = me["data"]["id"].as_str().expect("id").to_string();
    api(
        reqwest::Method::PUT,
        &format!("/v1/users/{admin_id}/password"),
        Some(json!({"new_password": PASSWORD})),
    )
    .await;
    api(
        reqwest::Method::POST,
        "/v1/users",
        Some(json!({"name": "Nia Newcomer", "email": NEWCOMER, "password": PASSWORD})),
    )
    .await;

    let b = Browser::start().await;
    let mut failures = Vec::new();
    let mut others = Vec::new();
    let mut undecided = Vec::new();
    let mut checked = 0;
    let everyone = [
        Who::SignedOut,
        Who::Admin,
        Who::SiteAdmin,
        Who::Tester,
        Who::Newcomer,
    ];
    for who in everyone {
        let account = match who {
            Who::SignedOut => None,
            Who::Admin => Some(("demo@example.com", "demo-password")),
            Who::Tester => Some((TESTER, PASSWORD)),
            Who::Newcomer => Some((NEWCOMER, PASSWORD)),
            Who::SiteAdmin => Some((admin_email.as_str(), PASSWORD)),
        };
        if let Some((email, password)) = account {
            b.client.delete_all_cookies().await.expect("sign out");
            b.sign_in(&base, email, password).await;
            assert_eq!(b.path().await, "/projects", "{email} signed in");
        }
        let cookie = b
            .client
            .get_named_cookie("verdict_session")
            .await
            .map(|c| format!("verdict_session={}", c.value()))
            .unwrap_or_default();
        for (_, page) in PAGES.iter().filter(|(w, _)| *w == who) {
            let path = page
                .replace("{result}", &result)
                .replace("{stepped_case}", &stepped_case)
                .replace("{stepped}", &stepped)
                .replace("{image}", &image)
                .replace("{log}", &log)
                .replace("{token}", &token)
                .replace("{quarantined}", &quarantined)
                .replace("{user}", &user)
                .replace("{webhook}", &webhook);
            let url = format!("{base}{path}");
            // The page is there (not a "Not found" checked by mistake).
            let status = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client")
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16();
            let want = if *page == NOT_FOUND { 404 } else { 200 };
            assert_eq!(status, want, "{path} answers {want}");
            for &(width, height) in SIZES {
                b.resize(width, height).await;
                b.goto(&url).await;
                checked += 1;
                let (violations, incomplete) = axe(&b, &source).await;
                for v in &violations {
                    let line = describe(&path, width, v);
                    if FAILING.contains(&v["impact"].as_str().unwrap_or("")) {
                        failures.push(line);
                    } else {
                        others.push(line);
                    }
                }
                undecided.extend(incomplete.iter().map(|v| describe(&path, width, v)));
            }
        }
    }
    b.quit().await;
    drop(server);

    println!(
        "axe-core checked {checked} pages ({} paths × {} widths)",
        PAGES.len(),
        SIZES.len()
    );
    for line in &others {
        println!("  not failing: {line}");
    }
    for line in &undecided {
        println!("  for a person to review (axe could not decide): {line}");
    }
    assert!(
        failures.is_empty(),
        "{} serious or critical accessibility violation(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
