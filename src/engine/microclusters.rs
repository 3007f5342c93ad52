//! The large-table path's first step: compressing customers into weighted micro-clusters.
//!
//! Exact Ward costs O(n²) time (about 20 s at 100,000 customers on two shared cores, half of it
//! the exact silhouette; a hundred times that at a million), so above a row limit ([`DEFAULT_MAX_EXACT_ROWS`],
//! `--max-exact-rows`, `MAX_EXACT_ROWS`) the pipeline first groups the customers into a few
//! thousand micro-clusters ([`compress`]), then builds the Ward tree of the micro-clusters'
//! centroids with their sizes as weights ([`super::linkage::ward_weighted`]), and every customer
//! gets the segment of its micro-cluster.
//!
//! Why k-means micro-clusters and not BIRCH's clustering-feature tree: Ward merges the pair of
//! clusters whose union adds the least within-cluster sum of squares, and k-means finds groups
//! with (locally) the least sum of squares for their number, so the micro-clusters lose as
//! little of what Ward measures as a flat partition of that size can. BIRCH absorbs rows in
//! file order under a radius threshold, so its subclusters depend on the row order and on a
//! threshold that has to suit the data's scale; the number of subclusters is whatever the
//! threshold gives. Here the count is fixed ([`MICRO_CLUSTERS`]) and the result depends only on
//! the data and a fixed seed. The cost is what decides at a million rows: assigning every row
//! to its nearest centre is one matrix product per block of rows (done as dense products that
//! use the vector units), twice over the whole table; everything else runs on a sample. The
//! k-means runs on two levels (about √m blocks, then each block into its share of the m
//! micro-clusters), so a row meets about 2√m centres instead of m: 10,000 micro-clusters cost
//! less than 2,000 did in one level, and hide half as much of the variance.
//!
//! Measured (see `bench/README.md`): on tables with real types the segments match exact Ward's
//! (adjusted Rand index 0.97-1.0, `known_types`). On the weakly structured sample customers
//! they agree with exact Ward at 0.80 (100,000 rows) and 0.70 (200,000), better than
//! scikit-learn's `Birch(threshold=1.0, n_clusters=AgglomerativeClustering(5, linkage="ward"))`
//! (0.48-0.63), but short of 0.9 for a reason no compression removes: there exact Ward's own
//! 5-segment cut moves that much when 1 % of the customers are left out (it then agrees with
//! itself at 0.82 and 0.72).
//!
//! How much is lost is measured, not guessed: [`MicroClusters::within_share`] is the share of
//! the table's total sum of squares that lies inside micro-clusters, which no tree over them
//! can see. Every run that takes this path records it ([`Approximation`]).

use ndarray::{Array2, ArrayView1, ArrayView2, Axis, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::meter::Meter;
use super::types::{Cancelled, Progress, Stage};

/// Tables with more rows than this take the large-table path unless told otherwise. Exact Ward
/// with its exact silhouette takes about 20 s at 100,000 customers on two shared cores (2026-12)
/// and four times that at 200,000 (both are O(n²)); the large-table path takes seconds at
/// 100,000 (see `bench/README.md` for how closely it agrees). So runs stay exact where exact
/// is affordable, and larger ones say they are approximate.
pub const DEFAULT_MAX_EXACT_ROWS: usize = 100_000;

/// Micro-clusters made from a large table. Enough that every micro-cluster is small beside any
/// segment worth acting on (a million customers make micro-clusters of about 100, against
/// segments of tens of thousands); few enough that the weighted Ward tree over them takes about
/// a second. On 100,000 and 200,000 sample customers 10,000 agreed with exact Ward better than
/// 2,000 did, while 20,000 or 40,000 were no better at 200,000 and took longer
/// (`bench/README.md`); on two levels they cost less than 2,000 in one.
pub const MICRO_CLUSTERS: usize = 10_000;

/// Rows the centres are first fitted on, per micro-cluster: enough members each that the
/// centres settle where the whole table's would, at a small fraction of a pass over a million
/// rows.
const SAMPLE_PER_MICRO_CLUSTER: usize = 10;

/// Lloyd iterations on the sample, then passes over the whole table (assign, re-centre,
/// assign). The sample iterations do most of the moving; the full passes fit the centres to
/// every row.
const SAMPLE_ITERATIONS: usize = 10;
const FULL_PASSES: usize = 2;

/// Rows per matrix product when assigning rows to centres: a block's products with a few hundred
/// centres (about 1 MB) stay in a core's share of the cache hierarchy.
const BLOCK_ROWS: usize = 512;

/// Seed of the sample and of the k-means++ draws; fixed, so a table always gives the same
/// micro-clusters.
const SEED: u64 = 0xB1_2C4;

/// How a run was approximated; `None` in a run's metrics means it is exact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Approximation {
    /// How rows were compressed and the micro-clusters clustered.
    pub method: ApproximationMethod,
    /// Micro-clusters the tree was built on (its leaves).
    pub micro_clusters: usize,
    /// The row limit above which runs are approximate (the run had more rows).
    pub max_exact_rows: usize,
    /// Share of the table's total sum of squares (squared distances to the overall mean) that
    /// lies inside micro-clusters: what no tree over them can see. 0 would be exact; a few
    /// percent means the micro-clusters are tight beside the distances between segments.
    pub within_share: f64,
}

