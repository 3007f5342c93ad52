//! IDs: database keys shown as GraphQL `ID`s.

use async_graphql::{Context, ID};

use crate::app::AppState;
use crate::error::AppError;

/// Parses an `ID` argument; a malformed one is the caller's mistake, not a missing thing.
pub fn parse(id: &ID, what: &str) -> Result<i64, AppError> {
    id.parse::<i64>().map_err(|_| {
        AppError::BadInput(format!(
            "`{}` is not a {what} id; ids are numbers such as \"42\"",
            id.as_str()
        ))
    })
}

pub fn to_id(key: i64) -> ID {
    ID(key.to_string())
}

pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>()
}
