//! Clustering runs: queue one, read, list, cancel, delete, and render their charts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db;
use crate::db::runs::RunFilter;
use crate::db::segment_labels::SegmentLabelRow;
use crate::db::stored::Documents;
use crate::db::text::Named;
use crate::engine::compare::Comparison;
use crate::engine::model::Model;
use crate::engine::pipeline::{FeatureConfig, Metrics};
use crate::engine::profile::SegmentProfile;
use crate::engine::quality::KSweep;
use crate::engine::{Merge, Method, Metric, Stage};
use crate::engine::{export, linkage, spec};
use crate::error::{AppError, AppResult};
use crate::service::{Page, PageRequest, datasets};

pub use crate::db::runs::RunStatus;

/// Columns the caller chose, as stored in `clustering_runs.params`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FeatureChoice {
    /// Only these columns (when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Never these columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Uses that override a column's detected kind (absent from runs stored before they
    /// existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, ColumnUse>,
}

/// A run as every interface shows it.
#[derive(Clone, Debug)]
pub struct Run {
    pub id: i64,
    pub dataset_id: i64,
    pub method: Method,
    pub metric: Metric,
    pub n_clusters: Option<i32>,
    /// The run chooses its number of segments (`auto`); the count it chose is in `metrics`.
    pub auto_clusters: bool,
    pub distance_threshold: Option<f64>,
    pub use_pca: bool,
    pub pca_components: Option<i32>,
    pub pca_variance: Option<f64>,
    pub features: FeatureChoice,
    pub status: RunStatus,
    pub stage: Option<Stage>,
    pub progress: f64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub feature_config: Option<FeatureConfig>,
    pub metrics: Option<Metrics>,
    pub profiles: Vec<SegmentProfile>,
    pub k_sweep: Option<KSweep>,
    /// Seconds per engine stage.
    pub timings: Option<serde_json::Value>,
    /// Set when stored results could not be read: what is missing, in a sentence for the user.
    pub damage: Option<String>,
    /// The generated names of segments the analyst renamed (their profiles carry the new name).
    pub generated_names: BTreeMap<usize, String>,
    /// The analyst's notes, by segment.
    pub notes: BTreeMap<usize, String>,
}

/// What the analyst asks to change about a segment: `None` keeps what is there, an empty text
/// removes it (the generated name again, or no note).
#[derive(Clone, Debug, Default)]
pub struct SegmentLabel {
    pub name: Option<String>,
    pub note: Option<String>,
}

/// Longest segment name: it must fit chart legends and table cells.
pub const MAX_SEGMENT_NAME: usize = 80;
/// Longest note on a segment.
pub const MAX_SEGMENT_NOTE: usize = 2000;

