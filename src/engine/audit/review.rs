//! The review queue: which training rows to look at first when hunting wrong labels on
//! the user's own data, with no synthetic flips. Each ranking orders the rows by a
//! score, larger first:
//!
//! ```text
//! self_influence   g_iᵀ H⁻¹ g_i                  (Koh & Liang 2017, §5.4)
//! train_loss       l(z_i, θ̂)
//! grad_norm        ‖g_i‖
//! tracin_self      Σ_c η ‖g_i(θ_c)‖²             (Pruthi et al. 2020)
//! test_harm        −(1/n) ḡ_testᵀ H⁻¹ g_i        (ḡ_test: mean test-loss gradient)
//! ```
//!
//! `test_harm` is the predicted fall of the mean test loss when row i is removed
//! (positive: the test set is better off without it). For each candidate the queue
//! also gives what a reviewer needs to decide: the model's class probabilities, the
//! test points it affects most, and its nearest neighbours (Euclidean distance after
//! z-scoring each feature with the training statistics) with their labels.

use crate::engine::influence::Influence;
use crate::engine::linalg::LinalgError;
use crate::engine::methods::peers::{tracin_self, TracInParams};
use crate::engine::model::problem::{Design, Problem};
use serde::{Deserialize, Serialize};

/// A ranking of the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewScore {
    /// `g_iᵀ H⁻¹ g_i`.
    SelfInfluence,
    /// The row's own training loss.
    TrainLoss,
    /// `‖g_i‖`.
    GradNorm,
    /// TracIn of the row with itself.
    TracinSelf,
    /// Predicted fall of the mean test loss without the row.
    TestHarm,
}

impl ReviewScore {
    /// Every ranking, the default first.
    pub const ALL: [ReviewScore; 5] = [
        ReviewScore::SelfInfluence,
        ReviewScore::TrainLoss,
        ReviewScore::GradNorm,
        ReviewScore::TracinSelf,
        ReviewScore::TestHarm,
    ];

    /// The identifier used by the CLI and the URL.
    pub fn id(self) -> &'static str {
        match self {
            ReviewScore::SelfInfluence => "self_influence",
            ReviewScore::TrainLoss => "train_loss",
            ReviewScore::GradNorm => "grad_norm",
            ReviewScore::TracinSelf => "tracin_self",
            ReviewScore::TestHarm => "test_harm",
        }
    }

    /// The ranking named `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// Every training row's score under `score` (larger = review first).
pub fn review_scores(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    test: &Design,
    score: ReviewScore,
    tracin: &TracInParams,
) -> Result<Vec<f64>, LinalgError> {
    Ok(match score {
        ReviewScore::SelfInfluence => influence.self_influence()?,
        ReviewScore::TrainLoss => influence.train_losses.clone(),
        ReviewScore::GradNorm => influence.train_grads.rows().into_iter().map(|g| g.dot(&g).sqrt()).collect(),
        ReviewScore::TracinSelf => tracin_self(problem, tracin),
        ReviewScore::TestHarm => test_harm(problem, theta, influence, test)?,
    })
}

/// `−(1/n) ḡ_testᵀ H⁻¹ g_i` for every training row (one solve).
pub fn test_harm(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    test: &Design,
) -> Result<Vec<f64>, LinalgError> {
    let (g_test, _) = problem.example_grads(theta, test);
    let m = test.n().max(1) as f64;
    let mean: Vec<f64> = g_test.columns().into_iter().map(|c| c.sum() / m).collect();
    let s = influence.inverse().solve(&mean)?;
    let inv_n = 1.0 / problem.n() as f64;
    Ok(influence
        .train_grads
        .rows()
        .into_iter()
        .map(|g| -inv_n * g.iter().zip(&s).map(|(a, b)| a * b).sum::<f64>())
        .collect())
}

/// What removing one row really does to the test set, next to the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RemovalCheck {
    /// Predicted change of the mean test loss (first order: `−test_harm`).
    pub predicted_dloss: f64,
    /// Change of the mean test loss after really refitting without the row.
    pub actual_dloss: f64,
    /// Predicted change of the test accuracy (classifiers): test points whose margin
    /// (see [`crate::engine::audit`]) crosses zero to first order change answer.
    pub predicted_daccuracy: Option<f64>,
    /// Change of the test accuracy (RMSE for regression) after that refit.
    pub actual_dmetric: f64,
    /// Whether the refit converged.
    pub converged: bool,
}

/// Every test point's margin, its gradient, whether its prediction is right, and
/// whether it would be right once the prediction changes (it becomes the runner-up).
struct TestMargins {
    value: Vec<f64>,
    grad: Vec<Vec<f64>>,
    right: Vec<bool>,
    right_after_flip: Vec<bool>,
}

fn test_margins(problem: &Problem, theta: &[f64], test: &Design) -> Option<TestMargins> {
    use crate::engine::audit::Margin;
    let model = &problem.model;
    if model.classes() == 0 {
        return None;
    }
    let mut out = TestMargins { value: vec![], grad: vec![], right: vec![], right_after_flip: vec![] };
    for t in 0..test.n() {
        let x = test.row(t);
        let m = Margin::at(model, theta, x, None).ok()?;
        let mut g = vec![0.0; problem.n_params()];
        out.value.push(m.value(model, theta, x, Some(&mut g)));
        out.grad.push(g);
        let p = model.predict(theta, x);
        let runner_up = (0..p.len()).filter(|&k| k != m.class).max_by(|&a, &b| p[a].total_cmp(&p[b]));
        out.right.push(m.class as f64 == test.y[t]);
        out.right_after_flip.push(runner_up.is_some_and(|r| r as f64 == test.y[t]));
    }
    Some(out)
}

