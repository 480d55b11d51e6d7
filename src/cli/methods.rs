//! `attrib approx`, `attrib lds` and `attrib mislabel`: every method's scores with
//! their agreement with exact influence (and, with `--loo`, with actual leave-one-out),
//! the linear datamodeling score, and mislabel detection.

use super::flags::Flags;
use super::{ms, prepare, CliError, DataArgs, Prepared};
use crate::engine::evaluate::Agreement;
use crate::engine::evaluate::{
    agreement, detection_curve, lds as lds_score, lds_refits, mislabel_experiment,
};
use crate::engine::fit::FitOptions;
use crate::engine::influence::Influence;
use crate::engine::methods::ihvp::LissaParams;
use crate::engine::methods::peers::TracInParams;
use crate::engine::methods::{self, MethodError, MethodParams, Scores, NAMES};
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, Retrainer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Flags of `approx`, `lds` and `mislabel` besides [`DATA_FLAGS`](super::DATA_FLAGS).
pub const FLAGS: [&str; 25] = [
    "--methods",
    "--top-k",
    "--cg-tol",
    "--cg-max-iter",
    "--lissa-depth",
    "--lissa-repeats",
    "--lissa-scale",
    "--lissa-batch",
    "--lissa-seed",
    "--arnoldi-k",
    "--arnoldi-seed",
    "--tracin-lr",
    "--tracin-epochs",
    "--tracin-batch",
    "--tracin-seed",
    "--trak-k",
    "--trak-seed",
    "--knn-k",
    "--shapley-permutations",
    "--shapley-truncation",
    "--shapley-seed",
    "--subsets",
    "--alpha",
    "--seed",
    "--flip-fraction",
];

fn chosen_methods(f: &Flags) -> Result<Vec<String>, CliError> {
    let list = match f.string("--methods") {
        Some(v) => v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        None => NAMES.iter().filter(|m| **m != "tmc_shapley").map(|m| m.to_string()).collect::<Vec<_>>(),
    };
    for m in &list {
        if !NAMES.contains(&m.as_str()) {
            return Err(CliError::Usage(format!(
                "--methods: unknown method \"{m}\" (known: {})",
                NAMES.join(", ")
            )));
        }
    }
    Ok(list)
}

/// The methods' parameters from the flags (defaults as documented in the help).
fn method_params(f: &Flags) -> Result<MethodParams, CliError> {
    let d = MethodParams::default();
    let scale = match f.string("--lissa-scale") {
        Some(_) => Some(f.f64("--lissa-scale", 1.0)?),
        None => None,
    };
    Ok(MethodParams {
        cg_tol: f.f64("--cg-tol", d.cg_tol)?,
        cg_max_iter: f.usize("--cg-max-iter", d.cg_max_iter)?,
        lissa: LissaParams {
            depth: f.usize("--lissa-depth", d.lissa.depth)?,
            repeats: f.usize("--lissa-repeats", d.lissa.repeats)?,
            scale: scale.unwrap_or(d.lissa.scale),
            damping: 0.0,
            batch: f.usize("--lissa-batch", d.lissa.batch)?,
            seed: f.seed("--lissa-seed", d.lissa.seed)?,
        },
        lissa_scale_factor: if scale.is_some() { None } else { d.lissa_scale_factor },
        arnoldi_k: f.usize("--arnoldi-k", d.arnoldi_k)?,
        arnoldi_seed: f.seed("--arnoldi-seed", d.arnoldi_seed)?,
        tracin: TracInParams {
            lr: f.f64("--tracin-lr", d.tracin.lr)?,
            epochs: f.usize("--tracin-epochs", d.tracin.epochs)?,
            batch: f.usize("--tracin-batch", d.tracin.batch)?,
            seed: f.seed("--tracin-seed", d.tracin.seed)?,
        },
        trak_k: f.usize("--trak-k", d.trak_k)?,
        trak_seed: f.seed("--trak-seed", d.trak_seed)?,
        knn_k: f.usize("--knn-k", d.knn_k)?,
        shapley_permutations: f.usize("--shapley-permutations", d.shapley_permutations)?,
        shapley_truncation: f.f64("--shapley-truncation", d.shapley_truncation)?,
        shapley_seed: f.seed("--shapley-seed", d.shapley_seed)?,
    })
}

