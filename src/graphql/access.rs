//! Read-only access in GraphQL: a document with a mutation is refused (`FORBIDDEN`) before it
//! is validated or run when the caller has only the read token, over HTTP and websockets
//! alike. The caller's [`Access`] is in the request's data (HTTP) or the connection's data
//! (websockets); a request without one is refused too, so a new entry point cannot forget it.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, ServerResult, Variables};

use crate::error::AppError;
use crate::http::Access;

pub struct ReadOnly;

impl ExtensionFactory for ReadOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ReadOnly)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ReadOnly {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutates = document
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        if !mutates {
            return Ok(document);
        }
        let refusal = match ctx.data_opt::<Access>() {
            Some(Access::Full) => return Ok(document),
            Some(read) => read.refuse_write(),
            None => AppError::Forbidden("mutations need the full-access token (API_TOKEN)".into()),
        };
        let mut error = ServerError::new(refusal.to_string(), None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", refusal.code());
        Err(error)
    }
}
