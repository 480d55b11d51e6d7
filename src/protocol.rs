//! The typed messages between the page and its Web Worker.
//!
//! They cross as JavaScript values (serde-wasm-bindgen), not JSON text; every bulk
//! vector of numbers, and every vector with one entry per point, is a [`Floats`],
//! [`Packed`] or [`RowNames`], which inside [`binary`] serialise as the raw
//! little-endian bytes of f64s (a `Uint8Array` the worker transfers, not copies, to
//! the page) and everywhere else (exports, fixtures) as ordinary lists
//! ([`crate::packed`]). A trained view's features ([`FeatureRows`]) cross the same way
//! and then stay in their JavaScript array on the page, read a row at a time.
//!
//! Every job ends in a `Result<_, JobError>`: [`JobError::Cancelled`] when the user
//! stopped it, [`JobError::Failed`] with the reason in plain words otherwise.
//!
//! Every request carries a job id; the page drops any response whose id is older than
//! the latest request of its kind (a generation counter), so stale results never
//! overwrite fresh ones. The worker keeps the fitted model between requests: choosing
//! another test point, scrubbing a weight or running leave-one-out never refits the
//! original model.

use crate::engine::curvature::Curvature;
use crate::engine::data::builtin::GeneratorParams;
use crate::engine::methods::{Method, MethodParams};
use crate::engine::model::mlp::MlpShape;
use crate::engine::model::ModelKind;
use crate::engine::pipeline::Spectrum;
use crate::engine::retrain::RefitStats;
use crate::lang::Lang;
use crate::text::{filled, Text};
use serde::{Deserialize, Serialize};

pub use crate::packed::{binary, FeatureRows, Floats, Packed, RowNames};

/// Why a job produced no result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum JobError {
    /// The user cancelled it (or a newer request replaced it).
    #[error("cancelled")]
    Cancelled,
    /// It failed; the reason in words.
    #[error("{0}")]
    Failed(crate::said::Said),
}

impl JobError {
    /// A failure from a sentence, or from words not yet in the tables.
    pub fn failed(e: impl Into<crate::said::Said>) -> Self {
        JobError::Failed(e.into())
    }

    /// Why the job ended, as a sentence.
    pub fn said(&self) -> crate::said::Said {
        match self {
            JobError::Failed(said) => said.clone(),
            JobError::Cancelled => crate::said::Said::new(crate::text::Text::ErrCancelled),
        }
    }
}

/// A job's outcome.
pub type JobResult<T> = Result<Box<T>, JobError>;

/// Where the data come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataSource {
    /// A built-in dataset by identifier, with generator parameters.
    Builtin {
        /// Identifier, e.g. `moons`.
        id: String,
        /// Size, noise, seed (ignored by the real tables).
        params: GeneratorParams,
    },
    /// The file last uploaded to the worker ([`Request::Upload`]), with the target
    /// column and the user's column and row choices.
    Uploaded(crate::engine::data::columns::UploadOptions),
}

/// Which point to explain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Selection {
    /// The test point with the largest loss (an interesting default).
    #[default]
    Auto,
    /// A test row by index.
    Test(usize),
    /// A query point placed on the 2-D plot (in plotted, i.e. standardised, units).
    Query {
        /// Its two features.
        xy: [f64; 2],
        /// Its label (class index, or target value for regression).
        label: f64,
    },
}

/// A training point added on the plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedPoint {
    /// Its two features, in plotted units.
    pub xy: [f64; 2],
    /// Its label.
    pub label: f64,
}

/// Edits of the training set (2-D data only), by index into the original training rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Edits {
    /// Training rows left out of the data.
    pub removed: Vec<usize>,
    /// Training rows whose label is flipped (next class).
    pub flipped: Vec<usize>,
    /// New training points.
    pub added: Vec<AddedPoint>,
    /// Training rows given a chosen class (the review queue's relabel decisions).
    #[serde(default)]
    pub relabeled: Vec<(usize, usize)>,
}

impl Edits {
    /// Whether nothing is edited.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.flipped.is_empty()
            && self.added.is_empty()
            && self.relabeled.is_empty()
    }
}

/// Everything needed to train and explain one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    /// The data.
    pub source: DataSource,
    /// The model (a network's output and loss); `None` picks one from the target.
    pub model: Option<ModelKind>,
    /// A tiny neural network in place of the convex model.
    pub network: Option<MlpShape>,
    /// The curvature that stands in for the Hessian.
    pub curvature: Curvature,
    /// L2 strength λ.
    pub lambda: f64,
    /// Damping δ added to the curvature for influence.
    pub damping: f64,
    /// Standardise features with training statistics.
    pub standardize: bool,
    /// Fraction of rows held out as test points.
    pub test_fraction: f64,
    /// Seed of the train/test split.
    pub split_seed: u64,
    /// The point to explain.
    pub selection: Selection,
    /// Edits of the training set.
    pub edits: Edits,
}

