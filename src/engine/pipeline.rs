//! The engine's single entry point: a parsed table and run parameters in, segments out.
//!
//! The server's run worker, the offline `segmentiq cluster` command, tests and benchmarks all
//! call [`run`], so every interface produces the same numbers. [`validate`] performs every
//! check that does not need the clustering itself, so the server can reject a bad request
//! before queueing it.

use super::cut::{cut_clusters, cut_height, cut_line, rows_of_leaves};
use super::ingest::{ColumnKind, IngestError, Table};
use super::linkage::{LinkageError, linkage, ward_weighted};
use super::microclusters::{self, Approximation, ApproximationMethod};
use super::model::{Model, Preprocessing, Projection};
use super::pca;
use super::preprocess::{self, Imputation};
use super::profile::{SegmentProfile, profile_segments};
use super::quality::{
    KSweep, Sampling, cophenetic_of_groups, cophenetic_sampled, k_sweep_of_groups,
};
use super::silhouette::{segment_means, silhouette_samples, silhouette_score};
use super::spec::{self, SpecError};
use super::stability::Resampling;
use super::types::{Cancelled, Merge, Method, Metric, Progress, Stage};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::time::Instant;

pub use super::microclusters::DEFAULT_MAX_EXACT_ROWS;
pub use super::pca::PcaSpec;

/// On approximate runs, the silhouette of tables with more rows than this is estimated on a
/// fixed sample of this many rows (as scikit-learn's `silhouette_score(sample_size=10000)`):
/// an exact silhouette is O(n²), a minute at 100,000 rows, while the sample's 95% interval is
/// about ±0.005 wide on customer tables.
pub const SILHOUETTE_SAMPLE: usize = 10_000;

/// Largest number of encoded columns a run may have. One-hot encoding a free-text column with
/// thousands of distinct values would blow up memory and time while adding nothing a segment
/// can be described by, so such requests are refused with the column named.
pub const MAX_ENCODED_FEATURES: usize = 1000;

/// Where to cut the tree.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Cut {
    /// Into exactly this many segments (2..=rows).
    Clusters(usize),
    /// At this merge height: every merge at or below it is kept.
    Height(f64),
    /// Into the number of segments the k sweep suggests (see
    /// [`suggest`](super::quality::suggest)); the run
    /// records the count and why in [`Metrics::k_choice`].
    Auto,
}

/// Which columns become features. Forced kinds are applied first; then `include` (when given)
/// limits the candidates; then `exclude` and `ignore` remove columns. Identifier and constant columns are
/// never features unless a forced kind makes them numeric or categorical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct FeatureSelection {
    pub include: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// Kinds that override detection, by column name.
    pub kinds: Vec<(String, ColumnKind)>,
    /// Columns the analyst set to "ignore": left out like `exclude`, named as a column use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// Everything a run needs besides the table.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Params {
    pub method: Method,
    pub metric: Metric,
    pub cut: Cut,
    pub pca: Option<PcaSpec>,
    pub features: FeatureSelection,
    /// Also score k = 2..=10 to suggest a segment count.
    pub k_sweep: bool,
    /// Tables with more rows take the large-table path (see [`super::microclusters`]):
    /// customers are grouped into micro-clusters first and the run is approximate.
    #[serde(default = "default_max_exact_rows")]
    pub max_exact_rows: usize,
}

fn default_max_exact_rows() -> usize {
    DEFAULT_MAX_EXACT_ROWS
}

impl Params {
    /// Ward linkage into `k` segments on every usable column, no PCA, with a k sweep: the
    /// predecessor's defaults.
    pub fn new(method: Method, k: usize) -> Self {
        Params {
            method,
            metric: Metric::Euclidean,
            cut: Cut::Clusters(k),
            pca: None,
            features: FeatureSelection::default(),
            k_sweep: true,
            max_exact_rows: DEFAULT_MAX_EXACT_ROWS,
        }
    }
}

/// Why a run cannot be done; every message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A setting breaks one of the rules in [`spec`](super::spec).
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Linkage(LinkageError),
    #[error(
        "a cut at height {height} leaves every customer in one segment: the tree's last merge is at {top}; choose a height below {top}, or a number of segments"
    )]
    CutAboveTree { height: String, top: String },
    #[error(
        "{k} segments were asked for, but above {max_exact_rows} rows the customers are first grouped into {micro_clusters} micro-clusters; ask for at most {micro_clusters} segments"
    )]
    MoreSegmentsThanMicroClusters {
        k: usize,
        micro_clusters: usize,
        max_exact_rows: usize,
    },
    #[error("the run was cancelled")]
    Cancelled,
}

