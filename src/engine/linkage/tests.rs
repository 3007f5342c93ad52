//! Linkage tests: the fast paths against the naive oracle, edge cases and errors. The
//! comparison with scipy itself lives in `engine::reference`.

use ndarray::{Array2, array};
use proptest::prelude::*;

use super::*;
use crate::engine::cut::cut_clusters;
use crate::engine::types::{NoProgress, Stage};

/// Every (method, metric) pair scipy accepts.
fn combinations() -> Vec<(Method, Metric)> {
    let mut out = Vec::new();
    for method in Method::ALL {
        for metric in Metric::ALL {
            if !method.requires_euclidean() || metric == Metric::Euclidean {
                out.push((method, metric));
            }
        }
    }
    out
}

fn relative_gap(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// Same heights (1e-9 relative) and the same partition at every k.
fn assert_equivalent(fast: &[Merge], slow: &[Merge], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(fast.len(), slow.len());
    for (i, (f, s)) in fast.iter().zip(slow).enumerate() {
        prop_assert!(
            relative_gap(f.height, s.height) < 1e-9 || (f.height - s.height).abs() < 1e-12,
            "{}: merge {} height {} vs naive {}",
            what,
            i,
            f.height,
            s.height
        );
    }
    for k in 1..=fast.len() + 1 {
        prop_assert_eq!(
            cut_clusters(fast, k),
            cut_clusters(slow, k),
            "{}: k={}",
            what,
            k
        );
    }
    Ok(())
}

fn matrix(n: usize, d: usize, values: &[f64]) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| values[i * d + j])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random floats: no two distances tie, so the tree is unique and every algorithm must find
    /// it.
    #[test]
    fn fast_paths_agree_with_the_naive_oracle(
        n in 2usize..=40,
        d in 1usize..=4,
        values in prop::collection::vec(-10.0f64..10.0, 160),
    ) {
        let x = matrix(n, d, &values);
        for (method, metric) in combinations() {
            if metric == Metric::Cosine && d == 1 {
                // On a line every cosine distance is 0 or 2: all ties.
                continue;
            }
            let what = format!("{method}/{metric} n={n} d={d}");
            let fast = linkage(x.view(), method, metric, &NoProgress).unwrap();
            let slow = naive_linkage(x.view(), method, metric);
            assert_equivalent(&fast, &slow, &what)?;
        }
    }

    /// Integer grids make many exact ties and duplicate rows: the tree is then not unique, but
    /// the merge heights are, and the output must stay a valid scipy tree.
    #[test]
    fn ties_keep_heights_and_shape(
        n in 2usize..=30,
        values in prop::collection::vec(0u8..3, 60),
    ) {
        let x = Array2::from_shape_fn((n, 2), |(i, j)| f64::from(values[i * 2 + j]));
        for (method, metric) in combinations() {
            if matches!(method, Method::Centroid | Method::Median) {
                // With ties their order of merges, and so later heights, depend on the tie-break.
                continue;
            }
            let fast = linkage(x.view(), method, metric, &NoProgress).unwrap();
            assert_valid_tree(&fast, n);
            let mut got: Vec<f64> = fast.iter().map(|m| m.height).collect();
            let mut want: Vec<f64> = naive_linkage(x.view(), method, metric).iter().map(|m| m.height).collect();
            got.sort_by(f64::total_cmp);
            want.sort_by(f64::total_cmp);
            if method == Method::Single {
                // Single-linkage heights are the minimum spanning tree's edges: unique under ties.
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((g - w).abs() < 1e-9, "{}: {} vs {}", method, g, w);
                }
            }
        }
    }
}

