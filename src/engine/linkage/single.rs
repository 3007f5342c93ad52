//! Single linkage as a minimum spanning tree (Prim's algorithm), in O(n d) memory.
//!
//! The single-linkage tree is the minimum spanning tree of the rows with its edges taken in
//! increasing order (scipy computes it the same way). Prim's algorithm needs, for each row not
//! yet in the tree, only its distance to the tree and the tree row that achieves it; each step
//! adds the closest row and refreshes those distances against it, computing distances on the
//! fly: O(n² d) time, no distance matrix. Each step's refresh-and-pick is split across threads
//! when enough rows remain.
//!
//! Rows outside the tree sit in the first `left` rows of a column-major store; the row that
//! joins moves the last one into its place, so each step scans contiguous memory.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::engine::distance::{BLOCK, Columns, cosine_from_parts};
use crate::engine::types::{Cancelled, Merge, Metric, Progress, Stage};

use super::{NO_CANDIDATE, first_minimum, label_merges};

/// Below this many remaining rows a step is cheaper than waking other threads (tests lower it so
/// small inputs exercise the threaded path).
const PARALLEL_MIN_ROWS: usize = if cfg!(test) { 300 } else { 4096 };
/// Rows refreshed between progress reports (about a millisecond of work).
const REPORT_EVERY: usize = 1 << 20;

pub(super) fn single_linkage(
    x: ArrayView2<f64>,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<Merge>, Cancelled> {
    let n = x.nrows();
    let d = x.ncols();
    let mut store = Columns::new(x, metric);
    // Per slot: the original row, its distance to the tree (squared for Euclidean, so the
    // refresh needs no square roots) and the tree row at that distance.
    let mut row: Vec<usize> = (0..n).collect();
    let mut to_tree = vec![f64::INFINITY; n];
    let mut from = vec![0usize; n];

    // Row 0 starts the tree: move the last row into its slot.
    let mut point = vec![0.0; d];
    store.row_into(0, &mut point);
    let mut point_norm = store.norm(0);
    let mut newest = 0usize;
    let mut left = n - 1;
    store.copy_row(left, 0);
    row[0] = row[left];

    let mut edges = Vec::with_capacity(n - 1);
    let mut refreshed = 0usize;
    while left > 0 {
        let step = |lo: usize, best: &mut [f64], from: &mut [usize]| -> (f64, usize) {
            refresh(&store, metric, &point, point_norm, newest, lo, best, from)
        };
        let (_, slot) = if left >= PARALLEL_MIN_ROWS {
            let chunk = left.div_ceil(rayon::current_num_threads() * 4).max(BLOCK);
            to_tree[..left]
                .par_chunks_mut(chunk)
                .zip(from[..left].par_chunks_mut(chunk))
                .enumerate()
                .map(|(c, (best, from))| step(c * chunk, best, from))
                .reduce(|| NO_CANDIDATE, first_minimum)
        } else {
            step(0, &mut to_tree[..left], &mut from[..left])
        };
        refreshed += left;
        if refreshed >= REPORT_EVERY {
            refreshed = 0;
            let remaining = left as f64 / n as f64;
            progress.report(Stage::Linkage, 1.0 - remaining * remaining)?;
        }

        let height = match metric {
            Metric::Euclidean => to_tree[slot].sqrt(),
            _ => to_tree[slot],
        };
        newest = row[slot];
        edges.push((from[slot], newest, height));
        store.row_into(slot, &mut point);
        point_norm = store.norm(slot);
        // Take the slot out of the remaining rows.
        let last = left - 1;
        if slot != last {
            store.copy_row(last, slot);
            row[slot] = row[last];
            to_tree[slot] = to_tree[last];
            from[slot] = from[last];
        }
        left -= 1;
    }
    progress.report(Stage::Linkage, 1.0)?;
    Ok(label_merges(n, edges, true))
}

/// Lowers the distance to the tree of slots `lo .. lo + best.len()` with the row `newest`
/// that just joined (coordinates `point`), and returns the closest of them: (distance, slot),
/// the lowest slot on ties.
#[allow(clippy::too_many_arguments)]
fn refresh(
    store: &Columns,
    metric: Metric,
    point: &[f64],
    point_norm: f64,
    newest: usize,
    lo: usize,
    best: &mut [f64],
    from: &mut [usize],
) -> (f64, usize) {
    let mut buf = [0.0; BLOCK];
    let mut winner = NO_CANDIDATE;
    for (b, (best, from)) in best
        .chunks_mut(BLOCK)
        .zip(from.chunks_mut(BLOCK))
        .enumerate()
    {
        let start = lo + b * BLOCK;
        let out = &mut buf[..best.len()];
        match metric {
            Metric::Euclidean => store.sq_euclidean_block(point, start, out),
            Metric::Manhattan => store.manhattan_block(point, start, out),
            Metric::Cosine => {
                store.dot_block(point, start, out);
                for (t, v) in out.iter_mut().enumerate() {
                    *v = cosine_from_parts(*v, point_norm, store.norm(start + t));
                }
            }
        }
        for (t, ((&dist, b), f)) in out.iter().zip(best.iter_mut()).zip(from).enumerate() {
            if dist < *b {
                *b = dist;
                *f = newest;
            }
            winner = first_minimum(winner, (*b, start + t));
        }
    }
    winner
}
