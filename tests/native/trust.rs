//! One test per way a number could be quietly wrong (issue "Trust every number"). Each
//! states what it would have caught; expected values come from actual retraining,
//! closed forms or the definitions the module docs state.

use super::common::{fitted, prepared, rel_err};
use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::data::prep::split;
use attribution_explorer::engine::data::{Dataset, Target};
use attribution_explorer::engine::evaluate::{flip_labels, random_subsets, strata, top_k};
use attribution_explorer::engine::fit::{accept_step, fit, FitOptions, FitWarning};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::linalg::{Factor, LinalgError};
use attribution_explorer::engine::methods::ihvp::{
    largest_eigenvalue, scores as ihvp_scores, Ihvp, LissaParams,
};
use attribution_explorer::engine::methods::peers::{
    gradient_self_dot, gradient_similarity, representer, tracin, tracin_self, trak, TracInParams,
};
use attribution_explorer::engine::methods::shapley::{knn_shapley, tmc_shapley};
use attribution_explorer::engine::methods::{self, CheckedParams, Method, MethodError, MethodParams};
use attribution_explorer::engine::model::problem::{Design, Problem};
use attribution_explorer::engine::model::{Model, ModelError, ModelKind};
use attribution_explorer::engine::progress::Silent;
use attribution_explorer::engine::retrain::{actual_changes, RefitStats, RetrainError, Retrainer};
use attribution_explorer::engine::stats::{pearson, spearman};
use attribution_explorer::lang::Lang;

fn classes(k: usize) -> Target {
    Target::Classes { names: (0..k).map(|c| format!("c{c}")).collect() }
}

fn dataset(x: ndarray::Array2<f64>, y: Vec<f64>, target: Target) -> Dataset {
    let names = (0..x.ncols()).map(|j| format!("x{j}")).collect();
    Dataset { feature_names: names, target_name: "y".into(), x, y, target }
}

/// Finding 1: a refit that cannot converge says so, and the counts add up.
#[test]
fn a_refit_that_cannot_converge_is_counted_as_such() {
    // Class 2 has a single row: without it, that class's bias runs to −∞ and no refit
    // can reach the tolerance.
    let (mut train, _) = prepared(Builtin::Blobs, GeneratorParams { n: 60, noise: 0.8, seed: 2 });
    let lone = train.y.iter().position(|&y| y == 2.0).expect("a class-2 row");
    let keep: Vec<usize> = (0..train.n()).filter(|&i| train.y[i] != 2.0 || i == lone).collect();
    train = train.select(&keep);
    let lone = train.y.iter().position(|&y| y == 2.0).expect("a class-2 row");
    let (problem, report) = fitted(&train, ModelKind::Softmax, 0.1);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
    let mut r =
        Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
    let stuck = r.leave_out(lone).expect("runs");
    let fine = r.leave_out((lone + 1) % train.n()).expect("runs");
    assert!(!stuck.converged && fine.converged, "{} / {}", stuck.grad_norm, fine.grad_norm);
    let stats = RefitStats::of([&stuck, &fine]);
    assert_eq!((stats.n, stats.converged), (2, 1));
    assert!(stats.to_string().contains("1 of 2 refits did not converge"), "{stats}");
}

