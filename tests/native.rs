//! Native tests of the engine and the CLI, in one test binary (modules under
//! `tests/native/`). Expected values come from independent references: central
//! finite differences, actual retraining, closed forms, or hand computation.
#![cfg(not(target_arch = "wasm32"))]

mod native {
    pub mod audit;
    pub mod cli;
    pub mod common;
    pub mod csv_errors;
    pub mod derivatives;
    pub mod fuzz;
    pub mod influence_vs_retraining;
    pub mod methods;
    pub mod mlp;
    pub mod properties;
    pub mod reproducibility;
    pub mod service;
    pub mod trust;
}
