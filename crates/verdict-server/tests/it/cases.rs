//! Test cases: POST/GET /v1/projects/:pid/cases, POST …/cases/bulk and
//! GET/PATCH/DELETE /v1/cases/:cid.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, is_utc_instant};
use serde_json::{Value, json};

fn cases(pid: &str) -> String {
    format!("/v1/projects/{pid}/cases")
}

fn at(case: &str) -> String {
    format!("/v1/cases/{case}")
}

async fn create(app: &TestApp, pid: &str, token: &str, body: Value) -> Resp {
    app.post(&cases(pid), token, body).await
}

async fn bulk(app: &TestApp, pid: &str, token: &str, body: Value) -> Resp {
    app.post(&format!("{}/bulk", cases(pid)), token, body).await
}

/// Every case of a project as the admin sees them.
async fn all_cases(app: &TestApp, pid: &str) -> Vec<Value> {
    let r = app
        .get(&format!("{}?per_page=1000", cases(pid)), &app.admin)
        .await;
    r.ok().as_array().expect("cases").clone()
}

/// The `field` of every item of a list answer, as a JSON array.
fn each(r: &Resp, field: &str) -> Value {
    let items = r.ok().as_array().expect("list");
    Value::Array(items.iter().map(|i| i[field].clone()).collect())
}

#[tokio::test]
async fn a_manager_creates_a_case_with_trimmed_fields() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let manager = app.member(&pid, "mona", "manager").await;
    let body = json!({"title": "  Login works ", "key": " com.acme.Login ", "suite": " Auth "});
    let r = create(&app, &pid, &manager, body).await;
    let case = r.created().clone();
    assert!(case["id"].as_str().unwrap().starts_with("tc_"));
    assert!(is_utc_instant(case["created_at"].as_str().unwrap()));
    let expected = json!({"id": case["id"], "project_id": pid, "title": "Login works",
        "key": "com.acme.Login", "suite": "Auth", "created_at": case["created_at"],
        "quarantined": null, "preconditions": null, "steps": [], "priority": null,
        "refs": []});
    assert_eq!(case, expected);
    assert_eq!(app.get(&at(&r.id()), &manager).await.body, r.body);

    let bare = create(&app, &pid, &manager, json!({"title": "Bare"})).await;
    let case = bare.created();
    assert_eq!((&case["key"], &case["suite"]), (&Value::Null, &Value::Null));
}

#[tokio::test]
async fn creating_a_case_refuses_bad_fields_and_writes_nothing() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    for (body, field) in [
        (json!({}), "body"),
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": 7}), "title"),
        (json!({"title": "x".repeat(1001)}), "title"),
        // A long key is not refused: it is shortened (tests/case_keys.rs).
        (json!({"title": "T", "key": 7}), "key"),
        (json!({"title": "T", "suite": ["a"]}), "suite"),
        (json!({"title": "T", "priority": 1}), "priority"),
    ] {
        create(&app, &pid, &app.admin, body).await.invalid(&[field]);
    }
    assert!(all_cases(&app, &pid).await.is_empty(), "nothing written");
    let r = create(&app, &pid, &app.admin, json!({"title": "x".repeat(1000)})).await;
    assert_eq!(r.created()["title"].as_str().unwrap().len(), 1000);
}

#[tokio::test]
async fn a_case_key_is_unique_per_project() {
    let app = TestApp::new().await;
    let (p1, p2) = (app.project("P1").await, app.project("P2").await);
    let first = create(&app, &p1, &app.admin, json!({"title": "A", "key": "k"})).await;
    let first = first.created().clone();
    let r = create(&app, &p1, &app.admin, json!({"title": "B", "key": " k "})).await;
    r.assert_error(StatusCode::CONFLICT, "duplicate_key");
    assert_eq!(all_cases(&app, &p1).await, [first], "nothing written");
    let r = create(&app, &p2, &app.admin, json!({"title": "B", "key": "k"})).await;
    assert_eq!(r.created()["key"], "k", "another project may use it");
}

