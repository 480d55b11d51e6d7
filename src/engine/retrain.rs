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
//!
//! A single-output linear model's leave-one-out runs [`LOO_GROUP`] refits in
//! lockstep: at each step the gradients of all of them are two matrix products over
//! the data (`Problem::gradients_leaving_out`) rather than one pass each. The groups
//! are fixed by index, so however the job is split (time slices, workers, threads)
//! each refit is computed the same way, to the last bit.
//!
//! Every refit takes at least one step (a change of gradient below the tolerance
//! still moves `θ`, and must not read as an actual change of exactly 0), is judged
//! converged by the fit's relative test ([`scaled_norm`]) and says whether it was;
//! [`RefitStats`] counts them for every report. Refits start from a `θ̂` that itself
//! converged: [`Retrainer::new`] refuses one that did not. A refit that leaves a
//! class without weight has no optimum (that class's bias runs to −∞) and is never
//! counted as converged, however small its final gradient.
//!
//! Networks: the preconditioner is the factorised Hessian at `θ̂` (a local minimum:
//! positive definite), the refit stays in θ̂'s basin. An early-stopped network has no
//! minimum to refit from: its ground truth reruns the same budget of gradient steps
//! from the same initialisation with the changed weights (complete when it runs the
//! whole budget).

use crate::engine::fit::{fit, FitError, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::linalg::{preconditioned_cg, LinalgError};
use crate::engine::model::problem::{scaled_norm, Design, Problem};
use crate::engine::progress::{Cancelled, Progress};
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// Why a retraining produced no numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum RetrainError {
    /// The refit failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// A training index out of range.
    #[error("{}", self.said())]
    BadIndex {
        /// The index given.
        index: usize,
        /// Number of training points.
        n: usize,
    },
    /// A weight that is negative or not finite.
    #[error("{}", self.said())]
    BadWeight {
        /// The weight given.
        weight: f64,
    },
    /// The model to retrain never converged, so there is no optimum to refit from.
    #[error("{}", self.said())]
    BaseNotConverged {
        /// Scaled gradient at `θ̂`.
        grad_norm: f64,
    },
    /// A solve with the factorised Hessian failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Cancelled by the user.
    #[error("{}", self.said())]
    Cancelled,
    /// A retraining thread stopped unexpectedly (a bug, never bad input).
    #[error("{}", self.said())]
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

/// How many refits there were, how many converged, and the worst final gradient:
/// reported next to every actual (retrained) number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RefitStats {
    /// Refits run.
    pub n: usize,
    /// Refits that reached the tolerance.
    pub converged: usize,
    /// Largest final `‖∇R_w‖_∞` among them.
    pub max_grad_norm: f64,
}

impl RetrainError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::Fit(e) => e.said(),
            Self::Linalg(e) => e.said(),
            Self::BadIndex { index, n } => {
                Said::new(Text::ErrTrainingPointMissing).with("index", index).with("n", n)
            }
            Self::BadWeight { weight } => Said::new(Text::ErrBadWeight).with("weight", weight),
            Self::BaseNotConverged { grad_norm } => {
                Said::new(Text::ErrBaseNotConverged).with("g", format!("{grad_norm:.1e}"))
            }
            Self::Cancelled => Said::new(Text::ErrCancelled),
            Self::Internal => Said::new(Text::ErrInternalRetrain),
        }
    }
}

impl RefitStats {
    /// Count one refit.
    pub fn record(&mut self, converged: bool, grad_norm: f64) {
        self.n += 1;
        self.converged += usize::from(converged);
        self.max_grad_norm = self.max_grad_norm.max(grad_norm);
    }

    /// Count one [`Refit`].
    pub fn add(&mut self, r: &Refit) {
        self.record(r.converged, r.grad_norm);
    }

    /// The counts of many refits.
    pub fn of<'r>(refits: impl IntoIterator<Item = &'r Refit>) -> Self {
        let mut s = Self::default();
        refits.into_iter().for_each(|r| s.add(r));
        s
    }

    /// Whether every refit converged.
    pub fn all_converged(&self) -> bool {
        self.converged == self.n
    }

    /// Both counts together.
    pub fn merge(&mut self, other: &RefitStats) {
        self.n += other.n;
        self.converged += other.converged;
        self.max_grad_norm = self.max_grad_norm.max(other.max_grad_norm);
    }
}

