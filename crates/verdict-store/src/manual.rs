//! Manual test management: what a tester records beyond a status (step
//! results, defects), who a result is assigned to, the setup a team does
//! in the browser (project settings, users, sections), a tester's work
//! list and a run's export.

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectId, ResultId, UserId};
use crate::model::{Status, TestResult};

/// The outcome of one step of a case in one execution, matched to the
/// case's steps by position. Not checked against the case: its steps may
/// change after the execution was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub status: Status,
    /// What actually happened, when it differs from the expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

/// Step results as stored (JSON text); `None` when there are none.
pub fn step_results_json(steps: &[StepResult]) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    serde_json::to_string(steps).ok()
}

/// Defects as stored (JSON text); `None` when there are none.
pub fn defects_json(defects: &[String]) -> Option<String> {
    if defects.is_empty() {
        return None;
    }
    serde_json::to_string(defects).ok()
}

/// Reads stored step results back; `Err` names what this version cannot read.
pub fn step_results_from(column: Option<String>) -> Result<Vec<StepResult>, String> {
    match column {
        Some(s) => serde_json::from_str(&s).map_err(|e| format!("step results: {e}")),
        None => Ok(Vec::new()),
    }
}

/// Reads stored defects back; `Err` names what this version cannot read.
pub fn defects_from(column: Option<String>) -> Result<Vec<String>, String> {
    match column {
        Some(s) => serde_json::from_str(&s).map_err(|e| format!("defects: {e}")),
        None => Ok(Vec::new()),
    }
}

/// A project to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewProject {
    pub name: String,
    /// `https://tracker.example.com/browse/{id}`: turns defects into links.
    pub defect_url_template: Option<String>,
}

impl From<&str> for NewProject {
    fn from(name: &str) -> Self {
        NewProject {
            name: name.to_string(),
            defect_url_template: None,
        }
    }
}

impl From<String> for NewProject {
    fn from(name: String) -> Self {
        NewProject {
            name,
            defect_url_template: None,
        }
    }
}

/// A change to a project: `None` leaves a field alone, `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub defect_url_template: Option<Option<String>>,
}

/// A change to a user (admins only): `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub name: Option<String>,
    pub admin: Option<bool>,
}

/// One section of a project: the cases whose `suite` is exactly this
/// (`None`: the cases without one). Sections nest by ` / ` in the name
/// (`Checkout / Payments` is inside `Checkout`); the store lists only
/// the suites cases actually carry, and the browser builds the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub suite: Option<String>,
    pub cases: i64,
}

/// Whether a case's suite lies in `section`: it is the section itself or
/// one nested inside it (`Checkout / Payments` in `Checkout`).
pub fn in_section(suite: &str, section: &str) -> bool {
    suite == section
        || suite
            .strip_prefix(section)
            .is_some_and(|rest| rest.starts_with(" / "))
}

/// Which results of a run an assignment changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignTarget {
    /// These results (distinct ids; one not in the run is `Invalid`
    /// naming `result_ids[i]` and nothing is written).
    Results(Vec<ResultId>),
    /// Every result whose case's suite lies in this section (see
    /// [`in_section`]).
    Suite(String),
    /// Every result of the run assigned to nobody.
    Unassigned,
}

/// Whose results a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(UserId),
    Nobody,
}

/// One result on a tester's *My work* list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub result: TestResult,
    pub run_name: String,
    pub project_id: ProjectId,
    pub project_name: String,
}

/// One line of a run's export: the result and its case's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub result: TestResult,
    pub case_key: Option<String>,
    pub suite: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_nest_by_slash() {
        assert!(in_section("Checkout", "Checkout"));
        assert!(in_section("Checkout / Payments", "Checkout"));
        assert!(!in_section("Checkout2", "Checkout"));
        assert!(!in_section("Checkout/Payments", "Checkout"));
        assert!(!in_section("Check", "Checkout"));
    }

    #[test]
    fn step_results_round_trip_as_json() {
        let steps = vec![
            StepResult {
                status: Status::Passed,
                actual: None,
            },
            StepResult {
                status: Status::Failed,
                actual: Some("500 error".into()),
            },
        ];
        let json = step_results_json(&steps).expect("json");
        assert_eq!(step_results_from(Some(json)).expect("read"), steps);
        assert_eq!(step_results_json(&[]), None);
        assert_eq!(defects_from(None).expect("none"), Vec::<String>::new());
    }
}