impl From<Cancelled> for EngineError {
    fn from(_: Cancelled) -> Self {
        EngineError::Cancelled
    }
}

impl From<LinkageError> for EngineError {
    fn from(e: LinkageError) -> Self {
        match e {
            LinkageError::Cancelled => EngineError::Cancelled,
            other => EngineError::Linkage(other),
        }
    }
}

/// How the table was turned into features; stored with the run and shown to users.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FeatureConfig {
    pub numeric_features: Vec<String>,
    pub categorical_features: Vec<String>,
    pub identifier_columns: Vec<String>,
    pub constant_columns: Vec<String>,
    /// Columns left out by the user (`exclude`, or not in `include`).
    pub excluded_columns: Vec<String>,
    pub imputed: Vec<Imputation>,
    pub pca_applied: bool,
    pub pca_components: Option<usize>,
    /// Per kept component; empty without PCA.
    pub explained_variance_ratio: Vec<f64>,
    /// Columns after scaling and one-hot encoding, before PCA.
    pub n_encoded_features: usize,
    pub encoded_feature_names: Vec<String>,
    pub method: Method,
    pub metric: Metric,
}

/// Quality and size figures of a run (the predecessor's names, plus more).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Metrics {
    pub n_samples: usize,
    pub n_clusters: usize,
    pub n_encoded_features: usize,
    /// Mean silhouette; `None` when it is undefined (one segment, or one row per segment).
    /// Estimated on a sample of rows when `silhouette_sample_size` is set.
    pub silhouette_score: Option<f64>,
    /// `None` when the silhouette is exact. Otherwise the number of rows it was estimated on
    /// (a fixed sample, distances among sampled rows only, as scikit-learn's
    /// `silhouette_score(sample_size=...)`); `segment_silhouettes` are then estimates too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silhouette_sample_size: Option<usize>,
    /// With an estimated silhouette: its 95% interval, the mean ± 1.96 standard errors of the
    /// sampled rows' silhouettes (the uncertainty of which rows were drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silhouette_interval: Option<[f64; 2]>,
    /// How the run was approximated (the large-table path); `None` on exact runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximation: Option<Approximation>,
    /// Rows per segment, segment 0 first (the largest).
    pub cluster_sizes: Vec<usize>,
    /// Mean silhouette per segment; empty when the silhouette is undefined.
    pub segment_silhouettes: Vec<f64>,
    /// Correlation between input distances and tree (cophenetic) distances. Exact up to
    /// 20,000 rows; estimated on a sample of rows above (see `cophenetic_sample_size`).
    pub cophenetic_correlation: Option<f64>,
    /// `None` when `cophenetic_correlation` is exact; otherwise the number of rows it was
    /// estimated on (pairs of sampled rows, cophenetic distances from the full tree; see
    /// [`Sampling::LARGE_TABLES`]). Missing in metrics stored before sampling existed (they
    /// were exact).
    #[serde(default)]
    pub cophenetic_sample_size: Option<usize>,
    /// Height of the cut through the tree (drawn on the dendrogram).
    pub cut_height: f64,
    /// Set when the run chose its number of segments ([`Cut::Auto`]): the k sweep's reason for
    /// the count. `None` when the count or height was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_choice: Option<String>,
    /// Why the segments may not be worth acting on although the run succeeded (segments of
    /// one customer, a cut at height 0), in sentences for the analyst. Empty when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A height for a message: six significant digits, in exponent form when very large or small
/// (`1e300`, not three hundred digits).
fn short_number(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e9).contains(&v.abs()) {
        return format!("{v:e}");
    }
    let fixed = format!("{v:.6}");
    fixed
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// Segments smaller than this share of the customers (and at least 2) are called tiny.
const TINY_SHARE: f64 = 0.01;

