//! Distances between encoded rows (interim naive version; replaced by the numeric core).

use super::types::Metric;
use ndarray::ArrayView2;

/// Distance between two rows under `metric`.
pub fn distance(a: &[f64], b: &[f64], metric: Metric) -> f64 {
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
            let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
            if na == 0.0 || nb == 0.0 {
                0.0
            } else {
                (1.0 - dot / (na * nb)).max(0.0)
            }
        }
    }
}

/// Condensed pairwise distances in scipy `pdist` order.
pub fn pdist(x: ArrayView2<f64>, metric: Metric) -> Vec<f64> {
    let n = x.nrows();
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push(distance(&rows[i], &rows[j], metric));
        }
    }
    out
}
