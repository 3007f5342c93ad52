//! The segment of every customer of a run, with the original row.

use crate::app::AppState;
use crate::db;
pub use crate::db::assignments::{Order, SortKey};
use crate::db::assignments::{PageQuery, Search};
use crate::engine::export::{download_header, spreadsheet_safe};
use crate::error::{AppError, AppResult};
use crate::service::datasets::Dataset;
use crate::service::page::{MAX_PAGE, Numbered};
use crate::service::runs::{self, RunStatus};
use crate::service::{Page, PageRequest};

#[derive(Clone, Debug)]
pub struct Assignment {
    pub row_index: i32,
    pub cluster: i32,
    /// How well the row fits its segment (-1..1).
    pub silhouette: Option<f64>,
    /// The original row, typed.
    pub payload: serde_json::Value,
}

/// A page of a run's assignments in row order. A run that has not succeeded has none yet,
/// which is an empty page, not an error (assignments appear all at once when it succeeds).
pub async fn list(
    state: &AppState,
    run_id: i64,
    cluster: Option<i32>,
    page: &PageRequest,
) -> AppResult<Page<Assignment>> {
    let run = runs::get(state, run_id).await?;
    check_segment(&run, cluster)?;
    let limit = page.limit();
    let query = PageQuery {
        run_id,
        dataset_id: run.dataset_id,
        cluster,
        after: page.after_row()?,
        limit: limit as i64 + 1,
        ..PageQuery::default()
    };
    let mut conn = state.conn().await?;
    let rows = query.fetch(&mut conn).await?;
    let total = match known_total(&run, cluster) {
        Some(total) => total,
        None => query.count(&mut conn).await?,
    };
    let items = rows
        .into_iter()
        .map(|r| (r.row_index as i64, Assignment::from(r)))
        .collect();
    Ok(Page::from_probe(items, limit, total))
}

/// How many assignments a run has, in one segment or in all, as its metrics say (they are
/// written in the transaction that writes the assignments), so paging through a million rows
/// does not count them all again for every page. `None` when the metrics cannot tell.
fn known_total(run: &runs::Run, cluster: Option<i32>) -> Option<i64> {
    let metrics = run
        .metrics
        .as_ref()
        .filter(|_| run.status == RunStatus::Succeeded)?;
    let total = match cluster {
        None => metrics.n_samples,
        Some(c) => *metrics.cluster_sizes.get(usize::try_from(c).ok()?)?,
    };
    i64::try_from(total).ok()
}

/// A finished run has segments `0..k`; asking for another is a mistake worth naming.
fn check_segment(run: &runs::Run, cluster: Option<i32>) -> AppResult<()> {
    if let (Some(c), Some(k)) = (cluster, run.segment_count()) {
        if run.status == RunStatus::Succeeded && (c < 0 || c >= k) {
            return Err(AppError::BadInput(format!(
                "run {} has segments 0 to {}; there is no segment {c}",
                run.id,
                k - 1
            )));
        }
    }
    Ok(())
}

/// What a table of customers asks for: one segment or all, customers whose identifier
/// contains `search`, an order, and a numbered page.
#[derive(Clone, Debug, Default)]
pub struct TableRequest {
    pub cluster: Option<i32>,
    pub search: Option<String>,
    pub order: Order,
    /// From 1; a page past the last is the last.
    pub page: usize,
    pub page_size: usize,
}

/// One numbered page of a table of customers.
pub type Table = Numbered<Assignment>;