impl Default for TrainSpec {
    /// The view the page opens on: two moons, logistic regression, λ = 0.01.
    fn default() -> Self {
        Self {
            source: DataSource::Builtin { id: "moons".into(), params: GeneratorParams::default() },
            model: None,
            network: None,
            curvature: Curvature::Hessian,
            lambda: 0.01,
            damping: 0.0,
            standardize: true,
            test_fraction: 0.2,
            split_seed: 0,
            selection: Selection::Auto,
            edits: Edits::default(),
        }
    }
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Parse a user's CSV file and keep it in the worker (it never leaves the browser).
    Upload {
        /// Job id.
        job: u64,
        /// File name, for messages.
        name: String,
        /// The file's text.
        text: String,
    },
    /// Read and parse, in steps with progress, the file the page has just posted
    /// (a browser `File`, sent before this request: the page never copies its text);
    /// requests that come meanwhile wait for it; [`Request::Cancel`] stops it.
    ReadFile {
        /// Job id.
        job: u64,
        /// File name, for messages.
        name: String,
    },
    /// Load the data, fit, and explain the selected point.
    Train {
        /// Job id.
        job: u64,
        /// What to train.
        spec: TrainSpec,
    },
    /// Explain another point with the model already fitted.
    Select {
        /// Job id.
        job: u64,
        /// The point.
        selection: Selection,
    },
    /// Set one training point's weight: predicted and actual (retrained) change of the
    /// selected point, and, when `curve` is set, both curves over weights 0..3.
    Reweight {
        /// Job id.
        job: u64,
        /// Training point (index into the view's training points).
        index: usize,
        /// Its new weight (0 removes it, 1 is unchanged).
        weight: f64,
        /// Also compute the curves.
        curve: bool,
    },
    /// Actual leave-one-out of every training point for the selected point; streams
    /// progress, runs in blocks so a [`Request::Cancel`] can stop it.
    LeaveEachOut {
        /// Job id.
        job: u64,
        /// The block of the points this worker refits.
        share: Share,
    },
    /// Stop a running long job (leave-one-out or LDS).
    Cancel {
        /// The job to stop.
        job: u64,
    },
    /// Put the blocks of a shared long job together (sent to the worker that ran
    /// part 0, which answers with the job's ordinary result).
    Finish {
        /// Job id.
        job: u64,
        /// Every part's block, in part order.
        parts: Vec<Part>,
    },
    /// Every approximation and peer method for the explained point, side by side with
    /// exact influence (and actual leave-one-out when it has been computed).
    Methods {
        /// Job id.
        job: u64,
        /// Which methods.
        methods: Vec<Method>,
        /// Their parameters.
        settings: MethodParams,
    },
    /// The Hessian's spectrum, CG and LiSSA traces, and a damping sweep.
    Diagnostics {
        /// Job id.
        job: u64,
        /// LiSSA's parameters (the traces use them).
        settings: MethodParams,
    },
    /// Why this prediction? The smallest set of training points (greedy, Yang et al.
    /// 2023) whose removal flips the explained point's prediction.
    Flip {
        /// Job id.
        job: u64,
        /// The largest set tried (`None`: 10% of the training points).
        limit: Option<usize>,
        /// Regression: the value the prediction has to cross.
        threshold: Option<f64>,
    },
    /// The review queue: training points ranked for a label check.
    Audit {
        /// Job id.
        job: u64,
        /// The ranking.
        rank: crate::engine::audit::review::ReviewScore,
        /// Candidates listed.
        top: usize,
    },
    /// Remove a group of training points: first-order, second-order and actual effects
    /// on the explained point and the test set, as the group grows.
    Group {
        /// Job id.
        job: u64,
        /// The members, in the order the group grows.
        members: Vec<usize>,
        /// Group sizes compared (evenly spaced up to all members).
        steps: usize,
    },
    /// The data file with the current removals and relabels applied, as CSV text.
    CleanedCsv {
        /// Job id.
        job: u64,
    },
    /// Flip a fraction of the training labels and see which rankings find them.
    Mislabel {
        /// Job id.
        job: u64,
        /// Fraction flipped.
        fraction: f64,
        /// Seed of the flips.
        seed: u64,
    },
    /// The explained point's predicted changes next to the three ground truths of a
    /// network: warm-started leave-one-out, the PBRF, and retraining from scratch over
    /// `seeds` seeds (streams progress; cancellable).
    Truths {
        /// Job id.
        job: u64,
        /// Initialisation seeds of the retraining from scratch.
        seeds: usize,
        /// The block of the points (leave-one-out, PBRF) and seeds (scratch) this
        /// worker runs.
        share: Share,
    },
    /// The linear datamodeling score of the methods (streams progress; cancellable).
    Lds {
        /// Job id.
        job: u64,
        /// Subsets retrained.
        subsets: usize,
        /// Their fraction.
        alpha: f64,
        /// Their seed.
        seed: u64,
        /// The methods scored (exact influence always is).
        methods: Vec<Method>,
        /// The methods' parameters.
        settings: MethodParams,
        /// The block of the subsets this worker retrains.
        share: Share,
    },
    /// TMC-Shapley of the explained point, its permutations shared among the workers
    /// (long job); the primary keeps the result for the next Methods request with the
    /// same settings.
    Shapley {
        /// Job id.
        job: u64,
        /// Permutations, truncation and seed (`shapley_*`).
        settings: MethodParams,
        /// The block of the permutations this worker runs.
        share: Share,
    },
}

