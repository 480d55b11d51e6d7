//! `attrib influence`: exact influence of every training point on every test point,
//! with optional actual leave-one-out (`--loo`) and reweighting (`--reweight-eps E`,
//! weight `1 + E·n`), every number as in the conventions.

use super::args::InfluenceArgs;
use super::{ms, prepare, CliError, Prepared};
use crate::engine::fit::FitOptions;
use crate::engine::model::{ModelKind, Net};
use crate::engine::progress::Silent;
use crate::engine::retrain::{actual_changes, ActualChanges, Refit, RefitStats, Retrainer};
use crate::engine::truths::{scratch, Pbrf, Scratch};
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
    /// Change of the loss under each point's proximal Bregman response (`--pbrf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_pbrf_dloss: Option<Vec<f64>>,
    /// Mean change of the loss retrained from scratch without each point (`--scratch-seeds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_dloss_mean: Option<Vec<f64>>,
    /// Its standard error over seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_dloss_se: Option<Vec<f64>>,
    /// The seed-to-seed standard deviation of this test loss with all the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_noise: Option<f64>,
}

/// Wall-clock times of the phases, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timings {
    /// Fitting (Newton to θ̂).
    pub fit: f64,
    /// Exact influence at θ̂: the Hessian built and factorised, every training gradient,
    /// every (train, test) pair scored, every self-influence.
    pub influence: f64,
    /// Leave-one-out refits (0 without `--loo`).
    pub loo: f64,
    /// PBRF solves (0 without `--pbrf`).
    pub pbrf: f64,
    /// Fits from scratch (0 without `--scratch-seeds`).
    pub scratch: f64,
    /// Reweighting refits (0 without `--reweight-eps`).
    pub reweight: f64,
}

