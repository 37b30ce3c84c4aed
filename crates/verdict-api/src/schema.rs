//! JSON Schemas for what the wire types carry as plain strings and numbers
//! (feature `openapi`). Ids, statuses, roles, times and the checked text
//! fields get a named schema each, so the OpenAPI document states exactly
//! what the server accepts: the id patterns, the status enum, the text and
//! duration limits. The PATCH body and a bulk entry are parsed by hand on
//! the server, so their schemas are written here by hand too, each variant
//! a named component.

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};

/// Every character Rust's `str::trim` removes (Unicode `White_Space`):
/// spelled out, as regex engines disagree on what `\s` means.
pub const WHITESPACE: &str =
    r"\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// Longest name, title, key or suite, in characters.
pub const MAX_TEXT_CHARS: u64 = 1000;
/// Longest note, in bytes of UTF-8 (the server's default limit).
pub const MAX_NOTE_BYTES: u64 = 64 * 1024;
/// Longest elapsed time, in seconds.
pub const MAX_ELAPSED_SECONDS: i64 = i32::MAX as i64;

/// A schema from its JSON form. Debug builds check that utoipa's model
/// keeps every keyword (it would drop one it does not know).
pub fn schema(value: Value) -> RefOr<Schema> {
    match serde_json::from_value::<Schema>(value.clone()) {
        Ok(s) => {
            debug_assert_eq!(serde_json::to_value(&s).ok(), Some(value));
            RefOr::T(s)
        }
        Err(e) => panic!("a hand-written schema does not parse: {e}"),
    }
}

/// The pattern of an id with `prefix`: a positive number, zero-padding
/// allowed (`tc_1` = `tc_001`), small enough for a 64-bit key.
pub fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}_0*[1-9][0-9]{{0,17}}$")
}

fn id(prefix: &str, what: &str) -> RefOr<Schema> {
    schema(json!({
        "type": "string",
        "description": format!("The id of {what}: `{prefix}_` and a positive number. A malformed or unknown id is a 404 in a path and a 422 naming the field in a body."),
        "pattern": id_pattern(prefix),
        "examples": [format!("{prefix}_001")],
    }))
}

