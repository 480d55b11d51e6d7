//! The analyses of the Methods, Diagnostics and Mislabel views, for the explained
//! point of a [`Session`]. Every method's scores are oriented like `pred_loo_dloss`.

use super::session::Session;
use crate::engine::evaluate::{detection_curve, mislabel_experiment, top_k, top_k_overlap};
use crate::engine::influence::Influence;
use crate::engine::linalg::symmetric_eigenvalues;
use crate::engine::methods::ihvp::{cg_solve, largest_eigenvalue, lissa_solve, LissaParams};
use crate::engine::methods::{self, MethodParams, NAMES};
use crate::engine::model::problem::Design;
use crate::engine::stats::spearman;
use crate::protocol::*;

/// Methods the page runs by default.
pub const PAGE_METHODS: [&str; 9] =
    ["cg", "lissa", "arnoldi", "tracin", "representer", "grad_dot", "grad_cos", "trak", "knn_shapley"];

/// Methods the page offers but does not run by default: TMC-Shapley retrains the model
/// n times per permutation.
pub const OPTIONAL_PAGE_METHODS: [&str; 1] = ["tmc_shapley"];

fn explained_design(s: &Session) -> Design {
    Design::new(s.explained_x.len(), s.explained_x.clone(), vec![s.explained.label])
}

fn row(name: &str, scores: Vec<f64>, exact: &[f64], loo: Option<&Vec<f64>>, millis: f64) -> MethodRow {
    MethodRow {
        name: name.into(),
        spearman_exact: spearman(&scores, exact),
        top10_exact: top_k_overlap(&scores, exact, 10),
        spearman_loo: loo.and_then(|l| spearman(&scores, l)),
        top10_loo: loo.map(|l| top_k_overlap(&scores, l, 10)),
        error: None,
        millis,
        scores,
    }
}

/// The chosen methods next to exact influence and (when computed) actual LOO.
pub fn methods_view(
    s: &Session,
    chosen: &[String],
    params: &MethodParams,
    clock: fn() -> f64,
) -> MethodsView {
    let design = explained_design(s);
    // Exact influence, timed from scratch (factorise H, score every point) so its cost
    // stands next to the approximations'.
    let t = clock();
    let exact = Influence::new(&s.problem, &s.theta, s.influence.damping)
        .map(|inf| inf.score(&s.problem, &design).swap_remove(0).pred_loo_dloss)
        .unwrap_or_else(|_| s.explained.pred_loo_dloss.clone());
    let exact_ms = clock() - t;
    let loo = s.actual_loo.as_ref();
    let mut rows = vec![row("exact", exact.clone(), &exact, loo, exact_ms)];
    for name in chosen.iter().map(String::as_str).filter(|n| NAMES.contains(n)) {
        let t = clock();
        match methods::run(name, &s.problem, &s.theta, &design, s.influence.damping, params) {
            Ok(mut m) => rows.push(row(name, m.scores.swap_remove(0), &exact, loo, clock() - t)),
            Err(e) => rows.push(MethodRow {
                name: name.to_string(),
                scores: vec![],
                spearman_exact: None,
                top10_exact: 0.0,
                spearman_loo: None,
                top10_loo: None,
                error: Some(e.to_string()),
                millis: clock() - t,
            }),
        }
    }
    if let Some(l) = loo {
        rows.push(row("actual_loo", l.clone(), &exact, loo, 0.0));
    }
    let matrix = rows.iter().map(|a| rows.iter().map(|b| spearman(&a.scores, &b.scores)).collect()).collect();
    MethodsView { rows, matrix }
}

/// Spectrum, solver traces and the damping sweep.
pub fn diagnostics(s: &Session, params: &MethodParams) -> DiagnosticsView {
    let h = s.problem.hessian(&s.theta);
    let eigenvalues = symmetric_eigenvalues(&h).unwrap_or_default();
    let top = eigenvalues.last().copied().unwrap_or(0.0);
    let smallest = eigenvalues.iter().copied().find(|v| *v > 1e-12 * top.abs()).unwrap_or(f64::NAN);
    let (mut g, _) = s.problem.example_grads(&s.theta, &explained_design(s));
    let g = g.row_mut(0).to_vec();
    let damping = s.influence.damping;
    let (_, cg_trace) = cg_solve(&s.problem, &s.theta, &g, damping, params.cg_tol, params.cg_max_iter);
    let scale = params.lissa_scale_factor.map_or(params.lissa.scale, |f| {
        f * largest_eigenvalue(&s.problem, &s.theta, damping, params.lissa.seed)
    });
    let (lissa_trace, lissa_error) = match lissa_solve(
        &s.problem,
        &s.theta,
        &g,
        &LissaParams { scale, damping, repeats: 1, ..params.lissa },
    ) {
        Ok((_, t)) => (t, None),
        Err(e) => (vec![], Some(e.to_string())),
    };
    let exact = &s.explained.pred_loo_dloss;
    let design = explained_design(s);
    let sweep = (-6..=1)
        .map(|e| 10f64.powi(e) * top.max(1e-12))
        .map(|d| {
            let scores = Influence::new(&s.problem, &s.theta, d)
                .map(|inf| inf.score(&s.problem, &design).swap_remove(0).pred_loo_dloss)
                .unwrap_or_default();
            DampingPoint {
                damping: d,
                spearman_exact: spearman(&scores, exact),
                spearman_loo: s.actual_loo.as_ref().and_then(|l| spearman(&scores, l)),
            }
        })
        .collect();
    DiagnosticsView { condition: top / smallest, eigenvalues, cg_trace, lissa_trace, lissa_error, sweep }
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
    params: &MethodParams,
) -> Result<MislabelView, String> {
    let e = mislabel_experiment(
        &s.problem,
        s.train.n_classes(),
        fraction,
        seed,
        s.influence.damping,
        &params.tracin,
    )
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
        fraction,
        flipped: flipped.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect(),
        best_auc: 1.0 - fraction / 2.0,
        curves,
        found,
    })
}
