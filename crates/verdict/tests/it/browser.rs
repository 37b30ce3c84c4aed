//! The web UI in real headless Chromium against the real `verdict serve
//! --demo` binary: signing in (and a wrong password refused), the project
//! and run pages, marking results by click and by keyboard, a note, the
//! counts and the chart following, a result's history, a viewer who can
//! change nothing, and signing out; a click recording only what the tester
//! entered (multi-line notes kept), keys that mark only untested results
//! and never while typing, `u` undoing a mark, a token shown once without
//! a reload creating another, the "Not found" page and the favicon, and
//! every page fitting a 390 px screen. What the browser did is checked
//! through the API. Skipped (with a message) where Chromium is not installed,
//! unless `VERDICT_REQUIRE_BROWSER=1`; `VERDICT_UPDATE_SCREENSHOTS=1` writes
//! the README's screenshots to docs/screenshots/.

use crate::common;
use crate::webdriver;

use common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webdriver::{Browser, ONE_AT_A_TIME, available};

const ADMIN: &str = "vdt_browser_test_admin_0123456789";
/// The demo's manual release in progress (its runs are made in the order
/// they happened: nine nightlies, release 2.3, eighteen more, then this).
const DEMO_RUN: &str = "run_029";

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

/// What every browser test starts from: its turn at the browser, a server
/// with the demo data in a directory of its own, its URL, and the API as
/// the admin. `None` (the test says it was skipped) without Chromium.
struct Demo {
    _one: tokio::sync::MutexGuard<'static, ()>,
    _dir: tempfile::TempDir,
    _server: Server,
    base: String,
    api: Api,
}

async fn demo(test: &str) -> Option<Demo> {
    if !available(test) {
        return None;
    }
    let one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(&dir.path().join("verdict.db"), Some(ADMIN), &["--demo"]);
    let base = server.url.clone();
    Some(Demo {
        _one: one,
        _dir: dir,
        _server: server,
        api: Api::new(&base),
        base,
    })
}

/// Selects a result on the run page by a click on its line, and waits
/// for its detail (where its form is).
async fn select(b: &Browser, id: &str) {
    b.click(&format!("#r-{id} a.select")).await;
    b.until("the result's detail", || async {
        b.count(&format!("#detail[data-result='{id}'] #record-{id}"))
            .await
            == 1
            || b.count(&format!("#detail[data-result='{id}'] h3")).await == 1
    })
    .await;
}

/// Selects a result and clicks a status button of its detail's form.
async fn mark(b: &Browser, id: &str, status: &str) {
    select(b, id).await;
    b.click(&format!("#record-{id} button.mark.st-{status}"))
        .await;
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
    let Some(demo) = demo("a_tester_works_through_a_run_by_click_and_by_keyboard").await else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let b = Browser::start().await;

    // Sign in; the projects page lists the demo project.
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    assert_eq!(b.path().await, "/projects");
    assert!(
        b.text("main")
            .await
            .contains("Demo: Web shop (sample data)")
    );

    // The project: a page of runs, each with a stacked bar and a pass rate.
    b.click("main table a").await;
    b.until("the project page", || async {
        b.path().await == "/projects/prj_001"
    })
    .await;
    assert_eq!(b.count("table.runs tbody tr").await, 20);
    assert_eq!(b.count("table.runs svg.bar").await, 20);
    assert_eq!(
        api.get(&format!("/v1/runs/{DEMO_RUN}")).await["data"]["name"],
        "Release 2.4 regression"
    );
    assert!(b.text("table.runs").await.contains('%'));
    b.screenshot("project").await;

    // The run page: mark the first untested result Failed by a click.
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let untested = api.results(DEMO_RUN, Some("not_tested")).await;
    assert!(untested.len() >= 12, "the demo leaves enough to test");
    let clicked = untested[0].0.clone();
    let failed_before = shown_count(&b, "failed").await;
    let chart_before = b.attr("#summary svg.ring", "aria-label").await;
    mark(&b, &clicked, "failed").await;
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
    select(&b, &noted).await;
    b.fill(&format!("#note-{noted}"), "Checked on Firefox 128 too")
        .await;
    b.click(&format!("#record-{noted} button.mark.st-passed"))
        .await;
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
    mark(&b, &clicked, "passed").await;
    b.until("the second execution", || async {
        api.status_of(DEMO_RUN, &clicked).await.0 == "passed"
    })
    .await;
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
    let Some(demo) = demo("a_viewer_cannot_change_anything_and_a_wrong_password_is_refused").await
    else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
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
    assert_eq!(b.count(".run-actions .close").await, 0, "no closing");
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

impl Api {
    /// Executions of a result, newest first.
    async fn history(&self, run: &str, id: &str) -> Vec<Value> {
        self.get(&format!("/v1/runs/{run}/results/{id}/history?per_page=100"))
            .await["data"]
            .as_array()
            .expect("history")
            .clone()
    }

    async fn result(&self, run: &str, id: &str) -> Value {
        self.get(&format!("/v1/runs/{run}/results/{id}")).await["data"].clone()
    }

    /// The id of the user with this email.
    async fn user_id(&self, email: &str) -> String {
        self.get("/v1/users?per_page=100").await["data"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["email"] == email)
            .and_then(|u| u["id"].as_str())
            .expect("the user")
            .to_string()
    }
}

/// The run page's rows, in order: (result id, status shown).
async fn rows(b: &Browser) -> Vec<(String, String)> {
    let rows = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('#results tbody tr.result'))
               .map(r => [r.id.slice(2), r.dataset.status]);",
            vec![],
        )
        .await
        .expect("script");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("id").to_string(),
                r[1].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

/// A value computed in the page.
async fn js(b: &Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.expect("script")
}

