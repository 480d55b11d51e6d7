//! Peer attribution methods, oriented like `pred_loo_dloss` (larger = more helpful):
//!
//! - **Gradient dot / cosine**: `g_tᵀ g_i` and its cosine, at `θ̂`. Positive when a
//!   gradient step on `z_i` lowers the test loss: helpful. No conversion needed.
//! - **TracIn** (Pruthi et al. 2020): `Σ_c η g_t(θ_c)ᵀ g_i(θ_c)` over the checkpoints
//!   `θ_c` (end of each epoch) of a seeded mini-batch gradient-descent run from 0 on the
//!   same objective (full batches only: a short last batch is dropped). The default
//!   step is `η = 1/λ_max(H(0))`, which is stable: for these models the curvature is
//!   largest at θ = 0 (logistic: σ(1 − σ) ≤ 1/4 there), so the run cannot diverge.
//!   The paper's "proponent" (positive) is helpful: same orientation.
//! - **Representer points** (Yeh et al. 2018): at the optimum of `R` with `(λ/2)‖W‖²`,
//!   `W = Σ_i α_i x_iᵀ` with `α_i = −(w_i/(λn)) ∂l_i/∂z_i` (one entry per output), so
//!   point i adds `α_i (x_iᵀ x_t)` to the test outputs. Its score is the first-order
//!   effect of that on the test loss, with the sign of help:
//!   `−Σ_c (∂l_t/∂z_{t,c}) α_{i,c} x_iᵀ x_t`, every class weighted by how much the test
//!   loss depends on it (the residual for linear regression, `p − e_y` for softmax).
//! - **TRAK** (Park et al. 2023): with the output function `f` = the log-odds of the
//!   right label (the prediction for regression), for which `l = softplus(−f)` and
//!   `−∂l/∂f = 1 − p` (the residual for regression): `φ_i = Πᵀ ∇f_i` with a seeded
//!   Gaussian projection `Π` (P × k, entries N(0, 1/k)), and score
//!   `(−∂l_t/∂f_t) φ_tᵀ (ΦᵀΦ)⁻¹ φ_i (−∂l_i/∂f_i)`, averaged over `models` independent
//!   projections (the ensemble of the paper, here over projections of one model).
//!   With `k ≥ P` nothing is projected and one model is exact: it is then influence
//!   with `H` replaced by `ΦᵀΦ`, the Gauss–Newton matrix without its `(1 − p)` weights.

use super::ihvp::largest_eigenvalue;
use super::{Method, MethodError, Scores};
use crate::engine::linalg::{Check, Factor};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{dot, log_sum_exp, sigmoid, ModelKind, Net};
use crate::engine::rng::Rng;
use crate::said::Said;
use crate::text::Text;
use ndarray::{Array1, Array2};

/// Parameters of [`tracin`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TracInParams {
    /// Learning rate η (`None`: `1/λ_max` of the Hessian at θ = 0, always stable).
    pub lr: Option<f64>,
    /// Epochs (one checkpoint at the end of each).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for TracInParams {
    fn default() -> Self {
        Self { lr: None, epochs: 20, batch: 32, seed: 0 }
    }
}

/// `g_tᵀ g_i` for every pair (cosine when `cosine`).
pub fn gradient_similarity(problem: &Problem, theta: &[f64], test: &Design, cosine: bool) -> Scores {
    let (gi, _) = problem.example_grads(theta, &problem.train);
    let (gt, _) = problem.example_grads(theta, test);
    let mut s = gt.dot(&gi.t());
    if cosine {
        let ni: Vec<f64> = gi.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
        let nt: Vec<f64> = gt.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
        for ((t, i), v) in s.indexed_iter_mut() {
            let d = nt[t] * ni[i];
            *v = if d > 0.0 { *v / d } else { 0.0 };
        }
    }
    let method = if cosine { Method::GradCos } else { Method::GradDot };
    Scores::plain(method, s.rows().into_iter().map(|r| r.to_vec()).collect())
}

/// `‖g_i‖²` of every training point (gradient dot of a point with itself), without
/// forming any n × n matrix.
pub fn gradient_self_dot(problem: &Problem, theta: &[f64]) -> Vec<f64> {
    let (g, _) = problem.example_grads(theta, &problem.train);
    g.rows().into_iter().map(|r| r.dot(&r)).collect()
}

