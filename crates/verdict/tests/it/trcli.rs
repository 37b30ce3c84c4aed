//! TestRail's own CLI, `trcli` (unmodified, pinned in CI by .ci/trcli.sh),
//! uploading JUnit reports to a real `verdict serve` through the TestRail
//! API v2, exactly as a pipeline moving from TestRail would: only `-h`,
//! `-u` and `-k` change. Each upload is then checked through Verdict's own
//! API: sections → case suites, automation ids → case keys, statuses,
//! elapsed times, comments → notes, screenshots → attachments.
//!
//! Skipped, with the reason printed, when `VERDICT_TRCLI` names no
//! executable, unless `VERDICT_REQUIRE_TRCLI=1`, when that is a failure:
//!
//!   . .ci/trcli.sh && VERDICT_REQUIRE_TRCLI=1 cargo test -p verdict --test it trcli

use crate::common::{self, Server};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const TOKEN: &str = "vdt_trcli_admin_token_0123456789abcdef";
const PROJECT: &str = "Web shop";
const EMAIL: &str = "ci@example.com";

/// The trcli to run, or `None` (skip) with the reason printed.
fn trcli() -> Option<PathBuf> {
    let required = std::env::var("VERDICT_REQUIRE_TRCLI").as_deref() == Ok("1");
    let why = match std::env::var_os("VERDICT_TRCLI") {
        Some(p) if Path::new(&p).is_file() => return Some(PathBuf::from(p)),
        Some(p) => format!("VERDICT_TRCLI={} is not a file", Path::new(&p).display()),
        None => "VERDICT_TRCLI is not set (. .ci/trcli.sh installs trcli and sets it)".to_string(),
    };
    assert!(!required, "VERDICT_REQUIRE_TRCLI=1 but {why}");
    println!("SKIPPED: {why}");
    None
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trcli")
        .join(name)
}

async fn api(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    common::api_as(server, TOKEN, method, path, body).await
}

/// POSTs a v1 create and answers the new resource's id.
async fn create(server: &Server, path: &str, body: Value) -> Value {
    api(server, reqwest::Method::POST, path, Some(body)).await["data"]["id"].clone()
}

async fn get(server: &Server, path: &str) -> Value {
    api(server, reqwest::Method::GET, path, None).await["data"].clone()
}

/// A server, a project, a CI user (a manager of it) with an API token,
/// and a folder with the reports, where trcli runs.
struct Setup {
    server: Server,
    bin: PathBuf,
    key: String,
    project: String,
    work: tempfile::TempDir,
    _db: tempfile::TempDir,
}

impl Setup {
    async fn new(bin: PathBuf) -> Setup {
        let db = tempfile::tempdir().expect("tempdir");
        let server = Server::start(&db.path().join("verdict.db"), Some(TOKEN));
        let project = create(&server, "/v1/projects", json!({"name": PROJECT})).await;
        let project = project.as_str().expect("project id").to_string();
        let user = create(&server, "/v1/users", json!({"name": "CI", "email": EMAIL})).await;
        let user = user.as_str().expect("user id").to_string();
        api(
            &server,
            reqwest::Method::PUT,
            &format!("/v1/projects/{project}/members/{user}"),
            Some(json!({"role": "manager"})),
        )
        .await;
        let key = api(
            &server,
            reqwest::Method::POST,
            "/v1/tokens",
            Some(json!({"name": "trcli", "user_id": user})),
        )
        .await["data"]["token"]
            .as_str()
            .expect("token")
            .to_string();
        let work = tempfile::tempdir().expect("tempdir");
        for name in [
            "report.xml",
            "rerun.xml",
            "attachments.xml",
            "screenshot.png",
            "ids_in_names.xml",
        ] {
            std::fs::copy(fixture(name), work.path().join(name)).expect("copy fixture");
        }
        Setup {
            server,
            bin,
            key,
            project,
            work,
            _db: db,
        }
    }

    /// `trcli -y -h URL --project NAME -u EMAIL -k TOKEN parse_junit …`,
    /// which must succeed.
    fn upload(&self, args: &[&str]) -> String {
        let out = self.trcli(args);
        let text = text(&out);
        assert!(out.status.success(), "trcli {args:?} failed:\n{text}");
        text
    }

