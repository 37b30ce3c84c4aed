//! The body of a webhook delivery. `standard` is the event itself,
//! `{"type", "timestamp", "data"}`; `slack` is an incoming-webhook message
//! (a `text` line for notifications, and `blocks`: the run linked to its
//! page, its counts, the new failures).
//!
//! The event's `data` is read leniently: a field that is missing or of
//! another type is left out of the message, never an error.

use serde::Serialize;
use serde_json::{Value, json};

/// How a webhook wants its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Standard,
    Slack,
}

impl Format {
    /// Its name in the API: `standard` or `slack`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "standard" => Ok(Format::Standard),
            "slack" => Ok(Format::Slack),
            other => Err(format!("must be \"standard\" or \"slack\", not {other:?}")),
        }
    }
}

/// Slack shows at most this many characters of a section's text (3000);
/// the list of failures stops short of it.
const SECTION_LIMIT: usize = 2900;
/// A failure's note in a Slack message: its first line, this many
/// characters at most.
const NOTE_LIMIT: usize = 200;

#[derive(Serialize)]
struct Standard<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: &'a str,
    data: &'a Value,
}

/// The body sent for an event of `event_type` made at `timestamp`
/// (RFC 3339). `public_url` is the server's address as users reach it,
/// for links to the run's page.
pub fn render(
    format: Format,
    event_type: &str,
    timestamp: &str,
    data: &Value,
    public_url: Option<&str>,
) -> Vec<u8> {
    let body = match format {
        Format::Standard => serde_json::to_vec(&Standard {
            event_type,
            timestamp,
            data,
        }),
        Format::Slack => serde_json::to_vec(&slack(event_type, data, public_url)),
    };
    // Serializing a Value (string keys, no failing Serialize) cannot fail.
    body.unwrap_or_default()
}

fn slack(event_type: &str, data: &Value, public_url: Option<&str>) -> Value {
    let run = run_link(data, public_url);
    let headline = match event_type {
        "ping" => {
            let id = str_at(data, "webhook_id").unwrap_or("?");
            format!(
                "Verdict test event for webhook {}: this endpoint receives Verdict's events.",
                escape(id)
            )
        }
        "run.created" => format!("Run {run} created."),
        "run.closed" => format!("Run {run} closed."),
        "results.recorded" => {
            let n = data.get("executions").and_then(Value::as_i64).unwrap_or(0);
            format!("{} recorded in run {run}.", plural(n, "result"))
        }
        other => format!("Verdict event {} for run {run}.", escape(other)),
    };
    let mut text = headline.clone();
    let mut blocks = vec![section(&headline)];
    if event_type != "ping" {
        if let Some(counts) = counts_line(data) {
            text.push(' ');
            text.push_str(&counts);
            blocks.push(section(&counts));
        }
        if let Some(compare) = compare_line(data) {
            text.push(' ');
            text.push_str(&compare);
            blocks.push(section(&compare));
        }
        if let Some((n, list)) = new_failures(data) {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            text.push_str(&format!(" {}.", plural(n, "new failure")));
            blocks.push(section(&list));
        }
    }
    json!({ "text": text, "blocks": blocks })
}

fn section(mrkdwn: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": mrkdwn } })
}

fn str_at<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

/// The run's name in bold, linked to its page when the server's public
/// address is known.
fn run_link(data: &Value, public_url: Option<&str>) -> String {
    let id = str_at(data, "run_id").or_else(|| str_at(data, "id"));
    let name = str_at(data, "run_name")
        .or_else(|| str_at(data, "name"))
        .or(id)
        .unwrap_or("(unnamed)");
    let name = escape(name);
    match (public_url, id) {
        (Some(base), Some(id)) if !base.is_empty() => {
            let url = format!("{}/runs/{}", base.trim_end_matches('/'), url_part(id));
            format!("*<{}|{name}>*", escape(&url))
        }
        _ => format!("*{name}*"),
    }
}

/// `passed 3, failed 1, blocked 0, retest 0, untested 2`, from `counts`.
fn counts_line(data: &Value) -> Option<String> {
    let counts = data.get("counts")?.as_object()?;
    let get = |k: &str| counts.get(k).and_then(Value::as_i64).unwrap_or(0);
    let untested = counts
        .get("not_tested")
        .or_else(|| counts.get("untested"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Some(format!(
        "Passed {}, failed {}, blocked {}, retest {}, untested {}.",
        get("passed"),
        get("failed"),
        get("blocked"),
        get("retest"),
        untested
    ))
}

/// The comparison with the baseline of a closed run: `compare` is the
/// summary itself or holds it in `summary`; nothing when it says the run
/// had no baseline (`baseline_id: null`), where every case is new.
fn compare_line(data: &Value) -> Option<String> {
    let compare = data.get("compare")?;
    if compare.get("baseline_id").is_some_and(Value::is_null) {
        return None;
    }
    let summary = compare.get("summary").unwrap_or(compare).as_object()?;
    let get = |k: &str| summary.get(k).and_then(Value::as_i64).unwrap_or(0);
    Some(format!(
        "Against its baseline: {}, {} still failing, {} fixed.",
        plural(get("new_failure"), "new failure"),
        get("still_failing"),
        get("fixed")
    ))
}

/// How many new failures, and their list as a section's text.
fn new_failures(data: &Value) -> Option<(usize, String)> {
    let failures = data.get("new_failures")?.as_array()?;
    if failures.is_empty() {
        return None;
    }
    let mut list = String::from("*New failures*");
    let mut shown = 0;
    for f in failures {
        let title = str_at(f, "title")
            .or_else(|| str_at(f, "test_case_id"))
            .unwrap_or("(untitled)");
        let mut line = format!("\n• {}", escape(title));
        if let Some(note) = str_at(f, "note").and_then(|n| n.lines().next()) {
            let note = note.trim();
            if !note.is_empty() {
                line.push_str(" — ");
                line.push_str(&escape(&truncate(note, NOTE_LIMIT)));
            }
        }
        if list.len() + line.len() > SECTION_LIMIT {
            break;
        }
        list.push_str(&line);
        shown += 1;
    }
    if shown < failures.len() {
        list.push_str(&format!("\n…and {} more", failures.len() - shown));
    }
    Some((failures.len(), list))
}

fn plural(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Slack's control characters in message text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A run id in a link's path: ids are plain (`run_…`), but one that is not
/// must not end the link (`|`, `>`) or leave its path.
fn url_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_string()
            } else {
                let mut buf = [0; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}
