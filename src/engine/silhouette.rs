//! Silhouette coefficients (interim naive O(n^2) version).

use super::distance::distance;
use super::types::{Cancelled, Metric, Progress, Stage};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Per-row silhouette as `sklearn.metrics.silhouette_samples` (0 for singleton clusters).
pub fn silhouette_samples(
    x: ArrayView2<f64>,
    labels: &[usize],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<Vec<f64>, Cancelled> {
    progress.report(Stage::Silhouette, 0.0)?;
    let n = x.nrows();
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let out = (0..n)
        .into_par_iter()
        .map(|i| {
            if counts[labels[i]] <= 1 || k < 2 {
                return 0.0;
            }
            let mut sums = vec![0.0; k];
            for j in 0..n {
                if j != i {
                    sums[labels[j]] += distance(&rows[i], &rows[j], metric);
                }
            }
            let a = sums[labels[i]] / (counts[labels[i]] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != labels[i] && counts[c] > 0)
                .map(|c| sums[c] / counts[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m == 0.0 { 0.0 } else { (b - a) / m }
        })
        .collect();
    progress.report(Stage::Silhouette, 1.0)?;
    Ok(out)
}

/// Mean silhouette over all rows.
pub fn silhouette_score(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// Mean silhouette of each segment `0..k`.
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
        .map(|(s, &c)| if c == 0 { 0.0 } else { s / c as f64 })
        .collect()
}
