//! Charts and the customers CSV for the pages, at page addresses.
//!
//! The API serves the same files under `/api/v1` for scripts; an `<img>` or a download link
//! cannot send a bearer token, so the pages' images and downloads are served here, behind the
//! pages' session cookie, from the same service functions.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::engine::render::{Format, Theme};
use crate::error::AppError;
use crate::http::Query;
use crate::http::download::{csv_attachment, json_attachment};
use crate::service::charts::{self, Chart};
use crate::service::{assignments, runs, scorings};
use crate::web::parse_id;

#[derive(Deserialize)]
pub struct ChartQuery {
    /// `dark` (the default, for the pages) or `light` (white paper, for the printable report).
    theme: Option<String>,
    /// `wide` (the default) or `narrow`, the phone layout. Any other value is refused with
    /// 422, naming the two accepted ones.
    layout: Option<String>,
}

/// `GET /runs/{id}/charts/{name}.svg[?theme=light][&layout=narrow]`: a chart in the pages'
/// dark theme, or on white paper for the printable report; wide, or narrow for phones.
pub async fn chart(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<ChartQuery>,
) -> Result<Response, PlainError> {
    let id = parse_id("run", &id)?;
    let chart = file
        .strip_suffix(".svg")
        .and_then(Chart::parse)
        .ok_or_else(|| AppError::NotFound(format!("no chart `{file}`")))?;
    let (theme, layout) = charts::look(q.theme.as_deref(), q.layout.as_deref(), Theme::Dark)?;
    let svg = charts::render(&state, id, chart, Format::Svg, theme, layout).await?;
    let headers = [
        (header::CONTENT_TYPE, "image/svg+xml"),
        (header::CACHE_CONTROL, "private, max-age=300"),
    ];
    Ok((headers, svg).into_response())
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
) -> Result<Response, PlainError> {
    let id = parse_id("run", &id)?;
    let stream = assignments::csv_download(&state, id, q.segment).await?;
    let name = match q.segment {
        Some(s) => format!("segmentiq-run-{id}-segment-{s}.csv"),
        None => format!("segmentiq-run-{id}-customers.csv"),
    };
    Ok(csv_attachment(&name, Body::from_stream(stream))?)
}

/// `GET /runs/{id}/scorings/{scoring}/assignments.csv[?segment=N]`: new customers placed in the
/// run's segments, streamed.
pub async fn scoring_csv(
    State(state): State<AppState>,
    Path((id, scoring)): Path<(String, String)>,
    Query(q): Query<CsvQuery>,
) -> Result<Response, PlainError> {
    let run_id = parse_id("run", &id)?;
    let scoring = crate::web::run::scoring_of_run(&state, run_id, &scoring).await?;
    scorings::check_segment(&scoring, q.segment)?;
    let name = match q.segment {
        Some(s) => format!(
            "segmentiq-run-{run_id}-new-customers-{}-segment-{s}.csv",
            scoring.id
        ),
        None => format!("segmentiq-run-{run_id}-new-customers-{}.csv", scoring.id),
    };
    let stream = scorings::csv_stream(state, scoring, q.segment);
    Ok(csv_attachment(&name, Body::from_stream(stream))?)
}

/// `GET /runs/{id}/profiles.csv`: every segment's profile as one table.
pub async fn profiles_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PlainError> {
    let id = parse_id("run", &id)?;
    let csv = runs::profiles_csv(&state, id).await?;
    let name = format!("segmentiq-run-{id}-profiles.csv");
    Ok(csv_attachment(&name, Body::from(csv))?)
}

/// `GET /runs/{id}/model.json`: the run's model, for `segmentiq assign`.
pub async fn model_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PlainError> {
    let id = parse_id("run", &id)?;
    let json = runs::model_json(&state, id).await?;
    let name = format!("segmentiq-run-{id}-model.json");
    Ok(json_attachment(&name, Body::from(json))?)
}

/// Why an image, a download or an event stream failed. These are not pages: a short text with
/// the status is all a browser shows (and all `EventSource` needs to stop).
pub struct PlainError(AppError);

impl From<AppError> for PlainError {
    fn from(error: AppError) -> Self {
        PlainError(error)
    }
}

impl IntoResponse for PlainError {
    fn into_response(self) -> Response {
        let PlainError(error) = self;
        if let AppError::Internal(inner) = &error {
            tracing::error!(error = ?inner, "download failed");
        }
        (error.status(), error.to_string()).into_response()
    }
}
