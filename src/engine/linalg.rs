//! Factorising the Hessian once, so that every `H⁻¹ v` afterwards is two triangular
//! solves (`P²` operations).
//!
//! **Equilibration.** `A = H + δI` is scaled to `Â = D A D` with `D = diag(A)^{-1/2}`
//! (unit diagonal) before Cholesky (faer), and `A⁻¹ = D Â⁻¹ D`. Whether `A` is
//! invertible is then judged on `Â`, which does not depend on the units of the
//! columns: raw features near 1e6 are as well posed as standardised ones (van der
//! Sluis 1969: this diagonal scaling is within a factor P of the best one).
//!
//! **Singularity.** `Â` is singular in floating point when its condition number
//! exceeds `1 / SINGULAR_RATIO`. For P ≤ [`EXACT_SPECTRUM_MAX`] an upper bound from
//! the factor, `‖Â‖_F · tr(Â⁻¹)`, settles the common case of a matrix far from
//! singular (P³/6 operations); otherwise the extreme eigenvalues of `Â` are computed
//! exactly (about 9P³), so the verdict is the spectrum's. Above that size, they are
//! estimated from the factor by power iteration on `Â` and on `Â⁻¹` (a lower bound on
//! the condition number that is tight to a small factor on these matrices). Cholesky
//! pivots alone are not used: their ratio can be 1 for a matrix of condition 10¹⁸.
//!
//! **Null directions.** Softmax has exact null directions `u` (an equal shift of
//! every class's bias, and with λ = 0 of every class's weights too); every loss
//! gradient is orthogonal to them, and the conventions define `H⁻¹` as the
//! pseudo-inverse on their complement. We factorise `A + c Σ u uᵀ` (`c` = mean
//! diagonal) instead: on the complement its inverse is exactly the pseudo-inverse,
//! and every solution is projected back onto it.

use crate::said::Said;
use crate::text::Text;
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

/// The Hessian cannot be inverted as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LinalgError {
    /// Cholesky found a non-positive pivot, or the smallest eigenvalue is ≤ 0.
    NotPositiveDefinite {
        /// The damping that was added.
        damping: f64,
    },
    /// Indefinite: a negative eigenvalue that the damping does not outweigh.
    Indefinite {
        /// The damping used.
        damping: f64,
        /// The smallest eigenvalue.
        smallest: f64,
        /// The smallest damping that makes it positive definite.
        needed: f64,
    },
    /// Positive definite in floating point, but so ill-conditioned that `H⁻¹ v` would
    /// be noise.
    Singular {
        /// Largest over smallest eigenvalue of the equilibrated matrix.
        condition: f64,
    },
    /// The Hessian holds NaN or infinity.
    NonFinite,
    /// A vector or matrix whose size does not match the factorised matrix (a bug in
    /// the caller, reported rather than ignored).
    Shape {
        /// The size expected.
        expected: usize,
        /// The size given.
        found: usize,
    },
}

impl LinalgError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::NotPositiveDefinite { damping } => {
                Said::new(Text::ErrLinalgNotPositiveDefinite).with("damping", format!("{damping:e}"))
            }
            Self::Indefinite { damping, smallest, needed } => Said::new(Text::ErrLinalgIndefinite)
                .with("smallest", format!("{smallest:.3e}"))
                .with("damping", format!("{damping:e}"))
                .with("needed", format!("{needed:.3e}")),
            Self::Singular { condition } => {
                Said::new(Text::ErrLinalgSingular).with("condition", format!("{condition:.1e}"))
            }
            Self::NonFinite => Said::new(Text::ErrLinalgNonFinite),
            Self::Shape { expected, found } => {
                Said::new(Text::ErrLinalgShape).with("found", found).with("expected", expected)
            }
        }
    }
}

crate::said_error!(LinalgError);

/// Above this condition number (of the equilibrated matrix, inverted here) `H` is
/// treated as singular: `H⁻¹ v` would lose all but about three digits.
pub const SINGULAR_RATIO: f64 = 1e-13;

/// Largest P for which the extreme eigenvalues are computed exactly (P³/3 flops).
pub const EXACT_SPECTRUM_MAX: usize = 256;

/// A factorised `H + δI` (equilibrated, with the null directions handled as the module
/// doc says).
pub struct Factor {
    llt: faer::linalg::solvers::Llt<f64>,
    /// `D = diag(A)^{-1/2}`.
    scale: Vec<f64>,
    null: Vec<Vec<f64>>,
    condition: f64,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("p", &self.dim())
            .field("null_directions", &self.null.len())
            .field("condition", &self.condition)
            .finish()
    }
}