fn run_method(name: &str, params: &MethodParams, p: &Prepared, damping: f64) -> Result<Scores, MethodError> {
    methods::run(name, &p.problem, &p.report.theta, &p.design, damping, params)
}

fn exact_scores(p: &Prepared, damping: f64) -> Result<(Influence, Vec<Vec<f64>>), CliError> {
    let inf = Influence::new(&p.problem, &p.report.theta, damping).map_err(CliError::engine)?;
    let s = inf.score(&p.problem, &p.design).into_iter().map(|t| t.pred_loo_dloss).collect();
    Ok((inf, s))
}

/// One method's result in `approx`.
#[derive(Debug, Serialize)]
pub struct MethodOutput {
    /// `scores[t][i]`, oriented like pred_loo_dloss (absent on error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<Vec<f64>>>,
    /// Why the method gave no scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Convergence trace (CG residuals, LiSSA changes, TracIn training loss).
    pub trace: Vec<f64>,
    /// Monte Carlo standard error per score (TMC-Shapley).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_error: Option<Vec<Vec<f64>>>,
    /// Wall-clock milliseconds.
    pub millis: f64,
    /// Agreement with exact influence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_exact: Option<Agreement>,
    /// Agreement with actual leave-one-out (`--loo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_loo: Option<Agreement>,
}

/// The document of `attrib approx`.
#[derive(Debug, Serialize)]
pub struct ApproxOutput {
    /// Training rows.
    pub n_train: usize,
    /// Test rows.
    pub n_test: usize,
    /// Exact influence `pred_loo_dloss[t][i]`.
    pub exact: Vec<Vec<f64>>,
    /// Actual leave-one-out `actual_loo_dloss[t][i]` (`--loo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_loo: Option<Vec<Vec<f64>>>,
    /// Agreement of exact influence with actual leave-one-out (`--loo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_vs_loo: Option<Agreement>,
    /// Per method.
    pub methods: BTreeMap<String, MethodOutput>,
}

/// `attrib approx`.
pub fn approx(f: &Flags) -> Result<ApproxOutput, CliError> {
    let a = DataArgs::from_flags(f)?;
    let methods = chosen_methods(f)?;
    let k = f.usize("--top-k", 10)?;
    let params = method_params(f)?;
    let p = prepare(&a)?;
    let (inf, exact) = exact_scores(&p, a.damping)?;
    let actual_loo = if f.switch("--loo") {
        let mut r = Retrainer::new(&p.problem, &p.report.theta, &inf, FitOptions::default());
        let refits = r.leave_each_out(&mut Silent).map_err(CliError::engine)?;
        Some(actual_changes(&p.problem, &p.report.theta, &refits, &p.design).dloss)
    } else {
        None
    };
    let mut out = BTreeMap::new();
    for name in &methods {
        let t = Instant::now();
        let result = run_method(name, &params, &p, a.damping);
        let millis = ms(t);
        out.insert(
            name.clone(),
            match result {
                Ok(s) => MethodOutput {
                    agreement_exact: Some(agreement(&s.scores, &exact, k)),
                    agreement_loo: actual_loo.as_ref().map(|l| agreement(&s.scores, l, k)),
                    scores: Some(s.scores),
                    error: None,
                    trace: s.trace,
                    std_error: s.std_error,
                    millis,
                },
                Err(e) => MethodOutput {
                    scores: None,
                    error: Some(e.to_string()),
                    trace: vec![],
                    std_error: None,
                    millis,
                    agreement_exact: None,
                    agreement_loo: None,
                },
            },
        );
    }
    Ok(ApproxOutput {
        n_train: p.train.n(),
        n_test: p.test.n(),
        exact_vs_loo: actual_loo.as_ref().map(|l| agreement(&exact, l, k)),
        exact,
        actual_loo,
        methods: out,
    })
}