#[tokio::test]
async fn a_status_click_records_only_what_this_tester_entered() {
    let Some(demo) = demo("a_status_click_records_only_what_this_tester_entered").await else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let dana = api.user_id("demo@example.com").await;
    let untested = api.results(DEMO_RUN, Some("not_tested")).await;
    let (blocked, noted, shown_on) = (
        untested[0].0.clone(),
        untested[1].0.clone(),
        untested[2].0.clone(),
    );
    // Someone else blocked two, with a 17-line stack trace and 45 s.
    let trace = (1..=17)
        .map(|i| format!("    at checkout.step{i} (checkout.js:{i}:7)"))
        .collect::<Vec<_>>()
        .join("\n");
    let note = format!("CI: payment provider down\n{trace}");
    for id in [&blocked, &shown_on] {
        api.send(
            reqwest::Method::PATCH,
            &format!("/v1/runs/{DEMO_RUN}/results/{id}"),
            Some(json!({"status": "blocked", "note": note, "elapsed": 45})),
        )
        .await;
    }

    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;

    // Retest by a click: this tester's execution, with nothing re-recorded.
    mark(&b, &blocked, "retest").await;
    b.until("the retest to be stored", || async {
        api.result(DEMO_RUN, &blocked).await["status"] == "retest"
    })
    .await;
    let now = api.result(DEMO_RUN, &blocked).await;
    assert_eq!(now["tested_by"], json!(dana));
    assert!(now["note"].is_null(), "no note re-recorded: {now}");
    assert!(now["elapsed_ms"].is_null(), "no elapsed re-recorded: {now}");
    let history = api.history(DEMO_RUN, &blocked).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["note"], json!(note), "the first execution kept");

    // Another result blocked the same way: its note is shown in full,
    // line breaks kept; the fields are empty, the note a multi-line one.
    select(&b, &shown_on).await;
    let shown = js(
        &b,
        "return document.querySelector('#detail .current-note .text').innerText;",
    )
    .await;
    assert_eq!(shown, json!(note), "the whole note, read-only");
    let fields = js(
        &b,
        &format!(
            "const n = document.getElementById('note-{shown_on}'),
                   e = document.getElementById('elapsed-{shown_on}');
             return [n.tagName, n.value, e.value];"
        ),
    )
    .await;
    assert_eq!(fields, json!(["TEXTAREA", "", ""]));

    // A note of several lines is stored as typed, then shown read-only,
    // and the field is empty again for the next click.
    let field = format!("#note-{noted}");
    select(&b, &noted).await;
    b.click(&field).await;
    b.fill(&field, "Fails on the second try\nSee SHOP-2300")
        .await;
    b.click(&format!("#record-{noted} button.mark.st-failed"))
        .await;
    b.until("the multi-line note to be stored", || async {
        api.status_of(DEMO_RUN, &noted).await
            == (
                "failed".into(),
                json!("Fails on the second try\nSee SHOP-2300"),
            )
    })
    .await;
    b.until("the page to show it", || async {
        js(
            &b,
            &format!(
                "const t = document.querySelector('#detail[data-result={noted}] .current-note .text');
                 return t ? t.innerText : null;"
            ),
        )
        .await
            == json!("Fails on the second try\nSee SHOP-2300")
    })
    .await;
    assert_eq!(
        js(
            &b,
            &format!("return document.getElementById('note-{noted}').value;")
        )
        .await,
        json!("")
    );
    b.quit().await;
}