/// Names a segment of a succeeded run and/or notes something about it; returns the run as it
/// is now shown.
pub async fn label_segment(
    state: &AppState,
    id: i64,
    segment: i64,
    label: SegmentLabel,
) -> AppResult<Run> {
    let run = succeeded(state, id, "segments can be named").await?;
    let profile = run.segment(segment)?;
    let segment = profile.segment;
    let keep = |asked: Option<String>, current: Option<&str>| match asked {
        Some(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
        None => current.map(str::to_string),
    };
    let renamed = (run.generated_names.contains_key(&segment)).then_some(profile.name.as_str());
    let row = SegmentLabelRow {
        run_id: id,
        segment: segment as i32,
        name: checked_text("name", keep(label.name, renamed), MAX_SEGMENT_NAME, false)?,
        note: checked_text(
            "note",
            keep(label.note, run.note(segment)),
            MAX_SEGMENT_NOTE,
            true,
        )?,
    };
    let mut conn = state.conn().await?;
    db::segment_labels::set(&mut conn, &row).await?;
    drop(conn);
    get(state, id).await
}

/// `text` if it is at most `max` characters without control characters (`lines` allows line
/// breaks).
fn checked_text(
    what: &str,
    text: Option<String>,
    max: usize,
    lines: bool,
) -> AppResult<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    let length = text.chars().count();
    if length > max {
        return Err(AppError::BadInput(format!(
            "the {what} is {length} characters long; at most {max} fit"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(AppError::BadInput(format!(
            "the {what} holds a control character; write it as plain text"
        )));
    }
    Ok(Some(text))
}

/// The run, if it has succeeded and its results read; otherwise why `what` cannot be done.
pub(crate) async fn succeeded(state: &AppState, id: i64, what: &str) -> AppResult<Run> {
    let run = get(state, id).await?;
    if let Some(damage) = &run.damage {
        return Err(AppError::Internal(anyhow::anyhow!(damage.clone())));
    }
    if run.status != RunStatus::Succeeded {
        return Err(AppError::Conflict(format!(
            "run {id} is {}; {what} once it has succeeded",
            run.status
        )));
    }
    Ok(run)
}

/// Two succeeded runs of one dataset and how their segments compare, customer by customer.
pub async fn compare(state: &AppState, a: i64, b: i64) -> AppResult<(Run, Run, Comparison)> {
    let first = succeeded(state, a, "it can be compared").await?;
    let second = succeeded(state, b, "it can be compared").await?;
    if first.dataset_id != second.dataset_id {
        return Err(AppError::BadInput(format!(
            "run {a} segments dataset {} and run {b} dataset {}; compare two runs of one dataset",
            first.dataset_id, second.dataset_id
        )));
    }
    let mut conn = state.conn().await?;
    let labels = |rows: Vec<(i32, Option<f64>)>| -> Vec<usize> {
        rows.into_iter().map(|(l, _)| l as usize).collect()
    };
    let left = labels(db::assignments::labels(&mut conn, a).await?);
    let right = labels(db::assignments::labels(&mut conn, b).await?);
    drop(conn);
    if left.len() != right.len() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "runs {a} and {b} of one dataset assign {} and {} customers",
            left.len(),
            right.len()
        )));
    }
    let comparison = crate::engine::compare::compare(&left, &right);
    Ok((first, second, comparison))
}

/// Every segment's profile of a succeeded run as CSV ([`export::profiles_csv`]).
pub async fn profiles_csv(state: &AppState, id: i64) -> AppResult<Vec<u8>> {
    let run = succeeded(state, id, "profiles exist").await?;
    let k = run.profiles.len();
    let stability = run
        .k_sweep
        .as_ref()
        .and_then(|sweep| sweep.points.iter().find(|p| p.k == k))
        .map_or(&[][..], |p| p.segment_stability.as_slice());
    Ok(export::profiles_csv(&run.profiles, stability))
}

/// The model of a succeeded run as the `model.json` that `segmentiq assign` reads, with the
/// segments named as the analyst named them.
pub async fn model_json(state: &AppState, id: i64) -> AppResult<Vec<u8>> {
    let (_, model) = model(state, id).await?;
    let mut json = serde_json::to_vec_pretty(&model).map_err(|e| AppError::Internal(e.into()))?;
    json.push(b'\n');
    Ok(json)
}

/// A succeeded run and its model, with the segments named as the analyst named them. Runs from
/// before models are a conflict that says how to get one.
pub async fn model(state: &AppState, id: i64) -> AppResult<(Run, Model)> {
    let run = succeeded(state, id, "its model exists").await?;
    let mut conn = state.conn().await?;
    let stored = db::runs::model(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("run {id}")))?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "run {id} succeeded before runs kept a model; run the same settings again to get one"
            ))
        })?;
    let unreadable = |e: String| AppError::Internal(anyhow::anyhow!("run {id}'s model: {e}"));
    let bytes = serde_json::to_vec(&stored).map_err(|e| unreadable(e.to_string()))?;
    let mut model = Model::read(&bytes).map_err(|e| unreadable(e.to_string()))?;
    for (segment, profile) in model.segments.iter_mut().zip(&run.profiles) {
        segment.name.clone_from(&profile.name);
    }
    Ok((run, model))
}

