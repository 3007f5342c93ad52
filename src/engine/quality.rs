//! How well a tree and its cuts describe the data: the cophenetic correlation of the tree, and a
//! sweep over segment counts to suggest one.
//!
//! Both are O(n² d) passes over the pairs of rows that never store a pair: the silhouette sums
//! of every k come from one pass (the cuts of one tree are nested, see [`k_sweep`]), and the
//! cophenetic correlation walks the pairs in dendrogram order so that each pair's merge height is
//! known without a cophenetic matrix.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cut::cut_clusters;
use super::distance::{BLOCK, Columns};
use super::meter::Meter;
use super::silhouette::{
    balanced_bands, pair_count, samples_from_sums, segment_counts, segment_distance_sums,
    silhouette_score,
};
use super::types::{Cancelled, Merge, Metric, Progress, Stage};

/// Largest segment count the sweep looks at: beyond a dozen, segments stop being something a
/// marketing team can act on.
pub const SWEEP_MAX_K: usize = 12;

/// One candidate segment count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KPoint {
    pub k: usize,
    /// Mean silhouette of the cut into `k` segments (as scikit-learn's `silhouette_score`).
    pub silhouette: f64,
    /// Within-segment sum of squares: squared Euclidean distances of rows to their segment's
    /// centroid, summed (the "elbow" curve).
    pub wss: f64,
}

/// Every candidate and the one suggested.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KSweep {
    pub points: Vec<KPoint>,
    /// The `k` with the highest silhouette; on a tie, the smallest such `k` (fewer segments are
    /// easier to use). 1 when there are fewer than 3 rows and nothing to compare.
    pub suggested_k: usize,
}

/// Silhouette and within-segment sum of squares for every `k` from 2 to `min(12, n - 1)`, all
/// cut from the tree `z` of the rows of `x`, and the suggested `k`.
///
/// The silhouettes cost about one silhouette, not eleven: cutting one tree at a smaller `k` only
/// joins segments of the cut at the largest `k`, so the per-row distance sums to the segments
/// of the finest cut, accumulated in one pass over the pairs, add up to the sums for every
/// coarser cut. The silhouette uses `metric`; the sum of squares is always Euclidean, as the
/// elbow method defines it. Reports [`Stage::KSweep`].
///
/// # Panics
/// If `z` is not a tree over the rows of `x` (`z.len() + 1 != x.nrows()`).
pub fn k_sweep(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    let n = x.nrows();
    assert_eq!(
        z.len() + 1,
        n.max(1),
        "the tree must be the tree of these rows"
    );
    let k_max = SWEEP_MAX_K.min(n.saturating_sub(1));
    if k_max < 2 {
        progress.report(Stage::KSweep, 1.0)?;
        return Ok(KSweep {
            points: Vec::new(),
            suggested_k: 1,
        });
    }
    let fine = cut_clusters(z, k_max);
    let meter = Meter::new(progress, Stage::KSweep, pair_count(n));
    let fine_sums = segment_distance_sums(x, &fine, k_max, metric, &meter)?;
    meter.finish()?;

    let mut points = Vec::with_capacity(k_max - 1);
    for k in 2..=k_max {
        let labels = cut_clusters(z, k);
        // Which segment of this cut each fine segment fell into.
        let mut coarse_of = vec![0usize; k_max];
        for (&f, &c) in fine.iter().zip(&labels) {
            coarse_of[f] = c;
        }
        let mut sums = vec![0.0; n * k];
        for (row, fine_row) in sums.chunks_mut(k).zip(fine_sums.chunks(k_max)) {
            for (f, &s) in fine_row.iter().enumerate() {
                row[coarse_of[f]] += s;
            }
        }
        let samples = samples_from_sums(&sums, &labels, &segment_counts(&labels, k), k);
        points.push(KPoint {
            k,
            silhouette: silhouette_score(&samples),
            wss: within_sum_of_squares(x, &labels, k),
        });
    }
    let suggested_k = points
        .iter()
        .fold(None::<&KPoint>, |best, p| match best {
            Some(b) if b.silhouette >= p.silhouette => Some(b),
            _ => Some(p),
        })
        .map_or(1, |p| p.k);
    Ok(KSweep {
        points,
        suggested_k,
    })
}

/// Sum over rows of the squared Euclidean distance to the centroid of their segment.
pub fn within_sum_of_squares(x: ArrayView2<f64>, labels: &[usize], k: usize) -> f64 {
    let d = x.ncols();
    let mut centroids = Array2::<f64>::zeros((k, d));
    let counts = segment_counts(labels, k);
    for (row, &l) in x.rows().into_iter().zip(labels) {
        let mut c = centroids.row_mut(l);
        c += &row;
    }
    for (mut c, &count) in centroids.rows_mut().into_iter().zip(&counts) {
        if count > 0 {
            c /= count as f64;
        }
    }
    x.rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &l)| {
            row.iter()
                .zip(centroids.row(l))
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        })
        .sum()
}

