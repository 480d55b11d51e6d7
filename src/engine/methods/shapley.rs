//! Data Shapley, oriented like `pred_loo_dloss` (a positive value means adding the
//! point helps the test point).
//!
//! - **Truncated Monte Carlo** (Ghorbani & Zou 2019): for each of `permutations`
//!   seeded permutations, add the points one by one, refit (warm-started from the
//!   previous prefix, weights 0/1, same λ, `1/n` scaling and tolerance as the
//!   conventions), and credit each point with the change of utility; a permutation is
//!   truncated once the utility is within `truncation` of the full-data utility.
//!   Reports the mean and its standard error per point, and how the refits converged.
//!   The utility is bounded: the probability of the test label for classifiers (the
//!   log-loss is unbounded and, in a prefix that lacks the test's class, measures
//!   only how far the solver ran), minus the squared-error loss for regression. While
//!   a prefix lacks some class, no model can be fitted (that class's bias would run to
//!   −∞); its utility is that of the label frequencies of the prefix, which is the
//!   limit of the fit when a single class is present (1/K for the empty prefix).
//! - **KNN-Shapley** (Jia et al. 2019): the exact Shapley value of the K-nearest-
//!   neighbour classifier's utility `(1/K) Σ_{j ≤ K} 1[y_{α_j} = y_t]`, by the recursion
//!   over training points sorted by distance to the test point. Distances are taken
//!   on features standardised with the training statistics, so that no column counts
//!   more because of its units.

use super::{Method, MethodError, MethodParams, Scores};
use crate::engine::data::prep::Standardizer;
use crate::engine::fit::{fit, FitOptions};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::ModelKind;
use crate::engine::progress::Progress;
use crate::engine::retrain::RefitStats;
use crate::engine::rng::Rng;
use crate::said::Said;
use crate::text::Text;

/// Truncated Monte Carlo Shapley of every training point for one test row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TmcShapley {
    /// Mean marginal contribution per training point.
    pub value: Vec<f64>,
    /// Its standard error (0 with a single permutation).
    pub std_error: Vec<f64>,
    /// Permutations run.
    pub permutations: usize,
    /// The refits behind the values.
    pub refits: RefitStats,
}

/// The utility of a model for test row `(x, y)`: the probability of `y` for
/// classifiers, minus the loss for regression.
fn utility(problem: &Problem, theta: &[f64], x: &[f64], y: f64) -> f64 {
    let m = &problem.model;
    match m.kind {
        ModelKind::Linear => -m.loss(theta, x, y),
        _ => m.predict(theta, x).get(y as usize).copied().unwrap_or(0.0),
    }
}

/// What a TMC-Shapley run depends on besides the model and the test row: a run kept
/// for later serves only a request with the same settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TmcSettings {
    /// Permutations (at least one).
    pub permutations: usize,
    /// A permutation stops crediting points once the utility is this close to the
    /// full-data utility.
    pub truncation: f64,
    /// Seed of the permutations.
    pub seed: u64,
}

impl TmcSettings {
    /// The `shapley_*` settings of `params`.
    pub fn of(params: &MethodParams) -> Self {
        Self {
            permutations: params.shapley_permutations.max(1),
            truncation: params.shapley_truncation,
            seed: params.shapley_seed,
        }
    }
}

/// TMC-Shapley for one test row, a permutation at a time, over a block of the
/// permutations: the steppable form behind [`tmc_shapley`], which the page's workers
/// share in blocks. Permutation `k` is the `k`-th drawn from `Rng::new(seed)` whatever
/// the block, and [`TmcJob::summary`] adds the blocks' marginals in permutation order,
/// so a job split in blocks gives the numbers of one run, to the last bit.
#[derive(Debug, Clone)]
pub struct TmcJob {
    x: Vec<f64>,
    y: f64,
    truncation: f64,
    u_full: f64,
    rng: Rng,
    next: usize,
    end: usize,
    /// Per permutation done, in order: every training point's marginal contribution.
    pub marginals: Vec<Vec<f64>>,
    /// The refits so far (the full-data fit counts in the block of permutation 0).
    pub refits: RefitStats,
}

