//! Distances between encoded rows, with the same formulas and pair order as scipy's `pdist`.
//!
//! Besides the scalar [`distance`] and the condensed [`pdist`], this module holds [`Columns`], a
//! column-major copy of the data. The quadratic stages (linkage, silhouette, cophenetic
//! correlation) spend almost all their time computing the distances from one point to a run of
//! rows; with the rows stored column by column that inner loop runs over contiguous memory and
//! the compiler vectorises it across rows, which a row-major `d`-length loop (d is about 12
//! here) does not allow.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::meter::Meter;
use super::types::{Cancelled, Metric, NoProgress, Stage};

/// Distance between two rows of equal length.
///
/// Cosine distance is `1 - a·b / (|a| |b|)` clipped to `[0, 2]`, as scipy computes it. scipy
/// returns NaN when a row is all zeros, which would poison a whole run; here a zero row is at
/// distance 1 from every non-zero row (its similarity is taken as 0, as scikit-learn does) and at
/// distance 0 from another zero row.
pub fn distance(a: &[f64], b: &[f64], metric: Metric) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    match metric {
        Metric::Euclidean => a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt(),
        Metric::Manhattan => a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum(),
        Metric::Cosine => {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let na: f64 = a.iter().map(|x| x * x).sum();
            let nb: f64 = b.iter().map(|x| x * x).sum();
            cosine_from_parts(dot, na.sqrt(), nb.sqrt())
        }
    }
}

/// Cosine distance from a dot product and the two norms (see [`distance`] for zero rows).
#[inline]
pub(crate) fn cosine_from_parts(dot: f64, norm_a: f64, norm_b: f64) -> f64 {
    if norm_a == 0.0 || norm_b == 0.0 {
        return if norm_a == norm_b { 0.0 } else { 1.0 };
    }
    (1.0 - dot / (norm_a * norm_b)).clamp(0.0, 2.0)
}

/// Position of the pair `(i, j)`, `i < j`, in a condensed matrix of `n` rows (scipy's order:
/// (0,1), (0,2), ..., (0,n-1), (1,2), ...).
#[cfg(test)]
#[inline]
pub(crate) fn condensed_index(n: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < n);
    i * (2 * n - i - 1) / 2 + (j - i - 1)
}

/// All pairwise distances in scipy's condensed order, `n (n - 1) / 2` values, computed in
/// parallel. This is the only function here that allocates the quadratic matrix; the linkage
/// algorithms for Ward and single linkage avoid it.
pub fn pdist(x: ArrayView2<f64>, metric: Metric) -> Vec<f64> {
    // NoProgress never cancels, so the error branch cannot be taken.
    pdist_with_meter(x, metric, &Meter::new(&NoProgress, Stage::Linkage, 1)).unwrap_or_default()
}

/// [`pdist`] that reports through `meter` in units of pairs and stops when cancelled.
pub(crate) fn pdist_with_meter(
    x: ArrayView2<f64>,
    metric: Metric,
    meter: &Meter<'_>,
) -> Result<Vec<f64>, Cancelled> {
    let n = x.nrows();
    let cols = Columns::new(x, metric);
    let mut out = vec![0.0; n * n.saturating_sub(1) / 2];
    // Hand each row's stretch of the condensed vector to a task.
    let mut rows: Vec<(usize, &mut [f64])> = Vec::with_capacity(n);
    let mut rest = out.as_mut_slice();
    for i in 0..n.saturating_sub(1) {
        let (head, tail) = rest.split_at_mut(n - i - 1);
        rows.push((i, head));
        rest = tail;
    }
    rows.into_par_iter().with_min_len(8).try_for_each_init(
        || vec![0.0; cols.dim()],
        |point, (i, row)| {
            cols.row_into(i, point);
            cols.distances_from(point, cols.norm(i), i + 1, row, metric);
            if i % 64 == 0 {
                meter.add(64 * row.len() as u64)?;
            }
            Ok::<(), Cancelled>(())
        },
    )?;
    Ok(out)
}

/// A column-major copy of a data matrix (column `k` of all rows is contiguous), plus row norms
/// for cosine distance.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    n: usize,
    d: usize,
    data: Vec<f64>,
    norms: Vec<f64>,
}

