//! Charts and the customers CSV for the pages, at page addresses.
//!
//! The API serves the same files under `/api/v1` for scripts; an `<img>` or a download link
//! cannot send a bearer token, so the pages' images and downloads are served here, behind the
//! pages' session cookie, from the same service functions.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::engine::render::{Format, Theme};
use crate::error::{AppError, AppResult};
use crate::service::charts::{self, Chart};
use crate::service::{assignments, datasets, runs};
use crate::web::parse_id;

/// `GET /runs/{id}/charts/{name}.svg`: a chart in the pages' dark theme.
pub async fn chart(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let rendered = async {
        let id = parse_id("run", &id)?;
        let chart = file
            .strip_suffix(".svg")
            .and_then(Chart::parse)
            .ok_or_else(|| AppError::NotFound(format!("no chart `{file}`")))?;
        charts::render(&state, id, chart, Format::Svg, Theme::Dark).await
    };
    match rendered.await {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            svg,
        )
            .into_response(),
        Err(e) => plain_error(e),
    }
}

#[derive(Deserialize)]
pub struct CsvQuery {
    segment: Option<i32>,
}

/// `GET /runs/{id}/customers.csv[?segment=N]`: every customer with its segment, streamed.
pub async fn customers_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CsvQuery>,
) -> Response {
    let prepared = async {
        let run = runs::get(&state, parse_id("run", &id)?).await?;
        let dataset = datasets::get(&state, run.dataset_id).await?;
        let columns: Vec<String> = dataset.columns.iter().map(|c| c.name.clone()).collect();
        Ok::<_, AppError>((run.id, columns))
    };
    let (run_id, columns) = match prepared.await {
        Ok(found) => found,
        Err(e) => return plain_error(e),
    };
    let name = match q.segment {
        Some(s) => format!("segmentiq-run-{run_id}-segment-{s}.csv"),
        None => format!("segmentiq-run-{run_id}-customers.csv"),
    };
    let disposition = attachment(&name);
    let stream = assignments::csv_stream(state, run_id, q.segment, columns);
    match disposition {
        Ok(disposition) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            Body::from_stream(stream),
        )
            .into_response(),
        Err(e) => plain_error(e),
    }
}

fn attachment(name: &str) -> AppResult<HeaderValue> {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| AppError::Internal(e.into()))
}

/// Images and downloads are not pages: a short text with the status is all a browser shows.
fn plain_error(e: AppError) -> Response {
    if let AppError::Internal(inner) = &e {
        tracing::error!(error = ?inner, "download failed");
    }
    (e.status(), e.to_string()).into_response()
}
