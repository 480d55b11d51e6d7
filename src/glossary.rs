//! Plain words for every technical term the page shows, behind its ⓘ button: one
//! sentence or two that a student can read without the paper. The maths they stand for
//! is in `shared/docs/conventions.md`; the methods' own sentences are
//! [`Attribution::describe`].

#[cfg(test)]
use crate::engine::methods::Method;
use crate::protocol::Attribution;

/// A term with an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// L2 strength λ.
    Lambda,
    /// Curvature for influence (Hessian, GGN, K-FAC, EK-FAC).
    Curvature,
    /// Damping δ.
    Damping,
    /// Newton steps and convergence.
    NewtonSteps,
    /// Loss and influence on it.
    Influence,
    /// Leave-one-out retraining and the correlations that grade influence.
    LeaveOneOut,
    /// Linear datamodeling score.
    Lds,
    /// An attribution method (or exact influence, or actual retraining).
    Method(Attribution),
}

impl Term {
    /// The term as the page names it.
    pub fn name(self) -> &'static str {
        match self {
            Term::Lambda => "L2 strength λ",
            Term::Curvature => "curvature",
            Term::Damping => "damping δ",
            Term::NewtonSteps => "Newton steps",
            Term::Influence => "influence and loss",
            Term::LeaveOneOut => "the leave-one-out check",
            Term::Lds => "the linear datamodeling score",
            Term::Method(m) => m.label(),
        }
    }

    /// A short identifier (for tests and `data-testid`).
    pub fn id(self) -> &'static str {
        match self {
            Term::Lambda => "lambda",
            Term::Curvature => "curvature",
            Term::Damping => "damping",
            Term::NewtonSteps => "newton",
            Term::Influence => "influence",
            Term::LeaveOneOut => "loo",
            Term::Lds => "lds",
            Term::Method(m) => m.id(),
        }
    }

    /// What it means, in plain words.
    pub fn explain(self) -> &'static str {
        match self {
            Term::Lambda => "How strongly the model is pulled towards small weights. Larger λ: a smoother, more \
                cautious model, on which each single training point matters less. Tiny λ on data that can be \
                separated perfectly lets the weights grow without end, and influence becomes unreliable.",
            Term::Curvature => "Influence asks how the fitted weights would shift if a point were removed. The \
                answer divides by the loss's curvature (how sharply it bends around the fit). The exact Hessian is \
                that curvature; GGN, K-FAC and EK-FAC are cheaper stand-ins that larger models need.",
            Term::Damping => "A small number added to the curvature before dividing by it. It keeps the answer finite \
                when the curvature is nearly flat in some direction, at the price of a bias: more damping, smaller \
                predicted effects.",
            Term::NewtonSteps => "How the model was fitted: each Newton step uses the curvature to jump towards the \
                best weights. \"Converged\" means the slope of the loss is zero to within rounding, so the \
                influence formulas, which assume an exact optimum, apply.",
            Term::Influence => "The loss is how wrong the model is on one point (0 is perfect). A training point's \
                influence predicts how that loss would change if the point were removed and the model retrained, \
                without retraining: positive means the point helps this prediction, negative means it hurts.",
            Term::LeaveOneOut => "The ground truth: remove each training point in turn, really retrain, and measure \
                the change of the explained point's loss. Pearson r says how well the predicted changes line up \
                with the actual ones (1 is perfect); Spearman ρ says the same about their order.",
            Term::Lds => "Retrain on many random halves of the data and ask whether the sum of the kept points' \
                scores predicts the model's output on each half. The linear datamodeling score is the rank \
                correlation between predicted and actual outputs (1 is perfect, 0 is no better than chance).",
            Term::Method(m) => m.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_explained_in_words() {
        let mut terms = vec![
            Term::Lambda,
            Term::Curvature,
            Term::Damping,
            Term::NewtonSteps,
            Term::Influence,
            Term::LeaveOneOut,
            Term::Lds,
        ];
        terms.extend(Method::ALL.iter().map(|m| Term::Method(Attribution::Method(*m))));
        terms.extend([Term::Method(Attribution::Exact), Term::Method(Attribution::ActualLoo)]);
        for t in terms {
            assert!(t.explain().split(' ').count() >= 8, "{} is explained in a sentence", t.id());
            assert!(!t.name().contains('_'), "{} has a name for people, not an identifier", t.id());
        }
    }
}
