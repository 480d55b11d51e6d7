//! A fitted model with its data, its plot frame and the explained point: built from a
//! [`TrainSpec`] through the engine's one pipeline ([`crate::engine::pipeline`]), it
//! answers selection, reweighting and the views of the page.
//!
//! The training rows are held once, by the fitted problem: the split moves them down
//! inside the loaded matrix and the fit takes them over (a large upload's features are
//! most of the worker's memory, and fresh wasm memory costs time to touch).

use super::frame::{bounds, Frame};
use crate::engine::data::builtin::Builtin;
use crate::engine::data::columns::{choose, RowName};
use crate::engine::data::csv::CsvError;
use crate::engine::data::csv::{datasets_from_tables, ColumnSpec, CsvTable, TargetKind};
use crate::engine::data::prep::split_rows;
use crate::engine::data::prep::Standardizer;
use crate::engine::data::{Dataset, Target};
use crate::engine::fit::{FitOptions, FitWarning};
use crate::engine::influence::TestInfluence;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::Net;
use crate::engine::pipeline::{fit_model, metric, standardize_if, Fitted, ModelSpec};
use crate::engine::retrain::{RefitStats, Retrainer};
use crate::protocol::*;
use crate::said::Said;
use crate::text::Text;
use ndarray::Axis;

/// Largest weight the scrubber (or a link) may give a training point.
pub const MAX_WEIGHT: f64 = 1000.0;

/// TMC-Shapley of the explained point, run on the pool of workers.
#[derive(Debug, Clone)]
pub struct KeptShapley {
    /// Its settings.
    pub settings: crate::engine::methods::shapley::TmcSettings,
    /// Its values.
    pub run: crate::engine::methods::shapley::TmcShapley,
    /// Wall-clock milliseconds of the pool's run.
    pub millis: f64,
}

/// A fitted model with its data, its plot frame and the explained point.
pub struct Session {
    title: String,
    standardized: bool,
    /// The training rows' columns and classes (their numbers are the fitted
    /// problem's: standardised, edited).
    columns: Columns,
    /// Test rows (standardised with the training statistics).
    pub test: Design,
    origin: Vec<Option<usize>>,
    removed: Vec<(usize, [f64; 2])>,
    /// The data row (0-based, in the file or built-in dataset) of every training row
    /// before edits, and of every test row.
    pub source_rows: (Vec<usize>, Vec<usize>),
    source: DataSource,
    edits: Edits,
    /// The name of every data row (CSV line, ID, or built-in row).
    names: Vec<RowName>,
    /// What the reader did to the file, in words.
    notes: Vec<Said>,
    /// The training statistics the features were standardised with.
    scaler: Option<Standardizer>,
    frame: Frame,
    /// The training and test rows in plot coordinates.
    train_xy: Vec<[f64; 2]>,
    test_xy: Vec<[f64; 2]>,
    /// The objective, the fit and the factorised Hessian.
    pub fitted: Fitted,
    fit: FitSummary,
    /// The explained point and its exact scores.
    pub explained: Explained,
    /// Its features.
    pub explained_x: Vec<f64>,
    /// Actual leave-one-out change of the explained point's loss, once computed.
    pub actual_loo: Option<Vec<f64>>,
    /// The three ground truths of the explained point, once computed.
    pub truths: Option<TruthsView>,
    /// TMC-Shapley of the explained point run on the pool, for the Methods view.
    pub shapley: Option<KeptShapley>,
    bounds: ([f64; 2], [f64; 2]),
}

/// What the columns of a dataset are, without its rows.
struct Columns {
    feature_names: Vec<String>,
    target_name: String,
    target: Target,
}

impl Columns {
    fn of(data: &Dataset) -> Columns {
        Columns {
            feature_names: data.feature_names.clone(),
            target_name: data.target_name.clone(),
            target: data.target.clone(),
        }
    }
}

/// The data of a source, and what the reader did to them.
struct Loaded {
    data: Dataset,
    title: String,
    /// The name of every data row.
    names: Vec<RowName>,
    /// Columns skipped and rows dropped, in words.
    notes: Vec<Said>,
    /// The uploaded table's row of every data row (uploads only).
    table_rows: Vec<usize>,
}