    fn trcli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(["-y", "-h", &self.server.url, "--project", PROJECT])
            .args(["-u", EMAIL, "-k", &self.key, "parse_junit"])
            .args(args)
            .current_dir(self.work.path())
            // trcli asks PyPI for a newer version at start-up: keep that
            // off the network and out of the user's home.
            .env("HOME", self.work.path())
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .expect("run trcli")
    }

    /// A report from a template fixture, `@CASE1@`/`@CASE2@` replaced.
    fn report(&self, template: &str, cases: [i64; 2]) -> String {
        let text = std::fs::read_to_string(fixture(template)).expect("fixture");
        let text = text
            .replace("@CASE1@", &cases[0].to_string())
            .replace("@CASE2@", &cases[1].to_string());
        std::fs::write(self.work.path().join(template), text).expect("write report");
        template.to_string()
    }

    async fn cases(&self) -> Vec<Value> {
        let cases = get(
            &self.server,
            &format!("/v1/projects/{}/cases?per_page=100", self.project),
        )
        .await;
        cases.as_array().expect("cases").clone()
    }

    async fn case(&self, key: &str) -> Value {
        self.cases()
            .await
            .into_iter()
            .find(|c| c["key"] == key)
            .unwrap_or_else(|| panic!("no case with key {key}"))
    }

    async fn run(&self, name: &str) -> Value {
        let runs = get(
            &self.server,
            &format!("/v1/projects/{}/runs?per_page=100", self.project),
        )
        .await;
        let found: Vec<Value> = runs
            .as_array()
            .expect("runs")
            .iter()
            .filter(|r| r["name"] == name)
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "one run named {name}: {runs}");
        found[0].clone()
    }

    /// The run's results by case id.
    async fn results(&self, run: &Value) -> Vec<Value> {
        let id = run["id"].as_str().expect("run id");
        let results = get(
            &self.server,
            &format!("/v1/runs/{id}/results?per_page=1000"),
        )
        .await;
        results.as_array().expect("results").clone()
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The number of a Verdict id (`tc_007` → 7): a TestRail id.
fn num(id: &Value) -> i64 {
    id.as_str()
        .and_then(|s| s.rsplit('_').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a Verdict id: {id}"))
}

fn result_of<'a>(results: &'a [Value], case: &Value) -> &'a Value {
    results
        .iter()
        .find(|r| r["test_case_id"] == case["id"])
        .unwrap_or_else(|| panic!("no result for {case}"))
}