#[tokio::test]
async fn keys_mark_only_untested_results_never_while_typing_and_u_undoes() {
    let Some(demo) = demo("keys_mark_only_untested_results_never_while_typing_and_u_undoes").await
    else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let dana = api.user_id("demo@example.com").await;
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    b.text("#results tr.current").await;
    let page = rows(&b).await;
    let before = api.results(DEMO_RUN, None).await;

    // Ten keys mark the first ten untested results, skipping the ones
    // colleagues have tested in between.
    let targets: Vec<String> = page
        .iter()
        .filter(|r| r.1 == "not_tested")
        .take(10)
        .map(|r| r.0.clone())
        .collect();
    assert_eq!(targets.len(), 10);
    let last = page.iter().position(|r| r.0 == targets[9]).expect("last");
    let skipped = page[..last].iter().filter(|r| r.1 != "not_tested").count();
    let first_at = page.iter().position(|r| r.0 == targets[0]).expect("first");
    assert!(
        skipped > first_at,
        "tested results lie between the untested ones"
    );
    let keys = "pfbrppfpbp";
    b.press(keys).await;
    let want = |k: char| match k {
        'p' => "passed",
        'f' => "failed",
        'b' => "blocked",
        _ => "retest",
    };
    b.until("the saves to finish", || async {
        js(
            &b,
            "return document.querySelectorAll('tr[aria-busy]').length;",
        )
        .await
            == json!(0)
    })
    .await;
    let after = api.results(DEMO_RUN, None).await;
    for (was, now) in before.iter().zip(&after) {
        if !targets.contains(&was.0) {
            assert_eq!(was, now, "a colleague's result was left alone");
        }
    }
    for (id, k) in targets.iter().zip(keys.chars()) {
        assert_eq!(api.status_of(DEMO_RUN, id).await.0, want(k), "{id}");
    }

    // Then Enter from the page (nothing focused) edits the current
    // result's note; keys typed there are text, not marks.
    js(&b, "document.activeElement.blur(); return null;").await;
    let first = page
        .iter()
        .filter(|r| r.1 == "not_tested")
        .nth(10)
        .expect("an eleventh untested result")
        .0
        .clone();
    b.until("the eleventh result's detail", || async {
        b.count(&format!("#detail[data-result='{first}'] #note-{first}"))
            .await
            == 1
    })
    .await;
    b.press("\u{e007}").await;
    assert_eq!(
        js(&b, "return document.activeElement.id;").await,
        json!(format!("note-{first}")),
        "Enter went to the note"
    );
    b.press("pfbrnu").await;
    assert_eq!(
        js(&b, "return document.activeElement.value;").await,
        json!("pfbrnu")
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(api.results(DEMO_RUN, None).await, after, "nothing marked");
    js(&b, "document.activeElement.value = ''; return null;").await;
    b.press("\u{e00c}").await; // Escape: back to the row.

    // `u` undoes the last mark: an execution back to not tested.
    b.press("u").await;
    let undone = &targets[9];
    b.until("the last mark undone", || async {
        api.status_of(DEMO_RUN, undone).await.0 == "not_tested"
    })
    .await;
    let history = api.history(DEMO_RUN, undone).await;
    assert_eq!(history.len(), 2, "history keeps both: {history:?}");
    assert_eq!(history[1]["status"], "passed");

    // A click over a colleague's result, then `u`: their status, note and
    // elapsed are back, recorded by this tester; history keeps them all.
    let theirs = before
        .iter()
        .find(|r| r.1 != "not_tested" && r.2.is_string())
        .expect("a tested result with a note")
        .0
        .clone();
    let was = api.result(DEMO_RUN, &theirs).await;
    let earlier = api.history(DEMO_RUN, &theirs).await.len();
    let other = if was["status"] == "failed" {
        "blocked"
    } else {
        "failed"
    };
    mark(&b, &theirs, other).await;
    b.until("the click stored", || async {
        api.status_of(DEMO_RUN, &theirs).await.0 == other
    })
    .await;
    b.press("u").await;
    b.until("the click undone", || async {
        api.status_of(DEMO_RUN, &theirs).await.0 == was["status"].as_str().expect("status")
    })
    .await;
    let now = api.result(DEMO_RUN, &theirs).await;
    assert_eq!(now["note"], was["note"]);
    assert_eq!(now["elapsed_ms"], was["elapsed_ms"]);
    assert_eq!(now["tested_by"], json!(dana));
    let history = api.history(DEMO_RUN, &theirs).await;
    assert_eq!(history.len(), earlier + 2, "{history:?}");
    assert_eq!(history[1]["status"], other);
    assert_eq!(history[2]["tested_by"], was["tested_by"]);
    b.quit().await;
}

#[tokio::test]
async fn a_new_token_is_shown_once_and_a_reload_creates_nothing() {
    let Some(demo) = demo("a_new_token_is_shown_once_and_a_reload_creates_nothing").await else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/tokens")).await;
    b.fill("#token-name", "CI on main").await;
    b.click("form.inline button[type=submit]").await;
    let secret = b.text("#new-token").await;
    assert!(secret.starts_with("vdt_"), "{secret}");
    assert_eq!(
        b.path().await,
        "/tokens",
        "a GET page, no secret in the URL"
    );
    assert!(
        b.client.get_named_cookie("verdict_flash").await.is_err(),
        "the one-time cookie is gone once read"
    );
    let mine = |secret: String| {
        let api = Api::new(&base);
        async move {
            let res = api
                .http
                .get(format!("{}/v1/tokens?per_page=100", api.base))
                .bearer_auth(secret)
                .send()
                .await
                .expect("request");
            let page: Value = res.json().await.expect("json");
            page["data"].as_array().expect("tokens").len()
        }
    };
    let count = mine(secret.clone()).await;

    b.client.refresh().await.expect("reload");
    b.text("h1").await;
    assert_eq!(b.count("#new-token").await, 0, "shown once");
    assert_eq!(
        mine(secret.clone()).await,
        count,
        "a reload creates nothing"
    );
    b.quit().await;
}

#[tokio::test]
async fn a_manager_adds_a_webhook_sees_its_secret_once_pauses_and_deletes_it() {
    let test = "a_manager_adds_a_webhook_sees_its_secret_once_pauses_and_deletes_it";
    let Some(demo) = demo(test).await else {
        return;
    };
    let base = demo.base.clone();
    let hooks = || async {
        demo.api.get("/v1/projects/prj_001/webhooks").await["data"]
            .as_array()
            .expect("webhooks")
            .clone()
    };
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/projects/prj_001")).await;
    b.click("nav.project-actions a[href='/projects/prj_001/webhooks']")
        .await;
    b.until("the webhooks page", || async {
        b.path().await == "/projects/prj_001/webhooks"
    })
    .await;
    b.fill("#webhook-url", "https://hooks.example.com/verdict")
        .await;
    b.click("form.stacked button.primary").await;
    let secret = b.text("#webhook-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let path = b.path().await;
    assert!(
        path.starts_with("/webhooks/whk_"),
        "{path}: no secret in the URL"
    );
    assert!(
        b.client
            .get_named_cookie("verdict_webhook_secret")
            .await
            .is_err(),
        "the one-time cookie is gone once read"
    );
    let made = hooks().await;
    assert_eq!(made.len(), 1);
    assert_eq!(
        made[0]["events"],
        json!(["run.created", "run.closed", "results.recorded"]),
        "every event by default"
    );
    b.client.refresh().await.expect("reload");
    b.text("h1").await;
    assert_eq!(b.count("#webhook-secret").await, 0, "shown once");
    assert_eq!(hooks().await.len(), 1, "a reload creates nothing");

    b.click("form[action$='/test'] button").await;
    b.until("the ping's notice", || async {
        b.try_text("p.notice")
            .await
            .is_some_and(|t| t.contains("test ping"))
    })
    .await;
    b.click("form[action$='/active'] button").await;
    b.until("paused", || async {
        b.try_text("form[action$='/active'] button")
            .await
            .as_deref()
            == Some("Resume")
    })
    .await;
    assert_eq!(hooks().await[0]["active"], false);
    b.click("a[href$='/delete']").await;
    b.click("form.confirm button.danger").await;
    b.until("back on the list", || async {
        b.path().await == "/projects/prj_001/webhooks"
    })
    .await;
    assert!(hooks().await.is_empty());
    b.quit().await;
}

#[tokio::test]
async fn an_unknown_page_keeps_the_navigation_and_the_favicon_is_served() {
    let Some(demo) = demo("an_unknown_page_keeps_the_navigation_and_the_favicon_is_served").await
    else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/no/such/page")).await;
    assert_eq!(b.text("h1").await, "Not found");
    assert_eq!(b.count("header.top nav a[href='/projects']").await, 1);
    assert_eq!(b.count("form.signout").await, 1);
    b.click("header.top nav a[href='/projects']").await;
    b.until("the projects page", || async {
        b.path().await == "/projects"
    })
    .await;

    // The icon the page links, and the one browsers ask for unasked.
    let icons = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('link[rel=icon]');
             Promise.all([link.href, '/favicon.ico'].map(u => fetch(u)
               .then(r => [r.status, r.headers.get('content-type')])))
               .then(done);",
            vec![],
        )
        .await
        .expect("script");
    for icon in icons.as_array().expect("answers") {
        assert_eq!(icon[0], json!(200), "{icon}");
        assert!(
            icon[1].as_str().unwrap_or("").starts_with("image/"),
            "{icon}"
        );
    }
    b.quit().await;
}

#[tokio::test]
async fn every_page_fits_a_phone_screen() {
    let Some(demo) = demo("every_page_fits_a_phone_screen").await else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let dana = api.user_id("demo@example.com").await;
    api.send(
        reqwest::Method::POST,
        "/v1/tokens",
        Some(json!({"name": "Nightly upload from the release pipeline", "user_id": dana})),
    )
    .await;
    let result = api.results(DEMO_RUN, None).await[2].0.clone();
    // A result whose case has steps: its detail has a field per step.
    let stepped = api.results(DEMO_RUN, None).await[3].0.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.client.set_window_size(390, 844).await.expect("resize");
    for path in [
        "/projects".to_string(),
        "/projects/prj_001".into(),
        format!("/runs/{DEMO_RUN}"),
        format!("/runs/{DEMO_RUN}/results/{result}/history"),
        "/projects/prj_001?branch=main".into(),
        "/runs/run_032".into(),
        "/runs/run_032/compare".into(),
        "/runs/run_032/failures".into(),
        "/cases/tc_024".into(),
        "/tokens".into(),
        "/no/such/page".into(),
        "/work".into(),
        format!("/runs/{DEMO_RUN}?result={stepped}"),
        "/projects/prj_001/webhooks".into(),
    ] {
        b.goto(&format!("{base}{path}")).await;
        // The width, and what sticks out (to say which element when it fails).
        let fits = js(
            &b,
            "return [document.documentElement.scrollWidth, window.innerWidth,
               Array.from(document.querySelectorAll('main *'))
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                 .slice(0, 5).map(e => e.tagName + ' ' + e.getAttribute('class'))];",
        )
        .await;
        assert!(
            fits[0].as_i64() <= fits[1].as_i64(),
            "{path}: no horizontal scrolling at 390 px ({fits})"
        );
    }
    // Every Revoke link is on screen, whole.
    b.goto(&format!("{base}/tokens")).await;
    let revoke = js(
        &b,
        "return Array.from(document.querySelectorAll('table.tokens a.revoke'))
           .map(x => { const r = x.getBoundingClientRect();
                       return [r.left >= 0 && r.right <= window.innerWidth, r.right]; });",
    )
    .await;
    let revoke = revoke.as_array().expect("buttons");
    assert!(revoke.len() >= 2, "the session and the token");
    for button in revoke {
        assert_eq!(
            button[0],
            json!(true),
            "Revoke within the viewport: {button}"
        );
    }
    b.quit().await;
}