/// Load the data of a source.
fn load(source: &DataSource, upload: Option<&(String, CsvTable)>) -> Result<Loaded, Said> {
    match source {
        DataSource::Builtin { id, params } => {
            let b = Builtin::from_id(id).ok_or_else(|| Said::new(Text::ErrNoBuiltin).with("id", id))?;
            let data = b.load(params).map_err(|e| e.said())?;
            let names = (1..=data.n()).map(RowName::Row).collect();
            Ok(Loaded { data, title: b.title().to_string(), names, notes: vec![], table_rows: vec![] })
        }
        DataSource::Uploaded(opts) => {
            let (name, table) = upload.ok_or(Said::new(Text::ErrNoUpload))?;
            let in_file = |e: CsvError| e.said_in(name);
            let chosen = choose(table, opts).map_err(in_file)?;
            let spec = ColumnSpec {
                target: opts.target.clone(),
                exclude: chosen.exclude.clone(),
                kind: TargetKind::Auto,
            };
            let mut v = datasets_from_tables(&[&chosen.table], &spec).map_err(|(_, e)| in_file(e))?;
            let data = v.pop().ok_or("the file has no rows")?;
            let mut notes: Vec<Said> = chosen
                .text_columns
                .iter()
                .map(|(c, line, text)| {
                    Said::new(Text::NoteTextColumn).with("c", c).with("line", line).with("text", text)
                })
                .collect();
            if chosen.dropped > 0 {
                notes.push(
                    Said::new(Text::NoteDroppedRows).with("k", chosen.dropped).with("n", table.n_rows()),
                );
            }
            Ok(Loaded { data, title: name.clone(), names: chosen.names, notes, table_rows: chosen.kept })
        }
    }
}

/// Whether `label` is a valid target value for `target`.
fn valid_label(label: f64, target: &Target) -> bool {
    match target {
        Target::Classes { names } => label >= 0.0 && label.fract() == 0.0 && (label as usize) < names.len(),
        Target::Real => label.is_finite(),
    }
}

/// Flip a label to the next class (classifiers only).
fn flipped(y: f64, target: &Target) -> f64 {
    match target {
        Target::Classes { names } => ((y as usize + 1) % names.len().max(1)) as f64,
        Target::Real => y,
    }
}

/// What the edits did: the original row of each training point (`None` for added
/// ones) and the removed rows with their plot position.
struct Edited {
    origin: Vec<Option<usize>>,
    removed: Vec<(usize, [f64; 2])>,
}

/// Apply the edits (in plotted units) to `train`: flip, remove, add.
fn apply_edits(train: &mut Dataset, edits: &Edits, frame: &Frame) -> Result<Edited, Said> {
    if !(edits.added.is_empty() && edits.flipped.is_empty()) && *frame != Frame::Plane {
        return Err("points can be added or flipped only on 2-D data".into());
    }
    if let Some(&(i, c)) = edits
        .relabeled
        .iter()
        .find(|&&(_, c)| !valid_label(c as f64, &train.target) || train.n_classes() == 0)
    {
        return Err(Said::new(Text::ErrRelabel).with("i", i).with("c", c).with("k", train.n_classes()));
    }
    if let Some(a) = edits
        .added
        .iter()
        .find(|a| !valid_label(a.label, &train.target) || !a.xy.iter().all(|v| v.is_finite()))
    {
        return Err(Said::new(Text::ErrAddedPoint).with("label", a.label).with("xy", format!("{:?}", a.xy)));
    }
    for &i in &edits.flipped {
        if let Some(y) = train.y.get_mut(i) {
            *y = flipped(*y, &train.target);
        }
    }
    for &(i, c) in &edits.relabeled {
        if let Some(y) = train.y.get_mut(i) {
            *y = c as f64;
        }
    }
    let n0 = train.n();
    let kept: Vec<usize> = (0..n0).filter(|i| !edits.removed.contains(i)).collect();
    let removed = edits
        .removed
        .iter()
        .filter(|&&i| i < n0)
        .map(|&i| (i, frame.xy(&train.x.row(i).to_vec(), train.y[i])))
        .collect();
    let mut origin: Vec<Option<usize>> = kept.iter().map(|&i| Some(i)).collect();
    *train = train.select(&kept);
    for a in &edits.added {
        let row =
            ndarray::Array2::from_shape_vec((1, 2), a.xy.to_vec()).map_err(|e| Said::from(e.to_string()))?;
        train.x = ndarray::concatenate(Axis(0), &[train.x.view(), row.view()])
            .map_err(|e| Said::from(e.to_string()))?;
        train.y.push(a.label);
        origin.push(None);
    }
    Ok(Edited { origin, removed })
}

