//! Approximations and peer methods against exact influence (the reference computed by
//! Cholesky), hand-computed metric cases, and the LDS and mislabel checks on breast
//! cancer with λ = 0.01.

use super::common::{fitted, one_per_model, prepared};
use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::evaluate::{
    agreement, detection_curve, flip_labels, lds, lds_refits, top_k_overlap,
};
use attribution_explorer::engine::fit::{fit, FitOptions};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::methods::ihvp::{
    arnoldi_eigenpairs, largest_eigenvalue, scores as ihvp_scores, Ihvp, LissaParams,
};
use attribution_explorer::engine::methods::peers::{
    gradient_similarity, representer, representer_weights, tracin, trak, TracInParams,
};
use attribution_explorer::engine::methods::shapley::{knn_shapley, tmc_shapley};
use attribution_explorer::engine::methods::MethodError;
use attribution_explorer::engine::model::problem::{Design, Problem};
use attribution_explorer::engine::model::ModelKind;
use attribution_explorer::engine::progress::Silent;
use attribution_explorer::engine::stats::spearman;

fn exact(problem: &Problem, theta: &[f64], test: &Design) -> Vec<Vec<f64>> {
    let inf = Influence::new(problem, theta, 0.0).expect("factorises");
    inf.score(problem, test).expect("scores").into_iter().map(|t| t.pred_loo_dloss).collect()
}

/// Largest absolute difference over all pairs, relative to the largest reference score
/// (influence scores are small numbers, so a relative-to-1 error would say nothing).
fn scaled_err(reference: &[Vec<f64>], approx: &[Vec<f64>]) -> f64 {
    let scale = reference.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = reference
        .iter()
        .flatten()
        .zip(approx.iter().flatten())
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    err / scale
}

#[test]
fn conjugate_gradient_equals_exact_influence() {
    for (name, train, test, kind) in one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.05);
        let design = Design::from_dataset(&test);
        let reference = exact(&problem, &report.theta, &design);
        let cg = ihvp_scores(&problem, &report.theta, &design, &Ihvp::Cg { tol: 1e-12, max_iter: 500 }, 0.0)
            .expect("cg runs");
        let err = scaled_err(&reference, &cg.scores);
        assert!(err <= 1e-8, "{name}: CG error {err:e} of the largest score");
        assert!(cg.trace.last().is_some_and(|r| *r < 1e-12), "{name}: residual trace {:?}", cg.trace.last());
    }
}

#[test]
fn arnoldi_with_all_eigenpairs_equals_exact_influence() {
    for (name, train, test, kind) in one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.05);
        let design = Design::from_dataset(&test);
        let reference = exact(&problem, &report.theta, &design);
        let k = problem.n_params();
        let a =
            ihvp_scores(&problem, &report.theta, &design, &Ihvp::Arnoldi { k, seed: 1 }, 0.0).expect("runs");
        let err = scaled_err(&reference, &a.scores);
        assert!(err <= 1e-8, "{name}: Arnoldi error {err:e} of the largest score");
        let (vals, _) = arnoldi_eigenpairs(&problem, &report.theta, k, 1).expect("eigenpairs");
        assert!(vals.windows(2).all(|w| w[0] >= w[1]), "descending eigenvalues");
    }
}

#[test]
fn lissa_approaches_exact_when_the_scale_is_valid_and_reports_divergence_when_not() {
    let (_, train, test, kind) = one_per_model().swap_remove(0);
    let (problem, report) = fitted(&train, kind, 0.05);
    let design = Design::from_dataset(&test);
    let reference = exact(&problem, &report.theta, &design);
    let lambda_max = largest_eigenvalue(&problem, &report.theta, 0.0, 3);
    // Valid scale (2 λ_max), depth long enough for (1 − λ_min/s)^J to vanish; mini-batch
    // noise is averaged over 16 repeats. Tolerance: 5% of the largest exact score,
    // which is what 16 repeats of 32-row batches give on this toy (measured about 2%).
    let params =
        LissaParams { depth: 400, repeats: 16, scale: 2.0 * lambda_max, damping: 0.0, batch: 32, seed: 7 };
    let l = ihvp_scores(&problem, &report.theta, &design, &Ihvp::Lissa(params), 0.0).expect("converges");
    let err = scaled_err(&reference, &l.scores);
    println!("LiSSA: max error {:.3}% of the largest score", 100.0 * err);
    assert!(err <= 0.05, "LiSSA error {err:e} of the largest score");
    assert!(!l.trace.is_empty());
    // Too small a scale: reported, with the eigenvalue, never numbers.
    let bad = LissaParams { scale: 0.25 * lambda_max, ..params };
    match ihvp_scores(&problem, &report.theta, &design, &Ihvp::Lissa(bad), 0.0) {
        Err(MethodError::LissaDiverged { lambda_max: l, .. }) => {
            assert!((l - lambda_max).abs() < 1e-6 * lambda_max)
        }
        other => panic!("expected divergence, got {:?}", other.map(|s| s.method)),
    }
}

#[test]
fn representer_weights_reproduce_the_fitted_weights() {
    for (name, train, _, kind) in one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.05);
        let alpha = representer_weights(&problem, &report.theta).expect("λ > 0");
        let m = problem.model;
        for k in 0..m.k {
            for j in 0..m.d {
                // W_kj = Σ_i α_ik x_ij (stationarity of R with an unpenalised bias).
                let w: f64 = (0..problem.n()).map(|i| alpha[[i, k]] * problem.train.row(i)[j]).sum();
                let fitted = report.theta[k * m.row_len() + j];
                assert!(
                    (w - fitted).abs() <= 1e-8 * fitted.abs().max(1.0),
                    "{name}: W[{k},{j}] {w} vs {fitted}"
                );
            }
        }
    }
}

