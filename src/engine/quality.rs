//! How well a tree and its cuts describe the data: the cophenetic correlation of the tree, and a
//! sweep over segment counts to suggest one.
//!
//! Both are O(n² d) passes over the pairs of rows that never store a pair: the silhouette sums
//! of every k come from one pass (the cuts of one tree are nested, see [`k_sweep`]), and the
//! cophenetic correlation walks the pairs in dendrogram order so that each pair's merge height is
//! known without a cophenetic matrix.
//!
//! On large tables even one such pass costs minutes, so the pipeline estimates both on a sample
//! of rows (see [`Sampling`], [`k_sweep_sampled`] and [`cophenetic_sampled`]); tables of up to
//! [`Sampling::LARGE_TABLES`]`.max_exact` rows keep exact values. The headline silhouette of a
//! run is never sampled (see [`super::silhouette`]).

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cut::{cut_clusters, rows_of_leaves};
use super::distance::{BLOCK, Columns};
use super::meter::Meter;
use super::silhouette::{
    balanced_bands, pair_count, samples_from_sums, segment_counts, segment_distance_sums,
    silhouette_score,
};
use super::stability::{Resampling, segment_stability};
use super::types::{Cancelled, Merge, Method, Metric, Progress, Stage};

/// Largest segment count the sweep looks at: beyond a dozen, segments stop being something a
/// marketing team can act on.
pub const SWEEP_MAX_K: usize = 12;

/// One candidate segment count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct KPoint {
    pub k: usize,
    /// Mean silhouette of the cut into `k` segments (as scikit-learn's `silhouette_score`).
    pub silhouette: f64,
    /// Within-segment sum of squares: squared Euclidean distances of rows to their segment's
    /// centroid, summed (the "elbow" curve).
    pub wss: f64,
    /// Stability of each segment of this cut over resamples (mean best Jaccard, see
    /// [`super::stability`]), segment 0 first. Empty when not measured (sweeps stored before
    /// it existed, or tables too small to resample).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_stability: Vec<f64>,
}

impl KPoint {
    /// The stability of the least stable segment: a cut is only as trustworthy as its weakest
    /// segment. `None` when stability was not measured.
    pub fn stability(&self) -> Option<f64> {
        (!self.segment_stability.is_empty())
            .then(|| self.segment_stability.iter().copied().fold(1.0, f64::min))
    }
}

/// Every candidate and the one suggested.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct KSweep {
    pub points: Vec<KPoint>,
    /// The suggested segment count, by the rule of [`suggest`] (stability and silhouette); with
    /// no stability measured, the `k` with the highest silhouette (on a tie the smallest). 1
    /// when there are fewer than 3 rows and nothing to compare. When [`KSweep::structure`] is
    /// `Some(false)` it is still the best-silhouette `k`, so a run can be cut somewhere, but
    /// the data has no clear segments.
    pub suggested_k: usize,
    /// Whether the evidence shows segments at all: `Some(false)` is "no clear structure".
    /// `None` in sweeps stored before the rule existed.
    #[serde(default)]
    pub structure: Option<bool>,
    /// Why `suggested_k` was suggested, in plain words with the figures used. Empty in sweeps
    /// stored before the rule existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// How stability was measured: resamples drawn and rows in each. `None` when it was not.
    #[serde(default)]
    pub resampling: Option<ResampleSize>,
    /// `None` when every silhouette is exact. Otherwise the number of rows the silhouettes were
    /// estimated on (see [`Sampling`]): each is then the mean silhouette of the sampled rows
    /// with distances to sampled rows only, as scikit-learn's
    /// `silhouette_score(..., sample_size=...)`, of the same cut of the full tree. The sums of
    /// squares are always exact. Missing in sweeps stored before sampling existed (they were
    /// exact).
    #[serde(default)]
    pub sample_size: Option<usize>,
}

/// The resamples behind the stability figures of a sweep.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResampleSize {
    pub resamples: usize,
    /// Rows in each resample (half the table, at most 2,000).
    pub rows: usize,
}

/// A segment whose stability is at least this is stable (Hennig's reading of `clusterboot`).
pub const STABLE_JACCARD: f64 = 0.75;

/// Below this best silhouette there is no substantial structure (Kaufman and Rousseeuw).
pub const STRUCTURE_SILHOUETTE: f64 = 0.25;

