//! The app's state and every action that changes it. The signals are grouped by what
//! the components need; only actions talk to the worker, and the job bookkeeping (ids,
//! stale answers, coalescing, progress) is the plain, natively tested
//! [`JobTracker`].

use crate::engine::audit::review::ReviewScore;
use crate::engine::methods::ihvp::LissaParams;
use crate::engine::methods::{Method, MethodParams};
use crate::lang::Lang;
use crate::lesson::{self, Analysis, Lesson, Seen};
use crate::link_data;
use crate::pool::Helpers;
use crate::protocol::*;
use crate::review::{Metrics, Queue, Verdict};
use crate::said::Said;
use crate::text::{filled, text, Text};
use crate::tracker::{JobKind, JobTracker, Progress, ReweightPlan};
pub use crate::url_state::Tab;
use crate::url_state::{LessonAt, ViewState, UPLOAD};
use crate::web::bridge;
use crate::web::export::download_text;
use leptos::prelude::*;

/// Signals and actions of the page (cheap to copy).
#[derive(Clone, Copy)]
pub struct Actions {
    /// The reproducible state (mirrored in the URL).
    pub state: RwSignal<ViewState>,
    /// The state as the scrubber leaves it (its weight aside): views that do not show
    /// the weight read this, so a scrubber move does not re-run them.
    pub settled: Memo<ViewState>,
    /// The last state that trained without error (restored on an error).
    good_state: StoredValue<Option<ViewState>>,
    /// The trained view.
    pub view: RwSignal<Option<TrainedView>>,
    /// The scrubber's predicted and actual changes.
    pub reweight: RwSignal<Option<ReweightView>>,
    /// The training point whose row the pointer or the keyboard is on (ringed on the
    /// plot).
    pub hovered: RwSignal<Option<usize>>,
    /// The leave-one-out check.
    pub loo: RwSignal<Option<LooView>>,
    /// Progress of the leave-one-out job.
    pub loo_progress: RwSignal<Option<Progress>>,
    /// The uploaded file's columns.
    pub upload: RwSignal<Option<UploadSummary>>,
    /// The message shown in the error banner.
    pub error: RwSignal<Option<Said>>,
    /// Whether the worker has answered Ready.
    pub ready: RwSignal<bool>,
    /// Whether a training job (or the reading of a file) is running.
    pub busy: RwSignal<bool>,
    /// Parameters of the approximations and peer methods.
    pub method_params: RwSignal<MethodParams>,
    /// The methods the Methods view runs.
    pub chosen_methods: RwSignal<Vec<Method>>,
    /// The Methods view.
    pub methods: RwSignal<Option<MethodsView>>,
    /// The Diagnostics view.
    pub diagnostics: RwSignal<Option<DiagnosticsView>>,
    /// The Mislabel lab.
    pub mislabel: RwSignal<Option<MislabelView>>,
    /// Why this prediction: the flip set of the explained point.
    pub flip: RwSignal<Option<FlipView>>,
    /// The settings of an uploaded file that did not train (the view keeps the last
    /// good data; the data panel offers these choices to try again).
    pub failed_upload: RwSignal<Option<ViewState>>,
    /// A group's removal as it grows.
    pub group: RwSignal<Option<GroupView>>,
    /// Whether dragging on the plot draws a lasso around a group (2-D data).
    pub lasso_mode: RwSignal<bool>,
    /// The training points inside the last lasso.
    pub lasso: RwSignal<Vec<usize>>,
    /// The review queue and the decisions on it.
    pub queue: RwSignal<Option<Queue>>,
    /// The LDS panel.
    pub lds: RwSignal<Option<LdsView>>,
    /// Progress of the LDS job.
    pub lds_progress: RwSignal<Option<Progress>>,
    /// Progress of TMC-Shapley's permutations on the pool (before a Methods run).
    pub shapley_progress: RwSignal<Option<Progress>>,
    /// The three ground truths of the explained point.
    pub truths: RwSignal<Option<TruthsView>>,
    /// Progress of that job.
    pub truths_progress: RwSignal<Option<Progress>>,
    /// An analysis is being computed (Methods, Diagnostics, Mislabel).
    pub analysing: RwSignal<bool>,
    /// Engine workers ready to share long jobs (the primary and its ready helpers).
    pub workers: RwSignal<usize>,
    jobs: StoredValue<JobTracker>,
    helpers: StoredValue<Helpers>,
    /// Progress of reading an uploaded file (in the worker).
    pub upload_progress: RwSignal<Option<Progress>>,
    /// Progress of fitting the model (its headway, in parts per thousand).
    pub fit_progress: RwSignal<Option<Progress>>,
    /// The Methods request that waits for TMC-Shapley's permutations on the pool.
    methods_waiting: StoredValue<Option<(Vec<Method>, MethodParams)>>,
    /// How far the running analysis has come (Methods, Diagnostics, Mislabel lab,
    /// flip set), once it reports.
    pub analysis_progress: RwSignal<Option<Progress>>,
    /// The file sent to the primary, and the last one it accepted (helpers get it
    /// too).
    upload_sent: StoredValue<Option<(String, Held)>, LocalStorage>,
    upload_held: StoredValue<Option<(String, Held)>, LocalStorage>,
    /// Data carried by the link (`#data=`), and the state the link asked for, until
    /// the primary has read them.
    link_data: StoredValue<Option<(String, ViewState)>>,
    /// The fragment of the link, kept in the address while its data are the view's.
    fragment: StoredValue<Option<String>>,
    /// The settings of the Methods results on screen, and of the run under way.
    pub methods_settings: RwSignal<Option<MethodParams>>,
    methods_asked: StoredValue<Option<MethodParams>>,
    /// The page's language: `?lang=`, else the browser's (`navigator.language`). A memo,
    /// so that the page's many texts follow the language alone, not every change of the
    /// state (a slider move re-ran every text of the page and set `<html lang>`).
    lang: Memo<Lang>,
    /// The tab shown, a memo for the same reason: the tab's whole panel (the plot
    /// included) was built again on every change of the state.
    tab: Memo<Tab>,
    /// A message about how the page opened (a link whose data could not be read): it
    /// must outlive the training of the view that replaces them, which clears errors.
    notice: StoredValue<Option<Said>>,
}

