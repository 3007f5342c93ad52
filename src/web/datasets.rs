//! The datasets page (list + upload) and a dataset's page (column profile, preview, run form,
//! its runs).

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use crate::app::AppState;
use crate::engine::ingest::ColumnKind;
use crate::error::{AppError, AppResult};
use crate::http::Query;
use crate::service::datasets::{self as svc, Dataset, Upload};
use crate::service::{Page, PageRequest};
use crate::web::dataset_runs::{self, RunsTable};
use crate::web::format;
use crate::web::render::{Hx, PageResult, fragment, page};
use crate::web::run_form::RunForm;
use crate::web::{parse_id, routes};

/// The bundled sample: the predecessor's demo table, so a first-time user can try everything
/// without a file of their own.
const SAMPLE_CSV: &[u8] = include_bytes!("../../sample_data/ethiopian_supermarket_customers.csv");
const SAMPLE_FILENAME: &str = "ethiopian_supermarket_customers.csv";

/// Datasets per page of the list.
const LIST_PAGE: usize = 50;
/// Rows in a dataset's preview.
const PREVIEW_ROWS: usize = 10;

// ---- Views ----------------------------------------------------------------------------------

pub struct DatasetRow {
    pub url: String,
    pub name: String,
    pub filename: String,
    pub size: String,
    pub rows: String,
    pub columns: usize,
    pub uploaded: String,
    pub uploaded_iso: String,
    pub runs: i64,
}

/// The upload form's state: its limit, and the error of the last attempt.
pub struct UploadZone {
    pub action: &'static str,
    pub max_bytes: usize,
    pub max_human: String,
    pub uploading: Option<String>,
    pub error: Option<String>,
}