impl TmcJob {
    /// Permutations `perms` (a block of `0..permutations`) for test row `t` of `test`;
    /// fits the full data first, for the utility the permutations are truncated at.
    pub fn new(
        problem: &Problem,
        test: &Design,
        t: usize,
        perms: std::ops::Range<usize>,
        truncation: f64,
        seed: u64,
    ) -> Result<Self, MethodError> {
        let (x, y) = (test.row(t).to_vec(), test.y[t]);
        let full =
            fit(problem, None, &FitOptions::default()).map_err(|e| MethodError::NotApplicable(e.said()))?;
        let mut refits = RefitStats::default();
        if perms.start == 0 {
            refits.record(full.converged, full.grad_norm);
        }
        let mut rng = Rng::new(seed);
        for _ in 0..perms.start {
            rng.permutation(problem.n());
        }
        let u_full = utility(problem, &full.theta, &x, y);
        Ok(Self {
            x,
            y,
            truncation,
            u_full,
            rng,
            next: perms.start,
            end: perms.end.max(perms.start),
            marginals: vec![],
            refits,
        })
    }

    /// Permutations of the block done.
    pub fn done(&self) -> usize {
        self.marginals.len()
    }

    /// Permutations in the block.
    pub fn total(&self) -> usize {
        self.marginals.len() + (self.end - self.next)
    }

    /// Whether every permutation of the block is done.
    pub fn is_finished(&self) -> bool {
        self.next >= self.end
    }

    /// Run the next permutation: add the points one by one, refit each prefix
    /// (warm-started), and record each point's change of utility.
    pub fn step(&mut self, problem: &Problem) -> Result<(), MethodError> {
        if self.is_finished() {
            return Ok(());
        }
        let n = problem.n();
        let (x, y) = (self.x.as_slice(), self.y);
        let opts = FitOptions::default();
        let classes = if problem.model.kind == ModelKind::Linear { 0 } else { problem.model.k.max(2) };
        let class_of = |i: usize| (problem.train.y[i] as usize).min(classes.saturating_sub(1));
        let mut sub = problem.clone();
        sub.weights.iter_mut().for_each(|w| *w = 0.0);
        let mut theta = vec![0.0; problem.n_params()];
        let mut counts = vec![0usize; classes];
        let mut fitted = false;
        let mut u_prev = if classes > 0 { 1.0 / classes as f64 } else { utility(problem, &theta, x, y) };
        let mut marginals = vec![0.0; n];
        for (added, &i) in self.rng.permutation(n).iter().enumerate() {
            if (self.u_full - u_prev).abs() < self.truncation {
                continue;
            }
            sub.weights[i] = problem.weights[i];
            if classes > 0 {
                counts[class_of(i)] += 1;
            }
            let u = if counts.contains(&0) {
                // Some class is missing: the label frequencies of the prefix.
                counts.get(y as usize).copied().unwrap_or(0) as f64 / (added + 1) as f64
            } else {
                let report = fit(&sub, fitted.then_some(theta.as_slice()), &opts)
                    .map_err(|e| MethodError::NotApplicable(e.said()))?;
                self.refits.record(report.converged, report.grad_norm);
                theta = report.theta;
                fitted = true;
                utility(problem, &theta, x, y)
            };
            marginals[i] = u - u_prev;
            u_prev = u;
        }
        self.marginals.push(marginals);
        self.next += 1;
        Ok(())
    }