#[tokio::test]
async fn only_managers_create_cases_and_strangers_find_no_project() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let body = json!({"title": "T"});
    let many = json!({"cases": [body]});
    for who in [&tester, &viewer] {
        create(&app, &pid, who, body.clone()).await.forbidden();
        bulk(&app, &pid, who, many.clone()).await.forbidden();
    }
    create(&app, &pid, &stranger, body.clone())
        .await
        .not_found();
    bulk(&app, &pid, &stranger, many.clone()).await.not_found();
    for project in ["prj_999", "garbage"] {
        create(&app, project, &app.admin, body.clone())
            .await
            .not_found();
        bulk(&app, project, &app.admin, many.clone())
            .await
            .not_found();
    }
    assert!(all_cases(&app, &pid).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn the_list_pages_and_filters_by_exact_key_and_title_text() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    app.cases(&app.project("Other").await, 2).await;
    let ids = app.cases(&pid, 12).await; // "Case 1" … "Case 12", keys k1 … k12
    let odd = create(&app, &pid, &app.admin, json!({"title": "100% LOGIN_flow"})).await;
    odd.created();
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (app, base, viewer) = (&app, cases(&pid), viewer.as_str());
    let base = base.as_str();
    let list =
        move |query: &'static str| async move { app.get(&format!("{base}?{query}"), viewer).await };

    let r = list("per_page=5&page=3").await;
    assert_eq!(
        each(&r, "title"),
        json!(["Case 11", "Case 12", "100% LOGIN_flow"])
    );
    assert_eq!(
        r.body["meta"],
        json!({"total": 13, "page": 3, "per_page": 5})
    );
    assert_eq!(r.ok()[0]["id"], ids[10].as_str(), "oldest first");
    let r = list("page=4&per_page=5").await;
    assert_eq!(
        r.body,
        json!({"data": [], "meta": {"total": 13, "page": 4, "per_page": 5}})
    );

    let r = list("key=k1").await;
    assert_eq!(each(&r, "title"), json!(["Case 1"]), "exact, not a prefix");
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(list("key=K1").await.body["meta"]["total"], 0);
    assert_eq!(list("key=nope").await.body["meta"]["total"], 0);

    let r = list("q=case%201").await;
    assert_eq!(
        each(&r, "title"),
        json!(["Case 1", "Case 10", "Case 11", "Case 12"])
    );
    assert_eq!(r.body["meta"]["total"], 4);
    assert_eq!(
        each(&list("q=login").await, "title"),
        json!(["100% LOGIN_flow"])
    );
    assert_eq!(
        each(&list("q=0%25").await, "title"),
        json!(["100% LOGIN_flow"])
    );
    assert_eq!(list("q=_").await.body["meta"]["total"], 1, "_ is text");
    assert_eq!(
        list("q=%20%20").await.body["meta"]["total"],
        13,
        "blank: all"
    );
    assert_eq!(
        each(&list("q=case&key=k12").await, "title"),
        json!(["Case 12"])
    );

    for (query, field) in [
        ("per_page=1001", "per_page"),
        ("page=0", "page"),
        ("title=x", "title"),
        ("key=a&key=b", "key"),
    ] {
        list(query).await.invalid(&[field]);
    }
}

#[tokio::test]
async fn a_case_is_read_by_members_and_hidden_from_everyone_else() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let id = app.cases(&pid, 1).await.remove(0);
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let r = app.get(&at(&id), &viewer).await;
    assert_eq!(
        (&r.ok()["title"], &r.ok()["key"]),
        (&json!("Case 1"), &json!("k1"))
    );
    app.get(&at(&id), &stranger).await.not_found();
    app.get(&cases(&pid), &stranger).await.not_found();
    for bad in ["tc_999", "tc_x", "run_001", "1"] {
        app.get(&at(bad), &app.admin).await.not_found();
    }
}

#[tokio::test]
async fn patch_changes_given_fields_and_null_clears_key_and_suite() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let manager = app.member(&pid, "mona", "manager").await;
    let body = json!({"title": "Old", "key": "old.key", "suite": "S"});
    let id = create(&app, &pid, &manager, body).await.id();
    let fields = |r: &Resp| {
        let d = r.ok();
        json!([d["title"], d["key"], d["suite"]])
    };
    let path = at(&id);
    let r = app.patch(&path, &manager, json!({"title": " New "})).await;
    assert_eq!(
        fields(&r),
        json!(["New", "old.key", "S"]),
        "absent: left alone"
    );
    let r = app
        .patch(&path, &manager, json!({"key": "new", "suite": "T"}))
        .await;
    assert_eq!(fields(&r), json!(["New", "new", "T"]));
    let r = app
        .patch(&path, &manager, json!({"key": null, "suite": null}))
        .await;
    assert_eq!(fields(&r), json!(["New", null, null]));
    let r = app.patch(&path, &manager, json!({})).await;
    assert_eq!(
        fields(&r),
        json!(["New", null, null]),
        "an empty patch changes nothing"
    );
    assert_eq!(app.get(&path, &manager).await.body, r.body);
}