fn one() -> usize {
    1
}

/// Which block of a long job one worker runs: part `part` of `parts`, each a
/// contiguous run of the job's units (points, subsets, seeds), in order. Long jobs are
/// split this way across the page's engine workers; a job with one part is the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// This block, from 0.
    pub part: usize,
    /// Blocks in all (at least 1).
    pub parts: usize,
}

impl Share {
    /// The whole job in one block.
    pub const WHOLE: Share = Share { part: 0, parts: 1 };

    /// This block's units out of `n`: part k gets `k·n/parts .. (k+1)·n/parts`.
    pub fn range(&self, n: usize) -> std::ops::Range<usize> {
        // In u128, so that no share (however hostile) overflows.
        let (parts, n) = (self.parts.max(1) as u128, n as u128);
        let part = (self.part as u128).min(parts - 1);
        (part * n / parts) as usize..((part + 1) * n / parts) as usize
    }

    /// This block's units out of `n`, cut only at multiples of `unit`: the blocks of
    /// [`Share::range`] over the `⌈n / unit⌉` runs of `unit` units (the last run may be
    /// shorter).
    pub fn range_in_units(&self, n: usize, unit: usize) -> std::ops::Range<usize> {
        let unit = unit.max(1);
        let runs = self.range(n.div_ceil(unit));
        (runs.start.saturating_mul(unit)).min(n)..(runs.end.saturating_mul(unit)).min(n)
    }

    /// Every block of a job split `parts` ways.
    pub fn all(parts: usize) -> impl Iterator<Item = Share> {
        let parts = parts.max(1);
        (0..parts).map(move |part| Share { part, parts })
    }
}

/// One worker's block of a shared long job, for [`Request::Finish`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Which block.
    pub share: Share,
    /// A fingerprint of the worker's fitted model and explained point: blocks computed
    /// on different models are refused rather than mixed.
    pub model: u64,
    /// Milliseconds the block took.
    pub millis: f64,
    /// How its refits converged.
    pub refits: RefitStats,
    /// Its numbers.
    pub values: PartValues,
}