/// Pearson correlation between the distances of all pairs of rows and their cophenetic
/// distances (the height of the merge that first puts them together), as
/// `scipy.cluster.hierarchy.cophenet(z, pdist(x, metric))[0]`. Close to 1 when the tree is a
/// faithful summary of the distances. 0 when either side is constant (e.g. two rows), where
/// scipy answers NaN.
///
/// O(n) extra memory besides a column-major copy of `x`: rows are visited in dendrogram order,
/// where every cluster is a contiguous range, so for a row at position `p` the partners that
/// join it at an ancestor's merge are exactly that merge's right-hand range. Progress is
/// reported as [`Stage::Silhouette`] (it is part of scoring quality).
///
/// # Panics
/// If `z` is not a tree over the rows of `x` (`z.len() + 1 != x.nrows()`).
pub fn cophenetic_correlation(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<f64, Cancelled> {
    let n = x.nrows();
    assert_eq!(
        z.len() + 1,
        n.max(1),
        "the tree must be the tree of these rows"
    );
    if n < 3 {
        progress.report(Stage::Silhouette, 1.0)?;
        return Ok(0.0);
    }
    let tree = OrderedTree::new(z, n);
    let cols = Columns::new(x, metric).permuted(&tree.order);
    let pairs = pair_count(n);

    // Shifting both sides by (about) their means before summing squares keeps the one-pass
    // formulas accurate. The cophenetic mean is exact from the merges; the distance mean is
    // estimated from a spread of pairs.
    let coph_shift = z
        .iter()
        .enumerate()
        .map(|(i, m)| tree.size_left[i] as f64 * tree.size_right(i) as f64 * m.height)
        .sum::<f64>()
        / pairs as f64;
    let dist_shift = {
        let mut a = vec![0.0; cols.dim()];
        let mut b = [0.0];
        let samples: Vec<f64> = (0..n / 2)
            .step_by((n / 2 / 1000).max(1))
            .map(|p| {
                cols.row_into(p, &mut a);
                cols.distances_from(&a, cols.norm(p), p + n / 2, &mut b, metric);
                b[0]
            })
            .collect();
        samples.iter().sum::<f64>() / samples.len().max(1) as f64
    };

    let meter = Meter::new(progress, Stage::Silhouette, pairs);
    let sums = balanced_bands(n, rayon::current_num_threads() * 4)
        .into_par_iter()
        .map(|(lo, hi)| {
            let mut s = Moments::default();
            let mut point = vec![0.0; cols.dim()];
            let mut buf = [0.0; BLOCK];
            let mut unreported = 0u64;
            for p in lo..hi {
                cols.row_into(p, &mut point);
                let norm = cols.norm(p);
                for (start, end, height) in tree.partners(p) {
                    let v = height - coph_shift;
                    let mut q = start;
                    while q < end {
                        let len = BLOCK.min(end - q);
                        let out = &mut buf[..len];
                        cols.distances_from(&point, norm, q, out, metric);
                        for &dist in out.iter() {
                            s.add(dist - dist_shift, v);
                        }
                        q += len;
                    }
                }
                unreported += (n - p - 1) as u64;
                if unreported >= 1 << 18 {
                    meter.add(unreported)?;
                    unreported = 0;
                }
            }
            meter.add(unreported)?;
            Ok(s)
        })
        .try_reduce(Moments::default, |a, b| Ok(a.merge(b)))?;
    meter.finish()?;
    Ok(sums.correlation())
}

/// Running sums for a Pearson correlation.
#[derive(Default, Clone, Copy)]
struct Moments {
    count: f64,
    u: f64,
    v: f64,
    uu: f64,
    vv: f64,
    uv: f64,
}

impl Moments {
    #[inline]
    fn add(&mut self, u: f64, v: f64) {
        self.count += 1.0;
        self.u += u;
        self.v += v;
        self.uu += u * u;
        self.vv += v * v;
        self.uv += u * v;
    }

    fn merge(self, o: Moments) -> Moments {
        Moments {
            count: self.count + o.count,
            u: self.u + o.u,
            v: self.v + o.v,
            uu: self.uu + o.uu,
            vv: self.vv + o.vv,
            uv: self.uv + o.uv,
        }
    }

    fn correlation(&self) -> f64 {
        let n = self.count;
        let cov = self.uv - self.u * self.v / n;
        let var_u = self.uu - self.u * self.u / n;
        let var_v = self.vv - self.v * self.v / n;
        if var_u <= 0.0 || var_v <= 0.0 {
            return 0.0;
        }
        cov / (var_u * var_v).sqrt()
    }
}

/// A merge tree with its leaves laid out in dendrogram order.
struct OrderedTree<'z> {
    z: &'z [Merge],
    n: usize,
    /// Row at each position.
    order: Vec<usize>,
    /// Parent cluster of each cluster id (`usize::MAX` for the root).
    parent: Vec<usize>,
    /// First position of each cluster id.
    start: Vec<usize>,
    /// Size of each merge's left child.
    size_left: Vec<usize>,
}

