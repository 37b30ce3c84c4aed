//! The fixed lists TestRail clients read before they write: case fields,
//! case types, priorities, statuses, result fields and templates. Verdict
//! has no custom fields to configure, so these are constant: the case
//! fields Verdict keeps (`custom_automation_id` ↔ key, steps,
//! preconditions), its five statuses, and its priorities.

use serde_json::{Value, json};
use verdict_store::{Priority, Status};

use super::wire::status_id;

/// A global field config, as TestRail lists it for every project.
fn global(id: i64, default: &str) -> Value {
    json!([{
        "id": id,
        "context": { "is_global": true, "project_ids": null },
        "options": { "is_required": false, "default_value": default, "format": "markdown", "rows": "5" },
    }])
}

/// The case fields: TestRail's type ids are 1 String, 3 Text, 10 Steps.
pub fn case_fields() -> Value {
    let field = |id: i64, type_id: i64, system: &str, label: &str, order: i64| {
        json!({
            "id": id,
            "is_active": true,
            "type_id": type_id,
            "name": system.trim_start_matches("custom_"),
            "system_name": system,
            "label": label,
            "description": null,
            "configs": global(id, ""),
            "display_order": order,
            "include_all": true,
            "template_ids": [],
        })
    };
    json!([
        field(1, 1, "custom_automation_id", "Automation ID", 1),
        field(2, 3, "custom_preconds", "Preconditions", 2),
        field(3, 10, "custom_steps_separated", "Steps", 3),
    ])
}

pub fn result_fields() -> Value {
    json!([{
        "id": 1,
        "is_active": true,
        "type_id": 11,
        "name": "step_results",
        "system_name": "custom_step_results",
        "label": "Step Results",
        "description": null,
        "configs": global(1, ""),
        "display_order": 1,
        "include_all": true,
        "template_ids": [],
    }])
}

pub fn templates() -> Value {
    json!([{ "id": 2, "name": "Test Case (Steps)", "is_default": true }])
}

pub fn case_types() -> Value {
    json!([
        { "id": 3, "name": "Automated", "is_default": false },
        { "id": 6, "name": "Functional", "is_default": false },
        { "id": 7, "name": "Other", "is_default": true },
    ])
}

/// TestRail's priority id of a Verdict priority: 1 low … 4 critical.
pub fn priority_id(p: Priority) -> i64 {
    match p {
        Priority::Low => 1,
        Priority::Medium => 2,
        Priority::High => 3,
        Priority::Critical => 4,
    }
}

pub fn priority_of(id: i64) -> Option<Priority> {
    [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ]
    .into_iter()
    .find(|p| priority_id(*p) == id)
}

pub fn priorities() -> Value {
    let entries: Vec<Value> = [
        (Priority::Low, "Low", "Low"),
        (Priority::Medium, "Medium", "Med"),
        (Priority::High, "High", "High"),
        (Priority::Critical, "Critical", "Crit"),
    ]
    .into_iter()
    .map(|(p, name, short)| {
        json!({
            "id": priority_id(p),
            "name": format!("{} - {name}", priority_id(p)),
            "short_name": format!("{} - {short}", priority_id(p)),
            "is_default": p == Priority::Medium,
            "priority": priority_id(p),
        })
    })
    .collect();
    Value::Array(entries)
}

pub fn statuses() -> Value {
    let entries: Vec<Value> = [
        (Status::Passed, "Passed", 0x0a7a3d),
        (Status::Blocked, "Blocked", 0x5a5a5a),
        (Status::NotTested, "Untested", 0x8f8f8f),
        (Status::Retest, "Retest", 0xb58a00),
        (Status::Failed, "Failed", 0xc0392b),
    ]
    .into_iter()
    .map(|(s, label, color)| {
        json!({
            "id": status_id(s),
            "name": label.to_lowercase(),
            "label": label,
            "color_dark": color,
            "color_medium": color,
            "color_bright": color,
            "is_system": true,
            "is_untested": s == Status::NotTested,
            "is_final": matches!(s, Status::Passed | Status::Failed | Status::Blocked),
        })
    })
    .collect();
    Value::Array(entries)
}