/// The step of a TracIn run: the one given, or `1/|λ_max|` of the Hessian where the
/// run starts (θ = 0 for a linear model, the initialisation for a network).
pub fn tracin_lr(problem: &Problem, params: &TracInParams) -> f64 {
    params.lr.unwrap_or_else(|| {
        let start = problem.model.initial_theta();
        1.0 / largest_eigenvalue(problem, &start, 0.0, params.seed).abs().max(f64::MIN_POSITIVE)
    })
}

/// A seeded mini-batch gradient-descent run from θ = 0 on `R`; `checkpoint(θ_c, η)`
/// is called at the end of every epoch. Returns the mean training loss per epoch.
fn tracin_run(problem: &Problem, params: &TracInParams, mut checkpoint: impl FnMut(&[f64], f64)) -> Vec<f64> {
    if let Some(steps) = problem.early_stop() {
        return replay_training(problem, steps, params.epochs, checkpoint);
    }
    let (n, p) = (problem.n(), problem.n_params());
    let lr = tracin_lr(problem, params);
    let mut rng = Rng::new(params.seed);
    let mut theta = problem.model.initial_theta();
    let (mut g, mut step) = (vec![0.0; p], vec![0.0; p]);
    let mut work = problem.model.work();
    let batch = params.batch.clamp(1, n.max(1));
    let mut trace = Vec::with_capacity(params.epochs);
    for _ in 0..params.epochs {
        let order = rng.permutation(n);
        for chunk in order.chunks_exact(batch) {
            // Mini-batch gradient of R: mean loss gradient over the batch plus λW.
            step.fill(0.0);
            for &i in chunk {
                problem.model.grad_with(&theta, problem.train.row(i), problem.train.y[i], &mut g, &mut work);
                let w = problem.weights[i] / chunk.len() as f64;
                step.iter_mut().zip(&g).for_each(|(s, gi)| *s += w * gi);
            }
            for (q, s) in step.iter_mut().enumerate() {
                if problem.is_weight(q) {
                    *s += problem.lambda * theta[q];
                }
            }
            theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= lr * s);
        }
        checkpoint(&theta, lr);
        let losses = problem.losses(&theta, &problem.train);
        trace.push(losses.iter().sum::<f64>() / n.max(1) as f64);
    }
    trace
}

/// The real training of an early-stopped network (full-batch gradient descent from
/// its initialisation, the step of [`crate::engine::fit::gradient_descent`]), with
/// `checkpoints` evenly spaced checkpoints; each stands for the steps since the last,
/// so its `η` is the step times their number.
fn replay_training(
    problem: &Problem,
    steps: usize,
    checkpoints: usize,
    mut checkpoint: impl FnMut(&[f64], f64),
) -> Vec<f64> {
    let p = problem.n_params();
    let mut theta = problem.model.initial_theta();
    let lr = 1.0 / largest_eigenvalue(problem, &theta, 0.0, 0).abs().max(f64::MIN_POSITIVE);
    let every = steps.div_ceil(checkpoints.clamp(1, steps.max(1))).max(1);
    let mut grad = vec![0.0; p];
    let mut trace = Vec::new();
    let mut since = 0;
    for step in 1..=steps {
        problem.gradient(&theta, &mut grad);
        theta.iter_mut().zip(&grad).for_each(|(t, g)| *t -= lr * g);
        since += 1;
        if step % every == 0 || step == steps {
            checkpoint(&theta, lr * since as f64);
            since = 0;
            let losses = problem.losses(&theta, &problem.train);
            trace.push(losses.iter().sum::<f64>() / problem.n().max(1) as f64);
        }
    }
    trace
}

