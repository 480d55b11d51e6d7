//! The page's bookkeeping of its worker jobs, without any browser code (tested
//! natively): job ids, dropping stale answers, coalescing slider moves, and the
//! lifecycle of progress bars.
//!
//! - Every request gets the next id; each [`JobKind`] remembers the id of its latest
//!   request, and a response with any other id is stale ([`JobTracker::is_latest`]).
//!   This is the generation counter of TensorFlow Playground's `Player`.
//! - While a reweighting is computed, later slider values wait in one slot
//!   ([`PendingWeight`]); only the latest is sent when the answer arrives.
//! - A long job's progress exists from its start until it ends in any way (done,
//!   failed or cancelled): [`JobTracker::finish`] always clears it, so a failed job
//!   never leaves a dead progress bar and a disabled button behind.
//! - A long job shared among workers reports progress per block, summed here, and its
//!   blocks are gathered until every one is in ([`JobTracker::block_done`]).

use crate::protocol::Part;
use std::collections::BTreeMap;

/// The kinds of job the page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// Train or select (both answer with a trained view).
    Train,
    /// Set one training point's weight.
    Reweight,
    /// Leave-one-out of every training point.
    Loo,
    /// Parse an uploaded file.
    Upload,
    /// The Methods view.
    Methods,
    /// The Diagnostics view.
    Diagnostics,
    /// The Mislabel lab.
    Mislabel,
    /// Why this prediction (the flip set).
    Flip,
    /// The review queue's ranking.
    Audit,
    /// The cleaned data file.
    CleanedCsv,
    /// A group's removal.
    Group,
    /// The LDS.
    Lds,
    /// The three ground truths.
    Truths,
    /// TMC-Shapley's permutations on the pool, before a Methods view that shows it.
    Shapley,
}

/// A long job's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Units done.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

impl Progress {
    /// `label 43%`: the label and the share done, in whole percent.
    pub fn labelled(self, label: &str) -> String {
        format!("{label} {:.0}%", 100.0 * self.done as f64 / self.total.max(1) as f64)
    }
}

/// A slider value waiting for the reweighting in flight to finish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingWeight {
    /// The training point.
    pub index: usize,
    /// Its weight.
    pub weight: f64,
    /// Whether any coalesced request asked for the curves.
    pub curve: bool,
}

/// What the page should send for a reweighting request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReweightPlan {
    /// Send it now with this job id.
    Send(u64),
    /// One is in flight: it waits (coalesced with any earlier waiting value).
    Wait,
}

/// The job bookkeeping (see the module doc).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JobTracker {
    next: u64,
    latest: BTreeMap<JobKind, u64>,
    running: BTreeMap<JobKind, u64>,
    progress: BTreeMap<JobKind, Progress>,
    /// Per long job: each block's `(done, total)` once it has reported.
    block_progress: BTreeMap<JobKind, BTreeMap<usize, (usize, usize)>>,
    /// Per shared job: its blocks so far, by part.
    blocks: BTreeMap<JobKind, Vec<Option<Part>>>,
    pending_weight: Option<PendingWeight>,
}

impl JobTracker {
    /// Start a job of `kind`: its id, now the latest of its kind.
    pub fn start(&mut self, kind: JobKind) -> u64 {
        self.next += 1;
        self.latest.insert(kind, self.next);
        self.running.insert(kind, self.next);
        self.next
    }

    /// Start a long job: as [`JobTracker::start`], with progress 0 of `total`, run
    /// in `parts` blocks (one per worker).
    pub fn start_long(&mut self, kind: JobKind, total: usize, parts: usize) -> u64 {
        let id = self.start(kind);
        self.progress.insert(kind, Progress { done: 0, total: total.max(1) });
        self.block_progress.insert(kind, BTreeMap::new());
        self.blocks.insert(kind, vec![None; parts.max(1)]);
        id
    }

    /// The id of the latest job of `kind` (0 before any).
    pub fn latest(&self, kind: JobKind) -> u64 {
        self.latest.get(&kind).copied().unwrap_or(0)
    }

    /// Whether `job` is the latest of `kind` (older answers are stale).
    pub fn is_latest(&self, kind: JobKind, job: u64) -> bool {
        self.latest(kind) == job && job != 0
    }

    /// Whether a job of `kind` is running.
    pub fn is_running(&self, kind: JobKind) -> bool {
        self.running.contains_key(&kind)
    }

    /// The kind of the running job `job`, if it is one.
    pub fn kind_of(&self, job: u64) -> Option<JobKind> {
        self.running.iter().find(|(_, id)| **id == job).map(|(k, _)| *k)
    }

