//! Long jobs, run in blocks of about [`BLOCK_MS`] milliseconds so the worker reads its
//! messages (a Cancel, a newer request) in between: leave-one-out of every training
//! point for the explained point, the retraining behind the LDS, and the three ground
//! truths of a network (warm-started leave-one-out, the PBRF, retraining from
//! scratch), and TMC-Shapley's permutations. The loops are the engine's own steppable
//! jobs ([`LeaveEachOut`], [`LdsJob`], [`ScratchJob`], [`TmcJob`]), the same the CLI
//! runs.
//!
//! A job can be shared among the page's workers: each runs the [`Share`] it is given
//! (a contiguous block of points, subsets or seeds) and answers with its [`Part`]; the
//! worker of part 0 then gets every part back ([`LongJob::finish`]) and builds the
//! view. A job in one part finishes itself through the same code, so one worker and
//! several give the same numbers (tested).

use super::session::{KeptShapley, Session};
use crate::engine::evaluate::top_k;
use crate::engine::evaluate::{lds, LdsJob};
use crate::engine::methods::shapley::{TmcJob, TmcSettings};
use crate::engine::methods::{self, CheckedParams, Method};
use crate::engine::retrain::{LeaveEachOut, RefitStats, LOO_GROUP};
use crate::engine::stats::{pearson, spearman};
use crate::engine::truths::{Pbrf, ScratchJob};
use crate::protocol::*;
use crate::said::Said;
use crate::text::Text;

/// Milliseconds of work per block. Blocks are bounded by time, not count, because
/// browsers clamp nested `setTimeout(0)` to 4 ms.
pub const BLOCK_MS: f64 = 15.0;

/// Leave-one-out in progress.
pub struct LooState {
    run: LeaveEachOut,
    actual: Vec<f64>,
    refits: RefitStats,
    not_converged: Vec<usize>,
}

/// LDS refits in progress.
pub struct LdsState {
    run: LdsJob,
    methods: Vec<Method>,
    params: Box<CheckedParams>,
}

/// The three ground truths in progress: leave-one-out, then PBRF, then scratch.
pub struct TruthsState {
    loo: LeaveEachOut,
    actual: Vec<f64>,
    pbrf_solver: Option<Pbrf>,
    pbrf_damping: f64,
    pbrf_points: std::ops::Range<usize>,
    pbrf: Vec<f64>,
    scratch: ScratchJob,
    refits: RefitStats,
}

/// TMC-Shapley permutations in progress, with the settings they were run with.
pub struct ShapleyState {
    run: TmcJob,
    settings: TmcSettings,
}

/// What a long job computes.
pub enum Work {
    /// Leave-one-out of every training point.
    Loo(LooState),
    /// LDS refits.
    Lds(LdsState),
    /// The three ground truths.
    Truths(Box<TruthsState>),
    /// TMC-Shapley permutations.
    Shapley(Box<ShapleyState>),
}

/// A job in progress: its id, its block, when it started, and its work.
pub struct LongJob {
    job: u64,
    share: Share,
    started: f64,
    work: Work,
}

