//! Bounded text: cutting strings on character boundaries with a visible marker,
//! and an append-only buffer that stops growing at its limit.
//!
//! Failure bodies can be megabytes (whole logs pasted into `<failure>`); the
//! buffer makes sure we never hold more than the limit per capture, no matter
//! how many text events the body arrives in.

use std::borrow::Cow;

/// Appended to any text we had to cut, so a reader knows it is incomplete.
pub const TRUNCATION_MARKER: &str = "… [truncated]";

/// Starts the tail of a text we had to cut at its beginning (the end of a
/// long log is where the reason usually is).
pub const TAIL_MARKER: &str = "[truncated] …";

/// The last part of `s` in at most `limit` bytes, cut on a character
/// boundary and starting with [`TAIL_MARKER`] when cut (if the marker fits):
/// the rule for a testcase's output, for callers that keep less of it.
pub fn tail(s: &str, limit: usize) -> Cow<'_, str> {
    clip_tail(s, limit)
}

/// Largest index `<= max` that is a char boundary of `s`.
pub(crate) fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// Smallest index `>= min` that is a char boundary of `s`.
pub(crate) fn ceil_char_boundary(s: &str, min: usize) -> usize {
    (min..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len())
}

/// Keeps the last part of `s` in at most `limit` bytes. When cut, the
/// result starts with [`TAIL_MARKER`] (if the marker itself fits).
pub(crate) fn clip_tail(s: &str, limit: usize) -> Cow<'_, str> {
    if s.len() <= limit {
        return Cow::Borrowed(s);
    }
    cut_tail(s, limit)
}

/// [`clip_tail`] for text already known to be cut: always marked.
fn cut_tail(s: &str, limit: usize) -> Cow<'_, str> {
    if TAIL_MARKER.len() > limit {
        return Cow::Borrowed(&s[ceil_char_boundary(s, s.len().saturating_sub(limit))..]);
    }
    let keep = limit - TAIL_MARKER.len();
    let start = ceil_char_boundary(s, s.len().saturating_sub(keep));
    let mut out = String::with_capacity(limit);
    out.push_str(TAIL_MARKER);
    out.push_str(s[start..].trim_start());
    Cow::Owned(out)
}

/// Cuts `s` to at most `limit` bytes. When cut, the result ends with
/// [`TRUNCATION_MARKER`] (if the marker itself fits in `limit`).
pub(crate) fn clip(s: &str, limit: usize) -> Cow<'_, str> {
    if s.len() <= limit {
        return Cow::Borrowed(s);
    }
    if TRUNCATION_MARKER.len() > limit {
        return Cow::Borrowed(&s[..floor_char_boundary(s, limit)]);
    }
    let keep = floor_char_boundary(s, limit - TRUNCATION_MARKER.len());
    let mut out = String::with_capacity(keep + TRUNCATION_MARKER.len());
    out.push_str(s[..keep].trim_end());
    out.push_str(TRUNCATION_MARKER);
    Cow::Owned(out)
}

/// Clips an optional attribute value to `budget` and charges what was kept.
pub(crate) fn clip_charged(value: Option<String>, budget: &mut usize) -> Option<String> {
    let value = value?;
    let kept = match clip(&value, *budget) {
        Cow::Borrowed(s) if s.len() == value.len() => value,
        other => other.into_owned(),
    };
    *budget -= kept.len().min(*budget);
    Some(kept)
}

/// Accumulates element body text up to `limit` bytes; leading whitespace is
/// skipped and trailing whitespace trimmed, because JUnit writers indent
/// bodies and wrap CDATA in newlines.
#[derive(Debug)]
pub(crate) struct TextBuf {
    buf: String,
    limit: usize,
    truncated: bool,
}