/// Names what makes a result degenerate, so a run of one-customer segments does not read as
/// "Fair" without a word.
fn degenerate_warnings(sizes: &[usize], cut: Cut) -> Vec<String> {
    let n: usize = sizes.iter().sum();
    let k = sizes.len();
    let mut warnings = Vec::new();
    if let Cut::Height(h) = cut
        && h == 0.0
    {
        warnings.push(
            "the cut is at height 0, so only identical customers share a segment; choose a higher cut or a number of segments".to_string(),
        );
    }
    let singles = sizes.iter().filter(|&&s| s == 1).count();
    let tiny_below = ((n as f64 * TINY_SHARE).ceil() as usize).max(2);
    let tiny = sizes.iter().filter(|&&s| s > 1 && s < tiny_below).count();
    if singles == k {
        warnings.push(
            "every segment holds a single customer: there are no groups to describe; ask for fewer segments".to_string(),
        );
    } else if singles > 0 {
        warnings.push(format!(
            "{singles} of {k} segments hold a single customer (outliers, not groups); ask for fewer segments or look at those customers on their own"
        ));
    }
    if tiny > 0 && singles < k {
        warnings.push(format!(
            "{tiny} of {k} segments hold fewer than {tiny_below} customers (under {}% of the table); they may be too small to act on",
            TINY_SHARE * 100.0
        ));
    }
    warnings
}

/// Wall time of one stage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StageTiming {
    pub stage: Stage,
    pub seconds: f64,
}

/// Everything a run produces.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Outcome {
    pub feature_config: FeatureConfig,
    /// The tree: over the rows on exact runs, over the micro-clusters on approximate ones
    /// (merge sizes then count customers).
    pub linkage: Vec<Merge>,
    /// Segment of every input row; 0 is the largest segment.
    pub labels: Vec<usize>,
    /// On approximate runs, the micro-cluster (leaf of `linkage`) of every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_cluster_of: Option<Vec<u32>>,
    pub metrics: Metrics,
    /// Silhouette of every row; empty when the silhouette is undefined or estimated on a
    /// sample (see `Metrics::silhouette_sample_size`).
    pub silhouettes: Vec<f64>,
    pub k_sweep: Option<KSweep>,
    pub profiles: Vec<SegmentProfile>,
    /// 2-D PCA coordinates of every row, for the segment map.
    pub map: Vec<[f64; 2]>,
    /// What places new customers in these segments.
    pub model: Model,
    pub timings: Vec<StageTiming>,
}

impl Outcome {
    /// The segment of every leaf of `linkage`, for drawing the tree: the rows' labels on exact
    /// runs, each micro-cluster's segment on approximate ones.
    pub fn leaf_labels(&self) -> Vec<usize> {
        match &self.micro_cluster_of {
            None => self.labels.clone(),
            Some(leaf_of) => {
                let mut leaves = vec![0usize; self.linkage.len() + 1];
                for (&leaf, &label) in leaf_of.iter().zip(&self.labels) {
                    leaves[leaf as usize] = label;
                }
                leaves
            }
        }
    }
}

/// The columns a run uses, resolved from the table and the selection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResolvedFeatures {
    pub numeric: Vec<usize>,
    pub categorical: Vec<usize>,
    pub identifiers: Vec<usize>,
    pub constants: Vec<usize>,
    pub excluded: Vec<usize>,
    /// Encoded width (numeric columns plus one per categorical level).
    pub n_encoded: usize,
}

/// Checks a run request against a table without clustering (cheap: one pass over the
/// categorical columns). [`run`] calls it too; the rules are in [`spec`](super::spec).
pub fn validate(table: &Table, params: &Params) -> Result<(), EngineError> {
    spec::check(table, params)?;
    Ok(())
}

/// Records the wall time of each stage and forwards progress.
struct Clock<'a> {
    progress: &'a dyn Progress,
    timings: Vec<StageTiming>,
    started: Instant,
    stage: Stage,
}

impl<'a> Clock<'a> {
    fn start(progress: &'a dyn Progress, stage: Stage) -> Result<Self, Cancelled> {
        progress.report(stage, 0.0)?;
        Ok(Clock {
            progress,
            timings: Vec::new(),
            started: Instant::now(),
            stage,
        })
    }

    /// Closes the current stage and opens the next one.
    fn next(&mut self, stage: Stage) -> Result<(), Cancelled> {
        self.finish()?;
        self.stage = stage;
        self.started = Instant::now();
        self.progress.report(stage, 0.0)
    }