/// A stable `k` is suggested over the best-silhouette stable `k` when its silhouette is at most
/// this much lower: the silhouette favours merging neighbouring groups, so a finer cut whose
/// every segment keeps coming back is preferred unless it costs clearly more separation.
pub const SILHOUETTE_SLACK: f64 = 0.1;

/// The rule that picks a segment count from a sweep's figures; returns the suggested `k`,
/// whether there is structure at all (`None` when stability was not measured) and the reason
/// in words.
///
/// 1. A `k` is *stable* when every one of its segments has stability at least 0.75 (a `k`
///    too large for the resamples to hold is not measured, so not stable).
/// 2. No stable `k`, or a best silhouette below 0.25: no clear structure; the best-silhouette
///    `k` is given as the suggestion anyway.
/// 3. Otherwise the largest stable `k` whose silhouette is within 0.1 of the best silhouette
///    among the stable `k`.
pub fn suggest(points: &[KPoint]) -> (usize, Option<bool>, String) {
    let Some(best) = points.iter().fold(None::<&KPoint>, |best, p| match best {
        Some(b) if b.silhouette >= p.silhouette => Some(b),
        _ => Some(p),
    }) else {
        return (
            1,
            None,
            "too few customers to compare segment counts".into(),
        );
    };
    if points.iter().all(|p| p.stability().is_none()) {
        return (
            best.k,
            None,
            format!(
                "{} segments have the highest silhouette ({:.2}); stability was not measured",
                best.k, best.silhouette
            ),
        );
    }
    let stable: Vec<&KPoint> = points
        .iter()
        .filter(|p| p.stability().is_some_and(|s| s >= STABLE_JACCARD))
        .collect();
    if best.silhouette < STRUCTURE_SILHOUETTE {
        return (
            best.k,
            Some(false),
            format!(
                "no clear structure: the best silhouette is {:.2} (at {} segments), below \
                 {STRUCTURE_SILHOUETTE}; {} segments are only a starting point",
                best.silhouette, best.k, best.k
            ),
        );
    }
    let Some(best_stable) = stable
        .iter()
        .copied()
        .fold(None::<&KPoint>, |b, p| match b {
            Some(b) if b.silhouette >= p.silhouette => Some(b),
            _ => Some(p),
        })
    else {
        let most = points.iter().fold(&points[0], |m, p| {
            if p.stability() > m.stability() { p } else { m }
        });
        return (
            best.k,
            Some(false),
            format!(
                "no clear structure: no segment count has every segment stable (at least \
                 {STABLE_JACCARD} over resamples); the most stable is {} segments, whose weakest \
                 segment has {:.2}; {} segments (the best silhouette, {:.2}) are only a starting \
                 point",
                most.k,
                most.stability().unwrap_or(0.0),
                best.k,
                best.silhouette
            ),
        );
    };
    let chosen = stable
        .iter()
        .filter(|p| p.silhouette >= best_stable.silhouette - SILHOUETTE_SLACK)
        .fold(best_stable, |c, p| if p.k > c.k { p } else { c });
    (
        chosen.k,
        Some(true),
        format!(
            "{} segments: the largest count whose every segment is stable (weakest {:.2}, at \
                 least {STABLE_JACCARD} over resamples) with a silhouette ({:.2}) within \
                 {SILHOUETTE_SLACK} of the best stable one ({:.2} at {} segments)",
            chosen.k,
            chosen.stability().unwrap_or(0.0),
            chosen.silhouette,
            best_stable.silhouette,
            best_stable.k
        ),
    )
}

/// When the quality estimates ([`k_sweep_sampled`], [`cophenetic_sampled`]) use a sample of
/// rows instead of all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    /// Tables with at most this many rows are scored exactly.
    pub max_exact: usize,
    /// Rows drawn from larger tables.
    pub sample_size: usize,
}

impl Sampling {
    /// What runs use: exact up to 20,000 rows (a few seconds per pass on two cores); above, a
    /// sample of 10,000 rows, which costs about a quarter of an exact pass at 20,000 rows and
    /// whose estimates are within a few thousandths of the exact values on customer tables.
    pub const LARGE_TABLES: Sampling = Sampling {
        max_exact: 20_000,
        sample_size: 10_000,
    };

    /// Never sample.
    pub const EXACT: Sampling = Sampling {
        max_exact: usize::MAX,
        sample_size: usize::MAX,
    };

