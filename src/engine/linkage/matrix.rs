//! The condensed distance matrix that complete, average, weighted, centroid and median linkage
//! work on, and the entry point that builds it and runs [`super::generic`].
//!
//! The matrix is scipy's condensed vector of the pairs i < j, 8 bytes a pair (1.6 GB at 20,000
//! rows). Every merge rewrites the distances from the merged cluster to all live clusters, one
//! value per cluster, and most of them lie down a column of the matrix: one cache miss per
//! entry, which is most of a matrix run's time. [`Matrix::merge`] therefore splits that pass
//! across threads and prefetches the entries a few clusters ahead, so that many misses are in
//! flight at once. (A full square matrix, whose rows could be read front to back, was tried: it
//! only moves the misses to the mirrored writes and doubles the memory, whose first touch costs
//! as much again.)

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::engine::distance::pdist_with_meter;
use crate::engine::meter::Meter;
use crate::engine::types::{Merge, Method, Metric, Progress, Stage};

use super::{LinkageError, NO_CANDIDATE, first_minimum};

/// Share of the reported stage given to computing distances (the rest is merging).
const DISTANCE_SHARE: f64 = 0.15;

/// Below this many live clusters a pass over them is cheaper than waking other threads (tests
/// lower it so small inputs exercise the threaded paths).
pub(super) const PARALLEL_MIN_CLUSTERS: usize = if cfg!(test) { 300 } else { 4096 };

/// Clusters ahead of the current one whose entries [`Matrix::merge`] asks the cache for.
const PREFETCH_AHEAD: usize = 16;