/// The numbers of one block, by job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartValues {
    /// Leave-one-out: the actual changes of the block's points, in order, and the
    /// points whose refit did not converge.
    Loo {
        /// Actual changes.
        actual: Floats,
        /// Non-converged points (training indices).
        not_converged: Vec<usize>,
    },
    /// LDS: the test losses of the block's subsets, in order.
    Lds {
        /// `losses[m][t]`.
        losses: Vec<Vec<f64>>,
    },
    /// TMC-Shapley: every training point's marginal contribution in each permutation
    /// of the block, in order.
    Shapley {
        /// `marginals[k][i]`.
        marginals: Vec<Floats>,
    },
    /// The three truths: leave-one-out and PBRF of the block's points, scratch fits of
    /// the block's seeds.
    Truths {
        /// Warm-started leave-one-out changes.
        loo: Floats,
        /// PBRF changes.
        pbrf: Floats,
        /// The damping the PBRF used.
        pbrf_damping: f64,
        /// The scratch fits of this block's seeds.
        scratch: crate::engine::truths::ScratchJob,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker has loaded and listens (messages sent before this are lost).
    Ready,
    /// A file was parsed and kept.
    Uploaded {
        /// Job id.
        job: u64,
        /// Columns found, or the error in plain words (the previous file is kept).
        result: Result<UploadSummary, JobError>,
    },
    /// A training or selection job finished.
    Trained {
        /// Job id.
        job: u64,
        /// The view, or the error in plain words.
        result: JobResult<TrainedView>,
    },
    /// A reweighting finished.
    Reweighted {
        /// Job id.
        job: u64,
        /// Predicted and actual changes, or the error.
        result: JobResult<ReweightView>,
    },
    /// Progress of a long job.
    Progress {
        /// Job id.
        job: u64,
        /// The block's part number (0 for a job in one block).
        part: usize,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// One block of a shared long job finished (the page sends every block back in a
    /// [`Request::Finish`]); a failure or cancel of any block ends the job.
    PartDone {
        /// Job id.
        job: u64,
        /// The block, or the error.
        result: JobResult<Part>,
    },
    /// Leave-one-out finished (or was cancelled).
    LeaveEachOutDone {
        /// Job id.
        job: u64,
        /// Predicted vs actual, or the error.
        result: JobResult<LooView>,
    },
    /// The methods side by side.
    MethodsDone {
        /// Job id.
        job: u64,
        /// The comparison, or the error.
        result: JobResult<MethodsView>,
    },
    /// Diagnostics of the Hessian and the iterative solvers.
    DiagnosticsDone {
        /// Job id.
        job: u64,
        /// The diagnostics, or the error.
        result: JobResult<DiagnosticsView>,
    },
    /// The flip set of the explained point.
    FlipDone {
        /// Job id.
        job: u64,
        /// The set and its margins, or the error.
        result: JobResult<FlipView>,
    },
    /// The review queue.
    AuditDone {
        /// Job id.
        job: u64,
        /// The candidates, or the error.
        result: JobResult<AuditView>,
    },
    /// The group comparison.
    GroupDone {
        /// Job id.
        job: u64,
        /// One comparison per group size, or the error.
        result: JobResult<GroupView>,
    },
    /// The cleaned file.
    CleanedCsvDone {
        /// Job id.
        job: u64,
        /// `(file name, CSV text)`, or the error.
        result: JobResult<(String, String)>,
    },
    /// Mislabel detection.
    MislabelDone {
        /// Job id.
        job: u64,
        /// The curves, or the error.
        result: JobResult<MislabelView>,
    },
    /// The three ground truths (or cancelled).
    TruthsDone {
        /// Job id.
        job: u64,
        /// Predicted against each truth, or the error.
        result: JobResult<TruthsView>,
    },
    /// Linear datamodeling scores (or cancelled).
    LdsDone {
        /// Job id.
        job: u64,
        /// Per method, or the error.
        result: JobResult<LdsView>,
    },
    /// TMC-Shapley of the explained point is computed and kept (or cancelled).
    ShapleyDone {
        /// Job id.
        job: u64,
        /// What was run, or the error.
        result: JobResult<ShapleyView>,
    },
    /// The worker panicked; the message is shown to the user.
    Crashed {
        /// The panic message.
        message: String,
    },
}

/// What an uploaded file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSummary {
    /// File name.
    pub name: String,
    /// Data rows.
    pub rows: usize,
    /// Column names.
    pub columns: Vec<String>,
    /// The suggested target (the last column).
    pub default_target: String,
}

/// Fit status in numbers and words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// Model used.
    pub model: ModelKind,
    /// Newton iterations.
    pub iterations: usize,
    /// Final `‖∇R‖_∞`.
    pub grad_norm: f64,
    /// The gradient relative to the size of its terms (compared with 1e-10).
    pub scaled_grad_norm: f64,
    /// Whether the fit reached the tolerance.
    pub converged: bool,
    /// Warnings in plain words.
    pub warnings: Vec<crate::said::Said>,
    /// How the fit is scored (accuracy or RMSE).
    pub metric: crate::engine::pipeline::Metric,
    /// Metric on the training rows.
    pub train_metric: f64,
    /// Metric on the test rows.
    pub test_metric: f64,
    /// The network, if the model is one.
    pub network: Option<MlpShape>,
    /// The curvature of the influence.
    pub curvature: Curvature,
    /// The Hessian's spectrum at θ̂ (networks).
    pub spectrum: Option<Spectrum>,
    /// Number of parameters.
    pub n_params: usize,
}

/// How the features map to the plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Projection {
    /// Two features, plotted as they are (the surface is drawn, points can be added).
    Plane,
    /// One feature against the target (1-D regression): the prediction is a curve.
    Line,
    /// More than two features: the first two principal components of the training
    /// features (no surface).
    Pca {
        /// Share of the variance the two components explain.
        explained: f64,
    },
}

/// The model's output over a grid covering the plot (2-D data only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Surface {
    /// Plot range of the first axis.
    pub x: [f64; 2],
    /// Plot range of the second axis.
    pub y: [f64; 2],
    /// Cells across.
    pub nx: usize,
    /// Cells down.
    pub ny: usize,
    /// Per cell, row-major from the bottom-left: the predicted class (an index).
    pub class: Floats,
    /// Per cell: the probability of that class, or the predicted value (regression).
    pub value: Floats,
}

/// The explained point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// Which point this is.
    pub selection: Selection,
    /// Its plot coordinates.
    pub xy: [f64; 2],
    /// Its label (class index or value).
    pub label: f64,
    /// Its loss at θ̂.
    pub loss: f64,
    /// Its prediction `f_t` (probability of its label, or `ŷ`).
    pub pred: f64,
    /// `pred_loo_dloss` of every training point.
    pub pred_loo_dloss: Floats,
    /// `pred_loo_dpred` of every training point.
    pub pred_loo_dpred: Floats,
}

