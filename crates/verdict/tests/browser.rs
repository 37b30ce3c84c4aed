//! The web UI in real headless Chromium against the real `verdict serve
//! --demo` binary: signing in (and a wrong password refused), the project
//! and run pages, marking results by click and by keyboard, a note, the
//! counts and the chart following, a result's history, a viewer who can
//! change nothing, and signing out. What the browser did is checked through
//! the API. Skipped (with a message) where Chromium is not installed,
//! unless `VERDICT_REQUIRE_BROWSER=1`; `VERDICT_UPDATE_SCREENSHOTS=1` writes
//! the README's screenshots to docs/screenshots/.

mod common;
mod webdriver;

use common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webdriver::{Browser, ONE_AT_A_TIME, available};

const ADMIN: &str = "vdt_browser_test_admin_0123456789";
const DEMO_RUN: &str = "run_002";

/// The API as the admin, to arrange and to check what the browser did.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            http: common::http(),
            base: base.to_string(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("API request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// (id, status, note) of a run's results with this status, in order.
    async fn results(&self, run: &str, status: Option<&str>) -> Vec<(String, String, Value)> {
        let filter = status.map(|s| format!("&status={s}")).unwrap_or_default();
        let page = self
            .get(&format!("/v1/runs/{run}/results?per_page=1000{filter}"))
            .await;
        page["data"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().expect("id").to_string(),
                    r["status"].as_str().expect("status").to_string(),
                    r["note"].clone(),
                )
            })
            .collect()
    }

    async fn status_of(&self, run: &str, id: &str) -> (String, Value) {
        let r = self.get(&format!("/v1/runs/{run}/results/{id}")).await;
        (
            r["data"]["status"].as_str().expect("status").to_string(),
            r["data"]["note"].clone(),
        )
    }

    async fn counts(&self, run: &str) -> Value {
        self.get(&format!("/v1/runs/{run}")).await["data"]["counts"].clone()
    }
}

fn demo_server(dir: &tempfile::TempDir) -> Server {
    Server::start_args(&dir.path().join("verdict.db"), Some(ADMIN), &["--demo"])
}

/// The number in the run summary's counts table for a status.
async fn shown_count(b: &Browser, status: &str) -> i64 {
    b.text(&format!("#summary td[data-status={status}]"))
        .await
        .trim()
        .parse()
        .expect("a count")
}

