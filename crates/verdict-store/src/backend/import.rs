//! Report imports: what each case key of a report turns out to be, what
//! the import will do (the dry run's answer), and which entries it refuses.
//! A backend resolves keys to cases and locates them in the run, then asks
//! [`plan`]; it creates and adds what the plan says, and applies the
//! entries like a bulk ([`super::bulk::apply`]).

use std::collections::{HashMap, HashSet};

use crate::{
    BulkEntry, BulkOutcome, CaseId, DetailsPatch, FieldError, ImportOutcome, ImportRequest,
    KeyedEntry, Rejection, StoreError, StoreResult,
};

/// What a key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    InRun,
    /// A live case of the project that the run does not hold.
    InProject(CaseId),
    Missing,
}

impl Found {
    /// A key's case (if the project has one), and whether the run holds it.
    pub fn of(case: Option<CaseId>, in_run: impl Fn(CaseId) -> bool) -> Found {
        match case {
            Some(id) if in_run(id) => Found::InRun,
            Some(id) => Found::InProject(id),
            None => Found::Missing,
        }
    }
}

/// The entries with a key not seen before: each distinct key once, in order
/// of first appearance.
pub fn distinct(entries: &[KeyedEntry]) -> Vec<&KeyedEntry> {
    let mut seen: HashSet<&str> = HashSet::new();
    entries
        .iter()
        .filter(|e| seen.insert(e.key.as_str()))
        .collect()
}

/// Whether a patch changes nothing.
pub fn is_empty(patch: &DetailsPatch) -> bool {
    *patch == DetailsPatch::default()
}

/// The case details the report gives, by key: each key whose entries carry
/// any, their patches merged in report order (a later entry's field wins,
/// a field no entry gives is left alone). Keys without details are absent,
/// so a report without any costs nothing.
pub fn details_by_key(entries: &[KeyedEntry]) -> HashMap<&str, DetailsPatch> {
    let mut out: HashMap<&str, DetailsPatch> = HashMap::new();
    for e in entries.iter().filter(|e| !is_empty(&e.details)) {
        let d = &e.details;
        let merged = out.entry(e.key.as_str()).or_default();
        if d.preconditions.is_some() {
            merged.preconditions = d.preconditions.clone();
        }
        if d.steps.is_some() {
            merged.steps = d.steps.clone();
        }
        if d.priority.is_some() {
            merged.priority = d.priority;
        }
        if d.refs.is_some() {
            merged.refs = d.refs.clone();
        }
    }
    out
}

/// The entries whose key has a case, addressed by that case.
pub fn by_case(entries: &[KeyedEntry], case_of: impl Fn(&str) -> Option<CaseId>) -> Vec<BulkEntry> {
    entries
        .iter()
        .filter_map(|e| {
            case_of(&e.key).map(|case_id| BulkEntry {
                index: e.index,
                case_id,
                execution: e.execution.clone(),
            })
        })
        .collect()
}

/// What an import will do, key by key.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Distinct keys whose case is in the run.
    pub matched: u64,
    /// Cases to create (with `create_missing`): the first entry of each
    /// key, in order of first appearance.
    pub to_create: Vec<&'a KeyedEntry>,
    /// Project cases to add to the run (with `create_missing`), in order of
    /// first appearance.
    pub to_add: Vec<CaseId>,
    /// Distinct keys with no case in the run that none is made for.
    pub unmatched: Vec<String>,
    created: u64,
    added: u64,
}

/// Plans an import from its distinct keys (see [`distinct`]) and what each
/// turned out to be.
pub fn plan<'a>(
    req: &ImportRequest,
    distinct: &[&'a KeyedEntry],
    found: impl Fn(&KeyedEntry) -> Found,
) -> Plan<'a> {
    let mut plan = Plan {
        matched: 0,
        to_create: Vec::new(),
        to_add: Vec::new(),
        unmatched: Vec::new(),
        created: 0,
        added: 0,
    };
    for e in distinct {
        match (found(e), req.create_missing) {
            (Found::InRun, _) => plan.matched += 1,
            (Found::InProject(id), true) => plan.to_add.push(id),
            (Found::Missing, true) => plan.to_create.push(*e),
            (_, false) => plan.unmatched.push(e.key.clone()),
        }
    }
    plan.created = plan.to_create.len() as u64;
    plan.added = plan.to_add.len() as u64;
    plan
}

impl Plan<'_> {
    /// The rejections of the entries whose key has no case in the run and
    /// none is made for it (code `case_not_found`, once per testcase), or,
    /// for an atomic import with any, `Invalid` naming each `testcases[i]`.
    pub fn check(
        &self,
        req: &ImportRequest,
        found: impl Fn(&KeyedEntry) -> Found,
    ) -> StoreResult<Vec<Rejection>> {
        let mut rejected: Vec<Rejection> = Vec::new();
        if self.unmatched.is_empty() {
            return Ok(rejected);
        }
        let mut bad = Vec::new();
        let mut last_index = None;
        for e in &req.entries {
            let missing = !req.create_missing && found(e) != Found::InRun;
            if missing && last_index != Some(e.index) {
                last_index = Some(e.index);
                let message = format!(
                    "no case with key {:?} in this run (create_missing=true creates it)",
                    e.key
                );
                bad.push(FieldError::new(
                    format!("testcases[{}]", e.index),
                    message.clone(),
                ));
                rejected.push(Rejection {
                    index: e.index,
                    test_case_id: None,
                    code: "case_not_found".into(),
                    message,
                });
            }
        }
        if !req.partial {
            return Err(StoreError::Invalid(bad));
        }
        Ok(rejected)
    }

    /// The answer of a dry run: what would be matched, created and added;
    /// nothing applied.
    pub fn dry_run(self) -> ImportOutcome {
        self.outcome(super::bulk::outcome(Vec::new(), Vec::new()), true)
    }

    /// The answer of an import that did `bulk`.
    pub fn outcome(self, bulk: BulkOutcome, dry_run: bool) -> ImportOutcome {
        ImportOutcome {
            bulk,
            matched: self.matched,
            created: self.created,
            added: self.added,
            unmatched: self.unmatched,
            dry_run,
        }
    }
}
