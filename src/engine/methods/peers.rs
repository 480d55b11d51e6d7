//! Peer attribution methods, oriented like `pred_loo_dloss` (larger = more helpful):
//!
//! - **Gradient dot / cosine**: `g_tᵀ g_i` and its cosine, at `θ̂`. Positive when a
//!   gradient step on `z_i` lowers the test loss: helpful. No conversion needed.
//! - **TracIn** (Pruthi et al. 2020): `Σ_c η g_t(θ_c)ᵀ g_i(θ_c)` over the checkpoints
//!   `θ_c` (end of each epoch) of a seeded mini-batch gradient-descent run from 0 on the
//!   same objective. The paper's "proponent" (positive) is helpful: same orientation.
//! - **Representer points** (Yeh et al. 2018): at the optimum of `R` with `(λ/2)‖W‖²`,
//!   `W = Σ_i α_i x_iᵀ` with `α_i = −(1/(λn)) ∂l_i/∂z_i` (one entry per output). The
//!   score of `z_i` for `z_t` is `α_i[c] x_iᵀ x_t` for the class c of the test label
//!   (the logit for logistic and linear, where a positive contribution to `z` is helpful
//!   when `y_t = 1` or the residual is positive, so the sign is flipped when it is not).
//! - **TRAK** (Park et al. 2023), single model: `φ_i = Π g_i` with a seeded Gaussian
//!   projection `Π` (k × P, entries N(0, 1/k)), score `φ_tᵀ (ΦᵀΦ)⁻¹ φ_i`. Positive =
//!   proponent = helpful.

use super::{MethodError, Scores};
use crate::engine::linalg::Factor;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{dot, ModelKind};
use crate::engine::rng::Rng;
use ndarray::Array2;

/// Parameters of [`tracin`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TracInParams {
    /// Learning rate η.
    pub lr: f64,
    /// Epochs (one checkpoint at the end of each).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for TracInParams {
    fn default() -> Self {
        Self { lr: 0.5, epochs: 20, batch: 32, seed: 0 }
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
    let name = if cosine { "grad_cos" } else { "grad_dot" };
    Scores {
        method: name.into(),
        scores: s.rows().into_iter().map(|r| r.to_vec()).collect(),
        trace: vec![],
        std_error: None,
    }
}

/// TracIn over a seeded mini-batch gradient-descent run from θ = 0.
pub fn tracin(problem: &Problem, test: &Design, params: &TracInParams) -> Scores {
    let (n, p) = (problem.n(), problem.n_params());
    let mut rng = Rng::new(params.seed);
    let mut theta = vec![0.0; p];
    let mut total = Array2::<f64>::zeros((test.n(), n));
    let mut trace = Vec::new();
    let mut g = vec![0.0; p];
    let batch = params.batch.clamp(1, n.max(1));
    for _ in 0..params.epochs {
        let order = rng.permutation(n);
        for chunk in order.chunks(batch) {
            // Mini-batch gradient of R: mean loss gradient over the batch plus λW.
            let mut step = vec![0.0; p];
            for &i in chunk {
                problem.model.grad(&theta, problem.train.row(i), problem.train.y[i], &mut g);
                let w = problem.weights[i] / chunk.len() as f64;
                step.iter_mut().zip(&g).for_each(|(s, gi)| *s += w * gi);
            }
            for (q, s) in step.iter_mut().enumerate() {
                if problem.model.is_weight(q) {
                    *s += problem.lambda * theta[q];
                }
            }
            theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= params.lr * s);
        }
        let (gi, losses) = problem.example_grads(&theta, &problem.train);
        let (gt, _) = problem.example_grads(&theta, test);
        total.scaled_add(params.lr, &gt.dot(&gi.t()));
        trace.push(losses.iter().sum::<f64>() / n.max(1) as f64);
    }
    Scores {
        method: "tracin".into(),
        scores: total.rows().into_iter().map(|r| r.to_vec()).collect(),
        trace,
        std_error: None,
    }
}

/// Representer weights `α` (n × K): `α_i = −(1/(λn)) ∂l_i/∂z_i`.
pub fn representer_weights(problem: &Problem, theta: &[f64]) -> Result<Array2<f64>, MethodError> {
    if problem.lambda <= 0.0 {
        return Err(MethodError::NotApplicable("representer points need λ > 0".into()));
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

/// Representer-point scores.
pub fn representer(problem: &Problem, theta: &[f64], test: &Design) -> Result<Scores, MethodError> {
    let alpha = representer_weights(problem, theta)?;
    let m = &problem.model;
    let mut scores = Vec::with_capacity(test.n());
    for t in 0..test.n() {
        let (xt, yt) = (test.row(t), test.y[t]);
        // The output whose increase lowers the test loss, and the sign that says so.
        let (c, sign) = match m.kind {
            ModelKind::Softmax => (yt as usize, 1.0),
            ModelKind::Logistic => (0, if yt >= 0.5 { 1.0 } else { -1.0 }),
            ModelKind::Linear => {
                let mut z = [0.0];
                m.outputs(theta, xt, &mut z);
                (0, if yt >= z[0] { 1.0 } else { -1.0 })
            }
        };
        let c = c.min(m.k - 1);
        scores.push((0..problem.n()).map(|i| sign * alpha[[i, c]] * dot(problem.train.row(i), xt)).collect());
    }
    Ok(Scores { method: "representer".into(), scores, trace: vec![], std_error: None })
}

/// TRAK with a seeded Gaussian projection to `k` dimensions.
pub fn trak(
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    k: usize,
    seed: u64,
) -> Result<Scores, MethodError> {
    let p = problem.n_params();
    let k = k.max(1);
    let mut rng = Rng::new(seed);
    let scale = 1.0 / (k as f64).sqrt();
    let proj = Array2::from_shape_fn((p, k), |_| rng.normal() * scale);
    let (gi, _) = problem.example_grads(theta, &problem.train);
    let (gt, _) = problem.example_grads(theta, test);
    let (phi, phi_t) = (gi.dot(&proj), gt.dot(&proj));
    let gram = phi.t().dot(&phi);
    // A tiny ridge keeps k > rank(Φ) solvable; it is relative to the Gram's scale.
    let ridge = 1e-9 * gram.diag().sum() / k as f64;
    let factor =
        Factor::new(&gram, ridge.max(1e-300), None).map_err(|e| MethodError::Linalg(e.to_string()))?;
    let solved = factor.solve_rows(&phi_t); // (ΦᵀΦ)⁻¹ φ_t, per test row
    let s = solved.dot(&phi.t());
    Ok(Scores {
        method: "trak".into(),
        scores: s.rows().into_iter().map(|r| r.to_vec()).collect(),
        trace: vec![],
        std_error: None,
    })
}
