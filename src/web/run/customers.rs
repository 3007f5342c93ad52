//! The customers tab: every customer with its segment and fit, fifty to a numbered page, one
//! segment or all, searched by the dataset's identifier column and sorted by any column, with
//! the CSV download of the same segment.

use askama::Template;

use crate::app::AppState;
use crate::engine::ingest::ColumnKind;
use crate::engine::render::segment_color_hex;
use crate::error::{AppError, AppResult};
use crate::service::Numbered;
use crate::service::assignments::{self, Order, SortKey, TableRequest};
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::TabQuery;
use super::head::RunHead;

/// Customers per page of the customers tab.
const CUSTOMERS_PAGE: usize = 50;

/// Page links shown on each side of the current page (the first and last are always shown).
const PAGE_WINDOW: usize = 2;

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

/// A column heading, which sorts the table by its column.
pub struct Heading {
    pub label: String,
    pub numeric: bool,
    /// The table sorted by this column: ascending, or descending when it is sorted ascending.
    pub url: String,
    /// `ascending` or `descending` when the table is sorted by this column (for `aria-sort`).
    pub sorted: Option<&'static str>,
    /// ▲ or ▼ beside the heading the table is sorted by.
    pub mark: &'static str,
}

/// One entry of the pager: a page number, or a gap (`…`) when `url` and `number` are empty.
pub struct PageLink {
    pub number: String,
    pub url: Option<String>,
    pub current: bool,
}

pub struct CustomersView {
    pub action: String,
    pub segment: Option<i32>,
    pub segments: Vec<SegmentOption>,
    /// The identifier column the search box looks in, if the dataset has one.
    pub search_column: Option<String>,
    pub search: String,
    /// The sort kept by the filter form.
    pub sort: String,
    pub dir: String,
    pub csv_url: String,
    /// "1–50 of 205".
    pub range: String,
    /// Beside the pager: the range, or that no customers are shown.
    pub pager_summary: String,
    pub headings: Vec<Heading>,
    pub rows: Vec<CustomerRow>,
    pub previous_url: Option<String>,
    pub next_url: Option<String>,
    pub pages: Vec<PageLink>,
    /// The table without its search, when it has one.
    pub clear_url: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/run_customers.html", blocks = ["title", "content"])]
pub struct CustomersPage {
    run: RunHead,
    c: CustomersView,
}
page!(CustomersPage);

/// What the tab's address asks for, read and checked.
#[derive(Clone, Debug, Default)]
struct Selection {
    segment: Option<i32>,
    search: String,
    order: Order,
    page: usize,
}

impl Selection {
    fn read(q: &TabQuery) -> AppResult<Selection> {
        Ok(Selection {
            segment: segment_of(q)?,
            search: sent(&q.q),
            order: Order {
                key: sort_key(&sent(&q.sort))?,
                descending: match sent(&q.dir).as_str() {
                    "" | "asc" => false,
                    "desc" => true,
                    other => {
                        return Err(AppError::BadInput(format!(
                            "`{other}` is not a sort direction; use asc or desc"
                        )));
                    }
                },
            },
            page: page_of(q)?,
        })
    }

    /// The tab's address for this selection; the default sort and the first page are left out.
    fn url(&self, run_id: i64) -> String {
        let segment = self.segment.map(|s| s.to_string()).unwrap_or_default();
        let page = if self.page > 1 {
            self.page.to_string()
        } else {
            String::new()
        };
        let sort = sort_name(&self.order.key);
        let dir = if self.order.descending { "desc" } else { "" };
        routes::run_customers(
            run_id,
            &[
                ("segment", &segment),
                ("q", &self.search),
                ("sort", &sort),
                ("dir", dir),
                ("page", &page),
            ],
        )
    }

    /// The same selection on another page.
    fn on_page(&self, page: usize) -> Selection {
        Selection {
            page,
            ..self.clone()
        }
    }
}

/// A value of the tab's address, trimmed; empty when not sent.
fn sent(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or("").to_string()
}

/// The segment a table of customers is limited to (`?segment=`), if any.
pub fn segment_of(q: &TabQuery) -> AppResult<Option<i32>> {
    let segment = sent(&q.segment);
    (!segment.is_empty())
        .then(|| segment.parse())
        .transpose()
        .map_err(|_| AppError::BadInput(format!("`{segment}` is not a segment number")))
}

/// The page of a table asked for (`?page=`, from 1; the first when not sent).
pub fn page_of(q: &TabQuery) -> AppResult<usize> {
    match sent(&q.page).as_str() {
        "" => Ok(1),
        p => p
            .parse()
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| AppError::BadInput(format!("`{p}` is not a page number"))),
    }
}

