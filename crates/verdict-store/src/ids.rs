//! Typed ids. Every id on the wire is a string with a type prefix
//! (`prj_001`); inside, it is a positive 64-bit integer so that databases
//! index and order it cheaply. Ids are rendered zero-padded to three digits
//! and parsed leniently about leading zeros, so `tc_1` and `tc_001` name the
//! same case.

use std::fmt;
use std::str::FromStr;

/// Why an id string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an id of the form {prefix}_<number>")]
pub struct BadId {
    pub prefix: &'static str,
}

fn parse_with_prefix(s: &str, prefix: &'static str) -> Result<i64, BadId> {
    let bad = BadId { prefix };
    let digits = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .ok_or(bad.clone())?;
    // Leading zeros are not significant, however many there are.
    let significant = digits.trim_start_matches('0');
    if digits.is_empty() || significant.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    match significant.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a database key. Callers only pass keys the database issued.
            pub fn from_db(n: i64) -> Self {
                Self(n)
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "_{:03}"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                parse_with_prefix(s, $prefix).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A user (`user_001`).
    UserId, "user");
id_type!(
    /// An API token (`tok_001`); not the secret.
    TokenId, "tok");
id_type!(
    /// A project (`prj_001`).
    ProjectId, "prj");
id_type!(
    /// A test case (`tc_001`).
    CaseId, "tc");
id_type!(
    /// A test run (`run_001`).
    RunId, "run");
id_type!(
    /// A result: one per (run, case) (`res_001`).
    ResultId, "res");
id_type!(
    /// A file kept with an execution (`att_001`).
    AttachmentId, "att");
id_type!(
    /// A webhook of a project (`whk_001`).
    WebhookId, "whk");
id_type!(
    /// An event in the webhook outbox (`evt_001`).
    EventId, "evt");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_padded_and_parses_leniently() {
        assert_eq!(CaseId::from_db(1).to_string(), "tc_001");
        assert_eq!(CaseId::from_db(12345).to_string(), "tc_12345");
        assert_eq!("tc_001".parse::<CaseId>(), Ok(CaseId::from_db(1)));
        assert_eq!("tc_1".parse::<CaseId>(), Ok(CaseId::from_db(1)));
        let padded = format!("tc_{}42", "0".repeat(40));
        assert_eq!(padded.parse::<CaseId>(), Ok(CaseId::from_db(42)));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "tc",
            "tc_",
            "tc_0",
            "tc_-1",
            "tc_1a",
            "run_1",
            "tc_+1",
            " tc_1",
            "tc_99999999999999999999",
            "tc_0000",
        ] {
            assert!(bad.parse::<CaseId>().is_err(), "{bad:?} parsed");
        }
    }
}
