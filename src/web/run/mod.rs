//! A run's pages: live progress while it runs, then one tab per view of the results, each at
//! its own URL. Each tab's module holds the view its template reads and the function that builds
//! it from the service's run and dataset (the templates never see database rows or engine
//! internals); [`head`] is what every tab shows above itself, and [`report`] puts the tabs'
//! views on one page for printing.

mod compare;
mod customers;
mod dendrogram;
mod head;
mod map;
mod new_customers;
mod overview;
mod quality;
mod report;
mod segments;
pub mod status;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};

use axum::http::HeaderMap;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::http::Form;
use crate::http::Query;
use crate::http::upload::receive;
use crate::service::datasets as datasets_svc;
use crate::service::runs as svc;
use crate::service::scorings;
use crate::web::datasets::FILE_FORM_ADVICE;
use crate::web::render::{Hx, PageError, PageResult};
use crate::web::{parse_id, routes};
use head::RunHead;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Segments,
    Dendrogram,
    Map,
    Quality,
    Customers,
    NewCustomers,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Overview,
        Tab::Segments,
        Tab::Dendrogram,
        Tab::Map,
        Tab::Quality,
        Tab::Customers,
        Tab::NewCustomers,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Segments => "segments",
            Tab::Dendrogram => "dendrogram",
            Tab::Map => "map",
            Tab::Quality => "quality",
            Tab::Customers => "customers",
            Tab::NewCustomers => "new-customers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Segments => "Segments",
            Tab::Dendrogram => "Dendrogram",
            Tab::Map => "Map",
            Tab::Quality => "Quality",
            Tab::Customers => "Customers",
            Tab::NewCustomers => "New customers",
        }
    }

    pub fn parse(s: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.slug() == s)
    }
}

#[derive(Deserialize, Default)]
pub struct TabQuery {
    /// Customers tab: one segment only. Kept as text, like the rest, so an empty choice means
    /// "all" and a wrong one gets its own message.
    segment: Option<String>,
    /// Customers tab: a search in the identifier column.
    q: Option<String>,
    /// Customers tab: `row`, `segment`, `fit` or `column:<name>`, and `asc` or `desc`.
    sort: Option<String>,
    dir: Option<String>,
    /// Customers and new-customers tabs: the page number, from 1.
    page: Option<String>,
    /// New-customers tab: the upload shown (else the newest).
    scoring: Option<String>,
}

/// `GET /runs/{id}`: the overview once it succeeded, else progress or the failure.
pub async fn show(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    render_tab(hx, &state, id, Tab::Overview, TabQuery::default()).await
}

/// `GET /runs/{id}/{tab}`.
pub async fn tab(
    hx: Hx,
    State(state): State<AppState>,
    Path((id, tab)): Path<(String, String)>,
    Query(q): Query<TabQuery>,
) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let tab = Tab::parse(&tab)
        .ok_or_else(|| AppError::NotFound(format!("a run has no `{tab}` tab")))
        .map_err(hx.fail())?;
    render_tab(hx, &state, id, tab, q).await
}

/// A tab of a run whose results can be read; any tab of another run shows its progress or why
/// it has no results.
async fn render_tab(hx: Hx, state: &AppState, id: i64, tab: Tab, q: TabQuery) -> PageResult {
    let (run, dataset, head) = load(hx, state, id, tab).await?;
    if !head.succeeded {
        return Ok(hx.ok(&status::page(head, &run)));
    }
    Ok(match tab {
        Tab::Overview => hx.ok(&overview::page(head, &run, &dataset)),
        Tab::Segments => hx.ok(&segments::page(head, &run, &dataset)),
        Tab::Dendrogram => hx.ok(&dendrogram::page(head, &run, &dataset)),
        Tab::Map => hx.ok(&map::page(head, &run)),
        Tab::Quality => hx.ok(&quality::page(head, &run, &dataset)),
        Tab::Customers => {
            let page = customers::page(state, head, &run, &dataset, &q)
                .await
                .map_err(hx.fail())?;
            hx.ok(&page)
        }
        Tab::NewCustomers => {
            let page = new_customers::page(state, head, &run, &q, None)
                .await
                .map_err(hx.fail())?;
            hx.ok(&page)
        }
    })
}

/// `POST /runs/{id}/scorings`: places an uploaded file of new customers in the run's segments
/// and shows them; a refused file comes back (422) above the upload form with its reason.
pub async fn score(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let limit = state.config.limits.max_upload_bytes;
    let placed = async {
        let upload = receive(&headers, multipart, limit, FILE_FORM_ADVICE).await?;
        scorings::score(&state, id, upload).await
    };
    match placed.await {
        Ok(scoring) => Ok(hx.redirect(&routes::run_tab_with(
            id,
            Tab::NewCustomers.slug(),
            &[("scoring", &scoring.id.to_string())],
        ))),
        Err(e @ (AppError::BadInput(_) | AppError::TooLarge(_))) => {
            let (run, _, head) = load(hx, &state, id, Tab::NewCustomers).await?;
            let status = e.status();
            let page = new_customers::page(
                &state,
                head,
                &run,
                &TabQuery::default(),
                Some(e.to_string()),
            )
            .await
            .map_err(hx.fail())?;
            Ok(hx.render(&page, status))
        }
        Err(e) => Err(hx.error(e)),
    }
}

