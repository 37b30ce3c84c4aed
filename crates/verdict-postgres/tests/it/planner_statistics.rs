//! The lookups that must stay on their own index whatever the statistics
//! say about runs (migration 2). PostgreSQL's statistics describe the runs
//! that existed at the last ANALYZE, so:
//! - a run created a moment ago looked empty, and a lookup by case used the
//!   `(run_id, id)` index and checked `case_id` row by row: a 10,000-result
//!   import took 7 s instead of 0.1 s;
//! - a run analyzed as most of the table made page 1 walk the primary key
//!   through every older run: 125 ms instead of 1 ms.
//!
//! Asserted through the plans PostgreSQL picks (EXPLAIN), which do not
//! depend on timing, for the shapes of the store's statements.

use crate::common;

use common::{ci_user, fresh, t};
use verdict_postgres::PgStore;
use verdict_store::*;

/// A project named `name` with `n` keyed cases (`{name}-{i}`).
async fn project_with_cases(store: &PgStore, user: &User, name: &str, n: usize) -> Project {
    let project = store
        .create_project(name.into(), user.id, t(0))
        .await
        .expect("project");
    let cases = (0..n)
        .map(|i| NewCase {
            title: format!("{name} {i}"),
            key: Some(format!("{name}-{i}")),
            suite: None,
            details: Default::default(),
        })
        .collect();
    store
        .upsert_cases(project.id, cases, t(1))
        .await
        .expect("cases");
    project
}

async fn plan(client: &tokio_postgres::Client, sql: &str) -> String {
    client
        .query(&format!("EXPLAIN {sql}"), &[])
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_lookups_use_their_indexes_for_new_and_for_dominant_runs() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let user = ci_user(&store).await;
    let client = db.client().await.expect("client");
    let new_run = |name: &str| NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    // A server in use: older runs first, then one big run holding most of
    // the results (with the highest ids), analyzed as autovacuum would.
    // Before autovacuum has run at all, the lookups must be right too.
    let old = project_with_cases(&store, &user, "old", 1000).await;
    for i in 0..3 {
        store
            .create_run(old.id, new_run(&format!("old {i}")), t(2))
            .await
            .expect("run");
    }
    let big_project = project_with_cases(&store, &user, "big", 20_000).await;
    let (big, _) = store
        .create_run(big_project.id, new_run("big"), t(5))
        .await
        .expect("run");
    check_plans(&client, &[big.id.get()], big_project.id.get()).await;
    client.batch_execute("ANALYZE").await.expect("analyze");

    // Then CI creates a run the statistics have never seen.
    let (fresh_run, _) = store
        .create_run(old.id, new_run("ci"), t(6))
        .await
        .expect("run");

    check_plans(
        &client,
        &[big.id.get(), fresh_run.id.get()],
        big_project.id.get(),
    )
    .await;
}

async fn check_plans(client: &tokio_postgres::Client, runs: &[i64], project: i64) {
    for &run in runs {
        assert_plan_uses(
            client,
            &format!("SELECT id FROM results WHERE run_id = {run} AND id > 0 ORDER BY id LIMIT 50"),
            "results_run ",
            &format!("page 1 of run {run} walks the run's own index range"),
        )
        .await;
        assert_plan_uses(
            client,
            &format!(
                "SELECT r.id FROM unnest('{{1,2,3}}'::bigint[]) AS k(case_id)
                 CROSS JOIN LATERAL (SELECT id FROM results
                     WHERE run_id = {run} AND case_id = k.case_id OFFSET 0) AS r"
            ),
            "results_run_case",
            &format!("a case of run {run} is found through (run_id, case_id)"),
        )
        .await;
    }
    // Only a query that says `case_id > 0` may use results_case (migration
    // 4): a case's results across runs, newest first.
    assert_plan_uses(
        client,
        "SELECT r.run_id FROM results r JOIN runs ru ON ru.id = r.run_id
         WHERE r.case_id = 1 AND r.case_id > 0 ORDER BY r.run_id DESC LIMIT 50",
        "results_case",
        "a case across runs walks (case_id, run_id)",
    )
    .await;
    assert_plan_uses(
        client,
        &format!(
            "SELECT c.id FROM unnest('{{a,b}}'::text[]) AS k(key)
             CROSS JOIN LATERAL (SELECT id FROM cases
                 WHERE project_id = {project} AND key = k.key AND deleted_at IS NULL OFFSET 0) AS c"
        ),
        "cases_key",
        "a case is found by its key through (project_id, key)",
    )
    .await;
}

/// The plan of `sql` names `index`; `what` says what that means.
async fn assert_plan_uses(client: &tokio_postgres::Client, sql: &str, index: &str, what: &str) {
    let plan = plan(client, sql).await;
    assert!(plan.contains(index), "{what}:\n{plan}");
}
