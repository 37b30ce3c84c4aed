//! The OpenAPI document at `/openapi.json`: snapshotted (so every API change
//! shows in review; `UPDATE_SNAPSHOTS=1` rewrites the snapshot), served (every
//! operation in it answers on the router, every other method is a 405), and
//! consistent (ids, security, error envelope, examples).

use crate::common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn served(app: &TestApp) -> Value {
    let r = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    r.body
}

/// A concrete URL for a templated path: ids that exist nowhere.
fn concrete(path: &str) -> String {
    common::fill_path(
        path,
        &[
            ("uid", "user_999"),
            ("tid", "tok_999"),
            ("pid", "prj_999"),
            ("cid", "tc_999"),
            ("rid", "run_999"),
            ("id", "res_999"),
            ("aid", "att_999"),
            ("wid", "whk_999"),
            ("event_id", "evt_999"),
        ],
    )
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(SNAPSHOT).parent().expect("dir"))
            .expect("snapshot dir");
        std::fs::write(SNAPSHOT, &text).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        expected == text,
        "the OpenAPI document changed; review the difference and rerun with UPDATE_SNAPSHOTS=1 \
         to accept it (crates/verdict-server/tests/snapshots/openapi.json)"
    );
}

#[tokio::test]
async fn every_operation_is_routed_and_no_other_method_is() {
    // Routes and operations come from one registration (`routes!` in each
    // resource's module), so what is left to check is that the document
    // and the router agree in behaviour.
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let documented = common::operations(&doc);
    assert!(
        documented.len() > 30,
        "the document has too few operations: {}",
        documented.len()
    );
    // PUT on a result is the same handler as PATCH, documented as its twin.
    assert!(
        documented
            .iter()
            .any(|(m, p, _)| m == "PUT" && p == "/v1/runs/{rid}/results/{id}")
    );

    // Each documented method is served
    // (401 without a token, or an answer), each other method is a 405.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p, _)| p).collect();
    for path in paths {
        let url = concrete(path);
        for method in METHODS {
            let r = app.call(&method.to_uppercase(), &url, None, None).await;
            let op = &doc["paths"][path.as_str()][method];
            if op.is_null() {
                assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                continue;
            }
            if common::wants_token(op) {
                r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
            } else {
                assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.body);
            }
        }
    }
}

/// A value each documented query parameter accepts.
fn sample(name: &str) -> &'static str {
    match name {
        "page" | "per_page" => "1",
        "status" => "passed",
        "after" => "res_1",
        "q" | "key" => "x",
        "suite" => "Checkout",
        "priority" => "high",
        "state" => "open",
        "partial" | "create_missing" | "dry_run" => "true",
        "skipped_as" => "retest",
        "baseline" => "auto",
        "category" => "fixed",
        "branch" => "main",
        "window" | "runs" => "5",
        "threshold" => "0.5",
        "sort" => "regressed",
        "quarantined" | "no_new_failures" | "ignore_quarantined" => "true",
        "max_failures" | "min_tests" => "1",
        "min_pass_rate" => "50",
        "assigned_to" => "none",
        "format" => "junit",
        "include" => "output",
        "name" => "screenshot.png",
        other => panic!("no sample value for the query parameter {other:?}: add one"),
    }
}

#[tokio::test]
async fn each_operation_reads_the_query_parameters_it_documents_and_no_other() {
    // The query extractor reads the fields of the same structs that
    // document them; this checks the two agree from the outside.
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let mut checked = 0;
    for (method, path, op) in common::operations(&doc) {
        if !common::wants_token(&op) {
            continue; // health, metrics and the documentation read no query
        }
        let documented: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().expect("a name"))
            .collect();
        let url = concrete(&path);
        for name in &documented {
            let r = app
                .call(
                    &method,
                    &format!("{url}?{name}={}", sample(name)),
                    Some(&app.admin),
                    None,
                )
                .await;
            assert!(
                !r.fields().iter().any(|f| f == name),
                "{method} {path} refuses its documented {name}: {}",
                r.body
            );
            checked += 1;
        }
        let r = app
            .call(
                &method,
                &format!("{url}?undocumented=1"),
                Some(&app.admin),
                None,
            )
            .await;
        r.invalid(&["undocumented"]);
    }
    assert!(checked >= 15, "only {checked} query parameters were tried");
}

