//! File downloads, for every interface that offers one (REST and the pages).

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, AppResult};

/// A CSV file the browser saves as `filename`.
pub fn csv_attachment(filename: &str, body: Body) -> AppResult<Response> {
    attachment(filename, "text/csv; charset=utf-8", body)
}

/// A JSON file the browser saves as `filename`.
pub fn json_attachment(filename: &str, body: Body) -> AppResult<Response> {
    attachment(filename, "application/json", body)
}

fn attachment(filename: &str, content_type: &'static str, body: Body) -> AppResult<Response> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .map_err(|e| AppError::Internal(e.into()))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, body).into_response())
}
