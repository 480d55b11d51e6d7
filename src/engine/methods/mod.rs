//! Approximations of influence and peer attribution methods (the survey of Zhu &
//! Cangelosi 2025), every score oriented like `pred_loo_dloss` of the conventions:
//! larger = more helpful to the test point. Where a paper uses another sign or scale
//! the conversion happens once, in the method's own module, and is tested.
//!
//! - [`ihvp`]: `H⁻¹ g_t` by conjugate gradient, LiSSA and Arnoldi; scores
//!   `(1/n) g_iᵀ x_t` exactly like exact influence.
//! - [`peers`]: TracIn, representer points, gradient dot and cosine, TRAK.
//! - [`shapley`]: truncated Monte Carlo data Shapley and exact KNN-Shapley.
//!
//! Methods are named by [`Method`] everywhere (CLI, worker, page); their parameters
//! are checked once ([`MethodParams::check`]) before any solver sees them, and every
//! score is checked to be finite before anyone ranks it.

pub mod ihvp;
pub mod params;
pub mod peers;
pub mod shapley;

pub use params::{CheckedParams, MethodParams, ParamError};

use crate::engine::model::problem::{Design, Problem};
use crate::engine::progress::{Progress, Silent};
use crate::engine::retrain::RefitStats;
use crate::lang::Lang;
use crate::said::Said;
use crate::text::{text, Text};
use ihvp::{Ihvp, LissaParams};
use serde::{Deserialize, Serialize};

/// Every method the engine offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Conjugate gradient on `(H + δI) x = g_t`.
    Cg,
    /// LiSSA's stochastic Neumann series.
    Lissa,
    /// Arnoldi: `H⁻¹` on the top-k curvature directions.
    Arnoldi,
    /// TracIn over checkpoints of a gradient-descent run.
    Tracin,
    /// Representer points.
    Representer,
    /// Gradient dot product.
    GradDot,
    /// Gradient cosine similarity.
    GradCos,
    /// TRAK with an ensemble of random projections.
    Trak,
    /// Exact Shapley values of a K-nearest-neighbour classifier.
    KnnShapley,
    /// Truncated Monte Carlo data Shapley (retrains n times per permutation).
    TmcShapley,
}

impl Method {
    /// Every method, in the order the page and the CLI list them.
    pub const ALL: [Method; 10] = [
        Method::Cg,
        Method::Lissa,
        Method::Arnoldi,
        Method::Tracin,
        Method::Representer,
        Method::GradDot,
        Method::GradCos,
        Method::Trak,
        Method::KnnShapley,
        Method::TmcShapley,
    ];

    /// The methods run when none are named (CLI and page alike): all but TMC-Shapley
    /// (the last of [`Method::ALL`]), which retrains the model n times per permutation.
    pub const DEFAULT: &'static [Method] = Method::ALL.split_at(Method::ALL.len() - 1).0;

    /// The identifier on the command line, in JSON and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Method::Cg => "cg",
            Method::Lissa => "lissa",
            Method::Arnoldi => "arnoldi",
            Method::Tracin => "tracin",
            Method::Representer => "representer",
            Method::GradDot => "grad_dot",
            Method::GradCos => "grad_cos",
            Method::Trak => "trak",
            Method::KnnShapley => "knn_shapley",
            Method::TmcShapley => "tmc_shapley",
        }
    }

    /// The method with identifier `id`.
    pub fn from_id(id: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.id() == id)
    }

    /// The keys of its name and its one plain sentence in [`crate::text`].
    pub fn texts(self) -> (Text, Text) {
        match self {
            Method::Cg => (Text::MethodCgName, Text::MethodCg),
            Method::Lissa => (Text::MethodLissaName, Text::MethodLissa),
            Method::Arnoldi => (Text::MethodArnoldiName, Text::MethodArnoldi),
            Method::Tracin => (Text::MethodTracinName, Text::MethodTracin),
            Method::Representer => (Text::MethodRepresenterName, Text::MethodRepresenter),
            Method::GradDot => (Text::MethodGradDotName, Text::MethodGradDot),
            Method::GradCos => (Text::MethodGradCosName, Text::MethodGradCos),
            Method::Trak => (Text::MethodTrakName, Text::MethodTrak),
            Method::KnnShapley => (Text::MethodKnnShapleyName, Text::MethodKnnShapley),
            Method::TmcShapley => (Text::MethodTmcShapleyName, Text::MethodTmcShapley),
        }
    }

    /// Its name for people (English, as the CLI prints it).
    pub fn label(self) -> &'static str {
        text(Lang::En, self.texts().0)
    }

    /// What it computes, in one plain sentence (English, as the CLI prints it).
    pub fn describe(self) -> &'static str {
        text(Lang::En, self.texts().1)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A method that could not produce scores, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MethodError {
    /// LiSSA's recursion grew faster than a convergent series can.
    LissaDiverged {
        /// Step at which the norm passed the bound.
        step: usize,
        /// The norm then.
        norm: f64,
        /// The bound `(j + 1) ‖g‖` it passed.
        bound: f64,
        /// The scale used.
        scale: f64,
        /// Largest eigenvalue of `H + δI`.
        lambda_max: f64,
    },
    /// Conjugate gradient hit its step limit before its tolerance.
    CgNotConverged {
        /// Steps run.
        steps: usize,
        /// Final relative residual.
        residual: f64,
        /// The tolerance asked for.
        tol: f64,
    },
    /// Conjugate gradient met a direction of zero or negative curvature.
    CgIndefinite {
        /// The step.
        step: usize,
        /// `dᵀ(H + δI)d / dᵀd` along that direction.
        curvature: f64,
    },
    /// The Arnoldi eigen-solve failed or kept nothing.
    Arnoldi(Said),
    /// A method produced NaN or infinite scores (never ranked).
    NonFinite {
        /// The method.
        method: Method,
        /// How many scores.
        count: usize,
    },
    /// A method needs a condition the problem does not meet.
    NotApplicable(Said),
    /// The Hessian could not be factorised or inverted.
    Linalg(Said),
    /// Cancelled by the user.
    Cancelled,
}