// --- triage: the comparison, failures, the trend, flaky and slow tests, a case

impl Api {
    /// The id of the demo run named `name`.
    async fn run_named(&self, name: &str) -> String {
        let runs = self.get("/v1/projects/prj_001/runs?per_page=100").await;
        runs["data"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("no run {name}"))
            .to_string()
    }

    /// The id of the demo case whose title is `title`.
    async fn case_titled(&self, title: &str) -> String {
        let cases = self.get("/v1/projects/prj_001/cases?per_page=100").await;
        cases["data"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["title"] == title)
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("no case {title}"))
            .to_string()
    }
}

#[tokio::test]
async fn the_run_page_compares_with_the_last_nightly_and_shows_failures_in_full() {
    let Some(demo) =
        demo("the_run_page_compares_with_the_last_nightly_and_shows_failures_in_full").await
    else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let nightly = api.run_named("Nightly smoke — build 1187").await;
    let previous = api.run_named("Nightly smoke — build 1186").await;
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;

    // The strip: the baseline by name, branch and commit; the counts.
    b.client.set_window_size(1280, 1100).await.expect("resize");
    b.goto(&format!("{base}/runs/{nightly}")).await;
    let strip = b.text("#compare").await;
    assert!(
        strip.contains(&format!(
            "Compared with {previous} Nightly smoke — build 1186 (main @ "
        )),
        "{strip}"
    );
    for shown in ["3 new failures", "1 fixed", "1 still failing"] {
        assert!(strip.contains(shown), "{shown}: {strip}");
    }
    assert!(b.text("dl.run-meta").await.contains("linux / chromium 131"));
    b.screenshot("run-triage").await;

    // Each count links to its changes: the three new failures.
    b.click("#compare li[data-category=new_failure] a").await;
    b.until("the new failures", || async {
        b.path().await == format!("/runs/{nightly}/compare?category=new_failure")
    })
    .await;
    assert_eq!(b.count("table.changes tbody tr").await, 3);
    let changes = b.text("table.changes").await;
    for title in [
        "VAT is shown for EU addresses",
        "Order confirmation email is sent",
        "Pay by card with 3-D Secure challenge",
    ] {
        assert!(changes.contains(title), "{title}: {changes}");
    }
    assert!(!changes.contains("Declined card"), "still failing, not new");

    // The failures, grouped by message: the gateway timeout twice, new;
    // opened, a failure shows its whole stack trace.
    b.goto(&format!("{base}/runs/{nightly}")).await;
    b.click("#compare a[href$='/failures']").await;
    b.until("the failures page", || async {
        b.path().await == format!("/runs/{nightly}/failures")
    })
    .await;
    assert_eq!(b.count("section.failure-group").await, 3);
    let first = b.text("section.failure-group h3").await;
    assert!(
        first.starts_with("New 2 × Error: payment gateway answered"),
        "the largest group first, marked new in words: {first}"
    );
    let trace = "section.failure-group details pre.trace";
    assert_eq!(b.text(trace).await, "", "closed until asked");
    b.click("section.failure-group details summary").await;
    b.until("the stack trace", || async {
        b.text(trace)
            .await
            .contains("at GatewayClient.send (src/payments/gateway.ts:88:13)")
    })
    .await;
    let still = b.text("section.failure-group:nth-of-type(2)").await
        + &b.text("section.failure-group:nth-of-type(3)").await;
    assert!(
        still.contains("the baseline failed like this too"),
        "{still}"
    );
    b.quit().await;
}