/// Finding 2: a point whose gradient change is below the tolerance still moves θ;
/// before, the refit took zero steps and reported an actual change of exactly 0.
#[test]
fn leave_one_out_of_a_nearly_silent_point_is_not_zero() {
    let (base, test) = prepared(Builtin::Moons, GeneratorParams { n: 100, noise: 0.3, seed: 4 });
    let (_, r0) = fitted(&base, ModelKind::Logistic, 0.05);
    let w = [r0.theta[0], r0.theta[1]];
    let norm = (w[0] * w[0] + w[1] * w[1]).sqrt();
    // Place a correctly labelled point far along w until its gradient / n is tiny
    // (between 1e-14 and 1e-11: below the 1e-10 tolerance, above rounding).
    for t in (4..80).map(|t| t as f64 * 0.5) {
        let mut x = base.x.clone();
        let row = ndarray::array![[t * w[0] / norm, t * w[1] / norm]];
        x = ndarray::concatenate(ndarray::Axis(0), &[x.view(), row.view()]).expect("rows");
        let mut y = base.y.clone();
        y.push(1.0);
        let train = dataset(x, y, base.target.clone());
        let (problem, report) = fitted(&train, ModelKind::Logistic, 0.05);
        let i = problem.n() - 1;
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
        let g = influence.train_grads.row(i).iter().fold(0.0f64, |m, v| m.max(v.abs())) / problem.n() as f64;
        if !(1e-14..1e-11).contains(&g) {
            continue;
        }
        let design = Design::from_dataset(&test);
        let predicted = influence.score(&problem, &design).expect("scores");
        let mut r =
            Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
        let refit = r.leave_out(i).expect("refit");
        assert!(refit.iterations >= 1 && refit.converged, "{refit:?}");
        let actual = actual_changes(&problem, &report.theta, &[refit], &design);
        let (p, a) = (predicted[0].pred_loo_dloss[i], actual.dloss[0][0]);
        println!("far point (g/n = {g:.1e}): predicted {p:.3e}, actual {a:.3e}");
        assert!(a != 0.0 && (a - p).abs() <= 0.01 * p.abs(), "predicted {p:e}, actual {a:e}");
        return;
    }
    panic!("no placement gave a gradient between 1e-14 and 1e-11");
}

/// Finding 3 and 6: features near 1e5 fit to the same relative accuracy, the
/// equilibrated Hessian is not called singular, and influence still predicts LOO.
#[test]
fn raw_scale_features_converge_and_predict_leave_one_out() {
    let data = Builtin::Moons.load(&GeneratorParams { n: 120, noise: 0.3, seed: 6 }).expect("loads");
    let (mut train, test) = split(&data, 0.2, 0);
    train.x.mapv_inplace(|v| 1e5 * v + 3e5);
    let mut test = test;
    test.x.mapv_inplace(|v| 1e5 * v + 3e5);
    let model = Model::new(ModelKind::Logistic, 2, 2).expect("model");
    let problem = Problem::new(model, &train, 1e-12).expect("problem");
    let report = fit(&problem, None, &FitOptions::default()).expect("fits");
    assert!(report.converged, "relative test: {:e} (raw {:e})", report.scaled_grad_norm, report.grad_norm);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("equilibrated H is well posed");
    let design = Design::from_dataset(&test);
    let predicted = influence.score(&problem, &design).expect("scores");
    let mut r =
        Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
    let refits = r.leave_each_out(&mut Silent).expect("refits");
    let stats = RefitStats::of(&refits);
    assert!(stats.all_converged(), "{stats}");
    let actual = actual_changes(&problem, &report.theta, &refits, &design);
    let rho = pearson(&predicted[0].pred_loo_dloss, &actual.dloss[0]).expect("defined");
    println!("raw-scale moons: Pearson(pred, actual LOO) = {rho:.5}, {stats}");
    assert!(rho > 0.99, "{rho}");
}

