//! Long jobs, run in blocks of about [`BLOCK_MS`] milliseconds so the worker reads its
//! messages (a Cancel, a newer request) in between: leave-one-out of every training
//! point for the explained point, the retraining behind the LDS, and the three ground
//! truths of a network (warm-started leave-one-out, the PBRF, retraining from
//! scratch). The loops are the engine's own steppable jobs ([`LeaveEachOut`],
//! [`LdsJob`], [`ScratchJob`]), the same the CLI runs.

use super::session::Session;
use crate::engine::evaluate::top_k;
use crate::engine::evaluate::{lds, LdsJob};
use crate::engine::methods::{self, CheckedParams, Method};
use crate::engine::model::problem::Design;
use crate::engine::retrain::{LeaveEachOut, RefitStats};
use crate::engine::stats::{pearson, spearman};
use crate::engine::truths::{Pbrf, ScratchJob};
use crate::protocol::*;

/// Milliseconds of work per block. Blocks are bounded by time, not count, because
/// browsers clamp nested `setTimeout(0)` to 4 ms.
pub const BLOCK_MS: f64 = 15.0;

/// Leave-one-out in progress.
pub struct LooState {
    job: u64,
    run: LeaveEachOut,
    actual: Vec<f64>,
    refits: RefitStats,
    not_converged: Vec<usize>,
    started: f64,
}

/// LDS refits in progress.
pub struct LdsState {
    job: u64,
    run: LdsJob,
    methods: Vec<Method>,
    params: Box<CheckedParams>,
    started: f64,
}

/// The three ground truths in progress: leave-one-out, then PBRF, then scratch.
pub struct TruthsState {
    job: u64,
    loo: LeaveEachOut,
    actual: Vec<f64>,
    pbrf_solver: Option<Pbrf>,
    pbrf_damping: f64,
    pbrf: Vec<f64>,
    scratch: ScratchJob,
    refits: RefitStats,
    started: f64,
}

/// A job in progress.
pub enum LongJob {
    /// Leave-one-out of every training point.
    Loo(LooState),
    /// LDS refits.
    Lds(LdsState),
    /// The three ground truths.
    Truths(Box<TruthsState>),
}

/// The PBRF's damping when the page's δ leaves its Gauss–Newton matrix singular.
pub const PBRF_FALLBACK_DAMPING: f64 = 1e-3;

/// Most fits from scratch the page asks for by default: beyond it, only the most
/// influential points (and a spread of the others) are retrained from scratch.
pub const SCRATCH_BUDGET: usize = 400;

/// The training points retrained from scratch: all of them when `n · seeds` fits fit the
/// budget, else the 30 with the largest predicted effect and 10 evenly spread others.
pub fn scratch_points(predicted: &[f64], seeds: usize) -> Vec<usize> {
    let n = predicted.len();
    if n * seeds <= SCRATCH_BUDGET {
        return (0..n).collect();
    }
    let strength: Vec<f64> = predicted.iter().map(|v| v.abs()).collect();
    let mut points = top_k(&strength, 30);
    points.extend((0..10).map(|k| k * n / 10).filter(|i| !points.contains(i)).collect::<Vec<_>>());
    points.sort_unstable();
    points.dedup();
    points
}

impl LongJob {
    /// A leave-one-out job over `n` training points.
    pub fn loo(job: u64, n: usize, started: f64) -> Self {
        LongJob::Loo(LooState {
            job,
            run: LeaveEachOut::new(n),
            actual: Vec::with_capacity(n),
            refits: RefitStats::default(),
            not_converged: vec![],
            started,
        })
    }

    /// An LDS job over `subsets` seeded subsets of fraction `alpha` (already checked).
    #[allow(clippy::too_many_arguments)]
    pub fn lds(
        job: u64,
        s: &Session,
        subsets: usize,
        alpha: f64,
        seed: u64,
        methods: Vec<Method>,
        params: CheckedParams,
        started: f64,
    ) -> Self {
        let run = LdsJob::new(s.problem(), subsets, alpha, seed);
        LongJob::Lds(LdsState { job, run, methods, params: Box::new(params), started })
    }

    /// The three ground truths of the explained point, with `seeds` seeds from scratch.
    pub fn truths(job: u64, s: &Session, seeds: usize, started: f64) -> Self {
        let n = s.train.n();
        let points = scratch_points(&s.explained.pred_loo_dloss, seeds);
        LongJob::Truths(Box::new(TruthsState {
            job,
            loo: LeaveEachOut::new(n),
            actual: Vec::with_capacity(n),
            pbrf_solver: None,
            pbrf_damping: s.damping(),
            pbrf: Vec::with_capacity(n),
            scratch: ScratchJob::new(points, seeds),
            refits: RefitStats::default(),
            started,
        }))
    }

