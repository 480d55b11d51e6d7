//! How good an attribution is, by the checks of the conventions ("Evaluation"):
//!
//! - **Agreement** with a reference (exact influence, or actual leave-one-out): Pearson
//!   and Spearman per test point (mean, median, min) and pooled over all pairs, and the
//!   overlap of the top-k most helpful points.
//! - **Linear datamodeling score** (Park et al. 2023): M seeded random subsets of
//!   fraction α (stratified by class, so that no class is missing from a subset), the
//!   model retrained on each (weights 0/1, `1/n` kept, warm-started);
//!   per test point the Spearman, across subsets, between the summed scores of the
//!   subset and minus the retrained test loss; averaged over test points. The refits
//!   are computed once ([`lds_refits`]) and shared by every method ([`lds`]).
//! - **Mislabel detection**: flip a seeded fraction of training labels (each to a
//!   random other class), refit, rank the points by a self-score (descending; every
//!   self-score is computed directly, never as the diagonal of an n × n matrix) and
//!   report the fraction of flipped labels
//!   found against the fraction checked, and its area (with 10% flips the best
//!   possible area is 0.95, random about 0.5).

use crate::engine::fit::{fit, FitError, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::linalg::LinalgError;
use crate::engine::methods::peers::{gradient_self_dot, tracin_self, TracInParams};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::ModelKind;
use crate::engine::progress::{Cancelled, Progress};
use crate::engine::retrain::RefitStats;
use crate::engine::rng::Rng;
use crate::engine::stats::{pearson, spearman, summary, Summary};
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// Agreement of `scores[t][i]` with `reference[t][i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Per-test Pearson r.
    pub pearson: Option<Summary>,
    /// Per-test Spearman ρ.
    pub spearman: Option<Summary>,
    /// Pearson over all (t, i) pairs.
    pub pooled_pearson: Option<f64>,
    /// Spearman over all (t, i) pairs.
    pub pooled_spearman: Option<f64>,
    /// Mean overlap of the top-k most helpful points.
    pub top_k_overlap: f64,
    /// The k used.
    pub k: usize,
}

/// Indices of the `k` largest values (most helpful), ties by index. NaN never ranks
/// above a number (it sorts last).
pub fn top_k(v: &[f64], k: usize) -> Vec<usize> {
    let key = |i: usize| if v[i].is_nan() { f64::NEG_INFINITY } else { v[i] };
    first_k((0..v.len()).collect(), k, |&a, &b| {
        key(b).total_cmp(&key(a)).then(v[a].is_nan().cmp(&v[b].is_nan())).then(a.cmp(&b))
    })
}

/// The first `k` of `items` in the order `cmp`, in that order: a selection in linear
/// time, then a sort of the `k` (a full sort of 40,000 scores to show five took
/// 10–15 ms on the page). `cmp` must be a total order (end it with the index), so
/// the answer is the one a full sort would give.
pub fn first_k<T>(mut items: Vec<T>, k: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    if k < items.len() {
        items.select_nth_unstable_by(k, &cmp);
        items.truncate(k);
    }
    items.sort_unstable_by(cmp);
    items
}

/// Index of the largest value (the first on ties; NaN never wins), or 0 when empty.
pub fn argmax(v: &[f64]) -> usize {
    top_k(v, 1).first().copied().unwrap_or(0)
}

/// Share of `top_k(a)` that is in `top_k(b)`.
pub fn top_k_overlap(a: &[f64], b: &[f64], k: usize) -> f64 {
    let (ta, tb) = (top_k(a, k), top_k(b, k));
    if ta.is_empty() {
        return 0.0;
    }
    ta.iter().filter(|i| tb.contains(i)).count() as f64 / ta.len() as f64
}

/// See [`Agreement`].
pub fn agreement(scores: &[Vec<f64>], reference: &[Vec<f64>], k: usize) -> Agreement {
    let pairs = scores.iter().zip(reference);
    let p: Vec<f64> = pairs.clone().filter_map(|(a, b)| pearson(a, b)).collect();
    let s: Vec<f64> = pairs.clone().filter_map(|(a, b)| spearman(a, b)).collect();
    let overlaps: Vec<f64> = pairs.map(|(a, b)| top_k_overlap(a, b, k)).collect();
    let (fa, fb): (Vec<f64>, Vec<f64>) = (scores.concat(), reference.concat());
    Agreement {
        pearson: summary(&p),
        spearman: summary(&s),
        pooled_pearson: pearson(&fa, &fb),
        pooled_spearman: spearman(&fa, &fb),
        top_k_overlap: if overlaps.is_empty() {
            0.0
        } else {
            overlaps.iter().sum::<f64>() / overlaps.len() as f64
        },
        k,
    }
}

