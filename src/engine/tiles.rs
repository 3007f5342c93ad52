//! Register- and cache-blocked distance tiles for the passes that visit every pair of rows once.
//!
//! The exact silhouette needs all n (n - 1) / 2 distances (5·10⁹ at 100,000 rows). Computed one
//! point against a run of rows of a column-major matrix, every distance reloads the partner's
//! `d` values from `d` places far apart in memory, and the pass is bound by those loads, not by
//! arithmetic. Here the rows are copied once into *panels* of [`PANEL`] rows stored dimension
//! by dimension (the 8 values of dimension 0, then the 8 of dimension 1, ...), the layout BLAS
//! packs its operands into:
//!
//! * a micro-kernel takes [`GROUP`] points of one panel against the 8 rows of another and keeps
//!   the 4 x 8 partial sums in registers across all dimensions (one load of each partner value
//!   serves four points, one broadcast of each point value serves eight partners);
//! * [`Panels::block_sums`] runs a block of [`BLOCK`] point panels (15 KB, held in L1) against
//!   every later panel, so each partner panel comes from memory once per block.
//!
//! Rows are grouped by segment and each segment starts a new panel, so a tile's 32 distances
//! all go to one segment on each side: the row sums and column sums of a tile are credited
//! with a few vector adds instead of 64 scattered ones. The few panels the kernels cannot take
//! (a segment's last, partly filled panel; for cosine, a panel holding an all-zero row) and
//! the pairs inside one panel go through the scalar [`distance`].
//!
//! Euclidean distances are summed as `(a - b)²` dimension by dimension, with a fused
//! multiply-add where the CPU has one, not as `|a|² + |b|² - 2 a·b` (scikit-learn's way for
//! float64): the dot-product form saves the subtraction but loses digits to cancellation for
//! close pairs (identical rows can come out at the square root of rounding noise, about 1e-7
//! for standardized rows, instead of 0) and would need a repair path for them. Measured on 20,000 rows x 12 features
//! (criterion, `silhouette_20k`), the difference kernel without its square root took 222 ms
//! against 192 ms for the cosine kernel, which is the dot-product form's inner loop; with the
//! square root, which every silhouette distance needs in either form, it takes 400 ms. The
//! dot-product form could save at most about 7 %, so the exact form stays.
//!
//! faer was measured for the tiles as well: its matrix product alone (the dot products of
//! 256-row blocks with all later rows, written to memory) took 1.4 s on the same 20,000 x 12
//! rows, three times this whole pass; with 12 to 30 columns a general product spends its time
//! packing and writing results, which the fused kernel never does.

use ndarray::ArrayView2;

use super::distance::distance;
use super::types::Metric;

/// Rows per panel: two 4-wide vectors.
pub(crate) const PANEL: usize = 8;
/// Points per micro-kernel call: 4 points x 2 vectors = 8 accumulators, half of the 16 AVX2
/// registers, leaving room for the two partner vectors, a broadcast and the differences.
const GROUP: usize = 4;
/// Point panels per cache block (8 x 8 rows x 29 features x 8 bytes = 15 KB: with the partner
/// panel and the sums it touches, within a 32 KB L1).
pub(crate) const BLOCK: usize = 8;

// What a kernel accumulates per dimension (const parameter: one compiled kernel per metric).
const SQ_EUCLIDEAN: u8 = 0;
const MANHATTAN: u8 = 1;
const DOT: u8 = 2;

/// The rows of a matrix grouped by segment and packed into panels (see the module docs).
pub(crate) struct Panels {
    d: usize,
    k: usize,
    metric: Metric,
    /// `panel * d * PANEL + dim * PANEL + slot`; unused slots are 0. Rows are divided by their
    /// norm for cosine (the distance does not depend on length), so the kernel needs only
    /// the dot product.
    data: Vec<f64>,
    /// Segment of every panel (non-decreasing).
    segment: Vec<usize>,
    /// Rows used in every panel (the first `filled` slots).
    filled: Vec<usize>,
    /// Whether the kernels may take the panel: full, and for cosine no all-zero row.
    clean: Vec<bool>,
    /// Original row of every slot (`usize::MAX` for an unused slot).
    row_of: Vec<usize>,
    /// Rows in the panels after each panel (`rows_after[p]`: in panels `p + 1..`).
    rows_after: Vec<u64>,
}

