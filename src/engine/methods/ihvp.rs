//! Inverse-Hessian-vector products without factorising `H`, from Hessian-vector
//! products only (each `Hv` costs two passes over the data):
//!
//! - **Conjugate gradient** on `(H + δI) x = g_t`, stopped at a relative residual
//!   `tol`. Exact in at most P steps in exact arithmetic. Hitting `max_iter` first, or
//!   a direction of curvature ≤ 0, is reported ([`CgStatus`]), never returned as
//!   scores.
//! - **LiSSA** (Agarwal et al. 2017, as used by Koh & Liang): `v₀ = g`,
//!   `v_j = g + (I − (H̃_j + δI)/s) v_{j−1}`, result `v_J / s`, averaged over repeats;
//!   `H̃_j` is a seeded mini-batch Hessian. It converges only when `s` exceeds the
//!   largest eigenvalue of `H + δI`: then `‖I − (H̃_j + δI)/s‖ ≤ 1` and
//!   `‖v_j‖ ≤ (j + 1)‖g‖`, so passing that bound is divergence, reported with the
//!   eigenvalue and never returned as numbers. The series is truncated at depth J: on
//!   an eigenvalue μ it gives `(1 − (1 − μ/s)^{J+1})/μ` instead of `1/μ`, which for
//!   small μ is `(J+1)/s`, as if the damping were `s/(J+1)` larger; the scores say so,
//!   and warn when J is too short for the smallest eigenvalue. (Koh & Liang's code
//!   damps by `δ·s` instead; we damp `H` itself, as the conventions say.)
//! - **Arnoldi** (Schioppa et al. 2022): a Krylov basis of `H` from a seeded start with
//!   full reorthogonalisation (Lanczos for symmetric `H`), Ritz pairs of `QᵀHQ`, and
//!   `H⁻¹` restricted to the top `k` of them; with `k = P` it is exact, with fewer it
//!   ignores every other direction (said in the scores' notes).
//!
//! The scores are `(1/n) g_iᵀ x_t`, oriented exactly like `pred_loo_dloss`.

use super::{Method, MethodError, Scores};
use crate::engine::linalg::{project_out, symmetric_eigen, symmetric_eigenvalues, EXACT_SPECTRUM_MAX};
use crate::engine::model::dot;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::rng::Rng;
use crate::said::Said;
use crate::text::Text;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Parameters of [`lissa_solve`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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

/// How conjugate gradient ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CgStatus {
    /// The relative residual reached the tolerance.
    Converged,
    /// `max_iter` steps ran first.
    MaxIter,
    /// A direction of curvature `dᵀ(H + δI)d / dᵀd ≤ 0` was met at `step`.
    Indefinite {
        /// The step.
        step: usize,
        /// The curvature.
        curvature: f64,
    },
}

/// The result of [`cg_solve`]: the iterate, the relative residual per step, and how it
/// ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CgOutcome {
    /// The last iterate (a partial solution unless `status` is `Converged`).
    pub x: Vec<f64>,
    /// Relative residual `‖b − (H + δI) x‖ / ‖b‖` after each step (first entry: 1).
    pub trace: Vec<f64>,
    /// How it ended.
    pub status: CgStatus,
}

impl CgOutcome {
    /// The solution, or why there is none.
    pub fn solution(self, tol: f64) -> Result<(Vec<f64>, Vec<f64>), MethodError> {
        match self.status {
            CgStatus::Converged => Ok((self.x, self.trace)),
            CgStatus::MaxIter => Err(MethodError::CgNotConverged {
                steps: self.trace.len().saturating_sub(1),
                residual: self.trace.last().copied().unwrap_or(f64::NAN),
                tol,
            }),
            CgStatus::Indefinite { step, curvature } => Err(MethodError::CgIndefinite { step, curvature }),
        }
    }
}