/// How carefully [`Factor::new`] judges singularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Estimate the condition number (exact spectrum for small P): for influence.
    Condition,
    /// Only require Cholesky to succeed on the equilibrated matrix: for the steps of
    /// an optimiser, which damp and retry anyway.
    Pivots,
}

impl Factor {
    /// Factorise `h + damping·I`; `null` are orthonormal null directions, if any.
    pub fn new(h: &Array2<f64>, damping: f64, null: &[Vec<f64>]) -> Result<Self, LinalgError> {
        Self::with_check(h, damping, null, Check::Condition)
    }

    /// As [`Factor::new`], with the chosen singularity check.
    pub fn with_check(
        h: &Array2<f64>,
        damping: f64,
        null: &[Vec<f64>],
        check: Check,
    ) -> Result<Self, LinalgError> {
        let p = h.nrows();
        if h.ncols() != p {
            return Err(LinalgError::Shape { expected: p, found: h.ncols() });
        }
        if let Some(u) = null.iter().find(|u| u.len() != p) {
            return Err(LinalgError::Shape { expected: p, found: u.len() });
        }
        if h.iter().any(|v| !v.is_finite()) || !damping.is_finite() {
            return Err(LinalgError::NonFinite);
        }
        let c = if null.is_empty() { 0.0 } else { (0..p).map(|i| h[[i, i]]).sum::<f64>() / p as f64 };
        let c = if c > 0.0 { c } else { 1.0 };
        let entry = |i: usize, j: usize| {
            let g: f64 = null.iter().map(|u| c * u[i] * u[j]).sum();
            h[[i, j]] + g + if i == j { damping } else { 0.0 }
        };
        let mut scale = Vec::with_capacity(p);
        for i in 0..p {
            let d = entry(i, i);
            if d <= 0.0 {
                return Err(LinalgError::NotPositiveDefinite { damping });
            }
            scale.push(1.0 / d.sqrt());
        }
        let a = Mat::<f64>::from_fn(p, p, |i, j| entry(i, j) * scale[i] * scale[j]);
        let llt = a.as_ref().llt(Side::Lower).map_err(|_| LinalgError::NotPositiveDefinite { damping })?;
        let mut f = Self { llt, scale, null: null.to_vec(), condition: f64::NAN };
        if check == Check::Condition {
            // Far from singular by a bound (the common case), or judged by the spectrum.
            let bound = if p <= EXACT_SPECTRUM_MAX { f.condition_bound(&a) } else { f64::INFINITY };
            if bound < 0.5 / SINGULAR_RATIO {
                f.condition = bound;
                return Ok(f);
            }
            let (lo, hi) = if p <= EXACT_SPECTRUM_MAX {
                let ev =
                    a.as_ref().self_adjoint_eigenvalues(Side::Lower).map_err(|_| LinalgError::NonFinite)?;
                let lo = ev.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ev.iter().copied().fold(0.0, f64::max);
                (lo, hi)
            } else {
                f.extreme_eigenvalue_estimates(&a)
            };
            if lo <= 0.0 {
                return Err(LinalgError::NotPositiveDefinite { damping });
            }
            f.condition = hi / lo;
            if lo < SINGULAR_RATIO * hi {
                return Err(LinalgError::Singular { condition: f.condition });
            }
        }
        Ok(f)
    }

