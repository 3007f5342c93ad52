//! The new-customers tab: upload customers who joined since the run and see the segment each
//! one falls in, placed by the run's model without clustering again; every earlier upload
//! stays listed, paged and downloadable.

use askama::Template;

use crate::app::AppState;
use crate::engine::render::segment_color_hex;
use crate::error::{AppError, AppResult};
use crate::service::runs::Run;
use crate::service::scorings::{self, Scoring};
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::TabQuery;
use super::customers::{PageLink, page_links, range};
use super::head::RunHead;

/// New customers per page of the table.
const ROWS_PAGE: usize = 50;

/// An earlier upload in the list.
pub struct ScoringItem {
    pub name: String,
    pub filename: String,
    pub rows: String,
    pub created: String,
    pub url: String,
    pub current: bool,
}

/// How many new customers went to one segment.
pub struct SegmentCount {
    pub index: usize,
    pub name: String,
    pub color: String,
    pub count: String,
    pub share: String,
    /// The table of this segment only.
    pub url: String,
    pub selected: bool,
}

pub struct ScoredRowView {
    pub row: i32,
    pub segment: i32,
    pub segment_name: String,
    pub color: String,
    pub remarks: Vec<String>,
    pub cells: Vec<String>,
}

/// One upload shown in full.
pub struct Shown {
    pub name: String,
    pub summary: String,
    pub notes: Vec<String>,
    pub segments: Vec<SegmentCount>,
    pub segment: Option<i32>,
    /// The table of every segment, when one is selected.
    pub all_url: String,
    pub csv_url: String,
    pub delete_action: String,
    pub headings: Vec<String>,
    pub rows: Vec<ScoredRowView>,
    pub range: String,
    pub previous_url: Option<String>,
    pub next_url: Option<String>,
    pub pages: Vec<PageLink>,
}

pub struct NewCustomersView {
    pub action: String,
    /// The columns a file must have: the run's features.
    pub columns: Vec<String>,
    /// Why the last upload was refused.
    pub error: Option<String>,
    pub scorings: Vec<ScoringItem>,
    pub shown: Option<Shown>,
}

#[derive(Template)]
#[template(path = "pages/run_new_customers.html", blocks = ["title", "content"])]
pub struct NewCustomersPage {
    run: RunHead,
    n: NewCustomersView,
}
page!(NewCustomersPage);

/// The tab, showing the upload `q.scoring` (else the newest) and, if an upload was just
/// refused, why.
pub async fn page(
    state: &AppState,
    head: RunHead,
    run: &Run,
    q: &TabQuery,
    error: Option<String>,
) -> AppResult<NewCustomersPage> {
    let list = scorings::of_run(state, run.id).await?;
    let wanted = match q.scoring.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            AppError::BadInput(format!("`{raw}` is not an upload of new customers"))
        })?),
    };
    let current = match wanted {
        Some(id) => Some(list.iter().find(|s| s.id == id).ok_or_else(|| {
            AppError::not_found(format!("upload {id} of new customers for run {}", run.id))
        })?),
        None => list.first(),
    };
    let shown = match current {
        Some(scoring) => Some(shown(state, run, scoring, q).await?),
        None => None,
    };
    let columns = run
        .feature_config
        .as_ref()
        .map(|f| {
            f.numeric_features
                .iter()
                .chain(&f.categorical_features)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(NewCustomersPage {
        run: head,
        n: NewCustomersView {
            action: routes::run_scorings(run.id),
            columns,
            error,
            scorings: list
                .iter()
                .map(|s| ScoringItem {
                    name: s.name.clone(),
                    filename: s.filename.clone(),
                    rows: format::thousands(s.row_count),
                    created: format::date(&s.created_at),
                    url: scoring_url(run.id, s.id, None, 1),
                    current: current.is_some_and(|c| c.id == s.id),
                })
                .collect(),
            shown,
        },
    })
}

/// The tab showing upload `scoring`, one segment or all, at page `page`.
fn scoring_url(run: i64, scoring: i64, segment: Option<i32>, page: usize) -> String {
    let scoring = scoring.to_string();
    let segment = segment.map(|s| s.to_string()).unwrap_or_default();
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    routes::run_tab_with(
        run,
        super::Tab::NewCustomers.slug(),
        &[
            ("scoring", &scoring),
            ("segment", &segment),
            ("page", &page),
        ],
    )
}

async fn shown(state: &AppState, run: &Run, scoring: &Scoring, q: &TabQuery) -> AppResult<Shown> {
    let segment = super::customers::segment_of(q)?;
    let page = super::customers::page_of(q)?;
    let table = scorings::numbered(state, scoring, segment, page, ROWS_PAGE).await?;
    let names: Vec<&str> = (0..scoring.segment_sizes.len())
        .map(|i| {
            run.profiles
                .iter()
                .find(|p| p.segment == i)
                .map_or("", |p| p.name.as_str())
        })
        .collect();
    let total = scoring.row_count.max(1) as f64;
    let at = |page: usize| scoring_url(run.id, scoring.id, segment, page);
    Ok(Shown {
        name: scoring.name.clone(),
        summary: format!(
            "{} new customers from {}, {} · placed {}",
            format::thousands(scoring.row_count),
            scoring.filename,
            format::bytes(scoring.byte_size),
            format::date(&scoring.created_at)
        ),
        notes: scoring.notes.clone(),
        segments: scoring
            .segment_sizes
            .iter()
            .enumerate()
            .map(|(i, &count)| SegmentCount {
                index: i,
                name: names[i].to_string(),
                color: segment_color_hex(i),
                count: format::thousands(count),
                share: format::percent(count as f64 / total),
                url: scoring_url(run.id, scoring.id, Some(i as i32), 1),
                selected: segment == Some(i as i32),
            })
            .collect(),
        segment,
        all_url: scoring_url(run.id, scoring.id, None, 1),
        csv_url: routes::run_scoring_csv(run.id, scoring.id, segment),
        delete_action: routes::run_scoring_delete(run.id, scoring.id),
        headings: scoring.headers.clone(),
        rows: table
            .rows
            .iter()
            .map(|r| {
                let index = r.cluster.max(0) as usize;
                ScoredRowView {
                    row: r.row_index,
                    segment: r.cluster,
                    segment_name: names.get(index).copied().unwrap_or("").to_string(),
                    color: segment_color_hex(index),
                    remarks: r.remarks.clone(),
                    cells: scoring
                        .headers
                        .iter()
                        .map(|c| format::cell(r.payload.get(c)))
                        .collect(),
                }
            })
            .collect(),
        range: range(&table),
        previous_url: (table.page > 1).then(|| at(table.page - 1)),
        next_url: (table.page < table.pages).then(|| at(table.page + 1)),
        pages: page_links(table.page, table.pages, at),
    })
}
