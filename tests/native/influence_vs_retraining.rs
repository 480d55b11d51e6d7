//! Influence against the ground truth: refits under small upweighting (a central
//! difference of θ), actual leave-one-out, and the ridge closed form.

use super::common::{fitted, prepared, rel_err};
use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::fit::FitOptions;
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::model::problem::Design;
use attribution_explorer::engine::model::ModelKind;
use attribution_explorer::engine::progress::Silent;
use attribution_explorer::engine::retrain::{actual_changes, Retrainer};
use attribution_explorer::engine::stats::{pearson, summary};

#[test]
fn params_influence_matches_central_difference_of_refits() {
    for (name, train, _, kind) in super::common::one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.05);
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
        let mut retrainer = Retrainer::new(&problem, &report.theta, &influence, FitOptions::default())
            .expect("the fit converged");
        let n = problem.n() as f64;
        for i in [0, 7, 19] {
            // Upweighting by ε sets the weight to 1 + ε n (conventions).
            let eps = 1e-4 / n;
            let up = retrainer.reweight(i, 1.0 + eps * n).expect("refit");
            let down = retrainer.reweight(i, 1.0 - eps * n).expect("refit");
            assert!(up.converged && down.converged);
            let fd: Vec<f64> = up.theta.iter().zip(&down.theta).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
            let e = rel_err(&influence.params_influence(i).expect("in range"), &fd);
            assert!(e < 1e-5, "{name}, point {i}: I_up,params vs finite difference {e:e}");
        }
    }
}

/// Mean over test points of Pearson(pred_loo_dloss, actual_loo_dloss).
fn loo_agreement(b: Builtin, params: GeneratorParams, kind: ModelKind, lambda: f64) -> f64 {
    let (train, test) = prepared(b, params);
    let (problem, report) = fitted(&train, kind, lambda);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
    let design = Design::from_dataset(&test);
    let predicted = influence.score(&problem, &design).expect("scores");
    let mut retrainer = Retrainer::new(&problem, &report.theta, &influence, FitOptions::default())
        .expect("the fit converged");
    let refits = retrainer.leave_each_out(&mut Silent).expect("refits");
    assert!(refits.iter().all(|r| r.converged), "every leave-one-out refit converges");
    let actual = actual_changes(&problem, &report.theta, &refits, &design);
    let rs: Vec<f64> =
        predicted.iter().zip(&actual.dloss).filter_map(|(p, a)| pearson(&p.pred_loo_dloss, a)).collect();
    let s = summary(&rs).expect("some test points");
    println!(
        "{}: n_train {} n_test {}: Pearson(pred, actual LOO dloss) mean {:.4} median {:.4} min {:.4}",
        b.id(),
        train.n(),
        test.n(),
        s.mean,
        s.median,
        s.min
    );
    s.mean
}

#[test]
fn influence_agrees_with_leave_one_out_on_breast_cancer() {
    let r = loo_agreement(Builtin::BreastCancer, GeneratorParams::default(), ModelKind::Logistic, 0.01);
    assert!(r >= 0.95, "mean Pearson {r:.4} < 0.95");
}

#[test]
fn influence_agrees_with_leave_one_out_on_a_2d_toy() {
    let params = GeneratorParams { n: 200, noise: 0.2, seed: 1 };
    let r = loo_agreement(Builtin::Moons, params, ModelKind::Logistic, 0.01);
    assert!(r >= 0.99, "mean Pearson {r:.4} < 0.99");
}

#[test]
fn softmax_influence_agrees_with_leave_one_out() {
    let params = GeneratorParams { n: 150, noise: 0.2, seed: 2 };
    let r = loo_agreement(Builtin::Blobs, params, ModelKind::Softmax, 0.01);
    assert!(r >= 0.95, "mean Pearson {r:.4} < 0.95");
}

