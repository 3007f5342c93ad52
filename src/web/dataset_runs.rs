//! A dataset's runs: the list on its page (which refreshes itself while one runs), and the run
//! form's submission, which starts a run or sends the form back with the reason.

use askama::Template;
use axum::extract::{Path, State};

use axum::http::StatusCode;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::http::Form;
use crate::service::datasets::{self as datasets_svc, Dataset};
use crate::service::runs::{self as svc, Run, RunQuery, RunStatus};
use crate::service::{Page, PageRequest};
use crate::web::format;
use crate::web::render::{Hx, PageResult, fragment};
use crate::web::run_form::{RunForm, Submission};
use crate::web::{datasets, parse_id, routes};

/// Runs listed on a dataset's page (newest first).
const RUNS_SHOWN: usize = 20;

pub struct RunRow {
    pub id: i64,
    pub url: String,
    /// The comparison with the next older succeeded run, when both succeeded.
    pub compare: Option<(i64, String)>,
    pub method: &'static str,
    pub metric: &'static str,
    /// Segments asked for, or the height cut and the segments it made.
    pub segments: String,
    /// "off", "3 components" or "90% of variance".
    pub pca: String,
    /// Which columns the run used, when not every one as detected.
    pub columns: String,
    pub status: RunStatus,
    pub percent: Option<u32>,
    pub silhouette: String,
    pub created: String,
    pub created_iso: String,
}

/// The runs of one dataset; `live` while any has not finished, so the table polls itself.
pub struct RunsTable {
    pub rows: Vec<RunRow>,
    pub total: i64,
    pub live: bool,
    pub refresh_url: String,
}

impl RunsTable {
    pub fn new(dataset_id: i64, page: &Page<Run>) -> RunsTable {
        let done: Vec<&Run> = page
            .items
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.status == RunStatus::Succeeded && r.damage.is_none())
            .collect();
        // Newest first: the next older succeeded run follows this one among `done`.
        let older = |r: &Run| {
            let at = done.iter().position(|d| d.id == r.id)?;
            let other = done.get(at + 1)?;
            Some((other.id, routes::run_compare(r.id, other.id)))
        };
        let rows: Vec<RunRow> = page
            .items
            .iter()
            .map(|(_, r)| RunRow {
                id: r.id,
                url: routes::run(r.id),
                compare: older(r),
                method: r.method.as_str(),
                metric: r.metric.as_str(),
                segments: segments(r),
                pca: pca(r),
                columns: columns(r),
                status: r.status,
                percent: (r.status == RunStatus::Running)
                    .then(|| (r.progress * 100.0).round() as u32),
                silhouette: r
                    .metrics
                    .as_ref()
                    .and_then(|m| m.silhouette_score)
                    .map_or("—".into(), format::score),
                created: format::date(&r.created_at),
                created_iso: format::iso(&r.created_at),
            })
            .collect();
        RunsTable {
            live: page.items.iter().any(|(_, r)| !r.status.is_final()),
            rows,
            total: page.total_count,
            refresh_url: routes::dataset_runs(dataset_id),
        }
    }
}

/// The segments asked for, or the height cut (and how many segments it made, once known).
fn segments(r: &Run) -> String {
    match (r.n_clusters, r.distance_threshold) {
        (Some(k), _) => k.to_string(),
        (None, Some(h)) => match r.metrics.as_ref() {
            Some(m) => format!("{} (cut at {})", m.n_clusters, format::number(h)),
            None => format!("cut at {}", format::number(h)),
        },
        (None, None) if r.auto_clusters => match r.metrics.as_ref() {
            Some(m) => format!("{} (chosen)", m.n_clusters),
            None => "chosen by the run".into(),
        },
        (None, None) => "—".into(),
    }
}

fn pca(r: &Run) -> String {
    match (r.use_pca, r.pca_components, r.pca_variance) {
        (false, ..) => "off".into(),
        (true, Some(c), _) => format!("{c} components"),
        (true, None, Some(v)) => format!("{} of variance", format::percent(v)),
        (true, None, None) => "on".into(),
    }
}

/// "all", or what the run was told: only some columns, without some, kinds overridden.
fn columns(r: &Run) -> String {
    let f = &r.features;
    let mut parts = Vec::new();
    if let Some(only) = &f.include {
        parts.push(format!("only {}", only.join(", ")));
    }
    if !f.exclude.is_empty() {
        parts.push(format!("without {}", f.exclude.join(", ")));
    }
    parts.extend(
        f.kinds
            .iter()
            .map(|(column, used)| format!("{column} as {}", used.as_str())),
    );
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join("; ")
    }
}

#[derive(Template)]
#[template(path = "partials/runs_table.html")]
pub struct RunsPartial {
    pub runs: RunsTable,
}

/// The run form alone, sent back to htmx with the reason it was refused.
#[derive(Template)]
#[template(path = "partials/run_form.html")]
pub struct RunFormPartial {
    pub form: RunForm,
}

/// The newest runs of a dataset, for its page.
pub async fn table(state: &AppState, id: i64) -> AppResult<RunsTable> {
    let query = RunQuery {
        dataset_id: Some(id),
        status: None,
    };
    let page = svc::list(
        state,
        &query,
        &PageRequest {
            first: Some(RUNS_SHOWN),
            after: None,
        },
    )
    .await?;
    Ok(RunsTable::new(id, &page))
}

/// `GET /datasets/{id}/runs`: the run list alone, for the dataset page's refresh.
pub async fn runs_partial(
    hx: Hx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id("dataset", &id).map_err(hx.fail())?;
    let runs = table(&state, id).await.map_err(hx.fail())?;
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
