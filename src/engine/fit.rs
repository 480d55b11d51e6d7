//! Fitting by Newton's method with the exact Hessian and Armijo backtracking, the
//! reference method of the conventions: stop when `‖∇R‖_∞ < tol` (1e-10 by default).
//!
//! Each step solves `H p = −∇R` with [`Factor`] (for softmax the step lies in the
//! gauge complement, and `θ` is reported in the gauge `Σ_k b_k = 0`). When `H` cannot
//! be factorised (λ = 0 on separable data), the step is damped Levenberg–Marquardt
//! style and the report says so.

use crate::engine::linalg::{Factor, LinalgError};
use crate::engine::model::problem::Problem;
use crate::engine::model::ModelKind;
use serde::{Deserialize, Serialize};

/// Options of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Stop when the largest gradient entry is below this.
    pub tol: f64,
    /// Most Newton iterations.
    pub max_iter: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { tol: 1e-10, max_iter: 100 }
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
    /// λ = 0 and every training point is classified with near certainty: the classes
    /// are separable, the optimum is at infinity, and influence is not meaningful.
    Separable {
        /// Largest training loss.
        max_loss: f64,
    },
    /// The parameters grew very large: the data are probably separable and λ too small.
    Diverging {
        /// Largest parameter magnitude.
        max_abs: f64,
    },
}

impl std::fmt::Display for FitWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitWarning::NotConverged { iterations, grad_norm } => write!(
                f,
                "training stopped after {iterations} Newton steps with gradient {grad_norm:.2e}, above the tolerance: the numbers are approximate"
            ),
            FitWarning::DampedSteps { damping } => write!(
                f,
                "the Hessian was not positive definite during training (damping up to {damping:.1e} was needed); consider more L2 regularisation"
            ),
            FitWarning::Separable { max_loss } => write!(
                f,
                "the classes are perfectly separable and λ = 0 (largest training loss {max_loss:.1e}): the weights grow without bound, so influence is not meaningful; add L2 regularisation"
            ),
            FitWarning::Diverging { max_abs } => write!(
                f,
                "weights grew to {max_abs:.1e}: the classes are probably separable and need L2 regularisation"
            ),
        }
    }
}

/// The outcome of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Fitted parameters `θ̂`.
    pub theta: Vec<f64>,
    /// Newton iterations run.
    pub iterations: usize,
    /// Final `‖∇R(θ̂)‖_∞`.
    pub grad_norm: f64,
    /// Whether `grad_norm < tol`.
    pub converged: bool,
    /// Final objective `R(θ̂)`.
    pub objective: f64,
    /// Warnings in plain words (see [`FitWarning`]).
    pub warnings: Vec<FitWarning>,
}

/// A fit that could not produce numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum FitError {
    /// The objective or gradient became NaN or infinite.
    #[error(
        "the training objective became NaN or infinite (are the features extremely large? try standardising)"
    )]
    NonFinite,
    /// A warm start of the wrong length.
    #[error("the starting parameters have {found} entries; the model has {expected}")]
    BadStart {
        /// Entries given.
        found: usize,
        /// Entries expected.
        expected: usize,
    },
}

/// Largest parameter magnitude before [`FitWarning::Diverging`] is raised.
const DIVERGING: f64 = 1e6;
/// With λ = 0, a largest training loss below this means the classes are separated
/// (every point has probability above 0.999 for its label).
const SEPARABLE_LOSS: f64 = 1e-3;

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimise `R` from `start` (zeros when `None`).
pub fn fit(problem: &Problem, start: Option<&[f64]>, opts: &FitOptions) -> Result<FitReport, FitError> {
    let p = problem.n_params();
    let mut theta = match start {
        Some(s) if s.len() != p => return Err(FitError::BadStart { found: s.len(), expected: p }),
        Some(s) => s.to_vec(),
        None => vec![0.0; p],
    };
    problem.model.fix_gauge(&mut theta);
    let gauge = problem.model.gauge_direction();
    let mut grad = vec![0.0; p];
    let mut trial = vec![0.0; p];
    let mut trial_grad = vec![0.0; p];
    problem.gradient(&theta, &mut grad);
    let mut value = problem.objective(&theta);
    let mut warnings = Vec::new();
    let mut max_damping: f64 = 0.0;
    let mut iterations = 0;
    while iterations < opts.max_iter {
        if !value.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(FitError::NonFinite);
        }
        if inf_norm(&grad) < opts.tol {
            break;
        }
        iterations += 1;
        let h = problem.hessian(&theta);
        let factor = factor_with_damping(&h, gauge.clone(), &mut max_damping)?;
        let mut step: Vec<f64> = grad.iter().map(|g| -g).collect();
        factor.solve_in_place(&mut step);
        let slope: f64 = step.iter().zip(&grad).map(|(s, g)| s * g).sum();
        // Armijo backtracking; near the optimum rounding can hide the decrease of R,
        // so a step that shrinks the gradient is accepted too.
        let mut t = 1.0;
        let g_norm = inf_norm(&grad);
        let accepted = loop {
            for q in 0..p {
                trial[q] = theta[q] + t * step[q];
            }
            let v = problem.objective(&trial);
            problem.gradient(&trial, &mut trial_grad);
            if v.is_finite() && (v <= value + 1e-4 * t * slope || inf_norm(&trial_grad) < g_norm) {
                value = v;
                break true;
            }
            t *= 0.5;
            if t < 1e-12 {
                break false;
            }
        };
        if !accepted {
            break;
        }
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
    }
    problem.model.fix_gauge(&mut theta);
    let grad_norm = inf_norm(&grad);
    let converged = grad_norm < opts.tol;
    if !converged {
        warnings.push(FitWarning::NotConverged { iterations, grad_norm });
    }
    if max_damping > 0.0 {
        warnings.push(FitWarning::DampedSteps { damping: max_damping });
    }
    if problem.lambda == 0.0 && problem.model.kind != ModelKind::Linear {
        let max_loss = problem
            .losses(&theta, &problem.train)
            .iter()
            .zip(&problem.weights)
            .filter(|(_, w)| **w > 0.0)
            .fold(0.0f64, |m, (l, _)| m.max(*l));
        if max_loss < SEPARABLE_LOSS {
            warnings.push(FitWarning::Separable { max_loss });
        }
    }
    let max_abs = inf_norm(&theta);
    if max_abs > DIVERGING {
        warnings.push(FitWarning::Diverging { max_abs });
    }
    Ok(FitReport { theta, iterations, grad_norm, converged, objective: value, warnings })
}

/// Factorise `H`, adding damping (1e-10 of the mean diagonal, ×100 per try) when it is
/// not positive definite; records the damping used.
fn factor_with_damping(
    h: &ndarray::Array2<f64>,
    gauge: Option<Vec<f64>>,
    max_damping: &mut f64,
) -> Result<Factor, FitError> {
    let p = h.nrows().max(1);
    let scale = ((0..h.nrows()).map(|i| h[[i, i]].abs()).sum::<f64>() / p as f64).max(1e-300);
    let mut damping = 0.0;
    loop {
        match Factor::new(h, damping, gauge.clone()) {
            Ok(f) => {
                *max_damping = max_damping.max(damping);
                return Ok(f);
            }
            Err(LinalgError::NonFinite) => return Err(FitError::NonFinite),
            Err(_) if damping < scale * 1e6 => {
                damping = if damping == 0.0 { scale * 1e-10 } else { damping * 100.0 };
            }
            Err(_) => return Err(FitError::NonFinite),
        }
    }
}