/// The ways a run can be approximated.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApproximationMethod {
    /// k-means micro-clusters (on two levels: blocks, then micro-clusters within each block;
    /// k-means++ seeds on a sample, Lloyd iterations), then Ward on their centroids weighted by
    /// their sizes.
    KmeansWard,
}

impl ApproximationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ApproximationMethod::KmeansWard => "kmeans_ward",
        }
    }

    /// In words, for pages and summaries.
    pub fn describe(self) -> &'static str {
        match self {
            ApproximationMethod::KmeansWard => {
                "customers grouped into k-means micro-clusters, then Ward linkage on the micro-clusters weighted by their sizes"
            }
        }
    }
}

/// The micro-clusters of a table.
#[derive(Clone, Debug)]
pub struct MicroClusters {
    /// Mean of each micro-cluster's rows.
    pub centroids: Array2<f64>,
    /// Rows in each micro-cluster (all at least 1).
    pub sizes: Vec<usize>,
    /// Micro-cluster of every row.
    pub member_of: Vec<u32>,
    /// Sum of squared distances of rows to their micro-cluster's centroid.
    pub within_ss: f64,
    /// Sum of squared distances of rows to the mean of all rows.
    pub total_ss: f64,
}

impl MicroClusters {
    /// Share of the total sum of squares inside micro-clusters (0 for a table whose rows are
    /// all equal).
    pub fn within_share(&self) -> f64 {
        if self.total_ss > 0.0 {
            self.within_ss / self.total_ss
        } else {
            0.0
        }
    }
}

/// How many micro-clusters a table of `n` rows is compressed into: [`MICRO_CLUSTERS`], but
/// never more than a quarter of the rows (so each holds a few) nor more than the exact limit
/// (the tree over them must itself be affordable).
pub fn count_for(n: usize, max_exact_rows: usize) -> usize {
    MICRO_CLUSTERS.min(n / 4).min(max_exact_rows).max(2)
}

