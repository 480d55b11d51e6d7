//! Tiny neural networks: every derivative against central finite differences, the
//! Gauss–Newton matrix against an explicit Jacobian, the convex case (no hidden layer)
//! against the linear model's own code, training to the tolerance, and influence
//! against warm-started leave-one-out.

use super::common::{fitted, prepared, rel_err};
use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::data::Dataset;
use attribution_explorer::engine::fit::{fit, FitOptions};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::linalg::symmetric_eigenvalues;
use attribution_explorer::engine::model::mlp::{Activation, MlpShape};
use attribution_explorer::engine::model::problem::{Design, Problem};
use attribution_explorer::engine::model::{Model, ModelKind, Net};
use attribution_explorer::engine::progress::Silent;
use attribution_explorer::engine::retrain::{actual_changes, RefitStats, Retrainer};
use attribution_explorer::engine::rng::Rng;
use attribution_explorer::engine::stats::pearson;

/// A small problem per (output, activation, depth): moons, blobs or the 2-D plane.
fn problem(kind: ModelKind, activation: Activation, layers: usize, lambda: f64) -> (Problem, Dataset) {
    let p = GeneratorParams { n: 40, noise: 0.3, seed: 4 };
    let b = match kind {
        ModelKind::Logistic => Builtin::Moons,
        ModelKind::Softmax => Builtin::Blobs,
        ModelKind::Linear => Builtin::Plane2d,
    };
    let (train, test) = prepared(b, p);
    let shape = MlpShape { hidden: [5, 4], layers, activation, init_seed: 3, train_steps: 0 };
    let model = Model::with_net(kind, train.d(), train.n_classes(), Net::Mlp(shape)).expect("model");
    (Problem::new(model, &train, lambda).expect("problem"), test)
}

fn every_case() -> Vec<(String, Problem)> {
    let mut out = Vec::new();
    for kind in [ModelKind::Logistic, ModelKind::Softmax, ModelKind::Linear] {
        for activation in Activation::ALL {
            for layers in [1, 2] {
                let (p, _) = problem(kind, activation, layers, 0.03);
                out.push((format!("{}/{}/{layers}", kind.id(), activation.id()), p));
            }
        }
    }
    out
}

/// A random point near the initialisation, so curvature terms of every sign appear.
fn point(p: &Problem, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    p.model.initial_theta().iter().map(|t| t + 0.3 * rng.normal()).collect()
}

#[test]
fn one_pass_value_gradient_and_scale_equal_the_separate_passes() {
    for (name, p) in every_case() {
        super::common::assert_one_pass_matches(&name, &p, &point(&p, 6));
    }
}

/// LiSSA's mini-batch product visits only the rows drawn: it equals the full product
/// of the same problem with each row weighted by how often it was drawn (× n / batch),
/// for a linear model and every network, with a row drawn twice and rows never drawn.
#[test]
fn a_mini_batch_hvp_is_the_full_hvp_of_its_draw_counts() {
    let (linear, _) = fitted(
        &prepared(Builtin::Blobs, GeneratorParams { n: 40, noise: 0.3, seed: 4 }).0,
        ModelKind::Softmax,
        0.03,
    );
    let mut cases = every_case();
    cases.push(("softmax (linear)".into(), linear));
    for (name, p) in cases {
        let theta = point(&p, 5);
        let batch = [7, 3, 7, 30, 0, 12];
        let mut counted = p.clone();
        let scale = p.n() as f64 / batch.len() as f64;
        for (i, w) in counted.weights.iter_mut().enumerate() {
            *w *= batch.iter().filter(|&&b| b == i).count() as f64 * scale;
        }
        let mut rng = Rng::new(8);
        let v: Vec<f64> = (0..p.n_params()).map(|_| rng.normal()).collect();
        let (mut mini, mut full) = (vec![0.0; v.len()], vec![0.0; v.len()]);
        p.hvp_rows(&theta, &v, Some(&batch), &mut mini);
        counted.hvp(&theta, &v, &mut full);
        assert!(rel_err(&mini, &full) < 1e-12, "{name}: {:e}", rel_err(&mini, &full));
    }
}

