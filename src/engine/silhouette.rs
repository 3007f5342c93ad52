//! Silhouette scores, equal to scikit-learn's `silhouette_samples` / `silhouette_score`.
//!
//! The silhouette needs, for every row, the sum of its distances to each segment. Those sums
//! are accumulated in one pass over the n (n - 1) / 2 pairs without ever storing a distance
//! matrix: the rows are packed by segment into panels (see [`super::tiles`] for the kernels),
//! the panels are split into a few bands with about the same number of pairs, each band runs
//! on its own thread with a private table of sums (both rows of a pair are credited, so each
//! distance is computed once), and the tables are added at the end. Extra memory is
//! O(n (d + k · threads)), against scikit-learn's chunked O(n · chunk) distance matrices.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::meter::Meter;
use super::tiles::{BLOCK, Panels};
use super::types::{Cancelled, Metric, Progress, Stage};

/// Silhouette of every row, as `sklearn.metrics.silhouette_samples(x, labels, metric=...)`:
/// `(b - a) / max(a, b)` with `a` the mean distance to the rest of its own segment and `b` the
/// smallest mean distance to another segment. Rows alone in their segment score 0, as do rows
/// whose `a` and `b` are both 0 (scikit-learn's NaN-to-zero). With a single segment there is no
/// `b`: every row scores 0 where scikit-learn would refuse.
///
/// Segments are `0..=max(labels)`. Reports [`Stage::Silhouette`].
///
/// # Panics
/// If `labels` does not hold exactly one label per row of `x` (a caller bug, not bad data).
pub fn silhouette_samples(
    x: ArrayView2<f64>,
    labels: &[usize],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<f64>, Cancelled> {
    assert_eq!(x.nrows(), labels.len(), "one label per row");
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let meter = Meter::new(progress, Stage::Silhouette, pair_count(x.nrows()));
    let sums = segment_distance_sums(x, labels, k, metric, &meter)?;
    meter.finish()?;
    Ok(samples_from_sums(
        &sums,
        labels,
        &segment_counts(labels, k),
        k,
    ))
}

/// Mean silhouette, equal to `sklearn.metrics.silhouette_score` (0 for no rows).
pub fn silhouette_score(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// Mean silhouette of each segment `0..k` (0 for a segment with no rows).
pub fn segment_means(samples: &[f64], labels: &[usize], k: usize) -> Vec<f64> {
    let mut sum = vec![0.0; k];
    let mut count = vec![0usize; k];
    for (&s, &l) in samples.iter().zip(labels) {
        if l < k {
            sum[l] += s;
            count[l] += 1;
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| if c == 0 { 0.0 } else { s / c as f64 })
        .collect()
}

pub(crate) fn pair_count(n: usize) -> u64 {
    (n as u64) * (n.saturating_sub(1) as u64) / 2
}

pub(crate) fn segment_counts(labels: &[usize], k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

/// Silhouettes from the row-by-segment distance sums (`sums[i * k + c]`).
pub(crate) fn samples_from_sums(
    sums: &[f64],
    labels: &[usize],
    counts: &[usize],
    k: usize,
) -> Vec<f64> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &own)| {
            if counts[own] <= 1 {
                return 0.0;
            }
            let row = &sums[i * k..(i + 1) * k];
            let a = row[own] / (counts[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && counts[c] > 0)
                .map(|c| row[c] / counts[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            let denom = a.max(b);
            if denom > 0.0 { (b - a) / denom } else { 0.0 }
        })
        .collect()
}

/// For every row `i` and segment `c`, the sum of distances from `i` to the rows labelled `c`,
/// as a row-major `n x k` table. Reports one unit per pair through `meter`.
///
/// The rows are packed into segment-sorted panels ([`Panels`]) and the panels split into
/// bands with about the same number of pairs, one private segment-major table per band; each
/// band walks its point panels [`BLOCK`] at a time against every later panel.
pub(crate) fn segment_distance_sums(
    x: ArrayView2<f64>,
    labels: &[usize],
    k: usize,
    metric: Metric,
    meter: &Meter<'_>,
) -> Result<Vec<f64>, Cancelled> {
    let n = x.nrows();
    let panels = Panels::new(x, labels, k, metric);
    let slots = panels.slots();
    let bands = balanced_bands(panels.len(), rayon::current_num_threads() * 2);
    let partials: Vec<Vec<f64>> = bands
        .into_par_iter()
        .map(|(lo, hi)| {
            let mut table = vec![0.0; k * slots];
            let mut a0 = lo;
            while a0 < hi {
                let a1 = (a0 + BLOCK).min(hi);
                panels.block_sums(a0, a1, &mut table);
                meter.add(panels.pairs_from(a0, a1))?;
                a0 = a1;
            }
            Ok(table)
        })
        .collect::<Result<_, _>>()?;
    // Add the bands' segment-major tables and return to row-major, original row order.
    let mut total = vec![0.0; n * k];
    for part in partials {
        for (c, column) in part.chunks(slots.max(1)).enumerate() {
            for (slot, &v) in column.iter().enumerate() {
                if let Some(row) = panels.row_of(slot) {
                    total[row * k + c] += v;
                }
            }
        }
    }
    Ok(total)
}

/// Splits rows `0..n` into at most `parts` contiguous bands with about the same number of
/// pairs `(i, j > i)` each (early rows have more partners, so early bands are narrower).
pub(crate) fn balanced_bands(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let total = pair_count(n);
    let parts = parts.max(1) as u64;
    let mut bands = Vec::new();
    let mut lo = 0;
    let mut done = 0u64;
    for p in 1..=parts {
        let target = total * p / parts;
        let mut hi = lo;
        while hi < n && (done < target || p == parts) {
            done += (n - hi - 1) as u64;
            hi += 1;
        }
        if hi > lo {
            bands.push((lo, hi));
        }
        lo = hi;
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::distance::distance;
    use crate::engine::types::NoProgress;
    use ndarray::Array2;

    /// Direct transcription of the definition, for comparison.
    fn naive_samples(x: &Array2<f64>, labels: &[usize], metric: Metric) -> Vec<f64> {
        let n = x.nrows();
        let k = labels.iter().max().map_or(0, |m| m + 1);
        (0..n)
            .map(|i| {
                let mut sum = vec![0.0; k];
                let mut count = vec![0usize; k];
                for j in 0..n {
                    if j != i {
                        let ri = x.row(i).to_vec();
                        let rj = x.row(j).to_vec();
                        sum[labels[j]] += distance(&ri, &rj, metric);
                        count[labels[j]] += 1;
                    }
                }
                if count[labels[i]] == 0 {
                    return 0.0;
                }
                let a = sum[labels[i]] / count[labels[i]] as f64;
                let b = (0..k)
                    .filter(|&c| c != labels[i] && count[c] > 0)
                    .map(|c| sum[c] / count[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .collect()
    }

    #[test]
    fn bands_cover_every_row_once() {
        for n in [0, 1, 2, 3, 10, 1000] {
            for parts in [1, 3, 8] {
                let bands = balanced_bands(n, parts);
                let mut next = 0;
                for (lo, hi) in bands {
                    assert_eq!(lo, next);
                    assert!(hi > lo);
                    next = hi;
                }
                assert_eq!(next, n, "n={n} parts={parts}");
            }
        }
    }

    #[test]
    fn matches_the_definition_on_every_metric() {
        let n = 700; // more than one distance block per row
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i * 37 + j * 11) % 101) as f64 / 7.0 + (i % 5) as f64
        });
        let labels: Vec<usize> = (0..n).map(|i| (i * 7 + i / 13) % 4).collect();
        for metric in Metric::ALL {
            let fast = silhouette_samples(x.view(), &labels, metric, &NoProgress).unwrap();
            let slow = naive_samples(&x, &labels, metric);
            for (f, s) in fast.iter().zip(&slow) {
                assert!((f - s).abs() < 1e-12, "{metric}: {f} vs {s}");
            }
        }
    }

    /// Sizes and segment counts that leave partly filled panels, one-row segments, several
    /// blocks per band, duplicate rows and (for cosine) all-zero rows in full panels.
    #[test]
    fn matches_the_definition_with_ragged_segments_and_special_rows() {
        for (n, k) in [(1, 1), (2, 1), (9, 2), (33, 5), (150, 3), (203, 7)] {
            let x = Array2::from_shape_fn((n, 5), |(i, j)| {
                if i % 17 == 3 {
                    0.0 // all-zero rows
                } else if i % 11 == 4 {
                    1.5 - j as f64 // duplicates of one row
                } else {
                    ((i * 31 + j * 7) % 23) as f64 / 3.0 - 3.5
                }
            });
            let labels: Vec<usize> = (0..n).map(|i| (i * i + 3 * i) % k).collect();
            for metric in Metric::ALL {
                let fast = silhouette_samples(x.view(), &labels, metric, &NoProgress).unwrap();
                let slow = naive_samples(&x, &labels, metric);
                for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
                    let s = if s.is_nan() { 0.0 } else { *s };
                    assert!((f - s).abs() < 1e-12, "n={n} {metric} row {i}: {f} vs {s}");
                }
            }
        }
    }

    #[test]
    fn singletons_and_single_segment_score_zero() {
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 1.0, 5.0, 6.0]).unwrap();
        let s =
            silhouette_samples(x.view(), &[0, 0, 1, 2], Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(s[2], 0.0);
        assert_eq!(s[3], 0.0);
        assert!(s[0] > 0.0);
        let one =
            silhouette_samples(x.view(), &[0, 0, 0, 0], Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(one, vec![0.0; 4]);
        // Duplicate points: a = b = 0 gives 0, not NaN.
        let dup = Array2::zeros((4, 2));
        let s =
            silhouette_samples(dup.view(), &[0, 0, 1, 1], Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(s, vec![0.0; 4]);
    }

    #[test]
    fn segment_means_average_each_segment() {
        let means = segment_means(&[1.0, 0.5, -1.0, 0.0], &[0, 0, 1, 1], 3);
        assert_eq!(means, vec![0.75, -0.5, 0.0]);
        assert_eq!(silhouette_score(&[1.0, 0.5, -1.0, 0.0]), 0.125);
    }

    #[test]
    fn cancellation_stops_the_pass() {
        let x = Array2::from_shape_fn((3000, 2), |(i, j)| (i * (j + 1)) as f64);
        let labels: Vec<usize> = (0..3000).map(|i| i % 3).collect();
        let stop = |_: Stage, f: f64| if f > 0.1 { Err(Cancelled) } else { Ok(()) };
        assert_eq!(
            silhouette_samples(x.view(), &labels, Metric::Euclidean, &stop),
            Err(Cancelled)
        );
    }
}