/// Where a job stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stepped {
    /// Its block has work left.
    Running,
    /// It ended (its result or error was emitted).
    Ended,
    /// Its block is done and sent; it waits for [`Request::Finish`].
    AwaitingFinish,
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
    /// Leave-one-out of the share's block of `n` training points (whole groups of
    /// [`LOO_GROUP`] points, so that every split runs the same groups).
    pub fn loo(job: u64, share: Share, n: usize, started: f64) -> Self {
        let r = share.range_in_units(n, LOO_GROUP);
        let work = Work::Loo(LooState {
            run: LeaveEachOut::range(r.start, r.end),
            actual: Vec::with_capacity(r.len()),
            refits: RefitStats::default(),
            not_converged: vec![],
        });
        Self { job, share, started, work }
    }

    /// An LDS job over `subsets` seeded subsets of fraction `alpha` (already checked);
    /// this worker retrains the share's block of them.
    #[allow(clippy::too_many_arguments)]
    pub fn lds(
        job: u64,
        share: Share,
        s: &Session,
        subsets: usize,
        alpha: f64,
        seed: u64,
        methods: Vec<Method>,
        params: CheckedParams,
        started: f64,
    ) -> Self {
        let run = LdsJob::range(s.problem(), subsets, alpha, seed, share.range(subsets));
        Self { job, share, started, work: Work::Lds(LdsState { run, methods, params: Box::new(params) }) }
    }

    /// The three ground truths of the explained point, with `seeds` seeds from scratch:
    /// this worker runs the share's block of the points and of the seeds.
    pub fn truths(job: u64, share: Share, s: &Session, seeds: usize, started: f64) -> Self {
        let n = s.n_train();
        let points = scratch_points(&s.explained.pred_loo_dloss, seeds);
        let all_seeds: Vec<u64> = (0..seeds.max(2) as u64).collect();
        let r = share.range_in_units(n, LOO_GROUP);
        let work = Work::Truths(Box::new(TruthsState {
            loo: LeaveEachOut::range(r.start, r.end),
            actual: Vec::with_capacity(r.len()),
            pbrf_solver: None,
            pbrf_damping: s.damping(),
            pbrf_points: r.clone(),
            pbrf: Vec::with_capacity(r.len()),
            scratch: ScratchJob::with_seeds(points, all_seeds[share.range(all_seeds.len())].to_vec()),
            refits: RefitStats::default(),
        }));
        Self { job, share, started, work }
    }

    /// TMC-Shapley of the explained point with `params`' permutations, truncation and
    /// seed: this worker runs the share's block of the permutations (it first fits the
    /// full data, for the truncation).
    pub fn shapley(
        job: u64,
        share: Share,
        s: &Session,
        params: &CheckedParams,
        started: f64,
    ) -> Result<Self, Said> {
        let settings = TmcSettings::of(params);
        let perms = share.range(settings.permutations);
        let run =
            TmcJob::new(s.problem(), &s.explained_design(), 0, perms, settings.truncation, settings.seed)
                .map_err(|e| e.said())?;
        Ok(Self { job, share, started, work: Work::Shapley(Box::new(ShapleyState { run, settings })) })
    }

    /// The job id.
    pub fn id(&self) -> u64 {
        self.job
    }

    /// The job's progress report: units of its block done and in all.
    pub fn progress(&self) -> Response {
        let (done, total) = match &self.work {
            Work::Loo(l) => (l.run.done(), l.run.total()),
            Work::Lds(l) => (l.run.done(), l.run.total()),
            Work::Truths(t) => {
                let n = t.loo.total();
                (t.loo.done() + t.pbrf.len() + t.scratch.done(), 2 * n + t.scratch.total())
            }
            Work::Shapley(t) => (t.run.done(), t.run.total()),
        };
        Response::Progress { job: self.job, part: self.share.part, done, total }
    }

    /// The response that ends the job with `error`.
    pub fn ended(&self, error: JobError) -> Response {
        let job = self.job;
        match self.work {
            Work::Loo(_) => Response::LeaveEachOutDone { job, result: Err(error) },
            Work::Lds(_) => Response::LdsDone { job, result: Err(error) },
            Work::Truths(_) => Response::TruthsDone { job, result: Err(error) },
            Work::Shapley(_) => Response::ShapleyDone { job, result: Err(error) },
        }
    }

    /// Work until `clock()` passes the block's deadline and emit progress. When the
    /// block is done: a job in one part emits its result; a part emits
    /// [`Response::PartDone`] and waits for the others.
    pub fn step(&mut self, s: &mut Session, clock: fn() -> f64, emit: &mut dyn FnMut(Response)) -> Stepped {
        let deadline = clock() + BLOCK_MS;
        let outcome = match &mut self.work {
            Work::Loo(l) => step_loo(l, s, clock, deadline),
            Work::Lds(l) => step_lds(l, s, clock, deadline),
            Work::Truths(t) => step_truths(t, s, clock, deadline),
            Work::Shapley(t) => step_shapley(t, s, clock, deadline),
        };
        let done = match outcome {
            Err(e) => {
                emit(self.ended(JobError::failed(e)));
                return Stepped::Ended;
            }
            Ok(done) => done,
        };
        emit(self.progress());
        if !done {
            return Stepped::Running;
        }
        let part = self.part(s, clock);
        if self.share.parts <= 1 {
            emit(self.finish(s, vec![part]));
            Stepped::Ended
        } else {
            emit(Response::PartDone { job: self.job, result: Ok(Box::new(part)) });
            Stepped::AwaitingFinish
        }
    }

    /// This worker's finished block.
    fn part(&mut self, s: &Session, clock: fn() -> f64) -> Part {
        let (refits, values) = match &mut self.work {
            Work::Loo(l) => (
                l.refits,
                PartValues::Loo {
                    actual: std::mem::take(&mut l.actual).into(),
                    not_converged: std::mem::take(&mut l.not_converged),
                },
            ),
            Work::Lds(l) => {
                let (losses, refits) = l.run.block();
                (refits, PartValues::Lds { losses })
            }
            Work::Truths(t) => (
                t.refits,
                PartValues::Truths {
                    loo: std::mem::take(&mut t.actual).into(),
                    pbrf: std::mem::take(&mut t.pbrf).into(),
                    pbrf_damping: t.pbrf_damping,
                    scratch: t.scratch.clone(),
                },
            ),
            Work::Shapley(t) => (
                t.run.refits,
                PartValues::Shapley {
                    marginals: std::mem::take(&mut t.run.marginals).into_iter().map(Floats::from).collect(),
                },
            ),
        };
        Part { share: self.share, model: s.fingerprint(), millis: clock() - self.started, refits, values }
    }

    /// The job's result from every part's block, in order (part 0 is this worker's);
    /// an error when a block is missing, of another job or of another model.
    pub fn finish(&self, s: &mut Session, parts: Vec<Part>) -> Response {
        let checked = check_parts(&parts, self.share.parts, s.fingerprint());
        let result = checked.and_then(|()| match &self.work {
            Work::Loo(_) => finish_loo(s, self.job, parts),
            Work::Lds(l) => finish_lds(l, s, self.job, parts),
            Work::Truths(_) => finish_truths(s, self.job, parts),
            Work::Shapley(t) => finish_shapley(t.settings, s, self.job, parts),
        });
        result.unwrap_or_else(|e| self.ended(JobError::failed(e)))
    }
}