#[tokio::test]
async fn a_refused_patch_changes_nothing() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 2).await;
    let tester = app.member(&pid, "tess", "tester").await;
    let (_, stranger) = app.user("stranger").await;
    let path = at(&ids[0]);
    let before = app.get(&path, &app.admin).await.body;
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(1001), "key": "z"}), "title"),
        (json!({"key": ["k"]}), "key"),
        (json!({"suite": 1}), "suite"),
        (json!({"project_id": "prj_002"}), "project_id"),
    ] {
        app.patch(&path, &app.admin, body).await.invalid(&[field]);
    }
    let r = app
        .patch(&path, &app.admin, json!({"title": "Changed", "key": "k2"}))
        .await;
    r.assert_error(StatusCode::CONFLICT, "duplicate_key");
    let change = json!({"title": "Changed"});
    app.patch(&path, &tester, change.clone()).await.forbidden();
    app.patch(&path, &stranger, change.clone())
        .await
        .not_found();
    app.patch(&at("tc_999"), &app.admin, change)
        .await
        .not_found();
    assert_eq!(app.get(&path, &app.admin).await.body, before);
}

#[tokio::test]
async fn delete_hides_the_case_frees_its_key_and_keeps_run_results() {
    let app = TestApp::new().await;
    let (pid, ids, run) = app.seeded(2).await;
    let failed = json!({"results": [{"test_case_id": ids[0], "status": "failed"}]});
    app.bulk(&run, &app.admin, failed).await.ok();
    let tester = app.member(&pid, "tess", "tester").await;
    let (_, stranger) = app.user("stranger").await;
    let path = at(&ids[0]);
    app.delete(&path, &tester).await.forbidden();
    app.delete(&path, &stranger).await.not_found();
    assert_eq!(all_cases(&app, &pid).await.len(), 2, "nothing deleted");
    let r = app.delete(&path, &app.admin).await;
    assert_eq!((r.status, &r.body), (StatusCode::NO_CONTENT, &Value::Null));

    app.get(&path, &app.admin).await.not_found();
    app.patch(&path, &app.admin, json!({"title": "x"}))
        .await
        .not_found();
    app.delete(&path, &app.admin).await.not_found();
    app.delete(&at("tc_999"), &app.admin).await.not_found();
    let left = all_cases(&app, &pid).await;
    assert_eq!(
        left.iter().map(|c| &c["id"]).collect::<Vec<_>>(),
        [&json!(ids[1])]
    );

    // The run keeps the result it recorded for the deleted case.
    let results = app.all_results(&run).await;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["test_case_id"], ids[0].as_str());
    assert_eq!(results[0]["status"], "failed");
    assert_eq!(app.counts(&run).await["failed"], 1);

    // The key is free again; a new run leaves the deleted case out.
    let again = create(
        &app,
        &pid,
        &app.admin,
        json!({"title": "Again", "key": "k1"}),
    )
    .await;
    assert_ne!(again.created()["id"], ids[0].as_str());
    let run2 = app.run(&pid, "Next").await;
    let in_run2: Vec<Value> = app
        .all_results(&run2)
        .await
        .iter()
        .map(|r| r["test_case_id"].clone())
        .collect();
    assert_eq!(in_run2, [json!(ids[1]), json!(again.id())]);
}

#[tokio::test]
async fn bulk_upserts_by_key_in_request_order() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 2).await; // k1, k2
    let body = json!({"cases": [
        {"title": "New A", "key": "a", "suite": "S"},
        {"title": " Renamed 2 ", "key": "k2", "suite": "Moved"},
        {"title": "Unkeyed"},
        {"title": "Unkeyed"},
        {"title": "Renamed 1", "key": "k1"},
        {"title": "A again", "key": "a"},
    ]});
    let r = bulk(&app, &pid, &app.admin, body).await;
    let data = r.ok();
    assert_eq!((&data["created"], &data["updated"]), (&json!(3), &json!(3)));
    let out = data["cases"].as_array().unwrap();
    let (a, u1, u2) = (&out[0]["id"], &out[2]["id"], &out[3]["id"]);
    assert_ne!(u1, u2, "unkeyed entries always create");
    let expected = json!([
        {"id": a, "key": "a", "title": "New A"},
        {"id": ids[1], "key": "k2", "title": "Renamed 2"},
        {"id": u1, "key": null, "title": "Unkeyed"},
        {"id": u2, "key": null, "title": "Unkeyed"},
        {"id": ids[0], "key": "k1", "title": "Renamed 1"},
        {"id": a, "key": "a", "title": "A again"},
    ]);
    assert_eq!(data["cases"], expected);

    let k2 = app.get(&at(&ids[1]), &app.admin).await;
    assert_eq!(
        (&k2.ok()["title"], &k2.ok()["suite"]),
        (&json!("Renamed 2"), &json!("Moved"))
    );
    let k1 = app.get(&at(&ids[0]), &app.admin).await;
    assert_eq!(
        k1.ok()["suite"],
        Value::Null,
        "the entry's suite, none here"
    );
    assert_eq!(all_cases(&app, &pid).await.len(), 5);

    let r = bulk(&app, &pid, &app.admin, json!({"cases": []})).await;
    assert_eq!(
        r.body,
        json!({"data": {"created": 0, "updated": 0, "cases": []}})
    );
}