/// The document of `attrib lds`.
#[derive(Debug, Serialize)]
pub struct LdsOutput {
    /// Subsets retrained.
    pub subsets: usize,
    /// Their fraction.
    pub alpha: f64,
    /// Their seed.
    pub seed: u64,
    /// Milliseconds of the refits.
    pub refit_millis: f64,
    /// LDS per method (`exact` included); absent when a method failed.
    pub lds: BTreeMap<String, Option<f64>>,
    /// Why a method failed.
    pub errors: BTreeMap<String, String>,
}

/// `attrib lds`.
pub fn lds(f: &Flags) -> Result<LdsOutput, CliError> {
    let a = DataArgs::from_flags(f)?;
    let methods = chosen_methods(f)?;
    let (m, alpha, seed) = (f.usize("--subsets", 50)?, f.f64("--alpha", 0.5)?, f.seed("--seed", 0)?);
    if !(0.0..=1.0).contains(&alpha) || m < 2 {
        return Err(CliError::Usage("--alpha must be in [0, 1] and --subsets at least 2".into()));
    }
    let params = method_params(f)?;
    let p = prepare(&a)?;
    let (_, exact) = exact_scores(&p, a.damping)?;
    let t = Instant::now();
    let refits = lds_refits(&p.problem, &p.report.theta, &p.design, m, alpha, seed, &mut Silent)
        .map_err(CliError::engine)?;
    let refit_millis = ms(t);
    let mut values = BTreeMap::from([("exact".to_string(), lds_score(&refits, &exact))]);
    let mut errors = BTreeMap::new();
    for name in &methods {
        match run_method(name, &params, &p, a.damping) {
            Ok(s) => {
                values.insert(name.clone(), lds_score(&refits, &s.scores));
            }
            Err(e) => {
                errors.insert(name.clone(), e.to_string());
            }
        }
    }
    Ok(LdsOutput { subsets: m, alpha, seed, refit_millis, lds: values, errors })
}

/// One ranking in `attrib mislabel`.
#[derive(Debug, Serialize)]
pub struct Detection {
    /// Area under found-vs-checked.
    pub auc: f64,
    /// `[fraction checked, fraction of flipped labels found]`.
    pub curve: Vec<[f64; 2]>,
}

/// The document of `attrib mislabel`.
#[derive(Debug, Serialize)]
pub struct MislabelOutput {
    /// Fraction flipped.
    pub flip_fraction: f64,
    /// Flip seed.
    pub seed: u64,
    /// Training rows whose label was flipped.
    pub flipped: Vec<usize>,
    /// Best possible area for this fraction (1 − fraction/2).
    pub best_auc: f64,
    /// Per ranking: self_influence, train_loss, grad_dot (‖g_i‖²), tracin (self), random.
    pub rankings: BTreeMap<String, Detection>,
}

/// `attrib mislabel`.
pub fn mislabel(f: &Flags) -> Result<MislabelOutput, CliError> {
    let a = DataArgs::from_flags(f)?;
    let (fraction, seed) = (f.f64("--flip-fraction", 0.1)?, f.seed("--seed", 0)?);
    let p = prepare(&a)?;
    let e = mislabel_experiment(
        &p.problem,
        p.train.n_classes(),
        fraction,
        seed,
        a.damping,
        &method_params(f)?.tracin,
    )
    .map_err(CliError::engine)?;
    let flipped = e.flipped;
    let rankings = e
        .rankings
        .into_iter()
        .map(|(name, s)| {
            let (curve, auc) = detection_curve(&s, &flipped);
            (name.to_string(), Detection { auc, curve })
        })
        .collect();
    Ok(MislabelOutput {
        flip_fraction: fraction,
        seed,
        flipped: flipped.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect(),
        best_auc: 1.0 - fraction / 2.0,
        rankings,
    })
}