/// scipy's invariants: merge `i` creates `n + i` from two existing, not yet merged clusters,
/// `left < right`, sizes add up, heights sorted.
fn assert_valid_tree(z: &[Merge], n: usize) {
    assert_eq!(z.len(), n - 1);
    let mut size: Vec<usize> = vec![1; n];
    let mut used = vec![false; 2 * n - 1];
    for (i, m) in z.iter().enumerate() {
        assert!(m.left < m.right && m.right < n + i, "merge {i}: {m:?}");
        assert!(
            !used[m.left] && !used[m.right],
            "merge {i} reuses a cluster"
        );
        used[m.left] = true;
        used[m.right] = true;
        assert_eq!(m.size, size[m.left] + size[m.right]);
        size.push(m.size);
        if i > 0 {
            assert!(m.height >= z[i - 1].height);
        }
    }
}

#[test]
fn two_rows_make_one_merge() {
    let x = array![[0.0, 0.0], [3.0, 4.0]];
    for (method, metric) in combinations() {
        let z = linkage(x.view(), method, metric, &NoProgress).unwrap();
        assert_eq!(z.len(), 1);
        assert_eq!((z[0].left, z[0].right, z[0].size), (0, 1, 2));
        let want = crate::engine::distance::distance(&[0.0, 0.0], &[3.0, 4.0], metric);
        assert!((z[0].height - want).abs() < 1e-12, "{method}/{metric}");
    }
}

#[test]
fn duplicate_rows_merge_at_zero_first() {
    // Rows 0, 2, 4 are identical, as are 1 and 3.
    let x = array![
        [1.0, 2.0],
        [5.0, 5.0],
        [1.0, 2.0],
        [5.0, 5.0],
        [1.0, 2.0],
        [9.0, 0.0]
    ];
    for (method, metric) in combinations() {
        let z = linkage(x.view(), method, metric, &NoProgress).unwrap();
        assert_valid_tree(&z, 6);
        // Cosine distances of identical rows are 0 up to rounding (as in scipy).
        assert!(
            z[..3].iter().all(|m| m.height < 1e-12),
            "{method}/{metric}: {z:?}"
        );
        assert!(z[3].height > 1e-6);
        let labels = cut_clusters(&z, 3);
        assert_eq!(labels, vec![0, 1, 0, 1, 0, 2], "{method}/{metric}");
    }
}

/// Finite rows far enough apart that their distances overflow to infinity (scipy gives
/// infinite heights too) still make a valid tree, with the finite merge first. Their cosine
/// distances are NaN (the dot product overflows): the run must still end.
#[test]
fn overflowing_distances_still_make_a_tree() {
    let x = array![[0.0], [1.0], [1e200], [-1e200]];
    for (method, metric) in combinations() {
        let z = linkage(x.view(), method, metric, &NoProgress).unwrap();
        assert_eq!(z.len(), 3, "{method}/{metric}");
        if metric == Metric::Cosine {
            continue;
        }
        if method != Method::Centroid && method != Method::Median {
            assert_valid_tree(&z, 4);
        }
        assert_eq!(z[0].height, 1.0, "{method}/{metric}: {z:?}");
    }
}

#[test]
fn rejects_what_scipy_rejects() {
    let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]];
    for method in [Method::Ward, Method::Centroid, Method::Median] {
        assert_eq!(
            linkage(x.view(), method, Metric::Cosine, &NoProgress),
            Err(LinkageError::NonEuclidean {
                method,
                metric: Metric::Cosine
            })
        );
    }
    let one = array![[1.0, 2.0]];
    assert_eq!(
        linkage(one.view(), Method::Average, Metric::Euclidean, &NoProgress),
        Err(LinkageError::TooFewRows { rows: 1 })
    );
    let empty = Array2::<f64>::zeros((0, 3));
    assert_eq!(
        linkage(empty.view(), Method::Ward, Metric::Euclidean, &NoProgress),
        Err(LinkageError::TooFewRows { rows: 0 })
    );
    let nan = array![[0.0, 1.0], [f64::NAN, 0.0]];
    assert_eq!(
        linkage(nan.view(), Method::Single, Metric::Euclidean, &NoProgress),
        Err(LinkageError::NonFinite { row: 1, column: 0 })
    );
    let no_columns = Array2::<f64>::zeros((4, 0));
    assert_eq!(
        linkage(
            no_columns.view(),
            Method::Single,
            Metric::Euclidean,
            &NoProgress
        ),
        Err(LinkageError::NoFeatures)
    );
}

