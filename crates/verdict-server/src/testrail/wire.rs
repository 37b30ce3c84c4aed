//! TestRail's values on the wire: integer ids (the number of a Verdict id),
//! status ids, timespans, Unix timestamps and the paged list envelope.

use serde_json::{Value, json};
use verdict_store::{Listing, Page, Status, Timestamp};

use super::error::{TrError, TrResult};

/// TestRail's status id of a Verdict status: 1 passed, 2 blocked,
/// 3 untested, 4 retest, 5 failed.
pub fn status_id(status: Status) -> i64 {
    match status {
        Status::Passed => 1,
        Status::Blocked => 2,
        Status::NotTested => 3,
        Status::Retest => 4,
        Status::Failed => 5,
    }
}

/// The Verdict status of a TestRail status id; `None` for ids TestRail
/// leaves to custom statuses (6 and up), which Verdict does not have.
pub fn status_of(id: i64) -> Option<Status> {
    Some(match id {
        1 => Status::Passed,
        2 => Status::Blocked,
        3 => Status::NotTested,
        4 => Status::Retest,
        5 => Status::Failed,
        _ => return None,
    })
}

/// A Unix timestamp in seconds, as TestRail's `created_on` and the like.
pub fn unix(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}

/// A TestRail timespan in milliseconds: `"30s"`, `"1m 5s"`, `"2h"`,
/// `"1h 30m"`, `"1d"` (24 h), `"1.5s"`, `"250ms"`, or a bare number of
/// seconds (`"12"`, `"0.3"`). `None` when it is none of these.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return millis(secs, 1000.0);
    }
    let mut total: i64 = 0;
    for part in s.split_whitespace() {
        let split = part
            .find(|c: char| c.is_ascii_alphabetic())
            .filter(|&i| i > 0)?;
        let (number, unit) = part.split_at(split);
        let number: f64 = number.parse().ok()?;
        let per = match unit {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        total = total.checked_add(millis(number, per)?)?;
    }
    Some(total)
}

fn millis(number: f64, per: f64) -> Option<i64> {
    let ms = (number * per).round();
    (number.is_finite() && number >= 0.0 && ms < 1e15).then_some(ms as i64)
}

/// Milliseconds as a TestRail timespan: `"1h 2m 5s"`, `"30s"`, with the
/// seconds' fraction when there is one (`"1.25s"`); `"0s"` for none.
pub fn format_timespan(ms: i64) -> String {
    let ms = ms.max(0);
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (secs, frac) = (rest / 1000, rest % 1000);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if frac > 0 {
        let f = format!("{frac:03}");
        parts.push(format!("{secs}.{}s", f.trim_end_matches('0')));
    } else if secs > 0 || parts.is_empty() {
        parts.push(format!("{secs}s"));
    }
    parts.join(" ")
}

/// The most a TestRail list answers at once (and its default).
pub const MAX_LIMIT: i64 = 250;

/// `offset` and `limit` of a paged TestRail list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: i64,
    pub limit: i64,
}

impl Paging {
    /// The store pages covering this window: `limit` items from `offset`
    /// lie in at most two pages of `limit` items.
    pub fn pages(&self) -> (Page, Option<Page>) {
        let per_page = self.limit.clamp(1, MAX_LIMIT) as u32;
        let first = (self.offset / self.limit) as u32 + 1;
        let page = Page {
            page: first,
            per_page,
        };
        let second = (self.offset % self.limit != 0).then_some(Page {
            page: first + 1,
            per_page,
        });
        (page, second)
    }

    /// Takes this window out of the pages [`pages`](Self::pages) named.
    pub fn window<T>(&self, first: Listing<T>, second: Option<Listing<T>>) -> Listing<T> {
        let skip = (self.offset % self.limit) as usize;
        let total = first.total;
        let items = first
            .items
            .into_iter()
            .chain(second.into_iter().flat_map(|l| l.items))
            .skip(skip)
            .take(self.limit as usize)
            .collect();
        Listing { items, total }
    }

