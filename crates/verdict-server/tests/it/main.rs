//! The server's HTTP tests: the real router in-process over a real store, one module per resource or concern.
//! One test binary per crate: its modules link once.

// Test code, helpers outside #[test] functions included, may unwrap.
#![allow(clippy::unwrap_used)]

mod attachments;
mod auth_roles;
mod authz_matrix;
mod blob_storage;
mod case_keys;
mod cases;
mod common;
mod errors;
mod fuzz_bodies;
mod guards;
mod gzip_bodies;
mod idempotent_writes;
mod junit_import;
mod junit_notes;
mod manual_export;
mod manual_results;
mod manual_setup;
mod openapi;
mod openapi_docs;
mod projects;
mod resources;
mod results_bulk;
mod results_bulk_partial;
mod results_counts;
mod results_history;
mod results_idempotency;
mod results_list;
mod results_patch;
mod results_patch_invalid;
mod results_roles;
mod results_scale;
mod runs;
mod schemathesis_regressions;
mod testrail;
mod testrail_cases;
mod testrail_results;
mod testrail_runs;
mod triage;
mod users_tokens;
mod web_access;
mod web_attachments;
mod web_csrf;
mod web_forms;
mod web_login;
mod web_not_found;
mod web_passwords;
mod web_run;
mod web_search;
mod web_session;
mod web_setup;
mod web_triage;
mod web_webhooks;
mod webhook_format;
mod webhook_send;
mod webhooks;