impl<'z> OrderedTree<'z> {
    fn new(z: &'z [Merge], n: usize) -> Self {
        let nodes = 2 * n - 1;
        let mut parent = vec![usize::MAX; nodes];
        let mut size = vec![1usize; nodes];
        for (i, m) in z.iter().enumerate() {
            parent[m.left] = n + i;
            parent[m.right] = n + i;
            size[n + i] = size[m.left] + size[m.right];
        }
        // Positions top-down: the left child starts where its parent starts, the right child
        // after the left one.
        let mut start = vec![0usize; nodes];
        for (i, m) in z.iter().enumerate().rev() {
            start[m.left] = start[n + i];
            start[m.right] = start[n + i] + size[m.left];
        }
        let mut order = vec![0usize; n];
        for (row, &s) in start.iter().take(n).enumerate() {
            order[s] = row;
        }
        let size_left = z.iter().map(|m| size[m.left]).collect();
        OrderedTree {
            z,
            n,
            order,
            parent,
            start,
            size_left,
        }
    }

    fn size_right(&self, merge: usize) -> usize {
        self.z[merge].size - self.size_left[merge]
    }

    /// For the row at position `p`, the position ranges of rows after it with the height at
    /// which each range joins it.
    fn partners(&self, p: usize) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        let mut child = self.order[p];
        std::iter::from_fn(move || {
            loop {
                let node = *self.parent.get(child)?;
                if node == usize::MAX {
                    return None;
                }
                let merge = node - self.n;
                let m = &self.z[merge];
                let was_left = m.left == child;
                child = node;
                if was_left {
                    let from = self.start[m.right];
                    return Some((from, from + self.size_right(merge), m.height));
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::distance::distance;
    use crate::engine::linkage::linkage;
    use crate::engine::types::{Method, NoProgress};
    use ndarray::Array2;

    /// Cophenetic distances from the tree directly: the height of the first merge that holds
    /// both rows.
    fn naive_cophenetic(x: &Array2<f64>, z: &[Merge], metric: Metric) -> f64 {
        let n = x.nrows();
        let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let mut coph = vec![vec![0.0; n]; n];
        for m in z {
            for &a in &members[m.left] {
                for &b in &members[m.right] {
                    coph[a][b] = m.height;
                    coph[b][a] = m.height;
                }
            }
            let joined = [members[m.left].clone(), members[m.right].clone()].concat();
            members.push(joined);
        }
        let (mut d, mut c) = (Vec::new(), Vec::new());
        for (i, row) in coph.iter().enumerate() {
            for (j, &height) in row.iter().enumerate().skip(i + 1) {
                d.push(distance(&x.row(i).to_vec(), &x.row(j).to_vec(), metric));
                c.push(height);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (md, mc) = (mean(&d), mean(&c));
        let cov: f64 = d.iter().zip(&c).map(|(a, b)| (a - md) * (b - mc)).sum();
        let vd: f64 = d.iter().map(|a| (a - md) * (a - md)).sum();
        let vc: f64 = c.iter().map(|b| (b - mc) * (b - mc)).sum();
        cov / (vd * vc).sqrt()
    }

    #[test]
    fn cophenetic_matches_the_definition() {
        let n = 600;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1009) as f64 / 100.0 + (i % 4) as f64 * 3.0
        });
        for (method, metric) in [
            (Method::Ward, Metric::Euclidean),
            (Method::Average, Metric::Cosine),
            (Method::Single, Metric::Manhattan),
            (Method::Centroid, Metric::Euclidean),
        ] {
            let z = linkage(x.view(), method, metric, &NoProgress).unwrap();
            let fast = cophenetic_correlation(x.view(), &z, metric, &NoProgress).unwrap();
            let slow = naive_cophenetic(&x, &z, metric);
            assert!(
                (fast - slow).abs() < 1e-10,
                "{method}/{metric}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    fn tiny_inputs_have_no_correlation() {
        let x = Array2::from_shape_vec((2, 1), vec![0.0, 1.0]).unwrap();
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(
            cophenetic_correlation(x.view(), &z, Metric::Euclidean, &NoProgress),
            Ok(0.0)
        );
        let sweep = k_sweep(x.view(), &z, Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(
            sweep,
            KSweep {
                points: vec![],
                suggested_k: 1
            }
        );
    }

    #[test]
    fn sweep_of_three_rows_has_one_candidate() {
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 1.0, 10.0]).unwrap();
        let z = linkage(x.view(), Method::Average, Metric::Euclidean, &NoProgress).unwrap();
        let sweep = k_sweep(x.view(), &z, Metric::Euclidean, &NoProgress).unwrap();
        assert_eq!(sweep.points.len(), 1);
        assert_eq!(sweep.suggested_k, 2);
        assert_eq!(sweep.points[0].wss, 0.5);
    }

    #[test]
    fn sweep_and_cophenetic_can_be_cancelled() {
        let x = Array2::from_shape_fn((2500, 2), |(i, j)| ((i * 31 + j * 7) % 113) as f64);
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
        let stop = |_: Stage, f: f64| if f > 0.1 { Err(Cancelled) } else { Ok(()) };
        assert_eq!(
            k_sweep(x.view(), &z, Metric::Euclidean, &stop),
            Err(Cancelled)
        );
        assert_eq!(
            cophenetic_correlation(x.view(), &z, Metric::Euclidean, &stop),
            Err(Cancelled)
        );
    }
}
