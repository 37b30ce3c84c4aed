//! Charts of runs over time, drawn on the server as SVG: a project's trend
//! (results per run as stacked bars, the pass rate as a line), a case's
//! status in its last runs (one square per run) and its duration sparkline.
//! One run's charts (its bar, its ring) are in [`super::chart`].
//!
//! Like every chart here: geometry in attributes, colours in the
//! stylesheet (the CSP allows no inline style), and nothing that depends on
//! colour alone: failed bars and squares are hatched, the other statuses
//! dotted or outlined, every square carries its status symbol, and each
//! chart has `role="img"`, an `aria-label`, `<title>`/`<desc>`, and a text
//! alternative on the page (a table or a sentence). Text goes through maud,
//! which escapes it (run names are user input).

use maud::{Markup, html};
use verdict_store::{RunId, Status, TrendRow};

use super::layout::{elapsed, status_label, status_symbol};

/// `1.2 s`, `850 ms`, `2 min 5 s`: a duration precise enough for a chart.
pub fn short_ms(ms: i64) -> String {
    match ms {
        ..1000 => format!("{} ms", ms.max(0)),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => elapsed(Some(ms)),
    }
}

/// `87%` (no decimals), or `–` for none.
pub fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{:.0}%", r * 100.0),
        None => "–".to_string(),
    }
}

/// `2026-12-03`, the date of a run for axis labels.
fn day(t: verdict_store::Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

fn f(x: f64) -> String {
    format!("{x:.1}")
}

/// The hatch (failed), dots (blocked, retest) and outline (not tested)
/// fills, defined once per chart under ids that start with `prefix`.
fn patterns(prefix: &str) -> Markup {
    html! {
        defs {
            pattern id={ (prefix) "-failed" } patternUnits="userSpaceOnUse" width="6" height="6"
                patternTransform="rotate(45)" {
                rect.pat-failed x="0" y="0" width="6" height="6" {}
                line.pat-mark x1="0" y1="0" x2="0" y2="6" stroke-width="2.5" {}
            }
            pattern id={ (prefix) "-other" } patternUnits="userSpaceOnUse" width="5" height="5" {
                rect.pat-other x="0" y="0" width="5" height="5" {}
                circle.pat-dot cx="2.5" cy="2.5" r="1.1" {}
            }
        }
    }
}

/// A trend's bar segments, bottom up: what each is called and its fill.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Passed,
    Failed,
    Other,
    NotTested,
}

impl Part {
    const ALL: [Part; 4] = [Part::Passed, Part::Failed, Part::Other, Part::NotTested];

    fn name(self) -> &'static str {
        match self {
            Part::Passed => "passed",
            Part::Failed => "failed",
            Part::Other => "blocked or retest",
            Part::NotTested => "not tested",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Part::Passed => "tr-seg tr-passed",
            Part::Failed => "tr-seg tr-failed",
            Part::Other => "tr-seg tr-other",
            Part::NotTested => "tr-seg tr-not_tested",
        }
    }

    /// The `fill` attribute: a pattern for the ones that need one.
    fn fill(self, prefix: &str) -> Option<String> {
        match self {
            Part::Failed => Some(format!("url(#{prefix}-failed)")),
            Part::Other => Some(format!("url(#{prefix}-other)")),
            _ => None,
        }
    }

    fn count(self, row: &TrendRow) -> i64 {
        let c = &row.counts;
        match self {
            Part::Passed => c.passed,
            Part::Failed => c.failed,
            Part::Other => c.blocked + c.retest,
            Part::NotTested => c.not_tested,
        }
    }
}

/// A run's bar, bottom up: each part it has, with what lies below it.
fn stack(row: &TrendRow) -> Vec<(Part, i64, i64)> {
    let mut below = 0;
    let mut parts = Vec::new();
    for part in Part::ALL {
        let v = part.count(row);
        if v > 0 {
            parts.push((part, below, v));
            below += v;
        }
    }
    parts
}

/// "run_012 Nightly (2026-12-03): 14 passed, 1 failed, 0 blocked or
/// retest, 0 not tested; pass rate 93%".
fn row_words(row: &TrendRow) -> String {
    let parts: Vec<String> = Part::ALL
        .iter()
        .map(|p| format!("{} {}", p.count(row), p.name()))
        .collect();
    format!(
        "{} {} ({}): {}; pass rate {}",
        row.run_id,
        row.name,
        day(row.created_at),
        parts.join(", "),
        rate(row.pass_rate)
    )
}

