//! Which of the page's helper workers hold the primary worker's file and model, so a
//! block of a long job only goes to a helper that computes on the same model (the
//! primary also checks a fingerprint of every block it is given). No browser code;
//! tested natively.
//!
//! The primary holds a *generation* of the uploaded file and of the model, bumped each
//! time it accepts a new one. A helper that is behind is sent the file and the
//! training spec first; worker messages are handled in order, so its block then runs
//! on the same model.

/// What one helper must be sent before a block of a long job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catchup {
    /// The helper (worker index, from 1).
    pub worker: usize,
    /// Send it the uploaded file first.
    pub upload: bool,
    /// Send it the training spec first.
    pub train: bool,
}

/// The helpers' state (see the module doc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Helpers {
    /// Per helper (index k is worker k + 1): ready, and the generations it holds.
    helpers: Vec<(bool, u64, u64)>,
    upload: u64,
    model: u64,
    started: bool,
}

impl Helpers {
    /// Whether the helpers have been started (they are started once).
    pub fn started(&self) -> bool {
        self.started
    }

    /// `count` helpers were started; none is ready yet.
    pub fn start(&mut self, count: usize) {
        self.started = true;
        self.helpers = vec![(false, 0, 0); count];
    }

    /// Worker `worker` has started and listens.
    pub fn ready(&mut self, worker: usize) {
        if let Some(h) = worker.checked_sub(1).and_then(|k| self.helpers.get_mut(k)) {
            h.0 = true;
        }
    }

    /// Worker `worker` was replaced by a fresh one (after a crash): it gets no block
    /// until it is ready, and then catches up from nothing.
    pub fn restarted(&mut self, worker: usize) {
        if let Some(h) = worker.checked_sub(1).and_then(|k| self.helpers.get_mut(k)) {
            *h = (false, u64::MAX, u64::MAX);
        }
    }

    /// The primary accepted a new file.
    pub fn uploaded(&mut self) {
        self.upload += 1;
    }

    /// The primary holds a new model (trained, or another point explained).
    pub fn trained(&mut self) {
        self.model += 1;
    }

    /// Workers a shared job can use now: the primary and every ready helper.
    pub fn workers(&self) -> usize {
        1 + self.helpers.iter().filter(|h| h.0).count()
    }

    /// What each ready helper must be sent before a block, in worker order; they are
    /// taken to hold the primary's file and model from then on.
    pub fn catch_up(&mut self) -> Vec<Catchup> {
        let (upload, model) = (self.upload, self.model);
        let mut out = Vec::new();
        for (k, h) in self.helpers.iter_mut().enumerate().filter(|(_, h)| h.0) {
            out.push(Catchup { worker: k + 1, upload: h.1 != upload, train: h.2 != model || h.1 != upload });
            (h.1, h.2) = (upload, model);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ready_helpers_get_blocks_and_each_catches_up_once() {
        let mut h = Helpers::default();
        assert!(!h.started());
        h.start(3);
        assert_eq!(h.workers(), 1, "the primary alone until a helper is ready");
        h.trained();
        h.ready(2);
        h.ready(9); // not a helper: ignored
        assert_eq!(h.workers(), 2);
        assert_eq!(h.catch_up(), vec![Catchup { worker: 2, upload: false, train: true }]);
        assert_eq!(h.catch_up(), vec![Catchup { worker: 2, upload: false, train: false }], "up to date");
        h.ready(1);
        h.uploaded();
        h.trained();
        assert_eq!(
            h.catch_up(),
            vec![
                Catchup { worker: 1, upload: true, train: true },
                Catchup { worker: 2, upload: true, train: true }
            ]
        );
        // A crashed helper is replaced: no blocks until ready, then everything again.
        h.restarted(2);
        assert_eq!(h.workers(), 2);
        assert_eq!(h.catch_up(), vec![Catchup { worker: 1, upload: false, train: false }]);
        h.ready(2);
        assert_eq!(
            h.catch_up(),
            vec![
                Catchup { worker: 1, upload: false, train: false },
                Catchup { worker: 2, upload: true, train: true }
            ]
        );
    }
}