#[tokio::test]
async fn a_tester_works_through_a_run_by_click_and_by_keyboard() {
    if !available("a_tester_works_through_a_run_by_click_and_by_keyboard") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = demo_server(&dir);
    let base = server.url.clone();
    let api = Api::new(&base);
    let b = Browser::start().await;

    // Sign in; the projects page lists the demo project.
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    assert_eq!(b.path().await, "/projects");
    assert!(
        b.text("main")
            .await
            .contains("Demo: Web shop (sample data)")
    );

    // The project: three runs, each with a stacked bar and a pass rate.
    b.click("main table a").await;
    b.until("the project page", || async {
        b.path().await == "/projects/prj_001"
    })
    .await;
    assert_eq!(b.count("table.runs tbody tr").await, 3);
    assert_eq!(b.count("table.runs svg.bar").await, 3);
    assert!(b.text("table.runs").await.contains('%'));
    b.screenshot("project").await;

    // The run page: mark the first untested result Failed by a click.
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let untested = api.results(DEMO_RUN, Some("not_tested")).await;
    assert!(untested.len() >= 12, "the demo leaves enough to test");
    let clicked = untested[0].0.clone();
    let failed_before = shown_count(&b, "failed").await;
    let chart_before = b.attr("#summary svg.ring", "aria-label").await;
    b.click(&format!("#r-{clicked} button.mark.st-failed"))
        .await;
    b.until("the row to say Failed", || async {
        b.text(&format!("#r-{clicked} td.status"))
            .await
            .contains("Failed")
    })
    .await;
    b.until("the counts to follow", || async {
        shown_count(&b, "failed").await == failed_before + 1
    })
    .await;
    let chart_after = b.attr("#summary svg.ring", "aria-label").await;
    assert_ne!(chart_after, chart_before, "the chart changed");
    assert!(
        chart_after.contains(&format!("{} failed", failed_before + 1)),
        "{chart_after}"
    );
    assert_eq!(api.status_of(DEMO_RUN, &clicked).await.0, "failed");

    // A note, saved with a click on Passed.
    let noted = untested[1].0.clone();
    b.fill(&format!("#note-{noted}"), "Checked on Firefox 128 too")
        .await;
    b.click(&format!("#r-{noted} button.mark.st-passed")).await;
    b.until("the note to be stored", || async {
        api.status_of(DEMO_RUN, &noted).await
            == ("passed".into(), json!("Checked on Firefox 128 too"))
    })
    .await;

    // The keyboard: the untested view starts at its first row; ten keys
    // mark ten results, each moving on to the next.
    b.goto(&format!("{base}/runs/{DEMO_RUN}?status=not_tested"))
        .await;
    b.text("#results tr.current").await;
    let targets: Vec<String> = untested[2..12].iter().map(|r| r.0.clone()).collect();
    let keys = "pfbrppfpbp";
    assert_eq!(
        keys.chars().count(),
        targets.len(),
        "one keystroke per result"
    );
    b.press(keys).await;
    let expected: Vec<&str> = keys
        .chars()
        .map(|k| match k {
            'p' => "passed",
            'f' => "failed",
            'b' => "blocked",
            _ => "retest",
        })
        .collect();
    b.until("ten results marked by ten keys", || async {
        let mut all = true;
        for (id, want) in targets.iter().zip(&expected) {
            all &= api.status_of(DEMO_RUN, id).await.0 == *want;
        }
        all
    })
    .await;
    // The page shows what the API has: statuses by name, and the counts.
    for (id, want) in targets.iter().zip(&expected) {
        let shown = b.text(&format!("#r-{id} td.status")).await.to_lowercase();
        assert!(shown.contains(want), "{id}: {shown}");
    }
    let counts = api.counts(DEMO_RUN).await;
    b.until("the summary to match the API", || async {
        let mut all = true;
        for s in ["passed", "failed", "blocked", "retest", "not_tested"] {
            all &= Some(shown_count(&b, s).await) == counts[s].as_i64();
        }
        all
    })
    .await;

    // `?` opens the shortcut help; `/` goes to the title search.
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    b.press("?").await;
    b.until("the help to open", || async {
        !b.attr("#shortcuts", "open").await.is_empty()
    })
    .await;
    b.press("/checkout\u{e007}").await;
    b.until("the search to apply", || async {
        b.path().await.contains("q=checkout")
    })
    .await;
    let found = b.count("#results tbody tr").await;
    assert!(found > 0, "some titles match");
    for title in b
        .client
        .find_all(fantoccini::Locator::Css("#results td.title"))
        .await
        .expect("titles")
    {
        let title = title.text().await.expect("text");
        assert!(title.to_lowercase().contains("checkout"), "{title}");
    }

    // History: mark the clicked one again; both executions are listed.
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    b.click(&format!("#r-{clicked} button.mark.st-passed"))
        .await;
    b.until("the second execution", || async {
        api.status_of(DEMO_RUN, &clicked).await.0 == "passed"
    })
    .await;
    b.client.set_window_size(1280, 1300).await.expect("resize");
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    b.screenshot("run").await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}/results/{clicked}/history"))
        .await;
    let rows = b.count("table.history tbody tr").await;
    assert_eq!(rows, 2, "two executions");
    let history = b.text("table.history tbody").await;
    let (passed, failed) = (history.find("Passed"), history.find("Failed"));
    assert!(
        passed.is_some() && failed.is_some() && passed < failed,
        "newest first: {history}"
    );
    assert!(history.contains("Dana Demo"));

    // Phone width: the run page fits without sideways scrolling.
    b.client.set_window_size(390, 844).await.expect("resize");
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let fits = b
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(fits, json!(true), "no horizontal scrolling at phone width");
    b.client
        .execute(
            "document.getElementById('results-heading').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scroll");
    b.screenshot("run-phone").await;
    b.client.set_window_size(1280, 900).await.expect("resize");

    // Signing out ends the session: the pages ask to sign in again, and
    // the old cookie is dead on the server too.
    let cookie = b
        .client
        .get_named_cookie("verdict_session")
        .await
        .expect("session cookie")
        .value()
        .to_string();
    b.click("form.signout button").await;
    b.until("the sign-in page", || async {
        b.path().await.starts_with("/login")
    })
    .await;
    assert!(b.text("main").await.contains("signed out"));
    b.goto(&format!("{base}/projects")).await;
    assert!(
        b.path().await.starts_with("/login?next="),
        "{}",
        b.path().await
    );
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = raw
        .get(format!("{base}/projects"))
        .header("cookie", format!("verdict_session={cookie}"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    b.quit().await;
}

#[tokio::test]
async fn a_viewer_cannot_change_anything_and_a_wrong_password_is_refused() {
    if !available("a_viewer_cannot_change_anything_and_a_wrong_password_is_refused") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = demo_server(&dir);
    let base = server.url.clone();
    let api = Api::new(&base);
    let viewer = api
        .send(
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"name": "Vic Viewer", "email": "vic@example.com", "password": "viewer-password"})),
        )
        .await;
    let uid = viewer["data"]["id"].as_str().expect("id").to_string();
    api.send(
        reqwest::Method::PUT,
        &format!("/v1/projects/prj_001/members/{uid}"),
        Some(json!({"role": "viewer"})),
    )
    .await;
    let b = Browser::start().await;

    // A wrong password, and an unknown email: the same refusal, no session.
    for (email, password) in [
        ("vic@example.com", "not-the-password"),
        ("nobody@example.com", "whatever-it-is"),
    ] {
        b.sign_in(&base, email, password).await;
        assert!(b.path().await.starts_with("/login"));
        assert!(
            b.text("p.notice.error")
                .await
                .contains("Wrong email or password")
        );
        assert!(b.client.get_named_cookie("verdict_session").await.is_err());
    }

    b.sign_in(&base, "vic@example.com", "viewer-password").await;
    assert_eq!(b.path().await, "/projects");
    let before = api.results(DEMO_RUN, None).await;
    let counts = api.counts(DEMO_RUN).await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    assert!(b.text("main").await.contains("You are a viewer"));
    assert_eq!(b.count("form.record").await, 0, "no forms to record with");
    assert_eq!(b.count("form.close").await, 0, "no closing");
    // Shortcuts do nothing for a viewer…
    b.press("pfj").await;
    // …and a forged post (with the viewer's own CSRF token) is refused.
    let target = &before[0].0;
    let status = b
        .client
        .execute(
            "const csrf = document.querySelector('input[name=csrf]').value;
             return fetch(arguments[0], {method: 'POST', headers: {Accept: 'application/json'},
               body: new URLSearchParams({csrf, status: 'passed'})}).then(r => r.status);",
            vec![json!(format!("/runs/{DEMO_RUN}/results/{target}"))],
        )
        .await
        .expect("script");
    assert_eq!(status, json!(403));
    let closing = b
        .client
        .execute(
            "const csrf = document.querySelector('input[name=csrf]').value;
             return fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf})})
               .then(r => r.status);",
            vec![json!(format!("/runs/{DEMO_RUN}/close"))],
        )
        .await
        .expect("script");
    assert_eq!(closing, json!(403));
    assert_eq!(api.results(DEMO_RUN, None).await, before, "nothing changed");
    assert_eq!(api.counts(DEMO_RUN).await, counts);
    b.quit().await;
}
