//! Reading an uploaded CSV from a multipart body, for every interface that takes one as a form
//! (REST and the pages; GraphQL's multipart request spec has its own reader).

use axum::extract::Multipart;

use crate::error::{AppError, AppResult};
use crate::service;

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
