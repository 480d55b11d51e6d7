//! The analyses of the Methods, Diagnostics and Mislabel views and the flip set, for the explained
//! point of a [`Session`]. Every method's scores are oriented like `pred_loo_dloss`.

use super::session::Session;
use crate::engine::audit::fix_first::{fix_first_curve, Action};
use crate::engine::audit::flip::flip_set;
use crate::engine::audit::group::group_curve;
use crate::engine::audit::review::{candidates, removal_checks, review_scores, ReviewScore};
use crate::engine::curvature::KronInverse;
use crate::engine::evaluate::{
    detection_curve, mislabel_experiment, top_k, top_k_overlap, EvalError, MislabelExperiment, SelfRanking,
};
use crate::engine::influence::Influence;
use crate::engine::linalg::symmetric_eigenvalues;
use crate::engine::methods::ihvp::{
    cg_solve, largest_eigenvalue, lissa_notes, lissa_solve, smallest_eigenvalue, CgStatus, LissaParams,
};
use crate::engine::methods::shapley::{tmc_scores, TmcSettings};
use crate::engine::methods::{self, CheckedParams, Method};
use crate::engine::model::problem::Problem;
use crate::engine::model::Net;
use crate::engine::progress::Stages;
use crate::engine::stats::spearman;
use crate::protocol::*;
use crate::said::Said;
use crate::text::Text;
use ndarray::Array2;

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
        scores: scores.into(),
    }
}

/// The influence of the explained point with the session's curvature and damping
/// `d`, from scratch.
fn exact_with_damping(s: &Session, d: f64) -> Result<Vec<f64>, Said> {
    let curvature = s.fitted.influence.curvature;
    let inf = Influence::with_curvature(s.problem(), s.theta(), curvature, d).map_err(|e| e.said())?;
    let mut scored = inf.score(s.problem(), &s.explained_design()).map_err(|e| e.said())?;
    scored.pop().map(|t| t.pred_loo_dloss).ok_or_else(|| Said::new(Text::ErrNoTestPoint))
}

/// The chosen methods next to exact influence and (when computed) actual LOO; one
/// stage of `progress` per method.
pub fn methods_view(
    s: &Session,
    chosen: &[Method],
    params: &CheckedParams,
    clock: fn() -> f64,
    progress: &mut dyn FnMut(f64),
) -> MethodsView {
    let mut stages = Stages::new(1 + chosen.len(), progress);
    let design = s.explained_design();
    // Exact influence, timed from scratch (factorise H, score every point) so its cost
    // stands next to the approximations'.
    let t = clock();
    let exact = exact_with_damping(s, s.damping()).unwrap_or_else(|_| s.explained.pred_loo_dloss.to_vec());
    let exact_ms = clock() - t;
    stages.next();
    let loo = s.actual_loo.as_ref();
    let mut rows = vec![row(Attribution::Exact, exact.clone(), &exact, loo, exact_ms)];
    for &method in chosen {
        let t = clock();
        // TMC-Shapley run on the pool just before, with these settings: kept.
        let (result, millis) = match &s.shapley {
            Some(kept) if method == Method::TmcShapley && kept.settings == TmcSettings::of(params) => {
                (Ok(tmc_scores(s.problem(), vec![kept.run.clone()])), kept.millis)
            }
            _ => (methods::run(method, s.problem(), s.theta(), &design, s.damping(), params), clock() - t),
        };
        rows.push(match result {
            Ok(mut m) => MethodRow {
                notes: m.notes,
                std_error: m.std_error.and_then(|mut e| e.pop()),
                ..row(Attribution::Method(method), m.scores.swap_remove(0), &exact, loo, millis)
            },
            Err(e) => MethodRow {
                error: Some(e.said()),
                top10_exact: 0.0,
                spearman_exact: None,
                ..row(Attribution::Method(method), vec![], &exact, None, millis)
            },
        });
        stages.next();
    }
    if let Some(l) = loo {
        rows.push(row(Attribution::ActualLoo, l.clone(), &exact, loo, 0.0));
    }
    let matrix = rows.iter().map(|a| rows.iter().map(|b| spearman(&a.scores, &b.scores)).collect()).collect();
    MethodsView { rows, matrix }
}

