//! GraphQL output types shared by several domains, and page -> connection conversion.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::service::Page;
use crate::service::page::{DEFAULT_PAGE, MAX_PAGE, encode_cursor};

/// Extra connection fields.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// Items in the whole list (with the same filters), not just this page.
    pub total_count: i64,
}

pub type Conn<T> = Connection<String, T, ConnectionFields>;

/// Turns a service page into a Relay connection, mapping each item.
pub fn connection<T, N: OutputType>(page: Page<T>, map: impl Fn(T) -> N) -> Conn<N> {
    let mut conn = Connection::with_additional_fields(
        false,
        page.has_next_page,
        ConnectionFields {
            total_count: page.total_count,
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(key, item)| Edge::new(encode_cursor(key), map(item))),
    );
    conn
}

/// Validates `first`: a negative page size, or one above the most a page holds, is a mistake
/// worth saying so (by name, with the bounds) rather than quietly changing the page.
pub fn first(first: Option<i32>) -> async_graphql::Result<Option<usize>> {
    match first {
        Some(n) if n < 0 || n as usize > MAX_PAGE => Err(crate::error::AppError::BadInput(
            format!("`first` must be from 0 to {MAX_PAGE}, got {n}"),
        )
        .into()),
        other => Ok(other.map(|n| n as usize)),
    }
}

/// The complexity of a page of `first` items, each costing `child` (the page's selection).
///
/// `first` is clamped into its valid range, so that a negative or huge `first` is not refused
/// as "too complex" but reaches the resolver, whose error names `first` and its bounds.
pub fn page_cost(first: Option<i32>, child: usize) -> usize {
    let first = first.map_or(DEFAULT_PAGE, |n| (n.max(0) as usize).min(MAX_PAGE));
    first.max(1).saturating_mul(child)
}