/// The subsets and their retrained test losses, shared by every method's LDS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LdsRefits {
    /// Members of each subset.
    pub subsets: Vec<Vec<usize>>,
    /// `losses[m][t]`: test loss of the model retrained on subset m.
    pub losses: Vec<Vec<f64>>,
    /// How the refits converged.
    pub refits: RefitStats,
}

/// Why an evaluation stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum EvalError {
    /// A refit failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// Cancelled by the user.
    #[error("{}", self.said())]
    Cancelled,
    /// The Hessian of the refitted model could not be factorised.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Mislabel detection on a real-valued target.
    #[error("{}", self.said())]
    NeedsClasses,
}

impl From<Cancelled> for EvalError {
    fn from(_: Cancelled) -> Self {
        EvalError::Cancelled
    }
}

/// The stratum of each training row: its class, or 0 for a real target.
pub fn strata(problem: &Problem) -> Vec<usize> {
    match problem.model.kind {
        ModelKind::Linear => vec![0; problem.n()],
        _ => problem.train.y.iter().map(|&y| y as usize).collect(),
    }
}

/// `m` seeded random subsets of `0..n` (`n = strata.len()`), sorted, each holding
/// `round(alpha · n_s)` rows of every stratum `s` (at least one).
pub fn random_subsets(strata: &[usize], m: usize, alpha: f64, seed: u64) -> Vec<Vec<usize>> {
    let alpha = alpha.clamp(0.0, 1.0);
    let k = strata.iter().copied().max().map_or(0, |s| s + 1);
    let mut rng = Rng::new(seed);
    let mut counts = vec![0usize; k];
    strata.iter().for_each(|&s| counts[s] += 1);
    let want: Vec<usize> =
        counts.iter().map(|&c| (((c as f64) * alpha).round() as usize).clamp(c.min(1), c)).collect();
    (0..m)
        .map(|_| {
            let mut taken = vec![0usize; k];
            let mut members: Vec<usize> = rng
                .permutation(strata.len())
                .into_iter()
                .filter(|&i| {
                    let s = strata[i];
                    let keep = taken[s] < want[s];
                    taken[s] += usize::from(keep);
                    keep
                })
                .collect();
            members.sort_unstable();
            members
        })
        .collect()
}

/// Test losses of `full` retrained on `members` only (weights 0/1, `1/n` kept),
/// warm-started from `theta_hat`, and whether the refit converged. `scratch` is a copy
/// of `full` whose weights are overwritten (so repeated refits do not clone the data).
pub fn subset_losses(
    full: &Problem,
    scratch: &mut Problem,
    theta_hat: &[f64],
    members: &[usize],
    test: &Design,
) -> Result<(Vec<f64>, bool, f64), FitError> {
    scratch.weights.iter_mut().for_each(|w| *w = 0.0);
    for &i in members {
        scratch.weights[i] = full.weights[i];
    }
    let refit = fit(scratch, Some(theta_hat), &FitOptions::default())?;
    Ok((full.losses(&refit.theta, test), refit.converged, refit.grad_norm))
}

/// The LDS retraining, one subset per step: the CLI runs it to the end
/// ([`lds_refits`]), the worker a time slice at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct LdsJob {
    refits: LdsRefits,
    /// The subsets this job retrains (all, or one worker's block).
    range: std::ops::Range<usize>,
}

impl LdsJob {
    /// `m` seeded stratified subsets of fraction `alpha` of `problem`'s rows.
    pub fn new(problem: &Problem, m: usize, alpha: f64, seed: u64) -> Self {
        Self::range(problem, m, alpha, seed, 0..m)
    }

    /// The same subsets, of which only `range` is retrained (one worker's block of a
    /// job shared among several; [`LdsJob::join`] puts the blocks back together).
    pub fn range(problem: &Problem, m: usize, alpha: f64, seed: u64, range: std::ops::Range<usize>) -> Self {
        let subsets = random_subsets(&strata(problem), m, alpha, seed);
        let range = range.start.min(m)..range.end.min(m).max(range.start.min(m));
        Self { refits: LdsRefits { subsets, losses: Vec::new(), refits: RefitStats::default() }, range }
    }

