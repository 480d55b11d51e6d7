//! First-order influence at the fitted `θ̂` (Koh & Liang 2017, §2), with the signs and
//! scale of the conventions:
//!
//! ```text
//! g_i                  = ∇l(z_i, θ̂)                  (no regulariser term)
//! I_up,params(z_i)     = −H⁻¹ g_i
//! I_up,loss(z_i, z_t)  = −g_tᵀ H⁻¹ g_i
//! pred_loo_dloss[t][i] = (1/n) g_tᵀ H⁻¹ g_i           (removal; > 0: z_i helps z_t)
//! pred_loo_dpred[t][i] = (1/n) ∇f_tᵀ H⁻¹ g_i
//! self_influence[i]    = g_iᵀ H⁻¹ g_i
//! ```
//!
//! Setting the weight of `z_i` to `w` is an upweighting by `ε = (w − 1)/n`, so the
//! predicted change of the test loss is `−(w − 1) · pred_loo_dloss[t][i]`. `H` is
//! factorised once in [`Influence::new`]; scoring all n training points against a test
//! point is then one solve and n dot products.
//!
//! `H` may be replaced by another [`Curvature`] (the Gauss–Newton matrix, K-FAC or
//! EK-FAC: [`Influence::with_curvature`]); the formulas are unchanged. A curvature
//! that is not positive definite at the chosen damping is an error that names the
//! smallest damping that would make it so.

use crate::engine::curvature::{Curvature, KronInverse};
use crate::engine::linalg::{mat_mul, symmetric_eigenvalues, Factor, LinalgError};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::Net;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// The inverse of the chosen curvature plus damping.
#[derive(Debug)]
pub enum Inverse {
    /// A dense Cholesky factor (Hessian, GGN).
    Dense(Factor),
    /// Kronecker factors (K-FAC, EK-FAC).
    Kron(KronInverse),
}

impl Inverse {
    /// Factorise `curvature + δI` at `theta` (`hessian` is the Hessian there), or say
    /// why it is not positive definite.
    pub fn new(
        problem: &Problem,
        theta: &[f64],
        hessian: &Array2<f64>,
        curvature: Curvature,
        damping: f64,
    ) -> Result<Self, LinalgError> {
        let null = problem.null_directions();
        let dense = |m: &Array2<f64>| {
            Factor::new(m, damping, &null).map_err(|e| match e {
                LinalgError::NotPositiveDefinite { .. } => indefinite(m, &null, damping),
                other => other,
            })
        };
        Ok(match curvature {
            Curvature::Hessian => Inverse::Dense(dense(hessian)?),
            Curvature::Ggn => Inverse::Dense(dense(&problem.ggn(theta))?),
            Curvature::Kfac => Inverse::Kron(KronInverse::new(problem, theta, damping, false)?),
            Curvature::Ekfac => Inverse::Kron(KronInverse::new(problem, theta, damping, true)?),
        })
    }

    /// `(C + δI)⁻¹ v`.
    pub fn solve(&self, v: &[f64]) -> Result<Vec<f64>, LinalgError> {
        match self {
            Inverse::Dense(f) => f.solve(v),
            Inverse::Kron(k) => k.solve(v),
        }
    }

    /// `bᵢᵀ (C + δI)⁻¹ bᵢ` for every row of `b` (never an m × m matrix): from the
    /// Cholesky factor ([`Factor::quadratic_forms`]), or `bᵢᵀ ((C + δI)⁻¹ bᵢ)` for a
    /// curvature with null directions or a Kronecker factor.
    pub fn quadratic_forms(&self, b: &Array2<f64>) -> Result<Vec<f64>, LinalgError> {
        if let Inverse::Dense(f) = self {
            if let Some(forms) = f.quadratic_forms(b)? {
                return Ok(forms);
            }
        }
        Ok((&self.solve_rows(b)? * b).sum_axis(Axis(1)).to_vec())
    }