#[tokio::test]
async fn the_document_is_consistent() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut ids = BTreeSet::new();
    for (method, path, op) in common::operations(&doc) {
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_string()), "operationId {id} twice");
        assert!(op["summary"].is_string(), "{method} {path}: no summary");
        let responses = op["responses"].as_object().expect("responses");
        assert_eq!(
            common::wants_token(&op),
            responses.contains_key("401"),
            "{method} {path}: 401 and security disagree"
        );
        for status in ["429", "503"] {
            assert!(
                responses.contains_key(status),
                "{method} {path}: no {status}"
            );
        }
        // Path parameters are declared for every template segment.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            let declared = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
            });
            assert!(
                declared,
                "{method} {path}: path parameter {name} undeclared"
            );
        }
        // Every error answer is the envelope.
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let name = response["$ref"]
                    .as_str()
                    .expect("errors are shared responses");
                let name = name.trim_start_matches("#/components/responses/");
                let shared = &doc["components"]["responses"][name];
                assert_eq!(
                    shared["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody"
                );
            }
        }
    }
    for public in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        let security = &doc["paths"][public]["get"]["security"];
        assert_eq!(security, &Value::Array(vec![]), "{public} needs no token");
    }
    // The ids are patterns, the ranges are ranges.
    assert_eq!(
        doc["components"]["schemas"]["RunId"]["pattern"],
        "^run_0*[1-9][0-9]{0,17}$"
    );
    let list = &doc["paths"]["/v1/runs/{rid}/results"]["get"];
    let per_page = list["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "per_page")
        .expect("per_page");
    assert_eq!(per_page["schema"]["minimum"], 1);
    assert_eq!(per_page["schema"]["maximum"], 1000);
}

#[tokio::test]
async fn the_contract_examples_are_in_the_document() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let results = "/v1/runs/{rid}/results";
    let example = |pointer: &str| doc.pointer(pointer).cloned().unwrap_or(Value::Null);
    let patch = example(&format!(
        "/paths/{}/patch/requestBody/content/application~1json/example",
        "~1v1~1runs~1{rid}~1results~1{id}"
    ));
    assert_eq!(patch["status"], "failed");
    assert_eq!(patch["elapsed"], 120);
    let bulk = "/paths/~1v1~1runs~1{rid}~1results~1bulk/post";
    let request = example(&format!(
        "{bulk}/requestBody/content/application~1json/example"
    ));
    assert_eq!(request["results"][1]["test_case_id"], "tc_002");
    let answer = example(&format!(
        "{bulk}/responses/200/content/application~1json/example"
    ));
    assert_eq!(answer["data"]["updated"], 2);
    let list = example(&format!(
        "/paths/{}/get/responses/200/content/application~1json/example",
        results.replace('/', "~1")
    ));
    assert_eq!(list["meta"]["per_page"], 20);
    assert_eq!(
        list["data"][0]["test_case_title"],
        "Login with valid credentials"
    );
}

