//! The app's state and every action that changes it. Components get a copy of
//! [`Actions`] through context; only actions talk to the worker.
//!
//! Job ids: each request gets the next id, and each kind of result keeps the id of its
//! latest request; older responses are dropped. Weight changes are coalesced: while a
//! reweighting is being computed, only the latest slider value waits to be sent.

use crate::engine::methods::MethodParams;
use crate::protocol::*;
use crate::service::analysis::PAGE_METHODS;
pub use crate::url_state::Tab;
use crate::url_state::{ViewState, UPLOAD};
use crate::web::bridge;
use leptos::prelude::*;

/// Ids of the latest requests, and the coalesced slider value.
#[derive(Default)]
struct Jobs {
    next: u64,
    train: u64,
    reweight: u64,
    reweight_busy: bool,
    pending_weight: Option<(usize, f64, bool)>,
    loo: u64,
    upload: u64,
    methods: u64,
    diagnostics: u64,
    mislabel: u64,
    lds: u64,
}

/// Signals and actions of the page (cheap to copy).
#[derive(Clone, Copy)]
pub struct Actions {
    /// The reproducible state (mirrored in the URL).
    pub state: RwSignal<ViewState>,
    /// The last state that trained without error (restored on an error).
    good_state: StoredValue<Option<ViewState>>,
    /// The trained view.
    pub view: RwSignal<Option<TrainedView>>,
    /// The scrubber's predicted and actual changes.
    pub reweight: RwSignal<Option<ReweightView>>,
    /// The leave-one-out check.
    pub loo: RwSignal<Option<LooView>>,
    /// Progress of the leave-one-out job.
    pub progress: RwSignal<Option<(usize, usize)>>,
    /// The uploaded file's columns.
    pub upload: RwSignal<Option<UploadSummary>>,
    /// The message shown in the error banner.
    pub error: RwSignal<Option<String>>,
    /// Whether the worker has answered Ready.
    pub ready: RwSignal<bool>,
    /// Whether a training job is running.
    pub busy: RwSignal<bool>,
    /// Parameters of the approximations and peer methods.
    pub method_params: RwSignal<MethodParams>,
    /// The methods the Methods view runs.
    pub chosen_methods: RwSignal<Vec<String>>,
    /// The Methods view.
    pub methods: RwSignal<Option<MethodsView>>,
    /// The Diagnostics view.
    pub diagnostics: RwSignal<Option<DiagnosticsView>>,
    /// The Mislabel lab.
    pub mislabel: RwSignal<Option<MislabelView>>,
    /// The LDS panel.
    pub lds: RwSignal<Option<LdsView>>,
    /// Progress of the LDS job.
    pub lds_progress: RwSignal<Option<(usize, usize)>>,
    /// An analysis is being computed (Methods, Diagnostics, Mislabel).
    pub analysing: RwSignal<bool>,
    jobs: StoredValue<Jobs>,
}

impl Actions {
    /// Fresh state from the URL query.
    pub fn new(query: &str) -> Self {
        let mut state = ViewState::from_query(query);
        let mut error = None;
        if state.dataset == UPLOAD {
            error = Some(
                "This link was made from an uploaded file, which is never put in links. \
                 Drop the file again to see it; meanwhile, here is the default dataset."
                    .to_string(),
            );
            state = ViewState { embed: state.embed, ..ViewState::default() };
        }
        Self {
            state: RwSignal::new(state),
            good_state: StoredValue::new(None),
            view: RwSignal::new(None),
            reweight: RwSignal::new(None),
            loo: RwSignal::new(None),
            progress: RwSignal::new(None),
            upload: RwSignal::new(None),
            error: RwSignal::new(error),
            ready: RwSignal::new(false),
            busy: RwSignal::new(false),
            method_params: RwSignal::new(MethodParams {
                shapley_permutations: 10,
                arnoldi_k: 5,
                trak_k: 10,
                lissa: crate::engine::methods::ihvp::LissaParams { batch: 32, ..Default::default() },
                ..MethodParams::default()
            }),
            chosen_methods: RwSignal::new(PAGE_METHODS.iter().map(|m| m.to_string()).collect()),
            methods: RwSignal::new(None),
            diagnostics: RwSignal::new(None),
            mislabel: RwSignal::new(None),
            lds: RwSignal::new(None),
            lds_progress: RwSignal::new(None),
            analysing: RwSignal::new(false),
            jobs: StoredValue::new(Jobs::default()),
        }
    }

