//! The review queue's bookkeeping on the page (no web code, tested natively): a
//! ranked snapshot of candidates ([`AuditView`]), the reviewer's decisions as edits of
//! the training data, undo, the test metrics before and after each decision, and the
//! audit log.
//!
//! A candidate's index is a position in the training set *at ranking time*; the
//! decision is recorded on the training row it came from (`origin`), which is what the
//! [`Edits`] name, so later removals that shift positions do not move a decision.

use crate::protocol::{AuditView, Edits};
use serde::{Deserialize, Serialize};

/// What the reviewer decided about a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The label is right: keep the row.
    Keep,
    /// The label is wrong: give the row this class.
    Relabel(usize),
    /// Drop the row.
    Remove,
}

/// Test loss and metric of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean test loss.
    pub test_loss: f64,
    /// Test accuracy (RMSE for regression).
    pub test_metric: f64,
}

/// One decision, with the numbers at the time it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Position in the queue.
    pub position: usize,
    /// Training row (before edits) decided about.
    pub row: usize,
    /// Its name in the file (CSV line or ID), when it came from one.
    pub name: Option<crate::engine::data::columns::RowName>,
    /// Its label at ranking time.
    pub label: f64,
    /// The decision.
    pub verdict: Verdict,
    /// The candidate's score under the ranking.
    pub score: f64,
    /// The model before the decision.
    pub before: Metrics,
    /// The model retrained after it (once it has been).
    pub after: Option<Metrics>,
}

/// A ranked queue and the decisions on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// The ranking's candidates.
    pub view: AuditView,
    /// The training row of every training point at ranking time (`None`: added).
    pub origin: Vec<Option<usize>>,
    /// The data and model the queue was ranked for (a URL without edits).
    pub key: String,
    /// Decisions so far, in order.
    pub decisions: Vec<Decision>,
    /// The candidate in focus.
    pub focus: usize,
}

impl Queue {
    /// A fresh queue.
    pub fn new(view: AuditView, origin: Vec<Option<usize>>, key: String) -> Self {
        Self { view, origin, key, decisions: vec![], focus: 0 }
    }

    /// The metrics the queue was ranked at.
    pub fn start(&self) -> Metrics {
        Metrics { test_loss: self.view.test_loss, test_metric: self.view.test_metric }
    }

    /// The latest decision on candidate `position`, if any.
    pub fn verdict(&self, position: usize) -> Option<Verdict> {
        self.decisions.iter().rev().find(|d| d.position == position).map(|d| d.verdict)
    }

    /// Move the focus by `step` (clamped to the queue).
    pub fn move_focus(&mut self, step: isize) {
        let last = self.view.candidates.len().saturating_sub(1) as isize;
        self.focus = (self.focus as isize + step).clamp(0, last) as usize;
    }

    /// Decide about the candidate in focus with the model at `now`: the edits that
    /// carry it out (from `edits`), or `None` when the candidate has no training row
    /// (an added point). The focus moves on to the next candidate.
    pub fn decide(&mut self, verdict: Verdict, now: Metrics, edits: &Edits) -> Option<Edits> {
        let position = self.focus;
        let c = self.view.candidates.get(position)?;
        let row = self.origin.get(c.index).copied().flatten()?;
        let name = self.view.rows.get(position).and_then(|r| r.0.clone());
        let decision = Decision {
            position,
            row,
            name,
            label: c.label,
            verdict,
            score: c.score,
            before: now,
            after: None,
        };
        self.decisions.push(decision);
        self.move_focus(1);
        Some(apply(edits, row, verdict))
    }

    /// Undo the last decision: the edits without it (it is replaced by the decision
    /// on the same row before it, if any), and the focus back on its candidate.
    pub fn undo(&mut self, edits: &Edits) -> Option<Edits> {
        let last = self.decisions.pop()?;
        self.focus = last.position;
        let mut out = revert(edits, last.row);
        if let Some(earlier) = self.decisions.iter().rev().find(|d| d.row == last.row) {
            out = apply(&out, earlier.row, earlier.verdict);
        }
        Some(out)
    }

    /// Record the model retrained after the last decision.
    pub fn retrained(&mut self, now: Metrics) {
        if let Some(d) = self.decisions.last_mut().filter(|d| d.after.is_none()) {
            d.after = Some(now);
        }
    }

