//! Rows of the result table, the statistics behind them, the aligned table
//! and the JSON file.

use std::time::Duration;

use serde_json::{Value, json};

/// Whether a row met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    NotApplicable,
}

impl Verdict {
    pub fn of(met: bool) -> Verdict {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// One line of the table. `median`, `baseline` and `server` are in `unit`;
/// `ratio` is median ÷ baseline in that unit (for ms: how many times the raw
/// time; for /s: how many times the raw rate).
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: String,
    pub unit: &'static str,
    pub median: f64,
    pub spread: String,
    pub server: Option<f64>,
    pub baseline: Option<f64>,
    pub target: String,
    pub verdict: Verdict,
    pub peak_rss_mb: Option<f64>,
    pub samples: Vec<f64>,
    pub extra: Value,
    /// The ratio when it is not `median ÷ baseline`: the median of ratios
    /// paired by time (each sample's with its own baseline).
    pub paired: Option<f64>,
}

impl Row {
    /// A row of timings in ms: median and min..max of `samples`.
    pub fn timed(workload: impl Into<String>, samples: &[Duration]) -> Row {
        let ms: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
        let s = Summary::of(&ms);
        Row {
            workload: workload.into(),
            unit: "ms",
            median: s.median,
            spread: format!("{}..{}", num(s.min), num(s.max)),
            samples: ms,
            ..Row::value(String::new(), "ms", 0.0)
        }
    }

    /// A row of one value.
    pub fn value(workload: impl Into<String>, unit: &'static str, value: f64) -> Row {
        Row {
            workload: workload.into(),
            unit,
            median: value,
            spread: String::new(),
            server: None,
            baseline: None,
            target: String::new(),
            verdict: Verdict::NotApplicable,
            peak_rss_mb: None,
            samples: Vec::new(),
            extra: Value::Null,
            paired: None,
        }
    }

    pub fn ratio(&self) -> Option<f64> {
        self.paired
            .or_else(|| self.baseline.filter(|b| *b > 0.0).map(|b| self.median / b))
    }

    /// Sets the target text and whether it was met.
    pub fn target(mut self, text: impl Into<String>, met: bool) -> Row {
        self.target = text.into();
        self.verdict = Verdict::of(met);
        self
    }

    fn json(&self) -> Value {
        json!({
            "workload": self.workload,
            "unit": self.unit,
            "median": self.median,
            "spread": self.spread,
            "server_median": self.server,
            "baseline": self.baseline,
            "ratio": self.ratio(),
            "target": self.target,
            "status": self.verdict.label(),
            "peak_rss_mb": self.peak_rss_mb,
            "samples": self.samples,
            "extra": self.extra,
        })
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A number with about three significant digits.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Median, extremes and percentiles of some samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub p99: f64,
}

impl Summary {
    pub fn of(samples: &[f64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        Summary {
            min: s[0],
            median: at(0.5),
            max: s[s.len() - 1],
            p99: at(0.99),
        }
    }
}

/// Median of server-side latencies (µs) in ms, if any were logged.
pub fn server_ms(latencies_us: &[u64]) -> Option<f64> {
    if latencies_us.is_empty() {
        return None;
    }
    let ms: Vec<f64> = latencies_us.iter().map(|u| *u as f64 / 1000.0).collect();
    Some(Summary::of(&ms).median)
}

fn with_unit(x: Option<f64>, unit: &str) -> String {
    match x {
        Some(x) if unit == "ms" => format!("{} ms", num(x)),
        Some(x) if unit == "/s" => format!("{} /s", num(x)),
        Some(x) => format!("{} {unit}", num(x)),
        None => "-".into(),
    }
}

/// The aligned table.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "workload", "median", "spread", "server", "baseline", "ratio", "target", "status",
        "peak RSS",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.workload.clone(),
                with_unit(Some(r.median), r.unit),
                r.spread.clone(),
                with_unit(r.server, "ms"),
                with_unit(r.baseline, r.unit),
                r.ratio().map_or("-".into(), |x| format!("{}×", num(x))),
                if r.target.is_empty() {
                    "-".into()
                } else {
                    r.target.clone()
                },
                r.verdict.label().into(),
                r.peak_rss_mb.map_or("-".into(), |m| format!("{m:.0} MB")),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: Vec<String>| {
        let padded: Vec<String> = cols
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for c in cells {
        out.push_str(&line(c));
    }
    out
}

/// The whole run as JSON.
pub fn json_report(rows: &[Row], meta: Value) -> Value {
    json!({ "meta": meta, "rows": rows.iter().map(Row::json).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_the_middle_and_the_tail() {
        let s = Summary::of(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!((s.min, s.max), (1.0, 100.0));
        assert!((50.0..=51.0).contains(&s.median));
        assert_eq!(s.p99, 99.0);
    }

    #[test]
    fn the_table_is_aligned() {
        let mut r = Row::timed(
            "bulk",
            &[Duration::from_millis(10), Duration::from_millis(12)],
        );
        r.baseline = Some(5.0);
        let t = table(&[r.target("≤ 2× raw", false)]);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
        assert!(t.contains("missed"));
    }
}