#[test]
fn ridge_leave_one_out_matches_closed_form() {
    // PRESS identity for ridge with unpenalised bias: the leave-one-out residual is
    // e_i / (1 − h_ii), h_ii = x̃_iᵀ (X̃ᵀX̃ + nλD)⁻¹ x̃_i, D = diag(1,…,1,0). In the 1/n
    // scaling of the conventions, nH = X̃ᵀX̃ + nλD, so h_ii = x̃_iᵀ H⁻¹ x̃_i / n.
    let (train, _) = prepared(Builtin::Plane2d, GeneratorParams { n: 80, noise: 0.5, seed: 3 });
    let (problem, report) = fitted(&train, ModelKind::Linear, 0.2);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
    let mut retrainer = Retrainer::new(&problem, &report.theta, &influence, FitOptions::default())
        .expect("the fit converged");
    let n = problem.n() as f64;
    for i in 0..problem.n() {
        let x = problem.train.row(i);
        let xt: Vec<f64> = x.iter().copied().chain([1.0]).collect();
        let hinv_x = influence.inverse().solve(&xt).expect("solves");
        let h_ii: f64 = xt.iter().zip(&hinv_x).map(|(a, b)| a * b).sum::<f64>() / n;
        let y = problem.train.y[i];
        let e_i = y - problem.model.predict(&report.theta, x)[0];
        let loo = retrainer.leave_out(i).expect("refit");
        let e_loo = y - problem.model.predict(&loo.theta, x)[0];
        let closed = e_i / (1.0 - h_ii);
        assert!((e_loo - closed).abs() < 1e-9 * closed.abs().max(1.0), "point {i}: {e_loo} vs {closed}");
        // Quadratic objective: the Sherman–Morrison step is exact, one step suffices.
        assert!(loo.iterations <= 2, "point {i}: {} iterations", loo.iterations);
    }
}

#[test]
fn group_removal_and_reweighting_track_their_first_order_predictions() {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 200, noise: 0.2, seed: 1 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.01);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
    let design = Design::from_dataset(&test);
    let t = &influence.score(&problem, &design).expect("scores")[0];
    let mut retrainer = Retrainer::new(&problem, &report.theta, &influence, FitOptions::default())
        .expect("the fit converged");
    let m = problem.model;
    let (x, y) = (design.row(0), design.y[0]);
    let l0 = m.loss(&report.theta, x, y);
    // A small reweighting: the first-order prediction is accurate to second order.
    let w = 1.05;
    let refit = retrainer.reweight(3, w).expect("refit");
    let actual = m.loss(&refit.theta, x, y) - l0;
    let (predicted, _) = t.reweight(3, w);
    assert!((actual - predicted).abs() < 0.02 * predicted.abs() + 1e-12, "{actual} vs {predicted}");
    // Removing a group: first order is the sum of the members' scores.
    let group = [0, 1, 2, 3, 4];
    let refit = retrainer.remove_group(&group).expect("refit");
    let actual = m.loss(&refit.theta, x, y) - l0;
    let predicted = t.group_removal_dloss(&group);
    assert!((actual - predicted).abs() < 0.2 * predicted.abs() + 1e-6, "{actual} vs {predicted}");
}

#[test]
fn self_influence_is_the_diagonal_of_the_influence_matrix() {
    let (train, _) = prepared(Builtin::Moons, GeneratorParams { n: 50, noise: 0.3, seed: 2 });
    let (problem, report) = fitted(&train, ModelKind::Logistic, 0.1);
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
    let own = influence.score(&problem, &problem.train).expect("scores");
    let n = problem.n() as f64;
    for (i, s) in influence.self_influence().expect("solves").iter().enumerate() {
        // pred_loo_dloss[i][i] = (1/n) g_iᵀ H⁻¹ g_i = self_influence / n.
        assert!((own[i].pred_loo_dloss[i] * n - s).abs() < 1e-10 * s.abs().max(1.0));
        assert!(*s >= 0.0);
    }
}

