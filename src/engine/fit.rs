//! Fitting by Newton's method with the exact Hessian and Armijo backtracking, the
//! reference method of the conventions.
//!
//! **Stopping.** The conventions ask for `‖∇R‖_∞ < 1e-10`. Each gradient entry is a
//! sum of terms whose rounding error grows with their size, so the test is made
//! relative to that size: stop when `max_p |∂R/∂θ_p| / max(1, s_p) < tol`, where
//! `s_p` is the summed magnitude of the terms of `∂R/∂θ_p`
//! ([`Problem::gradient_scale`]). On standardised data `s_p ≲ 1` and this is the
//! absolute 1e-10; on raw features near 1e5 it is the same relative accuracy instead
//! of an unreachable absolute one.
//!
//! **Steps.** Each step solves `H p = −∇R` with [`Factor`] (for softmax the step lies
//! in the complement of the null directions, and `θ` is reported in the gauge of the
//! conventions). A step is accepted when `R` decreases by the Armijo amount, or, near
//! the optimum where rounding hides the decrease, when `R` does not rise beyond
//! rounding and the gradient shrinks ([`accept_step`]). When `H` cannot be factorised
//! (λ = 0 on separable data), the step is damped Levenberg–Marquardt style and the
//! report says so.
//!
//! **Networks** start (from their seeded initialisation, or a warm start) with L-BFGS (memory 10,
//! Armijo backtracking; Nocedal & Wright 2006, Alg. 7.5), cheap per step, until the
//! scaled gradient is below 1e-5; Newton with the exact Hessian (damped while it is
//! indefinite, Levenberg–Marquardt style) then finishes to the tolerance in a few
//! steps. Deterministic: the same seed gives the same θ̂.
//!
//! **Large training sets.** With at least [`SAMPLED_FROM`] rows (by default), a linear model's steps
//! take the Hessian of every k-th row (about [`SAMPLED_ROWS`] of them) while the scaled
//! gradient is above [`SAMPLED_UNTIL`]: far from the optimum it steers about as well as
//! the full one (subsampled Newton; Byrd, Chin, Neveitt & Nocedal 2011), at a fraction
//! of its cost (the Hessian was 70% of fitting 40,000 rows in the browser). The steps
//! after it use the full Hessian, so the last converge quadratically, and the stopping
//! test is always on the full gradient: the optimum is the same.
//!
//! **Polishing.** Once converged, up to [`POLISH_STEPS`] more Newton steps are taken
//! while they shrink the gradient: every actual leave-one-out change is measured from
//! `θ̂`, so a residual gradient at `θ̂` would shift all of them.
//!
//! **Progress** ([`fit_watched`]): how far the scaled gradient has come, on a log
//! scale, from its first value to the tolerance ([`Headway`]), never moving back; an
//! early-stopped network reports its steps done instead. Newton's iterations count is
//! not known in advance, so this is the honest measure a progress bar can show.

use crate::engine::linalg::{Check, Factor, LinalgError};
use crate::engine::model::problem::{scaled_norm, Problem};
use crate::engine::model::{ModelKind, Net};
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// Training rows from which Newton's first steps take a sampled Hessian.
pub const SAMPLED_FROM: usize = 16_384;
/// About how many rows that Hessian is taken over.
pub const SAMPLED_ROWS: usize = 4_096;
/// The scaled gradient below which the full Hessian takes over.
pub const SAMPLED_UNTIL: f64 = 1e-4;

/// Options of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Stop when the scaled gradient ([`scaled_norm`]) is below this.
    pub tol: f64,
    /// Most Newton iterations.
    pub max_iter: usize,
    /// Training rows from which the first steps take a sampled Hessian (module doc);
    /// `usize::MAX` for the full Hessian at every step.
    #[serde(default = "sampled_from")]
    pub sampled_from: usize,
}

fn sampled_from() -> usize {
    SAMPLED_FROM
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { tol: 1e-10, max_iter: 200, sampled_from: SAMPLED_FROM }
    }
}

