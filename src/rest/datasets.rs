//! `/api/v1/datasets`: upload (multipart field `file`), list, get, delete.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::json::Id;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
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

/// Reads the multipart field `file` (and the optional `name`, before or after it) while counting
/// bytes, so an oversized upload is refused as soon as it passes the limit instead of after it
/// has all arrived. A second `file` part is refused rather than silently dropped.
pub async fn read_upload(
    mut multipart: Multipart,
    limit: usize,
) -> AppResult<service::datasets::Upload> {
    let mut name = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| {
        AppError::BadInput(format!("the upload is not valid multipart form data: {e}"))
    })? {
        match field.name() {
            Some("name") => {
                name = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| AppError::BadInput(e.body_text()))?,
                );
            }
            Some("file") => {
                let filename = field.file_name().unwrap_or("upload.csv").to_string();
                if let Some((first, _)) = &file {
                    return Err(AppError::BadInput(format!(
                        "the upload has a second `file` part ({filename} after {first}); send one CSV per upload"
                    )));
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    AppError::BadInput(format!("the upload of {filename} broke off: {e}"))
                })? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(service::datasets::too_large(&filename, limit));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((filename, bytes));
            }
            _ => {}
        }
    }
    let (filename, bytes) = file.ok_or_else(|| {
        AppError::BadInput(
            "no file in the upload: send the CSV as multipart form field `file`".into(),
        )
    })?;
    Ok(service::datasets::Upload {
        name,
        filename,
        bytes,
    })
}

pub async fn upload(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<impl IntoResponse> {
    let multipart = multipart.map_err(|e| {
        AppError::BadInput(format!(
            "send the CSV as multipart/form-data with the file in field `file` ({})",
            e.body_text()
        ))
    })?;
    let upload = read_upload(multipart, state.config.limits.max_upload_bytes).await?;
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