/// `POST /runs/{id}/scorings/{scoring}/delete`: back to the tab's newest upload.
pub async fn delete_scoring(
    hx: Hx,
    State(state): State<AppState>,
    Path((id, scoring)): Path<(String, String)>,
) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let scoring = scoring_of_run(&state, id, &scoring)
        .await
        .map_err(hx.fail())?;
    scorings::delete(&state, scoring.id)
        .await
        .map_err(hx.fail())?;
    Ok(hx.redirect(&routes::run_tab(id, Tab::NewCustomers.slug())))
}

/// Upload `raw` of new customers, which must belong to run `run_id`.
pub async fn scoring_of_run(
    state: &AppState,
    run_id: i64,
    raw: &str,
) -> AppResult<scorings::Scoring> {
    let id = parse_id("upload of new customers", raw)?;
    match scorings::get(state, id).await {
        Ok(s) if s.run_id == run_id => Ok(s),
        Ok(_) | Err(AppError::NotFound(_)) => Err(AppError::not_found(format!(
            "upload {id} of new customers for run {run_id}"
        ))),
        Err(e) => Err(e),
    }
}

/// The segment form: both fields are always sent, so an emptied field removes what it held.
#[derive(Deserialize)]
pub struct SegmentLabelForm {
    name: String,
    note: String,
}

/// `POST /runs/{id}/segments/{segment}`: names a segment and keeps a note on it; back to the
/// segments tab, at its card.
pub async fn label_segment(
    hx: Hx,
    State(state): State<AppState>,
    Path((id, segment)): Path<(String, String)>,
    Form(form): Form<SegmentLabelForm>,
) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let segment = parse_id("segment", &segment).map_err(hx.fail())?;
    let label = svc::SegmentLabel {
        name: Some(form.name.clone()),
        note: Some(form.note.clone()),
    };
    match svc::label_segment(&state, id, segment, label).await {
        Ok(_) => {
            let tab = routes::run_tab(id, Tab::Segments.slug());
            Ok(hx.redirect(&format!("{tab}#segment-{segment}")))
        }
        Err(AppError::BadInput(why)) => label_refused(hx, &state, id, segment, form, why).await,
        Err(e) => Err(hx.error(e)),
    }
}

/// The segments tab again (422), the refused form open with its reason and what was typed.
async fn label_refused(
    hx: Hx,
    state: &AppState,
    id: i64,
    segment: i64,
    form: SegmentLabelForm,
    message: String,
) -> PageResult {
    let (run, dataset, head) = load(hx, state, id, Tab::Segments).await?;
    let why = segments::Refused {
        message,
        name: form.name,
        note: form.note,
    };
    let segment = usize::try_from(segment).unwrap_or(usize::MAX);
    match segments::refused(head, &run, &dataset, segment, why) {
        Ok(page) => Ok(hx.render(&page, axum::http::StatusCode::UNPROCESSABLE_ENTITY)),
        Err(why) => Err(hx.error(AppError::BadInput(why.message))),
    }
}

#[derive(Deserialize)]
pub struct CompareQuery {
    with: String,
}

/// `GET /runs/{id}/compare?with={other}`.
pub async fn compare(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CompareQuery>,
) -> PageResult {
    let a = parse_id("run", &id).map_err(hx.fail())?;
    let b = parse_id("run", &q.with).map_err(hx.fail())?;
    let (a, b, comparison) = svc::compare(&state, a, b).await.map_err(hx.fail())?;
    let dataset = datasets_svc::get(&state, a.dataset_id)
        .await
        .map_err(hx.fail())?;
    let others = svc::list(
        &state,
        &svc::RunQuery {
            dataset_id: Some(a.dataset_id),
            status: Some(svc::RunStatus::Succeeded),
        },
        &crate::service::page::PageRequest {
            first: Some(compare::PICKER_RUNS),
            after: None,
        },
    )
    .await
    .map_err(hx.fail())?;
    let others: Vec<&svc::Run> = others.items.iter().map(|(_, r)| r).collect();
    Ok(hx.ok(&compare::page(dataset.name, &a, &b, &others, &comparison)))
}

/// `GET /runs/{id}/report`: the run on one printable page; for a run without results, a page
/// saying when there will be one.
pub async fn report(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let (run, dataset, head) = load(hx, &state, id, Tab::Overview).await?;
    Ok(hx.standalone(&report::page(head, &run, &dataset), &routes::run_report(id)))
}

/// A run, its dataset and the head of its `tab`.
async fn load(
    hx: Hx,
    state: &AppState,
    id: i64,
    tab: Tab,
) -> Result<(svc::Run, datasets_svc::Dataset, RunHead), PageError> {
    let run = svc::get(state, id).await.map_err(hx.fail())?;
    let dataset = datasets_svc::get(state, run.dataset_id)
        .await
        .map_err(hx.fail())?;
    let head = RunHead::new(&run, &dataset, tab, hx.can_write);
    Ok((run, dataset, head))
}

/// `POST /runs/{id}/cancel`.
pub async fn cancel(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let run = svc::cancel(&state, id).await.map_err(hx.fail())?;
    Ok(hx.redirect(&routes::run(run.id)))
}

/// `POST /runs/{id}/delete`: back to the run's dataset afterwards.
pub async fn delete(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id = parse_id("run", &id).map_err(hx.fail())?;
    let run = svc::get(&state, id).await.map_err(hx.fail())?;
    svc::delete(&state, run.id).await.map_err(hx.fail())?;
    Ok(hx.redirect(&routes::dataset(run.dataset_id)))
}