#[tokio::test]
async fn the_project_page_charts_the_trend_and_lists_flaky_and_slow_tests() {
    let Some(demo) = demo("the_project_page_charts_the_trend_and_lists_flaky_and_slow_tests").await
    else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.client.set_window_size(1280, 1500).await.expect("resize");
    b.goto(&format!("{base}/projects/prj_001")).await;
    // Every branch by default; the branch field narrows it to main.
    assert!(b.text("#trend-heading").await.contains("every branch"));
    b.fill("#branch", "main").await;
    b.click("form.filters button[type=submit]").await;
    b.until("the main branch", || async {
        b.path().await == "/projects/prj_001?branch=main"
    })
    .await;

    // The chart: an image with words, a bar and a point per run, and the
    // numbers as a table for screen readers.
    let label = b.attr("svg.trend", "aria-label").await;
    assert!(
        label.starts_with("Trend of the latest runs. 30 runs from "),
        "{label}"
    );
    assert_eq!(b.attr("svg.trend", "role").await, "img");
    assert_eq!(b.count("svg.trend g.tr-run").await, 30);
    assert_eq!(b.count("svg.trend rect.tr-rate-mark").await, 30);
    assert_eq!(
        b.count("svg.trend rect.tr-failed").await,
        30 - passes_all(&b).await
    );
    assert_eq!(b.count("#trend .sr-only tbody tr").await, 30);

    // Flaky: PayPal (it passed on a retry too), and the quarantined
    // 3-D Secure case, marked.
    let flaky = b.text("#flaky table").await;
    assert!(flaky.contains("Pay with PayPal"), "{flaky}");
    assert!(flaky.contains("passed on a retry"), "{flaky}");
    assert!(
        flaky.contains("Pay by card with 3-D Secure challenge Quarantined"),
        "{flaky}"
    );
    // Slowest: the guest checkout, which got slower all month.
    let slowest = b.text("#slowest table tbody tr").await;
    assert!(slowest.starts_with("Checkout as a guest"), "{slowest}");
    b.client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    b.screenshot("project-triage").await;

    // A flaky case's title leads to its page.
    b.click("#flaky a[href^='/cases/']").await;
    b.until("the case page", || async {
        b.path().await.starts_with("/cases/")
    })
    .await;
    assert!(b.text("h1").await.contains("Pay with PayPal"));
    b.quit().await;
}

/// How many runs in the chart have no failed bar (nothing failed).
async fn passes_all(b: &Browser) -> usize {
    let none = js(
        b,
        "return Array.from(document.querySelectorAll('svg.trend g.tr-run'))
           .filter(g => !g.querySelector('rect.tr-failed')).length;",
    )
    .await;
    none.as_u64().expect("a number") as usize
}

#[tokio::test]
async fn a_manager_releases_and_quarantines_a_case_from_its_page() {
    let Some(demo) = demo("a_manager_releases_and_quarantines_a_case_from_its_page").await else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let case = api
        .case_titled("Pay by card with 3-D Secure challenge")
        .await;
    let quarantine =
        || async { api.get(&format!("/v1/cases/{case}")).await["data"]["quarantined"].clone() };
    assert!(
        quarantine().await["reason"].is_string(),
        "the demo quarantined it"
    );
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.client.set_window_size(1280, 1300).await.expect("resize");
    b.goto(&format!("{base}/cases/{case}")).await;

    // Its fields, a square per recent run (with its symbol), the
    // durations, and its results across runs.
    assert!(b.text("h1").await.contains("Quarantined"));
    assert!(b.text("#quarantine-state").await.contains("SHOP-2310"));
    assert_eq!(b.count("svg.strip g.sq").await, 30);
    assert_eq!(b.count("svg.strip text.sq-sym").await, 30);
    let strip = b.attr("svg.strip", "aria-label").await;
    assert!(
        strip.starts_with("Status in the last 30 runs, oldest first: "),
        "{strip}"
    );
    assert!(strip.contains("failed") && strip.contains("passed"));
    let spark = b.attr("svg.spark", "aria-label").await;
    assert!(spark.starts_with("Duration in the last"), "{spark}");
    assert_eq!(b.count("table.case-results tbody tr").await, 20);
    assert!(b.text("nav.pager").await.contains("Page 1 of 2"));

    // Released by the form, then quarantined again with a reason: each a
    // post answered by a redirect to the page, so a reload writes nothing.
    b.click("section.quarantine button[type=submit]").await;
    b.until("the page that asks", || async {
        b.path().await == format!("/cases/{case}/release")
    })
    .await;
    assert!(
        b.text("main").await.contains("SHOP-2310"),
        "the reason shown"
    );
    assert!(
        quarantine().await["reason"].is_string(),
        "nothing changed yet"
    );
    b.click("form.confirm button.danger").await;
    // A form post and a redirect: the old page's element goes stale.
    b.until("the release", || async {
        b.try_text("#quarantine-state").await.as_deref() == Some("Not quarantined")
    })
    .await;
    assert_eq!(quarantine().await, Value::Null);
    assert_eq!(b.path().await, format!("/cases/{case}"));
    b.fill("#reason", "Gateway sandbox flaky again (SHOP-2310)")
        .await;
    b.click("section.quarantine button[type=submit]").await;
    b.until("the quarantine", || async {
        b.try_text("#quarantine-state")
            .await
            .is_some_and(|t| t.contains("Gateway sandbox flaky again"))
    })
    .await;
    let at = quarantine().await["at"].clone();
    assert_eq!(
        quarantine().await["reason"],
        "Gateway sandbox flaky again (SHOP-2310)"
    );
    b.client.refresh().await.expect("reload");
    b.text("#quarantine-state").await;
    assert_eq!(quarantine().await["at"], at, "the reload wrote nothing");
    b.client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    b.screenshot("case").await;

    // A viewer sees the state, but no form.
    b.quit().await;
    let b = Browser::start().await;
    let viewer = "vic@example.com";
    let uid = api
        .send(
            reqwest::Method::POST,
            "/v1/users",
            Some(
                json!({"name": "Vic Viewer", "email": viewer, "password": "correct horse battery"}),
            ),
        )
        .await["data"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    api.send(
        reqwest::Method::PUT,
        &format!("/v1/projects/prj_001/members/{uid}"),
        Some(json!({"role": "viewer"})),
    )
    .await;
    b.sign_in(&base, viewer, "correct horse battery").await;
    b.goto(&format!("{base}/cases/{case}")).await;
    assert!(
        b.text("#quarantine-state")
            .await
            .contains("Gateway sandbox")
    );
    assert_eq!(b.count("section.quarantine").await, 0);
    b.quit().await;
}

// --- the run page as a compact list, step results, defects, My work

#[tokio::test]
async fn twenty_five_results_fit_a_1280_by_800_window_beside_the_detail() {
    let Some(demo) = demo("twenty_five_results_fit_a_1280_by_800_window_beside_the_detail").await
    else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.client.set_window_size(1280, 800).await.expect("resize");
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    b.text("#results tr.current").await;
    // The list where a tester works through it: its top at the window's.
    let shown = js(
        &b,
        "document.getElementById('results').scrollIntoView();
         const inside = (e) => { const r = e.getBoundingClientRect();
           return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; };
         const detail = document.getElementById('detail').getBoundingClientRect();
         const list = document.getElementById('results').getBoundingClientRect();
         return [Array.from(document.querySelectorAll('#results tbody tr.result')).filter(inside).length,
                 window.innerWidth, window.innerHeight, detail.left >= list.right, detail.top < window.innerHeight];",
    )
    .await;
    assert!(
        shown[0].as_u64().expect("rows") >= 25,
        "25 results visible at 1280×800: {shown}"
    );
    assert_eq!(shown[3], json!(true), "the detail beside the list: {shown}");
    assert_eq!(shown[4], json!(true), "and on screen with it: {shown}");

    // Narrow: the detail below the list, nothing sideways.
    b.client.set_window_size(390, 844).await.expect("resize");
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let below = js(
        &b,
        "const d = document.getElementById('detail').getBoundingClientRect();
         const l = document.getElementById('results').getBoundingClientRect();
         return [d.top >= l.bottom, document.documentElement.scrollWidth <= window.innerWidth];",
    )
    .await;
    assert_eq!(below, json!([true, true]));
    b.quit().await;
}

#[tokio::test]
async fn step_results_and_a_defect_are_recorded_and_u_restores_them() {
    let Some(demo) = demo("step_results_and_a_defect_are_recorded_and_u_restores_them").await
    else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let reset = api
        .results(DEMO_RUN, None)
        .await
        .into_iter()
        .find(|r| r.1 == "passed" && r.2.as_str() == Some("Link arrives within a minute."))
        .expect("the password reset result")
        .0;
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.client.set_window_size(1280, 1100).await.expect("resize");
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    select(&b, &reset).await;
    // The case's steps, each with what was recorded last time.
    let detail = b.text("#detail").await;
    for shown in [
        "Choose Forgot password and enter the email",
        "Expected: A form asks for a new password",
        "The link arrived after 40 s",
        "REQ-104",
    ] {
        assert!(detail.contains(shown), "{shown}: {detail}");
    }

    // Step 2 failed with what happened, a defect, then Failed.
    js(
        &b,
        &format!(
            "const s = document.getElementById('step-{reset}-2'); s.value = 'failed';
             return null;"
        ),
    )
    .await;
    b.fill(&format!("#actual-{reset}-2"), "The link had expired")
        .await;
    b.fill(&format!("#defects-{reset}"), "SHOP-2400").await;
    b.click(&format!("#record-{reset} button.mark.st-failed"))
        .await;
    let link =
        "#detail .current-defects a.defect[href='https://issues.example.com/browse/SHOP-2400']";
    b.until("the defect as a link", || async {
        b.count(link).await == 1
    })
    .await;
    assert_eq!(api.status_of(DEMO_RUN, &reset).await.0, "failed");
    let detail = b.text("#detail").await;
    assert!(detail.contains("The link had expired"), "{detail}");
    assert_eq!(
        js(
            &b,
            &format!(
                "return [document.getElementById('defects-{reset}').value,
                              document.getElementById('step-{reset}-2').value];"
            )
        )
        .await,
        json!(["", ""]),
        "the fields are empty again"
    );

    // `u` records what it held before: status, step results, no defect.
    js(&b, "document.activeElement.blur(); return null;").await;
    b.press("u").await;
    b.until("the mark undone", || async {
        api.status_of(DEMO_RUN, &reset).await.0 == "passed"
    })
    .await;
    b.until("the detail to show it", || async {
        b.try_text("#detail li.step:nth-child(2) .now")
            .await
            .is_some_and(|t| t.contains("The link arrived after 40 s"))
    })
    .await;
    assert_eq!(b.count(link).await, 0, "no defect now");
    // History keeps both.
    b.goto(&format!("{base}/runs/{DEMO_RUN}/results/{reset}/history"))
        .await;
    assert_eq!(b.count("table.history tbody tr").await, 3);
    let history = b.text("table.history tbody").await;
    assert!(history.contains("The link had expired") && history.contains("SHOP-2400"));
    assert_eq!(api.history(DEMO_RUN, &reset).await.len(), 3);
    b.quit().await;
}

