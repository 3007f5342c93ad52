//! Complete, average, weighted, centroid and median linkage: Müllner's generic algorithm on the
//! condensed matrix, with each row's nearest neighbour refreshed only when it is needed.
//!
//! Every live row `i` keeps a candidate `nearest[i]` among the live rows after it and a lower
//! bound `bound[i]` on its distances to them; a heap orders the rows by that bound. A step takes
//! the row at the top: if its candidate's distance equals the bound, no pair anywhere is closer,
//! so the pair merges; otherwise the row is rescanned and pushed down. Merging the rows `i < j`
//! keeps the cluster in slot `j`: rows before `i` that pointed at `i` can point at `j`, and the
//! Lance–Williams update of `j` against every live row is where a row's bound can drop (the row
//! then points at `j`). Bounds that only went stale are refreshed when they reach the top.
//!
//! Why not the nearest-neighbour chain: the chain rescans a full column of the matrix for every
//! link it adds (two to three per merge), and a column of the condensed matrix is one read per
//! matrix row, each a cache and TLB miss. Here the only full pass per merge is the update, and a
//! rescan reads one contiguous row. The greedy order also covers centroid and median linkage,
//! which are not reducible, so the chain cannot build them. The merges are the greedy
//! closest-pair sequence, the naive algorithm's: for the reducible methods it is the same tree as
//! scipy's chain wherever no ties decide a merge, and for centroid and median it is the same
//! sequence as scipy's own generic algorithm.
//!
//! Both full passes are split across threads once enough rows are live; the loop reports
//! progress and stops when cancelled.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::engine::types::{Cancelled, Merge, Method, Progress, Stage};

use super::matrix::Matrix;
use super::{NO_CANDIDATE, first_minimum, label_merges};

/// Matrix entries read between progress reports.
const REPORT_EVERY: usize = 1 << 21;

/// Runs the generic algorithm on `matrix` (overwritten; at least 2 rows). Progress goes from
/// `start` to 1.
pub(super) fn generic_linkage(
    matrix: &mut Matrix,
    method: Method,
    progress: &dyn Progress,
    start: f64,
) -> Result<Vec<Merge>, Cancelled> {
    let n = matrix.rows();
    let mut live: Vec<usize> = (0..n).collect();
    let mut size = vec![1.0f64; n];
    // Row n - 1 has no later rows, and as the larger slot of every pair it takes part in, it is
    // never merged away: the heap holds the rows 0..n-1.
    let (mut bound, mut nearest): (Vec<f64>, Vec<usize>) = (0..n - 1)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| matrix.row_minimum(i, &live[i + 1..]))
        .unzip();
    bound.push(NO_CANDIDATE.0);
    nearest.push(NO_CANDIDATE.1);
    let mut heap = RowHeap::new(&bound[..n - 1]);
    let mut raw = Vec::with_capacity(n - 1);
    let mut read = 0usize;
    let mut values = Vec::with_capacity(n);

    for _ in 0..n - 1 {
        let i = loop {
            let i = heap.top();
            // Written as "not above" so that a NaN distance (cosine of rows so large that their
            // dot product overflows) merges instead of being rescanned forever.
            if matrix.get(i, nearest[i]).partial_cmp(&bound[i]) != Some(Ordering::Greater) {
                break i;
            }
            // The bound went stale: find the row's true nearest and let the heap reorder.
            let after = &live[live.partition_point(|&x| x <= i)..];
            (bound[i], nearest[i]) = matrix.row_minimum(i, after);
            heap.raise(i, &bound);
            read += after.len();
        };
        let (j, height) = (nearest[i], bound[i]);
        heap.pop(&bound);
        raw.push((i, j, height));
        live.remove(live.partition_point(|&x| x < i));

        let (ni, nj) = (size[i], size[j]);
        matrix.merge(j, i, &live, &mut values, |dj, di| {
            lance_williams(method, ni, nj, di, dj, height)
        });
        size[j] = ni + nj;
        // Every earlier row may now be closer to j than its bound says; row j's own nearest is
        // found among its new values.
        let mut own = NO_CANDIDATE;
        for (&x, &v) in live.iter().zip(&values) {
            if x < j {
                if nearest[x] == i {
                    nearest[x] = j;
                }
                if v < bound[x] {
                    (bound[x], nearest[x]) = (v, j);
                    heap.lower(x, &bound);
                }
            } else if x > j {
                own = first_minimum(own, (v, x));
            }
        }
        if j < n - 1 {
            (bound[j], nearest[j]) = own;
            heap.update(j, &bound);
        }

        read += live.len();
        if read >= REPORT_EVERY {
            read = 0;
            let left = live.len() as f64 / n as f64;
            progress.report(Stage::Linkage, start + (1.0 - start) * (1.0 - left * left))?;
        }
    }
    progress.report(Stage::Linkage, 1.0)?;
    let sort = !matches!(method, Method::Centroid | Method::Median);
    Ok(label_merges(n, raw, sort))
}

