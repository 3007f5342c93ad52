//! The predecessor's REST API at `/api/v1`, with its paths and response shapes, thin over
//! `service`.

pub mod auth;
mod clustering;
pub mod datasets;
mod json;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/datasets/upload", post(datasets::upload))
        .route("/datasets", get(datasets::list))
        .route(
            "/datasets/{id}",
            get(datasets::get).delete(datasets::delete),
        )
        .route("/clustering/train", post(clustering::train))
        .route("/clustering/runs", get(clustering::list))
        .route(
            "/clustering/runs/{id}",
            get(clustering::get).delete(clustering::delete),
        )
        .route("/clustering/runs/{id}/cancel", post(clustering::cancel))
        .route(
            "/clustering/runs/{id}/dendrogram",
            get(clustering::dendrogram_png),
        )
        .route(
            "/clustering/runs/{id}/dendrogram.png",
            get(clustering::dendrogram_png),
        )
        .route(
            "/clustering/runs/{id}/dendrogram.svg",
            get(clustering::dendrogram_svg),
        )
        .route(
            "/clustering/runs/{id}/charts/{chart}",
            get(clustering::chart),
        )
        .route(
            "/clustering/runs/{id}/assignments",
            get(clustering::assignments),
        )
        .route(
            "/clustering/runs/{id}/assignments.csv",
            get(clustering::assignments_csv),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Unknown API paths answer in the API's JSON shape, not with the pages' HTML 404.
async fn not_found(uri: axum::http::Uri) -> crate::error::AppError {
    crate::error::AppError::NotFound(format!(
        "no API endpoint at {}; the README lists the /api/v1 paths",
        uri.path()
    ))
}