/// Reads a `sort` value: `row`, `segment`, `fit`, or `column:<name>`.
fn sort_key(sent: &str) -> AppResult<SortKey> {
    Ok(match sent {
        "" | "row" => SortKey::Row,
        "segment" => SortKey::Segment,
        "fit" => SortKey::Fit,
        other => match other.strip_prefix("column:") {
            Some(name) => SortKey::Column(name.to_string()),
            None => {
                return Err(AppError::BadInput(format!(
                    "`{other}` is not a sort; use row, segment, fit or column:<name>"
                )));
            }
        },
    })
}

/// The `sort` value of a key, empty for the default (row order).
fn sort_name(key: &SortKey) -> String {
    match key {
        SortKey::Row => String::new(),
        SortKey::Segment => "segment".into(),
        SortKey::Fit => "fit".into(),
        SortKey::Column(name) => format!("column:{name}"),
    }
}

/// The page of customers the query asks for.
pub async fn page(
    state: &AppState,
    head: RunHead,
    run: &Run,
    dataset: &Dataset,
    q: &TabQuery,
) -> AppResult<CustomersPage> {
    let selection = Selection::read(q)?;
    let request = TableRequest {
        cluster: selection.segment,
        search: Some(selection.search.clone()),
        order: selection.order.clone(),
        page: selection.page,
        page_size: CUSTOMERS_PAGE,
    };
    let table = assignments::table(state, run, dataset, &request).await?;
    Ok(CustomersPage {
        run: head,
        c: customers(run, dataset, &selection, &table),
    })
}

