//! The worker's work, independent of the browser: a [`Service`] holds the uploaded
//! file and the fitted model between requests and turns each [`Request`] into its
//! [`Response`]s. The worker binary only moves JSON in and out; this is tested natively.
//!
//! Plot coordinates: with two features, the features themselves (standardised when
//! asked); with one, the feature against the target; with more, the first two
//! principal components of the training features. Edits of the training set happen in
//! those standardised units, with the statistics of the original training rows, so the
//! picture does not shift when a point is removed.

pub mod analysis;
pub mod jobs;
pub mod session;

use crate::engine::data::csv::{parse, CsvTable};
use crate::protocol::*;
use jobs::LongJob;
pub use session::train;
use session::Session;

/// The worker's state.
pub struct Service {
    upload: Option<(String, CsvTable)>,
    session: Option<Session>,
    long: Option<LongJob>,
    clock: fn() -> f64,
}

fn native_clock() -> f64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
    }
    #[cfg(target_arch = "wasm32")]
    {
        0.0
    }
}

impl Default for Service {
    fn default() -> Self {
        Self::new(native_clock)
    }
}

impl Service {
    /// A service that reads milliseconds from `clock` (the worker passes the browser's).
    pub fn new(clock: fn() -> f64) -> Self {
        Self { upload: None, session: None, long: None, clock }
    }

    /// Whether a long job has blocks left (call [`Service::step`]).
    pub fn busy(&self) -> bool {
        self.long.is_some()
    }

    /// Handle one request; `emit` receives every response.
    pub fn handle(&mut self, request: Request, emit: &mut dyn FnMut(Response)) {
        match request {
            Request::Upload { job, name, text } => {
                let result = parse(&text).map_err(|e| format!("{name}: {e}")).map(|table| {
                    let summary = UploadSummary {
                        name: name.clone(),
                        rows: table.rows.len(),
                        columns: table.headers.clone(),
                        default_target: table.headers.last().cloned().unwrap_or_default(),
                    };
                    self.upload = Some((name, table));
                    summary
                });
                emit(Response::Uploaded { job, result });
            }
            Request::Train { job, spec } => {
                self.cancel_long(emit);
                let result = Session::build(&spec, self.upload.as_ref()).map(|s| {
                    let view = s.view();
                    self.session = Some(s);
                    Box::new(view)
                });
                emit(Response::Trained { job, result });
            }
            Request::Select { job, selection } => {
                self.cancel_long(emit);
                let result = match self.session.as_mut() {
                    Some(s) => s.select(&selection).map(|()| Box::new(s.view())),
                    None => Err("train a model first".into()),
                };
                emit(Response::Trained { job, result });
            }
            Request::Reweight { job, index, weight, curve } => {
                let result = match self.session.as_ref() {
                    Some(s) => s.reweight(index, weight, curve).map(Box::new),
                    None => Err("train a model first".into()),
                };
                emit(Response::Reweighted { job, result });
            }
            Request::LeaveEachOut { job } => {
                self.cancel_long(emit);
                match &self.session {
                    Some(s) => {
                        self.long = Some(LongJob::loo(job, (self.clock)()));
                        emit(Response::Progress { job, done: 0, total: s.train.n() });
                    }
                    None => {
                        emit(Response::LeaveEachOutDone { job, result: Err("train a model first".into()) })
                    }
                }
            }
            Request::Lds { job, subsets, alpha, seed, settings } => {
                self.cancel_long(emit);
                match &self.session {
                    Some(s) => {
                        self.long = Some(LongJob::lds(
                            job,
                            s.train.n(),
                            subsets,
                            alpha,
                            seed,
                            settings,
                            (self.clock)(),
                        ));
                        emit(Response::Progress { job, done: 0, total: subsets });
                    }
                    None => emit(Response::LdsDone { job, result: Err("train a model first".into()) }),
                }
            }
            Request::Cancel { job } => {
                if self.long.as_ref().is_some_and(|l| l.id() == job) {
                    self.cancel_long(emit);
                }
            }
            Request::Methods { job, methods, settings } => {
                let result = match &self.session {
                    Some(s) => Ok(Box::new(analysis::methods_view(s, &methods, &settings, self.clock))),
                    None => Err("train a model first".into()),
                };
                emit(Response::MethodsDone { job, result });
            }
            Request::Diagnostics { job, settings } => {
                let result = match &self.session {
                    Some(s) => Ok(Box::new(analysis::diagnostics(s, &settings))),
                    None => Err("train a model first".into()),
                };
                emit(Response::DiagnosticsDone { job, result });
            }
            Request::Mislabel { job, fraction, seed } => {
                let result = match &self.session {
                    Some(s) => analysis::mislabel(s, fraction, seed, &Default::default()).map(Box::new),
                    None => Err("train a model first".into()),
                };
                emit(Response::MislabelDone { job, result });
            }
        }
    }

    fn cancel_long(&mut self, emit: &mut dyn FnMut(Response)) {
        if let Some(job) = self.long.take() {
            emit(job.cancelled());
        }
    }

    /// Run one block of the long job, emitting progress, and the result when complete.
    pub fn step(&mut self, emit: &mut dyn FnMut(Response)) {
        let (Some(job), Some(s)) = (self.long.as_mut(), self.session.as_mut()) else {
            self.long = None;
            return;
        };
        if job.step(s, self.clock, emit) {
            self.long = None;
        }
    }
}