/// A trained view: the points to draw, the fit, the surface and one point's attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedView {
    /// What the data are, for people.
    pub title: String,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Class names (empty for regression).
    pub class_names: Vec<String>,
    /// Whether the features were standardised.
    pub standardized: bool,
    /// How the features map to the plot.
    pub projection: Projection,
    /// Training points in plot coordinates.
    pub train_xy: Packed<[f64; 2]>,
    /// Training features as the model sees them, row after row (d per row).
    pub train_x: FeatureRows,
    /// Training targets.
    pub train_y: Floats,
    /// Training losses at θ̂.
    pub train_loss: Floats,
    /// Training predictions `f` (probability of the own label, or `ŷ`).
    pub train_pred: Floats,
    /// Original training row of each training point (`None` for added points).
    pub train_origin: Packed<Option<usize>>,
    /// Original training rows removed by edits, in plot coordinates, with their index.
    pub removed: Vec<(usize, [f64; 2])>,
    /// Test points in plot coordinates.
    pub test_xy: Packed<[f64; 2]>,
    /// Test targets.
    pub test_y: Floats,
    /// Test losses at θ̂.
    pub test_loss: Floats,
    /// Test predictions `f`.
    pub test_pred: Floats,
    /// The fit.
    pub fit: FitSummary,
    /// The model's output over the plot, when the data are 2-D.
    pub surface: Option<Surface>,
    /// Plot ranges of the two axes (every point, with a margin).
    pub bounds: ([f64; 2], [f64; 2]),
    /// The explained point and every training point's influence on it.
    pub explained: Explained,
    /// The name of every training point's row (CSV line, ID, or built-in row;
    /// `None` for added points).
    #[serde(default)]
    pub train_names: RowNames,
    /// The name of every test point's row.
    #[serde(default)]
    pub test_names: RowNames,
    /// What the reader did to an uploaded file (columns skipped, rows dropped).
    #[serde(default)]
    pub notes: Vec<crate::said::Said>,
    /// The training statistics of standardised features (to show raw values).
    #[serde(default)]
    pub scaler: Option<crate::engine::data::prep::Standardizer>,
}

/// Features shown of a row before "and N more features".
pub const RAW_SHOWN: usize = 8;

/// One point of the scrubber's curves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The training point's weight.
    pub weight: f64,
    /// First-order predicted change of the explained point's loss.
    pub predicted: f64,
    /// Actual change (retrained).
    pub actual: f64,
    /// Whether that refit converged.
    pub converged: bool,
}

impl TrainedView {
    /// Training point `i`'s raw features (standardisation undone) with their names,
    /// as text: what a person recognises from their file.
    pub fn raw_row_text(&self, i: usize, lang: Lang) -> String {
        let x = self.train_row(i);
        let raw: Vec<f64> = match &self.scaler {
            Some(s) => x.iter().zip(s.mean.iter().zip(&s.scale)).map(|(v, (m, sd))| v * sd + m).collect(),
            None => x.to_vec(),
        };
        raw_text(&self.feature_names, &raw, lang)
    }

    /// How training point `i` reads: "#i", with its line or ID for an uploaded file:
    /// "#i (line 31)".
    pub fn train_name(&self, i: usize, lang: Lang) -> String {
        named(format!("#{i}"), self.train_names.get(i).cloned(), lang)
    }

    /// How test point `t` reads, as [`TrainedView::train_name`].
    pub fn test_name(&self, t: usize, lang: Lang) -> String {
        named(format!("#{t}"), self.test_names.get(t).cloned(), lang)
    }

    /// The features of training point `i` (empty when out of range).
    pub fn train_row(&self, i: usize) -> Vec<f64> {
        let d = self.feature_names.len();
        self.train_x.slice(i * d..(i + 1) * d)
    }

    /// Feature `j` of training point `i` (`None` when out of range).
    pub fn train_value(&self, i: usize, j: usize) -> Option<f64> {
        let d = self.feature_names.len();
        if j >= d {
            return None;
        }
        self.train_x.get(i * d + j)
    }
}

