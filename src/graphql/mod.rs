//! The GraphQL API: schema assembly, limits, and the HTTP/websocket endpoints.
//!
//! The root types merge one struct per domain; resolvers are thin calls into `service`.

mod access;
mod assignments;
mod codes;
mod datasets;
mod ids;
pub mod limits;
mod results;
mod runs;
mod subscription;
mod types;

use async_graphql::{MergedObject, Schema};

use crate::app::AppState;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    datasets::DatasetQuery,
    runs::RunQuery,
    assignments::AssignmentQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(datasets::DatasetMutation, runs::RunMutation);

pub type AppSchema = Schema<QueryRoot, MutationRoot, subscription::SubscriptionRoot>;

/// Deepest query accepted: enough for `run { dataset { runs { nodes { segments { ... } } } } }`.
pub const MAX_DEPTH: usize = 12;
/// Most expensive query accepted (each field costs 1; lists multiply by their page size).
pub const MAX_COMPLEXITY: usize = 5_000;

/// Builds the schema with the shared state inside. `state` is optional so that `segmentiq
/// schema` can print the SDL without a database.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .extension(codes::ErrorCodes)
    .extension(limits::RequestLimits)
    .extension(access::ReadOnly)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY);
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
