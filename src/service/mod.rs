//! The worker's work, independent of the browser: a [`Service`] holds the uploaded
//! file and the fitted model between requests and turns each [`Request`] into its
//! [`Response`]s. The worker binary only moves messages in and out; this is tested
//! natively.
//!
//! Plot coordinates ([`frame`]): with two features, the features themselves
//! (standardised when asked); with one, the feature against the target; with more,
//! the first two principal components of the training features. Edits of the
//! training set happen in those standardised units, with the statistics of the
//! original training rows, so the picture does not shift when a point is removed.

pub mod analysis;
pub mod file_read;
pub mod frame;
pub mod jobs;
pub mod session;

use crate::engine::data::csv::{parse, CsvTable};
use crate::engine::methods::{CheckedParams, MethodParams};
use crate::protocol::*;
use crate::said::Said;
use crate::text::Text;
use file_read::{FileRead, FileSource, ReadStep};
use jobs::{LongJob, Stepped};
pub use session::train;
use session::Session;
use std::collections::VecDeque;

/// The worker's state.
pub struct Service {
    upload: Option<(String, CsvTable)>,
    /// A file posted by the page, until [`Request::ReadFile`] reads it.
    file: Option<Box<dyn FileSource>>,
    /// The file being read, in steps.
    reading: Option<FileRead>,
    /// Requests that came while a file was read: they wait for it, as they would
    /// behind a read in one piece.
    deferred: VecDeque<Request>,
    session: Option<Session>,
    long: Option<LongJob>,
    /// A shared job whose block is done, waiting for [`Request::Finish`].
    awaiting: Option<LongJob>,
    clock: fn() -> f64,
}

/// Milliseconds since the first call, from the operating system's monotonic clock
/// (native tests and tools; the worker passes the browser's `performance.now`).
#[cfg(not(target_arch = "wasm32"))]
pub fn native_clock() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
}

/// The reply when no model has been trained yet.
fn untrained<T>() -> JobResult<T> {
    Err(JobError::Failed(Said::new(Text::ErrTrainFirst)))
}

/// Parts per thousand in the progress of a one-piece job (a fit, an analysis).
pub const PROGRESS_TOTAL: usize = 1000;

/// Milliseconds between two progress reports of a one-piece job.
const PROGRESS_EVERY_MS: f64 = 50.0;

/// A one-piece job's progress (a fraction from 0 to 1: a fit's headway, an analysis's
/// [`Stages`](crate::engine::progress::Stages)) as [`Response::Progress`] of `job` in
/// parts per thousand, at most every [`PROGRESS_EVERY_MS`] (a network's L-BFGS takes
/// thousands of steps). Such a job cannot be stopped between steps (the page cancels
/// it by replacing the worker).
fn progress_reports(job: u64, clock: fn() -> f64, emit: &mut dyn FnMut(Response)) -> impl FnMut(f64) + '_ {
    let mut last = clock();
    move |fraction: f64| {
        let now = clock();
        if now - last >= PROGRESS_EVERY_MS {
            last = now;
            let done = (fraction.clamp(0.0, 1.0) * PROGRESS_TOTAL as f64) as usize;
            emit(Response::Progress { job, part: 0, done, total: PROGRESS_TOTAL });
        }
    }
}

/// Check the method parameters, with the error a job reports.
fn check(params: MethodParams) -> Result<CheckedParams, JobError> {
    params.check().map_err(|e| JobError::Failed(e.said()))
}

impl Service {
    /// A service that reads milliseconds from `clock` (the worker passes the
    /// browser's; long jobs yield when it passes their block's deadline, so a clock
    /// that never moves would never yield).
    pub fn new(clock: fn() -> f64) -> Self {
        Self {
            upload: None,
            file: None,
            reading: None,
            deferred: VecDeque::new(),
            session: None,
            long: None,
            awaiting: None,
            clock,
        }
    }

    /// Whether a long job or a file read has steps left (call [`Service::step`]).
    pub fn busy(&self) -> bool {
        self.long.is_some() || self.reading.is_some()
    }

    /// Hold a file the page posted, for the next [`Request::ReadFile`].
    pub fn hold_file(&mut self, file: Box<dyn FileSource>) {
        self.file = Some(file);
    }