/// TracIn over a seeded mini-batch gradient-descent run from the start (θ = 0, or a
/// network's initialisation); for an early-stopped network, over its real training.
pub fn tracin(problem: &Problem, test: &Design, params: &TracInParams) -> Scores {
    let mut total = Array2::<f64>::zeros((test.n(), problem.n()));
    let mut lr_used = 0.0;
    let trace = tracin_run(problem, params, |theta, lr| {
        let (gi, _) = problem.example_grads(theta, &problem.train);
        let (gt, _) = problem.example_grads(theta, test);
        total.scaled_add(lr, &gt.dot(&gi.t()));
        lr_used = lr;
    });
    let note = match problem.early_stop() {
        Some(steps) => Said::new(Text::NoteTracinNetwork).with("n", trace.len()).with("steps", steps),
        None => Said::new(if params.lr.is_none() { Text::NoteTracinRunAuto } else { Text::NoteTracinRun })
            .with("n", params.epochs)
            .with("lr", format!("{lr_used:.3e}")),
    };
    Scores {
        trace,
        notes: vec![note],
        ..Scores::plain(Method::Tracin, total.rows().into_iter().map(|r| r.to_vec()).collect())
    }
}

/// TracIn of every training point with itself, `Σ_c η ‖g_i(θ_c)‖²`, without forming
/// any n × n matrix (the mislabel ranking).
pub fn tracin_self(problem: &Problem, params: &TracInParams) -> Vec<f64> {
    let mut total = vec![0.0; problem.n()];
    tracin_run(problem, params, |theta, lr| {
        let (g, _) = problem.example_grads(theta, &problem.train);
        total.iter_mut().zip(g.rows()).for_each(|(t, r)| *t += lr * r.dot(&r));
    });
    total
}

/// Representer weights `α` (n × K): `α_i = −(1/(λn)) ∂l_i/∂z_i`.
pub fn representer_weights(problem: &Problem, theta: &[f64]) -> Result<Array2<f64>, MethodError> {
    if problem.lambda <= 0.0 {
        return Err(MethodError::NotApplicable(Said::new(Text::ErrRepresenterNeedsLambda)));
    }
    let m = &problem.model;
    let n = problem.n();
    let mut alpha = Array2::zeros((n, m.k));
    let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
    for i in 0..n {
        m.outputs(theta, problem.train.row(i), &mut z);
        m.derivs(&z, problem.train.y[i], &mut dz, None);
        for k in 0..m.k {
            alpha[[i, k]] = -problem.weights[i] * dz[k] / (problem.lambda * n as f64);
        }
    }
    Ok(alpha)
}

/// `−∂l/∂z` of every output for row `x` with target `y` at `theta`.
fn minus_dloss_dz(problem: &Problem, theta: &[f64], x: &[f64], y: f64) -> Vec<f64> {
    let m = &problem.model;
    let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
    m.outputs(theta, x, &mut z);
    m.derivs(&z, y, &mut dz, None);
    dz.iter().map(|v| -v).collect()
}

/// The features the output layer sees for every row of `rows` (the rows themselves
/// for a linear model, the last hidden layer's activations for a network).
pub fn output_features(problem: &Problem, theta: &[f64], rows: &Design) -> Vec<Vec<f64>> {
    let m = &problem.model;
    let mut work = m.work();
    (0..rows.n())
        .map(|i| {
            m.forward(theta, rows.row(i), &mut work);
            work.features().to_vec()
        })
        .collect()
}

/// Representer-point scores: `−Σ_c (∂l_t/∂z_{t,c}) α_{i,c} φ_iᵀ φ_t`, with φ the
/// features of the output layer (the inputs of a linear model; a network's last hidden
/// layer, whose output weights the representer theorem splits).
pub fn representer(problem: &Problem, theta: &[f64], test: &Design) -> Result<Scores, MethodError> {
    let alpha = representer_weights(problem, theta)?;
    let phi = output_features(problem, theta, &problem.train);
    let phi_t = output_features(problem, theta, test);
    let mut scores = Vec::with_capacity(test.n());
    for (t, ft) in phi_t.iter().enumerate() {
        let u = Array1::from(minus_dloss_dz(problem, theta, test.row(t), test.y[t]));
        let weight = alpha.dot(&u); // Σ_c α_{i,c} (−∂l_t/∂z_{t,c}), per i
        scores.push(phi.iter().zip(weight.iter()).map(|(fi, w)| w * dot(fi, ft)).collect());
    }
    let note = match problem.model.net {
        Net::Linear => Said::new(Text::NoteRepresenterLinear),
        Net::Mlp(_) => Said::new(Text::NoteRepresenterMlp),
    };
    Ok(Scores { notes: vec![note], ..Scores::plain(Method::Representer, scores) })
}

