//! `/api/v1/clustering`: train, runs, dendrogram, assignments (JSON and CSV).
//!
//! The predecessor trained synchronously and answered with the finished run. Runs are queued
//! now, so `train` waits for the run to end (up to `?wait=` seconds, default 120) and answers
//! like the predecessor did; a run still going after that is answered `202 Accepted` with its
//! current state and a `Location` to poll.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::{Id, JsonBody};
use crate::app::AppState;
use crate::db::stored::v1;
use crate::engine::profile::SegmentProfile;
use crate::engine::render::{Format, Layout, Theme};
use crate::engine::spec;
use crate::engine::{Method, Metric};
use crate::error::{AppError, AppResult};
use crate::http::Query;
use crate::http::download::{csv_attachment, json_attachment};
use crate::service::charts::{self, Chart};
use crate::service::runs::{
    ColumnUse, Draft, Run, RunQuery, RunStatus, SegmentLabel, Setting, TrainRequest, Vocabulary,
};
use crate::service::{self, PageRequest};

/// The predecessor's run shape, plus status, progress, profiles and timings. Results are the
/// run's stored documents ([`v1`]), so they keep their shape whatever the engine's structs do.
pub fn run_json(run: &Run) -> Value {
    let metrics = run.metrics.as_ref().map(|m| {
        let sizes: serde_json::Map<String, Value> = m
            .cluster_sizes
            .iter()
            .enumerate()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect();
        let mut v = serde_json::to_value(v1::Metrics::from(m)).unwrap_or(Value::Null);
        v["cluster_sizes"] = Value::Object(sizes);
        v
    });
    let succeeded = run.status == RunStatus::Succeeded;
    json!({
        "id": run.id,
        "dataset_id": run.dataset_id,
        "linkage": run.method,
        "metric": run.metric,
        "n_clusters": run.segment_count(),
        "auto_clusters": run.auto_clusters,
        "distance_threshold": run.distance_threshold,
        "use_pca": run.use_pca,
        "pca_components": run.pca_components,
        "pca_variance": run.pca_variance,
        "kinds": run.features.kinds,
        "status": run.status.as_str(),
        "stage": run.stage,
        "progress": run.progress,
        "error": run.error,
        "damage": run.damage,
        "feature_config": run.feature_config.as_ref().map(v1::FeatureConfig::from),
        "metrics": metrics,
        "profiles": run.profiles.iter().map(v1::SegmentProfile::from).collect::<Vec<_>>(),
        "segments": run.profiles.iter().map(|p| segment_json(run, p)).collect::<Vec<_>>(),
        "k_sweep": run.k_sweep.as_ref().map(v1::KSweep::from),
        "timings": run.timings,
        "dendrogram_path": succeeded.then(|| format!("/api/v1/clustering/runs/{}/dendrogram", run.id)),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    })
}

/// The predecessor's train request, plus the new options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainBody {
    dataset_id: i64,
    #[serde(default = "ward")]
    linkage: Method,
    #[serde(default)]
    metric: Metric,
    /// Counts are read as numbers and then held to the whole-number rule, so `2.5` is refused
    /// in the rule's words rather than serde's. `"auto"` lets the run choose.
    n_clusters: Option<SegmentCount>,
    distance_threshold: Option<f64>,
    use_pca: Option<bool>,
    pca_components: Option<serde_json::Number>,
    pca_variance: Option<f64>,
    features: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    /// `{"column": "numeric" | "categorical" | "ignore"}`: overrides of detected kinds.
    #[serde(default)]
    kinds: BTreeMap<String, ColumnUse>,
}

/// `n_clusters` as sent: a number, or a word (only `"auto"` is accepted).
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum SegmentCount {
    Number(serde_json::Number),
    Word(String),
}

impl TrainBody {
    fn request(self) -> AppResult<TrainRequest> {
        let whole = |setting, n: Option<serde_json::Number>| {
            n.map(|n| spec::whole(setting, &n.to_string()))
                .transpose()
                .map_err(|e| AppError::refused(e, Vocabulary::Rest))
        };
        let (n_clusters, auto_clusters) = match self.n_clusters {
            Some(SegmentCount::Word(w)) if w.trim().eq_ignore_ascii_case("auto") => (None, true),
            Some(SegmentCount::Word(written)) => {
                let refused = spec::SpecError::NotWhole {
                    setting: Setting::Clusters,
                    written,
                };
                return Err(AppError::refused(refused, Vocabulary::Rest));
            }
            Some(SegmentCount::Number(n)) => (whole(Setting::Clusters, Some(n))?, false),
            None => (None, false),
        };
        Ok(TrainRequest {
            dataset_id: self.dataset_id,
            settings: Draft {
                method: self.linkage,
                metric: self.metric,
                n_clusters,
                auto_clusters,
                distance_threshold: self.distance_threshold,
                use_pca: self.use_pca,
                pca_components: whole(Setting::PcaComponents, self.pca_components)?,
                pca_variance: self.pca_variance,
                include: self.features,
                exclude: self.exclude,
                kinds: self.kinds,
            },
        })
    }
}

