//! `attrib approx`, `attrib lds` and `attrib mislabel`: every method's scores with
//! their agreement with exact influence (and, with `--loo`, with actual leave-one-out),
//! the linear datamodeling score, and mislabel detection.

use super::flags::Flags;
use super::{ms, prepare, CliError, DataArgs, Prepared, DATA_FLAGS};
use crate::engine::evaluate::Agreement;
use crate::engine::evaluate::{
    agreement, detection_curve, flip_labels, lds as lds_score, lds_refits, refit_flipped,
};
use crate::engine::fit::FitOptions;
use crate::engine::influence::Influence;
use crate::engine::methods::ihvp::{largest_eigenvalue, scores as ihvp_scores, Ihvp, LissaParams};
use crate::engine::methods::peers::{gradient_similarity, representer, tracin, trak, TracInParams};
use crate::engine::methods::shapley::{knn_shapley, tmc_shapley};
use crate::engine::methods::{MethodError, Scores};
use crate::engine::model::problem::{Design, Problem};
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, Retrainer};
use crate::engine::rng::Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Every method `approx` and `lds` know.
pub const METHODS: [&str; 10] = [
    "cg",
    "lissa",
    "arnoldi",
    "tracin",
    "representer",
    "grad_dot",
    "grad_cos",
    "trak",
    "knn_shapley",
    "tmc_shapley",
];

/// Flags of `approx`, `lds` and `mislabel`.
pub const FLAGS: [&str; 34] = [
    DATA_FLAGS[0],
    DATA_FLAGS[1],
    DATA_FLAGS[2],
    DATA_FLAGS[3],
    DATA_FLAGS[4],
    DATA_FLAGS[5],
    DATA_FLAGS[6],
    DATA_FLAGS[7],
    DATA_FLAGS[8],
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
        None => METHODS.iter().filter(|m| **m != "tmc_shapley").map(|m| m.to_string()).collect::<Vec<_>>(),
    };
    for m in &list {
        if !METHODS.contains(&m.as_str()) {
            return Err(CliError::Usage(format!(
                "--methods: unknown method \"{m}\" (known: {})",
                METHODS.join(", ")
            )));
        }
    }
    Ok(list)
}

/// Run one method by name with its flags.
fn run_method(
    name: &str,
    f: &Flags,
    p: &Prepared,
    damping: f64,
) -> Result<Result<Scores, MethodError>, CliError> {
    let (problem, theta, test) = (&p.problem, &p.report.theta, &p.design);
    Ok(match name {
        "cg" => {
            let m = Ihvp::Cg { tol: f.f64("--cg-tol", 1e-10)?, max_iter: f.usize("--cg-max-iter", 1000)? };
            ihvp_scores(problem, theta, test, &m, damping)
        }
        "lissa" => {
            let scale = match f.string("--lissa-scale") {
                Some(_) => f.f64("--lissa-scale", 1.0)?,
                None => 2.0 * largest_eigenvalue(problem, theta, damping, 0),
            };
            let params = LissaParams {
                depth: f.usize("--lissa-depth", 200)?,
                repeats: f.usize("--lissa-repeats", 4)?,
                scale,
                damping,
                batch: f.usize("--lissa-batch", 64)?,
                seed: f.seed("--lissa-seed", 0)?,
            };
            ihvp_scores(problem, theta, test, &Ihvp::Lissa(params), damping)
        }
        "arnoldi" => {
            let m = Ihvp::Arnoldi { k: f.usize("--arnoldi-k", 10)?, seed: f.seed("--arnoldi-seed", 0)? };
            ihvp_scores(problem, theta, test, &m, damping)
        }
        "tracin" => Ok(tracin(problem, test, &tracin_params(f)?)),
        "representer" => representer(problem, theta, test),
        "grad_dot" => Ok(gradient_similarity(problem, theta, test, false)),
        "grad_cos" => Ok(gradient_similarity(problem, theta, test, true)),
        "trak" => trak(problem, theta, test, f.usize("--trak-k", 20)?, f.seed("--trak-seed", 0)?),
        "knn_shapley" => Ok(knn_shapley(problem, test, f.usize("--knn-k", 5)?)),
        "tmc_shapley" => {
            let (m, tol, seed) = (
                f.usize("--shapley-permutations", 20)?,
                f.f64("--shapley-truncation", 1e-3)?,
                f.seed("--shapley-seed", 0)?,
            );
            (0..test.n())
                .map(|t| tmc_shapley(problem, test, t, m, tol, seed, &mut Silent).map(|s| s.value))
                .collect::<Result<Vec<_>, _>>()
                .map(|scores| Scores { method: "tmc_shapley".into(), scores, trace: vec![] })
        }
        other => return Err(CliError::Usage(format!("unknown method \"{other}\""))),
    })
}

fn tracin_params(f: &Flags) -> Result<TracInParams, CliError> {
    Ok(TracInParams {
        lr: f.f64("--tracin-lr", 0.5)?,
        epochs: f.usize("--tracin-epochs", 20)?,
        batch: f.usize("--tracin-batch", 32)?,
        seed: f.seed("--tracin-seed", 0)?,
    })
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
        let result = run_method(name, f, &p, a.damping)?;
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
                    millis,
                },
                Err(e) => MethodOutput {
                    scores: None,
                    error: Some(e.to_string()),
                    trace: vec![],
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
    let p = prepare(&a)?;
    let (_, exact) = exact_scores(&p, a.damping)?;
    let t = Instant::now();
    let refits = lds_refits(&p.problem, &p.report.theta, &p.design, m, alpha, seed, &mut Silent)
        .map_err(CliError::engine)?;
    let refit_millis = ms(t);
    let mut values = BTreeMap::from([("exact".to_string(), lds_score(&refits, &exact))]);
    let mut errors = BTreeMap::new();
    for name in &methods {
        match run_method(name, f, &p, a.damping)? {
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
    let classes = p.train.n_classes();
    if classes < 2 {
        return Err(CliError::Usage("mislabel detection needs a classification target".into()));
    }
    let (flipped_problem, flipped) = flip_labels(&p.problem, classes, fraction, seed);
    let theta = refit_flipped(&flipped_problem).map_err(CliError::engine)?;
    let inf = Influence::new(&flipped_problem, &theta, a.damping).map_err(CliError::engine)?;
    let own = Design::new(p.train.d(), p.train.x.iter().copied().collect(), flipped_problem.train.y.clone());
    let self_scores = |problem: &Problem, s: Scores| -> Vec<f64> {
        (0..problem.n()).map(|i| s.scores.get(i).and_then(|r| r.get(i)).copied().unwrap_or(0.0)).collect()
    };
    let mut rng = Rng::new(seed ^ 0x5EED);
    let rankings: Vec<(&str, Vec<f64>)> = vec![
        ("self_influence", inf.self_influence()),
        ("train_loss", inf.train_losses.clone()),
        (
            "grad_dot",
            self_scores(&flipped_problem, gradient_similarity(&flipped_problem, &theta, &own, false)),
        ),
        ("tracin", self_scores(&flipped_problem, tracin(&flipped_problem, &own, &tracin_params(f)?))),
        ("random", (0..flipped.len()).map(|_| rng.uniform()).collect()),
    ];
    let rankings = rankings
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