    fn finish(&mut self) -> Result<(), Cancelled> {
        self.timings.push(StageTiming {
            stage: self.stage,
            seconds: self.started.elapsed().as_secs_f64(),
        });
        self.progress.report(self.stage, 1.0)
    }
}

/// The k sweep of a run: silhouettes on a sample of rows for large tables, stability over
/// resamples of at most 2,000 rows, and the suggestion from both.
fn sweep_of(
    x: ndarray::ArrayView2<f64>,
    z: &[Merge],
    leaf_of: Option<&[u32]>,
    params: &Params,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    k_sweep_of_groups(
        x,
        z,
        leaf_of,
        params.method,
        params.metric,
        Sampling::LARGE_TABLES,
        Resampling::STANDARD,
        progress,
    )
}

/// Runs the whole pipeline: select and encode features, optional PCA, linkage, cut,
/// silhouette, cophenetic correlation, optional k sweep, profiles and map coordinates.
///
/// Tables of more than `params.max_exact_rows` rows take the large-table path: rows are
/// grouped into micro-clusters ([`microclusters::compress`]), the Ward tree is built over
/// them with their sizes as weights, and every row gets its micro-cluster's segment; the
/// outcome says so (`Metrics::approximation`) and its tree's leaves are the micro-clusters.
///
/// The silhouette of an exact run (`Metrics::silhouette_score` and every row's) is exact at
/// every size; on an approximate run of more than [`SILHOUETTE_SAMPLE`] rows it is estimated
/// on a fixed sample of rows, with its 95% interval (`Metrics::silhouette_sample_size`,
/// `Metrics::silhouette_interval`). Above 20,000 rows the cophenetic correlation and the k
/// sweep's silhouettes are estimated on a fixed sample of 10,000 rows
/// ([`Sampling::LARGE_TABLES`]), which the outcome records
/// (`Metrics::cophenetic_sample_size`, `KSweep::sample_size`).
///
/// `progress` hears about every stage and can cancel between and within stages.
pub fn run(
    table: &Table,
    params: &Params,
    progress: &dyn Progress,
) -> Result<Outcome, EngineError> {
    let mut clock = Clock::start(progress, Stage::Preprocessing)?;
    let resolved = spec::check(table, params)?;
    let n = table.n_rows;
    let encoded = preprocess::encode(table, &resolved.numeric, &resolved.categorical);
    let feature_names = |cols: &[usize]| -> Vec<String> {
        cols.iter().map(|&c| table.headers[c].clone()).collect()
    };
    let mut preprocessing = Preprocessing::fitted(
        &feature_names(&resolved.numeric),
        &feature_names(&resolved.categorical),
        &encoded,
    );

    let (x, pca_fit): (Array2<f64>, Option<pca::Pca>) = match params.pca {
        Some(spec) => {
            clock.next(Stage::Pca)?;
            let fit = pca::fit(encoded.matrix.view(), spec);
            preprocessing.pca = Some(Projection::of(&fit));
            (fit.transform(encoded.matrix.view()), Some(fit))
        }
        // Moved, not copied: the matrix can be hundreds of megabytes.
        None => (encoded.matrix, None),
    };

    clock.next(Stage::Linkage)?;
    // Above the limit: micro-clusters first, then the Ward tree of their weighted centroids
    // (spec::check refused every other linkage). Every row's segment is its micro-cluster's.
    let (z, leaf_of, approximation) = if n > params.max_exact_rows {
        let m = microclusters::count_for(n, params.max_exact_rows);
        let micro = microclusters::compress(x.view(), m, progress)?;
        let z = ward_weighted(micro.centroids.view(), &micro.sizes, progress)?;
        let approximation = Approximation {
            method: ApproximationMethod::KmeansWard,
            micro_clusters: micro.sizes.len(),
            max_exact_rows: params.max_exact_rows,
            within_share: micro.within_share(),
        };
        (z, Some(micro.member_of), Some(approximation))
    } else {
        let z = linkage(x.view(), params.method, params.metric, progress)?;
        (z, None, None)
    };
    let leaves = z.len() + 1;
    let leaf_of_rows = leaf_of.as_deref();
    // A cut of the tree as labels of the rows.
    let rows = |leaf_labels: Vec<usize>| match leaf_of_rows {
        None => leaf_labels,
        Some(leaf_of) => rows_of_leaves(&leaf_labels, leaf_of),
    };
    if let (Cut::Clusters(k), Some(approximation)) = (params.cut, &approximation)
        && k > leaves
    {
        return Err(EngineError::MoreSegmentsThanMicroClusters {
            k,
            micro_clusters: approximation.micro_clusters,
            max_exact_rows: params.max_exact_rows,
        });
    }

    // Choosing the count needs the sweep before the cut; it is the same sweep either way.
    let chosen_by = if params.cut == Cut::Auto {
        clock.next(Stage::KSweep)?;
        Some(sweep_of(x.view(), &z, leaf_of_rows, params, progress)?)
    } else {
        None
    };

    clock.next(Stage::Cutting)?;
    let (labels, cut_at) = match (params.cut, &chosen_by) {
        (Cut::Clusters(k), _) => (rows(cut_clusters(&z, k)), cut_line(&z, k)),
        (Cut::Height(h), _) => (rows(cut_height(&z, h)), h),
        (Cut::Auto, sweep) => {
            let k = sweep.as_ref().map_or(2, |s| s.suggested_k.max(2));
            (rows(cut_clusters(&z, k)), cut_line(&z, k))
        }
    };
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    if k < 2 {
        // One segment is refused when asked for as a number; a height cut above the tree's
        // top must not give it by the back door.
        return Err(EngineError::CutAboveTree {
            height: short_number(cut_at),
            top: short_number(z.last().map_or(0.0, |m| m.height)),
        });
    }
    let mut sizes = vec![0usize; k];
    for &l in &labels {
        sizes[l] += 1;
    }
    let mut warnings = degenerate_warnings(&sizes, params.cut);
    if let Some(sweep) = &chosen_by
        && sweep.structure == Some(false)
    {
        warnings.push(format!(
            "the number of segments was chosen automatically, but the data shows {}",
            sweep.reason
        ));
    }

    clock.next(Stage::Silhouette)?;
    let defined = k >= 2 && k < n;
    let estimated = approximation.is_some() && n > SILHOUETTE_SAMPLE;
    let silhouette = if !defined {
        Silhouette::default()
    } else if estimated {
        estimated_silhouette(x.view(), &labels, k, params.metric, progress)?
    } else {
        let samples = silhouette_samples(x.view(), &labels, params.metric, progress)?;
        Silhouette {
            score: Some(silhouette_score(&samples)),
            segments: segment_means(&samples, &labels, k),
            rows: samples,
            sample_size: None,
            interval: None,
        }
    };

    // The two quality figures below are estimated on a sample of rows for large tables
    // (recorded in the outcome).
    clock.next(Stage::Cophenetic)?;
    let (cophenetic, cophenetic_sample_size) = match leaf_of_rows {
        None => cophenetic_sampled(
            x.view(),
            &z,
            params.metric,
            Sampling::LARGE_TABLES,
            progress,
        )?,
        Some(leaf_of) => cophenetic_of_groups(
            x.view(),
            &z,
            leaf_of,
            params.metric,
            Sampling::LARGE_TABLES,
            progress,
        )?,
    };

    let k_choice = chosen_by.as_ref().map(|s| s.reason.clone());
    let sweep = match chosen_by {
        Some(sweep) => Some(sweep),
        None if params.k_sweep => {
            clock.next(Stage::KSweep)?;
            Some(sweep_of(x.view(), &z, leaf_of_rows, params, progress)?)
        }
        None => None,
    };

    clock.next(Stage::Profiling)?;
    let profiles = profile_segments(
        table,
        &labels,
        k,
        &resolved.numeric,
        &resolved.categorical,
        &silhouette.segments,
    );
    // A large table's map axes come from a fixed sample of rows: fitting them on every row
    // would copy the whole matrix, the largest allocation of a run of a million rows.
    let map = match (&approximation, MAP_SAMPLE.rows(n)) {
        (Some(_), Some(sample)) => pca::map_coordinates_sampled(x.view(), &sample),
        _ => pca::map_coordinates(x.view()),
    };
    clock.finish()?;

    let names = feature_names;
    let segment_names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let model = Model::build(
        params.method,
        params.metric,
        preprocessing,
        x.view(),
        &labels,
        &segment_names,
    );
    let n_encoded = encoded.feature_names.len();
    let feature_config = FeatureConfig {
        numeric_features: names(&resolved.numeric),
        categorical_features: names(&resolved.categorical),
        identifier_columns: names(&resolved.identifiers),
        constant_columns: names(&resolved.constants),
        excluded_columns: names(&resolved.excluded),
        imputed: encoded.imputed,
        pca_applied: pca_fit.is_some(),
        pca_components: pca_fit.as_ref().map(pca::Pca::n_components),
        explained_variance_ratio: pca_fit
            .map(|p| p.explained_variance_ratio)
            .unwrap_or_default(),
        n_encoded_features: n_encoded,
        encoded_feature_names: encoded.feature_names,
        method: params.method,
        metric: params.metric,
    };
    let metrics = Metrics {
        n_samples: n,
        n_clusters: k,
        n_encoded_features: n_encoded,
        silhouette_score: silhouette.score,
        silhouette_sample_size: silhouette.sample_size,
        silhouette_interval: silhouette.interval,
        approximation,
        cluster_sizes: sizes,
        segment_silhouettes: silhouette.segments,
        cophenetic_correlation: cophenetic.is_finite().then_some(cophenetic),
        cophenetic_sample_size,
        cut_height: cut_at,
        k_choice,
        warnings,
    };
    Ok(Outcome {
        feature_config,
        linkage: z,
        labels,
        micro_cluster_of: leaf_of,
        metrics,
        silhouettes: silhouette.rows,
        k_sweep: sweep,
        profiles,
        map,
        model,
        timings: clock.timings,
    })
}