    /// The job id.
    pub fn id(&self) -> u64 {
        match self {
            LongJob::Loo(l) => l.job,
            LongJob::Lds(l) => l.job,
            LongJob::Truths(t) => t.job,
        }
    }

    /// `(job, done, total)`.
    fn progress(&self) -> (u64, usize, usize) {
        match self {
            LongJob::Loo(l) => (l.job, l.run.done(), l.run.total()),
            LongJob::Lds(l) => (l.job, l.run.done(), l.run.total()),
            LongJob::Truths(t) => {
                let n = t.loo.total();
                (t.job, t.loo.done() + t.pbrf.len() + t.scratch.done(), 2 * n + t.scratch.total())
            }
        }
    }

    /// The job's first progress report.
    pub fn started(&self) -> Response {
        let (job, done, total) = self.progress();
        Response::Progress { job, done, total }
    }

    /// The response that ends the job with `error`.
    pub fn ended(&self, error: JobError) -> Response {
        match self {
            LongJob::Loo(l) => Response::LeaveEachOutDone { job: l.job, result: Err(error) },
            LongJob::Lds(l) => Response::LdsDone { job: l.job, result: Err(error) },
            LongJob::Truths(t) => Response::TruthsDone { job: t.job, result: Err(error) },
        }
    }

    /// Work until `clock()` passes the block's deadline; emit progress, and the result
    /// when done. Returns whether the job is finished.
    pub fn step(&mut self, s: &mut Session, clock: fn() -> f64, emit: &mut dyn FnMut(Response)) -> bool {
        let deadline = clock() + BLOCK_MS;
        let outcome = match self {
            LongJob::Loo(l) => step_loo(l, s, clock, deadline),
            LongJob::Lds(l) => step_lds(l, s, clock, deadline),
            LongJob::Truths(t) => step_truths(t, s, clock, deadline),
        };
        if let Err(e) = outcome {
            emit(self.ended(JobError::Failed(e)));
            return true;
        }
        let (job, done, total) = self.progress();
        emit(Response::Progress { job, done, total });
        match outcome {
            Ok(Some(finished)) => {
                emit(finished);
                true
            }
            _ => false,
        }
    }
}

