//! Linkage from the condensed distance matrix.
//!
//! Used for complete, average and weighted linkage on any metric (our own nearest-neighbour
//! chain, [`super::chain`]) and for centroid and median (kodama's implementation of Müllner's
//! generic algorithm; those methods are not reducible, so the chain does not apply). It needs
//! the n (n - 1) / 2 matrix, 8 bytes per pair, so it is the memory-bound path: 1.6 GB at 20,000
//! rows. The distances are computed in parallel and metered; kodama cannot report or stop, so
//! for centroid and median progress jumps from the end of the distances to the end.

use ndarray::ArrayView2;

use crate::engine::distance::pdist_with_meter;
use crate::engine::meter::Meter;
use crate::engine::types::{Merge, Method, Metric, Progress, Stage};

use super::LinkageError;

/// Share of the reported stage given to computing distances (the rest is kodama).
const DISTANCE_SHARE: f64 = 0.3;

pub(super) fn matrix_linkage(
    x: ArrayView2<f64>,
    method: Method,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<Merge>, LinkageError> {
    let n = x.nrows();
    let pairs = (n * (n - 1) / 2) as u64;
    // Below the size limit the allocation can still fail (other runs, other processes): find
    // out with a fallible reservation first, since a failing infallible one ends the process.
    if Vec::<f64>::new().try_reserve_exact(pairs as usize).is_err() {
        return Err(LinkageError::OutOfMemory {
            method,
            rows: n,
            bytes: pairs * 8,
        });
    }
    let meter = Meter::span(progress, Stage::Linkage, pairs, 0.0, DISTANCE_SHARE);
    let mut condensed = pdist_with_meter(x, metric, &meter)?;
    meter.finish()?;
    match method {
        Method::Complete | Method::Average | Method::Weighted => Ok(super::chain::chain_linkage(
            &mut condensed,
            n,
            method,
            progress,
            DISTANCE_SHARE,
        )?),
        _ => {
            let merges = condensed_linkage(&mut condensed, n, method);
            progress.report(Stage::Linkage, 1.0)?;
            Ok(merges)
        }
    }
}

/// Runs kodama on a condensed matrix (which it overwrites) and converts its steps.
///
/// kodama already follows scipy's conventions (it sorts steps stably by height except for
/// centroid and median, then relabels with a union-find so step `i` creates `n + i`, and puts
/// the smaller label first); the fixtures from scipy check that this stays true.
pub(crate) fn condensed_linkage(condensed: &mut [f64], n: usize, method: Method) -> Vec<Merge> {
    let dendrogram = kodama::linkage(condensed, n, kodama_method(method));
    dendrogram
        .steps()
        .iter()
        .map(|s| Merge {
            left: s.cluster1.min(s.cluster2),
            right: s.cluster1.max(s.cluster2),
            height: s.dissimilarity,
            size: s.size,
        })
        .collect()
}

fn kodama_method(method: Method) -> kodama::Method {
    match method {
        Method::Ward => kodama::Method::Ward,
        Method::Complete => kodama::Method::Complete,
        Method::Average => kodama::Method::Average,
        Method::Single => kodama::Method::Single,
        Method::Weighted => kodama::Method::Weighted,
        Method::Centroid => kodama::Method::Centroid,
        Method::Median => kodama::Method::Median,
    }
}