impl TextBuf {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: String::new(),
            limit,
            truncated: false,
        }
    }

    pub(crate) fn push(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let s = if self.buf.is_empty() {
            s.trim_start()
        } else {
            s
        };
        let room = self.limit - self.buf.len();
        if s.len() <= room {
            self.buf.push_str(s);
        } else {
            self.buf.push_str(&s[..floor_char_boundary(s, room)]);
            self.truncated = true;
        }
    }

    /// Appends `s`; when `raw_xml`, applies XML end-of-line handling first
    /// (`\r\n` and lone `\r` become `\n`) without copying the whole input,
    /// so a huge body costs nothing beyond the limit.
    pub(crate) fn push_text(&mut self, s: &str, raw_xml: bool) {
        if !raw_xml {
            self.push(s);
            return;
        }
        let mut rest = s;
        while !rest.is_empty() && !self.truncated {
            let Some(i) = rest.find('\r') else {
                self.push(rest);
                return;
            };
            self.push(&rest[..i]);
            self.push("\n");
            rest = &rest[i + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
    }

    /// The collected text (`None` when empty), with the marker when cut.
    pub(crate) fn finish(self) -> Option<String> {
        let mut buf = self.buf;
        if self.truncated && TRUNCATION_MARKER.len() <= self.limit {
            let keep = floor_char_boundary(&buf, self.limit - TRUNCATION_MARKER.len());
            buf.truncate(keep);
            buf.truncate(buf.trim_end().len());
            buf.push_str(TRUNCATION_MARKER);
        } else {
            buf.truncate(buf.trim_end().len());
        }
        (!buf.is_empty()).then_some(buf)
    }
}

/// Keeps the last `limit` bytes of everything pushed (testcase output:
/// megabytes of log arrive, only the end is kept). Memory stays under about
/// twice the limit whatever the input; trimmed at both ends when finished.
#[derive(Debug)]
pub(crate) struct TailBuf {
    buf: String,
    limit: usize,
    /// Something at the start was dropped.
    cut: bool,
}

impl TailBuf {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: String::new(),
            limit,
            cut: false,
        }
    }

    pub(crate) fn push(&mut self, s: &str) {
        if s.len() >= self.limit {
            self.cut |= !self.buf.is_empty() || s.len() > self.limit;
            self.buf.clear();
            self.buf
                .push_str(&s[ceil_char_boundary(s, s.len() - self.limit)..]);
            return;
        }
        self.buf.push_str(s);
        // Drop the front only now and then, so pushing is amortised O(len).
        if self.buf.len() > self.limit.saturating_mul(2) {
            let start = ceil_char_boundary(&self.buf, self.buf.len() - self.limit);
            self.buf.drain(..start);
            self.cut = true;
        }
    }

    /// Appends `s`, with XML end-of-line handling when `raw_xml` (as
    /// [`TextBuf::push_text`]).
    pub(crate) fn push_text(&mut self, s: &str, raw_xml: bool) {
        if !raw_xml {
            self.push(s);
            return;
        }
        let mut rest = s;
        while let Some(i) = rest.find('\r') {
            self.push(&rest[..i]);
            self.push("\n");
            rest = &rest[i + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
        self.push(rest);
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The kept text, trimmed, and whether its start was dropped.
    pub(crate) fn kept(&self) -> (&str, bool) {
        (self.buf.trim(), self.cut)
    }

    /// Whether nothing has been pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty() && !self.cut
    }
}

/// Joins the non-blank `parts` (text, whether its start was dropped),
/// trimmed, by newlines and keeps the last `limit` bytes, starting with [`TAIL_MARKER`]
/// when anything was cut. `None` when all are blank or `limit` is 0.
pub(crate) fn join_tail(parts: &[(&str, bool)], limit: usize) -> Option<String> {
    if limit == 0 {
        return None;
    }
    let mut joined = String::new();
    let mut cut = false;
    for &(text, part_cut) in parts {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push('\n');
        }
        joined.push_str(text);
        cut |= part_cut;
    }
    if joined.is_empty() {
        return None;
    }
    let kept = if cut {
        cut_tail(&joined, limit)
    } else {
        clip_tail(&joined, limit)
    };
    Some(kept.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries_and_limit() {
        let s = "ab😀cd"; // the emoji is 4 bytes at 2..6
        assert_eq!(clip(s, 100), s);
        assert_eq!(clip(s, 3), "ab");
        let long = "😀".repeat(10);
        let cut = clip(&long, 20);
        assert!(cut.len() <= 20 && cut.ends_with(TRUNCATION_MARKER), "{cut}");
        assert_eq!(clip(&long, 0), "");
    }

    #[test]
    fn textbuf_trims_and_caps() {
        let mut t = TextBuf::new(64);
        t.push("\n   ");
        t.push("  hello ");
        t.push("world\n ");
        assert_eq!(t.finish().as_deref(), Some("hello world"));

        let mut t = TextBuf::new(20);
        for _ in 0..100 {
            t.push("é");
        }
        let out = t.finish().unwrap_or_default();
        assert!(out.len() <= 20 && out.ends_with(TRUNCATION_MARKER), "{out}");
        assert!(TextBuf::new(5).finish().is_none());

        let mut t = TextBuf::new(64);
        t.push_text("\r\n  a\r\nb\rc\r\n", true);
        t.push_text("\r", false);
        assert_eq!(t.finish().as_deref(), Some("a\nb\nc"));
        let mut t = TextBuf::new(64);
        t.push_text("x", true);
        t.push_text("\r", false);
        t.push_text("y", true);
        assert_eq!(t.finish().as_deref(), Some("x\ry"));
    }

    fn finish_tail(t: &TailBuf) -> Option<String> {
        join_tail(&[t.kept()], t.limit())
    }

    #[test]
    fn join_tail_orders_bounds_and_marks() {
        assert_eq!(join_tail(&[("", false), ("  ", false)], 10), None);
        assert_eq!(join_tail(&[("a", false)], 0), None);
        assert_eq!(
            join_tail(&[("out", false), ("", false), ("body", false)], 100).as_deref(),
            Some("out\nbody")
        );
        // A part whose start was dropped marks the whole, even when short.
        let marked = join_tail(&[("end", true)], 100).unwrap_or_default();
        assert_eq!(marked, format!("{TAIL_MARKER}end"));
        let long = join_tail(&[(&"é".repeat(100), false), ("last", false)], 30).unwrap_or_default();
        assert!(long.len() <= 30 && long.starts_with(TAIL_MARKER), "{long}");
        assert!(long.ends_with("é\nlast"), "{long}");
    }

    #[test]
    fn tail_keeps_the_end_on_char_boundaries() {
        assert_eq!(clip_tail("abc", 3), "abc");
        let long = "😀".repeat(10);
        let tail = clip_tail(&long, 25);
        assert_eq!(tail, format!("{TAIL_MARKER}😀😀"));
        assert_eq!(clip_tail(&long, 6), "😀");

        let mut t = TailBuf::new(20);
        for i in 0..1000 {
            t.push_text(&format!("é{i}\r\n"), true);
        }
        let out = finish_tail(&t).unwrap_or_default();
        assert!(out.len() <= 20 && out.starts_with(TAIL_MARKER), "{out}");
        assert!(out.ends_with("é999"), "{out}");

        let mut t = TailBuf::new(64);
        t.push("  one\n");
        t.push("two  ");
        assert_eq!(finish_tail(&t).as_deref(), Some("one\ntwo"));
        let mut t = TailBuf::new(4);
        t.push(&"x".repeat(100));
        assert_eq!(
            finish_tail(&t).as_deref(),
            Some("xxxx"),
            "the marker does not fit"
        );
        assert!(TailBuf::new(4).is_empty());
    }

    #[test]
    fn clip_charged_consumes_budget() {
        let mut budget = 10;
        assert_eq!(
            clip_charged(Some("abc".into()), &mut budget).as_deref(),
            Some("abc")
        );
        assert_eq!(budget, 7);
        let v = clip_charged(Some("x".repeat(50)), &mut budget).unwrap_or_default();
        assert_eq!(v.len(), 7);
        assert_eq!(budget, 0);
        assert_eq!(clip_charged(None, &mut budget), None);
    }
}