#[test]
fn cancellation_is_honoured_by_every_method() {
    let x = Array2::from_shape_fn((3000, 3), |(i, j)| {
        ((i * 7919 + j * 104_729) % 1000) as f64 / 10.0
    });
    let stop = |stage: Stage, fraction: f64| {
        assert_eq!(stage, Stage::Linkage);
        if fraction > 0.05 {
            Err(Cancelled)
        } else {
            Ok(())
        }
    };
    for method in Method::ALL {
        assert_eq!(
            linkage(x.view(), method, Metric::Euclidean, &stop),
            Err(LinkageError::Cancelled),
            "{method}"
        );
    }
}

#[test]
fn progress_reaches_the_end() {
    let x = Array2::from_shape_fn((500, 2), |(i, j)| ((i * 31 + j * 17) % 97) as f64);
    let last = std::sync::Mutex::new(0.0f64);
    let record = |_: Stage, fraction: f64| {
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            fraction + 1e-12 >= *l,
            "progress went backwards: {fraction} < {l}"
        );
        *l = fraction;
        Ok(())
    };
    for method in Method::ALL {
        *last.lock().unwrap() = 0.0;
        linkage(x.view(), method, Metric::Euclidean, &record).unwrap();
        assert_eq!(*last.lock().unwrap(), 1.0, "{method}");
    }
}

/// Large enough for the threaded scans of single linkage (test builds start them at 300 live
/// clusters) and for many levels of Ward's tree of boxes with its parallel rounds; checked against
/// kodama on the full matrix.
#[test]
fn threaded_paths_agree_with_the_matrix_algorithms() {
    use rand::{Rng, SeedableRng};
    let n = 1500;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let x = Array2::from_shape_fn((n, 3), |_| rng.random_range(-1.0..1.0));
    for method in [Method::Ward, Method::Single] {
        let fast = linkage(x.view(), method, Metric::Euclidean, &NoProgress).unwrap();
        let mut condensed = crate::engine::distance::pdist(x.view(), Metric::Euclidean);
        let slow = kodama_linkage(&mut condensed, n, method);
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            assert!(
                relative_gap(f.height, s.height) < 1e-9,
                "{method}: merge {i}"
            );
        }
        for k in (1..=30).chain([100, 1000, 1400]) {
            assert_eq!(
                cut_clusters(&fast, k),
                cut_clusters(&slow, k),
                "{method}: k={k}"
            );
        }
    }
}

/// The generic algorithm's threaded scans and merges (from 300 live clusters in test builds)
/// against kodama, an independent implementation, on the same matrix: the reducible methods on
/// Manhattan distances, centroid and median (whose merge heights can go down) on Euclidean ones.
#[test]
fn threaded_generic_agrees_with_kodama() {
    use rand::{Rng, SeedableRng};
    let n = 1500;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let x = Array2::from_shape_fn((n, 2), |_| rng.random_range(-1.0..1.0));
    for (method, metric) in [
        (Method::Average, Metric::Manhattan),
        (Method::Complete, Metric::Manhattan),
        (Method::Weighted, Metric::Manhattan),
        (Method::Centroid, Metric::Euclidean),
        (Method::Median, Metric::Euclidean),
    ] {
        let fast = linkage(x.view(), method, metric, &NoProgress).unwrap();
        let mut condensed = crate::engine::distance::pdist(x.view(), metric);
        let slow = kodama_linkage(&mut condensed, n, method);
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            assert_eq!(
                (f.left, f.right, f.size),
                (s.left, s.right, s.size),
                "{method}: merge {i}"
            );
            assert!(
                relative_gap(f.height, s.height) < 1e-9,
                "{method}: merge {i}"
            );
        }
    }
}

