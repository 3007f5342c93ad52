//! New customers placed in the segments of a finished run ("scoring"): every month new
//! customers join, and the analyst wants their segments without clustering again. An upload is
//! read with the same checks and limits as a dataset's, placed with the run's model
//! ([`crate::engine::model`], the same rule `segmentiq assign` applies), and stored with the
//! segment of every row, what was done to rows that did not fit the run exactly, and the
//! original cells, so it can be paged and downloaded like the run's own assignments.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::db;
use crate::engine::export::{download_header, spreadsheet_safe};
use crate::engine::model::ModelError;
use crate::error::{AppError, AppResult};
use crate::service::assignments::{cell_text, csv_line, csv_segment_names, io};
use crate::service::datasets::{self, Upload};
use crate::service::page::{MAX_PAGE, Numbered};
use crate::service::runs::{self, Run};
use crate::service::{Page, PageRequest};

/// Longest name of an upload (as the `scorings` table checks).
pub const MAX_NAME: usize = 200;

/// One upload of new customers placed in a run's segments.
#[derive(Clone, Debug)]
pub struct Scoring {
    pub id: i64,
    pub run_id: i64,
    pub name: String,
    pub filename: String,
    pub byte_size: i64,
    pub row_count: i64,
    /// The file's columns in order.
    pub headers: Vec<String>,
    /// What did not fit the run exactly, in sentences naming columns and rows.
    pub notes: Vec<String>,
    /// Customers placed in each segment `0..k`.
    pub segment_sizes: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

impl Scoring {
    fn from_row(row: db::scorings::ScoringRow) -> AppResult<Scoring> {
        let id = row.id;
        let unreadable = |what: &str, e: serde_json::Error| {
            AppError::Internal(anyhow::anyhow!("scoring {id} has unreadable {what}: {e}"))
        };
        Ok(Scoring {
            id,
            run_id: row.run_id,
            name: row.name,
            filename: row.filename,
            byte_size: row.byte_size,
            row_count: row.row_count.into(),
            headers: serde_json::from_value(row.headers).map_err(|e| unreadable("headers", e))?,
            notes: serde_json::from_value(row.notes).map_err(|e| unreadable("notes", e))?,
            segment_sizes: serde_json::from_value(row.segment_sizes)
                .map_err(|e| unreadable("segment sizes", e))?,
            created_at: row.created_at,
        })
    }
}

/// One new customer with its segment.
#[derive(Clone, Debug)]
pub struct ScoredRow {
    pub row_index: i32,
    pub cluster: i32,
    /// What was done to place this row (a cell filled, a level the run never saw).
    pub remarks: Vec<String>,
    /// The uploaded row, typed.
    pub payload: serde_json::Value,
}

impl From<db::scorings::ScoredRow> for ScoredRow {
    fn from(r: db::scorings::ScoredRow) -> Self {
        ScoredRow {
            row_index: r.row_index,
            cluster: r.cluster_label,
            remarks: r.remarks.into_iter().flatten().collect(),
            payload: r.payload,
        }
    }
}

/// Places an upload of new customers in the segments of run `run_id` and stores the result.
/// The upload is refused as a whole, naming the file, when it cannot be read, passes a limit,
/// lacks a column the run used or holds words in one of its numeric columns; nothing is stored
/// then. Filled cells, unseen levels and extra columns are placed anyway and noted.
pub async fn score(state: &AppState, run_id: i64, upload: Upload) -> AppResult<Scoring> {
    let limits = state.config.limits;
    let filename = datasets::checked_filename(&upload, limits)?;
    let name = datasets::display_name(upload.name.as_deref(), &filename);
    if name.chars().count() > MAX_NAME {
        return Err(AppError::BadInput(format!(
            "the name of an upload of new customers is at most {MAX_NAME} characters; this one has {}",
            name.chars().count()
        )));
    }
    let byte_size = upload.bytes.len() as i64;
    let (run, model) = runs::model(state, run_id).await?;
    let parse_name = filename.clone();
    // Reading and placing is CPU work: keep it off the async workers.
    let (table, placed) = tokio::task::spawn_blocking(move || {
        let table = datasets::read_table(&parse_name, &upload.bytes, limits)?;
        let placed = model.place(&table).map_err(|e| refused(&parse_name, e))?;
        Ok::<_, AppError>((table, placed))
    })
    .await??;
    let mut sizes = vec![0i64; run.profiles.len()];
    for &label in &placed.labels {
        if let Some(size) = sizes.get_mut(label) {
            *size += 1;
        }
    }
    let json =
        |v: serde_json::Result<serde_json::Value>| v.map_err(|e| AppError::Internal(e.into()));
    let id = db::scorings::insert_with_rows(
        &state.config.database_url,
        db::scorings::NewScoring {
            run_id: run.id,
            name: &name,
            filename: &filename,
            byte_size,
            row_count: table.n_rows as i32,
            headers: json(serde_json::to_value(&table.headers))?,
            notes: json(serde_json::to_value(&placed.notes))?,
            segment_sizes: json(serde_json::to_value(&sizes))?,
        },
        table,
        placed.labels,
        placed.remarks,
    )
    .await?;
    let mut conn = state.conn().await?;
    let stored = db::scorings::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("new customers {id}")))?;
    db::analyze(&mut conn, "scored_rows").await;
    tracing::info!(
        scoring = stored.id,
        run = run.id,
        rows = stored.row_count,
        %filename,
        "placed new customers"
    );
    Scoring::from_row(stored)
}

