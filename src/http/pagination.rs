//! Cursor pagination: `?limit=` (default 50, at most 200) and `?cursor=` (opaque; the keyset position
//! after the last item), answered as `{ "items": [...], "next_cursor": "..." | null }`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: the limit and the decoded keyset position `K`.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub limit: u64,
    pub after: Option<K>,
}

impl PageQuery {
    pub fn parse<K: DeserializeOwned>(&self) -> Result<PageRequest<K>, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation("limit", "must be between 1 and 200"));
        }
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
                ApiError::validation("cursor", "is not a cursor this list returned")
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row only says there is more.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        limit: u64,
        key_of: impl Fn(&R) -> K,
        into_item: impl Fn(R) -> T,
    ) -> Page<T> {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| encode_cursor(&key_of(last)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(into_item).collect(),
            next_cursor,
        }
    }
}

fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused() {
        for limit in [0, 201] {
            let query = PageQuery {
                limit: Some(limit),
                cursor: None,
            };
            assert!(query.parse::<String>().is_err());
        }
        assert_eq!(PageQuery::default().parse::<String>().unwrap().limit, 50);
    }

    #[test]
    fn a_page_cursor_points_after_its_last_item() {
        let rows: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let page = Page::from_rows(rows, 2, |r| r.clone(), |r| r);
        assert_eq!(page.items, vec!["a", "b"]);
        let query = PageQuery {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(query.parse::<String>().unwrap().after.as_deref(), Some("b"));
        let last = Page::from_rows(vec!["c".to_owned()], 2, |r| r.clone(), |r| r);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn a_forged_cursor_is_a_validation_error() {
        let query = PageQuery {
            limit: None,
            cursor: Some("%%%".into()),
        };
        assert!(query.parse::<String>().is_err());
    }
}