    /// Mean and standard error per point from the marginals of every permutation, in
    /// permutation order (one block's, or every block's joined in order).
    pub fn summary(marginals: &[Vec<f64>], refits: RefitStats) -> TmcShapley {
        let n = marginals.first().map_or(0, Vec::len);
        let (mut sum, mut sum_sq) = (vec![0.0; n], vec![0.0; n]);
        for m in marginals {
            for (i, &v) in m.iter().enumerate().take(n) {
                sum[i] += v;
                sum_sq[i] += v * v;
            }
        }
        let permutations = marginals.len().max(1);
        let m = permutations as f64;
        let value: Vec<f64> = sum.iter().map(|s| s / m).collect();
        let std_error = sum_sq
            .iter()
            .zip(&value)
            .map(
                |(s2, mean)| if m > 1.0 { ((s2 / m - mean * mean).max(0.0) / (m - 1.0)).sqrt() } else { 0.0 },
            )
            .collect();
        TmcShapley { value, std_error, permutations, refits }
    }
}

/// Run TMC-Shapley for test row `t` of `test`; `progress` hears of each permutation
/// (as `done` of `permutations`) and may cancel.
pub fn tmc_shapley(
    problem: &Problem,
    test: &Design,
    t: usize,
    permutations: usize,
    truncation: f64,
    seed: u64,
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<TmcShapley, MethodError> {
    let mut job = TmcJob::new(problem, test, t, 0..permutations.max(1), truncation, seed)?;
    while !job.is_finished() {
        job.step(problem)?;
        if !progress(job.done()) {
            return Err(MethodError::Cancelled);
        }
    }
    Ok(TmcJob::summary(&job.marginals, job.refits))
}

/// TMC-Shapley of every test row; progress counts permutations over all rows.
pub fn tmc_shapley_all(
    problem: &Problem,
    test: &Design,
    permutations: usize,
    truncation: f64,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<Scores, MethodError> {
    let total = permutations.max(1) * test.n();
    let mut runs = Vec::with_capacity(test.n());
    for t in 0..test.n() {
        let base = t * permutations.max(1);
        let mut report = |done: usize| progress.report(base + done, total);
        runs.push(tmc_shapley(problem, test, t, permutations, truncation, seed, &mut report)?);
    }
    Ok(tmc_scores(problem, runs))
}

/// The method's scores from the TMC-Shapley run of each test row, with its note.
pub fn tmc_scores(problem: &Problem, runs: Vec<TmcShapley>) -> Scores {
    let permutations = runs.first().map_or(1, |r| r.permutations);
    let mut refits = RefitStats::default();
    runs.iter().for_each(|r| refits.merge(&r.refits));
    let what = if problem.model.kind == ModelKind::Linear {
        Text::UtilitySquaredError
    } else {
        Text::UtilityProbability
    };
    let note = Said::new(Text::NoteTmc)
        .with("perms", permutations.max(1))
        .with_said("utility", Said::new(what))
        .with_said("refits", refits.said());
    Scores {
        std_error: Some(runs.iter().map(|r| r.std_error.clone()).collect()),
        notes: vec![note],
        refits: Some(refits),
        ..Scores::plain(Method::TmcShapley, runs.into_iter().map(|r| r.value).collect())
    }
}

/// Exact KNN-Shapley values of every training point for every test row (classifiers),
/// on standardised features.
pub fn knn_shapley(problem: &Problem, test: &Design, k: usize) -> Result<Scores, MethodError> {
    if problem.model.kind == ModelKind::Linear {
        return Err(MethodError::NotApplicable(Said::new(Text::ErrKnnNeedsClasses)));
    }
    let n = problem.n();
    let d = problem.model.d;
    let train_rows: Vec<Vec<f64>> = (0..n).map(|i| problem.train.row(i).to_vec()).collect();
    let std = Standardizer::from_rows(&train_rows, d);
    let train: Vec<Vec<f64>> = train_rows.iter().map(|r| std.transform(r)).collect();
    let k = k.max(1) as f64;
    let mut all = Vec::with_capacity(test.n());
    for t in 0..test.n() {
        let xt = std.transform(test.row(t));
        let mut order: Vec<(f64, usize)> =
            (0..n).map(|i| (train[i].iter().zip(&xt).map(|(a, b)| (a - b) * (a - b)).sum(), i)).collect();
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
    let note = Said::new(Text::NoteKnn);
    Ok(Scores { notes: vec![note], ..Scores::plain(Method::KnnShapley, all) })
}