/// Matrix methods are refused, before anything is allocated, when the condensed matrix would
/// pass the limit; the algorithms that need no matrix are not limited.
#[test]
fn matrix_methods_refuse_tables_over_the_memory_limit() {
    let x = Array2::<f64>::zeros((46_342, 1));
    for method in [
        Method::Average,
        Method::Complete,
        Method::Weighted,
        Method::Centroid,
    ] {
        let err = linkage(x.view(), method, Metric::Euclidean, &NoProgress).unwrap_err();
        assert!(
            matches!(err, LinkageError::MatrixTooLarge { rows: 46_342, .. }),
            "{method}: {err}"
        );
        assert!(err.to_string().contains("at most 46341 rows"), "{err}");
    }
    assert!(check_matrix_size(Method::Average, Metric::Cosine, 46_341).is_ok());
    assert_eq!(
        matrix_bytes(Method::Ward, Metric::Euclidean, 1_000_000),
        None
    );
    assert_eq!(
        matrix_bytes(Method::Single, Metric::Manhattan, 1_000_000),
        None
    );
    assert_eq!(
        matrix_bytes(Method::Complete, Metric::Euclidean, 20_000),
        Some(1_599_920_000)
    );
}

/// Runs kodama on a condensed matrix (which it overwrites) and converts its steps: an
/// independent implementation the tests compare the generic algorithm with.
fn kodama_linkage(condensed: &mut [f64], n: usize, method: Method) -> Vec<Merge> {
    let method = match method {
        Method::Ward => kodama::Method::Ward,
        Method::Complete => kodama::Method::Complete,
        Method::Average => kodama::Method::Average,
        Method::Single => kodama::Method::Single,
        Method::Weighted => kodama::Method::Weighted,
        Method::Centroid => kodama::Method::Centroid,
        Method::Median => kodama::Method::Median,
    };
    kodama::linkage(condensed, n, method)
        .steps()
        .iter()
        .map(|s| Merge {
            left: s.cluster1.min(s.cluster2),
            right: s.cluster1.max(s.cluster2),
            height: s.dissimilarity,
            size: s.size,
        })
        .collect()
}

/// Weighted Ward with every weight 1 is plain Ward, to the bit; with integer weights it is
/// the top of plain Ward's tree on the rows repeated that many times (the duplicates merge at
/// height 0 first, then the groups merge exactly as the weighted tree says).
#[test]
fn weighted_ward_is_wards_criterion_on_groups() {
    use rand::{Rng, SeedableRng};
    // Random floats: no two merges tie, so the order of merges is unique.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let x = Array2::from_shape_fn((60, 3), |_| rng.random_range(-5.0..5.0));
    let plain = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
    let ones = ward_weighted(x.view(), &[1; 60], &NoProgress).unwrap();
    assert_eq!(plain, ones);

    let weights: Vec<usize> = (0..60).map(|i| 1 + i % 4).collect();
    let total: usize = weights.iter().sum();
    let repeated: Vec<usize> = (0..60)
        .flat_map(|i| std::iter::repeat_n(i, weights[i]))
        .collect();
    let expanded = x.select(ndarray::Axis(0), &repeated);
    let full = linkage(
        expanded.view(),
        Method::Ward,
        Metric::Euclidean,
        &NoProgress,
    )
    .unwrap();
    let weighted = ward_weighted(x.view(), &weights, &NoProgress).unwrap();
    let top = &full[total - 60..];
    // Duplicates join at height 0, give or take the rounding of their running centroid.
    assert!(full[..total - 60].iter().all(|m| m.height < 1e-12));
    for (w, f) in weighted.iter().zip(top) {
        assert!(relative_gap(w.height, f.height) < 1e-9, "{w:?} vs {f:?}");
        assert_eq!(w.size, f.size);
    }
    for k in 1..=60 {
        let rows = crate::engine::cut::rows_of_leaves(
            &cut_clusters(&weighted, k),
            &repeated.iter().map(|&r| r as u32).collect::<Vec<_>>(),
        );
        assert_eq!(rows, cut_clusters(&full, k), "k={k}");
    }
}