/// Spectrum, solver traces and the damping sweep; for a network also the Gauss–Newton,
/// K-FAC and EK-FAC spectra, and how damping rescues the solvers on an indefinite
/// Hessian. `progress` moves a stage per solver and per damping of the sweep.
pub fn diagnostics(s: &Session, params: &CheckedParams, progress: &mut dyn FnMut(f64)) -> DiagnosticsView {
    let (problem, theta, damping) = (s.problem(), s.theta(), s.damping());
    let mut stages = Stages::new(DIAGNOSTIC_STAGES + SWEEP_EXPONENTS.len(), progress);
    let hessian = problem.hessian(theta);
    let eigenvalues = symmetric_eigenvalues(&hessian).unwrap_or_default();
    stages.next();
    let top = eigenvalues.last().copied().unwrap_or(0.0);
    let bottom = eigenvalues.first().copied().unwrap_or(0.0);
    let smallest = eigenvalues.iter().copied().find(|v| *v > 1e-12 * top.abs());
    let (mut g, _) = problem.example_grads(theta, &s.explained_design());
    let g = g.row_mut(0).to_vec();
    let cg = cg_solve(problem, theta, &g, damping, params.cg_tol, params.cg_max_iter);
    let steps = cg.trace.len().saturating_sub(1);
    let cg_status = match cg.status {
        CgStatus::Converged => Said::new(Text::CgConverged).with("steps", steps),
        _ => cg
            .clone()
            .solution(params.cg_tol)
            .err()
            .map_or(Said::new(Text::CgConverged).with("steps", steps), |e| e.said()),
    };
    stages.next();
    let lissa_run = |d: f64| {
        let lambda_max = largest_eigenvalue(problem, theta, d, params.lissa.seed).abs();
        let scale = params.lissa_scale_factor.map_or(params.lissa.scale, |f| f * lambda_max);
        let lissa = LissaParams { scale, damping: d, repeats: 1, ..params.lissa };
        let notes = lissa_notes(&lissa, smallest_eigenvalue(problem, theta, d, lambda_max));
        (lissa_solve(problem, theta, &g, &lissa), notes)
    };
    let (lissa, lissa_notes) = lissa_run(damping);
    let (lissa_trace, lissa_error) = match lissa {
        Ok((_, t)) => (t, None),
        Err(e) => (vec![], Some(e.said())),
    };
    stages.next();
    // The rescue: the smallest damping that makes H + δI positive definite.
    let rescue_damping = (bottom + damping <= 0.0).then(|| -bottom * 1.01 + 1e-9 * top.abs());
    let (cg_damped_trace, lissa_damped_trace) = match rescue_damping {
        Some(d) => {
            let cg = cg_solve(problem, theta, &g, d, params.cg_tol, params.cg_max_iter);
            (cg.trace, lissa_run(d).0.map(|(_, t)| t).unwrap_or_default())
        }
        None => (vec![], vec![]),
    };
    stages.next();
    let sweep = damping_sweep(s, &hessian, top.abs().max(1e-12), &mut stages);
    let (ggn_eigenvalues, kfac_eigenvalues, ekfac_eigenvalues) = match problem.model.net {
        Net::Linear => (vec![], vec![], vec![]),
        Net::Mlp(_) => {
            let kron = |refit| {
                KronInverse::new(problem, theta, 0.0, refit).map(|k| k.eigenvalues()).unwrap_or_default()
            };
            (symmetric_eigenvalues(&problem.ggn(theta)).unwrap_or_default(), kron(false), kron(true))
        }
    };
    stages.next();
    DiagnosticsView {
        condition: smallest.filter(|_| bottom > 0.0).map(|v| top / v),
        eigenvalues,
        cg_converged: cg.status == CgStatus::Converged,
        cg_status,
        cg_trace: cg.trace,
        lissa_trace,
        lissa_error,
        lissa_notes,
        sweep,
        ggn_eigenvalues,
        kfac_eigenvalues,
        ekfac_eigenvalues,
        cg_damped_trace,
        lissa_damped_trace,
        rescue_damping,
    }
}

/// The stages of [`diagnostics`] besides the sweep's: the spectrum, CG, LiSSA, the
/// rescue, the undamped scores, and a network's other spectra.
const DIAGNOSTIC_STAGES: usize = 6;

