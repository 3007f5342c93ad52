//! The customers tab: every customer with its segment and fit, a page at a time, optionally
//! one segment only, with the CSV download of the same selection.

use askama::Template;

use crate::app::AppState;
use crate::engine::render::segment_color_hex;
use crate::error::{AppError, AppResult};
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::service::{Page, PageRequest, assignments};
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::head::RunHead;
use super::{Tab, TabQuery};

/// Customers per page of the customers tab.
const CUSTOMERS_PAGE: usize = 50;

pub struct SegmentOption {
    pub index: i32,
    pub selected: bool,
    pub name: String,
    pub size: String,
}

pub struct CustomerRow {
    pub row: i32,
    pub segment: i32,
    pub segment_name: String,
    pub color: String,
    pub fit: String,
    pub cells: Vec<String>,
}

pub struct CustomersView {
    pub action: String,
    pub segment: Option<i32>,
    pub segments: Vec<SegmentOption>,
    pub csv_url: String,
    pub total: String,
    pub first_row: String,
    pub last_row: String,
    pub page_size: usize,
    pub headers: Vec<String>,
    pub rows: Vec<CustomerRow>,
    pub first_url: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/run_customers.html", blocks = ["title", "content"])]
pub struct CustomersPage {
    run: RunHead,
    c: CustomersView,
}
page!(CustomersPage);

/// The page of customers the query asks for.
pub async fn page(
    state: &AppState,
    head: RunHead,
    run: &Run,
    dataset: &Dataset,
    q: &TabQuery,
) -> AppResult<CustomersPage> {
    let segment = segment_chosen(q.segment.as_deref())?;
    let request = PageRequest {
        first: Some(CUSTOMERS_PAGE),
        after: q.after.clone(),
    };
    let page = assignments::list(state, run.id, segment, &request).await?;
    Ok(CustomersPage {
        run: head,
        c: customers(run, dataset, segment, q.after.is_some(), &page),
    })
}

/// The segment filter: empty means every segment.
fn segment_chosen(sent: Option<&str>) -> AppResult<Option<i32>> {
    let Some(s) = sent.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    s.parse()
        .map(Some)
        .map_err(|_| AppError::BadInput(format!("`{s}` is not a segment number")))
}

fn customers(
    run: &Run,
    dataset: &Dataset,
    segment: Option<i32>,
    paged: bool,
    page: &Page<assignments::Assignment>,
) -> CustomersView {
    let names: std::collections::HashMap<usize, &str> = run
        .profiles
        .iter()
        .map(|p| (p.segment, p.name.as_str()))
        .collect();
    let first_row = page.items.first().map_or(0, |(_, a)| a.row_index as i64);
    let last_row = page.items.last().map_or(0, |(_, a)| a.row_index as i64);
    CustomersView {
        action: routes::run_tab(run.id, Tab::Customers.slug()),
        segment,
        segments: run
            .profiles
            .iter()
            .map(|p| SegmentOption {
                index: p.segment as i32,
                selected: segment == Some(p.segment as i32),
                name: p.name.clone(),
                size: format::thousands(p.size as i64),
            })
            .collect(),
        csv_url: routes::customers_csv(run.id, segment),
        total: format::thousands(page.total_count),
        first_row: format::thousands(first_row),
        last_row: format::thousands(last_row),
        page_size: CUSTOMERS_PAGE,
        headers: dataset.columns.iter().map(|c| c.name.clone()).collect(),
        rows: page
            .items
            .iter()
            .map(|(_, a)| {
                let index = a.cluster.max(0) as usize;
                CustomerRow {
                    row: a.row_index,
                    segment: a.cluster,
                    segment_name: names
                        .get(&index)
                        .map_or_else(String::new, |n| n.to_string()),
                    color: segment_color_hex(index),
                    fit: a.silhouette.map_or("—".into(), format::score),
                    cells: dataset
                        .columns
                        .iter()
                        .map(|c| format::cell(a.payload.get(&c.name)))
                        .collect(),
                }
            })
            .collect(),
        first_url: paged.then(|| routes::run_customers(run.id, segment, None)),
        next_url: page
            .has_next_page
            .then(|| page.end_cursor())
            .flatten()
            .map(|c| routes::run_customers(run.id, segment, Some(&c))),
    }
}