    /// The sampled rows of a table of `n` rows in increasing order, or `None` when the table is
    /// scored exactly. The sample is uniform without replacement and depends only on `n` and
    /// `sample_size` (a fixed seed), so runs are reproducible; unlike every-k-th-row sampling it
    /// cannot fall into step with a pattern in the file's row order.
    pub fn rows(&self, n: usize) -> Option<Vec<usize>> {
        if n <= self.max_exact || self.sample_size >= n {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(SAMPLE_SEED);
        let mut rows = rand::seq::index::sample(&mut rng, n, self.sample_size).into_vec();
        rows.sort_unstable();
        Some(rows)
    }
}

/// Seed of [`Sampling::rows`]; changing it changes stored estimates, so it is fixed.
const SAMPLE_SEED: u64 = 0x5E6_1E17;

/// Silhouette and within-segment sum of squares for every `k` from 2 to `min(12, n - 1)`, all
/// cut from the tree `z` of the rows of `x`, and the suggested `k`.
///
/// The silhouettes cost about one silhouette, not eleven: cutting one tree at a smaller `k` only
/// joins segments of the cut at the largest `k`, so the per-row distance sums to the segments
/// of the finest cut, accumulated in one pass over the pairs, add up to the sums for every
/// coarser cut. The silhouette uses `metric`; the sum of squares is always Euclidean, as the
/// elbow method defines it. Reports [`Stage::KSweep`].
///
/// This is exact at every size; see [`k_sweep_sampled`] for large tables.
///
/// # Panics
/// If `z` is not a tree over the rows of `x` (`z.len() + 1 != x.nrows()`).
pub fn k_sweep(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    k_sweep_sampled(x, z, metric, Sampling::EXACT, progress)
}

/// [`k_sweep`], with the silhouettes estimated on a sample of rows when `sampling` says so
/// (recorded in [`KSweep::sample_size`]). The cuts are those of the full tree `z` and the sums
/// of squares stay exact (they are O(n d) per `k`); only the pass over pairs of rows is limited
/// to pairs of sampled rows.
///
/// # Panics
/// If `z` is not a tree over the rows of `x` (`z.len() + 1 != x.nrows()`).
pub fn k_sweep_sampled(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    sampling: Sampling,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    let n = x.nrows();
    assert_eq!(
        z.len() + 1,
        n.max(1),
        "the tree must be the tree of these rows"
    );
    sweep_cuts(x, n, &|k| cut_clusters(z, k), metric, sampling, progress)
}

/// The sweep of [`k_sweep_sampled`] over the nested cuts `cut(k)` (one label per row of `x`)
/// of a tree with `leaves` leaves.
fn sweep_cuts(
    x: ArrayView2<f64>,
    leaves: usize,
    cut: &dyn Fn(usize) -> Vec<usize>,
    metric: Metric,
    sampling: Sampling,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    let n = x.nrows();
    let k_max = SWEEP_MAX_K.min(leaves.saturating_sub(1));
    if k_max < 2 {
        progress.report(Stage::KSweep, 1.0)?;
        return Ok(KSweep {
            suggested_k: 1,
            reason: "too few customers to compare segment counts".into(),
            ..KSweep::default()
        });
    }
    let sample = sampling.rows(n);
    let fine = cut(k_max);
    let restrict = |labels: &[usize]| -> Vec<usize> {
        match &sample {
            Some(rows) => rows.iter().map(|&r| labels[r]).collect(),
            None => labels.to_vec(),
        }
    };
    let fine_scored = restrict(&fine);
    let scored = fine_scored.len();
    let meter = Meter::new(progress, Stage::KSweep, pair_count(scored));
    let fine_sums = match &sample {
        Some(rows) => {
            let xs = x.select(Axis(0), rows);
            segment_distance_sums(xs.view(), &fine_scored, k_max, metric, &meter)?
        }
        None => segment_distance_sums(x, &fine_scored, k_max, metric, &meter)?,
    };
    meter.finish()?;

    let mut points = Vec::with_capacity(k_max - 1);
    for k in 2..=k_max {
        let labels = cut(k);
        // Which segment of this cut each fine segment fell into.
        let mut coarse_of = vec![0usize; k_max];
        for (&f, &c) in fine.iter().zip(&labels) {
            coarse_of[f] = c;
        }
        let mut sums = vec![0.0; scored * k];
        for (row, fine_row) in sums.chunks_mut(k).zip(fine_sums.chunks(k_max)) {
            for (f, &s) in fine_row.iter().enumerate() {
                row[coarse_of[f]] += s;
            }
        }
        let labels_scored = restrict(&labels);
        let samples =
            samples_from_sums(&sums, &labels_scored, &segment_counts(&labels_scored, k), k);
        points.push(KPoint {
            k,
            silhouette: silhouette_score(&samples),
            wss: within_sum_of_squares(x, &labels, k),
            segment_stability: Vec::new(),
        });
    }
    let (suggested_k, structure, reason) = suggest(&points);
    Ok(KSweep {
        points,
        suggested_k,
        sample_size: sample.map(|rows| rows.len()),
        structure,
        reason,
        resampling: None,
    })
}

/// [`k_sweep_sampled`] plus the stability of every segment of every candidate cut over
/// resamples of the table (see [`super::stability`]), each resample clustered with `method`
/// and `metric` like the run, and the suggestion of [`suggest`] from both.
pub fn k_sweep_with_stability(
    x: ArrayView2<f64>,
    z: &[Merge],
    method: Method,
    metric: Metric,
    sampling: Sampling,
    resampling: Resampling,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    k_sweep_of_groups(x, z, None, method, metric, sampling, resampling, progress)
}

/// [`k_sweep_with_stability`] for a tree whose leaves are groups of rows (the large-table
/// path's micro-clusters): row `r` is in leaf `leaf_of[r]` (`None`: the leaves are the rows).
/// Each candidate cut of the tree gives every row its leaf's segment; silhouettes, sums of
/// squares and stability are those of the rows, as on an exact run.
#[allow(clippy::too_many_arguments)]
pub fn k_sweep_of_groups(
    x: ArrayView2<f64>,
    z: &[Merge],
    leaf_of: Option<&[u32]>,
    method: Method,
    metric: Metric,
    sampling: Sampling,
    resampling: Resampling,
    progress: &dyn Progress,
) -> Result<KSweep, Cancelled> {
    let cut = |k: usize| match leaf_of {
        None => cut_clusters(z, k),
        Some(leaf_of) => rows_of_leaves(&cut_clusters(z, k), leaf_of),
    };
    let mut sweep = match leaf_of {
        None => k_sweep_sampled(x, z, metric, sampling, progress)?,
        Some(_) => sweep_cuts(x, z.len() + 1, &cut, metric, sampling, progress)?,
    };
    let cuts: Vec<Vec<usize>> = sweep.points.iter().map(|p| cut(p.k)).collect();
    if let Some(stability) = segment_stability(x, &cuts, method, metric, resampling, progress)? {
        for (point, segments) in sweep.points.iter_mut().zip(stability) {
            point.segment_stability = segments;
        }
        sweep.resampling = Some(ResampleSize {
            resamples: resampling.resamples,
            rows: resampling.rows_per_resample(x.nrows()),
        });
        (sweep.suggested_k, sweep.structure, sweep.reason) = suggest(&sweep.points);
    }
    Ok(sweep)
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
/// reported as [`Stage::Cophenetic`]. Exact at every size; see [`cophenetic_sampled`] for large
/// tables.
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
        progress.report(Stage::Cophenetic, 1.0)?;
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

    let meter = Meter::new(progress, Stage::Cophenetic, pairs);
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

/// [`cophenetic_correlation`], estimated on a sample of rows when `sampling` says so: the
/// correlation over the pairs of sampled rows, each pair's cophenetic distance still being the
/// height at which the full tree `z` first joins the two rows. Returns the correlation and the
/// number of rows it was estimated on (`None` when exact).
///
/// # Panics
/// If `z` is not a tree over the rows of `x` (`z.len() + 1 != x.nrows()`).
pub fn cophenetic_sampled(
    x: ArrayView2<f64>,
    z: &[Merge],
    metric: Metric,
    sampling: Sampling,
    progress: &dyn Progress,
) -> Result<(f64, Option<usize>), Cancelled> {
    let n = x.nrows();
    assert_eq!(
        z.len() + 1,
        n.max(1),
        "the tree must be the tree of these rows"
    );
    match sampling.rows(n) {
        None => Ok((cophenetic_correlation(x, z, metric, progress)?, None)),
        Some(rows) => {
            let xs = x.select(Axis(0), &rows);
            let zs = induced_tree(z, n, &rows);
            let c = cophenetic_correlation(xs.view(), &zs, metric, progress)?;
            Ok((c, Some(rows.len())))
        }
    }
}

/// [`cophenetic_sampled`] for a tree whose leaves are groups of rows (the large-table path's
/// micro-clusters; row `r` is in leaf `leaf_of[r]`): two rows of one leaf are at cophenetic
/// distance 0, since the tree does not see inside a leaf, and rows of different leaves at the
/// height where the tree joins their leaves. The correlation is thus that of the tree the run
/// actually has with the customers' distances, what was lost in compression included.
pub fn cophenetic_of_groups(
    x: ArrayView2<f64>,
    z: &[Merge],
    leaf_of: &[u32],
    metric: Metric,
    sampling: Sampling,
    progress: &dyn Progress,
) -> Result<(f64, Option<usize>), Cancelled> {
    let n = x.nrows();
    assert_eq!(leaf_of.len(), n, "one leaf per row");
    let sample = sampling.rows(n);
    let rows: Vec<usize> = sample.clone().unwrap_or_else(|| (0..n).collect());
    let leaves: Vec<usize> = rows.iter().map(|&r| leaf_of[r] as usize).collect();
    let zs = grouped_tree(z, z.len() + 1, &leaves);
    let c = match &sample {
        Some(rows) => {
            let xs = x.select(Axis(0), rows);
            cophenetic_correlation(xs.view(), &zs, metric, progress)?
        }
        None => cophenetic_correlation(x, &zs, metric, progress)?,
    };
    Ok((c, sample.map(|rows| rows.len())))
}

/// The tree `z` over `n` rows restricted to the leaves `rows` (increasing, at least one): leaf
/// `t` of the result is row `rows[t]`, and two of its leaves first join at the height where `z`
/// first joins the two rows. Merges of `z` that have sampled rows on one side only disappear.
fn induced_tree(z: &[Merge], n: usize, rows: &[usize]) -> Vec<Merge> {
    grouped_tree(z, n, rows)
}

/// The tree `z` over `n` leaves seen from kept rows whose leaves are `leaf[t]` (any order, at
/// least one row; several rows may share a leaf): leaf `t` of the result is kept row `t`. Rows
/// sharing a leaf join first, at height 0; then two clusters join at the height where `z`
/// first joins their leaves. Merges of `z` with kept rows on one side only disappear.
fn grouped_tree(z: &[Merge], n: usize, leaf: &[usize]) -> Vec<Merge> {
    const NONE: usize = usize::MAX;
    let m = leaf.len();
    let mut size = vec![1usize; 2 * m - 1];
    let mut out = Vec::with_capacity(m - 1);
    let mut join = |a: usize, b: usize, height: f64, out: &mut Vec<Merge>| {
        let id = m + out.len();
        size[id] = size[a] + size[b];
        out.push(Merge {
            left: a.min(b),
            right: a.max(b),
            height,
            size: size[id],
        });
        id
    };
    // Cluster of the result that stands for each cluster of `z` (NONE: no kept row).
    let mut image = vec![NONE; n + z.len()];
    for (t, &l) in leaf.iter().enumerate() {
        image[l] = match image[l] {
            NONE => t,
            earlier => join(earlier, t, 0.0, &mut out),
        };
    }
    for (i, merge) in z.iter().enumerate() {
        let (a, b) = (image[merge.left], image[merge.right]);
        image[n + i] = match (a, b) {
            (NONE, NONE) => NONE,
            (only, NONE) | (NONE, only) => only,
            (a, b) => join(a, b, merge.height, &mut out),
        };
    }
    debug_assert_eq!(out.len(), m - 1);
    out
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
    use crate::engine::types::NoProgress;
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
                suggested_k: 1,
                reason: "too few customers to compare segment counts".into(),
                ..KSweep::default()
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

    /// Every pair of rows with its distance and cophenetic distance in the tree `z`.
    fn naive_pairs(x: &Array2<f64>, z: &[Merge], metric: Metric) -> Vec<(usize, usize, f64, f64)> {
        let n = x.nrows();
        let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let mut out = Vec::new();
        for m in z {
            for &a in &members[m.left] {
                for &b in &members[m.right] {
                    let d = distance(&x.row(a).to_vec(), &x.row(b).to_vec(), metric);
                    out.push((a.min(b), a.max(b), d, m.height));
                }
            }
            let joined = [members[m.left].clone(), members[m.right].clone()].concat();
            members.push(joined);
        }
        out
    }

    fn pearson(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
        let (u, v): (Vec<f64>, Vec<f64>) = pairs.unzip();
        let mean = |w: &[f64]| w.iter().sum::<f64>() / w.len() as f64;
        let (mu, mv) = (mean(&u), mean(&v));
        let cov: f64 = u.iter().zip(&v).map(|(a, b)| (a - mu) * (b - mv)).sum();
        let vu: f64 = u.iter().map(|a| (a - mu) * (a - mu)).sum();
        let vv: f64 = v.iter().map(|b| (b - mv) * (b - mv)).sum();
        cov / (vu * vv).sqrt()
    }

    const SMALL_SAMPLE: Sampling = Sampling {
        max_exact: 300,
        sample_size: 250,
    };

    #[test]
    fn sampling_is_reproducible_and_only_above_the_threshold() {
        assert_eq!(SMALL_SAMPLE.rows(300), None);
        assert_eq!(Sampling::EXACT.rows(1_000_000), None);
        assert_eq!(Sampling::LARGE_TABLES.rows(20_000), None);
        let rows = SMALL_SAMPLE.rows(600).unwrap();
        assert_eq!(rows.len(), 250);
        assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows[249] < 600);
        assert_eq!(SMALL_SAMPLE.rows(600), Some(rows));
        assert_eq!(
            Sampling::LARGE_TABLES.rows(100_000).map(|r| r.len()),
            Some(10_000)
        );
    }

    #[test]
    fn sampled_cophenetic_uses_the_full_tree_on_sampled_pairs() {
        let n = 600;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1009) as f64 / 100.0 + (i % 4) as f64 * 3.0
        });
        let rows = SMALL_SAMPLE.rows(n).unwrap();
        let mut sampled = vec![false; n];
        for &r in &rows {
            sampled[r] = true;
        }
        for (method, metric) in [
            (Method::Ward, Metric::Euclidean),
            (Method::Average, Metric::Cosine),
            (Method::Centroid, Metric::Euclidean),
        ] {
            let z = linkage(x.view(), method, metric, &NoProgress).unwrap();
            let (got, size) =
                cophenetic_sampled(x.view(), &z, metric, SMALL_SAMPLE, &NoProgress).unwrap();
            assert_eq!(size, Some(250));
            let want = pearson(
                naive_pairs(&x, &z, metric)
                    .into_iter()
                    .filter(|&(a, b, _, _)| sampled[a] && sampled[b])
                    .map(|(_, _, d, h)| (d, h)),
            );
            assert!(
                (got - want).abs() < 1e-10,
                "{method}/{metric}: {got} vs {want}"
            );
            let exact = cophenetic_sampled(x.view(), &z, metric, Sampling::EXACT, &NoProgress);
            assert_eq!(
                exact,
                Ok((
                    cophenetic_correlation(x.view(), &z, metric, &NoProgress).unwrap(),
                    None
                ))
            );
        }
    }

    #[test]
    fn sampled_sweep_scores_sampled_rows_and_keeps_exact_sums_of_squares() {
        let n = 600;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            ((i * 31 + j * 7) % 113) as f64 + (i % 5) as f64 * 40.0
        });
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
        let exact = k_sweep(x.view(), &z, Metric::Euclidean, &NoProgress).unwrap();
        let sampled =
            k_sweep_sampled(x.view(), &z, Metric::Euclidean, SMALL_SAMPLE, &NoProgress).unwrap();
        assert_eq!(exact.sample_size, None);
        assert_eq!(sampled.sample_size, Some(250));
        let rows = SMALL_SAMPLE.rows(n).unwrap();
        let xs = x.select(Axis(0), &rows);
        for (e, s) in exact.points.iter().zip(&sampled.points) {
            assert_eq!((e.k, e.wss), (s.k, s.wss));
            let labels = cut_clusters(&z, s.k);
            let sub: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
            let want = silhouette_score(
                &crate::engine::silhouette::silhouette_samples(
                    xs.view(),
                    &sub,
                    Metric::Euclidean,
                    &NoProgress,
                )
                .unwrap(),
            );
            assert!((s.silhouette - want).abs() < 1e-12, "k={}", s.k);
            assert!((s.silhouette - e.silhouette).abs() < 0.05, "k={}", s.k);
        }
    }

    #[test]
    fn old_sweeps_deserialize_as_exact() {
        let old = r#"{"points":[{"k":2,"silhouette":0.5,"wss":1.0}],"suggested_k":2}"#;
        let sweep: KSweep = serde_json::from_str(old).unwrap();
        assert_eq!(sweep.sample_size, None);
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
