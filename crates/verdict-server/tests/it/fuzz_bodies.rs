//! Property-based fuzzing of request parsing through the real router:
//! arbitrary JSON documents and arbitrary bytes sent to every endpoint that
//! reads a body never cause a 5xx or a panic, and every answer is our JSON
//! envelope. `PROPTEST_CASES` raises the case count for long runs.

use crate::common;

use std::sync::OnceLock;

use axum::http::StatusCode;
use common::TestApp;
use proptest::prelude::*;
use serde_json::{Map, Value};

struct World {
    rt: tokio::runtime::Runtime,
    app: TestApp,
    paths: Vec<(String, String)>,
    junit: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (app, paths, junit) = rt.block_on(async {
            let app = TestApp::new().await;
            let (project, _, run) = app.seeded(3).await;
            let result = app.all_results(&run).await[0]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let (uid, _) = app.user("fuzzed").await;
            let ids = [
                ("pid", project.as_str()),
                ("cid", "tc_001"),
                ("rid", run.as_str()),
                ("id", result.as_str()),
                ("uid", uid.as_str()),
                ("tid", "tok_001"),
                ("aid", "att_001"),
                ("wid", "whk_001"),
                ("event_id", "evt_001"),
            ];
            // Every operation the document says takes JSON, and the bulk
            // upload's partial mode, which parses its body on its own path.
            let mut paths: Vec<(String, String)> = app
                .documented_operations()
                .await
                .into_iter()
                .filter(|(_, _, op)| common::takes_json(op))
                .map(|(method, template, _)| (method, common::fill_path(&template, &ids)))
                .collect();
            assert!(
                paths.len() >= 15,
                "only {} endpoints read JSON",
                paths.len()
            );
            paths.push((
                "POST".into(),
                format!("/v1/runs/{run}/results/bulk?partial=true"),
            ));
            let junit = format!("/v1/runs/{run}/results/junit?create_missing=true");
            (app, paths, junit)
        });
        World {
            rt,
            app,
            paths,
            junit,
        }
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Field names our bodies use, so generated objects often look plausible.
const FIELDS: &[&str] = &[
    "status",
    "note",
    "elapsed",
    "elapsed_ms",
    "test_case_id",
    "results",
    "cases",
    "case_ids",
    "title",
    "key",
    "suite",
    "name",
    "description",
    "role",
    "email",
    "password",
    "admin",
    "user_id",
    "extra",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("passed".to_string()),
            Just("tc_001".to_string()),
            Just("not_tested".to_string()),
            ".{0,12}".prop_map(|s| s),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(FIELDS), inner), 0..6).prop_map(
                |kv| {
                    Value::Object(
                        kv.into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn check(method: &str, path: &str, body: Vec<u8>, content_type: &str) -> Result<(), TestCaseError> {
    let w = world();
    let r = w.rt.block_on(
        w.app
            .raw(method, path, &w.app.admin, Some(content_type), body),
    );
    prop_assert!(
        r.status.as_u16() < 500,
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    if r.status != StatusCode::NO_CONTENT {
        let ok = r.body.get("data").is_some() || r.body["error"]["code"].is_string();
        prop_assert!(ok, "{method} {path}: not our envelope: {}", r.body);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_breaks_an_endpoint(which in any::<prop::sample::Index>(), body in json()) {
        let (method, path) = {
            let paths = &world().paths;
            paths[which.index(paths.len())].clone()
        };
        check(&method, &path, body.to_string().into_bytes(), "application/json")?;
    }

    #[test]
    fn arbitrary_bytes_never_break_an_endpoint(
        which in any::<prop::sample::Index>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let (method, path) = {
            let paths = &world().paths;
            paths[which.index(paths.len())].clone()
        };
        check(&method, &path, body, "application/json")?;
    }

    #[test]
    fn arbitrary_bytes_never_break_the_junit_import(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        check("POST", &world().junit, body, "application/xml")?;
    }
}