/// Something the user should know about a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FitWarning {
    /// The gradient did not reach the tolerance.
    NotConverged {
        /// Iterations run.
        iterations: usize,
        /// Final `‖∇R‖_∞`.
        grad_norm: f64,
    },
    /// The Hessian was not positive definite on the way, so steps were damped.
    DampedSteps {
        /// Largest damping used.
        damping: f64,
    },
    /// λ is (nearly) 0 and every training point is classified with near certainty:
    /// the classes are separable, the weights grow as λ shrinks, and influence
    /// describes the regulariser more than the data.
    Separable {
        /// Largest training loss.
        max_loss: f64,
        /// The λ used.
        lambda: f64,
    },
    /// The parameters grew very large: the data are probably separable and λ too small.
    Diverging {
        /// Largest parameter magnitude.
        max_abs: f64,
    },
    /// A network trained for a budget of gradient steps, not to a minimum.
    EarlyStopped {
        /// The budget.
        steps: usize,
        /// `‖∇R‖_∞` where it stopped.
        grad_norm: f64,
    },
}

impl FitWarning {
    /// The warning in words.
    pub fn said(&self) -> Said {
        match *self {
            FitWarning::NotConverged { iterations, grad_norm } => {
                Said::new(Text::WarnNotConverged).with("n", iterations).with("g", format!("{grad_norm:.2e}"))
            }
            FitWarning::DampedSteps { damping } => {
                Said::new(Text::WarnDampedSteps).with("d", format!("{damping:.1e}"))
            }
            FitWarning::Separable { max_loss, lambda } => Said::new(Text::WarnSeparable)
                .with("lambda", format!("{lambda:.0e}"))
                .with("loss", format!("{max_loss:.1e}")),
            FitWarning::Diverging { max_abs } => {
                Said::new(Text::WarnDiverging).with("w", format!("{max_abs:.1e}"))
            }
            FitWarning::EarlyStopped { steps, grad_norm } => {
                Said::new(Text::WarnEarlyStopped).with("steps", steps).with("g", format!("{grad_norm:.1e}"))
            }
        }
    }
}

impl std::fmt::Display for FitWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.said().fmt(f)
    }
}

/// The outcome of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Fitted parameters `θ̂`.
    pub theta: Vec<f64>,
    /// Newton iterations run (polishing steps included).
    pub iterations: usize,
    /// Final `‖∇R(θ̂)‖_∞`.
    pub grad_norm: f64,
    /// Final gradient relative to the size of its terms ([`scaled_norm`]).
    pub scaled_grad_norm: f64,
    /// Whether `scaled_grad_norm < tol`.
    pub converged: bool,
    /// Final objective `R(θ̂)`.
    pub objective: f64,
    /// Warnings in plain words (see [`FitWarning`]).
    pub warnings: Vec<FitWarning>,
}

/// A fit that could not produce numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FitError {
    /// The objective or gradient became NaN or infinite.
    NonFinite,
    /// The Hessian stayed indefinite or singular even with the largest damping tried.
    NotPositiveDefinite {
        /// The largest damping tried.
        damping: f64,
    },
    /// A warm start of the wrong length.
    BadStart {
        /// Entries given.
        found: usize,
        /// Entries expected.
        expected: usize,
    },
}

impl FitError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::NonFinite => Said::new(Text::ErrFitNonFinite),
            Self::NotPositiveDefinite { damping } => {
                Said::new(Text::ErrFitNotPositiveDefinite).with("damping", format!("{damping:.1e}"))
            }
            Self::BadStart { found, expected } => {
                Said::new(Text::ErrFitBadStart).with("found", found).with("expected", expected)
            }
        }
    }
}

crate::said_error!(FitError);

/// Largest parameter magnitude before [`FitWarning::Diverging`] is raised.
const DIVERGING: f64 = 1e6;
/// A largest training loss below this means every point has probability above 0.999
/// for its label.
const SEPARABLE_LOSS: f64 = 1e-3;
/// Below this λ, perfectly separated classes get [`FitWarning::Separable`].
pub const SEPARABLE_LAMBDA: f64 = 1e-3;
/// Extra Newton steps after convergence, while they shrink the gradient.
pub const POLISH_STEPS: usize = 3;

/// `‖v‖_∞`.
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Whether a trial point is accepted: `R` fell by the Armijo amount
/// (`R_new ≤ R + 1e-4 · t · slope`), or `R` did not rise by more than rounding
/// (1e-13 relative) and the gradient shrank. A rise of `R` beyond rounding is never
/// accepted, however much the gradient shrinks.
pub fn accept_step(value: f64, new_value: f64, t: f64, slope: f64, grad: f64, new_grad: f64) -> bool {
    if !new_value.is_finite() {
        return false;
    }
    let armijo = new_value <= value + 1e-4 * t * slope;
    let flat = new_value <= value + 1e-13 * value.abs().max(f64::MIN_POSITIVE);
    armijo || (flat && new_grad < grad)
}