#[tokio::test]
async fn bulk_with_bad_entries_names_each_and_writes_nothing() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    app.cases(&pid, 1).await;
    let before = all_cases(&app, &pid).await;
    let body = json!({"cases": [
        {"title": "Fine", "key": "fine"},
        {"title": "  "},
        {"title": "Renamed", "key": "k1"},
        {"title": "x".repeat(1001), "suite": "s".repeat(1001)},
    ]});
    let r = bulk(&app, &pid, &app.admin, body).await;
    r.invalid(&["cases[1].title", "cases[3].title", "cases[3].suite"]);
    for (body, field) in [
        (json!({"cases": [{"title": "A"}, {"key": "k"}]}), "cases[1]"),
        (
            json!({"cases": [{"title": "A", "id": "tc_001"}]}),
            "cases[0].id",
        ),
        (json!({"cases": {"title": "A"}}), "cases"),
        (json!({}), "body"),
    ] {
        bulk(&app, &pid, &app.admin, body).await.invalid(&[field]);
    }
    assert_eq!(all_cases(&app, &pid).await, before, "nothing written");
}

/// The fields a tester follows, as one case holds them.
fn details(d: &Value) -> Value {
    json!([d["preconditions"], d["steps"], d["priority"], d["refs"]])
}

#[tokio::test]
async fn case_details_round_trip_through_create_get_list_and_patch() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let manager = app.member(&pid, "mona", "manager").await;
    let body = json!({"title": "Checkout", "key": "shop.checkout",
        "preconditions": "  A cart with one item.\nA signed-in user.  ",
        "steps": [
            {"action": " Open the cart ", "expected": " The item is listed "},
            {"action": "Pay", "expected": "  "},
            {"action": "Read the receipt"},
        ],
        "priority": "high",
        "refs": [" REQ-12 ", "BUG-7"]});
    let r = create(&app, &pid, &manager, body).await;
    let case = r.created().clone();
    let want = json!([
        "A cart with one item.\nA signed-in user.",
        [
            {"action": "Open the cart", "expected": "The item is listed"},
            {"action": "Pay", "expected": null},
            {"action": "Read the receipt", "expected": null},
        ],
        "high",
        ["REQ-12", "BUG-7"],
    ]);
    assert_eq!(details(&case), want, "trimmed; a blank expected is none");
    let path = at(&r.id());
    assert_eq!(app.get(&path, &manager).await.body, r.body);
    let listed = all_cases(&app, &pid).await;
    assert_eq!(listed, [case]);

    let r = app
        .patch(&path, &manager, json!({"priority": "critical"}))
        .await;
    let mut changed = want.clone();
    changed[2] = json!("critical");
    assert_eq!(details(r.ok()), changed, "absent: left alone");
    let r = app
        .patch(
            &path,
            &manager,
            json!({"steps": [{"action": "Only step"}], "refs": ["R"]}),
        )
        .await;
    assert_eq!(
        (&r.ok()["steps"], &r.ok()["refs"]),
        (
            &json!([{"action": "Only step", "expected": null}]),
            &json!(["R"])
        )
    );
    let r = app
        .patch(
            &path,
            &manager,
            json!({"preconditions": null, "steps": [], "priority": null, "refs": null}),
        )
        .await;
    assert_eq!(details(r.ok()), json!([null, [], null, []]), "cleared");
    assert_eq!(app.get(&path, &manager).await.body, r.body);
}

