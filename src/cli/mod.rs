//! The `attrib` command-line tool: the engine on CSV files, JSON out.
//!
//! Commands share the data flags (`--train --test --target --model --l2 --damping
//! --standardize --exclude --out`): [`influence`] (exact influence, optional actual
//! leave-one-out and reweighting), and [`methods`]' `approx`, `lds` and `mislabel`.
//! Floats are written in shortest round-trip form. Bad input ends with exit status 2
//! and one line `error: …` naming the file, line and problem; never a panic.

pub mod flags;
pub mod influence;
pub mod methods;

use crate::engine::data::csv::{
    datasets_from_tables, parse_bytes, ColumnSpec, CsvError, CsvTable, TargetKind,
};
use crate::engine::data::prep::standardize;
use crate::engine::data::{Dataset, Target};
use crate::engine::fit::{fit, FitOptions, FitReport};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::model::{Model, ModelKind};
use flags::Flags;
use std::io::Write;
use std::time::Instant;

/// The help text (`attrib --help`).
pub const HELP: &str = "\
attrib: influence functions, their approximations and real retraining, for small models

USAGE:
    attrib influence --train T.csv --test S.csv --target COL [DATA] [--loo] [--reweight-eps E]
    attrib approx    --train T.csv --test S.csv --target COL [DATA] [--methods LIST] [METHOD PARAMS] [--loo]
    attrib lds       --train T.csv --test S.csv --target COL [DATA] [--methods LIST] [--subsets M] [--alpha A] [--seed S]
    attrib mislabel  --train T.csv --test S.csv --target COL [DATA] [--flip-fraction F] [--seed S]

Conventions (Koh & Liang 2017): pred_loo_dloss[t][i] is the predicted change of test
point t's loss when training point i is removed; positive means i helps t. Every
method's scores are oriented the same way (larger = more helpful).

DATA:
    --train FILE         training CSV (header row; comma, semicolon or tab)
    --test FILE          test CSV with the same feature columns and the target
    --target COL         name of the target column
    --model M            logistic | softmax | linear (default: from the target:
                         two classes logistic, more softmax, numbers linear)
    --l2 L               L2 strength lambda on the weights, (lambda/2)||W||^2 (default 0.01)
    --damping D          add D*I to the Hessian for influence (default 0)
    --standardize        z-score features with training statistics (default: as given)
    --exclude COL        drop a column (repeatable)
    --out FILE           write the JSON to FILE instead of standard output

influence:
    --loo                also retrain without each training point (actual_loo_*)
    --reweight-eps E     also predict and retrain with each point's weight 1 + E*n

approx (scores of each method, with their agreement with exact influence):
    --methods LIST       comma-separated, from: cg, lissa, arnoldi, tracin, representer,
                         grad_dot, grad_cos, trak, knn_shapley, tmc_shapley
                         (default: every one but tmc_shapley, which retrains a lot)
    --loo                also compare every method with actual leave-one-out
    --top-k K            size of the top-k overlap (default 10)
    --cg-tol T           CG relative residual (default 1e-10)
    --cg-max-iter N      CG steps (default 1000)
    --lissa-depth J      LiSSA recursion depth (default 200)
    --lissa-repeats R    LiSSA repeats averaged (default 4)
    --lissa-scale S      LiSSA scale (default: 2x the largest Hessian eigenvalue)
    --lissa-batch B      LiSSA mini-batch size (default 64)
    --lissa-seed S       LiSSA seed (default 0)
    --arnoldi-k K        Arnoldi eigenpairs kept (default 10)
    --arnoldi-seed S     Arnoldi start seed (default 0)
    --tracin-lr R        TracIn learning rate (default 0.5)
    --tracin-epochs E    TracIn epochs = checkpoints (default 20)
    --tracin-batch B     TracIn mini-batch size (default 32)
    --tracin-seed S      TracIn seed (default 0)
    --trak-k K           TRAK projection dimension (default 20)
    --trak-seed S        TRAK projection seed (default 0)
    --knn-k K            KNN-Shapley neighbours (default 5)
    --shapley-permutations M  TMC-Shapley permutations (default 20)
    --shapley-truncation T    TMC-Shapley truncation tolerance (default 1e-3)
    --shapley-seed S     TMC-Shapley seed (default 0)

lds (linear datamodeling score of exact influence and the chosen methods):
    --subsets M          retrained subsets (default 50)
    --alpha A            subset fraction (default 0.5)
    --seed S             subset seed (default 0)
    (and the method flags of approx)

mislabel (flip labels, rank by self-scores, report found-vs-checked curves and AUC):
    --flip-fraction F    fraction of training labels flipped (default 0.1)
    --seed S             flip seed (default 0)

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
    /// The model, fit, Hessian or a method failed.
    #[error("{0}")]
    Engine(String),
}

impl CliError {
    /// An engine error from anything displayable.
    pub fn engine(e: impl std::fmt::Display) -> Self {
        CliError::Engine(e.to_string())
    }
}