/// Self-influence from the Cholesky factor (`‖L⁻¹ D g_i‖²`, models without null
/// directions) or from the solves (softmax) equals `g_iᵀ (H⁻¹ g_i)` with one solve per
/// training point, damped or not, for every model.
#[test]
fn self_influence_is_each_gradient_against_its_own_solve() {
    for (name, train, _, kind) in super::common::one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.1);
        for damping in [0.0, 0.05] {
            let influence = Influence::new(&problem, &report.theta, damping).expect("factorises");
            let own = influence.self_influence().expect("solves");
            assert_eq!(own.len(), problem.n(), "{name}");
            for (i, s) in own.iter().enumerate() {
                let g = influence.train_grads.row(i);
                let minus_solved = influence.params_influence(i).expect("in range"); // −H⁻¹ g_i
                let direct: f64 = -g.iter().zip(&minus_solved).map(|(a, b)| a * b).sum::<f64>();
                assert!(
                    (s - direct).abs() <= 1e-10 * direct.abs().max(1e-12),
                    "{name}, δ = {damping}, point {i}: {s} vs {direct}"
                );
                assert!(*s >= 0.0, "{name}: {s}");
            }
        }
    }
}

/// The scores' matrix products (one shared product for single-output models, two for
/// softmax) equal the conventions' formulas pair by pair:
/// `pred_loo_dloss[t][i] = (1/n) g_tᵀ H⁻¹ g_i` and `pred_loo_dpred[t][i] = (1/n) ∇f_tᵀ H⁻¹ g_i`,
/// with `H⁻¹ g_i` one solve per training point.
#[test]
fn scores_are_the_formulas_of_the_conventions_pair_by_pair() {
    for (name, train, test, kind) in super::common::one_per_model() {
        let (problem, report) = fitted(&train, kind, 0.1);
        let (m, theta) = (&problem.model, &report.theta);
        let influence = Influence::new(&problem, theta, 0.0).expect("factorises");
        let test = Design::from_dataset(&test);
        let scores = influence.score(&problem, &test).expect("scores");
        let n = problem.n() as f64;
        let solved: Vec<Vec<f64>> = (0..problem.n())
            .map(|i| {
                let g = influence.train_grads.row(i).to_vec();
                influence.inverse().solve(&g).expect("solves")
            })
            .collect();
        for (t, s) in scores.iter().enumerate() {
            let (x, y) = (test.row(t), test.y[t]);
            let (mut g_t, mut f_t) = (vec![0.0; m.n_params()], vec![0.0; m.n_params()]);
            m.grad(theta, x, y, &mut g_t);
            m.f_and_grad(theta, x, y, &mut f_t);
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>() / n;
            let dloss: Vec<f64> = solved.iter().map(|h| dot(&g_t, h)).collect();
            let dpred: Vec<f64> = solved.iter().map(|h| dot(&f_t, h)).collect();
            let (e_loss, e_pred) = (rel_err(&s.pred_loo_dloss, &dloss), rel_err(&s.pred_loo_dpred, &dpred));
            assert!(e_loss < 1e-12 && e_pred < 1e-12, "{name}, test {t}: {e_loss:e}, {e_pred:e}");
        }
    }
}

