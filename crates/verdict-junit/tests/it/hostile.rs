//! Hostile and broken inputs: every one must be a clean `ParseError` with a
//! position, never a panic, never entity expansion. Small inline documents,
//! plus prefix/mutation sweeps to look for panics.

use verdict_junit::{Limits, ParseError, parse, parse_with};

fn err(input: &[u8]) -> ParseError {
    match parse(input) {
        Ok(r) => panic!("expected an error, got {} testcases", r.testcases.len()),
        Err(e) => e,
    }
}

fn assert_err_contains(input: &[u8], needle: &str) -> ParseError {
    let e = err(input);
    assert!(e.message.contains(needle), "{needle:?} not in {e}");
    e
}

#[test]
fn billion_laughs_is_rejected_before_any_expansion() {
    let xml = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuites><testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite></testsuites>"#;
    let e = assert_err_contains(xml, "DTD and entity declarations are not allowed");
    assert_eq!((e.line, e.column), (2, 1));
}

#[test]
fn external_entities_are_rejected() {
    let xml = br#"<?xml version="1.0"?>
<!DOCTYPE testsuites [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<testsuites><testsuite name="&xxe;"/></testsuites>"#;
    assert_err_contains(xml, "DTD and entity declarations are not allowed");
    let public =
        br#"<!DOCTYPE testsuites PUBLIC "-//X//Y" "http://example.invalid/x.dtd"><testsuites/>"#;
    assert_err_contains(public, "DTD");
}

#[test]
fn undeclared_entities_are_errors_in_text_and_attributes() {
    let xml = b"<testsuite><testcase name=\"a\"><failure>&xxe;</failure></testcase></testsuite>";
    let e = assert_err_contains(xml, "unknown entity reference &xxe;");
    assert_eq!(Some(e.offset as usize), xml.iter().position(|&b| b == b'&'));
    assert_err_contains(
        b"<testsuite><testcase name=\"&xxe;\"/></testsuite>",
        "&xxe;",
    );
    assert_err_contains(
        b"<testsuite><properties><property value=\"&a;\"/></properties></testsuite>",
        "&a;",
    );
    assert_err_contains(
        b"<testsuite>&#0;</testsuite>",
        "invalid character reference",
    );
    assert_err_contains(b"<testsuite>a & b</testsuite>", "malformed XML");
}

#[test]
fn nesting_beyond_the_limit_is_an_error() {
    let deep = format!(
        "{}{}",
        "<testsuite>".repeat(100),
        "</testsuite>".repeat(100)
    );
    let e = assert_err_contains(deep.as_bytes(), "nesting deeper than 32 levels");
    assert_eq!(e.offset, 32 * "<testsuite>".len() as u64);

    let ok = format!("{}{}", "<testsuite>".repeat(32), "</testsuite>".repeat(32));
    assert_eq!(parse(ok.as_bytes()).map(|r| r.suites).ok(), Some(32));

    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let xml = b"<testsuites><testsuite><testcase><failure/></testcase></testsuite></testsuites>";
    let e = parse_with(xml, &limits).expect_err("depth 4 > 3");
    assert!(e.message.contains("nesting deeper than 3 levels"), "{e}");
}

#[test]
fn truncated_documents_are_errors() {
    let full = br#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="s">
    <testcase name="t"><failure message="m">body</failure></testcase>
  </testsuite>
</testsuites>
"#;
    assert!(parse(full).is_ok());
    let e = assert_err_contains(&full[..full.len() - 15], "unexpected end of input");
    assert!(e.message.contains("<testsuites>"), "{e}");
    assert_eq!(e.line, 5); // end of the cut input, the line of </testsuite>
    // Every shorter prefix is an error too, never a panic or a partial report.
    for cut in 0..full.len() - 14 {
        assert!(
            parse(&full[..cut]).is_err(),
            "prefix of {cut} bytes was accepted"
        );
    }
}

#[test]
fn non_xml_and_garbage_are_errors() {
    let e = assert_err_contains(b"hello, this is not XML\n", "text before the root element");
    assert_eq!((e.line, e.column), (1, 1));
    assert_err_contains(b"{\"testsuites\": []}", "text before the root element");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    err(&garbage);
    assert_err_contains(b"\x00\x01\x02\xff\xfe<testsuite/>", "not valid UTF-8");
    assert_err_contains(b"\xff\xfe<\x00t\x00", "UTF-16");
    let e = assert_err_contains(b"<testsuite name=\"caf\xe9\"/>", "not valid UTF-8");
    assert_eq!(e.offset, 20);
}

#[test]
fn empty_and_whitespace_inputs_are_errors() {
    for input in [
        &b""[..],
        b"   \n\t\r\n",
        b"\xEF\xBB\xBF",
        b"<?xml version=\"1.0\"?>",
        b"<!-- only a comment -->",
    ] {
        let e = err(input);
        assert!(e.message.contains("root element"), "{e}");
    }
}

#[test]
fn malformed_xml_is_an_error() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"<testsuite><testcase name=\"a\" time=\"<1>\"/></testsuite>",
            "'<' is not allowed",
        ),
        (b"<testsuite><testcase></testsuite>", "expected </testcase>"),
        (b"<testsuite></testcase>", "expected </testsuite>"),
        (b"<testsuite/></testsuite>", "malformed XML"),
        (b"<testsuite name=\"a\" name=\"b\"/>", "malformed XML"),
        (b"<testsuite name=a/>", "malformed XML"),
        (b"<testsuite><1bad/></testsuite>", "invalid element name"),
        (
            b"<testsuite>< testcase/></testsuite>",
            "invalid element name",
        ),
        (b"<testsuite><![CDATA[x</testsuite>", "CDATA not closed"),
        (b"<testsuite><!-- x</testsuite>", "comment not closed"),
        (
            b"<testsuite/><testsuite/>",
            "content after the root element",
        ),
        (b"<testsuite/>trailing", "content after the root element"),
        (
            b"<testsuite/><![CDATA[x]]>",
            "content after the root element",
        ),
        (b"<suites><suite/></suites>", "root element is <suites>"),
        (
            b" <?xml version=\"1.0\"?><testsuite/>",
            "XML declaration must be at the very start",
        ),
        (
            b"<?xml version=\"2.0\"?><testsuite/>",
            "bad XML declaration",
        ),
        (
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite name=\"\xc3\xa9\"/>",
            "unsupported encoding",
        ),
    ];
    for (input, needle) in cases {
        let e = err(input);
        assert!(
            e.message.contains(needle),
            "{:?}: {needle:?} not in {e}",
            String::from_utf8_lossy(input)
        );
    }
    // A non-UTF-8 label on pure ASCII content reads the same in UTF-8.
    assert!(parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite/>").is_ok());
}

