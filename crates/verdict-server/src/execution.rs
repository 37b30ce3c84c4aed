//! Reading executions (a PATCH body or one bulk entry) leniently, then
//! checking them strictly: a bulk document parses even when entries are
//! wrong, so every bad entry can be named by index (and, in partial mode,
//! the good ones applied).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use verdict_api::{MAX_ACTUAL_CHARS, MAX_DEFECT_CHARS, MAX_DEFECTS, MAX_STEP_RESULTS};
use verdict_store::{CaseId, Execution, FieldError, Status, StepResult};

/// The largest elapsed time accepted, in seconds (about 68 years): keeps
/// milliseconds well inside 64 bits and databases' integer columns.
pub const MAX_ELAPSED_SECONDS: i64 = i32::MAX as i64;

/// An execution as sent: fields kept as JSON values, to be checked later.
#[derive(Debug, Default)]
pub struct RawEntry {
    not_object: bool,
    test_case_id: Option<Value>,
    status: Option<Value>,
    note: Option<Value>,
    elapsed: Option<Value>,
    elapsed_ms: Option<Value>,
    step_results: Option<Value>,
    defects: Option<Value>,
    unknown: Vec<String>,
    repeated: Vec<String>,
}

impl<'de> serde::Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl EntryVisitor {
    fn other<E>(self) -> Result<RawEntry, E> {
        Ok(RawEntry {
            not_object: true,
            ..RawEntry::default()
        })
    }
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut entry = RawEntry::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "test_case_id" => &mut entry.test_case_id,
                "status" => &mut entry.status,
                "note" => &mut entry.note,
                "elapsed" => &mut entry.elapsed,
                "elapsed_ms" => &mut entry.elapsed_ms,
                "step_results" => &mut entry.step_results,
                "defects" => &mut entry.defects,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    entry.unknown.push(key.into_owned());
                    continue;
                }
            };
            let value: Value = map.next_value()?;
            if slot.replace(value).is_some() {
                entry.repeated.push(key.into_owned());
            }
        }
        Ok(entry)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawEntry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.other()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawEntry, E> {
        self.other()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawEntry, E> {
        self.other()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawEntry, E> {
        self.other()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawEntry, E> {
        self.other()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawEntry, E> {
        self.other()
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawEntry, E> {
        self.other()
    }
}

impl RawEntry {
    /// The test case id as written, for reporting a rejected entry.
    pub fn raw_case_id(&self) -> Option<String> {
        match &self.test_case_id {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

/// The whole number a JSON number stands for, if it is one. JSON has one
/// number type, so `12.0` and `1.2e1` are the integer 12 (as JSON Schema
/// says too); `1.5` is not whole. Values past the `i64` range saturate.
fn whole(n: &serde_json::Number) -> Option<i128> {
    if let Some(v) = n.as_i64() {
        return Some(i128::from(v));
    }
    if n.is_u64() {
        return Some(i128::MAX);
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        return None;
    }
    Some(if f < 0.0 {
        -1
    } else if f >= i64::MAX as f64 {
        i128::MAX
    } else {
        f as i128
    })
}

fn duration(field: &str, value: &Value, errors: &mut Vec<FieldError>, max: i64) -> Option<i64> {
    match value {
        Value::Null => None,
        Value::Number(n) => match whole(n) {
            Some(v) if (0..=i128::from(max)).contains(&v) => i64::try_from(v).ok(),
            Some(v) if v < 0 => {
                errors.push(FieldError::new(field, "must not be negative"));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(field, format!("must be at most {max}")));
                None
            }
            None => {
                errors.push(FieldError::new(
                    field,
                    "must be a whole number (no fraction)",
                ));
                None
            }
        },
        _ => {
            errors.push(FieldError::new(field, "must be a whole number"));
            None
        }
    }
}

/// Checks one execution. `prefix` names where it sits (`results[3].`),
/// made only for an error (a bulk checks thousands that have none);
/// `with_case` says whether a `test_case_id` is required (bulk) or not
/// allowed (PATCH).
pub fn check(
    raw: &RawEntry,
    prefix: impl Fn() -> String,
    with_case: bool,
    max_note_bytes: usize,
) -> Result<(Option<CaseId>, Execution), Vec<FieldError>> {
    let name = |f: &str| format!("{}{f}", prefix());
    let mut errors = Vec::new();
    if raw.not_object {
        let prefix = prefix();
        let field = if prefix.is_empty() {
            "body".to_string()
        } else {
            prefix.trim_end_matches('.').to_string()
        };
        return Err(vec![FieldError::new(field, "must be a JSON object")]);
    }
    for f in &raw.unknown {
        errors.push(FieldError::new(name(f), "unknown field"));
    }
    for f in &raw.repeated {
        errors.push(FieldError::new(name(f), "given more than once"));
    }
    let case = if with_case {
        match &raw.test_case_id {
            Some(Value::String(s)) => match s.parse::<CaseId>() {
                Ok(id) => Some(id),
                Err(e) => {
                    errors.push(FieldError::new(name("test_case_id"), e.to_string()));
                    None
                }
            },
            None | Some(Value::Null) => {
                errors.push(FieldError::new(name("test_case_id"), "is required"));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    name("test_case_id"),
                    "must be a string (tc_…)",
                ));
                None
            }
        }
    } else {
        if raw.test_case_id.is_some() {
            errors.push(FieldError::new(name("test_case_id"), "unknown field"));
        }
        None
    };
    let status = match &raw.status {
        Some(Value::String(s)) => Status::parse(s),
        _ => None,
    };
    if status.is_none() {
        let message = if raw.status.is_none() || raw.status == Some(Value::Null) {
            "is required: one of passed, failed, blocked, retest, not_tested"
        } else {
            "must be one of passed, failed, blocked, retest, not_tested"
        };
        errors.push(FieldError::new(name("status"), message));
    }
    let note = match &raw.note {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() > max_note_bytes => {
            errors.push(FieldError::new(
                name("note"),
                format!(
                    "must be at most {max_note_bytes} bytes (it has {})",
                    s.len()
                ),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(name("note"), "must be a string"));
            None
        }
    };
    let seconds = raw
        .elapsed
        .as_ref()
        .and_then(|v| duration(&name("elapsed"), v, &mut errors, MAX_ELAPSED_SECONDS));
    let millis = raw.elapsed_ms.as_ref().and_then(|v| {
        duration(
            &name("elapsed_ms"),
            v,
            &mut errors,
            MAX_ELAPSED_SECONDS * 1000,
        )
    });
    let elapsed_ms = match (seconds, millis) {
        (Some(s), Some(ms)) if ms.div_euclid(1000) != s => {
            errors.push(FieldError::new(
                name("elapsed"),
                format!("disagrees with elapsed_ms ({ms} ms is {} s)", ms / 1000),
            ));
            None
        }
        (_, Some(ms)) => Some(ms),
        (Some(s), None) => Some(s * 1000),
        (None, None) => None,
    };
    let step_results = raw
        .step_results
        .as_ref()
        .map(|v| step_results(v, &name, &mut errors))
        .unwrap_or_default();
    let defects = raw
        .defects
        .as_ref()
        .map(|v| defects(v, &name, &mut errors))
        .unwrap_or_default();
    if status == Some(Status::NotTested) {
        if !step_results.is_empty() {
            errors.push(FieldError::new(
                name("step_results"),
                "must be empty when status is not_tested (it clears the result)",
            ));
        }
        if !defects.is_empty() {
            errors.push(FieldError::new(
                name("defects"),
                "must be empty when status is not_tested (it clears the result)",
            ));
        }
        if note.is_some() {
            errors.push(FieldError::new(
                name("note"),
                "must be empty when status is not_tested (it clears the result)",
            ));
        }
        if elapsed_ms.is_some() {
            errors.push(FieldError::new(
                name("elapsed"),
                "must be empty when status is not_tested (it clears the result)",
            ));
        }
    }
    match status {
        Some(status) if errors.is_empty() => Ok((
            case,
            Execution {
                step_results,
                defects,
                status,
                note,
                elapsed_ms,
                output: None,
            },
        )),
        _ => Err(errors),
    }
}

const STATUSES: &str = "passed, failed, blocked, retest, not_tested";

/// `step_results`: at most [`MAX_STEP_RESULTS`] objects `{status, actual?}`;
/// `actual` trimmed, blank meaning none. `null` is none.
fn step_results(
    value: &Value,
    name: &impl Fn(&str) -> String,
    errors: &mut Vec<FieldError>,
) -> Vec<StepResult> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        _ => {
            errors.push(FieldError::new(
                name("step_results"),
                "must be an array of {status, actual}",
            ));
            return Vec::new();
        }
    };
    if items.len() > MAX_STEP_RESULTS {
        errors.push(FieldError::new(
            name("step_results"),
            format!(
                "must have at most {MAX_STEP_RESULTS} entries (it has {})",
                items.len()
            ),
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| name(&format!("step_results[{i}]{f}"));
        let Value::Object(map) = item else {
            errors.push(FieldError::new(
                field(""),
                "must be an object {status, actual}",
            ));
            continue;
        };
        for key in map.keys() {
            if key != "status" && key != "actual" {
                errors.push(FieldError::new(field(&format!(".{key}")), "unknown field"));
            }
        }
        let status = match map.get("status") {
            Some(Value::String(s)) => Status::parse(s),
            _ => None,
        };
        if status.is_none() {
            let message = match map.get("status") {
                None | Some(Value::Null) => format!("is required: one of {STATUSES}"),
                _ => format!("must be one of {STATUSES}"),
            };
            errors.push(FieldError::new(field(".status"), message));
        }
        let actual = match map.get("actual") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > MAX_ACTUAL_CHARS => {
                errors.push(FieldError::new(
                    field(".actual"),
                    format!("must be at most {MAX_ACTUAL_CHARS} characters"),
                ));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(_) => {
                errors.push(FieldError::new(field(".actual"), "must be a string"));
                None
            }
        };
        if let Some(status) = status {
            out.push(StepResult { status, actual });
        }
    }
    out
}

/// `defects`: at most [`MAX_DEFECTS`] strings, each trimmed and then 1 to
/// [`MAX_DEFECT_CHARS`] characters without control characters; repeats
/// dropped (the first kept). `null` is none.
fn defects(
    value: &Value,
    name: &impl Fn(&str) -> String,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        _ => {
            errors.push(FieldError::new(
                name("defects"),
                "must be an array of strings",
            ));
            return Vec::new();
        }
    };
    if items.len() > MAX_DEFECTS {
        errors.push(FieldError::new(
            name("defects"),
            format!(
                "must have at most {MAX_DEFECTS} entries (it has {})",
                items.len()
            ),
        ));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = || name(&format!("defects[{i}]"));
        let Value::String(s) = item else {
            errors.push(FieldError::new(field(), "must be a string"));
            continue;
        };
        match defect(s) {
            Ok(d) => {
                if !out.contains(&d) {
                    out.push(d);
                }
            }
            Err(message) => errors.push(FieldError::new(field(), message)),
        }
    }
    out
}

/// One defect id, trimmed; `Err` says what is wrong with it.
pub fn defect(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("must not be empty".into())
    } else if t.chars().count() > MAX_DEFECT_CHARS {
        Err(format!("must be at most {MAX_DEFECT_CHARS} characters"))
    } else if t.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(t.to_string())
    }
}
