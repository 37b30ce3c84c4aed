//! The behaviour every backend must have, checked through the [`Store`]
//! trait alone: no SQL, no backend internals, no mocks. A backend plugs in
//! with one line in one of its test files, [`conformance_tests!`] with a
//! factory: an async closure that makes a fresh, empty, migrated store for
//! one check, plus a guard that keeps its database alive until the check is
//! done (a temp dir, a test database that drops itself), or `None` to skip
//! (after saying why):
//!
//! ```ignore
//! verdict_store::conformance_tests!(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).unwrap();
//!     Some((Arc::new(store) as Arc<dyn Store>, dir))
//! });
//! ```
//!
//! It expands to one `#[tokio::test]` per check, named after the check, so
//! each passes or fails on its own (the test crate needs `tokio` with the
//! `macros` and `rt-multi-thread` features). Every check runs on its own
//! fresh store, in its own task. The checks are in topic modules; the list
//! in [`conformance_tests!`] names them all, once, and [`CHECKS`] is made
//! from it.

mod attachments;
mod bulk;
mod cases;
mod concurrency;
mod manual;
mod once;
mod projects;
mod results;
mod runs;
mod support;
mod testrail;
mod triage;
mod users;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Store;

/// One check: takes a fresh store and panics when the store misbehaves.
pub type Check = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every check, by name, in the order of the list in
/// [`conformance_tests!`].
pub const CHECKS: &[(&str, Check)] = crate::conformance_tests!(@list checks ());

/// Runs the check `name` on a fresh store from `fresh` (whose guard is
/// dropped when the check is done); panics with the check's name when it
/// fails. A factory that makes no store skips the check.
pub async fn run_check<F, Fut, G>(name: &str, fresh: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<(Arc<dyn Store>, G)>>,
{
    let Some((_, check)) = CHECKS.iter().find(|(n, _)| *n == name) else {
        panic!("no conformance check is named {name}");
    };
    let Some((store, guard)) = fresh().await else {
        return;
    };
    // Its own task: a panic is caught here and named, and the check's own
    // tasks run on the test's multi-threaded runtime.
    let outcome = tokio::spawn(check(store)).await;
    drop(guard);
    if let Err(e) = outcome {
        panic!("conformance check {name} failed: {e}");
    }
}

/// One `#[tokio::test]` per conformance check, named after it, each on a
/// fresh store from the factory (see the [module](crate::conformance)
/// docs). This is also where the checks are listed, once.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr $(,)?) => {
        $crate::conformance_tests! { @list tests ($fresh) }
    };
    // The list: each check as `module::name`, in the order they run.
    (@list $mode:ident $args:tt) => {
        $crate::conformance_tests! { @$mode $args
            users::users_create_get_and_list,
            users::emails_are_unique_whatever_their_case,
            users::passwords_and_sign_in_lookup,
            users::bootstrap_with_a_token,
            users::bootstrap_without_a_token_on_an_empty_database,
            users::bootstrap_without_a_token_leaves_a_used_database_alone,
            users::start_tokens_last_while_starts_give_them,
            users::tokens_authenticate_list_and_delete,
            projects::creator_manages_and_members_upsert,
            projects::project_listing_by_member_and_paging,
            cases::cases_and_unique_keys,
            cases::upserts_by_key_in_order,
            cases::case_listing_filters_and_totals,
            cases::case_updates_and_clearing,
            cases::case_details_round_trip_patch_and_upsert,
            cases::deleted_cases_hide_free_their_key_and_keep_run_history,
            runs::runs_over_all_or_given_cases,
            runs::unknown_cases_make_a_run_invalid,
            runs::find_or_create_by_key_returns_the_run_unchanged,
            runs::run_listing_by_state_newest_first,
            runs::run_updates,
            runs::adding_cases_skips_present_ones,
            runs::closed_runs_refuse_result_changes,
            results::listing_orders_by_id_and_pages,
            results::status_filters_and_totals,
            results::title_search,
            results::results_belong_to_their_run,
            results::recording_sets_fields_and_counts,
            results::not_tested_clears_the_result_but_history_keeps_it,
            results::history_newest_first_with_paging,
            bulk::atomic_bulk_writes_nothing_when_an_entry_is_bad,
            bulk::atomic_bulk_with_refused_entries_names_them_and_cases_not_in_the_run,
            bulk::partial_bulk_applies_the_rest_and_merges_rejections,
            bulk::same_case_twice_is_two_executions,
            bulk::idempotent_retries_replay_the_stored_outcome,
            bulk::large_bulks_keep_counts_exact,
            bulk::keyed_imports,
            bulk::partial_imports_and_repeated_keys,
            concurrency::concurrent_writes_keep_counts_and_history_exact,
            concurrency::parallel_jobs_share_one_run_by_key,
            concurrency::concurrent_retries_apply_once,
            concurrency::closing_races_with_writes,
            once::retried_writes_apply_once_and_replay_the_first_answer,
            once::every_kind_of_write_is_kept_with_its_answer,
            once::failed_writes_keep_no_answer,
            once::concurrent_retried_writes_apply_once,
            triage::run_metadata_round_trips_and_filters_runs,
            triage::baselines_follow_branch_environment_and_tested_runs,
            triage::explicit_baselines_must_be_other_runs_of_the_project,
            triage::compare_sorts_cases_into_the_seven_categories,
            triage::failures_group_by_signature,
            triage::gate_facts_leave_out_quarantined_cases_when_asked,
            triage::flaky_cases_flip_or_pass_on_retry,
            triage::durations_over_a_window_and_the_one_before,
            triage::trends_count_runs_oldest_first,
            triage::a_case_across_runs_newest_first,
            triage::quarantine_sets_replaces_releases_and_filters,
            triage::triage_of_unknown_ids_is_not_found,
            manual::step_results_and_defects_on_every_execution_path,
            manual::assignment_targets_and_rules,
            manual::my_work_lists_open_runs_of_member_projects,
            manual::sections_and_nested_suites,
            manual::case_filters_by_suite_and_priority,
            manual::results_filter_by_assignee,
            manual::export_rows_hold_every_result_with_its_case,
            manual::project_and_user_changes,
            manual::imports_apply_case_details,
            attachments::attachments_add_list_get_and_delete,
            attachments::attachments_belong_to_the_latest_execution_and_re_adds_are_idempotent,
            attachments::concurrent_re_adds_add_once,
            attachments::attachments_refuse_closed_runs_and_unknown_ids,
            attachments::output_round_trips_on_every_execution_path,
            attachments::results_filter_by_key,
            attachments::prune_takes_old_closed_runs_with_everything,
            attachments::reclaim_gives_pruned_space_back,
            testrail::numbered_sections_are_stable_per_project,
            testrail::delete_run_takes_an_open_run_with_everything,
        }
    };
    (@tests ($fresh:expr) $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::run_check(stringify!($name), $fresh).await;
            }
        )*
    };
    (@checks () $($module:ident :: $name:ident),* $(,)?) => {
        &[$((stringify!($name), |s| Box::pin($crate::conformance::$module::$name(s)))),*]
    };
}
