//! TestRail compatibility: numbered sections and deleting a run.

use std::sync::Arc;

use super::support::*;
use crate::*;

pub async fn numbered_sections_are_stable_per_project(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 0).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    assert_eq!(s.numbered_sections(p).await.expect("none"), vec![]);
    let first = s
        .number_sections(p, vec!["A".into(), "A / B".into()])
        .await
        .expect("numbered");
    assert_eq!(
        first.iter().map(|x| x.path.as_str()).collect::<Vec<_>>(),
        ["A", "A / B"]
    );
    assert!(first[0].id < first[1].id, "in the order given");
    let again = s
        .number_sections(p, vec!["A / B".into(), "C".into()])
        .await
        .expect("numbered again");
    assert_eq!(again.len(), 3);
    assert_eq!(&again[..2], &first[..], "numbers never move");
    let c = again[2].clone();
    assert_eq!((c.path.as_str(), c.project_id), ("C", p));
    // Another project numbers the same path apart.
    let other = s
        .number_sections(q, vec!["A".into()])
        .await
        .expect("other project");
    assert_eq!(other.len(), 1);
    assert!(!again.iter().any(|x| x.id == other[0].id));
    assert_eq!(s.numbered_sections(p).await.expect("list"), again);
    assert_eq!(s.numbered_section(c.id).await.expect("one"), c);
    // Forgetting a number; unknown ones are NotFound.
    s.delete_numbered_section(c.id).await.expect("deleted");
    assert!(matches!(
        s.numbered_section(c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_numbered_section(c.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.numbered_sections(p).await.expect("list").len(), 2);
    let unknown = ProjectId::from_db(UNKNOWN);
    assert!(matches!(
        s.number_sections(unknown, vec!["A".into()]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.numbered_sections(unknown).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn delete_run_takes_an_open_run_with_everything(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let (gone, _) = s
        .create_run(p, new_run("gone", None, None), t(1))
        .await
        .expect("run");
    let (kept, _) = s
        .create_run(p, new_run("kept", None, None), t(1))
        .await
        .expect("run");
    for run in [gone.id, kept.id] {
        let results = s
            .list_results(
                run,
                ResultQuery {
                    statuses: vec![],
                    after: None,
                    q: None,
                    assignee: None,
                    key: None,
                    output: false,
                    page: page(1, 10),
                },
            )
            .await
            .expect("results");
        s.record_result(
            run,
            results.items[0].id,
            Execution::new(Status::Failed, Some("x".into()), Some(5)),
            owner,
            t(2),
        )
        .await
        .expect("recorded");
    }
    let outcome = s.delete_run(gone.id).await.expect("deleted");
    assert_eq!(outcome.runs, 1);
    assert_eq!(outcome.results, cases.len() as u64);
    assert_eq!(outcome.executions, 1);
    assert!(matches!(
        s.get_run(gone.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_run(gone.id).await,
        Err(StoreError::NotFound)
    ));
    let left = s.get_run(kept.id).await.expect("the other run stays");
    assert_eq!(left.counts.failed, 1);
    assert_eq!(
        s.list_runs(p, RunFilter::default(), page(1, 10))
            .await
            .expect("runs")
            .total,
        1
    );
}
