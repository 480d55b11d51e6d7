//! A fitted model with its data, its plot frame and the explained point: built from a
//! [`TrainSpec`], it answers selection, reweighting and the views of the page.

use crate::engine::data::builtin::Builtin;
use crate::engine::data::csv::{datasets_from_tables, ColumnSpec, CsvTable, TargetKind};
use crate::engine::data::prep::{split, Standardizer};
use crate::engine::data::{Dataset, Target};
use crate::engine::fit::{fit, FitOptions};
use crate::engine::influence::{Influence, TestInfluence};
use crate::engine::linalg::symmetric_eigen;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{Model, ModelKind};
use crate::engine::retrain::Retrainer;
use crate::protocol::*;
use ndarray::{Array2, Axis};

/// Surface grid cells across (and down, scaled by the aspect ratio).
const SURFACE_CELLS: usize = 64;

/// A fitted model with its data, its plot frame and the explained point.
pub struct Session {
    title: String,
    standardized: bool,
    /// Training rows as fitted (standardised, edited).
    pub train: Dataset,
    /// Test rows.
    pub test: Dataset,
    origin: Vec<Option<usize>>,
    removed: Vec<(usize, [f64; 2])>,
    frame: Frame,
    /// The objective.
    pub problem: Problem,
    /// The fitted parameters.
    pub theta: Vec<f64>,
    fit: FitSummary,
    /// The factorised Hessian and training gradients.
    pub influence: Influence,
    /// The explained point and its exact scores.
    pub explained: Explained,
    /// Its features.
    pub explained_x: Vec<f64>,
    /// Actual leave-one-out change of the explained point's loss, once computed.
    pub actual_loo: Option<Vec<f64>>,
    bounds: ([f64; 2], [f64; 2]),
}

/// How feature vectors become plot coordinates.
enum Frame {
    Plane,
    Line,
    Pca { mean: Vec<f64>, comps: [Vec<f64>; 2], explained: f64 },
}

impl Frame {
    fn new(train: &Dataset) -> Frame {
        match train.d() {
            2 => Frame::Plane,
            1 => Frame::Line,
            d => {
                let n = train.n().max(1) as f64;
                let mean: Vec<f64> = train.x.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or(vec![0.0; d]);
                let centred = &train.x - &ndarray::Array1::from(mean.clone());
                let cov: Array2<f64> = centred.t().dot(&centred) / n;
                let total: f64 = (0..d).map(|j| cov[[j, j]]).sum();
                let (vals, vecs) = symmetric_eigen(&cov).unwrap_or((vec![0.0; d], Array2::eye(d)));
                // Ascending order: the last two are the principal directions.
                let comp = |k: usize| vecs.column(d - 1 - k).to_vec();
                let top = vals[d - 1] + vals[d - 2];
                Frame::Pca {
                    mean,
                    comps: [comp(0), comp(1)],
                    explained: if total > 0.0 { top / total } else { 0.0 },
                }
            }
        }
    }

    fn xy(&self, x: &[f64], y: f64) -> [f64; 2] {
        match self {
            Frame::Plane => [x[0], x[1]],
            Frame::Line => [x[0], y],
            Frame::Pca { mean, comps, .. } => {
                let p = |c: &[f64]| x.iter().zip(mean).zip(c).map(|((v, m), c)| (v - m) * c).sum();
                [p(&comps[0]), p(&comps[1])]
            }
        }
    }

    fn projection(&self) -> Projection {
        match self {
            Frame::Plane => Projection::Plane,
            Frame::Line => Projection::Line,
            Frame::Pca { explained, .. } => Projection::Pca { explained: *explained },
        }
    }
}

fn plot_xy(frame: &Frame, d: &Dataset) -> Vec<[f64; 2]> {
    d.x.rows().into_iter().zip(&d.y).map(|(r, y)| frame.xy(&r.to_vec(), *y)).collect()
}

