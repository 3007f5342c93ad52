//! How stable each segment of a cut is when the customers are resampled: the evidence that a
//! segment is a real group and not an arbitrary split.
//!
//! This is Hennig's `clusterboot` (R package fpc) with subsetting: draw a resample of the rows,
//! build the tree of the resample with the run's linkage and distance, cut it into the same
//! number of segments, and give every segment of the run the best Jaccard similarity it has
//! with a segment of the resample (counting only the rows both share). A segment's stability is
//! the mean of those Jaccards over the resamples: about 1 when the segment comes back whatever
//! the sample, around 0.5 or below when the split falls elsewhere each time. Hennig reads 0.75
//! and above as stable and below 0.6 as not to be trusted.
//!
//! One resample tree serves every segment count (its cuts are nested), so the cost is one
//! linkage per resample. Resamples hold at most [`Resampling::STANDARD`]`.max_rows` rows drawn
//! from the whole table, so the cost is bounded whatever the table's size.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::cut::cut_clusters;
use super::linkage::{LinkageError, linkage};
use super::types::{Cancelled, Method, Metric, NoProgress, Progress, Stage};
use ndarray::{ArrayView2, Axis};

/// How many resamples and how large.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resampling {
    /// Resamples drawn.
    pub resamples: usize,
    /// Share of the table's rows in each resample (drawn without replacement).
    pub share: f64,
    /// Cap on the rows of one resample: what bounds the cost on large tables.
    pub max_rows: usize,
}

impl Resampling {
    /// What runs use: 20 resamples of half the rows, at most 2,000 rows each. Half-samples
    /// share few enough rows that an arbitrary split of one group rarely repeats, and 2,000 rows
    /// keep each resample's tree well under a second.
    pub const STANDARD: Resampling = Resampling {
        resamples: 20,
        share: 0.5,
        max_rows: 2_000,
    };

    /// Rows in each resample of a table of `n` rows.
    pub fn rows_per_resample(&self, n: usize) -> usize {
        ((n as f64 * self.share) as usize).min(self.max_rows).min(n)
    }

    /// The rows of resample `index` of a table of `n` rows, in increasing order. Depends only
    /// on `n`, the settings and `index` (a fixed seed), so runs are reproducible.
    pub fn rows(&self, n: usize, index: usize) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(RESAMPLE_SEED.wrapping_add(index as u64));
        let mut rows = rand::seq::index::sample(&mut rng, n, self.rows_per_resample(n)).into_vec();
        rows.sort_unstable();
        rows
    }
}

/// Seed of [`Resampling::rows`]; changing it changes stored figures, so it is fixed.
const RESAMPLE_SEED: u64 = 0xC1_B007;

/// Stability of the segments of every cut `cuts[i]` (labels of all `x.nrows()` rows, segments
/// numbered from 0), by resampling as `resampling` says: for each cut, the mean Jaccard of each
/// of its segments over the resamples (a segment absent from a resample is not scored there; a
/// segment absent from every resample gets 0). A cut with more than half as many segments as
/// a resample has rows is not measured (empty); `None` when no cut is. Reports
/// [`Stage::KSweep`].
pub fn segment_stability(
    x: ArrayView2<f64>,
    cuts: &[Vec<usize>],
    method: Method,
    metric: Metric,
    resampling: Resampling,
    progress: &dyn Progress,
) -> Result<Option<Vec<Vec<f64>>>, Cancelled> {
    let n = x.nrows();
    let segments: Vec<usize> = cuts
        .iter()
        .map(|labels| labels.iter().max().map_or(0, |m| m + 1))
        .collect();
    let rows_each = resampling.rows_per_resample(n);
    let measured: Vec<bool> = segments
        .iter()
        .map(|&k| 2 * k.max(2) <= rows_each)
        .collect();
    if resampling.resamples == 0 || !measured.contains(&true) {
        return Ok(None);
    }
    let mut sums: Vec<Vec<f64>> = segments.iter().map(|&k| vec![0.0; k]).collect();
    let mut seen: Vec<Vec<usize>> = segments.iter().map(|&k| vec![0; k]).collect();
    for index in 0..resampling.resamples {
        progress.report(Stage::KSweep, index as f64 / resampling.resamples as f64)?;
        let rows = resampling.rows(n, index);
        let xs = x.select(Axis(0), &rows);
        let z = match linkage(xs.view(), method, metric, &NoProgress) {
            Ok(z) => z,
            Err(LinkageError::Cancelled) => return Err(Cancelled),
            // The run's own tree was built from the same rows with the same settings, so this
            // does not happen; a resample that cannot be clustered is left out.
            Err(_) => continue,
        };
        for (c, labels) in cuts.iter().enumerate() {
            if !measured[c] {
                continue;
            }
            let k = segments[c];
            let original: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
            let again = cut_clusters(&z, k);
            for (segment, jaccard) in best_jaccards(&original, &again, k).into_iter().enumerate() {
                if let Some(j) = jaccard {
                    sums[c][segment] += j;
                    seen[c][segment] += 1;
                }
            }
        }
    }
    progress.report(Stage::KSweep, 1.0)?;
    Ok(Some(
        sums.into_iter()
            .zip(seen)
            .zip(measured)
            .map(|((s, count), measured)| {
                if !measured {
                    return Vec::new();
                }
                s.into_iter()
                    .zip(count)
                    .map(|(s, c)| if c == 0 { 0.0 } else { s / c as f64 })
                    .collect()
            })
            .collect(),
    ))
}

