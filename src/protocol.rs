//! The typed messages between the page and its Web Worker, sent as JSON.
//!
//! Every request carries a job id; the page drops any response whose id is older than
//! the latest request of its kind (a generation counter), so stale results never
//! overwrite fresh ones.

use crate::engine::data::builtin::GeneratorParams;
use crate::engine::model::ModelKind;
use serde::{Deserialize, Serialize};

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
    /// A user's CSV text (never leaves the browser), with the target column.
    Csv {
        /// File name, for messages.
        name: String,
        /// The file's text.
        text: String,
        /// Target column.
        target: String,
    },
}

/// Everything needed to train and score one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    /// The data.
    pub source: DataSource,
    /// The model; `None` picks one from the target.
    pub model: Option<ModelKind>,
    /// L2 strength λ.
    pub lambda: f64,
    /// Damping δ added to the Hessian for influence.
    pub damping: f64,
    /// Standardise features with training statistics.
    pub standardize: bool,
    /// Fraction of rows held out as test points.
    pub test_fraction: f64,
    /// Seed of the train/test split.
    pub split_seed: u64,
    /// Test point to explain; `None` picks the one with the largest loss.
    pub selected_test: Option<usize>,
}

impl Default for TrainSpec {
    /// The view the page opens on: two moons, logistic regression, λ = 0.01.
    fn default() -> Self {
        Self {
            source: DataSource::Builtin { id: "moons".into(), params: GeneratorParams::default() },
            model: None,
            lambda: 0.01,
            damping: 0.0,
            standardize: true,
            test_fraction: 0.2,
            split_seed: 0,
            selected_test: None,
        }
    }
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Load the data, fit, and score every training point for one test point.
    Train {
        /// Job id.
        job: u64,
        /// What to train.
        spec: TrainSpec,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker has loaded and listens (messages sent before this are lost).
    Ready,
    /// Progress of a long job.
    Progress {
        /// Job id.
        job: u64,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// A training job finished.
    Trained {
        /// Job id.
        job: u64,
        /// The view, or the error in plain words.
        result: Result<Box<TrainedView>, String>,
    },
    /// The worker panicked; the message is shown to the user.
    Crashed {
        /// The panic message.
        message: String,
    },
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
    /// Whether the fit reached the tolerance.
    pub converged: bool,
    /// Warnings in plain words.
    pub warnings: Vec<String>,
    /// "accuracy" or "RMSE".
    pub metric_name: String,
    /// Metric on the training rows.
    pub train_metric: f64,
    /// Metric on the test rows.
    pub test_metric: f64,
}

/// A trained view: the points to draw, the fit, and one test point's attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedView {
    /// What the data are, for people.
    pub title: String,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Class names (empty for regression).
    pub class_names: Vec<String>,
    /// Whether the features were standardised.
    pub standardized: bool,
    /// Training points in plot coordinates (the two features, or the first two).
    pub train_xy: Vec<[f64; 2]>,
    /// Training targets.
    pub train_y: Vec<f64>,
    /// Test points in plot coordinates.
    pub test_xy: Vec<[f64; 2]>,
    /// Test targets.
    pub test_y: Vec<f64>,
    /// The fit.
    pub fit: FitSummary,
    /// Index of the explained test point.
    pub selected_test: usize,
    /// Its loss.
    pub test_loss: f64,
    /// Its prediction `f_t`.
    pub test_pred: f64,
    /// `pred_loo_dloss` of every training point for the selected test point.
    pub pred_loo_dloss: Vec<f64>,
    /// `pred_loo_dpred` of every training point for the selected test point.
    pub pred_loo_dpred: Vec<f64>,
}
