//! Path, query and header parameters as the handlers read them. The server
//! parses these by hand (`PathIds`, the strict `Query` extractor, the
//! `Idempotency-Key` header), so each set is described here once, exactly:
//! the id patterns, the ranges, the enums. A `#[utoipa::path]` lists the
//! sets its handler reads, e.g. `params(RunPath, PageQuery)`.

use serde_json::{Value, json};
use utoipa::openapi::path::{Parameter, ParameterIn};
use verdict_api::schema::WHITESPACE;

fn id(name: &str, schema: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": format!("{description} Malformed or unknown: 404."),
        "schema": { "$ref": format!("#/components/schemas/{schema}") },
    })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "required": false,
        "description": description,
        "schema": schema,
    })
}

fn flag(name: &str, description: &str) -> Value {
    query(
        name,
        json!({ "type": "boolean", "default": false }),
        &format!("{description} `true` or `false`."),
    )
}

fn parameter(value: Value) -> Parameter {
    match serde_json::from_value::<Parameter>(value.clone()) {
        Ok(p) => {
            debug_assert_eq!(serde_json::to_value(&p).ok(), Some(value));
            p
        }
        Err(e) => panic!("a parameter does not parse: {e}"),
    }
}

/// One of the statuses, with the whitespace `trim` ignores around it.
fn status_list_pattern() -> String {
    let ws = format!("[{WHITESPACE}]*");
    let one = format!("{ws}(passed|failed|blocked|retest|not_tested){ws}");
    format!("^{one}(,{one})*$")
}

/// Declares parameter sets for `#[utoipa::path(params(…))]`.
macro_rules! params {
    ($($(#[$doc:meta])* $name:ident => [$($param:expr),* $(,)?];)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![$(parameter($param)),*]
            }
        }
    )*};
}

params! {
    /// `{uid}`
    UserPath => [id("uid", "UserId", "The user.")];
    /// `{tid}`
    TokenPath => [id("tid", "TokenId", "The token.")];
    /// `{pid}`
    ProjectPath => [id("pid", "ProjectId", "The project.")];
    /// `{pid}` and `{uid}`
    MemberPath => [
        id("pid", "ProjectId", "The project."),
        id("uid", "UserId", "The user."),
    ];
    /// `{cid}`
    CasePath => [id("cid", "CaseId", "The test case.")];
    /// `{rid}`
    RunPath => [id("rid", "RunId", "The run.")];
    /// `{rid}` and `{id}`
    ResultPath => [
        id("rid", "RunId", "The run."),
        id("id", "ResultId", "The result (one case in the run)."),
    ];
    /// `page` and `per_page`: outside the range is a 422, never clamped.
    PageQuery => [
        query("page", json!({ "type": "integer", "minimum": 1, "maximum": u32::MAX, "default": 1 }),
            "The page, from 1. A page past the end is empty, with the true total."),
        query("per_page", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 20 }),
            "Items per page, 1 to 1000 (the server's `--max-per-page`)."),
    ];
    /// The result list's filters.
    ResultFilter => [
        query("status", json!({ "type": "string", "pattern": status_list_pattern() }),
            "One status or a comma-separated list (`failed,blocked`)."),
        query("after", json!({ "$ref": "#/components/schemas/ResultId" }),
            "A result id: the page continues after it, in constant time however deep (`page` then counts from there). `meta.next_after` gives the next one."),
        query("q", json!({ "type": "string" }),
            "Only results whose case title contains this text, regardless of case; `meta.total` counts the matches."),
    ];
    /// The case list's filters.
    CaseFilter => [
        query("key", json!({ "type": "string" }), "Only the case with this key, put in its stored form first (trimmed; a key longer than 1000 characters shortened as on create)."),
        query("q", json!({ "type": "string" }), "Cases whose title or key contains this text."),
    ];
    /// The run list's filter.
    RunFilter => [
        query("state", json!({ "$ref": "#/components/schemas/RunState" }), "Only open or only closed runs."),
    ];
    /// `?partial=true` of a bulk upload.
    PartialQuery => [
        flag("partial", "Apply the valid entries and list the others in `rejected` (200), instead of writing nothing and answering 422."),
    ];
    /// The JUnit import's options.
    JunitQuery => [
        flag("create_missing", "Create cases for keys the project lacks (title = the testcase name, suite = the classname) and add existing project cases to the run."),
        flag("dry_run", "Report matched / would-create / unmatched and write nothing."),
        flag("partial", "Apply what matches and list the rest in `rejected` (200)."),
        query("skipped_as", json!({ "type": "string", "enum": ["blocked", "retest", "not_tested"], "default": "blocked" }),
            "The status a skipped testcase gets."),
    ];
    /// The `Idempotency-Key` header of the writes that take one.
    IdempotencyKeyHeader => [json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "1 to 255 visible ASCII characters, scoped to the caller and kept 24 hours. A retry with the same key and the same request answers the stored answer (with `Idempotent-Replayed: true`) and writes nothing; the same key with another request is a 422 `idempotency_key_reused`.",
        "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" },
    })];
}