/// Minimise `R` from `start` (the model's initial parameters when `None`: zeros for a
/// linear model, the seeded initialisation for a network). An early-stopped network
/// started from its initialisation runs its budget of gradient steps instead
/// ([`gradient_descent`]).
pub fn fit(problem: &Problem, start: Option<&[f64]>, opts: &FitOptions) -> Result<FitReport, FitError> {
    fit_watched(problem, start, opts, &mut |_| {})
}

/// How far a fit has come, from 0 to 1, judged by its scaled gradient: the share of the
/// way from the first gradient to the tolerance on a log scale, never moving back.
#[derive(Debug, Clone, Copy)]
pub struct Headway {
    tol: f64,
    first: Option<f64>,
    best: f64,
}

impl Headway {
    /// Headway towards a scaled gradient below `tol`.
    pub fn towards(tol: f64) -> Self {
        Self { tol, first: None, best: 0.0 }
    }

    /// The headway once the scaled gradient is `g` (the first call sets the start).
    pub fn at(&mut self, g: f64) -> f64 {
        let first = *self.first.get_or_insert(g);
        let span = (first / self.tol).ln();
        let now = if !g.is_finite() {
            0.0
        } else if g < self.tol || span <= 0.0 {
            1.0
        } else {
            ((first / g).ln() / span).clamp(0.0, 1.0)
        };
        self.best = self.best.max(now);
        self.best
    }
}

/// [`fit`], telling `watch` its headway (0 to 1) after each step.
pub fn fit_watched(
    problem: &Problem,
    start: Option<&[f64]>,
    opts: &FitOptions,
    watch: &mut dyn FnMut(f64),
) -> Result<FitReport, FitError> {
    let p = problem.n_params();
    if let (None, Some(steps)) = (start, problem.early_stop()) {
        return gradient_descent(problem, steps, watch);
    }
    let tol = problem.tolerance(opts.tol);
    let mut headway = Headway::towards(tol);
    let mut on_gradient = |g: f64| watch(headway.at(g));
    let mut theta = match start {
        Some(s) if s.len() != p => return Err(FitError::BadStart { found: s.len(), expected: p }),
        Some(s) if problem.model.net != Net::Linear => {
            lbfgs(problem, s.to_vec(), 1e-5, 5000, &mut on_gradient)?
        }
        Some(s) => s.to_vec(),
        None if problem.model.net != Net::Linear => {
            lbfgs(problem, problem.model.initial_theta(), 1e-5, 5000, &mut on_gradient)?
        }
        None => problem.model.initial_theta(),
    };
    problem.fix_gauge(&mut theta);
    let null = problem.null_directions();
    let (mut grad, mut trial, mut trial_grad, mut scale, mut trial_scale) =
        (vec![0.0; p], vec![0.0; p], vec![0.0; p], vec![0.0; p], vec![0.0; p]);
    let mut value = problem.value_gradient_and_scale(&theta, &mut grad, &mut scale);
    let mut max_damping: f64 = 0.0;
    let sampled = match problem.model.net {
        Net::Linear if problem.n() >= opts.sampled_from => problem.every_kth_row(problem.n() / SAMPLED_ROWS),
        _ => None,
    };
    let (mut iterations, mut polish) = (0, 0);
    let mut last_factor: Option<Factor> = None;
    loop {
        if !value.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(FitError::NonFinite);
        }
        let scaled = scaled_norm(&grad, &scale);
        on_gradient(scaled);
        if scaled < tol {
            if polish == POLISH_STEPS {
                break;
            }
            polish += 1;
        }
        if iterations >= opts.max_iter + polish {
            break;
        }
        // Polishing steps reuse the last factorised Hessian (it barely changes this close
        // to the optimum), which saves a Hessian per step for a network.
        let factor = match (last_factor.take(), &sampled) {
            (Some(f), _) if polish > 0 => f,
            // Damping a sample's Hessian says nothing about the fit: not reported.
            (_, Some(sample)) if scaled >= SAMPLED_UNTIL => {
                factor_with_damping(&sample.hessian(&theta), &null, &mut 0.0)?
            }
            _ => factor_with_damping(&problem.hessian(&theta), &null, &mut max_damping)?,
        };
        let mut step: Vec<f64> = grad.iter().map(|g| -g).collect();
        factor.solve_in_place(&mut step).map_err(|_| FitError::NonFinite)?;
        let slope: f64 = step.iter().zip(&grad).map(|(s, g)| s * g).sum();
        let g_norm = inf_norm(&grad);
        let mut t = 1.0;
        let accepted = loop {
            for q in 0..p {
                trial[q] = theta[q] + t * step[q];
            }
            let v = problem.value_gradient_and_scale(&trial, &mut trial_grad, &mut trial_scale);
            if accept_step(value, v, t, slope, g_norm, inf_norm(&trial_grad)) {
                value = v;
                break true;
            }
            t *= 0.5;
            if t < 1e-12 || polish > 0 {
                break false; // polishing takes full steps only
            }
        };
        last_factor = Some(factor);
        if !accepted {
            break;
        }
        iterations += 1;
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
        std::mem::swap(&mut scale, &mut trial_scale);
    }
    // `grad` and `scale` are those of `theta` (the last accepted point); only a
    // softmax's gauge moves it again.
    let fitted = theta.clone();
    problem.fix_gauge(&mut theta);
    if theta != fitted {
        problem.gradient(&theta, &mut grad);
        problem.gradient_scale(&theta, &mut scale);
    }
    let grad_norm = inf_norm(&grad);
    let scaled_grad_norm = scaled_norm(&grad, &scale);
    let converged = scaled_grad_norm < tol;
    let warnings = warnings(problem, &theta, converged, iterations, grad_norm, max_damping);
    Ok(FitReport { theta, iterations, grad_norm, scaled_grad_norm, converged, objective: value, warnings })
}

