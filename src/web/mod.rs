//! Server-rendered pages (askama + htmx): each page has a full view and an htmx partial.

pub mod assets;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/static/{*path}", get(assets::serve))
        .with_state(state)
}
