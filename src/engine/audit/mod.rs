//! Audit workflows on the user's own data: which training rows to review
//! ([`review`]), which removals would flip one prediction ([`flip`]), and what removing
//! a whole group does ([`group`]). Every estimate comes with the real refit beside it.
//!
//! The one quantity the flip search and the accuracy effects share is the *margin* of
//! a prediction, positive while the model predicts what it predicts at `θ̂`
//! ([`Margin`]):
//!
//! ```text
//! logistic  m = ±z                      (+ when θ̂ predicts class 1)
//! softmax   m = z_c − max_{k≠c} z_k     (c: the class θ̂ predicts)
//! linear    m = s (ŷ − τ),  s = sign(ŷ(θ̂) − τ)   for a threshold τ the user sets
//! ```
//!
//! The prediction changes class (crosses τ) exactly when `m < 0`. Removing training
//! point `i` moves `θ` by `(1/n) H⁻¹ g_i` to first order (conventions: removal is
//! `ε = −1/n`), so it moves the margin by `Δm_i = (1/n) ∇mᵀ H⁻¹ g_i`.

pub mod fix_first;
pub mod flip;
pub mod group;
pub mod review;

use crate::engine::data::Target;
use crate::engine::fit::FitError;
use crate::engine::linalg::LinalgError;
use crate::engine::model::{Model, ModelKind};
use crate::engine::retrain::RetrainError;
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// Why an audit produced no numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AuditError {
    /// A training index out of range.
    #[error("{}", self.said())]
    NoTrainingPoint {
        /// The index given.
        index: usize,
        /// How many there are.
        n: usize,
    },
    /// A test index out of range.
    #[error("{}", self.said())]
    NoTestPoint {
        /// The index given.
        index: usize,
        /// How many there are.
        n: usize,
    },
    /// A regression flip needs a threshold.
    #[error("{}", self.said())]
    NeedsThreshold,
    /// The threshold is not a finite number.
    #[error("{}", self.said())]
    BadThreshold(f64),
    /// Label checks need a classifier.
    #[error("{}", self.said())]
    NeedsClasses,
    /// A group with no members.
    #[error("{}", self.said())]
    EmptyGroup,
    /// The group is every training point.
    #[error("{}", self.said())]
    GroupIsEverything,
    /// The group holds every training point of this class (its index).
    #[error("{}", self.said())]
    GroupEmptiesClass(usize),
    /// Retraining failed.
    #[error(transparent)]
    Retrain(#[from] RetrainError),
    /// A fit failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// A solve failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

impl AuditError {
    /// The error in words ([`crate::said`]), classes by their index.
    pub fn said(&self) -> Said {
        self.said_in(&Target::Classes { names: vec![] })
    }

    /// The error in words, classes by their names in `target` (where they have one).
    pub fn said_in(&self, target: &Target) -> Said {
        match self {
            Self::NoTrainingPoint { index, n } => {
                Said::new(Text::ErrTrainingPointMissing).with("index", index).with("n", n)
            }
            Self::NoTestPoint { index, n } => {
                Said::new(Text::ErrTestPointMissing).with("t", index).with("n", n)
            }
            Self::NeedsThreshold => Said::new(Text::ErrNeedsThreshold),
            Self::BadThreshold(t) => Said::new(Text::ErrBadThreshold).with("t", t),
            Self::NeedsClasses => Said::new(Text::ErrCheckNeedsClasses),
            Self::EmptyGroup => Said::new(Text::ErrEmptyGroup),
            Self::GroupIsEverything => Said::new(Text::ErrGroupIsEverything),
            Self::GroupEmptiesClass(class) => {
                let name = match target {
                    Target::Classes { names } => names.get(*class).cloned(),
                    Target::Real => None,
                };
                Said::new(Text::ErrGroupEmptiesClass).with("class", name.unwrap_or_else(|| class.to_string()))
            }
            Self::Retrain(e) => e.said(),
            Self::Fit(e) => e.said(),
            Self::Linalg(e) => e.said(),
        }
    }
}

/// The margin of one prediction (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margin {
    /// The class `θ̂` predicts (classifiers), kept fixed as `θ` moves.
    pub class: usize,
    /// `τ` and `s` for regression.
    threshold: Option<(f64, f64)>,
}

impl Margin {
    /// The margin of `model`'s prediction for `x` at `theta`: the class it predicts
    /// there, or (regression) the side of `threshold` it is on.
    pub fn at(model: &Model, theta: &[f64], x: &[f64], threshold: Option<f64>) -> Result<Self, AuditError> {
        let mut z = vec![0.0; model.k];
        model.outputs(theta, x, &mut z);
        match model.kind {
            ModelKind::Linear => {
                let tau = threshold.ok_or(AuditError::NeedsThreshold)?;
                if !tau.is_finite() {
                    return Err(AuditError::BadThreshold(tau));
                }
                let s = if z[0] >= tau { 1.0 } else { -1.0 };
                Ok(Self { class: 0, threshold: Some((tau, s)) })
            }
            ModelKind::Logistic => Ok(Self { class: usize::from(z[0] > 0.0), threshold: None }),
            ModelKind::Softmax => Ok(Self { class: crate::engine::evaluate::argmax(&z), threshold: None }),
        }
    }

    /// `m(θ)` and, when `grad` is given, `∇_θ m` into it.
    pub fn value(&self, model: &Model, theta: &[f64], x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let mut work = model.work();
        let z = model.forward(theta, x, &mut work).to_vec();
        let mut v = vec![0.0; z.len()];
        let m = match (model.kind, self.threshold) {
            (ModelKind::Linear, Some((tau, s))) => {
                v[0] = s;
                s * (z[0] - tau)
            }
            (ModelKind::Logistic, _) => {
                let s = if self.class == 1 { 1.0 } else { -1.0 };
                v[0] = s;
                s * z[0]
            }
            _ => {
                let c = self.class.min(z.len() - 1);
                let runner_up =
                    (0..z.len()).filter(|&k| k != c).fold(None, |best: Option<usize>, k| match best {
                        Some(b) if z[b] >= z[k] => Some(b),
                        _ => Some(k),
                    });
                let Some(r) = runner_up else { return z[c] };
                v[c] = 1.0;
                v[r] = -1.0;
                z[c] - z[r]
            }
        };
        if let Some(out) = grad {
            out.fill(0.0);
            model.add_vjp(theta, &mut work, &v, out);
        }
        m
    }
}
