//! The streaming event loop: quick-xml events in, [`Report`] out.
//!
//! quick-xml is deliberately lenient, so this module adds the checks that make
//! untrusted input safe and unambiguous: UTF-8 only, no DTD (hence no entity
//! declarations or expansion), only predefined entities and character
//! references, no `<` in attribute values, a depth limit, one root element of
//! the right name, and no content outside it. Text of elements we do not care
//! about (suite-level output and properties, unknown elements) is never copied;
//! a testcase's own output only into a bounded tail.

use quick_xml::XmlVersion;
use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::escape::{EscapeError, resolve_xml_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::attrs::{Attrs, is_plausible_name, read_attrs, short, unknown_entity};
use crate::case::{CaseBuilder, DetailAttrs, ResultKind};
use crate::{Limits, ParseError, Report};

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// What an open element means to us; decides where its text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Suites,
    Suite,
    Case,
    Result,
    Attempt,
    StackTrace,
    /// A testcase's own `<system-out>`/`<system-err>`.
    Output,
    /// A testcase's own `<properties>`.
    Properties,
    /// A `<property>` in them whose text is its value.
    Property,
    Other,
}

pub(crate) fn run(input: &[u8], limits: &Limits) -> Result<Report, ParseError> {
    if input.starts_with(&[0xFF, 0xFE]) || input.starts_with(&[0xFE, 0xFF]) {
        return Err(ParseError::at(
            input,
            0,
            "UTF-16 input is not supported; reports must be UTF-8",
        ));
    }
    let bom = if input.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    let body = input.get(bom..).unwrap_or_default();
    let body = std::str::from_utf8(body)
        .map_err(|e| ParseError::at(input, bom + e.valid_up_to(), "input is not valid UTF-8"))?;
    if body.bytes().all(is_xml_whitespace) {
        return Err(ParseError::at(
            input,
            input.len(),
            "empty document: no root element",
        ));
    }
    Parser {
        input,
        bom,
        body,
        reader: Reader::from_str(body),
        limits,
        stack: Vec::new(),
        starts: Vec::new(),
        suite_names: Vec::new(),
        case: None,
        report: Report::default(),
        version: XmlVersion::Implicit1_0,
        root_seen: false,
        event_start: 0,
    }
    .run()
}

fn is_xml_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Parser<'a> {
    input: &'a [u8],
    bom: usize,
    body: &'a str,
    reader: Reader<&'a [u8]>,
    limits: &'a Limits,
    stack: Vec<Frame>,
    /// Offset (in `body`) of each open element's `<`, for error messages.
    starts: Vec<usize>,
    /// `name` of each open `<testsuite>`, innermost last.
    suite_names: Vec<Option<String>>,
    case: Option<CaseBuilder>,
    report: Report,
    version: XmlVersion,
    root_seen: bool,
    /// Offset (in `body`) where the event being handled starts.
    event_start: usize,
}

impl<'a> Parser<'a> {
    fn run(mut self) -> Result<Report, ParseError> {
        loop {
            self.event_start = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let event = self.reader.read_event().map_err(|e| self.xml_error(&e))?;
            match event {
                Event::Decl(d) => self.on_decl(&d)?,
                Event::DocType(_) => {
                    return Err(self.error_here("DTD and entity declarations are not allowed"));
                }
                Event::Start(e) => self.on_start(&e, false)?,
                Event::Empty(e) => self.on_start(&e, true)?,
                Event::End(_) => self.on_end(),
                Event::Text(t) => self.on_text(&t, true)?,
                Event::CData(c) => {
                    self.check_inside_root()?;
                    self.on_text(&c, true)?;
                }
                Event::GeneralRef(r) => self.on_reference(&r)?,
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return self.on_eof(),
            }
        }
    }

