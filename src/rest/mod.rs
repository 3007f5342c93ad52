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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}
