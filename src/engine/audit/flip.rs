//! "How many and which training points would need to be removed to flip this
//! prediction?" (Yang, Jain & Wallace 2023): a greedy search by predicted effect on
//! the margin ([`super::Margin`]), re-ranked after every actual refit.
//!
//! Step k, with the set `S` removed and the model refitted to `θ_S`:
//!
//! ```text
//! Δm_i(θ_S) = (1/n) ∇m(θ_S)ᵀ H_S⁻¹ g_i(θ_S)     for every i ∉ S
//! S ← S ∪ {argmin_i Δm_i}                        (stop if no Δm_i < 0)
//! actual_margin[k]    = m(θ_{S})                  (refit, warm-started from θ̂)
//! predicted_margin[k] = m(θ̂) + Σ_{i ∈ S} Δm_i(θ̂)  (first-order influence alone)
//! ```
//!
//! The search stops when the actual margin is negative (the prediction flipped) or at
//! the limit. A flip is then confirmed by a fit from scratch (no warm start) without
//! `S`; `predicted_k` is the first `k` whose first-order prediction flips, which is
//! how many points influence alone would have said were enough.

use super::{AuditError, Margin};
use crate::engine::fit::{fit, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::model::problem::Problem;
use crate::engine::progress::{Cancelled, Progress};
use crate::engine::retrain::{RefitStats, Retrainer};
use serde::{Deserialize, Serialize};

/// One step of the search: the set's first `k` points removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipStep {
    /// Size of the removed set.
    pub k: usize,
    /// The point added at this step.
    pub index: usize,
    /// First-order margin at `θ̂` with the set removed.
    pub predicted_margin: f64,
    /// Margin after really refitting without the set.
    pub actual_margin: f64,
}

/// The outcome of [`flip_set`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipResult {
    /// The margin at `θ̂`.
    pub margin: f64,
    /// The class predicted at `θ̂` (0 for regression).
    pub class: usize,
    /// Training indices in removal order.
    pub removed: Vec<usize>,
    /// Whether the refit without `removed` changes the prediction.
    pub flipped: bool,
    /// Whether a fit from scratch without `removed` changes it too (`None` when the
    /// search found no flip).
    pub confirmed: Option<bool>,
    /// The class the confirming fit predicts (classifiers).
    pub new_class: Option<usize>,
    /// The first set size at which first-order influence predicts a flip.
    pub predicted_k: Option<usize>,
    /// The largest set allowed.
    pub limit: usize,
    /// One entry per step.
    pub steps: Vec<FlipStep>,
    /// The refits of the search (and the confirming fit).
    pub refits: RefitStats,
}

/// Search a set of at most `limit` training points whose removal flips the
/// prediction for `x` (see the module docs); `threshold` is τ for regression.
pub fn flip_set(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    x: &[f64],
    threshold: Option<f64>,
    limit: usize,
    progress: &mut dyn Progress,
) -> Result<FlipResult, AuditError> {
    let model = &problem.model;
    let n = problem.n();
    let p = problem.n_params();
    let margin = Margin::at(model, theta, x, threshold)?;
    let mut grad_m = vec![0.0; p];
    let m0 = margin.value(model, theta, x, Some(&mut grad_m));
    // Δm_i at θ̂, for the first-order prediction of every prefix.
    let first_order = margin_effects(influence, &grad_m, n)?;
    let limit = limit.min(n.saturating_sub(1));
    let mut retrainer = Retrainer::new(problem, theta, influence, FitOptions::default())?;
    let (mut removed, mut steps, mut refits) = (Vec::new(), Vec::new(), RefitStats::default());
    let mut effects = first_order.clone();
    let mut predicted = m0;
    let mut flipped = m0 < 0.0;
    // Never remove a class's last point: without it that class has no optimum.
    let mut left = class_counts(problem);
    while !flipped && removed.len() < limit {
        let allowed =
            |i: usize| !removed.contains(&i) && left.get(problem.train.y[i] as usize).is_none_or(|&c| c > 1);
        let Some(next) = most_negative(&effects, allowed) else { break };
        if let Some(c) = left.get_mut(problem.train.y[next] as usize) {
            *c -= 1;
        }
        removed.push(next);
        predicted += first_order[next];
        let refit = retrainer.remove_group(&removed)?;
        refits.add(&refit);
        let actual = margin.value(model, &refit.theta, x, None);
        steps.push(FlipStep {
            k: removed.len(),
            index: next,
            predicted_margin: predicted,
            actual_margin: actual,
        });
        flipped = actual < 0.0;
        if !progress.report(removed.len(), limit) {
            return Err(AuditError::Retrain(Cancelled.into()));
        }
        if !flipped {
            effects = effects_at(problem, &refit.theta, &removed, &margin, x, influence.damping)
                .unwrap_or_else(|| first_order.clone());
        }
    }
    let (confirmed, new_class) = if flipped && !removed.is_empty() {
        let mut without = problem.clone();
        removed.iter().for_each(|&i| without.weights[i] = 0.0);
        let report = fit(&without, None, &FitOptions::default())?;
        refits.record(report.converged, report.grad_norm);
        let again = margin.value(model, &report.theta, x, None);
        let class = (model.classes() > 0).then(|| Margin::at(model, &report.theta, x, None).map(|m| m.class));
        (Some(again < 0.0), class.transpose()?)
    } else {
        (None, None)
    };
    let predicted_k = steps.iter().find(|s| s.predicted_margin < 0.0).map(|s| s.k);
    Ok(FlipResult {
        margin: m0,
        class: margin.class,
        removed,
        flipped,
        confirmed,
        new_class,
        predicted_k,
        limit,
        steps,
        refits,
    })
}

/// `Δm_i = (1/n) ∇mᵀ H⁻¹ g_i` for every training point.
fn margin_effects(influence: &Influence, grad_m: &[f64], n: usize) -> Result<Vec<f64>, AuditError> {
    let s = influence.inverse().solve(grad_m)?;
    let inv_n = 1.0 / n as f64;
    Ok(influence
        .train_grads
        .rows()
        .into_iter()
        .map(|g| inv_n * g.iter().zip(&s).map(|(a, b)| a * b).sum::<f64>())
        .collect())
}

/// The margin effects at a refitted `θ_S` with the set removed: `None` when its
/// Hessian cannot be factorised (the caller falls back to the effects at `θ̂`).
fn effects_at(
    problem: &Problem,
    theta: &[f64],
    removed: &[usize],
    margin: &Margin,
    x: &[f64],
    damping: f64,
) -> Option<Vec<f64>> {
    let mut without = problem.clone();
    removed.iter().for_each(|&i| without.weights[i] = 0.0);
    let influence = Influence::new(&without, theta, damping).ok()?;
    let mut grad_m = vec![0.0; problem.n_params()];
    margin.value(&problem.model, theta, x, Some(&mut grad_m));
    margin_effects(&influence, &grad_m, problem.n()).ok()
}

/// Training points per class (empty for regression).
pub(super) fn class_counts(problem: &Problem) -> Vec<usize> {
    let mut count = vec![0usize; problem.model.classes()];
    for &y in &problem.train.y {
        if let Some(c) = count.get_mut(y as usize) {
            *c += 1;
        }
    }
    count
}

/// The allowed point whose removal lowers the margin most, if any does.
fn most_negative(effects: &[f64], allowed: impl Fn(usize) -> bool) -> Option<usize> {
    effects
        .iter()
        .enumerate()
        .filter(|(i, e)| allowed(*i) && e.is_finite() && **e < 0.0)
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}
