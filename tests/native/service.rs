//! The worker's service, natively: every request flow the page uses, and bad input
//! leaving the previous state intact.

use attribution_explorer::engine::data::columns::{RowName, UploadOptions};
use attribution_explorer::engine::evaluate::SelfRanking;
use attribution_explorer::engine::methods::Method;
use attribution_explorer::engine::pipeline::Metric;
use attribution_explorer::lang::Lang;
use attribution_explorer::protocol::*;
use attribution_explorer::service::{native_clock, Service};

fn run(s: &mut Service, r: Request) -> Vec<Response> {
    let mut out = Vec::new();
    s.handle(r, &mut |x| out.push(x));
    while s.busy() {
        s.step(&mut |x| out.push(x));
    }
    out
}

fn trained(out: &[Response]) -> Result<TrainedView, String> {
    out.iter()
        .find_map(|r| match r {
            Response::Trained { result, .. } => Some(result.clone().map(|b| *b).map_err(|e| e.to_string())),
            _ => None,
        })
        .expect("a Trained response")
}

fn builtin(id: &str) -> TrainSpec {
    TrainSpec {
        source: DataSource::Builtin { id: id.into(), params: Default::default() },
        ..TrainSpec::default()
    }
}

#[test]
fn default_view_explains_the_worst_test_point_with_a_surface() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    assert_eq!(v.projection, Projection::Plane);
    let surface = v.surface.as_ref().expect("2-D data have a surface");
    assert_eq!(surface.class.len(), surface.nx * surface.ny);
    assert!(surface.value.iter().all(|p| (0.5..=1.0).contains(p)), "argmax probability ≥ 1/2");
    assert!(matches!(v.explained.selection, Selection::Test(_)));
    assert_eq!(v.explained.pred_loo_dloss.len(), v.train_xy.len());
    assert!(v.fit.converged && v.fit.test_metric > 0.7, "{:?}", v.fit);
}

#[test]
fn reweight_to_zero_is_leave_one_out_and_agrees_in_sign() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    let scores = &v.explained.pred_loo_dloss;
    let top = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).expect("points");
    let out = run(&mut s, Request::Reweight { job: 2, index: top, weight: 0.0, curve: true });
    let Some(Response::Reweighted { result: Ok(r), .. }) = out.first() else { panic!("{out:?}") };
    assert_eq!(r.predicted_dloss, scores[top]);
    assert!(r.actual_dloss > 0.0 && r.predicted_dloss > 0.0, "{r:?}");
    let curve = r.curve.as_ref().expect("curve");
    assert_eq!(curve.len(), 13);
    // At weight 1 nothing changes, predicted and actual.
    assert!(curve[4].predicted.abs() < 1e-15 && curve[4].actual.abs() < 1e-9, "{:?}", curve[4]);
    assert_eq!(curve[0].actual, r.actual_dloss, "weight 0 in the curve is the same refit");
    assert!(r.refits.all_converged() && curve.iter().all(|c| c.converged), "{:?}", r.refits);
}

#[test]
fn leave_each_out_streams_progress_and_matches_prediction() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    let out = run(&mut s, Request::LeaveEachOut { job: 2, share: Share::WHOLE });
    let progress: Vec<usize> = out
        .iter()
        .filter_map(|r| if let Response::Progress { done, .. } = r { Some(*done) } else { None })
        .collect();
    assert_eq!(progress.last(), Some(&v.train_xy.len()));
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    let Some(Response::LeaveEachOutDone { result: Ok(l), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!(l.actual.len(), v.train_xy.len());
    println!("default view: Pearson {:?}, Spearman {:?}, {}", l.pearson, l.spearman, l.refits);
    assert!(l.pearson.is_some_and(|r| r > 0.9), "Pearson {:?}", l.pearson);
    assert!(l.refits.all_converged() && l.not_converged.is_empty(), "{}", l.refits);
}

#[test]
fn cancel_stops_leave_each_out_and_a_new_request_cancels_it_too() {
    let mut s = Service::new(native_clock);
    run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() });
    let mut out = Vec::new();
    // Between blocks (an optimised build may finish all 160 refits in one block, so
    // none is run before the Cancel arrives).
    s.handle(Request::LeaveEachOut { job: 2, share: Share::WHOLE }, &mut |x| out.push(x));
    assert!(s.busy());
    s.handle(Request::Cancel { job: 2 }, &mut |x| out.push(x));
    assert!(!s.busy());
    assert!(matches!(
        out.last(),
        Some(Response::LeaveEachOutDone { job: 2, result: Err(JobError::Cancelled) })
    ));
    s.handle(Request::LeaveEachOut { job: 3, share: Share::WHOLE }, &mut |x| out.push(x));
    s.handle(Request::Select { job: 4, selection: Selection::Test(0) }, &mut |x| out.push(x));
    assert!(!s.busy(), "a new selection makes the running check stale");
}

#[test]
fn bad_uploads_report_the_line_and_keep_the_previous_state() {
    let mut s = Service::new(native_clock);
    trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    let cases = [
        ("a,b,y\n1,2,0\n3,4\n", "line 3", "3 行目"),
        ("", "empty", "空"),
        ("a,b,y\n", "no data rows", "データの行がありません"),
    ];
    for (text, needle, japanese) in cases {
        let out = run(&mut s, Request::Upload { job: 2, name: "bad.csv".into(), text: text.into() });
        let Some(Response::Uploaded { result: Err(e), .. }) = out.first() else { panic!("{out:?}") };
        let JobError::Failed(said) = e else { panic!("{e:?}") };
        let (en, ja) = (said.words(Lang::En), said.words(Lang::Ja));
        assert!(en.contains("bad.csv") && en.contains(needle), "{en}");
        assert!(ja.contains("bad.csv") && ja.contains(japanese), "{ja}");
    }
    // Cells are read as numbers at training (any column may be the target): a text
    // column is skipped then, with a notice naming its first text cell and line.
    run(
        &mut s,
        Request::Upload { job: 3, name: "text.csv".into(), text: "a,b,y\n1,2,0\n3,x,1\n4,5,0\n".into() },
    );
    let spec = TrainSpec {
        source: DataSource::Uploaded(UploadOptions { target: "y".into(), ..Default::default() }),
        ..TrainSpec::default()
    };
    let good = trained(&run(&mut s, Request::Train { job: 4, spec })).expect("the text column is skipped");
    assert_eq!(good.feature_names, vec!["a"]);
    assert!(
        good.notes.iter().any(|n| n.to_string().contains("“b”")
            && n.to_string().contains("line 3")
            && n.to_string().contains("“x”")),
        "{:?}",
        good.notes
    );
    // A file that parses but has a single class fails at training, keeping the model.
    run(
        &mut s,
        Request::Upload {
            job: 3,
            name: "one.csv".into(),
            text: "a,b,y\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n".into(),
        },
    );
    let spec = TrainSpec {
        source: DataSource::Uploaded(UploadOptions { target: "y".into(), ..Default::default() }),
        ..TrainSpec::default()
    };
    let out = run(&mut s, Request::Train { job: 4, spec });
    let err = trained(&out).expect_err("single class");
    assert!(err.contains("one.csv: the target column \"y\" has a single class"), "{err}");
    // The page words the same error in Japanese: the engine sends a sentence, not words.
    let Some(Response::Trained { result: Err(JobError::Failed(said)), .. }) = out.first() else { panic!() };
    let ja = said.words(Lang::Ja);
    assert!(ja.starts_with("one.csv：目的変数の列「y」にはクラスが 1 つ（「0」）しかありません"), "{ja}");
    let again =
        trained(&run(&mut s, Request::Select { job: 5, selection: good.explained.selection.clone() }))
            .expect("the previous model is still there");
    assert_eq!(again.explained, good.explained);
}