/// Finding 3: leave-one-out is refused from a fit that did not converge.
#[test]
fn retraining_refuses_an_unconverged_base() {
    let (train, _) = prepared(Builtin::Moons, GeneratorParams::default());
    let (problem, _) = fitted(&train, ModelKind::Logistic, 0.01);
    let early = fit(&problem, None, &FitOptions { max_iter: 1, ..FitOptions::default() }).expect("one step");
    assert!(!early.converged);
    let influence = Influence::new(&problem, &early.theta, 0.0).expect("factorises");
    match Retrainer::new(&problem, &early.theta, &influence, FitOptions::default()) {
        Err(RetrainError::BaseNotConverged { .. }) => {}
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

/// Finding 4: a step that raises R is refused however much the gradient shrinks.
#[test]
fn newton_never_accepts_a_rise_of_the_objective() {
    // Armijo: R falls by at least 1e-4 · t · slope.
    assert!(accept_step(1.0, 0.9, 1.0, -1.0, 1.0, 0.5));
    // R rises by 1e-8 (far above rounding) while the gradient shrinks: refused. The
    // old rule ("or the gradient shrinks") accepted it.
    assert!(!accept_step(1.0, 1.0 + 1e-8, 1.0, -1e-12, 1e-6, 1e-9));
    // Within rounding (1e-15 relative) and the gradient shrinks: accepted.
    assert!(accept_step(1.0, 1.0 + 1e-15, 1.0, -1e-20, 1e-9, 1e-11));
    assert!(!accept_step(1.0, f64::NAN, 1.0, -1.0, 1.0, 0.5));
}

/// Finding 5: separable data warn at a tiny λ, not only at λ = 0.
#[test]
fn separable_classes_warn_at_a_tiny_lambda() {
    let x = ndarray::array![[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]];
    let data = dataset(x, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0], classes(2));
    let problem =
        Problem::new(Model::new(ModelKind::Logistic, 1, 2).expect("model"), &data, 1e-12).expect("problem");
    let report = fit(&problem, None, &FitOptions::default()).expect("fits");
    assert!(
        report.warnings.iter().any(|w| matches!(w, FitWarning::Separable { .. })),
        "{:?}",
        report.warnings
    );
}

/// Finding 6: Cholesky pivots of L Lᵀ (L unit lower triangular, −1 below the
/// diagonal) are all 1, yet its condition number is about 4^P (5.5e14 at P = 24):
/// judged by its spectrum it is singular. Raw columns near 1e6 are fine once equilibrated.
#[test]
fn singularity_is_judged_by_the_spectrum_not_the_pivots() {
    let p = 24;
    let l = ndarray::Array2::from_shape_fn((p, p), |(i, j)| match i.cmp(&j) {
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Greater => -1.0,
        std::cmp::Ordering::Less => 0.0,
    });
    let h = l.dot(&l.t());
    match Factor::new(&h, 0.0, &[]) {
        Err(LinalgError::Singular { condition }) => assert!(condition > 1e13, "{condition:e}"),
        other => panic!("expected Singular, got {other:?}"),
    }
    // A diagonal Hessian with entries 1e12 and 1: perfectly conditioned after scaling.
    let h = ndarray::Array2::from_diag(&ndarray::array![1e12, 1.0, 1e-2]);
    let f = Factor::new(&h, 0.0, &[]).expect("well posed");
    assert!(rel_err(&f.solve(&[1e12, 1.0, 1.0]).expect("solves"), &[1.0, 1.0, 100.0]) < 1e-14);
    // A length mismatch is an error, never the input handed back.
    assert!(matches!(f.solve(&[1.0]), Err(LinalgError::Shape { expected: 3, found: 1 })));
}

/// The cheap bound `‖Â‖_F · tr(Â⁻¹)` that spares a well-posed Hessian its spectrum must
/// bound the condition number from above (a bound too small would call a singular
/// matrix invertible) and never change the verdict the spectrum gives. Matrices
/// `V diag(λ) Vᵀ` with `V` a Householder reflection and λ spread over 1 … 1/κ, for κ
/// from 1 to 1e16; the expected condition is the spectrum of the equilibrated matrix,
/// computed here as the module doc defines it.
#[test]
fn the_condition_bound_never_changes_the_singularity_verdict() {
    use attribution_explorer::engine::linalg::{symmetric_eigenvalues, SINGULAR_RATIO};
    let p = 20;
    let u: Vec<f64> = (0..p).map(|i| 1.0 + (i as f64 * 0.7).sin()).collect();
    let uu: f64 = u.iter().map(|v| v * v).sum();
    let v =
        ndarray::Array2::from_shape_fn((p, p), |(i, j)| f64::from(u8::from(i == j)) - 2.0 * u[i] * u[j] / uu);
    let mut verdicts = (0, 0);
    for kappa in [1.0f64, 1e3, 1e6, 1e9, 1e11, 1e12, 3e13, 1e14, 1e16] {
        let lambda = ndarray::Array1::from_shape_fn(p, |i| kappa.powf(-(i as f64) / (p - 1) as f64));
        let h = (&v * &lambda).dot(&v.t());
        let s: Vec<f64> = (0..p).map(|i| 1.0 / h[[i, i]].sqrt()).collect();
        let equilibrated = ndarray::Array2::from_shape_fn((p, p), |(i, j)| h[[i, j]] * s[i] * s[j]);
        let ev = symmetric_eigenvalues(&equilibrated).expect("finite");
        let (lo, hi) = (ev[0], ev[p - 1]);
        let exact = hi / lo;
        match Factor::new(&h, 0.0, &[]) {
            Ok(f) => {
                verdicts.0 += 1;
                assert!(lo > 0.0 && lo >= SINGULAR_RATIO * hi, "κ = {kappa:e}: the spectrum says singular");
                let bound = f.condition();
                let most = (p as f64).powf(1.5) * exact;
                assert!(
                    bound >= exact * (1.0 - 1e-9) && bound <= most * (1.0 + 1e-9),
                    "{exact:e} ≤ {bound:e} ≤ {most:e}"
                );
            }
            Err(LinalgError::Singular { .. } | LinalgError::NotPositiveDefinite { .. }) => {
                verdicts.1 += 1;
                assert!(lo <= 0.0 || lo < SINGULAR_RATIO * hi, "κ = {kappa:e}: the spectrum says {exact:e}");
            }
            Err(other) => panic!("κ = {kappa:e}: {other:?}"),
        }
    }
    assert!(verdicts.0 >= 5 && verdicts.1 >= 2, "both verdicts were exercised: {verdicts:?}");
}

/// Finding 7: softmax with λ = 0 has d + 1 null directions; all are handled.
#[test]
fn unregularised_softmax_handles_every_null_direction() {
    let (train, test) = prepared(Builtin::Spirals, GeneratorParams { n: 150, noise: 0.3, seed: 2 });
    let model = Model::new(ModelKind::Softmax, 2, 3).expect("model");
    let problem = Problem::new(model, &train, 0.0).expect("problem");
    assert_eq!(problem.null_directions().len(), 3, "d + 1 = 3");
    let report = fit(&problem, None, &FitOptions::default()).expect("fits");
    assert!(report.converged, "{:?}", report.warnings);
    for j in 0..=2 {
        let s: f64 = (0..3).map(|k| report.theta[k * 3 + j]).sum();
        assert!(s.abs() < 1e-10, "gauge column {j}: Σ_k = {s:e}");
    }
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("pseudo-inverse on the complement");
    let design = Design::from_dataset(&test);
    let predicted = influence.score(&problem, &design).expect("scores");
    let mut r =
        Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
    let refits = r.leave_each_out(&mut Silent).expect("refits");
    assert!(RefitStats::of(&refits).all_converged());
    let actual = actual_changes(&problem, &report.theta, &refits, &design);
    let rho = pearson(&predicted[0].pred_loo_dloss, &actual.dloss[0]).expect("defined");
    println!("softmax, λ = 0: Pearson(pred, actual LOO) = {rho:.4}");
    assert!(rho > 0.95, "{rho}");
}

/// Finding 8: a class without training rows is refused; splits keep every class.
#[test]
fn a_class_without_training_rows_is_refused_and_splits_are_stratified() {
    let x = ndarray::array![[0.0], [1.0], [2.0], [3.0]];
    let data = dataset(x, vec![0.0, 0.0, 1.0, 1.0], classes(3));
    let model = Model::new(ModelKind::Softmax, 1, 3).expect("model");
    match Problem::new(model, &data, 0.1) {
        Err(ModelError::EmptyClass { class }) => assert_eq!(class, "c2"),
        other => panic!("expected EmptyClass, got {other:?}"),
    }
    // Two rows per class and half to test: every class keeps a training row.
    let x = ndarray::Array2::from_shape_fn((6, 1), |(i, _)| i as f64);
    let data = dataset(x, vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0], classes(3));
    for seed in 0..20 {
        let (train, test) = split(&data, 0.5, seed);
        for c in 0..3 {
            assert!(train.y.contains(&(c as f64)), "seed {seed}: class {c} missing from training");
        }
        assert_eq!((train.n(), test.n()), (3, 3));
    }
    // LDS subsets are stratified too.
    let (train, _) = prepared(Builtin::Blobs, GeneratorParams { n: 60, noise: 0.5, seed: 1 });
    let (problem, _) = fitted(&train, ModelKind::Softmax, 0.1);
    for members in random_subsets(&strata(&problem), 30, 0.1, 3) {
        for c in 0..3 {
            assert!(members.iter().any(|&i| problem.train.y[i] == c as f64), "class {c} missing");
        }
    }
}

