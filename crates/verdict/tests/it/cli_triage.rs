//! The CLI's triage as a process against a real server: run metadata from
//! each CI's variables, the comparison line every upload ends with, and the
//! quality gate's table and exit codes (`verdict gate`, gate flags on
//! `verdict upload`).

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::Server;
use serde_json::{Value, json};

const TOKEN: &str = "vdt_cli_triage_token_0123456789abcdef";

/// Every variable the CLI reads to recognise a CI: removed from each
/// command, so a test sets exactly the ones it means (and passes inside a
/// CI too).
pub(crate) const CI_VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_SHA",
    "CI_PIPELINE_URL",
    "CI_JOB_URL",
    "CI_PIPELINE_ID",
    "CIRCLECI",
    "CIRCLE_BUILD_NUM",
    "CIRCLE_BRANCH",
    "CIRCLE_SHA1",
    "CIRCLE_BUILD_URL",
    "BUILDKITE",
    "BUILDKITE_BUILD_NUMBER",
    "BUILDKITE_BRANCH",
    "BUILDKITE_COMMIT",
    "BUILDKITE_BUILD_URL",
    "TF_BUILD",
    "SYSTEM_COLLECTIONURI",
    "SYSTEM_TEAMPROJECT",
    "BUILD_BUILDID",
    "BUILD_BUILDNUMBER",
    "SYSTEM_PULLREQUEST_SOURCEBRANCH",
    "BUILD_SOURCEBRANCH",
    "SYSTEM_PULLREQUEST_SOURCECOMMITID",
    "BUILD_SOURCEVERSION",
    "BITBUCKET_BUILD_NUMBER",
    "BITBUCKET_REPO_FULL_NAME",
    "BITBUCKET_BRANCH",
    "BITBUCKET_COMMIT",
    "JENKINS_URL",
    "JENKINS_HOME",
    "BUILD_NUMBER",
    "CHANGE_BRANCH",
    "BRANCH_NAME",
    "GIT_BRANCH",
    "GIT_COMMIT",
    "BUILD_URL",
];

fn command(server: &Server, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_verdict"));
    for v in CI_VARIABLES {
        cmd.env_remove(v);
    }
    cmd.args(args)
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", TOKEN)
        .envs(vars.iter().copied());
    cmd
}

fn verdict(server: &Server, args: &[&str], vars: &[(&str, &str)]) -> Output {
    command(server, args, vars).output().expect("run verdict")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn api(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    common::api_as(server, TOKEN, method, path, body).await
}

async fn project(server: &Server) -> String {
    let p = api(
        server,
        reqwest::Method::POST,
        "/v1/projects",
        Some(json!({"name": "CI"})),
    )
    .await;
    p["data"]["id"].as_str().expect("id").to_string()
}

/// The project's runs, newest first.
async fn runs_of(server: &Server, project: &str) -> Vec<Value> {
    let r = api(
        server,
        reqwest::Method::GET,
        &format!("/v1/projects/{project}/runs?per_page=1000"),
        None,
    )
    .await;
    let mut runs = r["data"].as_array().expect("runs").clone();
    runs.sort_by_key(|r| std::cmp::Reverse(r["id"].as_str().unwrap_or("").to_string()));
    runs
}

/// A JUnit report of class `T` with these testcases: (name, outcome) where
/// outcome is `pass`, `fail` or `flaky` (a failed attempt, then a pass).
fn report(dir: &Path, file: &str, cases: &[(&str, &str)]) -> String {
    let mut xml = String::from("<testsuite name=\"T\">\n");
    for (name, outcome) in cases {
        let body = match *outcome {
            "fail" => format!(
                "<failure message=\"expected 1 but got {}\">trace</failure>",
                name.len()
            ),
            "flaky" => "<flakyFailure message=\"timeout after 30s\"/>".to_string(),
            _ => String::new(),
        };
        xml.push_str(&format!(
            "  <testcase classname=\"T\" name=\"{name}\" time=\"0.5\">{body}</testcase>\n"
        ));
    }
    xml.push_str("</testsuite>\n");
    let path = dir.join(file);
    std::fs::write(&path, xml).expect("write report");
    path.to_str().expect("utf-8").to_string()
}

fn upload<'a>(pid: &'a str, file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["upload", "--project", pid, "--create-missing"];
    args.extend_from_slice(extra);
    args.push(file);
    args
}