impl RefitStats {
    /// How the refits went, in words.
    pub fn said(&self) -> Said {
        let g = format!("{:.1e}", self.max_grad_norm);
        if self.all_converged() {
            Said::new(Text::RefitsAllConverged).with("n", self.n).with("g", g)
        } else {
            Said::new(Text::RefitsSomeNot).with("k", self.n - self.converged).with("n", self.n).with("g", g)
        }
    }
}

impl std::fmt::Display for RefitStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.said().fmt(f)
    }
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
    /// The size of the gradient's terms at `θ̂` ([`Problem::gradient_scale`]).
    scale_hat: Vec<f64>,
    scale: Vec<f64>,
    /// Total weight of each class (empty for regression).
    class_weight: Vec<f64>,
}

/// Newton–CG steps of a network's refit before a full fit takes over.
const MAX_NEWTON_CG: usize = 30;

/// Preconditioned steps before a full Newton fit takes over.
const MAX_PRECONDITIONED: usize = 40;

impl<'a> Retrainer<'a> {
    /// A retrainer for `problem` fitted at `theta_hat`, whose Hessian `influence` holds;
    /// an error when `theta_hat` is not an optimum to the tolerance.
    pub fn new(
        problem: &Problem,
        theta_hat: &'a [f64],
        influence: &'a Influence,
        opts: FitOptions,
    ) -> Result<Self, RetrainError> {
        let p = problem.n_params();
        if theta_hat.len() != p {
            return Err(FitError::BadStart { found: theta_hat.len(), expected: p }.into());
        }
        let (mut grad_hat, mut scale_hat) = (vec![0.0; p], vec![0.0; p]);
        problem.gradient(theta_hat, &mut grad_hat);
        problem.gradient_scale(theta_hat, &mut scale_hat);
        let grad_norm = scaled_norm(&grad_hat, &scale_hat);
        let tol = problem.tolerance(opts.tol);
        if problem.early_stop().is_none() && (grad_norm.is_nan() || grad_norm >= tol) {
            return Err(RetrainError::BaseNotConverged { grad_norm });
        }
        let mut class_weight = vec![0.0; problem.model.classes()];
        for (&y, &w) in problem.train.y.iter().zip(&problem.weights) {
            if let Some(c) = class_weight.get_mut(y as usize) {
                *c += w;
            }
        }
        Ok(Self {
            class_weight,
            problem: problem.clone(),
            theta_hat,
            influence,
            opts,
            grad: grad_hat.clone(),
            grad_hat,
            scale: scale_hat.clone(),
            scale_hat,
        })
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
        let (grad, scale, emptied) = self.at_hat(changes, &saved);
        (self.grad, self.scale) = (grad, scale);
        let result = match self.problem.early_stop() {
            // The same budget of steps from the same initialisation, without the point.
            Some(steps) => fit(&self.problem, None, &self.opts)
                .map(|r| Refit { theta: r.theta, iterations: steps, grad_norm: r.grad_norm, converged: true })
                .map_err(RetrainError::from),
            None => self.iterate(precond),
        };
        let result = result.map(|r| Refit { converged: r.converged && !emptied, ..r });
        for &(i, w) in saved.iter().rev() {
            self.problem.weights[i] = w;
        }
        result
    }