/// Finding 9: CG at its step limit is an error, not a partial solution.
#[test]
fn conjugate_gradient_at_its_limit_is_reported() {
    let (train, test) = prepared(Builtin::BreastCancer, GeneratorParams::default());
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    match ihvp_scores(&problem, &report.theta, &design, &Ihvp::Cg { tol: 1e-10, max_iter: 3 }, 0.0) {
        Err(MethodError::CgNotConverged { steps: 3, residual, .. }) => assert!(residual > 1e-10),
        other => panic!("expected CgNotConverged, got {:?}", other.map(|s| s.method)),
    }
}

/// Finding 10: LiSSA says how much damping its truncation adds, warns when the depth
/// is too short, and catches mild growth (a scale just under λ_max / 2).
#[test]
fn lissa_reports_its_hidden_damping_and_mild_divergence() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 100, noise: 0.3, seed: 2 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    let lambda_max = largest_eigenvalue(&problem, &report.theta, 0.0, 1);
    let params =
        LissaParams { depth: 5, repeats: 1, scale: 2.0 * lambda_max, damping: 0.0, batch: 64, seed: 1 };
    let s = ihvp_scores(&problem, &report.theta, &design, &Ihvp::Lissa(params), 0.0).expect("converges");
    let notes = s.notes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
    let hidden = format!("{:.2e}", 2.0 * lambda_max / 6.0);
    assert!(notes.contains(&hidden) && notes.contains("too short"), "{notes}");
    // |1 − λ_max/s| = 1.2 on the top direction: within 60 steps the series grows past
    // (j + 1)‖g‖ (a convergent series never does) but stays far below the old bound of
    // 1e6 ‖g‖, which returned it as numbers.
    let mild = LissaParams { depth: 60, scale: lambda_max / 2.2, batch: problem.n(), ..params };
    match ihvp_scores(&problem, &report.theta, &design, &Ihvp::Lissa(mild), 0.0) {
        Err(MethodError::LissaDiverged { norm, bound, .. }) => assert!(norm > bound && norm < 100.0 * bound),
        other => panic!("expected divergence, got {:?}", other.map(|s| s.method)),
    }
}

