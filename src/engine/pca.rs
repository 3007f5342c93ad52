//! Principal component analysis for the encoded matrix and for the 2-D segment map.
//!
//! The encoded matrix has few columns (tens, rarely hundreds) but possibly millions of rows, so
//! PCA goes through the `d x d` covariance matrix: one pass over the rows to build it, then a
//! symmetric Jacobi eigen-decomposition, which is exact to rounding, simple and dependency-free
//! (no LAPACK). The result matches scikit-learn's `PCA` (`svd_solver="full"`, no whitening):
//!
//! * `explained_variance` uses the `n - 1` denominator, `explained_variance_ratio` divides by
//!   the total variance of all components;
//! * a variance fraction `f` keeps the smallest number of components whose cumulative ratio
//!   exceeds `f` (scikit-learn's `searchsorted(cumsum, f, side="right") + 1`);
//! * signs follow `svd_flip(u_based_decision=False)`: the largest-magnitude loading of every
//!   component is positive, so the map does not flip between runs or versions.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// How many principal components to keep.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum PcaSpec {
    /// Exactly this many components.
    Components(usize),
    /// As few components as explain more than this fraction (0 < f <= 1) of the variance.
    Variance(f64),
}

/// A fitted PCA.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Column means of the fitted matrix.
    pub mean: Vec<f64>,
    /// `n_components x d`, one principal axis per row.
    pub components: Array2<f64>,
    pub explained_variance: Vec<f64>,
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    /// Projects rows onto the principal axes: `(x - mean) @ components.T`.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mean = ndarray::ArrayView1::from(&self.mean);
        let centred = &x - &mean;
        centred.dot(&self.components.t())
    }
}

/// Fits a PCA keeping the components `spec` asks for (at most `min(n, d)`).
pub fn fit(x: ArrayView2<f64>, spec: PcaSpec) -> Pca {
    let (n, d) = x.dim();
    let mean: Vec<f64> = x
        .mean_axis(Axis(0))
        .map_or_else(|| vec![0.0; d], |m| m.to_vec());
    let centred = &x - &ndarray::ArrayView1::from(&mean);
    let denom = n.saturating_sub(1).max(1) as f64;
    let cov = centred.t().dot(&centred) / denom;
    let (values, vectors) = symmetric_eigen(cov);

    // Sort by decreasing eigenvalue; tiny negative rounding noise counts as zero variance.
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let variance: Vec<f64> = order.iter().map(|&i| values[i].max(0.0)).collect();
    let total: f64 = variance.iter().sum();
    let ratio: Vec<f64> = variance
        .iter()
        .map(|v| if total > 0.0 { v / total } else { 0.0 })
        .collect();

    let max_k = n.min(d);
    let k = match spec {
        PcaSpec::Components(c) => c.clamp(1, max_k.max(1)),
        PcaSpec::Variance(f) => {
            let mut cum = 0.0;
            let below = ratio
                .iter()
                .take_while(|r| {
                    cum += *r;
                    cum <= f
                })
                .count();
            (below + 1).min(max_k.max(1))
        }
    }
    .min(d);

    let mut components = Array2::<f64>::zeros((k, d));
    for (row, &i) in order.iter().take(k).enumerate() {
        let v = vectors.column(i);
        let pivot = v.iter().copied().fold(
            0.0f64,
            |best, x| if x.abs() > best.abs() { x } else { best },
        );
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        for (j, x) in v.iter().enumerate() {
            components[[row, j]] = sign * x;
        }
    }
    Pca {
        mean,
        components,
        explained_variance: variance[..k].to_vec(),
        explained_variance_ratio: ratio[..k].to_vec(),
    }
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
///
/// Returns the eigenvalues and a matrix whose columns are the matching unit eigenvectors.
/// Each rotation zeroes one off-diagonal pair; sweeps repeat until the off-diagonal mass is
/// negligible relative to the matrix (quadratic convergence, typically under ten sweeps).
pub fn symmetric_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let d = a.nrows();
    let mut v = Array2::<f64>::eye(d);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    if scale == 0.0 {
        return (vec![0.0; d], v);
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        for p in 0..d {
            for q in p + 1..d {
                off += a[[p, q]] * a[[p, q]];
            }
        }
        if off.sqrt() <= 1e-15 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[[p, q]];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                // Rotation angle that annihilates a[p][q] (stable small-angle form).
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[[i, i]]).collect(), v)
}

/// 2-D coordinates of every row for the segment map: the first two principal components, or
/// the single column and zero when there is only one feature.
pub fn map_coordinates(x: ArrayView2<f64>) -> Vec<[f64; 2]> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return vec![[0.0, 0.0]; n];
    }
    let pca = fit(x, PcaSpec::Components(2));
    let projected = pca.transform(x);
    projected
        .rows()
        .into_iter()
        .map(|r| [r[0], if r.len() > 1 { r[1] } else { 0.0 }])
        .collect()
}

