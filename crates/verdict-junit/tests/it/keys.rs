//! The case key rule, as the parser applies it to testcases: whitespace at
//! both ends trimmed, at most 1000 characters, a longer key shortened to its
//! first 983 characters, `…` and 16 hex digits of the SHA-256 of the whole
//! (trimmed) key. The digests below were computed independently (Python's
//! hashlib), not with the code under test.

use verdict_junit::{TestCase, parse};

fn case(attrs: &str) -> TestCase {
    let xml = format!("<testsuite name=\"S\"><testcase {attrs}/></testsuite>");
    let mut report = parse(xml.as_bytes()).expect("parses");
    assert_eq!(report.testcases.len(), 1);
    report.testcases.remove(0)
}

fn key(attrs: &str) -> String {
    case(attrs).key()
}

#[test]
fn whitespace_at_both_ends_of_a_key_is_trimmed() {
    // jest-junit writes titles as typed, trailing space included.
    assert_eq!(
        key(r#"classname="resolver config" name="missing resolveSnapshotPath throws ""#),
        "resolver config.missing resolveSnapshotPath throws"
    );
    assert_eq!(key(r#"name="  padded title  ""#), "padded title");
    // Tabs, newlines (as character references) and Unicode spaces too.
    assert_eq!(key(r#"name="&#9;&#10; t &#xA0;&#x3000;""#), "t");
    // Inside the key nothing changes: runs of spaces stay.
    assert_eq!(key(r#"classname="a  b" name="c   d""#), "a  b.c   d");
}

#[test]
fn a_blank_classname_or_name_counts_as_absent() {
    assert_eq!(key(r#"classname="   " name="t""#), "t");
    assert_eq!(key(r#"classname="a.B" name=" ""#), "a.B");
    assert_eq!(key(r#"classname=" " name="  ""#), "S");
    // The parsed attributes themselves are kept exactly as written.
    assert_eq!(case(r#"name=" t ""#).name.as_deref(), Some(" t "));
}

#[test]
fn a_key_of_1000_characters_is_kept_and_a_longer_one_is_shortened_with_a_digest() {
    let exact = "k".repeat(1000);
    assert_eq!(key(&format!(r#"name="{exact}""#)), exact);
    // Trimming happens before counting.
    assert_eq!(key(&format!(r#"name="  {exact}  ""#)), exact);

    let long = "x".repeat(1125);
    let got = key(&format!(r#"name="{long}""#));
    assert_eq!(got, format!("{}…7e6aaa414dda624b", "x".repeat(983)));
    assert_eq!(got.chars().count(), 1000);
    // The digest is of the trimmed key, so padding gives the same key.
    assert_eq!(key(&format!(r#"name=" {long} ""#)), got);

    let just_over = "x".repeat(1001);
    assert_eq!(
        key(&format!(r#"name="{just_over}""#)),
        format!("{}…cbe4a2e86e808c9b", "x".repeat(983))
    );
}

#[test]
fn the_digest_covers_the_whole_key_classname_included() {
    let name = "y".repeat(1200);
    let got = key(&format!(r#"classname="jest suite" name="{name}""#));
    let full = format!("jest suite.{name}");
    let prefix: String = full.chars().take(983).collect();
    assert_eq!(got, format!("{prefix}…4e56e66177ff93d2"));
    // Two long keys that share their first 983 characters stay apart.
    let other = key(&format!(r#"classname="jest suite" name="{name}z""#));
    assert_ne!(got, other);
    assert_eq!(other.chars().count(), 1000);
}

#[test]
fn a_multi_byte_key_is_cut_on_a_character_boundary() {
    let long = "日".repeat(1100);
    let got = key(&format!(r#"name="{long}""#));
    assert_eq!(got, format!("{}…2bf667c425d0e97f", "日".repeat(983)));
    assert_eq!(got.chars().count(), 1000);
    let exact = "é".repeat(1000);
    assert_eq!(
        key(&format!(r#"name="{exact}""#)),
        exact,
        "1000 characters, 2000 bytes"
    );
}

#[test]
fn the_rule_is_one_public_function_and_applying_it_twice_changes_nothing() {
    let long = format!("  {}  ", "z".repeat(5000));
    let once = verdict_junit::case_key(&long).expect("not blank");
    assert_eq!(once.chars().count(), verdict_junit::MAX_KEY_CHARS);
    assert_eq!(
        verdict_junit::case_key(&once).as_deref(),
        Some(once.as_str())
    );
    assert_eq!(verdict_junit::case_key(" \t\n "), None);
    assert_eq!(verdict_junit::case_key(" k ").as_deref(), Some("k"));
    let tc = case(&format!(r#"name="{long}""#));
    assert_eq!(tc.key(), once, "the parser uses the same function");
}
