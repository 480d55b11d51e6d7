//! Gradients, Hessians and Hessian-vector products against central finite
//! differences, for every model; fitting tolerance; softmax gauge invariance.

use super::common::{assert_one_pass_matches, fitted, one_per_model, rel_err};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::model::problem::Problem;
use attribution_explorer::engine::rng::Rng;

const H: f64 = 1e-5;

fn random_theta(p: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..p).map(|_| 0.5 * r.normal()).collect()
}

/// Problem with non-unit weights so the weighting is exercised too.
fn weighted(problem: &Problem) -> Problem {
    let mut p = problem.clone();
    let mut r = Rng::new(9);
    p.weights.iter_mut().for_each(|w| *w = 0.5 + r.uniform());
    p.weights[0] = 0.0;
    p.lambda = 0.3;
    p
}

#[test]
fn example_gradient_matches_central_differences() {
    for (name, train, _, kind) in one_per_model() {
        let (problem, _) = fitted(&train, kind, 0.1);
        let m = problem.model;
        let theta = random_theta(m.n_params(), 1);
        for i in 0..5 {
            let (x, y) = (problem.train.row(i), problem.train.y[i]);
            let mut g = vec![0.0; m.n_params()];
            m.grad(&theta, x, y, &mut g);
            let fd: Vec<f64> = (0..theta.len())
                .map(|q| {
                    let (mut a, mut b) = (theta.clone(), theta.clone());
                    a[q] += H;
                    b[q] -= H;
                    (m.loss(&a, x, y) - m.loss(&b, x, y)) / (2.0 * H)
                })
                .collect();
            let e = rel_err(&g, &fd);
            assert!(e < 1e-8, "{name}: example gradient error {e:e}");
        }
    }
}

#[test]
fn objective_gradient_hessian_and_hvp_match_central_differences() {
    for (name, train, _, kind) in one_per_model() {
        let (base, _) = fitted(&train, kind, 0.1);
        let problem = weighted(&base);
        let p = problem.n_params();
        let theta = random_theta(p, 2);
        let mut g = vec![0.0; p];
        problem.gradient(&theta, &mut g);
        let mut fd_g = vec![0.0; p];
        let mut fd_h = vec![vec![0.0; p]; p];
        let (mut ga, mut gb) = (vec![0.0; p], vec![0.0; p]);
        for q in 0..p {
            let (mut a, mut b) = (theta.clone(), theta.clone());
            a[q] += H;
            b[q] -= H;
            fd_g[q] = (problem.objective(&a) - problem.objective(&b)) / (2.0 * H);
            problem.gradient(&a, &mut ga);
            problem.gradient(&b, &mut gb);
            for r in 0..p {
                fd_h[r][q] = (ga[r] - gb[r]) / (2.0 * H);
            }
        }
        let e = rel_err(&g, &fd_g);
        assert!(e < 1e-8, "{name}: objective gradient error {e:e}");
        let hess = problem.hessian(&theta);
        let flat: Vec<f64> = hess.iter().copied().collect();
        let fd_flat: Vec<f64> = fd_h.concat();
        let e = rel_err(&flat, &fd_flat);
        assert!(e < 1e-7, "{name}: Hessian error {e:e}");
        let v = random_theta(p, 3);
        let mut hv = vec![0.0; p];
        problem.hvp(&theta, &v, &mut hv);
        let dense: Vec<f64> = (0..p).map(|r| (0..p).map(|c| hess[[r, c]] * v[c]).sum()).collect();
        let e = rel_err(&hv, &dense);
        assert!(e < 1e-12, "{name}: HVP differs from H v by {e:e}");
    }
}

#[test]
fn one_pass_value_gradient_and_scale_equal_the_separate_passes() {
    for (name, train, _, kind) in one_per_model() {
        let (base, _) = fitted(&train, kind, 0.1);
        let problem = weighted(&base);
        assert_one_pass_matches(name, &problem, &random_theta(problem.n_params(), 5));
    }
}

#[test]
fn per_example_hessian_matches_central_differences() {
    for (name, train, _, kind) in one_per_model() {
        let (problem, _) = fitted(&train, kind, 0.1);
        let m = problem.model;
        let p = m.n_params();
        let theta = random_theta(p, 5);
        let (x, y) = (problem.train.row(3), problem.train.y[3]);
        let h = m.hessian(&theta, x, y);
        let (mut ga, mut gb) = (vec![0.0; p], vec![0.0; p]);
        let mut fd = vec![0.0; p * p];
        for q in 0..p {
            let (mut a, mut b) = (theta.clone(), theta.clone());
            a[q] += H;
            b[q] -= H;
            m.grad(&a, x, y, &mut ga);
            m.grad(&b, x, y, &mut gb);
            for r in 0..p {
                fd[r * p + q] = (ga[r] - gb[r]) / (2.0 * H);
            }
        }
        let e = rel_err(&h, &fd);
        assert!(e < 1e-7, "{name}: per-example Hessian error {e:e}");
    }
}