/// Named raw features as text, at most [`RAW_SHOWN`] and a count of the rest.
pub fn raw_text(names: &[String], raw: &[f64], lang: Lang) -> String {
    let shown: Vec<String> =
        names.iter().zip(raw).take(RAW_SHOWN).map(|(n, v)| format!("{n} = {v:.4}")).collect();
    let more = names.len().saturating_sub(RAW_SHOWN);
    let more =
        if more > 0 { filled(lang, Text::MoreFeatures, &[("n", &more.to_string())]) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// `short`, with a file row's line or ID after it (built-in rows need none).
pub fn named(short: String, name: Option<crate::engine::data::columns::RowName>, lang: Lang) -> String {
    use crate::engine::data::columns::RowName;
    let words = match name {
        Some(RowName::Line(l)) => filled(lang, Text::RowLine, &[("l", &l.to_string())]),
        Some(RowName::Id(id, l)) => filled(lang, Text::RowId, &[("id", &id), ("l", &l.to_string())]),
        _ => return short,
    };
    format!("{short} ({words})")
}

/// Predicted next to actual, for one training point's weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReweightView {
    /// Training point.
    pub index: usize,
    /// Its weight.
    pub weight: f64,
    /// First-order predicted change of the explained point's loss.
    pub predicted_dloss: f64,
    /// Actual change (model retrained with that weight).
    pub actual_dloss: f64,
    /// First-order predicted change of its prediction.
    pub predicted_dpred: f64,
    /// Actual change of its prediction.
    pub actual_dpred: f64,
    /// The refit behind the actual change (and the curve's, when asked for).
    pub refits: RefitStats,
    /// Both changes over weights 0..3, when asked for.
    pub curve: Option<Vec<CurvePoint>>,
    /// The retrained model's surface, when the data are 2-D.
    pub surface: Option<Surface>,
}

/// The Koh & Liang check for the explained point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooView {
    /// Predicted change of the explained point's loss, per training point.
    pub predicted: Floats,
    /// Actual change (leave-one-out retraining), per training point.
    pub actual: Floats,
    /// Pearson r between them (`None` when either side is constant: undefined).
    pub pearson: Option<f64>,
    /// Spearman ρ between them (`None` when undefined).
    pub spearman: Option<f64>,
    /// How the refits converged.
    pub refits: RefitStats,
    /// Training points whose refit did not converge (their actual value is approximate).
    pub not_converged: Vec<usize>,
    /// Wall-clock time of the refits in milliseconds.
    pub millis: f64,
    /// Engine workers that shared the refits.
    #[serde(default = "one")]
    pub workers: usize,
}

impl TruthsView {
    /// What the three truths say, in one paragraph, in `lang`.
    pub fn reading(&self, lang: Lang) -> String {
        use crate::text::text;
        let r = |k: Truth| {
            self.agreement
                .iter()
                .find(|a| a.0 == k)
                .and_then(|a| a.1)
                .map_or_else(|| text(lang, Text::Undefined).to_string(), |v| format!("{v:.2}"))
        };
        let noise = if self.noise > 0.0 {
            let shown =
                if self.noise >= 1e-3 { format!("{:.3}", self.noise) } else { format!("{:.1e}", self.noise) };
            let key = if self.above_noise == 1 { Text::NoiseFloorOne } else { Text::NoiseFloor };
            filled(
                lang,
                key,
                &[
                    ("seeds", &self.seeds.to_string()),
                    ("noise", &shown),
                    ("above", &self.above_noise.to_string()),
                    ("points", &self.scratch_points.len().to_string()),
                ],
            )
        } else {
            text(lang, Text::NoNoiseFloor).to_string()
        };
        filled(
            lang,
            Text::TruthsReading,
            &[
                ("loo", &r(Truth::WarmLoo)),
                ("pbrf", &r(Truth::Pbrf)),
                ("scratch", &r(Truth::Scratch)),
                ("noise", &noise),
            ],
        )
    }
}

/// What a row of the Methods view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attribution {
    /// Exact influence (the reference).
    Exact,
    /// An approximation or peer method.
    Method(Method),
    /// Actual leave-one-out retraining (the truth).
    ActualLoo,
}

impl Attribution {
    /// The identifier in exports.
    pub fn id(self) -> &'static str {
        match self {
            Attribution::Exact => "exact",
            Attribution::Method(m) => m.id(),
            Attribution::ActualLoo => "actual_loo",
        }
    }

    /// The keys of its name and its one sentence in [`crate::text`].
    pub fn texts(self) -> (crate::text::Text, crate::text::Text) {
        use crate::text::Text;
        match self {
            Attribution::Exact => (Text::AttrExactName, Text::AttrExact),
            Attribution::Method(m) => m.texts(),
            Attribution::ActualLoo => (Text::AttrLooName, Text::AttrLoo),
        }
    }

    /// The name for people, in `lang`.
    pub fn name(self, lang: crate::lang::Lang) -> &'static str {
        crate::text::text(lang, self.texts().0)
    }

    /// What it computes, in one sentence, in `lang`.
    pub fn describe(self, lang: crate::lang::Lang) -> &'static str {
        crate::text::text(lang, self.texts().1)
    }
}

