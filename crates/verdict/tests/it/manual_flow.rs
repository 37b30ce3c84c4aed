//! A QA team's whole day on a fresh install, in real headless Chromium
//! against the real `verdict serve` binary, with nothing but the browser
//! after the admin's password is set (as the README says, with `verdict
//! password set`): the admin signs in, creates a project, a user with a
//! password, makes them a tester, writes three cases with steps in two
//! sections, starts a run over one section and assigns it. The tester
//! signs in, opens *My work*, records each step's result and a defect on
//! one case and marks the rest from the keyboard. The lead exports the run
//! as CSV and prints it. Every write is checked through the API.
//! Skipped (with a message) where Chromium is not installed, unless
//! `VERDICT_REQUIRE_BROWSER=1`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common;
use crate::webdriver;

use common::Server;
use serde_json::{Value, json};
use webdriver::{Browser, ONE_AT_A_TIME, available};

const ADMIN_TOKEN: &str = "vdt_manual_flow_admin_0123456789abcdef";
const ADMIN_EMAIL: &str = "admin@localhost";
const ADMIN_PASSWORD: &str = "lead-secret-words";
const TESTER_EMAIL: &str = "tess@example.com";
const TESTER_PASSWORD: &str = "tester-secret-words";

/// The API as the admin, to check what the browser did.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("API request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.expect("json")
    }

    /// The run's results, in order.
    async fn results(&self, run: &str) -> Vec<Value> {
        self.get(&format!("/v1/runs/{run}/results?per_page=100"))
            .await["data"]
            .as_array()
            .expect("results")
            .clone()
    }

    async fn user_id(&self, email: &str) -> String {
        let users = self.get("/v1/users?per_page=100").await;
        users["data"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["email"] == email)
            .and_then(|u| u["id"].as_str())
            .unwrap_or_else(|| panic!("no user {email}: {users}"))
            .to_string()
    }
}

/// A case's steps: (action, expected).
type Steps = &'static [(&'static str, &'static str)];

/// `verdict password set` from a pipe, as the README's fresh install does.
fn set_admin_password(server: &Server) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["password", "set"])
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", ADMIN_TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run verdict");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sets a `<select>` to `value` (WebDriver has no "choose an option").
async fn choose(b: &Browser, css: &str, value: &str) {
    let found = b
        .client
        .execute(
            "const s = document.querySelector(arguments[0]);
             if (!s || !Array.from(s.options).some(o => o.value === arguments[1])) return false;
             s.value = arguments[1];
             return true;",
            vec![json!(css), json!(value)],
        )
        .await
        .expect("script");
    assert_eq!(found, json!(true), "{css} has no option {value}");
}

/// The path's segment after `prefix` (`/projects/prj_001/settings` →
/// `prj_001` for `/projects/`).
fn id_after(path: &str, prefix: &str) -> String {
    path.strip_prefix(prefix)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .unwrap_or_else(|| panic!("{path} does not start with {prefix}"))
        .to_string()
}

async fn wait_for_path(b: &Browser, what: &str, prefix: &str) -> String {
    b.until(what, || async { b.path().await.starts_with(prefix) })
        .await;
    b.path().await
}