impl Session {
    /// Load, split, standardise, edit, fit and explain; `watch` sees the fit's headway
    /// (0 to 1).
    pub fn build(
        spec: &TrainSpec,
        upload: Option<&(String, CsvTable)>,
        watch: &mut dyn FnMut(f64),
    ) -> Result<Session, Said> {
        let Loaded { data, title, names, notes, table_rows: _ } = load(&spec.source, upload)?;
        let source_rows = split_rows(&data, spec.test_fraction, spec.split_seed);
        let n = data.n();
        let (mut train, mut test) = data.into_parts(&source_rows.0, &source_rows.1);
        if test.n() == 0 || train.n() < 2 {
            return Err(Said::new(Text::ErrTooFewRows).with("n", n));
        }
        let scaler = standardize_if(spec.standardize, &mut train, &mut test);
        let frame = Frame::new(&train);
        let Edited { origin, removed } = apply_edits(&mut train, &spec.edits, &frame)?;
        if train.n() < 2 {
            return Err(Said::new(Text::ErrTooFewTraining));
        }
        let (train_xy, test_xy) = (frame.points(&train), frame.points(&test));
        let (columns, test) = (Columns::of(&train), Design::from_owned(test));
        let net = spec.network.map_or(Net::Linear, Net::Mlp);
        let model = ModelSpec {
            kind: spec.model,
            lambda: spec.lambda,
            damping: spec.damping,
            net,
            curvature: spec.curvature,
        };
        let fitted = fit_model(train, &model, watch).map_err(|e| e.said())?;
        let (m, theta) = (&fitted.problem.model, fitted.theta());
        // The problem's rows are the training set's (no second copy of a large upload).
        let (scored_by, train_metric) = metric(m, theta, &fitted.problem.train);
        let (_, test_metric) = metric(m, theta, &test);
        let r = &fitted.report;
        let mut warnings: Vec<Said> = r.warnings.iter().map(FitWarning::said).collect();
        warnings.extend(underfit_warning(m.classes(), net, train_metric, &fitted.problem.train.y));
        let fit = FitSummary {
            model: m.kind,
            iterations: r.iterations,
            grad_norm: r.grad_norm,
            scaled_grad_norm: r.scaled_grad_norm,
            converged: r.converged,
            warnings,
            metric: scored_by,
            train_metric,
            test_metric,
            network: spec.network,
            curvature: spec.curvature,
            spectrum: fitted.spectrum,
            n_params: m.n_params(),
        };
        let all: Vec<[f64; 2]> =
            train_xy.iter().chain(&test_xy).copied().chain(removed.iter().map(|r| r.1)).collect();
        let mut session = Session {
            title,
            standardized: spec.standardize,
            bounds: bounds(&all),
            train_xy,
            test_xy,
            columns,
            test,
            origin,
            removed,
            source_rows,
            source: spec.source.clone(),
            edits: spec.edits.clone(),
            names,
            notes,
            scaler,
            frame,
            fitted,
            fit,
            explained: Explained {
                selection: Selection::Auto,
                xy: [0.0; 2],
                label: 0.0,
                loss: 0.0,
                pred: 0.0,
                pred_loo_dloss: Floats::default(),
                pred_loo_dpred: Floats::default(),
            },
            explained_x: vec![],
            actual_loo: None,
            shapley: None,
            truths: None,
        };
        session.select(&spec.selection)?;
        Ok(session)
    }

    /// The objective.
    pub fn problem(&self) -> &Problem {
        &self.fitted.problem
    }

    /// The fitted parameters.
    pub fn theta(&self) -> &[f64] {
        self.fitted.theta()
    }