    /// `(C + δI)⁻¹ Bᵀ` for every row of `b`, as rows.
    pub fn solve_rows(&self, b: &Array2<f64>) -> Result<Array2<f64>, LinalgError> {
        match self {
            Inverse::Dense(f) => f.solve_rows(b),
            Inverse::Kron(k) => {
                let mut out = Array2::zeros(b.dim());
                for (mut o, r) in out.rows_mut().into_iter().zip(b.rows()) {
                    o.assign(&ndarray::Array1::from(k.solve(&r.to_vec())?));
                }
                Ok(out)
            }
        }
    }
}

/// Influence of every training point, ready to score test points.
#[derive(Debug)]
pub struct Influence {
    theta: Vec<f64>,
    inverse: Inverse,
    /// The factorised exact Hessian for refits (the preconditioner of retraining).
    refit: Option<Factor>,
    n: usize,
    /// Which curvature stands in for `H`.
    pub curvature: Curvature,
    /// Per-example training gradients `g_i` (n × P).
    pub train_grads: Array2<f64>,
    /// Per-example training losses at `θ̂`.
    pub train_losses: Vec<f64>,
    /// The damping `δ` in `H + δI`.
    pub damping: f64,
}

/// One test point's view of the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestInfluence {
    /// Test loss `l(z_t, θ̂)`.
    pub loss: f64,
    /// Test prediction `f_t` (probability of the test label, or `ŷ`).
    pub pred: f64,
    /// Predicted change of the test loss when each training point is removed.
    pub pred_loo_dloss: Vec<f64>,
    /// Predicted change of the test prediction when each training point is removed.
    pub pred_loo_dpred: Vec<f64>,
}

impl TestInfluence {
    /// First-order change of the test loss when the points of `group` are all removed:
    /// the sum of their `pred_loo_dloss`.
    pub fn group_removal_dloss(&self, group: &[usize]) -> f64 {
        group.iter().filter_map(|&i| self.pred_loo_dloss.get(i)).sum()
    }

    /// Predicted `(Δloss, Δpred)` when the weight of point `i` becomes `weight`
    /// (1 = unchanged, 0 = removed).
    pub fn reweight(&self, i: usize, weight: f64) -> (f64, f64) {
        let s = 1.0 - weight;
        (s * self.pred_loo_dloss[i], s * self.pred_loo_dpred[i])
    }
}

impl Influence {
    /// Factorise `H(θ̂) + δI` and compute every training gradient.
    pub fn new(problem: &Problem, theta: &[f64], damping: f64) -> Result<Self, LinalgError> {
        Self::with_curvature(problem, theta, Curvature::Hessian, damping)
    }

    /// As [`Influence::new`], with `curvature` in place of the Hessian.
    pub fn with_curvature(
        problem: &Problem,
        theta: &[f64],
        curvature: Curvature,
        damping: f64,
    ) -> Result<Self, LinalgError> {
        Self::with_hessian(problem, theta, &problem.hessian(theta), curvature, damping)
    }

    /// As [`Influence::with_curvature`], with the Hessian at `theta` already computed.
    pub fn with_hessian(
        problem: &Problem,
        theta: &[f64],
        hessian: &Array2<f64>,
        curvature: Curvature,
        damping: f64,
    ) -> Result<Self, LinalgError> {
        let inverse = Inverse::new(problem, theta, hessian, curvature, damping)?;
        let null = problem.null_directions();
        // Refits are preconditioned by the exact Hessian (at a minimum it is positive
        // definite); there may be none, e.g. at an early-stopped network.
        let refit = match (&inverse, curvature) {
            (Inverse::Dense(_), Curvature::Hessian) => None,
            _ => Factor::new(hessian, damping, &null).or_else(|_| Factor::new(hessian, 0.0, &null)).ok(),
        };
        let (train_grads, train_losses) = problem.example_grads(theta, &problem.train);
        Ok(Self {
            theta: theta.to_vec(),
            inverse,
            refit,
            n: problem.n(),
            curvature,
            train_grads,
            train_losses,
            damping,
        })
    }

