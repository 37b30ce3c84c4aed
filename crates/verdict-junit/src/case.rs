//! Accumulates one `<testcase>` while its children stream past, then decides
//! its final outcome.
//!
//! Only the *first* element of each result kind keeps its detail, because the
//! winning kind is only known at `</testcase>` (an `<error>` may follow a
//! `<failure>`). Each capture is bounded, so a testcase holds at most a few
//! times `max_text_bytes` while open and at most twice that once finished
//! (outcome detail + attempts budget).
//!
//! The testcase's own `<system-out>` and `<system-err>` are followed with a
//! bounded tail buffer each, and the failure/error bodies with one more: they
//! make the testcase's output (out, err, body, joined by newlines, the last
//! `max_output_bytes` of it), and a failure that says nothing (ctest's
//! `message=""`, cucumber-js's bare `<failure/>`) is noted by the end of out
//! and err. Tail buffers hold at most twice their limit, so an open testcase
//! holds at most about eight times `max_output_bytes` of output.

use crate::model::{Attempt, Detail, Outcome, Property, TestCase};
use crate::text::{TailBuf, TextBuf, clip_charged, join_tail};

/// The three result elements that decide a testcase's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultKind {
    Failure,
    Error,
    Skipped,
}

/// Attributes of a result or attempt element that we keep.
#[derive(Debug, Default)]
pub(crate) struct DetailAttrs {
    pub kind: Option<String>,
    pub message: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug)]
struct Capture {
    kind: Option<String>,
    message: Option<String>,
    body: TextBuf,
    /// The end of the body, for the testcase's output (limit 0 when the
    /// body is not part of it).
    tail: TailBuf,
}

impl Capture {
    /// Type, then message, then body share one budget of `limit` bytes; the
    /// body's last `tail_limit` bytes are kept apart for the output.
    fn new(attrs: DetailAttrs, limit: usize, tail_limit: usize) -> Self {
        let mut budget = limit;
        let kind = clip_charged(attrs.kind, &mut budget);
        let message = clip_charged(attrs.message, &mut budget);
        Self {
            kind,
            message,
            body: TextBuf::new(budget),
            tail: TailBuf::new(tail_limit),
        }
    }

    fn push_text(&mut self, s: &str, raw_xml: bool) {
        self.body.push_text(s, raw_xml);
        if self.tail.limit() > 0 {
            self.tail.push_text(s, raw_xml);
        }
    }

    fn into_detail(self) -> Detail {
        Detail {
            kind: self.kind,
            message: self.message,
            text: self.body.finish(),
            output: None,
        }
    }
}

#[derive(Debug)]
struct AttemptCapture {
    errored: bool,
    time_ms: Option<u64>,
    head: Capture,
    stack_trace: Option<TextBuf>,
    in_stack_trace: bool,
}

/// An open `<testcase>`.
#[derive(Debug)]
pub(crate) struct CaseBuilder {
    classname: Option<String>,
    name: Option<String>,
    suite: Option<String>,
    time_ms: Option<u64>,
    not_run: bool,
    limit: usize,
    output_limit: usize,
    failure: Option<Capture>,
    error: Option<Capture>,
    skipped: Option<Capture>,
    /// Which capture the text of the open result element goes to (`None`
    /// when it is not the first of its kind, so its text is dropped).
    active: Option<ResultKind>,
    attempts: Vec<Attempt>,
    attempt: Option<AttemptCapture>,
    attempts_budget: usize,
    /// The end of the testcase's system-out blocks, then of its system-err
    /// blocks (each limited to the larger of the two limits: the output's
    /// and the note's).
    out: TailBuf,
    err: TailBuf,
    /// Which of the two the open output element feeds.
    in_err: bool,
    /// A `<system-out verdict-output="whole">` was read: it is the whole
    /// output, as `to_xml` writes it, and the body is not added again.
    whole: bool,
    properties: Vec<Property>,
    /// An open `<property>` without a `value` attribute: its name and text.
    property: Option<(String, TextBuf)>,
    properties_budget: usize,
}

