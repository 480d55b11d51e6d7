//! Inverse-Hessian-vector products without factorising `H`, from Hessian-vector
//! products only (each `Hv` costs two passes over the data):
//!
//! - **Conjugate gradient** on `(H + δI) x = g_t`, stopped at a relative residual
//!   `tol` or `max_iter` steps. Exact in at most P steps in exact arithmetic.
//! - **LiSSA** (Agarwal et al. 2017, as used by Koh & Liang): `v₀ = g`,
//!   `v_j = g + (I − (H̃_j + δI)/s) v_{j−1}`, result `v_J / s`, averaged over repeats;
//!   `H̃_j` is a seeded mini-batch Hessian. It converges only when `s` exceeds the
//!   largest eigenvalue of `H + δI`; divergence is detected and reported with the
//!   eigenvalue (power iteration), never returned as numbers. (Koh & Liang's code damps
//!   by `δ·s` instead; we damp `H` itself, as the conventions say.)
//! - **Arnoldi** (Schioppa et al. 2022): a Krylov basis of `H` from a seeded start with
//!   full reorthogonalisation (Lanczos for symmetric `H`), Ritz pairs of `QᵀHQ`, and
//!   `H⁻¹` restricted to the top `k` of them; with `k = P` it is exact.
//!
//! The scores are `(1/n) g_iᵀ x_t`, oriented exactly like `pred_loo_dloss`.

use super::{MethodError, Scores};
use crate::engine::linalg::symmetric_eigen;
use crate::engine::model::dot;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::rng::Rng;
use ndarray::Array2;

/// Parameters of [`lissa_solve`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LissaParams {
    /// Recursion depth J.
    pub depth: usize,
    /// Independent repeats averaged.
    pub repeats: usize,
    /// Scale s (must exceed the largest eigenvalue of H + δI).
    pub scale: f64,
    /// Damping δ.
    pub damping: f64,
    /// Mini-batch size of each H̃_j.
    pub batch: usize,
    /// Seed of the mini-batches.
    pub seed: u64,
}