/// For each of the `k` segments of `original`, the largest Jaccard similarity
/// (`|A ∩ B| / |A ∪ B|`) with a segment of `again` (same rows); `None` for a segment with no
/// rows here.
fn best_jaccards(original: &[usize], again: &[usize], k: usize) -> Vec<Option<f64>> {
    let width = again.iter().max().map_or(0, |m| m + 1);
    let mut both = vec![0usize; k * width];
    let mut size_a = vec![0usize; k];
    let mut size_b = vec![0usize; width];
    for (&a, &b) in original.iter().zip(again) {
        both[a * width + b] += 1;
        size_a[a] += 1;
        size_b[b] += 1;
    }
    (0..k)
        .map(|a| {
            (size_a[a] > 0).then(|| {
                (0..width)
                    .map(|b| {
                        let shared = both[a * width + b];
                        shared as f64 / (size_a[a] + size_b[b] - shared) as f64
                    })
                    .fold(0.0, f64::max)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_of_the_same_partition_is_one_whatever_the_numbers() {
        let a = [0, 0, 1, 1, 2];
        let b = [2, 2, 0, 0, 1];
        assert_eq!(
            best_jaccards(&a, &b, 3),
            vec![Some(1.0), Some(1.0), Some(1.0)]
        );
        // Segment 0 {0,1,2} against {0,1} and {2,3}: best 2/3. Segment 1 {3}: 1/2.
        let a = [0, 0, 0, 1, 2];
        let b = [0, 0, 1, 1, 2];
        assert_eq!(
            best_jaccards(&a, &b, 4),
            vec![Some(2.0 / 3.0), Some(0.5), Some(1.0), None]
        );
    }

    #[test]
    fn resamples_are_capped_reproducible_and_differ() {
        let r = Resampling::STANDARD;
        assert_eq!(r.rows_per_resample(300), 150);
        assert_eq!(r.rows_per_resample(100_000), 2_000);
        assert_eq!(r.rows_per_resample(1_000_000), 2_000);
        let a = r.rows(100_000, 0);
        assert_eq!(a.len(), 2_000);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[1_999] < 100_000);
        assert_eq!(r.rows(100_000, 0), a);
        assert_ne!(r.rows(100_000, 1), a);
    }

    /// Two groups of 50,000 customers: the cost is that of 20 trees of 2,000 rows, not of the
    /// table, and both groups come back in every resample.
    #[test]
    fn cost_is_bounded_on_large_tables() {
        let n = 100_000;
        let x = ndarray::Array2::from_shape_fn((n, 3), |(i, j)| {
            let wobble = ((i * 7919 + j * 104_729) % 1009) as f64 / 1009.0;
            wobble + if i % 2 == 0 { 0.0 } else { 10.0 }
        });
        let truth: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let started = std::time::Instant::now();
        let stability = segment_stability(
            x.view(),
            &[truth],
            Method::Ward,
            Metric::Euclidean,
            Resampling::STANDARD,
            &NoProgress,
        )
        .unwrap()
        .unwrap();
        assert_eq!(stability, vec![vec![1.0, 1.0]]);
        let seconds = started.elapsed().as_secs_f64();
        assert!(seconds < 60.0, "{seconds} s");
    }
}
