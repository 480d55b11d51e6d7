//! The one path from data to influence, shared by the CLI and the worker:
//! standardise (optional, with training statistics) → choose the model from the
//! target → build the objective `R(θ) = (1/n) Σ w_i l(z_i, θ) + (λ/2)‖W‖²` → fit
//! (Newton, [`crate::engine::fit`]) → factorise `H + δI` for influence
//! ([`crate::engine::influence`]). Loading and splitting differ (two files for the
//! CLI, a source and a seeded split for the page) and stay with their callers.

use crate::engine::curvature::Curvature;
use crate::engine::data::prep::Standardizer;
use crate::engine::data::Dataset;
use crate::engine::fit::{fit_watched, FitError, FitOptions, FitReport};
use crate::engine::influence::Influence;
use crate::engine::linalg::{symmetric_eigenvalues, LinalgError};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{Model, ModelError, ModelKind, Net};
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// What to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The model; `None` picks one from the target (two classes logistic, more
    /// softmax, numbers linear).
    pub kind: Option<ModelKind>,
    /// L2 strength λ on the weights.
    pub lambda: f64,
    /// Damping δ of the curvature for influence.
    pub damping: f64,
    /// What computes the outputs: the convex model, or a network.
    pub net: Net,
    /// The curvature that stands in for the Hessian.
    pub curvature: Curvature,
}

impl ModelSpec {
    /// A convex model with the exact Hessian.
    pub fn linear(kind: Option<ModelKind>, lambda: f64, damping: f64) -> Self {
        Self { kind, lambda, damping, net: Net::Linear, curvature: Curvature::Hessian }
    }
}

/// The Hessian's spectrum at θ̂, in three numbers (a network's may be indefinite).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// Smallest eigenvalue.
    pub min: f64,
    /// Largest eigenvalue.
    pub max: f64,
    /// Number of negative eigenvalues.
    pub negative: usize,
}

impl Spectrum {
    /// The spectrum of a Hessian.
    pub fn of(hessian: &ndarray::Array2<f64>) -> Option<Self> {
        let ev = symmetric_eigenvalues(hessian)?;
        let scale = ev.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        Some(Spectrum {
            min: *ev.first()?,
            max: *ev.last()?,
            negative: ev.iter().filter(|v| **v < -1e-12 * scale).count(),
        })
    }
}

/// Why the pipeline produced no model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum PipelineError {
    /// λ or δ is negative or not finite.
    #[error("{name} = {value} is not allowed: use a finite number ≥ 0")]
    BadSetting {
        /// `λ` or `damping`.
        name: String,
        /// The value.
        value: f64,
    },
    /// The model does not fit the data.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The fit failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// `H + δI` cannot be inverted.
    #[error("{source} (λ = {lambda}, damping {damping})")]
    Hessian {
        /// Why.
        source: LinalgError,
        /// The λ used.
        lambda: f64,
        /// The damping used.
        damping: f64,
    },
}

/// A fitted model, ready to explain test points.
#[derive(Debug)]
pub struct Fitted {
    /// The objective.
    pub problem: Problem,
    /// The fit.
    pub report: FitReport,
    /// The factorised curvature and the training gradients.
    pub influence: Influence,
    /// The Hessian's spectrum at θ̂ (networks; `None` for the convex models).
    pub spectrum: Option<Spectrum>,
}

impl Fitted {
    /// The fitted parameters `θ̂`.
    pub fn theta(&self) -> &[f64] {
        &self.report.theta
    }
}

/// Standardise `train` and `test` with the training statistics when asked.
pub fn standardize_if(standardize: bool, train: &mut Dataset, test: &mut Dataset) -> Option<Standardizer> {
    standardize.then(|| {
        let s = Standardizer::fit(train);
        s.apply(train);
        s.apply(test);
        s
    })
}