impl UploadZone {
    fn new(state: &AppState, error: Option<String>) -> UploadZone {
        let max = state.config.limits.max_upload_bytes;
        UploadZone {
            action: routes::UPLOAD,
            max_bytes: max,
            max_human: svc::human_bytes(max),
            uploading: None,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/datasets.html", blocks = ["title", "content"])]
pub struct DatasetsPage {
    datasets: Vec<DatasetRow>,
    total: i64,
    next_url: Option<String>,
    upload: UploadZone,
    sample_action: &'static str,
    /// Show the upload zone and the sample button (full access only).
    can_write: bool,
}
page!(DatasetsPage);

#[derive(Template)]
#[template(path = "partials/upload_zone.html")]
pub struct UploadZonePartial {
    upload: UploadZone,
}

/// The header facts of a dataset.
pub struct DatasetHead {
    pub name: String,
    pub filename: String,
    pub size: String,
    pub rows: String,
    pub column_count: usize,
    pub uploaded: String,
    pub uploaded_iso: String,
    pub delete_action: String,
}

pub struct ColumnRow {
    pub name: String,
    pub kind: &'static str,
    pub missing: String,
    pub distinct: String,
    pub min: String,
    pub mean: String,
    pub max: String,
    pub top: String,
    /// How the column's numbers were read, when the profile has something to say.
    pub note: Option<String>,
    /// The note asks the user to check something (an ambiguity, a column kept as text).
    pub note_warns: bool,
}

pub struct Preview {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "pages/dataset.html", blocks = ["title", "content"])]
pub struct DatasetPage {
    d: DatasetHead,
    columns: Vec<ColumnRow>,
    preview: Preview,
    form: RunForm,
    runs: RunsTable,
    /// Show the run form and the delete button (full access only).
    pub can_write: bool,
}
page!(DatasetPage);

impl DatasetPage {
    pub fn new(
        dataset: &Dataset,
        preview: Vec<serde_json::Value>,
        runs: RunsTable,
        form: RunForm,
    ) -> Self {
        DatasetPage {
            d: head(dataset),
            columns: dataset.columns.iter().map(column_row).collect(),
            preview: Preview {
                headers: dataset.columns.iter().map(|c| c.name.clone()).collect(),
                rows: preview
                    .iter()
                    .map(|row| {
                        dataset
                            .columns
                            .iter()
                            .map(|c| format::cell(row.get(&c.name)))
                            .collect()
                    })
                    .collect(),
            },
            form,
            runs,
            can_write: false,
        }
    }
}

fn head(d: &Dataset) -> DatasetHead {
    DatasetHead {
        name: d.name.clone(),
        filename: d.filename.clone(),
        size: format::bytes(d.byte_size),
        rows: format::thousands(d.row_count),
        column_count: d.columns.len(),
        uploaded: format::date(&d.created_at),
        uploaded_iso: format::iso(&d.created_at),
        delete_action: routes::dataset_delete(d.id),
    }
}

fn column_row(c: &crate::engine::ingest::ColumnProfile) -> ColumnRow {
    let stat = |f: fn(&crate::engine::ingest::NumericSummary) -> f64| {
        c.numeric
            .as_ref()
            .map_or("—".to_string(), |n| format::number(f(n)))
    };
    let top = c
        .top_values
        .iter()
        .take(3)
        .map(|v| format!("{} ({})", v.value, format::thousands(v.count as i64)))
        .collect::<Vec<_>>()
        .join(", ");
    ColumnRow {
        name: c.name.clone(),
        kind: c.kind.as_str(),
        missing: format::thousands(c.missing as i64),
        distinct: format::thousands(c.distinct as i64),
        min: stat(|n| n.min),
        mean: stat(|n| n.mean),
        max: stat(|n| n.max),
        // Frequent values say something about categories and small counts, not about amounts.
        top: if top.is_empty()
            || c.kind == ColumnKind::Identifier
            || (c.numeric.is_some() && c.distinct > 20)
        {
            "—".into()
        } else {
            top
        },
        note: c.number_format.as_ref().map(|f| f.note.clone()),
        note_warns: c
            .number_format
            .as_ref()
            .is_some_and(|f| f.ambiguous || f.decimal_separator.is_none()),
    }
}

fn dataset_rows(
    page: &Page<Dataset>,
    counts: &std::collections::HashMap<i64, i64>,
) -> Vec<DatasetRow> {
    page.items
        .iter()
        .map(|(_, d)| DatasetRow {
            url: routes::dataset(d.id),
            name: d.name.clone(),
            filename: d.filename.clone(),
            size: format::bytes(d.byte_size),
            rows: format::thousands(d.row_count),
            columns: d.columns.len(),
            uploaded: format::date(&d.created_at),
            uploaded_iso: format::iso(&d.created_at),
            runs: counts.get(&d.id).copied().unwrap_or(0),
        })
        .collect()
}

// ---- Handlers -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

/// `GET /`: the list and the upload zone.
pub async fn list(hx: Hx, State(state): State<AppState>, Query(q): Query<ListQuery>) -> PageResult {
    let page = datasets_page(&state, q.after, None, hx.can_write)
        .await
        .map_err(hx.fail())?;
    Ok(hx.ok(&page))
}

async fn datasets_page(
    state: &AppState,
    after: Option<String>,
    error: Option<String>,
    can_write: bool,
) -> AppResult<DatasetsPage> {
    let request = PageRequest {
        first: Some(LIST_PAGE),
        after,
    };
    let page = svc::list(state, &request).await?;
    let ids: Vec<i64> = page.items.iter().map(|(id, _)| *id).collect();
    let counts = svc::run_counts(state, &ids).await?;
    Ok(DatasetsPage {
        datasets: dataset_rows(&page, &counts),
        total: page.total_count,
        next_url: page
            .has_next_page
            .then(|| page.end_cursor())
            .flatten()
            .map(|c| routes::datasets_after(&c)),
        upload: UploadZone::new(state, error),
        sample_action: routes::SAMPLE,
        can_write,
    })
}

/// `POST /datasets`: a multipart upload from the drop zone. Problems with the file come back
/// as a message inside the zone (the rest of the page stays as it was); success opens the new
/// dataset.
pub async fn upload(
    hx: Hx,
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    match receive(&state, &headers, multipart).await {
        Ok(dataset) => Ok(hx.redirect(&routes::dataset(dataset.id))),
        Err(e @ (AppError::BadInput(_) | AppError::TooLarge(_))) => {
            upload_refused(hx, &state, e).await
        }
        Err(e) => Err(hx.error(e)),
    }
}

/// What the pages say when an upload is not a file form.
pub const FILE_FORM_ADVICE: &str = "the upload is not a file form; choose a CSV file and try again";

/// Reads the uploaded file and stores it as a dataset.
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Dataset> {
    let upload = crate::http::upload::receive(
        headers,
        multipart,
        state.config.limits.max_upload_bytes,
        FILE_FORM_ADVICE,
    )
    .await?;
    svc::upload(state, upload).await
}

/// A refused file: the reason inside the upload zone for htmx, else the datasets page with the
/// reason in its zone.
async fn upload_refused(hx: Hx, state: &AppState, error: AppError) -> PageResult {
    let status = error.status();
    let message = error.to_string();
    if hx.partial {
        let zone = UploadZonePartial {
            upload: UploadZone::new(state, Some(message)),
        };
        return Ok(fragment(&zone, status));
    }
    let page = datasets_page(state, None, Some(message), hx.can_write)
        .await
        .map_err(hx.fail())?;
    Ok(hx.render(&page, status))
}

/// `POST /datasets/sample`: stores the bundled sample as a new dataset.
pub async fn sample(hx: Hx, State(state): State<AppState>) -> PageResult {
    let upload = Upload {
        name: Some("Ethiopian supermarket customers (sample)".into()),
        filename: SAMPLE_FILENAME.into(),
        bytes: SAMPLE_CSV.to_vec(),
    };
    let dataset = svc::upload(&state, upload).await.map_err(hx.fail())?;
    Ok(hx.redirect(&routes::dataset(dataset.id)))
}

/// `GET /datasets/{id}`.
pub async fn show(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("dataset", &id).map_err(hx.fail())?;
    let page = dataset_page(&state, id, None, hx.can_write)
        .await
        .map_err(hx.fail())?;
    Ok(hx.ok(&page))
}

/// The dataset page with a given run form (a fresh one, or one sent back with its error).
pub async fn dataset_page(
    state: &AppState,
    id: i64,
    form: Option<RunForm>,
    can_write: bool,
) -> AppResult<DatasetPage> {
    let dataset = svc::get(state, id).await?;
    let (preview, runs) = tokio::join!(
        svc::preview(state, id, PREVIEW_ROWS),
        dataset_runs::table(state, id)
    );
    let form = form.unwrap_or_else(|| RunForm::new(&dataset));
    let mut page = DatasetPage::new(&dataset, preview?, runs?, form);
    page.can_write = can_write;
    Ok(page)
}

/// `POST /datasets/{id}/delete`: asked to confirm in the page first (`hx-confirm`).
pub async fn delete(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("dataset", &id).map_err(hx.fail())?;
    svc::delete(&state, id).await.map_err(hx.fail())?;
    Ok(hx.redirect(routes::DATASETS))
}