impl MethodError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::LissaDiverged { step, norm, bound, scale, lambda_max } => {
                Said::new(Text::ErrMethodLissaDiverged)
                    .with("step", step)
                    .with("norm", format!("{norm:.1e}"))
                    .with("bound", format!("{bound:.1e}"))
                    .with("scale", format!("{scale:.3e}"))
                    .with("lambda_max", format!("{lambda_max:.3e}"))
            }
            Self::CgNotConverged { steps, residual, tol } => Said::new(Text::ErrMethodCgNotConverged)
                .with("steps", steps)
                .with("residual", format!("{residual:.1e}"))
                .with("tol", format!("{tol:.0e}")),
            Self::CgIndefinite { step, curvature } => Said::new(Text::ErrMethodCgIndefinite)
                .with("curvature", format!("{curvature:.1e}"))
                .with("step", step),
            Self::Arnoldi(why) => Said::new(Text::ErrMethodArnoldi).with_said("0", why.clone()),
            Self::NonFinite { method, count } => Said::new(Text::ErrMethodNonFinite)
                .with_said("method", Said::new(method.texts().0))
                .with("count", count),
            Self::NotApplicable(why) | Self::Linalg(why) => why.clone(),
            Self::Cancelled => Said::new(Text::ErrMethodCancelled),
        }
    }
}

crate::said_error!(MethodError);

/// Scores of one method: `scores[t][i]` for test point t and training point i.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The method.
    pub method: Method,
    /// Oriented like `pred_loo_dloss`.
    pub scores: Vec<Vec<f64>>,
    /// A convergence trace where the method has one (relative residual for CG, relative
    /// change per step for LiSSA, training loss per epoch for TracIn), for the first
    /// test point.
    pub trace: Vec<f64>,
    /// Monte Carlo standard error of each score (TMC-Shapley), `[t][i]`.
    pub std_error: Option<Vec<Vec<f64>>>,
    /// Caveats in plain words (e.g. LiSSA's effective damping).
    pub notes: Vec<Said>,
    /// The refits behind the scores (TMC-Shapley).
    pub refits: Option<RefitStats>,
}

impl Scores {
    /// Scores with no trace, error bars or notes.
    pub fn plain(method: Method, scores: Vec<Vec<f64>>) -> Self {
        Self { method, scores, trace: vec![], std_error: None, notes: vec![], refits: None }
    }
}

/// Run `method` for every row of `test` with damping `damping` (cancellable between
/// TMC-Shapley permutations through `progress`).
pub fn run_with_progress(
    method: Method,
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    damping: f64,
    p: &CheckedParams,
    progress: &mut dyn Progress,
) -> Result<Scores, MethodError> {
    let scores = match method {
        Method::Cg => {
            ihvp::scores(problem, theta, test, &Ihvp::Cg { tol: p.cg_tol, max_iter: p.cg_max_iter }, damping)
        }
        Method::Lissa => {
            let scale = match p.lissa_scale_factor {
                Some(f) => f * ihvp::largest_eigenvalue(problem, theta, damping, p.lissa.seed),
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
        Method::Arnoldi => ihvp::scores(
            problem,
            theta,
            test,
            &Ihvp::Arnoldi { k: p.arnoldi_k, seed: p.arnoldi_seed },
            damping,
        ),
        Method::Tracin => Ok(peers::tracin(problem, test, &p.tracin)),
        Method::Representer => peers::representer(problem, theta, test),
        Method::GradDot => Ok(peers::gradient_similarity(problem, theta, test, false)),
        Method::GradCos => Ok(peers::gradient_similarity(problem, theta, test, true)),
        Method::Trak => peers::trak(problem, theta, test, p.trak_k, p.trak_models, p.trak_seed),
        Method::KnnShapley => shapley::knn_shapley(problem, test, p.knn_k),
        Method::TmcShapley => shapley::tmc_shapley_all(
            problem,
            test,
            p.shapley_permutations,
            p.shapley_truncation,
            p.shapley_seed,
            progress,
        ),
    }?;
    let count = scores.scores.iter().flatten().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(MethodError::NonFinite { method, count });
    }
    Ok(scores)
}

/// [`run_with_progress`] without progress reports.
pub fn run(
    method: Method,
    problem: &Problem,
    theta: &[f64],
    test: &Design,
    damping: f64,
    p: &CheckedParams,
) -> Result<Scores, MethodError> {
    run_with_progress(method, problem, theta, test, damping, p, &mut Silent)
}
