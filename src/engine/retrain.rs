//! The ground truth: the model really retrained with changed weights (conventions,
//! "Ground truth"): removal sets `w_i = 0` and keeps dividing by `n`, warm-started
//! from `θ̂`, to the same tolerance `‖∇R‖_∞ < 1e-10`.
//!
//! Speed comes from structure. Changing one weight changes `H` by one example's term,
//! `c x̃_i x̃_iᵀ` for single-output models, so `M = H(θ̂) + c x̃_i x̃_iᵀ` is inverted from
//! the factorisation of `H(θ̂)` by Sherman–Morrison, and the refit iterates
//! `θ ← θ − M⁻¹ ∇R_w(θ)`: the first step is exactly Newton's from `θ̂`, later steps
//! converge linearly at the (tiny) rate of the Hessian's change. Softmax and group
//! changes use `M = H(θ̂)`. If the iteration stalls, a full Newton fit takes over.

use crate::engine::fit::{fit, FitError, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::progress::{Cancelled, Progress};
use serde::{Deserialize, Serialize};

/// Why a retraining produced no numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum RetrainError {
    /// The refit failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// A training index out of range.
    #[error("training point {index} does not exist (there are {n})")]
    BadIndex {
        /// The index given.
        index: usize,
        /// Number of training points.
        n: usize,
    },
    /// A weight that is negative or not finite.
    #[error("weight {weight} is not allowed (use a finite weight ≥ 0)")]
    BadWeight {
        /// The weight given.
        weight: f64,
    },
    /// Cancelled by the user.
    #[error("cancelled")]
    Cancelled,
    /// A retraining thread stopped unexpectedly (a bug, never bad input).
    #[error("an internal error stopped the retraining")]
    Internal,
}

impl From<Cancelled> for RetrainError {
    fn from(_: Cancelled) -> Self {
        RetrainError::Cancelled
    }
}

/// One refit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refit {
    /// The retrained parameters.
    pub theta: Vec<f64>,
    /// Iterations used (preconditioned steps, or Newton steps after a fallback).
    pub iterations: usize,
    /// Final `‖∇R_w‖_∞`.
    pub grad_norm: f64,
    /// Whether it reached the tolerance.
    pub converged: bool,
}

/// Retrains a fitted problem under weight changes, reusing the factorised Hessian.
#[derive(Clone)]
pub struct Retrainer<'a> {
    problem: Problem,
    theta_hat: &'a [f64],
    influence: &'a Influence,
    opts: FitOptions,
    grad: Vec<f64>,
    /// `∇R(θ̂)` with the original weights (≈ 0, but kept exactly).
    grad_hat: Vec<f64>,
}

/// Preconditioned steps before a full Newton fit takes over.
const MAX_PRECONDITIONED: usize = 40;

impl<'a> Retrainer<'a> {
    /// A retrainer for `problem` fitted at `theta_hat`, whose Hessian `influence` holds.
    pub fn new(problem: &Problem, theta_hat: &'a [f64], influence: &'a Influence, opts: FitOptions) -> Self {
        let mut grad_hat = vec![0.0; problem.n_params()];
        problem.gradient(theta_hat, &mut grad_hat);
        Self { problem: problem.clone(), theta_hat, influence, opts, grad: grad_hat.clone(), grad_hat }
    }

    /// Refit with `changes` = (index, new weight); weights are restored afterwards.
    pub fn refit(&mut self, changes: &[(usize, f64)]) -> Result<Refit, RetrainError> {
        let n = self.problem.n();
        // One change per index (the last wins), so the old weights below are right.
        let unique: std::collections::BTreeMap<usize, f64> = changes.iter().copied().collect();
        let changes: Vec<(usize, f64)> = unique.into_iter().collect();
        let changes = changes.as_slice();
        for &(index, weight) in changes {
            if index >= n {
                return Err(RetrainError::BadIndex { index, n });
            }
            if !weight.is_finite() || weight < 0.0 {
                return Err(RetrainError::BadWeight { weight });
            }
        }
        let saved: Vec<(usize, f64)> = changes.iter().map(|&(i, _)| (i, self.problem.weights[i])).collect();
        let precond = self.rank_one_update(changes);
        for &(i, w) in changes {
            self.problem.weights[i] = w;
        }
        // At θ̂ the new gradient is known without a pass over the data:
        // ∇R_w(θ̂) = ∇R(θ̂) + Σ (w_new − w_old)/n · g_i.
        let n_f = n as f64;
        self.grad.copy_from_slice(&self.grad_hat);
        for (&(i, w), &(_, old)) in changes.iter().zip(&saved) {
            let g = self.influence.train_grads.row(i);
            self.grad.iter_mut().zip(g).for_each(|(a, gi)| *a += (w - old) / n_f * gi);
        }
        let result = self.iterate(precond);
        for &(i, w) in saved.iter().rev() {
            self.problem.weights[i] = w;
        }
        result
    }

    /// For one changed weight of a single-output model: `(c, h = H⁻¹ x̃_i, 1 + c x̃_iᵀ h)`
    /// such that `M = H + c x̃_i x̃_iᵀ` is the Hessian's exact change at `θ̂`.
    fn rank_one_update(&self, changes: &[(usize, f64)]) -> Option<(f64, Vec<f64>, f64)> {
        let m = &self.problem.model;
        let [(i, w)] = changes else { return None };
        if m.k != 1 {
            return None;
        }
        let x = self.problem.train.row(*i);
        let (mut z, mut dz, mut d2) = ([0.0], [0.0], [0.0]);
        m.outputs(self.theta_hat, x, &mut z);
        m.derivs(&z, self.problem.train.y[*i], &mut dz, Some(&mut d2));
        let c = (w - self.problem.weights[*i]) * d2[0] / self.problem.n() as f64;
        let xt: Vec<f64> = x.iter().copied().chain([1.0]).collect();
        let h = self.influence.factor().solve(&xt);
        let denom = 1.0 + c * xt.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
        (denom > 1e-8).then_some((c, h, denom))
    }

