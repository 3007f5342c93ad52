//! Gives every GraphQL error an `extensions.code` (`NOT_FOUND`, `BAD_USER_INPUT`,
//! `UNAUTHENTICATED`, `UNAVAILABLE` with `retryAfter` seconds, `INTERNAL`), for queries,
//! mutations and subscriptions alike.
//!
//! Resolvers return `AppError`s through `?`; async-graphql keeps the original error as the
//! `source`, which is read back here. Errors the schema raises itself (syntax, unknown fields or
//! enum values, depth and complexity limits) are the caller's to fix: `BAD_USER_INPUT`.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Response, ServerError};
use futures::StreamExt;

use crate::error::AppError;

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(with_code);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors.iter_mut().for_each(with_code);
                response
            })
            .boxed()
    }
}

pub fn with_code(error: &mut ServerError) {
    // async-graphql's own messages quote what was sent (a 5 MB enum value, say): cut it short.
    if let std::borrow::Cow::Owned(short) = crate::error::shorten(&error.message) {
        error.message = short;
    }
    let (code, retry_after) = match error.source::<AppError>() {
        Some(app) => {
            app.log();
            let retry = matches!(app, AppError::Unavailable(_));
            (app.code(), retry.then_some(crate::error::RETRY_AFTER_SECS))
        }
        None => ("BAD_USER_INPUT", None),
    };
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    // `UNAVAILABLE` errors say, like HTTP's `Retry-After`, how many seconds to wait.
    if let Some(seconds) = retry_after {
        extensions.set("retryAfter", seconds);
    }
}

/// An error with its `extensions.code` set, for the checks that refuse a request before any
/// resolver runs.
pub fn coded(message: impl Into<String>, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}
