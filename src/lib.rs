//! Attribution Explorer: which training points drive a model's predictions.
//!
//! - [`engine`]: the pure numerical core (data, models, fitting, influence, retraining).
//!   No web dependency; compiled and tested natively, and run in a Web Worker.
//! - `cli` (native only): the `attrib` command-line tool over the engine.
//! - [`protocol`]: the typed messages between the page and its worker.
//! - `web` (wasm32 only): the Leptos page and the worker's message loop.
//!
//! Every number follows the conventions of Koh & Liang (2017) as made precise in
//! `shared/docs/conventions.md`: `pred_loo_dloss` is the predicted change of a test
//! loss when a training point is removed; positive means the point helps.

pub mod boundary;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod embed_api;
pub mod engine;
pub mod glossary;
pub mod lang;
pub mod lesson;
pub mod link_data;
pub mod opening;
pub mod packed;
pub mod pool;
pub mod protocol;
pub mod report;
pub mod review;
pub mod said;
pub mod service;
pub mod text;
pub mod tracker;
pub mod url_state;
#[cfg(target_arch = "wasm32")]
pub mod web;
