//! Progress reporting and cancellation for long jobs (leave-one-out over every point,
//! reweighting sweeps). The worker streams these reports to the page.

/// Receives `(done, total)` after each unit of work; returning `false` cancels the job,
/// which then ends with [`Cancelled`].
pub trait Progress {
    /// Report progress; `false` asks the job to stop.
    fn report(&mut self, done: usize, total: usize) -> bool;

    /// Whether anyone reads the reports (or may cancel): a job may then run in fewer,
    /// larger pieces (the native leave-one-out starts its threads once, not per block).
    fn listens(&self) -> bool {
        true
    }
}

impl<F: FnMut(usize, usize) -> bool> Progress for F {
    fn report(&mut self, done: usize, total: usize) -> bool {
        self(done, total)
    }
}

/// A progress sink that never cancels and ignores reports.
pub struct Silent;

impl Progress for Silent {
    fn report(&mut self, _done: usize, _total: usize) -> bool {
        true
    }

    fn listens(&self) -> bool {
        false
    }
}

/// The job was cancelled through its [`Progress`] sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// How far a job made of `count` stages has come, as a fraction from 0 to 1 given to
/// `report`: each finished stage adds `1/count`; a stage that reports its own
/// `(done, total)` (as a [`Progress`] sink, which never cancels) moves within its share.
/// Never backwards, so a bar that shows it only moves forward.
pub struct Stages<'a> {
    count: usize,
    done: usize,
    shown: f64,
    report: &'a mut dyn FnMut(f64),
}

impl<'a> Stages<'a> {
    /// A job of `count` stages (at least one), none done yet.
    pub fn new(count: usize, report: &'a mut dyn FnMut(f64)) -> Self {
        Self { count: count.max(1), done: 0, shown: 0.0, report }
    }

    /// One more stage is done.
    pub fn next(&mut self) {
        self.done = (self.done + 1).min(self.count);
        self.show(0.0);
    }

    fn show(&mut self, within: f64) {
        let at = ((self.done as f64 + within.clamp(0.0, 1.0)) / self.count as f64).min(1.0);
        if at > self.shown {
            self.shown = at;
            (self.report)(at);
        }
    }
}

impl Progress for Stages<'_> {
    fn report(&mut self, done: usize, total: usize) -> bool {
        self.show(if total == 0 { 1.0 } else { done as f64 / total as f64 });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_move_forward_in_equal_shares_and_within_a_stage() {
        let mut seen = Vec::new();
        let mut record = |f: f64| seen.push(f);
        let mut stages = Stages::new(4, &mut record);
        stages.next(); // 1 of 4
        assert!(stages.report(1, 2)); // half of the second: 1.5 of 4
        stages.report(0, 2); // backwards within the stage: not shown
        stages.next(); // 2 of 4
        stages.next();
        stages.next();
        stages.next(); // past the end: stays at 1
        assert_eq!(seen, vec![0.25, 0.375, 0.5, 0.75, 1.0]);
    }
}
