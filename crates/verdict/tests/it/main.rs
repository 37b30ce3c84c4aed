//! End-to-end tests: the `verdict` binary as a process, over TCP, with real databases (and Chromium for the browser tests).
//! One test binary per crate: its modules link once.

// Test code, helpers outside #[test] functions included, may unwrap.
#![allow(clippy::unwrap_used)]

mod accessibility;
mod admin_token;
mod backup;
mod browser;
mod cli_attachments;
mod cli_password;
mod cli_triage;
mod cli_upload;
mod common;
mod connections;
mod crash_attachments;
mod crash_retries;
mod crash_safety;
mod demo;
mod e2e;
mod manual_flow;
mod migrate;
mod postgres_multi;
mod postgres_outage;
mod postgres_tls;
mod readme;
mod retention;
mod s3_shared;
mod sign_in_limits;
mod trcli;
mod webdriver;
mod webhook_durability;
