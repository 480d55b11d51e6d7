//! The numerical core: everything that computes a number lives here.
//!
//! Conventions (Koh & Liang 2017, `shared/docs/conventions.md`): the objective is
//! `R(θ) = (1/n) Σ_i w_i l(z_i, θ) + (λ/2)‖W‖²` with the bias appended last and never
//! regularised; influence is taken at the fitted `θ̂` with `H = ∇²R(θ̂)`.
//!
//! Layout: [`data`] (CSV, built-in datasets, splits), [`model`] (losses and their
//! derivatives), [`fit`] (Newton), [`linalg`] (factorising `H`), [`influence`]
//! (first-order predictions), [`retrain`] (the ground truth), [`stats`] (agreement),
//! and [`pipeline`], the one path from data to influence that the CLI and the worker
//! share.

pub mod audit;
pub mod curvature;
pub mod data;
pub mod evaluate;
pub mod exp;
pub mod fit;
pub mod influence;
pub mod linalg;
pub mod methods;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod retrain;
pub mod rng;
pub mod stats;
pub mod truths;