#[tokio::test]
async fn my_work_lists_what_was_assigned_and_leads_to_the_result() {
    let Some(demo) = demo("my_work_lists_what_was_assigned_and_leads_to_the_result").await else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.click("header.top nav a[href='/work']").await;
    b.until("My work", || async { b.path().await == "/work" })
        .await;
    let before = b.count("table.work tbody tr").await;
    assert!(before > 0, "the demo assigns some to Dana");
    assert!(b.text("main").await.contains("Release 2.4 regression"));

    // Two unassigned results ticked and assigned to Dana on the run page.
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let picked = js(
        &b,
        "return Array.from(document.querySelectorAll('#results tr.result'))
           .filter(r => r.querySelector('td.assignee .nobody'))
           .slice(0, 2).map(r => r.id.slice(2));",
    )
    .await;
    let picked: Vec<String> = picked
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect();
    assert_eq!(picked.len(), 2);
    b.click("details.assign-tools summary").await;
    for id in &picked {
        b.click(&format!("#pick-{id}")).await;
    }
    let dana = demo.api.user_id("demo@example.com").await;
    js(
        &b,
        &format!("document.getElementById('assign-selected-to').value = '{dana}'; return null;"),
    )
    .await;
    b.click("#assign-selected button[type=submit]").await;
    b.until("the lines to say Dana", || async {
        let mut all = true;
        for id in &picked {
            all &= b
                .try_text(&format!("#r-{id} td.assignee"))
                .await
                .is_some_and(|t| t.contains("Dana Demo"));
        }
        all
    })
    .await;

    // My work has them; a line leads to the result, selected.
    b.goto(&format!("{base}/work")).await;
    assert_eq!(b.count("table.work tbody tr").await, before + 2);
    b.click(&format!("table.work a[href*='result={}']", picked[0]))
        .await;
    b.until("the run page with the result", || async {
        b.count(&format!("#detail[data-result='{}']", picked[0]))
            .await
            == 1
    })
    .await;
    assert!(b.path().await.contains(&format!("result={}", picked[0])));
    b.quit().await;
}

