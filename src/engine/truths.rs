//! The two ground truths a non-convex model adds to warm-started leave-one-out
//! ([`crate::engine::retrain`]), each a separate, labelled quantity (conventions,
//! "Tiny neural networks"):
//!
//! - **PBRF** (Bae et al. 2022, "If influence functions are the answer, then what is
//!   the question?"): the proximal Bregman response function
//!   `θ_ε = argmin (1/n) Σ_j w_j D_j(θ) + ε l(z_i, θ) + (λ/2)‖W − Ŵ‖² + (δ/2)‖θ − θ̂‖²`,
//!   `D_j(θ) = l(z_j(θ)) − l(ẑ_j) − ∇l(ẑ_j)ᵀ (z_j(θ) − ẑ_j)` the Bregman divergence of
//!   the output loss, ε = −1/n for removal. Its Hessian at θ̂ is the Gauss–Newton
//!   matrix, so `dθ_ε/dε = −(G + λ I_W + δ I)⁻¹ g_i`: influence with the damped GGN is
//!   exactly its first-order estimate (tested). Solved by Newton's method with exact
//!   products of `∇²J` (R-operator passes), each step by conjugate gradient
//!   preconditioned with `M = G(θ̂) + λ I_W + δ I`.
//! - **Scratch**: retrain from S initialisation seeds with and without the point (the
//!   same optimiser, so the only difference within a seed is the point); the mean
//!   change of the test loss and its standard error over seeds, next to the
//!   seed-to-seed spread of the test loss with all the data, the noise floor that an
//!   effect must clear to be seen by retraining at all. Steppable ([`ScratchJob`]):
//!   S × (points + 1) fits.

use crate::engine::fit::{fit, FitOptions};
use crate::engine::linalg::{preconditioned_cg, Factor};
use crate::engine::model::mlp::MlpShape;
use crate::engine::model::problem::{scaled_norm, Design, Problem};
use crate::engine::model::Net;
use crate::engine::retrain::{Refit, RefitStats, RetrainError};
use serde::{Deserialize, Serialize};

/// Most Newton steps of a PBRF solve.
const MAX_PBRF_STEPS: usize = 30;

/// The PBRF of a fitted problem, ready to solve for any training point (it owns what
/// it needs, so a long job can keep it between its blocks).
#[derive(Debug)]
pub struct Pbrf {
    problem: Problem,
    theta_hat: Vec<f64>,
    /// `∂l/∂z` of every training row at θ̂.
    dz_hat: Vec<Vec<f64>>,
    precond: Factor,
    damping: f64,
    scale: Vec<f64>,
}

impl Pbrf {
    /// Factorise `G(θ̂) + λ I_W + δ I` (δ = `damping`).
    pub fn new(problem: &Problem, theta_hat: &[f64], damping: f64) -> Result<Self, RetrainError> {
        let m = &problem.model;
        let mut work = m.work();
        let mut dz = vec![0.0; m.k];
        let dz_hat = (0..problem.n())
            .map(|i| {
                let z = m.forward(theta_hat, problem.train.row(i), &mut work);
                m.derivs(z, problem.train.y[i], &mut dz, None);
                dz.clone()
            })
            .collect();
        let precond = Factor::new(&problem.ggn(theta_hat), damping, &problem.null_directions())?;
        let mut scale = vec![0.0; problem.n_params()];
        problem.gradient_scale(theta_hat, &mut scale);
        Ok(Self { problem: problem.clone(), theta_hat: theta_hat.to_vec(), dz_hat, precond, damping, scale })
    }

    /// `∇J(θ)` for point `i` and `ε`.
    fn gradient(&self, theta: &[f64], i: usize, eps: f64, out: &mut [f64]) {
        let (p, m) = (&self.problem, &self.problem.model);
        let n = p.n() as f64;
        let mut work = m.work();
        let mut dz = vec![0.0; m.k];
        out.fill(0.0);
        for (j, &w) in p.weights.iter().enumerate() {
            let extra = if j == i { eps } else { 0.0 };
            if w == 0.0 && extra == 0.0 {
                continue;
            }
            let z = m.forward(theta, p.train.row(j), &mut work);
            m.derivs(z, p.train.y[j], &mut dz, None);
            let v: Vec<f64> =
                dz.iter().zip(&self.dz_hat[j]).map(|(d, h)| w * (d - h) / n + extra * d).collect();
            m.add_vjp(theta, &mut work, &v, out);
        }
        for (q, o) in out.iter_mut().enumerate() {
            let dt = theta[q] - self.theta_hat[q];
            *o += self.damping * dt + if p.is_weight(q) { p.lambda * dt } else { 0.0 };
        }
    }

