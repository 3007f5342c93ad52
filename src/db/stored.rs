//! The JSON documents a finished run keeps in `clustering_runs` (`feature_config`, `metrics`,
//! `profiles`, `k_sweep`), as versioned types of their own.
//!
//! Engine structs are free to change; these are not. A run stored by any earlier version must
//! read back, so a field is only ever added (with a default saying what runs stored before it
//! mean), never renamed or retyped in place; a change that cannot be made that way is a new
//! version beside [`v1`], read by converting to the newest. Each document converts from the
//! engine's result when a run is stored and back into it when it is read; `tests/stored_runs.rs`
//! reads fixtures of runs stored by earlier versions through every interface.
//!
//! The REST API's results (`/api/v1/clustering/runs/{id}`) are these documents too: both are the
//! predecessor's shape, kept as it was, so a new storage version must leave REST on `v1`'s shape.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::microclusters::{Approximation, ApproximationMethod};
use crate::engine::pipeline::{FeatureConfig, Metrics, Outcome};
use crate::engine::preprocess::Imputation;
use crate::engine::profile::{CategoricalTrait, LevelShare, NumericTrait, SegmentProfile};
use crate::engine::quality::{KPoint, KSweep, ResampleSize};

/// A finished run's documents, as the JSON of their columns (`None`: the column is NULL).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Documents {
    pub feature_config: Option<Value>,
    pub metrics: Option<Value>,
    pub profiles: Option<Value>,
    pub k_sweep: Option<Value>,
}

/// What a run's documents say, in the engine's types. A document that could not be read is
/// left empty.
#[derive(Clone, Debug, Default)]
pub struct Results {
    pub feature_config: Option<FeatureConfig>,
    pub metrics: Option<Metrics>,
    pub profiles: Vec<SegmentProfile>,
    pub k_sweep: Option<KSweep>,
}

impl Documents {
    /// The documents of a fresh engine outcome, in the newest version. Fails on a value JSON
    /// cannot hold (NaN where a number is required).
    pub fn of(outcome: &Outcome) -> serde_json::Result<Documents> {
        fn json<T: Serialize>(document: T) -> serde_json::Result<Option<Value>> {
            serde_json::to_value(document).map(Some)
        }
        let profiles: Vec<v1::SegmentProfile> = outcome.profiles.iter().map(Into::into).collect();
        Ok(Documents {
            feature_config: json(v1::FeatureConfig::from(&outcome.feature_config))?,
            metrics: json(v1::Metrics::from(&outcome.metrics))?,
            profiles: json(profiles)?,
            k_sweep: match &outcome.k_sweep {
                Some(sweep) => json(v1::KSweep::from(sweep))?,
                None => None,
            },
        })
    }

    /// Reads each document; one that cannot be read is left out of the results and described
    /// in the list returned beside them ("its metrics (missing field `n_samples`)").
    pub fn read(self) -> (Results, Vec<String>) {
        let mut damage = Vec::new();
        let results = Results {
            feature_config: read(
                "feature configuration",
                self.feature_config,
                &mut damage,
                |c: v1::FeatureConfig| FeatureConfig::try_from(c),
            ),
            metrics: read("metrics", self.metrics, &mut damage, |m: v1::Metrics| {
                Metrics::try_from(m)
            }),
            profiles: read(
                "segment profiles",
                self.profiles,
                &mut damage,
                |p: Vec<v1::SegmentProfile>| Ok(p.into_iter().map(Into::into).collect()),
            )
            .unwrap_or_default(),
            k_sweep: read("k sweep", self.k_sweep, &mut damage, |s: v1::KSweep| {
                Ok(s.into())
            }),
        };
        (results, damage)
    }
}

/// A stored document converted to the engine's type, or `None` (and what went wrong in
/// `damage`) when it cannot be read.
fn read<D: DeserializeOwned, T>(
    what: &str,
    value: Option<Value>,
    damage: &mut Vec<String>,
    convert: impl FnOnce(D) -> Result<T, String>,
) -> Option<T> {
    serde_json::from_value::<D>(value?)
        .map_err(|e| e.to_string())
        .and_then(convert)
        .map_err(|e| damage.push(format!("its {what} ({e})")))
        .ok()
}

pub mod v1 {
    //! Version 1, the shape of every run stored since the first release.
    use serde::{Deserialize, Serialize};