    fn error_at(&self, body_offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.input, self.bom.saturating_add(body_offset), message)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.event_start, message)
    }

    fn xml_error(&self, e: &XmlError) -> ParseError {
        let reported = usize::try_from(self.reader.error_position()).unwrap_or(0);
        // error_position() may be stale for some error kinds; never report a
        // place before the event that failed.
        let offset = reported.max(self.event_start);
        let message = match e {
            XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                format!(
                    "malformed XML: expected </{}>, found </{}>",
                    short(expected),
                    short(found)
                )
            }
            XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => unknown_entity(name),
            // Some quick-xml messages quote input (tag names); keep them short.
            other => crate::text::clip(&format!("malformed XML: {other}"), 300).into_owned(),
        };
        self.error_at(offset, message)
    }

    fn on_decl(&mut self, d: &quick_xml::events::BytesDecl<'_>) -> Result<(), ParseError> {
        if self.event_start != 0 {
            return Err(
                self.error_here("the XML declaration must be at the very start of the document")
            );
        }
        self.version = d
            .xml_version()
            .map_err(|e| self.error_here(format!("bad XML declaration: {e}")))?;
        if let Some(encoding) = d.encoding() {
            let encoding =
                encoding.map_err(|e| self.error_here(format!("bad XML declaration: {e}")))?;
            let label = encoding.trim().to_ascii_lowercase();
            // A non-UTF-8 label only matters when non-ASCII bytes exist: pure
            // ASCII reads the same in every ASCII-compatible encoding.
            if !matches!(label.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
                && !self.body.is_ascii()
            {
                return Err(self.error_here(format!(
                    "unsupported encoding {encoding:?}: reports must be UTF-8"
                )));
            }
        }
        Ok(())
    }

    /// Text directly at the top level may only be whitespace.
    fn check_inside_root(&self) -> Result<(), ParseError> {
        if self.stack.is_empty() {
            let what = if self.root_seen {
                "content after the root element"
            } else {
                "text before the root element (is this XML?)"
            };
            return Err(self.error_here(what));
        }
        Ok(())
    }

    /// Routes character data to the open capture, if any. `raw_xml` text still
    /// needs end-of-line normalisation; resolved references do not.
    fn on_text(&mut self, s: &str, raw_xml: bool) -> Result<(), ParseError> {
        let Some(&frame) = self.stack.last() else {
            if let Some(p) = s.bytes().position(|b| !is_xml_whitespace(b)) {
                self.event_start += p;
                return self.check_inside_root();
            }
            return Ok(());
        };
        if let Some(case) = &mut self.case {
            match frame {
                Frame::Result => case.result_text(s, raw_xml),
                Frame::Attempt | Frame::StackTrace => case.attempt_text(s, raw_xml),
                Frame::Output => case.output_text(s, raw_xml),
                Frame::Property => case.property_text(s, raw_xml),
                _ => {}
            }
        }
        Ok(())
    }

    fn on_reference(&mut self, r: &BytesRef<'_>) -> Result<(), ParseError> {
        self.check_inside_root()?;
        let name: &str = r;
        if r.is_char_ref() {
            let c = match r.resolve_char_ref() {
                Ok(Some(c)) => c,
                Ok(None) | Err(_) => {
                    return Err(
                        self.error_here(format!("invalid character reference &{};", short(name)))
                    );
                }
            };
            let mut buf = [0u8; 4];
            return self.on_text(c.encode_utf8(&mut buf), false);
        }
        match resolve_xml_entity(name) {
            Some(s) => self.on_text(s, false),
            None => Err(self.error_here(unknown_entity(name))),
        }
    }

    fn on_start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), ParseError> {
        let qname = e.name();
        let name: &str = qname.as_ref();
        if !is_plausible_name(name) {
            return Err(self.error_here(format!(
                "malformed XML: invalid element name {:?}",
                short(name)
            )));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error_here(format!(
                "nesting deeper than {} levels",
                self.limits.max_depth
            )));
        }
        let tag = self.body.get(self.event_start..).unwrap_or_default();
        let attrs = read_attrs(e, tag, self.version)
            .map_err(|f| self.error_at(self.event_start + f.at, f.message))?;
        let frame = match self.stack.last() {
            None => {
                if self.root_seen {
                    return Err(self.error_here("content after the root element"));
                }
                self.root_seen = true;
                match name {
                    "testsuites" => Frame::Suites,
                    "testsuite" => self.begin_suite(attrs.name),
                    _ => {
                        return Err(self.error_here(format!(
                            "root element is <{}>, expected <testsuites> or <testsuite>",
                            short(name)
                        )));
                    }
                }
            }
            Some(Frame::Suites | Frame::Suite) => match name {
                "testsuite" => self.begin_suite(attrs.name),
                "testsuites" => Frame::Suites,
                "testcase" => self.begin_case(attrs),
                _ => Frame::Other,
            },
            Some(Frame::Case) => self.begin_case_child(name, attrs),
            Some(Frame::Properties) if name == "property" => {
                if let Some(case) = &mut self.case {
                    case.begin_property(attrs.name, attrs.value);
                }
                Frame::Property
            }
            Some(Frame::Attempt) if name == "stackTrace" => {
                if let Some(case) = &mut self.case {
                    case.begin_stack_trace();
                }
                Frame::StackTrace
            }
            Some(_) => Frame::Other,
        };
        if empty {
            self.close(frame);
        } else {
            self.stack.push(frame);
            self.starts.push(self.event_start);
        }
        Ok(())
    }

    fn begin_suite(&mut self, name: Option<String>) -> Frame {
        self.report.suites += 1;
        self.suite_names.push(name);
        Frame::Suite
    }

    fn begin_case(&mut self, attrs: Attrs) -> Frame {
        // googletest/tst mark tests that did not run with attributes, not elements.
        let not_run = matches!(attrs.status.as_deref(), Some("notrun" | "disabled"))
            || matches!(attrs.result.as_deref(), Some("suppressed" | "skipped"));
        self.case = Some(CaseBuilder::new(
            attrs.classname,
            attrs.name,
            self.suite_names.last().cloned().flatten(),
            attrs.time.as_deref().and_then(crate::time::parse_time_ms),
            not_run,
            self.limits.max_text_bytes,
            self.limits.max_output_bytes,
        ));
        Frame::Case
    }

    fn begin_case_child(&mut self, name: &str, attrs: Attrs) -> Frame {
        let Some(case) = &mut self.case else {
            return Frame::Other;
        };
        let detail = DetailAttrs {
            kind: attrs.kind,
            message: attrs.message,
            time: attrs.time,
        };
        let (result, attempt_errored) = match name {
            "failure" => (Some(ResultKind::Failure), None),
            "error" => (Some(ResultKind::Error), None),
            "skipped" => (Some(ResultKind::Skipped), None),
            "flakyFailure" | "rerunFailure" => (None, Some(false)),
            "flakyError" | "rerunError" => (None, Some(true)),
            "system-out" | "system-err" => {
                let whole = attrs.verdict_output.as_deref() == Some("whole");
                case.begin_output(name == "system-err", whole);
                return Frame::Output;
            }
            "properties" => return Frame::Properties,
            _ => return Frame::Other,
        };
        if let Some(kind) = result {
            case.begin_result(kind, detail);
            Frame::Result
        } else {
            case.begin_attempt(attempt_errored == Some(true), detail);
            Frame::Attempt
        }
    }

    fn on_end(&mut self) {
        // quick-xml has already checked that the end tag matches.
        self.starts.pop();
        if let Some(frame) = self.stack.pop() {
            self.close(frame);
        }
    }

    fn close(&mut self, frame: Frame) {
        match frame {
            Frame::Case => {
                if let Some(case) = self.case.take() {
                    self.report.testcases.push(case.finish());
                }
            }
            Frame::Suite => {
                self.suite_names.pop();
            }
            Frame::Result | Frame::Attempt | Frame::StackTrace => {
                if let Some(case) = &mut self.case {
                    match frame {
                        Frame::Result => case.end_result(),
                        Frame::Attempt => case.end_attempt(),
                        _ => case.end_stack_trace(),
                    }
                }
            }
            Frame::Property => {
                if let Some(case) = &mut self.case {
                    case.end_property();
                }
            }
            Frame::Suites | Frame::Output | Frame::Properties | Frame::Other => {}
        }
    }

    fn on_eof(self) -> Result<Report, ParseError> {
        if let Some(&start) = self.starts.last() {
            let tag: String = self.body[start..]
                .chars()
                .skip(1)
                .take_while(|&c| !c.is_whitespace() && c != '>' && c != '/')
                .take(64)
                .collect();
            let opened = self.error_at(start, "").line;
            return Err(self.error_at(
                self.body.len(),
                format!("unexpected end of input: <{tag}> opened on line {opened} is not closed"),
            ));
        }
        if !self.root_seen {
            return Err(self.error_at(self.body.len(), "no root element"));
        }
        Ok(self.report)
    }
}