impl CaseBuilder {
    pub(crate) fn new(
        classname: Option<String>,
        name: Option<String>,
        suite: Option<String>,
        time_ms: Option<u64>,
        not_run: bool,
        limit: usize,
        output_limit: usize,
    ) -> Self {
        let buffers = limit.max(output_limit);
        Self {
            classname,
            name,
            suite,
            time_ms,
            not_run,
            limit,
            output_limit,
            failure: None,
            error: None,
            skipped: None,
            active: None,
            attempts: Vec::new(),
            attempt: None,
            attempts_budget: limit,
            out: TailBuf::new(buffers),
            err: TailBuf::new(buffers),
            in_err: false,
            whole: false,
            properties: Vec::new(),
            property: None,
            properties_budget: limit,
        }
    }

    /// A `<property>` of the testcase's `<properties>` begins. With a
    /// `value` attribute it is complete; without one its text is the value.
    pub(crate) fn begin_property(&mut self, name: Option<String>, value: Option<String>) {
        let name = name.unwrap_or_default();
        match value {
            Some(v) => {
                let value = clip_charged(Some(v), &mut self.properties_budget).unwrap_or_default();
                self.properties.push(Property { name, value });
            }
            None => {
                self.property = Some((name, TextBuf::new(self.properties_budget)));
            }
        }
    }

    /// `raw_xml` text still needs XML end-of-line normalisation.
    pub(crate) fn property_text(&mut self, s: &str, raw_xml: bool) {
        if let Some((_, buf)) = &mut self.property {
            buf.push_text(s, raw_xml);
        }
    }

    pub(crate) fn end_property(&mut self) {
        if let Some((name, buf)) = self.property.take() {
            let value = buf.finish().unwrap_or_default();
            self.properties_budget -= value.len().min(self.properties_budget);
            self.properties.push(Property { name, value });
        }
    }

    fn slot(&mut self, kind: ResultKind) -> &mut Option<Capture> {
        match kind {
            ResultKind::Failure => &mut self.failure,
            ResultKind::Error => &mut self.error,
            ResultKind::Skipped => &mut self.skipped,
        }
    }

    pub(crate) fn begin_result(&mut self, kind: ResultKind, attrs: DetailAttrs) {
        let limit = self.limit;
        // Only a failure's or an error's body is part of the output.
        let tail_limit = match kind {
            ResultKind::Failure | ResultKind::Error => self.output_limit,
            ResultKind::Skipped => 0,
        };
        let slot = self.slot(kind);
        if slot.is_none() {
            *slot = Some(Capture::new(attrs, limit, tail_limit));
            self.active = Some(kind);
        } else {
            self.active = None;
        }
    }

    /// `raw_xml` text still needs XML end-of-line normalisation.
    pub(crate) fn result_text(&mut self, s: &str, raw_xml: bool) {
        if let Some(kind) = self.active
            && let Some(capture) = self.slot(kind)
        {
            capture.push_text(s, raw_xml);
        }
    }

    pub(crate) fn end_result(&mut self) {
        self.active = None;
    }

    /// A `<system-out>` (`err` false) or `<system-err>` child of the
    /// testcase begins; blocks of one kind are joined by a newline. `whole`:
    /// it is marked as the testcase's whole output.
    pub(crate) fn begin_output(&mut self, err: bool, whole: bool) {
        self.in_err = err;
        self.whole |= whole && !err;
        let buf = if err { &mut self.err } else { &mut self.out };
        if !buf.is_empty() {
            buf.push("\n");
        }
    }

    /// `raw_xml` text still needs XML end-of-line normalisation.
    pub(crate) fn output_text(&mut self, s: &str, raw_xml: bool) {
        let buf = if self.in_err {
            &mut self.err
        } else {
            &mut self.out
        };
        buf.push_text(s, raw_xml);
    }