/// Finding 11: TracIn's default step is 1/λ_max of the Hessian at the start (stable;
/// a fixed 0.5 diverges once λ_max(H) > 4, which standardised diabetes nearly is),
/// and a diverging run is never ranked.
#[test]
fn tracin_is_stable_by_default_and_non_finite_scores_are_refused() {
    let (train, test) = prepared(Builtin::Diabetes, GeneratorParams::default());
    let (problem, report) = fitted(&train, ModelKind::Linear, 0.01);
    let zero = vec![0.0; problem.n_params()];
    let lambda_max = largest_eigenvalue(&problem, &zero, 0.0, 0);
    println!("standardised diabetes: λ_max(H(0)) = {lambda_max:.3}");
    let lr = attribution_explorer::engine::methods::peers::tracin_lr(&problem, &TracInParams::default());
    assert!((lr * lambda_max - 1.0).abs() < 1e-9);
    let design = Design::from_dataset(&test);
    let s = tracin(&problem, &design, &TracInParams::default());
    assert!(s.scores.iter().flatten().all(|v| v.is_finite()));
    // The mean training loss at θ = 0 is ½ mean(y²); the run ends far below it.
    let start = problem.train.y.iter().map(|y| 0.5 * y * y).sum::<f64>() / problem.n() as f64;
    assert!(s.trace.iter().all(|l| l.is_finite() && *l < 0.2 * start), "{start} then {:?}", s.trace);
    let params = MethodParams {
        tracin: TracInParams { lr: Some(50.0), ..TracInParams::default() },
        ..MethodParams::default()
    };
    match methods::run(Method::Tracin, &problem, &report.theta, &design, 0.0, &params.check().expect("valid"))
    {
        Err(MethodError::NonFinite { method: Method::Tracin, .. }) => {}
        other => panic!("expected NonFinite, got {:?}", other.map(|s| s.method)),
    }
    // NaN never ranks first.
    assert_eq!(top_k(&[0.1, f64::NAN, 0.3], 2), vec![2, 0]);
}