    /// The data file with this session's removals and relabels applied, in the
    /// file's own columns and order (built-in data: its features, then the target):
    /// `(file name, CSV text)`. Added points have no row in the file and are left out.
    pub fn cleaned_csv(&self, upload: Option<&(String, CsvTable)>) -> Result<(String, String), Said> {
        let Loaded { data, table_rows, .. } = load(&self.source, upload)?;
        let row = |i: usize| self.source_rows.0.get(i).copied();
        let dropped: std::collections::BTreeSet<usize> =
            self.edits.removed.iter().filter_map(|&i| row(i)).collect();
        let mut label: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
        for &i in &self.edits.flipped {
            if let Some(r) = row(i) {
                let y = label.get(&r).copied().unwrap_or(data.y[r]);
                label.insert(r, flipped(y, &data.target));
            }
        }
        for &(i, c) in &self.edits.relabeled {
            if let Some(r) = row(i) {
                label.insert(r, c as f64);
            }
        }
        // An uploaded file keeps its own delimiter.
        let delimiter = match (&self.source, upload) {
            (DataSource::Uploaded(_), Some((_, table))) => u8::try_from(table.delimiter).unwrap_or(b','),
            _ => b',',
        };
        let mut out = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
        let err = |e: csv::Error| e.to_string();
        let name = match (&self.source, upload) {
            (DataSource::Uploaded(opts), Some((name, table))) => {
                let t = table
                    .headers
                    .iter()
                    .position(|h| *h == opts.target)
                    .ok_or("the target column is gone")?;
                // Data rows back to the file's rows (rows dropped for a missing cell stay).
                let in_table = |set: &mut dyn Iterator<Item = usize>| {
                    set.filter_map(|r| table_rows.get(r).copied()).collect::<std::collections::BTreeSet<_>>()
                };
                let dropped = in_table(&mut dropped.iter().copied());
                let label: std::collections::BTreeMap<usize, f64> =
                    label.iter().filter_map(|(&r, &y)| table_rows.get(r).map(|&t| (t, y))).collect();
                out.write_record(&table.headers).map_err(err)?;
                for (r, rec) in table.rows().enumerate().filter(|(r, _)| !dropped.contains(r)) {
                    let mut cells: Vec<String> = rec.cells().map(str::to_string).collect();
                    if let (Some(&y), Some(cell)) = (label.get(&r), cells.get_mut(t)) {
                        *cell = data.label_text(y);
                    }
                    out.write_record(&cells).map_err(err)?;
                }
                name.trim_end_matches(".csv").to_string()
            }
            (DataSource::Builtin { id, .. }, _) => {
                out.write_record(data.feature_names.iter().chain([&data.target_name])).map_err(err)?;
                for r in (0..data.n()).filter(|r| !dropped.contains(r)) {
                    let y = label.get(&r).copied().unwrap_or(data.y[r]);
                    let target = match data.target {
                        Target::Real => format!("{y}"),
                        Target::Classes { .. } => data.label_text(y),
                    };
                    let cells: Vec<String> =
                        data.x.row(r).iter().map(|v| format!("{v}")).chain([target]).collect();
                    out.write_record(&cells).map_err(err)?;
                }
                id.clone()
            }
            (DataSource::Uploaded(_), None) => {
                return Err("the uploaded file is no longer held; drop it again".into())
            }
        };
        let bytes = out.into_inner().map_err(|e| Said::from(e.to_string()))?;
        Ok((format!("{name}-cleaned.csv"), String::from_utf8(bytes).map_err(|e| Said::from(e.to_string()))?))
    }

    /// The name of training point `i`'s row (`None` for added points).
    pub fn train_row_name(&self, i: usize) -> Option<RowName> {
        let o = self.origin.get(i).copied().flatten()?;
        self.source_rows.0.get(o).and_then(|&r| self.names.get(r)).cloned()
    }

    /// Features as the user wrote them (standardisation undone).
    pub fn raw_features(&self, x: &[f64]) -> Vec<f64> {
        match &self.scaler {
            Some(s) => x.iter().zip(s.mean.iter().zip(&s.scale)).map(|(v, (m, sd))| v * sd + m).collect(),
            None => x.to_vec(),
        }
    }

    /// The factorised curvature and the training gradients.
    pub fn influence(&self) -> &crate::engine::influence::Influence {
        &self.fitted.influence
    }

