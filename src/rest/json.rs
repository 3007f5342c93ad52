//! JSON bodies and ids whose errors say what is wrong, in the predecessor's `{"detail": ...}`
//! shape, instead of axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AppError;

/// A JSON object read into `T`. Every body the API takes is an object; anything else is refused
/// as such (serde would speak of "struct TrainBody with 11 elements"), and a field that does not
/// fit is named by its path.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(AppError::BadInput(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                ));
            }
            Err(e) => return Err(AppError::BadInput(e.body_text())),
        };
        if !value.is_object() {
            return Err(AppError::BadInput(format!(
                "the body is {}; send a JSON object with the fields the README lists for this \
                 endpoint",
                crate::http::json_kind(&value)
            )));
        }
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| {
                let message = match e.path().iter().next() {
                    Some(_) => format!("the body's field `{}`: {}", e.path(), e.inner()),
                    None => format!("the body: {}", e.inner()),
                };
                AppError::BadInput(message)
            })
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
