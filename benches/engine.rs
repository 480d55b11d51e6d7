//! Native benchmarks of the engine (criterion). Numbers go in the README; nothing here
//! asserts a time.
//!
//! - breast cancer (455 train × 114 test, 31 parameters, standardised, λ = 0.01):
//!   fit + exact influence of every training point on every test point, and the full
//!   leave-one-out ground truth (455 warm-started refits);
//! - a synthetic n = 10,000, d = 50 logistic problem: fit + influence, to show growth;
//! - a 50,000 × 50 CSV (22 MB) as the page takes it: parsed, then trained and explained
//!   for one test point by the worker's service.

#[cfg(not(target_arch = "wasm32"))]
mod shared;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use crate::shared::{breast_cancer, fit_and_influence, leave_each_out};
    use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
    use attribution_explorer::engine::data::prep::{split, standardize};
    use attribution_explorer::engine::data::{Dataset, Target};
    use attribution_explorer::engine::fit::{fit, FitOptions};
    use attribution_explorer::engine::influence::Influence;
    use attribution_explorer::engine::methods::{self, CheckedParams, Method};
    use attribution_explorer::engine::model::problem::{Design, Problem};
    use attribution_explorer::engine::model::{Model, ModelKind};
    use attribution_explorer::engine::progress::Silent;
    use attribution_explorer::engine::retrain::Retrainer;
    use attribution_explorer::engine::rng::Rng;
    use criterion::{criterion_group, Criterion};
    use std::hint::black_box;

    fn synthetic(n: usize, d: usize) -> (Problem, Design) {
        let mut rng = Rng::new(11);
        let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let mut x = ndarray::Array2::zeros((n + 1000, d));
        let mut y = Vec::new();
        for i in 0..n + 1000 {
            let mut z = 0.0;
            for j in 0..d {
                x[[i, j]] = rng.normal();
                z += x[[i, j]] * w[j] / (d as f64).sqrt();
            }
            y.push(f64::from(u8::from(rng.uniform() < 1.0 / (1.0 + (-2.0 * z).exp()))));
        }
        let data = Dataset {
            feature_names: (0..d).map(|j| format!("x{j}")).collect(),
            target_name: "y".into(),
            x,
            y,
            target: Target::Classes { names: vec!["0".into(), "1".into()] },
        };
        let train = data.select(&(0..n).collect::<Vec<_>>());
        let test = data.select(&(n..n + 1000).collect::<Vec<_>>());
        let model = Model::new(ModelKind::Logistic, d, 2).expect("model");
        (Problem::new(model, &train, 0.01).expect("problem"), Design::from_dataset(&test))
    }

    pub fn benches(c: &mut Criterion) {
        let (problem, test) = breast_cancer();
        c.bench_function("breast_cancer/fit+influence_all_pairs", |b| {
            b.iter(|| black_box(fit_and_influence(&problem, &test)))
        });
        let report = fit(&problem, None, &FitOptions::default()).expect("fit");
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("factor");
        c.bench_function("breast_cancer/loo_all_455_refits", |b| {
            b.iter(|| black_box(leave_each_out(&problem, &report.theta, &influence)))
        });
        // Each method for one test point (what the page's Methods view computes).
        let one = Design::new(test.row(0).len(), test.row(0).to_vec(), vec![test.y[0]]);
        let params = CheckedParams::default();
        let mut group = c.benchmark_group("breast_cancer_one_test_point");
        group.sample_size(10);
        group.bench_function("exact", |b| {
            b.iter(|| {
                let inf = Influence::new(&problem, &report.theta, 0.0).expect("factor");
                black_box(inf.score(&problem, &one).expect("scores").len())
            })
        });
        for &method in Method::DEFAULT {
            group.bench_function(method.id(), |b| {
                b.iter(|| {
                    black_box(
                        methods::run(method, &problem, &report.theta, &one, 0.0, &params)
                            .map(|s| s.scores.len()),
                    )
                })
            });
        }
        group.finish();
        let mut group = c.benchmark_group("synthetic_d50");
        group.sample_size(10);
        for n in [1_000, 10_000] {
            let (problem, test) = synthetic(n, 50);
            group.bench_function(format!("n{n}/fit+influence_1000_test"), |b| {
                b.iter(|| black_box(fit_and_influence(&problem, &test)))
            });
        }
        group.finish();
    }

    /// A network problem of `b` with one hidden layer of `width` tanh units, fitted.
    fn network(b: Builtin, width: usize) -> (Problem, Vec<f64>) {
        use attribution_explorer::engine::model::mlp::{Activation, MlpShape};
        use attribution_explorer::engine::model::Net;
        let data = b.load(&GeneratorParams::default()).expect("built in");
        let (mut train, mut test) = split(&data, 0.2, 0);
        standardize(&mut train, &mut test);
        let net = Net::Mlp(MlpShape::one(width, Activation::Tanh, 0));
        let model = Model::with_net(ModelKind::Logistic, train.d(), 2, net).expect("model");
        let problem = Problem::new(model, &train, 0.01).expect("problem");
        let theta = fit(&problem, None, &FitOptions::default()).expect("fit").theta;
        (problem, theta)
    }

    pub fn network_benches(c: &mut Criterion) {
        use attribution_explorer::protocol::TrainSpec;
        let mut group = c.benchmark_group("network");
        group.sample_size(10);
        let spec = TrainSpec {
            network: Some(attribution_explorer::url_state::default_network()),
            ..TrainSpec::default()
        };
        group.bench_function("moons_16_tanh/train+influence+surface (the page's view)", |b| {
            b.iter(|| black_box(attribution_explorer::service::train(&spec).expect("trains").train_xy.len()))
        });
        for (name, b, width) in
            [("moons_16_tanh", Builtin::Moons, 16), ("breast_cancer_30_16_1", Builtin::BreastCancer, 16)]
        {
            let (problem, theta) = network(b, width);
            let influence = Influence::new(&problem, &theta, 0.0).expect("factor");
            group.bench_function(format!("{name}/loo_all_refits"), |bench| {
                bench.iter(|| {
                    let mut r = Retrainer::new(&problem, &theta, &influence, FitOptions::default())
                        .expect("converged");
                    black_box(r.leave_each_out(&mut Silent).expect("refits").len())
                })
            });
        }
        group.finish();
    }

    /// A CSV as `tests/e2e/harness.mjs` writes it: `cols` features in [-1, 1) with 5
    /// decimals and a yes/no label from the sign of their sum plus noise.
    fn numbers_csv(rows: usize, cols: usize) -> String {
        let mut rng = Rng::new(11);
        let mut text: String = (1..=cols).map(|j| format!("x{j},")).collect();
        text += "label\n";
        for _ in 0..rows {
            let x: Vec<f64> = (0..cols).map(|_| 2.0 * rng.uniform() - 1.0).collect();
            let sum = x.iter().sum::<f64>() + 2.0 * (2.0 * rng.uniform() - 1.0);
            x.iter().for_each(|v| text += &format!("{v:.5},"));
            text += if sum > 0.0 { "yes\n" } else { "no\n" };
        }
        text
    }

    pub fn upload_benches(c: &mut Criterion) {
        use attribution_explorer::engine::data::columns::UploadOptions;
        use attribution_explorer::protocol::{DataSource, Request, TrainSpec};
        use attribution_explorer::service::{native_clock, Service};
        let text = numbers_csv(50_000, 50);
        let mut group = c.benchmark_group("upload_50000x50");
        group.sample_size(10);
        group.bench_function("parse", |b| {
            b.iter(|| {
                black_box(attribution_explorer::engine::data::csv::parse(&text).expect("parses").n_rows())
            })
        });
        let spec = TrainSpec {
            source: DataSource::Uploaded(UploadOptions { target: "label".into(), ..Default::default() }),
            ..TrainSpec::default()
        };
        group.bench_function("parse+train+explain (the page's view)", |b| {
            b.iter(|| {
                let mut service = Service::new(native_clock);
                let mut answers = 0;
                let text = text.clone();
                service.handle(Request::Upload { job: 1, name: "numbers.csv".into(), text }, &mut |_| {
                    answers += 1
                });
                service.handle(Request::Train { job: 2, spec: spec.clone() }, &mut |_| answers += 1);
                black_box(answers)
            })
        });
        group.finish();
    }

    criterion_group!(engine, benches, network_benches, upload_benches);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::engine);

#[cfg(target_arch = "wasm32")]
fn main() {}