/// Rows per block in the distance kernels: small enough for a stack buffer that stays in L1.
pub(crate) const BLOCK: usize = 256;

impl Columns {
    pub(crate) fn new(x: ArrayView2<f64>, metric: Metric) -> Self {
        let (n, d) = x.dim();
        let mut data = vec![0.0; n * d];
        for (k, col) in x.columns().into_iter().enumerate() {
            for (dst, &v) in data[k * n..(k + 1) * n].iter_mut().zip(col.iter()) {
                *dst = v;
            }
        }
        let norms = if metric == Metric::Cosine {
            x.rows()
                .into_iter()
                .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
                .collect()
        } else {
            Vec::new()
        };
        Columns { n, d, data, norms }
    }

    /// The same rows in the order `order` (row `t` of the result is row `order[t]` here).
    pub(crate) fn permuted(&self, order: &[usize]) -> Self {
        let n = order.len();
        let mut data = vec![0.0; n * self.d];
        for k in 0..self.d {
            let src = &self.data[k * self.n..(k + 1) * self.n];
            for (dst, &o) in data[k * n..(k + 1) * n].iter_mut().zip(order) {
                *dst = src[o];
            }
        }
        let norms = order
            .iter()
            .filter_map(|&o| self.norms.get(o).copied())
            .collect();
        Columns {
            n,
            d: self.d,
            data,
            norms,
        }
    }

    pub(crate) fn dim(&self) -> usize {
        self.d
    }

    /// Copies row `i` into `out` (length `d`).
    pub(crate) fn row_into(&self, i: usize, out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.data[k * self.n + i];
        }
    }

    /// Euclidean norm of row `i` (kept only for the cosine metric; 0 otherwise).
    pub(crate) fn norm(&self, i: usize) -> f64 {
        self.norms.get(i).copied().unwrap_or(0.0)
    }

    /// Copies row `from` (and its norm) over row `to`; with a shrinking count of live rows this
    /// is a swap-remove that keeps the live rows contiguous for the kernels.
    pub(crate) fn copy_row(&mut self, from: usize, to: usize) {
        for k in 0..self.d {
            self.data[k * self.n + to] = self.data[k * self.n + from];
        }
        if !self.norms.is_empty() {
            self.norms[to] = self.norms[from];
        }
    }

    /// Distances from `point` (whose norm is `point_norm`, used by cosine only) to rows
    /// `start .. start + out.len()`, written to `out`.
    pub(crate) fn distances_from(
        &self,
        point: &[f64],
        point_norm: f64,
        start: usize,
        out: &mut [f64],
        metric: Metric,
    ) {
        for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
            let s = start + b * BLOCK;
            match metric {
                Metric::Euclidean => {
                    self.sq_euclidean_block(point, s, chunk);
                    for v in chunk.iter_mut() {
                        *v = v.sqrt();
                    }
                }
                Metric::Manhattan => self.manhattan_block(point, s, chunk),
                Metric::Cosine => {
                    self.dot_block(point, s, chunk);
                    for (t, v) in chunk.iter_mut().enumerate() {
                        *v = cosine_from_parts(*v, point_norm, self.norms[s + t]);
                    }
                }
            }
        }
    }

    /// Squared Euclidean distances from `point` to rows `start .. start + out.len()`.
    #[inline]
    pub(crate) fn sq_euclidean_block(&self, point: &[f64], start: usize, out: &mut [f64]) {
        self.kernel::<SQ_EUCLIDEAN>(point, start, out);
    }

    /// Manhattan distances from `point` to rows `start .. start + out.len()`.
    #[inline]
    pub(crate) fn manhattan_block(&self, point: &[f64], start: usize, out: &mut [f64]) {
        self.kernel::<MANHATTAN>(point, start, out);
    }

    /// Dot products of `point` with rows `start .. start + out.len()`.
    #[inline]
    pub(crate) fn dot_block(&self, point: &[f64], start: usize, out: &mut [f64]) {
        self.kernel::<DOT>(point, start, out);
    }

    #[inline]
    fn kernel<const KIND: u8>(&self, point: &[f64], start: usize, out: &mut [f64]) {
        debug_assert!(start + out.len() <= self.n && point.len() == self.d);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // `kernel_avx2`.
            unsafe { kernel_avx2::<KIND>(&self.data, self.n, point, start, out) };
            return;
        }
        kernel_body::<KIND>(&self.data, self.n, point, start, out);
    }
}

