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
    /// Monte Carlo standard error of each score (TMC-Shapley), `[t][i]`.
    pub std_error: Option<Vec<Vec<f64>>>,
}

use crate::engine::model::problem::{Design, Problem};
use crate::engine::progress::Silent;
use ihvp::{largest_eigenvalue, Ihvp, LissaParams};
use peers::TracInParams;

/// Every method by name.
pub const NAMES: [&str; 10] = [
    "cg",
    "lissa",
    "arnoldi",
    "tracin",
    "representer",
    "grad_dot",
    "grad_cos",
    "trak",
    "knn_shapley",
    "tmc_shapley",
];

/// Parameters of every method, with the defaults the CLI documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodParams {
    /// CG relative residual.
    pub cg_tol: f64,
    /// CG steps.
    pub cg_max_iter: usize,
    /// LiSSA (its `scale` is replaced by `lissa_scale_factor × λ_max` when that is set).
    pub lissa: LissaParams,
    /// LiSSA scale as a multiple of the largest eigenvalue of `H + δI`.
    pub lissa_scale_factor: Option<f64>,
    /// Arnoldi eigenpairs kept.
    pub arnoldi_k: usize,
    /// Arnoldi start seed.
    pub arnoldi_seed: u64,
    /// TracIn.
    pub tracin: TracInParams,
    /// TRAK projection dimension.
    pub trak_k: usize,
    /// TRAK projection seed.
    pub trak_seed: u64,
    /// KNN-Shapley neighbours.
    pub knn_k: usize,
    /// TMC-Shapley permutations.
    pub shapley_permutations: usize,
    /// TMC-Shapley truncation tolerance.
    pub shapley_truncation: f64,
    /// TMC-Shapley seed.
    pub shapley_seed: u64,
}

impl Default for MethodParams {
    fn default() -> Self {
        Self {
            cg_tol: 1e-10,
            cg_max_iter: 1000,
            lissa: LissaParams::default(),
            lissa_scale_factor: Some(2.0),
            arnoldi_k: 10,
            arnoldi_seed: 0,
            tracin: TracInParams::default(),
            trak_k: 20,
            trak_seed: 0,
            knn_k: 5,
            shapley_permutations: 20,
            shapley_truncation: 1e-3,
            shapley_seed: 0,
        }
    }
}

/// Run method `name` for every row of `test`.
pub fn run(
    name: &str,
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    damping: f64,
    p: &MethodParams,
) -> Result<Scores, MethodError> {
    match name {
        "cg" => {
            ihvp::scores(problem, theta, test, &Ihvp::Cg { tol: p.cg_tol, max_iter: p.cg_max_iter }, damping)
        }
        "lissa" => {
            let scale = match p.lissa_scale_factor {
                Some(f) => f * largest_eigenvalue(problem, theta, damping, p.lissa.seed),
                None => p.lissa.scale,
            };
            ihvp::scores(
                problem,
                theta,
                test,
                &Ihvp::Lissa(LissaParams { scale, damping, ..p.lissa }),
                damping,
            )
        }
        "arnoldi" => ihvp::scores(
            problem,
            theta,
            test,
            &Ihvp::Arnoldi { k: p.arnoldi_k, seed: p.arnoldi_seed },
            damping,
        ),
        "tracin" => Ok(peers::tracin(problem, test, &p.tracin)),
        "representer" => peers::representer(problem, theta, test),
        "grad_dot" => Ok(peers::gradient_similarity(problem, theta, test, false)),
        "grad_cos" => Ok(peers::gradient_similarity(problem, theta, test, true)),
        "trak" => peers::trak(problem, theta, test, p.trak_k, p.trak_seed),
        "knn_shapley" if problem.model.kind == crate::engine::model::ModelKind::Linear => {
            Err(MethodError::NotApplicable("KNN-Shapley needs class labels".into()))
        }
        "knn_shapley" => Ok(shapley::knn_shapley(problem, test, p.knn_k)),
        "tmc_shapley" => (0..test.n())
            .map(|t| {
                shapley::tmc_shapley(
                    problem,
                    test,
                    t,
                    p.shapley_permutations,
                    p.shapley_truncation,
                    p.shapley_seed,
                    &mut Silent,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|runs| Scores {
                method: "tmc_shapley".into(),
                scores: runs.iter().map(|r| r.value.clone()).collect(),
                trace: vec![],
                std_error: Some(runs.into_iter().map(|r| r.std_error).collect()),
            }),
        other => Err(MethodError::NotApplicable(format!("unknown method \"{other}\""))),
    }
}