/// The JSON document of `attrib influence`.
#[derive(Debug, Serialize)]
pub struct InfluenceOutput {
    /// Model used (its output and loss, for a network).
    pub model: ModelKind,
    /// How θ is laid out: `linear` (K × (d+1) rows, bias last) or `mlp` (layer by
    /// layer, conventions "Tiny neural networks").
    pub param_layout: &'static str,
    /// Layer sizes `[d, h…, C]`.
    pub layers: Vec<usize>,
    /// The curvature of the influence (`hessian`, `ggn`, `kfac`, `ekfac`).
    pub curvature: &'static str,
    /// Smallest eigenvalue of the Hessian at θ̂ (networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian_eig_min: Option<f64>,
    /// Largest eigenvalue of the Hessian at θ̂ (networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian_eig_max: Option<f64>,
    /// Number of negative eigenvalues of the Hessian at θ̂ (networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_negative_eigs: Option<usize>,
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

/// The retrained answers of `--loo`, `--reweight-eps`, `--pbrf` and `--scratch-seeds`.
struct Actual {
    loo: Option<ActualChanges>,
    pbrf: Option<ActualChanges>,
    scratch: Option<Scratch>,
    pbrf_ms: f64,
    scratch_ms: f64,
    /// The weight `1 + εn` and the changes.
    reweight: Option<(f64, ActualChanges)>,
    stats: Option<RefitStats>,
    loo_ms: f64,
    reweight_ms: f64,
}

/// Retrain without each point (`--loo`) and with each weight `1 + εn` (`--reweight-eps`).
fn actual_refits(a: &InfluenceArgs, p: &Prepared) -> Result<Actual, CliError> {
    let (problem, theta, design) = (&p.fitted.problem, p.fitted.theta(), &p.design);
    let mut out = Actual {
        loo: None,
        reweight: None,
        pbrf: None,
        scratch: None,
        stats: None,
        loo_ms: 0.0,
        reweight_ms: 0.0,
        pbrf_ms: 0.0,
        scratch_ms: 0.0,
    };
    let mut stats = RefitStats::default();
    if a.pbrf {
        let t = Instant::now();
        let solver = Pbrf::new(problem, theta, a.data.damping).map_err(CliError::engine)?;
        let eps = -1.0 / problem.n() as f64;
        let refits: Vec<Refit> = (0..problem.n())
            .map(|i| solver.solve(i, eps))
            .collect::<Result<_, _>>()
            .map_err(CliError::engine)?;
        refits.iter().for_each(|r| stats.add(r));
        out.pbrf = Some(actual_changes(problem, theta, &refits, design));
        out.pbrf_ms = ms(t);
    }
    if let Some(seeds) = a.scratch_seeds {
        let t = Instant::now();
        let s =
            scratch(problem, design, (0..problem.n()).collect(), seeds as usize).map_err(CliError::engine)?;
        stats.merge(&s.refits);
        out.scratch = Some(s);
        out.scratch_ms = ms(t);
    }
    if !a.loo && a.reweight_eps.is_none() {
        out.stats = (a.pbrf || a.scratch_seeds.is_some()).then_some(stats);
        return Ok(out);
    }
    let mut r = Retrainer::new(problem, theta, &p.fitted.influence, FitOptions::default())
        .map_err(CliError::engine)?;
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

/// `[d, h…, C]` of a model.
pub fn layer_sizes(m: &crate::engine::model::Model) -> Vec<usize> {
    match m.layers() {
        Some(layers) => std::iter::once(m.d).chain(layers.iter().map(|l| l.fan_out)).collect(),
        None => vec![m.d, m.k],
    }
}

/// Run `attrib influence` `--repeat` times: the last output, with each phase's median
/// time over the runs. Only the timings of the earlier runs are kept, so every run after
/// the first reuses the memory the one before it freed, as a warm loop in NumPy does
/// (keeping every output made each run write its scores into fresh pages of memory).
pub fn run(a: &InfluenceArgs) -> Result<InfluenceOutput, CliError> {
    let mut timings = Vec::new();
    let mut last = run_once(a)?;
    for _ in 1..a.repeat.max(1) {
        timings.push(last.timings_ms);
        drop(last);
        last = run_once(a)?;
    }
    timings.push(last.timings_ms);
    let median = |phase: fn(&Timings) -> f64| {
        let mut t: Vec<f64> = timings.iter().map(phase).collect();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    last.timings_ms = Timings {
        fit: median(|t| t.fit),
        influence: median(|t| t.influence),
        loo: median(|t| t.loo),
        pbrf: median(|t| t.pbrf),
        scratch: median(|t| t.scratch),
        reweight: median(|t| t.reweight),
    };
    Ok(last)
}

/// One run of `attrib influence`.
fn run_once(a: &InfluenceArgs) -> Result<InfluenceOutput, CliError> {
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
                actual_pbrf_dloss: actual.pbrf.as_ref().map(|c| c.dloss[t].clone()),
                scratch_dloss_mean: actual.scratch.as_ref().map(|s| s.mean[t].clone()),
                scratch_dloss_se: actual.scratch.as_ref().map(|s| s.se[t].clone()),
                scratch_noise: actual.scratch.as_ref().map(|s| s.noise[t]),
                pred_loo_dloss: s.pred_loo_dloss,
                pred_loo_dpred: s.pred_loo_dpred,
            }
        })
        .collect();
    Ok(InfluenceOutput {
        model: problem.model.kind,
        param_layout: if problem.model.net == Net::Linear { "linear" } else { "mlp" },
        layers: layer_sizes(&problem.model),
        curvature: influence.curvature.id(),
        hessian_eig_min: p.fitted.spectrum.map(|s| s.min),
        hessian_eig_max: p.fitted.spectrum.map(|s| s.max),
        n_negative_eigs: p.fitted.spectrum.map(|s| s.negative),
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
            influence: p.explain_ms + influence_ms,
            loo: actual.loo_ms,
            reweight: actual.reweight_ms,
            pbrf: actual.pbrf_ms,
            scratch: actual.scratch_ms,
        },
        refits: actual.stats,
        test: test_out,
    })
}
