//! Attribute and name checks for start tags.
//!
//! quick-xml hands attribute values over raw and accepts some non-XML (a `<`
//! inside a value, odd element names), so every attribute of every element is
//! validated here, not only the ones we read: malformed XML must be rejected
//! wherever it is, including inside parts of the report we otherwise ignore.

use quick_xml::XmlVersion;
use quick_xml::errors::Error as XmlError;
use quick_xml::escape::EscapeError;
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::{AttrError, Attribute};

/// The attributes we read; all others are only validated.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    pub name: Option<String>,
    pub classname: Option<String>,
    pub time: Option<String>,
    pub kind: Option<String>,
    pub message: Option<String>,
    pub status: Option<String>,
    pub result: Option<String>,
    pub value: Option<String>,
    /// `verdict-output` on a `<system-out>` (see the `write` module).
    pub verdict_output: Option<String>,
}

/// A bad attribute: `at` is the byte offset from the tag's `<`.
#[derive(Debug)]
pub(crate) struct AttrFault {
    pub at: usize,
    pub message: String,
}

/// Validates every attribute of `e` and decodes (unescapes, normalises) the
/// ones in [`Attrs`]. `tag` is the input from the tag's `<` onwards.
pub(crate) fn read_attrs(
    e: &BytesStart<'_>,
    tag: &str,
    version: XmlVersion,
) -> Result<Attrs, AttrFault> {
    let mut out = Attrs::default();
    for attr in e.attributes().with_checks(true) {
        let attr = attr.map_err(|err| attr_fault(&err))?;
        if attr.value.contains('<') {
            let at = tag.get(1..).and_then(|t| t.find('<')).map_or(0, |p| p + 1);
            return Err(AttrFault {
                at,
                message: "malformed XML: '<' is not allowed in attribute values".to_owned(),
            });
        }
        let slot = match attr.key.as_ref() {
            "name" => &mut out.name,
            "classname" => &mut out.classname,
            "time" => &mut out.time,
            "type" => &mut out.kind,
            "message" => &mut out.message,
            "status" => &mut out.status,
            "result" => &mut out.result,
            "value" => &mut out.value,
            "verdict-output" => &mut out.verdict_output,
            _ => {
                // Not needed, but its references must still be valid.
                if attr.value.contains('&') {
                    value(&attr, version)?;
                }
                continue;
            }
        };
        *slot = Some(value(&attr, version)?);
    }
    Ok(out)
}

/// Unescapes with the predefined entities and character references only.
fn value(attr: &Attribute<'_>, version: XmlVersion) -> Result<String, AttrFault> {
    let message = match attr.normalized_value(version) {
        Ok(v) => return Ok(v.into_owned()),
        Err(XmlError::Escape(EscapeError::UnrecognizedEntity(_, name))) => unknown_entity(&name),
        Err(e) => format!("malformed XML: bad attribute value: {e}"),
    };
    Err(AttrFault { at: 0, message })
}

fn attr_fault(err: &AttrError) -> AttrFault {
    // Positions are relative to the tag content after `<`.
    let pos = match err {
        AttrError::ExpectedEq(p)
        | AttrError::ExpectedValue(p)
        | AttrError::UnquotedValue(p)
        | AttrError::ExpectedQuote(p, _)
        | AttrError::Duplicated(p, _) => *p,
    };
    AttrFault {
        at: pos + 1,
        message: format!("malformed XML: {err}"),
    }
}

pub(crate) fn unknown_entity(name: &str) -> String {
    let name = short(name);
    format!("unknown entity reference &{name}; (only the five predefined XML entities are allowed)")
}

/// Input quoted in an error message is cut, so a hostile megabyte-long name
/// cannot make the error itself huge.
pub(crate) fn short(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::clip(s, 80)
}

/// quick-xml does not validate names; reject the obviously broken ones
/// (`<>`, `< a>`, `<1x>`) so garbage is not read as elements.
pub(crate) fn is_plausible_name(name: &str) -> bool {
    match name.chars().next() {
        None => false,
        Some(c) => !(c.is_ascii_digit() || "-.'\"=<>&/!?".contains(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(xml: &str) -> Result<Attrs, AttrFault> {
        let mut reader = quick_xml::reader::Reader::from_str(xml);
        match reader.read_event() {
            Ok(quick_xml::events::Event::Empty(e)) => read_attrs(&e, xml, XmlVersion::Implicit1_0),
            other => panic!("not an empty tag: {other:?}"),
        }
    }

    #[test]
    fn decodes_what_we_use_and_validates_the_rest() {
        let a = attrs("<t name='a&amp;b' classname=\"x&#10;y\tz\" other='&lt;'/>").expect("valid");
        assert_eq!(a.name.as_deref(), Some("a&b"));
        // Literal tabs/newlines normalise to spaces; character references do not.
        assert_eq!(a.classname.as_deref(), Some("x\ny z"));
        let f = attrs("<t other='&bogus;'/>")
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(f.contains("&bogus;"), "{f}");
        let f = attrs("<t a='1' b=\"<2>\"/>").err().map(|f| f.at);
        assert_eq!(f, Some(12));
        assert!(attrs("<t a='1' a='2'/>").is_err());
    }

    #[test]
    fn names() {
        assert!(
            is_plausible_name("testcase") && is_plausible_name("x:y") && is_plausible_name("_a")
        );
        assert!(!is_plausible_name("") && !is_plausible_name("1a") && !is_plausible_name("-a"));
    }
}