#[test]
fn leave_one_out_in_lockstep_groups_equals_refitting_each_point_alone() {
    use attribution_explorer::engine::retrain::LeaveEachOut;
    use attribution_explorer::protocol::Share;
    // A single-output linear model's leave-one-out refits 8 points in lockstep, their
    // gradients as matrix products (`Problem::gradients_leaving_out`); the refits are
    // the one-point refits' (`Retrainer::leave_out`), up to rounding (both stop within
    // the tolerance of the same optimum), with the same convergence. Breast cancer
    // (n = 455: a last group of 7) and the regression plane (n = 48); softmax (one
    // point at a time) for the splits below.
    let cancer = prepared(Builtin::BreastCancer, GeneratorParams::default()).0;
    let plane = prepared(Builtin::Plane2d, GeneratorParams { n: 60, noise: 0.3, seed: 4 }).0;
    let blobs = prepared(Builtin::Blobs, GeneratorParams { n: 60, noise: 0.3, seed: 4 }).0;
    for (name, train, kind) in [
        ("breast cancer", cancer, ModelKind::Logistic),
        ("plane", plane, ModelKind::Linear),
        ("blobs", blobs, ModelKind::Softmax),
    ] {
        let (problem, report) = fitted(&train, kind, 0.01);
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
        let mut r =
            Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
        assert_eq!(r.batches(), kind != ModelKind::Softmax, "{name}");
        let whole = r.leave_each_out(&mut Silent).expect("refits");
        let n = problem.n();
        assert_eq!(whole.len(), n);
        for (i, g) in whole.iter().enumerate() {
            let alone = r.leave_out(i).expect("refit");
            assert_eq!(g.converged, alone.converged, "{name} point {i}");
            let scale = alone.theta.iter().fold(1.0f64, |m, t| m.max(t.abs()));
            let diff = g.theta.iter().zip(&alone.theta).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            // Both stop with ‖∇R‖ < 1e-10 relative to the terms' scale: θ agrees to
            // about that over the smallest curvature (λ = 0.01), far below 1e-7.
            assert!(diff < 1e-7 * scale, "{name} point {i}: θ differs by {diff:e}");
        }
        // Every split gives the same refits bit for bit: steps of 1, 5 and 13 points
        // (the worker's time slices) and the pool's shares of 3 and 7 parts.
        for count in [1, 5, 13] {
            let mut job = LeaveEachOut::new(n);
            let mut out = Vec::new();
            while !job.is_finished() {
                out.extend(job.step(&mut r, count).expect("refits"));
            }
            assert!(out == whole, "{name}: steps of {count} differ from one block");
        }
        for parts in [3, 7] {
            let mut out = Vec::new();
            for share in Share::all(parts) {
                let range = share.range_in_units(n, attribution_explorer::engine::retrain::LOO_GROUP);
                let mut job = LeaveEachOut::range(range.start, range.end);
                while !job.is_finished() {
                    out.extend(job.step(&mut r, 3).expect("refits"));
                }
            }
            assert!(out == whole, "{name}: {parts} shares differ from one block");
        }
    }
}

#[test]
fn actual_changes_are_each_refits_loss_and_prediction_minus_the_fits() {
    // A linear model's actual changes come from one matrix product of outputs; they
    // must be the per-pair forward passes' `l(z_t, θ_i) − l(z_t, θ̂)` and
    // `f(z_t, θ_i) − f(z_t, θ̂)` up to rounding. Logistic (breast cancer) and ridge.
    let cancer = prepared(Builtin::BreastCancer, GeneratorParams::default());
    let plane = prepared(Builtin::Plane2d, GeneratorParams { n: 60, noise: 0.3, seed: 4 });
    for ((train, test), kind) in [(cancer, ModelKind::Logistic), (plane, ModelKind::Linear)] {
        let (problem, report) = fitted(&train, kind, 0.01);
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("factorises");
        let mut r =
            Retrainer::new(&problem, &report.theta, &influence, FitOptions::default()).expect("converged");
        let refits: Vec<_> = [0, 3, 11].iter().map(|&i| r.leave_out(i).expect("refit")).collect();
        let design = Design::from_dataset(&test);
        let changes = actual_changes(&problem, &report.theta, &refits, &design);
        let m = &problem.model;
        let mut buf = vec![0.0; problem.n_params()];
        for t in 0..design.n() {
            let (x, y) = (design.row(t), design.y[t]);
            let (l0, f0) = (m.loss(&report.theta, x, y), m.f_and_grad(&report.theta, x, y, &mut buf));
            for (j, refit) in refits.iter().enumerate() {
                let dl = m.loss(&refit.theta, x, y) - l0;
                let df = m.f_and_grad(&refit.theta, x, y, &mut buf) - f0;
                // Rounding of z (~1e-16 |z|) moves l and f by ~1e-16 of their size.
                let tol = 1e-12 * (1.0 + l0.abs() + f0.abs());
                assert!((changes.dloss[t][j] - dl).abs() < tol, "{kind:?} test {t} refit {j}: loss change");
                assert!(
                    (changes.dpred[t][j] - df).abs() < tol,
                    "{kind:?} test {t} refit {j}: prediction change"
                );
            }
        }
    }
}