/// Finding 12: representer scores weight every class by −∂l_t/∂z_t, so they add up to
/// the first-order effect of the weights on the test loss.
#[test]
fn representer_scores_add_up_to_the_weights_effect_on_the_test_loss() {
    for (name, train, test, kind) in super::common::one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.05);
        let design = Design::from_dataset(&test);
        let s = representer(&problem, &report.theta, &design).expect("λ > 0");
        let m = problem.model;
        for t in 0..design.n() {
            // −Σ_c ∂l_t/∂z_c (W_c · x_t), with the fitted weights (biases excluded).
            let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
            m.outputs(&report.theta, design.row(t), &mut z);
            m.derivs(&z, design.y[t], &mut dz, None);
            let wx: Vec<f64> = (0..m.k)
                .map(|c| (0..m.d).map(|j| report.theta[c * m.row_len() + j] * design.row(t)[j]).sum())
                .collect();
            let want: f64 = -(0..m.k).map(|c| dz[c] * wx[c]).sum::<f64>();
            let got: f64 = s.scores[t].iter().sum();
            assert!((got - want).abs() <= 1e-8 * want.abs().max(1e-3), "{name}, test {t}: {got} vs {want}");
        }
    }
}

/// Finding 13: TRAK with k ≥ P is the unprojected formula; with k < P an ensemble of
/// projections tracks it better than one projection.
#[test]
fn trak_is_exact_unprojected_and_ensembles_its_projections() {
    let (train, test) = prepared(Builtin::BreastCancer, GeneratorParams::default());
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    let full = trak(&problem, &report.theta, &design, 1000, 8, 0).expect("runs");
    assert!(full.notes[0].to_string().contains("nothing is projected"), "{:?}", full.notes);
    let one = trak(&problem, &report.theta, &design, 8, 1, 3).expect("runs");
    let many = trak(&problem, &report.theta, &design, 8, 32, 3).expect("runs");
    let agree = |s: &[Vec<f64>]| {
        let r: Vec<f64> = s.iter().zip(&full.scores).filter_map(|(a, b)| spearman(a, b)).collect();
        r.iter().sum::<f64>() / r.len() as f64
    };
    let (a1, a32) = (agree(&one.scores), agree(&many.scores));
    println!("TRAK k = 8 of 31 vs unprojected: 1 projection ρ = {a1:.3}, 32 projections ρ = {a32:.3}");
    assert!(a32 > a1, "{a32} vs {a1}");
}

