//! JSON bodies and ids whose errors say what is wrong, in the predecessor's `{"detail": ...}`
//! shape, instead of axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadInput(
                "send the body as JSON with `Content-Type: application/json`".into(),
            )),
            Err(e) => Err(AppError::BadInput(e.body_text())),
        }
    }
}

/// A numeric id from the path; anything else is a 404 naming what was looked for.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e: PathRejection| AppError::BadInput(e.body_text()))?;
        parse_id(&raw.0).map(Id)
    }
}

/// A numeric id from a path segment; anything else is a 404.
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::NotFound(format!("`{raw}` is not an id; ids are numbers")))
}