#[test]
fn gradient_hvp_and_hessian_match_central_differences() {
    // Central differences with h = 1e-5 are accurate to about h² · |third derivative|
    // plus rounding ε/h: 1e-7 relative to the largest entry is a margin of ~100×.
    for (name, p) in every_case() {
        let theta = point(&p, 9);
        let n = p.n_params();
        let mut g = vec![0.0; n];
        p.gradient(&theta, &mut g);
        let h = 1e-5;
        let fd: Vec<f64> = (0..n)
            .map(|j| {
                let (mut a, mut b) = (theta.clone(), theta.clone());
                a[j] += h;
                b[j] -= h;
                (p.objective(&a) - p.objective(&b)) / (2.0 * h)
            })
            .collect();
        assert!(rel_err(&g, &fd) < 1e-7, "{name}: gradient {:e}", rel_err(&g, &fd));
        let mut rng = Rng::new(2);
        let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut hv = vec![0.0; n];
        p.hvp(&theta, &v, &mut hv);
        let (mut ga, mut gb) = (vec![0.0; n], vec![0.0; n]);
        let a: Vec<f64> = theta.iter().zip(&v).map(|(t, d)| t + h * d).collect();
        let b: Vec<f64> = theta.iter().zip(&v).map(|(t, d)| t - h * d).collect();
        p.gradient(&a, &mut ga);
        p.gradient(&b, &mut gb);
        let fd_hv: Vec<f64> = ga.iter().zip(&gb).map(|(x, y)| (x - y) / (2.0 * h)).collect();
        assert!(rel_err(&hv, &fd_hv) < 1e-6, "{name}: HVP {:e}", rel_err(&hv, &fd_hv));
        let hess = p.hessian(&theta);
        let hv2 = hess.dot(&ndarray::Array1::from(v.clone())).to_vec();
        assert!(rel_err(&hv, &hv2) < 1e-12, "{name}: Hessian columns vs HVP {:e}", rel_err(&hv, &hv2));
    }
}

#[test]
fn gauss_newton_equals_explicit_jacobian_products() {
    for (name, p) in every_case() {
        let theta = point(&p, 5);
        let m = p.model;
        let (np, k, n) = (p.n_params(), m.k, p.n());
        // J_i row c = ∇_θ z_c by one vector–Jacobian product per output (e_c).
        let mut expected = ndarray::Array2::<f64>::zeros((np, np));
        let mut work = m.work();
        for i in 0..n {
            let z = m.forward(&theta, p.train.row(i), &mut work).to_vec();
            let mut jac = ndarray::Array2::<f64>::zeros((k, np));
            for c in 0..k {
                let mut e = vec![0.0; k];
                e[c] = 1.0;
                let mut row = vec![0.0; np];
                m.add_vjp(&theta, &mut work, &e, &mut row);
                jac.row_mut(c).iter_mut().zip(&row).for_each(|(a, b)| *a = *b);
            }
            let (mut dz, mut d2) = (vec![0.0; k], vec![0.0; k * k]);
            m.derivs(&z, p.train.y[i], &mut dz, Some(&mut d2));
            let hout = ndarray::Array2::from_shape_vec((k, k), d2).expect("k × k");
            expected = expected + jac.t().dot(&hout).dot(&jac) / n as f64;
        }
        for q in 0..np {
            if p.is_weight(q) {
                expected[[q, q]] += p.lambda;
            }
        }
        let got = p.ggn(&theta);
        let err = rel_err(got.as_slice().expect("standard"), expected.as_slice().expect("standard"));
        assert!(err < 1e-12, "{name}: GGN {err:e}");
        let mut rng = Rng::new(8);
        let v: Vec<f64> = (0..np).map(|_| rng.normal()).collect();
        let mut gv = vec![0.0; np];
        p.ggn_vp(&theta, &v, &mut gv);
        assert!(rel_err(&gv, &got.dot(&ndarray::Array1::from(v)).to_vec()) < 1e-12, "{name}: GGN product");
    }
}

#[test]
fn without_hidden_layers_the_network_is_the_linear_model() {
    // Logistic and linear outputs have the same layout ([w, b]) in both codes.
    for kind in [ModelKind::Logistic, ModelKind::Linear] {
        let (net, _) = problem(kind, Activation::Tanh, 0, 0.05);
        let linear_model =
            Model::new(kind, net.model.d, if kind == ModelKind::Linear { 0 } else { 2 }).expect("model");
        let mut linear = net.clone();
        linear.model = linear_model;
        let theta = point(&net, 1);
        let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
        net.gradient(&theta, &mut a);
        linear.gradient(&theta, &mut b);
        assert!(rel_err(&a, &b) < 1e-14, "{kind:?}: gradient");
        let (ha, hb) = (net.hessian(&theta), linear.hessian(&theta));
        assert!(
            rel_err(ha.as_slice().expect("std"), hb.as_slice().expect("std")) < 1e-13,
            "{kind:?}: Hessian"
        );
    }
}