/// Fails when a fresh engine outcome would not read back as a [`Run`] (a value JSON cannot
/// hold, such as NaN, where a number is required): the run then fails with this message instead
/// of being stored as a run no list could show.
pub fn check_readable(outcome: &crate::engine::pipeline::Outcome) -> Result<Documents, String> {
    let documents = Documents::of(outcome).map_err(|e| e.to_string());
    let damage = match &documents {
        Ok(documents) => documents.clone().read().1,
        Err(e) => vec![e.clone()],
    };
    match documents {
        Ok(documents) if damage.is_empty() => Ok(documents),
        _ => Err(format!(
            "the results could not be stored: {}; this is a bug, please report it",
            damage.join(", ")
        )),
    }
}

impl Run {
    /// Reads a stored run. Results that cannot be decoded (a run stored by a faulty version)
    /// do not make the run unreadable: they are left out and named in [`Run::damage`], so one
    /// damaged run never hides the others in a list.
    pub fn from_row(row: db::runs::RunRow) -> AppResult<Run> {
        let id = row.id;
        let internal = |what: &str, e: String| {
            AppError::Internal(anyhow::anyhow!("run {id} has an invalid {what}: {e}"))
        };
        let features = serde_json::from_value(row.params)
            .map_err(|e| internal("feature choice", e.to_string()))?;
        let (results, damage) = Documents {
            feature_config: row.feature_config,
            metrics: row.metrics,
            profiles: row.profiles,
            k_sweep: row.k_sweep,
        }
        .read();
        let damage = (!damage.is_empty()).then(|| {
            let message = format!(
                "the stored results of run {id} cannot be read: {}; train the run again",
                damage.join(", ")
            );
            tracing::error!(run = id, %message, "damaged run");
            message
        });
        Ok(Run {
            id,
            dataset_id: row.dataset_id,
            method: row.linkage.0,
            metric: row.metric.0,
            n_clusters: row.n_clusters,
            auto_clusters: row.auto_clusters,
            distance_threshold: row.distance_threshold,
            use_pca: row.use_pca,
            pca_components: row.pca_components,
            pca_variance: row.pca_variance,
            features,
            status: row.status,
            stage: row.stage.map(|s| s.0),
            progress: row.progress,
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            feature_config: results.feature_config,
            metrics: results.metrics,
            profiles: results.profiles,
            k_sweep: results.k_sweep,
            timings: row.timings,
            damage,
            generated_names: BTreeMap::new(),
            notes: BTreeMap::new(),
        })
    }

    /// Applies the analyst's names and notes: a renamed segment's profile carries its new name
    /// everywhere it is shown, and its generated name is kept beside it.
    fn labelled(mut self, labels: impl IntoIterator<Item = SegmentLabelRow>) -> Run {
        for label in labels {
            let segment = usize::try_from(label.segment).unwrap_or(usize::MAX);
            let Some(profile) = self.profiles.iter_mut().find(|p| p.segment == segment) else {
                continue;
            };
            if let Some(name) = label.name {
                let generated = std::mem::replace(&mut profile.name, name);
                self.generated_names.insert(segment, generated);
            }
            if let Some(note) = label.note {
                self.notes.insert(segment, note);
            }
        }
        self
    }

    /// The name SegmentIQ gave `profile`'s segment, whatever the analyst calls it now.
    pub fn generated_name<'a>(&'a self, profile: &'a SegmentProfile) -> &'a str {
        self.generated_names
            .get(&profile.segment)
            .map_or(&profile.name, String::as_str)
    }

    /// Segment number `segment`, or which numbers there are.
    pub fn segment(&self, segment: i64) -> AppResult<&SegmentProfile> {
        self.profiles
            .iter()
            .find(|p| i64::try_from(p.segment) == Ok(segment))
            .ok_or_else(|| {
                AppError::BadInput(format!(
                    "run {} has segments 0 to {}; there is no segment {segment}",
                    self.id,
                    self.profiles.len().saturating_sub(1)
                ))
            })
    }

    /// The analyst's note on a segment.
    pub fn note(&self, segment: usize) -> Option<&str> {
        self.notes.get(&segment).map(String::as_str)
    }