#[test]
fn uploaded_csv_trains_with_the_chosen_target() {
    let mut s = Service::new(native_clock);
    let mut text = String::from("x1;x2;label\n");
    for i in 0..40 {
        let (a, b) = ((i % 7) as f64 - 3.0, (i % 5) as f64 - 2.0);
        text +=
            &format!("{a};{b};{}\n", if a + b + 0.5 * ((i % 3) as f64 - 1.0) > 0.0 { "yes" } else { "no" });
    }
    let out = run(&mut s, Request::Upload { job: 1, name: "mine.csv".into(), text });
    let Some(Response::Uploaded { result: Ok(u), .. }) = out.first() else { panic!("{out:?}") };
    assert_eq!((u.rows, u.default_target.as_str()), (40, "label"));
    let spec = TrainSpec {
        source: DataSource::Uploaded(UploadOptions { target: "label".into(), ..Default::default() }),
        lambda: 0.1,
        ..TrainSpec::default()
    };
    let v = trained(&run(&mut s, Request::Train { job: 2, spec })).expect("trains");
    assert_eq!(v.class_names, vec!["no".to_string(), "yes".to_string()]);
    assert_eq!(v.train_xy.len() + v.test_xy.len(), 40);
}

#[test]
fn query_points_and_edits_on_2d_data() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    let q = Selection::Query { xy: [0.3, -0.2], label: 1.0 };
    let w = trained(&run(&mut s, Request::Select { job: 2, selection: q.clone() })).expect("query");
    assert_eq!((w.explained.selection.clone(), w.explained.xy), (q, [0.3, -0.2]));
    let n = v.train_xy.len();
    let edits = Edits {
        removed: vec![0, 1],
        flipped: vec![2],
        added: vec![AddedPoint { xy: [0.0, 0.0], label: 0.0 }],
        relabeled: vec![],
    };
    let spec = TrainSpec { edits, ..TrainSpec::default() };
    let e = trained(&run(&mut s, Request::Train { job: 3, spec })).expect("edited");
    assert_eq!(e.train_xy.len(), n - 2 + 1);
    assert_eq!(e.removed.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(e.train_origin[0], Some(2));
    assert_eq!(e.train_y[0], 1.0 - v.train_y[2], "flipped");
    assert_eq!((e.train_origin.last(), e.train_xy.last()), (Some(&None), Some(&[0.0, 0.0])));
}

#[test]
fn wide_data_use_pca_and_one_feature_uses_the_target_axis() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: builtin("breast_cancer") })).expect("trains");
    let Projection::Pca { explained } = v.projection else { panic!("{:?}", v.projection) };
    assert!((0.3..=1.0).contains(&explained), "{explained}");
    assert!(v.surface.is_none());
    let err = trained(&run(
        &mut s,
        Request::Select { job: 2, selection: Selection::Query { xy: [0.0, 0.0], label: 0.0 } },
    ));
    assert!(err.is_err_and(|e| e.contains("2-D")));
    let w = trained(&run(&mut s, Request::Train { job: 3, spec: builtin("wave1d") })).expect("trains");
    assert_eq!(w.projection, Projection::Line);
    assert_eq!(w.train_xy[0][1], w.train_y[0]);
    let line = w.surface.as_ref().expect("a 1-D regression has a prediction curve");
    assert_eq!((line.ny, line.value.len()), (1, line.nx));
    let d = trained(&run(&mut s, Request::Train { job: 4, spec: builtin("diabetes") })).expect("trains");
    assert_eq!((d.fit.metric, d.class_names.len()), (Metric::Rmse, 0));
}

#[test]
fn singular_hessian_is_a_sentence_not_nan() {
    let mut s = Service::new(native_clock);
    // Separable XOR-free data with λ = 0: the logistic weights run off to infinity.
    let spec = TrainSpec {
        source: DataSource::Builtin {
            id: "blobs".into(),
            params: attribution_explorer::engine::data::builtin::GeneratorParams {
                n: 30,
                noise: 0.0,
                seed: 1,
            },
        },
        lambda: 0.0,
        ..TrainSpec::default()
    };
    match trained(&run(&mut s, Request::Train { job: 1, spec })) {
        Err(e) => assert!(e.contains("Hessian") || e.contains("NaN"), "{e}"),
        Ok(v) => {
            assert!(!v.fit.warnings.is_empty(), "an unregularised separable fit must warn");
            assert!(v.explained.pred_loo_dloss.iter().all(|x| x.is_finite()));
        }
    }
}

#[test]
fn methods_view_compares_every_method_with_exact_and_actual_loo() {
    let mut s = Service::new(native_clock);
    run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() });
    run(&mut s, Request::LeaveEachOut { job: 2, share: Share::WHOLE });
    let out = run(&mut s, Request::Methods { job: 3, methods: page_methods(), settings: Default::default() });
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.last() else { panic!("{out:?}") };
    let names: Vec<&str> = m.rows.iter().map(|r| r.method.id()).collect();
    assert_eq!(names.first(), Some(&"exact"));
    assert_eq!(names.last(), Some(&"actual_loo"), "LOO was computed, so it is compared too");
    assert_eq!(m.matrix.len(), m.rows.len());
    let cg = m.rows.iter().find(|r| r.method == Attribution::Method(Method::Cg)).expect("cg row");
    assert!(cg.spearman_exact.is_some_and(|r| r > 0.9999), "{cg:?}");
    assert!(cg.spearman_loo.is_some_and(|r| r > 0.9), "{cg:?}");
    // Orientation is tested over all test points in `methods.rs`; on one hard point a
    // method may rank differently (representer: ρ ≈ 0 here), but never as an inverted
    // copy of exact influence, and every row has scores or a reason.
    for r in &m.rows {
        assert!(r.error.is_some() || r.scores.iter().all(|x| x.is_finite()), "{}", r.method.id());
        let rho = r.spearman_exact;
        assert!(r.error.is_some() || rho.is_some_and(|x| x > -0.2), "{}: {rho:?}", r.method.id());
    }
}