/// Refits until the deadline; the finished view when all are done.
fn step_loo(
    l: &mut LooState,
    s: &mut Session,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<Option<Response>, String> {
    let mut retrainer = s.retrainer()?;
    let (m, l0) = (&s.problem().model, s.explained.loss);
    while !l.run.is_finished() && clock() < deadline {
        let i = l.run.done();
        for r in l.run.step(&mut retrainer, 1).map_err(|e| e.to_string())? {
            l.refits.add(&r);
            if !r.converged {
                l.not_converged.push(i);
            }
            l.actual.push(m.loss(&r.theta, &s.explained_x, s.explained.label) - l0);
        }
    }
    if !l.run.is_finished() {
        return Ok(None);
    }
    let predicted = s.explained.pred_loo_dloss.clone();
    let actual = std::mem::take(&mut l.actual);
    s.actual_loo = Some(actual.clone());
    let view = LooView {
        pearson: pearson(&predicted, &actual),
        spearman: spearman(&predicted, &actual),
        refits: l.refits,
        not_converged: std::mem::take(&mut l.not_converged),
        millis: clock() - l.started,
        predicted,
        actual: actual.into(),
    };
    Ok(Some(Response::LeaveEachOutDone { job: l.job, result: Ok(Box::new(view)) }))
}

/// Subset refits until the deadline; every method's LDS when all are done.
fn step_lds(
    l: &mut LdsState,
    s: &mut Session,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<Option<Response>, String> {
    let test = Design::from_dataset(&s.test);
    let mut scratch = s.problem().clone();
    while !l.run.is_finished() && clock() < deadline {
        l.run.step(s.problem(), &mut scratch, s.theta(), &test).map_err(|e| e.to_string())?;
    }
    if !l.run.is_finished() {
        return Ok(None);
    }
    let millis = clock() - l.started;
    let refits = l.run.clone().into_refits();
    let exact: Vec<Vec<f64>> = s
        .fitted
        .influence
        .score(s.problem(), &test)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|t| t.pred_loo_dloss)
        .collect();
    let mut values = vec![(Attribution::Exact, lds(&refits, &exact))];
    for &method in &l.methods {
        let v = methods::run(method, s.problem(), s.theta(), &test, s.damping(), &l.params)
            .ok()
            .and_then(|m| lds(&refits, &m.scores));
        values.push((Attribution::Method(method), v));
    }
    let alpha = refits.subsets.first().map_or(0.0, |m| m.len() as f64 / s.train.n().max(1) as f64);
    let view = LdsView { subsets: refits.subsets.len(), alpha, values, refits: refits.refits, millis };
    Ok(Some(Response::LdsDone { job: l.job, result: Ok(Box::new(view)) }))
}

/// Leave-one-out, then PBRF, then scratch fits, until the deadline; the view when done.
fn step_truths(
    t: &mut TruthsState,
    s: &mut Session,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<Option<Response>, String> {
    let design = s.explained_design();
    let (m, l0) = (&s.problem().model, s.explained.loss);
    let loss = |theta: &[f64]| m.loss(theta, &s.explained_x, s.explained.label) - l0;
    if !t.loo.is_finished() {
        let mut retrainer = s.retrainer()?;
        while !t.loo.is_finished() && clock() < deadline {
            for r in t.loo.step(&mut retrainer, 1).map_err(|e| e.to_string())? {
                t.refits.add(&r);
                t.actual.push(loss(&r.theta));
            }
        }
    }
    while t.loo.is_finished() && t.pbrf.len() < t.loo.total() && clock() < deadline {
        if t.pbrf_solver.is_none() {
            // The PBRF's proximity term needs δ > 0 where the GGN is singular (a
            // network's idle unit): then the smallest δ of the page's sweep is used.
            let d = s.damping();
            let solver = Pbrf::new(s.problem(), s.theta(), d)
                .map(|p| (p, d))
                .or_else(|_| {
                    Pbrf::new(s.problem(), s.theta(), PBRF_FALLBACK_DAMPING)
                        .map(|p| (p, PBRF_FALLBACK_DAMPING))
                })
                .map_err(|e| e.to_string())?;
            t.pbrf_damping = solver.1;
            t.pbrf_solver = Some(solver.0);
        }
        let solver = t.pbrf_solver.as_ref().ok_or("no PBRF solver")?;
        let r = solver.solve(t.pbrf.len(), -1.0 / s.train.n() as f64).map_err(|e| e.to_string())?;
        t.refits.add(&r);
        t.pbrf.push(loss(&r.theta));
    }
    while t.pbrf.len() == t.loo.total() && !t.scratch.is_finished() && clock() < deadline {
        t.scratch.step(s.problem(), &design).map_err(|e| e.to_string())?;
    }
    if !t.scratch.is_finished() {
        return Ok(None);
    }
    let scratch = t.scratch.result();
    t.refits.merge(&scratch.refits);
    let predicted = s.explained.pred_loo_dloss.to_vec();
    let at_points: Vec<f64> = scratch.points.iter().map(|&i| predicted[i]).collect();
    let (mean, se, noise) = (scratch.mean[0].clone(), scratch.se[0].clone(), scratch.noise[0]);
    let agreement = vec![
        (
            "warm-started leave-one-out".to_string(),
            pearson(&predicted, &t.actual),
            spearman(&predicted, &t.actual),
        ),
        ("PBRF".to_string(), pearson(&predicted, &t.pbrf), spearman(&predicted, &t.pbrf)),
        ("retraining from scratch".to_string(), pearson(&at_points, &mean), spearman(&at_points, &mean)),
    ];
    let above_noise = mean.iter().filter(|v| v.abs() > noise).count();
    let view = TruthsView {
        reading: reading(&agreement, noise, above_noise, scratch.points.len(), scratch.seeds.len()),
        predicted,
        loo: t.actual.clone(),
        pbrf: t.pbrf.clone(),
        pbrf_damping: t.pbrf_damping,
        scratch_points: scratch.points,
        scratch_mean: mean,
        scratch_se: se,
        noise,
        seeds: scratch.seeds.len(),
        agreement,
        above_noise,
        refits: t.refits,
        millis: clock() - t.started,
    };
    s.actual_loo = Some(t.actual.clone());
    s.truths = Some(view.clone());
    Ok(Some(Response::TruthsDone { job: t.job, result: Ok(Box::new(view)) }))
}

/// What the three truths say, in one paragraph.
fn reading(
    agreement: &[(String, Option<f64>, Option<f64>)],
    noise: f64,
    above: usize,
    points: usize,
    seeds: usize,
) -> String {
    let r =
        |k: usize| agreement.get(k).and_then(|a| a.1).map_or("undefined".to_string(), |v| format!("{v:.2}"));
    let noise_part = if noise > 0.0 {
        let shown = if noise >= 1e-3 { format!("{noise:.3}") } else { format!("{noise:.1e}") };
        format!(
            "retraining from scratch ({seeds} seeds) moves this test loss by ±{shown} whatever you remove; {above} of the {points} points retrained {} effects larger than that",
            if above == 1 { "has" } else { "have" }
        )
    } else {
        "every seed reaches the same model (a convex problem), so retraining from scratch has no noise floor"
            .to_string()
    };
    format!(
        "Influence tracks the warm-started refit (r = {}) and the PBRF (r = {}); against retraining from scratch r = {}. And {noise_part}.",
        r(0),
        r(1),
        r(2)
    )
}
