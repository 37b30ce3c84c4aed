//! Status charts drawn on the server as SVG: a stacked bar per run (the
//! project page) and a ring for one run (the run page). Geometry goes in
//! attributes and colours in the stylesheet's classes (the CSP allows no
//! inline style). Each chart carries its numbers as text for screen
//! readers, and the pages print the same numbers beside it with the status
//! names, so nothing depends on colour.

use maud::{Markup, html};
use verdict_store::{Counts, Status};

use super::layout::{percent, status_label};

/// Statuses in the order charts stack them: the good news first.
const ORDER: [Status; 5] = [
    Status::Passed,
    Status::Failed,
    Status::Blocked,
    Status::Retest,
    Status::NotTested,
];

/// "12 passed, 3 failed, 0 blocked, 1 retest, 4 not tested (20 results)".
pub fn describe(counts: &Counts) -> String {
    let parts: Vec<String> = ORDER
        .iter()
        .map(|s| format!("{} {}", counts.get(*s), status_label(*s).to_lowercase()))
        .collect();
    format!("{} ({} results)", parts.join(", "), counts.total())
}

/// Pass rate: passed among the results that were tested (a run half done
/// with everything passing so far is at 100 %, not 50 %). `None` before
/// anything was tested.
pub fn pass_rate(counts: &Counts) -> Option<i64> {
    let tested = counts.total() - counts.not_tested;
    (tested > 0).then(|| percent(counts.passed, tested))
}

/// A horizontal bar split by status, `width` by 12 user units.
pub fn stacked_bar(counts: &Counts) -> Markup {
    const WIDTH: f64 = 200.0;
    let total = counts.total();
    let mut x = 0.0;
    let mut segments = Vec::new();
    if total > 0 {
        for status in ORDER {
            let n = counts.get(status);
            if n == 0 {
                continue;
            }
            let w = WIDTH * n as f64 / total as f64;
            segments.push((status, x, w, n));
            x += w;
        }
    }
    let label = describe(counts);
    html! {
        svg.bar viewBox="0 0 200 12" width="200" height="12" preserveAspectRatio="none"
            role="img" aria-label=(label) {
            title { (label) }
            rect.seg.empty x="0" y="0" width="200" height="12" {}
            @for (status, x, w, n) in segments {
                rect class={ "seg seg-" (status.as_str()) }
                    x=(format!("{x:.2}")) y="0" width=(format!("{w:.2}")) height="12" {
                    title { (n) " " (status_label(status).to_lowercase()) }
                }
            }
        }
    }
}

/// A ring split by status, with the pass rate in its middle.
pub fn ring(counts: &Counts) -> Markup {
    // r = 100 / 2π makes the circumference 100, so dash lengths are percents.
    const R: &str = "15.91549";
    let total = counts.total();
    let mut offset = 0.0;
    let mut arcs = Vec::new();
    if total > 0 {
        for status in ORDER {
            let n = counts.get(status);
            if n == 0 {
                continue;
            }
            let share = 100.0 * n as f64 / total as f64;
            // Dash offsets run backwards from 3 o'clock; 25 starts at 12.
            arcs.push((status, share, 25.0 - offset));
            offset += share;
        }
    }
    let label = describe(counts);
    let middle = match pass_rate(counts) {
        Some(rate) => format!("{rate}%"),
        None => "–".to_string(),
    };
    html! {
        svg.ring viewBox="0 0 42 42" width="168" height="168" role="img" aria-label=(label) {
            title { (label) }
            circle.seg.empty cx="21" cy="21" r=(R) fill="none" stroke-width="6" {}
            @for (status, share, start) in arcs {
                circle class={ "seg seg-" (status.as_str()) } cx="21" cy="21" r=(R) fill="none"
                    stroke-width="6"
                    stroke-dasharray=(format!("{share:.3} {:.3}", 100.0 - share))
                    stroke-dashoffset=(format!("{start:.3}")) {}
            }
            text.ring-value x="21" y="21" text-anchor="middle" { (middle) }
            text.ring-caption x="21" y="27" text-anchor="middle" { "pass rate" }
        }
    }
}

/// The counts as a table: status (by name), results, share of the run.
pub fn counts_table(counts: &Counts) -> Markup {
    let total = counts.total();
    html! {
        table.counts {
            caption { "Results by status" }
            thead { tr { th scope="col" { "Status" } th scope="col" { "Results" } th scope="col" { "Share" } } }
            tbody {
                @for status in ORDER {
                    tr {
                        th scope="row" {
                            span class={ "swatch seg-" (status.as_str()) } aria-hidden="true" {}
                            (super::layout::status_badge(status))
                        }
                        td.num data-status=(status.as_str()) { (counts.get(status)) }
                        td.num { (percent(counts.get(status), total)) "%" }
                    }
                }
            }
            tfoot { tr { th scope="row" { "Total" } td.num { (total) } td.num { "100%" } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_rate_counts_only_tested_results() {
        let counts = Counts {
            passed: 3,
            failed: 1,
            not_tested: 6,
            ..Counts::default()
        };
        assert_eq!(pass_rate(&counts), Some(75));
        assert_eq!(pass_rate(&Counts::default()), None);
    }

    #[test]
    fn charts_say_their_numbers_in_words() {
        let counts = Counts {
            passed: 2,
            failed: 1,
            ..Counts::default()
        };
        let bar = stacked_bar(&counts).into_string();
        assert!(bar.contains("2 passed, 1 failed, 0 blocked, 0 retest, 0 not tested (3 results)"));
        let ring = ring(&counts).into_string();
        assert!(ring.contains("67%"), "{ring}");
        assert!(ring.contains("seg-failed"));
    }
}