#[test]
fn diagnostics_mislabel_and_lds_views() {
    let mut s = Service::new(native_clock);
    run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() });
    let out = run(&mut s, Request::Diagnostics { job: 2, settings: Default::default() });
    let Some(Response::DiagnosticsDone { result: Ok(d), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!(d.eigenvalues.len(), 3);
    assert!(d.eigenvalues.windows(2).all(|w| w[0] <= w[1]) && d.condition.is_some_and(|c| c >= 1.0));
    assert!(d.cg_converged && d.cg_trace.last().is_some_and(|r| *r < 1e-9), "{}", d.cg_status);
    assert!(d.lissa_error.is_none() && !d.lissa_trace.is_empty());
    // The smallest damping barely changes the ranking; the largest changes it more.
    let first = d.sweep.first().and_then(|p| p.spearman_exact).unwrap_or(0.0);
    assert!(first > 0.999, "{:?}", d.sweep);
    let out = run(&mut s, Request::Mislabel { job: 3, fraction: 0.1, seed: 4 });
    let Some(Response::MislabelDone { result: Ok(m), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!((m.flipped.len(), m.best_auc), (16, 0.95));
    let auc = |r| m.curves.iter().find(|c| c.ranking == r).map(|c| c.auc).unwrap_or(0.0);
    assert!(auc(SelfRanking::SelfInfluence) > auc(SelfRanking::Random), "{:?}", m.curves);
    assert!(m.found.iter().all(|i| m.flipped.contains(i)));
    // Fix-first: fixing flips in the oracle order at 10% checked undoes at least as much
    // as random order, each point a converged refit; nothing checked is the same start.
    let curve = |r| m.fix_first.iter().find(|c| c.ranking == r).expect("the curve is there");
    let (oracle, random) = (curve(SelfRanking::Oracle), curve(SelfRanking::Random));
    assert_eq!(m.fix_first.len(), 4);
    assert!(m
        .fix_first
        .iter()
        .chain(&m.remove_clean)
        .all(|c| c.points.len() == 6 && c.points.iter().all(|p| p.converged)));
    assert!(m.fix_first.iter().all(|c| c.points[0] == oracle.points[0]));
    assert!(oracle.points[2].loss <= random.points[2].loss, "{:?} vs {:?}", oracle.points, random.points);
    assert_eq!(m.remove_clean.len(), 2);
    let lds = |job, subsets| Request::Lds {
        job,
        subsets,
        alpha: 0.5,
        seed: 1,
        methods: vec![Method::Cg, Method::GradDot],
        settings: Default::default(),
        share: Share::WHOLE,
    };
    let out = run(&mut s, lds(4, 20));
    let Some(Response::LdsDone { result: Ok(l), .. }) = out.last() else { panic!("{out:?}") };
    let exact = l.values.iter().find(|v| v.0 == Attribution::Exact).and_then(|v| v.1).unwrap_or(0.0);
    assert!(exact > 0.5, "{:?}", l.values);
    assert_eq!((l.subsets, l.refits.n, l.refits.converged), (20, 20, 20));
    let mut out = Vec::new();
    s.handle(lds(5, 400), &mut |x| out.push(x));
    s.handle(Request::Cancel { job: 5 }, &mut |x| out.push(x));
    assert!(matches!(out.last(), Some(Response::LdsDone { job: 5, result: Err(JobError::Cancelled) })));
}

fn page_methods() -> Vec<Method> {
    Method::DEFAULT.to_vec()
}

#[test]
fn added_points_from_a_link_are_checked() {
    let mut s = Service::new(native_clock);
    for label in [2.0, -1.0, 0.5, f64::NAN] {
        let edits = Edits { added: vec![AddedPoint { xy: [0.0, 0.0], label }], ..Edits::default() };
        let spec = TrainSpec { edits, ..TrainSpec::default() };
        let err = trained(&run(&mut s, Request::Train { job: 1, spec })).expect_err("two classes: 0 or 1");
        assert!(err.contains("added point"), "{err}");
    }
    let weight = run(&mut s, Request::Train { job: 2, spec: TrainSpec::default() });
    assert!(trained(&weight).is_ok());
    let out = run(&mut s, Request::Reweight { job: 3, index: 0, weight: 5000.0, curve: false });
    let Some(Response::Reweighted { result: Err(e), .. }) = out.first() else { panic!("{out:?}") };
    assert!(e.to_string().contains("from 0 to 1000"), "{e}");
}

fn network_spec(n: usize) -> TrainSpec {
    use attribution_explorer::engine::model::mlp::{Activation, MlpShape};
    TrainSpec {
        source: DataSource::Builtin {
            id: "moons".into(),
            params: attribution_explorer::engine::data::builtin::GeneratorParams { n, noise: 0.25, seed: 1 },
        },
        network: Some(MlpShape::one(8, Activation::Tanh, 0)),
        ..TrainSpec::default()
    }
}

#[test]
fn a_network_trains_explains_and_meets_its_three_truths() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: network_spec(60) })).expect("trains");
    assert!(v.fit.converged && v.fit.network.is_some(), "{:?}", v.fit);
    let spectrum = v.fit.spectrum.expect("a network reports its Hessian's spectrum");
    assert!(spectrum.min > 0.0, "a minimum: {spectrum:?}");
    assert!(v.surface.is_some(), "2-D data draw the network's surface");
    let out = run(&mut s, Request::Truths { job: 2, seeds: 3, share: Share::WHOLE });
    let progress: Vec<usize> = out
        .iter()
        .filter_map(|r| if let Response::Progress { done, .. } = r { Some(*done) } else { None })
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    let Some(Response::TruthsDone { result: Ok(t), .. }) = out.last() else { panic!("{out:?}") };
    let n = v.train_xy.len();
    assert_eq!((t.loo.len(), t.pbrf.len(), t.scratch_points.len()), (n, n, n), "48 × 3 fits fit the budget");
    println!("{}", t.reading(Lang::En));
    assert!(t.agreement[0].1.is_some_and(|r| r > 0.9), "{:?}", t.agreement);
    assert!(t.noise >= 0.0 && t.reading(Lang::En).contains("r = "));
    assert!(t.reading(Lang::Ja).contains("r = "), "the Japanese reading names the same numbers");
    // Diagnostics now compare the damping sweep with every truth, and show the
    // network's other curvatures.
    let out = run(&mut s, Request::Diagnostics { job: 3, settings: Default::default() });
    let Some(Response::DiagnosticsDone { result: Ok(d), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!(d.ggn_eigenvalues.len(), d.eigenvalues.len());
    assert_eq!(d.kfac_eigenvalues.len(), d.eigenvalues.len());
    assert!(d.sweep.iter().any(|p| p.spearman_pbrf.is_some() && p.spearman_scratch.is_some()));
}

#[test]
fn an_early_stopped_network_says_so_and_needs_damping() {
    let mut spec = network_spec(60);
    if let Some(net) = spec.network.as_mut() {
        net.train_steps = 5;
    }
    let mut s = Service::new(native_clock);
    match trained(&run(&mut s, Request::Train { job: 1, spec: spec.clone() })) {
        Err(e) => assert!(e.contains("damping above"), "{e}"),
        Ok(v) => {
            assert!(
                v.fit.warnings.iter().any(|w| w.to_string().contains("stopped after 5")),
                "{:?}",
                v.fit.warnings
            )
        }
    }
    spec.damping = 1.0;
    let v = trained(&run(&mut s, Request::Train { job: 2, spec })).expect("damped enough");
    assert!(
        !v.fit.converged && v.fit.warnings.iter().any(|w| w.to_string().contains("not at a minimum")),
        "{:?}",
        v.fit
    );
    // Its ground truth reruns the same 5 steps without the point.
    let out = run(&mut s, Request::Reweight { job: 3, index: 0, weight: 0.0, curve: false });
    let Some(Response::Reweighted { result: Ok(r), .. }) = out.first() else { panic!("{out:?}") };
    assert!(r.refits.all_converged() && r.actual_dloss.is_finite());
}

#[test]
fn every_view_works_with_a_network() {
    let mut s = Service::new(native_clock);
    trained(&run(&mut s, Request::Train { job: 1, spec: network_spec(60) })).expect("trains");
    let out = run(&mut s, Request::LeaveEachOut { job: 2, share: Share::WHOLE });
    let Some(Response::LeaveEachOutDone { result: Ok(l), .. }) = out.last() else { panic!("{out:?}") };
    assert!(l.pearson.is_some_and(|r| r > 0.9) && l.refits.all_converged(), "{:?} {}", l.pearson, l.refits);
    let settings =
        attribution_explorer::engine::methods::MethodParams { shapley_permutations: 2, ..Default::default() };
    let out = run(&mut s, Request::Methods { job: 3, methods: Method::ALL.to_vec(), settings });
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.last() else { panic!("{out:?}") };
    for r in &m.rows {
        assert!(r.error.is_none(), "{}: {:?}", r.method.id(), r.error);
    }
    let out = run(&mut s, Request::Mislabel { job: 4, fraction: 0.1, seed: 1 });
    assert!(matches!(out.last(), Some(Response::MislabelDone { result: Ok(_), .. })), "{out:?}");
    let lds = Request::Lds {
        job: 5,
        subsets: 6,
        alpha: 0.5,
        seed: 1,
        methods: vec![Method::GradDot],
        settings: Default::default(),
        share: Share::WHOLE,
    };
    let out = run(&mut s, lds);
    let Some(Response::LdsDone { result: Ok(l), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!(l.refits.n, 6);
}

/// Run a long job split `parts` ways on as many services trained alike (the page's
/// pool of workers), then put the blocks together on the first: its final response.
fn run_shared(spec: &TrainSpec, parts: usize, request: impl Fn(Share) -> Request) -> Response {
    let mut services: Vec<Service> = (0..parts).map(|_| Service::new(native_clock)).collect();
    let mut blocks = Vec::new();
    for (s, share) in services.iter_mut().zip(Share::all(parts)) {
        trained(&run(s, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
        let out = run(s, request(share));
        assert!(out.iter().any(|r| matches!(r, Response::Progress { part, .. } if *part == share.part)));
        match out.last() {
            Some(Response::PartDone { result: Ok(p), .. }) => {
                assert!(p.model < 1 << 53, "a fingerprint the page can hold as a JavaScript number");
                blocks.push(*p.clone())
            }
            other => panic!("a block: {other:?}"),
        }
    }
    let out = run(&mut services[0], Request::Finish { job: 2, parts: blocks });
    out.last().cloned().expect("a result")
}

/// The same job run whole on one service.
fn run_whole(spec: &TrainSpec, request: impl Fn(Share) -> Request) -> Response {
    let mut s = Service::new(native_clock);
    trained(&run(&mut s, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
    run(&mut s, request(Share::WHOLE)).last().cloned().expect("a result")
}

#[test]
fn a_job_shared_among_workers_gives_the_same_numbers_as_one_worker() {
    let spec = TrainSpec::default();
    let loo = |share| Request::LeaveEachOut { job: 2, share };
    let (
        Response::LeaveEachOutDone { result: Ok(one), .. },
        Response::LeaveEachOutDone { result: Ok(three), .. },
    ) = (run_whole(&spec, loo), run_shared(&spec, 3, loo))
    else {
        panic!("leave-one-out results")
    };
    assert_eq!(*three, LooView { millis: three.millis, workers: 3, ..*one.clone() });
    assert_eq!(one.workers, 1);
    assert_eq!(three.refits.n, spec_n(&spec));
    let lds = |share| Request::Lds {
        job: 2,
        subsets: 10,
        alpha: 0.5,
        seed: 3,
        methods: vec![Method::GradDot],
        settings: Default::default(),
        share,
    };
    let (Response::LdsDone { result: Ok(one), .. }, Response::LdsDone { result: Ok(four), .. }) =
        (run_whole(&spec, lds), run_shared(&spec, 4, lds))
    else {
        panic!("LDS results")
    };
    assert_eq!(*four, LdsView { millis: four.millis, workers: 4, ..*one.clone() });
    // A network's three truths: points split for leave-one-out and the PBRF, seeds
    // (3 of them, over 2 workers) for retraining from scratch.
    let spec = network_spec(30);
    let truths = |share| Request::Truths { job: 2, seeds: 3, share };
    let (Response::TruthsDone { result: Ok(one), .. }, Response::TruthsDone { result: Ok(two), .. }) =
        (run_whole(&spec, truths), run_shared(&spec, 2, truths))
    else {
        panic!("truths")
    };
    assert_eq!(*two, TruthsView { millis: two.millis, workers: 2, ..*one.clone() });
    assert_eq!(two.seeds, 3);
}

fn spec_n(spec: &TrainSpec) -> usize {
    let mut s = Service::new(native_clock);
    trained(&run(&mut s, Request::Train { job: 1, spec: spec.clone() })).expect("trains").train_xy.len()
}

#[test]
fn blocks_of_another_model_or_an_incomplete_set_are_refused() {
    let spec = TrainSpec::default();
    let mut a = Service::new(native_clock);
    trained(&run(&mut a, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
    let mut b = Service::new(native_clock);
    let other = TrainSpec { lambda: 0.5, ..spec.clone() };
    trained(&run(&mut b, Request::Train { job: 1, spec: other })).expect("trains");
    let block = |s: &mut Service, part| match run(
        s,
        Request::LeaveEachOut { job: 2, share: Share { part, parts: 2 } },
    )
    .last()
    {
        Some(Response::PartDone { result: Ok(p), .. }) => *p.clone(),
        other => panic!("{other:?}"),
    };
    let (mine, theirs) = (block(&mut a, 0), block(&mut b, 1));
    let out = run(&mut a, Request::Finish { job: 2, parts: vec![mine.clone()] });
    let Some(Response::LeaveEachOutDone { result: Err(e), .. }) = out.last() else { panic!("{out:?}") };
    assert!(e.to_string().contains("incomplete"), "{e}");
    // The refused job is over: run it again, and mix in a block of another model.
    let mine = block(&mut a, 0);
    let out = run(&mut a, Request::Finish { job: 2, parts: vec![mine, theirs] });
    let Some(Response::LeaveEachOutDone { result: Err(e), .. }) = out.last() else { panic!("{out:?}") };
    assert!(e.to_string().contains("different models"), "{e}");
    // A Finish with nothing waiting is answered, not ignored.
    let out = run(&mut a, Request::Finish { job: 7, parts: vec![] });
    assert!(matches!(out.last(), Some(Response::PartDone { job: 7, result: Err(_) })), "{out:?}");
}

#[test]
fn a_linear_model_that_cannot_fit_says_so_and_a_network_does_not() {
    let circles = builtin("circles");
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: circles.clone() })).expect("trains");
    assert!(v.fit.converged, "converged, and still useless");
    let said = v.fit.warnings.iter().find(|w| w.to_string().contains("barely better than always answering"));
    assert!(said.is_some_and(|w| w.to_string().contains("Neural net")), "{:?}", v.fit.warnings);
    let moons = trained(&run(&mut s, Request::Train { job: 2, spec: TrainSpec::default() })).expect("trains");
    assert!(
        !moons.fit.warnings.iter().any(|w| w.to_string().contains("barely better than")),
        "{:?}",
        moons.fit.warnings
    );
    // (An idle unit leaves this network's Hessian singular: damped, as the page offers.)
    let net = TrainSpec { network: network_spec(60).network, damping: 1e-3, ..circles };
    let v = trained(&run(&mut s, Request::Train { job: 3, spec: net })).expect("trains");
    assert!(!v.fit.warnings.iter().any(|w| w.to_string().contains("barely better than")), "{:?}", v.fit);
}

#[test]
fn why_this_prediction_flips_a_borderline_point_and_says_when_none_flips() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    // The default view explains a confidently misclassified point: no 10% set flips it.
    let out = run(&mut s, Request::Flip { job: 2, limit: None, threshold: None });
    let Some(Response::FlipDone { result: Ok(f), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!(f.classes, v.class_names);
    assert_eq!(f.flip.limit, v.train_xy.len() / 10);
    assert!(!f.flip.flipped && f.flip.confirmed.is_none() && f.flip.steps.len() == f.flip.limit);
    assert!(f.flip.steps.iter().all(|s| s.actual_margin > 0.0 && s.actual_margin < f.flip.margin));
    // The misclassified test point nearest the boundary (probability of its label
    // below 1/2 and nearest it) is traced to a set whose removal corrects it.
    let near = (0..v.test_y.len())
        .filter(|&t| v.test_pred[t] < 0.5)
        .max_by(|&a, &b| v.test_pred[a].total_cmp(&v.test_pred[b]))
        .expect("a misclassified test point");
    trained(&run(&mut s, Request::Select { job: 3, selection: Selection::Test(near) })).expect("selects");
    let out = run(&mut s, Request::Flip { job: 4, limit: None, threshold: None });
    let Some(Response::FlipDone { result: Ok(f), .. }) = out.last() else { panic!("{out:?}") };
    println!(
        "test point {near} (probability of its label {}): {} removals, influence predicted {:?}",
        v.test_pred[near],
        f.flip.removed.len(),
        f.flip.predicted_k
    );
    assert!(f.flip.flipped && f.flip.confirmed == Some(true), "{:?}", f.flip);
    assert_eq!(f.flip.new_class.map(|c| c as f64), Some(v.test_y[near]), "corrected to its label");
    // A regression needs a threshold; without a model there is nothing to flip.
    let mut fresh = Service::new(native_clock);
    let out = run(&mut fresh, Request::Flip { job: 1, limit: None, threshold: None });
    assert!(matches!(out.last(), Some(Response::FlipDone { result: Err(_), .. })), "{out:?}");
    let _ = trained(&run(&mut fresh, Request::Train { job: 2, spec: builtin("wave1d") })).expect("trains");
    let out = run(&mut fresh, Request::Flip { job: 3, limit: None, threshold: None });
    let Some(Response::FlipDone { result: Err(JobError::Failed(e)), .. }) = out.last() else {
        panic!("{out:?}")
    };
    assert!(e.to_string().contains("threshold"), "{e}");
}

#[test]
fn the_review_queue_ranks_decisions_retrain_and_the_cleaned_file_applies_them() {
    let mut s = Service::new(native_clock);
    // Iris: four features (not a plane), three classes.
    let spec = builtin("iris");
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
    let rank = attribution_explorer::engine::audit::review::ReviewScore::SelfInfluence;
    let out = run(&mut s, Request::Audit { job: 2, rank, top: 10 });
    let Some(Response::AuditDone { result: Ok(q), .. }) = out.first() else { panic!("{out:?}") };
    assert_eq!(q.candidates.len(), 10);
    assert!(q.candidates.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(q.test_metric, v.fit.test_metric);
    // Each candidate's removal, predicted and really refitted, on the whole test set.
    assert_eq!((q.checks.len(), q.rows.len()), (10, 10));
    assert!(q.checks.iter().all(|c| c.converged));
    let (p, a): (Vec<f64>, Vec<f64>) = q.checks.iter().map(|c| (c.predicted_dloss, c.actual_dloss)).unzip();
    let r = attribution_explorer::engine::stats::pearson(&p, &a).unwrap_or(0.0);
    println!("iris, top 10 by self-influence: removal's mean test-loss change, predicted vs refitted, Pearson {r:.3}");
    assert!(r > 0.9, "{p:?} vs {a:?}");
    // Predicted accuracy changes come in whole test points; one removal rarely changes
    // an answer, and the prediction says so when the refit agrees.
    let m = v.test_y.len() as f64;
    for c in &q.checks {
        let d = c.predicted_daccuracy.expect("a classifier");
        assert!((d * m - (d * m).round()).abs() < 1e-9, "{d}");
    }
    let agree = q
        .checks
        .iter()
        .filter(|c| c.predicted_daccuracy.is_some_and(|p| (p - c.actual_dmetric).abs() < 1e-9))
        .count();
    println!("iris: predicted accuracy change equals the refit's for {agree} of 10 removals");
    assert!(agree >= 8, "{agree}");
    // Decisions are edits: remove the first candidate, relabel the second to class 2.
    let (a, b) = (q.candidates[0].index, q.candidates[1].index);
    let edits = Edits { removed: vec![a], relabeled: vec![(b, 2)], ..Edits::default() };
    let e =
        trained(&run(&mut s, Request::Train { job: 3, spec: TrainSpec { edits, ..spec } })).expect("edited");
    assert_eq!(e.train_xy.len(), v.train_xy.len() - 1);
    let moved = e.train_origin.iter().position(|o| *o == Some(b)).expect("b is kept");
    assert_eq!(e.train_y[moved], 2.0);
    // The cleaned file: one row fewer than the dataset, the relabelled row says class 2.
    let out = run(&mut s, Request::CleanedCsv { job: 4 });
    let Some(Response::CleanedCsvDone { result: Ok(file), .. }) = out.first() else { panic!("{out:?}") };
    let (name, text) = &**file;
    assert_eq!(name, "iris-cleaned.csv");
    let lines: Vec<&str> = text.lines().collect();
    let total = v.train_xy.len() + v.test_y.len();
    assert_eq!(lines.len(), 1 + total - 1, "header and every row but the removed one");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header.len(), v.feature_names.len() + 1);
    let relabelled = lines.iter().filter(|l| l.ends_with(&format!(",{}", v.class_names[2]))).count();
    let before = v.train_y.iter().chain(&v.test_y).filter(|y| **y == 2.0).count();
    let removed_was_2 = usize::from(v.train_y[a] == 2.0);
    let b_was_2 = usize::from(v.train_y[b] == 2.0);
    assert_eq!(relabelled, before - removed_was_2 + 1 - b_was_2);
    // A relabel to a class that does not exist is refused in words.
    let bad = TrainSpec { edits: Edits { relabeled: vec![(0, 7)], ..Edits::default() }, ..builtin("iris") };
    let err = trained(&run(&mut s, Request::Train { job: 5, spec: bad })).unwrap_err();
    assert!(err.contains("class 7"), "{err}");
}

#[test]
fn uploaded_rows_keep_their_names_and_the_user_chooses_columns_and_missing_rows() {
    let mut s = Service::new(native_clock);
    let mut text = String::from("id,x1,x2,note,y\n");
    for i in 0..30 {
        let (a, b) = ((i as f64 * 0.37).sin() * 2.0, (i as f64 * 0.91).cos() * 2.0);
        let x2 = if i == 7 { "NA".to_string() } else { format!("{b:.3}") };
        text += &format!("A{i},{a:.3},{x2},memo {i},{}\n", u8::from(a + b > 0.0));
    }
    run(&mut s, Request::Upload { job: 1, name: "mine.csv".into(), text });
    let opts = |o: UploadOptions| TrainSpec { source: DataSource::Uploaded(o), ..TrainSpec::default() };
    let base = UploadOptions { target: "y".into(), ..Default::default() };
    // A missing cell is refused with its line and what to do.
    let err = trained(&run(&mut s, Request::Train { job: 2, spec: opts(base.clone()) })).unwrap_err();
    assert!(err.contains("line 9") && err.contains("drop rows with missing values"), "{err}");
    // Dropping rows with missing values: 29 rows, counted; the text columns `id` and
    // `note` are skipped; rows are named by their line.
    let drop = UploadOptions { drop_missing: true, ..base.clone() };
    let v = trained(&run(&mut s, Request::Train { job: 3, spec: opts(drop.clone()) })).expect("trains");
    assert_eq!(v.train_xy.len() + v.test_xy.len(), 29);
    assert_eq!(v.feature_names, vec!["x1", "x2"]);
    assert!(v.notes.iter().any(|n| n.to_string().contains("1 of 30 rows")), "{:?}", v.notes);
    let named = v.train_names.0.iter().chain(&v.test_names.0).flatten();
    let lines: Vec<usize> =
        named.filter_map(|n| if let RowName::Line(l) = n { Some(*l) } else { None }).collect();
    assert_eq!(lines.len(), 29);
    assert!(
        !lines.contains(&9) && lines.iter().all(|l| (2..=31).contains(l)),
        "line 9 held the missing cell"
    );
    // The ID column names the rows; a left-out column is not a feature.
    let named = UploadOptions { id_column: Some("id".into()), exclude: vec!["x2".into()], ..drop };
    let v = trained(&run(&mut s, Request::Train { job: 4, spec: opts(named) })).expect("trains");
    assert_eq!(v.feature_names, vec!["x1"]);
    let first = v.train_names.get(0).cloned().expect("a file row");
    let RowName::Id(id, line) = first else { panic!("{first:?}") };
    assert_eq!(id, format!("A{}", line - 2), "the ID of line {line}");
    assert!(v.train_name(0, Lang::En).contains(&format!("“{id}”, line {line}")));
    assert!(v.train_name(0, Lang::Ja).contains(&format!("「{id}」、{line} 行目")));
    // Raw values: standardisation undone.
    assert!(v.raw_row_text(0, Lang::En).starts_with("x1 = "));
}

#[test]
fn a_group_grows_with_three_answers_and_a_group_emptying_a_class_is_refused() {
    let mut s = Service::new(native_clock);
    let v = trained(&run(&mut s, Request::Train { job: 1, spec: TrainSpec::default() })).expect("trains");
    let d = &v.explained.pred_loo_dloss;
    let mut helpful: Vec<usize> = (0..d.len()).collect();
    helpful.sort_by(|&a, &b| d[b].total_cmp(&d[a]));
    helpful.truncate(40);
    let out = run(&mut s, Request::Group { job: 2, members: helpful.clone(), steps: 8 });
    let Some(Response::GroupDone { result: Ok(g), .. }) = out.first() else { panic!("{out:?}") };
    let sizes: Vec<usize> = g.effects.iter().map(|e| e.size).collect();
    assert_eq!(sizes, vec![5, 10, 15, 20, 25, 30, 35, 40]);
    assert!(g.effects.iter().all(|e| e.converged));
    // The explained point's first-order change is the sum of the members' own
    // pred_loo_dloss (conventions: group removal, first order).
    let sum: f64 = helpful.iter().map(|&i| d[i]).sum();
    let first = g.effects.last().and_then(|e| e.first_order.test_dloss).expect("the explained point");
    assert!((first - sum).abs() < 1e-9 * sum.abs().max(1.0), "{first} vs {sum}");
    let class0: Vec<usize> = (0..v.train_y.len()).filter(|&i| v.train_y[i] == 0.0).collect();
    let out = run(&mut s, Request::Group { job: 3, members: class0, steps: 2 });
    let Some(Response::GroupDone { result: Err(JobError::Failed(e)), .. }) = out.first() else {
        panic!("{out:?}")
    };
    // Named as the page names the class (the default dataset's first class is "A").
    assert!(e.to_string().contains("leaves class “A” without training data"), "{e}");
    assert!(e.words(Lang::Ja).contains("クラス「A」の訓練データがなくなり"), "{}", e.words(Lang::Ja));
}

/// A CSV of `rows` rows, two features and a yes/no label.
fn labelled_csv(rows: usize) -> String {
    let mut text = String::from("x1,x2,label\n");
    for i in 0..rows {
        let (a, b) = ((i % 7) as f64 - 3.0, (i % 5) as f64 - 2.0);
        text +=
            &format!("{a},{b},{}\n", if a + b + 0.5 * ((i % 3) as f64 - 1.0) > 0.0 { "yes" } else { "no" });
    }
    text
}

fn uploaded(out: &[Response]) -> Vec<(u64, Result<UploadSummary, JobError>)> {
    out.iter()
        .filter_map(|r| match r {
            Response::Uploaded { job, result } => Some((*job, result.clone())),
            _ => None,
        })
        .collect()
}

/// A clock that moves 5 ms per look, so that a step of a read (15 ms) is three slices
/// or batches of records.
fn ticking_clock() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static T: AtomicU64 = AtomicU64::new(0);
    T.fetch_add(5, Ordering::Relaxed) as f64
}

#[test]
fn a_posted_file_is_read_in_steps_with_progress_and_the_requests_after_it_wait() {
    // 30,000 rows: about 0.5 MB, several steps of parsing at 2,000 records each.
    let text = labelled_csv(30_000);
    let mut s = Service::new(ticking_clock);
    s.hold_file(Box::new(text.clone().into_bytes()));
    let mut out = Vec::new();
    s.handle(Request::ReadFile { job: 1, name: "big.csv".into() }, &mut |x| out.push(x));
    // Training on it is asked for at once, as the page does after a restart: it waits.
    let spec = TrainSpec {
        source: DataSource::Uploaded(UploadOptions { target: "label".into(), ..Default::default() }),
        lambda: 0.1,
        ..TrainSpec::default()
    };
    s.handle(Request::Train { job: 2, spec }, &mut |x| out.push(x));
    assert!(
        uploaded(&out).is_empty() && trained_count(&out) == 0,
        "nothing answered before reading: {out:?}"
    );
    while s.busy() {
        s.step(&mut |x| out.push(x));
    }
    let progress: Vec<(usize, usize)> = out
        .iter()
        .filter_map(|r| match r {
            Response::Progress { job: 1, done, total, .. } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 3, "progress in several steps: {progress:?}");
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0), "progress never moves back: {progress:?}");
    assert!(progress.iter().all(|&(_, total)| total == 2 * text.len()), "read, then parsed: {progress:?}");
    // The same table as the text read in one piece, then the training that waited.
    let mut whole = Service::new(native_clock);
    let expected = uploaded(&run(&mut whole, Request::Upload { job: 1, name: "big.csv".into(), text }));
    assert_eq!(uploaded(&out), expected);
    let upload_at = out.iter().position(|r| matches!(r, Response::Uploaded { .. }));
    let trained_at = out.iter().position(|r| matches!(r, Response::Trained { .. }));
    assert!(upload_at < trained_at, "the training waited for the file");
    let view = trained(&out).expect("trains on the file");
    assert_eq!(view.train_xy.len() + view.test_xy.len(), 30_000);
}

/// The sentence job `job`'s upload failed with.
fn refused(out: &[Response], job: u64) -> String {
    match &uploaded(out)[..] {
        [(j, Err(JobError::Failed(e)))] if *j == job => e.to_string(),
        other => panic!("job {job} was not refused: {other:?}"),
    }
}

fn trained_count(out: &[Response]) -> usize {
    out.iter().filter(|r| matches!(r, Response::Trained { .. })).count()
}

#[test]
fn cancelling_a_file_read_keeps_the_previous_file_and_model() {
    let mut s = Service::new(ticking_clock);
    let first = labelled_csv(40);
    run(&mut s, Request::Upload { job: 1, name: "first.csv".into(), text: first });
    let spec = TrainSpec {
        source: DataSource::Uploaded(UploadOptions { target: "label".into(), ..Default::default() }),
        lambda: 0.1,
        ..TrainSpec::default()
    };
    let before = trained(&run(&mut s, Request::Train { job: 2, spec: spec.clone() })).expect("trains");
    s.hold_file(Box::new(labelled_csv(30_000).into_bytes()));
    let mut out = Vec::new();
    s.handle(Request::ReadFile { job: 3, name: "second.csv".into() }, &mut |x| out.push(x));
    s.step(&mut |x| out.push(x));
    s.handle(Request::Cancel { job: 3 }, &mut |x| out.push(x));
    assert!(!s.busy(), "the read stopped");
    assert_eq!(uploaded(&out), vec![(3, Err(JobError::Cancelled))]);
    // The model and the file it came from are the first's.
    let again = trained(&run(&mut s, Request::Train { job: 4, spec })).expect("trains");
    assert_eq!((again.train_xy.len(), again.explained.clone()), (before.train_xy.len(), before.explained));
}

#[test]
fn a_file_read_refuses_what_it_cannot_take_with_a_sentence() {
    let mut s = Service::new(native_clock);
    // No file posted.
    let out = run(&mut s, Request::ReadFile { job: 1, name: "none.csv".into() });
    let e = refused(&out, 1);
    assert_eq!(e, "no file has been uploaded in this tab");
    // Too big: refused before reading.
    s.hold_file(Box::new(vec![b'a'; attribution_explorer::engine::data::csv::MAX_BYTES + 1]));
    let out = run(&mut s, Request::ReadFile { job: 2, name: "big.csv".into() });
    let e = refused(&out, 2);
    assert_eq!(e, "big.csv: the file is 50 MB; the limit is 50 MB (a browser tab must hold it)");
    // Not UTF-8 (Shift_JIS "名前"): the line of advice.
    s.hold_file(Box::new(b"\x96\xbc\x91\x4f,y\n1,0\n".to_vec()));
    let out = run(&mut s, Request::ReadFile { job: 3, name: "sjis.csv".into() });
    let e = refused(&out, 3);
    assert!(
        e.starts_with("sjis.csv: the file is not UTF-8 text (invalid byte at offset 0); save it as UTF-8"),
        "{e}"
    );
}

/// A clock that moves 20 ms per look: a fit reporting every 50 ms reports every third.
fn fast_clock() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static T: AtomicU64 = AtomicU64::new(0);
    T.fetch_add(20, Ordering::Relaxed) as f64
}

#[test]
fn training_reports_the_fits_progress_forward_only_and_then_the_same_view() {
    use attribution_explorer::service::PROGRESS_TOTAL;
    let mut s = Service::new(fast_clock);
    let out = run(&mut s, Request::Train { job: 7, spec: network_spec(80) });
    let reports: Vec<(u64, usize, usize)> = out
        .iter()
        .filter_map(|r| match r {
            Response::Progress { job, done, total, .. } => Some((*job, *done, *total)),
            _ => None,
        })
        .collect();
    // L-BFGS then Newton: many steps, so several reports, all of this job, in thousandths.
    assert!(reports.len() >= 3, "{reports:?}");
    assert!(reports.iter().all(|&(job, done, total)| job == 7 && total == PROGRESS_TOTAL && done <= total));
    assert!(reports.windows(2).all(|w| w[0].1 <= w[1].1), "forward only: {reports:?}");
    assert!(reports.last().is_some_and(|r| r.1 > reports[0].1), "it moves: {reports:?}");
    assert!(matches!(out.last(), Some(Response::Trained { job: 7, .. })), "the view comes last");
    // Watching changes nothing: the same fit as a service that never reports.
    let watched = trained(&out).expect("trains");
    let quiet =
        trained(&run(&mut Service::new(native_clock), Request::Train { job: 1, spec: network_spec(80) }))
            .expect("trains");
    assert_eq!(watched.fit.iterations, quiet.fit.iterations);
    assert_eq!(watched.explained.pred_loo_dloss, quiet.explained.pred_loo_dloss);
}

/// The progress reports of `job` in `out`, as (done, total).
fn progress_of(out: &[Response], of: u64) -> Vec<(usize, usize)> {
    out.iter()
        .filter_map(|r| match r {
            Response::Progress { job, done, total, .. } if *job == of => Some((*done, *total)),
            _ => None,
        })
        .collect()
}

#[test]
fn methods_diagnostics_and_the_mislabel_lab_report_progress_forward_only_then_their_view() {
    use attribution_explorer::service::PROGRESS_TOTAL;
    let mut s = Service::new(fast_clock);
    trained(&run(&mut s, Request::Train { job: 1, spec: builtin("breast_cancer") })).expect("trains");
    let requests = [
        (2, Request::Methods { job: 2, methods: page_methods(), settings: Default::default() }),
        (3, Request::Diagnostics { job: 3, settings: Default::default() }),
        (4, Request::Mislabel { job: 4, fraction: 0.1, seed: 4 }),
    ];
    for (job, request) in requests {
        let out = run(&mut s, request);
        let reports = progress_of(&out, job);
        // The clock moves 20 ms per look, and every stage looks at it: several reports.
        assert!(reports.len() >= 2, "job {job}: {reports:?}");
        assert!(reports.iter().all(|&(done, total)| total == PROGRESS_TOTAL && done <= total));
        assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0), "forward only: {reports:?}");
        assert!(reports.last().is_some_and(|r| r.0 > reports[0].0), "it moves: {reports:?}");
        assert_eq!(progress_of(&out, job).len() + 1, out.len(), "only this job's reports and its view");
        let done = match out.last() {
            Some(Response::MethodsDone { result, .. }) => result.is_ok(),
            Some(Response::DiagnosticsDone { result, .. }) => result.is_ok(),
            Some(Response::MislabelDone { result, .. }) => result.is_ok(),
            other => panic!("job {job} ends with {other:?}"),
        };
        assert!(done, "job {job}: {out:?}");
    }
}

/// The TMC-Shapley row of a Methods view.
fn tmc_row(out: &[Response]) -> MethodRow {
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.last() else { panic!("{out:?}") };
    m.rows.iter().find(|r| r.method == Attribution::Method(Method::TmcShapley)).cloned().expect("a TMC row")
}

#[test]
fn tmc_shapley_shared_among_workers_gives_the_numbers_of_one_run() {
    let spec = TrainSpec::default();
    let settings = attribution_explorer::engine::methods::MethodParams {
        shapley_permutations: 5,
        shapley_seed: 4,
        ..Default::default()
    };
    let methods =
        |job| Request::Methods { job, methods: vec![Method::TmcShapley], settings: settings.clone() };
    // One worker, one piece: the Methods request runs TMC-Shapley itself.
    let mut alone = Service::new(native_clock);
    trained(&run(&mut alone, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
    let whole = tmc_row(&run(&mut alone, methods(3)));
    assert!(whole.error.is_none() && whole.std_error.is_some(), "{whole:?}");
    // Three workers share the 5 permutations (2, 2, 1); the first keeps the result.
    let mut services: Vec<Service> = (0..3).map(|_| Service::new(native_clock)).collect();
    let mut blocks = Vec::new();
    for (s, share) in services.iter_mut().zip(Share::all(3)) {
        trained(&run(s, Request::Train { job: 1, spec: spec.clone() })).expect("trains");
        let out = run(s, Request::Shapley { job: 2, settings: settings.clone(), share });
        let Some(Response::PartDone { result: Ok(p), .. }) = out.last() else { panic!("a block: {out:?}") };
        blocks.push(*p.clone());
    }
    let primary = &mut services[0];
    let out = run(primary, Request::Finish { job: 2, parts: blocks });
    let Some(Response::ShapleyDone { result: Ok(view), .. }) = out.last() else { panic!("{out:?}") };
    assert_eq!((view.permutations, view.workers), (5, 3));
    let shared = tmc_row(&run(primary, methods(4)));
    // The same values and standard errors to the last bit, the same refits.
    assert_eq!(shared.scores, whole.scores);
    assert_eq!(shared.std_error, whole.std_error);
    assert_eq!(shared.notes, whole.notes, "the same permutations and refits, said the same way");
    // Other settings are not the kept run's: the Methods request runs its own.
    let other = attribution_explorer::engine::methods::MethodParams { shapley_seed: 5, ..settings.clone() };
    let out = run(primary, Request::Methods { job: 5, methods: vec![Method::TmcShapley], settings: other });
    assert_ne!(tmc_row(&out).scores, whole.scores, "another seed, other permutations");
    // Explaining another point forgets the kept run.
    run(primary, Request::Select { job: 6, selection: Selection::Test(3) });
    assert!(tmc_row(&run(primary, methods(7))).scores != whole.scores, "another point");
}

/// A refit that cannot converge is named by its own training index, wherever it falls in
/// the leave-one-out's lockstep groups and among the workers' blocks: the only row of a
/// class (leaving it out empties the class) is reported, and no other.
#[test]
fn leave_each_out_names_the_refit_that_cannot_converge() {
    let v =
        trained(&run(&mut Service::new(native_clock), Request::Train { job: 1, spec: TrainSpec::default() }))
            .expect("trains");
    let ones: Vec<usize> = (0..v.train_y.len()).filter(|&i| v.train_y[i] == 1.0).collect();
    // Keep one row of class 1, late in the data and not at a group's start once the
    // others are gone (its index then is the number of class-0 rows before it).
    let index_after = |i: usize| (0..i).filter(|&r| v.train_y[r] != 1.0).count();
    let lone = *ones.iter().rev().find(|&&i| index_after(i) % 8 != 0).expect("class 1 has rows");
    let removed: Vec<usize> = ones.iter().copied().filter(|&i| i != lone).collect();
    let spec = TrainSpec { edits: Edits { removed, ..Edits::default() }, ..TrainSpec::default() };
    let loo = |share| Request::LeaveEachOut { job: 2, share };
    for (workers, result) in [(1, run_whole(&spec, loo)), (3, run_shared(&spec, 3, loo))] {
        let Response::LeaveEachOutDone { result: Ok(l), .. } = result else { panic!("{result:?}") };
        let n = l.actual.len();
        assert_eq!(l.not_converged, vec![index_after(lone)], "{workers} worker(s): {}", l.refits);
        assert!(index_after(lone) > n / 2, "not in the first worker's block");
        assert_eq!((l.refits.n, l.refits.converged, l.workers), (n, n - 1, workers));
    }
}

/// A file read slice by slice (the browser's way when its one asynchronous read of the
/// file fails) gives the table its bytes in memory give; a slice that cannot be read is
/// a sentence naming the file.
#[test]
fn a_file_read_in_slices_is_the_file_in_memory() {
    use attribution_explorer::service::file_read::{FileSource, SLICE};
    struct Slices {
        bytes: Vec<u8>,
        lost_from: usize,
    }
    impl FileSource for Slices {
        fn size(&self) -> usize {
            self.bytes.len()
        }
        fn read(&mut self, from: usize, to: usize) -> Result<Vec<u8>, String> {
            match self.bytes.get(from..to) {
                Some(b) if to <= self.lost_from => Ok(b.to_vec()),
                _ => Err("the file is gone".into()),
            }
        }
    }
    let mut text = String::from("a,b,c,label\n");
    for i in 0..70_000 {
        text += &format!(
            "{}.2500001,-{}.5000001,{}.1250001,{}\n",
            i % 97,
            i % 13,
            i % 31,
            if i % 3 == 0 { "yes" } else { "no" }
        );
    }
    assert!(text.len() > 2 * SLICE, "at least three slices");
    let read = |source: Box<dyn FileSource>| {
        let mut s = Service::new(native_clock);
        s.hold_file(source);
        uploaded(&run(&mut s, Request::ReadFile { job: 1, name: "f.csv".into() }))
    };
    let in_memory = read(Box::new(text.clone().into_bytes()));
    assert!(matches!(&in_memory[..], [(1, Ok(_))]), "{in_memory:?}");
    let sliced = read(Box::new(Slices { bytes: text.clone().into_bytes(), lost_from: usize::MAX }));
    assert_eq!(sliced, in_memory);
    let mut s = Service::new(native_clock);
    s.hold_file(Box::new(Slices { bytes: text.into_bytes(), lost_from: SLICE + 1 }));
    let e = refused(&run(&mut s, Request::ReadFile { job: 2, name: "f.csv".into() }), 2);
    assert!(e.starts_with("f.csv"), "{e}");
}