#[tokio::test]
async fn trcli_uploads_reports_unchanged() {
    let Some(bin) = trcli() else { return };
    let s = Setup::new(bin).await;

    // 1. A plain upload: sections, cases (automation ids) and a run.
    let out = s.upload(&["-f", "report.xml", "--title", "Nightly 1"]);
    println!("{out}");
    let pays = s.case("shop.CheckoutTest.pays_with_card").await;
    let expired = s.case("shop.CheckoutTest.rejects_expired_card").await;
    let voucher = s.case("shop.CheckoutTest.applies_voucher").await;
    let signs_in = s.case("shop.LoginTest.signs_in").await;
    for (case, suite, title) in [
        (&pays, "Checkout", "pays_with_card"),
        (&expired, "Checkout", "rejects_expired_card"),
        (&voucher, "Checkout", "applies_voucher"),
        (&signs_in, "Login", "signs_in"),
    ] {
        assert_eq!(case["suite"], suite, "{case}");
        assert_eq!(case["title"], title, "{case}");
    }
    assert_eq!(s.cases().await.len(), 4);
    let nightly = s.run("Nightly 1").await;
    assert_eq!(nightly["state"], "open");
    assert!(
        nightly["description"]
            .as_str()
            .is_some_and(|d| d.contains("browser: firefox")),
        "{nightly}"
    );
    let results = s.results(&nightly).await;
    assert_eq!(results.len(), 4);
    let r = result_of(&results, &pays);
    assert_eq!(
        (&r["status"], &r["elapsed_ms"]),
        (&json!("passed"), &json!(1_000))
    );
    let r = result_of(&results, &expired);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["elapsed_ms"], 65_000);
    let note = r["note"].as_str().unwrap_or("");
    assert!(note.contains("Type: AssertionError"), "{note}");
    assert!(note.contains("expected 402 but got 500"), "{note}");
    assert!(note.contains("CheckoutTest.java:42"), "{note}");
    assert_eq!(result_of(&results, &voucher)["status"], "retest", "skipped");
    assert_eq!(result_of(&results, &signs_in)["elapsed_ms"], 3_000);

    // 2. The same run again (`--run-id`): its results take new executions.
    let run_id = num(&nightly["id"]).to_string();
    s.upload(&["-f", "rerun.xml", "--run-id", &run_id]);
    let results = s.results(&nightly).await;
    assert_eq!(results.len(), 4, "no test added or lost");
    let r = result_of(&results, &expired);
    assert_eq!(
        (&r["status"], &r["elapsed_ms"]),
        (&json!("passed"), &json!(2_000))
    );
    let history = get(
        &s.server,
        &format!(
            "/v1/runs/{}/results/{}/history",
            nightly["id"].as_str().unwrap_or(""),
            r["id"].as_str().unwrap_or("")
        ),
    )
    .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");
    assert_eq!(
        result_of(&results, &voucher)["status"],
        "retest",
        "left alone"
    );
    assert_eq!(s.cases().await.len(), 4, "no case created twice");

    // 3. `--close-run`: a new run, closed once its results are in.
    s.upload(&["-f", "rerun.xml", "--title", "Nightly 2", "--close-run"]);
    let closed = s.run("Nightly 2").await;
    assert_eq!(closed["state"], "closed", "{closed}");
    let results = s.results(&closed).await;
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(|r| r["status"] == "passed"),
        "{results:?}"
    );

    // 4. `--case-matcher name`: C-ids in the names; a test without one
    // becomes a new case in its section.
    let ids = [num(&pays["id"]), num(&expired["id"])];
    let report = s.report("name.xml", ids);
    s.upload(&[
        "-f",
        &report,
        "--title",
        "By name",
        "--case-matcher",
        "name",
    ]);
    let by_name = s.run("By name").await;
    let results = s.results(&by_name).await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(result_of(&results, &pays)["status"], "passed");
    assert_eq!(result_of(&results, &expired)["status"], "failed");
    let receipt = s
        .cases()
        .await
        .into_iter()
        .find(|c| c["title"] == "prints receipt")
        .expect("a case for the test without an id");
    assert_eq!(receipt["suite"], "Checkout");
    assert_eq!(result_of(&results, &receipt)["status"], "passed");

    // 5. `--case-matcher property`: `test_id` properties.
    let report = s.report("property.xml", ids);
    s.upload(&[
        "-f",
        &report,
        "--title",
        "By property",
        "--case-matcher",
        "property",
    ]);
    let results = s.results(&s.run("By property").await).await;
    assert_eq!(results.len(), 2);
    let r = result_of(&results, &pays);
    assert_eq!(
        (&r["status"], &r["elapsed_ms"]),
        (&json!("failed"), &json!(7_000))
    );
    assert!(
        r["note"].as_str().is_some_and(|n| n.contains("declined")),
        "{r}"
    );
    assert_eq!(result_of(&results, &expired)["status"], "passed");

    // 6. An unknown case id is refused before anything is written.
    let report = s.report("property.xml", [999_999, ids[1]]);
    let out = s.trcli(&[
        "-f",
        &report,
        "--title",
        "Unknown id",
        "--case-matcher",
        "property",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let runs = get(
        &s.server,
        &format!("/v1/projects/{}/runs?per_page=100", s.project),
    )
    .await;
    assert!(
        runs.as_array()
            .is_some_and(|r| r.iter().all(|r| r["name"] != "Unknown id")),
        "{runs}"
    );

    // 7. TestRail case ids in the names with the default (auto) matcher:
    // the names, ids and all, are the automation ids.
    s.upload(&["-f", "ids_in_names.xml", "--title", "Search"]);
    let by_sku = s.case("shop.SearchTest.C102_finds_by_sku").await;
    assert_eq!(by_sku["suite"], "Search");
    let results = s.results(&s.run("Search").await).await;
    assert_eq!(result_of(&results, &by_sku)["status"], "failed");
    let by_name = s.case("shop.SearchTest.C101_finds_by_name").await;
    assert_eq!(result_of(&results, &by_name)["status"], "passed");

    // 8. Screenshots named by `testrail_attachment` properties.
    s.upload(&["-f", "attachments.xml", "--title", "UI"]);
    let ui = s.run("UI").await;
    let shows_total = s.case("ui.CartPage.shows_total").await;
    let results = s.results(&ui).await;
    let r = result_of(&results, &shows_total);
    assert_eq!(r["status"], "failed");
    assert!(
        r["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("see the screenshot")),
        "{r}"
    );
    let attachments = get(
        &s.server,
        &format!(
            "/v1/runs/{}/results/{}/attachments",
            ui["id"].as_str().unwrap_or(""),
            r["id"].as_str().unwrap_or("")
        ),
    )
    .await;
    let attachments = attachments.as_array().expect("attachments");
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    let png = std::fs::read(fixture("screenshot.png")).expect("screenshot");
    assert_eq!(attachments[0]["name"], "screenshot.png");
    assert_eq!(attachments[0]["size"], png.len());
    assert_eq!(attachments[0]["execution"], 1);
}

/// `python3`, or `None` (skip) with the reason printed; required with
/// `VERDICT_REQUIRE_TRCLI=1`.
fn python3() -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("python3");
    }
    let required = std::env::var("VERDICT_REQUIRE_TRCLI").as_deref() == Ok("1");
    assert!(
        !required,
        "VERDICT_REQUIRE_TRCLI=1 but python3 is not on PATH"
    );
    println!("SKIPPED: python3 is not on PATH");
    None
}