/// One method's scores for the explained point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRow {
    /// Which method.
    pub method: Attribution,
    /// Scores per training point, oriented like `pred_loo_dloss` (empty on error).
    pub scores: Floats,
    /// Spearman with exact influence (`None`: undefined).
    pub spearman_exact: Option<f64>,
    /// Top-10 overlap with exact influence.
    pub top10_exact: f64,
    /// Spearman with actual leave-one-out, when computed.
    pub spearman_loo: Option<f64>,
    /// Top-10 overlap with actual leave-one-out, when computed.
    pub top10_loo: Option<f64>,
    /// Why the method gave no scores.
    pub error: Option<crate::said::Said>,
    /// Caveats in plain words.
    pub notes: Vec<crate::said::Said>,
    /// Monte Carlo standard errors (TMC-Shapley).
    pub std_error: Option<Vec<f64>>,
    /// Wall-clock milliseconds.
    pub millis: f64,
}

/// Every method next to exact influence and the truth, for the explained point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodsView {
    /// One row per method (exact influence first, actual leave-one-out last if known).
    pub rows: Vec<MethodRow>,
    /// Spearman between every pair of rows (same order), `None` where undefined.
    pub matrix: Vec<Vec<Option<f64>>>,
}

/// How ranking agreement changes with damping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DampingPoint {
    /// δ.
    pub damping: f64,
    /// Spearman of the damped scores with the undamped ones (`None` when the undamped
    /// curvature cannot be inverted).
    pub spearman_exact: Option<f64>,
    /// Spearman with actual leave-one-out, when computed.
    pub spearman_loo: Option<f64>,
    /// Spearman with the PBRF, when computed.
    pub spearman_pbrf: Option<f64>,
    /// Spearman with retraining from scratch (its points), when computed.
    pub spearman_scratch: Option<f64>,
}

/// One of the three ground truths of the conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    /// Warm-started leave-one-out (the same basin).
    WarmLoo,
    /// The proximal Bregman response function.
    Pbrf,
    /// Retraining from scratch over several seeds.
    Scratch,
}

impl Truth {
    /// Its identifier (in `data-truth`).
    pub fn id(self) -> &'static str {
        match self {
            Truth::WarmLoo => "warm_loo",
            Truth::Pbrf => "pbrf",
            Truth::Scratch => "scratch",
        }
    }

    /// How it is named, in `lang`.
    pub fn name(self, lang: Lang) -> &'static str {
        crate::text::text(
            lang,
            match self {
                Truth::WarmLoo => Text::TruthWarmLoo,
                Truth::Pbrf => Text::TruthPbrfTitle,
                Truth::Scratch => Text::TruthFromScratch,
            },
        )
    }
}

/// The explained point's predicted changes against the three ground truths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthsView {
    /// Predicted change of the explained point's loss, per training point.
    pub predicted: Vec<f64>,
    /// Warm-started leave-one-out (the same basin).
    pub loo: Vec<f64>,
    /// The proximal Bregman response function.
    pub pbrf: Vec<f64>,
    /// Its δ: the view's damping, or a small one where the GGN alone is singular.
    pub pbrf_damping: f64,
    /// The training points retrained from scratch.
    pub scratch_points: Vec<usize>,
    /// Mean change over seeds, per scratch point.
    pub scratch_mean: Vec<f64>,
    /// Its standard error.
    pub scratch_se: Vec<f64>,
    /// The seed-to-seed standard deviation of the explained loss with all the data.
    pub noise: f64,
    /// Seeds used.
    pub seeds: usize,
    /// `(truth, Pearson, Spearman)` of the prediction against each truth.
    pub agreement: Vec<(Truth, Option<f64>, Option<f64>)>,
    /// Scratch points whose mean change is larger than the noise floor.
    pub above_noise: usize,
    /// How the refits converged.
    pub refits: RefitStats,
    /// Wall-clock milliseconds.
    pub millis: f64,
    /// Engine workers that shared the refits.
    #[serde(default = "one")]
    pub workers: usize,
}

/// The Hessian and the iterative solvers, seen from the explained point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsView {
    /// Eigenvalues of H, ascending.
    pub eigenvalues: Vec<f64>,
    /// Largest over smallest positive eigenvalue (`None` when there is no positive one).
    pub condition: Option<f64>,
    /// CG relative residual per step.
    pub cg_trace: Vec<f64>,
    /// How CG ended, in words ("converged in 12 steps", or why not).
    pub cg_status: crate::said::Said,
    /// Whether CG converged.
    pub cg_converged: bool,
    /// LiSSA relative change per step (first repeat), empty if it diverged.
    pub lissa_trace: Vec<f64>,
    /// LiSSA's divergence message, if any.
    pub lissa_error: Option<crate::said::Said>,
    /// LiSSA's caveats (effective damping, depth).
    pub lissa_notes: Vec<crate::said::Said>,
    /// The damping sweep.
    pub sweep: Vec<DampingPoint>,
    /// The Gauss–Newton matrix's eigenvalues, ascending (networks).
    pub ggn_eigenvalues: Vec<f64>,
    /// K-FAC's eigenvalues with λ (networks).
    pub kfac_eigenvalues: Vec<f64>,
    /// EK-FAC's eigenvalues with λ (networks).
    pub ekfac_eigenvalues: Vec<f64>,
    /// CG with the smallest damping that makes the Hessian positive definite (when it
    /// is not): the rescue.
    pub cg_damped_trace: Vec<f64>,
    /// LiSSA with that damping.
    pub lissa_damped_trace: Vec<f64>,
    /// That damping.
    pub rescue_damping: Option<f64>,
}