fn ward() -> Method {
    Method::Ward
}

#[derive(Deserialize)]
pub struct TrainQuery {
    /// Seconds to wait for the run to end (0: answer at once).
    wait: Option<u64>,
}

const DEFAULT_WAIT: u64 = 120;
const MAX_WAIT: u64 = 600;

pub async fn train(
    State(state): State<AppState>,
    Query(q): Query<TrainQuery>,
    JsonBody(body): JsonBody<TrainBody>,
) -> AppResult<Response> {
    let queued = service::runs::train(&state, body.request()?, Vocabulary::Rest).await?;
    let wait = Duration::from_secs(q.wait.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT));
    let run = wait_for_end(&state, queued.id, wait).await?;
    let location = format!("/api/v1/clustering/runs/{}", run.id);
    let status = match run.status {
        RunStatus::Succeeded => StatusCode::CREATED,
        RunStatus::Failed => {
            let detail = run.error.clone().unwrap_or_else(|| "the run failed".into());
            let body = json!({ "detail": detail, "code": "RUN_FAILED", "run": run_json(&run) });
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
        _ => StatusCode::ACCEPTED,
    };
    let mut response = (status, Json(run_json(&run))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Follows the run's progress until it ends or `wait` passes, then reads it.
async fn wait_for_end(state: &AppState, id: i64, wait: Duration) -> AppResult<Run> {
    use futures::StreamExt;
    let events = service::progress::follow(state, id).await?;
    // An error ends the wait too: reading the run below reports it.
    let ended = events.any(|e| async move { e.map_or(true, |e| service::progress::is_final(&e)) });
    let _ = tokio::time::timeout(wait, ended).await;
    service::runs::get(state, id).await.map_err(|e| match e {
        // Deleted meanwhile, alone or with its dataset: the request did queue it, so "not
        // found" would misreport what happened to it.
        AppError::NotFound(_) => AppError::Conflict(format!(
            "run {id} was queued but deleted before it finished (on its own or with its dataset)"
        )),
        e => e,
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    dataset_id: Option<i64>,
    status: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<Value>>> {
    let query = RunQuery {
        dataset_id: q.dataset_id,
        status: q
            .status
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(AppError::BadInput)?,
    };
    let page = PageRequest {
        first: Some(service::page::MAX_PAGE),
        after: None,
    };
    let runs = service::runs::list(&state, &query, &page).await?;
    Ok(Json(runs.items.iter().map(|(_, r)| run_json(r)).collect()))
}

pub async fn get(State(state): State<AppState>, Id(id): Id) -> AppResult<Json<Value>> {
    Ok(Json(run_json(&service::runs::get(&state, id).await?)))
}

pub async fn delete(State(state): State<AppState>, Id(id): Id) -> AppResult<StatusCode> {
    service::runs::delete(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn cancel(State(state): State<AppState>, Id(id): Id) -> AppResult<Json<Value>> {
    Ok(Json(run_json(&service::runs::cancel(&state, id).await?)))
}

#[derive(Deserialize)]
pub struct ChartQuery {
    /// `light` (default: white paper, as the predecessor's PNG) or `dark`.
    theme: Option<String>,
    /// `wide` (default) or `narrow` (360 pixels, for phones).
    layout: Option<String>,
}

impl ChartQuery {
    fn look(&self) -> AppResult<(Theme, Layout)> {
        charts::look(self.theme.as_deref(), self.layout.as_deref(), Theme::Light)
    }
}

pub fn image(bytes: Vec<u8>, format: Format) -> Response {
    let content_type = match format {
        Format::Png => "image/png",
        Format::Svg => "image/svg+xml",
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response()
}

pub async fn dendrogram_png(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<ChartQuery>,
) -> AppResult<Response> {
    let (theme, layout) = q.look()?;
    let bytes = charts::render(&state, id, Chart::Dendrogram, Format::Png, theme, layout).await?;
    Ok(image(bytes, Format::Png))
}

pub async fn dendrogram_svg(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<ChartQuery>,
) -> AppResult<Response> {
    let (theme, layout) = q.look()?;
    let bytes = charts::render(&state, id, Chart::Dendrogram, Format::Svg, theme, layout).await?;
    Ok(image(bytes, Format::Svg))
}

/// `/charts/{name}.{svg|png}`: dendrogram, silhouette, k-sweep, map, sizes.
pub async fn chart(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<ChartQuery>,
) -> AppResult<Response> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("`{id}` is not an id; ids are numbers")))?;
    let (name, format) = match file.rsplit_once('.') {
        Some((name, "svg")) => (name, Format::Svg),
        Some((name, "png")) => (name, Format::Png),
        _ => (file.as_str(), Format::Svg),
    };
    let chart = Chart::parse(name).ok_or_else(|| {
        AppError::NotFound(format!(
            "no chart `{name}`; charts are dendrogram, silhouette, k-sweep, map and sizes"
        ))
    })?;
    let (theme, layout) = q.look()?;
    let bytes = charts::render(&state, id, chart, format, theme, layout).await?;
    Ok(image(bytes, format))
}

#[derive(Deserialize)]
pub struct AssignmentQuery {
    cluster: Option<i32>,
    /// Most rows to return (default: all).
    limit: Option<usize>,
    /// Rows to skip.
    #[serde(default)]
    offset: usize,
}

/// Every assignment in the seed's shape: `run_id, row_index, cluster_label, payload`, streamed
/// page by page so memory stays flat on large runs.
pub async fn assignments(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<AssignmentQuery>,
) -> AppResult<Response> {
    // Checked before the first byte, so an unknown run or segment is a 404 / 400, not a broken
    // download.
    let probe = PageRequest {
        first: Some(1),
        after: None,
    };
    service::assignments::list(&state, id, q.cluster, &probe).await?;
    let limit = q.limit.unwrap_or(usize::MAX);
    let stream = service::assignments::json_stream(state, id, q.cluster, q.offset, limit);
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Every row of the run as CSV: `row_index,cluster` then the original columns, streamed page by
/// page so memory stays flat on large runs.
pub async fn assignments_csv(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<AssignmentQuery>,
) -> AppResult<Response> {
    let stream = service::assignments::csv_download(&state, id, q.cluster).await?;
    csv_attachment(
        &format!("segmentiq-run-{id}-assignments.csv"),
        Body::from_stream(stream),
    )
}

/// `{"name": "...", "note": "..."}`: either may be left out (kept as it is); an empty text
/// removes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentLabelBody {
    name: Option<String>,
    note: Option<String>,
}

/// Names a segment and/or notes something about it; answers with the segment's label.
pub async fn label_segment(
    State(state): State<AppState>,
    Path((id, segment)): Path<(String, String)>,
    JsonBody(body): JsonBody<SegmentLabelBody>,
) -> AppResult<Json<Value>> {
    let id = super::json::parse_id(&id)?;
    let segment: i64 = segment.parse().map_err(|_| {
        AppError::NotFound(format!(
            "`{segment}` is not a segment; segments are numbers"
        ))
    })?;
    let label = SegmentLabel {
        name: body.name,
        note: body.note,
    };
    let run = service::runs::label_segment(&state, id, segment, label).await?;
    Ok(Json(segment_json(&run, run.segment(segment)?)))
}

/// A segment's names and note.
fn segment_json(run: &Run, p: &SegmentProfile) -> Value {
    json!({
        "segment": p.segment,
        "name": p.name,
        "generated_name": run.generated_name(p),
        "note": run.note(p.segment),
        "size": p.size,
        "share": p.share,
    })
}

/// Every segment's profile: one row per segment and numeric feature, and per segment,
/// categorical feature and top level.
#[derive(Deserialize)]
pub struct CompareQuery {
    /// The other run, kept as text so a missing or wrong id gets its own message.
    with: Option<String>,
}

/// `GET /clustering/runs/{id}/compare?with={other}`: how the customers of run `id` moved into
/// the segments of run `other` (both of one dataset), and the adjusted Rand index.
pub async fn compare(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<CompareQuery>,
) -> AppResult<Json<Value>> {
    let other = q.with.as_deref().ok_or_else(|| {
        AppError::BadInput("add `?with={run id}`: the run to compare this one with".into())
    })?;
    let other = super::json::parse_id(other)?;
    let (_, _, comparison) = service::runs::compare(&state, id, other).await?;
    let migration: Vec<Value> = comparison
        .migration
        .iter()
        .map(|m| json!({ "from": m.from, "to": m.to, "count": m.count }))
        .collect();
    Ok(Json(json!({
        "run_id": id,
        "with_run_id": other,
        "adjusted_rand_index": comparison.adjusted_rand_index,
        "migration": migration,
    })))
}

/// `GET /clustering/runs/{id}/model.json`: what `segmentiq assign` needs to place new customers.
pub async fn model_json(State(state): State<AppState>, Id(id): Id) -> AppResult<Response> {
    let json = service::runs::model_json(&state, id).await?;
    json_attachment(&format!("segmentiq-run-{id}-model.json"), Body::from(json))
}

pub async fn profiles_csv(State(state): State<AppState>, Id(id): Id) -> AppResult<Response> {
    let csv = service::runs::profiles_csv(&state, id).await?;
    csv_attachment(&format!("segmentiq-run-{id}-profiles.csv"), Body::from(csv))
}
