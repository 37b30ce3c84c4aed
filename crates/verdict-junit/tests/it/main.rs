//! The JUnit parser's tests: the real-world corpus, fallbacks, hostile input, keys, round trips and fuzzing.
//! One test binary per crate: its modules link once.

// Test code, helpers outside #[test] functions included, may unwrap.
#![allow(clippy::unwrap_used)]

mod corpus;
mod fallbacks;
mod fuzz;
mod hostile;
mod keys;
mod output;
mod roundtrip;
mod rules;