/// Distance from the union of clusters I and J (sizes `ni`, `nj`, `dij` apart) to a third
/// cluster at distances `di` and `dj` from them, with scipy's formulas.
#[inline]
fn lance_williams(method: Method, ni: f64, nj: f64, di: f64, dj: f64, dij: f64) -> f64 {
    match method {
        Method::Complete => di.max(dj),
        Method::Average => (ni * di + nj * dj) / (ni + nj),
        Method::Weighted => 0.5 * (di + dj),
        Method::Centroid => {
            let nij = ni + nj;
            (((ni * di * di + nj * dj * dj) - ni * nj * dij * dij / nij) / nij)
                .max(0.0)
                .sqrt()
        }
        Method::Median => (0.5 * (di * di + dj * dj) - 0.25 * dij * dij)
            .max(0.0)
            .sqrt(),
        // Ward and single linkage never reach the matrix (see `super::linkage`).
        Method::Ward | Method::Single => unreachable!("{method} has its own algorithm"),
    }
}

/// A binary min-heap of rows ordered by (bound, row), which tracks where each row sits so that
/// a row's key can move either way.
struct RowHeap {
    rows: Vec<usize>,
    place: Vec<usize>,
}

impl RowHeap {
    fn new(bound: &[f64]) -> Self {
        let rows: Vec<usize> = (0..bound.len()).collect();
        let place = rows.clone();
        let mut heap = RowHeap { rows, place };
        for at in (0..heap.rows.len() / 2).rev() {
            heap.sift_down(at, bound);
        }
        heap
    }

    fn top(&self) -> usize {
        self.rows[0]
    }

    fn pop(&mut self, bound: &[f64]) {
        let last = self.rows.len() - 1;
        self.swap(0, last);
        self.rows.pop();
        if !self.rows.is_empty() {
            self.sift_down(0, bound);
        }
    }

    /// `row`'s bound went up.
    fn raise(&mut self, row: usize, bound: &[f64]) {
        self.sift_down(self.place[row], bound);
    }

    /// `row`'s bound went down.
    fn lower(&mut self, row: usize, bound: &[f64]) {
        self.sift_up(self.place[row], bound);
    }

    /// `row`'s bound changed either way.
    fn update(&mut self, row: usize, bound: &[f64]) {
        let at = self.place[row];
        let at = self.sift_up(at, bound);
        self.sift_down(at, bound);
    }

    fn less(&self, a: usize, b: usize, bound: &[f64]) -> bool {
        let (ra, rb) = (self.rows[a], self.rows[b]);
        // A total order, so that NaN bounds cannot break the heap.
        bound[ra].total_cmp(&bound[rb]).then(ra.cmp(&rb)).is_lt()
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.rows.swap(a, b);
        self.place[self.rows[a]] = a;
        self.place[self.rows[b]] = b;
    }

    fn sift_up(&mut self, mut at: usize, bound: &[f64]) -> usize {
        while at > 0 {
            let parent = (at - 1) / 2;
            if !self.less(at, parent, bound) {
                break;
            }
            self.swap(at, parent);
            at = parent;
        }
        at
    }

    fn sift_down(&mut self, mut at: usize, bound: &[f64]) {
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut least = at;
            if left < self.rows.len() && self.less(left, least, bound) {
                least = left;
            }
            if right < self.rows.len() && self.less(right, least, bound) {
                least = right;
            }
            if least == at {
                return;
            }
            self.swap(at, least);
            at = least;
        }
    }
}