/// Groups the rows of `x` into at most `m` micro-clusters by k-means on two levels: the table is
/// first split into [`block_count`] blocks by k-means, then each block into its share of the
/// `m` micro-clusters (in proportion to its rows), again by k-means. Each k-means is k-means++
/// seeds and Lloyd iterations on a fixed sample, then [`FULL_PASSES`] assignments of every row
/// to its nearest centre. Micro-clusters left empty are dropped, so there may be fewer than
/// `m`. Deterministic: the same rows give the same micro-clusters on any number of cores.
/// Reports [`Stage::Linkage`] (it is the first half of building the tree).
///
/// Why two levels: a row is compared with √m block centres and then with its block's m/√m
/// centres instead of with all m, so 10,000 micro-clusters cost less than 2,000 did in one
/// level; and the finer the micro-clusters, the less of what Ward measures they hide (see
/// [`MICRO_CLUSTERS`]). A micro-cluster never straddles two blocks, which costs little: blocks
/// are k-means cells, and a flat k-means would put few of its cells across their borders.
pub fn compress(
    x: ArrayView2<f64>,
    m: usize,
    progress: &dyn Progress,
) -> Result<MicroClusters, Cancelled> {
    let n = x.nrows();
    let m = m.clamp(1, n.max(1));
    let blocks = block_count(m);
    let meter = Meter::span(progress, Stage::Linkage, kmeans_work(n, blocks), 0.0, 0.2);
    let block_of = kmeans(x, blocks, &meter)?;
    meter.finish()?;

    let mut members: Vec<Vec<usize>> = vec![Vec::new(); blocks];
    for (row, &b) in block_of.iter().enumerate() {
        members[b as usize].push(row);
    }
    drop(block_of);
    let sizes: Vec<usize> = members.iter().map(Vec::len).collect();
    let shares = shares(&sizes, m);
    let work = sizes
        .iter()
        .zip(&shares)
        .map(|(&rows, &share)| kmeans_work(rows, share))
        .sum();
    let meter = Meter::span(progress, Stage::Linkage, work, 0.2, 0.8);
    let mut member_of = vec![0u32; n];
    let mut next = 0u32;
    for (rows, &share) in members.iter().zip(&shares) {
        if share == 0 {
            continue;
        }
        let block = x.select(Axis(0), rows);
        let labels = kmeans(block.view(), share, &meter)?;
        for (&row, &label) in rows.iter().zip(&labels) {
            member_of[row] = next + label;
        }
        next += share as u32;
    }
    meter.finish()?;
    Ok(summarise(x, member_of, next as usize))
}

/// Blocks a table is split into before its `m` micro-clusters are made: about √m, so a row is
/// compared with about 2√m centres in all.
pub fn block_count(m: usize) -> usize {
    ((m as f64).sqrt().ceil() as usize).clamp(1, m.max(1))
}

/// `m` micro-clusters shared among blocks of `sizes` rows in proportion to their rows (the
/// blocks furthest below their exact share get the ones left over, ties to the lower block), at least one for every block with rows and never
/// more than it has rows. The shares add up to `m` unless there are more non-empty blocks.
fn shares(sizes: &[usize], m: usize) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    if n == 0 {
        return vec![0; sizes.len()];
    }
    let ideal: Vec<f64> = sizes
        .iter()
        .map(|&s| m as f64 * s as f64 / n as f64)
        .collect();
    let mut share: Vec<usize> = sizes
        .iter()
        .zip(&ideal)
        .map(|(&s, &i)| {
            if s == 0 {
                0
            } else {
                (i.floor() as usize).clamp(1, s)
            }
        })
        .collect();
    // Most short of its ideal first.
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    let short = |b: usize| ideal[b] - share[b] as f64;
    order.sort_by(|&a, &b| short(b).total_cmp(&short(a)).then(a.cmp(&b)));
    let mut total: usize = share.iter().sum();
    for &b in order.iter().cycle().take(2 * sizes.len()) {
        if total >= m {
            break;
        }
        if share[b] < sizes[b] {
            share[b] += 1;
            total += 1;
        }
    }
    // Blocks lifted to one micro-cluster may have pushed the total over: take back from the
    // largest shares.
    while total > m {
        let Some(b) = (0..share.len())
            .filter(|&b| share[b] > 1)
            .max_by_key(|&b| (share[b], std::cmp::Reverse(b)))
        else {
            break;
        };
        share[b] -= 1;
        total -= 1;
    }
    share
}

/// Work of [`kmeans`] on `n` rows and `m` centres, in row-centre distances.
fn kmeans_work(n: usize, m: usize) -> u64 {
    let sample = (m * SAMPLE_PER_MICRO_CLUSTER).min(n);
    (m * (sample + SAMPLE_ITERATIONS * sample + FULL_PASSES * n)) as u64
}

