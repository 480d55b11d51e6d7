//! The `attrib` command-line tool: the engine on CSV files, JSON out.
//!
//! `attrib influence --train T.csv --test S.csv --target COL [--model M] --l2 L
//! [--damping D] [--standardize] [--exclude COL]... [--loo] [--reweight-eps E]
//! [--out FILE]` fits the model and writes every number of the conventions as JSON
//! (floats in shortest round-trip form). Bad input ends with exit status 2 and one
//! line `error: …` naming the file, line and problem; never a panic.

use crate::engine::data::csv::{datasets_from_tables, parse_bytes, ColumnSpec, CsvError, TargetKind};
use crate::engine::data::prep::standardize;
use crate::engine::data::Target;
use crate::engine::fit::{fit, FitOptions};
use crate::engine::influence::Influence;
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{Model, ModelKind};
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, Refit, Retrainer};
use serde::Serialize;
use std::io::Write;
use std::time::Instant;

/// The help text (`attrib --help`).
pub const HELP: &str = "\
attrib: influence functions and real retraining for small models

USAGE:
    attrib influence --train T.csv --test S.csv --target COL [OPTIONS]

Fits the model on the training file (Newton, to a gradient below 1e-10) and writes,
as JSON, the influence of every training point on every test point, with the
conventions of Koh & Liang (2017): pred_loo_dloss[t][i] is the predicted change of
test point t's loss when training point i is removed (positive: i helps t).

OPTIONS:
    --train FILE         training CSV (header row; comma, semicolon or tab)
    --test FILE          test CSV with the same feature columns and the target
    --target COL         name of the target column
    --model M            logistic | softmax | linear (default: from the target:
                         two classes logistic, more softmax, numbers linear)
    --l2 L               L2 strength lambda on the weights, (lambda/2)||W||^2 (default 0.01)
    --damping D          add D*I to the Hessian for influence (default 0)
    --standardize        z-score features with training statistics (default: as given)
    --exclude COL        drop a column (repeatable)
    --loo                also retrain without each training point (actual_loo_*)
    --reweight-eps E     also predict and retrain with each point's weight 1 + E*n
    --out FILE           write the JSON to FILE instead of standard output
    -h, --help           print this help

EXIT STATUS: 0 on success, 2 on bad input (one line `error: ...` on stderr).
";

/// Everything that stops the CLI, each shown as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad command line.
    #[error("{0} (see attrib --help)")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A CSV problem, with the file it is in.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// The problem.
        source: CsvError,
    },
    /// The model, fit or Hessian failed.
    #[error("{0}")]
    Engine(String),
}

/// Parsed `attrib influence` options.
#[derive(Debug, Clone, PartialEq)]
pub struct InfluenceArgs {
    /// Training CSV path.
    pub train: String,
    /// Test CSV path.
    pub test: String,
    /// Target column.
    pub target: String,
    /// Model, or `None` for automatic.
    pub model: Option<ModelKind>,
    /// L2 strength.
    pub l2: f64,
    /// Hessian damping.
    pub damping: f64,
    /// Standardise features.
    pub standardize: bool,
    /// Columns to drop.
    pub exclude: Vec<String>,
    /// Compute actual leave-one-out.
    pub loo: bool,
    /// Reweighting ε, if requested.
    pub reweight_eps: Option<f64>,
    /// Output path.
    pub out: Option<String>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Print the help.
    Help,
    /// `attrib influence`.
    Influence(InfluenceArgs),
}

fn number(flag: &str, value: &str) -> Result<f64, CliError> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(CliError::Usage(format!("{flag}: \"{value}\" is not a finite number"))),
    }
}

/// Parse the arguments after the program name.
pub fn parse_args(args: &[String]) -> Result<Command, CliError> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("influence") => {}
        Some(other) => return Err(CliError::Usage(format!("unknown command \"{other}\""))),
    }
    let mut a = InfluenceArgs {
        train: String::new(),
        test: String::new(),
        target: String::new(),
        model: None,
        l2: 0.01,
        damping: 0.0,
        standardize: false,
        exclude: vec![],
        loo: false,
        reweight_eps: None,
        out: None,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| CliError::Usage(format!("{flag} needs a value")));
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--train" => a.train = value()?,
            "--test" => a.test = value()?,
            "--target" => a.target = value()?,
            "--model" => {
                let v = value()?;
                a.model = Some(ModelKind::from_id(&v).ok_or_else(|| {
                    CliError::Usage(format!("--model: \"{v}\" is not logistic, softmax or linear"))
                })?);
            }
            "--l2" => a.l2 = number(flag, &value()?)?,
            "--damping" => a.damping = number(flag, &value()?)?,
            "--reweight-eps" => a.reweight_eps = Some(number(flag, &value()?)?),
            "--exclude" => a.exclude.push(value()?),
            "--out" => a.out = Some(value()?),
            "--standardize" => a.standardize = true,
            "--loo" => a.loo = true,
            other => return Err(CliError::Usage(format!("unknown option \"{other}\""))),
        }
    }
    for (flag, v) in [("--train", &a.train), ("--test", &a.test), ("--target", &a.target)] {
        if v.is_empty() {
            return Err(CliError::Usage(format!("{flag} is required")));
        }
    }
    if a.l2 < 0.0 || a.damping < 0.0 {
        return Err(CliError::Usage("--l2 and --damping must be ≥ 0".into()));
    }
    Ok(Command::Influence(a))
}

