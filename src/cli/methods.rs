//! `attrib approx`, `attrib lds` and `attrib mislabel`: every method's scores with
//! their agreement with exact influence (and, with `--loo`, with actual leave-one-out),
//! the linear datamodeling score, and mislabel detection.

use super::args::{ApproxArgs, LdsArgs, MethodArgs, MislabelArgs};
use super::{ms, prepare, CliError, Prepared};
use crate::engine::evaluate::Agreement;
use crate::engine::evaluate::{
    agreement, detection_curve, lds as lds_score, lds_refits, mislabel_experiment,
};
use crate::engine::fit::FitOptions;
use crate::engine::methods::peers::TracInParams;
use crate::engine::methods::{self, CheckedParams, Method, MethodError, MethodParams, Scores};
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, RefitStats, Retrainer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// The checked parameters of the method flags.
fn checked(m: &MethodArgs) -> Result<CheckedParams, CliError> {
    m.params().check().map_err(|source| CliError::Param { flag: source.flag(), source })
}

fn run_method(method: Method, params: &CheckedParams, p: &Prepared) -> Result<Scores, MethodError> {
    let f = &p.fitted;
    methods::run(method, &f.problem, f.theta(), &p.design, f.influence.damping, params)
}

fn exact_scores(p: &Prepared) -> Result<Vec<Vec<f64>>, CliError> {
    let f = &p.fitted;
    let scored = f.influence.score(&f.problem, &p.design).map_err(CliError::engine)?;
    Ok(scored.into_iter().map(|t| t.pred_loo_dloss).collect())
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
    /// Caveats in words (e.g. LiSSA's effective damping).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// The refits of `--loo` and of TMC-Shapley (absent without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refits: Option<RefitStats>,
}

/// `attrib approx`.
pub fn approx(a: &ApproxArgs) -> Result<ApproxOutput, CliError> {
    let params = checked(&a.methods)?;
    let p = prepare(&a.data)?;
    let f = &p.fitted;
    let exact = exact_scores(&p)?;
    let mut stats: Option<RefitStats> = None;
    let actual_loo = if a.loo {
        let mut r = Retrainer::new(&f.problem, f.theta(), &f.influence, FitOptions::default())
            .map_err(CliError::engine)?;
        let refits = r.leave_each_out(&mut Silent).map_err(CliError::engine)?;
        stats = Some(RefitStats::of(&refits));
        Some(actual_changes(&f.problem, f.theta(), &refits, &p.design).dloss)
    } else {
        None
    };
    let mut out = BTreeMap::new();
    for method in a.methods.methods() {
        let t = Instant::now();
        let result = run_method(method, &params, &p);
        let millis = ms(t);
        let entry = match result {
            Ok(s) => {
                if let Some(r) = &s.refits {
                    stats.get_or_insert_with(RefitStats::default).merge(r);
                }
                MethodOutput {
                    agreement_exact: Some(agreement(&s.scores, &exact, a.top_k)),
                    agreement_loo: actual_loo.as_ref().map(|l| agreement(&s.scores, l, a.top_k)),
                    scores: Some(s.scores),
                    error: None,
                    trace: s.trace,
                    std_error: s.std_error,
                    notes: s.notes.iter().map(ToString::to_string).collect(),
                    millis,
                }
            }
            Err(e) => MethodOutput {
                scores: None,
                error: Some(e.to_string()),
                trace: vec![],
                std_error: None,
                notes: vec![],
                millis,
                agreement_exact: None,
                agreement_loo: None,
            },
        };
        out.insert(method.id().to_string(), entry);
    }
    Ok(ApproxOutput {
        n_train: p.train.n(),
        n_test: p.test.n(),
        exact_vs_loo: actual_loo.as_ref().map(|l| agreement(&exact, l, a.top_k)),
        exact,
        actual_loo,
        methods: out,
        refits: stats,
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
    /// The subset refits.
    pub refits: RefitStats,
    /// Why a method failed.
    pub errors: BTreeMap<String, String>,
}

/// `attrib lds`.
pub fn lds(a: &LdsArgs) -> Result<LdsOutput, CliError> {
    let params = checked(&a.methods)?;
    let p = prepare(&a.data)?;
    let f = &p.fitted;
    let exact = exact_scores(&p)?;
    let t = Instant::now();
    let refits =
        lds_refits(&f.problem, f.theta(), &p.design, a.subsets as usize, a.alpha, a.seed, &mut Silent)
            .map_err(CliError::engine)?;
    let refit_millis = ms(t);
    let mut values = BTreeMap::from([("exact".to_string(), lds_score(&refits, &exact))]);
    let mut errors = BTreeMap::new();
    for method in a.methods.methods() {
        match run_method(method, &params, &p) {
            Ok(s) => {
                values.insert(method.id().to_string(), lds_score(&refits, &s.scores));
            }
            Err(e) => {
                errors.insert(method.id().to_string(), e.to_string());
            }
        }
    }
    Ok(LdsOutput {
        subsets: refits.subsets.len(),
        alpha: a.alpha,
        seed: a.seed,
        refit_millis,
        lds: values,
        refits: refits.refits,
        errors,
    })
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
    /// The refit on the flipped labels.
    pub refits: RefitStats,
}

/// `attrib mislabel`.
pub fn mislabel(a: &MislabelArgs) -> Result<MislabelOutput, CliError> {
    let tracin = TracInParams { lr: a.tracin_lr, epochs: a.tracin_epochs, ..TracInParams::default() };
    let params = MethodParams { tracin, ..MethodParams::default() };
    let params = params.check().map_err(|source| CliError::Param { flag: source.flag(), source })?;
    let p = prepare(&a.data)?;
    let f = &p.fitted;
    let e = mislabel_experiment(
        &f.problem,
        p.train.n_classes(),
        a.flip_fraction,
        a.seed,
        f.influence.damping,
        &params.tracin,
    )
    .map_err(CliError::engine)?;
    let flipped = e.flipped;
    let rankings = e
        .rankings
        .into_iter()
        .map(|(name, s)| {
            let (curve, auc) = detection_curve(&s, &flipped);
            (name.id().to_string(), Detection { auc, curve })
        })
        .collect();
    Ok(MislabelOutput {
        flip_fraction: a.flip_fraction,
        seed: a.seed,
        flipped: flipped.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect(),
        best_auc: 1.0 - a.flip_fraction / 2.0,
        rankings,
        refits: e.refit,
    })
}
