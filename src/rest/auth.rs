//! The optional API token (`API_TOKEN`): GraphQL and REST requests must carry
//! `Authorization: Bearer <token>` when it is set.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::AppError;

/// True when no token is configured, or `header` carries it.
pub fn token_matches(expected: Option<&str>, header: Option<&HeaderValue>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = header.and_then(|h| h.to_str().ok()).and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return false;
    };
    // Compare in constant time so the token cannot be guessed byte by byte from timings.
    let (a, b) = (expected.as_bytes(), given.trim().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware for the API routes.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if token_matches(
        state.config.api_token.as_deref(),
        request.headers().get(header::AUTHORIZATION),
    ) {
        next.run(request).await
    } else {
        AppError::Unauthenticated.into_response()
    }
}

/// The token check for `/graphql`, which applies to POST only: GET serves GraphiQL's page.
pub async fn require_token_on_post(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == axum::http::Method::GET
        || token_matches(
            state.config.api_token.as_deref(),
            request.headers().get(header::AUTHORIZATION),
        )
    {
        return next.run(request).await;
    }
    let error = AppError::Unauthenticated;
    let body = serde_json::json!({
        "errors": [{ "message": error.to_string(), "extensions": { "code": error.code() } }]
    });
    (error.status(), axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(token_matches(None, None));
        assert!(!token_matches(Some("abc"), None));
        assert!(token_matches(Some("abc"), Some(&h("Bearer abc"))));
        assert!(!token_matches(Some("abc"), Some(&h("Bearer abd"))));
        assert!(!token_matches(Some("abc"), Some(&h("abc"))));
        assert!(!token_matches(Some("abc"), Some(&h("Bearer abcd"))));
    }
}
