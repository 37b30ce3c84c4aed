//! What property-based testing of the live API (`.ci/schemathesis.sh`)
//! found, one test per finding, so each stays fixed without running
//! Schemathesis.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

/// Ids may carry any number of leading zeros (`tc_1` = `tc_001` =
/// `tc_0000000000000000000001`): the OpenAPI id pattern allows them, and
/// the server used to refuse more than 19 digits in all.
#[tokio::test]
async fn ids_with_many_leading_zeros_name_the_same_resource() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(1).await;
    let padded = |id: &str| {
        let (prefix, digits) = id.split_once('_').expect("prefix");
        format!("{prefix}_{}{digits}", "0".repeat(25))
    };
    let r = app
        .get(&format!("/v1/runs/{}", padded(&run)), &app.admin)
        .await;
    assert_eq!(r.id(), run);
    let r = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [{"test_case_id": padded(&cases[0]), "status": "passed"}]}),
        )
        .await;
    assert_eq!(r.data()["results"][0]["test_case_id"], cases[0].as_str());
    let me = app.admin_id().await;
    let r = app
        .post(
            "/v1/tokens",
            &app.admin,
            json!({"name": "padded", "user_id": padded(&me)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // All zeros is still no id, and 20 significant digits are past 64 bits.
    let r = app
        .get(&format!("/v1/runs/run_{}", "0".repeat(30)), &app.admin)
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    let r = app
        .get(&format!("/v1/runs/run_{}", "9".repeat(20)), &app.admin)
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
}

/// JSON has one number type: `12.0` is the integer 12, as JSON Schema (and
/// so the document's `"type": "integer"`) says. `1.5` is still refused.
#[tokio::test]
async fn whole_numbers_written_with_a_fraction_are_integers() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(1).await;
    let result = app.result_of(&run, &cases[0]).await;
    let path = format!("/v1/runs/{run}/results/{result}");
    let r = app
        .patch(
            &path,
            &app.admin,
            json!({"status": "passed", "elapsed": 12.0}),
        )
        .await;
    assert_eq!(r.data()["elapsed_ms"], 12_000);
    let r = app
        .patch(
            &path,
            &app.admin,
            json!({"status": "failed", "elapsed_ms": 428810.0, "elapsed": 428}),
        )
        .await;
    assert_eq!(r.data()["elapsed_ms"], 428_810);
    let r = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [{"test_case_id": cases[0], "status": "passed", "elapsed": 1e1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (elapsed, field) in [
        (json!(1.5), "elapsed"),
        (json!(-3.0), "elapsed"),
        (json!(1e300), "elapsed"),
    ] {
        let r = app
            .patch(
                &path,
                &app.admin,
                json!({"status": "passed", "elapsed": elapsed}),
            )
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), [field], "{elapsed}");
    }
}

/// Text limits count the characters sent, as the document's `maxLength`
/// does: padding with spaces cannot smuggle a longer value past them, and
/// a value within them is trimmed as before.
#[tokio::test]
async fn text_limits_count_what_is_sent() {
    let app = TestApp::new().await;
    let padded_email = format!("{}a@b.example", " ".repeat(250));
    let r = app
        .post(
            "/v1/users",
            &app.admin,
            json!({"name": "Pad", "email": padded_email}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["email"]);
    let padded_name = format!("{}name{}", " ".repeat(600), " ".repeat(600));
    let r = app
        .post("/v1/projects", &app.admin, json!({"name": padded_name}))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["name"]);
    let r = app
        .post("/v1/projects", &app.admin, json!({"name": "  Web shop \n"}))
        .await;
    assert_eq!(r.data()["name"], "Web shop");
    let project = r.id();
    // A case key has no limit as sent (the one key rule shortens a long
    // one, as the document's `CaseKey` says): a blank one of any length is
    // no key.
    for blank in ["   ".to_string(), " ".repeat(1001)] {
        let r = app
            .post(
                &format!("/v1/projects/{project}/cases"),
                &app.admin,
                json!({"title": "t", "key": blank}),
            )
            .await;
        assert_eq!(r.data()["key"], serde_json::Value::Null);
    }
}
