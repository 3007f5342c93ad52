//! Keyset pagination shared by every list (GraphQL connections, REST lists, web tables).

use crate::error::AppError;

/// Largest page any list returns, whatever the caller asks.
pub const MAX_PAGE: usize = 1_000;
pub const DEFAULT_PAGE: usize = 50;

/// Which page: at most `first` items after the opaque cursor `after`.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: Option<usize>,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn limit(&self) -> usize {
        self.first.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE)
    }

    /// The row index after which a page of rows starts. Row indexes are `i32` in the database,
    /// so a larger key was never handed out (and would wrap round to the top of the list).
    pub fn after_row(&self) -> Result<Option<i32>, AppError> {
        let Some(cursor) = self.after.as_deref() else {
            return Ok(None);
        };
        let key = decode_cursor(cursor)?;
        i32::try_from(key)
            .map(Some)
            .map_err(|_| not_a_cursor(cursor))
    }
}

/// The id after which a page of `table` (newest first) starts. A key above the largest id the
/// table ever handed out was not taken from this list: it is refused rather than starting the
/// page at the top.
pub async fn after_id(
    conn: &mut diesel_async::AsyncPgConnection,
    page: &PageRequest,
    table: &'static str,
) -> Result<Option<i64>, AppError> {
    let Some(cursor) = page.after.as_deref() else {
        return Ok(None);
    };
    let key = decode_cursor(cursor)?;
    if key > crate::db::last_id(conn, table).await?.unwrap_or(0) {
        return Err(not_a_cursor(cursor));
    }
    Ok(Some(key))
}

pub fn encode_cursor(key: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

/// The key in `cursor`: cursors are the decimal key, base64-encoded so that clients treat them
/// as opaque. Every key is an id or a row index, so a negative one was never handed out: it is
/// refused like any other text that is not a cursor.
pub fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.parse().ok())
        .filter(|key: &i64| *key >= 0)
        .ok_or_else(|| not_a_cursor(cursor))
}

fn not_a_cursor(cursor: &str) -> AppError {
    AppError::BadInput(format!(
        "`{cursor}` is not a cursor from this list; pass an endCursor you received"
    ))
}

/// One page of items, each with its key.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<(i64, T)>,
    pub has_next_page: bool,
    pub total_count: i64,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched items: the extra one only says there is more.
    pub fn from_probe(mut items: Vec<(i64, T)>, limit: usize, total_count: i64) -> Page<T> {
        let has_next_page = items.len() > limit;
        items.truncate(limit);
        Page {
            items,
            has_next_page,
            total_count,
        }
    }

    pub fn end_cursor(&self) -> Option<String> {
        self.items.last().map(|(key, _)| encode_cursor(*key))
    }
}

/// One numbered page of a table (the pages' tables, which show page numbers rather than
/// cursors): the rows shown and where they sit among all of them.
#[derive(Clone, Debug)]
pub struct Numbered<T> {
    pub rows: Vec<T>,
    /// Rows on all pages.
    pub total: i64,
    /// The page shown, from 1.
    pub page: usize,
    pub pages: usize,
    /// Rows before this page.
    pub offset: usize,
    /// Rows per page.
    pub size: usize,
}

impl<T> Numbered<T> {
    /// Page `page` (from 1) of `total` rows, `size` to a page (at most [`MAX_PAGE`]), still
    /// without its rows; a page past the last is the last, so a table that shrank still shows
    /// something.
    pub fn new(total: i64, page: usize, size: usize) -> Numbered<T> {
        let size = size.clamp(1, MAX_PAGE);
        let pages = (total.max(1) as usize).div_ceil(size);
        let page = page.clamp(1, pages);
        Numbered {
            rows: Vec::new(),
            total,
            page,
            pages,
            offset: (page - 1) * size,
            size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("not a cursor!").is_err());
        assert!(decode_cursor(&encode_cursor(-5)).is_err());
        let huge = PageRequest {
            first: None,
            after: Some(encode_cursor(i64::MAX)),
        };
        assert!(huge.after_row().is_err());
    }

    #[test]
    fn numbered_pages_clamp_to_the_table() {
        let page = Numbered::<()>::new(205, 3, 50);
        assert_eq!((page.page, page.pages, page.offset), (3, 5, 100));
        let past = Numbered::<()>::new(205, 9, 50);
        assert_eq!((past.page, past.offset), (5, 200));
        let empty = Numbered::<()>::new(0, 0, 50);
        assert_eq!((empty.page, empty.pages, empty.offset), (1, 1, 0));
        assert_eq!(Numbered::<()>::new(10, 1, 1_000_000).size, MAX_PAGE);
    }

    #[test]
    fn limit_is_capped() {
        let req = PageRequest {
            first: Some(1_000_000),
            after: None,
        };
        assert_eq!(req.limit(), MAX_PAGE);
        assert_eq!(PageRequest::default().limit(), DEFAULT_PAGE);
    }

    #[test]
    fn probe_item_sets_has_next_page() {
        let page = Page::from_probe(vec![(3, ()), (2, ()), (1, ())], 2, 3);
        assert!(page.has_next_page);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.end_cursor(), Some(encode_cursor(2)));
    }
}