/// Why a table cannot be placed, in the words of the upload: which file, which columns, which
/// rows. A model that no longer reads is the server's fault, not the file's.
fn refused(filename: &str, e: ModelError) -> AppError {
    match e {
        ModelError::MissingColumns { .. } | ModelError::NotNumbers(_) => {
            AppError::BadInput(format!("{filename}: {e}"))
        }
        ModelError::TooNew { .. } | ModelError::Unreadable(_) => {
            AppError::Internal(anyhow::anyhow!("the run's model: {e}"))
        }
    }
}

pub async fn get(state: &AppState, id: i64) -> AppResult<Scoring> {
    let mut conn = state.conn().await?;
    let row = db::scorings::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("scoring {id}")))?;
    Scoring::from_row(row)
}

/// A run's scorings, newest first (an unknown run is not found).
pub async fn of_run(state: &AppState, run_id: i64) -> AppResult<Vec<Scoring>> {
    runs::get(state, run_id).await?;
    let mut conn = state.conn().await?;
    db::scorings::of_run(&mut conn, run_id)
        .await?
        .into_iter()
        .map(Scoring::from_row)
        .collect()
}

pub async fn delete(state: &AppState, id: i64) -> AppResult<()> {
    let mut conn = state.conn().await?;
    if db::scorings::delete(&mut conn, id).await? {
        Ok(())
    } else {
        Err(AppError::not_found(format!("scoring {id}")))
    }
}

/// A scoring has the segments of its run; asking for another is a mistake worth naming.
pub fn check_segment(scoring: &Scoring, cluster: Option<i32>) -> AppResult<()> {
    let k = scoring.segment_sizes.len() as i32;
    match cluster {
        Some(c) if c < 0 || c >= k => Err(AppError::BadInput(format!(
            "scoring {} has segments 0 to {}; there is no segment {c}",
            scoring.id,
            k - 1
        ))),
        _ => Ok(()),
    }
}

/// How many rows a scoring has, in one segment or in all: stored with the rows, so no page
/// counts them again. Call [`check_segment`] first.
fn known_total(scoring: &Scoring, cluster: Option<i32>) -> i64 {
    match cluster {
        None => scoring.row_count,
        Some(c) => scoring.segment_sizes[c as usize],
    }
}

/// A cursor page of a scoring's rows in row order, one segment or all.
pub async fn rows(
    state: &AppState,
    scoring: &Scoring,
    cluster: Option<i32>,
    page: &PageRequest,
) -> AppResult<Page<ScoredRow>> {
    check_segment(scoring, cluster)?;
    let limit = page.limit();
    let query = db::scorings::RowQuery {
        scoring_id: scoring.id,
        cluster,
        after: page.after_row()?,
        offset: 0,
        limit: limit as i64 + 1,
    };
    let mut conn = state.conn().await?;
    let rows = query.fetch(&mut conn).await?;
    let total = known_total(scoring, cluster);
    let items = rows
        .into_iter()
        .map(|r| (r.row_index as i64, ScoredRow::from(r)))
        .collect();
    Ok(Page::from_probe(items, limit, total))
}

/// A numbered page of a scoring's rows, for the page that shows them.
pub async fn numbered(
    state: &AppState,
    scoring: &Scoring,
    cluster: Option<i32>,
    page: usize,
    page_size: usize,
) -> AppResult<Numbered<ScoredRow>> {
    check_segment(scoring, cluster)?;
    let mut query = db::scorings::RowQuery {
        scoring_id: scoring.id,
        cluster,
        ..Default::default()
    };
    let mut conn = state.conn().await?;
    let total = known_total(scoring, cluster);
    let mut numbered = Numbered::new(total, page, page_size);
    query.offset = numbered.offset as i64;
    query.limit = numbered.size as i64;
    numbered.rows = query
        .fetch(&mut conn)
        .await?
        .into_iter()
        .map(ScoredRow::from)
        .collect();
    Ok(numbered)
}

/// A scoring as CSV bytes (check the segment first with [`check_segment`]), one database page at a time: `row_index,cluster,segment_name,remarks`
/// (the analyst's segment names, the remarks joined by `; `) then the uploaded columns.
pub fn csv_stream(
    state: AppState,
    scoring: Scoring,
    cluster: Option<i32>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    async_stream::try_stream! {
        let run: Run = runs::get(&state, scoring.run_id).await.map_err(io)?;
        let names = csv_segment_names(&run);
        let leading = ["row_index", "cluster", "segment_name", "remarks"];
        yield csv_line(&download_header(&leading, &scoring.headers));
        let mut query = db::scorings::RowQuery {
            scoring_id: scoring.id,
            cluster,
            limit: MAX_PAGE as i64,
            ..Default::default()
        };
        loop {
            let rows = async {
                let mut conn = state.conn().await?;
                Ok::<_, AppError>(query.fetch(&mut conn).await?)
            }
            .await
            .map_err(io)?;
            let last = rows.last().map(|r| r.row_index);
            let full = rows.len() as i64 == query.limit;
            let mut chunk = Vec::with_capacity(rows.len() * 64);
            for r in rows.into_iter().map(ScoredRow::from) {
                let name = names.get(&r.cluster).cloned().unwrap_or_default();
                let remarks = spreadsheet_safe(&r.remarks.join("; ")).into_owned();
                let mut fields = vec![r.row_index.to_string(), r.cluster.to_string(), name, remarks];
                fields.extend(scoring.headers.iter().map(|c| cell_text(r.payload.get(c))));
                chunk.extend_from_slice(&csv_line(&fields));
            }
            yield bytes::Bytes::from(chunk);
            match last {
                Some(last) if full => query.after = Some(last),
                _ => break,
            }
        }
    }
}