/// One ranking's detection curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionCurve {
    /// The ranking.
    pub ranking: crate::engine::evaluate::SelfRanking,
    /// Area under found-vs-checked.
    pub auc: f64,
    /// `[fraction checked, fraction found]`.
    pub curve: Vec<[f64; 2]>,
}

/// A group's removal as it grows (see [`crate::engine::audit::group`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    /// One comparison per group size, smallest first.
    pub effects: Vec<crate::engine::audit::group::GroupEffect>,
    /// Training points in the whole group, in the order it grew.
    pub members: Vec<usize>,
    /// Wall-clock milliseconds.
    pub millis: f64,
}

/// The review queue (see [`crate::engine::audit::review`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditView {
    /// The ranking.
    pub rank: crate::engine::audit::review::ReviewScore,
    /// Candidates in review order (indices of the current training points).
    pub candidates: Vec<crate::engine::audit::review::Candidate>,
    /// Each candidate's row name and raw features (standardisation undone).
    pub rows: Vec<(Option<crate::engine::data::columns::RowName>, Vec<f64>)>,
    /// Each candidate's removal, predicted and really refitted, on the whole test set.
    pub checks: Vec<crate::engine::audit::review::RemovalCheck>,
    /// Mean test loss of the model ranked.
    pub test_loss: f64,
    /// Its test accuracy (RMSE for regression).
    pub test_metric: f64,
}

/// The flip set of the explained point (see [`crate::engine::audit::flip`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipView {
    /// The search and its refits.
    pub flip: crate::engine::audit::flip::FlipResult,
    /// Class names (empty for regression).
    pub classes: Vec<String>,
    /// The threshold of a regression.
    pub threshold: Option<f64>,
    /// Wall-clock milliseconds.
    pub millis: f64,
}

/// Mislabel detection on the current training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MislabelView {
    /// Training points.
    pub n_train: usize,
    /// Fraction flipped.
    pub fraction: f64,
    /// Training points whose label was flipped.
    pub flipped: Vec<usize>,
    /// Best possible area (1 − fraction/2).
    pub best_auc: f64,
    /// Per ranking.
    pub curves: Vec<DetectionCurve>,
    /// Flipped points among the top of the self-influence ranking (checked first).
    pub found: Vec<usize>,
    /// The refit on the flipped labels.
    pub refits: RefitStats,
    /// The damping self-influence needed because the network refitted on the flipped
    /// labels has a singular Hessian, with the solver's words (`None`: not needed).
    pub singular_damping: Option<(f64, String)>,
    /// Fix-first curves: the flips found by checking in each ranking's order are fixed
    /// and the model really retrained (with the oracle and random orders).
    #[serde(default)]
    pub fix_first: Vec<FixCurve>,
    /// Removing rows in self-influence and random order from the data nobody flipped.
    #[serde(default)]
    pub remove_clean: Vec<FixCurve>,
}

/// A fix-first curve (see [`crate::engine::audit::fix_first`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixCurve {
    /// The ranking.
    pub ranking: crate::engine::evaluate::SelfRanking,
    /// One refit per fraction checked.
    pub points: Vec<crate::engine::audit::fix_first::FixPoint>,
}

/// TMC-Shapley run on the pool, kept by the primary worker for the Methods view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyView {
    /// Permutations run.
    pub permutations: usize,
    /// How the refits converged.
    pub refits: RefitStats,
    /// Wall-clock milliseconds (the longest block).
    pub millis: f64,
    /// Engine workers that shared the permutations.
    pub workers: usize,
}

/// Linear datamodeling score per method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LdsView {
    /// Subsets retrained.
    pub subsets: usize,
    /// Their fraction.
    pub alpha: f64,
    /// `(method, LDS)`; `None` when undefined or when the method failed.
    pub values: Vec<(Attribution, Option<f64>)>,
    /// How the subset refits converged.
    pub refits: RefitStats,
    /// Wall-clock milliseconds of the refits.
    pub millis: f64,
    /// Engine workers that shared the refits.
    #[serde(default = "one")]
    pub workers: usize,
}