fn warnings(
    problem: &Problem,
    theta: &[f64],
    converged: bool,
    iterations: usize,
    grad_norm: f64,
    max_damping: f64,
) -> Vec<FitWarning> {
    let mut warnings = Vec::new();
    if !converged {
        warnings.push(FitWarning::NotConverged { iterations, grad_norm });
    }
    if max_damping > 0.0 {
        warnings.push(FitWarning::DampedSteps { damping: max_damping });
    }
    if problem.lambda < SEPARABLE_LAMBDA && problem.model.kind != ModelKind::Linear {
        let max_loss = problem
            .losses(theta, &problem.train)
            .iter()
            .zip(&problem.weights)
            .filter(|(_, w)| **w > 0.0)
            .fold(0.0f64, |m, (l, _)| m.max(*l));
        if max_loss < SEPARABLE_LOSS {
            warnings.push(FitWarning::Separable { max_loss, lambda: problem.lambda });
        }
    }
    let max_abs = inf_norm(theta);
    if max_abs > DIVERGING {
        warnings.push(FitWarning::Diverging { max_abs });
    }
    warnings
}

/// L-BFGS from `theta` until the scaled gradient is below `tol` or `max_iter` steps:
/// the cheap first phase of training a network. `on_gradient` sees the scaled
/// gradient before each step.
pub fn lbfgs(
    problem: &Problem,
    mut theta: Vec<f64>,
    tol: f64,
    max_iter: usize,
    on_gradient: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, FitError> {
    const MEMORY: usize = 10;
    let p = problem.n_params();
    let (mut grad, mut scale) = (vec![0.0; p], vec![0.0; p]);
    let (mut trial, mut trial_grad, mut trial_scale) = (vec![0.0; p], vec![0.0; p], vec![0.0; p]);
    let mut value = problem.value_gradient_and_scale(&theta, &mut grad, &mut scale);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let dot = crate::engine::model::dot;
    for _ in 0..max_iter {
        if !value.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(FitError::NonFinite);
        }
        let scaled = scaled_norm(&grad, &scale);
        on_gradient(scaled);
        if scaled < tol {
            break;
        }
        // Two-loop recursion: d = −H_k ∇R.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, y, _)) = history.back() {
            let gamma = dot(s, y) / dot(y, y).max(f64::MIN_POSITIVE);
            q.iter_mut().for_each(|qi| *qi *= gamma);
        }
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&dir, &grad);
        if slope >= 0.0 {
            // Not a descent direction (curvature pairs gone stale): steepest descent.
            history.clear();
            dir = grad.iter().map(|g| -g).collect();
            slope = -dot(&grad, &grad);
        }
        let mut t = if history.is_empty() { 1.0 / inf_norm(&grad).max(1.0) } else { 1.0 };
        loop {
            trial.iter_mut().zip(theta.iter().zip(&dir)).for_each(|(x, (t0, d))| *x = t0 + t * d);
            let v = problem.value_gradient_and_scale(&trial, &mut trial_grad, &mut trial_scale);
            if v.is_finite() && v <= value + 1e-4 * t * slope {
                value = v;
                break;
            }
            t *= 0.5;
            if t < 1e-16 {
                return Ok(theta); // no progress possible: Newton takes over
            }
        }
        let s_k: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y_k: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s_k, &y_k);
        if sy > 1e-12 * dot(&s_k, &s_k).sqrt() * dot(&y_k, &y_k).sqrt() {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s_k, y_k, 1.0 / sy));
        }
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
        std::mem::swap(&mut scale, &mut trial_scale);
    }
    Ok(theta)
}