/// Per-test-point output.
#[derive(Debug, Serialize)]
pub struct TestOutput {
    /// Row of the test file (0-based).
    pub index: usize,
    /// Test loss at θ̂.
    pub loss: f64,
    /// Test prediction f_t.
    pub pred: f64,
    /// Predicted change of the loss when each training point is removed.
    pub pred_loo_dloss: Vec<f64>,
    /// Predicted change of f_t when each training point is removed.
    pub pred_loo_dpred: Vec<f64>,
    /// Actual change of the loss when each training point is removed (`--loo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_loo_dloss: Option<Vec<f64>>,
    /// Actual change of f_t when each training point is removed (`--loo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_loo_dpred: Option<Vec<f64>>,
    /// Predicted change of the loss with each weight set to 1 + εn (`--reweight-eps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pred_reweight_dloss: Option<Vec<f64>>,
    /// Actual change of the loss with each weight set to 1 + εn (`--reweight-eps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_reweight_dloss: Option<Vec<f64>>,
}

/// Wall-clock times of the phases, in milliseconds.
#[derive(Debug, Serialize)]
pub struct Timings {
    /// Fitting.
    pub fit: f64,
    /// Factorising H and scoring every pair.
    pub influence: f64,
    /// Leave-one-out refits (0 without `--loo`).
    pub loo: f64,
    /// Reweighting refits (0 without `--reweight-eps`).
    pub reweight: f64,
}

/// The JSON document of `attrib influence`.
#[derive(Debug, Serialize)]
pub struct InfluenceOutput {
    /// Model used.
    pub model: ModelKind,
    /// L2 strength.
    pub l2: f64,
    /// Hessian damping.
    pub damping: f64,
    /// Whether features were standardised.
    pub standardized: bool,
    /// Feature names, in parameter order.
    pub feature_names: Vec<String>,
    /// Class names (index = class id); empty for regression.
    pub class_names: Vec<String>,
    /// Training rows.
    pub n_train: usize,
    /// Test rows.
    pub n_test: usize,
    /// Parameters.
    pub n_params: usize,
    /// Fitted parameters (row-major K × (d+1), bias last).
    pub theta: Vec<f64>,
    /// Newton iterations.
    pub iterations: usize,
    /// Final ‖∇R‖∞.
    pub grad_norm: f64,
    /// Whether the fit reached 1e-10.
    pub converged: bool,
    /// Warnings in words.
    pub warnings: Vec<String>,
    /// g_iᵀ H⁻¹ g_i for every training point.
    pub self_influence: Vec<f64>,
    /// Training losses at θ̂.
    pub train_loss: Vec<f64>,
    /// Phase timings.
    pub timings_ms: Timings,
    /// One entry per test row.
    pub test: Vec<TestOutput>,
}

