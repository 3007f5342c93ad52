//! Silhouette scores, equal to scikit-learn's `silhouette_samples` / `silhouette_score`.
//!
//! The silhouette needs, for every row, the sum of its distances to each segment. Those sums
//! are accumulated in one pass over the n (n - 1) / 2 pairs without ever storing a distance
//! matrix: the pairs are split into a few balanced bands of rows, each band runs on its own
//! thread with a private `n x k` table of sums (both rows of a pair are credited, so each
//! distance is computed once), and the tables are added at the end. Extra memory is
//! O(n (d + k · threads)), against scikit-learn's chunked O(n · chunk) distance matrices.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::distance::{BLOCK, Columns, POINTS};
use super::meter::Meter;
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
pub(crate) fn segment_distance_sums(
    x: ArrayView2<f64>,
    labels: &[usize],
    k: usize,
    metric: Metric,
    meter: &Meter<'_>,
) -> Result<Vec<f64>, Cancelled> {
    let n = x.nrows();
    // Rows sorted by segment: then every run of partners shares one segment, and both sides of
    // a pair are credited with plain vector adds instead of per-pair scatters.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| labels[i]);
    let cols = Columns::new(x, metric).permuted(&order);
    let mut bounds = vec![0usize; k + 1];
    for &l in labels {
        bounds[l + 1] += 1;
    }
    for c in 0..k {
        bounds[c + 1] += bounds[c];
    }
    let sorted_labels: Vec<usize> = order.iter().map(|&i| labels[i]).collect();
    let bands = balanced_bands(n, rayon::current_num_threads() * 2);
    let partials: Vec<Vec<f64>> = bands
        .into_par_iter()
        .map(|(lo, hi)| band_sums(&cols, &sorted_labels, &bounds, lo, hi, metric, meter))
        .collect::<Result<_, _>>()?;
    // Add the bands' segment-major tables and return to row-major, original row order.
    let mut total = vec![0.0; n * k];
    for part in partials {
        for (c, column) in part.chunks(n.max(1)).enumerate() {
            for (p, &v) in column.iter().enumerate() {
                total[order[p] * k + c] += v;
            }
        }
    }
    Ok(total)
}

/// Pairs `(p, q)` of sorted positions with `lo <= p < hi` and `p < q`, credited to both rows in
/// a private segment-major table (`table[c * n + p]`).
///
/// Rows are taken [`POINTS`] at a time when they share a segment, so each column value of a
/// partner is loaded once per group instead of once per row (the pass is bound by those
/// loads); the distances are the same, only the order of some additions differs.
fn band_sums(
    cols: &Columns,
    labels: &[usize],
    bounds: &[usize],
    lo: usize,
    hi: usize,
    metric: Metric,
    meter: &Meter<'_>,
) -> Result<Vec<f64>, Cancelled> {
    let n = cols.len();
    let d = cols.dim();
    let k = bounds.len() - 1;
    let mut table = vec![0.0; n * k];
    let mut point = vec![0.0; d];
    let mut points = vec![0.0; POINTS * d];
    let mut buf = [0.0; BLOCK];
    let mut many = vec![0.0; POINTS * BLOCK];
    let mut unreported = 0u64;
    let mut p = lo;
    while p < hi {
        let own_segment = labels[p];
        let group_end = p + POINTS;
        if group_end <= hi && group_end <= bounds[own_segment + 1] {
            let mut norms = [0.0; POINTS];
            for (i, norm) in norms.iter_mut().enumerate() {
                cols.row_into(p + i, &mut points[i * d..(i + 1) * d]);
                *norm = cols.norm(p + i);
            }
            // Pairs inside the group.
            for i in 0..POINTS - 1 {
                let first = p + i + 1;
                let out = &mut buf[..group_end - first];
                cols.distances_from(&points[i * d..(i + 1) * d], norms[i], first, out, metric);
                table[own_segment * n + p + i] += out.iter().sum::<f64>();
                let partners = &mut table[own_segment * n + first..own_segment * n + group_end];
                for (t, &dist) in partners.iter_mut().zip(out.iter()) {
                    *t += dist;
                }
            }
            // Pairs with every later row, one segment at a time.
            for c in own_segment..k {
                let mut start = if c == own_segment {
                    group_end
                } else {
                    bounds[c]
                };
                let mut to_segment = [0.0; POINTS];
                while start < bounds[c + 1] {
                    let len = BLOCK.min(bounds[c + 1] - start);
                    let out = &mut many[..POINTS * len];
                    cols.distances_from_many(&points, &norms, start, len, out, metric);
                    for (sum, row) in to_segment.iter_mut().zip(out.chunks(len)) {
                        *sum += row.iter().sum::<f64>();
                    }
                    let partners =
                        &mut table[own_segment * n + start..own_segment * n + start + len];
                    for (t, slot) in partners.iter_mut().enumerate() {
                        let mut v = 0.0;
                        for i in 0..POINTS {
                            v += out[i * len + t];
                        }
                        *slot += v;
                    }
                    start += len;
                }
                for (i, &sum) in to_segment.iter().enumerate() {
                    table[c * n + p + i] += sum;
                }
            }
            unreported += (0..POINTS).map(|i| (n - p - i - 1) as u64).sum::<u64>();
            p = group_end;
        } else {
            cols.row_into(p, &mut point);
            let norm = cols.norm(p);
            for c in own_segment..k {
                let mut start = bounds[c].max(p + 1);
                let mut to_segment = 0.0;
                while start < bounds[c + 1] {
                    let len = BLOCK.min(bounds[c + 1] - start);
                    let out = &mut buf[..len];
                    cols.distances_from(&point, norm, start, out, metric);
                    to_segment += out.iter().sum::<f64>();
                    let partners =
                        &mut table[own_segment * n + start..own_segment * n + start + len];
                    for (t, &dist) in partners.iter_mut().zip(out.iter()) {
                        *t += dist;
                    }
                    start += len;
                }
                table[c * n + p] += to_segment;
            }
            unreported += (n - p - 1) as u64;
            p += 1;
        }
        if unreported >= 1 << 18 {
            meter.add(unreported)?;
            unreported = 0;
        }
    }
    meter.add(unreported)?;
    Ok(table)
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
