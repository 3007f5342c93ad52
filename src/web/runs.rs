//! A run's pages: live progress while it runs, then one tab per view of the results, each at
//! its own URL. Also the dataset page's list of runs (which refreshes itself while one runs) and
//! the run form's submission.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::jobs::progress::event_of;
use crate::service::datasets::{self as datasets_svc, Dataset};
use crate::service::runs::{self as svc, RunStatus};
use crate::service::{PageRequest, assignments};
use crate::web::format;
use crate::web::render::{Hx, PageResult, fragment};
use crate::web::run_form::{RunForm, Submission};
use crate::web::run_views::*;
use crate::web::{datasets, parse_id, routes};

pub async fn runs_partial(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id("dataset", &id).map_err(hx.fail())?;
    let runs = datasets::dataset_runs(&state, id)
        .await
        .map_err(hx.fail())?;
    Ok(fragment(&RunsPartial { runs }, StatusCode::OK))
}

/// `POST /datasets/{id}/runs`: starts a run from the form. A refused form comes back with its
/// values and the reason; a started run opens its page.
pub async fn train(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = parse_id("dataset", &id).map_err(hx.fail())?;
    let dataset = datasets_svc::get(&state, id).await.map_err(hx.fail())?;
    let sent = Submission { fields };
    let started = async {
        let request = sent.to_request(&dataset)?;
        svc::train(&state, request, svc::Vocabulary::Form).await
    };
    match started.await {
        Ok(run) => Ok(hx.redirect(&routes::run(run.id))),
        Err(e @ (AppError::BadInput(_) | AppError::BadSetting(..) | AppError::Conflict(_))) => {
            form_refused(hx, &state, &dataset, &sent, e).await
        }
        Err(e) => Err(hx.error(e)),
    }
}

/// A refused run form: the form again with the user's values and the reason beside the field
/// it is about; for htmx the form alone, else the whole dataset page.
async fn form_refused(
    hx: Hx,
    state: &AppState,
    dataset: &Dataset,
    sent: &Submission,
    error: AppError,
) -> PageResult {
    let status = error.status();
    let form = RunForm::refused(dataset, sent, &error);
    if hx.partial {
        return Ok(fragment(&RunFormPartial { form }, status));
    }
    let page = datasets::dataset_page(state, dataset.id, Some(form), hx.can_write)
        .await
        .map_err(hx.fail())?;
    Ok(hx.render(&page, status))
}

// ---- Handlers -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct TabQuery {
    /// Customers tab: one segment only. Kept as text so an empty choice means "all".
    segment: Option<String>,
    after: Option<String>,
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

async fn render_tab(hx: Hx, state: &AppState, id: i64, tab: Tab, q: TabQuery) -> PageResult {
    let run = svc::get(state, id).await.map_err(hx.fail())?;
    let dataset = datasets_svc::get(state, run.dataset_id)
        .await
        .map_err(hx.fail())?;
    let mut head = RunHead::new(&run, &dataset);
    head.can_write = hx.can_write;
    let tab_title = if tab == Tab::Overview {
        String::new()
    } else {
        format!("{} · ", tab.label())
    };
    let slug = tab.slug();
    // A run whose stored results cannot be read is shown like a failed one, saying why.
    if run.status != RunStatus::Succeeded || run.damage.is_some() {
        let page = RunStatusPage {
            run: head,
            tab: slug,
            tab_title: String::new(),
            progress: (!run.status.is_final()).then(|| ProgressView::new(&event_of(&run))),
            error: run.damage.clone().or_else(|| run.error.clone()),
        };
        return Ok(hx.ok(&page));
    }
    Ok(match tab {
        Tab::Overview => hx.render(
            &OverviewPage {
                o: overview(&run, &dataset),
                run: head,
                tab: slug,
                tab_title,
            },
            StatusCode::OK,
        ),
        Tab::Segments => hx.render(
            &SegmentsPage {
                segments: segment_cards(&run, &dataset),
                run: head,
                tab: slug,
                tab_title,
            },
            StatusCode::OK,
        ),
        Tab::Dendrogram => hx.render(
            &DendrogramPage {
                svg_url: routes::chart(run.id, "dendrogram"),
                n_samples: format::thousands(dataset.row_count),
                n_clusters: run.segment_count().unwrap_or(0).max(0) as usize,
                run: head,
                tab: slug,
                tab_title,
            },
            StatusCode::OK,
        ),
        Tab::Map => hx.render(
            &MapPage {
                map_url: routes::chart(run.id, "map"),
                segments: size_rows(&run),
                run: head,
                tab: slug,
                tab_title,
            },
            StatusCode::OK,
        ),
        Tab::Quality => hx.render(
            &QualityPage {
                silhouette_url: routes::chart(run.id, "silhouette"),
                silhouette: run
                    .metrics
                    .as_ref()
                    .and_then(|m| m.silhouette_score)
                    .map_or("—".into(), format::score),
                k_sweep_url: routes::chart(run.id, "k-sweep"),
                sweep: sweep(&run, &dataset),
                run: head,
                tab: slug,
                tab_title,
            },
            StatusCode::OK,
        ),
        Tab::Customers => {
            let segment = match q
                .segment
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                None => None,
                Some(s) => Some(
                    s.parse::<i32>()
                        .map_err(|_| AppError::BadInput(format!("`{s}` is not a segment number")))
                        .map_err(hx.fail())?,
                ),
            };
            let request = PageRequest {
                first: Some(CUSTOMERS_PAGE),
                after: q.after.clone(),
            };
            let page = assignments::list(state, run.id, segment, &request)
                .await
                .map_err(hx.fail())?;
            hx.ok(&CustomersPage {
                c: customers(&run, &dataset, segment, q.after.is_some(), &page),
                run: head,
                tab: slug,
                tab_title,
            })
        }
    })
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