#[tokio::test]
async fn the_run_page_prints_as_a_report() {
    let Some(demo) = demo("the_run_page_prints_as_a_report").await else {
        return;
    };
    let base = demo.base.clone();
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    // With the script, a Print button; the no-script hint is hidden.
    assert!(b.text("button.print").await.contains("Print"));
    assert_eq!(b.count(".print-fallback[hidden]").await, 1);
    // The print rules, applied to the screen (as printing would).
    let printed = js(
        &b,
        "for (const sheet of document.styleSheets) for (const rule of sheet.cssRules)
           if (rule.media && rule.media.mediaText === 'print') rule.media.mediaText = 'all';
         const seen = (css) => Array.from(document.querySelectorAll(css))
           .some(e => e.getClientRects().length > 0);
         const shown = (css) => Array.from(document.querySelectorAll(css))
           .filter(e => e.getClientRects().length > 0).length;
         const note = Array.from(document.querySelectorAll('#results span.full-note'))
           .find(e => e.textContent.includes('\\n'));
         return {
           hidden: ['header.top', 'form', 'button', '#detail', 'nav.crumbs', 'details', '.pager', 'td.pick']
             .filter(seen),
           lines: shown('#results tbody tr.result'),
           all: document.querySelectorAll('#results tbody tr.result').length,
           tester: shown('#results td.tested'),
           project: seen('.report-project'),
           counts: seen('#summary table.counts'),
           colour: getComputedStyle(document.querySelector('#results .badge')).color,
           paper: getComputedStyle(document.body).backgroundColor,
           fullNote: note ? note.getClientRects().length > 0 : null,
         };",
    )
    .await;
    assert_eq!(
        printed["hidden"],
        json!([]),
        "no navigation, forms or detail: {printed}"
    );
    assert_eq!(printed["lines"], printed["all"], "every line: {printed}");
    assert_eq!(
        printed["tester"], printed["all"],
        "a tester column: {printed}"
    );
    assert_eq!(printed["project"], json!(true), "{printed}");
    assert_eq!(printed["counts"], json!(true), "{printed}");
    assert_eq!(printed["colour"], json!("rgb(0, 0, 0)"), "{printed}");
    assert_eq!(printed["paper"], json!("rgb(255, 255, 255)"), "{printed}");
    assert_ne!(
        printed["fullNote"],
        json!(false),
        "notes in full: {printed}"
    );
    b.quit().await;
}

// --- the README's screenshots of the manual testing pages

/// Waits for the page, then its screenshot (written with
/// `VERDICT_UPDATE_SCREENSHOTS=1`) from the top.
async fn shoot(b: &Browser, name: &str) {
    js(b, "window.scrollTo(0, 0); return null;").await;
    b.screenshot(name).await;
}

#[tokio::test]
async fn screenshots_of_the_manual_testing_pages() {
    let Some(demo) = demo("screenshots_of_the_manual_testing_pages").await else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    // The demo's password reset result: its case has steps, and the
    // tester recorded a result for each.
    let (reset, case) = api
        .get(&format!("/v1/runs/{DEMO_RUN}/results?per_page=100"))
        .await["data"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["note"] == "Link arrives within a minute.")
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_string(),
                r["test_case_id"].as_str().expect("case").to_string(),
            )
        })
        .expect("the password reset result");
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    // A 1280×800 page: the window is taller by its frame.
    b.resize(1280, 800).await;
    let inner = js(&b, "return window.innerHeight;").await;
    let frame = 800 - inner.as_u64().expect("height").min(800) as u32;
    b.resize(1280, 800 + frame).await;
    assert_eq!(js(&b, "return window.innerHeight;").await, json!(800));

    // The run page: the compact list and, beside it, the selected result
    // with its steps and what was recorded for each.
    b.goto(&format!("{base}/runs/{DEMO_RUN}?result={reset}"))
        .await;
    b.text(&format!("#detail[data-result='{reset}'] #record-{reset}"))
        .await;
    let detail = b.text("#detail").await;
    for shown in [
        "Choose Forgot password and enter the email",
        "The link arrived after 40 s",
    ] {
        assert!(detail.contains(shown), "{shown}: {detail}");
    }
    assert!(b.count("#results tbody tr.result").await >= 25);
    assert_eq!(b.count(&format!("#r-{reset}.current")).await, 1);
    // The list and the detail where a tester works with them.
    js(
        &b,
        "document.getElementById('results-heading').scrollIntoView(); return null;",
    )
    .await;
    b.screenshot("run").await;

    // A case with its preconditions and steps.
    b.goto(&format!("{base}/cases/{case}")).await;
    let steps = b.text("#steps ol.steps").await;
    assert!(
        steps.contains("Choose Forgot password and enter the email"),
        "{steps}"
    );
    assert!(b.count("#steps ol.steps li").await >= 2);
    shoot(&b, "case-steps").await;

    // My work: what is assigned to Dana in open runs.
    b.goto(&format!("{base}/work")).await;
    assert!(b.count("table.work tbody tr").await > 0);
    assert!(b.text("main").await.contains("Release 2.4 regression"));
    shoot(&b, "my-work").await;

    // The project's settings: its defect link template and its members.
    b.goto(&format!("{base}/projects/prj_001/settings")).await;
    assert_eq!(
        b.text("h1").await,
        "Settings of Demo: Web shop (sample data)"
    );
    let members = b.text("main").await;
    for name in ["Dana Demo", "Sam Rivera", "Lee Okafor"] {
        assert!(members.contains(name), "{name}: {members}");
    }
    shoot(&b, "project-settings").await;

    // The test cases with the section tree.
    b.goto(&format!("{base}/projects/prj_001/cases")).await;
    let sections = b.text("nav.sections").await;
    for suite in ["Account", "Cart", "Checkout"] {
        assert!(sections.contains(suite), "{suite}: {sections}");
    }
    shoot(&b, "cases").await;

    // A new run: its name and the cases to pick.
    b.goto(&format!("{base}/projects/prj_001/runs/new")).await;
    assert_eq!(b.text("h1").await, "New run");
    assert_eq!(b.count("form.run-form").await, 1);
    shoot(&b, "new-run").await;
    b.quit().await;
}

/// A 4×4 red PNG, base64 (for files made in the page).
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAYAAACp8Z5+AAAAEklEQVR4nGM4pqHxHxkzkC4AAGfIIVF3OKnFAAAAAElFTkSuQmCC";