    /// How the table was turned into features.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct FeatureConfig {
        pub numeric_features: Vec<String>,
        pub categorical_features: Vec<String>,
        pub identifier_columns: Vec<String>,
        pub constant_columns: Vec<String>,
        pub excluded_columns: Vec<String>,
        pub imputed: Vec<Imputation>,
        pub pca_applied: bool,
        pub pca_components: Option<usize>,
        pub explained_variance_ratio: Vec<f64>,
        pub n_encoded_features: usize,
        pub encoded_feature_names: Vec<String>,
        /// A linkage name (`ward`, ...).
        pub method: String,
        /// A metric name (`euclidean`, ...).
        pub metric: String,
    }

    /// A column whose missing cells were filled.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Imputation {
        pub column: String,
        pub count: usize,
        /// A number (numeric columns) or a string (categorical ones).
        pub value: serde_json::Value,
    }

    /// Quality and size figures.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Metrics {
        pub n_samples: usize,
        pub n_clusters: usize,
        pub n_encoded_features: usize,
        pub silhouette_score: Option<f64>,
        pub cluster_sizes: Vec<usize>,
        pub segment_silhouettes: Vec<f64>,
        pub cophenetic_correlation: Option<f64>,
        /// Added 2026-11-24; absent from runs stored before, whose correlation was exact.
        #[serde(default)]
        pub cophenetic_sample_size: Option<usize>,
        pub cut_height: f64,
        /// Added 2026-12-06: why the run chose its number of segments; absent from runs stored
        /// before and from runs whose count or height was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub k_choice: Option<String>,
        /// Added 2026-12-02; absent from runs stored before (and when there is none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub warnings: Vec<String>,
        /// Added 2026-12-06 with the large-table path: the rows an estimated silhouette was
        /// computed on; absent from exact silhouettes and from runs stored before (exact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub silhouette_sample_size: Option<usize>,
        /// Added 2026-12-06: the 95% interval of an estimated silhouette; absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub silhouette_interval: Option<[f64; 2]>,
        /// Added 2026-12-06: how an approximate run was approximated; absent from exact runs
        /// and from runs stored before (all exact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub approximation: Option<Approximation>,
    }

    /// How an approximate run was approximated.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Approximation {
        /// `kmeans_ward`.
        pub method: String,
        pub micro_clusters: usize,
        pub max_exact_rows: usize,
        pub within_share: f64,
    }

    /// One segment.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct SegmentProfile {
        pub segment: usize,
        pub name: String,
        pub size: usize,
        pub share: f64,
        pub numeric: Vec<NumericTrait>,
        pub categorical: Vec<CategoricalTrait>,
        pub silhouette: Option<f64>,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct NumericTrait {
        pub feature: String,
        pub mean: Option<f64>,
        pub median: Option<f64>,
        pub z: Option<f64>,
        /// Added 2026-12-02; absent from runs stored before, which counted no missing members.
        #[serde(default)]
        pub missing: usize,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct CategoricalTrait {
        pub feature: String,
        pub levels: Vec<LevelShare>,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct LevelShare {
        pub value: String,
        pub count: usize,
        pub share: f64,
        pub lift: f64,
    }

    /// Other segment counts compared with the one asked for.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct KSweep {
        pub points: Vec<KPoint>,
        pub suggested_k: usize,
        /// Added 2026-11-24; absent from runs stored before, whose silhouettes were exact.
        #[serde(default)]
        pub sample_size: Option<usize>,
        /// The next three added 2026-12-06 with the stability rule; absent from runs stored
        /// before, whose suggestion was the best silhouette.
        #[serde(default)]
        pub structure: Option<bool>,
        #[serde(default)]
        pub reason: String,
        #[serde(default)]
        pub resampling: Option<ResampleSize>,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct KPoint {
        pub k: usize,
        pub silhouette: f64,
        pub wss: f64,
        /// Added 2026-12-06; absent from runs stored before (not measured).
        #[serde(default)]
        pub segment_stability: Vec<f64>,
    }

    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
    pub struct ResampleSize {
        pub resamples: usize,
        pub rows: usize,
    }
}

impl From<&FeatureConfig> for v1::FeatureConfig {
    fn from(c: &FeatureConfig) -> Self {
        v1::FeatureConfig {
            numeric_features: c.numeric_features.clone(),
            categorical_features: c.categorical_features.clone(),
            identifier_columns: c.identifier_columns.clone(),
            constant_columns: c.constant_columns.clone(),
            excluded_columns: c.excluded_columns.clone(),
            imputed: c.imputed.iter().map(Into::into).collect(),
            pca_applied: c.pca_applied,
            pca_components: c.pca_components,
            explained_variance_ratio: c.explained_variance_ratio.clone(),
            n_encoded_features: c.n_encoded_features,
            encoded_feature_names: c.encoded_feature_names.clone(),
            method: c.method.as_str().to_string(),
            metric: c.metric.as_str().to_string(),
        }
    }
}

impl TryFrom<v1::FeatureConfig> for FeatureConfig {
    type Error = String;
    fn try_from(c: v1::FeatureConfig) -> Result<Self, String> {
        Ok(FeatureConfig {
            numeric_features: c.numeric_features,
            categorical_features: c.categorical_features,
            identifier_columns: c.identifier_columns,
            constant_columns: c.constant_columns,
            excluded_columns: c.excluded_columns,
            imputed: c.imputed.into_iter().map(Into::into).collect(),
            pca_applied: c.pca_applied,
            pca_components: c.pca_components,
            explained_variance_ratio: c.explained_variance_ratio,
            n_encoded_features: c.n_encoded_features,
            encoded_feature_names: c.encoded_feature_names,
            method: c.method.parse()?,
            metric: c.metric.parse()?,
        })
    }
}

impl From<&Imputation> for v1::Imputation {
    fn from(i: &Imputation) -> Self {
        v1::Imputation {
            column: i.column.clone(),
            count: i.count,
            value: i.value.clone(),
        }
    }
}

impl From<v1::Imputation> for Imputation {
    fn from(i: v1::Imputation) -> Self {
        Imputation {
            column: i.column,
            count: i.count,
            value: i.value,
        }
    }
}

impl From<&Metrics> for v1::Metrics {
    fn from(m: &Metrics) -> Self {
        v1::Metrics {
            n_samples: m.n_samples,
            n_clusters: m.n_clusters,
            n_encoded_features: m.n_encoded_features,
            silhouette_score: m.silhouette_score,
            cluster_sizes: m.cluster_sizes.clone(),
            segment_silhouettes: m.segment_silhouettes.clone(),
            cophenetic_correlation: m.cophenetic_correlation,
            cophenetic_sample_size: m.cophenetic_sample_size,
            k_choice: m.k_choice.clone(),
            cut_height: m.cut_height,
            warnings: m.warnings.clone(),
            silhouette_sample_size: m.silhouette_sample_size,
            silhouette_interval: m.silhouette_interval,
            approximation: m.approximation.as_ref().map(|a| v1::Approximation {
                method: a.method.as_str().to_string(),
                micro_clusters: a.micro_clusters,
                max_exact_rows: a.max_exact_rows,
                within_share: a.within_share,
            }),
        }
    }
}

impl TryFrom<v1::Metrics> for Metrics {
    type Error = String;
    fn try_from(m: v1::Metrics) -> Result<Self, String> {
        let approximation = match m.approximation {
            None => None,
            Some(a) => Some(Approximation {
                method: match a.method.as_str() {
                    "kmeans_ward" => ApproximationMethod::KmeansWard,
                    other => return Err(format!("unknown approximation method `{other}`")),
                },
                micro_clusters: a.micro_clusters,
                max_exact_rows: a.max_exact_rows,
                within_share: a.within_share,
            }),
        };
        Ok(Metrics {
            n_samples: m.n_samples,
            n_clusters: m.n_clusters,
            n_encoded_features: m.n_encoded_features,
            silhouette_score: m.silhouette_score,
            cluster_sizes: m.cluster_sizes,
            segment_silhouettes: m.segment_silhouettes,
            cophenetic_correlation: m.cophenetic_correlation,
            cophenetic_sample_size: m.cophenetic_sample_size,
            k_choice: m.k_choice,
            cut_height: m.cut_height,
            warnings: m.warnings,
            silhouette_sample_size: m.silhouette_sample_size,
            silhouette_interval: m.silhouette_interval,
            approximation,
        })
    }
}

impl From<&SegmentProfile> for v1::SegmentProfile {
    fn from(p: &SegmentProfile) -> Self {
        v1::SegmentProfile {
            segment: p.segment,
            name: p.name.clone(),
            size: p.size,
            share: p.share,
            numeric: p
                .numeric
                .iter()
                .map(|t| v1::NumericTrait {
                    feature: t.feature.clone(),
                    mean: t.mean,
                    median: t.median,
                    z: t.z,
                    missing: t.missing,
                })
                .collect(),
            categorical: p
                .categorical
                .iter()
                .map(|t| v1::CategoricalTrait {
                    feature: t.feature.clone(),
                    levels: t
                        .levels
                        .iter()
                        .map(|l| v1::LevelShare {
                            value: l.value.clone(),
                            count: l.count,
                            share: l.share,
                            lift: l.lift,
                        })
                        .collect(),
                })
                .collect(),
            silhouette: p.silhouette,
        }
    }
}

impl From<v1::SegmentProfile> for SegmentProfile {
    fn from(p: v1::SegmentProfile) -> Self {
        SegmentProfile {
            segment: p.segment,
            name: p.name,
            size: p.size,
            share: p.share,
            numeric: p
                .numeric
                .into_iter()
                .map(|t| NumericTrait {
                    feature: t.feature,
                    mean: t.mean,
                    median: t.median,
                    z: t.z,
                    missing: t.missing,
                })
                .collect(),
            categorical: p
                .categorical
                .into_iter()
                .map(|t| CategoricalTrait {
                    feature: t.feature,
                    levels: t
                        .levels
                        .into_iter()
                        .map(|l| LevelShare {
                            value: l.value,
                            count: l.count,
                            share: l.share,
                            lift: l.lift,
                        })
                        .collect(),
                })
                .collect(),
            silhouette: p.silhouette,
        }
    }
}

impl From<&KSweep> for v1::KSweep {
    fn from(s: &KSweep) -> Self {
        v1::KSweep {
            points: s
                .points
                .iter()
                .map(|p| v1::KPoint {
                    k: p.k,
                    silhouette: p.silhouette,
                    wss: p.wss,
                    segment_stability: p.segment_stability.clone(),
                })
                .collect(),
            suggested_k: s.suggested_k,
            sample_size: s.sample_size,
            structure: s.structure,
            reason: s.reason.clone(),
            resampling: s.resampling.map(|r| v1::ResampleSize {
                resamples: r.resamples,
                rows: r.rows,
            }),
        }
    }
}

impl From<v1::KSweep> for KSweep {
    fn from(s: v1::KSweep) -> Self {
        KSweep {
            points: s
                .points
                .into_iter()
                .map(|p| KPoint {
                    k: p.k,
                    silhouette: p.silhouette,
                    wss: p.wss,
                    segment_stability: p.segment_stability,
                })
                .collect(),
            suggested_k: s.suggested_k,
            sample_size: s.sample_size,
            structure: s.structure,
            reason: s.reason,
            resampling: s.resampling.map(|r| ResampleSize {
                resamples: r.resamples,
                rows: r.rows,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::linkage::linkage;
    use crate::engine::quality::{Sampling, k_sweep_with_stability};
    use crate::engine::stability::Resampling;
    use crate::engine::{Method, Metric, NoProgress};

    #[test]
    fn sweeps_with_stability_are_stored_and_read_back_whole() {
        let x = ndarray::Array2::from_shape_fn((200, 2), |(i, j)| {
            ((i * 31 + j * 7) % 17) as f64 / 17.0 + (i % 3) as f64 * 5.0
        });
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
        let sweep = k_sweep_with_stability(
            x.view(),
            &z,
            Method::Ward,
            Metric::Euclidean,
            Sampling::EXACT,
            Resampling::STANDARD,
            &NoProgress,
        )
        .unwrap();
        assert_eq!(sweep.suggested_k, 3, "{}", sweep.reason);
        assert_eq!(sweep.structure, Some(true));
        let json = serde_json::to_string(&v1::KSweep::from(&sweep)).unwrap();
        let back: KSweep = serde_json::from_str::<v1::KSweep>(&json).unwrap().into();
        // JSON numbers read back to within a unit in the last place.
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        assert_eq!(
            (
                back.suggested_k,
                back.structure,
                &back.reason,
                back.resampling
            ),
            (
                sweep.suggested_k,
                sweep.structure,
                &sweep.reason,
                sweep.resampling
            )
        );
        assert_eq!(back.points.len(), sweep.points.len());
        for (b, s) in back.points.iter().zip(&sweep.points) {
            assert_eq!(b.k, s.k);
            assert!(
                close(&b.segment_stability, &s.segment_stability),
                "k={}",
                s.k
            );
            assert!(!s.segment_stability.is_empty());
        }
    }

    #[test]
    fn sweeps_stored_before_stability_read_as_not_measured() {
        let old = r#"{"points":[{"k":2,"silhouette":0.5,"wss":1.0}],"suggested_k":2}"#;
        let sweep: KSweep = serde_json::from_str::<v1::KSweep>(old).unwrap().into();
        assert_eq!(
            (sweep.structure, sweep.reason.as_str(), sweep.resampling),
            (None, "", None)
        );
        assert_eq!(sweep.points[0].stability(), None);
    }
}
