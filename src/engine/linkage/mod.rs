//! Agglomerative (hierarchical) clustering: the merge tree in scipy's linkage-matrix format.
//!
//! [`linkage`] is the one entry point. It picks an algorithm per method, each in its own file:
//! - Ward on Euclidean data: nearest-neighbour chain on centroids ([`ward`]), O(n d) memory;
//! - single linkage: Prim's minimum spanning tree computed on the fly ([`single`]), O(n d) memory;
//! - the other methods: the condensed distance matrix and kodama ([`matrix`]), O(n²) memory.
//!
//! Whatever the algorithm, the result follows scipy's conventions exactly, so that a stored tree,
//! `linkage.csv` and the dendrogram mean the same as `scipy.cluster.hierarchy.linkage(X, method,
//! metric)`: `n - 1` merges; for every method except centroid and median they are sorted by
//! height (stably, so equal heights keep the order in which they were merged); leaves are
//! `0..n`, merge `i` creates cluster `n + i`; `left < right`. [`naive`] is the O(n³) textbook
//! algorithm the fast ones are tested against.

mod matrix;
pub mod naive;

use ndarray::ArrayView2;

use super::types::{Cancelled, Merge, Method, Metric, Progress};

pub use naive::naive_linkage;

/// Why a tree could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LinkageError {
    #[error("cancelled")]
    Cancelled,
    #[error(
        "{method} linkage is defined for Euclidean distances only (got {metric}); use the \
         euclidean metric or pick complete, average, single or weighted linkage"
    )]
    NonEuclidean { method: Method, metric: Metric },
    #[error("need at least 2 rows to build a cluster tree, got {rows}")]
    TooFewRows { rows: usize },
    #[error("the data has no feature columns to measure distances on")]
    NoFeatures,
    #[error(
        "row {row}, feature {column} is not a finite number (missing values must be imputed first)"
    )]
    NonFinite { row: usize, column: usize },
}

impl From<Cancelled> for LinkageError {
    fn from(_: Cancelled) -> Self {
        LinkageError::Cancelled
    }
}

/// Builds the merge tree of the rows of `x` (one row per customer, already encoded), exactly as
/// `scipy.cluster.hierarchy.linkage(x, method, metric)` does (see the module documentation for
/// the conventions). Reports [`Stage::Linkage`](super::types::Stage::Linkage) progress and stops
/// with [`LinkageError::Cancelled`] when `progress` asks to.
pub fn linkage(
    x: ArrayView2<f64>,
    method: Method,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<Merge>, LinkageError> {
    validate(x, method, metric)?;
    Ok(matrix::matrix_linkage(x, method, metric, progress)?)
}

/// Checks the preconditions shared by every algorithm.
pub(crate) fn validate(
    x: ArrayView2<f64>,
    method: Method,
    metric: Metric,
) -> Result<(), LinkageError> {
    if method.requires_euclidean() && metric != Metric::Euclidean {
        return Err(LinkageError::NonEuclidean { method, metric });
    }
    if x.nrows() < 2 {
        return Err(LinkageError::TooFewRows { rows: x.nrows() });
    }
    if x.ncols() == 0 {
        return Err(LinkageError::NoFeatures);
    }
    if let Some(((row, column), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(LinkageError::NonFinite { row, column });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