    /// The audit log (JSON): the ranking, the metrics at the start, and every decision
    /// with its score and the metrics before and after it.
    pub fn log(&self) -> String {
        #[derive(Serialize)]
        struct Log<'a> {
            ranking: &'a str,
            start: Metrics,
            decisions: &'a [Decision],
        }
        let log = Log { ranking: self.view.rank.id(), start: self.start(), decisions: &self.decisions };
        serde_json::to_string_pretty(&log).unwrap_or_default()
    }
}

/// `edits` with `row`'s earlier removal or relabel undone.
fn revert(edits: &Edits, row: usize) -> Edits {
    let mut e = edits.clone();
    e.removed.retain(|&r| r != row);
    e.relabeled.retain(|&(r, _)| r != row);
    e
}

/// `edits` with `verdict` on `row` (replacing any earlier decision on it).
fn apply(edits: &Edits, row: usize, verdict: Verdict) -> Edits {
    let mut e = revert(edits, row);
    match verdict {
        Verdict::Keep => {}
        Verdict::Relabel(c) => e.relabeled.push((row, c)),
        Verdict::Remove => e.removed.push(row),
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::audit::review::{Candidate, ReviewScore};

    fn queue() -> Queue {
        let c = |index, score| Candidate {
            index,
            score,
            label: 0.0,
            x: vec![],
            probs: vec![0.5, 0.5],
            effects: vec![],
            neighbours: vec![],
        };
        let view = AuditView {
            rank: ReviewScore::SelfInfluence,
            candidates: vec![c(4, 3.0), c(1, 2.0), c(0, 1.0)],
            rows: vec![],
            checks: vec![],
            test_loss: 0.5,
            test_metric: 0.8,
        };
        // Training point 1 came from row 7 (rows 1–6 were removed before ranking).
        Queue::new(view, vec![Some(0), Some(7), Some(8), Some(9), Some(10)], "?ds=moons".into())
    }

    #[test]
    fn decisions_become_edits_on_the_original_rows_and_undo_restores_them() {
        let mut q = queue();
        let m = Metrics { test_loss: 0.5, test_metric: 0.8 };
        let e0 = Edits { removed: vec![3], ..Edits::default() };
        let e1 = q.decide(Verdict::Remove, m, &e0).expect("row");
        assert_eq!(e1.removed, vec![3, 10]);
        assert_eq!(q.focus, 1);
        let e2 = q.decide(Verdict::Relabel(1), m, &e1).expect("row");
        assert_eq!(e2.relabeled, vec![(7, 1)]);
        q.retrained(Metrics { test_loss: 0.4, test_metric: 0.85 });
        assert_eq!(q.decisions[1].after.map(|a| a.test_loss), Some(0.4));
        assert_eq!(q.decisions[0].after, None, "only the last decision's model is known");
        // Changing one's mind about candidate 1: keep it.
        q.focus = 1;
        let e3 = q.decide(Verdict::Keep, m, &e2).expect("row");
        assert!(e3.relabeled.is_empty() && e3.removed == vec![3, 10]);
        assert_eq!(q.verdict(1), Some(Verdict::Keep));
        // Undo brings back the relabel, then the removal goes.
        let e4 = q.undo(&e3).expect("a decision");
        assert_eq!((e4.relabeled.clone(), q.focus), (vec![(7, 1)], 1));
        let e5 = q.undo(&e4).expect("a decision");
        let e6 = q.undo(&e5).expect("a decision");
        assert_eq!(e6, e0, "every decision undone");
        assert!(q.undo(&e6).is_none());
        q.move_focus(-5);
        assert_eq!(q.focus, 0);
        q.move_focus(9);
        assert_eq!(q.focus, 2);
    }

    #[test]
    fn the_log_names_the_ranking_and_every_decision() {
        let mut q = queue();
        let m = Metrics { test_loss: 0.5, test_metric: 0.8 };
        q.decide(Verdict::Remove, m, &Edits::default());
        let log: serde_json::Value = serde_json::from_str(&q.log()).expect("JSON");
        assert_eq!(log["ranking"], "self_influence");
        assert_eq!(log["decisions"][0]["row"], 10);
        assert_eq!(log["decisions"][0]["verdict"], "remove");
        assert_eq!(log["decisions"][0]["score"], 3.0);
        assert_eq!(log["start"]["test_metric"], 0.8);
    }
}