    /// `‖Â‖_F · tr(Â⁻¹) ≥ κ₂(Â)`, with `tr(Â⁻¹) = ‖L⁻¹‖²_F` from the factor (P³/6
    /// operations, against about 9P³ for the spectrum): `‖Â‖₂ ≤ ‖Â‖_F` and
    /// `‖Â⁻¹‖₂ = 1/λ_min ≤ Σ 1/λᵢ`. At most `P^{3/2}` times the condition number, so it
    /// decides "not singular" alone whenever the condition number is below
    /// `SINGULAR_RATIO⁻¹ / (2 P^{3/2})`; NaN or infinite when the inverse overflows.
    fn condition_bound(&self, a: &Mat<f64>) -> f64 {
        let p = a.nrows();
        let mut inverse = Mat::<f64>::identity(p, p);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.llt.L(),
            inverse.as_mut(),
            faer::Par::Seq,
        );
        let trace = inverse.norm_l2().powi(2);
        a.norm_l2() * trace
    }

    /// Power iteration on `Â` and on `Â⁻¹` (through the factor), 30 steps each from a
    /// fixed start: estimates of the smallest and largest eigenvalue of `Â`.
    fn extreme_eigenvalue_estimates(&self, a: &Mat<f64>) -> (f64, f64) {
        let p = a.nrows();
        let start =
            |k: usize| -> Mat<f64> { Mat::from_fn(p, 1, |i, _| 1.0 + ((i * 7 + k) % 13) as f64 / 13.0) };
        let normalise = |v: &mut Mat<f64>| {
            let n = v.norm_l2();
            if n > 0.0 {
                for i in 0..p {
                    v[(i, 0)] /= n;
                }
            }
        };
        let mut v = start(1);
        normalise(&mut v);
        let mut hi = 0.0;
        for _ in 0..30 {
            let w = a * &v;
            hi = (v.transpose() * &w)[(0, 0)];
            v = w;
            normalise(&mut v);
        }
        let mut v = start(5);
        normalise(&mut v);
        let mut inv_hi = 0.0;
        for _ in 0..30 {
            let mut w = v.clone();
            self.llt.solve_in_place(w.as_mut());
            inv_hi = (v.transpose() * &w)[(0, 0)];
            v = w;
            normalise(&mut v);
        }
        (if inv_hi > 0.0 { 1.0 / inv_hi } else { 0.0 }, hi)
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.scale.len()
    }

    /// Condition number of the equilibrated matrix, or an upper bound on it
    /// (`‖Â‖_F · tr(Â⁻¹)`) when that bound already shows it far from singular; NaN when
    /// not checked ([`Check::Pivots`]).
    pub fn condition(&self) -> f64 {
        self.condition
    }

    /// `(H + δI)⁻¹ b` in place (pseudo-inverse on the complement of the null
    /// directions). A length other than P is an error, never silently ignored.
    pub fn solve_in_place(&self, b: &mut [f64]) -> Result<(), LinalgError> {
        let p = self.dim();
        if b.len() != p {
            return Err(LinalgError::Shape { expected: p, found: b.len() });
        }
        b.iter_mut().zip(&self.scale).for_each(|(x, d)| *x *= d);
        // A view of `b` itself: no allocation on this hot path (every refit step).
        self.llt.solve_in_place(faer::MatMut::from_column_major_slice_mut(b, p, 1));
        b.iter_mut().zip(&self.scale).for_each(|(x, d)| *x *= d);
        self.project(b);
        Ok(())
    }

    /// `(H + δI)⁻¹ b`.
    pub fn solve(&self, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
        let mut x = b.to_vec();
        self.solve_in_place(&mut x)?;
        Ok(x)
    }

    /// `bᵢᵀ (H + δI)⁻¹ bᵢ` for every row of `b` (m × P), as `‖L⁻¹ D bᵢ‖²` with
    /// `D (H + δI) D = L Lᵀ`: one triangular solve per row instead of two, and never
    /// negative. `None` when the factor has null directions (their projection is not a
    /// square root's; use [`Factor::solve_rows`]).
    pub fn quadratic_forms(&self, b: &Array2<f64>) -> Result<Option<Vec<f64>>, LinalgError> {
        let (m, p) = b.dim();
        if p != self.dim() {
            return Err(LinalgError::Shape { expected: self.dim(), found: p });
        }
        if !self.null.is_empty() {
            return Ok(None);
        }
        let d = &self.scale;
        let mut rhs = Mat::<f64>::from_fn(p, m, |i, j| b[[j, i]] * d[i]);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.llt.L(),
            rhs.as_mut(),
            faer::Par::Seq,
        );
        Ok(Some((0..m).map(|j| rhs.col_as_slice(j).iter().map(|v| v * v).sum()).collect()))
    }

    /// `(H + δI)⁻¹ Bᵀ` for every row of `b` (m × P), returned as rows (m × P).
    pub fn solve_rows(&self, b: &Array2<f64>) -> Result<Array2<f64>, LinalgError> {
        let (m, p) = b.dim();
        if p != self.dim() {
            return Err(LinalgError::Shape { expected: self.dim(), found: p });
        }
        let d = &self.scale;
        let mut rhs = Mat::<f64>::from_fn(p, m, |i, j| b[[j, i]] * d[i]);
        self.llt.solve_in_place(rhs.as_mut());
        let mut out = Array2::from_shape_fn((m, p), |(j, i)| rhs[(i, j)] * d[i]);
        for mut row in out.rows_mut() {
            if let Some(s) = row.as_slice_mut() {
                self.project(s);
            }
        }
        Ok(out)
    }

    /// Remove the components along the null directions (no-op without any).
    pub fn project(&self, v: &mut [f64]) {
        project_out(&self.null, v);
    }
}