/// Rows the map's axes are fitted on in approximate runs.
const MAP_SAMPLE: Sampling = Sampling {
    max_exact: 20_000,
    sample_size: 20_000,
};

/// A run's silhouette figures, exact or estimated.
#[derive(Default)]
struct Silhouette {
    score: Option<f64>,
    segments: Vec<f64>,
    /// Every row's silhouette; empty when estimated.
    rows: Vec<f64>,
    sample_size: Option<usize>,
    interval: Option<[f64; 2]>,
}

/// The silhouette estimated on a fixed sample of [`SILHOUETTE_SAMPLE`] rows, with its 95%
/// interval from the standard error of the sampled rows' silhouettes.
fn estimated_silhouette(
    x: ndarray::ArrayView2<f64>,
    labels: &[usize],
    k: usize,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Silhouette, Cancelled> {
    let sampling = Sampling {
        max_exact: SILHOUETTE_SAMPLE,
        sample_size: SILHOUETTE_SAMPLE,
    };
    let rows = sampling
        .rows(x.nrows())
        .unwrap_or_else(|| (0..x.nrows()).collect());
    let xs = x.select(ndarray::Axis(0), &rows);
    let ls: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
    let samples = silhouette_samples(xs.view(), &ls, metric, progress)?;
    let m = samples.len() as f64;
    let mean = silhouette_score(&samples);
    let variance =
        samples.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (m - 1.0).max(1.0);
    let half = 1.96 * (variance / m).sqrt();
    Ok(Silhouette {
        score: Some(mean),
        segments: segment_means(&samples, &ls, k),
        rows: Vec::new(),
        sample_size: Some(samples.len()),
        interval: Some([mean - half, mean + half]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NoProgress;
    use crate::engine::ingest::read_csv;

    /// Two obvious groups of customers plus an id column and a constant column.
    fn table() -> Table {
        let mut csv = String::from("customer_id,spend,visits,city,country\n");
        for i in 0..12 {
            let (spend, visits, city) = if i % 3 == 0 {
                (9000.0 + i as f64 * 10.0, 12, "Addis Ababa")
            } else {
                (1500.0 + i as f64 * 7.0, 2, "Adama")
            };
            csv.push_str(&format!("C{i:04},{spend},{visits},{city},Ethiopia\n"));
        }
        read_csv(csv.as_bytes()).unwrap()
    }

    #[test]
    fn runs_end_to_end() {
        let t = table();
        let out = run(&t, &Params::new(Method::Ward, 2), &NoProgress).unwrap();
        let fc = &out.feature_config;
        assert_eq!(fc.numeric_features, ["spend", "visits"]);
        assert_eq!(fc.categorical_features, ["city"]);
        assert_eq!(fc.identifier_columns, ["customer_id"]);
        assert_eq!(fc.constant_columns, ["country"]);
        assert_eq!(fc.n_encoded_features, 4);
        assert_eq!(out.linkage.len(), 11);
        assert_eq!(out.metrics.cluster_sizes, [8, 4]);
        for (i, &l) in out.labels.iter().enumerate() {
            assert_eq!(l, if i % 3 == 0 { 1 } else { 0 });
        }
        assert!(out.metrics.silhouette_score.unwrap() > 0.8);
        assert_eq!(out.silhouettes.len(), 12);
        assert_eq!(out.map.len(), 12);
        assert_eq!(out.profiles[1].name, "High visits, high spend, Addis Ababa");
        assert!(out.k_sweep.is_some());
        let cut = out.metrics.cut_height;
        assert!(out.linkage[9].height < cut && cut < out.linkage[10].height);
        // Exact runs say nothing of approximation, not even a null.
        assert!(out.metrics.approximation.is_none());
        assert_eq!(out.metrics.silhouette_sample_size, None);
        assert!(out.micro_cluster_of.is_none());
        let json = serde_json::to_value(&out.metrics).unwrap();
        for key in [
            "approximation",
            "silhouette_sample_size",
            "silhouette_interval",
        ] {
            assert!(json.get(key).is_none(), "{key}");
        }
        for key in [
            "n_samples",
            "n_clusters",
            "n_encoded_features",
            "silhouette_score",
            "cluster_sizes",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    /// Above the exact limit: every row gets its micro-cluster's segment, the tree's leaves are
    /// the micro-clusters (sizes in customers), and other linkages are refused with the reason.
    #[test]
    fn large_tables_take_the_micro_cluster_path() {
        let t = read_csv(crate::engine::sample::sample_customers(3_000, 42).as_bytes()).unwrap();
        let params = Params {
            max_exact_rows: 1_000,
            k_sweep: false,
            ..Params::new(Method::Ward, 4)
        };
        let out = run(&t, &params, &NoProgress).unwrap();
        let a = out.metrics.approximation.clone().expect("approximate");
        assert_eq!((a.micro_clusters, a.max_exact_rows), (750, 1_000));
        let leaf_of = out.micro_cluster_of.clone().expect("micro-clusters");
        let leaves = out.leaf_labels();
        assert_eq!(leaves.len(), 750);
        for (row, &leaf) in leaf_of.iter().enumerate() {
            assert_eq!(out.labels[row], leaves[leaf as usize], "row {row}");
        }
        assert_eq!(out.linkage.last().map(|m| m.size), Some(3_000));
        // 3,000 rows: few enough for an exact silhouette.
        assert_eq!(out.metrics.silhouette_sample_size, None);
        assert_eq!(out.silhouettes.len(), 3_000);
        let json = serde_json::to_value(&out.metrics).unwrap();
        assert_eq!(json["approximation"]["method"], "kmeans_ward");
        assert_eq!(json["approximation"]["micro_clusters"], 750);

        let err = |p: &Params| run(&t, p, &NoProgress).unwrap_err().to_string();
        let average = Params {
            method: Method::Average,
            ..params.clone()
        };
        assert!(
            err(&average).starts_with(
                "the table has 3000 rows, more than the 1000 clustered exactly (--max-exact-rows)"
            ),
            "{}",
            err(&average)
        );
        let too_many = Params {
            cut: Cut::Clusters(800),
            ..params.clone()
        };
        assert!(err(&too_many).starts_with("800 segments were asked for"));
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(1e300), "1e300");
        assert_eq!(short_number(4.3051234567), "4.305123");
        assert_eq!(short_number(2.0), "2");
        assert_eq!(short_number(0.0), "0");
    }

    #[test]
    fn degenerate_results_are_named() {
        assert!(degenerate_warnings(&[5, 4, 3], Cut::Clusters(3)).is_empty());
        let w = degenerate_warnings(&[5, 4, 1], Cut::Clusters(3));
        assert_eq!(w.len(), 1);
        assert!(
            w[0].starts_with("1 of 3 segments hold a single customer"),
            "{w:?}"
        );
        let w = degenerate_warnings(&[1, 1, 1], Cut::Height(0.0));
        assert!(w[0].starts_with("the cut is at height 0"), "{w:?}");
        assert!(
            w[1].starts_with("every segment holds a single customer"),
            "{w:?}"
        );
        assert_eq!(w.len(), 2);
        // 1% of 1,000 customers: a segment of 9 is tiny, one of 10 is not.
        let w = degenerate_warnings(&[981, 9, 10], Cut::Clusters(3));
        assert_eq!(
            w,
            [
                "1 of 3 segments hold fewer than 10 customers (under 1% of the table); they may be too small to act on"
            ]
        );
    }

    #[test]
    fn height_cut_and_pca() {
        let t = table();
        let mut p = Params::new(Method::Average, 2);
        p.cut = Cut::Height(1e9);
        p.pca = Some(PcaSpec::Variance(0.9));
        p.k_sweep = false;
        let err = run(&t, &p, &NoProgress).unwrap_err().to_string();
        assert!(
            err.starts_with("a cut at height 1e9 leaves every customer in one segment"),
            "{err}"
        );
        p.cut = Cut::Clusters(2);
        let out = run(&t, &p, &NoProgress).unwrap();
        assert!(out.feature_config.pca_applied);
        assert_eq!(out.feature_config.pca_components, Some(1));
        assert!(out.feature_config.explained_variance_ratio[0] > 0.9);
    }

    #[test]
    fn validation_messages() {
        let t = table();
        let err = |p: &Params| validate(&t, p).unwrap_err().to_string();
        assert_eq!(
            err(&Params::new(Method::Ward, 13)),
            "--clusters is 13 but the table has 12 rows; ask for at most 12"
        );
        assert_eq!(
            err(&Params::new(Method::Ward, 1)),
            "--clusters must be at least 2 so there is something to compare, got 1"
        );
        let mut p = Params::new(Method::Ward, 2);
        p.metric = Metric::Manhattan;
        assert!(err(&p).starts_with("ward linkage is defined for euclidean distances only"));
        let mut p = Params::new(Method::Average, 2);
        p.features.exclude = vec!["spending".into()];
        assert!(err(&p).starts_with(
            "--exclude names `spending`, but there is no such column; the columns are: customer_id, spend"
        ));
        p.features.exclude = vec!["spend".into(), "visits".into(), "city".into()];
        assert!(matches!(
            validate(&t, &p),
            Err(EngineError::Spec(SpecError::NoFeatures))
        ));
        p.features.exclude.clear();
        p.features.kinds = vec![("city".into(), ColumnKind::Numeric)];
        assert!(err(&p).contains("column `city` holds text"));
        p.features.kinds.clear();
        p.pca = Some(PcaSpec::Components(5));
        assert!(err(&p).starts_with("--pca must be from 1 to 4 for this table"));
        p.pca = Some(PcaSpec::Variance(1.5));
        assert!(
            err(&p).starts_with("--pca is the share of variance to keep: above 0 and at most 1")
        );
    }

    #[test]
    fn selection_include_and_forced_kinds() {
        let t = table();
        let sel = FeatureSelection {
            include: Some(vec!["spend".into()]),
            exclude: vec![],
            kinds: vec![("visits".into(), ColumnKind::Categorical)],
            ignore: Vec::new(),
        };
        let r = spec::resolve(&t, &sel).unwrap();
        assert_eq!(r.numeric, [1]);
        assert!(r.categorical.is_empty());
        assert_eq!(r.excluded, [2, 3]);
        let sel = FeatureSelection {
            kinds: vec![("visits".into(), ColumnKind::Categorical)],
            ignore: Vec::new(),
            ..Default::default()
        };
        let r = spec::resolve(&t, &sel).unwrap();
        assert_eq!(
            (r.numeric.as_slice(), r.categorical.as_slice()),
            (&[1][..], &[2, 3][..])
        );
        assert_eq!(r.n_encoded, 5);
    }

    #[test]
    fn cancelling_stops_the_run() {
        let t = table();
        let cancel = |stage: Stage, _f: f64| {
            if stage == Stage::Linkage {
                Err(Cancelled)
            } else {
                Ok(())
            }
        };
        assert!(matches!(
            run(&t, &Params::new(Method::Ward, 2), &cancel),
            Err(EngineError::Cancelled)
        ));
    }
}
