//! Hierarchical linkage (interim version over kodama; replaced by the numeric core).

use super::distance::pdist;
use super::types::{Cancelled, Merge, Method, Metric, Progress, Stage};
use ndarray::ArrayView2;

/// Why a linkage could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkageError {
    #[error("the run was cancelled")]
    Cancelled,
    #[error("{method} linkage needs euclidean distances, not {metric}")]
    NonEuclidean { method: Method, metric: Metric },
    #[error("at least two rows are needed to build a cluster tree")]
    TooFewRows,
}

impl From<Cancelled> for LinkageError {
    fn from(_: Cancelled) -> Self {
        LinkageError::Cancelled
    }
}

/// scipy-compatible linkage matrix of the rows of `x`.
pub fn linkage(
    x: ArrayView2<f64>,
    method: Method,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<Merge>, LinkageError> {
    if method.requires_euclidean() && metric != Metric::Euclidean {
        return Err(LinkageError::NonEuclidean { method, metric });
    }
    let n = x.nrows();
    if n < 2 {
        return Err(LinkageError::TooFewRows);
    }
    progress.report(Stage::Linkage, 0.0)?;
    let mut d = pdist(x, metric);
    let km = match method {
        Method::Ward => kodama::Method::Ward,
        Method::Complete => kodama::Method::Complete,
        Method::Average => kodama::Method::Average,
        Method::Single => kodama::Method::Single,
        Method::Weighted => kodama::Method::Weighted,
        Method::Centroid => kodama::Method::Centroid,
        Method::Median => kodama::Method::Median,
    };
    let dendrogram = kodama::linkage(&mut d, n, km);
    progress.report(Stage::Linkage, 1.0)?;
    Ok(dendrogram
        .steps()
        .iter()
        .map(|s| Merge {
            left: s.cluster1.min(s.cluster2),
            right: s.cluster1.max(s.cluster2),
            height: s.dissimilarity,
            size: s.size,
        })
        .collect())
}