    /// Subsets retrained so far.
    pub fn done(&self) -> usize {
        self.refits.losses.len()
    }

    /// Subsets in all.
    pub fn total(&self) -> usize {
        self.range.len()
    }

    /// Whether every subset is retrained.
    pub fn is_finished(&self) -> bool {
        self.done() >= self.total()
    }

    /// Retrain the next subset.
    pub fn step(
        &mut self,
        full: &Problem,
        scratch: &mut Problem,
        theta_hat: &[f64],
        test: &Design,
    ) -> Result<(), FitError> {
        let next = self.range.start + self.done();
        let Some(members) = self.refits.subsets.get(next).filter(|_| next < self.range.end) else {
            return Ok(());
        };
        let (losses, converged, grad) = subset_losses(full, scratch, theta_hat, members, test)?;
        self.refits.losses.push(losses);
        self.refits.refits.record(converged, grad);
        Ok(())
    }

    /// The losses of this job's subsets, in order, and how their refits converged.
    pub fn block(&self) -> (Vec<Vec<f64>>, RefitStats) {
        (self.refits.losses.clone(), self.refits.refits)
    }

    /// The whole retraining from its blocks in order (see [`LdsJob::block`]); `None`
    /// when they do not cover every subset exactly.
    pub fn join(&self, blocks: impl IntoIterator<Item = (Vec<Vec<f64>>, RefitStats)>) -> Option<LdsRefits> {
        let mut joined =
            LdsRefits { subsets: self.refits.subsets.clone(), losses: vec![], refits: RefitStats::default() };
        for (losses, refits) in blocks {
            joined.losses.extend(losses);
            joined.refits.merge(&refits);
        }
        (joined.losses.len() == joined.subsets.len()).then_some(joined)
    }

    /// The subsets and losses (complete once [`LdsJob::is_finished`] for a job over
    /// every subset).
    pub fn into_refits(self) -> LdsRefits {
        self.refits
    }
}

/// Retrain on `m` seeded subsets of fraction `alpha`.
pub fn lds_refits(
    problem: &Problem,
    theta_hat: &[f64],
    test: &Design,
    m: usize,
    alpha: f64,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<LdsRefits, EvalError> {
    let mut job = LdsJob::new(problem, m, alpha, seed);
    let mut scratch = problem.clone();
    while !job.is_finished() {
        job.step(problem, &mut scratch, theta_hat, test)?;
        if !progress.report(job.done(), job.total()) {
            return Err(EvalError::Cancelled);
        }
    }
    Ok(job.into_refits())
}

/// The linear datamodeling score of `scores[t][i]`: mean over test points of
/// Spearman(Σ_{i∈S} score_i, −loss_t(S)) across subsets S.
pub fn lds(refits: &LdsRefits, scores: &[Vec<f64>]) -> Option<f64> {
    let per_test: Vec<f64> = scores
        .iter()
        .enumerate()
        .filter_map(|(t, s)| {
            let predicted: Vec<f64> = refits.subsets.iter().map(|m| m.iter().map(|&i| s[i]).sum()).collect();
            let actual: Vec<f64> = refits.losses.iter().map(|l| -l[t]).collect();
            spearman(&predicted, &actual)
        })
        .collect();
    (!per_test.is_empty()).then(|| per_test.iter().sum::<f64>() / per_test.len() as f64)
}

/// Flip a seeded `fraction` of training labels, each to a class drawn uniformly from
/// the other classes; returns the changed problem and which rows were flipped.
pub fn flip_labels(problem: &Problem, n_classes: usize, fraction: f64, seed: u64) -> (Problem, Vec<bool>) {
    let n = problem.n();
    let k = n_classes.max(2);
    let count = ((n as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let mut flipped = vec![false; n];
    let mut out = problem.clone();
    let mut rng = Rng::new(seed);
    for i in rng.permutation(n).into_iter().take(count) {
        flipped[i] = true;
        let shift = 1 + rng.below(k - 1);
        out.train.y[i] = ((out.train.y[i] as usize + shift) % k) as f64;
    }
    (out, flipped)
}

/// Fraction of flipped labels found against fraction checked, checking in order of
/// decreasing `self_score`; and the area under that curve (trapezoid on [0, 1]).
pub fn detection_curve(self_score: &[f64], flipped: &[bool]) -> (Vec<[f64; 2]>, f64) {
    let n = self_score.len();
    let total = flipped.iter().filter(|f| **f).count();
    if n == 0 || total == 0 {
        return (vec![[0.0, 0.0], [1.0, 0.0]], 0.0);
    }
    let mut found = 0;
    let mut curve = vec![[0.0, 0.0]];
    for (k, i) in top_k(self_score, n).into_iter().enumerate() {
        found += usize::from(flipped[i]);
        curve.push([(k + 1) as f64 / n as f64, found as f64 / total as f64]);
    }
    let auc = curve.windows(2).map(|w| (w[1][0] - w[0][0]) * (w[1][1] + w[0][1]) / 2.0).sum();
    (curve, auc)
}

impl EvalError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::Fit(e) => e.said(),
            Self::Linalg(e) => e.said(),
            Self::Cancelled => Said::new(Text::ErrCancelled),
            Self::NeedsClasses => Said::new(Text::ErrNeedsLabels),
        }
    }
}