/// The damping sweep's δ, as powers of ten times the largest eigenvalue.
const SWEEP_EXPONENTS: [i32; 8] = [-6, -5, -4, -3, -2, -1, 0, 1];

/// Agreement of the damped scores (δ from 1e-6 to 10 times `top`) with the undamped
/// ones and with every ground truth computed so far; a stage per damping. The session's
/// curvature is factorised again at each δ; the Hessian (`hessian`) and the training
/// gradients are computed once.
fn damping_sweep(s: &Session, hessian: &Array2<f64>, top: f64, stages: &mut Stages) -> Vec<DampingPoint> {
    let design = s.explained_design();
    let scores_at = |d: f64| {
        let scored = s.influence().score_at_damping(s.problem(), hessian, d, &design);
        scored.ok().and_then(|mut t| t.pop()).map(|t| t.pred_loo_dloss)
    };
    let undamped = scores_at(0.0);
    stages.next();
    let truths = s.truths.as_ref();
    SWEEP_EXPONENTS
        .iter()
        .map(|&e| 10f64.powi(e) * top)
        .map(|d| {
            let scores = scores_at(d).unwrap_or_default();
            stages.next();
            let at = |points: &[usize]| {
                points.iter().filter_map(|&i| scores.get(i).copied()).collect::<Vec<f64>>()
            };
            DampingPoint {
                damping: d,
                spearman_exact: undamped.as_ref().and_then(|u| spearman(&scores, u)),
                spearman_loo: s.actual_loo.as_ref().and_then(|l| spearman(&scores, l)),
                spearman_pbrf: truths.and_then(|t| spearman(&scores, &t.pbrf)),
                spearman_scratch: truths.and_then(|t| spearman(&at(&t.scratch_points), &t.scratch_mean)),
            }
        })
        .collect()
}

/// The flip set of the explained point: at most `limit` removals (default 10% of the
/// training points), crossing `threshold` for a regression.
pub fn flip(
    s: &Session,
    limit: Option<usize>,
    threshold: Option<f64>,
    clock: fn() -> f64,
    progress: &mut dyn FnMut(f64),
) -> Result<FlipView, Said> {
    let t0 = clock();
    let n = s.problem().n();
    let limit = limit.unwrap_or(n / 10).clamp(1, n.max(2) - 1);
    let x = s.explained_design();
    let mut stages = Stages::new(1, progress);
    let flip = flip_set(s.problem(), s.theta(), s.influence(), x.row(0), threshold, limit, &mut stages)
        .map_err(|e| e.said())?;
    Ok(FlipView { flip, classes: s.target().class_names(), threshold, millis: clock() - t0 })
}

/// A group's removal as it grows, on the explained point and the test set.
pub fn group(s: &Session, members: Vec<usize>, steps: usize, clock: fn() -> f64) -> Result<GroupView, Said> {
    let t0 = clock();
    let test = &s.test;
    let effects = group_curve(
        s.problem(),
        s.theta(),
        s.influence(),
        &members,
        steps.clamp(1, 20),
        test,
        &s.explained_design(),
    )
    .map_err(|e| e.said_in(s.target()))?;
    Ok(GroupView { effects, members, millis: clock() - t0 })
}

/// The review queue: the `top` training points by `rank`.
pub fn audit(s: &Session, rank: ReviewScore, top: usize) -> Result<AuditView, Said> {
    let test = &s.test;
    let p = s.problem();
    let tracin = crate::engine::methods::peers::TracInParams::default();
    let scores = review_scores(p, s.theta(), s.influence(), test, rank, &tracin).map_err(|e| e.said())?;
    let candidates =
        candidates(p, s.theta(), s.influence(), test, &scores, top.clamp(1, 200)).map_err(|e| e.said())?;
    let losses = p.losses(s.theta(), test);
    let test_loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
    let (_, test_metric) = crate::engine::pipeline::metric(&p.model, s.theta(), test);
    let rows = candidates.iter().map(|c| (s.train_row_name(c.index), s.raw_features(&c.x))).collect();
    let indices: Vec<usize> = candidates.iter().map(|c| c.index).collect();
    let checks = removal_checks(p, s.theta(), s.influence(), test, &indices).map_err(|e| e.said())?;
    Ok(AuditView { rank, candidates, rows, checks, test_loss, test_metric })
}

