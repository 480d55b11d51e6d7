//! Approximations of influence and peer attribution methods (the survey of Zhu &
//! Cangelosi 2025), every score oriented like `pred_loo_dloss` of the conventions:
//! larger = more helpful to the test point. Where a paper uses another sign or scale
//! the conversion happens once, in the method's own module, and is tested.
//!
//! - [`ihvp`]: `H⁻¹ g_t` by conjugate gradient, LiSSA and Arnoldi; scores
//!   `(1/n) g_iᵀ x_t` exactly like exact influence.
//! - [`peers`]: TracIn, representer points, gradient dot and cosine, TRAK.
//! - [`shapley`]: truncated Monte Carlo data Shapley and exact KNN-Shapley.

pub mod ihvp;
pub mod peers;
pub mod shapley;

use serde::{Deserialize, Serialize};

/// A method that could not produce scores, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum MethodError {
    /// LiSSA's recursion grew without bound.
    #[error("LiSSA diverged at step {step} (|v| = {norm:.1e}): the scale {scale} must exceed the Hessian's largest eigenvalue (about {lambda_max:.3e})")]
    LissaDiverged {
        /// Step at which the norm passed the bound.
        step: usize,
        /// The norm then.
        norm: f64,
        /// The scale used.
        scale: f64,
        /// Largest Hessian eigenvalue, by power iteration.
        lambda_max: f64,
    },
    /// A method needs a condition the problem does not meet.
    #[error("{0}")]
    NotApplicable(String),
    /// The Hessian could not be factorised or inverted.
    #[error("{0}")]
    Linalg(String),
}

/// Scores of one method: `scores[t][i]` for test point t and training point i.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Method name.
    pub method: String,
    /// Oriented like `pred_loo_dloss`.
    pub scores: Vec<Vec<f64>>,
    /// A convergence trace where the method has one (relative residual for CG, relative
    /// change per step for LiSSA), for the first test point.
    pub trace: Vec<f64>,
}