    /// Handle one request; `emit` receives every response. While a file is read,
    /// requests other than a Cancel or another file wait for it.
    pub fn handle(&mut self, request: Request, emit: &mut dyn FnMut(Response)) {
        if self.reading.is_some() && !matches!(request, Request::Cancel { .. } | Request::ReadFile { .. }) {
            self.deferred.push_back(request);
            return;
        }
        match request {
            Request::Upload { job, name, text } => {
                let result = parse(&text)
                    .map_err(|e| JobError::Failed(e.said_in(&name)))
                    .map(|table| self.keep(name, table));
                emit(Response::Uploaded { job, result });
            }
            Request::ReadFile { job, name } => {
                if let Some(old) = self.reading.take() {
                    emit(Response::Uploaded { job: old.job(), result: Err(JobError::Cancelled) });
                }
                let started = match self.file.take() {
                    Some(file) => FileRead::start(job, name, file),
                    None => Err(Said::new(Text::ErrNoUpload)),
                };
                match started {
                    Ok(read) => {
                        emit(Response::Progress { job, part: 0, done: 0, total: read.total() });
                        self.reading = Some(read);
                    }
                    Err(e) => emit(Response::Uploaded { job, result: Err(JobError::Failed(e)) }),
                }
            }
            Request::Train { job, spec } => {
                self.cancel_long(emit);
                let built =
                    Session::build(&spec, self.upload.as_ref(), &mut progress_reports(job, self.clock, emit));
                let result = built.map_err(JobError::failed).map(|s| {
                    let view = s.view();
                    self.session = Some(s);
                    Box::new(view)
                });
                emit(Response::Trained { job, result });
            }
            Request::Select { job, selection } => {
                self.cancel_long(emit);
                let result = match self.session.as_mut() {
                    Some(s) => s.select(&selection).map(|()| Box::new(s.view())).map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::Trained { job, result });
            }
            Request::Reweight { job, index, weight, curve } => {
                let result = match self.session.as_ref() {
                    Some(s) => s.reweight(index, weight, curve).map(Box::new).map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::Reweighted { job, result });
            }
            Request::LeaveEachOut { job, share } => {
                self.cancel_long(emit);
                match &self.session {
                    Some(s) => self.start_long(LongJob::loo(job, share, s.n_train(), (self.clock)()), emit),
                    None => emit(Response::LeaveEachOutDone { job, result: untrained() }),
                }
            }
            Request::Lds { job, subsets, alpha, seed, methods, settings, share } => {
                self.cancel_long(emit);
                match self.lds_job(job, share, subsets, alpha, seed, methods, settings) {
                    Ok(l) => self.start_long(l, emit),
                    Err(e) => emit(Response::LdsDone { job, result: Err(e) }),
                }
            }
            Request::Shapley { job, settings, share } => {
                self.cancel_long(emit);
                let clock = self.clock;
                let started = match (&self.session, check(settings)) {
                    (None, _) => untrained(),
                    (_, Err(e)) => Err(e),
                    (Some(s), Ok(p)) => {
                        LongJob::shapley(job, share, s, &p, clock()).map(Box::new).map_err(JobError::failed)
                    }
                };
                match started {
                    Ok(l) => self.start_long(*l, emit),
                    Err(e) => emit(Response::ShapleyDone { job, result: Err(e) }),
                }
            }
            Request::Truths { job, seeds, share } => {
                self.cancel_long(emit);
                match &self.session {
                    Some(s) if (2..=20).contains(&seeds) => {
                        self.start_long(LongJob::truths(job, share, s, seeds, (self.clock)()), emit)
                    }
                    Some(_) => emit(Response::TruthsDone {
                        job,
                        result: Err(JobError::Failed(Said::new(Text::ErrSeeds).with("seeds", seeds))),
                    }),
                    None => emit(Response::TruthsDone { job, result: untrained() }),
                }
            }
            Request::Cancel { job } if self.reading.as_ref().is_some_and(|r| r.job() == job) => {
                self.reading = None;
                emit(Response::Uploaded { job, result: Err(JobError::Cancelled) });
                self.run_deferred(emit);
            }
            Request::Cancel { job } => {
                let ours = |l: &Option<LongJob>| l.as_ref().is_some_and(|l| l.id() == job);
                if ours(&self.long) || ours(&self.awaiting) {
                    self.cancel_long(emit);
                }
            }
            Request::Finish { job, parts } => match (self.awaiting.take(), self.session.as_mut()) {
                (Some(waiting), Some(s)) if waiting.id() == job => emit(waiting.finish(s, parts)),
                (waiting, _) => {
                    self.awaiting = waiting;
                    let e = Said::new(Text::ErrNoBlocks).with("job", job);
                    emit(Response::PartDone { job, result: Err(JobError::Failed(e)) });
                }
            },
            Request::Methods { job, methods, settings } => {
                let result = match (&self.session, check(settings)) {
                    (None, _) => untrained(),
                    (_, Err(e)) => Err(e),
                    (Some(s), Ok(p)) => Ok(Box::new(analysis::methods_view(
                        s,
                        &methods,
                        &p,
                        self.clock,
                        &mut progress_reports(job, self.clock, emit),
                    ))),
                };
                emit(Response::MethodsDone { job, result });
            }
            Request::Diagnostics { job, settings } => {
                let result = match (&self.session, check(settings)) {
                    (None, _) => untrained(),
                    (_, Err(e)) => Err(e),
                    (Some(s), Ok(p)) => Ok(Box::new(analysis::diagnostics(
                        s,
                        &p,
                        &mut progress_reports(job, self.clock, emit),
                    ))),
                };
                emit(Response::DiagnosticsDone { job, result });
            }
            Request::Flip { job, limit, threshold } => {
                let result = match &self.session {
                    Some(s) => analysis::flip(
                        s,
                        limit,
                        threshold,
                        self.clock,
                        &mut progress_reports(job, self.clock, emit),
                    )
                    .map(Box::new)
                    .map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::FlipDone { job, result });
            }
            Request::Audit { job, rank, top } => {
                let result = match &self.session {
                    Some(s) => analysis::audit(s, rank, top).map(Box::new).map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::AuditDone { job, result });
            }
            Request::Group { job, members, steps } => {
                let result = match &self.session {
                    Some(s) => {
                        analysis::group(s, members, steps, self.clock).map(Box::new).map_err(JobError::failed)
                    }
                    None => untrained(),
                };
                emit(Response::GroupDone { job, result });
            }
            Request::CleanedCsv { job } => {
                let result = match &self.session {
                    Some(s) => s.cleaned_csv(self.upload.as_ref()).map(Box::new).map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::CleanedCsvDone { job, result });
            }
            Request::Mislabel { job, fraction, seed } => {
                let result = match &self.session {
                    Some(s) => analysis::mislabel(
                        s,
                        fraction,
                        seed,
                        &CheckedParams::default(),
                        &mut progress_reports(job, self.clock, emit),
                    )
                    .map(Box::new)
                    .map_err(JobError::failed),
                    None => untrained(),
                };
                emit(Response::MislabelDone { job, result });
            }
        }
    }