/// `A x = b` by conjugate gradient preconditioned with the factor `m` (≈ A), from
/// products `apply(v, out) = A v` only: the inner solve of a Newton–CG step, where `m`
/// is a Hessian factorised at a nearby point, so a few products suffice. Stops at a
/// relative residual `tol` or `max_iter` products; at a direction of curvature ≤ 0 it
/// returns the iterate so far (or `M⁻¹ b` before the first step), which is still a
/// descent direction for the Newton step.
pub fn preconditioned_cg(
    mut apply: impl FnMut(&[f64], &mut [f64]),
    m: &Factor,
    b: &[f64],
    tol: f64,
    max_iter: usize,
) -> Result<Vec<f64>, LinalgError> {
    let p = b.len();
    let dot = |a: &[f64], c: &[f64]| a.iter().zip(c).map(|(x, y)| x * y).sum::<f64>();
    let (mut x, mut r) = (vec![0.0; p], b.to_vec());
    let mut z = m.solve(&r)?;
    let mut d = z.clone();
    let mut rz = dot(&r, &z);
    let (r0, mut ad) = (dot(&r, &r).sqrt(), vec![0.0; p]);
    for step in 0..max_iter {
        apply(&d, &mut ad);
        let dad = dot(&d, &ad);
        if dad.is_nan() || dad <= 0.0 {
            return Ok(if step == 0 { z } else { x });
        }
        let alpha = rz / dad;
        x.iter_mut().zip(&d).for_each(|(xi, di)| *xi += alpha * di);
        r.iter_mut().zip(&ad).for_each(|(ri, ai)| *ri -= alpha * ai);
        if dot(&r, &r).sqrt() <= tol * r0 {
            break;
        }
        z = m.solve(&r)?;
        let rz_new = dot(&r, &z);
        let beta = rz_new / rz;
        d.iter_mut().zip(&z).for_each(|(di, zi)| *di = zi + beta * *di);
        rz = rz_new;
    }
    Ok(x)
}

/// Remove from `v` its components along the orthonormal vectors `basis`.
pub fn project_out(basis: &[Vec<f64>], v: &mut [f64]) {
    for u in basis {
        let c: f64 = u.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
        v.iter_mut().zip(u).for_each(|(x, ui)| *x -= c * ui);
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

/// `C ← α A B` (or `C ← C + α A B` when `accumulate`), `C` row-major. In the browser
/// by faer's matrix multiplication, which has wasm SIMD kernels (ndarray's is scalar
/// there); natively by ndarray's (matrixmultiply: AVX2/FMA chosen at run time). faer's
/// native kernels leave the upper halves of the vector registers dirty, which made the
/// scalar and SSE code after them (every gradient pass) several times slower on this
/// machine. `A` and `B` may be row-major or column-major (a transposed row-major
/// matrix); any other layout takes ndarray's product.
pub fn mat_mul(
    alpha: f64,
    a: &ArrayView2<'_, f64>,
    b: &ArrayView2<'_, f64>,
    accumulate: bool,
    c: &mut ArrayViewMut2<'_, f64>,
) {
    #[cfg(target_arch = "wasm32")]
    if let (Some(a_ref), Some(b_ref)) = (faer_view(a), faer_view(b)) {
        let (rows, cols) = c.dim();
        if let Some(c_slice) = c.as_slice_mut() {
            let dst = faer::MatMut::from_row_major_slice_mut(c_slice, rows, cols);
            let accum = if accumulate { faer::Accum::Add } else { faer::Accum::Replace };
            return faer::linalg::matmul::matmul(dst, accum, a_ref, b_ref, alpha, faer::Par::Seq);
        }
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    ndarray::linalg::general_mat_mul(alpha, a, b, beta, c);
}

/// A contiguous row-major or column-major ndarray matrix as a faer view.
#[cfg(target_arch = "wasm32")]
fn faer_view<'a>(m: &'a ArrayView2<'_, f64>) -> Option<faer::MatRef<'a, f64>> {
    let (rows, cols) = m.dim();
    if let Some(s) = m.as_slice() {
        return Some(faer::MatRef::from_row_major_slice(s, rows, cols));
    }
    let t = m.t();
    t.is_standard_layout()
        .then(|| m.as_slice_memory_order())
        .flatten()
        .map(|s| faer::MatRef::from_column_major_slice(s, rows, cols))
}