/// One sentence for the whole trend (the chart's label, and visible text).
pub fn trend_words(rows: &[TrendRow]) -> String {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return "No runs yet.".to_string();
    };
    let rates: Vec<f64> = rows.iter().filter_map(|r| r.pass_rate).collect();
    let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let high = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = if rates.is_empty() {
        "nothing tested".to_string()
    } else {
        format!(
            "pass rate between {} and {}",
            rate(Some(low)),
            rate(Some(high))
        )
    };
    format!(
        "{} runs from {} to {}, {}; latest {}: {} of {} passed ({}).",
        rows.len(),
        day(first.created_at),
        day(last.created_at),
        range,
        last.run_id,
        last.counts.passed,
        last.counts.total() - last.counts.not_tested,
        rate(last.pass_rate),
    )
}

/// The trend of a project's latest runs (oldest first): per run a bar of
/// its results by status (scale on the left), the pass rate as a line
/// with square markers (scale on the right), a legend, and the same numbers
/// as a visually hidden table.
pub fn trend_chart(rows: &[TrendRow]) -> Markup {
    const W: f64 = 760.0;
    const H: f64 = 250.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 48.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 40.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = rows.len().max(1);
    let slot = plot_w / n as f64;
    let bar = (slot * 0.7).min(28.0);
    let max_total = rows
        .iter()
        .map(|r| r.counts.total())
        .max()
        .unwrap_or(0)
        .max(1);
    let y_count = |v: i64| TOP + plot_h - plot_h * v as f64 / max_total as f64;
    let y_rate = |r: f64| TOP + plot_h - plot_h * r;
    let x_mid = |i: usize| LEFT + slot * (i as f64 + 0.5);
    // The pass-rate line breaks at runs with nothing tested.
    let mut lines: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, row) in rows.iter().enumerate() {
        match (row.pass_rate, lines.last_mut()) {
            (Some(r), Some(line)) => line.push((x_mid(i), y_rate(r))),
            _ => lines.push(Vec::new()),
        }
    }
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.iter()
                .map(|(x, y)| format!("{},{}", f(*x), f(*y)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let every = rows.len().div_ceil(6).max(1);
    let label = format!("Trend of the latest runs. {}", trend_words(rows));
    let prefix = "trend";
    html! {
        figure.trend {
            svg.trend viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H) role="img"
                aria-label=(label) preserveAspectRatio="xMinYMin meet" {
                title { "Results and pass rate of the latest runs" }
                desc { (label) }
                (patterns(prefix))
                // Grid and scales: results on the left, pass rate on the right.
                @for (frac, text) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
                    line.grid x1=(f(LEFT)) x2=(f(W - RIGHT)) y1=(f(y_rate(frac))) y2=(f(y_rate(frac))) {}
                    text.axis x=(f(W - RIGHT + 6.0)) y=(f(y_rate(frac) + 4.0)) { (text) }
                }
                text.axis text-anchor="end" x=(f(LEFT - 6.0)) y=(f(y_count(0) + 4.0)) { "0" }
                text.axis text-anchor="end" x=(f(LEFT - 6.0)) y=(f(y_count(max_total) + 4.0)) { (max_total) }
                text.axis-title x="4" y=(f(TOP + plot_h / 2.0)) transform={ "rotate(-90 10 " (f(TOP + plot_h / 2.0)) ")" }
                    text-anchor="middle" { "results" }
                @for (i, row) in rows.iter().enumerate() {
                    g.tr-run {
                        title { (row_words(row)) }
                        @for (part, below, v) in stack(row) {
                            rect class=(part.class()) fill=[part.fill(prefix)]
                                x=(f(x_mid(i) - bar / 2.0)) y=(f(y_count(below + v)))
                                width=(f(bar)) height=(f(y_count(below) - y_count(below + v))) {}
                        }
                    }
                    @if i % every == 0 || i + 1 == rows.len() {
                        text.axis text-anchor="middle" x=(f(x_mid(i))) y=(f(H - BOTTOM + 16.0)) { (day(row.created_at).get(5..).unwrap_or_default()) }
                    }
                }
                @for points in &lines {
                    polyline.tr-rate-halo points=(points) fill="none" {}
                    polyline.tr-rate points=(points) fill="none" {}
                }
                @for (i, row) in rows.iter().enumerate() {
                    @if let Some(r) = row.pass_rate {
                        rect.tr-rate-mark x=(f(x_mid(i) - 3.0)) y=(f(y_rate(r) - 3.0)) width="6" height="6" {
                            title { (row.run_id) ": pass rate " (rate(Some(r))) }
                        }
                    }
                }
                text.axis text-anchor="middle" x=(f(LEFT + plot_w / 2.0)) y=(f(H - 6.0)) { "runs, oldest first (date of the run)" }
            }
            figcaption {
                ul.legend {
                    @for part in Part::ALL {
                        li {
                            svg.swatch viewBox="0 0 14 14" width="14" height="14" aria-hidden="true" {
                                rect class=(part.class()) fill=[part.fill(prefix)] x="0" y="0" width="14" height="14" {}
                            }
                            " " (part.name()) " (bars, left scale)"
                        }
                    }
                    li {
                        svg.swatch viewBox="0 0 14 14" width="14" height="14" aria-hidden="true" {
                            line.tr-rate x1="0" y1="7" x2="14" y2="7" {}
                            rect.tr-rate-mark x="4" y="4" width="6" height="6" {}
                        }
                        " pass rate (line, right scale)"
                    }
                }
                p.small { (trend_words(rows)) }
            }
            div.sr-only {
                table {
                    caption { "The runs in the chart, oldest first" }
                    thead { tr {
                        th scope="col" { "Run" } th scope="col" { "Date" }
                        th scope="col" { "Passed" } th scope="col" { "Failed" }
                        th scope="col" { "Blocked or retest" } th scope="col" { "Not tested" }
                        th scope="col" { "Pass rate" }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                th scope="row" { a href={ "/runs/" (row.run_id) } { (row.name) } }
                                td { (day(row.created_at)) }
                                @for part in Part::ALL { td.num { (part.count(row)) } }
                                td.num { (rate(row.pass_rate)) }
                            }
                        }
                    }
                }

            }
        }
    }
}