    /// The gradient `∇R_w(θ̂)` and the scale of its terms after `changes` (index, new
    /// weight) of the weights `saved` (index, old weight), and whether a class is left
    /// without weight. At θ̂ they are known without a pass over the data:
    /// `∇R_w(θ̂) = ∇R(θ̂) + Σ (w_new − w_old)/n · g_i`, the scale the same way with
    /// `|g_i|`. A class left without weight has no optimum (its bias runs to −∞):
    /// however small the final gradient, such a refit is never reported as converged.
    fn at_hat(&self, changes: &[(usize, f64)], saved: &[(usize, f64)]) -> (Vec<f64>, Vec<f64>, bool) {
        let n_f = self.problem.n() as f64;
        let (mut grad, mut scale) = (self.grad_hat.clone(), self.scale_hat.clone());
        let mut emptied = false;
        for (&(i, w), &(_, old)) in changes.iter().zip(saved) {
            let g = self.influence.train_grads.row(i);
            grad.iter_mut().zip(g).for_each(|(a, gi)| *a += (w - old) / n_f * gi);
            scale.iter_mut().zip(g).for_each(|(a, gi)| *a = (*a + (w - old) / n_f * gi.abs()).max(0.0));
            if let Some(c) = self.class_weight.get(self.problem.train.y[i] as usize) {
                emptied |= c - old + w <= 0.0;
            }
        }
        (grad, scale, emptied)
    }

    /// For one changed weight of a single-output model: `(c, h = H⁻¹ x̃_i, 1 + c x̃_iᵀ h)`
    /// such that `M = H + c x̃_i x̃_iᵀ` is the Hessian's exact change at `θ̂`.
    fn rank_one_update(&self, changes: &[(usize, f64)]) -> Option<(f64, Vec<f64>, f64)> {
        let m = &self.problem.model;
        let [(i, w)] = changes else { return None };
        if m.k != 1 || m.net != crate::engine::model::Net::Linear {
            return None;
        }
        let x = self.problem.train.row(*i);
        let (mut z, mut dz, mut d2) = ([0.0], [0.0], [0.0]);
        m.outputs(self.theta_hat, x, &mut z);
        m.derivs(&z, self.problem.train.y[*i], &mut dz, Some(&mut d2));
        let c = (w - self.problem.weights[*i]) * d2[0] / self.problem.n() as f64;
        let xt: Vec<f64> = x.iter().copied().chain([1.0]).collect();
        let h = self.influence.refit_factor()?.solve(&xt).ok()?;
        let denom = 1.0 + c * xt.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
        (denom > 1e-8).then_some((c, h, denom))
    }

    /// The preconditioned iteration from `θ̂` ([`Iteration`]), each step's gradient a
    /// pass over the data with the weights as they are now; a full fit when it fails.
    fn iterate(&mut self, precond: Option<(f64, Vec<f64>, f64)>) -> Result<Refit, RetrainError> {
        let tol = self.problem.tolerance(self.opts.tol);
        let mut run = Iteration::new(self.theta_hat, self.grad.clone(), self.scale.clone(), precond);
        for it in 0..MAX_PRECONDITIONED {
            // The first step is always taken: θ̂ is the optimum of the old weights.
            if it > 0 {
                // The scale of the terms barely moves from θ̂: the one updated for the
                // new weights serves every step.
                self.problem.gradient(&run.theta, &mut run.grad);
                run.check(it, tol);
                if run.state != IterState::Running {
                    break;
                }
            }
            run.step(self)?;
        }
        self.finish(run)
    }

    /// The refit an [`Iteration`] ended with: its own when it converged, else (slow,
    /// not finite, or out of steps) a network's Newton–CG and then a full fit from
    /// where it got, with the weights as they are now.
    fn finish(&mut self, run: Iteration) -> Result<Refit, RetrainError> {
        if let IterState::Converged(refit) = run.state {
            return Ok(refit);
        }
        if self.problem.model.net != crate::engine::model::Net::Linear {
            if let Some(r) = self.newton_cg(run.theta.clone())? {
                return Ok(r);
            }
        }
        let report = fit(&self.problem, Some(&run.theta), &self.opts)?;
        Ok(Refit {
            theta: report.theta,
            iterations: MAX_PRECONDITIONED + report.iterations,
            grad_norm: report.grad_norm,
            converged: report.converged,
        })
    }

