//! Vocabulary shared by every engine stage and by the callers of the engine.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the distance between two clusters is defined when merging them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Merge the pair whose union increases the within-cluster variance least.
    Ward,
    /// Cluster distance is the largest pairwise distance.
    Complete,
    /// Cluster distance is the mean pairwise distance (UPGMA).
    Average,
    /// Cluster distance is the smallest pairwise distance.
    Single,
    /// WPGMA.
    Weighted,
    /// Distance between centroids (Euclidean only).
    Centroid,
    /// WPGMC (Euclidean only).
    Median,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Ward,
        Method::Complete,
        Method::Average,
        Method::Single,
        Method::Weighted,
        Method::Centroid,
        Method::Median,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ward => "ward",
            Method::Complete => "complete",
            Method::Average => "average",
            Method::Single => "single",
            Method::Weighted => "weighted",
            Method::Centroid => "centroid",
            Method::Median => "median",
        }
    }

    /// Ward, centroid and median are defined on Euclidean geometry only (as in scipy).
    pub fn requires_euclidean(self) -> bool {
        matches!(self, Method::Ward | Method::Centroid | Method::Median)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown linkage `{s}`; expected one of ward, complete, average, single, weighted, centroid, median"
                )
            })
    }
}

/// Distance between two encoded rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    #[default]
    Euclidean,
    Manhattan,
    Cosine,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Euclidean, Metric::Manhattan, Metric::Cosine];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::Manhattan => "manhattan",
            Metric::Cosine => "cosine",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown metric `{s}`; expected euclidean, manhattan or cosine"))
    }
}

/// One merge step, a row of scipy's linkage matrix `Z`: leaves are `0..n`, merge `i` creates
/// cluster `n + i`. `left < right` as in scipy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub left: usize,
    pub right: usize,
    pub height: f64,
    pub size: usize,
}

/// The stages a run goes through, in order; reported with progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Parsing,
    Preprocessing,
    Pca,
    Linkage,
    Cutting,
    Silhouette,
    /// Cophenetic correlation of the tree (estimated on a sample of rows for large tables).
    Cophenetic,
    KSweep,
    Profiling,
    /// Writing the results and every customer's segment to the database (reported by the
    /// server's run worker, not by the engine itself).
    Storing,
}

impl Stage {
    /// Every stage, in the order a run goes through them.
    pub const ALL: [Stage; 10] = [
        Stage::Parsing,
        Stage::Preprocessing,
        Stage::Pca,
        Stage::Linkage,
        Stage::Cutting,
        Stage::Silhouette,
        Stage::Cophenetic,
        Stage::KSweep,
        Stage::Profiling,
        Stage::Storing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parsing => "parsing",
            Stage::Preprocessing => "preprocessing",
            Stage::Pca => "pca",
            Stage::Linkage => "linkage",
            Stage::Cutting => "cutting",
            Stage::Silhouette => "silhouette",
            Stage::Cophenetic => "cophenetic",
            Stage::KSweep => "k_sweep",
            Stage::Profiling => "profiling",
            Stage::Storing => "storing",
        }
    }

    /// A sentence for progress bars.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Parsing => "Reading the table",
            Stage::Preprocessing => "Scaling numbers and encoding categories",
            Stage::Pca => "Reducing dimensions with PCA",
            Stage::Linkage => "Building the cluster tree",
            Stage::Cutting => "Cutting the tree into segments",
            Stage::Silhouette => "Scoring segment quality (silhouette)",
            Stage::Cophenetic => "Checking how faithfully the tree keeps distances",
            Stage::KSweep => "Comparing other segment counts",
            Stage::Profiling => "Profiling segments",
            Stage::Storing => "Saving the results",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller asked the engine to stop; returned by long stages that poll [`Progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// Receives progress from long computations and can ask them to stop.
///
/// `report` is called with the current stage and the fraction of that stage done (0..=1). It
/// returns `Err(Cancelled)` when the caller wants the work abandoned; stages check it often
/// enough that cancelling takes effect within about a second. Implementations must be cheap:
/// hot loops call it every few thousand steps.
pub trait Progress: Sync {
    fn report(&self, stage: Stage, fraction: f64) -> Result<(), Cancelled>;
}

/// A progress sink that ignores reports and never cancels.
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _stage: Stage, _fraction: f64) -> Result<(), Cancelled> {
        Ok(())
    }
}

impl<F: Fn(Stage, f64) -> Result<(), Cancelled> + Sync> Progress for F {
    fn report(&self, stage: Stage, fraction: f64) -> Result<(), Cancelled> {
        self(stage, fraction)
    }
}