#[test]
fn training_reaches_the_tolerance_at_a_local_minimum_and_is_seeded() {
    let (train, _) = prepared(Builtin::Moons, GeneratorParams::default());
    let shape = MlpShape::one(16, Activation::Tanh, 0);
    let model = Model::with_net(ModelKind::Logistic, 2, 2, Net::Mlp(shape)).expect("model");
    let p = Problem::new(model, &train, 0.01).expect("problem");
    let r = fit(&p, None, &FitOptions::default()).expect("fits");
    println!(
        "moons, 16 tanh units: {} Newton steps, gradient {:.1e} (scaled {:.1e})",
        r.iterations, r.grad_norm, r.scaled_grad_norm
    );
    assert!(r.converged && r.grad_norm < 1e-8, "{r:?}");
    let ev = symmetric_eigenvalues(&p.hessian(&r.theta)).expect("spectrum");
    assert!(ev[0] > 0.0, "a local minimum: the Hessian is positive definite ({:e})", ev[0]);
    let again = fit(&p, None, &FitOptions::default()).expect("fits");
    assert_eq!(again.theta, r.theta, "the same seed gives the same θ̂");
    let other = MlpShape { init_seed: 1, ..shape };
    let q = Problem::new(
        Model::with_net(ModelKind::Logistic, 2, 2, Net::Mlp(other)).expect("model"),
        &train,
        0.01,
    )
    .expect("problem");
    assert_ne!(
        fit(&q, None, &FitOptions::default()).expect("fits").theta,
        r.theta,
        "another seed, another θ̂"
    );
}

#[test]
fn exact_influence_of_a_converged_network_tracks_warm_started_leave_one_out() {
    for (b, floor) in [(Builtin::Moons, 0.95), (Builtin::BreastCancer, 0.9)] {
        let (train, test) = prepared(b, GeneratorParams::default());
        let shape = MlpShape::one(if b == Builtin::Moons { 16 } else { 8 }, Activation::Tanh, 0);
        let model = Model::with_net(ModelKind::Logistic, train.d(), 2, Net::Mlp(shape)).expect("model");
        let p = Problem::new(model, &train, 0.01).expect("problem");
        let r = fit(&p, None, &FitOptions::default()).expect("fits");
        assert!(r.converged);
        let influence = Influence::new(&p, &r.theta, 0.0).expect("positive definite at a minimum");
        let design = Design::from_dataset(&test);
        let predicted = influence.score(&p, &design).expect("scores");
        let mut retrainer =
            Retrainer::new(&p, &r.theta, &influence, FitOptions::default()).expect("converged");
        let refits = retrainer.leave_each_out(&mut Silent).expect("refits");
        let stats = RefitStats::of(&refits);
        let actual = actual_changes(&p, &r.theta, &refits, &design);
        let rs: Vec<f64> =
            predicted.iter().zip(&actual.dloss).filter_map(|(a, b)| pearson(&a.pred_loo_dloss, b)).collect();
        let mean = rs.iter().sum::<f64>() / rs.len() as f64;
        println!(
            "{} MLP: mean Pearson(pred, warm-started LOO) {mean:.4} over {} test points; {stats}",
            b.id(),
            rs.len()
        );
        assert!(stats.all_converged(), "{stats}");
        assert!(mean > floor, "{mean}");
    }
}

/// The GGN restricted to `index` (λ taken off the weights: K-FAC carries it in its
/// damping).
fn ggn_block(p: &Problem, theta: &[f64], index: &[usize]) -> ndarray::Array2<f64> {
    let g = p.ggn(theta);
    ndarray::Array2::from_shape_fn((index.len(), index.len()), |(r, c)| {
        let (a, b) = (index[r], index[c]);
        g[[a, b]] - if a == b && p.is_weight(a) { p.lambda } else { 0.0 }
    })
}