/// One run's square in a case's status strip.
pub struct Cell {
    pub run_id: RunId,
    pub run_name: String,
    pub status: Status,
}

/// The case's status in its latest runs, oldest first: one square per run
/// with the status symbol in it (failed ones hatched), a tooltip naming
/// the run, and the sequence in words as the label.
pub fn status_strip(cells: &[Cell]) -> Markup {
    const SIZE: f64 = 20.0;
    const GAP: f64 = 4.0;
    let w = (cells.len().max(1) as f64) * (SIZE + GAP);
    let words: Vec<String> = cells
        .iter()
        .map(|c| status_label(c.status).to_lowercase())
        .collect();
    let label = format!(
        "Status in the last {} runs, oldest first: {}",
        cells.len(),
        if words.is_empty() {
            "none".to_string()
        } else {
            words.join(", ")
        }
    );
    let prefix = "strip";
    html! {
        svg.strip viewBox={ "0 0 " (f(w)) " " (SIZE) } width=(f(w)) height=(SIZE) role="img" aria-label=(label) {
            title { "Status in the last runs" }
            desc { (label) }
            (patterns(prefix))
            @for (i, c) in cells.iter().enumerate() {
                @let x = i as f64 * (SIZE + GAP);
                g class={ "sq sq-" (c.status.as_str()) } {
                    title { (c.run_id) " " (c.run_name) ": " (status_label(c.status)) }
                    rect x=(f(x)) y="0" width=(SIZE) height=(SIZE) rx="3"
                        fill=[(c.status == Status::Failed).then(|| format!("url(#{prefix}-failed)"))] {}
                    text.sq-sym x=(f(x + SIZE / 2.0)) y="14.5" text-anchor="middle" { (status_symbol(c.status)) }
                }
            }
        }
    }
}