/// A numbered page of a run's customers, sorted and searched as asked. Searching looks in the
/// dataset's identifier column; sorting takes any of its columns.
pub async fn table(
    state: &AppState,
    run: &runs::Run,
    dataset: &Dataset,
    request: &TableRequest,
) -> AppResult<Table> {
    check_segment(run, request.cluster)?;
    if let SortKey::Column(name) = &request.order.key {
        if dataset.column(name).is_none() {
            return Err(AppError::BadInput(format!(
                "dataset {} has no column `{name}` to sort by",
                dataset.name
            )));
        }
    }
    let search = match request.search.as_deref().map(str::trim) {
        None | Some("") => None,
        // PostgreSQL text cannot hold a NUL, and no identifier holds a control character.
        Some(text) if text.chars().any(char::is_control) => {
            return Err(AppError::BadInput(
                "a search cannot hold control characters".to_string(),
            ));
        }
        Some(text) => Some(Search {
            column: dataset.identifier().map(str::to_string).ok_or_else(|| {
                AppError::BadInput(format!(
                    "dataset {} has no identifier column to search",
                    dataset.name
                ))
            })?,
            text: text.to_string(),
        }),
    };
    let mut query = PageQuery {
        run_id: run.id,
        dataset_id: run.dataset_id,
        cluster: request.cluster,
        search,
        order: request.order.clone(),
        ..PageQuery::default()
    };
    let mut conn = state.conn().await?;
    let total = match known_total(run, request.cluster).filter(|_| query.search.is_none()) {
        Some(total) => total,
        None => query.count(&mut conn).await?,
    };
    let mut table = Table::new(total, request.page, request.page_size);
    query.offset = table.offset as i64;
    query.limit = table.size as i64;
    let rows = query.fetch(&mut conn).await?;
    table.rows = rows.into_iter().map(Assignment::from).collect();
    Ok(table)
}

impl From<db::assignments::AssignmentRow> for Assignment {
    fn from(r: db::assignments::AssignmentRow) -> Self {
        Assignment {
            row_index: r.row_index,
            cluster: r.cluster_label,
            silhouette: r.silhouette,
            payload: r.payload,
        }
    }
}

/// The database pages a download of `limit` rows after skipping `offset` reads: the first
/// skips in SQL and every page asks for no more rows than are still wanted, so a 10-row
/// request reads 10 rows, not a whole page.
#[derive(Clone, Debug)]
pub struct Download {
    next: Option<PageQuery>,
    remaining: usize,
}

impl Download {
    pub fn new(run: &runs::Run, cluster: Option<i32>, offset: usize, limit: usize) -> Download {
        let first = PageQuery {
            run_id: run.id,
            dataset_id: run.dataset_id,
            cluster,
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            limit: limit.min(MAX_PAGE) as i64,
            ..PageQuery::default()
        };
        Download {
            next: (limit > 0).then_some(first),
            remaining: limit,
        }
    }

    /// The query for the next page, or `None` when the download is complete.
    pub fn next_query(&self) -> Option<&PageQuery> {
        self.next.as_ref()
    }

    /// Takes note of a page read with [`Download::next_query`].
    fn advance(&mut self, rows: &[db::assignments::AssignmentRow]) {
        let Some(query) = self.next.as_mut() else {
            return;
        };
        self.remaining = self.remaining.saturating_sub(rows.len());
        match rows.last() {
            Some(last) if rows.len() as i64 == query.limit && self.remaining > 0 => {
                query.after = Some(last.row_index);
                query.offset = 0;
                query.limit = self.remaining.min(MAX_PAGE) as i64;
            }
            _ => self.next = None,
        }
    }
}

/// A failure mid-download, as the stream error the HTTP body reports.
pub(crate) fn io(e: AppError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// A run's assignments in row order, one database page at a time; the downloads below are built
/// on it so memory stays flat however large the run. A database error mid-way ends the stream
/// with an error, so the client sees a broken download rather than a silently short file.
fn pages(
    state: AppState,
    run: runs::Run,
    cluster: Option<i32>,
    offset: usize,
    limit: usize,
) -> impl futures::Stream<Item = Result<Vec<Assignment>, std::io::Error>> + Send + 'static {
    async_stream::try_stream! {
        let mut download = Download::new(&run, cluster, offset, limit);
        while let Some(query) = download.next_query() {
            let rows = async {
                let mut conn = state.conn().await?;
                Ok::<_, AppError>(query.fetch(&mut conn).await?)
            }
            .await
            .map_err(io)?;
            download.advance(&rows);
            yield rows.into_iter().map(Assignment::from).collect::<Vec<_>>();
        }
    }
}

