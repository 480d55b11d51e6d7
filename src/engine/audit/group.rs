//! Removing a group of training points at once: the first-order prediction (the sum of
//! the members' effects, conventions), the second-order group influence of Basu, You &
//! Feizi 2020, and the actual refit.
//!
//! Removal of a group `U` is `R_ε(θ) = R(θ) − ε L_U(θ)` at `ε = 1`, with
//! `L_U = (1/n) Σ_{i∈U} l_i` (the conventions keep dividing by n). Expanding the
//! optimum in ε:
//!
//! ```text
//! g_U = ∇L_U(θ̂) = (1/n) Σ_{i∈U} g_i          H_U = ∇²L_U(θ̂) = (1/n) Σ_{i∈U} ∇²l_i
//! Δθ⁽¹⁾ = H⁻¹ g_U                              (first order: Σ of the single removals)
//! Δθ⁽²⁾ = Δθ⁽¹⁾ + H⁻¹ H_U Δθ⁽¹⁾                (second order)
//! ```
//!
//! The second-order term is the members' interaction through the curvature they
//! carry: removing them also removes their share `H_U` of `H`, which first-order
//! influence ignores, so first order *underestimates* large groups. As in Basu et al.,
//! third derivatives of the training loss are neglected. A test loss responds
//! to first order in the first-order estimate (conventions: the sum of the members'
//! `pred_loo_dloss`) and to second order in the second-order one:
//! `Δl_t ≈ ∇l_tᵀ Δθ⁽²⁾ + ½ Δθ⁽¹⁾ᵀ ∇²l_t Δθ⁽¹⁾`, every term of order ε².

use super::AuditError;
use crate::engine::fit::FitOptions;
use crate::engine::influence::Influence;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::retrain::{Refit, Retrainer};
use serde::{Deserialize, Serialize};

/// A group's effect on one test point's loss and on the total test loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// Change of the chosen test point's loss (`None` when no point was chosen).
    pub test_dloss: Option<f64>,
    /// Change of the test loss summed over the test set.
    pub total_dloss: f64,
}

/// The three answers for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupEffect {
    /// Members.
    pub size: usize,
    /// First-order influence (sum over members).
    pub first_order: Effect,
    /// Second-order group influence.
    pub second_order: Effect,
    /// The refit without the group.
    pub actual: Effect,
    /// Whether that refit converged.
    pub converged: bool,
}

/// All three effects of removing `group`, on test row `test_index` (if any) and on
/// the whole of `test`.
pub fn group_effect(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    group: &[usize],
    test: &Design,
    test_index: Option<usize>,
) -> Result<GroupEffect, AuditError> {
    let mut members = group.to_vec();
    members.sort_unstable();
    members.dedup();
    check_group(problem, &members)?;
    if let Some(t) = test_index.filter(|&t| t >= test.n()) {
        return Err(AuditError::NoTestPoint { index: t, n: test.n() });
    }
    let n = problem.n() as f64;
    let p = problem.n_params();
    let mut g_u = vec![0.0; p];
    for &i in &members {
        g_u.iter_mut().zip(influence.train_grads.row(i)).for_each(|(a, b)| *a += b / n);
    }
    let first = influence.inverse().solve(&g_u)?;
    let cross = influence.inverse().solve(&group_hvp(problem, theta, &members, &first))?;
    let second: Vec<f64> = first.iter().zip(&cross).map(|(a, b)| a + b).collect();

    let (g_test, losses) = problem.example_grads(theta, test);
    let dot = |t: usize, d: &[f64]| g_test.row(t).iter().zip(d).map(|(a, b)| a * b).sum::<f64>();
    let linear = |d: &[f64]| Effect {
        test_dloss: test_index.map(|t| dot(t, d)),
        total_dloss: (0..test.n()).map(|t| dot(t, d)).sum(),
    };
    let curv = test_curvature(problem, theta, test, &first);
    let quadratic = |d: &[f64]| Effect {
        test_dloss: test_index.map(|t| dot(t, d) + curv[t]),
        total_dloss: (0..test.n()).map(|t| dot(t, d) + curv[t]).sum(),
    };
    let mut retrainer = Retrainer::new(problem, theta, influence, FitOptions::default())?;
    let Refit { theta: refit, converged, .. } = retrainer.remove_group(&members)?;
    let after = problem.losses(&refit, test);
    let actual = Effect {
        test_dloss: test_index.map(|t| after[t] - losses[t]),
        total_dloss: after.iter().zip(&losses).map(|(a, b)| a - b).sum(),
    };
    Ok(GroupEffect {
        size: members.len(),
        first_order: linear(&first),
        second_order: quadratic(&second),
        actual,
        converged,
    })
}