#[tokio::test]
async fn each_ci_fills_branch_commit_and_build_url() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let file = report(db.path(), "r.xml", &[("a", "pass")]);
    let sha = "3f2a1c9e0b1d4c3e9f00123456789abcdef01234";
    // (variables, name, branch, commit, build url)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REF_NAME", "main"),
                ("GITHUB_SHA", sha),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "acme/shop"),
                ("GITHUB_RUN_ID", "1001"),
            ],
            "GitHub Actions run 1001",
            "main",
            sha,
            "https://github.com/acme/shop/actions/runs/1001",
        ),
        (
            // A pull request: the source branch, not the merge ref.
            vec![
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_HEAD_REF", "feature/login"),
                ("GITHUB_REF_NAME", "7/merge"),
                ("GITHUB_SHA", sha),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "acme/shop"),
                ("GITHUB_RUN_ID", "1002"),
            ],
            "GitHub Actions run 1002",
            "feature/login",
            sha,
            "https://github.com/acme/shop/actions/runs/1002",
        ),
        (
            vec![
                ("GITLAB_CI", "true"),
                ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "fix/cart"),
                ("CI_COMMIT_REF_NAME", "fix/cart"),
                ("CI_COMMIT_SHA", sha),
                ("CI_PIPELINE_ID", "55"),
                (
                    "CI_PIPELINE_URL",
                    "https://gitlab.example/acme/shop/-/pipelines/55",
                ),
            ],
            "GitLab pipeline 55",
            "fix/cart",
            sha,
            "https://gitlab.example/acme/shop/-/pipelines/55",
        ),
        (
            vec![
                ("JENKINS_URL", "https://jenkins.example/"),
                ("BUILD_NUMBER", "12"),
                ("CHANGE_BRANCH", "feature/pay"),
                ("BRANCH_NAME", "PR-9"),
                ("GIT_COMMIT", sha),
                ("BUILD_URL", "https://jenkins.example/job/shop/PR-9/12/"),
            ],
            "Jenkins build 12",
            "feature/pay",
            sha,
            "https://jenkins.example/job/shop/PR-9/12/",
        ),
        (
            vec![
                ("CIRCLECI", "true"),
                ("CIRCLE_BUILD_NUM", "77"),
                ("CIRCLE_BRANCH", "develop"),
                ("CIRCLE_SHA1", sha),
                ("CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/shop/77"),
            ],
            "CircleCI build 77",
            "develop",
            sha,
            "https://circleci.com/gh/acme/shop/77",
        ),
        (
            vec![
                ("BUILDKITE", "true"),
                ("BUILDKITE_BUILD_NUMBER", "301"),
                ("BUILDKITE_BRANCH", "release/2.0"),
                ("BUILDKITE_COMMIT", sha),
                (
                    "BUILDKITE_BUILD_URL",
                    "https://buildkite.com/acme/shop/builds/301",
                ),
            ],
            "Buildkite build 301",
            "release/2.0",
            sha,
            "https://buildkite.com/acme/shop/builds/301",
        ),
        (
            vec![
                ("TF_BUILD", "True"),
                ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
                ("SYSTEM_TEAMPROJECT", "shop"),
                ("BUILD_BUILDID", "4242"),
                ("BUILD_BUILDNUMBER", "20261203.1"),
                (
                    "SYSTEM_PULLREQUEST_SOURCEBRANCH",
                    "refs/heads/feature/search",
                ),
                ("BUILD_SOURCEBRANCH", "refs/pull/3/merge"),
                ("SYSTEM_PULLREQUEST_SOURCECOMMITID", sha),
                (
                    "BUILD_SOURCEVERSION",
                    "0000000000000000000000000000000000000000",
                ),
            ],
            "Azure Pipelines build 20261203.1",
            "feature/search",
            sha,
            "https://dev.azure.com/acme/shop/_build/results?buildId=4242",
        ),
        (
            vec![
                ("BITBUCKET_BUILD_NUMBER", "88"),
                ("BITBUCKET_REPO_FULL_NAME", "acme/shop"),
                ("BITBUCKET_BRANCH", "hotfix"),
                ("BITBUCKET_COMMIT", sha),
            ],
            "Bitbucket pipeline 88",
            "hotfix",
            sha,
            "https://bitbucket.org/acme/shop/pipelines/results/88",
        ),
    ];
    for (vars, name, branch, commit, url) in &cases {
        let out = verdict(&server, &upload(&pid, &file, &[]), vars);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let runs = runs_of(&server, &pid).await;
        let run = &runs[0];
        assert_eq!(run["name"], *name, "{}", text(&out));
        assert_eq!(run["branch"], *branch, "{name}");
        assert_eq!(run["commit"], *commit, "{name}");
        assert_eq!(run["build_url"], *url, "{name}");
        assert_eq!(run["environment"], Value::Null, "{name}");
    }

    // Flags win over the CI's variables; a commit is stored lower-case.
    let out = verdict(
        &server,
        &upload(
            &pid,
            &file,
            &[
                "--branch",
                "main",
                "--commit",
                "ABCDEF1",
                "--build-url",
                "https://ci.example/b/1",
                "--environment",
                "linux / chromium 131",
            ],
        ),
        &cases[1].0,
    );
    assert!(out.status.success(), "{}", text(&out));
    let run = &runs_of(&server, &pid).await[0];
    assert_eq!(
        (
            &run["branch"],
            &run["commit"],
            &run["build_url"],
            &run["environment"]
        ),
        (
            &json!("main"),
            &json!("abcdef1"),
            &json!("https://ci.example/b/1"),
            &json!("linux / chromium 131")
        )
    );

    // Outside any CI: no metadata, a name from the time.
    let out = verdict(&server, &upload(&pid, &file, &[]), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let run = &runs_of(&server, &pid).await[0];
    assert_eq!(
        (&run["branch"], &run["commit"]),
        (&Value::Null, &Value::Null)
    );
    assert!(run["name"].as_str().unwrap_or("").starts_with("upload "));

    // A bad commit given by flag is the server's 422, named.
    let out = verdict(
        &server,
        &upload(&pid, &file, &["--commit", "not-a-sha"]),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("commit"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn uploads_end_with_the_comparison_and_the_gate_decides_the_exit_code() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let dir = db.path();
    let r1 = report(
        dir,
        "r1.xml",
        &[("a", "pass"), ("b", "fail"), ("c", "pass")],
    );
    let r2 = report(
        dir,
        "r2.xml",
        &[("a", "fail"), ("b", "pass"), ("c", "pass"), ("d", "flaky")],
    );

    // The first run of a branch has nothing to compare with.
    let out = verdict(
        &server,
        &upload(&pid, &r1, &["--branch", "main", "--commit", "aaaa111"]),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("No earlier run to compare with (main): 1 failure, 0 flaky"),
        "{}",
        text(&out)
    );
    let first = runs_of(&server, &pid).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();

    // The second: a new failure (a), a fix (b), and two flaky tests: a
    // flipped (pass → fail) and d passed after a failed attempt. The gate
    // flag fails the job with code 3 after printing its table.
    let out = verdict(
        &server,
        &upload(
            &pid,
            &r2,
            &[
                "--branch",
                "main",
                "--commit",
                "bbbb2222",
                "--no-new-failures",
            ],
        ),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!(
            "Compared with {first} (main @ aaaa111): 1 new failure, 1 fixed, 2 flaky"
        )),
        "{}",
        text(&out)
    );
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("no_new_failures") && l.contains("FAILED")),
        "{}",
        text(&out)
    );
    assert!(printed.contains(&format!("gate FAILED (baseline {first})")));
    let second = runs_of(&server, &pid).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();

    // `verdict gate`: 0 when every rule holds, 3 when one fails.
    let gate = |args: &[&str]| {
        let mut all = vec!["gate", second.as_str()];
        all.extend_from_slice(args);
        verdict(&server, &all, &[])
    };
    let out = gate(&["--max-failures", "1", "--min-tests", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("gate passed"), "{}", text(&out));
    let out = gate(&["--min-pass-rate", "80"]);
    assert_eq!(out.status.code(), Some(3), "3 of 4 passed: {}", text(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("min_pass_rate") && l.contains("75") && l.contains("80")),
        "{}",
        text(&out)
    );
    let out = gate(&["--no-new-failures", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["passed"], false);
    assert_eq!(answer["baseline_id"], first.as_str());

    // Quarantining the new failure's case: it no longer counts.
    let cases = api(
        &server,
        reqwest::Method::GET,
        &format!("/v1/projects/{pid}/cases?key=T.a"),
        None,
    )
    .await;
    let a = cases["data"][0]["id"].as_str().expect("case a").to_string();
    api(
        &server,
        reqwest::Method::PUT,
        &format!("/v1/cases/{a}/quarantine"),
        Some(json!({"reason": "flaky since the payment change"})),
    )
    .await;
    let out = gate(&["--no-new-failures", "--max-failures", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = gate(&["--no-new-failures", "--include-quarantined"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // The next upload names the quarantined flaky test.
    let out = verdict(
        &server,
        &upload(&pid, &r2, &["--branch", "main", "--no-new-failures"]),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!(
            "Compared with {second} (main @ bbbb222): 0 new failures, 0 fixed, 2 flaky (1 quarantined)"
        )),
        "{}",
        text(&out)
    );

    // Usage and bad input.
    let out = gate(&[]);
    assert_eq!(out.status.code(), Some(2), "no rule: {}", text(&out));
    let out = gate(&["--min-pass-rate", "120"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = gate(&["--no-new-failures", "--baseline", "run_999999"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("baseline"),
        "{}",
        text(&out)
    );
    let out = verdict(&server, &["gate", "run_999999", "--no-new-failures"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        text(&out)
    );
}
