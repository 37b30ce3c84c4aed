//! The SQLite backend's tests: the store conformance suite, one test per
//! check, and where its spans are entered.
//! One test binary per crate: its modules link once.

// Test code, helpers outside #[test] functions included, may unwrap.
#![allow(clippy::unwrap_used)]

mod conformance;
mod spans;
mod speed;