    /// The per-example terms of `∇²J` (see [`Problem::curvature_matrix_by`]).
    fn terms(&self, i: usize, eps: f64) -> impl Fn(usize, &[f64]) -> Option<(f64, Vec<f64>)> + '_ {
        let n = self.problem.n() as f64;
        move |j, dz| {
            let w = self.problem.weights[j] / n;
            let e = if j == i { eps } else { 0.0 };
            (w != 0.0 || e != 0.0)
                .then(|| (w + e, dz.iter().zip(&self.dz_hat[j]).map(|(d, h)| w * (d - h) + e * d).collect()))
        }
    }

    /// `∇²J(θ) v` for point `i` and `ε` (δ included).
    fn hvp(&self, theta: &[f64], v: &[f64], i: usize, eps: f64, out: &mut [f64]) {
        self.problem.curvature_vp_by(theta, v, 0..self.problem.n(), out, self.terms(i, eps));
        out.iter_mut().zip(v).for_each(|(o, vi)| *o += self.damping * vi);
    }

    /// A Newton step `∇²J Δ = −∇J` by conjugate gradient preconditioned with
    /// `M = G(θ̂) + λ I_W + δ I` (which `∇²J` is close to): a few products of `∇²J`, no
    /// matrix.
    fn newton_step(&self, theta: &[f64], g: &[f64], i: usize, eps: f64) -> Result<Vec<f64>, RetrainError> {
        let minus_g: Vec<f64> = g.iter().map(|v| -v).collect();
        Ok(preconditioned_cg(|v, out| self.hvp(theta, v, i, eps, out), &self.precond, &minus_g, 1e-12, 50)?)
    }

    /// Solve the PBRF of point `i` with weight change `eps` (−1/n removes it) by Newton's
    /// method from θ̂ (its first step, taken with `M`, is the first-order estimate).
    pub fn solve(&self, i: usize, eps: f64) -> Result<Refit, RetrainError> {
        let n = self.problem.n();
        if i >= n {
            return Err(RetrainError::BadIndex { index: i, n });
        }
        let tol = self.problem.tolerance(FitOptions::default().tol);
        let mut theta = self.theta_hat.clone();
        let (mut g, mut trial_g) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
        self.gradient(&theta, i, eps, &mut g);
        let mut norm = scaled_norm(&g, &self.scale);
        for it in 0..MAX_PBRF_STEPS {
            if !norm.is_finite() {
                break;
            }
            if it > 0 && norm < tol {
                let grad_norm = crate::engine::fit::inf_norm(&g);
                return Ok(Refit { theta, iterations: it, grad_norm, converged: true });
            }
            let step = self.newton_step(&theta, &g, i, eps)?;
            // Halve the step until the gradient shrinks (J is smooth and θ̂ is near).
            let mut t = 1.0;
            loop {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a + t * s).collect();
                self.gradient(&trial, i, eps, &mut trial_g);
                let trial_norm = scaled_norm(&trial_g, &self.scale);
                if trial_norm < norm || t < 1e-6 {
                    theta = trial;
                    std::mem::swap(&mut g, &mut trial_g);
                    norm = trial_norm;
                    break;
                }
                t *= 0.5;
            }
        }
        Ok(Refit {
            theta,
            iterations: MAX_PBRF_STEPS,
            grad_norm: crate::engine::fit::inf_norm(&g),
            converged: false,
        })
    }
}

/// `[t][i]` changes of the test loss retrained from scratch, over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scratch {
    /// The training points retrained without (all, or a chosen subset).
    pub points: Vec<usize>,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// `mean[t][k]`: mean over seeds of the change of test loss t without `points[k]`.
    pub mean: Vec<Vec<f64>>,
    /// Its standard error over seeds.
    pub se: Vec<Vec<f64>>,
    /// `noise[t]`: the standard deviation over seeds of test loss t with all the data.
    pub noise: Vec<f64>,
    /// The fits behind them.
    pub refits: RefitStats,
}