/// A file the page holds for its workers.
#[derive(Clone)]
pub enum Held {
    /// A user's file: the browser's handle, read in the worker (the page never copies
    /// its text).
    File(web_sys::File),
    /// Data carried by the link (small: [`link_data::MAX_TEXT`] at most).
    Text(String),
}

/// What the data carried by a link are called in the page.
pub const LINK_DATA_NAME: &str = "data in this link";

/// Candidates in the review queue.
const REVIEWED: usize = 30;

/// The one-piece analyses: one runs at a time, with the Cancel of [`Actions::cancel_work`].
const ANALYSES: [JobKind; 6] = [
    JobKind::Methods,
    JobKind::Diagnostics,
    JobKind::Mislabel,
    JobKind::Flip,
    JobKind::Audit,
    JobKind::Group,
];

/// The parameters the page starts with: lighter than the CLI's where the page runs a
/// method on every click.
fn page_params() -> MethodParams {
    MethodParams {
        shapley_permutations: 10,
        arnoldi_k: 5,
        trak_k: 10,
        lissa: LissaParams { batch: 32, ..Default::default() },
        ..MethodParams::default()
    }
}

impl Actions {
    /// Fresh state from the URL query and fragment (which may carry data,
    /// [`link_data`]).
    pub fn new(query: &str, fragment: &str, browser_lang: Lang) -> Self {
        let mut state = lesson::opening_state(ViewState::from_query(query));
        let mut error = None;
        let mut link = None;
        if state.dataset == UPLOAD {
            let problem = match link_data::from_fragment(fragment) {
                Some(Ok(text)) => {
                    link = Some((text, state.clone()));
                    None
                }
                Some(Err(e)) => Some(Said::new(Text::LinkUnreadable).with_said("e", e.said())),
                None => Some(Said::new(Text::LinkUploaded)),
            };
            if let Some(problem) = problem {
                error = Some(Said::new(Text::MeanwhileDefault).with_said("problem", problem));
                state = state.fresh();
            }
        }
        let fragment = link.is_some().then(|| fragment.to_string());
        let notice = error.clone();
        let state = RwSignal::new(state);
        Self {
            state,
            good_state: StoredValue::new(None),
            view: RwSignal::new(None),
            reweight: RwSignal::new(None),
            hovered: RwSignal::new(None),
            loo: RwSignal::new(None),
            loo_progress: RwSignal::new(None),
            upload: RwSignal::new(None),
            error: RwSignal::new(error),
            ready: RwSignal::new(false),
            busy: RwSignal::new(false),
            method_params: RwSignal::new(page_params()),
            chosen_methods: RwSignal::new(Method::DEFAULT.to_vec()),
            methods: RwSignal::new(None),
            diagnostics: RwSignal::new(None),
            mislabel: RwSignal::new(None),
            flip: RwSignal::new(None),
            queue: RwSignal::new(None),
            group: RwSignal::new(None),
            lasso_mode: RwSignal::new(false),
            lasso: RwSignal::new(Vec::new()),
            failed_upload: RwSignal::new(None),
            lds: RwSignal::new(None),
            lds_progress: RwSignal::new(None),
            shapley_progress: RwSignal::new(None),
            truths: RwSignal::new(None),
            truths_progress: RwSignal::new(None),
            analysing: RwSignal::new(false),
            workers: RwSignal::new(1),
            jobs: StoredValue::new(JobTracker::default()),
            helpers: StoredValue::new(Helpers::default()),
            upload_progress: RwSignal::new(None),
            fit_progress: RwSignal::new(None),
            methods_waiting: StoredValue::new(None),
            analysis_progress: RwSignal::new(None),
            upload_sent: StoredValue::new_local(None),
            upload_held: StoredValue::new_local(None),
            link_data: StoredValue::new(link),
            fragment: StoredValue::new(fragment),
            methods_settings: RwSignal::new(None),
            methods_asked: StoredValue::new(None),
            lang: Memo::new(move |_| state.with(|s| s.lang).unwrap_or(browser_lang)),
            tab: Memo::new(move |_| state.with(|s| s.tab)),
            settled: Memo::new(move |_| state.with(|s| ViewState { weight: 1.0, ..s.clone() })),
            notice: StoredValue::new(notice),
        }
    }

