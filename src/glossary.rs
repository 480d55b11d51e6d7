//! Plain words for every technical term the page shows, behind its ⓘ button: one
//! sentence or two that a student can read without the paper. The maths they stand for
//! is in `shared/docs/conventions.md`; the methods' own sentences are
//! [`Attribution::describe`].

#[cfg(test)]
use crate::engine::methods::Method;
use crate::lang::Lang;
use crate::protocol::Attribution;
use crate::text::{text, Text};

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
    /// The term as the page names it, in `lang`.
    pub fn name(self, lang: Lang) -> &'static str {
        text(lang, self.texts().0)
    }

    /// The keys of the term's name and words in [`crate::text`].
    fn texts(self) -> (Text, Text) {
        match self {
            Term::Lambda => (Text::TermLambdaName, Text::TermLambda),
            Term::Curvature => (Text::TermCurvatureName, Text::TermCurvature),
            Term::Damping => (Text::TermDampingName, Text::TermDamping),
            Term::NewtonSteps => (Text::TermNewtonName, Text::TermNewton),
            Term::Influence => (Text::TermInfluenceName, Text::TermInfluence),
            Term::LeaveOneOut => (Text::TermLooName, Text::TermLoo),
            Term::Lds => (Text::TermLdsName, Text::TermLds),
            Term::Method(m) => m.texts(),
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

    /// What it means, in plain words, in `lang`.
    pub fn explain(self, lang: Lang) -> &'static str {
        text(lang, self.texts().1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_explained_in_words() {
        let words = [
            Term::Lambda,
            Term::Curvature,
            Term::Damping,
            Term::NewtonSteps,
            Term::Influence,
            Term::LeaveOneOut,
            Term::Lds,
        ];
        let mut terms = words.to_vec();
        terms.extend(Method::ALL.iter().map(|m| Term::Method(Attribution::Method(*m))));
        terms.extend([Term::Method(Attribution::Exact), Term::Method(Attribution::ActualLoo)]);
        for t in terms {
            assert!(t.explain(Lang::En).split(' ').count() >= 8, "{} is explained in a sentence", t.id());
            assert!(!t.name(Lang::En).contains('_'), "{} has a name for people, not an identifier", t.id());
        }
        // Japanese has no spaces between words: a sentence is long.
        for t in words.into_iter().chain(Method::ALL.iter().map(|m| Term::Method(Attribution::Method(*m)))) {
            assert!(t.explain(Lang::Ja).chars().count() >= 30, "{} is explained in Japanese", t.id());
        }
    }
}