/// As [`group_effect`], with the chosen point given as its own one-row `point`
/// (a test point or a query point) instead of a test index: `test_dloss` is its change,
/// `total_dloss` the test set's.
pub fn group_effect_at(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    group: &[usize],
    test: &Design,
    point: &Design,
) -> Result<GroupEffect, AuditError> {
    let d = problem.model.d;
    let rows: Vec<f64> =
        (0..test.n()).flat_map(|t| test.row(t).to_vec()).chain(point.row(0).to_vec()).collect();
    let y: Vec<f64> = test.y.iter().copied().chain(point.y.first().copied()).collect();
    let both = Design::new(d, rows, y);
    let mut e = group_effect(problem, theta, influence, group, &both, Some(test.n()))?;
    for effect in [&mut e.first_order, &mut e.second_order, &mut e.actual] {
        effect.total_dloss -= effect.test_dloss.unwrap_or(0.0);
    }
    Ok(e)
}

/// The three effects as the group grows: removing the first `k` of `ordered` for
/// `steps` sizes evenly spaced up to all of them.
pub fn group_curve(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    ordered: &[usize],
    steps: usize,
    test: &Design,
    point: &Design,
) -> Result<Vec<GroupEffect>, AuditError> {
    let m = ordered.len();
    let steps = steps.clamp(1, m.max(1));
    let mut sizes: Vec<usize> = (1..=steps).map(|s| (s * m).div_ceil(steps)).collect();
    sizes.dedup();
    sizes
        .into_iter()
        .map(|k| group_effect_at(problem, theta, influence, &ordered[..k], test, point))
        .collect()
}

/// `½ vᵀ ∇²l_t v` for every test row, from central differences of the test gradients
/// along `v` (exact to `O(h²)`; no P × P matrix per test point).
fn test_curvature(problem: &Problem, theta: &[f64], test: &Design, v: &[f64]) -> Vec<f64> {
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if norm == 0.0 {
        return vec![0.0; test.n()];
    }
    let h = 1e-4 / norm;
    let at = |s: f64| {
        let shifted: Vec<f64> = theta.iter().zip(v).map(|(t, d)| t + s * d).collect();
        problem.example_grads(&shifted, test).0
    };
    let (up, down) = (at(h), at(-h));
    (0..test.n())
        .map(|t| {
            0.5 * up
                .row(t)
                .iter()
                .zip(down.row(t))
                .zip(v)
                .map(|((a, b), d)| (a - b) / (2.0 * h) * d)
                .sum::<f64>()
        })
        .collect()
}

/// `H_U v = (1/n) Σ_{i∈U} w_i ∇²l_i v` (no regulariser).
fn group_hvp(problem: &Problem, theta: &[f64], members: &[usize], v: &[f64]) -> Vec<f64> {
    let n = problem.n() as f64;
    let mut rows = members.to_vec();
    rows.sort_unstable();
    rows.dedup();
    let mut out = vec![0.0; v.len()];
    let mut bare = problem.clone();
    bare.lambda = 0.0;
    bare.curvature_vp_by(theta, v, rows, &mut out, |i, dz| {
        let w = problem.weights[i] / n;
        (w != 0.0).then(|| (w, dz.iter().map(|d| w * d).collect()))
    });
    out
}

/// A group must name existing points and leave every class some training data.
pub fn check_group(problem: &Problem, members: &[usize]) -> Result<(), AuditError> {
    if members.is_empty() {
        return Err(AuditError::EmptyGroup);
    }
    let n = problem.n();
    if let Some(&i) = members.iter().find(|&&i| i >= n) {
        return Err(AuditError::NoTrainingPoint { index: i, n });
    }
    if members.len() >= n {
        return Err(AuditError::GroupIsEverything);
    }
    let mut left = super::flip::class_counts(problem);
    for &i in members {
        if let Some(c) = left.get_mut(problem.train.y[i] as usize) {
            *c -= 1;
        }
    }
    if let Some(class) = left.iter().position(|&c| c == 0) {
        return Err(AuditError::GroupEmptiesClass(class));
    }
    Ok(())
}
