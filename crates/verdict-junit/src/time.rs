//! The `time` attribute: seconds as written by many different tools, turned
//! into whole milliseconds.
//!
//! Parsing is done in exact decimal arithmetic instead of through `f64`, so
//! that "1.234" is always 1234 ms and never 1233 because of binary rounding.
//! Anything odd (missing, empty, negative, NaN/inf, garbage, too large) is
//! `None`, never an error: a bad duration must not cost a whole report.

/// Significant digits kept; more cannot matter for a value that fits in u64 ms.
const MAX_DIGITS: usize = 40;
/// u64::MAX has 20 decimal digits.
const U64_DIGITS: usize = 20;

/// Parses a JUnit `time` value (seconds) into milliseconds, rounded down.
///
/// Accepts surrounding whitespace, thousands separators (`"1,234.5"`; commas
/// are removed, as junitparser does), exponents (`"1e-3"`), a leading `+`.
/// Returns `None` for anything negative, non-finite, unparsable or beyond
/// `u64::MAX` milliseconds.
pub fn parse_time_ms(raw: &str) -> Option<u64> {
    let mut bytes = raw.trim().bytes().filter(|&b| b != b',').peekable();
    let negative = match bytes.peek() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => {
            return parse_unsigned(bytes);
        }
    };
    bytes.next();
    let ms = parse_unsigned(bytes)?;
    // "-0.0" is not negative; anything else with a minus is.
    (!negative || (ms == 0 && !has_nonzero_digit(raw))).then_some(ms)
}

fn has_nonzero_digit(raw: &str) -> bool {
    // Only the mantissa matters: "-0e5" is zero, "-0.0001" is not.
    let mantissa = raw.split(['e', 'E']).next().unwrap_or_default();
    mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// Parses `digits[.digits][(e|E)[+-]digits]` (no sign) into floor(value*1000).
fn parse_unsigned(mut bytes: impl Iterator<Item = u8>) -> Option<u64> {
    // value = digits * 10^exp10, digits without leading zeros.
    let mut digits: Vec<u8> = Vec::new();
    let mut exp10: i64 = 0;
    let mut seen_digit = false;
    let mut in_fraction = false;
    let mut has_exponent = false;
    for b in bytes.by_ref() {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if digits.is_empty() && b == b'0' {
                    exp10 -= i64::from(in_fraction);
                } else if digits.len() < MAX_DIGITS {
                    digits.push(b - b'0');
                    exp10 -= i64::from(in_fraction);
                } else if !in_fraction {
                    // Dropped integer digit: the value is still 10x larger.
                    exp10 += 1;
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => {
                has_exponent = true;
                break;
            }
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    if has_exponent {
        exp10 = exp10.saturating_add(parse_exponent(bytes)?);
    }
    let k = exp10.saturating_add(3); // to milliseconds
    let n = digits.len();
    let kept: &[u8] = if k >= 0 {
        if n == 0 {
            return Some(0);
        }
        if n as i64 + k > U64_DIGITS as i64 {
            return None;
        }
        &digits
    } else {
        let drop = k.unsigned_abs();
        if drop >= n as u64 {
            return Some(0);
        }
        &digits[..n - drop as usize]
    };
    let zeros = if k > 0 { k as usize } else { 0 };
    if kept.len() + zeros > U64_DIGITS {
        return None;
    }
    let mut value: u128 = 0;
    for &d in kept {
        value = value * 10 + u128::from(d);
    }
    for _ in 0..zeros {
        value *= 10;
    }
    u64::try_from(value).ok()
}

/// Parses `[+-]digits` with saturation (huge exponents just overflow or zero).
fn parse_exponent(bytes: impl Iterator<Item = u8>) -> Option<i64> {
    let mut bytes = bytes.peekable();
    let negative = match bytes.peek() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => return parse_exp_digits(bytes),
    };
    bytes.next();
    let e = parse_exp_digits(bytes)?;
    Some(if negative { -e } else { e })
}

fn parse_exp_digits(bytes: impl Iterator<Item = u8>) -> Option<i64> {
    let mut value: i64 = 0;
    let mut any = false;
    for b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        any = true;
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    any.then_some(value.min(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::parse_time_ms as t;

    #[test]
    fn common_forms() {
        assert_eq!(t("1.234"), Some(1234));
        assert_eq!(t("0.0005"), Some(0));
        assert_eq!(t("1,234.5"), Some(1_234_500));
        assert_eq!(t("1e-3"), Some(1));
        assert_eq!(t("2.5E2"), Some(250_000));
        assert_eq!(t("  0.29 \n"), Some(290));
        assert_eq!(t("27.879566999999994"), Some(27_879));
        assert_eq!(t("0.000000001"), Some(0));
        assert_eq!(t(".5"), Some(500));
        assert_eq!(t("5."), Some(5000));
        assert_eq!(t("+3"), Some(3000));
        assert_eq!(t("-0.0"), Some(0));
        assert_eq!(t("007"), Some(7000));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            " ",
            "-1",
            "-0.001",
            "NaN",
            "inf",
            "-inf",
            "1.2s",
            "abc",
            ".",
            "e5",
            "1e",
            "1e+",
            "1..2",
            "1.2.3",
            "0x10",
            "1e400",
            "18446744073709552",
            "1 2",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn range_edges() {
        assert_eq!(t("18446744073709551.615"), Some(u64::MAX));
        assert_eq!(t("18446744073709551.616"), None);
        assert_eq!(t("1e-400"), Some(0));
        assert_eq!(t(&format!("1{}", "0".repeat(100))), None);
        assert_eq!(t(&format!("0.{}1", "0".repeat(100))), Some(0));
    }
}