/// [`map_coordinates`] for tables too large to copy: the axes are fitted on the rows `sample`
/// (a fixed sample, enough to place two axes), and every row is projected one at a time, so
/// no second n x d matrix is made (232 MB at a million rows of 29 features).
pub fn map_coordinates_sampled(x: ArrayView2<f64>, sample: &[usize]) -> Vec<[f64; 2]> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 || sample.is_empty() {
        return vec![[0.0, 0.0]; n];
    }
    let pca = fit(x.select(Axis(0), sample).view(), PcaSpec::Components(2));
    let axis = |i: usize| pca.components.row(i.min(pca.n_components() - 1));
    let (first, second) = (axis(0), axis(1));
    let two = pca.n_components() > 1;
    x.rows()
        .into_iter()
        .map(|row| {
            let mut p = [0.0, 0.0];
            for (j, &v) in row.iter().enumerate() {
                let c = v - pca.mean[j];
                p[0] += c * first[j];
                if two {
                    p[1] += c * second[j];
                }
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// From scikit-learn 1.9.1 / NumPy 2.4.6: `PCA(n_components=3, svd_solver="full").fit(X)` on
    /// this matrix (the `covariance_eigh` solver agrees to 1e-14).
    fn sample() -> Array2<f64> {
        array![
            [2.5, 2.4, 1.0, 0.3],
            [0.5, 0.7, 2.0, 0.1],
            [2.2, 2.9, 0.5, 0.9],
            [1.9, 2.2, 1.5, 0.4],
            [3.1, 3.0, 0.2, 0.8],
            [2.3, 2.7, 1.1, 0.2],
            [2.0, 1.6, 1.9, 0.5],
            [1.0, 1.1, 2.2, 0.7],
            [1.5, 1.6, 1.4, 0.6],
            [1.1, 0.9, 2.5, 0.3],
        ]
    }

    const EV: [f64; 3] = [1.777641508373461, 0.095447212701769, 0.05253793957583366];
    const EVR: [f64; 3] = [
        0.9092795439250447,
        0.048822103683769345,
        0.026873626381500617,
    ];
    const COMPONENTS: [[f64; 4]; 3] = [
        [
            0.5635123547866213,
            0.6264049867785105,
            -0.5308841069352616,
            0.09073413660470327,
        ],
        [
            0.6766723835013086,
            -0.0049097044449923225,
            0.6549976383290325,
            -0.3362565597758824,
        ],
        [
            0.2765852874538048,
            -0.2266101080840121,
            0.18272779563443628,
            0.9158378624957745,
        ],
    ];
    const FIRST_ROW: [f64; 3] = [0.9077099897175547, 0.2433753857160319, -0.16361887199008762];

    #[test]
    fn matches_scikit_learn_pca() {
        let x = sample();
        let pca = fit(x.view(), PcaSpec::Components(3));
        for i in 0..3 {
            assert!((pca.explained_variance[i] - EV[i]).abs() < 1e-10, "ev {i}");
            assert!(
                (pca.explained_variance_ratio[i] - EVR[i]).abs() < 1e-10,
                "evr {i}"
            );
            for (j, want) in COMPONENTS[i].iter().enumerate() {
                let got = pca.components[[i, j]];
                assert!(
                    (got - want).abs() < 1e-9,
                    "component [{i},{j}] {got} != {want}"
                );
            }
        }
        let t = pca.transform(x.view());
        for j in 0..3 {
            assert!((t[[0, j]] - FIRST_ROW[j]).abs() < 1e-9);
        }
    }

    #[test]
    fn variance_fraction_picks_components_like_scikit_learn() {
        let x = sample();
        let full = fit(x.view(), PcaSpec::Components(4));
        let r = &full.explained_variance_ratio;
        // Below the first ratio keeps one; at or above it (side="right") keeps two.
        assert_eq!(
            fit(x.view(), PcaSpec::Variance(r[0] - 1e-9)).n_components(),
            1
        );
        assert_eq!(
            fit(x.view(), PcaSpec::Variance(r[0] + 1e-9)).n_components(),
            2
        );
        assert_eq!(
            fit(x.view(), PcaSpec::Variance(0.999_999_999)).n_components(),
            4
        );
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn jacobi_recovers_known_eigenvalues() {
        let a = array![[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]];
        let (mut values, vectors) = symmetric_eigen(a.clone());
        // A v = lambda v for each column.
        for (v, lambda) in vectors.columns().into_iter().zip(&values) {
            let av = a.dot(&v);
            for (got, x) in av.iter().zip(v) {
                assert!((got - lambda * x).abs() < 1e-12);
            }
        }
        values.sort_by(f64::total_cmp);
        for (got, want) in values.iter().zip([1.0, 3.0, 5.0]) {
            assert!((got - want).abs() < 1e-12);
        }
    }

    #[test]
    fn map_of_single_feature_is_a_line() {
        let x = array![[1.0], [2.0], [4.0]];
        let m = map_coordinates(x.view());
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|p| p[1] == 0.0));
        assert!((m[0][0] + m[1][0] + m[2][0]).abs() < 1e-12);
    }
}
