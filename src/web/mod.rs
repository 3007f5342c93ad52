//! Server-rendered pages (askama + htmx): each page has a full view and an htmx partial.
//!
//! Handlers are thin: they read the request, call the service, and render a template built
//! from the service's types. Which view is sent is decided by [`render::Hx`] from htmx's
//! request headers, so every page works as a deep link, after a reload and with back/forward.

pub mod assets;
mod datasets;
mod downloads;
mod events;
mod format;
mod render;
pub mod routes;
mod run_form;
mod run_views;
mod runs;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/static/{*path}", get(assets::serve))
        .route(routes::DATASETS, get(datasets::list))
        .route(routes::UPLOAD, post(datasets::upload))
        .route(routes::SAMPLE, post(datasets::sample))
        .route(routes::DATASET, get(datasets::show))
        .route(
            routes::DATASET_RUNS,
            get(runs::runs_partial).post(runs::train),
        )
        .route(routes::DATASET_DELETE, post(datasets::delete))
        .route(routes::RUN, get(runs::show))
        .route(routes::RUN_EVENTS, get(events::run_events))
        .route(routes::RUN_CANCEL, post(runs::cancel))
        .route(routes::RUN_DELETE, post(runs::delete))
        .route(routes::RUN_CHART, get(downloads::chart))
        .route(routes::RUN_CSV, get(downloads::customers_csv))
        .route(routes::RUN_TAB, get(runs::tab))
        .fallback(render::not_found)
        .with_state(state)
}

/// Ids in page URLs are numbers; anything else is a page that does not exist (404), not a
/// malformed request.
fn parse_id(what: &str, raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| {
        AppError::NotFound(format!(
            "there is no {what} `{raw}`; {what} ids are numbers"
        ))
    })
}