#[test]
fn oversized_inputs_stay_cheap() {
    // Many attributes on one tag (quadratic duplicate checks were a known
    // quick-xml DoS) and huge names quoted in errors.
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let xml = format!("<testsuite{attrs}><testcase name=\"t\"/></testsuite>");
    let start = std::time::Instant::now();
    assert_eq!(
        parse(xml.as_bytes()).map(|r| r.testcases.len()).ok(),
        Some(1)
    );
    println!("100,000 attributes parsed in {:?}", start.elapsed());

    let long = "x".repeat(1_000_000);
    for xml in [
        format!("<{long}/>"),
        format!("<testsuite></{long}>"),
        format!("<testsuite>&{long};</testsuite>"),
    ] {
        let e = err(xml.as_bytes());
        assert!(
            e.message.len() < 400,
            "{} bytes of message",
            e.message.len()
        );
    }
}

#[test]
fn error_display_and_trait() {
    let e = err(b"<testsuite>\n  <testcase></testsuite>");
    assert_eq!((e.line, e.column, e.offset), (2, 13, 24));
    assert_eq!(e.to_string(), format!("line 2, column 13: {}", e.message));
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(boxed.to_string().starts_with("line 2"));
}

#[test]
fn mutations_never_panic() {
    let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all"><testsuite name="s&amp;t" time="1,234.5">
<properties><property name="p" value="&lt;v&gt;"/></properties>
<testcase classname="c" name="n&#x1F600;" time="1e-3"><failure type="T" message="m">x<![CDATA[y]]>&#10;z</failure>
<flakyError type="E"><stackTrace>st</stackTrace><system-out>o</system-out></flakyError></testcase>
<testcase name="s" status="notrun"/><system-out><![CDATA[log]]></system-out></testsuite></testsuites>"#;
    assert_eq!(parse(doc).map(|r| r.testcases.len()).ok(), Some(2));
    let specials = [
        b'<', b'>', b'&', b'"', b'\'', b'/', b'!', b'?', b'[', b']', b';', b'#', 0, 0xFF, 0xC3,
    ];
    let mut buf = doc.to_vec();
    for i in 0..doc.len() {
        for &b in &specials {
            buf[i] = b;
            let _ = parse(&buf);
        }
        buf[i] = doc[i];
        let mut removed = doc.to_vec();
        removed.remove(i);
        let _ = parse(&removed);
    }
}