    /// Record progress of block `part` of `job`; `false` (and nothing recorded) when
    /// it is stale or not running. The job's progress sums its blocks' (the total
    /// stays the one it started with until every block has reported its own), and
    /// never moves backwards.
    pub fn progress(&mut self, kind: JobKind, job: u64, part: usize, done: usize, total: usize) -> bool {
        if !self.is_latest(kind, job) || !self.is_running(kind) {
            return false;
        }
        let parts = self.blocks.get(&kind).map_or(1, Vec::len);
        let blocks = self.block_progress.entry(kind).or_default();
        let block = blocks.entry(part).or_insert((0, total));
        *block = (block.0.max(done.min(total)), total);
        let (done, reported) = blocks.values().fold((0, 0), |(d, t), b| (d + b.0, t + b.1));
        let all_reported = blocks.len() >= parts;
        let p = self.progress.entry(kind).or_insert(Progress { done: 0, total: reported.max(1) });
        if all_reported {
            p.total = reported.max(1);
        }
        p.done = p.done.max(done.min(p.total));
        true
    }

    /// A block of the running shared job `job` arrived: when it completes the set,
    /// the job's kind and every block in part order (to send back to be put
    /// together); `None` while blocks are missing or when the job is stale.
    pub fn block_done(&mut self, job: u64, block: Part) -> Option<(JobKind, Vec<Part>)> {
        let kind = self.kind_of(job)?;
        let slots = self.blocks.get_mut(&kind)?;
        let slot = slots.get_mut(block.share.part)?;
        *slot = Some(block);
        if slots.iter().any(Option::is_none) {
            return None;
        }
        let all = std::mem::take(slots).into_iter().flatten().collect();
        Some((kind, all))
    }

    /// The progress of the running job of `kind`, if it is a long one.
    pub fn current_progress(&self, kind: JobKind) -> Option<Progress> {
        self.progress.get(&kind).copied()
    }

    /// A job's answer arrived (done, failed or cancelled): whether it is the latest
    /// of its kind. Either way, when it is the latest, the job stops running and its
    /// progress is cleared.
    pub fn finish(&mut self, kind: JobKind, job: u64) -> bool {
        if !self.is_latest(kind, job) {
            return false;
        }
        self.running.remove(&kind);
        self.forget_progress(kind);
        true
    }

    fn forget_progress(&mut self, kind: JobKind) {
        self.progress.remove(&kind);
        self.block_progress.remove(&kind);
        self.blocks.remove(&kind);
    }

    /// Forget every running job of the given kinds (their results are stale: the
    /// model or the explained point changed).
    pub fn abandon(&mut self, kinds: &[JobKind]) {
        for k in kinds {
            self.running.remove(k);
            self.forget_progress(*k);
            // A later answer of the old job must not count either.
            self.next += 1;
            self.latest.insert(*k, self.next);
        }
    }

    /// Ask for a reweighting: send it now, or wait behind the one in flight.
    pub fn request_reweight(&mut self, index: usize, weight: f64, curve: bool) -> ReweightPlan {
        if self.is_running(JobKind::Reweight) {
            let curve = curve || self.pending_weight.is_some_and(|p| p.curve && p.index == index);
            self.pending_weight = Some(PendingWeight { index, weight, curve });
            return ReweightPlan::Wait;
        }
        ReweightPlan::Send(self.start(JobKind::Reweight))
    }