#[tokio::test]
async fn bad_case_details_are_refused_naming_the_field() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let step = |action: String| json!({"action": action});
    let many: Vec<Value> = (0..101).map(|i| step(format!("step {i}"))).collect();
    for (body, field) in [
        (json!({"steps": many}), "steps"),
        (
            json!({"steps": [step("ok".into()), step("ok".into()), step("ok".into()), step("  ".into())]}),
            "steps[3].action",
        ),
        (json!({"steps": [step("".into())]}), "steps[0].action"),
        (
            json!({"steps": [step("x".repeat(10_001))]}),
            "steps[0].action",
        ),
        (
            json!({"steps": [{"action": "a", "expected": "x".repeat(10_001)}]}),
            "steps[0].expected",
        ),
        (json!({"steps": [{"expected": "e"}]}), "steps[0]"),
        (
            json!({"steps": [{"action": "a", "result": "passed"}]}),
            "steps[0].result",
        ),
        (json!({"steps": "do it"}), "steps"),
        (json!({"priority": "urgent"}), "priority"),
        (json!({"priority": "High"}), "priority"),
        (json!({"refs": ["REQ-1", 7]}), "refs[1]"),
        (json!({"refs": [""]}), "refs[0]"),
        (json!({"refs": ["a\u{7}b"]}), "refs[0]"),
        (json!({"refs": ["r".repeat(256)]}), "refs[0]"),
        (json!({"refs": vec!["R"; 101]}), "refs"),
        (
            json!({"preconditions": "p".repeat(65_537)}),
            "preconditions",
        ),
        (json!({"preconditions": ["p"]}), "preconditions"),
    ] {
        let mut with_title = body.clone();
        with_title["title"] = json!("T");
        create(&app, &pid, &app.admin, with_title)
            .await
            .invalid(&[field]);
    }
    assert!(all_cases(&app, &pid).await.is_empty(), "nothing written");

    let fine = json!({"title": "T", "preconditions": "p".repeat(65_536),
        "steps": (0..100).map(|_| step("x".repeat(10_000))).collect::<Vec<_>>(),
        "refs": vec!["r".repeat(255); 100]});
    let r = create(&app, &pid, &app.admin, fine).await;
    assert_eq!(r.created()["steps"].as_array().unwrap().len(), 100);

    let path = at(&r.id());
    let before = app.get(&path, &app.admin).await.body;
    for (body, field) in [
        (json!({"priority": "none"}), "priority"),
        (json!({"steps": [{"action": ""}]}), "steps[0].action"),
        (json!({"refs": [null]}), "refs[0]"),
    ] {
        app.patch(&path, &app.admin, body).await.invalid(&[field]);
    }
    assert_eq!(app.get(&path, &app.admin).await.body, before);

    let entries = json!({"cases": [
        {"title": "A", "key": "a"},
        {"title": "B", "steps": [{"action": "ok"}, {"action": " "}]},
        {"title": "C", "priority": "p1"},
    ]});
    bulk(&app, &pid, &app.admin, entries)
        .await
        .invalid(&["cases[1].steps[1].action", "cases[2].priority"]);
    assert_eq!(all_cases(&app, &pid).await.len(), 1, "nothing written");
}

#[tokio::test]
async fn a_bulk_upsert_sets_details_given_and_keeps_those_left_out() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let manual = json!({"title": "Login", "key": "auth.login",
        "preconditions": "A user exists.",
        "steps": [{"action": "Sign in", "expected": "The dashboard shows"}],
        "priority": "critical", "refs": ["REQ-1"]});
    let id = create(&app, &pid, &app.admin, manual).await.id();
    let path = at(&id);
    let want = details(app.get(&path, &app.admin).await.ok());

    // CI upserts by key with title and suite only: the steps stay.
    let ci = json!({"cases": [
        {"title": "Login (CI)", "key": "auth.login", "suite": "auth"},
        {"title": "New", "key": "auth.new", "priority": "low", "refs": ["BUG-2"]},
    ]});
    let r = bulk(&app, &pid, &app.admin, ci).await;
    assert_eq!(
        (&r.ok()["created"], &r.ok()["updated"]),
        (&json!(1), &json!(1))
    );
    let got = app.get(&path, &app.admin).await;
    assert_eq!(got.ok()["title"], "Login (CI)");
    assert_eq!(details(got.ok()), want, "absent: kept");
    let fresh = app
        .get(&at(r.ok()["cases"][1]["id"].as_str().unwrap()), &app.admin)
        .await;
    assert_eq!(details(fresh.ok()), json!([null, [], "low", ["BUG-2"]]));

    // Given ones replace; null or [] clears.
    let change = json!({"cases": [{"title": "Login", "key": "auth.login",
        "steps": [{"action": "Sign in twice"}], "priority": null, "refs": []}]});
    bulk(&app, &pid, &app.admin, change).await.ok();
    let got = app.get(&path, &app.admin).await;
    assert_eq!(
        details(got.ok()),
        json!(["A user exists.", [{"action": "Sign in twice", "expected": null}], null, []])
    );
}