    /// Reads this window from a store listing, one or two pages of it.
    pub async fn fetch<T, F, Fut>(&self, read: F) -> TrResult<Listing<T>>
    where
        F: Fn(Page) -> Fut,
        Fut: std::future::Future<Output = verdict_store::StoreResult<Listing<T>>>,
    {
        let (first, second) = self.pages();
        let a = read(first).await?;
        let b = match second {
            Some(p) => Some(read(p).await?),
            None => None,
        };
        Ok(self.window(a, b))
    }

    /// The window of a list held whole.
    pub fn slice<T>(&self, items: Vec<T>) -> Listing<T> {
        let total = items.len() as i64;
        let items = items
            .into_iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect();
        Listing { items, total }
    }
}

/// A paged list's answer: `{offset, limit, size, _links: {next, prev},
/// <name>: […]}`. The links repeat the call (`base`, such as
/// `/api/v2/get_cases/1`, and its filters in `params`) with the next or
/// previous window; `null` at either end.
pub fn paged(
    name: &str,
    items: Vec<Value>,
    total: i64,
    paging: Paging,
    base: &str,
    params: &[(String, String)],
) -> Value {
    let size = items.len() as i64;
    let link = |offset: i64| {
        let mut s = base.to_string();
        for (k, v) in params {
            if k != "limit" && k != "offset" {
                s.push('&');
                s.push_str(&form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>());
                s.push('=');
                s.push_str(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
            }
        }
        s.push_str(&format!("&limit={}&offset={offset}", paging.limit));
        Value::String(s)
    };
    let next = if paging.offset + size < total && size > 0 {
        link(paging.offset + size)
    } else {
        Value::Null
    };
    let prev = if paging.offset > 0 {
        link((paging.offset - paging.limit).max(0))
    } else {
        Value::Null
    };
    let mut body = json!({
        "offset": paging.offset,
        "limit": paging.limit,
        "size": size,
        "_links": { "next": next, "prev": prev },
    });
    body[name] = Value::Array(items);
    body
}

/// A positive integer id from its text; 400 naming `field` otherwise.
pub fn parse_id(text: &str, field: &str) -> TrResult<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TrError::invalid(field, "is not a valid ID")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_parse_as_testrail_writes_them() {
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("1m 5s"), Some(65_000));
        assert_eq!(parse_timespan("2h"), Some(7_200_000));
        assert_eq!(parse_timespan("1h 30m"), Some(5_400_000));
        assert_eq!(parse_timespan("1.5s"), Some(1_500));
        assert_eq!(parse_timespan("0.25m"), Some(15_000));
        assert_eq!(parse_timespan("250ms"), Some(250));
        assert_eq!(parse_timespan("12"), Some(12_000));
        assert_eq!(parse_timespan("0.003"), Some(3));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        for bad in ["", "s", "1x", "-1s", "1m5", "abc", "NaN", "inf"] {
            assert_eq!(parse_timespan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timespans_format_as_testrail_shows_them() {
        assert_eq!(format_timespan(65_000), "1m 5s");
        assert_eq!(format_timespan(30_000), "30s");
        assert_eq!(format_timespan(7_200_000), "2h");
        assert_eq!(format_timespan(3_725_000), "1h 2m 5s");
        assert_eq!(format_timespan(1_250), "1.25s");
        assert_eq!(format_timespan(0), "0s");
        for ms in [1, 999, 61_001, 7_261_500] {
            assert_eq!(parse_timespan(&format_timespan(ms)), Some(ms));
        }
    }

    #[test]
    fn status_ids_round_trip() {
        for s in Status::ALL {
            assert_eq!(status_of(status_id(s)), Some(s));
        }
        assert_eq!(status_of(6), None);
        assert_eq!(status_id(Status::Failed), 5);
    }

    #[test]
    fn paging_windows_span_two_pages_when_unaligned() {
        let p = Paging {
            offset: 3,
            limit: 2,
        };
        let (a, b) = p.pages();
        assert_eq!((a.page, a.per_page), (2, 2));
        assert_eq!(b.map(|b| b.page), Some(3));
        let l = p.window(
            Listing {
                items: vec![2, 3],
                total: 6,
            },
            Some(Listing {
                items: vec![4, 5],
                total: 6,
            }),
        );
        assert_eq!(l.items, vec![3, 4]);
    }
}
