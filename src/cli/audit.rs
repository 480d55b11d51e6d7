//! `attrib audit`, `attrib flip` and `attrib group`: the audit workflows of
//! [`crate::engine::audit`] on CSV files. Indices are 0-based rows of the training (or
//! test) CSV; labels are written as they appear in the CSV.

use super::args::{AuditArgs, FlipArgs, GroupArgs};
use super::{prepare, CliError, Prepared};
use crate::engine::audit::flip::{flip_set, FlipStep};
use crate::engine::audit::group::{group_effect, Effect};
use crate::engine::audit::review::{candidates, review_scores, ReviewScore, TestEffect};
use crate::engine::methods::peers::TracInParams;
use crate::engine::progress::Silent;
use crate::engine::retrain::RefitStats;
use serde::Serialize;

/// A neighbour in `audit`'s output.
#[derive(Debug, Serialize)]
pub struct NeighbourOutput {
    /// Training row.
    pub index: usize,
    /// Its label.
    pub label: String,
    /// Distance after z-scoring each feature.
    pub distance: f64,
}

/// One candidate of `audit`.
#[derive(Debug, Serialize)]
pub struct CandidateOutput {
    /// Training row.
    pub index: usize,
    /// Its score under the ranking.
    pub score: f64,
    /// Its label.
    pub label: String,
    /// The model's class probabilities for it (`[ŷ]` for regression).
    pub probs: Vec<f64>,
    /// Nearest training rows, nearest first.
    pub neighbours: Vec<NeighbourOutput>,
    /// The test rows it affects most (`dloss`: pred_loo_dloss).
    pub effects: Vec<TestEffect>,
}

/// `attrib audit`'s JSON.
#[derive(Debug, Serialize)]
pub struct AuditOutput {
    /// The ranking.
    pub rank: &'static str,
    /// Class names, in the order of `probs`.
    pub classes: Vec<String>,
    /// The candidates in review order.
    pub candidates: Vec<CandidateOutput>,
    /// Warnings about the input and the fit.
    pub warnings: Vec<String>,
}

/// `attrib audit`.
pub fn audit(a: &AuditArgs) -> Result<AuditOutput, CliError> {
    let p = prepare(&a.data)?;
    let f = &p.fitted;
    let score = ReviewScore::from(a.rank);
    let tracin = TracInParams::default();
    let scores = review_scores(&f.problem, f.theta(), &f.influence, &p.design, score, &tracin)
        .map_err(CliError::engine)?;
    let found = candidates(&f.problem, f.theta(), &f.influence, &p.design, &scores, a.top as usize)
        .map_err(CliError::engine)?;
    let label = |y: f64| p.train.label_text(y);
    Ok(AuditOutput {
        rank: score.id(),
        classes: p.class_names(),
        candidates: found
            .into_iter()
            .map(|c| CandidateOutput {
                index: c.index,
                score: c.score,
                label: label(c.label),
                probs: c.probs,
                neighbours: c
                    .neighbours
                    .into_iter()
                    .map(|n| NeighbourOutput { index: n.index, label: label(n.label), distance: n.distance })
                    .collect(),
                effects: c.effects,
            })
            .collect(),
        warnings: p.all_warnings(),
    })
}

/// `attrib flip`'s JSON.
#[derive(Debug, Serialize)]
pub struct FlipOutput {
    /// The test row.
    pub test_index: usize,
    /// What the model predicts for it (a class name, or `ŷ`).
    pub prediction: String,
    /// Its margin (positive; see the README).
    pub margin: f64,
    /// Training rows in removal order.
    pub removed: Vec<usize>,
    /// Whether the refit without `removed` changes the prediction.
    pub flipped: bool,
    /// Whether a fit from scratch without `removed` changes it too.
    pub confirmed: Option<bool>,
    /// What the confirming fit predicts (classifiers).
    pub new_prediction: Option<String>,
    /// The first set size at which first-order influence alone predicts a flip.
    pub predicted_k: Option<usize>,
    /// The largest set tried.
    pub limit: usize,
    /// One entry per step.
    pub steps: Vec<FlipStep>,
    /// The refits behind the actual margins.
    pub refits: RefitStats,
}

/// `attrib flip`.
pub fn flip(a: &FlipArgs) -> Result<FlipOutput, CliError> {
    let p = prepare(&a.data)?;
    let t = test_row(&p, a.test_index)?;
    let f = &p.fitted;
    let limit = a.max_removed.map_or(p.train.n() / 10, |k| k as usize).max(1);
    let x = p.design.row(t);
    let r = flip_set(&f.problem, f.theta(), &f.influence, x, a.threshold, limit, &mut Silent)
        .map_err(CliError::engine)?;
    let classes = p.class_names();
    let name = |c: usize| classes.get(c).cloned().unwrap_or_default();
    let prediction = if classes.is_empty() {
        format!("{}", f.problem.model.predict(f.theta(), x)[0])
    } else {
        name(r.class)
    };
    Ok(FlipOutput {
        test_index: t,
        prediction,
        margin: r.margin,
        removed: r.removed,
        flipped: r.flipped,
        confirmed: r.confirmed,
        new_prediction: r.new_class.map(name),
        predicted_k: r.predicted_k,
        limit: r.limit,
        steps: r.steps,
        refits: r.refits,
    })
}

/// `attrib group`'s JSON.
#[derive(Debug, Serialize)]
pub struct GroupOutput {
    /// The group, sorted, without repeats.
    pub members: Vec<usize>,
    /// The test row of `test_dloss`, if one was given.
    pub test_index: Option<usize>,
    /// First-order influence: the sum of the members' effects.
    pub first_order: Effect,
    /// Second-order group influence (Basu et al. 2020).
    pub second_order: Effect,
    /// The refit without the group.
    pub actual: Effect,
    /// Whether that refit converged.
    pub converged: bool,
}

/// `attrib group`.
pub fn group(a: &GroupArgs) -> Result<GroupOutput, CliError> {
    let p = prepare(&a.data)?;
    let t = a.test_index.map(|t| test_row(&p, t)).transpose()?;
    let f = &p.fitted;
    let e = group_effect(&f.problem, f.theta(), &f.influence, &a.members, &p.design, t)
        .map_err(CliError::engine)?;
    let mut members = a.members.clone();
    members.sort_unstable();
    members.dedup();
    Ok(GroupOutput {
        members,
        test_index: t,
        first_order: e.first_order,
        second_order: e.second_order,
        actual: e.actual,
        converged: e.converged,
    })
}

/// `t` if the test CSV has such a row.
fn test_row(p: &Prepared, t: usize) -> Result<usize, CliError> {
    if t < p.design.n() {
        Ok(t)
    } else {
        Err(CliError::Usage(format!(
            "--test-index {t}: the test file has {} rows (0 to {})",
            p.design.n(),
            p.design.n().saturating_sub(1)
        )))
    }
}