#[tokio::test]
async fn a_script_in_testrails_example_style_adds_250_results_and_pages_them_back() {
    let Some(python) = python3() else { return };
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("verdict.db"), Some(TOKEN));
    let project = create(&server, "/v1/projects", json!({"name": PROJECT})).await;
    let project = project.as_str().expect("project").to_string();
    let cases: Vec<Value> = (0..250)
        .map(|i| json!({"title": format!("Case {i}"), "key": format!("api.Case{i}")}))
        .collect();
    let made = api(
        &server,
        reqwest::Method::POST,
        &format!("/v1/projects/{project}/cases/bulk"),
        Some(json!({"cases": cases})),
    )
    .await;
    let case_ids: Vec<Value> = made["data"]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    let run = create(
        &server,
        &format!("/v1/projects/{project}/runs"),
        json!({"name": "API script"}),
    )
    .await;
    let admin = get(&server, "/v1/me").await["email"]
        .as_str()
        .expect("admin email")
        .to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/testrail_direct.py");
    let started = std::time::Instant::now();
    let out = Command::new(python)
        .arg(&script)
        .args([server.url.as_str(), &admin, TOKEN, &num(&run).to_string()])
        .args(case_ids.iter().map(|c| num(c).to_string()))
        .output()
        .expect("run the script");
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON line");
    println!("script: {summary} in {took:?}");
    assert_eq!(summary["sent"], 250);
    assert_eq!(summary["answered"], 250);
    assert_eq!(summary["read"], 250);
    assert_eq!(summary["pages"], 3, "100 a page, following _links.next");
    assert_eq!(summary["distinct_ids"], 250);
    assert_eq!(
        summary["by_status"],
        json!({"1": 63, "5": 63, "2": 62, "4": 62})
    );
    // Through Verdict's own API: every result, as the script sent it.
    let results = get(
        &server,
        &format!(
            "/v1/runs/{}/results?per_page=1000",
            run.as_str().unwrap_or("")
        ),
    )
    .await;
    let results = results.as_array().expect("results");
    assert_eq!(results.len(), 250);
    for (i, case) in case_ids.iter().enumerate() {
        let r = results
            .iter()
            .find(|r| &r["test_case_id"] == case)
            .expect("the case's result");
        let status = ["passed", "failed", "blocked", "retest"][i % 4];
        assert_eq!(r["status"], status, "{r}");
        assert_eq!(r["note"], format!("automated result {i}"));
        let seconds = (i / 60) * 60 + i % 60 + 1;
        assert_eq!(r["elapsed_ms"], json!(seconds * 1000), "{r}");
        let defects = if status == "failed" {
            json!([format!("BUG-{i}")])
        } else {
            json!([])
        };
        assert_eq!(r["defects"], defects, "{r}");
    }
}