/// Every block present, in order, from the same model.
fn check_parts(parts: &[Part], expected: usize, model: u64) -> Result<(), Said> {
    if parts.len() != expected.max(1) || parts.iter().enumerate().any(|(k, p)| p.share.part != k) {
        return Err(Said::new(Text::ErrBlocksIncomplete).with("k", parts.len()).with("n", expected));
    }
    if parts.iter().any(|p| p.model != model) {
        return Err(Said::new(Text::ErrWorkersDiffer));
    }
    Ok(())
}

/// The longest block's time and every block's refits.
fn totals(parts: &[Part]) -> (f64, RefitStats) {
    // The longest block is the job's wall-clock time.
    let mut refits = RefitStats::default();
    parts.iter().for_each(|p| refits.merge(&p.refits));
    (parts.iter().map(|p| p.millis).fold(0.0, f64::max), refits)
}

/// A block of another kind of job.
fn wrong_kind() -> Said {
    Said::new(Text::ErrWrongBlock)
}

/// Refits until the deadline; whether the block is done.
fn step_loo(l: &mut LooState, s: &mut Session, clock: fn() -> f64, deadline: f64) -> Result<bool, Said> {
    let mut retrainer = s.retrainer()?;
    let (m, l0) = (&s.problem().model, s.explained.loss);
    while !l.run.is_finished() && clock() < deadline {
        let first = l.run.next_point();
        for (k, r) in l.run.step(&mut retrainer, 1).map_err(|e| e.to_string())?.into_iter().enumerate() {
            l.refits.add(&r);
            if !r.converged {
                l.not_converged.push(first + k);
            }
            l.actual.push(m.loss(&r.theta, &s.explained_x, s.explained.label) - l0);
        }
    }
    Ok(l.run.is_finished())
}