    /// The settings the run was queued with, for the engine ([`spec::Draft::params`]) and for
    /// the rerun form.
    pub fn settings(&self) -> spec::Draft {
        spec::Draft {
            method: self.method,
            metric: self.metric,
            n_clusters: self.n_clusters.map(i64::from),
            auto_clusters: self.auto_clusters,
            distance_threshold: self.distance_threshold,
            use_pca: Some(self.use_pca),
            pca_components: self.pca_components.map(i64::from),
            pca_variance: self.pca_variance,
            include: self.features.include.clone(),
            exclude: self.features.exclude.clone(),
            kinds: self.features.kinds.clone(),
        }
    }

    /// The number of segments: asked for, or found by the height cut.
    pub fn segment_count(&self) -> Option<i32> {
        self.metrics
            .as_ref()
            .map(|m| m.n_clusters as i32)
            .or(self.n_clusters)
    }
}

pub use crate::engine::spec::{ColumnUse, Draft, Setting, Vocabulary};

/// What a caller asks for when starting a run: a dataset and the settings as the interface
/// received them. [`train`] applies the rules of [`spec`] to them once, before queueing.
#[derive(Clone, Debug)]
pub struct TrainRequest {
    pub dataset_id: i64,
    pub settings: spec::Draft,
}

/// Checks a request against its dataset's stored column profiles and queues it; a setting
/// that breaks a rule is refused in the words of the `vocabulary` the request came in. Returns
/// the queued run at once; the worker of some process picks it up.
pub async fn train(
    state: &AppState,
    req: TrainRequest,
    vocabulary: spec::Vocabulary,
) -> AppResult<Run> {
    let dataset = datasets::get(state, req.dataset_id).await?;
    let params = validate(
        &dataset,
        &req.settings,
        state.config.max_exact_rows,
        vocabulary,
    )?;
    let settings = req.settings;
    let new = db::runs::NewRun {
        dataset_id: req.dataset_id,
        linkage: Named(settings.method),
        metric: Named(settings.metric),
        n_clusters: settings.n_clusters.map(|k| k as i32),
        auto_clusters: settings.auto_clusters,
        distance_threshold: settings.distance_threshold,
        // As the checked parameters have it: a size given turns PCA on.
        use_pca: params.pca.is_some(),
        pca_components: settings.pca_components.map(|c| c as i32),
        pca_variance: settings.pca_variance,
        params: serde_json::to_value(FeatureChoice {
            include: settings.include,
            exclude: settings.exclude,
            kinds: settings.kinds,
        })
        .map_err(|e| AppError::Internal(e.into()))?,
    };
    let mut conn = state.conn().await?;
    let row = db::runs::insert_queued(&mut conn, new)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "dataset {} is being deleted; upload it again to run on it",
                req.dataset_id
            ))
        })?;
    tracing::info!(run = row.id, dataset = row.dataset_id, linkage = %row.linkage.0, "queued run");
    Run::from_row(row)
}

/// Applies the engine's rules ([`spec::check`]) to the dataset's stored column profiles, and
/// refuses a matrix linkage the table is too large for: everything that would certainly fail
/// is refused before the run is queued. Returns the checked engine parameters.
fn validate(
    dataset: &datasets::Dataset,
    settings: &spec::Draft,
    max_exact_rows: usize,
    vocabulary: spec::Vocabulary,
) -> AppResult<crate::engine::Params> {
    let refuse = |e| AppError::refused(e, vocabulary);
    let params = crate::engine::Params {
        max_exact_rows,
        ..settings.params().map_err(refuse)?
    };
    let shape = spec::Profiles {
        rows: usize::try_from(dataset.row_count).unwrap_or(0),
        columns: &dataset.columns,
    };
    spec::check(&shape, &params).map_err(refuse)?;
    if let Err(too_large) = linkage::check_matrix_size(params.method, params.metric, shape.rows) {
        return Err(AppError::BadInput(format!(
            "dataset {}: {too_large}",
            dataset.id
        )));
    }
    Ok(params)
}