/// `(H + δI) x = b` by conjugate gradient.
pub fn cg_solve(
    problem: &Problem,
    theta: &[f64],
    b: &[f64],
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> CgOutcome {
    let p = b.len();
    let bn = norm(b).max(f64::MIN_POSITIVE);
    let (mut x, mut r, mut d) = (vec![0.0; p], b.to_vec(), b.to_vec());
    let mut hd = vec![0.0; p];
    let mut rr = dot(&r, &r);
    let mut trace = vec![rr.sqrt() / bn];
    for step in 0..max_iter {
        if rr.sqrt() / bn < tol {
            return CgOutcome { x, trace, status: CgStatus::Converged };
        }
        problem.hvp(theta, &d, &mut hd);
        hd.iter_mut().zip(&d).for_each(|(h, di)| *h += damping * di);
        let dhd = dot(&d, &hd);
        if dhd.is_nan() || dhd <= 0.0 {
            let curvature = dhd / dot(&d, &d).max(f64::MIN_POSITIVE);
            return CgOutcome { x, trace, status: CgStatus::Indefinite { step, curvature } };
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
    let status = if rr.sqrt() / bn < tol { CgStatus::Converged } else { CgStatus::MaxIter };
    CgOutcome { x, trace, status }
}

/// Largest eigenvalue of `H + δI` by power iteration (for LiSSA's scale).
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

/// Smallest eigenvalue of `H + δI` on the complement of the null directions: exact
/// from the spectrum for P ≤ [`EXACT_SPECTRUM_MAX`], otherwise by power iteration on
/// `λ_max I − (H + δI)` (an estimate from above).
pub fn smallest_eigenvalue(problem: &Problem, theta: &[f64], damping: f64, lambda_max: f64) -> f64 {
    let (p, null) = (problem.n_params(), problem.null_directions());
    if p <= EXACT_SPECTRUM_MAX {
        let ev = symmetric_eigenvalues(&problem.hessian(theta)).unwrap_or_default();
        // The null directions are exact zeros of H: skip as many of the smallest.
        return ev.get(null.len()).map_or(f64::NAN, |v| v + damping);
    }
    let mut rng = Rng::new(1);
    let mut v: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
    let mut hv = vec![0.0; p];
    let mut mu = 0.0;
    for _ in 0..300 {
        project_out(&null, &mut v);
        let nv = norm(&v).max(f64::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= nv);
        problem.hvp(theta, &v, &mut hv);
        hv.iter_mut().zip(&v).for_each(|(h, x)| *h = lambda_max * x - (*h + damping * x));
        mu = dot(&v, &hv);
        std::mem::swap(&mut v, &mut hv);
    }
    lambda_max - mu
}

/// LiSSA's estimate of `(H + δI)⁻¹ g` and the relative change per step (first repeat).
pub fn lissa_solve(
    problem: &Problem,
    theta: &[f64],
    g: &[f64],
    params: &LissaParams,
) -> Result<(Vec<f64>, Vec<f64>), MethodError> {
    let (p, n) = (g.len(), problem.n());
    let mut rng = Rng::new(params.seed);
    let gn = norm(g);
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
            // v is now v_{step+1}; a convergent series has ‖v_j‖ ≤ (j + 1)‖g‖ (1% slack
            // for rounding).
            let nv = norm(&v);
            let bound = 1.01 * (step + 2) as f64 * gn;
            if !nv.is_finite() || nv > bound {
                let lambda_max = largest_eigenvalue(problem, theta, params.damping, params.seed);
                return Err(MethodError::LissaDiverged {
                    step,
                    norm: nv,
                    bound,
                    scale: params.scale,
                    lambda_max,
                });
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

/// What LiSSA's truncation does, in words: the effective extra damping `s/(J+1)`, and
/// whether J is long enough for the smallest eigenvalue μ (the factor
/// `(1 − μ/s)^{J+1}` left unconverged should be below 1%).
pub fn lissa_notes(params: &LissaParams, smallest: f64) -> Vec<Said> {
    let j1 = (params.depth + 1) as f64;
    let mut notes = vec![Said::new(Text::NoteLissaDepth)
        .with("j", params.depth)
        .with("d", format!("{:.2e}", params.scale / j1))
        .with("s", format!("{:.3e}", params.scale))];
    if smallest.is_finite() && smallest > 0.0 {
        let left = (1.0 - smallest / params.scale).max(0.0).powf(j1);
        if left > 0.01 {
            let needed = (params.scale / smallest * 100f64.ln()).ceil();
            notes.push(
                Said::new(Text::NoteLissaShort)
                    .with("j", params.depth)
                    .with("mu", format!("{smallest:.2e}"))
                    .with("pct", format!("{:.0}", 100.0 * left))
                    .with("needed", format!("{needed:.0}")),
            );
        }
    }
    notes
}

/// Top eigenpairs of `H` from a Krylov basis of dimension `min(P, 2k)`: eigenvalues
/// (descending) and eigenvectors as columns.
pub fn arnoldi_eigenpairs(
    problem: &Problem,
    theta: &[f64],
    k: usize,
    seed: u64,
) -> Result<(Vec<f64>, Array2<f64>), MethodError> {
    let p = problem.n_params();
    if k == 0 || p == 0 {
        return Err(MethodError::Arnoldi(Said::new(Text::ArnoldiNeedsPair)));
    }
    let m = (2 * k).clamp(1, p);
    let mut rng = Rng::new(seed);
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut hq: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut next: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
    let mut restarts = 0;
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
        if nn.is_nan() || nn < 1e-10 {
            restarts += 1;
            if restarts > 10 * m {
                return Err(MethodError::Arnoldi(Said::new(Text::ArnoldiKrylov)));
            }
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
    let (vals, vecs) =
        symmetric_eigen(&t).ok_or_else(|| MethodError::Arnoldi(Said::new(Text::ArnoldiEigenFailed)))?;
    if vals.iter().any(|v| !v.is_finite()) {
        return Err(MethodError::Arnoldi(Said::new(Text::ArnoldiNotFinite)));
    }
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
    Ok((out_vals, out_vecs))
}

/// `(H + δI)⁻¹ g` restricted to the given eigenpairs (eigenvalues at or below
/// `1e-12 · λ_max` are left out: the softmax null directions, and numerical noise).
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
    let p = problem.n_params();
    let (eig, notes) = match method {
        Ihvp::Arnoldi { k, seed } => {
            let e = arnoldi_eigenpairs(problem, theta, *k, *seed)?;
            let kept = e.0.len();
            let note = if kept >= p {
                Said::new(Text::NoteArnoldiAll).with("p", p)
            } else {
                Said::new(Text::NoteArnoldiTop).with("k", kept).with("p", p).with("rest", p - kept)
            };
            (Some(e), vec![note])
        }
        Ihvp::Lissa(params) => {
            let lambda_max = largest_eigenvalue(problem, theta, damping, params.seed);
            (None, lissa_notes(params, smallest_eigenvalue(problem, theta, damping, lambda_max)))
        }
        Ihvp::Cg { .. } => (None, vec![]),
    };
    let solve = |gt: &[f64]| -> Result<(Vec<f64>, Vec<f64>), MethodError> {
        match method {
            Ihvp::Cg { tol, max_iter } => {
                cg_solve(problem, theta, gt, damping, *tol, *max_iter).solution(*tol)
            }
            Ihvp::Lissa(params) => lissa_solve(problem, theta, gt, &LissaParams { damping, ..*params }),
            Ihvp::Arnoldi { .. } => {
                let (vals, vecs) =
                    eig.as_ref().ok_or(MethodError::Arnoldi(Said::new(Text::ArnoldiNoPairs)))?;
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
        Ihvp::Cg { .. } => Method::Cg,
        Ihvp::Lissa(_) => Method::Lissa,
        Ihvp::Arnoldi { .. } => Method::Arnoldi,
    };
    Ok(Scores { trace: first_trace, notes, ..Scores::plain(name, all) })
}
