//! "Fix-first" curves (Koh & Liang 2017, Fig. 6): check the training rows in a
//! ranking's order, act on what the check finds, really retrain, and measure the test
//! set. Two actions:
//!
//! - [`Action::Fix`]: with seeded label flips, checking a row whose label was flipped
//!   restores its true label (an oracle reviewer); rows that were not flipped stay.
//! - [`Action::Remove`]: on data nobody flipped, every checked row is removed, which
//!   shows how much a clean dataset is harmed by trusting a noisy ranking.
//!
//! Each point of a curve is a refit (warm-started from the previous one, to the fit's
//! tolerance) on the changed data; its test accuracy and mean test loss are what
//! really happens, not a prediction.

use super::AuditError;
use crate::engine::evaluate::top_k;
use crate::engine::fit::{fit, FitOptions};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::pipeline::metric;
use crate::engine::progress::{Cancelled, Progress};
use serde::{Deserialize, Serialize};

/// What a check does to a checked row.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    /// Restore the true labels (`clean[i]`) of checked rows whose label differs.
    Fix {
        /// The labels before flipping.
        clean: &'a [f64],
    },
    /// Remove every checked row.
    Remove,
}

/// One point of a fix-first curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixPoint {
    /// Fraction of the training rows checked.
    pub checked: f64,
    /// Test accuracy after the refit.
    pub accuracy: f64,
    /// Mean test loss after the refit.
    pub loss: f64,
    /// Whether the refit converged.
    pub converged: bool,
}

/// The curve of checking `problem`'s rows in decreasing `scores`, at each fraction of
/// `fractions` (ascending, in [0, 1]), measured on `test`.
pub fn fix_first_curve(
    problem: &Problem,
    theta: &[f64],
    scores: &[f64],
    action: &Action,
    fractions: &[f64],
    test: &Design,
    progress: &mut dyn Progress,
) -> Result<Vec<FixPoint>, AuditError> {
    if problem.model.classes() == 0 {
        return Err(AuditError::NeedsClasses);
    }
    let n = problem.n();
    let order = top_k(scores, n);
    let mut changed = problem.clone();
    let mut start = theta.to_vec();
    let mut done = 0;
    let mut curve = Vec::with_capacity(fractions.len());
    let keep_class = keeper(problem);
    for (step, &f) in fractions.iter().enumerate() {
        let upto = ((f.clamp(0.0, 1.0) * n as f64).round() as usize).min(n);
        for &i in &order[done.min(upto)..upto] {
            match action {
                Action::Fix { clean } => changed.train.y[i] = clean[i],
                Action::Remove if keep_class(&changed, i) => changed.weights[i] = 0.0,
                Action::Remove => {}
            }
        }
        done = done.max(upto);
        let report = fit(&changed, Some(&start), &FitOptions::default())?;
        let (_, accuracy) = metric(&changed.model, &report.theta, test);
        let losses = changed.losses(&report.theta, test);
        let loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        curve.push(FixPoint { checked: upto as f64 / n as f64, accuracy, loss, converged: report.converged });
        start = report.theta;
        if !progress.report(step + 1, fractions.len()) {
            return Err(AuditError::Retrain(Cancelled.into()));
        }
    }
    Ok(curve)
}

/// Whether removing row `i` leaves its class other rows with weight (a class with no
/// weight has no optimum, so such a row is kept).
fn keeper(problem: &Problem) -> impl Fn(&Problem, usize) -> bool {
    let classes = problem.model.classes();
    move |p: &Problem, i: usize| {
        if classes == 0 {
            return true;
        }
        let c = p.train.y[i];
        (0..p.n()).any(|j| j != i && p.train.y[j] == c && p.weights[j] > 0.0)
    }
}
