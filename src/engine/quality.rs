//! Tree quality: cophenetic correlation and a sweep over segment counts (interim naive version).

use super::cut::cut_clusters;
use super::distance::pdist;
use super::silhouette::silhouette_score;
use super::types::{Cancelled, Merge, Metric, Progress, Stage};
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One candidate segment count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KPoint {
    pub k: usize,
    pub silhouette: f64,
    pub wss: f64,
}

/// Silhouette and within-segment sum of squares for a range of segment counts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KSweep {
    pub points: Vec<KPoint>,
    pub suggested_k: usize,
}

/// Pearson correlation between the input distances and the tree's cophenetic distances.
pub fn cophenetic_correlation(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<f64, Cancelled> {
    progress.report(Stage::Silhouette, 0.0)?;
    let n = x.nrows();
    let d = pdist(x, metric);
    let mut coph = vec![0.0; d.len()];
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for m in z {
        let (a, b) = (
            std::mem::take(&mut members[m.left]),
            std::mem::take(&mut members[m.right]),
        );
        for &i in &a {
            for &j in &b {
                let (lo, hi) = (i.min(j), i.max(j));
                coph[n * lo - lo * (lo + 1) / 2 + hi - lo - 1] = m.height;
            }
        }
        let mut joined = a;
        joined.extend(b);
        members.push(joined);
    }
    let len = d.len() as f64;
    let (md, mc) = (d.iter().sum::<f64>() / len, coph.iter().sum::<f64>() / len);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in d.iter().zip(&coph) {
        sxy += (a - md) * (b - mc);
        sxx += (a - md) * (a - md);
        syy += (b - mc) * (b - mc);
    }
    Ok(sxy / (sxx * syy).sqrt())
}

/// Silhouette and WSS for k = 2..=min(10, n-1); suggests the k with the best silhouette.
pub fn k_sweep(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    let n = x.nrows();
    let mut points = Vec::new();
    let top = 10.min(n.saturating_sub(1));
    // One distance matrix for every k.
    let condensed = pdist(x, metric);
    let dist = |i: usize, j: usize| -> f64 {
        if i == j {
            return 0.0;
        }
        let (lo, hi) = (i.min(j), i.max(j));
        condensed[n * lo - lo * (lo + 1) / 2 + hi - lo - 1]
    };
    for k in 2..=top {
        progress.report(Stage::KSweep, (k - 2) as f64 / (top - 1) as f64)?;
        let labels = cut_clusters(z, k);
        let mut counts = vec![0usize; k];
        for &l in &labels {
            counts[l] += 1;
        }
        let samples: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| {
                if counts[labels[i]] <= 1 {
                    return 0.0;
                }
                let mut sums = vec![0.0; k];
                for j in 0..n {
                    sums[labels[j]] += dist(i, j);
                }
                let a = sums[labels[i]] / (counts[labels[i]] - 1) as f64;
                let b = (0..k)
                    .filter(|&c| c != labels[i])
                    .map(|c| sums[c] / counts[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                let m = a.max(b);
                if m == 0.0 { 0.0 } else { (b - a) / m }
            })
            .collect();
        let s = silhouette_score(&samples);
        let d = x.ncols();
        let mut sums = vec![vec![0.0; d]; k];
        for (row, &l) in x.rows().into_iter().zip(&labels) {
            for (s, v) in sums[l].iter_mut().zip(row) {
                *s += v;
            }
        }
        let mut wss = 0.0;
        for (row, &l) in x.rows().into_iter().zip(&labels) {
            for (s, v) in sums[l].iter().zip(row) {
                let c = s / counts[l] as f64;
                wss += (v - c) * (v - c);
            }
        }
        points.push(KPoint {
            k,
            silhouette: s,
            wss,
        });
    }
    let suggested_k = points
        .iter()
        .fold(None::<&KPoint>, |best, p| match best {
            Some(b) if b.silhouette >= p.silhouette => Some(b),
            _ => Some(p),
        })
        .map_or(2.min(n), |p| p.k);
    Ok(KSweep {
        points,
        suggested_k,
    })
}