    /// The damping of the influence.
    pub fn damping(&self) -> f64 {
        self.fitted.influence.damping
    }

    /// A fingerprint of the fitted parameters, the number of training points and the
    /// explained point (FNV-1a over their bits, 53 of them): workers that each compute a block of
    /// one job must agree on it, or the blocks are not mixed.
    pub fn fingerprint(&self) -> u64 {
        let words =
            self.theta().iter().chain(&self.explained_x).chain([&self.explained.label]).map(|v| v.to_bits());
        let words = words.chain([self.n_train() as u64]);
        let hash = words.fold(0xcbf2_9ce4_8422_2325, |h, w| {
            w.to_le_bytes().iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        });
        // 53 bits: it crosses to the page as a JavaScript number.
        hash & ((1 << 53) - 1)
    }

    /// The explained point as a one-row design.
    pub fn explained_design(&self) -> Design {
        Design::new(self.explained_x.len(), self.explained_x.clone(), vec![self.explained.label])
    }

    /// Explain `selection` with the fitted model.
    pub fn select(&mut self, selection: &Selection) -> Result<(), Said> {
        let (x, label, resolved) = match selection {
            Selection::Auto => {
                let losses = self.problem().losses(self.theta(), &self.test);
                let t = crate::engine::evaluate::argmax(&losses);
                (self.test.row(t).to_vec(), self.test.y[t], Selection::Test(t))
            }
            Selection::Test(t) if *t < self.test.n() => {
                (self.test.row(*t).to_vec(), self.test.y[*t], selection.clone())
            }
            Selection::Test(t) => {
                return Err(Said::new(Text::ErrTestPointMissing).with("t", t).with("n", self.test.n()))
            }
            Selection::Query { xy, label } => {
                if self.frame != Frame::Plane {
                    return Err("query points can be placed only on 2-D data".into());
                }
                if !valid_label(*label, &self.columns.target) || !xy.iter().all(|v| v.is_finite()) {
                    return Err("the query point's label or position is not valid".into());
                }
                (xy.to_vec(), *label, selection.clone())
            }
        };
        let design = Design::new(x.len(), x.clone(), vec![label]);
        let scored: TestInfluence = self
            .fitted
            .influence
            .score(self.problem(), &design)
            .map_err(|e| e.said())?
            .pop()
            .ok_or("the point could not be scored")?;
        self.explained = Explained {
            selection: resolved,
            xy: self.frame.xy(&x, label),
            label,
            loss: scored.loss,
            pred: scored.pred,
            pred_loo_dloss: scored.pred_loo_dloss.into(),
            pred_loo_dpred: scored.pred_loo_dpred.into(),
        };
        self.explained_x = x;
        self.actual_loo = None;
        self.truths = None;
        self.shapley = None;
        Ok(())
    }

    /// Predictions `f` (probability of the own label, or `ŷ`) of every row.
    fn predictions(&self, d: &Design) -> Vec<f64> {
        let m = &self.problem().model;
        let (mut work, mut df) = (m.work(), vec![0.0; m.k]);
        (0..d.n())
            .map(|i| {
                let z = m.forward(self.theta(), d.row(i), &mut work);
                m.f_and_df(z, d.y[i], &mut df)
            })
            .collect()
    }

    /// Number of training rows.
    pub fn n_train(&self) -> usize {
        self.problem().n()
    }

    /// What the target is: its classes, or real values.
    pub fn target(&self) -> &Target {
        &self.columns.target
    }

    /// The view the page draws.
    pub fn view(&self) -> TrainedView {
        TrainedView {
            title: self.title.clone(),
            feature_names: self.columns.feature_names.clone(),
            target_name: self.columns.target_name.clone(),
            class_names: self.columns.target.class_names(),
            standardized: self.standardized,
            projection: self.frame.projection(),
            train_xy: self.train_xy.clone().into(),
            train_x: self.problem().train.rows().to_vec().into(),
            train_y: self.problem().train.y.clone().into(),
            train_loss: self.fitted.influence.train_losses.clone().into(),
            train_pred: self.predictions(&self.problem().train).into(),
            train_origin: self.origin.clone().into(),
            removed: self.removed.clone(),
            test_xy: self.test_xy.clone().into(),
            test_y: self.test.y.clone().into(),
            test_loss: self.problem().losses(self.theta(), &self.test).into(),
            test_pred: self.predictions(&self.test).into(),
            fit: self.fit.clone(),
            surface: self.frame.surface(&self.problem().model, self.theta(), self.bounds),
            bounds: self.bounds,
            explained: self.explained.clone(),
            train_names: (0..self.origin.len()).map(|i| self.train_row_name(i)).collect(),
            test_names: self.source_rows.1.iter().map(|&r| self.names.get(r).cloned()).collect(),
            notes: self.notes.clone(),
            scaler: self.scaler.clone(),
        }
    }