#[test]
fn prediction_gradient_matches_central_differences() {
    for (name, train, _, kind) in one_per_model() {
        let (problem, _) = fitted(&train, kind, 0.1);
        let m = problem.model;
        let theta = random_theta(m.n_params(), 6);
        let (x, y) = (problem.train.row(1), problem.train.y[1]);
        let mut g = vec![0.0; m.n_params()];
        m.f_and_grad(&theta, x, y, &mut g);
        let mut buf = vec![0.0; m.n_params()];
        let fd: Vec<f64> = (0..theta.len())
            .map(|q| {
                let (mut a, mut b) = (theta.clone(), theta.clone());
                a[q] += H;
                b[q] -= H;
                (m.f_and_grad(&a, x, y, &mut buf) - m.f_and_grad(&b, x, y, &mut buf)) / (2.0 * H)
            })
            .collect();
        let e = rel_err(&g, &fd);
        assert!(e < 1e-8, "{name}: prediction gradient error {e:e}");
    }
}

#[test]
fn fit_reaches_gradient_tolerance_for_every_model() {
    for (name, train, _, kind) in one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.01);
        let mut g = vec![0.0; problem.n_params()];
        problem.gradient(&report.theta, &mut g);
        let norm = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(norm < 1e-10, "{name}: ‖∇R‖∞ = {norm:e}");
        println!("{name}: {} Newton steps, ‖∇R‖∞ = {norm:.2e}", report.iterations);
    }
}

#[test]
fn softmax_is_invariant_to_shifting_all_biases() {
    let (_, train, test, kind) = one_per_model().swap_remove(1);
    let (problem, report) = fitted(&train, kind, 0.05);
    let m = problem.model;
    // Shifting every class bias by the same constant changes no loss...
    let mut shifted = report.theta.clone();
    for k in 0..m.k {
        shifted[k * m.row_len() + m.d] += 3.7;
    }
    assert!((problem.objective(&shifted) - problem.objective(&report.theta)).abs() < 1e-12);
    // ...a fit started from a shifted point lands on the same gauge-fixed optimum...
    let refit = attribution_explorer::engine::fit::fit(&problem, Some(&shifted), &Default::default())
        .expect("fit succeeds");
    assert!(rel_err(&refit.theta, &report.theta) < 1e-9);
    let bias_sum: f64 = (0..m.k).map(|k| refit.theta[k * m.row_len() + m.d]).sum();
    assert!(bias_sum.abs() < 1e-12, "gauge Σ b_k = {bias_sum:e}");
    // ...and influence computed at either parameter vector is the same.
    let design = attribution_explorer::engine::model::problem::Design::from_dataset(&test);
    let a = Influence::new(&problem, &report.theta, 0.0)
        .expect("factorises")
        .score(&problem, &design)
        .expect("scores");
    let b = Influence::new(&problem, &shifted, 0.0)
        .expect("factorises")
        .score(&problem, &design)
        .expect("scores");
    for (x, y) in a.iter().zip(&b) {
        assert!(rel_err(&x.pred_loo_dloss, &y.pred_loo_dloss) < 1e-9);
    }
}

#[test]
fn constant_column_standardises_to_zero_and_makes_an_unregularised_hessian_singular() {
    use attribution_explorer::engine::data::prep::standardize;
    use attribution_explorer::engine::data::{Dataset, Target};
    use attribution_explorer::engine::fit::{fit, FitOptions};
    use attribution_explorer::engine::linalg::LinalgError;
    use attribution_explorer::engine::model::{Model, ModelKind};
    // Column b is constant: after standardising it is exactly 0 (not 0/0 = NaN).
    let x = ndarray::array![[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [0.5, 5.0], [2.5, 5.0]];
    let y = vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
    let names = Target::Classes { names: vec!["0".into(), "1".into()] };
    let mut train =
        Dataset { feature_names: vec!["a".into(), "b".into()], target_name: "y".into(), x, y, target: names };
    let mut test = train.clone();
    standardize(&mut train, &mut test);
    assert!(train.x.column(1).iter().all(|v| *v == 0.0));
    let model = Model::new(ModelKind::Logistic, 2, 2).expect("model");
    // λ = 0: the constant column's weight has no curvature at all.
    let problem = Problem::new(model, &train, 0.0).expect("problem");
    let report = fit(&problem, None, &FitOptions::default()).expect("the fit itself runs");
    match Influence::new(&problem, &report.theta, 0.0) {
        Err(LinalgError::NotPositiveDefinite { .. } | LinalgError::Singular { .. }) => {}
        other => panic!("expected a typed singular-Hessian error, got {other:?}"),
    }
    // Damping makes it invertible, and every score is finite.
    let damped = Influence::new(&problem, &report.theta, 1e-3).expect("H + δI is positive definite");
    assert!(damped.self_influence().expect("solves").iter().all(|v| v.is_finite()));
}

#[test]
fn separable_data_without_regularisation_warn_instead_of_returning_nan() {
    use attribution_explorer::engine::data::{Dataset, Target};
    use attribution_explorer::engine::fit::{fit, FitOptions, FitWarning};
    use attribution_explorer::engine::model::{Model, ModelKind};
    let x = ndarray::array![[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]];
    let data = Dataset {
        feature_names: vec!["a".into()],
        target_name: "y".into(),
        x,
        y: vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        target: Target::Classes { names: vec!["0".into(), "1".into()] },
    };
    let problem =
        Problem::new(Model::new(ModelKind::Logistic, 1, 2).expect("model"), &data, 0.0).expect("problem");
    let report = fit(&problem, None, &FitOptions::default()).expect("fit runs");
    assert!(report.theta.iter().all(|t| t.is_finite()));
    assert!(
        report.warnings.iter().any(|w| matches!(w, FitWarning::Separable { .. })),
        "{:?}",
        report.warnings
    );
}
