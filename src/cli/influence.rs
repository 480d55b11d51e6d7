//! `attrib influence`: exact influence of every training point on every test point,
//! with optional actual leave-one-out (`--loo`) and reweighting (`--reweight-eps E`,
//! weight `1 + E·n`), every number as in the conventions.

use super::args::InfluenceArgs;
use super::{ms, prepare, CliError, Prepared};
use crate::engine::fit::FitOptions;
use crate::engine::model::ModelKind;
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, ActualChanges, Refit, RefitStats, Retrainer};
use serde::Serialize;
use std::time::Instant;

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
    /// The gradient relative to the size of its terms (what is compared with 1e-10).
    pub scaled_grad_norm: f64,
    /// Whether the fit reached the tolerance.
    pub converged: bool,
    /// Warnings in words.
    pub warnings: Vec<String>,
    /// g_iᵀ H⁻¹ g_i for every training point.
    pub self_influence: Vec<f64>,
    /// Training losses at θ̂.
    pub train_loss: Vec<f64>,
    /// Phase timings.
    pub timings_ms: Timings,
    /// The refits of `--loo` and `--reweight-eps` (absent without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refits: Option<RefitStats>,
    /// One entry per test row.
    pub test: Vec<TestOutput>,
}

/// The retrained answers of `--loo` and `--reweight-eps`.
struct Actual {
    loo: Option<ActualChanges>,
    /// The weight `1 + εn` and the changes.
    reweight: Option<(f64, ActualChanges)>,
    stats: Option<RefitStats>,
    loo_ms: f64,
    reweight_ms: f64,
}

/// Retrain without each point (`--loo`) and with each weight `1 + εn` (`--reweight-eps`).
fn actual_refits(a: &InfluenceArgs, p: &Prepared) -> Result<Actual, CliError> {
    let (problem, theta, design) = (&p.fitted.problem, p.fitted.theta(), &p.design);
    let mut out = Actual { loo: None, reweight: None, stats: None, loo_ms: 0.0, reweight_ms: 0.0 };
    if !a.loo && a.reweight_eps.is_none() {
        return Ok(out);
    }
    let mut r = Retrainer::new(problem, theta, &p.fitted.influence, FitOptions::default())
        .map_err(CliError::engine)?;
    let mut stats = RefitStats::default();
    if a.loo {
        let t = Instant::now();
        let refits = r.leave_each_out(&mut Silent).map_err(CliError::engine)?;
        refits.iter().for_each(|r| stats.add(r));
        out.loo = Some(actual_changes(problem, theta, &refits, design));
        out.loo_ms = ms(t);
    }
    if let Some(eps) = a.reweight_eps {
        let t = Instant::now();
        let w = 1.0 + eps * problem.n() as f64;
        let refits: Vec<Refit> =
            (0..problem.n()).map(|i| r.reweight(i, w)).collect::<Result<_, _>>().map_err(CliError::engine)?;
        refits.iter().for_each(|r| stats.add(r));
        out.reweight = Some((w, actual_changes(problem, theta, &refits, design)));
        out.reweight_ms = ms(t);
    }
    out.stats = Some(stats);
    Ok(out)
}

/// Run `attrib influence`.
pub fn run(a: &InfluenceArgs) -> Result<InfluenceOutput, CliError> {
    let p = prepare(&a.data)?;
    let (problem, report, design) = (&p.fitted.problem, &p.fitted.report, &p.design);
    let influence = &p.fitted.influence;

    let t = Instant::now();
    let scores = influence.score(problem, design).map_err(CliError::engine)?;
    let self_influence = influence.self_influence().map_err(CliError::engine)?;
    let influence_ms = ms(t);

    let actual = actual_refits(a, &p)?;
    let (loo, reweight) = (&actual.loo, &actual.reweight);

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
        model: problem.model.kind,
        l2: a.data.l2,
        damping: a.data.damping,
        standardized: a.data.standardize,
        feature_names: p.train.feature_names.clone(),
        class_names: p.class_names(),
        n_train: p.train.n(),
        n_test: p.test.n(),
        n_params: problem.n_params(),
        theta: report.theta.clone(),
        iterations: report.iterations,
        grad_norm: report.grad_norm,
        scaled_grad_norm: report.scaled_grad_norm,
        converged: report.converged,
        warnings: p.all_warnings(),
        self_influence,
        train_loss: influence.train_losses.clone(),
        timings_ms: Timings {
            fit: p.fit_ms,
            influence: influence_ms,
            loo: actual.loo_ms,
            reweight: actual.reweight_ms,
        },
        refits: actual.stats,
        test: test_out,
    })
}
