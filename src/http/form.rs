//! Form bodies for the page handlers. axum's own `Form` answers a body it cannot read with a
//! plain-text 400, 415 or 422 in serde's words; this one names the field, the value sent and what
//! the field takes, as a 422 in the shape of the route ([`Refusal`]): the pages' error page.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::Refusal;
use super::query::{Pairs, parse_pairs};
use crate::error::AppError;

/// A URL-encoded form body read into `T`; a body `T` cannot take is refused by field.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let refusal = Refusal::of(request.extensions());
        let headers = request.headers().clone();
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(refusal.answer(
                &headers,
                AppError::BadInput(
                    "this address takes a form (application/x-www-form-urlencoded), as the page's own form sends it".into(),
                ),
            ));
        }
        // The body limit of the router applies, as it does to every other body.
        let body = Bytes::from_request(request, state).await.map_err(|e| {
            refusal.answer(
                &headers,
                AppError::TooLarge(format!("the form cannot be read: {e}")),
            )
        })?;
        // Field values are percent-decoded with `%FF` turned into U+FFFD; refuse such bytes
        // instead of storing the replacement character, as REST refuses them in JSON.
        let text = std::str::from_utf8(&body)
            .ok()
            .filter(|t| percent_encoding::percent_decode_str(t).decode_utf8().is_ok())
            .ok_or_else(|| {
                refusal.answer(
                    &headers,
                    AppError::BadInput(
                        "the form holds bytes that are not UTF-8 text; send the page's form from a browser, or encode text as UTF-8".into(),
                    ),
                )
            })?;
        parse_pairs(text, Pairs::Form)
            .map(Form)
            .map_err(|e| refusal.answer(&headers, e))
    }
}