/// A succeeded run's customers as a CSV download, checked before the first byte as the run's
/// other downloads are: a run without results is a conflict and a segment it does not have is
/// named, rather than a `200` file holding only a header.
pub async fn csv_download(
    state: &AppState,
    run_id: i64,
    cluster: Option<i32>,
) -> AppResult<impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static> {
    let run = runs::succeeded(state, run_id, "its customers can be downloaded").await?;
    check_segment(&run, cluster)?;
    let dataset = super::datasets::get(state, run.dataset_id).await?;
    let columns = dataset.columns.iter().map(|c| c.name.clone()).collect();
    Ok(csv_stream(state.clone(), run, cluster, columns))
}

/// A run's assignments as CSV bytes: `row_index,cluster,segment_name` (the analyst's name, or
/// else the generated one) then `columns` from each row's payload.
fn csv_stream(
    state: AppState,
    run: runs::Run,
    cluster: Option<i32>,
    columns: Vec<String>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    async_stream::try_stream! {
        let names = csv_segment_names(&run);
        yield csv_line(&download_header(&["row_index", "cluster", "segment_name"], &columns));
        for await rows in pages(state, run, cluster, 0, usize::MAX) {
            let rows = rows?;
            let mut chunk = Vec::with_capacity(rows.len() * 64);
            for a in &rows {
                let name = names.get(&a.cluster).cloned().unwrap_or_default();
                let mut fields = vec![a.row_index.to_string(), a.cluster.to_string(), name];
                fields.extend(columns.iter().map(|c| cell_text(a.payload.get(c))));
                chunk.extend_from_slice(&csv_line(&fields));
            }
            yield bytes::Bytes::from(chunk);
        }
    }
}

/// A run's assignments as one JSON array in the predecessor's shape (`run_id, row_index,
/// cluster_label, payload`), skipping `offset` rows and stopping after `limit`.
pub fn json_stream(
    state: AppState,
    run_id: i64,
    cluster: Option<i32>,
    offset: usize,
    limit: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    async_stream::try_stream! {
        let run = runs::get(&state, run_id).await.map_err(io)?;
        yield bytes::Bytes::from_static(b"[");
        let mut sent = 0usize;
        for await rows in pages(state, run, cluster, offset, limit) {
            let mut chunk = Vec::new();
            for a in rows? {
                if sent > 0 {
                    chunk.push(b',');
                }
                let item = serde_json::json!({
                    "run_id": run_id,
                    "row_index": a.row_index,
                    "cluster_label": a.cluster,
                    "payload": a.payload,
                });
                serde_json::to_writer(&mut chunk, &item).map_err(std::io::Error::other)?;
                sent += 1;
            }
            yield bytes::Bytes::from(chunk);
        }
        yield bytes::Bytes::from_static(b"]");
    }
}

/// Each segment's name as a CSV cell (the analyst's name, or else the generated one), by
/// segment number, for the downloads that name every row's segment.
pub(crate) fn csv_segment_names(run: &runs::Run) -> std::collections::HashMap<i32, String> {
    run.profiles
        .iter()
        .map(|p| (p.segment as i32, spreadsheet_safe(&p.name).into_owned()))
        .collect()
}

/// A payload value as a CSV cell; text that a spreadsheet would run as a formula is written
/// as text ([`spreadsheet_safe`]), numbers as they are.
pub(crate) fn cell_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => spreadsheet_safe(s).into_owned(),
        Some(other) => other.to_string(),
    }
}

/// One CSV record, quoted where needed (RFC 4180).
pub(crate) fn csv_line(fields: &[String]) -> bytes::Bytes {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push('\n');
    bytes::Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_where_needed() {
        let line = csv_line(&[
            "1".into(),
            "Addis Ababa".into(),
            "a,b".into(),
            "say \"hi\"".into(),
        ]);
        assert_eq!(&line[..], b"1,Addis Ababa,\"a,b\",\"say \"\"hi\"\"\"\n");
        assert_eq!(cell_text(Some(&serde_json::json!(3.5))), "3.5");
        assert_eq!(cell_text(Some(&serde_json::Value::Null)), "");
        assert_eq!(cell_text(Some(&serde_json::json!(-3.5))), "-3.5");
        assert_eq!(cell_text(Some(&serde_json::json!("=1+1"))), "'=1+1");
    }
}
