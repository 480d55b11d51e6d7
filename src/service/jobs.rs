//! Long jobs, run in blocks of about [`BLOCK_MS`] milliseconds so the worker reads its
//! messages (a Cancel, a newer request) in between: leave-one-out of every training
//! point for the explained point, and the retraining behind the LDS. Both loops are the
//! engine's own steppable jobs ([`LeaveEachOut`], [`LdsJob`]), the same the CLI runs.

use super::session::Session;
use crate::engine::evaluate::{lds, LdsJob};
use crate::engine::methods::{self, CheckedParams, Method};
use crate::engine::model::problem::Design;
use crate::engine::retrain::{LeaveEachOut, RefitStats};
use crate::engine::stats::{pearson, spearman};
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

/// A job in progress.
pub enum LongJob {
    /// Leave-one-out of every training point.
    Loo(LooState),
    /// LDS refits.
    Lds(LdsState),
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

    /// The job id.
    pub fn id(&self) -> u64 {
        match self {
            LongJob::Loo(l) => l.job,
            LongJob::Lds(l) => l.job,
        }
    }

    /// The job's first progress report.
    pub fn started(&self) -> Response {
        match self {
            LongJob::Loo(l) => Response::Progress { job: l.job, done: 0, total: l.run.total() },
            LongJob::Lds(l) => Response::Progress { job: l.job, done: 0, total: l.run.total() },
        }
    }

    /// The response that ends the job with `error`.
    pub fn ended(&self, error: JobError) -> Response {
        match self {
            LongJob::Loo(l) => Response::LeaveEachOutDone { job: l.job, result: Err(error) },
            LongJob::Lds(l) => Response::LdsDone { job: l.job, result: Err(error) },
        }
    }

    /// Work until `clock()` passes the block's deadline; emit progress, and the result
    /// when done. Returns whether the job is finished.
    pub fn step(&mut self, s: &mut Session, clock: fn() -> f64, emit: &mut dyn FnMut(Response)) -> bool {
        let deadline = clock() + BLOCK_MS;
        let outcome = match self {
            LongJob::Loo(l) => step_loo(l, s, clock, deadline),
            LongJob::Lds(l) => step_lds(l, s, clock, deadline),
        };
        if let Err(e) = outcome {
            emit(self.ended(JobError::Failed(e)));
            return true;
        }
        let (job, done, total) = match self {
            LongJob::Loo(l) => (l.job, l.run.done(), l.run.total()),
            LongJob::Lds(l) => (l.job, l.run.done(), l.run.total()),
        };
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
        actual,
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
