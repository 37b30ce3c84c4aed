//! One module per resource; each handler parses its inputs, checks access,
//! calls the store once for the work, and renders the answer.

pub mod assignment;
pub mod attachments;
pub mod cases;
pub mod export;
pub mod health;
pub mod junit;
pub mod passwords;
pub mod projects;
pub mod results;
pub mod runs;
pub mod setup;
pub mod tokens;
pub mod triage;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Deserializer};
use verdict_api as api;

/// For PATCH bodies: absent is `None` (leave alone), `null` is `Some(None)`
/// (clear), a value is `Some(Some(v))`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Pages a list that is small enough to hold (tokens, members).
pub fn page_of<T>(items: Vec<T>, page: verdict_store::Page) -> api::Page<T> {
    let total = items.len() as i64;
    let data = items
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .collect();
    api::Page {
        data,
        meta: api::Meta {
            total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }
}

pub fn listing<T, U>(
    listing: verdict_store::Listing<T>,
    page: verdict_store::Page,
    f: impl Fn(&T) -> U,
) -> api::Page<U> {
    api::Page {
        data: listing.items.iter().map(f).collect(),
        meta: api::Meta {
            total: listing.total,
            page: page.page,
            per_page: page.per_page,
            next_after: None,
        },
    }
}