/// `(f, −∂l/∂f, ∇f)` for TRAK's output function: the log-odds of the right label for
/// classifiers (`l = softplus(−f)`, so `−∂l/∂f = 1 − p`), the prediction for regression
/// (`−∂l/∂f` is the residual `y − ŷ`).
fn trak_output(problem: &Problem, theta: &[f64], x: &[f64], y: f64, grad: &mut [f64]) -> f64 {
    let m = &problem.model;
    let mut work = m.work();
    let z = m.forward(theta, x, &mut work).to_vec();
    let mut df = vec![0.0; m.k];
    let q = match m.kind {
        ModelKind::Logistic => {
            let sign = if y >= 0.5 { 1.0 } else { -1.0 };
            df[0] = sign;
            1.0 - sigmoid(sign * z[0])
        }
        ModelKind::Softmax => {
            let c = (y as usize).min(m.k - 1);
            let lse = log_sum_exp(&z);
            let p: Vec<f64> = z.iter().map(|v| (v - lse).exp()).collect();
            let rest = (1.0 - p[c]).max(1e-300);
            for k in 0..m.k {
                df[k] = (f64::from(u8::from(k == c)) - p[k]) / rest;
            }
            rest
        }
        ModelKind::Linear => {
            df[0] = 1.0;
            y - z[0]
        }
    };
    grad.fill(0.0);
    m.add_vjp(theta, &mut work, &df, grad);
    q
}

/// TRAK: an ensemble of `models` seeded Gaussian projections to `k` dimensions (one
/// exact, unprojected model when `k ≥ P`).
pub fn trak(
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    k: usize,
    models: usize,
    seed: u64,
) -> Result<Scores, MethodError> {
    let p = problem.n_params();
    let rows = |d: &Design| {
        let mut grads = Array2::<f64>::zeros((d.n(), p));
        let mut q = Vec::with_capacity(d.n());
        let mut buf = vec![0.0; p];
        for i in 0..d.n() {
            q.push(trak_output(problem, theta, d.row(i), d.y[i], &mut buf));
            grads.row_mut(i).iter_mut().zip(&buf).for_each(|(a, b)| *a = *b);
        }
        (grads, Array1::from(q))
    };
    let (gi, qi) = rows(&problem.train);
    let (gt, qt) = rows(test);
    let unprojected = k >= p;
    let (k, models) = if unprojected { (p, 1) } else { (k.max(1), models.max(1)) };
    let mut rng = Rng::new(seed);
    let mut total = Array2::<f64>::zeros((test.n(), problem.n()));
    for _ in 0..models {
        let (phi, phi_t) = if unprojected {
            (gi.clone(), gt.clone())
        } else {
            let scale = 1.0 / (k as f64).sqrt();
            let proj = Array2::from_shape_fn((p, k), |_| rng.normal() * scale);
            (gi.dot(&proj), gt.dot(&proj))
        };
        let gram = phi.t().dot(&phi);
        // A tiny ridge keeps k > rank(Φ) solvable; it is relative to the Gram's scale.
        let ridge = (1e-9 * gram.diag().sum() / k as f64).max(1e-300);
        let factor = Factor::with_check(&gram, ridge, &[], Check::Pivots)
            .map_err(|e| MethodError::Linalg(e.said()))?;
        let solved = factor.solve_rows(&phi_t).map_err(|e| MethodError::Linalg(e.said()))?;
        total += &solved.dot(&phi.t());
    }
    total /= models as f64;
    // The (1 − p) weights of the training points (columns) and of the test points (rows).
    for (mut row, q_t) in total.rows_mut().into_iter().zip(qt.iter()) {
        row.iter_mut().zip(qi.iter()).for_each(|(v, q_i)| *v *= q_t * q_i);
    }
    let note = if unprojected {
        Said::new(Text::NoteTrakUnprojected).with("p", p)
    } else {
        Said::new(Text::NoteTrakProjected).with("models", models).with("p", p).with("k", k)
    };
    Ok(Scores {
        notes: vec![note],
        ..Scores::plain(Method::Trak, total.rows().into_iter().map(|r| r.to_vec()).collect())
    })
}
