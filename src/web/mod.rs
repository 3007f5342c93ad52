//! Server-rendered pages (askama + htmx): each page has a full view and an htmx partial.
//!
//! Handlers are thin: they read the request, call the service, and render a template built
//! from the service's types. Which view is sent is decided by [`render::Hx`] from htmx's
//! request headers, so every page works as a deep link, after a reload and with back/forward.
//! A failure is a [`render::PageError`], which renders itself as the error page (or its
//! `<main>` content for htmx), so handlers pass failures on with `?`.

pub mod assets;
mod dataset_runs;
mod datasets;
mod downloads;
mod events;
mod format;
mod login;
mod render;
pub mod routes;
mod run;
mod run_form;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::http::{Door, Gate, Routes, Surface};

/// Every page route, with the access each needs.
pub fn routes() -> Routes<AppState> {
    use Door::{Open, Read, Write};
    Routes::new(Surface::Page)
        .get("/static/{*path}", Open, assets::serve)
        .get(routes::LOGIN, Open, login::page)
        .post(routes::LOGIN, Open, login::sign_in)
        .post(routes::LOGOUT, Open, login::sign_out)
        .get(routes::DATASETS, Read, datasets::list)
        .post(routes::UPLOAD, Write, datasets::upload)
        .post(routes::SAMPLE, Write, datasets::sample)
        .get(routes::DATASET, Read, datasets::show)
        .get(routes::DATASET_RUNS, Read, dataset_runs::runs_partial)
        .post(routes::DATASET_RUNS, Write, dataset_runs::train)
        .post(routes::DATASET_DELETE, Write, datasets::delete)
        .get(routes::RUN, Read, run::show)
        .get(routes::RUN_EVENTS, Read, events::run_events)
        .post(routes::RUN_CANCEL, Write, run::cancel)
        .post(routes::RUN_DELETE, Write, run::delete)
        .get(routes::RUN_CHART, Read, downloads::chart)
        .get(routes::RUN_CSV, Read, downloads::customers_csv)
        .get(routes::RUN_PROFILES_CSV, Read, downloads::profiles_csv)
        .get(routes::RUN_MODEL, Read, downloads::model_json)
        .get(routes::RUN_COMPARE, Read, run::compare)
        .get(routes::RUN_REPORT, Read, run::report)
        .post(routes::RUN_SEGMENT, Write, run::label_segment)
        .post(routes::RUN_SCORINGS, Write, run::score)
        .get(routes::RUN_SCORING_CSV, Read, downloads::scoring_csv)
        .post(routes::RUN_SCORING_DELETE, Write, run::delete_scoring)
        .get(routes::RUN_TAB, Read, run::tab)
}

pub fn router(state: AppState, gate: &Arc<Gate>) -> Router {
    routes()
        .pages(error_response)
        .into_router(gate)
        .fallback(render::not_found)
        .with_state(state)
}

/// An error as a page (or the page's `<main>` for htmx), for refusals made before a handler.
pub fn error_response(headers: &HeaderMap, error: AppError) -> Response {
    render::Hx::from_headers(headers)
        .error(error)
        .into_response()
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