    /// A retrainer from the fitted model (an error when the fit did not converge).
    pub fn retrainer(&self) -> Result<Retrainer<'_>, Said> {
        Retrainer::new(self.problem(), self.theta(), &self.fitted.influence, FitOptions::default())
            .map_err(|e| e.said())
    }

    /// Predicted and actual change of the explained point with one weight changed.
    pub fn reweight(&self, index: usize, weight: f64, curve: bool) -> Result<ReweightView, Said> {
        let n = self.n_train();
        if index >= n {
            return Err(Said::new(Text::ErrTrainingPointMissing).with("index", index).with("n", n));
        }
        if !(0.0..=MAX_WEIGHT).contains(&weight) {
            return Err(Said::new(Text::ErrWeightRange).with("weight", weight).with("max", MAX_WEIGHT));
        }
        let mut retrainer = self.retrainer()?;
        let m = &self.problem().model;
        let (x, label) = (&self.explained_x, self.explained.label);
        let mut buf = vec![0.0; m.n_params()];
        let mut refits = RefitStats::default();
        let mut actual_at = |w: f64| -> Result<(f64, f64, Vec<f64>, bool), Said> {
            let r = retrainer.reweight(index, w).map_err(|e| e.said())?;
            refits.add(&r);
            let dl = m.loss(&r.theta, x, label) - self.explained.loss;
            let dp = m.f_and_grad(&r.theta, x, label, &mut buf) - self.explained.pred;
            Ok((dl, dp, r.theta, r.converged))
        };
        let (actual_dloss, actual_dpred, theta, _) = actual_at(weight)?;
        let curve = if curve {
            let mut c = Vec::new();
            for k in 0..=12 {
                let w = k as f64 * 0.25;
                let (actual, _, _, converged) = actual_at(w)?;
                c.push(CurvePoint {
                    weight: w,
                    predicted: (1.0 - w) * self.explained.pred_loo_dloss[index],
                    actual,
                    converged,
                });
            }
            Some(c)
        } else {
            None
        };
        let s = 1.0 - weight;
        Ok(ReweightView {
            index,
            weight,
            predicted_dloss: s * self.explained.pred_loo_dloss[index],
            predicted_dpred: s * self.explained.pred_loo_dpred[index],
            actual_dloss,
            actual_dpred,
            refits,
            curve,
            surface: self.frame.surface(m, &theta, self.bounds),
        })
    }
}

/// Train one view without a service (tests, and one-shot use).
pub fn train(spec: &TrainSpec) -> Result<TrainedView, Said> {
    Session::build(spec, None, &mut |_| {}).map(|s| s.view())
}

/// A linear classifier within 10 percentage points, on its own training data, of always
/// answering the most common class (circles, XOR): say so, and what would fit. (A
/// heuristic threshold: moons' logistic fit is 38 points above it.)
fn underfit_warning(classes: usize, net: Net, train_accuracy: f64, labels: &[f64]) -> Option<Said> {
    if classes == 0 || net != Net::Linear || labels.is_empty() {
        return None;
    }
    let mut counts = vec![0usize; classes];
    labels.iter().for_each(|&y| counts.get_mut(y as usize).into_iter().for_each(|c| *c += 1));
    let majority = counts.iter().copied().max().unwrap_or(0) as f64 / labels.len() as f64;
    (train_accuracy < majority + 0.1).then(|| {
        Said::new(Text::WarnUnderfit)
            .with("acc", format!("{train_accuracy:.2}"))
            .with("majority", format!("{majority:.2}"))
    })
}
