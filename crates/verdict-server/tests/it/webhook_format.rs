//! What a webhook event's body is (webhooks::format: the standard event,
//! a Slack message) and when a failed delivery is tried again
//! (webhooks::backoff).

use std::time::Duration;

use serde_json::{Value, json};
use verdict_server::webhooks::backoff::{GIVE_UP_AFTER, next_delay};
use verdict_server::webhooks::format::{Format, render};

#[test]
fn the_backoff_follows_its_schedule_with_jitter_and_stops_after_a_day() {
    assert_eq!(next_delay(0, Duration::ZERO), Some(Duration::ZERO));
    let schedule = [5.0, 30.0, 120.0, 600.0, 3600.0, 3600.0, 3600.0];
    let mut seen_distinct = std::collections::HashSet::new();
    for _ in 0..50 {
        for (i, base) in schedule.iter().enumerate() {
            let d = next_delay(i as u32 + 1, Duration::from_secs(60))
                .unwrap()
                .as_secs_f64();
            assert!(
                d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                "attempt {}: {d}",
                i + 1
            );
            seen_distinct.insert((i, d.to_bits()));
        }
    }
    // Jittered: 50 draws per attempt are not all the same.
    assert!(seen_distinct.len() > schedule.len() * 10);

    // Past 24 h after the first attempt: given up, whatever the count.
    assert_eq!(next_delay(3, GIVE_UP_AFTER), None);
    assert_eq!(next_delay(30, Duration::from_secs(24 * 3600 - 60)), None);

    // Followed through: the attempts stop within the day, in its last hours.
    for _ in 0..20 {
        let mut since_first = Duration::ZERO;
        let mut attempts = 1;
        while let Some(d) = next_delay(attempts, since_first) {
            since_first += d;
            attempts += 1;
            assert!(since_first <= GIVE_UP_AFTER);
        }
        assert!(
            since_first > Duration::from_secs(22 * 3600),
            "{since_first:?}"
        );
        assert!((22..=35).contains(&attempts), "{attempts}");
    }
}