impl Default for LissaParams {
    fn default() -> Self {
        Self { depth: 200, repeats: 4, scale: 10.0, damping: 0.0, batch: 64, seed: 0 }
    }
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

/// `(H + δI) x = b` by conjugate gradient; returns `x` and the relative residuals.
pub fn cg_solve(
    problem: &Problem,
    theta: &[f64],
    b: &[f64],
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> (Vec<f64>, Vec<f64>) {
    let p = b.len();
    let bn = norm(b).max(f64::MIN_POSITIVE);
    let (mut x, mut r, mut d) = (vec![0.0; p], b.to_vec(), b.to_vec());
    let mut hd = vec![0.0; p];
    let mut rr = dot(&r, &r);
    let mut trace = vec![rr.sqrt() / bn];
    for _ in 0..max_iter {
        if rr.sqrt() / bn < tol {
            break;
        }
        problem.hvp(theta, &d, &mut hd);
        hd.iter_mut().zip(&d).for_each(|(h, di)| *h += damping * di);
        let dhd = dot(&d, &hd);
        if dhd <= 0.0 {
            break; // not positive definite along d: stop with what we have
        }
        let alpha = rr / dhd;
        x.iter_mut().zip(&d).for_each(|(xi, di)| *xi += alpha * di);
        r.iter_mut().zip(&hd).for_each(|(ri, hi)| *ri -= alpha * hi);
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        d.iter_mut().zip(&r).for_each(|(di, ri)| *di = ri + beta * *di);
        rr = rr_new;
        trace.push(rr.sqrt() / bn);
    }
    (x, trace)
}

/// Largest eigenvalue of `H + δI` by power iteration (for LiSSA's scale check).
pub fn largest_eigenvalue(problem: &Problem, theta: &[f64], damping: f64, seed: u64) -> f64 {
    let p = problem.n_params();
    let mut rng = Rng::new(seed);
    let mut v: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
    let mut hv = vec![0.0; p];
    let mut lambda = 0.0;
    for _ in 0..100 {
        let nv = norm(&v).max(f64::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= nv);
        problem.hvp(theta, &v, &mut hv);
        hv.iter_mut().zip(&v).for_each(|(h, x)| *h += damping * x);
        let next = dot(&v, &hv);
        std::mem::swap(&mut v, &mut hv);
        if (next - lambda).abs() <= 1e-10 * next.abs() {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// LiSSA estimate of `(H + δI)⁻¹ g` and the relative change per step (first repeat).
pub fn lissa_solve(
    problem: &Problem,
    theta: &[f64],
    g: &[f64],
    params: &LissaParams,
) -> Result<(Vec<f64>, Vec<f64>), MethodError> {
    let (p, n) = (g.len(), problem.n());
    let mut rng = Rng::new(params.seed);
    let bound = 1e6 * norm(g).max(1e-300);
    let mut mean = vec![0.0; p];
    let mut trace = Vec::new();
    let (mut hv, mut batch) = (vec![0.0; p], vec![0usize; params.batch.clamp(1, n.max(1))]);
    for rep in 0..params.repeats.max(1) {
        let mut v = g.to_vec();
        for step in 0..params.depth {
            batch.iter_mut().for_each(|b| *b = rng.below(n));
            problem.hvp_rows(theta, &v, Some(&batch), &mut hv);
            let mut change = 0.0;
            for q in 0..p {
                let next = g[q] + v[q] - (hv[q] + params.damping * v[q]) / params.scale;
                change += (next - v[q]) * (next - v[q]);
                v[q] = next;
            }
            let nv = norm(&v);
            if !nv.is_finite() || nv > bound {
                let lambda_max = largest_eigenvalue(problem, theta, params.damping, params.seed);
                return Err(MethodError::LissaDiverged { step, norm: nv, scale: params.scale, lambda_max });
            }
            if rep == 0 {
                trace.push(change.sqrt() / nv.max(f64::MIN_POSITIVE));
            }
        }
        let k = rep as f64;
        mean.iter_mut().zip(&v).for_each(|(m, x)| *m = (*m * k + x / params.scale) / (k + 1.0));
    }
    Ok((mean, trace))
}

/// Top eigenpairs of `H` from a Krylov basis of dimension `min(P, 2k)`: eigenvalues
/// (descending) and eigenvectors as columns.
pub fn arnoldi_eigenpairs(problem: &Problem, theta: &[f64], k: usize, seed: u64) -> (Vec<f64>, Array2<f64>) {
    let p = problem.n_params();
    let m = (2 * k).clamp(1, p);
    let mut rng = Rng::new(seed);
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut hq: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut next: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
    while q.len() < m {
        // Full reorthogonalisation, twice; restart from a random vector on breakdown
        // (an invariant subspace, e.g. repeated eigenvalues).
        for _ in 0..2 {
            for b in &q {
                let c = dot(&next, b);
                next.iter_mut().zip(b).for_each(|(x, bi)| *x -= c * bi);
            }
        }
        let nn = norm(&next);
        if nn < 1e-10 {
            next = (0..p).map(|_| rng.normal()).collect();
            continue;
        }
        next.iter_mut().for_each(|x| *x /= nn);
        let mut h = vec![0.0; p];
        problem.hvp(theta, &next, &mut h);
        q.push(next);
        next = h.clone();
        hq.push(h);
    }
    let t = Array2::from_shape_fn((m, m), |(i, j)| 0.5 * (dot(&q[i], &hq[j]) + dot(&q[j], &hq[i])));
    let (vals, vecs) = symmetric_eigen(&t).unwrap_or((vec![0.0; m], Array2::eye(m)));
    let keep = k.min(m);
    let mut out_vals = Vec::with_capacity(keep);
    let mut out_vecs = Array2::zeros((p, keep));
    for c in 0..keep {
        let col = m - 1 - c; // ascending order: take from the top
        out_vals.push(vals[col]);
        for (j, qj) in q.iter().enumerate() {
            let y = vecs[[j, col]];
            for r in 0..p {
                out_vecs[[r, c]] += y * qj[r];
            }
        }
    }
    (out_vals, out_vecs)
}

/// `(H + δI)⁻¹ g` restricted to the given eigenpairs (eigenvalues at or below
/// `1e-12 · λ_max` are left out: the softmax null direction, and numerical noise).
pub fn arnoldi_apply(vals: &[f64], vecs: &Array2<f64>, damping: f64, g: &[f64]) -> Vec<f64> {
    let top = vals.iter().copied().fold(0.0f64, f64::max);
    let mut x = vec![0.0; g.len()];
    for (c, &l) in vals.iter().enumerate() {
        if l + damping <= 1e-12 * top.max(f64::MIN_POSITIVE) {
            continue;
        }
        let col = vecs.column(c);
        let coef = col.iter().zip(g).map(|(a, b)| a * b).sum::<f64>() / (l + damping);
        x.iter_mut().zip(col.iter()).for_each(|(xi, vi)| *xi += coef * vi);
    }
    x
}

/// Which iHVP approximation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Ihvp {
    /// Conjugate gradient with relative tolerance and step cap.
    Cg {
        /// Relative residual at which to stop.
        tol: f64,
        /// Most steps.
        max_iter: usize,
    },
    /// LiSSA.
    Lissa(LissaParams),
    /// Arnoldi with `k` eigenpairs.
    Arnoldi {
        /// Eigenpairs kept.
        k: usize,
        /// Seed of the start vector.
        seed: u64,
    },
}

/// Influence scores of every training point on every test row with an approximate
/// `H⁻¹`: `(1/n) g_iᵀ x_t`, `x_t ≈ (H + δI)⁻¹ g_t`.
pub fn scores(
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    method: &Ihvp,
    damping: f64,
) -> Result<Scores, MethodError> {
    let (g_train, _) = problem.example_grads(theta, &problem.train);
    let (g_test, _) = problem.example_grads(theta, test);
    let eig = match method {
        Ihvp::Arnoldi { k, seed } => Some(arnoldi_eigenpairs(problem, theta, *k, *seed)),
        _ => None,
    };
    let solve = |gt: &[f64]| -> Result<(Vec<f64>, Vec<f64>), MethodError> {
        match method {
            Ihvp::Cg { tol, max_iter } => Ok(cg_solve(problem, theta, gt, damping, *tol, *max_iter)),
            Ihvp::Lissa(params) => lissa_solve(problem, theta, gt, &LissaParams { damping, ..*params }),
            Ihvp::Arnoldi { .. } => {
                let (vals, vecs) = eig.as_ref().ok_or(MethodError::NotApplicable("no eigenpairs".into()))?;
                Ok((arnoldi_apply(vals, vecs, damping, gt), vec![]))
            }
        }
    };
    let n = problem.n() as f64;
    let mut all = Vec::with_capacity(test.n());
    let mut first_trace = Vec::new();
    for (t, gt) in g_test.rows().into_iter().enumerate() {
        let (x, trace) = solve(&gt.to_vec())?;
        if t == 0 {
            first_trace = trace;
        }
        all.push(
            g_train
                .rows()
                .into_iter()
                .map(|gi| gi.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() / n)
                .collect(),
        );
    }
    let name = match method {
        Ihvp::Cg { .. } => "cg",
        Ihvp::Lissa(_) => "lissa",
        Ihvp::Arnoldi { .. } => "arnoldi",
    };
    Ok(Scores { method: name.into(), scores: all, trace: first_trace, std_error: None })
}
