//! Agglomerative (hierarchical) clustering: the merge tree in scipy's linkage-matrix format.
//!
//! [`linkage`] is the one entry point. It picks an algorithm per method, each in its own file:
//! - Ward on Euclidean data: reciprocal nearest neighbours of centroids found with a tree of boxes
//!   ([`ward`]), O(n d) memory;
//! - single linkage: Prim's minimum spanning tree computed on the fly ([`single`]), O(n d) memory;
//! - complete, average, weighted, centroid and median: Müllner's generic algorithm, with lazily
//!   refreshed nearest neighbours ([`generic`]), on the condensed distance matrix ([`matrix`]),
//!   O(n²) memory.
//!
//! Whatever the algorithm, the result follows scipy's conventions exactly, so that a stored tree,
//! `linkage.csv` and the dendrogram mean the same as `scipy.cluster.hierarchy.linkage(X, method,
//! metric)`: `n - 1` merges; for every method except centroid and median they are sorted by
//! height (stably, so equal heights keep the order in which they were merged); leaves are
//! `0..n`, merge `i` creates cluster `n + i`; `left < right`. [`naive`] is the O(n³) textbook
//! algorithm the fast ones are tested against.

mod generic;
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
    #[error(
        "{method} linkage keeps the distance between every pair of rows in memory: {rows} rows \
         need {:.1} GiB, over the {:.0} GiB limit; use ward or single linkage (they need no such \
         matrix) or at most {} rows",
        *.bytes as f64 / GIB,
        MATRIX_BYTES_LIMIT as f64 / GIB,
        max_matrix_rows()
    )]
    MatrixTooLarge {
        method: Method,
        rows: usize,
        bytes: u64,
    },
    #[error(
        "not enough memory for the {:.1} GiB distance matrix of {rows} rows that {method} linkage \
         needs; try again when fewer runs are going, or use ward or single linkage",
        *.bytes as f64 / GIB
    )]
    OutOfMemory {
        method: Method,
        rows: usize,
        bytes: u64,
    },
}

const GIB: f64 = (1u64 << 30) as f64;

/// Largest condensed distance matrix a run may allocate (8 GiB, about 46,000 rows). Above it a
/// matrix method is refused up front with [`LinkageError::MatrixTooLarge`], instead of the
/// process dying when the allocation fails or the kernel runs out of memory.
pub const MATRIX_BYTES_LIMIT: u64 = 8 << 30;

/// Bytes of the condensed matrix `method` needs for `rows` rows, or `None` for the algorithms
/// that work from the rows alone (Ward on Euclidean distances, single linkage).
pub fn matrix_bytes(method: Method, metric: Metric, rows: usize) -> Option<u64> {
    match (method, metric) {
        (Method::Ward, Metric::Euclidean) | (Method::Single, _) => None,
        _ => Some(rows as u64 * rows.saturating_sub(1) as u64 / 2 * 8),
    }
}

/// Refuses a run whose distance matrix would exceed [`MATRIX_BYTES_LIMIT`]; shared by the
/// engine and the service, which checks before queueing.
pub fn check_matrix_size(method: Method, metric: Metric, rows: usize) -> Result<(), LinkageError> {
    match matrix_bytes(method, metric, rows) {
        Some(bytes) if bytes > MATRIX_BYTES_LIMIT => Err(LinkageError::MatrixTooLarge {
            method,
            rows,
            bytes,
        }),
        _ => Ok(()),
    }
}

/// The most rows a matrix method accepts under [`MATRIX_BYTES_LIMIT`].
fn max_matrix_rows() -> usize {
    let pairs = MATRIX_BYTES_LIMIT / 8;
    // n (n - 1) / 2 <= pairs
    let mut n = ((2.0 * pairs as f64).sqrt() as usize) + 1;
    while (n as u64) * (n as u64 - 1) / 2 > pairs {
        n -= 1;
    }
    n
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

/// Ward linkage of groups of customers: row `i` of `centroids` is the mean of `sizes[i]`
/// customers (see the large-table path in [`super::microclusters`]). Merge heights are Ward
/// distances between the whole groups and merge sizes count customers; with every size 1 it
/// is [`linkage`] with Ward, to the bit.
pub fn ward_weighted(
    centroids: ArrayView2<f64>,
    sizes: &[usize],
    progress: &dyn Progress,
) -> Result<Vec<Merge>, LinkageError> {
    validate(centroids, Method::Ward, Metric::Euclidean)?;
    assert_eq!(centroids.nrows(), sizes.len(), "one size per centroid");
    assert!(sizes.iter().all(|&s| s > 0), "every group has a customer");
    Ok(ward::ward_linkage_weighted(
        centroids,
        Some(sizes),
        progress,
    )?)
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
    check_matrix_size(method, metric, x.nrows())
}

/// No candidate yet: the seed of every nearest-cluster search.
pub(crate) const NO_CANDIDATE: (f64, usize) = (f64::INFINITY, usize::MAX);

/// The nearer of two (distance, slot) candidates, the lower slot on equal distances; any
/// candidate beats [`NO_CANDIDATE`], so that a search over distances that overflowed to
/// infinity (or NaN) still names a slot.
#[inline]
pub(crate) fn first_minimum(a: (f64, usize), b: (f64, usize)) -> (f64, usize) {
    if a.1 == usize::MAX || b < a { b } else { a }
}

/// Turns merges recorded as pairs of *member rows* (any row of each merged cluster) into scipy's
/// format: stable sort by height when `sort` (every method but centroid and median), then a
/// union-find pass that names clusters `n + i` in merge order and sizes them. This mirrors
/// scipy's own post-processing of its nearest-neighbour-chain and MST results, so equal
/// heights keep the order in which the algorithm merged them.
pub(crate) fn label_merges(n: usize, raw: Vec<(usize, usize, f64)>, sort: bool) -> Vec<Merge> {
    label_merges_weighted(n, raw, sort, None)
}

/// [`label_merges`] where leaf `i` counts `weights[i]` customers (one each when `None`), so
/// that a merge's size is the number of customers below it.
pub(crate) fn label_merges_weighted(
    n: usize,
    mut raw: Vec<(usize, usize, f64)>,
    sort: bool,
    weights: Option<&[usize]>,
) -> Vec<Merge> {
    if sort {
        raw.sort_by(|a, b| a.2.total_cmp(&b.2));
    }
    // parent over rows; the root row of each set carries the set's cluster id and size.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut cluster_id: Vec<usize> = (0..n).collect();
    let mut size = vec![1usize; n];
    // Union by size needs row counts; merge sizes report customers.
    let mut customers: Vec<usize> = weights.map_or_else(|| vec![1; n], <[usize]>::to_vec);
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
            let weight = customers[ra] + customers[rb];
            // Union by size keeps find() short on chained trees.
            let (big, small) = if size[ra] >= size[rb] {
                (ra, rb)
            } else {
                (rb, ra)
            };
            parent[small] = big;
            size[big] = merged;
            customers[big] = weight;
            cluster_id[big] = n + i;
            Merge {
                left: ia.min(ib),
                right: ia.max(ib),
                height,
                size: weight,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
