//! GraphQL shapes of a run's results, built from the engine's stored types (the engine stays
//! free of GraphQL derives).

use async_graphql::SimpleObject;

use crate::engine::pipeline::FeatureConfig;
use crate::engine::profile::SegmentProfile;
use crate::engine::quality::KSweep;
use crate::service::runs::Run;

/// Which columns became features, and how.
#[derive(SimpleObject)]
#[graphql(name = "FeatureConfig")]
pub struct FeatureConfigObject {
    /// Standardized numeric columns.
    numeric_features: Vec<String>,
    /// One-hot encoded categorical columns.
    categorical_features: Vec<String>,
    /// Distinct on every row (kept in the output, not features).
    identifier_columns: Vec<String>,
    /// One value only (left out).
    constant_columns: Vec<String>,
    /// Left out by the request.
    excluded_columns: Vec<String>,
    /// Missing values filled in, per column.
    imputed: Vec<ImputationObject>,
    pca_applied: bool,
    pca_components: Option<i64>,
    /// Share of variance each kept component explains.
    explained_variance_ratio: Vec<f64>,
    /// Columns after scaling and one-hot encoding (before PCA).
    n_encoded_features: i64,
    encoded_feature_names: Vec<String>,
}

/// Missing values filled in one column.
#[derive(SimpleObject)]
#[graphql(name = "Imputation")]
pub struct ImputationObject {
    column: String,
    count: i64,
    /// The value used: the median (numeric) or the most frequent value (categorical).
    value: String,
}

impl From<&FeatureConfig> for FeatureConfigObject {
    fn from(c: &FeatureConfig) -> Self {
        FeatureConfigObject {
            numeric_features: c.numeric_features.clone(),
            categorical_features: c.categorical_features.clone(),
            identifier_columns: c.identifier_columns.clone(),
            constant_columns: c.constant_columns.clone(),
            excluded_columns: c.excluded_columns.clone(),
            imputed: c
                .imputed
                .iter()
                .map(|i| ImputationObject {
                    column: i.column.clone(),
                    count: i.count as i64,
                    value: match &i.value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                })
                .collect(),
            pca_applied: c.pca_applied,
            pca_components: c.pca_components.map(|n| n as i64),
            explained_variance_ratio: c.explained_variance_ratio.clone(),
            n_encoded_features: c.n_encoded_features as i64,
            encoded_feature_names: c.encoded_feature_names.clone(),
        }
    }
}

/// A segment's profile: what sets its customers apart.
#[derive(SimpleObject)]
#[graphql(name = "Segment")]
pub struct SegmentObject {
    /// Segment number (0 = largest).
    segment: i32,
    /// The analyst's name for it (`renameSegment`), or else the generated one.
    name: String,
    /// Generated from its most distinctive traits, e.g. "High spend, frequent visits".
    generated_name: String,
    /// The analyst's note on it (`renameSegment`).
    note: Option<String>,
    size: i64,
    /// Fraction of all customers.
    share: f64,
    /// Mean silhouette of its customers.
    silhouette: Option<f64>,
    numeric: Vec<NumericTraitObject>,
    categorical: Vec<CategoricalTraitObject>,
}

/// A numeric feature within a segment.
#[derive(SimpleObject)]
#[graphql(name = "NumericTrait")]
pub struct NumericTraitObject {
    feature: String,
    /// Mean over the segment's customers who have a value; null when none has one.
    mean: Option<f64>,
    /// Median over the same customers; null when none has a value.
    median: Option<f64>,
    /// Standard deviations the segment's mean sits from the whole table's; null without a mean.
    z: Option<f64>,
    /// Customers of the segment without a value in this column (imputed for clustering).
    missing: i64,
}

/// A categorical feature within a segment: its most common levels.
#[derive(SimpleObject)]
#[graphql(name = "CategoricalTrait")]
pub struct CategoricalTraitObject {
    feature: String,
    levels: Vec<LevelShareObject>,
}

#[derive(SimpleObject)]
#[graphql(name = "LevelShare")]
pub struct LevelShareObject {
    value: String,
    count: i64,
    /// Fraction of the segment with this level.
    share: f64,
    /// Share in the segment divided by share in the whole table (above 1: over-represented).
    lift: f64,
}

impl SegmentObject {
    /// Segment `p` of `run`, with the analyst's name and note.
    pub fn of(run: &Run, p: &SegmentProfile) -> Self {
        SegmentObject {
            segment: p.segment as i32,
            name: p.name.clone(),
            generated_name: run.generated_name(p).to_string(),
            note: run.note(p.segment).map(str::to_string),
            size: p.size as i64,
            share: p.share,
            silhouette: p.silhouette,
            numeric: p
                .numeric
                .iter()
                .map(|t| NumericTraitObject {
                    feature: t.feature.clone(),
                    mean: t.mean,
                    median: t.median,
                    z: t.z,
                    missing: t.missing as i64,
                })
                .collect(),
            categorical: p
                .categorical
                .iter()
                .map(|t| CategoricalTraitObject {
                    feature: t.feature.clone(),
                    levels: t
                        .levels
                        .iter()
                        .map(|l| LevelShareObject {
                            value: l.value.clone(),
                            count: l.count as i64,
                            share: l.share,
                            lift: l.lift,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Quality of other segment counts, from the same tree.
#[derive(SimpleObject)]
#[graphql(name = "KSweep")]
pub struct KSweepObject {
    points: Vec<KPointObject>,
    /// The largest k whose every segment is stable (stability at least 0.75) with a silhouette
    /// within 0.1 of the best stable k. When `structure` is false (or stability was not
    /// measured, in runs made before it was), the k with the best silhouette.
    suggested_k: i32,
    /// False when the data shows no clear segments: no k has every segment stable, or the
    /// best silhouette is below 0.25. Null in runs made before the rule existed.
    structure: Option<bool>,
    /// Why `suggestedK`, in plain words with the figures used. Empty in runs made before the
    /// rule existed.
    reason: String,
    /// Resamples behind the stability figures (20); null when stability was not measured.
    resamples: Option<i32>,
    /// Rows in each resample: half the table, at most 2,000.
    resample_rows: Option<i64>,
    /// Null when the silhouettes are exact; otherwise the number of rows they were estimated
    /// on (tables above 20,000 rows). Sums of squares are always exact.
    sample_size: Option<i64>,
}

#[derive(SimpleObject)]
#[graphql(name = "KPoint")]
pub struct KPointObject {
    k: i32,
    silhouette: f64,
    /// Within-segment sum of squares.
    wss: f64,
    /// Stability of the least stable segment (0..1; 0.75 and above is stable). Null when not
    /// measured.
    stability: Option<f64>,
    /// Stability of each segment of this cut, segment 0 first: the mean over resamples of its
    /// best Jaccard similarity with a segment of the resample's own tree cut into k.
    segment_stability: Vec<f64>,
}

impl From<&KSweep> for KSweepObject {
    fn from(s: &KSweep) -> Self {
        KSweepObject {
            points: s
                .points
                .iter()
                .map(|p| KPointObject {
                    k: p.k as i32,
                    silhouette: p.silhouette,
                    wss: p.wss,
                    stability: p.stability(),
                    segment_stability: p.segment_stability.clone(),
                })
                .collect(),
            suggested_k: s.suggested_k as i32,
            structure: s.structure,
            reason: s.reason.clone(),
            resamples: s.resampling.map(|r| r.resamples as i32),
            resample_rows: s.resampling.map(|r| r.rows as i64),
            sample_size: s.sample_size.map(|n| n as i64),
        }
    }
}