    /// The page's language: `?lang=`, else the browser's.
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// `key` in the page's language.
    pub fn t(&self, key: Text) -> &'static str {
        text(self.lang(), key)
    }

    /// A sentence from the engine in the page's language.
    pub fn say(&self, said: &crate::said::Said) -> String {
        said.words(self.lang())
    }

    /// `key` in the page's language with its values filled in.
    pub fn tf(&self, key: Text, values: &[(&str, &str)]) -> String {
        filled(self.lang(), key, values)
    }

    /// Open step `at` of a lesson at its starting view (retrained, analyses cleared).
    pub fn open_step(&self, at: LessonAt) {
        let step = Lesson::get(at.number).ok().and_then(|l| l.steps.get(at.step).cloned());
        let Some(step) = step else { return };
        let state = step.start_state(&self.state.get_untracked(), at);
        // The methods' settings are part of a step's start too (they are not in links).
        self.method_params.set(page_params());
        self.chosen_methods.set(Method::DEFAULT.to_vec());
        self.state.set(state);
        self.reweight.set(None);
        self.train();
    }

    /// Close the lesson, keeping the view.
    pub fn close_lesson(&self) {
        self.state.update(|s| s.lesson = None);
    }

    /// Which analyses are on screen for the current view (what lesson steps check).
    pub fn seen(&self) -> Seen {
        let on = |shown: bool, a: Analysis| shown.then_some(a);
        let shown = [
            on(self.loo.with(Option::is_some), Analysis::Loo),
            on(self.methods.with(Option::is_some), Analysis::Methods),
            on(self.diagnostics.with(Option::is_some), Analysis::Diagnostics),
            on(self.mislabel.with(Option::is_some), Analysis::Mislabel),
            on(self.lds.with(Option::is_some), Analysis::Lds),
            on(self.truths.with(Option::is_some), Analysis::Truths),
            on(self.queue_current(), Analysis::Audit),
            on(self.flip.with(Option::is_some), Analysis::Flip),
            on(self.group.with(Option::is_some), Analysis::Group),
        ];
        Seen { shown: shown.into_iter().flatten().collect(), methods: self.methods_settings.get() }
    }

    /// The address of this view: the query, and the fragment while the link's own
    /// data are shown.
    pub fn address(&self) -> String {
        self.state.with(|s| self.address_of(s))
    }

    /// The address of this view with the scrubber's weight left out (untracked).
    pub fn settled_address(&self) -> String {
        self.settled.with_untracked(|s| self.address_of(s))
    }

    fn address_of(&self, s: &ViewState) -> String {
        let query = s.to_query();
        match self.fragment.get_value() {
            Some(f) if s.dataset == UPLOAD => format!("{query}{f}"),
            _ => query,
        }
    }

    /// The uploaded file the view shows, if any.
    pub fn uploaded(&self) -> Option<Held> {
        let held = self.upload_held.get_value().map(|(_, held)| held);
        self.state.with_untracked(|s| s.dataset == UPLOAD).then_some(held).flatten()
    }

    /// The tab shown (part of the URL state).
    pub fn tab(&self) -> Tab {
        self.tab.get()
    }

    /// Show another tab.
    pub fn set_tab(&self, tab: Tab) {
        self.state.update(|s| s.tab = tab);
    }

    /// Start a job of `kind` in the tracker and mirror the tracker in the signals.
    fn start(&self, kind: JobKind) -> u64 {
        let id = self.jobs.try_update_value(|j| j.start(kind)).unwrap_or(0);
        self.sync();
        id
    }

    /// Copy the tracker's running jobs and progress into the signals.
    fn sync(&self) {
        let (busy, analysing, loo, lds, truths, upload, fit, analysis, shapley) = self.jobs.with_value(|j| {
            let reading = j.current_progress(JobKind::Upload);
            (
                j.is_running(JobKind::Train) || (j.is_running(JobKind::Upload) && reading.is_none()),
                ANALYSES.iter().any(|k| j.is_running(*k)),
                j.current_progress(JobKind::Loo),
                j.current_progress(JobKind::Lds),
                j.current_progress(JobKind::Truths),
                reading,
                j.current_progress(JobKind::Train),
                ANALYSES.iter().find_map(|k| j.current_progress(*k)),
                j.current_progress(JobKind::Shapley),
            )
        });
        self.analysis_progress.set(analysis);
        self.upload_progress.set(upload);
        self.fit_progress.set(fit);
        self.busy.set(busy);
        self.analysing.set(analysing);
        self.loo_progress.set(loo);
        self.lds_progress.set(lds);
        self.shapley_progress.set(shapley);
        self.truths_progress.set(truths);
    }

    fn send(&self, request: Request) {
        self.send_to(0, request);
    }

    fn send_to(&self, worker: usize, request: Request) {
        if let Err(e) = bridge::send_to(worker, &request) {
            self.error.set(Some(e));
        }
    }

    /// Start the helper workers (once, with the primary, so that every request the
    /// page makes happens while it loads).
    pub fn start_helpers(&self) {
        if self.helpers.with_value(Helpers::started) {
            return;
        }
        let running = bridge::start_helpers(bridge::wanted_workers());
        self.helpers.update_value(|h| h.start(running.saturating_sub(1)));
    }

    /// Start a long job of `kind` (`total` units) split among the ready workers:
    /// helpers behind the primary get its file and model first, then each worker
    /// gets its block (`request(share)`).
    fn start_shared(&self, kind: JobKind, total: usize, request: impl Fn(u64, Share) -> Request) {
        let catch_up = self.helpers.try_update_value(|h| h.catch_up()).unwrap_or_default();
        let parts = 1 + catch_up.len();
        let job = self.jobs.try_update_value(|j| j.start_long(kind, total, parts)).unwrap_or(0);
        self.sync();
        let spec = self.good_state.get_value().map(|s| s.train_spec());
        for (c, share) in catch_up.iter().zip(Share::all(parts).skip(1)) {
            if c.upload {
                if let Some((name, held)) = self.upload_held.get_value() {
                    self.send_file_to(c.worker, 0, name, held);
                }
            }
            if let (true, Some(spec)) = (c.train, spec.clone()) {
                self.send_to(c.worker, Request::Train { job: 0, spec });
            }
            self.send_to(c.worker, request(job, share));
        }
        self.send(request(job, Share { part: 0, parts }));
    }

    /// Stop the primary worker's one-piece job (training, reading a file, Methods,
    /// Diagnostics, Mislabel lab). Such a job cannot pause between blocks, so the
    /// worker is replaced by a fresh one, which is given the last file and model that
    /// trained without error again ([`Response::Ready`]): the view stays as it was;
    /// analyses of it are cleared, since the fresh worker has not computed them.
    pub fn cancel_work(&self) {
        self.stop_long_jobs();
        if let Err(e) = bridge::restart(0) {
            self.error.set(Some(e));
            return;
        }
        self.ready.set(false);
        self.jobs.update_value(|j| {
            j.abandon(&[JobKind::Train, JobKind::Upload, JobKind::Reweight]);
            j.reweighted(0);
        });
        self.sync();
        self.clear_analyses();
        let now = self.state.get_untracked();
        let tab = now.tab;
        let good = self.good_state.get_value().unwrap_or_else(|| now.fresh());
        self.state.set(ViewState { tab, ..good });
        self.reweight.set(None);
    }

    /// Stop the latest job of `kind` on every worker.
    fn cancel(&self, kind: JobKind) {
        let job = self.jobs.with_value(|j| j.latest(kind));
        bridge::broadcast(&Request::Cancel { job });
    }

    /// End every long job on every worker and forget it (a worker that held a block
    /// is gone, so their results could never be complete).
    fn stop_long_jobs(&self) {
        let kinds = [JobKind::Loo, JobKind::Lds, JobKind::Truths, JobKind::Shapley];
        kinds.into_iter().for_each(|kind| self.cancel(kind));
        self.jobs.update_value(|j| j.abandon(&kinds));
        self.sync();
    }

    /// Train for the current state.
    pub fn train(&self) {
        self.clear_analyses();
        let job = self.start(JobKind::Train);
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

    /// Change how the uploaded file is read and train on it: from the settings that
    /// failed, if the last attempt did, else from the current ones.
    pub fn change_upload(&self, change: impl FnOnce(&mut ViewState)) {
        if let Some(tried) = self.failed_upload.get_untracked() {
            self.state.set(tried);
        }
        self.retrain(|s| {
            change(s);
            s.selection = Selection::Auto;
            s.edits = Edits::default();
        });
    }

    /// Explain another point with the same model.
    pub fn select(&self, selection: Selection) {
        self.state.update(|s| s.selection = selection.clone());
        self.clear_analyses();
        let job = self.start(JobKind::Train);
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
        let plan = self.jobs.try_update_value(|j| j.request_reweight(index, weight, curve));
        if let Some(ReweightPlan::Send(job)) = plan {
            self.send(Request::Reweight { job, index, weight, curve });
        }
    }

    /// Start the all-points leave-one-out check.
    pub fn run_loo(&self) {
        let n = self.view.with_untracked(|v| v.as_ref().map_or(1, |v| v.train_xy.len()));
        self.loo.set(None);
        self.start_shared(JobKind::Loo, n, |job, share| Request::LeaveEachOut { job, share });
    }

    /// Cancel it.
    pub fn cancel_loo(&self) {
        self.cancel(JobKind::Loo);
    }

    /// Everything computed for the previous model or point is stale now.
    fn clear_analyses(&self) {
        let stale = [
            JobKind::Loo,
            JobKind::Lds,
            JobKind::Methods,
            JobKind::Diagnostics,
            JobKind::Mislabel,
            JobKind::Flip,
            JobKind::Group,
            JobKind::Truths,
            JobKind::Shapley,
        ];
        self.jobs.update_value(|j| j.abandon(&stale));
        self.sync();
        self.methods_waiting.set_value(None);
        self.loo.set(None);
        self.methods.set(None);
        self.methods_settings.set(None);
        self.diagnostics.set(None);
        self.mislabel.set(None);
        self.flip.set(None);
        self.group.set(None);
        self.lds.set(None);
        self.truths.set(None);
    }

    /// The three ground truths (long job).
    pub fn run_truths(&self, seeds: usize) {
        let n = self.view.with_untracked(|v| v.as_ref().map_or(1, |v| v.train_xy.len()));
        self.truths.set(None);
        self.start_shared(JobKind::Truths, 2 * n, |job, share| Request::Truths { job, seeds, share });
    }

    /// Cancel it.
    pub fn cancel_truths(&self) {
        self.cancel(JobKind::Truths);
    }

    /// Every method side by side for the explained point. TMC-Shapley, when chosen,
    /// runs first on the pool of workers (its permutations shared, with progress and
    /// Cancel); the primary keeps it, and the Methods request that follows shows it.
    pub fn run_methods(&self) {
        let methods = self.chosen_methods.get_untracked();
        let settings = self.method_params.get_untracked();
        self.methods_asked.set_value(Some(settings.clone()));
        if methods.contains(&Method::TmcShapley) {
            let permutations = settings.shapley_permutations.max(1);
            self.start_shared(JobKind::Shapley, permutations, |job, share| Request::Shapley {
                job,
                settings: settings.clone(),
                share,
            });
            self.methods_waiting.set_value(Some((methods, settings)));
        } else {
            self.send_methods(methods, settings);
        }
    }

    fn send_methods(&self, methods: Vec<Method>, settings: MethodParams) {
        let job = self.start(JobKind::Methods);
        self.send(Request::Methods { job, methods, settings });
    }

    /// Cancel TMC-Shapley's permutations (and the Methods run waiting for them).
    pub fn cancel_shapley(&self) {
        self.methods_waiting.set_value(None);
        self.cancel(JobKind::Shapley);
    }

    /// Spectrum, traces and the damping sweep.
    pub fn run_diagnostics(&self) {
        let job = self.start(JobKind::Diagnostics);
        self.send(Request::Diagnostics { job, settings: self.method_params.get_untracked() });
    }

    /// Why this prediction: search the training points whose removal flips it.
    pub fn run_flip(&self, threshold: Option<f64>) {
        self.flip.set(None);
        let job = self.start(JobKind::Flip);
        self.send(Request::Flip { job, limit: None, threshold });
    }

    /// Compare the removal of `members` (in the order the group grows).
    pub fn run_group(&self, members: Vec<usize>) {
        self.group.set(None);
        let job = self.start(JobKind::Group);
        self.send(Request::Group { job, members, steps: 8 });
    }

    /// Rank the training points for review by `rank`.
    pub fn run_audit(&self, rank: ReviewScore) {
        let job = self.start(JobKind::Audit);
        self.send(Request::Audit { job, rank, top: REVIEWED });
    }

    /// The data and model a queue belongs to: the URL state without edits and view.
    fn audit_key(&self) -> String {
        let s = self.state.get_untracked();
        ViewState {
            edits: Edits::default(),
            tab: Tab::default(),
            selection: Selection::Auto,
            train_point: None,
            weight: 1.0,
            embed: false,
            panels: None,
            host: None,
            lang: None,
            lesson: None,
            ..s
        }
        .to_query()
    }

    /// The current model's test loss and metric.
    fn metrics(&self) -> Option<Metrics> {
        self.view.with_untracked(|v| {
            v.as_ref().map(|v| Metrics {
                test_loss: v.test_loss.iter().sum::<f64>() / v.test_loss.len().max(1) as f64,
                test_metric: v.fit.test_metric,
            })
        })
    }

    /// Whether the queue belongs to the data and model shown.
    pub fn queue_current(&self) -> bool {
        let key = self.audit_key();
        self.queue.with(|q| q.as_ref().is_some_and(|q| q.key == key))
    }

    /// Decide about the candidate in focus, and retrain with the decision applied.
    pub fn decide(&self, verdict: Verdict) {
        let (Some(now), true) = (self.metrics(), self.queue_current()) else { return };
        let edits = self.state.with_untracked(|s| s.edits.clone());
        let mut changed = None;
        self.queue.update(|q| changed = q.as_mut().and_then(|q| q.decide(verdict, now, &edits)));
        match changed {
            Some(e) if e != edits => self.retrain(|s| s.edits = e),
            Some(_) => self.queue.update(|q| q.iter_mut().for_each(|q| q.retrained(now))),
            None => {}
        }
    }

    /// Undo the last decision, and retrain without it.
    pub fn undo_decision(&self) {
        let edits = self.state.with_untracked(|s| s.edits.clone());
        let mut changed = None;
        self.queue.update(|q| changed = q.as_mut().and_then(|q| q.undo(&edits)));
        if let Some(e) = changed.filter(|e| *e != edits) {
            self.retrain(|s| s.edits = e);
        }
    }

    /// Download the data file with the decisions applied (made in the worker).
    pub fn export_cleaned(&self) {
        let job = self.start(JobKind::CleanedCsv);
        self.send(Request::CleanedCsv { job });
    }

    /// Flip labels and rank.
    pub fn run_mislabel(&self, fraction: f64, seed: u64) {
        let job = self.start(JobKind::Mislabel);
        self.send(Request::Mislabel { job, fraction, seed });
    }

    /// The linear datamodeling score (long job).
    pub fn run_lds(&self, subsets: usize, alpha: f64, seed: u64) {
        self.lds.set(None);
        // TMC-Shapley would retrain n times per permutation on top of the subsets.
        let methods: Vec<Method> =
            self.chosen_methods.get_untracked().into_iter().filter(|m| *m != Method::TmcShapley).collect();
        let settings = self.method_params.get_untracked();
        self.start_shared(JobKind::Lds, subsets, |job, share| Request::Lds {
            job,
            subsets,
            alpha,
            seed,
            methods: methods.clone(),
            settings: settings.clone(),
            share,
        });
    }

    /// Cancel the LDS job.
    pub fn cancel_lds(&self) {
        self.cancel(JobKind::Lds);
    }

    /// Send a user's file to the worker, which reads it in steps (progress, Cancel).
    pub fn upload_file(&self, file: web_sys::File) {
        self.fragment.set_value(None);
        let units = 2 * file.size() as usize; // read, then parsed
        let job = self.jobs.try_update_value(|j| j.start_long(JobKind::Upload, units, 1)).unwrap_or(0);
        self.sync();
        let name = file.name();
        self.upload_sent.set_value(Some((name.clone(), Held::File(file.clone()))));
        self.send_file_to(0, job, name, Held::File(file));
    }

    /// Send the data carried by the link to the worker.
    fn send_link_data(&self, text: String) {
        let job = self.start(JobKind::Upload);
        let name = LINK_DATA_NAME.to_string();
        self.upload_sent.set_value(Some((name.clone(), Held::Text(text.clone()))));
        self.send(Request::Upload { job, name, text });
    }

    /// Send a held file to worker `worker` as job `job` (0: a catch-up, whose answer
    /// the page drops).
    fn send_file_to(&self, worker: usize, job: u64, name: String, held: Held) {
        match held {
            Held::Text(text) => self.send_to(worker, Request::Upload { job, name, text }),
            Held::File(file) => {
                if let Err(e) = bridge::send_file_to(worker, &file, &Request::ReadFile { job, name }) {
                    self.error.set(Some(e));
                }
            }
        }
    }

    /// Stop reading an uploaded file: the view stays as it was.
    pub fn cancel_upload(&self) {
        self.cancel(JobKind::Upload);
    }

    /// Whether `job` is the latest of `kind`; if so the job has ended (any way).
    fn finished(&self, kind: JobKind, job: u64) -> bool {
        let latest = self.jobs.try_update_value(|j| j.finish(kind, job)).unwrap_or(false);
        self.sync();
        latest
    }

    /// When `job` is the latest of `kind`, show its result in `into`, or its failure in
    /// the banner (a cancel is quiet). Whether a result was shown.
    fn show<T: Send + Sync + 'static>(
        &self,
        kind: JobKind,
        job: u64,
        result: JobResult<T>,
        into: RwSignal<Option<T>>,
    ) -> bool {
        if !self.finished(kind, job) {
            return false;
        }
        match result {
            Ok(v) => {
                into.set(Some(*v));
                return true;
            }
            Err(JobError::Cancelled) => {}
            Err(JobError::Failed(e)) => self.error.set(Some(e)),
        }
        false
    }

    fn on_trained(&self, result: JobResult<TrainedView>) {
        match result {
            Ok(v) => {
                let state = self.state.get_untracked();
                self.good_state.set_value(Some(state.clone()));
                self.failed_upload.set(None);
                self.helpers.update_value(Helpers::trained);
                let n = v.train_xy.len();
                self.view.set(Some(*v));
                // A successful fit clears old errors, but not the notice of how the
                // page opened, which this first view answers.
                self.error.set(self.notice.try_update_value(Option::take).flatten());
                if let (Some(now), true) = (self.metrics(), self.queue_current()) {
                    self.queue.update(|q| q.iter_mut().for_each(|q| q.retrained(now)));
                }
                match state.train_point {
                    Some(i) if i < n => self.request_reweight(i, state.weight, true),
                    Some(_) => self.state.update(|s| s.train_point = None),
                    None => {}
                }
            }
            Err(e) => {
                self.error.set(Some(e.said()));
                let tried = self.state.get_untracked();
                if tried.dataset == UPLOAD {
                    self.failed_upload.set(Some(tried));
                }
                // Keep what the user had: the previous state and view.
                if let Some(good) = self.good_state.get_value() {
                    self.state.set(good);
                }
            }
        }
    }

    fn on_reweighted(&self, job: u64, result: JobResult<ReweightView>) {
        let (latest, pending) = self.jobs.try_update_value(|j| j.reweighted(job)).unwrap_or((false, None));
        if latest {
            match result {
                Ok(r) => {
                    // Keep the last curve while the slider moves.
                    let curve = r.curve.clone().or_else(|| {
                        self.reweight.get_untracked().filter(|o| o.index == r.index).and_then(|o| o.curve)
                    });
                    self.reweight.set(Some(ReweightView { curve, ..*r }));
                }
                Err(e) => self.error.set(Some(e.said())),
            }
        }
        if let Some(p) = pending {
            self.request_reweight(p.index, p.weight, p.curve);
        }
    }

    /// A block of a shared job arrived: when it is the last, send them all to the
    /// primary to be put together; a failed block ends the job on every worker.
    fn on_block(&self, job: u64, result: JobResult<Part>) {
        match result {
            Ok(block) => {
                if let Some((_, blocks)) = self.jobs.try_update_value(|j| j.block_done(job, *block)).flatten()
                {
                    self.send(Request::Finish { job, parts: blocks });
                }
            }
            Err(e) => {
                let Some(kind) = self.jobs.with_value(|j| j.kind_of(job)) else { return };
                self.cancel(kind);
                if self.finished(kind, job) && e != JobError::Cancelled {
                    self.error.set(Some(e.said()));
                }
            }
        }
    }

    /// React to a helper worker: its blocks and progress count; its answers to the
    /// catch-up requests (file, training) are the primary's again and are dropped.
    fn on_helper_response(&self, worker: usize, response: Response) {
        match response {
            Response::Ready => {
                self.helpers.update_value(|h| h.ready(worker));
                self.workers.set(self.helpers.with_value(Helpers::workers));
            }
            Response::Uploaded { .. } | Response::Trained { .. } | Response::Reweighted { .. } => {}
            Response::Crashed { message } => {
                // Its block will never come.
                self.stop_long_jobs();
                self.error.set(Some(Said::new(Text::HelperStopped).with("message", message)));
                // A panicked instance answers nothing more: replace it.
                if bridge::restart(worker).is_ok() {
                    self.helpers.update_value(|h| h.restarted(worker));
                    self.workers.set(self.helpers.with_value(Helpers::workers));
                }
            }
            other => self.on_response(0, other),
        }
    }

    /// React to worker `worker` (0 is the primary).
    pub fn on_response(&self, worker: usize, response: Response) {
        if worker > 0 {
            return self.on_helper_response(worker, response);
        }
        match response {
            Response::Ready => {
                self.ready.set(true);
                // Data carried by the link: read them first; they train when read.
                if let Some((text, _)) = self.link_data.with_value(Clone::clone) {
                    return self.send_link_data(text);
                }
                // A fresh worker after a Cancel: the file first, if the view uses one.
                if self.state.with_untracked(|s| s.dataset == UPLOAD) {
                    if let Some((name, held)) = self.upload_held.get_value() {
                        self.send_file_to(0, 0, name, held);
                    }
                }
                self.train();
            }
            Response::PartDone { job, result } => self.on_block(job, result),
            Response::Uploaded { job, result } => {
                if !self.finished(JobKind::Upload, job) {
                    return;
                }
                match result {
                    Ok(summary) => {
                        self.upload_held.set_value(self.upload_sent.get_value());
                        self.helpers.update_value(Helpers::uploaded);
                        let target = summary.default_target.clone();
                        self.upload.set(Some(summary));
                        self.error.set(None);
                        // The link's data: the view the link asked for.
                        if let Some((_, state)) = self.link_data.try_update_value(Option::take).flatten() {
                            self.state.set(state);
                            return self.train();
                        }
                        self.retrain(|s| {
                            s.dataset = UPLOAD.into();
                            s.target = Some(target);
                            s.selection = Selection::Auto;
                            s.edits = Edits::default();
                            s.columns = Default::default();
                        });
                    }
                    Err(JobError::Cancelled) => {}
                    Err(e) => {
                        // Data in a link that do not read: the default view instead.
                        if self.link_data.try_update_value(Option::take).flatten().is_some() {
                            self.fragment.set_value(None);
                            let said = Said::new(Text::LinkUnreadable).with_said("e", e.said());
                            self.notice.set_value(Some(said.clone()));
                            self.error.set(Some(said));
                            self.retrain(|s| *s = s.fresh());
                            return;
                        }
                        self.error.set(Some(e.said()))
                    }
                }
            }
            Response::Trained { job, result } => {
                if self.finished(JobKind::Train, job) {
                    self.on_trained(result);
                }
            }
            Response::Reweighted { job, result } => self.on_reweighted(job, result),
            Response::Progress { job, part, done, total } => {
                self.jobs.update_value(|j| {
                    let long = [
                        JobKind::Loo,
                        JobKind::Lds,
                        JobKind::Truths,
                        JobKind::Shapley,
                        JobKind::Upload,
                        JobKind::Train,
                    ];
                    for kind in long.into_iter().chain(ANALYSES) {
                        j.progress(kind, job, part, done, total);
                    }
                });
                self.sync();
            }
            Response::MethodsDone { job, result } => {
                if self.show(JobKind::Methods, job, result, self.methods) {
                    self.methods_settings.set(self.methods_asked.get_value());
                }
            }
            Response::DiagnosticsDone { job, result } => {
                self.show(JobKind::Diagnostics, job, result, self.diagnostics);
            }
            Response::FlipDone { job, result } => {
                self.show(JobKind::Flip, job, result, self.flip);
            }
            Response::GroupDone { job, result } => {
                self.show(JobKind::Group, job, result, self.group);
            }
            Response::AuditDone { job, result } => {
                if !self.finished(JobKind::Audit, job) {
                    return;
                }
                match result {
                    Ok(v) => {
                        let origin = self.view.with_untracked(|v| {
                            v.as_ref().map(|v| v.train_origin.0.clone()).unwrap_or_default()
                        });
                        self.queue.set(Some(Queue::new(*v, origin, self.audit_key())));
                    }
                    Err(JobError::Cancelled) => {}
                    Err(JobError::Failed(e)) => self.error.set(Some(e)),
                }
            }
            Response::CleanedCsvDone { job, result } => {
                if !self.finished(JobKind::CleanedCsv, job) {
                    return;
                }
                match result.map(|b| *b) {
                    Ok((name, text)) => {
                        if let Err(e) = download_text(&name, "text/csv", &text) {
                            self.error.set(Some(e));
                        }
                    }
                    Err(JobError::Cancelled) => {}
                    Err(JobError::Failed(e)) => self.error.set(Some(e)),
                }
            }
            Response::MislabelDone { job, result } => {
                self.show(JobKind::Mislabel, job, result, self.mislabel);
            }
            Response::LdsDone { job, result } => {
                self.show(JobKind::Lds, job, result, self.lds);
            }
            Response::ShapleyDone { job, result } => {
                if !self.finished(JobKind::Shapley, job) {
                    return;
                }
                let waiting = self.methods_waiting.try_update_value(Option::take).flatten();
                match (result, waiting) {
                    (Ok(_), Some((methods, settings))) => self.send_methods(methods, settings),
                    (Err(JobError::Failed(e)), _) => self.error.set(Some(e)),
                    _ => {}
                }
            }
            Response::LeaveEachOutDone { job, result } => {
                self.show(JobKind::Loo, job, result, self.loo);
            }
            Response::TruthsDone { job, result } => {
                self.show(JobKind::Truths, job, result, self.truths);
            }
            Response::Crashed { message } => {
                self.error.set(Some(Said::new(Text::EngineStopped).with("message", message)))
            }
        }
    }
}