/// Leave-one-out from its blocks.
fn finish_loo(s: &mut Session, job: u64, parts: Vec<Part>) -> Result<Response, Said> {
    let ((millis, refits), workers) = (totals(&parts), parts.len());
    let (mut actual, mut not_converged) = (Vec::new(), Vec::new());
    for p in parts {
        let PartValues::Loo { actual: a, not_converged: nc } = p.values else {
            return Err(wrong_kind());
        };
        actual.extend(a.0);
        not_converged.extend(nc);
    }
    let predicted = s.explained.pred_loo_dloss.clone();
    if actual.len() != predicted.len() {
        return Err(
            format!("leave-one-out came back with {} of {} points", actual.len(), predicted.len()).into()
        );
    }
    s.actual_loo = Some(actual.clone());
    let view = LooView {
        pearson: pearson(&predicted, &actual),
        spearman: spearman(&predicted, &actual),
        refits,
        not_converged,
        millis,
        workers,
        predicted,
        actual: actual.into(),
    };
    Ok(Response::LeaveEachOutDone { job, result: Ok(Box::new(view)) })
}

/// Permutations until the deadline (at least one); whether the block is done.
fn step_shapley(
    t: &mut ShapleyState,
    s: &mut Session,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<bool, Said> {
    loop {
        t.run.step(s.problem()).map_err(|e| e.said())?;
        if t.run.is_finished() || clock() >= deadline {
            return Ok(t.run.is_finished());
        }
    }
}

/// TMC-Shapley from its blocks of permutations, kept in the session for the Methods
/// view.
fn finish_shapley(
    settings: TmcSettings,
    s: &mut Session,
    job: u64,
    parts: Vec<Part>,
) -> Result<Response, Said> {
    let ((millis, refits), workers) = (totals(&parts), parts.len());
    let mut marginals = Vec::with_capacity(settings.permutations);
    for p in parts {
        let PartValues::Shapley { marginals: m } = p.values else { return Err(wrong_kind()) };
        marginals.extend(m.into_iter().map(|f| f.0));
    }
    if marginals.len() != settings.permutations || marginals.iter().any(|m| m.len() != s.n_train()) {
        return Err(Said::new(Text::ErrBlocksIncomplete)
            .with("k", marginals.len())
            .with("n", settings.permutations));
    }
    let run = TmcJob::summary(&marginals, refits);
    let view = ShapleyView { permutations: run.permutations, refits, millis, workers };
    s.shapley = Some(KeptShapley { settings, run, millis });
    Ok(Response::ShapleyDone { job, result: Ok(Box::new(view)) })
}

/// Subset refits until the deadline; whether the block is done.
fn step_lds(l: &mut LdsState, s: &mut Session, clock: fn() -> f64, deadline: f64) -> Result<bool, Said> {
    let test = &s.test;
    let mut scratch = s.problem().clone();
    while !l.run.is_finished() && clock() < deadline {
        l.run.step(s.problem(), &mut scratch, s.theta(), test).map_err(|e| e.to_string())?;
    }
    Ok(l.run.is_finished())
}

/// Every method's LDS from the blocks of refits.
fn finish_lds(l: &LdsState, s: &mut Session, job: u64, parts: Vec<Part>) -> Result<Response, Said> {
    let (millis, workers) = (totals(&parts).0, parts.len());
    let mut blocks = Vec::with_capacity(parts.len());
    for p in parts {
        let PartValues::Lds { losses } = p.values else { return Err(wrong_kind()) };
        blocks.push((losses, p.refits));
    }
    let refits = l.run.join(blocks).ok_or("the LDS came back with subsets missing")?;
    let test = &s.test;
    let exact: Vec<Vec<f64>> = s
        .fitted
        .influence
        .score(s.problem(), test)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|t| t.pred_loo_dloss)
        .collect();
    let mut values = vec![(Attribution::Exact, lds(&refits, &exact))];
    for &method in &l.methods {
        let v = methods::run(method, s.problem(), s.theta(), test, s.damping(), &l.params)
            .ok()
            .and_then(|m| lds(&refits, &m.scores));
        values.push((Attribution::Method(method), v));
    }
    let alpha = refits.subsets.first().map_or(0.0, |m| m.len() as f64 / s.n_train().max(1) as f64);
    let view =
        LdsView { subsets: refits.subsets.len(), alpha, values, refits: refits.refits, millis, workers };
    Ok(Response::LdsDone { job, result: Ok(Box::new(view)) })
}