    pub(crate) fn begin_attempt(&mut self, errored: bool, attrs: DetailAttrs) {
        // Surefire writes no time on reruns: the testcase's is the best known.
        let time_ms = attrs
            .time
            .as_deref()
            .and_then(crate::time::parse_time_ms)
            .or(self.time_ms);
        self.attempt = Some(AttemptCapture {
            errored,
            time_ms,
            head: Capture::new(attrs, self.attempts_budget, 0),
            stack_trace: None,
            in_stack_trace: false,
        });
    }

    /// Text directly inside the attempt element, or inside its `<stackTrace>`.
    pub(crate) fn attempt_text(&mut self, s: &str, raw_xml: bool) {
        if let Some(a) = &mut self.attempt {
            match (&mut a.stack_trace, a.in_stack_trace) {
                (Some(st), true) => st.push_text(s, raw_xml),
                _ => a.head.body.push_text(s, raw_xml),
            }
        }
    }

    pub(crate) fn begin_stack_trace(&mut self) {
        if let Some(a) = &mut self.attempt
            && a.stack_trace.is_none()
        {
            // Same room as the direct body: only one of the two is kept.
            let room = self.attempts_budget
                - (a.head.kind.as_ref().map_or(0, String::len)
                    + a.head.message.as_ref().map_or(0, String::len))
                .min(self.attempts_budget);
            a.stack_trace = Some(TextBuf::new(room));
            a.in_stack_trace = true;
        }
    }

    pub(crate) fn end_stack_trace(&mut self) {
        if let Some(a) = &mut self.attempt {
            a.in_stack_trace = false;
        }
    }

    pub(crate) fn end_attempt(&mut self) {
        let Some(a) = self.attempt.take() else {
            return;
        };
        let own_body = a.head.body;
        let text = a
            .stack_trace
            .and_then(TextBuf::finish)
            .or_else(|| own_body.finish());
        let detail = Detail {
            kind: a.head.kind,
            message: a.head.message,
            text,
            output: None,
        };
        let used = [&detail.kind, &detail.message, &detail.text]
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum::<usize>();
        self.attempts_budget -= used.min(self.attempts_budget);
        self.attempts.push(Attempt {
            errored: a.errored,
            detail,
            time_ms: a.time_ms,
        });
    }

    /// Precedence: error > failure > skipped (element, then not-run status)
    /// > passed.
    pub(crate) fn finish(mut self) -> TestCase {
        // An attempt left open cannot happen with well-formed XML, but be safe.
        self.end_attempt();
        let (out, err) = (self.out.kept(), self.err.kept());
        // The body of the element that decides the outcome.
        let decisive = self.error.as_ref().or(self.failure.as_ref());
        let body = match decisive {
            Some(c) if !self.whole => c.tail.kept(),
            _ => ("", false),
        };
        let output = join_tail(&[out, err, body], self.output_limit);
        // The note of a failure that says nothing else.
        let note_output = join_tail(&[out, err], self.limit);
        let explained = |c: Capture| {
            let mut d = c.into_detail();
            if d.is_blank() {
                d.output = note_output;
            }
            d
        };
        let outcome = if let Some(c) = self.error {
            Outcome::Errored(explained(c))
        } else if let Some(c) = self.failure {
            Outcome::Failed(explained(c))
        } else if let Some(c) = self.skipped {
            let d = c.into_detail();
            Outcome::Skipped {
                message: d.message.filter(|m| !m.is_empty()).or(d.text),
            }
        } else if self.not_run {
            Outcome::Skipped { message: None }
        } else {
            Outcome::Passed
        };
        TestCase {
            classname: self.classname,
            name: self.name,
            suite: self.suite,
            time_ms: self.time_ms,
            outcome,
            attempts: self.attempts,
            properties: self.properties,
            output,
        }
    }
}
