//! Progress reporting and cancellation for long jobs (leave-one-out over every point,
//! reweighting sweeps). The worker streams these reports to the page.

/// Receives `(done, total)` after each unit of work; returning `false` cancels the job,
/// which then ends with [`Cancelled`].
pub trait Progress {
    /// Report progress; `false` asks the job to stop.
    fn report(&mut self, done: usize, total: usize) -> bool;
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
}

/// The job was cancelled through its [`Progress`] sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;
