//! The `attrib` command-line tool: the engine on CSV files, JSON out.
//!
//! The command line is declared with clap ([`args`]); every command reads the two
//! files the same way and fits through the one pipeline of the engine
//! ([`crate::engine::pipeline`]): [`influence`] (exact influence, optional actual
//! leave-one-out and reweighting), [`methods`]' `approx`, `lds` and `mislabel`, and
//! [`audit`]'s `audit`, `flip` and `group`.
//! Floats are written in shortest round-trip form. Bad input ends with exit status 2
//! and one line `error: …` naming the file, line and problem; never a panic.

pub mod args;
pub mod audit;
pub mod influence;
pub mod methods;

use crate::engine::data::csv::{
    datasets_from_tables, extra_columns, parse_bytes, ColumnSpec, CsvError, CsvTable, TargetKind,
};
use crate::engine::data::Dataset;
use crate::engine::model::problem::Design;
use crate::engine::model::ModelKind;
use crate::engine::pipeline::{class_names, explain, standardize_if, train_model, Fitted, PipelineError};
use args::{Cli, Command, DataArgs};
use clap::{CommandFactory, Parser};
use std::io::Write;
use std::time::Instant;

/// Everything that stops the CLI, each shown as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad command line.
    #[error("{0} (see attrib --help)")]
    Usage(String),
    /// A method parameter out of range.
    #[error("{flag}: {source} (see attrib --help)")]
    Param {
        /// The flag.
        flag: String,
        /// The problem.
        source: crate::engine::methods::ParamError,
    },
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

/// Loaded data and the fitted model.
pub struct Prepared {
    /// Training rows (standardised if asked).
    pub train: Dataset,
    /// Test rows.
    pub test: Dataset,
    /// Test rows for the hot loops.
    pub design: Design,
    /// The model, its fit and its factorised Hessian.
    pub fitted: Fitted,
    /// Fit time (Newton to θ̂) in milliseconds.
    pub fit_ms: f64,
    /// Time to make ready what influence needs at θ̂ (the Hessian factorised, every
    /// training gradient) in milliseconds.
    pub explain_ms: f64,
    /// Things the user should know about the input (e.g. unused test columns).
    pub warnings: Vec<String>,
}

impl Prepared {
    /// Class names (empty for regression).
    pub fn class_names(&self) -> Vec<String> {
        class_names(&self.train)
    }

    /// Every warning: about the input, then about the fit.
    pub fn all_warnings(&self) -> Vec<String> {
        let fit = self.fitted.report.warnings.iter().map(|w| w.to_string());
        self.warnings.iter().cloned().chain(fit).collect()
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
    let model = a.spec().map_err(CliError::Usage)?;
    let kind = match model.kind {
        Some(ModelKind::Linear) => TargetKind::Real,
        Some(_) => TargetKind::Classes,
        None => TargetKind::Auto,
    };
    let spec = ColumnSpec { target: a.target.clone(), exclude: a.exclude.clone(), kind };
    let tables = [&train_table, &test_table];
    let mut sets = datasets_from_tables(&tables, &spec).map_err(|(t, source)| CliError::Csv {
        path: if t == 0 { a.train.clone() } else { a.test.clone() },
        source,
    })?;
    let warnings = extra_columns(&tables)
        .into_iter()
        .map(|name| {
            format!("{}: the column \"{name}\" is not in the training file, so it is not used", a.test)
        })
        .collect();
    let (Some(mut test), Some(mut train)) = (sets.pop(), sets.pop()) else {
        return Err(CliError::Engine("no data".into()));
    };
    standardize_if(a.standardize, &mut train, &mut test);
    let in_train = |e: PipelineError| CliError::Engine(format!("{}: {e}", a.train));
    let rows = train.clone();
    let t = Instant::now();
    let (problem, report) = train_model(rows, &model, &mut |_| {}).map_err(in_train)?;
    let fit_ms = ms(t);
    let t = Instant::now();
    let fitted = explain(problem, report, &model).map_err(in_train)?;
    let explain_ms = ms(t);
    let design = Design::from_dataset(&test);
    Ok(Prepared { train, test, design, fitted, fit_ms, explain_ms, warnings })
}

/// Run the CLI on `args` (without the program name); output goes to `stdout` unless
/// `--out` is given. Help and version go to `stdout` too.
pub fn run(args: &[String], stdout: &mut dyn Write) -> Result<(), CliError> {
    let io = |path: &str, e: std::io::Error| CliError::Io { path: path.into(), message: e.to_string() };
    let cli = match Cli::try_parse_from(std::iter::once("attrib".to_string()).chain(args.iter().cloned())) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => return write!(stdout, "{e}").map_err(|err| io("stdout", err)),
        Err(e) => return Err(CliError::Usage(one_line(&e))),
    };
    let (text, out) = match cli.command {
        Command::Influence(a) => (serde_json::to_string(&influence::run(&a)?), a.data.out),
        Command::Approx(a) => (serde_json::to_string(&methods::approx(&a)?), a.data.out),
        Command::Lds(a) => (serde_json::to_string(&methods::lds(&a)?), a.data.out),
        Command::Mislabel(a) => (serde_json::to_string(&methods::mislabel(&a)?), a.data.out),
        Command::Audit(a) => (serde_json::to_string(&audit::audit(&a)?), a.data.out),
        Command::Flip(a) => (serde_json::to_string(&audit::flip(&a)?), a.data.out),
        Command::Group(a) => (serde_json::to_string(&audit::group(&a)?), a.data.out),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "attrib", &mut buf);
            return stdout.write_all(&buf).map_err(|e| io("stdout", e));
        }
    };
    let text = text.map_err(CliError::engine)?;
    match out {
        Some(path) => std::fs::write(&path, text + "\n").map_err(|e| io(&path, e)),
        None => writeln!(stdout, "{text}").map_err(|e| io("stdout", e)),
    }
}

/// clap's message on one line, without its `error: ` prefix and usage block.
fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad command line").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