pub async fn get(state: &AppState, id: i64) -> AppResult<Run> {
    let mut conn = state.conn().await?;
    let row = db::runs::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("run {id}")))?;
    let labels = db::segment_labels::of_runs(&mut conn, &[id]).await?;
    Ok(Run::from_row(row)?.labelled(labels))
}

#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    pub dataset_id: Option<i64>,
    pub status: Option<RunStatus>,
}

pub async fn list(state: &AppState, query: &RunQuery, page: &PageRequest) -> AppResult<Page<Run>> {
    let limit = page.limit();
    let filter = RunFilter {
        dataset_id: query.dataset_id,
        status: query.status,
    };
    let mut conn = state.conn().await?;
    let after = super::page::after_id(&mut conn, page, "clustering_runs").await?;
    let rows = db::runs::page(&mut conn, &filter, after, limit as i64 + 1).await?;
    let total = db::runs::count(&mut conn, &filter).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let labels = db::segment_labels::of_runs(&mut conn, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            let own = labels.iter().filter(|l| l.run_id == id).cloned();
            Ok((id, Run::from_row(row)?.labelled(own)))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_probe(items, limit, total))
}

/// Cancels a queued run at once; a running one stops within a second or two.
pub async fn cancel(state: &AppState, id: i64) -> AppResult<Run> {
    let mut conn = state.conn().await?;
    let row = db::runs::request_cancel(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("run {id}")))?;
    let labels = db::segment_labels::of_runs(&mut conn, &[id]).await?;
    // With the analyst's names, as every other read of a run has them (a finished run is
    // answered as it is).
    let run = Run::from_row(row)?.labelled(labels);
    if run.status == RunStatus::Cancelled {
        super::progress::publish_state(&mut conn, &run).await;
    }
    Ok(run)
}

/// Deletes a run and its assignments. A running run notices at its next heartbeat and stops.
pub async fn delete(state: &AppState, id: i64) -> AppResult<()> {
    let mut conn = state.conn().await?;
    if !db::runs::delete(&mut conn, id).await? {
        return Err(AppError::not_found(format!("run {id}")));
    }
    tracing::info!(run = id, "deleted run");
    Ok(())
}

/// Encodes a linkage matrix for storage: little-endian f64 rows `left, right, height, size`.
pub fn encode_linkage(z: &[Merge]) -> Vec<u8> {
    let mut out = Vec::with_capacity(z.len() * 32);
    for m in z {
        for v in [m.left as f64, m.right as f64, m.height, m.size as f64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

pub fn decode_linkage(bytes: &[u8]) -> Vec<Merge> {
    bytes
        .chunks_exact(32)
        .map(|row| {
            let f = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&row[i * 8..i * 8 + 8]);
                f64::from_le_bytes(b)
            };
            Merge {
                left: f(0) as usize,
                right: f(1) as usize,
                height: f(2),
                size: f(3) as usize,
            }
        })
        .collect()
}

/// Encodes 2-D map points as little-endian f32 pairs (plenty of precision for a scatter plot).
pub fn encode_points(points: &[[f64; 2]]) -> Vec<u8> {
    points
        .iter()
        .flat_map(|[x, y]| [*x as f32, *y as f32])
        .flat_map(f32::to_le_bytes)
        .collect()
}

pub fn decode_points(bytes: &[u8]) -> Vec<[f64; 2]> {
    bytes
        .chunks_exact(8)
        .map(|p| {
            let x = f32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            let y = f32::from_le_bytes([p[4], p[5], p[6], p[7]]);
            [x as f64, y as f64]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_round_trips() {
        let z = vec![
            Merge {
                left: 0,
                right: 1,
                height: 0.5,
                size: 2,
            },
            Merge {
                left: 2,
                right: 3,
                height: 1.25,
                size: 3,
            },
        ];
        assert_eq!(decode_linkage(&encode_linkage(&z)), z);
        let points = vec![[0.5, -1.0], [2.0, 3.25]];
        assert_eq!(decode_points(&encode_points(&points)), points);
    }
}