#[test]
fn kfac_blocks_are_exact_for_one_example_and_ekfac_projects_the_ggn() {
    use attribution_explorer::engine::curvature::KronInverse;
    for (name, mut p) in every_case().into_iter().filter(|(n, _)| !n.starts_with("softmax")) {
        let theta = point(&p, 3);
        // One example (weight 1 of n): each layer's GGN block is (ã ãᵀ) ⊗ (s sᵀ), a
        // Kronecker product, so K-FAC's A ⊗ S is it exactly (one output: C = 1).
        p.weights.iter_mut().enumerate().for_each(|(i, w)| *w = if i == 3 { 1.0 } else { 0.0 });
        let k = KronInverse::new(&p, &theta, 1e-3, false).expect("factors");
        for (index, block) in k.block_matrices() {
            let g = ggn_block(&p, &theta, &index);
            let err = rel_err(block.as_slice().expect("std"), g.as_slice().expect("std"));
            assert!(err < 1e-12, "{name}: one-example K-FAC block {err:e}");
        }
        // All examples: EK-FAC is the projection of each GGN block onto the matrices
        // diagonal in the Kronecker eigenbasis, so B − G is orthogonal to that space:
        // tr(B (B − G)) = tr(K (B − G)) = 0 for K-FAC's K in the same basis.
        p.weights.iter_mut().for_each(|w| *w = 1.0);
        let kfac = KronInverse::new(&p, &theta, 1e-3, false).expect("factors");
        let ekfac = KronInverse::new(&p, &theta, 1e-3, true).expect("factors");
        for ((index, kb), (_, eb)) in kfac.block_matrices().into_iter().zip(ekfac.block_matrices()) {
            let diff = &eb - &ggn_block(&p, &theta, &index);
            let norm = |m: &ndarray::Array2<f64>| m.iter().map(|v| v * v).sum::<f64>().sqrt();
            // A failure would be of the order ‖B‖ ‖B − G‖ (here 1% to 50% of ‖B‖²);
            // rounding is ~1e-15 ‖B‖².
            let scale = norm(&eb) * (norm(&diff) + norm(&eb));
            let (t1, t2) = ((&eb * &diff).sum(), (&kb * &diff).sum());
            assert!(
                t1.abs() < 1e-9 * scale && t2.abs() < 1e-9 * scale,
                "{name}: {t1:e} {t2:e} (scale {scale:e})"
            );
        }
    }
}

#[test]
fn ekfac_equals_the_ggn_when_the_kronecker_structure_is_exact() {
    use attribution_explorer::engine::curvature::Curvature;
    // A linear model of a regression target: G = (1/n) Σ x̃ x̃ᵀ ⊗ 1, one exact Kronecker
    // block; with λ = 0 (K-FAC would put λ on the bias too) EK-FAC and K-FAC are G.
    let (train, test) = prepared(Builtin::Plane2d, GeneratorParams { n: 60, noise: 0.3, seed: 2 });
    let model = Model::new(ModelKind::Linear, 2, 0).expect("model");
    let p = Problem::new(model, &train, 0.0).expect("problem");
    let r = fit(&p, None, &FitOptions::default()).expect("fits");
    let design = Design::from_dataset(&test);
    let scores = |c| {
        Influence::with_curvature(&p, &r.theta, c, 1e-3)
            .expect("factorises")
            .score(&p, &design)
            .expect("scores")
    };
    let ggn = scores(Curvature::Ggn);
    for c in [Curvature::Kfac, Curvature::Ekfac] {
        let other = scores(c);
        for (a, b) in ggn.iter().zip(&other) {
            assert!(rel_err(&a.pred_loo_dloss, &b.pred_loo_dloss) < 1e-10, "{c:?}");
        }
    }
}

