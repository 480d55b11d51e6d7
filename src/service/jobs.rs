//! Long jobs, run in blocks of about [`BLOCK_MS`] milliseconds so the worker reads its
//! messages (a Cancel, a newer request) in between: leave-one-out of every training
//! point for the explained point, and the retraining behind the LDS.

use super::session::Session;
use crate::engine::evaluate::{lds, random_subsets, subset_losses, LdsRefits};
use crate::engine::fit::FitOptions;
use crate::engine::methods::{self, MethodParams};
use crate::engine::model::problem::Design;
use crate::engine::retrain::Retrainer;
use crate::engine::stats::{pearson, spearman};
use crate::protocol::*;

/// Milliseconds of work per block. Blocks are bounded by time, not count, because
/// browsers clamp nested `setTimeout(0)` to 4 ms.
pub const BLOCK_MS: f64 = 15.0;

/// A job in progress.
pub enum LongJob {
    /// Leave-one-out of every training point.
    Loo {
        /// Job id.
        job: u64,
        /// Actual changes so far.
        actual: Vec<f64>,
        /// Start time.
        started: f64,
    },
    /// LDS refits.
    Lds {
        /// Job id.
        job: u64,
        /// The subsets to retrain.
        subsets: Vec<Vec<usize>>,
        /// Test losses of the subsets retrained so far.
        losses: Vec<Vec<f64>>,
        /// Subset fraction.
        alpha: f64,
        /// Method parameters for the scores.
        params: Box<MethodParams>,
        /// Start time.
        started: f64,
    },
}

impl LongJob {
    /// A leave-one-out job.
    pub fn loo(job: u64, started: f64) -> Self {
        LongJob::Loo { job, actual: Vec::new(), started }
    }

    /// An LDS job over `m` seeded subsets of fraction `alpha`.
    pub fn lds(
        job: u64,
        n: usize,
        m: usize,
        alpha: f64,
        seed: u64,
        params: MethodParams,
        started: f64,
    ) -> Self {
        let subsets = random_subsets(n, m.clamp(2, 500), alpha.clamp(0.05, 0.95), seed);
        LongJob::Lds { job, subsets, losses: Vec::new(), alpha, params: Box::new(params), started }
    }

    /// The job id.
    pub fn id(&self) -> u64 {
        match self {
            LongJob::Loo { job, .. } | LongJob::Lds { job, .. } => *job,
        }
    }

    /// The response that says the job was cancelled.
    pub fn cancelled(&self) -> Response {
        match self {
            LongJob::Loo { job, .. } => {
                Response::LeaveEachOutDone { job: *job, result: Err("cancelled".into()) }
            }
            LongJob::Lds { job, .. } => Response::LdsDone { job: *job, result: Err("cancelled".into()) },
        }
    }

    /// Work until `clock()` passes the block's deadline; emit progress, and the result
    /// when done. Returns whether the job is finished.
    pub fn step(&mut self, s: &mut Session, clock: fn() -> f64, emit: &mut dyn FnMut(Response)) -> bool {
        let deadline = clock() + BLOCK_MS;
        match self {
            LongJob::Loo { job, actual, started } => {
                let n = s.train.n();
                let mut retrainer = Retrainer::new(&s.problem, &s.theta, &s.influence, FitOptions::default());
                let (m, l0) = (&s.problem.model, s.explained.loss);
                while actual.len() < n && clock() < deadline {
                    match retrainer.leave_out(actual.len()) {
                        Ok(r) => actual.push(m.loss(&r.theta, &s.explained_x, s.explained.label) - l0),
                        Err(e) => {
                            emit(Response::LeaveEachOutDone { job: *job, result: Err(e.to_string()) });
                            return true;
                        }
                    }
                }
                emit(Response::Progress { job: *job, done: actual.len(), total: n });
                if actual.len() < n {
                    return false;
                }
                let predicted = s.explained.pred_loo_dloss.clone();
                let actual = std::mem::take(actual);
                s.actual_loo = Some(actual.clone());
                let view = LooView {
                    pearson: pearson(&predicted, &actual).unwrap_or(0.0),
                    spearman: spearman(&predicted, &actual).unwrap_or(0.0),
                    millis: clock() - *started,
                    predicted,
                    actual,
                };
                emit(Response::LeaveEachOutDone { job: *job, result: Ok(Box::new(view)) });
                true
            }
            LongJob::Lds { job, subsets, losses, alpha, params, started } => {
                let test = Design::from_dataset(&s.test);
                let mut scratch = s.problem.clone();
                while losses.len() < subsets.len() && clock() < deadline {
                    match subset_losses(&s.problem, &mut scratch, &s.theta, &subsets[losses.len()], &test) {
                        Ok(l) => losses.push(l),
                        Err(e) => {
                            emit(Response::LdsDone { job: *job, result: Err(e.to_string()) });
                            return true;
                        }
                    }
                }
                emit(Response::Progress { job: *job, done: losses.len(), total: subsets.len() });
                if losses.len() < subsets.len() {
                    return false;
                }
                let refits = LdsRefits { subsets: subsets.clone(), losses: losses.clone() };
                let exact: Vec<Vec<f64>> =
                    s.influence.score(&s.problem, &test).into_iter().map(|t| t.pred_loo_dloss).collect();
                let mut values = vec![("exact".to_string(), lds(&refits, &exact))];
                for name in ["cg", "arnoldi", "tracin", "representer", "grad_dot", "grad_cos", "trak"] {
                    let v = methods::run(name, &s.problem, &s.theta, &test, s.influence.damping, params)
                        .ok()
                        .and_then(|m| lds(&refits, &m.scores));
                    values.push((name.to_string(), v));
                }
                let view =
                    LdsView { subsets: subsets.len(), alpha: *alpha, values, millis: clock() - *started };
                emit(Response::LdsDone { job: *job, result: Ok(Box::new(view)) });
                true
            }
        }
    }
}
