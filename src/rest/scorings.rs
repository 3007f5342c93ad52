//! New customers placed in a finished run's segments: upload them against the run (multipart
//! field `file`, like a dataset), read the result back as JSON or CSV, delete it.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::datasets::MULTIPART_ADVICE;
use super::json::Id;
use crate::app::AppState;
use crate::error::AppResult;
use crate::http::Query;
use crate::http::download::csv_attachment;
use crate::http::upload::receive;
use crate::service::PageRequest;
use crate::service::scorings::{self, ScoredRow, Scoring};

pub fn scoring_json(s: &Scoring) -> Value {
    json!({
        "id": s.id,
        "run_id": s.run_id,
        "name": s.name,
        "filename": s.filename,
        "byte_size": s.byte_size,
        "row_count": s.row_count,
        "columns": s.headers,
        "segment_sizes": s.segment_sizes,
        "notes": s.notes,
        "created_at": s.created_at,
    })
}

fn row_json(r: &ScoredRow) -> Value {
    json!({
        "row_index": r.row_index,
        "cluster_label": r.cluster,
        "remarks": r.remarks,
        "payload": r.payload,
    })
}

/// `POST /clustering/runs/{id}/scorings`: places the uploaded customers in the run's segments;
/// `201` with the scoring, its segment sizes and notes.
pub async fn create(
    State(state): State<AppState>,
    Id(run_id): Id,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<impl IntoResponse> {
    let limit = state.config.limits.max_upload_bytes;
    let upload = receive(&headers, multipart, limit, MULTIPART_ADVICE).await?;
    let scoring = scorings::score(&state, run_id, upload).await?;
    let location = format!("/api/v1/clustering/scorings/{}", scoring.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(scoring_json(&scoring)),
    ))
}

/// `GET /clustering/runs/{id}/scorings`: the run's scorings, newest first.
pub async fn of_run(State(state): State<AppState>, Id(run_id): Id) -> AppResult<Json<Vec<Value>>> {
    let list = scorings::of_run(&state, run_id).await?;
    Ok(Json(list.iter().map(scoring_json).collect()))
}

pub async fn get(State(state): State<AppState>, Id(id): Id) -> AppResult<Json<Value>> {
    Ok(Json(scoring_json(&scorings::get(&state, id).await?)))
}

pub async fn delete(State(state): State<AppState>, Id(id): Id) -> AppResult<StatusCode> {
    scorings::delete(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct RowsQuery {
    /// One segment only.
    cluster: Option<i32>,
    /// Rows per page (at most 1,000; default 50).
    limit: Option<usize>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// `GET /clustering/scorings/{id}/rows?cluster=&limit=&cursor=`: a page of placed customers in
/// row order, with the cursor of the next page (`null` on the last).
pub async fn rows(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<RowsQuery>,
) -> AppResult<Json<Value>> {
    let scoring = scorings::get(&state, id).await?;
    let page = PageRequest {
        first: q.limit,
        after: q.cursor,
    };
    let rows = scorings::rows(&state, &scoring, q.cluster, &page).await?;
    Ok(Json(json!({
        "scoring_id": id,
        "total_count": rows.total_count,
        "rows": rows.items.iter().map(|(_, r)| row_json(r)).collect::<Vec<_>>(),
        "next_cursor": rows.has_next_page.then(|| rows.end_cursor()).flatten(),
    })))
}

#[derive(Deserialize)]
pub struct CsvQuery {
    cluster: Option<i32>,
}

/// `GET /clustering/scorings/{id}/assignments.csv`: every placed customer,
/// `row_index,cluster,segment_name,remarks` then the uploaded columns, streamed.
pub async fn csv(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<CsvQuery>,
) -> AppResult<Response> {
    let scoring = scorings::get(&state, id).await?;
    // Checked before the first byte, so a wrong segment is a 400, not a broken download.
    scorings::check_segment(&scoring, q.cluster)?;
    let stream = scorings::csv_stream(state, scoring, q.cluster);
    csv_attachment(
        &format!("segmentiq-scoring-{id}-assignments.csv"),
        Body::from_stream(stream),
    )
}