#[test]
fn an_indefinite_hessian_names_the_damping_that_would_do() {
    use attribution_explorer::engine::linalg::LinalgError;
    // Far from a minimum (early stop after 3 steps) a network's Hessian is indefinite.
    let (train, _) = prepared(Builtin::Moons, GeneratorParams::default());
    let shape = MlpShape { train_steps: 3, ..MlpShape::one(16, Activation::Tanh, 0) };
    let model = Model::with_net(ModelKind::Logistic, 2, 2, Net::Mlp(shape)).expect("model");
    let p = Problem::new(model, &train, 0.0).expect("problem");
    let r = fit(&p, None, &FitOptions::default()).expect("runs its budget");
    assert!(!r.converged && r.iterations == 3, "{r:?}");
    match Influence::new(&p, &r.theta, 0.0) {
        Err(LinalgError::Indefinite { smallest, needed, .. }) => {
            assert!(smallest < 0.0 && needed > -smallest, "{smallest} {needed}");
            Influence::new(&p, &r.theta, needed).expect("that damping is enough");
            assert!(Influence::new(&p, &r.theta, 0.9 * -smallest).is_err(), "and less is not");
        }
        other => panic!("expected an indefinite Hessian, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn scores_at_another_damping_are_those_of_an_influence_built_there() {
    use attribution_explorer::engine::curvature::Curvature;
    // The damping sweep reuses one Hessian and the training gradients: the scores must
    // be an Influence's built from scratch at that δ, bit for bit, and so must the
    // errors (an early-stopped network is indefinite at small δ).
    let (train, test) = prepared(Builtin::Moons, GeneratorParams::default());
    let early = MlpShape { train_steps: 3, ..MlpShape::one(16, Activation::Tanh, 0) };
    let net = |shape| Model::with_net(ModelKind::Logistic, 2, 2, Net::Mlp(shape)).expect("model");
    let linear = Model::new(ModelKind::Logistic, 2, 2).expect("model");
    let design = Design::from_dataset(&test);
    let (mut same_scores, mut same_errors) = (0, 0);
    for (name, model) in
        [("early net", net(early)), ("net", net(MlpShape::one(6, Activation::Tanh, 0))), ("linear", linear)]
    {
        let p = Problem::new(model, &train, 0.01).expect("problem");
        let theta = fit(&p, None, &FitOptions::default()).expect("fits").theta;
        let hessian = p.hessian(&theta);
        for curvature in [Curvature::Hessian, Curvature::Ggn, Curvature::Kfac, Curvature::Ekfac] {
            let base = Influence::with_curvature(&p, &theta, curvature, 1.0).expect("δ = 1 is enough");
            for damping in [0.0, 1e-4, 1e-2, 1.0] {
                let sweep = base.score_at_damping(&p, &hessian, damping, &design);
                let fresh = Influence::with_curvature(&p, &theta, curvature, damping)
                    .and_then(|i| i.score(&p, &design));
                match (&sweep, &fresh) {
                    (Ok(a), Ok(b)) => {
                        assert!(a == b, "{name} {curvature:?} δ = {damping}: scores differ");
                        same_scores += 1;
                    }
                    (Err(a), Err(b)) => {
                        assert_eq!(a.to_string(), b.to_string(), "{name} {curvature:?}");
                        same_errors += 1;
                    }
                    _ => panic!(
                        "{name} {curvature:?} δ = {damping}: {:?} vs {:?}",
                        sweep.is_ok(),
                        fresh.is_ok()
                    ),
                }
            }
        }
    }
    assert!(same_scores > 0 && same_errors > 0, "{same_scores} scores, {same_errors} errors compared");
}

/// A converged moons network: 10 tanh units, λ = 0.01.
fn moons_net(n: usize) -> (Problem, Dataset, Vec<f64>) {
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n, noise: 0.25, seed: 3 });
    let shape = MlpShape::one(10, Activation::Tanh, 0);
    let model = Model::with_net(ModelKind::Logistic, 2, 2, Net::Mlp(shape)).expect("model");
    let p = Problem::new(model, &train, 0.01).expect("problem");
    let r = fit(&p, None, &FitOptions::default()).expect("fits");
    assert!(r.converged);
    (p, test, r.theta)
}