/// Dispatches a synthetic `drop` (on the detail) or `paste` (on the page)
/// carrying one PNG named `name`, as a browser does for a dragged file or
/// a screenshot on the clipboard.
async fn hand_over(b: &Browser, how: &str, name: &str) {
    let done = b
        .execute_async(
            "const [how, name, data, done] = arguments;
             const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], name, { type: 'image/png' }));
             const init = { bubbles: true, cancelable: true };
             if (how === 'drop') {
               const target = document.getElementById('detail');
               target.dispatchEvent(new DragEvent('dragover', { ...init, dataTransfer: dt }));
               target.dispatchEvent(new DragEvent('drop', { ...init, dataTransfer: dt }));
             } else {
               document.body.dispatchEvent(new ClipboardEvent('paste', { ...init, clipboardData: dt }));
             }
             done(true);",
            vec![json!(how), json!(name), json!(PNG_BASE64)],
        )
        .await;
    assert_eq!(done, json!(true), "{how}");
}

#[tokio::test]
async fn a_tester_attaches_screenshots_by_file_drop_and_paste_and_reads_a_failures_output() {
    let Some(demo) =
        demo("a_tester_attaches_screenshots_by_file_drop_and_paste_and_reads_a_failures_output")
            .await
    else {
        return;
    };
    let base = demo.base.clone();
    let api = &demo.api;
    let b = Browser::start().await;
    b.sign_in(&base, "demo@example.com", "demo-password").await;
    b.goto(&format!("{base}/runs/{DEMO_RUN}")).await;
    let id = api.results(DEMO_RUN, Some("not_tested")).await[0].0.clone();
    select(&b, &id).await;
    let thumbs = format!("#detail[data-result='{id}'] ul.attachments img");
    assert_eq!(b.count(&thumbs).await, 0);
    assert!(
        b.text(&format!("#attach-{id}"))
            .await
            .contains("paste an image"),
        "the script's ways are offered"
    );

    // By the form's file input (a person's "Choose files").
    let dir = tempfile::tempdir().expect("tempdir");
    let shot = dir.path().join("checkout-error.png");
    let png = {
        // The same PNG as the page makes, from its base64.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in PNG_BASE64.bytes().filter(|c| *c != b'=') {
            let v = alphabet.iter().position(|a| *a == c).expect("base64") as u32;
            bits = (bits << 6) | v;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        out
    };
    std::fs::write(&shot, &png).expect("write the screenshot");
    b.client
        .find(fantoccini::Locator::Css(&format!("#file-{id}")))
        .await
        .expect("the file input")
        .send_keys(&shot.display().to_string())
        .await
        .expect("choose the file");
    b.click(&format!("#attach-{id} button[type=submit]")).await;
    b.until("the chosen file's thumbnail", || async {
        b.count(&thumbs).await == 1
    })
    .await;
    assert!(
        b.text(&format!("#attach-{id} .attach-status"))
            .await
            .contains("Attached checkout-error.png")
    );

    // By a drop on the detail, and by a paste anywhere on the page.
    hand_over(&b, "drop", "dropped.png").await;
    b.until("the dropped file's thumbnail", || async {
        b.count(&thumbs).await == 2
    })
    .await;
    hand_over(&b, "paste", "image.png").await;
    b.until("the pasted image's thumbnail", || async {
        b.count(&thumbs).await == 3
    })
    .await;

    // Stored on the result, the pasted one named by the time.
    let listed = api
        .get(&format!("/v1/runs/{DEMO_RUN}/results/{id}/attachments"))
        .await;
    let names: Vec<String> = listed["data"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "checkout-error.png");
    assert_eq!(names[1], "dropped.png");
    assert!(
        names[2].starts_with("pasted-20") && names[2].ends_with(".png") && names[2].len() == 30,
        "{names:?}"
    );
    for a in listed["data"].as_array().expect("attachments") {
        assert_eq!(a["size"], json!(png.len()), "{a}");
    }
    // Each thumbnail is the image itself, loaded, with its name as text.
    b.until("the thumbnails to load", || async {
        b.client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0]))
                   .every((i) => i.complete && i.naturalWidth === 4);",
                vec![json!(thumbs)],
            )
            .await
            .ok()
            == Some(json!(true))
    })
    .await;
    assert_eq!(b.attr(&thumbs, "alt").await, "checkout-error.png");
    b.client
        .execute(
            "document.querySelector('#detail .detail-files').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scroll");
    b.screenshot("attachments").await;

    // A thumbnail opens the full image on a page of its own.
    b.click(&format!("#detail[data-result='{id}'] a.thumb"))
        .await;
    b.until("the image's page", || async {
        b.path().await.starts_with("/attachments/att_")
    })
    .await;
    assert_eq!(b.text("h1").await, "checkout-error.png");
    assert_eq!(b.count(".full-image img").await, 1);

    // A failure from CI with its output: shown with the failure, collapsed.
    let run = api
        .send(
            reqwest::Method::POST,
            "/v1/projects/prj_001/runs",
            Some(json!({"name": "Nightly with output", "case_ids": []})),
        )
        .await;
    let run = run["data"]["id"].as_str().expect("run").to_string();
    let report = r#"<testsuite name="shop"><testcase classname="shop.cart" name="totals">
        <failure message="expected 42, got 41">AssertionError: expected 42, got 41</failure>
        <system-out>adding 2 items
cart total 41 &lt;wrong&gt;</system-out></testcase></testsuite>"#;
    let res = api
        .http
        .post(format!(
            "{base}/v1/runs/{run}/results/junit?create_missing=true"
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "application/xml")
        .body(report)
        .send()
        .await
        .expect("import");
    assert!(res.status().is_success(), "{}", res.status());
    let failed = api.results(&run, Some("failed")).await[0].0.clone();
    b.goto(&format!("{base}/runs/{run}?result={failed}")).await;
    assert_eq!(
        b.count("#detail details.output[open]").await,
        0,
        "collapsed"
    );
    b.click("#detail details.output summary").await;
    let shown = b.text("#detail details.output pre").await;
    assert!(shown.contains("cart total 41 <wrong>"), "{shown}");
    b.goto(&format!("{base}/runs/{run}/failures")).await;
    b.click("ul.failures details summary").await;
    b.click("ul.failures details.output summary").await;
    assert!(
        b.text("ul.failures details.output pre")
            .await
            .contains("adding 2 items")
    );
    b.quit().await;
}