    /// The factorised exact Hessian (+ δI) that preconditions retraining, if it is
    /// positive definite.
    pub fn refit_factor(&self) -> Option<&Factor> {
        match (&self.inverse, &self.refit) {
            (_, Some(f)) => Some(f),
            (Inverse::Dense(f), None) if self.curvature == Curvature::Hessian => Some(f),
            _ => None,
        }
    }

    /// The inverse of the curvature.
    pub fn inverse(&self) -> &Inverse {
        &self.inverse
    }

    /// `I_up,params(z_i) = −H⁻¹ g_i` (`None` for an index out of range).
    pub fn params_influence(&self, i: usize) -> Option<Vec<f64>> {
        let g: Vec<f64> = self.train_grads.rows().into_iter().nth(i)?.iter().map(|v| -v).collect();
        self.inverse.solve(&g).ok()
    }

    /// `self_influence[i] = g_iᵀ H⁻¹ g_i` for every training point
    /// ([`Inverse::quadratic_forms`]).
    pub fn self_influence(&self) -> Result<Vec<f64>, LinalgError> {
        self.inverse.quadratic_forms(&self.train_grads)
    }

    /// Influence of every training point on every row of `test`.
    pub fn score(&self, problem: &Problem, test: &Design) -> Result<Vec<TestInfluence>, LinalgError> {
        self.score_by(&self.inverse, problem, test)
    }

    /// As [`Influence::score`] with the same curvature at another damping `δ`: only the
    /// curvature is factorised again (`hessian` is the Hessian at `θ̂`); the training
    /// gradients are this influence's. The same numbers as an [`Influence`] built at `δ`
    /// (tested), for a fraction of the work: a damping sweep needs one Hessian, not one
    /// per damping.
    pub fn score_at_damping(
        &self,
        problem: &Problem,
        hessian: &Array2<f64>,
        damping: f64,
        test: &Design,
    ) -> Result<Vec<TestInfluence>, LinalgError> {
        let inverse = Inverse::new(problem, &self.theta, hessian, self.curvature, damping)?;
        self.score_by(&inverse, problem, test)
    }