/// The nearest of `m` k-means centres for every row of `x` (numbered `0..m`; some may have no
/// rows): k-means++ seeds and [`SAMPLE_ITERATIONS`] Lloyd iterations on a fixed sample, then
/// [`FULL_PASSES`] assignments of every row, re-centring in between.
fn kmeans(x: ArrayView2<f64>, m: usize, meter: &Meter) -> Result<Vec<u32>, Cancelled> {
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let sample_rows = (m * SAMPLE_PER_MICRO_CLUSTER).min(n);
    let mut rows = rand::seq::index::sample(&mut rng, n, sample_rows).into_vec();
    rows.sort_unstable();
    let sample = x.select(Axis(0), &rows);

    let mut centres = seeds(sample.view(), m, &mut rng, meter)?;
    let mut labels = vec![0u32; sample_rows];
    for _ in 0..SAMPLE_ITERATIONS {
        assign(sample.view(), centres.view(), &mut labels, meter)?;
        recentre(sample.view(), &labels, &mut centres);
    }
    drop(sample);

    let mut member_of = vec![0u32; n];
    for pass in 0..FULL_PASSES {
        if pass > 0 {
            recentre(x, &member_of, &mut centres);
        }
        assign(x, centres.view(), &mut member_of, meter)?;
    }
    Ok(member_of)
}

/// k-means++ seeds drawn from the rows of `x`: the first uniformly, each next one with
/// probability proportional to its squared distance from the nearest seed so far.
fn seeds(
    x: ArrayView2<f64>,
    m: usize,
    rng: &mut ChaCha8Rng,
    meter: &Meter,
) -> Result<Array2<f64>, Cancelled> {
    let (n, d) = x.dim();
    let mut centres = Array2::<f64>::zeros((m, d));
    let first = rng.random_range(0..n);
    centres.row_mut(0).assign(&x.row(first));
    let mut nearest: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| squared(r, centres.row(0)))
        .collect();
    for j in 1..m {
        // Summed in row order, so the draw is the same on any number of cores.
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (i, &w) in nearest.iter().enumerate() {
                if target < w {
                    chosen = i;
                    break;
                }
                target -= w;
            }
            chosen
        } else {
            // Every row sits on a seed already: any row will do.
            rng.random_range(0..n)
        };
        centres.row_mut(j).assign(&x.row(pick));
        let centre = centres.row(j);
        nearest
            .par_iter_mut()
            .zip(x.axis_iter(Axis(0)).into_par_iter())
            .for_each(|(best, row)| {
                let t = squared(row, centre);
                if t < *best {
                    *best = t;
                }
            });
        meter.add(n as u64)?;
    }
    Ok(centres)
}

