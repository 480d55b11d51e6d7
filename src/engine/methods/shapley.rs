//! Data Shapley, oriented like `pred_loo_dloss` (the utility is minus the test loss,
//! so a positive value means adding the point lowers the loss: helpful).
//!
//! - **Truncated Monte Carlo** (Ghorbani & Zou 2019): for each of `permutations`
//!   seeded permutations, add the points one by one, refit (warm-started from the
//!   previous prefix, weights 0/1, same λ and `1/n` scaling as the conventions), and
//!   credit each point with the change of utility; a permutation is truncated once the
//!   utility is within `truncation` of the full-data utility. Reports the mean and its
//!   standard error per point.
//! - **KNN-Shapley** (Jia et al. 2019): the exact Shapley value of the K-nearest-
//!   neighbour classifier's utility `(1/K) Σ_{j ≤ K} 1[y_{α_j} = y_t]`, by the recursion
//!   over training points sorted by distance to the test point.

use super::{MethodError, Scores};
use crate::engine::fit::{fit, FitOptions};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::progress::Progress;
use crate::engine::rng::Rng;

/// Truncated Monte Carlo Shapley of every training point for one test row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TmcShapley {
    /// Mean marginal contribution per training point.
    pub value: Vec<f64>,
    /// Its standard error (0 with a single permutation).
    pub std_error: Vec<f64>,
    /// Permutations run.
    pub permutations: usize,
}

/// Run TMC-Shapley for test row `t` of `test`.
pub fn tmc_shapley(
    problem: &Problem,
    test: &Design,
    t: usize,
    permutations: usize,
    truncation: f64,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<TmcShapley, MethodError> {
    let n = problem.n();
    let (x, y) = (test.row(t), test.y[t]);
    let opts = FitOptions { tol: 1e-8, max_iter: 50 };
    let fit_err = |e: crate::engine::fit::FitError| MethodError::NotApplicable(e.to_string());
    let full = fit(problem, None, &opts).map_err(fit_err)?;
    let utility = |theta: &[f64]| -problem.model.loss(theta, x, y);
    let u_full = utility(&full.theta);
    let mut rng = Rng::new(seed);
    let (mut sum, mut sum_sq) = (vec![0.0; n], vec![0.0; n]);
    let mut sub = problem.clone();
    for perm in 0..permutations.max(1) {
        sub.weights.iter_mut().for_each(|w| *w = 0.0);
        let mut theta = vec![0.0; problem.n_params()];
        let mut u_prev = utility(&theta);
        for &i in &rng.permutation(n) {
            let marginal = if (u_full - u_prev).abs() < truncation {
                0.0
            } else {
                sub.weights[i] = problem.weights[i];
                theta = fit(&sub, Some(&theta), &opts).map_err(fit_err)?.theta;
                let u = utility(&theta);
                let d = u - u_prev;
                u_prev = u;
                d
            };
            sum[i] += marginal;
            sum_sq[i] += marginal * marginal;
        }
        if !progress.report(perm + 1, permutations.max(1)) {
            return Err(MethodError::NotApplicable("cancelled".into()));
        }
    }
    let m = permutations.max(1) as f64;
    let value: Vec<f64> = sum.iter().map(|s| s / m).collect();
    let std_error = sum_sq
        .iter()
        .zip(&value)
        .map(
            |(s2, mean)| {
                if m > 1.0 {
                    ((s2 / m - mean * mean).max(0.0) * m / (m - 1.0) / m).sqrt()
                } else {
                    0.0
                }
            },
        )
        .collect();
    Ok(TmcShapley { value, std_error, permutations: permutations.max(1) })
}

/// Exact KNN-Shapley values of every training point for every test row (classifiers).
pub fn knn_shapley(problem: &Problem, test: &Design, k: usize) -> Scores {
    let n = problem.n();
    let k = k.max(1) as f64;
    let mut all = Vec::with_capacity(test.n());
    for t in 0..test.n() {
        let xt = test.row(t);
        let mut order: Vec<(f64, usize)> = (0..n)
            .map(|i| (problem.train.row(i).iter().zip(xt).map(|(a, b)| (a - b) * (a - b)).sum(), i))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let hit = |r: usize| f64::from(u8::from(problem.train.y[order[r].1] == test.y[t]));
        let mut s = vec![0.0; n];
        if n > 0 {
            // Recursion from the farthest point (rank n, 1-based) inwards.
            let mut value = hit(n - 1) / n as f64;
            s[order[n - 1].1] = value;
            for r in (0..n - 1).rev() {
                let rank = (r + 1) as f64;
                value += (hit(r) - hit(r + 1)) / k * k.min(rank) / rank;
                s[order[r].1] = value;
            }
        }
        all.push(s);
    }
    Scores { method: "knn_shapley".into(), scores: all, trace: vec![], std_error: None }
}
