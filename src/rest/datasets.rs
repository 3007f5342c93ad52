//! `/api/v1/datasets`: upload (multipart field `file`), list, get, delete.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::json::Id;
use crate::app::AppState;
use crate::error::AppResult;
use crate::http::upload::receive;
use crate::service::{self, PageRequest, datasets::Dataset};

pub fn dataset_json(d: &Dataset) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "filename": d.filename,
        "byte_size": d.byte_size,
        "row_count": d.row_count,
        "columns": d.columns,
        "created_at": d.created_at,
    })
}

/// How to send a CSV to the API, said when a request is not multipart form data.
pub const MULTIPART_ADVICE: &str =
    "send the CSV as multipart/form-data with the file in field `file`";

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<impl IntoResponse> {
    let limit = state.config.limits.max_upload_bytes;
    let upload = receive(&headers, multipart, limit, MULTIPART_ADVICE).await?;
    let dataset = service::datasets::upload(&state, upload).await?;
    Ok((StatusCode::CREATED, Json(dataset_json(&dataset))))
}

pub async fn list(State(state): State<AppState>) -> AppResult<Json<Vec<Value>>> {
    let page = service::datasets::list(
        &state,
        &PageRequest {
            first: Some(service::page::MAX_PAGE),
            after: None,
        },
    )
    .await?;
    Ok(Json(
        page.items.iter().map(|(_, d)| dataset_json(d)).collect(),
    ))
}

pub async fn get(State(state): State<AppState>, Id(id): Id) -> AppResult<Json<Value>> {
    let dataset = service::datasets::get(&state, id).await?;
    let mut body = dataset_json(&dataset);
    body["preview"] = Value::Array(service::datasets::preview(&state, id, 10).await?);
    Ok(Json(body))
}

pub async fn delete(State(state): State<AppState>, Id(id): Id) -> AppResult<StatusCode> {
    service::datasets::delete(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