/// `|a - b|²` of two rows.
fn squared(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Puts every row of `x` in the micro-cluster of its nearest centre (the lowest index on
/// ties). `|x - c|² = |x|² - 2 x·c + |c|²`, and `|x|²` does not change which centre wins, so
/// each block of rows needs one matrix product with the centres.
fn assign(
    x: ArrayView2<f64>,
    centres: ArrayView2<f64>,
    labels: &mut [u32],
    meter: &Meter,
) -> Result<(), Cancelled> {
    let norms: Vec<f64> = centres
        .rows()
        .into_iter()
        .map(|c| c.iter().map(|v| v * v).sum())
        .collect();
    let transposed = centres.t();
    labels
        .par_chunks_mut(BLOCK_ROWS)
        .enumerate()
        .try_for_each(|(block, out)| {
            let start = block * BLOCK_ROWS;
            let rows = x.slice(s![start..start + out.len(), ..]);
            let products = rows.dot(&transposed);
            for (label, row) in out.iter_mut().zip(products.rows()) {
                let mut best = (f64::INFINITY, 0usize);
                for (j, (&p, &norm)) in row.iter().zip(&norms).enumerate() {
                    let cost = norm - 2.0 * p;
                    if cost < best.0 {
                        best = (cost, j);
                    }
                }
                *label = best.1 as u32;
            }
            meter.add((out.len() * norms.len()) as u64)
        })
}

/// Moves every centre to the mean of its rows; a centre with no rows stays where it is.
fn recentre(x: ArrayView2<f64>, labels: &[u32], centres: &mut Array2<f64>) {
    let (m, d) = centres.dim();
    let mut sums = Array2::<f64>::zeros((m, d));
    let mut counts = vec![0usize; m];
    for (row, &l) in x.rows().into_iter().zip(labels) {
        let l = l as usize;
        counts[l] += 1;
        let mut sum = sums.row_mut(l);
        sum += &row;
    }
    for (j, &c) in counts.iter().enumerate() {
        if c > 0 {
            let mean = &sums.row(j) / c as f64;
            centres.row_mut(j).assign(&mean);
        }
    }
}

/// The micro-clusters of an assignment: empty ones dropped and the rest numbered in order,
/// exact means, sizes and sums of squares.
fn summarise(x: ArrayView2<f64>, mut member_of: Vec<u32>, m: usize) -> MicroClusters {
    let d = x.ncols();
    let mut counts = vec![0usize; m];
    for &l in &member_of {
        counts[l as usize] += 1;
    }
    let mut renumber = vec![u32::MAX; m];
    let mut kept = 0u32;
    for (j, &c) in counts.iter().enumerate() {
        if c > 0 {
            renumber[j] = kept;
            kept += 1;
        }
    }
    for l in &mut member_of {
        *l = renumber[*l as usize];
    }
    let kept = kept as usize;
    let sizes: Vec<usize> = counts.into_iter().filter(|&c| c > 0).collect();
    let mut centroids = Array2::<f64>::zeros((kept, d));
    recentre(x, &member_of, &mut centroids);
    let overall = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(d));

    // Sums of squares in fixed blocks, added in block order: the same bits on any core count.
    let (within_ss, total_ss) = x
        .axis_chunks_iter(Axis(0), BLOCK_ROWS * 16)
        .into_par_iter()
        .zip(member_of.par_chunks(BLOCK_ROWS * 16))
        .map(|(block, labels)| {
            let mut within = 0.0;
            let mut total = 0.0;
            for (row, &l) in block.rows().into_iter().zip(labels) {
                let centroid = centroids.row(l as usize);
                for ((&v, &c), &o) in row.iter().zip(centroid.iter()).zip(overall.iter()) {
                    within += (v - c) * (v - c);
                    total += (v - o) * (v - o);
                }
            }
            (within, total)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0.0, 0.0), |(w, t), (bw, bt)| (w + bw, t + bt));
    MicroClusters {
        centroids,
        sizes,
        member_of,
        within_ss,
        total_ss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::types::NoProgress;

    /// Three tight, far-apart blobs: with as many micro-clusters as blobs, each blob is one.
    #[test]
    fn finds_separated_groups_and_measures_what_it_loses() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let centres = [[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]];
        let x = Array2::from_shape_fn((600, 2), |(i, j)| {
            centres[i % 3][j] + rng.random_range(-1.0..1.0)
        });
        let micro = compress(x.view(), 3, &NoProgress).unwrap();
        assert_eq!(micro.sizes, [200, 200, 200]);
        for (i, &l) in micro.member_of.iter().enumerate() {
            assert_eq!(l, micro.member_of[i % 3], "row {i}");
        }
        assert!(micro.within_share() < 0.01, "{}", micro.within_share());
        // Sizes and sums of squares describe the assignment exactly.
        let again = compress(x.view(), 3, &NoProgress).unwrap();
        assert_eq!(again.member_of, micro.member_of);
        assert_eq!(again.within_ss.to_bits(), micro.within_ss.to_bits());
    }

    #[test]
    fn blocks_share_the_micro_clusters_by_their_rows() {
        assert_eq!(shares(&[10, 0, 3, 7], 5), [2, 0, 1, 2]);
        assert_eq!(shares(&[500, 300, 200], 10), [5, 3, 2]);
        // Every non-empty block gets one, even when that is more than its share.
        assert_eq!(shares(&[98, 1, 1], 2), [1, 1, 1]);
        assert_eq!(shares(&[2, 1], 3), [2, 1]);
        assert_eq!(shares(&[0, 0], 3), [0, 0]);
        assert_eq!(block_count(10_000), 100);
        assert_eq!(block_count(750), 28);
        assert_eq!(block_count(1), 1);
    }

    #[test]
    fn as_many_micro_clusters_as_distinct_rows_lose_nothing() {
        let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i % 8) * (j + 1)) as f64);
        let micro = compress(x.view(), 8, &NoProgress).unwrap();
        assert_eq!(micro.sizes.len(), 8);
        assert_eq!(micro.within_ss, 0.0);
        assert!(micro.total_ss > 0.0);
        assert_eq!(count_for(1_000_000, 100_000), MICRO_CLUSTERS);
        assert_eq!(count_for(3_000, 1_000), 750);
    }
}

