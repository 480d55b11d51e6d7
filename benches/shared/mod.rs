//! The benchmark problems and jobs that both sides of a browser ÷ native ratio run:
//! criterion natively (`benches/engine.rs`) and the browser's timing of the same code
//! (`tests/browser_speed.rs`, `make bench-web`).
//!
//! - breast cancer (455 train × 114 test, 31 parameters, standardised, λ = 0.01):
//!   fit + exact influence of every training point on every test point (Koh & Liang
//!   2017: `(1/n) g_tᵀ H⁻¹ g_i` for loss and prediction), and the full leave-one-out
//!   ground truth (455 warm-started refits; one thread in the browser).

use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::data::prep::{split, standardize};
use attribution_explorer::engine::fit::{fit, FitOptions};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::model::problem::{Design, Problem};
use attribution_explorer::engine::model::{Model, ModelKind};
use attribution_explorer::engine::progress::Silent;
use attribution_explorer::engine::retrain::Retrainer;

/// Breast cancer, split 80 / 20 with seed 0 and standardised: logistic, λ = 0.01.
pub fn breast_cancer() -> (Problem, Design) {
    let data = Builtin::BreastCancer.load(&GeneratorParams::default()).expect("embedded table");
    let (mut train, mut test) = split(&data, 0.2, 0);
    standardize(&mut train, &mut test);
    let model = Model::new(ModelKind::Logistic, train.d(), 2).expect("model");
    (Problem::new(model, &train, 0.01).expect("problem"), Design::from_dataset(&test))
}

/// Fit, then score every training point against every row of `test`; the number of
/// test points scored.
pub fn fit_and_influence(problem: &Problem, test: &Design) -> usize {
    let report = fit(problem, None, &FitOptions::default()).expect("fit");
    let influence = Influence::new(problem, &report.theta, 0.0).expect("factor");
    influence.score(problem, test).expect("scores").len()
}

/// Refit without each training point in turn, warm-started from `theta`; the number of
/// refits.
pub fn leave_each_out(problem: &Problem, theta: &[f64], influence: &Influence) -> usize {
    let mut r = Retrainer::new(problem, theta, influence, FitOptions::default()).expect("the fit converged");
    r.leave_each_out(&mut Silent).expect("refits").len()
}