#[tokio::test]
async fn a_fresh_install_is_set_up_tested_by_hand_and_reported_in_the_browser() {
    if !available("a_fresh_install_is_set_up_tested_by_hand_and_reported_in_the_browser") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("verdict.db"), Some(ADMIN_TOKEN));
    let base = server.url.clone();
    let api = Api {
        http: common::http(),
        base: base.clone(),
    };
    set_admin_password(&server);
    let b = Browser::start().await;

    // The admin signs in and is shown how to start.
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(b.path().await, "/projects");
    assert!(b.text("main").await.contains("Create your first project"));
    b.fill("#project-name", "Shop").await;
    b.click("form[action='/projects'] button[type=submit]")
        .await;
    let path = wait_for_path(&b, "the new project's settings", "/projects/prj_").await;
    let pid = id_after(&path, "/projects/");
    assert_eq!(
        api.get(&format!("/v1/projects/{pid}")).await["data"]["name"],
        "Shop"
    );

    // A user with a password.
    b.click("header.top nav a[href='/users']").await;
    wait_for_path(&b, "the users page", "/users").await;
    b.fill("#user-name", "Tess Tester").await;
    b.fill("#user-email", TESTER_EMAIL).await;
    b.fill("#user-password", TESTER_PASSWORD).await;
    b.click("form[action='/users'] button[type=submit]").await;
    b.until("the new user listed", || async {
        b.try_text("main")
            .await
            .is_some_and(|t| t.contains(TESTER_EMAIL))
    })
    .await;
    let tess = api.user_id(TESTER_EMAIL).await;

    // Tess becomes a tester of the project.
    b.goto(&format!("{base}/projects/{pid}/settings")).await;
    b.fill("#member-email", TESTER_EMAIL).await;
    choose(&b, "#member-role", "tester").await;
    b.click(&format!(
        "form[action='/projects/{pid}/members'] button[type=submit]"
    ))
    .await;
    b.until("Tess a tester of the project", || async {
        let members = api.get(&format!("/v1/projects/{pid}/members")).await;
        members["data"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["user_id"] == tess.as_str() && m["role"] == "tester")
        })
    })
    .await;

    // Three cases with steps, in two sections.
    let cases: [(&str, &str, Steps); 3] = [
        (
            "Pay by card",
            "Checkout",
            &[
                ("Add a book to the cart", "The cart holds one book"),
                ("Pay with the test card 4242", "The order is confirmed"),
            ],
        ),
        (
            "Apply a voucher",
            "Checkout",
            &[("Enter the voucher SAVE10", "The total drops by 10%")],
        ),
        (
            "Reset the password",
            "Account",
            &[("Ask for a reset link", "An email arrives within a minute")],
        ),
    ];
    for (title, suite, steps) in cases {
        b.goto(&format!("{base}/projects/{pid}/cases/new")).await;
        b.fill("#case-title", title).await;
        b.fill("#case-suite", suite).await;
        for (i, (action, expected)) in steps.iter().enumerate() {
            b.fill(&format!("#step-action-{i}"), action).await;
            b.fill(&format!("#step-expected-{i}"), expected).await;
        }
        b.click("form.case-form button.primary").await;
        let path = wait_for_path(&b, "the new case's page", "/cases/tc_").await;
        let case = api
            .get(&format!("/v1/cases/{}", id_after(&path, "/cases/")))
            .await;
        assert_eq!(case["data"]["title"], title);
        assert_eq!(case["data"]["suite"], suite);
        assert_eq!(
            case["data"]["steps"].as_array().map(Vec::len),
            Some(steps.len()),
            "{case}"
        );
    }
    b.goto(&format!("{base}/projects/{pid}/cases")).await;
    let listed = b.text("main").await;
    for shown in ["Checkout", "Account", "Pay by card", "Reset the password"] {
        assert!(listed.contains(shown), "{shown}: {listed}");
    }

    // A run over the Checkout section.
    b.goto(&format!("{base}/projects/{pid}/runs/new")).await;
    b.fill("#run-name", "Release 1.0, checkout").await;
    b.click("input[name=scope][value=section]").await;
    choose(&b, "#run-section", "Checkout").await;
    b.click("form.run-form button.primary").await;
    let path = wait_for_path(&b, "the new run's page", "/runs/run_").await;
    let rid = id_after(&path, "/runs/");
    let results = api.results(&rid).await;
    let mut titles: Vec<&str> = results
        .iter()
        .filter_map(|r| r["test_case_title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Apply a voucher", "Pay by card"]);

    // Assigned to Tess, every result at once.
    b.click("details.assign-tools summary").await;
    choose(&b, "#assign-unassigned-to", &tess).await;
    b.click("form:has(#assign-unassigned-to) button[type=submit]")
        .await;
    b.until("both results assigned to Tess", || async {
        api.results(&rid)
            .await
            .iter()
            .all(|r| r["assigned_to"] == tess.as_str())
    })
    .await;
    b.click("form.signout button").await;
    wait_for_path(&b, "the sign-in page", "/login").await;

    // Tess signs in and opens My work: both results, untested.
    b.sign_in(&base, TESTER_EMAIL, TESTER_PASSWORD).await;
    b.click("header.top nav a[href='/work']").await;
    wait_for_path(&b, "My work", "/work").await;
    assert_eq!(b.count("table.work tbody tr").await, 2);
    let card = results
        .iter()
        .find(|r| r["test_case_title"] == "Pay by card")
        .and_then(|r| r["id"].as_str())
        .expect("the card result")
        .to_string();
    let voucher = results
        .iter()
        .find(|r| r["test_case_title"] == "Apply a voucher")
        .and_then(|r| r["id"].as_str())
        .expect("the voucher result")
        .to_string();
    b.click(&format!("table.work a[href*='result={card}']"))
        .await;
    b.until("the card result's detail", || async {
        b.count(&format!("#detail[data-result='{card}'] #record-{card}"))
            .await
            == 1
    })
    .await;
    let detail = b.text("#detail").await;
    assert!(
        detail.contains("Pay with the test card 4242") && detail.contains("The order is confirmed"),
        "{detail}"
    );

    // Each step's result, a defect, then Failed.
    choose(&b, &format!("#step-{card}-1"), "passed").await;
    choose(&b, &format!("#step-{card}-2"), "failed").await;
    b.fill(&format!("#actual-{card}-2"), "Declined: card refused")
        .await;
    b.fill(&format!("#defects-{card}"), "SHOP-101").await;
    b.click(&format!("#record-{card} button.mark.st-failed"))
        .await;
    b.until("the card result failed", || async {
        api.get(&format!("/v1/runs/{rid}/results/{card}")).await["data"]["status"] == "failed"
    })
    .await;
    let recorded = api.get(&format!("/v1/runs/{rid}/results/{card}")).await;
    assert_eq!(
        recorded["data"]["step_results"],
        json!([
            {"status": "passed"},
            {"status": "failed", "actual": "Declined: card refused"}
        ]),
        "{recorded}"
    );
    assert_eq!(recorded["data"]["defects"], json!(["SHOP-101"]));
    assert_eq!(
        recorded["data"]["tested_by"],
        json!(api.user_id(TESTER_EMAIL).await)
    );

    // The rest from the keyboard: the run page opens on the first result
    // nobody has tested, and `p` passes it.
    b.goto(&format!("{base}/runs/{rid}")).await;
    b.until("the voucher result selected", || async {
        b.count(&format!("#detail[data-result='{voucher}']")).await == 1
    })
    .await;
    b.client
        .execute("document.activeElement.blur(); return null;", vec![])
        .await
        .expect("blur");
    b.press("p").await;
    b.until("the voucher result passed", || async {
        api.get(&format!("/v1/runs/{rid}/results/{voucher}")).await["data"]["status"] == "passed"
    })
    .await;
    let counts = api.get(&format!("/v1/runs/{rid}")).await["data"]["counts"].clone();
    assert_eq!(counts["passed"], 1, "{counts}");
    assert_eq!(counts["failed"], 1, "{counts}");
    assert_eq!(counts["not_tested"], 0, "{counts}");
    b.click("form.signout button").await;
    wait_for_path(&b, "the sign-in page", "/login").await;

    // The lead exports the run as CSV and prints it.
    b.sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.goto(&format!("{base}/runs/{rid}")).await;
    let href = b.attr("nav.export a[href$='export.csv']", "href").await;
    let csv = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('error: ' + e));",
            vec![json!(href)],
        )
        .await;
    let csv = csv.as_str().expect("the CSV text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two results: {csv}");
    assert!(lines[0].starts_with("result_id,"), "{csv}");
    let card_line = lines
        .iter()
        .find(|l| l.contains("Pay by card"))
        .expect("the card line");
    for cell in ["failed", TESTER_EMAIL, "SHOP-101", "Checkout"] {
        assert!(card_line.contains(cell), "{cell}: {card_line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Apply a voucher") && l.contains("passed")),
        "{csv}"
    );
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print the run page");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    assert!(pdf.len() > 1_000, "a PDF with a page: {} bytes", pdf.len());
    b.quit().await;
}
