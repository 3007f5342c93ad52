//! The GraphQL API: schema assembly, limits, and the HTTP/websocket endpoints.
//!
//! The root types merge one struct per domain; resolvers are thin calls into `service`.

mod access;
mod assignments;
mod codes;
mod datasets;
mod ids;
pub mod limits;
pub mod over_http;
mod persisted;
mod results;
mod runs;
mod scorings;
mod subscription;
mod types;

use async_graphql::{MergedObject, Schema};

use crate::app::AppState;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    datasets::DatasetQuery,
    runs::RunQuery,
    assignments::AssignmentQuery,
    scorings::ScoringQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    datasets::DatasetMutation,
    runs::RunMutation,
    scorings::ScoringMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, subscription::SubscriptionRoot>;

/// Deepest nesting of the API's own fields accepted: enough for
/// `run { dataset { runs { nodes { segments { ... } } } } }`. Introspection (`__schema`,
/// `__type`) is measured on its own, against [`MAX_INTROSPECTION_DEPTH`]; see [`limits`].
pub const MAX_DEPTH: usize = 12;
/// Deepest introspection accepted: graphql-js `getIntrospectionQuery()` with every option
/// reaches 14 (`__schema types fields args type` and nine `ofType`).
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// Most expensive query accepted. Each field costs 1 and a page multiplies its selection by its
/// `first`: a full page of 1,000 assignments with `totalCount`, `pageInfo` and four node fields
/// costs 9,001, so the documented page sizes fit with room for a second list beside them.
pub const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema with the shared state inside. `state` is optional so that `segmentiq
/// schema` can print the SDL without a database.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .extension(codes::ErrorCodes)
    .extension(persisted::PersistedQueries::default())
    .extension(limits::RequestLimits)
    .extension(over_http::Transport)
    .extension(access::ReadOnly);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

pub mod http;
