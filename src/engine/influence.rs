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

use crate::engine::linalg::{Factor, LinalgError};
use crate::engine::model::problem::{Design, Problem};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// Influence of every training point, ready to score test points.
#[derive(Debug)]
pub struct Influence {
    theta: Vec<f64>,
    factor: Factor,
    n: usize,
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
        let h = problem.hessian(theta);
        let factor = Factor::new(&h, damping, &problem.null_directions())?;
        let (train_grads, train_losses) = problem.example_grads(theta, &problem.train);
        Ok(Self { theta: theta.to_vec(), factor, n: problem.n(), train_grads, train_losses, damping })
    }

    /// The factorised Hessian (also the preconditioner of the retraining).
    pub fn factor(&self) -> &Factor {
        &self.factor
    }

    /// `I_up,params(z_i) = −H⁻¹ g_i` (`None` for an index out of range).
    pub fn params_influence(&self, i: usize) -> Option<Vec<f64>> {
        let g: Vec<f64> = self.train_grads.rows().into_iter().nth(i)?.iter().map(|v| -v).collect();
        self.factor.solve(&g).ok()
    }

    /// `self_influence[i] = g_iᵀ H⁻¹ g_i` for every training point, one row of
    /// `H⁻¹ Gᵀ` at a time (never an n × n matrix).
    pub fn self_influence(&self) -> Result<Vec<f64>, LinalgError> {
        let s = self.factor.solve_rows(&self.train_grads)?;
        Ok((&s * &self.train_grads).sum_axis(Axis(1)).to_vec())
    }

    /// Influence of every training point on every row of `test`.
    pub fn score(&self, problem: &Problem, test: &Design) -> Result<Vec<TestInfluence>, LinalgError> {
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
        // (n × P)(P × m): every training point against every test point in two products.
        let dloss = self.train_grads.dot(&self.factor.solve_rows(&g_test)?.t()) * inv_n;
        let dpred = self.train_grads.dot(&self.factor.solve_rows(&grad_f)?.t()) * inv_n;
        Ok((0..m)
            .map(|t| TestInfluence {
                loss: losses[t],
                pred: preds[t],
                pred_loo_dloss: dloss.column(t).to_vec(),
                pred_loo_dpred: dpred.column(t).to_vec(),
            })
            .collect())
    }
}
