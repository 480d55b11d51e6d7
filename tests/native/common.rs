//! Shared helpers: datasets and fitted problems.

use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::data::prep::{split, standardize};
use attribution_explorer::engine::data::Dataset;
use attribution_explorer::engine::fit::{fit, FitOptions, FitReport};
use attribution_explorer::engine::model::problem::Problem;
use attribution_explorer::engine::model::{Model, ModelKind};

/// A built-in dataset split 80/20 (seed 0), standardised with training statistics.
pub fn prepared(b: Builtin, params: GeneratorParams) -> (Dataset, Dataset) {
    let data = b.load(&params).expect("built-in datasets always load");
    let (mut train, mut test) = split(&data, 0.2, 0);
    standardize(&mut train, &mut test);
    (train, test)
}

/// The natural model for `train`, fitted with L2 strength `lambda`.
pub fn fitted(train: &Dataset, kind: ModelKind, lambda: f64) -> (Problem, FitReport) {
    let model = Model::new(kind, train.d(), train.n_classes()).expect("model fits the data");
    let problem = Problem::new(model, train, lambda).expect("valid problem");
    let report = fit(&problem, None, &FitOptions::default()).expect("fit succeeds");
    assert!(report.converged, "fit did not converge: {report:?}");
    (problem, report)
}

/// One small problem per model kind: (name, train, test, kind).
pub fn one_per_model() -> Vec<(&'static str, Dataset, Dataset, ModelKind)> {
    let p = GeneratorParams { n: 60, noise: 0.3, seed: 4 };
    let (a, b) = prepared(Builtin::Moons, p);
    let (c, d) = prepared(Builtin::Blobs, p);
    let (e, f) = prepared(Builtin::Plane2d, p);
    vec![
        ("logistic", a, b, ModelKind::Logistic),
        ("softmax", c, d, ModelKind::Softmax),
        ("linear", e, f, ModelKind::Linear),
    ]
}

/// Largest absolute difference relative to the largest magnitude (at least 1).
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().chain(b).fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// The one-pass `value_gradient_and_scale` (a Newton step's trial point) gives exactly
/// the numbers of the three separate passes it replaces.
pub fn assert_one_pass_matches(name: &str, problem: &Problem, theta: &[f64]) {
    let p = problem.n_params();
    let (mut grad, mut scale, mut g, mut s) = (vec![0.0; p], vec![0.0; p], vec![0.0; p], vec![0.0; p]);
    let value = problem.value_gradient_and_scale(theta, &mut grad, &mut scale);
    let separate = problem.value_and_gradient(theta, &mut g);
    problem.gradient_scale(theta, &mut s);
    assert_eq!(value, separate, "{name}: objective");
    assert_eq!(value, problem.objective(theta), "{name}: objective");
    assert_eq!(grad, g, "{name}: gradient");
    assert_eq!(scale, s, "{name}: scale of the gradient's terms");
}