/// The model `spec` asks for on `train`'s target (a network's output and loss follow
/// the target the same way).
pub fn choose_model(train: &Dataset, spec: &ModelSpec) -> Result<Model, ModelError> {
    let kind = spec.kind.unwrap_or_else(|| ModelKind::for_classes(train.n_classes()));
    Model::with_net(kind, train.d(), train.n_classes(), spec.net)
}

impl PipelineError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::BadSetting { name, value } => {
                Said::new(Text::ErrBadSetting).with("name", name).with("value", value)
            }
            Self::Model(e) => e.said(),
            Self::Fit(e) => e.said(),
            Self::Hessian { source, lambda, damping } => Said::new(Text::ErrHessianAt)
                .with_said("why", source.said())
                .with("lambda", lambda)
                .with("damping", damping),
        }
    }
}

/// Choose the model, fit it and factorise its Hessian; `watch` sees the fit's headway
/// (0 to 1, [`crate::engine::fit::Headway`]). [`train_model`] then [`explain`].
pub fn fit_model(
    train: Dataset,
    spec: &ModelSpec,
    watch: &mut dyn FnMut(f64),
) -> Result<Fitted, PipelineError> {
    let (problem, report) = train_model(train, spec, watch)?;
    explain(problem, report, spec)
}

/// Check `spec`'s settings, choose the model and fit it to `train` (θ̂).
pub fn train_model(
    train: Dataset,
    spec: &ModelSpec,
    watch: &mut dyn FnMut(f64),
) -> Result<(Problem, FitReport), PipelineError> {
    for (name, value) in [("λ", spec.lambda), ("damping", spec.damping)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(PipelineError::BadSetting { name: name.into(), value });
        }
    }
    let model = choose_model(&train, spec)?;
    let problem = Problem::from_owned(model, train, spec.lambda)?;
    let report = fit_watched(&problem, None, &FitOptions::default(), watch)?;
    Ok((problem, report))
}

/// What exact influence needs at θ̂ (Koh & Liang 2017): the curvature `spec` asks for,
/// damped and factorised, and every training gradient; and a network's spectrum.
pub fn explain(problem: Problem, report: FitReport, spec: &ModelSpec) -> Result<Fitted, PipelineError> {
    let hessian = problem.hessian(&report.theta);
    let influence = Influence::with_hessian(&problem, &report.theta, &hessian, spec.curvature, spec.damping)
        .map_err(|source| PipelineError::Hessian { source, lambda: spec.lambda, damping: spec.damping })?;
    let spectrum = (problem.model.net != Net::Linear).then(|| Spectrum::of(&hessian)).flatten();
    Ok(Fitted { problem, report, influence, spectrum })
}

/// How a fit is scored: accuracy for classifiers, RMSE for regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// The fraction of points whose most probable class is their label.
    Accuracy,
    /// The root mean squared error of the prediction.
    Rmse,
}

impl Metric {
    /// Its name in `lang` ("RMSE" is the same in both).
    pub fn name(self, lang: crate::lang::Lang) -> &'static str {
        match self {
            Metric::Accuracy => crate::text::text(lang, crate::text::Text::MetricAccuracy),
            Metric::Rmse => "RMSE",
        }
    }
}

/// Accuracy for classifiers or RMSE for regression of `theta` on `data`, with which
/// of the two it is.
pub fn metric(model: &Model, theta: &[f64], data: &Design) -> (Metric, f64) {
    let n = data.n().max(1) as f64;
    match model.kind {
        ModelKind::Linear => {
            let se: f64 =
                (0..data.n()).map(|i| (model.predict(theta, data.row(i))[0] - data.y[i]).powi(2)).sum();
            (Metric::Rmse, (se / n).sqrt())
        }
        _ => {
            let hits = (0..data.n())
                .filter(|&i| {
                    let p = model.predict(theta, data.row(i));
                    crate::engine::evaluate::argmax(&p) as f64 == data.y[i]
                })
                .count();
            (Metric::Accuracy, hits as f64 / n)
        }
    }
}

/// Class names of a dataset (empty for regression).
pub fn class_names(data: &Dataset) -> Vec<String> {
    data.target.class_names()
}