/// Load the data of a source: (dataset, title).
fn load(source: &DataSource, upload: Option<&(String, CsvTable)>) -> Result<(Dataset, String), String> {
    match source {
        DataSource::Builtin { id, params } => {
            let b = Builtin::from_id(id).ok_or_else(|| format!("there is no built-in dataset \"{id}\""))?;
            Ok((b.load(params).map_err(|e| e.to_string())?, b.title().to_string()))
        }
        DataSource::Uploaded { target } => {
            let (name, table) = upload.ok_or("no file has been uploaded in this tab")?;
            let spec = ColumnSpec { target: target.clone(), exclude: vec![], kind: TargetKind::Auto };
            let mut v = datasets_from_tables(&[table], &spec).map_err(|(_, e)| format!("{name}: {e}"))?;
            let data = v.pop().ok_or("the file has no rows")?;
            Ok((data, name.clone()))
        }
    }
}

/// Flip a label to the next class (classifiers only).
fn flipped(y: f64, target: &Target) -> f64 {
    match target {
        Target::Classes { names } => ((y as usize + 1) % names.len().max(1)) as f64,
        Target::Real => y,
    }
}

impl Session {
    /// Load, split, standardise, edit, fit and explain.
    pub fn build(spec: &TrainSpec, upload: Option<&(String, CsvTable)>) -> Result<Session, String> {
        let (data, title) = load(&spec.source, upload)?;
        let (mut train, mut test) = split(&data, spec.test_fraction, spec.split_seed);
        if test.n() == 0 || train.n() < 2 {
            return Err(format!("the dataset has {} rows; at least 3 are needed", data.n()));
        }
        if spec.standardize {
            let s = Standardizer::fit(&train);
            s.apply(&mut train);
            s.apply(&mut test);
        }
        let frame = Frame::new(&train);
        let edits = &spec.edits;
        if !edits.is_empty() && !matches!(frame, Frame::Plane) {
            return Err("points can be edited only on 2-D data".into());
        }
        // Edits, in plotted units: flip, remove, add.
        for &i in &edits.flipped {
            if let Some(y) = train.y.get_mut(i) {
                *y = flipped(*y, &train.target);
            }
        }
        let n0 = train.n();
        let kept: Vec<usize> = (0..n0).filter(|i| !edits.removed.contains(i)).collect();
        let removed: Vec<(usize, [f64; 2])> = edits
            .removed
            .iter()
            .filter(|&&i| i < n0)
            .map(|&i| (i, frame.xy(&train.x.row(i).to_vec(), train.y[i])))
            .collect();
        let mut origin: Vec<Option<usize>> = kept.iter().map(|&i| Some(i)).collect();
        train = train.select(&kept);
        for a in &edits.added {
            let row = ndarray::Array2::from_shape_vec((1, 2), a.xy.to_vec()).map_err(|e| e.to_string())?;
            train.x =
                ndarray::concatenate(Axis(0), &[train.x.view(), row.view()]).map_err(|e| e.to_string())?;
            train.y.push(a.label);
            origin.push(None);
        }
        if train.n() < 2 {
            return Err("at least two training points are needed".into());
        }
        if train.n_classes() > 0 {
            let k = train.n_classes();
            let mut seen = vec![false; k];
            train.y.iter().for_each(|&y| seen[(y as usize).min(k - 1)] = true);
            if seen.iter().filter(|s| **s).count() < 2 {
                return Err("the training points have a single class; a classifier needs at least two".into());
            }
        }
        let kind = spec.model.unwrap_or_else(|| ModelKind::for_classes(train.n_classes()));
        let model = Model::new(kind, train.d(), train.n_classes()).map_err(|e| e.to_string())?;
        let problem = Problem::new(model, &train, spec.lambda).map_err(|e| e.to_string())?;
        let report = fit(&problem, None, &FitOptions::default()).map_err(|e| e.to_string())?;
        let influence = Influence::new(&problem, &report.theta, spec.damping).map_err(|e| {
            format!(
                "{e}. With λ = {} and damping {}, the Hessian cannot be inverted.",
                spec.lambda, spec.damping
            )
        })?;
        let (metric_name, train_metric, test_metric) = metrics(&model, &report.theta, &train, &test);
        let fit = FitSummary {
            model: kind,
            iterations: report.iterations,
            grad_norm: report.grad_norm,
            converged: report.converged,
            warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
            metric_name,
            train_metric,
            test_metric,
        };
        let all: Vec<[f64; 2]> = plot_xy(&frame, &train)
            .into_iter()
            .chain(plot_xy(&frame, &test))
            .chain(removed.iter().map(|r| r.1))
            .collect();
        let mut session = Session {
            title,
            standardized: spec.standardize,
            bounds: bounds(&all),
            train,
            test,
            origin,
            removed,
            frame,
            problem,
            theta: report.theta,
            fit,
            influence,
            explained: Explained {
                selection: Selection::Auto,
                xy: [0.0; 2],
                label: 0.0,
                loss: 0.0,
                pred: 0.0,
                pred_loo_dloss: vec![],
                pred_loo_dpred: vec![],
            },
            explained_x: vec![],
            actual_loo: None,
        };
        session.select(&spec.selection)?;
        Ok(session)
    }

