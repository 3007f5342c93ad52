//! Criterion benchmarks of the numeric core on seeded synthetic segments.
//!
//! Sizes are kept small so `cargo bench --no-run` and a quick `cargo bench --bench engine` stay
//! cheap on a shared machine; `bench/run.sh` compares larger sizes with scipy and scikit-learn.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmentiq::engine::cut::cut_clusters;
use segmentiq::engine::linkage::linkage;
use segmentiq::engine::quality::k_sweep;
use segmentiq::engine::silhouette::silhouette_samples;
use segmentiq::engine::{Method, Metric, NoProgress};

const SIZES: [usize; 2] = [1_000, 5_000];
/// Rows of the silhouette case that shows how the pass over pairs scales.
const LARGE: usize = 20_000;
const FEATURES: usize = 12;

/// `n` customers around 8 segment centres in 12 standardized-looking features.
fn customers(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<f64> = (0..8 * FEATURES)
        .map(|_| 3.0 * Distribution::<f64>::sample(&StandardNormal, &mut rng))
        .collect();
    let mut x = Array2::zeros((n, FEATURES));
    for mut row in x.rows_mut() {
        let c = rng.random_range(0..8);
        for (f, v) in row.iter_mut().enumerate() {
            let noise: f64 = StandardNormal.sample(&mut rng);
            *v = centres[c * FEATURES + f] + noise;
        }
    }
    x
}

fn linkage_benches(c: &mut Criterion) {
    for method in [
        Method::Ward,
        Method::Single,
        Method::Average,
        Method::Complete,
        Method::Centroid,
    ] {
        let mut group = c.benchmark_group(format!("linkage_{method}"));
        group.sample_size(10);
        for n in SIZES {
            let x = customers(n, 42);
            group.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
                b.iter(|| linkage(x.view(), method, Metric::Euclidean, &NoProgress))
            });
        }
        group.finish();
    }
}

fn scoring_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("silhouette");
    group.sample_size(10);
    for n in SIZES {
        let x = customers(n, 42);
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress)
            .expect("valid synthetic data");
        let labels = cut_clusters(&z, 4);
        group.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| silhouette_samples(x.view(), &labels, Metric::Euclidean, &NoProgress))
        });
    }
    group.finish();

    // Large enough (2·10⁸ pairs) for the pass over pairs to dominate, not the set-up; one
    // case per metric because each has its own kernel.
    let mut group = c.benchmark_group("silhouette_20k");
    group.sample_size(10);
    let x = customers(LARGE, 42);
    let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress)
        .expect("valid synthetic data");
    let labels = cut_clusters(&z, 5);
    for metric in Metric::ALL {
        group.bench_with_input(BenchmarkId::from_parameter(metric), &x, |b, x| {
            b.iter(|| silhouette_samples(x.view(), &labels, metric, &NoProgress))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("k_sweep");
    group.sample_size(10);
    for n in SIZES {
        let x = customers(n, 42);
        let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress)
            .expect("valid synthetic data");
        group.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| k_sweep(x.view(), &z, Metric::Euclidean, &NoProgress))
        });
    }
    group.finish();
}

criterion_group!(benches, linkage_benches, scoring_benches);
criterion_main!(benches);
