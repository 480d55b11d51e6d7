//! The worker's work, independent of the browser: turn a [`Request`] into its
//! [`Response`]s. The worker binary only moves JSON in and out; this module is
//! tested natively.

use crate::engine::data::builtin::Builtin;
use crate::engine::data::csv::{read_dataset, ColumnSpec, TargetKind};
use crate::engine::data::prep::{split, standardize};
use crate::engine::data::Dataset;
use crate::engine::fit::{fit, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{Model, ModelKind};
use crate::protocol::{DataSource, FitSummary, Request, Response, TrainSpec, TrainedView};

/// Handle one request; `emit` receives every response (progress first, result last).
pub fn handle(request: Request, emit: &mut dyn FnMut(Response)) {
    match request {
        Request::Train { job, spec } => {
            let result = train(&spec).map(Box::new);
            emit(Response::Trained { job, result });
        }
    }
}

/// Load, split, fit and score, with every failure as a sentence for the user.
pub fn train(spec: &TrainSpec) -> Result<TrainedView, String> {
    let (data, title) = load(&spec.source)?;
    let (mut train, mut test) = split(&data, spec.test_fraction, spec.split_seed);
    if test.n() == 0 || train.n() < 2 {
        return Err(format!("the dataset has {} rows; at least 3 are needed", data.n()));
    }
    if spec.standardize {
        standardize(&mut train, &mut test);
    }
    let kind = spec.model.unwrap_or_else(|| ModelKind::for_classes(train.n_classes()));
    let model = Model::new(kind, train.d(), train.n_classes()).map_err(|e| e.to_string())?;
    let problem = Problem::new(model, &train, spec.lambda).map_err(|e| e.to_string())?;
    let report = fit(&problem, None, &FitOptions::default()).map_err(|e| e.to_string())?;
    let influence = Influence::new(&problem, &report.theta, spec.damping).map_err(|e| e.to_string())?;
    let test_design = Design::from_dataset(&test);
    let scores = influence.score(&problem, &test_design);
    let selected = match spec.selected_test {
        Some(t) if t < test.n() => t,
        Some(t) => return Err(format!("test point {t} does not exist (there are {})", test.n())),
        None => (0..scores.len()).max_by(|&a, &b| scores[a].loss.total_cmp(&scores[b].loss)).unwrap_or(0),
    };
    let chosen = scores.into_iter().nth(selected).ok_or("there are no test points")?;
    let (metric_name, train_metric, test_metric) = metrics(&model, &report.theta, &train, &test);
    Ok(TrainedView {
        title,
        feature_names: train.feature_names.clone(),
        class_names: match &train.target {
            crate::engine::data::Target::Classes { names } => names.clone(),
            crate::engine::data::Target::Real => vec![],
        },
        standardized: spec.standardize,
        train_xy: plot_coords(&train),
        train_y: train.y.clone(),
        test_xy: plot_coords(&test),
        test_y: test.y.clone(),
        fit: FitSummary {
            model: kind,
            iterations: report.iterations,
            grad_norm: report.grad_norm,
            converged: report.converged,
            warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
            metric_name,
            train_metric,
            test_metric,
        },
        selected_test: selected,
        test_loss: chosen.loss,
        test_pred: chosen.pred,
        pred_loo_dloss: chosen.pred_loo_dloss,
        pred_loo_dpred: chosen.pred_loo_dpred,
    })
}

fn load(source: &DataSource) -> Result<(Dataset, String), String> {
    match source {
        DataSource::Builtin { id, params } => {
            let b = Builtin::from_id(id).ok_or_else(|| format!("there is no built-in dataset \"{id}\""))?;
            Ok((b.load(params).map_err(|e| e.to_string())?, b.title().to_string()))
        }
        DataSource::Csv { name, text, target } => {
            let spec = ColumnSpec { target: target.clone(), exclude: vec![], kind: TargetKind::Auto };
            let data = read_dataset(text, &spec).map_err(|e| format!("{name}: {e}"))?;
            Ok((data, name.clone()))
        }
    }
}

/// The first two features (or the feature and 0 for 1-D data).
fn plot_coords(data: &Dataset) -> Vec<[f64; 2]> {
    data.x
        .rows()
        .into_iter()
        .map(|r| [r.first().copied().unwrap_or(0.0), r.get(1).copied().unwrap_or(0.0)])
        .collect()
}

/// Accuracy for classifiers, RMSE for regression, on train and test.
fn metrics(model: &Model, theta: &[f64], train: &Dataset, test: &Dataset) -> (String, f64, f64) {
    let score = |d: &Dataset| {
        let n = d.n().max(1) as f64;
        let rows = d.x.rows().into_iter().zip(&d.y);
        match model.kind {
            ModelKind::Linear => {
                let se: f64 = rows.map(|(x, y)| (model.predict(theta, &x.to_vec())[0] - y).powi(2)).sum();
                (se / n).sqrt()
            }
            _ => {
                let hits = rows
                    .filter(|(x, y)| {
                        let p = model.predict(theta, &x.to_vec());
                        let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
                        best as f64 == **y
                    })
                    .count();
                hits as f64 / n
            }
        }
    };
    let name = if model.kind == ModelKind::Linear { "RMSE" } else { "accuracy" };
    (name.to_string(), score(train), score(test))
}
