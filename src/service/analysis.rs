//! The analyses of the Methods, Diagnostics and Mislabel views, for the explained
//! point of a [`Session`]. Every method's scores are oriented like `pred_loo_dloss`.

use super::session::Session;
use crate::engine::evaluate::{detection_curve, mislabel_experiment, top_k, top_k_overlap};
use crate::engine::influence::Influence;
use crate::engine::linalg::symmetric_eigenvalues;
use crate::engine::methods::ihvp::{
    cg_solve, largest_eigenvalue, lissa_notes, lissa_solve, smallest_eigenvalue, CgStatus, LissaParams,
};
use crate::engine::methods::{self, CheckedParams, Method};
use crate::engine::stats::spearman;
use crate::protocol::*;

fn row(
    method: Attribution,
    scores: Vec<f64>,
    exact: &[f64],
    loo: Option<&Vec<f64>>,
    millis: f64,
) -> MethodRow {
    MethodRow {
        method,
        spearman_exact: spearman(&scores, exact),
        top10_exact: top_k_overlap(&scores, exact, 10),
        spearman_loo: loo.and_then(|l| spearman(&scores, l)),
        top10_loo: loo.map(|l| top_k_overlap(&scores, l, 10)),
        error: None,
        notes: vec![],
        std_error: None,
        millis,
        scores,
    }
}

/// The exact influence of the explained point with damping `d`, from scratch.
fn exact_with_damping(s: &Session, d: f64) -> Result<Vec<f64>, String> {
    let inf = Influence::new(s.problem(), s.theta(), d).map_err(|e| e.to_string())?;
    let mut scored = inf.score(s.problem(), &s.explained_design()).map_err(|e| e.to_string())?;
    scored.pop().map(|t| t.pred_loo_dloss).ok_or_else(|| "no test point".to_string())
}

/// The chosen methods next to exact influence and (when computed) actual LOO.
pub fn methods_view(
    s: &Session,
    chosen: &[Method],
    params: &CheckedParams,
    clock: fn() -> f64,
) -> MethodsView {
    let design = s.explained_design();
    // Exact influence, timed from scratch (factorise H, score every point) so its cost
    // stands next to the approximations'.
    let t = clock();
    let exact = exact_with_damping(s, s.damping()).unwrap_or_else(|_| s.explained.pred_loo_dloss.clone());
    let exact_ms = clock() - t;
    let loo = s.actual_loo.as_ref();
    let mut rows = vec![row(Attribution::Exact, exact.clone(), &exact, loo, exact_ms)];
    for &method in chosen {
        let t = clock();
        let result = methods::run(method, s.problem(), s.theta(), &design, s.damping(), params);
        let millis = clock() - t;
        rows.push(match result {
            Ok(mut m) => MethodRow {
                notes: m.notes,
                std_error: m.std_error.and_then(|mut e| e.pop()),
                ..row(Attribution::Method(method), m.scores.swap_remove(0), &exact, loo, millis)
            },
            Err(e) => MethodRow {
                error: Some(e.to_string()),
                top10_exact: 0.0,
                spearman_exact: None,
                ..row(Attribution::Method(method), vec![], &exact, None, millis)
            },
        });
    }
    if let Some(l) = loo {
        rows.push(row(Attribution::ActualLoo, l.clone(), &exact, loo, 0.0));
    }
    let matrix = rows.iter().map(|a| rows.iter().map(|b| spearman(&a.scores, &b.scores)).collect()).collect();
    MethodsView { rows, matrix }
}

/// Spectrum, solver traces and the damping sweep.
pub fn diagnostics(s: &Session, params: &CheckedParams) -> DiagnosticsView {
    let (problem, theta, damping) = (s.problem(), s.theta(), s.damping());
    let h = problem.hessian(theta);
    let eigenvalues = symmetric_eigenvalues(&h).unwrap_or_default();
    let top = eigenvalues.last().copied().unwrap_or(0.0);
    let smallest = eigenvalues.iter().copied().find(|v| *v > 1e-12 * top.abs());
    let (mut g, _) = problem.example_grads(theta, &s.explained_design());
    let g = g.row_mut(0).to_vec();
    let cg = cg_solve(problem, theta, &g, damping, params.cg_tol, params.cg_max_iter);
    let steps = cg.trace.len().saturating_sub(1);
    let cg_status = match cg.status {
        CgStatus::Converged => format!("CG converged in {steps} steps"),
        _ => cg.clone().solution(params.cg_tol).err().map(|e| e.to_string()).unwrap_or_default(),
    };
    let lambda_max = largest_eigenvalue(problem, theta, damping, params.lissa.seed);
    let scale = params.lissa_scale_factor.map_or(params.lissa.scale, |f| f * lambda_max);
    let lissa = LissaParams { scale, damping, repeats: 1, ..params.lissa };
    let lissa_notes = lissa_notes(&lissa, smallest_eigenvalue(problem, theta, damping, lambda_max));
    let (lissa_trace, lissa_error) = match lissa_solve(problem, theta, &g, &lissa) {
        Ok((_, t)) => (t, None),
        Err(e) => (vec![], Some(e.to_string())),
    };
    let exact = &s.explained.pred_loo_dloss;
    let sweep = (-6..=1)
        .map(|e| 10f64.powi(e) * top.max(1e-12))
        .map(|d| {
            let scores = exact_with_damping(s, d).unwrap_or_default();
            DampingPoint {
                damping: d,
                spearman_exact: spearman(&scores, exact),
                spearman_loo: s.actual_loo.as_ref().and_then(|l| spearman(&scores, l)),
            }
        })
        .collect();
    DiagnosticsView {
        condition: smallest.map(|v| top / v),
        eigenvalues,
        cg_converged: cg.status == CgStatus::Converged,
        cg_status,
        cg_trace: cg.trace,
        lissa_trace,
        lissa_error,
        lissa_notes,
        sweep,
    }
}

/// How a mislabel ranking reads on the page.
fn ranking_label(id: &str) -> &str {
    match id {
        "self_influence" => "self-influence",
        "train_loss" => "training loss",
        "grad_dot" => "gradient norm²",
        "tracin" => "TracIn self",
        other => other,
    }
}

/// Flip a fraction of the training labels, refit, and rank by self-scores.
pub fn mislabel(
    s: &Session,
    fraction: f64,
    seed: u64,
    params: &CheckedParams,
) -> Result<MislabelView, String> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(format!("the flipped fraction {fraction} must be above 0 and below 1"));
    }
    let e =
        mislabel_experiment(s.problem(), s.train.n_classes(), fraction, seed, s.damping(), &params.tracin)
            .map_err(|e| e.to_string())?;
    let flipped = e.flipped;
    let self_influence =
        e.rankings.iter().find(|r| r.0 == "self_influence").map(|r| r.1.clone()).unwrap_or_default();
    let curves = e
        .rankings
        .into_iter()
        .map(|(id, scores)| {
            let (curve, auc) = detection_curve(&scores, &flipped);
            DetectionCurve { name: ranking_label(id).into(), auc, curve }
        })
        .collect();
    let n_flipped = flipped.iter().filter(|f| **f).count();
    let found =
        top_k(&self_influence, 2 * n_flipped).into_iter().filter(|&i| flipped[i]).collect::<Vec<usize>>();
    Ok(MislabelView {
        n_train: flipped.len(),
        fraction,
        flipped: flipped.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect(),
        best_auc: 1.0 - fraction / 2.0,
        curves,
        found,
        refits: e.refit,
    })
}