/// Full-batch gradient descent from the initialisation for `steps` steps of
/// `η = 1/|λ_max(H(θ_0))|` (the early-stopped training of a network). Deterministic:
/// the same problem gives the same θ̂, and so does a refit with changed weights.
/// `watch` sees the share of steps done.
pub fn gradient_descent(
    problem: &Problem,
    steps: usize,
    watch: &mut dyn FnMut(f64),
) -> Result<FitReport, FitError> {
    let p = problem.n_params();
    let mut theta = problem.model.initial_theta();
    let lr = 1.0
        / crate::engine::methods::ihvp::largest_eigenvalue(problem, &theta, 0.0, 0)
            .abs()
            .max(f64::MIN_POSITIVE);
    let mut grad = vec![0.0; p];
    for step in 0..steps {
        problem.gradient(&theta, &mut grad);
        if grad.iter().any(|g| !g.is_finite()) {
            return Err(FitError::NonFinite);
        }
        theta.iter_mut().zip(&grad).for_each(|(t, g)| *t -= lr * g);
        watch((step + 1) as f64 / steps as f64);
    }
    problem.fix_gauge(&mut theta);
    problem.gradient(&theta, &mut grad);
    let mut scale = vec![0.0; p];
    problem.gradient_scale(&theta, &mut scale);
    let grad_norm = inf_norm(&grad);
    let objective = problem.objective(&theta);
    if !objective.is_finite() {
        return Err(FitError::NonFinite);
    }
    Ok(FitReport {
        iterations: steps,
        grad_norm,
        scaled_grad_norm: scaled_norm(&grad, &scale),
        converged: false,
        objective,
        warnings: vec![FitWarning::EarlyStopped { steps, grad_norm }],
        theta,
    })
}

/// Factorise `H`, adding damping (1e-10 of the mean diagonal, ×100 per try) when it is
/// not positive definite; records the damping used.
fn factor_with_damping(
    h: &ndarray::Array2<f64>,
    null: &[Vec<f64>],
    max_damping: &mut f64,
) -> Result<Factor, FitError> {
    let p = h.nrows().max(1);
    let scale = ((0..h.nrows()).map(|i| h[[i, i]].abs()).sum::<f64>() / p as f64).max(1e-300);
    let mut damping = 0.0;
    loop {
        match Factor::with_check(h, damping, null, Check::Pivots) {
            Ok(f) => {
                *max_damping = max_damping.max(damping);
                return Ok(f);
            }
            Err(LinalgError::NonFinite) => return Err(FitError::NonFinite),
            Err(_) if damping < scale * 1e6 => {
                damping = if damping == 0.0 { scale * 1e-10 } else { damping * 100.0 };
            }
            Err(_) => return Err(FitError::NotPositiveDefinite { damping: damping / scale }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Headway;

    #[test]
    fn headway_runs_from_the_first_gradient_to_the_tolerance_on_a_log_scale_forward_only() {
        let mut h = Headway::towards(1e-10);
        assert_eq!(h.at(1.0), 0.0, "the first gradient is the start");
        assert!((h.at(1e-5) - 0.5).abs() < 1e-12, "half the orders of magnitude: half way");
        assert!((h.at(1e-3) - 0.5).abs() < 1e-12, "a gradient that grows again does not move it back");
        assert!((h.at(f64::NAN) - 0.5).abs() < 1e-12, "nor does a non-finite one");
        assert_eq!(h.at(1e-11), 1.0, "below the tolerance: done");
        let mut already = Headway::towards(1e-10);
        assert_eq!(already.at(1e-12), 1.0, "a start below the tolerance is done at once");
    }
}
