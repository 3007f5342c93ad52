//! GraphQL output types shared by several domains, and page -> connection conversion.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::service::Page;
use crate::service::page::encode_cursor;

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

/// Validates `first`: a negative page size is a mistake worth saying so.
pub fn first(first: Option<i32>) -> async_graphql::Result<Option<usize>> {
    match first {
        Some(n) if n < 0 => Err(crate::error::AppError::BadInput(format!(
            "`first` must be 0 or more, got {n}"
        ))
        .into()),
        other => Ok(other.map(|n| n as usize)),
    }
}