/// How the number of micro-clusters trades agreement with exact Ward for time, on a table and
/// the exact run's assignments written by `bench/large.sh`, and how far exact Ward's own cut
/// moves when a few customers are left out:
/// `LARGE_CSV=bench/out/large/customers_100000.csv
/// LARGE_EXACT=bench/out/large/exact_100000/assignments.csv
/// cargo test --release --lib microclusters::measure -- --ignored --nocapture`.
#[cfg(test)]
mod measure {
    use super::*;
    use crate::engine::compare::compare;
    use crate::engine::cut::{cut_clusters, rows_of_leaves};
    use crate::engine::ingest::read_csv;
    use crate::engine::linkage::{linkage, ward_weighted};
    use crate::engine::pipeline::{Params, ResolvedFeatures};
    use crate::engine::preprocess::encode;
    use crate::engine::spec;
    use crate::engine::types::{Method, Metric, NoProgress};

    /// The table at `path`, encoded as a run encodes it.
    fn encoded(path: &str) -> Array2<f64> {
        let table = read_csv(&std::fs::read(path).unwrap()).unwrap();
        let resolved: ResolvedFeatures =
            spec::check(&table, &Params::new(Method::Ward, 5)).unwrap();
        encode(&table, &resolved.numeric, &resolved.categorical).matrix
    }

    /// Exact Ward's 5 segments of the table without every `step`-th row, against its 5 segments
    /// of the whole table on the rows both have: how much the exact answer itself moves when a
    /// few customers are missing, the yardstick for how closely an approximation can follow it.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_exact_ward_without_some_rows() {
        let Ok(csv) = std::env::var("LARGE_CSV") else {
            return;
        };
        let x = encoded(&csv);
        let n = x.nrows();
        let ward = |x: ArrayView2<f64>| {
            let z = linkage(x, Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
            cut_clusters(&z, 5)
        };
        let whole = ward(x.view());
        for step in [1_000, 100] {
            let kept: Vec<usize> = (0..n).filter(|i| i % step != step / 2).collect();
            let part = ward(x.select(Axis(0), &kept).view());
            let same: Vec<usize> = kept.iter().map(|&i| whole[i]).collect();
            println!(
                "without every {step}th row: ARI vs exact Ward of all rows {:.3}",
                compare(&part, &same).adjusted_rand_index
            );
        }
    }

    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_micro_cluster_counts() {
        let (Ok(csv), Ok(exact)) = (std::env::var("LARGE_CSV"), std::env::var("LARGE_EXACT"))
        else {
            return;
        };
        let x = encoded(&csv);
        let exact: Vec<usize> = std::fs::read_to_string(exact)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        for m in [2_000, 5_000, 10_000, 20_000, 40_000] {
            let started = std::time::Instant::now();
            let micro = compress(x.view(), m, &NoProgress).unwrap();
            let z = ward_weighted(micro.centroids.view(), &micro.sizes, &NoProgress).unwrap();
            let labels = rows_of_leaves(&cut_clusters(&z, 5), &micro.member_of);
            println!(
                "{m} micro-clusters: ARI vs exact {:.3}, within share {:.3}, {:.1} s",
                compare(&labels, &exact).adjusted_rand_index,
                micro.within_share(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}