    /// Explain `selection` with the fitted model.
    pub fn select(&mut self, selection: &Selection) -> Result<(), String> {
        let (x, label, resolved) = match selection {
            Selection::Auto => {
                let losses = self.problem.losses(&self.theta, &Design::from_dataset(&self.test));
                let t = (0..losses.len()).max_by(|&a, &b| losses[a].total_cmp(&losses[b])).unwrap_or(0);
                (self.test.x.row(t).to_vec(), self.test.y[t], Selection::Test(t))
            }
            Selection::Test(t) if *t < self.test.n() => {
                (self.test.x.row(*t).to_vec(), self.test.y[*t], selection.clone())
            }
            Selection::Test(t) => {
                return Err(format!("test point {t} does not exist (there are {})", self.test.n()))
            }
            Selection::Query { xy, label } => {
                if !matches!(self.frame, Frame::Plane) {
                    return Err("query points can be placed only on 2-D data".into());
                }
                let ok = match &self.train.target {
                    Target::Classes { names } => *label >= 0.0 && (*label as usize) < names.len(),
                    Target::Real => label.is_finite(),
                };
                if !ok || !xy.iter().all(|v| v.is_finite()) {
                    return Err("the query point's label or position is not valid".into());
                }
                (xy.to_vec(), *label, selection.clone())
            }
        };
        let design = Design::new(x.len(), x.clone(), vec![label]);
        let scored: TestInfluence =
            self.influence.score(&self.problem, &design).pop().ok_or("the point could not be scored")?;
        self.explained = Explained {
            selection: resolved,
            xy: self.frame.xy(&x, label),
            label,
            loss: scored.loss,
            pred: scored.pred,
            pred_loo_dloss: scored.pred_loo_dloss,
            pred_loo_dpred: scored.pred_loo_dpred,
        };
        self.explained_x = x;
        self.actual_loo = None;
        Ok(())
    }

    /// Predictions `f` (probability of the own label, or `ŷ`) of every row.
    fn predictions(&self, d: &Dataset) -> Vec<f64> {
        let m = &self.problem.model;
        let mut buf = vec![0.0; m.n_params()];
        d.x.rows()
            .into_iter()
            .zip(&d.y)
            .map(|(x, y)| m.f_and_grad(&self.theta, &x.to_vec(), *y, &mut buf))
            .collect()
    }

    /// The view the page draws.
    pub fn view(&self) -> TrainedView {
        TrainedView {
            title: self.title.clone(),
            feature_names: self.train.feature_names.clone(),
            target_name: self.train.target_name.clone(),
            class_names: match &self.train.target {
                Target::Classes { names } => names.clone(),
                Target::Real => vec![],
            },
            standardized: self.standardized,
            projection: self.frame.projection(),
            train_xy: plot_xy(&self.frame, &self.train),
            train_x: self.train.x.rows().into_iter().map(|r| r.to_vec()).collect(),
            train_y: self.train.y.clone(),
            train_loss: self.influence.train_losses.clone(),
            train_pred: self.predictions(&self.train),
            train_origin: self.origin.clone(),
            removed: self.removed.clone(),
            test_xy: plot_xy(&self.frame, &self.test),
            test_y: self.test.y.clone(),
            test_loss: self.problem.losses(&self.theta, &Design::from_dataset(&self.test)),
            test_pred: self.predictions(&self.test),
            fit: self.fit.clone(),
            surface: self.surface(&self.theta),
            bounds: self.bounds,
            explained: self.explained.clone(),
        }
    }

