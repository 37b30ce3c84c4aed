//! Failure signatures: failures that differ only in what varies between
//! runs (numbers, ids, addresses, times, temporary paths, quoted values)
//! share one. The rule, with examples, is in docs/API.md ("Failure
//! signatures"); this is the one implementation of it.

/// How much of a note's first line is looked at.
const MAX_LINE: usize = 500;

/// A failed result's signature and the normalised message it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// 16 lower-case hex digits: FNV-1a (64-bit) of `message`.
    pub signature: String,
    pub message: String,
}

/// The signature of a failed result with this note.
pub fn of(note: Option<&str>) -> Signature {
    let message = normalise(first_line(note.unwrap_or("")));
    Signature {
        signature: format!("{:016x}", fnv1a(message.as_bytes())),
        message,
    }
}

/// The first line of a note that has anything but whitespace, trimmed and
/// cut to [`MAX_LINE`] characters.
fn first_line(note: &str) -> &str {
    let line = note
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.char_indices().nth(MAX_LINE) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Replaces what varies between runs with placeholders, in this order at
/// each position: a quoted value (`"…"`, `'…'`, `` `…` ``) → `"<value>"`;
/// a temporary path (`/tmp/…`, `/var/folders/…`, `…\Temp\…`) → `<tmp>`; a
/// UUID → `<uuid>`; a date with an optional time (`2026-03-26T10:15:00Z`)
/// or a time (`10:15:00.123`) → `<time>`; `0x` and hex digits → `<addr>`; a
/// word of 6 or more hex digits with a letter and a digit among them
/// (`3f2a1c9`, `Object@6d06d69c`) → `<hex>`; digits, with a decimal part,
/// → `<n>`. Runs of whitespace become one space. Text that matches none
/// stays as it is, so `NullPointerException` stays itself.
pub fn normalise(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_boundary = i == 0 || !is_word(chars[i - 1]);
        if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if at_boundary
            && matches!(c, '"' | '\'' | '`')
            && let Some(end) = closing_quote(&chars, i)
        {
            out.push(c);
            out.push_str("<value>");
            out.push(c);
            i = end + 1;
            continue;
        }
        if at_boundary && let Some(end) = temp_path(&chars, i) {
            out.push_str("<tmp>");
            i = end;
            continue;
        }
        if at_boundary && let Some(end) = uuid(&chars, i) {
            out.push_str("<uuid>");
            i = end;
            continue;
        }
        if at_boundary && let Some(end) = date_time(&chars, i) {
            out.push_str("<time>");
            i = end;
            continue;
        }
        if at_boundary
            && c == '0'
            && matches!(chars.get(i + 1), Some('x' | 'X'))
            && chars.get(i + 2).is_some_and(char::is_ascii_hexdigit)
        {
            i += 2;
            while chars.get(i).is_some_and(char::is_ascii_hexdigit) {
                i += 1;
            }
            out.push_str("<addr>");
            continue;
        }
        if at_boundary && let Some(end) = hex_word(&chars, i) {
            out.push_str("<hex>");
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            i = number_end(&chars, i);
            out.push_str("<n>");
            continue;
        }
        out.push(c);
        i += 1;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index of the quote that closes the one at `open`: the next same
/// quote character not followed by a word character.
fn closing_quote(chars: &[char], open: usize) -> Option<usize> {
    let q = chars[open];
    (open + 1..chars.len())
        .find(|&j| chars[j] == q && chars.get(j + 1).is_none_or(|n| !is_word(*n)))
}

/// The end of a temporary path starting at `i`.
fn temp_path(chars: &[char], i: usize) -> Option<usize> {
    let end = (i..chars.len())
        .find(|&j| {
            chars[j].is_whitespace()
                || matches!(chars[j], '"' | '\'' | '`' | ')' | ']' | ',' | ';')
                || (chars[j] == ':' && chars.get(j + 1).is_none_or(|c| c.is_whitespace()))
        })
        .unwrap_or(chars.len());
    let word: String = chars[i..end].iter().collect();
    let lower = word.to_ascii_lowercase();
    const UNIX: [&str; 7] = [
        "/tmp/",
        "/var/tmp/",
        "/var/folders/",
        "/private/var/folders/",
        "/private/tmp/",
        "/dev/shm/",
        "/run/user/",
    ];
    let unix = UNIX.iter().any(|p| lower.starts_with(p));
    let windows = lower.len() > 3
        && lower.as_bytes()[1] == b':'
        && (lower.contains("\\temp\\") || lower.contains("/temp/"));
    (unix || windows).then_some(end)
}

fn hex_run(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while chars.get(j).is_some_and(char::is_ascii_hexdigit) {
        j += 1;
    }
    j - i
}

/// The end of a UUID (8-4-4-4-12 hex digits) starting at `i`.
fn uuid(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    for (n, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            if chars.get(j) != Some(&'-') {
                return None;
            }
            j += 1;
        }
        if hex_run(chars, j) != len {
            return None;
        }
        j += len;
    }
    chars.get(j).is_none_or(|c| !is_word(*c)).then_some(j)
}

fn digits(chars: &[char], i: usize, n: usize) -> bool {
    (i..i + n).all(|j| chars.get(j).is_some_and(char::is_ascii_digit))
}

/// The end of a date (`YYYY-MM-DD`, then optionally `T` or a space and a
/// time) or a time (`H:MM:SS`, `HH:MM:SS`, a fraction, a zone).
fn date_time(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if digits(chars, i, 4)
        && chars.get(i + 4) == Some(&'-')
        && digits(chars, i + 5, 2)
        && chars.get(i + 7) == Some(&'-')
        && digits(chars, i + 8, 2)
    {
        j = i + 10;
        if matches!(chars.get(j), Some('T' | ' '))
            && let Some(end) = time(chars, j + 1)
        {
            j = end;
        }
        return Some(zone(chars, j));
    }
    if let Some(end) = time(chars, j) {
        return Some(zone(chars, end));
    }
    None
}

fn time(chars: &[char], i: usize) -> Option<usize> {
    let h = if digits(chars, i, 2) {
        2
    } else if digits(chars, i, 1) {
        1
    } else {
        return None;
    };
    let mut j = i + h;
    if chars.get(j) != Some(&':') || !digits(chars, j + 1, 2) {
        return None;
    }
    j += 3;
    if chars.get(j) != Some(&':') || !digits(chars, j + 1, 2) {
        return None;
    }
    j += 3;
    if matches!(chars.get(j), Some('.' | ',')) && digits(chars, j + 1, 1) {
        j += 1;
        while chars.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
    }
    Some(j)
}

fn zone(chars: &[char], i: usize) -> usize {
    match chars.get(i) {
        Some('Z') if chars.get(i + 1).is_none_or(|c| !is_word(*c)) => i + 1,
        Some('+' | '-') if digits(chars, i + 1, 2) => {
            let mut j = i + 3;
            if chars.get(j) == Some(&':') {
                j += 1;
            }
            if digits(chars, j, 2) { j + 2 } else { i + 3 }
        }
        _ => i,
    }
}

/// The end of a word of 6 or more hex digits holding a letter and a digit.
fn hex_word(chars: &[char], i: usize) -> Option<usize> {
    let len = hex_run(chars, i);
    if len < 6 || chars.get(i + len).is_some_and(|c| is_word(*c)) {
        return None;
    }
    let word = &chars[i..i + len];
    let digit = word.iter().any(char::is_ascii_digit);
    let letter = word.iter().any(char::is_ascii_alphabetic);
    (digit && letter).then_some(i + len)
}

/// The end of digits starting at `i`, with a decimal part if one follows.
fn number_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while chars.get(j).is_some_and(char::is_ascii_digit) {
        j += 1;
    }
    if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
        j += 1;
        while chars.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        of(Some(a)).signature == of(Some(b)).signature
    }

    #[test]
    fn what_varies_between_runs_shares_a_signature() {
        assert!(same("expected 3 but got 4", "expected 7 but got 9"));
        assert!(!same("expected 3 but got 4", "NullPointerException"));
        assert_eq!(
            normalise("expected 3 but got 4"),
            "expected <n> but got <n>"
        );
        assert_eq!(
            normalise("timeout after 1.5s at 2026-03-26T10:15:00Z"),
            "timeout after <n>s at <time>"
        );
        assert_eq!(normalise("at 10:15:00.123 then"), "at <time> then");
        assert_eq!(
            normalise("user 3f2a1c9e-0b1d-4c3e-9f00-123456789abc not found"),
            "user <uuid> not found"
        );
        assert_eq!(normalise("segfault at 0x7ffe12ab"), "segfault at <addr>");
        assert_eq!(
            normalise("java.lang.Object@6d06d69c leaked"),
            "java.lang.Object@<hex> leaked"
        );
        assert_eq!(
            normalise("commit 3f2a1c9 broke it"),
            "commit <hex> broke it"
        );
        assert_eq!(
            normalise("cannot open /tmp/pytest-of-ci/pytest-12/test_x0/data.db: busy"),
            "cannot open <tmp>: busy"
        );
        assert_eq!(
            normalise(r"cannot open C:\Users\ci\AppData\Local\Temp\x1\f.txt"),
            "cannot open <tmp>"
        );
        assert_eq!(
            normalise(r#"expected "alice" but was 'bob'"#),
            r#"expected "<value>" but was '<value>'"#
        );
        assert_eq!(normalise("don't   stop"), "don't stop");
        assert_eq!(normalise("NullPointerException"), "NullPointerException");
        assert_eq!(normalise("deadbeef facade"), "deadbeef facade");
    }

    #[test]
    fn the_first_line_with_text_counts() {
        assert!(same("\n  boom 1\nstack 1", "boom 2\nother stack"));
        assert_eq!(of(None).message, "");
        assert_eq!(of(Some("x")).signature.len(), 16);
    }
}
