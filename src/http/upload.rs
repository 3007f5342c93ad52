//! Reading an uploaded CSV from a multipart body, for every interface that takes one as a form
//! (REST and the pages; GraphQL's multipart request spec has its own reader).

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::{HeaderMap, header};

use crate::error::{AppError, AppResult};
use crate::service;

/// Reads an upload as [`read_upload`] does, after refusing at once a body whose declared length
/// cannot fit (instead of reading megabytes to find out) and a body that is not multipart form
/// data, with `advice` saying how to send one in the words of the interface.
pub async fn receive(
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
    advice: &str,
) -> AppResult<service::datasets::Upload> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // The form's own fields and boundaries take a few bytes beside the file.
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(service::datasets::too_large("the file", limit));
    }
    let multipart =
        multipart.map_err(|e| AppError::BadInput(format!("{advice} ({})", e.body_text())))?;
    read_upload(multipart, limit).await
}

/// Reads the multipart field `file` (and the optional `name`, before or after it) while counting
/// bytes, so an oversized upload is refused as soon as it passes the limit instead of after it
/// has all arrived. A second `file` part is refused rather than silently dropped.
async fn read_upload(
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