/// Flip a fraction of the training labels, refit, and rank by self-scores; `progress`
/// moves a stage for the experiment and one per fix-first curve.
pub fn mislabel(
    s: &Session,
    fraction: f64,
    seed: u64,
    params: &CheckedParams,
    progress: &mut dyn FnMut(f64),
) -> Result<MislabelView, Said> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Said::new(Text::ErrFlipFraction).with("fraction", fraction));
    }
    let run = |d| mislabel_experiment(s.problem(), s.target().n_classes(), fraction, seed, d, &params.tracin);
    // A network refitted on the flipped labels may land where its Hessian is singular
    // (an idle unit): then self-influence is taken with a small damping, and says so.
    let (e, note) = match (run(s.damping()), s.problem().model.net) {
        (Ok(e), _) => (e, None),
        (Err(EvalError::Linalg(err)), Net::Mlp(_)) => {
            let d = crate::service::jobs::PBRF_FALLBACK_DAMPING.max(s.damping());
            (run(d).map_err(|e| e.said())?, Some((d, err.to_string())))
        }
        (Err(e), _) => return Err(e.said()),
    };
    let mut stages = Stages::new(1 + FIX_FIRST_CURVES, progress);
    stages.next();
    let (fix_first, remove_clean) = fix_first_curves(s, &e, &mut stages)?;
    let flipped = e.flipped;
    let self_influence = e
        .rankings
        .iter()
        .find(|r| r.0 == SelfRanking::SelfInfluence)
        .map(|r| r.1.clone())
        .unwrap_or_default();
    let curves = e
        .rankings
        .into_iter()
        .map(|(ranking, scores)| {
            let (curve, auc) = detection_curve(&scores, &flipped);
            DetectionCurve { ranking, auc, curve }
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
        singular_damping: note,
        fix_first,
        remove_clean,
    })
}

/// The fix-first curves [`fix_first_curves`] draws.
const FIX_FIRST_CURVES: usize = 6;

/// Fractions of the training rows checked on the fix-first curves.
const CHECKED: [f64; 6] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3];

/// The fix-first curves of the self-influence, training-loss, random and oracle
/// orders, and removal on the unflipped data in self-influence and random order. Only
/// for the convex models (a network refits too slowly for 30 fits per click). A stage
/// of `stages` per curve, moving within it as the curve's refits are done.
fn fix_first_curves(
    s: &Session,
    e: &MislabelExperiment,
    stages: &mut Stages,
) -> Result<(Vec<FixCurve>, Vec<FixCurve>), Said> {
    if s.problem().model.net != Net::Linear {
        return Ok((vec![], vec![]));
    }
    let test = &s.test;
    let ranking = |id| e.rankings.iter().find(|r| r.0 == id).map(|r| r.1.clone()).unwrap_or_default();
    let oracle: Vec<f64> = e.flipped.iter().map(|&f| f64::from(u8::from(f))).collect();
    let fix = Action::Fix { clean: &s.problem().train.y };
    let mut curve = |problem: &Problem, theta: &[f64], ranking, scores: &[f64], action: &Action| {
        let points = fix_first_curve(problem, theta, scores, action, &CHECKED, test, &mut *stages);
        stages.next();
        points.map(|points| FixCurve { ranking, points }).map_err(|e| e.said())
    };
    let (fp, ft) = (&e.flipped_problem, &e.theta);
    let fixed = vec![
        curve(fp, ft, SelfRanking::Oracle, &oracle, &fix)?,
        curve(fp, ft, SelfRanking::SelfInfluence, &ranking(SelfRanking::SelfInfluence), &fix)?,
        curve(fp, ft, SelfRanking::TrainLoss, &ranking(SelfRanking::TrainLoss), &fix)?,
        curve(fp, ft, SelfRanking::Random, &ranking(SelfRanking::Random), &fix)?,
    ];
    let clean_self = s.influence().self_influence().map_err(|e| e.said())?;
    let removed = vec![
        curve(s.problem(), s.theta(), SelfRanking::SelfInfluence, &clean_self, &Action::Remove)?,
        curve(s.problem(), s.theta(), SelfRanking::Random, &ranking(SelfRanking::Random), &Action::Remove)?,
    ];
    Ok((fixed, removed))
}