fn read(path: &str) -> Result<crate::engine::data::csv::CsvTable, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Io { path: path.into(), message: e.to_string() })?;
    parse_bytes(&bytes).map_err(|source| CliError::Csv { path: path.into(), source })
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Run `attrib influence` and return its output document.
pub fn influence(a: &InfluenceArgs) -> Result<InfluenceOutput, CliError> {
    let (train_table, test_table) = (read(&a.train)?, read(&a.test)?);
    let kind = match a.model {
        Some(ModelKind::Linear) => TargetKind::Real,
        Some(_) => TargetKind::Classes,
        None => TargetKind::Auto,
    };
    let spec = ColumnSpec { target: a.target.clone(), exclude: a.exclude.clone(), kind };
    let mut sets = datasets_from_tables(&[&train_table, &test_table], &spec).map_err(|(t, source)| {
        CliError::Csv { path: if t == 0 { a.train.clone() } else { a.test.clone() }, source }
    })?;
    let (mut test, mut train) = match (sets.pop(), sets.pop()) {
        (Some(test), Some(train)) => (test, train),
        _ => return Err(CliError::Engine("no data".into())),
    };
    if a.standardize {
        standardize(&mut train, &mut test);
    }
    let engine = |e: &dyn std::fmt::Display| CliError::Engine(e.to_string());
    let model_kind = a.model.unwrap_or_else(|| ModelKind::for_classes(train.n_classes()));
    let model = Model::new(model_kind, train.d(), train.n_classes()).map_err(|e| engine(&e))?;
    let problem = Problem::new(model, &train, a.l2).map_err(|e| engine(&e))?;

    let t = Instant::now();
    let report = fit(&problem, None, &FitOptions::default()).map_err(|e| engine(&e))?;
    let fit_ms = ms(t);

    let t = Instant::now();
    let influence = Influence::new(&problem, &report.theta, a.damping).map_err(|e| engine(&e))?;
    let design = Design::from_dataset(&test);
    let scores = influence.score(&problem, &design);
    let self_influence = influence.self_influence();
    let influence_ms = ms(t);

    let mut retrainer = Retrainer::new(&problem, &report.theta, &influence, FitOptions::default());
    let t = Instant::now();
    let loo = if a.loo {
        let refits = retrainer.leave_each_out(&mut Silent).map_err(|e| engine(&e))?;
        Some(actual_changes(&problem, &report.theta, &refits, &design))
    } else {
        None
    };
    let loo_ms = ms(t);

    let t = Instant::now();
    let reweight = match a.reweight_eps {
        Some(eps) => {
            let w = 1.0 + eps * problem.n() as f64;
            let refits: Vec<Refit> = (0..problem.n())
                .map(|i| retrainer.reweight(i, w))
                .collect::<Result<_, _>>()
                .map_err(|e| engine(&e))?;
            Some((w, actual_changes(&problem, &report.theta, &refits, &design)))
        }
        None => None,
    };
    let reweight_ms = ms(t);

    let test_out = scores
        .into_iter()
        .enumerate()
        .map(|(t, s)| {
            let pred_reweight =
                reweight.as_ref().map(|(w, _)| (0..problem.n()).map(|i| s.reweight(i, *w).0).collect());
            TestOutput {
                index: t,
                loss: s.loss,
                pred: s.pred,
                actual_loo_dloss: loo.as_ref().map(|l| l.dloss[t].clone()),
                actual_loo_dpred: loo.as_ref().map(|l| l.dpred[t].clone()),
                pred_reweight_dloss: pred_reweight,
                actual_reweight_dloss: reweight.as_ref().map(|(_, r)| r.dloss[t].clone()),
                pred_loo_dloss: s.pred_loo_dloss,
                pred_loo_dpred: s.pred_loo_dpred,
            }
        })
        .collect();
    Ok(InfluenceOutput {
        model: model_kind,
        l2: a.l2,
        damping: a.damping,
        standardized: a.standardize,
        feature_names: train.feature_names.clone(),
        class_names: match &train.target {
            Target::Classes { names } => names.clone(),
            Target::Real => vec![],
        },
        n_train: train.n(),
        n_test: test.n(),
        n_params: problem.n_params(),
        theta: report.theta.clone(),
        iterations: report.iterations,
        grad_norm: report.grad_norm,
        converged: report.converged,
        warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
        self_influence,
        train_loss: influence.train_losses.clone(),
        timings_ms: Timings { fit: fit_ms, influence: influence_ms, loo: loo_ms, reweight: reweight_ms },
        test: test_out,
    })
}

/// Run the CLI on `args` (without the program name); output goes to `stdout` unless
/// `--out` is given.
pub fn run(args: &[String], stdout: &mut dyn Write) -> Result<(), CliError> {
    match parse_args(args)? {
        Command::Help => stdout
            .write_all(HELP.as_bytes())
            .map_err(|e| CliError::Io { path: "stdout".into(), message: e.to_string() }),
        Command::Influence(a) => {
            let out = influence(&a)?;
            let json = serde_json::to_string(&out).map_err(|e| CliError::Engine(e.to_string()))?;
            match &a.out {
                Some(path) => std::fs::write(path, json + "\n")
                    .map_err(|e| CliError::Io { path: path.clone(), message: e.to_string() }),
                None => writeln!(stdout, "{json}")
                    .map_err(|e| CliError::Io { path: "stdout".into(), message: e.to_string() }),
            }
        }
    }
}
