//! Agglomerative (hierarchical) clustering: the merge tree in scipy's linkage-matrix format.
//!
//! [`linkage`] is the one entry point. It picks an algorithm per method, each in its own file:
//! - Ward on Euclidean data: reciprocal nearest neighbours of centroids found with a ball tree
//!   ([`ward`]), O(n d) memory;
//! - single linkage: Prim's minimum spanning tree computed on the fly ([`single`]), O(n d) memory;
//! - complete, average, weighted: nearest-neighbour chain on the condensed distance matrix
//!   ([`chain`]), O(n²) memory;
//! - centroid and median: the condensed matrix and kodama ([`matrix`]), O(n²) memory.
//!
//! Whatever the algorithm, the result follows scipy's conventions exactly, so that a stored tree,
//! `linkage.csv` and the dendrogram mean the same as `scipy.cluster.hierarchy.linkage(X, method,
//! metric)`: `n - 1` merges; for every method except centroid and median they are sorted by
//! height (stably, so equal heights keep the order in which they were merged); leaves are
//! `0..n`, merge `i` creates cluster `n + i`; `left < right`. [`naive`] is the O(n³) textbook
//! algorithm the fast ones are tested against.

mod chain;
mod matrix;
pub mod naive;
mod single;
mod ward;

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
    match (method, metric) {
        (Method::Ward, Metric::Euclidean) => Ok(ward::ward_linkage(x, progress)?),
        (Method::Single, _) => Ok(single::single_linkage(x, metric, progress)?),
        _ => Ok(matrix::matrix_linkage(x, method, metric, progress)?),
    }
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

/// Turns merges recorded as pairs of *member rows* (any row of each merged cluster) into scipy's
/// format: stable sort by height when `sort` (every method but centroid and median), then a
/// union-find pass that names clusters `n + i` in merge order and sizes them. This mirrors
/// scipy's own post-processing of its nearest-neighbour-chain and MST results, so equal
/// heights keep the order in which the algorithm merged them.
pub(crate) fn label_merges(n: usize, mut raw: Vec<(usize, usize, f64)>, sort: bool) -> Vec<Merge> {
    if sort {
        raw.sort_by(|a, b| a.2.total_cmp(&b.2));
    }
    // parent over rows; the root row of each set carries the set's cluster id and size.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut cluster_id: Vec<usize> = (0..n).collect();
    let mut size = vec![1usize; n];
    fn find(parent: &mut [usize], mut a: usize) -> usize {
        let mut root = a;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[a] != root {
            let next = parent[a];
            parent[a] = root;
            a = next;
        }
        root
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, (a, b, height))| {
            let ra = find(&mut parent, a);
            let rb = find(&mut parent, b);
            let (ia, ib) = (cluster_id[ra], cluster_id[rb]);
            let merged = size[ra] + size[rb];
            // Union by size keeps find() short on chained trees.
            let (big, small) = if size[ra] >= size[rb] {
                (ra, rb)
            } else {
                (rb, ra)
            };
            parent[small] = big;
            size[big] = merged;
            cluster_id[big] = n + i;
            Merge {
                left: ia.min(ib),
                right: ia.max(ib),
                height,
                size: merged,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
