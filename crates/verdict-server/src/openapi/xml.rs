//! The JUnit XML body of `POST /v1/runs/{rid}/results/junit`, as an OpenAPI
//! schema with `xml` hints (element names, attributes), so the document
//! shows what the importer reads and tools can generate real reports. The
//! server parses it with `verdict-junit`; this is its shape, not a
//! validator: attributes are text, unknown elements and attributes are
//! ignored.

use serde_json::json;
use utoipa::openapi::{RefOr, Schema};
use verdict_api::schema::schema;

fn attribute(description: &str) -> serde_json::Value {
    json!({ "type": "string", "xml": { "attribute": true }, "description": description })
}

fn problem(name: &str, becomes: &str) -> serde_json::Value {
    json!({
        "type": "object",
        "xml": { "name": name },
        "description": becomes,
        "properties": {
            "message": attribute("The message."),
            "type": attribute("The exception type."),
        },
    })
}

/// A `<testsuite>` report.
pub struct JunitReport;

impl utoipa::PartialSchema for JunitReport {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "xml": { "name": "testsuite" },
            "description": "A JUnit/xUnit report: a `<testsuite>` (as here) or a `<testsuites>` holding testsuites. Each testcase's key is `classname.name` (`name` alone when the classname is empty, `classname` when the name is; both empty: the testsuite's name, else `(unnamed)`). No DOCTYPE, no entity declarations, at most 32 levels deep.",
            "properties": {
                "name": attribute("The suite's name."),
                "testcase": {
                    "type": "array",
                    "items": { "$ref": "#/components/schemas/JunitTestCase" },
                },
            },
        }))
    }
}

impl utoipa::ToSchema for JunitReport {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("JunitTestCase".into(), test_case()));
    }
}

fn test_case() -> RefOr<Schema> {
    schema(json!({
        "type": "object",
        "xml": { "name": "testcase" },
        "description": "One testcase: `passed` without a child element (unless `status=\"notrun\"`/`\"disabled\"` or `result=\"suppressed\"`/`\"skipped\"`, which count as skipped). Surefire's `flakyFailure`/`flakyError` and `rerunFailure`/`rerunError` children are recorded as one failed execution each.",
        "properties": {
            "classname": attribute("The class: the first part of the key; the suite of a created case."),
            "name": attribute("The test: the last part of the key; the title of a created case."),
            "time": attribute("Seconds (`1.234`, `1,234.5`, `1e-3`); missing, negative or unparsable leaves elapsed empty."),
            "status": attribute("`notrun` or `disabled`: skipped (googletest)."),
            "result": attribute("`suppressed` or `skipped`: skipped (googletest, tst)."),
            "failure": problem("failure", "`failed`; the note is `type: message` and the start of the text (they win over `<skipped>`)."),
            "error": problem("error", "`failed`, like `<failure>`."),
            "skipped": {
                "type": "object",
                "xml": { "name": "skipped" },
                "description": "`blocked` with the note `skipped: <message>` (see `skipped_as`).",
                "properties": { "message": attribute("Why it was skipped.") },
            },
        },
    }))
}