/// Declares a named schema with a hand-written JSON form.
macro_rules! named_schema {
    ($(#[$doc:meta])* $name:ident => $body:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

named_schema!(/// `user_…`
    UserId => id("user", "a user"));
named_schema!(/// `tok_…`
    TokenId => id("tok", "an API token (not the secret)"));
named_schema!(/// `prj_…`
    ProjectId => id("prj", "a project"));
named_schema!(/// `tc_…`
    CaseId => id("tc", "a test case"));
named_schema!(/// `run_…`
    RunId => id("run", "a run"));
named_schema!(/// `res_…`
    ResultId => id("res", "a result (one case in one run)"));

named_schema!(/// `att_…`
    AttachmentId => id("att", "an attachment"));
named_schema!(/// `whk_…`
    WebhookId => id("whk", "a webhook"));
named_schema!(/// `evt_…`
    EventId => id("evt", "an event sent to webhooks"));

named_schema!(/// A SHA-256 in lowercase hex.
Sha256 => schema(json!({
    "type": "string",
    "description": "The SHA-256 of the bytes, 64 lowercase hex digits.",
    "pattern": "^[0-9a-f]{64}$",
    "examples": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
})));

named_schema!(/// An attachment's name.
AttachmentName => schema(json!({
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": format!("^[^/\\\\{CONTROL}]*[^/\\\\{WHITESPACE}{CONTROL}][^/\\\\{CONTROL}]*$"),
    "description": "Any Unicode, at most 255 bytes of UTF-8, not blank, without `/`, `\\` or control characters.",
    "examples": ["screenshot.png"],
})));

named_schema!(/// An RFC 3339 UTC instant with a `Z`.
Timestamp => schema(json!({
    "type": "string",
    "format": "date-time",
    "description": "RFC 3339, UTC, whole seconds, with a `Z`.",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
    "examples": ["2026-03-26T10:15:00Z"],
})));

named_schema!(/// A result's status.
Status => schema(json!({
    "type": "string",
    "enum": ["passed", "failed", "blocked", "retest", "not_tested"],
    "description": "`not_tested` is the untested state: recording it clears note and elapsed.",
})));

named_schema!(/// A member's role.
Role => schema(json!({
    "type": "string",
    "enum": ["viewer", "tester", "manager"],
    "description": "viewer < tester < manager: a viewer reads; a tester also records results and creates runs; a manager also edits cases and runs, closes runs and manages members.",
})));

named_schema!(/// Whether a run takes results.
RunState => schema(json!({
    "type": "string",
    "enum": ["open", "closed"],
})));

named_schema!(/// A required one-line text: a name or a title.
Name => schema(json!({
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TEXT_CHARS,
    "pattern": format!("[^{WHITESPACE}]"),
    "description": "At most 1000 characters as sent; trimmed, and then not empty.",
})));

named_schema!(/// An optional one-line text: a key or a suite.
OptionalText => schema(json!({
    "type": ["string", "null"],
    "maxLength": MAX_TEXT_CHARS,
    "description": "At most 1000 characters as sent; trimmed, and then empty means none.",
})));

named_schema!(/// A case's preconditions: multi-line text.
Preconditions => schema(json!({
    "type": ["string", "null"],
    "maxLength": crate::MAX_PRECONDITIONS_CHARS,
    "description": "Multi-line; at most 65,536 characters as sent; trimmed, and then empty means none.",
})));

/// The control characters (Unicode `Cc`) a ref may not hold.
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";

named_schema!(/// A step's action: required text, multi-line.
StepAction => schema(json!({
    "type": "string",
    "minLength": 1,
    "maxLength": crate::MAX_STEP_CHARS,
    "pattern": format!("[^{WHITESPACE}]"),
    "description": "At most 10,000 characters as sent; trimmed, and then not empty.",
})));

named_schema!(/// A case's priority.
Priority => schema(json!({
    "type": ["string", "null"],
    "enum": ["low", "medium", "high", "critical", null],
})));

named_schema!(/// A case's refs: requirement or issue keys.
Refs => schema(json!({
    "type": ["array", "null"],
    "maxItems": crate::MAX_REFS,
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": crate::MAX_REF_CHARS,
        "pattern": format!("^[^{CONTROL}]*[^{WHITESPACE}{CONTROL}][^{CONTROL}]*$"),
    },
    "description": "Requirement or issue keys, at most 100, each at most 255 characters without control characters; trimmed, and then not empty. `null` or `[]` means none.",
})));

named_schema!(/// An execution's defects: issue ids in a tracker.
Defects => schema(json!({
    "type": "array",
    "maxItems": crate::MAX_DEFECTS,
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": crate::MAX_DEFECT_CHARS,
        "pattern": format!("^[^{CONTROL}]*[^{WHITESPACE}{CONTROL}][^{CONTROL}]*$"),
    },
    "description": "Defect ids (`SHOP-2291`), at most 50, each at most 255 characters without control characters; trimmed, and then not empty. Duplicates are dropped (the first kept).",
})));

named_schema!(/// An execution's step results, by position of the case's steps.
StepResults => schema(json!({
    "type": "array",
    "maxItems": crate::MAX_STEP_RESULTS,
    "items": component("StepResult"),
    "description": "One per step of the case, in order (matched by position; not checked against the case's steps, which may change later). At most 100.",
})));

named_schema!(/// A case key as sent: any length, stored by the one key rule.
CaseKey => schema(json!({
    "type": ["string", "null"],
    "description": "Trimmed, and then empty means none. A key longer than 1000 characters is not refused: it is stored as its first 983 characters, `…` and the first 16 hex digits of the SHA-256 of the whole trimmed key, so the same key always maps to the same case. A JUnit import forms keys by the same rule.",
})));

named_schema!(/// A free-text note on an execution.
Note => schema(json!({
    "type": ["string", "null"],
    "maxLength": MAX_NOTE_BYTES,
    "description": "At most 65536 bytes of UTF-8 (configurable; the server counts bytes).",
})));

named_schema!(/// Whole seconds.
Elapsed => schema(json!({
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": MAX_ELAPSED_SECONDS,
    "description": "Whole seconds, a JSON integer (no fraction, not a string).",
})));

named_schema!(/// Milliseconds.
ElapsedMs => schema(json!({
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": MAX_ELAPSED_SECONDS * 1000,
    "description": "Milliseconds, a JSON integer. With `elapsed` too, `elapsed` must equal `elapsed_ms` / 1000 rounded down.",
})));

/// Longest branch or environment, in characters.
pub const MAX_META_CHARS: u64 = 255;
/// Longest build URL, in characters.
pub const MAX_URL_CHARS: u64 = 2048;
/// Any character but a control character (Unicode `Cc`).
const CTRL: &str = r"[^\u0000-\u001F\u007F-\u009F]";

named_schema!(/// A run's branch.
Branch => schema(json!({
    "type": ["string", "null"],
    "minLength": 1,
    "maxLength": MAX_META_CHARS,
    "pattern": format!("^{CTRL}*[^{WHITESPACE}\\u0000-\\u001F\\u007F-\\u009F]{CTRL}*$"),
    "description": "1 to 255 characters, no control characters; trimmed, and then not empty. Null (on PATCH) clears it.",
    "examples": ["main"],
})));

named_schema!(/// A branch to filter by (a query parameter).
BranchName => schema(json!({
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_META_CHARS,
    "pattern": format!("^{CTRL}*[^{WHITESPACE}\\u0000-\\u001F\\u007F-\\u009F]{CTRL}*$"),
    "description": "Exactly a run's branch: 1 to 255 characters, no control characters; trimmed, and then not empty.",
    "examples": ["main"],
})));

named_schema!(/// A run's commit.
Commit => schema(json!({
    "type": ["string", "null"],
    "pattern": "^[0-9A-Fa-f]{4,64}$",
    "description": "4 to 64 hex digits, stored lower-case. Null (on PATCH) clears it.",
    "examples": ["3f2a1c9"],
})));

named_schema!(/// A run's build URL.
BuildUrl => schema(json!({
    "type": ["string", "null"],
    "maxLength": MAX_URL_CHARS,
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\u0000-\\u0020\\u007F-\\u009F/?#]+([/?#][^\\u0000-\\u0020\\u007F-\\u009F]*)?$",
    "description": "An absolute http or https URL with a host, at most 2048 characters, no spaces or control characters. Null (on PATCH) clears it.",
})));

named_schema!(/// A project's defect link template.
DefectUrlTemplate => schema(json!({
    "type": ["string", "null"],
    "maxLength": MAX_URL_CHARS,
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://([^\\u0000-\\u0020\\u007F-\\u009F/?#][^\\u0000-\\u0020\\u007F-\\u009F]*)?\\{id\\}[^\\u0000-\\u0020\\u007F-\\u009F]*$",
    "description": "An absolute http or https URL with a host, at most 2048 characters, no spaces or control characters, containing `{id}` (replaced by the percent-encoded defect). Null clears it (on PATCH) or means none.",
})));

named_schema!(/// A run's environment.
Environment => schema(json!({
    "type": ["string", "null"],
    "minLength": 1,
    "maxLength": MAX_META_CHARS,
    "pattern": format!("^{CTRL}*[^{WHITESPACE}\\u0000-\\u001F\\u007F-\\u009F]{CTRL}*$"),
    "description": "Free text, 1 to 255 characters, no control characters; trimmed, and then not empty. Null (on PATCH) clears it.",
    "examples": ["linux / chromium 131"],
})));

named_schema!(/// A comparison's category.
Category => schema(json!({
    "type": "string",
    "enum": ["new_failure", "still_failing", "fixed", "new_test", "missing", "changed", "unchanged"],
    "description": "Where a case falls when a run is compared with its baseline: the first that fits, in this order.",
})));

fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The status that records an execution, with its optional note and
/// elapsed time. Both durations are allowed together: the server takes them
/// when `elapsed` is `elapsed_ms` / 1000 rounded down (a 422 when they
/// disagree, which no schema can say).
fn recorded(with_case: bool) -> Value {
    let mut value = json!({
        "type": "object",
        "description": "A status that records an execution. `elapsed` is whole seconds, `elapsed_ms` milliseconds: give either, or both when `elapsed` is `elapsed_ms` / 1000 rounded down (they are refused with a 422 when they disagree).",
        "additionalProperties": false,
        "required": ["status"],
        "properties": {
            "status": { "type": "string", "enum": ["passed", "failed", "blocked", "retest"] },
            "note": component("Note"),
            "elapsed": component("Elapsed"),
            "elapsed_ms": component("ElapsedMs"),
            // null is the same as leaving the field out: none.
            "step_results": { "anyOf": [component("StepResults"), { "type": "null" }] },
            "defects": { "anyOf": [component("Defects"), { "type": "null" }] },
        },
    });
    with_test_case(&mut value, with_case);
    value
}

/// `not_tested`, which clears the result and so takes neither note nor
/// elapsed time.
fn cleared(with_case: bool) -> Value {
    let mut value = json!({
        "type": "object",
        "description": "`not_tested` clears the result: a note, an elapsed time, step results or defects with it are a 422.",
        "additionalProperties": false,
        "required": ["status"],
        "properties": {
            "status": { "type": "string", "enum": ["not_tested"] },
            "note": { "type": "null" },
            "elapsed": { "type": "null" },
            "elapsed_ms": { "type": "null" },
            "step_results": { "type": ["array", "null"], "items": component("StepResult"), "maxItems": 0 },
            "defects": { "type": ["array", "null"], "items": { "type": "string" }, "maxItems": 0 },
        },
    });
    with_test_case(&mut value, with_case);
    value
}

fn with_test_case(value: &mut Value, with_case: bool) {
    if with_case {
        value["required"] = json!(["test_case_id", "status"]);
        value["properties"]["test_case_id"] = component("CaseId");
        let description = value["description"].as_str().unwrap_or_default();
        value["description"] = json!(format!(
            "{description} `test_case_id` names the case, which must be in the run."
        ));
    }
}

named_schema!(/// A PATCH/PUT body that records an execution.
    UpdateResultRecorded => schema(recorded(false)));
named_schema!(/// A PATCH/PUT body that clears the result.
    UpdateResultCleared => schema(cleared(false)));
named_schema!(/// A bulk entry that records an execution.
    BulkResultRecorded => schema(recorded(true)));
named_schema!(/// A bulk entry that clears the result.
    BulkResultCleared => schema(cleared(true)));

/// One execution as the server reads it (by hand, field by field): one of
/// two named variants, so generated clients get a class for each (and the
/// variants of the PATCH body and of a bulk entry keep distinct names).
/// Unknown fields are refused.
fn execution(with_case: bool) -> RefOr<Schema> {
    let (what, variants) = if with_case {
        (
            "One entry of a bulk upload: the case (which must be in the run) and its execution.",
            ["BulkResultRecorded", "BulkResultCleared"],
        )
    } else {
        (
            "One execution of the result: status, note and elapsed together (a field not given is null).",
            ["UpdateResultRecorded", "UpdateResultCleared"],
        )
    };
    schema(json!({
        "description": format!("{what} A status that records takes a note and an elapsed time; `not_tested` clears the result and takes neither."),
        "oneOf": [component(variants[0]), component(variants[1])],
    }))
}

fn execution_dependencies(schemas: &mut Vec<(String, RefOr<Schema>)>, with_case: bool) {
    use utoipa::{PartialSchema, ToSchema};
    if with_case {
        schemas.push((CaseId::name().into(), CaseId::schema()));
        schemas.push((
            BulkResultRecorded::name().into(),
            BulkResultRecorded::schema(),
        ));
        schemas.push((
            BulkResultCleared::name().into(),
            BulkResultCleared::schema(),
        ));
    } else {
        schemas.push((
            UpdateResultRecorded::name().into(),
            UpdateResultRecorded::schema(),
        ));
        schemas.push((
            UpdateResultCleared::name().into(),
            UpdateResultCleared::schema(),
        ));
    }
    schemas.push((Note::name().into(), Note::schema()));
    schemas.push((Elapsed::name().into(), Elapsed::schema()));
    schemas.push((ElapsedMs::name().into(), ElapsedMs::schema()));
    schemas.push((StepResults::name().into(), StepResults::schema()));
    schemas.push((
        crate::StepResult::name().into(),
        <crate::StepResult as PartialSchema>::schema(),
    ));
    schemas.push((Defects::name().into(), Defects::schema()));
}

impl utoipa::PartialSchema for crate::UpdateResult {
    fn schema() -> RefOr<Schema> {
        execution(false)
    }
}

impl utoipa::ToSchema for crate::UpdateResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        execution_dependencies(schemas, false);
    }
}