    /// The model `theta` over the plot: a grid for 2-D data; for one feature and a real
    /// target, the prediction curve (a single row of cells); nothing otherwise.
    fn surface(&self, theta: &[f64]) -> Option<Surface> {
        let m = &self.problem.model;
        let ([x0, x1], [y0, y1]) = self.bounds;
        let (nx, ny) = match self.frame {
            Frame::Plane => (SURFACE_CELLS, ((SURFACE_CELLS as f64) * 0.75).round() as usize),
            Frame::Line if m.kind == ModelKind::Linear => (2 * SURFACE_CELLS, 1),
            _ => return None,
        };
        let (mut class, mut value) = (Vec::with_capacity(nx * ny), Vec::with_capacity(nx * ny));
        for j in 0..ny {
            for i in 0..nx {
                let cx = x0 + (i as f64 + 0.5) / nx as f64 * (x1 - x0);
                let x =
                    if ny == 1 { vec![cx] } else { vec![cx, y0 + (j as f64 + 0.5) / ny as f64 * (y1 - y0)] };
                let p = m.predict(theta, &x);
                if m.kind == ModelKind::Linear {
                    class.push(0);
                    value.push(p[0]);
                } else {
                    let c = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
                    class.push(c);
                    value.push(p[c]);
                }
            }
        }
        Some(Surface { x: [x0, x1], y: [y0, y1], nx, ny, class, value })
    }

    /// Predicted and actual change of the explained point with one weight changed.
    pub fn reweight(&self, index: usize, weight: f64, curve: bool) -> Result<ReweightView, String> {
        let n = self.train.n();
        if index >= n {
            return Err(format!("training point {index} does not exist (there are {n})"));
        }
        if !(0.0..=1e6).contains(&weight) {
            return Err(format!("weight {weight} is not allowed (use 0 to 3)"));
        }
        let mut retrainer =
            Retrainer::new(&self.problem, &self.theta, &self.influence, FitOptions::default());
        let m = &self.problem.model;
        let (x, label) = (&self.explained_x, self.explained.label);
        let mut buf = vec![0.0; m.n_params()];
        let mut actual_at = |w: f64| -> Result<(f64, f64, Vec<f64>), String> {
            let r = retrainer.reweight(index, w).map_err(|e| e.to_string())?;
            let dl = m.loss(&r.theta, x, label) - self.explained.loss;
            let dp = m.f_and_grad(&r.theta, x, label, &mut buf) - self.explained.pred;
            Ok((dl, dp, r.theta))
        };
        let s = 1.0 - weight;
        let (actual_dloss, actual_dpred, theta) = actual_at(weight)?;
        let curve = if curve {
            let mut c = Vec::new();
            for k in 0..=12 {
                let w = k as f64 * 0.25;
                let (dl, _, _) = actual_at(w)?;
                c.push([w, (1.0 - w) * self.explained.pred_loo_dloss[index], dl]);
            }
            Some(c)
        } else {
            None
        };
        Ok(ReweightView {
            index,
            weight,
            predicted_dloss: s * self.explained.pred_loo_dloss[index],
            predicted_dpred: s * self.explained.pred_loo_dpred[index],
            actual_dloss,
            actual_dpred,
            curve,
            surface: self.surface(&theta),
        })
    }
}

/// Plot bounds with a 5% margin (at least 0.5).
fn bounds(points: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
    let mut b = [[f64::INFINITY, f64::NEG_INFINITY]; 2];
    for p in points {
        for k in 0..2 {
            b[k][0] = b[k][0].min(p[k]);
            b[k][1] = b[k][1].max(p[k]);
        }
    }
    let pad = |[lo, hi]: [f64; 2]| {
        if !lo.is_finite() || !hi.is_finite() {
            return [-1.0, 1.0];
        }
        let m = ((hi - lo) * 0.05).max(0.5);
        [lo - m, hi + m]
    };
    (pad(b[0]), pad(b[1]))
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

/// Train one view without a service (tests, and one-shot use).
pub fn train(spec: &TrainSpec) -> Result<TrainedView, String> {
    Session::build(spec, None).map(|s| s.view())
}
