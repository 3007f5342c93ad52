//! A run's pages: live progress while it runs, then one tab per view of the results, each at
//! its own URL. Also the dataset page's list of runs (which refreshes itself while one runs) and
//! the run form's submission.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::service::datasets as datasets_svc;
use crate::service::progress::event_of;
use crate::service::runs::{self as svc, RunStatus};
use crate::service::{PageRequest, assignments};
use crate::web::format;
use crate::web::render::{Hx, fragment};
use crate::web::run_form::{RunForm, Submission};
use crate::web::run_views::*;
use crate::web::{datasets, parse_id, routes};

pub async fn runs_partial(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = parse_id("dataset", &id)?;
        datasets::dataset_runs(&state, id).await
    };
    match result.await {
        Ok(runs) => fragment(&RunsPartial { runs }, StatusCode::OK),
        Err(e) => hx.error(e),
    }
}

/// `POST /datasets/{id}/runs`: starts a run from the form. A refused form comes back with its
/// values and the reason; a started run opens its page.
pub async fn train(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let sent = Submission { fields };
    let dataset = match async { datasets_svc::get(&state, parse_id("dataset", &id)?).await }.await {
        Ok(d) => d,
        Err(e) => return hx.error(e),
    };
    let started = match sent.to_request(&dataset) {
        Ok(request) => svc::train(&state, request, svc::Vocabulary::Form).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(run) => hx.redirect(&routes::run(run.id)),
        Err(e @ (AppError::BadInput(_) | AppError::BadSetting(..) | AppError::Conflict(_))) => {
            let status = e.status();
            let form = RunForm::refused(&dataset, &sent, &e);
            if hx.partial {
                fragment(&RunFormPartial { form }, status)
            } else {
                match datasets::dataset_page(&state, dataset.id, Some(form), hx.can_write).await {
                    Ok(page) => hx.render(&page, status),
                    Err(e) => hx.error(e),
                }
            }
        }
        Err(e) => hx.error(e),
    }
}

// ---- Handlers -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct TabQuery {
    /// Customers tab: one segment only. Kept as text so an empty choice means "all".
    segment: Option<String>,
    after: Option<String>,
}

/// `GET /runs/{id}`: the overview once it succeeded, else progress or the failure.
pub async fn show(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id("run", &id) {
        Ok(id) => id,
        Err(e) => return hx.error(e),
    };
    render_tab(hx, &state, id, Tab::Overview, TabQuery::default()).await
}

/// `GET /runs/{id}/{tab}`.
pub async fn tab(
    hx: Hx,
    State(state): State<AppState>,
    Path((id, tab)): Path<(String, String)>,
    Query(q): Query<TabQuery>,
) -> Response {
    let parsed = parse_id("run", &id).and_then(|id| {
        Tab::parse(&tab)
            .map(|t| (id, t))
            .ok_or_else(|| AppError::NotFound(format!("a run has no `{tab}` tab")))
    });
    match parsed {
        Ok((id, tab)) => render_tab(hx, &state, id, tab, q).await,
        Err(e) => hx.error(e),
    }
}

async fn render_tab(hx: Hx, state: &AppState, id: i64, tab: Tab, q: TabQuery) -> Response {
    let loaded = async {
        let run = svc::get(state, id).await?;
        let dataset = datasets_svc::get(state, run.dataset_id).await?;
        Ok::<_, AppError>((run, dataset))
    };
    let (run, dataset) = match loaded.await {
        Ok(pair) => pair,
        Err(e) => return hx.error(e),
    };
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
        return hx.render(&page, StatusCode::OK);
    }
    match tab {
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
                Some(s) => match s.parse::<i32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return hx
                            .error(AppError::BadInput(format!("`{s}` is not a segment number")));
                    }
                },
            };
            let request = PageRequest {
                first: Some(CUSTOMERS_PAGE),
                after: q.after.clone(),
            };
            match assignments::list(state, run.id, segment, &request).await {
                Ok(page) => hx.render(
                    &CustomersPage {
                        c: customers(&run, &dataset, segment, q.after.is_some(), &page),
                        run: head,
                        tab: slug,
                        tab_title,
                    },
                    StatusCode::OK,
                ),
                Err(e) => hx.error(e),
            }
        }
    }
}

/// `POST /runs/{id}/cancel`.
pub async fn cancel(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let result = async { svc::cancel(&state, parse_id("run", &id)?).await };
    match result.await {
        Ok(run) => hx.redirect(&routes::run(run.id)),
        Err(e) => hx.error(e),
    }
}

/// `POST /runs/{id}/delete`: back to the run's dataset afterwards.
pub async fn delete(hx: Hx, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let result = async {
        let run = svc::get(&state, parse_id("run", &id)?).await?;
        svc::delete(&state, run.id).await?;
        Ok::<_, AppError>(run.dataset_id)
    };
    match result.await {
        Ok(dataset_id) => hx.redirect(&routes::dataset(dataset_id)),
        Err(e) => hx.error(e),
    }
}
