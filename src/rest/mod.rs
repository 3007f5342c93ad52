//! The predecessor's REST API at `/api/v1`, with its paths and response shapes, thin over
//! `service`.

mod clustering;
pub mod datasets;
mod json;
mod scorings;

use std::sync::Arc;

use axum::Router;

use crate::app::AppState;
use crate::http::{Door, Gate, Routes, Surface};

/// The routes under `/api/v1`, with the access each needs.
pub fn routes() -> Routes<AppState> {
    use Door::{Read, Write};
    Routes::new(Surface::Api)
        .post("/datasets/upload", Write, datasets::upload)
        .get("/datasets", Read, datasets::list)
        .get("/datasets/{id}", Read, datasets::get)
        .delete("/datasets/{id}", Write, datasets::delete)
        .post("/clustering/train", Write, clustering::train)
        .get("/clustering/runs", Read, clustering::list)
        .get("/clustering/runs/{id}", Read, clustering::get)
        .delete("/clustering/runs/{id}", Write, clustering::delete)
        .post("/clustering/runs/{id}/cancel", Write, clustering::cancel)
        .put(
            "/clustering/runs/{id}/segments/{segment}",
            Write,
            clustering::label_segment,
        )
        .get(
            "/clustering/runs/{id}/profiles.csv",
            Read,
            clustering::profiles_csv,
        )
        .get(
            "/clustering/runs/{id}/model.json",
            Read,
            clustering::model_json,
        )
        .get("/clustering/runs/{id}/compare", Read, clustering::compare)
        .get(
            "/clustering/runs/{id}/dendrogram",
            Read,
            clustering::dendrogram_png,
        )
        .get(
            "/clustering/runs/{id}/dendrogram.png",
            Read,
            clustering::dendrogram_png,
        )
        .get(
            "/clustering/runs/{id}/dendrogram.svg",
            Read,
            clustering::dendrogram_svg,
        )
        .get(
            "/clustering/runs/{id}/charts/{chart}",
            Read,
            clustering::chart,
        )
        .get(
            "/clustering/runs/{id}/assignments",
            Read,
            clustering::assignments,
        )
        .get(
            "/clustering/runs/{id}/assignments.csv",
            Read,
            clustering::assignments_csv,
        )
        .post("/clustering/runs/{id}/scorings", Write, scorings::create)
        .get("/clustering/runs/{id}/scorings", Read, scorings::of_run)
        .get("/clustering/scorings/{id}", Read, scorings::get)
        .delete("/clustering/scorings/{id}", Write, scorings::delete)
        .get("/clustering/scorings/{id}/rows", Read, scorings::rows)
        .get(
            "/clustering/scorings/{id}/assignments.csv",
            Read,
            scorings::csv,
        )
}

pub fn router(state: AppState, gate: &Arc<Gate>) -> Router {
    routes()
        .into_router(gate)
        .fallback(not_found)
        .with_state(state)
}

/// Unknown API paths answer in the API's JSON shape, not with the pages' HTML 404.
async fn not_found(uri: axum::http::Uri) -> crate::error::AppError {
    crate::error::AppError::NotFound(format!(
        "no API endpoint at {}; the README lists the /api/v1 paths",
        uri.path()
    ))
}