    /// Influence on every row of `test` with `inverse` standing in for `(C + δI)⁻¹`.
    fn score_by(
        &self,
        inverse: &Inverse,
        problem: &Problem,
        test: &Design,
    ) -> Result<Vec<TestInfluence>, LinalgError> {
        let (m, p) = (test.n(), problem.n_params());
        let (g_test, losses) = problem.example_grads(&self.theta, test);
        let mut grad_f = Array2::<f64>::zeros((m, p));
        let mut preds = Vec::with_capacity(m);
        let mut buf = vec![0.0; p];
        for t in 0..m {
            preds.push(problem.model.f_and_grad(&self.theta, test.row(t), test.y[t], &mut buf));
            grad_f.row_mut(t).iter_mut().zip(&buf).for_each(|(a, b)| *a = *b);
        }
        let inv_n = 1.0 / self.n as f64;
        // The test side of the products. A single-output linear model has
        // g_t = (∂l/∂z_t) x̃_t and ∇f_t = (∂f/∂z_t) x̃_t (the bias entries are the two
        // scalars), so one product with H⁻¹ x̃_t serves both, scaled: half the work.
        let model = &problem.model;
        let shared = model.k == 1 && model.net == Net::Linear;
        let (solved_loss, solved_pred) = if shared {
            let d = model.d;
            let x = Array2::from_shape_fn((m, p), |(t, j)| {
                if j < d {
                    test.row(t).get(j).copied().unwrap_or(0.0)
                } else {
                    1.0
                }
            });
            (inverse.solve_rows(&x)?, None) // row t: H⁻¹ x̃_t
        } else {
            (inverse.solve_rows(&g_test)?, Some(inverse.solve_rows(&grad_f)?))
            // H⁻¹ g_t, H⁻¹ ∇f_t
        };
        // (b × P)(P × n) for a block of b test points at a time: every training point
        // against every test point in matrix products, into a buffer reused for every
        // block (no m × n temporary); each test point's vectors are written once, from
        // its row of the buffer.
        let n = self.train_grads.nrows();
        let mut buffer = Array2::<f64>::zeros((SCORE_BLOCK.min(m), n));
        let bias = model.d; // the bias entry of a single-output linear model's gradient
        let at = |grads: &Array2<f64>, t: usize| grads.get([t, bias]).copied().unwrap_or(f64::NAN);
        let (mut dloss, mut dpred) = (Vec::with_capacity(m), Vec::with_capacity(m));
        for start in (0..m).step_by(SCORE_BLOCK) {
            let rows = SCORE_BLOCK.min(m - start);
            let range = ndarray::s![start..start + rows, ..];
            let mut out = buffer.slice_mut(ndarray::s![..rows, ..]);
            mat_mul(inv_n, &solved_loss.slice(range), &self.train_grads.t(), false, &mut out);
            match &solved_pred {
                // Row j is (1/n) g_iᵀ H⁻¹ x̃_t for every i: times the test point's ∂l/∂z
                // and ∂f/∂z (the bias entries of its gradients).
                None => {
                    for (j, row) in out.rows().into_iter().enumerate() {
                        let (a, b) = (at(&g_test, start + j), at(&grad_f, start + j));
                        dloss.push(scaled(row, a));
                        dpred.push(scaled(row, b));
                    }
                }
                Some(solved_pred) => {
                    dloss.extend(out.rows().into_iter().map(|r| r.to_vec()));
                    mat_mul(inv_n, &solved_pred.slice(range), &self.train_grads.t(), false, &mut out);
                    dpred.extend(out.rows().into_iter().map(|r| r.to_vec()));
                }
            }
        }
        Ok(dloss
            .into_iter()
            .zip(dpred)
            .zip(losses.into_iter().zip(preds))
            .map(|((pred_loo_dloss, pred_loo_dpred), (loss, pred))| TestInfluence {
                loss,
                pred,
                pred_loo_dloss,
                pred_loo_dpred,
            })
            .collect())
    }
}

/// `a · row` as a vector (over the row's slice when contiguous, as the buffer's rows
/// are: that loop vectorises).
fn scaled(row: ndarray::ArrayView1<'_, f64>, a: f64) -> Vec<f64> {
    match row.as_slice() {
        Some(r) => r.iter().map(|v| a * v).collect(),
        None => row.iter().map(|v| a * v).collect(),
    }
}

/// Test points scored per matrix product in [`Influence::score`]: the block's output
/// (16 × n) stays in cache for n up to a few thousand.
const SCORE_BLOCK: usize = 16;

/// The error for a curvature `m` that `m + δI` does not make positive definite: its
/// smallest eigenvalue on the complement of the null directions, and the smallest
/// damping that would do (just above minus that eigenvalue).
fn indefinite(m: &Array2<f64>, null: &[Vec<f64>], damping: f64) -> LinalgError {
    let p = m.nrows();
    let c = (0..p).map(|i| m[[i, i]].abs()).sum::<f64>() / p.max(1) as f64 + 1.0;
    let lifted =
        Array2::from_shape_fn((p, p), |(i, j)| m[[i, j]] + null.iter().map(|u| c * u[i] * u[j]).sum::<f64>());
    let ev = symmetric_eigenvalues(&lifted).unwrap_or_default();
    let (Some(&smallest), Some(&largest)) = (ev.first(), ev.last()) else {
        return LinalgError::NotPositiveDefinite { damping };
    };
    if !smallest.is_finite() {
        return LinalgError::NotPositiveDefinite { damping };
    }
    if smallest > -1e-12 * largest.abs() {
        // Zero, not negative: singular (e.g. a feature with no variation and λ = 0).
        return LinalgError::Singular { condition: largest.abs() / smallest.abs().max(f64::MIN_POSITIVE) };
    }
    LinalgError::Indefinite { damping, smallest, needed: -smallest * 1.01 + 1e-12 * c }
}
