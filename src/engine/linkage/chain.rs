//! Complete, average and weighted linkage: nearest-neighbour chain on the condensed matrix.
//!
//! These methods are reducible, so the chain finds the same tree as the greedy closest-pair
//! algorithm in O(n²) time. The matrix is scipy's condensed vector, updated in place with the
//! Lance–Williams formula of the method (scipy's formulas, so heights agree to rounding). Unlike
//! kodama, each nearest-neighbour scan is split across threads once enough clusters are live,
//! and the loop reports progress and stops when cancelled.
//!
//! A cluster lives in the slot of one of its rows; `live` lists the live slots in increasing
//! order, so a scan reads the slot's column (`d(x, a)`, x < a, one value per matrix row) and
//! then its row (`d(a, x)`, x > a, contiguous).

use rayon::prelude::*;

use crate::engine::types::{Cancelled, Merge, Method, Progress, Stage};

use super::label_merges;

/// Below this many live clusters a scan is cheaper than waking other threads (tests lower it so
/// small inputs exercise the threaded path).
const PARALLEL_MIN_CLUSTERS: usize = if cfg!(test) { 300 } else { 4096 };
/// Matrix entries read between progress reports.
const REPORT_EVERY: usize = 1 << 21;

/// Runs the chain on `condensed` (overwritten) for `n` rows. Progress goes from `start` to 1.
pub(super) fn chain_linkage(
    condensed: &mut [f64],
    n: usize,
    method: Method,
    progress: &dyn Progress,
    start: f64,
) -> Result<Vec<Merge>, Cancelled> {
    let row_start: Vec<usize> = (0..n).map(|i| i * (2 * n - i - 1) / 2).collect();
    // Entry (i, j), i < j.
    let at = |i: usize, j: usize| row_start[i] + j - i - 1;
    let mut live: Vec<usize> = (0..n).collect();
    let mut size = vec![1.0f64; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n - 1);
    let mut read = 0usize;

    while live.len() > 1 {
        if chain.is_empty() {
            chain.push(live[0]);
        }
        let (a, b, height) = loop {
            let a = chain[chain.len() - 1];
            let prev = chain.len().checked_sub(2).map(|i| chain[i]);
            let (mut best, mut slot) = nearest(condensed, &live, a, &at);
            if let Some(p) = prev {
                // Prefer the chain's previous cluster on a tie, so the chain always ends.
                let dp = condensed[at(a.min(p), a.max(p))];
                if dp <= best {
                    (best, slot) = (dp, p);
                }
            }
            read += live.len();
            if read >= REPORT_EVERY {
                read = 0;
                let left = live.len() as f64 / n as f64;
                progress.report(Stage::Linkage, start + (1.0 - start) * (1.0 - left * left))?;
            }
            if Some(slot) == prev {
                break (a, slot, best);
            }
            chain.push(slot);
        };
        chain.truncate(chain.len() - 2);
        raw.push((a, b, height));

        // The merged cluster keeps the lower slot; the other leaves `live`.
        let (keep, gone) = (a.min(b), a.max(b));
        let (nk, ng) = (size[keep], size[gone]);
        // The reads are scattered over the matrix, so they are computed in parallel; the writes
        // then hit lines those reads just brought into cache.
        let pair = |x: usize| (at(keep.min(x), keep.max(x)), at(gone.min(x), gone.max(x)));
        if live.len() >= PARALLEL_MIN_CLUSTERS {
            let values: Vec<f64> = live
                .par_iter()
                .map(|&x| {
                    if x == keep || x == gone {
                        return 0.0;
                    }
                    let (ik, ig) = pair(x);
                    lance_williams(method, nk, ng, condensed[ik], condensed[ig])
                })
                .collect();
            for (&x, v) in live.iter().zip(values) {
                if x != keep && x != gone {
                    condensed[at(keep.min(x), keep.max(x))] = v;
                }
            }
        } else {
            for &x in &live {
                if x != keep && x != gone {
                    let (ik, ig) = pair(x);
                    condensed[ik] = lance_williams(method, nk, ng, condensed[ik], condensed[ig]);
                }
            }
        }
        size[keep] = nk + ng;
        if let Ok(pos) = live.binary_search(&gone) {
            live.remove(pos);
        }
    }
    progress.report(Stage::Linkage, 1.0)?;
    Ok(label_merges(n, raw, true))
}

/// Distance from the union of clusters K and G (sizes `nk`, `ng`) to a third cluster at
/// distances `dk` and `dg` from them, with scipy's formulas.
#[inline]
fn lance_williams(method: Method, nk: f64, ng: f64, dk: f64, dg: f64) -> f64 {
    match method {
        Method::Complete => dk.max(dg),
        Method::Average => (nk * dk + ng * dg) / (nk + ng),
        _ => 0.5 * (dk + dg),
    }
}

/// The live cluster nearest to slot `a` other than `a`: (distance, slot), lowest slot on ties.
fn nearest(
    condensed: &[f64],
    live: &[usize],
    a: usize,
    at: &(impl Fn(usize, usize) -> usize + Sync),
) -> (f64, usize) {
    let scan = |slots: &[usize]| {
        let mut best = (f64::INFINITY, usize::MAX);
        for &x in slots {
            let v = match x.cmp(&a) {
                std::cmp::Ordering::Less => condensed[at(x, a)],
                std::cmp::Ordering::Greater => condensed[at(a, x)],
                std::cmp::Ordering::Equal => continue,
            };
            if v < best.0 {
                best = (v, x);
            }
        }
        best
    };
    if live.len() >= PARALLEL_MIN_CLUSTERS {
        let chunk = live.len().div_ceil(rayon::current_num_threads() * 2);
        live.par_chunks(chunk).map(scan).reduce(
            || (f64::INFINITY, usize::MAX),
            |x, y| if y < x { y } else { x },
        )
    } else {
        scan(live)
    }
}
