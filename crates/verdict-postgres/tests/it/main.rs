//! The PostgreSQL backend's tests; each says it skipped unless `VERDICT_TEST_POSTGRES_URL` names a server.
//! One test binary per crate: its modules link once.

// Test code, helpers outside #[test] functions included, may unwrap.
#![allow(clippy::unwrap_used)]

mod availability;
mod common;
mod concurrency;
mod conformance;
mod differential;
mod key_races;
mod migrations;
mod patches;
mod planner_statistics;
mod speed;
mod tls;
mod webhook_worker;

mod stripes;
