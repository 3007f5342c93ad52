//! Datasets: upload (parse, profile, store), list, read, delete.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::config::Limits;
use crate::db;
use crate::engine::ingest::{self, ColumnProfile};
use crate::error::{AppError, AppResult};
use crate::service::{Page, PageRequest};

/// A stored dataset as every interface shows it.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub id: i64,
    pub name: String,
    pub filename: String,
    pub byte_size: i64,
    pub row_count: i64,
    pub columns: Vec<ColumnProfile>,
    pub created_at: DateTime<Utc>,
}

impl Dataset {
    fn from_row(row: db::datasets::DatasetRow) -> AppResult<Dataset> {
        let columns = serde_json::from_value(row.column_profiles).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "dataset {} has unreadable columns: {e}",
                row.id
            ))
        })?;
        Ok(Dataset {
            id: row.id,
            name: row.name,
            filename: row.filename,
            byte_size: row.byte_size,
            row_count: row.row_count.into(),
            columns,
            created_at: row.created_at,
        })
    }

    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column that names each customer (the first identifier column), which tables of
    /// customers search.
    pub fn identifier(&self) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.kind == ingest::ColumnKind::Identifier)
            .map(|c| c.name.as_str())
    }
}

/// A file as received from a client.
pub struct Upload {
    /// Display name; defaults to the file name without `.csv`.
    pub name: Option<String>,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Parses, checks and stores an upload. Nothing is written unless every row parsed.
pub async fn upload(state: &AppState, upload: Upload) -> AppResult<Dataset> {
    let limits = state.config.limits;
    let filename = checked_filename(&upload, limits)?;
    let name = display_name(upload.name.as_deref(), &filename);
    // Parsing a million rows is CPU work: keep it off the async workers.
    let parse_name = filename.clone();
    let (bytes, profiles, table) = tokio::task::spawn_blocking(move || {
        let table = read_table(&parse_name, &upload.bytes, limits)?;
        let profiles = table.column_profiles();
        Ok::<_, AppError>((upload.bytes, profiles, table))
    })
    .await??;
    let columns = serde_json::to_value(&profiles).map_err(|e| AppError::Internal(e.into()))?;
    let started = std::time::Instant::now();
    let id = db::datasets::insert_with_rows(
        &state.config.database_url,
        db::datasets::NewDataset {
            name: &name,
            filename: &filename,
            byte_size: bytes.len() as i64,
            row_count: table.n_rows as i32,
            column_profiles: columns,
            raw_file: &bytes,
        },
        table,
    )
    .await?;
    drop(bytes);
    let mut conn = state.conn().await?;
    let stored = db::datasets::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("dataset {id}")))?;
    db::analyze(&mut conn, "dataset_rows").await;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        dataset = stored.id,
        rows = stored.row_count,
        seconds,
        rows_per_second = (f64::from(stored.row_count) / seconds.max(1e-9)).round(),
        %filename,
        "stored dataset"
    );
    Dataset::from_row(stored)
}

/// The upload's file name, made safe to show, once the upload has passed the checks that need
/// no parsing: it is not empty and within `MAX_UPLOAD_BYTES`. Every upload of a CSV (a dataset,
/// new customers for a run) starts here.
pub fn checked_filename(upload: &Upload, limits: Limits) -> AppResult<String> {
    let filename = sanitize_filename(&upload.filename);
    if upload.bytes.is_empty() {
        return Err(bad_file(&filename, &ingest::IngestError::Empty));
    }
    if upload.bytes.len() > limits.max_upload_bytes {
        return Err(too_large(&filename, limits.max_upload_bytes));
    }
    Ok(filename)
}

/// Reads an upload's CSV and holds it to `MAX_ROWS` and `MAX_COLUMNS`; errors name the file,
/// then the line and column or the limit. CPU work: call it off the async workers.
pub fn read_table(filename: &str, bytes: &[u8], limits: Limits) -> AppResult<ingest::Table> {
    let table = ingest::read_csv(bytes).map_err(|e| bad_file(filename, &e))?;
    if table.n_rows > limits.max_rows {
        return Err(AppError::BadInput(format!(
            "{filename}: {} data rows is more than the limit of {} (MAX_ROWS)",
            table.n_rows, limits.max_rows
        )));
    }
    if table.headers.len() > limits.max_columns {
        return Err(AppError::BadInput(format!(
            "{filename}: {} columns is more than the limit of {} (MAX_COLUMNS)",
            table.headers.len(),
            limits.max_columns
        )));
    }
    Ok(table)
}