fn customers(
    run: &Run,
    dataset: &Dataset,
    selection: &Selection,
    table: &assignments::Table,
) -> CustomersView {
    let names: std::collections::HashMap<usize, &str> = run
        .profiles
        .iter()
        .map(|p| (p.segment, p.name.as_str()))
        .collect();
    // Sorting starts again from the first page.
    let sorted_by = |key: SortKey| {
        let descending = selection.order.key == key && !selection.order.descending;
        let sorted = (selection.order.key == key).then_some(if selection.order.descending {
            "descending"
        } else {
            "ascending"
        });
        let url = Selection {
            order: Order { key, descending },
            page: 1,
            ..selection.clone()
        }
        .url(run.id);
        (url, sorted)
    };
    let mut headings = Vec::new();
    for (label, key, numeric) in [
        ("Row", SortKey::Row, true),
        ("Segment", SortKey::Segment, false),
        ("Fit", SortKey::Fit, true),
    ] {
        let (url, sorted) = sorted_by(key);
        headings.push(Heading {
            label: label.into(),
            numeric,
            url,
            sorted,
            mark: mark(sorted),
        });
    }
    for c in &dataset.columns {
        let (url, sorted) = sorted_by(SortKey::Column(c.name.clone()));
        headings.push(Heading {
            label: c.name.clone(),
            numeric: c.kind == ColumnKind::Numeric,
            url,
            sorted,
            mark: mark(sorted),
        });
    }
    let range = range(table);
    let at = |page: usize| selection.on_page(page).url(run.id);
    CustomersView {
        action: routes::run_tab(run.id, super::Tab::Customers.slug()),
        segment: selection.segment,
        segments: run
            .profiles
            .iter()
            .map(|p| SegmentOption {
                index: p.segment as i32,
                selected: selection.segment == Some(p.segment as i32),
                name: p.name.clone(),
                size: format::thousands(p.size as i64),
            })
            .collect(),
        search_column: dataset.identifier().map(str::to_string),
        search: selection.search.clone(),
        sort: sort_name(&selection.order.key),
        dir: if selection.order.descending {
            "desc"
        } else {
            ""
        }
        .into(),
        csv_url: routes::customers_csv(run.id, selection.segment),
        pager_summary: match (table.rows.is_empty(), selection.search.is_empty()) {
            (false, _) => range.clone(),
            (true, true) => "No customers.".into(),
            (true, false) => "No customers match.".into(),
        },
        range,
        headings,
        rows: table
            .rows
            .iter()
            .map(|a| {
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
        previous_url: (table.page > 1).then(|| at(table.page - 1)),
        next_url: (table.page < table.pages).then(|| at(table.page + 1)),
        pages: page_links(table.page, table.pages, at),
        clear_url: (!selection.search.is_empty()).then(|| {
            Selection {
                search: String::new(),
                page: 1,
                ..selection.clone()
            }
            .url(run.id)
        }),
    }
}

/// Where a numbered page's rows sit among all of them: "1–50 of 205", or "0 of 0".
pub fn range<T>(table: &Numbered<T>) -> String {
    match table.rows.len() {
        0 => format!("0 of {}", format::thousands(table.total)),
        shown => format!(
            "{}–{} of {}",
            format::thousands(table.offset as i64 + 1),
            format::thousands((table.offset + shown) as i64),
            format::thousands(table.total)
        ),
    }
}

fn mark(sorted: Option<&str>) -> &'static str {
    match sorted {
        Some("ascending") => "▲",
        Some(_) => "▼",
        None => "",
    }
}

/// The pager's links for page `current` of `pages`, `at` giving each page's address.
pub fn page_links(current: usize, pages: usize, at: impl Fn(usize) -> String) -> Vec<PageLink> {
    pager(current, pages)
        .into_iter()
        .map(|p| match p {
            Some(n) => PageLink {
                number: format::thousands(n as i64),
                url: Some(at(n)),
                current: n == current,
            },
            None => PageLink {
                number: String::new(),
                url: None,
                current: false,
            },
        })
        .collect()
}

/// The page numbers a pager shows: the first, the last, and `PAGE_WINDOW` on each side of the
/// current one, with `None` where two or more pages are left out.
fn pager(current: usize, pages: usize) -> Vec<Option<usize>> {
    if pages <= 1 {
        return Vec::new();
    }
    let low = current.saturating_sub(PAGE_WINDOW).max(1);
    let high = (current + PAGE_WINDOW).min(pages);
    let mut shown = vec![1];
    shown.extend(low.max(2)..=high);
    if *shown.last().unwrap_or(&1) != pages {
        shown.push(pages);
    }
    let mut links = Vec::new();
    for (i, &n) in shown.iter().enumerate() {
        match i.checked_sub(1).map(|p| n - shown[p]) {
            // One page left out is shown rather than hidden behind an ellipsis.
            Some(2) => links.push(Some(n - 1)),
            Some(gap) if gap > 2 => links.push(None),
            _ => {}
        }
        links.push(Some(n));
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_keeps_first_last_and_neighbours() {
        let shown = |current, pages| -> Vec<String> {
            pager(current, pages)
                .into_iter()
                .map(|p| p.map_or("…".into(), |n| n.to_string()))
                .collect()
        };
        assert!(shown(1, 1).is_empty());
        assert_eq!(shown(1, 5), ["1", "2", "3", "4", "5"]);
        assert_eq!(shown(1, 9), ["1", "2", "3", "…", "9"]);
        assert_eq!(shown(5, 9), ["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert_eq!(shown(6, 20), ["1", "…", "4", "5", "6", "7", "8", "…", "20"]);
        assert_eq!(shown(20, 20), ["1", "…", "18", "19", "20"]);
    }

    #[test]
    fn selection_reads_and_writes_the_address() {
        let q = TabQuery {
            segment: Some("2".into()),
            q: Some(" C1 ".into()),
            sort: Some("column:annual spend".into()),
            dir: Some("desc".into()),
            page: Some("3".into()),
            ..TabQuery::default()
        };
        let s = Selection::read(&q).unwrap();
        assert_eq!(s.segment, Some(2));
        assert_eq!(s.search, "C1");
        assert_eq!(s.order.key, SortKey::Column("annual spend".into()));
        assert!(s.order.descending);
        assert_eq!(
            s.url(7),
            "/runs/7/customers?segment=2&q=C1&sort=column%3Aannual+spend&dir=desc&page=3"
        );
        assert_eq!(Selection::default().url(7), "/runs/7/customers");
        for (field, bad) in [
            ("sort", "price"),
            ("dir", "up"),
            ("page", "0"),
            ("page", "x"),
        ] {
            let mut q = TabQuery::default();
            match field {
                "sort" => q.sort = Some(bad.into()),
                "dir" => q.dir = Some(bad.into()),
                _ => q.page = Some(bad.into()),
            }
            assert!(Selection::read(&q).is_err(), "{field}={bad}");
        }
    }
}