pub(super) fn matrix_linkage(
    x: ArrayView2<f64>,
    method: Method,
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<Merge>, LinkageError> {
    let n = x.nrows();
    let pairs = n * (n - 1) / 2;
    // Below the size limit the allocation can still fail (other runs, other processes): find
    // out with a fallible reservation first, since a failing infallible one ends the process.
    if Vec::<f64>::new().try_reserve_exact(pairs).is_err() {
        return Err(LinkageError::OutOfMemory {
            method,
            rows: n,
            bytes: pairs as u64 * 8,
        });
    }
    let meter = Meter::span(progress, Stage::Linkage, pairs as u64, 0.0, DISTANCE_SHARE);
    let mut matrix = Matrix::new(pdist_with_meter(x, metric, &meter)?, n);
    meter.finish()?;
    Ok(super::generic::generic_linkage(
        &mut matrix,
        method,
        progress,
        DISTANCE_SHARE,
    )?)
}

/// The distances between the live clusters, each cluster in the slot of one of its rows.
pub(super) struct Matrix {
    data: Vec<f64>,
    n: usize,
    /// Position of entry (i, i + 1); entry (i, j), i < j, is at `row_start[i] + j - i - 1`.
    row_start: Vec<usize>,
}

impl Matrix {
    /// Wraps a condensed matrix of `n` rows in scipy's order.
    pub(super) fn new(data: Vec<f64>, n: usize) -> Self {
        debug_assert_eq!(data.len(), n * n.saturating_sub(1) / 2);
        let row_start = (0..n).map(|i| i * (2 * n - i - 1) / 2).collect();
        Matrix { data, n, row_start }
    }

    pub(super) fn rows(&self) -> usize {
        self.n
    }

    /// Position of the distance between slots `a != b`.
    #[inline]
    fn position(&self, a: usize, b: usize) -> usize {
        let (i, j) = (a.min(b), a.max(b));
        self.row_start[i] + j - i - 1
    }

    /// Distance between slots `a` and `b`, `a != b`.
    #[inline]
    pub(super) fn get(&self, a: usize, b: usize) -> f64 {
        self.data[self.position(a, b)]
    }

    /// The smallest distance from slot `i` to the slots `after` (each greater than `i`, at
    /// least one), and the first of them at that distance. These distances are contiguous, in
    /// row `i`.
    pub(super) fn row_minimum(&self, i: usize, after: &[usize]) -> (f64, usize) {
        let row = &self.data[self.row_start[i]..self.row_start[i] + self.n - i - 1];
        let scan = |slots: &[usize]| {
            slots.iter().fold(NO_CANDIDATE, |best, &x| {
                first_minimum(best, (row[x - i - 1], x))
            })
        };
        if after.len() >= PARALLEL_MIN_CLUSTERS {
            let chunk = after.len().div_ceil(rayon::current_num_threads() * 2);
            after
                .par_chunks(chunk)
                .map(scan)
                .reduce(|| NO_CANDIDATE, first_minimum)
        } else {
            scan(after)
        }
    }

    /// Merges slot `gone` into slot `keep`: for every slot `x` in `live` (which holds `keep`
    /// but no longer `gone`) sets d(keep, x) = `update(d(keep, x), d(gone, x))`, and leaves the
    /// new values in `values`, in `live`'s order (0 at `keep`'s own place). The caller keeps
    /// `values` from merge to merge, so no merge allocates.
    pub(super) fn merge(
        &mut self,
        keep: usize,
        gone: usize,
        live: &[usize],
        values: &mut Vec<f64>,
        update: impl Fn(f64, f64) -> f64 + Sync,
    ) {
        values.clear();
        values.resize(live.len(), 0.0);
        let data = Shared(self.data.as_mut_ptr());
        // Only the positions are read through `this`; the entries go through `data`.
        let this = &*self;
        let work = |(out, slots): (&mut [f64], &[usize])| {
            for (t, (out, &x)) in out.iter_mut().zip(slots).enumerate() {
                match slots.get(t + PREFETCH_AHEAD) {
                    Some(&ahead) if ahead != keep => {
                        data.prefetch(this.position(keep, ahead));
                        data.prefetch(this.position(gone, ahead));
                    }
                    _ => {}
                }
                if x == keep {
                    continue;
                }
                let (at_keep, at_gone) = (this.position(keep, x), this.position(gone, x));
                // SAFETY: both positions are in bounds (slots are < n and distinct), and the
                // entries of `x` (d(keep, x), written, and d(gone, x), only read) belong to no
                // other slot: `x` is neither `keep` nor `gone`, and each live slot is in exactly
                // one chunk. No reference to the entries exists meanwhile (`self` is borrowed
                // mutably, and `this` reads only `row_start`).
                let value = unsafe {
                    let value = update(data.read(at_keep), data.read(at_gone));
                    data.write(at_keep, value);
                    value
                };
                *out = value;
            }
        };
        if live.len() >= PARALLEL_MIN_CLUSTERS {
            let chunk = live.len().div_ceil(rayon::current_num_threads() * 4);
            values
                .par_chunks_mut(chunk)
                .zip(live.par_chunks(chunk))
                .for_each(work);
        } else {
            work((values, live));
        }
    }
}

/// The matrix's buffer, shared by the threads of one [`Matrix::merge`], each of which touches
/// its own entries only.
#[derive(Clone, Copy)]
struct Shared(*mut f64);

// SAFETY: `Shared` is only used inside `Matrix::merge`, whose threads access disjoint entries.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// # Safety
    /// `at` is in bounds and no other thread writes entry `at` meanwhile.
    #[inline]
    unsafe fn read(self, at: usize) -> f64 {
        unsafe { *self.0.add(at) }
    }

    /// # Safety
    /// `at` is in bounds and no other thread reads or writes entry `at` meanwhile.
    #[inline]
    unsafe fn write(self, at: usize, value: f64) {
        unsafe { *self.0.add(at) = value }
    }

    /// Asks for the cache line of entry `at` (in bounds); a hint, with no effect on results.
    #[inline]
    fn prefetch(self, at: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults and changes no memory; the address is in bounds.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(self.0.wrapping_add(at) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }
}