    fn iterate(&mut self, precond: Option<(f64, Vec<f64>, f64)>) -> Result<Refit, RetrainError> {
        let mut theta = self.theta_hat.to_vec();
        let mut last = f64::INFINITY;
        let mut slow = 0;
        for it in 0..MAX_PRECONDITIONED {
            if it > 0 {
                self.problem.gradient(&theta, &mut self.grad);
            }
            let norm = self.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            if !norm.is_finite() {
                break;
            }
            if norm < self.opts.tol {
                return Ok(Refit { theta, iterations: it, grad_norm: norm, converged: true });
            }
            // Fall back when the linear rate is poor (large reweighting, far optimum).
            slow = if norm > 0.5 * last { slow + 1 } else { 0 };
            if slow >= 2 {
                break;
            }
            last = norm;
            let mut step = self.factor_solve(&self.grad, &precond);
            step.iter_mut().for_each(|s| *s = -*s);
            theta.iter_mut().zip(&step).for_each(|(t, s)| *t += s);
        }
        let report = fit(&self.problem, Some(&theta), &self.opts)?;
        Ok(Refit {
            theta: report.theta,
            iterations: MAX_PRECONDITIONED + report.iterations,
            grad_norm: report.grad_norm,
            converged: report.converged,
        })
    }

    /// `M⁻¹ v`, with the Sherman–Morrison correction when there is one.
    fn factor_solve(&self, v: &[f64], precond: &Option<(f64, Vec<f64>, f64)>) -> Vec<f64> {
        let mut y = self.influence.factor().solve(v);
        if let Some((c, h, denom)) = precond {
            let hv: f64 = h.iter().zip(v).map(|(a, b)| a * b).sum();
            let s = c * hv / denom;
            y.iter_mut().zip(h).for_each(|(yi, hi)| *yi -= s * hi);
        }
        y
    }

    /// Leave point `i` out.
    pub fn leave_out(&mut self, i: usize) -> Result<Refit, RetrainError> {
        self.refit(&[(i, 0.0)])
    }

    /// Set the weight of point `i`.
    pub fn reweight(&mut self, i: usize, weight: f64) -> Result<Refit, RetrainError> {
        self.refit(&[(i, weight)])
    }

    /// Remove every point of `group` at once.
    pub fn remove_group(&mut self, group: &[usize]) -> Result<Refit, RetrainError> {
        let changes: Vec<(usize, f64)> = group.iter().map(|&i| (i, 0.0)).collect();
        self.refit(&changes)
    }

    /// Leave out every training point in turn. Progress is reported (and cancellation
    /// honoured) after each block of points; natively a block is shared among the
    /// machine's cores, in WebAssembly it runs on the worker's one thread.
    pub fn leave_each_out(&mut self, progress: &mut dyn Progress) -> Result<Vec<Refit>, RetrainError> {
        let n = self.problem.n();
        // Blocks of about a tenth: few thread start-ups natively, and progress 10 times.
        let block = (n / 10).clamp(32, 1024);
        let mut out = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            out.extend(self.leave_out_range(start, end)?);
            if !progress.report(end, n) {
                return Err(RetrainError::Cancelled);
            }
            start = end;
        }
        Ok(out)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn leave_out_range(&mut self, start: usize, end: usize) -> Result<Vec<Refit>, RetrainError> {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(end - start);
        if threads <= 1 {
            return (start..end).map(|i| self.leave_out(i)).collect();
        }
        let chunk = (end - start).div_ceil(threads);
        let results: Vec<Result<Vec<Refit>, RetrainError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (start..end)
                .step_by(chunk)
                .map(|lo| {
                    let mut worker = self.clone();
                    let hi = (lo + chunk).min(end);
                    scope.spawn(move || (lo..hi).map(|i| worker.leave_out(i)).collect())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(Err(RetrainError::Internal))).collect()
        });
        let mut out = Vec::with_capacity(end - start);
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    #[cfg(target_arch = "wasm32")]
    fn leave_out_range(&mut self, start: usize, end: usize) -> Result<Vec<Refit>, RetrainError> {
        (start..end).map(|i| self.leave_out(i)).collect()
    }
}

/// Actual changes of test loss and prediction under refitted parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActualChanges {
    /// `dloss[t][i] = l(z_t, θ_i) − l(z_t, θ̂)`.
    pub dloss: Vec<Vec<f64>>,
    /// `dpred[t][i] = f_t(θ_i) − f_t(θ̂)`.
    pub dpred: Vec<Vec<f64>>,
}

/// For every test row and every refit `θ_i`, the change from `θ̂` of loss and prediction.
pub fn actual_changes(
    problem: &Problem,
    theta_hat: &[f64],
    refits: &[Refit],
    test: &Design,
) -> ActualChanges {
    let m = &problem.model;
    let mut buf = vec![0.0; m.n_params()];
    let (mut dloss, mut dpred) = (Vec::new(), Vec::new());
    for t in 0..test.n() {
        let (x, y) = (test.row(t), test.y[t]);
        let (l0, f0) = (m.loss(theta_hat, x, y), m.f_and_grad(theta_hat, x, y, &mut buf));
        dloss.push(refits.iter().map(|r| m.loss(&r.theta, x, y) - l0).collect());
        dpred.push(refits.iter().map(|r| m.f_and_grad(&r.theta, x, y, &mut buf) - f0).collect());
    }
    ActualChanges { dloss, dpred }
}