/// The data flags every command shares.
#[derive(Debug, Clone, PartialEq)]
pub struct DataArgs {
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
}

/// The flags of [`DataArgs`], plus `--out`.
pub const DATA_FLAGS: [&str; 9] =
    ["--train", "--test", "--target", "--model", "--l2", "--damping", "--exclude", "--out", "--standardize"];

impl DataArgs {
    /// Read the data flags.
    pub fn from_flags(f: &Flags) -> Result<Self, CliError> {
        let model = match f.string("--model") {
            Some(v) => Some(ModelKind::from_id(&v).ok_or_else(|| {
                CliError::Usage(format!("--model: \"{v}\" is not logistic, softmax or linear"))
            })?),
            None => None,
        };
        let a = DataArgs {
            train: f.required("--train")?,
            test: f.required("--test")?,
            target: f.required("--target")?,
            model,
            l2: f.f64("--l2", 0.01)?,
            damping: f.f64("--damping", 0.0)?,
            standardize: f.switch("--standardize"),
            exclude: f.all("--exclude"),
        };
        if a.l2 < 0.0 || a.damping < 0.0 {
            return Err(CliError::Usage("--l2 and --damping must be ≥ 0".into()));
        }
        Ok(a)
    }
}

/// Loaded data and the fitted model.
pub struct Prepared {
    /// Training rows (standardised if asked).
    pub train: Dataset,
    /// Test rows.
    pub test: Dataset,
    /// Test rows for the hot loops.
    pub design: Design,
    /// The objective.
    pub problem: Problem,
    /// The fit.
    pub report: FitReport,
    /// Fit time in milliseconds.
    pub fit_ms: f64,
}

impl Prepared {
    /// Class names (empty for regression).
    pub fn class_names(&self) -> Vec<String> {
        match &self.train.target {
            Target::Classes { names } => names.clone(),
            Target::Real => vec![],
        }
    }
}

fn read(path: &str) -> Result<CsvTable, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Io { path: path.into(), message: e.to_string() })?;
    parse_bytes(&bytes).map_err(|source| CliError::Csv { path: path.into(), source })
}

/// Milliseconds since `t`.
pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Read both files with one class mapping, standardise if asked, and fit.
pub fn prepare(a: &DataArgs) -> Result<Prepared, CliError> {
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
    let (Some(mut test), Some(mut train)) = (sets.pop(), sets.pop()) else {
        return Err(CliError::Engine("no data".into()));
    };
    if a.standardize {
        standardize(&mut train, &mut test);
    }
    let kind = a.model.unwrap_or_else(|| ModelKind::for_classes(train.n_classes()));
    let model = Model::new(kind, train.d(), train.n_classes()).map_err(CliError::engine)?;
    let problem = Problem::new(model, &train, a.l2).map_err(CliError::engine)?;
    let t = Instant::now();
    let report = fit(&problem, None, &FitOptions::default()).map_err(CliError::engine)?;
    let fit_ms = ms(t);
    let design = Design::from_dataset(&test);
    Ok(Prepared { train, test, design, problem, report, fit_ms })
}

/// Run the CLI on `args` (without the program name); output goes to `stdout` unless
/// `--out` is given.
pub fn run(args: &[String], stdout: &mut dyn Write) -> Result<(), CliError> {
    let io = |path: &str, e: std::io::Error| CliError::Io { path: path.into(), message: e.to_string() };
    let Some(command) = args.first().map(String::as_str) else {
        return stdout.write_all(HELP.as_bytes()).map_err(|e| io("stdout", e));
    };
    let rest = &args[1..];
    let json = match command {
        "-h" | "--help" | "help" => return stdout.write_all(HELP.as_bytes()).map_err(|e| io("stdout", e)),
        "influence" => {
            let f = Flags::parse(rest, &[&DATA_FLAGS, &influence::FLAGS])?;
            if f.switch("--help") {
                return stdout.write_all(HELP.as_bytes()).map_err(|e| io("stdout", e));
            }
            (serde_json::to_string(&influence::run(&f)?), f.string("--out"))
        }
        "approx" | "lds" | "mislabel" => {
            let f = Flags::parse(rest, &[&DATA_FLAGS, &methods::FLAGS])?;
            if f.switch("--help") {
                return stdout.write_all(HELP.as_bytes()).map_err(|e| io("stdout", e));
            }
            let value = match command {
                "approx" => serde_json::to_string(&methods::approx(&f)?),
                "lds" => serde_json::to_string(&methods::lds(&f)?),
                _ => serde_json::to_string(&methods::mislabel(&f)?),
            };
            (value, f.string("--out"))
        }
        other => return Err(CliError::Usage(format!("unknown command \"{other}\""))),
    };
    let (text, out) = json;
    let text = text.map_err(CliError::engine)?;
    match out {
        Some(path) => std::fs::write(&path, text + "\n").map_err(|e| io(&path, e)),
        None => writeln!(stdout, "{text}").map_err(|e| io("stdout", e)),
    }
}