    /// A reweighting answer arrived: whether to show it (it is the latest), and the
    /// waiting value to send next, if any. Answers to older requests still free the
    /// slot, so a lost race never blocks the slider.
    pub fn reweighted(&mut self, job: u64) -> (bool, Option<PendingWeight>) {
        let latest = self.is_latest(JobKind::Reweight, job);
        self.running.remove(&JobKind::Reweight);
        (latest, self.pending_weight.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_answers_are_dropped() {
        let mut t = JobTracker::default();
        let a = t.start(JobKind::Train);
        let b = t.start(JobKind::Train);
        assert!(!t.finish(JobKind::Train, a), "an older training is stale");
        assert!(t.is_running(JobKind::Train));
        assert!(t.finish(JobKind::Train, b));
        assert!(!t.is_running(JobKind::Train));
        // Ids are shared across kinds, so an answer of another kind never matches.
        let m = t.start(JobKind::Methods);
        assert!(!t.is_latest(JobKind::Train, m));
    }

    #[test]
    fn progress_ends_with_the_job_however_it_ends() {
        let mut t = JobTracker::default();
        let job = t.start_long(JobKind::Loo, 100, 1);
        assert_eq!(t.current_progress(JobKind::Loo), Some(Progress { done: 0, total: 100 }));
        assert!(t.progress(JobKind::Loo, job, 0, 40, 100));
        assert!(t.progress(JobKind::Loo, job, 0, 30, 100), "a late report is accepted…");
        assert_eq!(t.current_progress(JobKind::Loo).map(|p| p.done), Some(40), "…but never moves back");
        // A failure (not a cancel) ends it too: no dead progress bar afterwards.
        assert!(t.finish(JobKind::Loo, job));
        assert_eq!(t.current_progress(JobKind::Loo), None);
        assert!(!t.progress(JobKind::Loo, job, 0, 50, 100), "reports after the end are ignored");
        assert_eq!(t.current_progress(JobKind::Loo), None);
    }

    #[test]
    fn abandoned_jobs_answer_into_the_void() {
        let mut t = JobTracker::default();
        let job = t.start_long(JobKind::Lds, 50, 1);
        t.abandon(&[JobKind::Lds, JobKind::Loo]);
        assert!(!t.is_running(JobKind::Lds));
        assert!(!t.finish(JobKind::Lds, job));
        assert!(!t.progress(JobKind::Lds, job, 0, 10, 50));
    }

    fn block(part: usize, parts: usize) -> Part {
        use crate::protocol::{PartValues, Share};
        Part {
            share: Share { part, parts },
            model: 1,
            millis: 0.0,
            refits: Default::default(),
            values: PartValues::Loo { actual: vec![part as f64].into(), not_converged: vec![] },
        }
    }

    #[test]
    fn a_shared_job_sums_its_blocks_and_gathers_them_in_order() {
        let mut t = JobTracker::default();
        let job = t.start_long(JobKind::Loo, 10, 3);
        assert!(t.progress(JobKind::Loo, job, 2, 1, 4));
        assert!(t.progress(JobKind::Loo, job, 0, 2, 3));
        assert_eq!(t.current_progress(JobKind::Loo), Some(Progress { done: 3, total: 10 }), "total kept");
        assert!(t.progress(JobKind::Loo, job, 1, 3, 3));
        assert_eq!(t.current_progress(JobKind::Loo), Some(Progress { done: 6, total: 10 }));
        assert_eq!(t.block_done(job, block(2, 3)), None);
        assert_eq!(t.block_done(job, block(0, 3)), None);
        assert_eq!(t.block_done(job + 7, block(1, 3)), None, "another job's block is not gathered");
        let (kind, blocks) = t.block_done(job, block(1, 3)).expect("complete");
        assert_eq!(kind, JobKind::Loo);
        assert_eq!(blocks.iter().map(|b| b.share.part).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert!(t.is_running(JobKind::Loo), "running until the result comes back");
        assert!(t.finish(JobKind::Loo, job));
        assert_eq!(t.block_done(job, block(0, 3)), None, "stale");
    }

    #[test]
    fn slider_moves_are_coalesced_to_the_latest() {
        let mut t = JobTracker::default();
        let first = match t.request_reweight(3, 0.5, true) {
            ReweightPlan::Send(id) => id,
            ReweightPlan::Wait => panic!("nothing in flight"),
        };
        assert_eq!(t.request_reweight(3, 0.4, false), ReweightPlan::Wait);
        assert_eq!(t.request_reweight(3, 0.3, false), ReweightPlan::Wait);
        let (show, next) = t.reweighted(first);
        assert!(show);
        assert_eq!(next, Some(PendingWeight { index: 3, weight: 0.3, curve: false }));
        // A waiting curve request for the same point is kept when values coalesce.
        let second = match t.request_reweight(3, 0.3, false) {
            ReweightPlan::Send(id) => id,
            ReweightPlan::Wait => panic!("the slot was freed"),
        };
        assert_eq!(t.request_reweight(5, 1.0, true), ReweightPlan::Wait);
        assert_eq!(t.request_reweight(5, 2.0, false), ReweightPlan::Wait);
        let (_, next) = t.reweighted(second);
        assert_eq!(next, Some(PendingWeight { index: 5, weight: 2.0, curve: true }));
    }

    #[test]
    fn progress_reads_as_a_label_and_whole_percent() {
        assert_eq!(Progress { done: 433, total: 1000 }.labelled("Fitting"), "Fitting 43%");
        assert_eq!(Progress { done: 0, total: 0 }.labelled("Reading"), "Reading 0%", "no total: none done");
    }
}
