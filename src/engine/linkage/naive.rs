//! The textbook O(n³) agglomerative algorithm, kept as the oracle the fast algorithms are tested
//! against. It holds the full n x n matrix and, at every step, merges the closest pair of
//! clusters (the first such pair in row order when several tie), then updates distances with
//! the Lance–Williams formula of the method. Use it on small inputs only.

use ndarray::ArrayView2;

use crate::engine::distance::distance;
use crate::engine::types::{Merge, Method, Metric};

/// scipy-format merges of the rows of `x` (see [`super::linkage`]) by the naive algorithm.
/// Merges come out in the order they were made, which is height order for every method except
/// centroid and median (whose heights can decrease), exactly like scipy. Callers must pass at
/// least two finite rows; Ward, centroid and median assume a Euclidean metric.
pub fn naive_linkage(x: ArrayView2<f64>, method: Method, metric: Metric) -> Vec<Merge> {
    let n = x.nrows();
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut d = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let v = distance(&rows[i], &rows[j], metric);
            d[i][j] = v;
            d[j][i] = v;
        }
    }
    // Slot i holds one active cluster: its scipy id and size.
    let mut id: Vec<usize> = (0..n).collect();
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    for step in 0..n.saturating_sub(1) {
        let mut best = (usize::MAX, usize::MAX, f64::INFINITY);
        for i in (0..n).filter(|&i| active[i]) {
            for j in (i + 1..n).filter(|&j| active[j]) {
                if d[i][j] < best.2 || best.0 == usize::MAX {
                    best = (i, j, d[i][j]);
                }
            }
        }
        let (a, b, h) = best;
        let (na, nb) = (size[a] as f64, size[b] as f64);
        for x in (0..n).filter(|&x| active[x] && x != a && x != b) {
            let nx = size[x] as f64;
            let (da, db) = (d[a][x], d[b][x]);
            let v = match method {
                Method::Single => da.min(db),
                Method::Complete => da.max(db),
                Method::Average => (na * da + nb * db) / (na + nb),
                Method::Weighted => 0.5 * (da + db),
                Method::Ward => (((na + nx) * da * da + (nb + nx) * db * db - nx * h * h)
                    / (na + nb + nx))
                    .max(0.0)
                    .sqrt(),
                Method::Centroid => ((na * da * da + nb * db * db) / (na + nb)
                    - na * nb * h * h / ((na + nb) * (na + nb)))
                    .max(0.0)
                    .sqrt(),
                Method::Median => (0.5 * da * da + 0.5 * db * db - 0.25 * h * h)
                    .max(0.0)
                    .sqrt(),
            };
            d[a][x] = v;
            d[x][a] = v;
        }
        merges.push(Merge {
            left: id[a].min(id[b]),
            right: id[a].max(id[b]),
            height: h,
            size: size[a] + size[b],
        });
        id[a] = n + step;
        size[a] += size[b];
        active[b] = false;
    }
    merges
}