/// A case's elapsed time over its latest runs, oldest first (`None` where
/// it had none), as a line with its last point marked; the label says the
/// first, last, least and most.
pub fn sparkline(points: &[Option<i64>]) -> Markup {
    const W: f64 = 240.0;
    const H: f64 = 44.0;
    const PAD: f64 = 4.0;
    let known: Vec<(usize, i64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|v| (i, v)))
        .collect();
    let label = sparkline_words(points);
    let lo = known.iter().map(|(_, v)| *v).min().unwrap_or(0);
    let hi = known.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let span = (hi as f64 - lo as f64).max(1.0);
    let step = (W - 2.0 * PAD) / (points.len().max(2) - 1) as f64;
    let xy = |i: usize, v: i64| {
        (
            PAD + step * i as f64,
            H - PAD - (H - 2.0 * PAD) * (v as f64 - lo as f64) / span,
        )
    };
    let line = known
        .iter()
        .map(|(i, v)| {
            let (x, y) = xy(*i, *v);
            format!("{},{}", f(x), f(y))
        })
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        svg.spark viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H) role="img" aria-label=(label) {
            title { "Duration in the last runs" }
            desc { (label) }
            line.grid x1=(PAD) x2=(W - PAD) y1=(H - PAD) y2=(H - PAD) {}
            @if known.len() > 1 {
                polyline.spark-line points=(line) fill="none" {}
            }
            @if let Some((i, v)) = known.last() {
                @let (x, y) = xy(*i, *v);
                circle.spark-last cx=(f(x)) cy=(f(y)) r="3" {}
            }
        }
    }
}

/// "Duration in the last 30 runs, oldest first: from 4.0 s to 9.1 s
/// (least 4.0 s, most 9.1 s)".
pub fn sparkline_words(points: &[Option<i64>]) -> String {
    let known: Vec<i64> = points.iter().flatten().copied().collect();
    let (Some(first), Some(last)) = (known.first(), known.last()) else {
        return format!("No durations recorded in the last {} runs", points.len());
    };
    let lo = known.iter().copied().min().unwrap_or(*first);
    let hi = known.iter().copied().max().unwrap_or(*last);
    format!(
        "Duration in the last {} runs with a time, oldest first: from {} to {} (least {}, most {})",
        known.len(),
        short_ms(*first),
        short_ms(*last),
        short_ms(lo),
        short_ms(hi)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_store::{Counts, Timestamp};

    fn row(id: u64, name: &str, passed: i64, failed: i64) -> TrendRow {
        let counts = Counts {
            passed,
            failed,
            ..Counts::default()
        };
        TrendRow {
            run_id: RunId::from_db(id as i64),
            name: name.into(),
            created_at: Timestamp::from_millis(1_700_000_000_000 + id as i64 * 86_400_000),
            branch: None,
            counts,
            pass_rate: (passed + failed > 0).then(|| passed as f64 / (passed + failed) as f64),
            elapsed_ms: 0,
        }
    }

    #[test]
    fn the_trend_is_an_image_with_words_and_a_table_and_escapes_names() {
        let rows = vec![
            row(1, "<script>x</script>", 9, 1),
            row(2, "b", 0, 0),
            row(3, "c", 5, 5),
        ];
        let svg = trend_chart(&rows).into_string();
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=\"Trend"));
        assert!(svg.contains("<title>") && svg.contains("<desc>"));
        assert!(!svg.contains("<script>x"), "names are escaped");
        assert!(svg.contains("&lt;script&gt;x"));
        assert!(svg.contains("pass rate between 50% and 90%"), "{svg}");
        assert!(
            svg.contains("url(#trend-failed)"),
            "failed bars are hatched"
        );
        assert!(svg.contains("<div class=\"sr-only\"><table>"));
        // The line breaks at the run with nothing tested: two polylines.
        assert_eq!(svg.matches("<polyline class=\"tr-rate\"").count(), 2);
    }

    #[test]
    fn the_strip_and_the_sparkline_say_what_they_show() {
        let cells = vec![
            Cell {
                run_id: RunId::from_db(1),
                run_name: "a".into(),
                status: Status::Passed,
            },
            Cell {
                run_id: RunId::from_db(2),
                run_name: "b".into(),
                status: Status::Failed,
            },
        ];
        let strip = status_strip(&cells).into_string();
        assert!(strip.contains("oldest first: passed, failed"), "{strip}");
        assert!(strip.contains("✗") && strip.contains("url(#strip-failed)"));
        let spark = sparkline(&[Some(4000), None, Some(9100)]).into_string();
        assert!(spark.contains("from 4.0 s to 9.1 s"), "{spark}");
        assert!(spark.contains("role=\"img\""));
        assert_eq!(short_ms(850), "850 ms");
        // Nothing timed, or nothing at all: a flat chart that says so.
        for points in [vec![None, None], vec![]] {
            let spark = sparkline(&points).into_string();
            assert!(spark.contains("No durations recorded"), "{spark}");
        }
        let extreme = sparkline(&[Some(0), Some(i64::MAX)]).into_string();
        assert!(extreme.contains("polyline"));
    }
}
