//! Factorising the Hessian once, so that every `H⁻¹ v` afterwards is two triangular
//! solves (`P²` operations).
//!
//! `H + δI` is factorised by Cholesky (faer). For softmax, `H` has an exact null
//! direction `u` (an equal shift of every class bias); every loss gradient is
//! orthogonal to it, and the conventions define `H⁻¹` as the pseudo-inverse on `u⊥`.
//! We factorise `H + δI + c uuᵀ` (`c` = mean diagonal) instead: on `u⊥` its inverse is
//! exactly the pseudo-inverse, and the result is projected back onto `u⊥`.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The Hessian cannot be inverted as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum LinalgError {
    /// Cholesky found a non-positive pivot.
    #[error(
        "the Hessian (with damping {damping:e}) is not positive definite; add L2 regularisation or damping"
    )]
    NotPositiveDefinite {
        /// The damping that was added.
        damping: f64,
    },
    /// Positive definite in floating point, but so ill-conditioned that `H⁻¹ v` would
    /// be noise (smallest/largest Cholesky pivot² below [`SINGULAR_RATIO`]).
    #[error("the Hessian is numerically singular (pivot ratio {ratio:e}); add L2 regularisation or damping")]
    Singular {
        /// Smallest over largest squared Cholesky pivot.
        ratio: f64,
    },
    /// The Hessian holds NaN or infinity.
    #[error("the Hessian contains NaN or infinite entries")]
    NonFinite,
}

/// Below this ratio of squared Cholesky pivots the Hessian is treated as singular.
pub const SINGULAR_RATIO: f64 = 1e-13;

/// A factorised `H + δI` (with the softmax gauge handled as the module doc says).
pub struct Factor {
    llt: faer::linalg::solvers::Llt<f64>,
    gauge: Option<Vec<f64>>,
    p: usize,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor").field("p", &self.p).field("gauge", &self.gauge.is_some()).finish()
    }
}

impl Factor {
    /// Factorise `h + damping·I`; `gauge` is the unit null direction, if any.
    pub fn new(h: &Array2<f64>, damping: f64, gauge: Option<Vec<f64>>) -> Result<Self, LinalgError> {
        let p = h.nrows();
        if h.iter().any(|v| !v.is_finite()) || !damping.is_finite() {
            return Err(LinalgError::NonFinite);
        }
        let c = if gauge.is_some() { (0..p).map(|i| h[[i, i]]).sum::<f64>() / p as f64 } else { 0.0 };
        let c = if c > 0.0 { c } else { 1.0 };
        let a = Mat::<f64>::from_fn(p, p, |i, j| {
            let g = gauge.as_ref().map_or(0.0, |u| c * u[i] * u[j]);
            h[[i, j]] + g + if i == j { damping } else { 0.0 }
        });
        let llt = a.as_ref().llt(Side::Lower).map_err(|_| LinalgError::NotPositiveDefinite { damping })?;
        let l = llt.L();
        let pivots: Vec<f64> = (0..p).map(|i| l[(i, i)] * l[(i, i)]).collect();
        let max = pivots.iter().copied().fold(0.0, f64::max);
        let min = pivots.iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = if max > 0.0 { min / max } else { 0.0 };
        if ratio < SINGULAR_RATIO {
            return Err(LinalgError::Singular { ratio });
        }
        Ok(Self { llt, gauge, p })
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.p
    }

    /// `(H + δI)⁻¹ b` in place (pseudo-inverse on `u⊥` for softmax).
    pub fn solve_in_place(&self, b: &mut [f64]) {
        // A view of `b` itself: no allocation on this hot path (every refit step). Every
        // caller passes P entries; anything else is left untouched rather than panicking.
        if b.len() != self.p {
            return;
        }
        self.llt.solve_in_place(faer::MatMut::from_column_major_slice_mut(b, self.p, 1));
        self.project(b);
    }

    /// `(H + δI)⁻¹ b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut x = b.to_vec();
        self.solve_in_place(&mut x);
        x
    }

    /// `(H + δI)⁻¹ Bᵀ` for every row of `b` (m × P), returned as rows (m × P).
    pub fn solve_rows(&self, b: &Array2<f64>) -> Array2<f64> {
        let (m, p) = b.dim();
        let mut rhs = Mat::<f64>::from_fn(p, m, |i, j| b[[j, i]]);
        self.llt.solve_in_place(rhs.as_mut());
        let mut out = Array2::from_shape_fn((m, p), |(j, i)| rhs[(i, j)]);
        for mut row in out.rows_mut() {
            if let Some(s) = row.as_slice_mut() {
                self.project(s);
            }
        }
        out
    }

    /// Remove the gauge component (no-op for models without one).
    pub fn project(&self, v: &mut [f64]) {
        if let Some(u) = &self.gauge {
            let c: f64 = u.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(x, ui)| *x -= c * ui);
        }
    }
}

/// Eigenvalues of a symmetric matrix, ascending (for diagnostics: spectrum, condition).
pub fn symmetric_eigenvalues(h: &Array2<f64>) -> Option<Vec<f64>> {
    let p = h.nrows();
    let a = Mat::<f64>::from_fn(p, p, |i, j| h[[i, j]]);
    let mut ev = a.as_ref().self_adjoint_eigenvalues(Side::Lower).ok()?;
    ev.sort_by(f64::total_cmp);
    Some(ev)
}

/// Eigenvalues (ascending) and eigenvectors (columns, same order) of a symmetric
/// matrix (for the PCA projection of the plot).
pub fn symmetric_eigen(a: &Array2<f64>) -> Option<(Vec<f64>, Array2<f64>)> {
    let p = a.nrows();
    let m = Mat::<f64>::from_fn(p, p, |i, j| a[[i, j]]);
    let eig = m.as_ref().self_adjoint_eigen(Side::Lower).ok()?;
    let (s, u) = (eig.S(), eig.U());
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&i, &j| s[i].total_cmp(&s[j]));
    let vals = order.iter().map(|&i| s[i]).collect();
    let vecs = Array2::from_shape_fn((p, p), |(r, c)| u[(r, order[c])]);
    Some((vals, vecs))
}