// What a kernel accumulates per dimension: a const parameter, so that each kernel is compiled
// separately with no branch in its inner loop.
const SQ_EUCLIDEAN: u8 = 0;
const MANHATTAN: u8 = 1;
const DOT: u8 = 2;

/// The same code compiled for AVX2 (4 doubles per instruction instead of SSE2's 2). It only
/// widens vectors: no fused multiply-add, so results are bit-identical to the portable build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2<const KIND: u8>(
    data: &[f64],
    stride: usize,
    point: &[f64],
    start: usize,
    out: &mut [f64],
) {
    kernel_body::<KIND>(data, stride, point, start, out);
}

#[inline(always)]
fn step<const KIND: u8>(p: f64, c: f64) -> f64 {
    match KIND {
        SQ_EUCLIDEAN => (p - c) * (p - c),
        MANHATTAN => (p - c).abs(),
        _ => p * c,
    }
}

/// Rows per register tile: 8 accumulators stay in registers across all dimensions, so each
/// column value is loaded once and no partial sum goes back to memory.
const TILE: usize = 8;

#[inline(always)]
fn kernel_body<const KIND: u8>(
    data: &[f64],
    stride: usize,
    point: &[f64],
    start: usize,
    out: &mut [f64],
) {
    let len = out.len();
    let tiles = len / TILE;
    for t in 0..tiles {
        let base = start + t * TILE;
        let mut acc = [0.0f64; TILE];
        for (k, &p) in point.iter().enumerate() {
            let col: &[f64; TILE] =
                match data[k * stride + base..k * stride + base + TILE].try_into() {
                    Ok(c) => c,
                    Err(_) => unreachable!("slice of TILE elements"),
                };
            for (a, &c) in acc.iter_mut().zip(col) {
                *a += step::<KIND>(p, c);
            }
        }
        out[t * TILE..(t + 1) * TILE].copy_from_slice(&acc);
    }
    for (o, r) in out[tiles * TILE..].iter_mut().zip(start + tiles * TILE..) {
        let mut acc = 0.0;
        for (k, &p) in point.iter().enumerate() {
            acc += step::<KIND>(p, data[k * stride + r]);
        }
        *o = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn condensed_index_follows_scipy_order() {
        let n = 5;
        let mut expected = 0;
        for i in 0..n {
            for j in i + 1..n {
                assert_eq!(condensed_index(n, i, j), expected);
                expected += 1;
            }
        }
    }

    #[test]
    fn scalar_metrics() {
        let a = [1.0, 2.0, 3.0];
        let b = [4.0, 0.0, 3.0];
        assert!((distance(&a, &b, Metric::Euclidean) - 13f64.sqrt()).abs() < 1e-15);
        assert!((distance(&a, &b, Metric::Manhattan) - 5.0).abs() < 1e-15);
        let cos = 1.0 - 13.0 / (14f64.sqrt() * 5.0);
        assert!((distance(&a, &b, Metric::Cosine) - cos).abs() < 1e-15);
        // Zero rows: similarity 0 against anything non-zero, identical to each other.
        assert_eq!(distance(&[0.0, 0.0], &[1.0, 0.0], Metric::Cosine), 1.0);
        assert_eq!(distance(&[0.0, 0.0], &[0.0, 0.0], Metric::Cosine), 0.0);
    }

    #[test]
    fn pdist_matches_scalar_distance() {
        let x = array![
            [0.1, -2.0, 3.5],
            [1.0, 0.5, -0.25],
            [0.0, 0.0, 0.0],
            [2.5, 1.5, 1.0],
            [-1.0, 4.0, 0.5]
        ];
        for metric in Metric::ALL {
            let d = pdist(x.view(), metric);
            assert_eq!(d.len(), 10);
            for i in 0..5 {
                for j in i + 1..5 {
                    let r = x.row(i).to_vec();
                    let s = x.row(j).to_vec();
                    let want = distance(&r, &s, metric);
                    assert!(
                        (d[condensed_index(5, i, j)] - want).abs() < 1e-14,
                        "{metric}"
                    );
                }
            }
        }
    }
}
