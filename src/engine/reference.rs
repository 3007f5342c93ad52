//! Tests against reference numbers from scipy and scikit-learn.
//!
//! `tests/fixtures/engine/reference.json` is written by `bench/reference/make_fixtures.py` with
//! numpy 2.4.6, scipy 1.17.1 and scikit-learn 1.9.1 (the versions are also recorded in the
//! file). It holds a 30 x 4 matrix of seeded normal floats (no tied distances) and, per linkage
//! method and metric, scipy's `linkage` matrix, `cophenet` correlation and `fcluster` cut, and
//! scikit-learn's `AgglomerativeClustering` labels with their silhouettes for k = 3 and 4.
//!
//! Tolerances: merge heights and silhouettes 1e-9 relative/absolute (they agree to ~1e-15;
//! the slack covers summation order), tree structure and partitions exactly.

use ndarray::Array2;
use serde::Deserialize;

use super::cut::{cut_clusters, cut_height};
use super::linkage::{linkage, naive_linkage};
use super::quality::{cophenetic_correlation, k_sweep};
use super::silhouette::{silhouette_samples, silhouette_score};
use super::types::{Merge, Method, Metric, NoProgress};

const TOLERANCE: f64 = 1e-9;

#[derive(Deserialize)]
pub(crate) struct Reference {
    pub x: Vec<Vec<f64>>,
    pub cases: Vec<Case>,
    pub ward_k_sweep: Vec<super::quality::KPoint>,
}

#[derive(Deserialize)]
pub(crate) struct Case {
    pub method: Method,
    pub metric: Metric,
    pub z: Vec<(usize, usize, f64, usize)>,
    pub cophenetic: f64,
    pub cut_height: f64,
    pub fcluster_distance: Vec<usize>,
    pub sklearn: Option<std::collections::BTreeMap<String, SklearnCut>>,
}

#[derive(Deserialize)]
pub(crate) struct SklearnCut {
    pub labels: Vec<usize>,
    pub silhouette: f64,
    pub samples: Vec<f64>,
}

pub(crate) fn reference() -> Reference {
    let text = include_str!("../../tests/fixtures/engine/reference.json");
    serde_json::from_str(text).expect("reference fixture parses")
}

impl Reference {
    pub(crate) fn matrix(&self) -> Array2<f64> {
        let d = self.x[0].len();
        let flat: Vec<f64> = self.x.iter().flatten().copied().collect();
        Array2::from_shape_vec((self.x.len(), d), flat).expect("rectangular fixture")
    }
}

pub(crate) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// True when two labelings describe the same partition (labels may be renamed).
pub(crate) fn same_partition(a: &[usize], b: &[usize]) -> bool {
    use std::collections::HashMap;
    if a.len() != b.len() {
        return false;
    }
    let mut ab = HashMap::new();
    let mut ba = HashMap::new();
    a.iter()
        .zip(b)
        .all(|(&x, &y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
}

fn assert_same_tree(got: &[Merge], want: &[(usize, usize, f64, usize)], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: merge count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            (g.left, g.right, g.size),
            (w.0, w.1, w.3),
            "{what}: merge {i}"
        );
        assert!(
            close(g.height, w.2),
            "{what}: merge {i} height {} vs scipy {}",
            g.height,
            w.2
        );
    }
}

#[test]
fn linkage_matches_scipy_for_every_method_and_metric() {
    let r = reference();
    let x = r.matrix();
    for case in &r.cases {
        let what = format!("{} / {}", case.method, case.metric);
        let z = linkage(x.view(), case.method, case.metric, &NoProgress).unwrap();
        assert_same_tree(&z, &case.z, &what);
    }
}

#[test]
fn naive_oracle_matches_scipy() {
    let r = reference();
    let x = r.matrix();
    for case in &r.cases {
        let what = format!("naive {} / {}", case.method, case.metric);
        assert_same_tree(
            &naive_linkage(x.view(), case.method, case.metric),
            &case.z,
            &what,
        );
    }
}

#[test]
fn cuts_match_scikit_learn_and_fcluster() {
    let r = reference();
    let x = r.matrix();
    for case in &r.cases {
        let what = format!("{} / {}", case.method, case.metric);
        let z = linkage(x.view(), case.method, case.metric, &NoProgress).unwrap();
        let by_height = cut_height(&z, case.cut_height);
        assert!(
            same_partition(&by_height, &case.fcluster_distance),
            "{what}: fcluster"
        );
        for (k, cut) in case.sklearn.iter().flatten() {
            let k: usize = k.parse().unwrap();
            let labels = cut_clusters(&z, k);
            assert!(same_partition(&labels, &cut.labels), "{what}: k={k} labels");
        }
    }
}

#[test]
fn silhouettes_match_scikit_learn() {
    let r = reference();
    let x = r.matrix();
    for case in &r.cases {
        for (k, cut) in case.sklearn.iter().flatten() {
            let what = format!("{} / {} k={k}", case.method, case.metric);
            let samples =
                silhouette_samples(x.view(), &cut.labels, case.metric, &NoProgress).unwrap();
            for (i, (got, want)) in samples.iter().zip(&cut.samples).enumerate() {
                assert!(close(*got, *want), "{what}: row {i}: {got} vs {want}");
            }
            let score = silhouette_score(&samples);
            assert!(
                close(score, cut.silhouette),
                "{what}: {score} vs {}",
                cut.silhouette
            );
        }
    }
}

#[test]
fn cophenetic_correlation_matches_scipy() {
    let r = reference();
    let x = r.matrix();
    for case in &r.cases {
        let z = linkage(x.view(), case.method, case.metric, &NoProgress).unwrap();
        let c = cophenetic_correlation(x.view(), &z, case.metric, &NoProgress).unwrap();
        assert!(
            close(c, case.cophenetic),
            "{} / {}: {c} vs {}",
            case.method,
            case.metric,
            case.cophenetic
        );
    }
}

#[test]
fn k_sweep_matches_scikit_learn_cuts() {
    let r = reference();
    let x = r.matrix();
    let z = linkage(x.view(), Method::Ward, Metric::Euclidean, &NoProgress).unwrap();
    let sweep = k_sweep(x.view(), &z, Metric::Euclidean, &NoProgress).unwrap();
    assert_eq!(sweep.points.len(), r.ward_k_sweep.len());
    for (got, want) in sweep.points.iter().zip(&r.ward_k_sweep) {
        assert_eq!(got.k, want.k);
        assert!(
            close(got.silhouette, want.silhouette),
            "k={}: {} vs {}",
            got.k,
            got.silhouette,
            want.silhouette
        );
        assert!(
            close(got.wss, want.wss),
            "k={}: wss {} vs {}",
            got.k,
            got.wss,
            want.wss
        );
    }
    let best = r.ward_k_sweep.iter().fold(&r.ward_k_sweep[0], |b, p| {
        if p.silhouette > b.silhouette { p } else { b }
    });
    assert_eq!(sweep.suggested_k, best.k);
}