/// Finding 14: TMC-Shapley's utility is bounded (the test label's probability), so
/// values are bounded, and without truncation they add up exactly to
/// U(all) − U(∅) = p_full − 1/K (efficiency), prefixes lacking a class included.
#[test]
fn tmc_shapley_has_a_bounded_utility_and_is_efficient() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 40, noise: 0.3, seed: 3 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.1);
    let design = Design::from_dataset(&test);
    let s = tmc_shapley(&problem, &design, 0, 5, 0.0, 1, &mut |_| true).expect("runs");
    assert!(s.value.iter().all(|v| v.abs() <= 1.0));
    let p_full = problem.model.predict(&report.theta, design.row(0))[design.y[0] as usize];
    let total: f64 = s.value.iter().sum();
    assert!((total - (p_full - 0.5)).abs() < 1e-9, "{total} vs {}", p_full - 0.5);
    assert!(s.refits.all_converged(), "{:?}", s.refits);
}

/// Finding 15: Arnoldi with k = 0 is an error, not all-zero scores; its notes say what
/// it leaves out.
#[test]
fn arnoldi_refuses_zero_eigenpairs() {
    let (train, test) = prepared(Builtin::BreastCancer, GeneratorParams::default());
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let design = Design::from_dataset(&test);
    assert!(matches!(
        ihvp_scores(&problem, &report.theta, &design, &Ihvp::Arnoldi { k: 0, seed: 0 }, 0.0),
        Err(MethodError::Arnoldi(_))
    ));
    let s =
        ihvp_scores(&problem, &report.theta, &design, &Ihvp::Arnoldi { k: 5, seed: 0 }, 0.0).expect("runs");
    assert!(s.notes[0].to_string().contains("top 5 of 31"), "{:?}", s.notes);
    // And parameters are checked before any solver sees them.
    let bad = MethodParams { arnoldi_k: 0, ..MethodParams::default() };
    assert_eq!(bad.check().map(|_| ()).map_err(|e| e.flag()), Err("--arnoldi-k".to_string()));
}

/// Finding 16: KNN-Shapley does not depend on a column's units.
#[test]
fn knn_shapley_ignores_units() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 80, noise: 0.3, seed: 1 });
    let (problem, _) = fitted(&train, ModelKind::Logistic, 0.1);
    let design = Design::from_dataset(&test);
    let a = knn_shapley(&problem, &design, 5).expect("classes");
    let mut scaled = problem.clone();
    let mut x = train.x.clone();
    x.column_mut(0).mapv_inplace(|v| 1000.0 * v);
    scaled.train = Design::from_dataset(&dataset(x, train.y.clone(), train.target.clone()));
    let mut tx = test.x.clone();
    tx.column_mut(0).mapv_inplace(|v| 1000.0 * v);
    let scaled_test = Design::from_dataset(&dataset(tx, test.y.clone(), test.target.clone()));
    let b = knn_shapley(&scaled, &scaled_test, 5).expect("classes");
    assert!(rel_err(&a.scores.concat(), &b.scores.concat()) < 1e-12);
}

/// Finding 17: flips go to a random other class, and self-scores are computed
/// directly (equal to the diagonals they replace).
#[test]
fn flips_reach_every_other_class_and_self_scores_are_diagonals() {
    let (train, _) = prepared(Builtin::Blobs, GeneratorParams { n: 150, noise: 0.5, seed: 1 });
    let (problem, report) = fitted(&train, ModelKind::Softmax, 0.1);
    let (flipped, which) = flip_labels(&problem, 3, 0.3, 2);
    let mut seen = std::collections::BTreeSet::new();
    for i in (0..problem.n()).filter(|&i| which[i]) {
        assert_ne!(flipped.train.y[i], problem.train.y[i]);
        seen.insert((problem.train.y[i] as usize, flipped.train.y[i] as usize));
    }
    assert_eq!(seen.len(), 6, "every (from, to) pair of 3 classes: {seen:?}");
    let small = problem.train.clone();
    let dot = gradient_similarity(&problem, &report.theta, &small, false);
    let own = gradient_self_dot(&problem, &report.theta);
    let params = TracInParams { epochs: 3, ..TracInParams::default() };
    let tr = tracin(&problem, &small, &params);
    let tr_self = tracin_self(&problem, &params);
    for i in 0..problem.n() {
        assert!((dot.scores[i][i] - own[i]).abs() <= 1e-12 * own[i].max(1.0));
        assert!((tr.scores[i][i] - tr_self[i]).abs() <= 1e-12 * tr_self[i].max(1.0));
    }
}