    /// Newton's method with exact Hessian-vector products, each step solved by
    /// conjugate gradient preconditioned with the factorised `H(θ̂)`: what a network's
    /// refit falls back on when the plain preconditioned iteration is slow (forming a
    /// network's Hessian costs P passes over the data; a product costs one). `None`
    /// when it does not converge either (then a full fit takes over).
    fn newton_cg(&mut self, mut theta: Vec<f64>) -> Result<Option<Refit>, RetrainError> {
        let factor =
            self.influence.refit_factor().ok_or(LinalgError::NotPositiveDefinite { damping: 0.0 })?;
        let tol = self.problem.tolerance(self.opts.tol);
        let p = theta.len();
        let mut trial_grad = vec![0.0; p];
        let mut value = self.problem.value_and_gradient(&theta, &mut self.grad);
        for it in 0..MAX_NEWTON_CG {
            if scaled_norm(&self.grad, &self.scale) < tol {
                let grad_norm = crate::engine::fit::inf_norm(&self.grad);
                return Ok(Some(Refit {
                    theta,
                    iterations: MAX_PRECONDITIONED + it,
                    grad_norm,
                    converged: true,
                }));
            }
            let minus_g: Vec<f64> = self.grad.iter().map(|g| -g).collect();
            let problem = &self.problem;
            let step = preconditioned_cg(|v, out| problem.hvp(&theta, v, out), factor, &minus_g, 1e-10, 50)?;
            let slope: f64 = step.iter().zip(&self.grad).map(|(s, g)| s * g).sum();
            let g_norm = crate::engine::fit::inf_norm(&self.grad);
            let mut t = 1.0;
            loop {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a + t * s).collect();
                let v = self.problem.value_and_gradient(&trial, &mut trial_grad);
                if crate::engine::fit::accept_step(
                    value,
                    v,
                    t,
                    slope,
                    g_norm,
                    crate::engine::fit::inf_norm(&trial_grad),
                ) {
                    theta = trial;
                    value = v;
                    std::mem::swap(&mut self.grad, &mut trial_grad);
                    break;
                }
                t *= 0.5;
                if t < 1e-10 {
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// `M⁻¹ v`, with the Sherman–Morrison correction when there is one.
    fn factor_solve(
        &self,
        v: &[f64],
        precond: &Option<(f64, Vec<f64>, f64)>,
    ) -> Result<Vec<f64>, LinalgError> {
        let factor = self
            .influence
            .refit_factor()
            .ok_or(LinalgError::NotPositiveDefinite { damping: self.influence.damping })?;
        let mut y = factor.solve(v)?;
        if let Some((c, h, denom)) = precond {
            let hv: f64 = h.iter().zip(v).map(|(a, b)| a * b).sum();
            let s = c * hv / denom;
            y.iter_mut().zip(h).for_each(|(yi, hi)| *yi -= s * hi);
        }
        Ok(y)
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
    /// honoured) after each block of points: [`LeaveEachOut`] run to the end.
    pub fn leave_each_out(&mut self, progress: &mut dyn Progress) -> Result<Vec<Refit>, RetrainError> {
        let mut job = LeaveEachOut::new(self.problem.n());
        // Blocks of about a tenth: few thread start-ups natively, and progress 10 times;
        // one block when nobody listens (each block starts the threads again: 16% of
        // breast cancer's leave-one-out on two cores).
        let block = if progress.listens() { (job.total() / 10).clamp(32, 1024) } else { job.total().max(1) };
        let mut out = Vec::with_capacity(job.total());
        while !job.is_finished() {
            out.extend(job.step(self, block)?);
            if !progress.report(job.done(), job.total()) {
                return Err(RetrainError::Cancelled);
            }
        }
        Ok(out)
    }

    /// Leave out every point of `start..end`, a [`LOO_GROUP`] at a time; natively the
    /// groups are shared among the machine's cores (each core a run of whole groups).
    #[cfg(not(target_arch = "wasm32"))]
    fn leave_out_range(&mut self, start: usize, end: usize) -> Result<Vec<Refit>, RetrainError> {
        let all = groups(start, end);
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(all.len());
        if threads <= 1 {
            return self.leave_out_groups(&all);
        }
        let per_thread = all.len().div_ceil(threads);
        let results: Vec<Result<Vec<Refit>, RetrainError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = all
                .chunks(per_thread)
                .map(|chunk| {
                    let mut worker = self.clone();
                    scope.spawn(move || worker.leave_out_groups(chunk))
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

    /// Leave out every point of `start..end`, a [`LOO_GROUP`] at a time.
    #[cfg(target_arch = "wasm32")]
    fn leave_out_range(&mut self, start: usize, end: usize) -> Result<Vec<Refit>, RetrainError> {
        self.leave_out_groups(&groups(start, end))
    }

    fn leave_out_groups(&mut self, groups: &[std::ops::Range<usize>]) -> Result<Vec<Refit>, RetrainError> {
        let mut out = Vec::new();
        for g in groups {
            out.extend(self.leave_out_group(g.clone())?);
        }
        Ok(out)
    }

    /// Whether leave-one-out refits [`LOO_GROUP`] points in lockstep (a single-output
    /// linear model) rather than one at a time.
    pub fn batches(&self) -> bool {
        let m = &self.problem.model;
        m.k == 1 && m.net == crate::engine::model::Net::Linear && self.problem.early_stop().is_none()
    }

    /// Leave out each point of `group` in its own refit. A single-output linear model's
    /// refits run in lockstep, their gradients as two matrix products for the whole
    /// group ([`Problem::gradients_leaving_out`]); each refit otherwise follows
    /// [`Retrainer::refit`] step for step (the same preconditioner, tests and
    /// fallback). Any other model refits one point at a time.
    fn leave_out_group(&mut self, group: std::ops::Range<usize>) -> Result<Vec<Refit>, RetrainError> {
        if !self.batches() || group.end > self.problem.n() {
            return group.map(|i| self.leave_out(i)).collect();
        }
        let p = self.problem.n_params();
        let tol = self.problem.tolerance(self.opts.tol);
        // Per point: its index, whether it empties its class, and its iteration, started
        // as `refit` starts it.
        let mut refits: Vec<(usize, bool, Iteration)> = group
            .map(|i| {
                let removal = [(i, 0.0)];
                let (grad, scale, emptied) = self.at_hat(&removal, &[(i, self.problem.weights[i])]);
                (i, emptied, Iteration::new(self.theta_hat, grad, scale, self.rank_one_update(&removal)))
            })
            .collect();
        let mut grads = ndarray::Array2::<f64>::zeros((p, 0));
        for it in 0..MAX_PRECONDITIONED {
            let running: Vec<usize> =
                (0..refits.len()).filter(|&k| refits[k].2.state == IterState::Running).collect();
            if running.is_empty() {
                break;
            }
            // The first step is always taken: θ̂ is the optimum of the old weights.
            if it > 0 {
                let thetas = ndarray::Array2::from_shape_fn((p, running.len()), |(q, j)| {
                    refits[running[j]].2.theta[q]
                });
                let left_out: Vec<usize> = running.iter().map(|&k| refits[k].0).collect();
                if grads.ncols() != running.len() {
                    grads = ndarray::Array2::zeros((p, running.len()));
                }
                if !self.problem.gradients_leaving_out(&thetas.view(), &left_out, &mut grads) {
                    return Err(RetrainError::Internal);
                }
                for (j, &k) in running.iter().enumerate() {
                    let run = &mut refits[k].2;
                    run.grad.iter_mut().zip(grads.column(j)).for_each(|(a, b)| *a = *b);
                    run.check(it, tol);
                }
            }
            for (_, _, run) in refits.iter_mut().filter(|r| r.2.state == IterState::Running) {
                run.step(self)?;
            }
        }
        refits
            .into_iter()
            .map(|(i, emptied, run)| {
                let old = std::mem::replace(&mut self.problem.weights[i], 0.0);
                let refit = self.finish(run);
                self.problem.weights[i] = old;
                // As in `refit`: a refit that empties a class never counts as converged.
                refit.map(|r| Refit { converged: r.converged && !emptied, ..r })
            })
            .collect()
    }
}

/// Points left out together by the leave-one-out of a retrainer that
/// [batches](Retrainer::batches), in groups fixed by absolute index
/// (`k·LOO_GROUP .. (k+1)·LOO_GROUP`): every way of running a
/// leave-one-out (the CLI's one block, the worker's time slices, the pool's shares,
/// the native threads) runs the same groups, so a refit's last bits never depend on
/// how the job was split.
pub const LOO_GROUP: usize = 8;

/// `start..end` cut at the multiples of [`LOO_GROUP`].
fn groups(start: usize, end: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut lo = start;
    while lo < end {
        let hi = ((lo / LOO_GROUP + 1) * LOO_GROUP).min(end);
        out.push(lo..hi);
        lo = hi;
    }
    out
}

/// Where one refit's preconditioned iteration stands.
#[derive(Debug, Clone, PartialEq)]
enum IterState {
    /// Still iterating.
    Running,
    /// Reached the tolerance.
    Converged(Refit),
    /// Slow or not finite: a full fit takes over ([`Retrainer::finish`]).
    FallBack,
}

/// One refit's preconditioned iteration `θ ← θ − M⁻¹ ∇R_w(θ)` from `θ̂`: run alone by
/// [`Retrainer::iterate`], or in a lockstep group by the leave-one-out, which computes
/// the gradients of the whole group at once.
struct Iteration {
    theta: Vec<f64>,
    /// `∇R_w(θ)` at the current `θ` (at `θ̂`: from the change of weights, no pass).
    grad: Vec<f64>,
    /// The size of the gradient's terms (for the relative test), fixed at `θ̂`'s.
    scale: Vec<f64>,
    /// The Sherman–Morrison correction of `H(θ̂)`, when there is one.
    precond: Option<(f64, Vec<f64>, f64)>,
    last: f64,
    slow: usize,
    state: IterState,
}

impl Iteration {
    fn new(
        theta_hat: &[f64],
        grad: Vec<f64>,
        scale: Vec<f64>,
        precond: Option<(f64, Vec<f64>, f64)>,
    ) -> Self {
        let theta = theta_hat.to_vec();
        Self { theta, grad, scale, precond, last: f64::INFINITY, slow: 0, state: IterState::Running }
    }

    /// The tests at step `it` on the gradient just computed: converged, or fall back
    /// when not finite or when the linear rate is poor (large reweighting, far optimum).
    fn check(&mut self, it: usize, tol: f64) {
        let scaled = scaled_norm(&self.grad, &self.scale);
        if !scaled.is_finite() {
            self.state = IterState::FallBack;
            return;
        }
        if scaled < tol {
            let grad_norm = crate::engine::fit::inf_norm(&self.grad);
            let theta = std::mem::take(&mut self.theta);
            self.state = IterState::Converged(Refit { theta, iterations: it, grad_norm, converged: true });
            return;
        }
        self.slow = if scaled > 0.5 * self.last { self.slow + 1 } else { 0 };
        if self.slow >= 2 {
            self.state = IterState::FallBack;
        }
        self.last = scaled;
    }

    /// `θ ← θ − M⁻¹ ∇R_w(θ)`.
    fn step(&mut self, r: &Retrainer) -> Result<(), LinalgError> {
        let step = r.factor_solve(&self.grad, &self.precond)?;
        self.theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= s);
        Ok(())
    }
}

/// Leave-one-out of every training point, a block at a time, so that the caller can
/// report progress, read its messages and cancel between blocks: the CLI runs the
/// blocks back to back ([`Retrainer::leave_each_out`]), the worker one per time slice.
/// Natively a block is shared among the machine's cores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveEachOut {
    start: usize,
    next: usize,
    end: usize,
}

impl LeaveEachOut {
    /// Leave-one-out of `n` training points, none done yet.
    pub fn new(n: usize) -> Self {
        Self::range(0, n)
    }

    /// Leave-one-out of the points `start..end` only (one worker's block of a job shared
    /// among several).
    pub fn range(start: usize, end: usize) -> Self {
        Self { start, next: start, end: end.max(start) }
    }

    /// Points done.
    pub fn done(&self) -> usize {
        self.next - self.start
    }

    /// Points in all.
    pub fn total(&self) -> usize {
        self.end - self.start
    }

    /// The point left out next.
    pub fn next_point(&self) -> usize {
        self.next
    }

    /// Whether every point has been left out.
    pub fn is_finished(&self) -> bool {
        self.next >= self.end
    }

    /// Refit without each of the next `count` points (at least one), in order; when the
    /// retrainer refits in groups, on to the end of the group the last one is in (so
    /// that every split of the job runs the same groups).
    pub fn step(&mut self, retrainer: &mut Retrainer, count: usize) -> Result<Vec<Refit>, RetrainError> {
        let unit = if retrainer.batches() { LOO_GROUP } else { 1 };
        let end = (self.next + count.max(1)).div_ceil(unit).saturating_mul(unit).min(self.end);
        let out = retrainer.leave_out_range(self.next, end)?;
        self.next = end;
        Ok(out)
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
    if let Some(changes) = linear_actual_changes(problem, theta_hat, refits, test) {
        return changes;
    }
    // One forward pass per (refit, test point) gives both the loss and the prediction.
    let (mut work, mut df) = (m.work(), vec![0.0; m.k]);
    let mut loss_and_f = |theta: &[f64], x: &[f64], y: f64| {
        let z = m.forward(theta, x, &mut work);
        (m.loss_at(z, y), m.f_and_df(z, y, &mut df))
    };
    let (mut dloss, mut dpred) = (Vec::with_capacity(test.n()), Vec::with_capacity(test.n()));
    for t in 0..test.n() {
        let (x, y) = (test.row(t), test.y[t]);
        let (l0, f0) = loss_and_f(theta_hat, x, y);
        let (dl, dp): (Vec<f64>, Vec<f64>) = refits
            .iter()
            .map(|r| {
                let (l, f) = loss_and_f(&r.theta, x, y);
                (l - l0, f - f0)
            })
            .unzip();
        dloss.push(dl);
        dpred.push(dp);
    }
    ActualChanges { dloss, dpred }
}

/// [`actual_changes`] of a single-output linear model: every (test point, refit)
/// output `z` in one matrix product `X_test W` (`W`: `θ̂` and every refit, one per
/// column) instead of a dot product each; the loss and prediction then follow from
/// `z` as in a forward pass (the same values up to rounding). `None` for other models.
fn linear_actual_changes(
    problem: &Problem,
    theta_hat: &[f64],
    refits: &[Refit],
    test: &Design,
) -> Option<ActualChanges> {
    let m = &problem.model;
    let (d, p) = (m.d, m.n_params());
    let x = test.matrix()?;
    let fits = || std::iter::once(theta_hat).chain(refits.iter().map(|r| r.theta.as_slice()));
    if m.k != 1
        || m.net != crate::engine::model::Net::Linear
        || x.ncols() != d
        || fits().any(|t| t.len() != p)
    {
        return None;
    }
    let cols = refits.len() + 1;
    let mut w = ndarray::Array2::<f64>::zeros((d, cols));
    for (j, theta) in fits().enumerate() {
        w.column_mut(j).iter_mut().zip(theta).for_each(|(a, b)| *a = *b);
    }
    let mut z = ndarray::Array2::<f64>::zeros((test.n(), cols));
    crate::engine::linalg::mat_mul(1.0, &x, &w.view(), false, &mut z.view_mut());
    let bias: Vec<f64> = fits().map(|t| t[d]).collect();
    let mut df = [0.0];
    let mut loss_and_f = |z: f64, y: f64| (m.loss_at(&[z], y), m.f_and_df(&[z], y, &mut df));
    let (mut dloss, mut dpred) = (Vec::with_capacity(test.n()), Vec::with_capacity(test.n()));
    for (row, &y) in z.rows().into_iter().zip(&test.y) {
        let (l0, f0) = loss_and_f(row[0] + bias[0], y);
        let (dl, dp): (Vec<f64>, Vec<f64>) = row
            .iter()
            .zip(&bias)
            .skip(1)
            .map(|(z, b)| {
                let (l, f) = loss_and_f(z + b, y);
                (l - l0, f - f0)
            })
            .unzip();
        dloss.push(dl);
        dpred.push(dp);
    }
    Some(ActualChanges { dloss, dpred })
}