impl Panels {
    /// Packs the rows of `x`, whose segments are `labels` (each `< k`).
    pub(crate) fn new(x: ArrayView2<f64>, labels: &[usize], k: usize, metric: Metric) -> Self {
        let (n, d) = x.dim();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| labels[i]);
        let mut panel_rows: Vec<(usize, &[usize])> = Vec::new();
        let mut start = 0;
        while start < n {
            let segment = labels[order[start]];
            let end = start + order[start..].partition_point(|&i| labels[i] == segment);
            for chunk in order[start..end].chunks(PANEL) {
                panel_rows.push((segment, chunk));
            }
            start = end;
        }
        let count = panel_rows.len();
        let mut data = vec![0.0; count * d * PANEL];
        let mut row_of = vec![usize::MAX; count * PANEL];
        let mut clean = vec![false; count];
        for (p, (_, rows)) in panel_rows.iter().enumerate() {
            let panel = &mut data[p * d * PANEL..(p + 1) * d * PANEL];
            let mut zero_row = false;
            for (slot, &r) in rows.iter().enumerate() {
                row_of[p * PANEL + slot] = r;
                let row = x.row(r);
                let scale = if metric == Metric::Cosine {
                    let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                    zero_row |= norm == 0.0;
                    if norm == 0.0 { 1.0 } else { 1.0 / norm }
                } else {
                    1.0
                };
                for (dim, &v) in row.iter().enumerate() {
                    panel[dim * PANEL + slot] = if metric == Metric::Cosine {
                        v * scale
                    } else {
                        v
                    };
                }
            }
            clean[p] = rows.len() == PANEL && !zero_row;
        }
        let filled: Vec<usize> = panel_rows.iter().map(|(_, rows)| rows.len()).collect();
        let mut rows_after = vec![0u64; count];
        for p in (0..count.saturating_sub(1)).rev() {
            rows_after[p] = rows_after[p + 1] + filled[p + 1] as u64;
        }
        Panels {
            d,
            k,
            metric,
            data,
            segment: panel_rows.iter().map(|(s, _)| *s).collect(),
            filled,
            clean,
            row_of,
            rows_after,
        }
    }

    /// Number of panels.
    pub(crate) fn len(&self) -> usize {
        self.segment.len()
    }

    /// Slots of all panels (rows plus padding): the length of one segment's column of sums.
    pub(crate) fn slots(&self) -> usize {
        self.len() * PANEL
    }

    /// Original row in `slot`, if the slot holds one.
    pub(crate) fn row_of(&self, slot: usize) -> Option<usize> {
        self.row_of.get(slot).copied().filter(|&r| r != usize::MAX)
    }

    /// Pairs of rows whose first row lies in panels `lo..hi` (the unit of progress).
    pub(crate) fn pairs_from(&self, lo: usize, hi: usize) -> u64 {
        (lo..hi)
            .map(|p| {
                let f = self.filled[p] as u64;
                f * self.rows_after[p] + f * f.saturating_sub(1) / 2
            })
            .sum()
    }

    fn panel(&self, p: usize) -> &[f64] {
        &self.data[p * self.d * PANEL..(p + 1) * self.d * PANEL]
    }

    /// Adds, for the pairs whose first row lies in point panels `a0..a1`, each distance to both
    /// rows' sums in `table` (segment-major: `table[segment * slots() + slot]`).
    pub(crate) fn block_sums(&self, a0: usize, a1: usize, table: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above), all `block_avx2` needs.
            unsafe {
                match self.metric {
                    Metric::Euclidean => self.block_avx2::<SQ_EUCLIDEAN>(a0, a1, table),
                    Metric::Manhattan => self.block_avx2::<MANHATTAN>(a0, a1, table),
                    Metric::Cosine => self.block_avx2::<DOT>(a0, a1, table),
                }
            }
            return;
        }
        match self.metric {
            Metric::Euclidean => self.block::<SQ_EUCLIDEAN, false>(a0, a1, table),
            Metric::Manhattan => self.block::<MANHATTAN, false>(a0, a1, table),
            Metric::Cosine => self.block::<DOT, false>(a0, a1, table),
        }
    }

    /// [`Panels::block`] compiled for AVX2 with fused multiply-add.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2<const KIND: u8>(&self, a0: usize, a1: usize, table: &mut [f64]) {
        self.block::<KIND, true>(a0, a1, table);
    }

    #[inline(always)]
    fn block<const KIND: u8, const SIMD: bool>(&self, a0: usize, a1: usize, table: &mut [f64]) {
        let slots = self.slots();
        let d = self.d;
        assert!(a0 <= a1 && a1 <= self.len() && a1 - a0 <= BLOCK);
        assert_eq!(table.len(), self.k * slots);
        // Per point slot of the block: 4 partial sums of its distances to the partner panels of
        // the current segment, added to `table` when the partners' segment changes.
        let mut row_sums = [[0.0f64; GROUP]; BLOCK * PANEL];
        let mut current = self.segment.get(a0).copied().unwrap_or(0);
        for b in a0..self.len() {
            if self.segment[b] != current {
                self.flush(&mut row_sums, a0, a1, current, table);
                current = self.segment[b];
            }
            let partners = self.panel(b);
            for a in a0..a1.min(b) {
                if !(self.clean[a] && self.clean[b]) {
                    self.scalar_pairs(a, b, table);
                    continue;
                }
                let points = self.panel(a);
                let col_start = self.segment[a] * slots + b * PANEL;
                let cols: &mut [f64; PANEL] =
                    match (&mut table[col_start..col_start + PANEL]).try_into() {
                        Ok(c) => c,
                        Err(_) => unreachable!("slice of PANEL elements"),
                    };
                let rows = &mut row_sums[(a - a0) * PANEL..(a - a0 + 1) * PANEL];
                let (first, second) = rows.split_at_mut(GROUP);
                for (offset, rows) in [(0, first), (GROUP, second)] {
                    let rows: &mut [[f64; GROUP]; GROUP] = match rows.try_into() {
                        Ok(r) => r,
                        Err(_) => unreachable!("GROUP rows"),
                    };
                    if SIMD {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `block` is only instantiated with SIMD from `block_avx2`,
                        // whose caller checked that the CPU has AVX2 and FMA.
                        unsafe {
                            avx2::tile::<KIND>(points, offset, partners, d, rows, cols)
                        };
                    } else {
                        portable_tile::<KIND>(points, offset, partners, d, rows, cols);
                    }
                }
            }
            if b < a1 {
                self.scalar_pairs(b, b, table);
            }
        }
        self.flush(&mut row_sums, a0, a1, current, table);
    }

    /// Adds the block's pending row sums to `segment`'s column of `table` and clears them.
    fn flush(
        &self,
        row_sums: &mut [[f64; GROUP]],
        a0: usize,
        a1: usize,
        segment: usize,
        table: &mut [f64],
    ) {
        let column = &mut table[segment * self.slots()..(segment + 1) * self.slots()];
        let used = (a1 - a0) * PANEL;
        for (t, s) in column[a0 * PANEL..a0 * PANEL + used]
            .iter_mut()
            .zip(row_sums[..used].iter_mut())
        {
            *t += s.iter().sum::<f64>();
            *s = [0.0; GROUP];
        }
    }

    /// Pairs between panels `a` and `b` one at a time (for `a == b`, the pairs inside the panel).
    fn scalar_pairs(&self, a: usize, b: usize, table: &mut [f64]) {
        let slots = self.slots();
        let d = self.d;
        let rows = |p: usize| -> Vec<f64> {
            let panel = self.panel(p);
            (0..self.filled[p] * d)
                .map(|t| panel[(t % d) * PANEL + t / d])
                .collect()
        };
        let (rows_a, rows_b) = (rows(a), rows(b));
        for (i, ri) in rows_a.chunks_exact(d.max(1)).enumerate() {
            let first = if a == b { i + 1 } else { 0 };
            for (j, rj) in rows_b.chunks_exact(d.max(1)).enumerate().skip(first) {
                let dist = distance(ri, rj, self.metric);
                table[self.segment[b] * slots + a * PANEL + i] += dist;
                table[self.segment[a] * slots + b * PANEL + j] += dist;
            }
        }
    }
}