#[test]
fn every_method_is_oriented_like_exact_influence() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 200, noise: 0.2, seed: 1 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    let reference = exact(&problem, &report.theta, &design);
    let methods = vec![
        gradient_similarity(&problem, &report.theta, &design, false),
        gradient_similarity(&problem, &report.theta, &design, true),
        tracin(&problem, &design, &TracInParams::default()),
        representer(&problem, &report.theta, &design).expect("λ > 0"),
        trak(&problem, &report.theta, &design, 20, 8, 5).expect("runs"),
        knn_shapley(&problem, &design, 5).expect("classes"),
    ];
    for m in methods {
        let a = agreement(&m.scores, &reference, 10);
        let rho = a.pooled_spearman.unwrap_or(f64::NAN);
        println!(
            "{}: pooled Spearman with exact influence {rho:.3}, top-10 overlap {:.2}",
            m.method, a.top_k_overlap
        );
        // A flipped sign would give a strongly negative correlation.
        assert!(rho > 0.2, "{} is not oriented like pred_loo_dloss (ρ = {rho})", m.method);
    }
}

#[test]
fn metrics_on_hand_computed_cases() {
    // Top-2 of a = {0, 2}; of b = {2, 1}: one in common -> 1/2.
    assert_eq!(top_k_overlap(&[3.0, 1.0, 2.0], &[0.0, 5.0, 9.0], 2), 0.5);
    // Flipped = {1}; order by score: 1, 0, 2 -> found 1 after 1/3 checked.
    // Curve (0,0) (1/3,1) (2/3,1) (1,1): area = 1/6 + 1/3 + 1/3 = 5/6.
    let (curve, auc) = detection_curve(&[0.5, 0.9, 0.1], &[false, true, false]);
    assert_eq!(curve.len(), 4);
    assert!((auc - 5.0 / 6.0).abs() < 1e-15);
    // KNN-Shapley, K = 1, one feature, test x = 0 with label 1; training points at
    // distances 1, 2, 3 with labels 1, 0, 1. Recursion from the farthest:
    // s3 = 1/3; s2 = s3 + (0 − 1)/1 · 1/2 = −1/6; s1 = s2 + (1 − 0)/1 · 1/1 = 5/6.
    use attribution_explorer::engine::data::{Dataset, Target};
    let d = Dataset {
        feature_names: vec!["x".into()],
        target_name: "y".into(),
        x: ndarray::array![[1.0], [2.0], [3.0]],
        y: vec![1.0, 0.0, 1.0],
        target: Target::Classes { names: vec!["0".into(), "1".into()] },
    };
    let model = attribution_explorer::engine::model::Model::new(ModelKind::Logistic, 1, 2).expect("model");
    let problem = Problem::new(model, &d, 0.1).expect("problem");
    let test = Design::new(1, vec![0.0], vec![1.0]);
    let s = knn_shapley(&problem, &test, 1).expect("classes").scores.remove(0);
    for (got, want) in s.iter().zip([5.0 / 6.0, -1.0 / 6.0, 1.0 / 3.0]) {
        assert!((got - want).abs() < 1e-15, "{s:?}");
    }
    // Efficiency: the values add up to U(all) − U(∅) = 1 (nearest neighbour is right).
    assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-15);
}

#[test]
fn tmc_shapley_tracks_exact_influence_on_a_toy() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 50, noise: 0.3, seed: 3 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.1);
    let design = Design::from_dataset(&test);
    let reference = exact(&problem, &report.theta, &design);
    let s = tmc_shapley(&problem, &design, 0, 30, 1e-4, 9, &mut |_| true).expect("runs");
    assert!(s.refits.all_converged(), "{:?}", s.refits);
    assert_eq!((s.value.len(), s.permutations), (problem.n(), 30));
    assert!(s.std_error.iter().all(|e| e.is_finite() && *e >= 0.0));
    let rho = spearman(&s.value, &reference[0]).unwrap_or(f64::NAN);
    println!("TMC-Shapley (30 permutations) vs exact influence: Spearman {rho:.3}");
    assert!(rho > 0.3, "ρ = {rho}");
}

#[test]
fn lds_of_exact_influence_and_mislabel_detection_on_breast_cancer() {
    let (train, test) = prepared(Builtin::BreastCancer, GeneratorParams::default());
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    let reference = exact(&problem, &report.theta, &design);
    let refits = lds_refits(&problem, &report.theta, &design, 50, 0.5, 11, &mut Silent).expect("refits");
    let score = lds(&refits, &reference).expect("some test points");
    println!("breast cancer: LDS of exact influence (50 subsets, α = 0.5) = {score:.3}");
    assert!(score > 0.9, "LDS {score}");

    let (flipped_problem, flipped) = flip_labels(&problem, 2, 0.1, 5);
    let theta = fit(&flipped_problem, None, &FitOptions::default()).expect("refit").theta;
    let inf = Influence::new(&flipped_problem, &theta, 0.0).expect("factorises");
    let (_, auc) = detection_curve(&inf.self_influence().expect("solves"), &flipped);
    let (_, auc_loss) = detection_curve(&inf.train_losses, &flipped);
    println!(
        "breast cancer, 10% flipped: AUC self-influence {auc:.3}, training loss {auc_loss:.3} (best 0.95)"
    );
    assert!(auc > 0.9, "AUC {auc}");
}