#[test]
fn influence_with_the_damped_ggn_is_the_first_order_pbrf() {
    use attribution_explorer::engine::curvature::Curvature;
    use attribution_explorer::engine::truths::Pbrf;
    let (p, test, theta) = moons_net(80);
    let damping = 1e-3;
    let pbrf = Pbrf::new(&p, &theta, damping).expect("factorises");
    let influence = Influence::with_curvature(&p, &theta, Curvature::Ggn, damping).expect("factorises");
    let eps = 1e-4 / p.n() as f64;
    for i in [0, 17, 40] {
        let (up, down) = (pbrf.solve(i, eps).expect("solves"), pbrf.solve(i, -eps).expect("solves"));
        assert!(up.converged && down.converged);
        let fd: Vec<f64> = up.theta.iter().zip(&down.theta).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
        let first_order = influence.params_influence(i).expect("in range");
        let e = rel_err(&first_order, &fd);
        assert!(e < 1e-6, "point {i}: −(G + λ + δ)⁻¹ g_i vs the PBRF's derivative {e:e}");
    }
    // Removal (ε = −1/n): the damped-GGN influence against the PBRF itself.
    let design = Design::from_dataset(&test);
    let predicted = influence.score(&p, &design).expect("scores");
    let refits: Vec<_> = (0..p.n()).map(|i| pbrf.solve(i, -1.0 / p.n() as f64).expect("solves")).collect();
    assert!(RefitStats::of(&refits).all_converged());
    let actual = actual_changes(&p, &theta, &refits, &design);
    let r = pearson(&predicted[0].pred_loo_dloss, &actual.dloss[0]).expect("defined");
    // Removal is a finite step (ε = −1/80), not an infinitesimal one: measured 0.968.
    println!("moons MLP: Pearson(damped-GGN influence, PBRF removal) = {r:.5}");
    assert!(r > 0.9, "{r}");
}

#[test]
fn retraining_from_scratch_measures_its_noise_floor() {
    use attribution_explorer::engine::truths::scratch;
    // A convex model: every seed reaches the same optimum, so the change from scratch
    // is the warm-started leave-one-out and there is no noise.
    let (train, test) = prepared(Builtin::Moons, GeneratorParams { n: 60, noise: 0.3, seed: 2 });
    let model = Model::new(ModelKind::Logistic, 2, 2).expect("model");
    let p = Problem::new(model, &train, 0.05).expect("problem");
    let design = Design::from_dataset(&test);
    let s = scratch(&p, &design, vec![0, 5, 9], 3).expect("fits");
    assert!(s.noise.iter().all(|v| *v < 1e-12) && s.se.iter().flatten().all(|v| *v < 1e-10), "{:?}", s.noise);
    let r = fit(&p, None, &FitOptions::default()).expect("fits");
    let influence = Influence::new(&p, &r.theta, 0.0).expect("factorises");
    let mut retrainer = Retrainer::new(&p, &r.theta, &influence, FitOptions::default()).expect("converged");
    let loo = actual_changes(&p, &r.theta, &[retrainer.leave_out(5).expect("refit")], &design);
    assert!((s.mean[0][1] - loo.dloss[0][0]).abs() < 1e-9, "{} vs {}", s.mean[0][1], loo.dloss[0][0]);
    // A network: seeds land in different minima, and the spread is the noise floor.
    let (p, test, _) = moons_net(60);
    let design = Design::from_dataset(&test);
    let s = scratch(&p, &design, vec![0, 1], 4).expect("fits");
    let noise = s.noise.iter().sum::<f64>() / s.noise.len() as f64;
    println!(
        "moons MLP from scratch (4 seeds): mean noise floor of the test losses {noise:.4}; {}",
        s.refits
    );
    assert!(noise > 1e-6 && s.refits.all_converged(), "{noise} {}", s.refits);
}

#[test]
fn every_method_runs_on_a_network() {
    use attribution_explorer::engine::methods::{self, Method};
    let (p, test, theta) = moons_net(60);
    // Three test points: TMC-Shapley refits the network about 150 times for each.
    let design = Design::from_dataset(&test.select(&[0, 1, 2]));
    let exact: Vec<Vec<f64>> = Influence::new(&p, &theta, 0.0)
        .expect("factorises")
        .score(&p, &design)
        .expect("scores")
        .into_iter()
        .map(|t| t.pred_loo_dloss)
        .collect();
    let params =
        methods::MethodParams { shapley_permutations: 3, ..Default::default() }.check().expect("valid");
    for m in Method::ALL {
        let s = methods::run(m, &p, &theta, &design, 0.0, &params).unwrap_or_else(|e| panic!("{m}: {e}"));
        assert!(s.scores.iter().flatten().all(|v| v.is_finite()), "{m}");
        let rho = attribution_explorer::engine::evaluate::agreement(&s.scores, &exact, 10)
            .pooled_spearman
            .unwrap_or(0.0);
        println!("MLP {m}: pooled Spearman with exact influence {rho:.3}");
        if matches!(m, Method::Cg) {
            let err = rel_err(&s.scores.concat(), &exact.concat());
            assert!(err < 1e-6, "CG on the network's Hessian: {err:e}");
        }
    }
}