/// An order in which to check training points for wrong labels: a self-score, or the
/// two references (random, and the oracle that knows which labels were flipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfRanking {
    /// Self-influence `g_iᵀ H⁻¹ g_i`.
    SelfInfluence,
    /// The training loss.
    TrainLoss,
    /// The squared gradient norm `‖g_i‖²`.
    GradDot,
    /// TracIn of a point on itself.
    Tracin,
    /// A seeded random order.
    Random,
    /// The flipped points first (knows the answer; the best possible order).
    Oracle,
}

impl SelfRanking {
    /// Its identifier (JSON keys of the CLI, `data-method` on the page).
    pub fn id(self) -> &'static str {
        match self {
            SelfRanking::SelfInfluence => "self_influence",
            SelfRanking::TrainLoss => "train_loss",
            SelfRanking::GradDot => "grad_dot",
            SelfRanking::Tracin => "tracin",
            SelfRanking::Random => "random",
            SelfRanking::Oracle => "oracle",
        }
    }
}

/// A mislabel experiment: which training rows were flipped, and each ranking's
/// self-score per training point (checked in decreasing order).
#[derive(Debug, Clone, PartialEq)]
pub struct MislabelExperiment {
    /// Flipped rows.
    pub flipped: Vec<bool>,
    /// `(ranking, self-score)` of every ranking but the oracle.
    pub rankings: Vec<(SelfRanking, Vec<f64>)>,
    /// The refit on the flipped labels.
    pub refit: RefitStats,
    /// The problem with the flipped labels.
    pub flipped_problem: Problem,
    /// Its fitted parameters.
    pub theta: Vec<f64>,
}

/// Flip a seeded `fraction` of the labels, refit, and compute every ranking's
/// self-scores with damping `damping`.
pub fn mislabel_experiment(
    problem: &Problem,
    n_classes: usize,
    fraction: f64,
    seed: u64,
    damping: f64,
    tracin_params: &TracInParams,
) -> Result<MislabelExperiment, EvalError> {
    if n_classes < 2 {
        return Err(EvalError::NeedsClasses);
    }
    let (flipped_problem, flipped) = flip_labels(problem, n_classes, fraction, seed);
    let report = fit(&flipped_problem, None, &FitOptions::default())?;
    let mut refit = RefitStats::default();
    refit.record(report.converged, report.grad_norm);
    let theta = report.theta;
    let inf = Influence::new(&flipped_problem, &theta, damping)?;
    let mut rng = Rng::new(seed ^ 0x5EED);
    let rankings = vec![
        (SelfRanking::SelfInfluence, inf.self_influence()?),
        (SelfRanking::TrainLoss, inf.train_losses.clone()),
        (SelfRanking::GradDot, gradient_self_dot(&flipped_problem, &theta)),
        (SelfRanking::Tracin, tracin_self(&flipped_problem, tracin_params)),
        (SelfRanking::Random, (0..flipped.len()).map(|_| rng.uniform()).collect()),
    ];
    Ok(MislabelExperiment { flipped, rankings, refit, flipped_problem, theta })
}