/// Every object in `value` (depth first) but examples, with where it is.
fn walk<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            out.push((at.clone(), value));
            for (key, child) in map {
                if key != "example" && key != "examples" {
                    walk(child, format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// (where, schema) of every JSON request and response body.
fn json_bodies(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (method, path, op) in common::operations(doc) {
        let mut bodies = vec![("request".to_string(), &op["requestBody"])];
        for (status, response) in op["responses"].as_object().expect("responses") {
            bodies.push((status.clone(), response));
        }
        for (what, body) in bodies {
            if let Some(schema) = body.pointer("/content/application~1json/schema") {
                out.push((format!("{method} {path} {what}"), schema.clone()));
            }
        }
    }
    out
}

/// Client generators name a model after its component, or after the path
/// to an inline object (`DataProjectData`): every JSON body is a named
/// component, and every `data` wrapper references its entity's component.
#[tokio::test]
async fn every_body_is_a_named_component_and_wrappers_reference_entities() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    for (at, schema) in json_bodies(&doc) {
        // The document itself: any JSON object, described by the spec.
        if at.starts_with("GET /openapi.json ") {
            continue;
        }
        let name = schema["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: an inline schema {schema}"));
        assert!(name.starts_with("#/components/"), "{at}: {name}");
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut wrappers = 0;
    for (name, schema) in schemas {
        assert!(
            !name.contains('_'),
            "{name}: a generic's generated name; name the component"
        );
        let Some(data) = schema.pointer("/properties/data") else {
            continue;
        };
        wrappers += 1;
        let target = data
            .get("$ref")
            .or_else(|| data.pointer("/items/$ref"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}: `data` is inline: {data}"));
        let entity = target.trim_start_matches("#/components/schemas/");
        assert!(schemas.contains_key(entity), "{name}: {target} is missing");
        // A list with `meta` is a page (a comparison's page of changes
        // too); a whole list has no `meta`.
        let paged = schema.pointer("/properties/meta").is_some();
        let expected = match (data.get("items").is_some(), paged) {
            (_, true) => "Page",
            (true, false) => "List",
            (false, false) => "Data",
        };
        assert_eq!(
            name,
            &format!("{entity}{expected}"),
            "wrapper names read well"
        );
    }
    assert!(wrappers > 15, "the wrappers were not found ({wrappers})");
    for entity in ["Project", "Run", "TestResult", "Case", "User", "Token"] {
        assert!(schemas.contains_key(entity), "{entity} is a component");
    }
}

/// A linter fails on a component nothing references (they were copies
/// inlined into the wrappers), and a generator would emit dead models.
#[tokio::test]
async fn every_component_is_referenced() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let text = doc.to_string();
    for kind in ["schemas", "responses"] {
        for name in doc["components"][kind].as_object().expect(kind).keys() {
            let reference = format!("\"#/components/{kind}/{name}\"");
            assert!(text.contains(&reference), "{kind}/{name} is never used");
        }
    }
}

/// Two inline variants with the same title made generators give two
/// models one name and drop the bulk upload: titles are unique, and the
/// variants of the PATCH body and of a bulk entry are named components.
#[tokio::test]
async fn titles_are_unique_and_variants_are_named() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let mut all = Vec::new();
    walk(&doc["components"], String::new(), &mut all);
    walk(&doc["paths"], String::new(), &mut all);
    let mut titles = BTreeSet::new();
    for (at, value) in all {
        // (A property named `title` is a schema, not a string.)
        if let Some(title) = value.get("title").and_then(Value::as_str) {
            assert!(
                titles.insert(title.to_lowercase()),
                "title {title} twice ({at})"
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    for (body, variants) in [
        (
            "UpdateResult",
            ["UpdateResultRecorded", "UpdateResultCleared"],
        ),
        (
            "BulkResultEntry",
            ["BulkResultRecorded", "BulkResultCleared"],
        ),
    ] {
        let one_of: Vec<&str> = schemas[body]["oneOf"]
            .as_array()
            .expect("oneOf")
            .iter()
            .map(|v| v["$ref"].as_str().expect("a $ref"))
            .collect();
        let expected: Vec<String> = variants
            .iter()
            .map(|v| format!("#/components/schemas/{v}"))
            .collect();
        assert_eq!(one_of, expected, "{body}");
    }
    // `elapsed` with `elapsed_ms` is accepted when they agree, so the
    // schema allows both: nothing but the properties constrains them.
    for recorded in ["UpdateResultRecorded", "BulkResultRecorded"] {
        let schema = schemas[recorded].as_object().expect(recorded);
        for keyword in ["anyOf", "oneOf", "allOf", "not", "dependentSchemas"] {
            assert!(!schema.contains_key(keyword), "{recorded}: {keyword}");
        }
        assert!(schema["properties"]["elapsed"].is_object());
        assert!(schema["properties"]["elapsed_ms"].is_object());
    }
    let (_, cases, run) = app.seeded(1).await;
    let result = app.result_of(&run, &cases[0]).await;
    let r = app
        .patch(
            &format!("/v1/runs/{run}/results/{result}"),
            &app.admin,
            serde_json::json!({"status": "passed", "elapsed": 1, "elapsed_ms": 1500}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A relative `/`: the server that serves the document, wherever it is.
#[tokio::test]
async fn servers_is_the_serving_server() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    assert_eq!(doc["servers"][0]["url"], "/");
}

/// Each create links to the operations on what it created, so stateful
/// testers and readers can walk the real flow; every link names an
/// operation in the document and fills each of its path parameters.
#[tokio::test]
async fn creates_link_to_the_operations_on_what_they_created() {
    let app = TestApp::new().await;
    let doc = served(&app).await;
    let mut by_id = std::collections::BTreeMap::new();
    for (_, _, op) in common::operations(&doc) {
        by_id.insert(op["operationId"].as_str().expect("id").to_string(), op);
    }
    let mut linked = BTreeSet::new();
    for (_, path, op) in common::operations(&doc) {
        let id = op["operationId"].as_str().expect("id");
        for (status, response) in op["responses"].as_object().expect("responses") {
            let links = response.get("links").and_then(Value::as_object);
            if status == "201" {
                assert!(
                    links.is_some_and(|l| !l.is_empty()),
                    "{id} {status}: no links"
                );
            }
            for (name, link) in links.into_iter().flatten() {
                let target = link["operationId"].as_str().expect("operationId");
                let to = by_id
                    .get(target)
                    .unwrap_or_else(|| panic!("{id} {name}: no operation {target}"));
                let given = link["parameters"].as_object().expect("parameters");
                let required: BTreeSet<&str> = to["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let named: BTreeSet<&str> = given.keys().map(String::as_str).collect();
                assert_eq!(named, required, "{id} {name}: parameters of {target}");
                for expression in given.values() {
                    let e = expression.as_str().expect("an expression");
                    assert!(
                        e == "$response.body#/data/id"
                            || e == "$response.body#/data/0/id"
                            || e.starts_with("$request.path."),
                        "{id} {name}: {e}"
                    );
                    if let Some(p) = e.strip_prefix("$request.path.") {
                        assert!(path.contains(&format!("{{{p}}}")), "{id} {name}: {e}");
                    }
                }
                linked.insert((id.to_string(), target.to_string()));
            }
        }
    }
    for (from, to) in [
        ("create_project", "list_cases"),
        ("create_project", "bulk_cases"),
        ("create_project", "create_run"),
        ("create_run", "list_results"),
        ("create_run", "bulk_results"),
        ("create_run", "import_junit"),
        ("update_result", "result_history"),
        ("replace_result", "result_history"),
    ] {
        assert!(
            linked.contains(&(from.to_string(), to.to_string())),
            "no link {from} → {to}"
        );
    }
}