/// The checked parameters reject what used to be clamped silently.
#[test]
fn method_parameters_are_checked_in_one_place() {
    let ok = CheckedParams::default();
    assert_eq!(ok.cg_max_iter, 1000);
    for (bad, flag) in [
        (MethodParams { cg_tol: f64::NAN, ..MethodParams::default() }, "--cg-tol"),
        (MethodParams { trak_models: 0, ..MethodParams::default() }, "--trak-models"),
        (MethodParams { shapley_permutations: 0, ..MethodParams::default() }, "--shapley-permutations"),
        (MethodParams { shapley_truncation: 1.5, ..MethodParams::default() }, "--shapley-truncation"),
    ] {
        assert_eq!(bad.check().map(|_| ()).map_err(|e| e.flag()), Err(flag.to_string()));
    }
    // The range is a sentence, worded in the reader's language (the page shows both).
    let e = MethodParams { knn_k: 0, ..MethodParams::default() }.check().expect_err("k = 0");
    assert_eq!(e.to_string(), "knn_k = 0 is not allowed: it must be a whole number from 1 to 100000");
    assert_eq!(e.said().words(Lang::Ja), "knn_k = 0 は使えません：1 から 100000 までの整数にしてください");
}

/// On a large training set Newton's first steps take the Hessian of a sample of the
/// rows; the optimum is the one the full Hessian at every step finds (the stopping test
/// is on the full gradient), for each linear model, and no damping is reported.
#[test]
fn a_sampled_hessian_in_the_first_steps_finds_the_same_optimum() {
    use attribution_explorer::engine::fit::SAMPLED_FROM;
    let (n, d) = (SAMPLED_FROM + 3_000, 6);
    let mut rng = attribution_explorer::engine::rng::Rng::new(5);
    let x = ndarray::Array2::from_shape_fn((n, d), |_| rng.normal());
    let score = |i: usize| x[[i, 0]] - 0.5 * x[[i, 1]] + 0.3 * x[[i, 2]];
    let noisy: Vec<f64> = (0..n).map(|i| score(i) + rng.normal()).collect();
    let cases = [
        (
            ModelKind::Logistic,
            noisy.iter().map(|&s| f64::from(u8::from(s > 0.0))).collect::<Vec<_>>(),
            classes(2),
            2,
        ),
        (
            ModelKind::Softmax,
            noisy.iter().map(|&s| f64::from(u8::from(s > -0.5) + u8::from(s > 0.7))).collect(),
            classes(3),
            3,
        ),
        (ModelKind::Linear, noisy.clone(), Target::Real, 0),
    ];
    for (kind, y, target, k) in cases {
        let data = dataset(x.clone(), y, target);
        let problem = Problem::new(Model::new(kind, d, k).expect("model"), &data, 0.01).expect("problem");
        let sampled = fit(&problem, None, &FitOptions::default()).expect("fit");
        let full = fit(&problem, None, &FitOptions { sampled_from: usize::MAX, ..FitOptions::default() })
            .expect("fit");
        assert!(sampled.converged && full.converged, "{kind:?}");
        assert!(
            rel_err(&sampled.theta, &full.theta) < 1e-9,
            "{kind:?}: {:?} vs {:?}",
            sampled.theta,
            full.theta
        );
        assert!(sampled.warnings.is_empty(), "{kind:?}: {:?}", sampled.warnings);
    }
}