/// A file the reader refused: the message names the file, then the line and column to fix.
fn bad_file(filename: &str, e: &ingest::IngestError) -> AppError {
    AppError::BadInput(format!("{filename}: {e}"))
}

pub fn too_large(filename: &str, limit: usize) -> AppError {
    AppError::TooLarge(format!(
        "{filename} is larger than the upload limit of {} (MAX_UPLOAD_BYTES)",
        human_bytes(limit)
    ))
}

pub fn human_bytes(n: usize) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if n as f64 >= MIB {
        format!("{:.1} MiB", n as f64 / MIB)
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// Keeps only the last path component, so names are safe to show and to put in headers.
fn sanitize_filename(filename: &str) -> String {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    if clean.is_empty() {
        "upload.csv".to_string()
    } else {
        clean
    }
}

/// The name a dataset is listed under: the one given, without control characters (a NUL
/// above all, which PostgreSQL cannot store), or the file name without `.csv`.
pub fn display_name(given: Option<&str>, filename: &str) -> String {
    given
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_name(filename))
}

fn default_name(filename: &str) -> String {
    filename
        .strip_suffix(".csv")
        .or_else(|| filename.strip_suffix(".CSV"))
        .unwrap_or(filename)
        .to_string()
}

pub async fn get(state: &AppState, id: i64) -> AppResult<Dataset> {
    let mut conn = state.conn().await?;
    match db::datasets::find(&mut conn, id).await? {
        Some(row) if !row.deleting => Dataset::from_row(row),
        _ => Err(AppError::not_found(format!("dataset {id}"))),
    }
}

pub async fn list(state: &AppState, page: &PageRequest) -> AppResult<Page<Dataset>> {
    let limit = page.limit();
    let mut conn = state.conn().await?;
    let after = super::page::after_id(&mut conn, page, "datasets").await?;
    let rows = db::datasets::page(&mut conn, after, limit as i64 + 1).await?;
    let total = db::datasets::count(&mut conn).await?;
    let items = rows
        .into_iter()
        .map(|row| Ok((row.id, Dataset::from_row(row)?)))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_probe(items, limit, total))
}

/// How many runs each dataset has.
pub async fn run_counts(
    state: &AppState,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, i64>> {
    let mut conn = state.conn().await?;
    Ok(db::runs::count_by_dataset(&mut conn, ids)
        .await?
        .into_iter()
        .collect())
}

/// The first rows as parsed, for previews.
pub async fn preview(state: &AppState, id: i64, limit: usize) -> AppResult<Vec<serde_json::Value>> {
    let mut conn = state.conn().await?;
    Ok(db::datasets::preview(&mut conn, id, limit.min(1_000) as i64).await?)
}

/// The file exactly as uploaded.
pub async fn raw_file(state: &AppState, id: i64) -> AppResult<Vec<u8>> {
    let mut conn = state.conn().await?;
    db::datasets::raw_file(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("dataset {id}")))
}

/// Deletes a dataset with its rows, runs and assignments. The dataset is first marked, in its
/// own transaction, so that runs asked for while the delete proceeds are refused.
pub async fn delete(state: &AppState, id: i64) -> AppResult<()> {
    let mut conn = state.conn().await?;
    if !db::datasets::mark_deleting(&mut conn, id).await? {
        return Err(AppError::not_found(format!("dataset {id}")));
    }
    db::datasets::delete(&mut conn, id).await?;
    tracing::info!(dataset = id, "deleted dataset");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_path() {
        assert_eq!(
            sanitize_filename("C:\\Users\\a\\customers.csv"),
            "customers.csv"
        );
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename(""), "upload.csv");
        assert_eq!(default_name("customers.csv"), "customers");
        assert_eq!(
            display_name(Some(" Q3\0 shoppers "), "a.csv"),
            "Q3 shoppers"
        );
        assert_eq!(display_name(Some("\0\n"), "a.csv"), "a");
        assert_eq!(display_name(None, "b.CSV"), "b");
    }
}