#[test]
fn the_standard_body_is_type_timestamp_and_data() {
    let data = json!({"webhook_id": "wh_001"});
    let body = render(
        Format::Standard,
        "ping",
        "2026-12-04T12:00:00Z",
        &data,
        None,
    );
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text,
        r#"{"type":"ping","timestamp":"2026-12-04T12:00:00Z","data":{"webhook_id":"wh_001"}}"#
    );
    // The formats' names in the API.
    for format in [Format::Standard, Format::Slack] {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    assert_eq!(
        "Slack".parse::<Format>(),
        Err(r#"must be "standard" or "slack", not "Slack""#.to_string())
    );
}

fn slack(event: &str, data: &Value, public_url: Option<&str>) -> Value {
    let body = render(
        Format::Slack,
        event,
        "2026-12-04T12:00:00Z",
        data,
        public_url,
    );
    serde_json::from_slice(&body).unwrap()
}

fn block_texts(message: &Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "section");
            assert_eq!(b["text"]["type"], "mrkdwn");
            b["text"]["text"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_slack_message_links_the_run_and_lists_counts_and_new_failures() {
    let data = json!({
        "run_id": "run_007",
        "run_name": "Nightly <main> & friends",
        "project_id": "prj_001",
        "executions": 3,
        "counts": {"passed": 10, "failed": 2, "blocked": 1, "retest": 0, "not_tested": 4, "total": 17},
        "new_failures": [
            {"test_case_id": "tc_001", "title": "Login <admin>", "note": "AssertionError: 1 < 2\n  at line 3"},
            {"test_case_id": "tc_002", "title": "Checkout", "note": null}
        ]
    });
    let m = slack(
        "results.recorded",
        &data,
        Some("https://verdict.example.com/"),
    );
    let blocks = block_texts(&m);
    assert_eq!(
        blocks[0],
        "3 results recorded in run *<https://verdict.example.com/runs/run_007|Nightly &lt;main&gt; &amp; friends>*."
    );
    assert_eq!(
        blocks[1],
        "Passed 10, failed 2, blocked 1, retest 0, untested 4."
    );
    assert_eq!(
        blocks[2],
        "*New failures*\n• Login &lt;admin&gt; — AssertionError: 1 &lt; 2\n• Checkout"
    );
    let text = m["text"].as_str().unwrap();
    assert!(
        text.starts_with("3 results recorded in run *<https://verdict.example.com/runs/run_007|"),
        "{text}"
    );
    assert!(text.ends_with("untested 4. 2 new failures."), "{text}");
    assert!(!text.contains("<main>"));

    // Without a public address, the name is not linked.
    let m = slack("results.recorded", &data, None);
    assert_eq!(
        block_texts(&m)[0],
        "3 results recorded in run *Nightly &lt;main&gt; &amp; friends*."
    );
}

#[test]
fn slack_messages_for_runs_and_pings() {
    let run = json!({
        "id": "run_003", "name": "Release 1.0", "project_id": "prj_001", "state": "closed",
        "counts": {"passed": 5, "failed": 1, "blocked": 0, "retest": 0, "not_tested": 0, "total": 6},
        "compare": {"new_failure": 1, "still_failing": 0, "fixed": 2, "new_test": 0, "missing": 0, "changed": 3, "unchanged": 3}
    });
    let m = slack("run.closed", &run, Some("http://ci:8080"));
    let blocks = block_texts(&m);
    assert_eq!(
        blocks[0],
        "Run *<http://ci:8080/runs/run_003|Release 1.0>* closed."
    );
    assert_eq!(
        blocks[1],
        "Passed 5, failed 1, blocked 0, retest 0, untested 0."
    );
    assert_eq!(
        blocks[2],
        "Against its baseline: 1 new failure, 0 still failing, 2 fixed."
    );
    // The comparison as the worker sends it, with its baseline; with none,
    // no comparison is shown.
    let mut with_baseline = run.clone();
    with_baseline["compare"] = json!({"baseline_id": "run_002", "summary": run["compare"]});
    let m = slack("run.closed", &with_baseline, None);
    assert_eq!(
        block_texts(&m)[2],
        "Against its baseline: 1 new failure, 0 still failing, 2 fixed."
    );
    let mut no_baseline = run.clone();
    no_baseline["compare"] = json!({"baseline_id": null, "summary": {"new_test": 6}});
    let m = slack("run.closed", &no_baseline, None);
    assert_eq!(block_texts(&m).len(), 2);
    assert!(!m["text"].as_str().unwrap().contains("baseline"));

    let m = slack("run.created", &run, None);
    assert_eq!(block_texts(&m)[0], "Run *Release 1.0* created.");

    let m = slack("ping", &json!({"webhook_id": "wh_004"}), None);
    assert_eq!(
        m["text"],
        "Verdict test event for webhook wh_004: this endpoint receives Verdict's events."
    );
    assert_eq!(block_texts(&m).len(), 1);
}

/// Data missing its fields, or of the wrong shape, still renders (never a
/// panic): the message says less.
#[test]
fn slack_messages_from_partial_data_do_not_fail() {
    for data in [
        json!({}),
        json!(null),
        json!([1, 2]),
        json!({"counts": 3, "new_failures": {"a": 1}, "compare": "x"}),
    ] {
        for event in [
            "run.created",
            "run.closed",
            "results.recorded",
            "ping",
            "something.new",
        ] {
            let m = slack(event, &data, Some("https://v.example"));
            assert!(m["text"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(!block_texts(&m).is_empty());
            let body = render(Format::Standard, event, "t", &data, None);
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["data"], data);
        }
    }
    // At most 20 failures are listed and a long note is cut at its first
    // line's 200th character.
    let failures: Vec<Value> = (0..20)
        .map(|i| json!({"test_case_id": format!("tc_{i}"), "title": format!("Case {i}"), "note": "x".repeat(500)}))
        .collect();
    let m = slack(
        "results.recorded",
        &json!({"run_id": "run_1", "new_failures": failures}),
        None,
    );
    let list = block_texts(&m).pop().unwrap();
    assert!(list.chars().count() <= 3000, "{}", list.len());
    assert!(list.contains(&format!("— {}…", "x".repeat(200))));
    assert!(list.ends_with("more"), "{list}");
}