    /// The tab shown (part of the URL state).
    pub fn tab(&self) -> Tab {
        self.state.with(|s| s.tab)
    }

    /// Show another tab.
    pub fn set_tab(&self, tab: Tab) {
        self.state.update(|s| s.tab = tab);
    }

    fn next_job(&self) -> u64 {
        self.jobs.update_value(|j| j.next += 1);
        self.jobs.with_value(|j| j.next)
    }

    fn send(&self, request: Request) {
        if let Err(e) = bridge::send(&request) {
            self.error.set(Some(e));
        }
    }

    /// Train for the current state.
    pub fn train(&self) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.train = job);
        self.busy.set(true);
        self.clear_analyses();
        self.send(Request::Train { job, spec: self.state.get_untracked().train_spec() });
    }

    /// Change the state and retrain (data, model or edits changed).
    pub fn retrain(&self, change: impl FnOnce(&mut ViewState)) {
        self.state.update(|s| {
            change(s);
            s.train_point = None;
            s.weight = 1.0;
        });
        self.reweight.set(None);
        self.train();
    }

    /// Explain another point with the same model.
    pub fn select(&self, selection: Selection) {
        self.state.update(|s| s.selection = selection.clone());
        let job = self.next_job();
        self.jobs.update_value(|j| j.train = job);
        self.clear_analyses();
        self.send(Request::Select { job, selection });
    }

    /// Put a training point on the scrubber (weight back to 1), or none.
    pub fn pick(&self, index: Option<usize>) {
        self.state.update(|s| {
            s.train_point = index;
            s.weight = 1.0;
        });
        self.reweight.set(None);
        if let Some(i) = index {
            self.request_reweight(i, 1.0, true);
        }
    }

    /// Move the scrubber.
    pub fn set_weight(&self, weight: f64) {
        let Some(i) = self.state.get_untracked().train_point else { return };
        self.state.update(|s| s.weight = weight);
        self.request_reweight(i, weight, false);
    }

    fn request_reweight(&self, index: usize, weight: f64, curve: bool) {
        if self.jobs.with_value(|j| j.reweight_busy) {
            // Coalesce: keep only the latest value (and whether any wanted a curve).
            self.jobs.update_value(|j| {
                let curve = curve || j.pending_weight.is_some_and(|p| p.2 && p.0 == index);
                j.pending_weight = Some((index, weight, curve));
            });
            return;
        }
        let job = self.next_job();
        self.jobs.update_value(|j| {
            j.reweight = job;
            j.reweight_busy = true;
        });
        self.send(Request::Reweight { job, index, weight, curve });
    }

    /// Start the all-points leave-one-out check.
    pub fn run_loo(&self) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.loo = job);
        self.loo.set(None);
        self.progress.set(Some((0, 1)));
        self.send(Request::LeaveEachOut { job });
    }

    /// Cancel it.
    pub fn cancel_loo(&self) {
        let job = self.jobs.with_value(|j| j.loo);
        self.send(Request::Cancel { job });
    }

    /// Everything computed for the previous model or point is stale now.
    fn clear_analyses(&self) {
        self.loo.set(None);
        self.progress.set(None);
        self.methods.set(None);
        self.diagnostics.set(None);
        self.mislabel.set(None);
        self.lds.set(None);
        self.lds_progress.set(None);
    }

    /// Every method side by side for the explained point.
    pub fn run_methods(&self) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.methods = job);
        self.analysing.set(true);
        let methods = self.chosen_methods.get_untracked();
        self.send(Request::Methods { job, methods, settings: self.method_params.get_untracked() });
    }

    /// Spectrum, traces and the damping sweep.
    pub fn run_diagnostics(&self) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.diagnostics = job);
        self.analysing.set(true);
        self.send(Request::Diagnostics { job, settings: self.method_params.get_untracked() });
    }

    /// Flip labels and rank.
    pub fn run_mislabel(&self, fraction: f64, seed: u64) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.mislabel = job);
        self.analysing.set(true);
        self.send(Request::Mislabel { job, fraction, seed });
    }

    /// The linear datamodeling score (long job).
    pub fn run_lds(&self, subsets: usize, alpha: f64, seed: u64) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.lds = job);
        self.lds.set(None);
        self.lds_progress.set(Some((0, subsets)));
        self.send(Request::Lds { job, subsets, alpha, seed, settings: self.method_params.get_untracked() });
    }

    /// Cancel the LDS job.
    pub fn cancel_lds(&self) {
        let job = self.jobs.with_value(|j| j.lds);
        self.send(Request::Cancel { job });
    }

    /// Send a user's file to the worker.
    pub fn upload_file(&self, name: String, text: String) {
        let job = self.next_job();
        self.jobs.update_value(|j| j.upload = job);
        self.send(Request::Upload { job, name, text });
    }

    fn show<T: Send + Sync + 'static>(&self, result: Result<Box<T>, String>, into: RwSignal<Option<T>>) {
        match result {
            Ok(v) => into.set(Some(*v)),
            Err(e) => self.error.set(Some(e)),
        }
    }

    /// React to the worker.
    pub fn on_response(&self, response: Response) {
        let latest = |f: fn(&Jobs) -> u64| self.jobs.with_value(f);
        match response {
            Response::Ready => {
                self.ready.set(true);
                self.train();
            }
            Response::Uploaded { job, result } if job == latest(|j| j.upload) => match result {
                Ok(summary) => {
                    let target = summary.default_target.clone();
                    self.upload.set(Some(summary));
                    self.error.set(None);
                    self.retrain(|s| {
                        s.dataset = UPLOAD.into();
                        s.target = Some(target);
                        s.selection = Selection::Auto;
                        s.edits = Edits::default();
                    });
                }
                Err(e) => self.error.set(Some(e)),
            },
            Response::Trained { job, result } if job == latest(|j| j.train) => {
                self.busy.set(false);
                match result {
                    Ok(v) => {
                        let state = self.state.get_untracked();
                        self.good_state.set_value(Some(state.clone()));
                        let n = v.train_xy.len();
                        self.view.set(Some(*v));
                        self.error.set(None);
                        match state.train_point {
                            Some(i) if i < n => self.request_reweight(i, state.weight, true),
                            Some(_) => self.state.update(|s| s.train_point = None),
                            None => {}
                        }
                    }
                    Err(e) => {
                        self.error.set(Some(e));
                        // Keep what the user had: the previous state and view.
                        if let Some(good) = self.good_state.get_value() {
                            self.state.set(good);
                        }
                    }
                }
            }
            Response::Reweighted { job, result } => {
                let pending = self.jobs.try_update_value(|j| {
                    j.reweight_busy = false;
                    j.pending_weight.take()
                });
                if job == latest(|j| j.reweight) {
                    match result {
                        Ok(r) => {
                            // Keep the last curve while the slider moves.
                            let curve = r.curve.clone().or_else(|| {
                                self.reweight
                                    .get_untracked()
                                    .filter(|o| o.index == r.index)
                                    .and_then(|o| o.curve)
                            });
                            self.reweight.set(Some(ReweightView { curve, ..*r }));
                        }
                        Err(e) => self.error.set(Some(e)),
                    }
                }
                if let Some(Some((i, w, curve))) = pending {
                    self.request_reweight(i, w, curve);
                }
            }
            Response::Progress { job, done, total } if job == latest(|j| j.loo) => {
                self.progress.set(Some((done, total)));
            }
            Response::Progress { job, done, total } if job == latest(|j| j.lds) => {
                self.lds_progress.set(Some((done, total)));
            }
            Response::MethodsDone { job, result } if job == latest(|j| j.methods) => {
                self.analysing.set(false);
                self.show(result, self.methods);
            }
            Response::DiagnosticsDone { job, result } if job == latest(|j| j.diagnostics) => {
                self.analysing.set(false);
                self.show(result, self.diagnostics);
            }
            Response::MislabelDone { job, result } if job == latest(|j| j.mislabel) => {
                self.analysing.set(false);
                self.show(result, self.mislabel);
            }
            Response::LdsDone { job, result } if job == latest(|j| j.lds) => match result {
                Ok(l) => self.lds.set(Some(*l)),
                Err(e) if e == "cancelled" => self.lds_progress.set(None),
                Err(e) => self.error.set(Some(e)),
            },
            Response::LeaveEachOutDone { job, result } if job == latest(|j| j.loo) => match result {
                Ok(l) => self.loo.set(Some(*l)),
                Err(e) if e == "cancelled" => self.progress.set(None),
                Err(e) => self.error.set(Some(e)),
            },
            Response::Crashed { message } => self.error.set(Some(format!("The engine stopped: {message}"))),
            _ => {} // a stale response
        }
    }
}