/// For each of `rows`: the predicted and the actual (refitted) effect of removing it
/// on the whole test set.
pub fn removal_checks(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    test: &Design,
    rows: &[usize],
) -> Result<Vec<RemovalCheck>, crate::engine::retrain::RetrainError> {
    use crate::engine::fit::FitOptions;
    use crate::engine::pipeline::metric;
    let harm = test_harm(problem, theta, influence, test)?;
    let mean_loss = |t: &[f64]| problem.losses(t, test).iter().sum::<f64>() / test.n().max(1) as f64;
    let (loss0, (_, metric0)) = (mean_loss(theta), metric(&problem.model, theta, test));
    let mut retrainer =
        crate::engine::retrain::Retrainer::new(problem, theta, influence, FitOptions::default())?;
    let margins = test_margins(problem, theta, test);
    let inv_n = 1.0 / problem.n() as f64;
    let m = test.n().max(1) as f64;
    rows.iter()
        .map(|&i| {
            // Δm_t = (1/n) ∇m_tᵀ H⁻¹ g_i; a negative margin means another answer.
            let predicted_daccuracy = match &margins {
                Some(tm) => {
                    let s = influence.inverse().solve(&influence.train_grads.row(i).to_vec())?;
                    let changed: f64 = (0..tm.value.len())
                        .map(|t| {
                            let dm = inv_n * tm.grad[t].iter().zip(&s).map(|(a, b)| a * b).sum::<f64>();
                            let flips = tm.value[t] + dm < 0.0;
                            let after = if flips { tm.right_after_flip[t] } else { tm.right[t] };
                            f64::from(u8::from(after)) - f64::from(u8::from(tm.right[t]))
                        })
                        .sum();
                    Some(changed / m)
                }
                None => None,
            };
            let r = retrainer.leave_out(i)?;
            Ok(RemovalCheck {
                predicted_dloss: -harm[i],
                predicted_daccuracy,
                actual_dloss: mean_loss(&r.theta) - loss0,
                actual_dmetric: metric(&problem.model, &r.theta, test).1 - metric0,
                converged: r.converged,
            })
        })
        .collect()
}

/// A neighbour of a candidate in the z-scored feature space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    /// Training row.
    pub index: usize,
    /// Its label.
    pub label: f64,
    /// Euclidean distance after z-scoring.
    pub distance: f64,
}

/// One test point a candidate affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestEffect {
    /// Test row.
    pub test: usize,
    /// `pred_loo_dloss[t][i]` (positive: the candidate helps that test point).
    pub dloss: f64,
}

/// One row of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Training row.
    pub index: usize,
    /// Its score under the ranking.
    pub score: f64,
    /// Its label.
    pub label: f64,
    /// Its features as the model sees them.
    pub x: Vec<f64>,
    /// The model's prediction for it: class probabilities, or `ŷ` for regression.
    pub probs: Vec<f64>,
    /// The test points it affects most (largest `|dloss|` first).
    pub effects: Vec<TestEffect>,
    /// Its nearest training neighbours, nearest first.
    pub neighbours: Vec<Neighbour>,
}

/// How many neighbours and test effects each candidate carries.
pub const NEIGHBOURS: usize = 5;
/// See [`NEIGHBOURS`].
pub const EFFECTS: usize = 3;

/// The `top` rows of `scores` in review order, each with what a reviewer needs.
pub fn candidates(
    problem: &Problem,
    theta: &[f64],
    influence: &Influence,
    test: &Design,
    scores: &[f64],
    top: usize,
) -> Result<Vec<Candidate>, LinalgError> {
    let order = crate::engine::evaluate::top_k(scores, top.min(scores.len()));
    let train = &problem.train;
    let z = zscored(train);
    let (g_test, _) = problem.example_grads(theta, test);
    let inv_n = 1.0 / problem.n() as f64;
    order
        .into_iter()
        .map(|i| {
            let s = influence.inverse().solve(&influence.train_grads.row(i).to_vec())?;
            let mut effects: Vec<TestEffect> = g_test
                .rows()
                .into_iter()
                .enumerate()
                .map(|(t, g)| TestEffect {
                    test: t,
                    dloss: inv_n * g.iter().zip(&s).map(|(a, b)| a * b).sum::<f64>(),
                })
                .collect();
            effects.sort_by(|a, b| b.dloss.abs().total_cmp(&a.dloss.abs()));
            effects.truncate(EFFECTS);
            Ok(Candidate {
                index: i,
                score: scores[i],
                label: train.y[i],
                x: train.row(i).to_vec(),
                probs: problem.model.predict(theta, train.row(i)),
                effects,
                neighbours: neighbours(&z, train, i, NEIGHBOURS),
            })
        })
        .collect()
}

/// The rows of `train` z-scored column by column (constant columns become 0).
fn zscored(train: &Design) -> Vec<Vec<f64>> {
    let rows: Vec<Vec<f64>> = (0..train.n()).map(|i| train.row(i).to_vec()).collect();
    let d = rows.first().map_or(0, Vec::len);
    let s = crate::engine::data::prep::Standardizer::from_rows(&rows, d);
    rows.iter().map(|r| s.transform(r)).collect()
}

/// The `k` rows nearest to row `i` (itself excluded).
fn neighbours(z: &[Vec<f64>], train: &Design, i: usize, k: usize) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = (0..z.len())
        .filter(|&j| j != i)
        .map(|j| Neighbour {
            index: j,
            label: train.y[j],
            distance: z[i].iter().zip(&z[j]).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt(),
        })
        .collect();
    all.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    all.truncate(k);
    all
}