/// Leave-one-out, then PBRF, then scratch fits of the block, until the deadline;
/// whether the block is done.
fn step_truths(
    t: &mut TruthsState,
    s: &mut Session,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<bool, Said> {
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
    while t.loo.is_finished() && t.pbrf.len() < t.pbrf_points.len() && clock() < deadline {
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
        let i = t.pbrf_points.start + t.pbrf.len();
        let r = solver.solve(i, -1.0 / s.n_train() as f64).map_err(|e| e.to_string())?;
        t.refits.add(&r);
        t.pbrf.push(loss(&r.theta));
    }
    while t.pbrf.len() == t.pbrf_points.len() && !t.scratch.is_finished() && clock() < deadline {
        t.scratch.step(s.problem(), &design).map_err(|e| e.to_string())?;
    }
    Ok(t.scratch.is_finished())
}

/// The three truths from their blocks.
fn finish_truths(s: &mut Session, job: u64, parts: Vec<Part>) -> Result<Response, Said> {
    let (millis, mut refits) = totals(&parts);
    let workers = parts.len();
    let (mut loo, mut pbrf, mut damping, mut blocks) = (Vec::new(), Vec::new(), None, Vec::new());
    for p in parts {
        let PartValues::Truths { loo: l, pbrf: b, pbrf_damping, scratch } = p.values else {
            return Err(wrong_kind());
        };
        // A block that ran no PBRF solve never chose its damping.
        if !b.is_empty() {
            damping.get_or_insert(pbrf_damping);
        }
        loo.extend(l.0);
        pbrf.extend(b.0);
        blocks.push(scratch);
    }
    let predicted = s.explained.pred_loo_dloss.to_vec();
    if loo.len() != predicted.len() || pbrf.len() != predicted.len() {
        return Err(Said::new(Text::ErrTruthsMissing));
    }
    let scratch =
        ScratchJob::join(blocks).ok_or("the retraining from scratch came back incomplete")?.result();
    refits.merge(&scratch.refits);
    let at_points: Vec<f64> = scratch.points.iter().map(|&i| predicted[i]).collect();
    let (mean, se, noise) = (scratch.mean[0].clone(), scratch.se[0].clone(), scratch.noise[0]);
    let agreement = vec![
        (Truth::WarmLoo, pearson(&predicted, &loo), spearman(&predicted, &loo)),
        (Truth::Pbrf, pearson(&predicted, &pbrf), spearman(&predicted, &pbrf)),
        (Truth::Scratch, pearson(&at_points, &mean), spearman(&at_points, &mean)),
    ];
    let above_noise = mean.iter().filter(|v| v.abs() > noise).count();
    let view = TruthsView {
        predicted,
        loo: loo.clone(),
        pbrf,
        pbrf_damping: damping.unwrap_or_else(|| s.damping()),
        scratch_points: scratch.points,
        scratch_mean: mean,
        scratch_se: se,
        noise,
        seeds: scratch.seeds.len(),
        agreement,
        above_noise,
        refits,
        millis,
        workers,
    };
    s.actual_loo = Some(loo);
    s.truths = Some(view.clone());
    Ok(Response::TruthsDone { job, result: Ok(Box::new(view)) })
}