/// Retraining from scratch, one fit per step (see the module doc). A job over some of
/// the seeds is one worker's block of a job shared among several ([`ScratchJob::join`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScratchJob {
    points: Vec<usize>,
    seeds: Vec<u64>,
    /// `full[s][t]`: test losses of seed s with all data.
    full: Vec<Vec<f64>>,
    /// `without[s][k][t]`.
    without: Vec<Vec<Vec<f64>>>,
    refits: RefitStats,
    done: usize,
}

impl ScratchJob {
    /// `seeds` seeds (0, 1, …) and the training `points` to leave out.
    pub fn new(points: Vec<usize>, seeds: usize) -> Self {
        Self::with_seeds(points, (0..seeds.max(2) as u64).collect())
    }

    /// The given seeds only.
    pub fn with_seeds(points: Vec<usize>, seeds: Vec<u64>) -> Self {
        Self { points, seeds, full: vec![], without: vec![], refits: RefitStats::default(), done: 0 }
    }

    /// Blocks over disjoint seeds (each finished, the same points) as one job, seeds in
    /// the blocks' order; `None` when the points differ or a block is unfinished.
    pub fn join(blocks: impl IntoIterator<Item = ScratchJob>) -> Option<ScratchJob> {
        let mut joined: Option<ScratchJob> = None;
        for b in blocks {
            if !b.is_finished() {
                return None;
            }
            match joined.as_mut() {
                None => joined = Some(b),
                Some(j) if j.points == b.points => {
                    j.seeds.extend(b.seeds);
                    j.full.extend(b.full);
                    j.without.extend(b.without);
                    j.refits.merge(&b.refits);
                    j.done += b.done;
                }
                Some(_) => return None,
            }
        }
        joined
    }

    /// Fits in all.
    pub fn total(&self) -> usize {
        self.seeds.len() * (self.points.len() + 1)
    }

    /// Fits done.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Whether every fit is done.
    pub fn is_finished(&self) -> bool {
        self.done >= self.total()
    }

    /// Run the next fit.
    pub fn step(&mut self, problem: &Problem, test: &Design) -> Result<(), RetrainError> {
        if self.is_finished() {
            return Ok(());
        }
        let per_seed = self.points.len() + 1;
        let (s, k) = (self.done / per_seed, self.done % per_seed);
        let mut p = problem.clone();
        if let Net::Mlp(shape) = p.model.net {
            p.model.net = Net::Mlp(MlpShape { init_seed: self.seeds[s], ..shape });
        }
        if k > 0 {
            p.weights[self.points[k - 1]] = 0.0;
        }
        let r = fit(&p, None, &FitOptions::default())?;
        self.refits.record(r.converged || p.early_stop().is_some(), r.grad_norm);
        let losses = problem.losses(&r.theta, test);
        if k == 0 {
            self.full.push(losses);
            self.without.push(Vec::with_capacity(self.points.len()));
        } else {
            self.without[s].push(losses);
        }
        self.done += 1;
        Ok(())
    }

    /// The result (complete once [`ScratchJob::is_finished`]).
    pub fn result(&self) -> Scratch {
        let t_count = self.full.first().map_or(0, Vec::len);
        let mut mean = vec![vec![0.0; self.points.len()]; t_count];
        let mut se = vec![vec![0.0; self.points.len()]; t_count];
        for t in 0..t_count {
            for k in 0..self.points.len() {
                let d: Vec<f64> = self
                    .full
                    .iter()
                    .zip(&self.without)
                    .filter_map(|(f, w)| w.get(k).map(|w| w[t] - f[t]))
                    .collect();
                let (m, sd) = mean_sd(&d);
                mean[t][k] = m;
                se[t][k] = sd / (d.len().max(1) as f64).sqrt();
            }
        }
        let noise =
            (0..t_count).map(|t| mean_sd(&self.full.iter().map(|f| f[t]).collect::<Vec<_>>()).1).collect();
        Scratch {
            points: self.points.clone(),
            seeds: self.seeds.clone(),
            mean,
            se,
            noise,
            refits: self.refits,
        }
    }
}

/// Mean and sample standard deviation (0 for fewer than two values).
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
}

/// Retrain from scratch without each of `points`, over `seeds` seeds, to the end.
pub fn scratch(
    problem: &Problem,
    test: &Design,
    points: Vec<usize>,
    seeds: usize,
) -> Result<Scratch, RetrainError> {
    let mut job = ScratchJob::new(points, seeds);
    while !job.is_finished() {
        job.step(problem, test)?;
    }
    Ok(job.result())
}
