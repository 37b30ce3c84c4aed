//! Building blocks of the script: fixed inputs and the answer log.

#![allow(dead_code)]

use verdict_store::*;

pub fn hash(n: u8) -> TokenHash {
    TokenHash([n; 32])
}

pub fn at(s: i64) -> Timestamp {
    Timestamp::from_millis(1_774_520_100_000 + s * 1000)
}

pub fn page(page: u32, per_page: u32) -> Page {
    Page { page, per_page }
}

pub fn case(title: &str, key: Option<&str>, suite: Option<&str>) -> NewCase {
    NewCase {
        title: title.into(),
        key: key.map(Into::into),
        suite: suite.map(Into::into),
        details: Default::default(),
    }
}

pub fn exec(status: Status, note: Option<&str>, elapsed_ms: Option<i64>) -> Execution {
    Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status,
        note: note.map(Into::into),
        elapsed_ms,
        output: None,
    }
}

pub fn entry(index: usize, case: CaseId, status: Status, note: Option<&str>) -> BulkEntry {
    BulkEntry {
        index,
        case_id: case,
        execution: exec(status, note, Some(index as i64 * 10)),
    }
}

pub fn keyed(index: usize, key: &str, status: Status) -> KeyedEntry {
    KeyedEntry {
        details: Default::default(),
        index,
        key: key.into(),
        title: format!("title of {key}"),
        suite: Some("Suite".into()),
        execution: exec(status, Some("from junit"), Some(1234)),
    }
}

pub fn idem(key: &str, n: u8) -> Option<IdempotencyKey> {
    Some(IdempotencyKey {
        key: key.into(),
        fingerprint: [n; 32],
    })
}

/// Records each answer as one line.
pub struct Log(pub Vec<String>);

impl Log {
    pub fn note<T: std::fmt::Debug>(&mut self, what: &str, r: &StoreResult<T>) {
        self.0.push(format!("{what}: {r:?}"));
    }
}

pub fn ok<T: Clone + std::fmt::Debug>(r: &StoreResult<T>) -> T {
    r.clone().expect("expected success")
}