impl utoipa::PartialSchema for crate::BulkResultEntry {
    fn schema() -> RefOr<Schema> {
        execution(true)
    }
}

impl utoipa::ToSchema for crate::BulkResultEntry {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        execution_dependencies(schemas, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    /// Every hand-written schema survives the trip through utoipa's model
    /// unchanged (`schema` asserts it in debug builds).
    #[test]
    fn hand_written_schemas_keep_every_keyword() {
        for s in [
            UserId::schema(),
            Timestamp::schema(),
            Status::schema(),
            Role::schema(),
            RunState::schema(),
            Name::schema(),
            OptionalText::schema(),
            Preconditions::schema(),
            Priority::schema(),
            Refs::schema(),
            StepAction::schema(),
            Note::schema(),
            Elapsed::schema(),
            ElapsedMs::schema(),
            DefectUrlTemplate::schema(),
            crate::UpdateResult::schema(),
        ] {
            assert!(serde_json::to_value(&s).is_ok());
        }
        let entry = serde_json::to_value(crate::BulkResultEntry::schema()).expect("serialize");
        assert_eq!(
            entry["oneOf"][0]["$ref"],
            "#/components/schemas/BulkResultRecorded"
        );
        let recorded = serde_json::to_value(BulkResultRecorded::schema()).expect("serialize");
        assert_eq!(recorded["required"], json!(["test_case_id", "status"]));
        assert_eq!(recorded["additionalProperties"], json!(false));
        let cleared = serde_json::to_value(UpdateResultCleared::schema()).expect("serialize");
        assert_eq!(cleared["properties"]["note"]["type"], "null");
        assert_eq!(cleared["required"], json!(["status"]));
        let name = serde_json::to_value(Name::schema()).expect("serialize");
        assert_eq!(name["maxLength"], json!(1000));
    }
}