    /// Keep a parsed file (the previous one stays when a file does not parse).
    fn keep(&mut self, name: String, table: CsvTable) -> UploadSummary {
        let summary = UploadSummary {
            name: name.clone(),
            rows: table.n_rows(),
            columns: table.headers.clone(),
            default_target: table.headers.last().cloned().unwrap_or_default(),
        };
        self.upload = Some((name, table));
        summary
    }

    /// Handle the requests that waited for a file, until one reads another file.
    fn run_deferred(&mut self, emit: &mut dyn FnMut(Response)) {
        while self.reading.is_none() {
            let Some(request) = self.deferred.pop_front() else { break };
            self.handle(request, emit);
        }
    }

    /// One step of the file being read: progress, or the file kept (or why not) and
    /// the requests that waited for it handled.
    fn step_read(&mut self, emit: &mut dyn FnMut(Response)) {
        let Some(read) = self.reading.as_mut() else { return };
        let job = read.job();
        match read.step(self.clock, (self.clock)() + jobs::BLOCK_MS) {
            ReadStep::Running { done, total } => emit(Response::Progress { job, part: 0, done, total }),
            ReadStep::Done(result) => {
                let name = read.name().to_string();
                self.reading = None;
                let result = result.map(|table| self.keep(name, table)).map_err(JobError::Failed);
                emit(Response::Uploaded { job, result });
                self.run_deferred(emit);
            }
        }
    }

    /// An LDS job, or why it cannot start.
    #[allow(clippy::too_many_arguments)]
    fn lds_job(
        &self,
        job: u64,
        share: Share,
        subsets: usize,
        alpha: f64,
        seed: u64,
        methods: Vec<crate::engine::methods::Method>,
        settings: MethodParams,
    ) -> Result<LongJob, JobError> {
        let s = self.session.as_ref().ok_or_else(|| JobError::Failed(Said::new(Text::ErrTrainFirst)))?;
        let params = check(settings)?;
        if !((2..=10_000).contains(&subsets) && alpha > 0.0 && alpha < 1.0) {
            return Err(JobError::Failed(
                Said::new(Text::ErrLdsSettings).with("subsets", subsets).with("alpha", alpha),
            ));
        }
        Ok(LongJob::lds(job, share, s, subsets, alpha, seed, methods, params, (self.clock)()))
    }

    fn start_long(&mut self, job: LongJob, emit: &mut dyn FnMut(Response)) {
        emit(job.progress());
        self.long = Some(job);
    }

    /// End the running job, or the one waiting for its blocks, as cancelled.
    fn cancel_long(&mut self, emit: &mut dyn FnMut(Response)) {
        for job in [self.long.take(), self.awaiting.take()].into_iter().flatten() {
            emit(job.ended(JobError::Cancelled));
        }
    }

    /// Run one block of the long job, emitting progress, and the result when complete.
    pub fn step(&mut self, emit: &mut dyn FnMut(Response)) {
        if self.reading.is_some() {
            return self.step_read(emit);
        }
        let (Some(job), Some(s)) = (self.long.as_mut(), self.session.as_mut()) else {
            self.long = None;
            return;
        };
        match job.step(s, self.clock, emit) {
            Stepped::Running => {}
            Stepped::Ended => self.long = None,
            Stepped::AwaitingFinish => self.awaiting = self.long.take(),
        }
    }
}