#[inline(always)]
fn step<const KIND: u8>(p: f64, c: f64) -> f64 {
    match KIND {
        SQ_EUCLIDEAN => (p - c) * (p - c),
        MANHATTAN => (p - c).abs(),
        _ => p * c,
    }
}

#[inline(always)]
fn finish<const KIND: u8>(v: f64) -> f64 {
    match KIND {
        SQ_EUCLIDEAN => v.sqrt(),
        MANHATTAN => v,
        // Rows are unit length: the cosine distance is 1 - a·b, clipped as scipy does.
        _ => (1.0 - v).clamp(0.0, 2.0),
    }
}

/// Distances of points `offset..offset + GROUP` of the panel `points` to the rows of the panel
/// `partners`; adds each point's sum to `rows[i]` and each partner's sum to `cols`.
#[inline(always)]
fn portable_tile<const KIND: u8>(
    points: &[f64],
    offset: usize,
    partners: &[f64],
    d: usize,
    rows: &mut [[f64; GROUP]; GROUP],
    cols: &mut [f64; PANEL],
) {
    let mut acc = [[0.0f64; PANEL]; GROUP];
    for dim in 0..d {
        let col: &[f64; PANEL] = match partners[dim * PANEL..(dim + 1) * PANEL].try_into() {
            Ok(c) => c,
            Err(_) => unreachable!("slice of PANEL elements"),
        };
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let p = points[dim * PANEL + offset + i];
            for (a, &c) in acc_i.iter_mut().zip(col) {
                *a += step::<KIND>(p, c);
            }
        }
    }
    for (acc_i, row) in acc.iter_mut().zip(rows.iter_mut()) {
        for (j, a) in acc_i.iter_mut().enumerate() {
            *a = finish::<KIND>(*a);
            row[j % GROUP] += *a;
            cols[j] += *a;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{GROUP, MANHATTAN, PANEL, SQ_EUCLIDEAN};
    use std::arch::x86_64::*;

    /// [`super::portable_tile`] in AVX2 registers: 8 accumulators of 4 doubles, the partner
    /// panel read as two vectors per dimension, each point value broadcast once.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const KIND: u8>(
        points: &[f64],
        offset: usize,
        partners: &[f64],
        d: usize,
        rows: &mut [[f64; GROUP]; GROUP],
        cols: &mut [f64; PANEL],
    ) {
        assert!(
            points.len() >= d * PANEL && partners.len() >= d * PANEL && offset + GROUP <= PANEL
        );
        let p_ptr = points.as_ptr().wrapping_add(offset);
        let c_ptr = partners.as_ptr();
        let mut acc = [_mm256_setzero_pd(); 2 * GROUP];
        let sign = _mm256_set1_pd(-0.0);
        for dim in 0..d {
            // SAFETY: `dim * PANEL + 8 <= d * PANEL <= partners.len()`, and
            // `dim * PANEL + offset + i < d * PANEL <= points.len()` (asserted above).
            let (c0, c1) = unsafe {
                (
                    _mm256_loadu_pd(c_ptr.add(dim * PANEL)),
                    _mm256_loadu_pd(c_ptr.add(dim * PANEL + 4)),
                )
            };
            for i in 0..GROUP {
                // SAFETY: as above.
                let p = unsafe { _mm256_broadcast_sd(&*p_ptr.add(dim * PANEL + i)) };
                match KIND {
                    SQ_EUCLIDEAN => {
                        let t0 = _mm256_sub_pd(c0, p);
                        let t1 = _mm256_sub_pd(c1, p);
                        acc[2 * i] = _mm256_fmadd_pd(t0, t0, acc[2 * i]);
                        acc[2 * i + 1] = _mm256_fmadd_pd(t1, t1, acc[2 * i + 1]);
                    }
                    MANHATTAN => {
                        let t0 = _mm256_andnot_pd(sign, _mm256_sub_pd(c0, p));
                        let t1 = _mm256_andnot_pd(sign, _mm256_sub_pd(c1, p));
                        acc[2 * i] = _mm256_add_pd(acc[2 * i], t0);
                        acc[2 * i + 1] = _mm256_add_pd(acc[2 * i + 1], t1);
                    }
                    _ => {
                        acc[2 * i] = _mm256_fmadd_pd(c0, p, acc[2 * i]);
                        acc[2 * i + 1] = _mm256_fmadd_pd(c1, p, acc[2 * i + 1]);
                    }
                }
            }
        }
        let one = _mm256_set1_pd(1.0);
        let two = _mm256_set1_pd(2.0);
        let zero = _mm256_setzero_pd();
        for v in acc.iter_mut() {
            *v = match KIND {
                SQ_EUCLIDEAN => _mm256_sqrt_pd(*v),
                MANHATTAN => *v,
                _ => _mm256_min_pd(_mm256_max_pd(_mm256_sub_pd(one, *v), zero), two),
            };
        }
        for (i, row) in rows.iter_mut().enumerate() {
            // SAFETY: `row` is 4 doubles.
            unsafe {
                let r = _mm256_loadu_pd(row.as_ptr());
                let s = _mm256_add_pd(acc[2 * i], acc[2 * i + 1]);
                _mm256_storeu_pd(row.as_mut_ptr(), _mm256_add_pd(r, s));
            }
        }
        let s0 = _mm256_add_pd(_mm256_add_pd(acc[0], acc[2]), _mm256_add_pd(acc[4], acc[6]));
        let s1 = _mm256_add_pd(_mm256_add_pd(acc[1], acc[3]), _mm256_add_pd(acc[5], acc[7]));
        // SAFETY: `cols` is 8 doubles.
        unsafe {
            let c = cols.as_mut_ptr();
            _mm256_storeu_pd(c, _mm256_add_pd(_mm256_loadu_pd(c), s0));
            _mm256_storeu_pd(c.add(4), _mm256_add_pd(_mm256_loadu_pd(c.add(4)), s1));
        }
    }
}
