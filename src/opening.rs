//! Which analyses run as soon as their tab opens. A link to a tab should show that
//! tab's results, not an empty tab and a button; but an analysis that takes long must
//! not start unasked. The rule comes from measurement: every default method on breast
//! cancer (455 training points × 31 parameters, logistic) takes about 0.2 s in the
//! browser's worker on a first run (README, "each method for one breast-cancer test
//! point"), and the cost grows at least in proportion to points × parameters. So a
//! convex model on up to [`OPEN_CELLS`] of them (a second at most, with margin)
//! computes on open; a larger one, or a network (whose methods retrain it), waits for
//! the button with an estimate. The review queue and the Mislabel lab cost the same
//! (one fit and every point's self-influence). LDS and the three ground truths refit
//! many times: their estimate is the number of refits their default settings make
//! times the measured cost of one, and they compute on open under a second.

use crate::lang::Lang;
use crate::service::jobs::SCRATCH_BUDGET;
use crate::text::{filled, text, Text};
use crate::url_state::Tab;

/// Training points × parameters below which a convex model's analyses run on open.
pub const OPEN_CELLS: usize = 40_000;

/// Seconds per training point × parameter, measured: 0.2 s for breast cancer's
/// 455 × 31 (see the module doc).
const SECONDS_PER_CELL: f64 = 0.2 / (455.0 * 31.0);

/// Seconds per refit per training point × parameter, measured: the full leave-one-out
/// of breast cancer (455 refits of 455 × 31) takes about 0.38 s in the worker.
const REFIT_SECONDS_PER_CELL: f64 = 0.38 / 455.0 / (455.0 * 31.0);

/// The least a refit costs in the worker (measured: 160 refits of two moons, 160 × 3,
/// take about 0.15 s, whatever their size).
const REFIT_SECONDS_MIN: f64 = 1e-3;

/// The longest an analysis may take to start unasked, in seconds.
const OPEN_SECONDS: f64 = 1.0;

/// The Mislabel lab's default share of flipped labels.
pub const MISLABEL_FRACTION: f64 = 0.1;
/// LDS's default number of random subsets.
pub const LDS_SUBSETS: usize = 50;
/// LDS's default share of the training points kept in each subset.
pub const LDS_ALPHA: f64 = 0.5;
/// "Which truth?"'s default number of seeds from scratch.
pub const TRUTH_SEEDS: usize = 5;

/// What a tab does when it opens.
#[derive(Debug, Clone, PartialEq)]
pub enum Opening {
    /// Compute now.
    Compute,
    /// Wait for the button, saying why and how long it would take.
    Ask(Why),
}

/// Why a tab waits for its button.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// A neural network retrains for seconds to minutes.
    Network,
    /// The estimate is over the limit.
    Slow {
        /// Training points.
        n_train: usize,
        /// Parameters.
        n_params: usize,
        /// The estimated time.
        seconds: f64,
    },
}

impl Why {
    /// In words, in `lang`.
    pub fn words(&self, lang: Lang) -> String {
        match *self {
            Why::Network => text(lang, Text::OpeningNetwork).into(),
            Why::Slow { n_train, n_params, seconds } => filled(
                lang,
                Text::OpeningSlow,
                &[
                    ("n", &n_train.to_string()),
                    ("p", &n_params.to_string()),
                    ("time", &duration(seconds, lang)),
                ],
            ),
        }
    }
}

/// How many refits `tab`'s default analysis makes on `n_train` points (none for the
/// tabs whose cost is one fit and the influence of every point).
fn refits(tab: Tab, n_train: usize) -> usize {
    match tab {
        Tab::Lds => LDS_SUBSETS,
        Tab::Truths => {
            // As `service::jobs::scratch_points` chooses them: all, or 30 strongest + 10.
            let scratch = if n_train * TRUTH_SEEDS <= SCRATCH_BUDGET { n_train } else { 40 };
            2 * n_train + TRUTH_SEEDS * (scratch + 1)
        }
        _ => 0,
    }
}

fn duration(seconds: f64, lang: Lang) -> String {
    if seconds < 60.0 {
        filled(lang, Text::Seconds, &[("n", &format!("{:.0}", seconds.max(1.0)))])
    } else {
        filled(lang, Text::Minutes, &[("n", &format!("{:.0}", seconds / 60.0))])
    }
}

/// What `tab` does when it opens on a model of `n_params` parameters fitted to
/// `n_train` points (`network`: a neural network), with the tab's default settings;
/// `None` for the Explore tab.
pub fn on_open(tab: Tab, n_train: usize, n_params: usize, network: bool) -> Option<Opening> {
    if tab == Tab::Explore {
        return None;
    }
    let cells = n_train * n_params;
    if network {
        return Some(Opening::Ask(Why::Network));
    }
    let seconds = match refits(tab, n_train) {
        0 => cells as f64 * SECONDS_PER_CELL,
        r => r as f64 * (cells as f64 * REFIT_SECONDS_PER_CELL).max(REFIT_SECONDS_MIN),
    };
    let cheap = match tab {
        Tab::Methods | Tab::Diagnostics | Tab::Mislabel | Tab::Audit => cells <= OPEN_CELLS,
        _ => seconds <= OPEN_SECONDS,
    };
    if cheap {
        return Some(Opening::Compute);
    }
    Some(Opening::Ask(Why::Slow { n_train, n_params, seconds }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_convex_models_compute_on_open_and_others_say_how_long() {
        // Breast cancer, logistic: the measured 0.2 s case.
        assert_eq!(on_open(Tab::Methods, 455, 31, false), Some(Opening::Compute));
        assert_eq!(on_open(Tab::Diagnostics, 160, 3, false), Some(Opening::Compute));
        match on_open(Tab::Methods, 20_000, 51, false) {
            Some(Opening::Ask(why)) => assert!(why.words(Lang::En).contains("about 14 s"), "{why:?}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(on_open(Tab::Methods, 160, 65, true), Some(Opening::Ask(_))));
        assert_eq!(on_open(Tab::Explore, 160, 3, false), None);
        // The review queue and the Mislabel lab cost one fit and every self-influence.
        assert_eq!(on_open(Tab::Audit, 455, 31, false), Some(Opening::Compute));
        assert_eq!(on_open(Tab::Mislabel, 160, 3, false), Some(Opening::Compute));
    }

    /// Tabs that refit many times: by the measured cost of a refit.
    #[test]
    fn many_refits_compute_on_open_only_when_they_take_under_a_second() {
        // Two moons: 50 LDS refits at about 1 ms each.
        assert_eq!(on_open(Tab::Lds, 160, 3, false), Some(Opening::Compute));
        // Breast cancer, LDS: 50 refits of about 0.84 ms (the measured 0.38 s / 455).
        assert_eq!(on_open(Tab::Lds, 455, 31, false), Some(Opening::Compute));
        // Two moons, three truths: 2 × 160 + 5 × 41 refits of about 1 ms.
        assert_eq!(on_open(Tab::Truths, 160, 3, false), Some(Opening::Compute));
        // Breast cancer: 2 × 455 + 5 × 41 refits, about 1.1 s: it asks first.
        match on_open(Tab::Truths, 455, 31, false) {
            Some(Opening::Ask(why)) => assert!(why.words(Lang::En).contains("about 1 s"), "{why:?}"),
            other => panic!("{other:?}"),
        }
        // Ten times the points: over a minute; it says so.
        match on_open(Tab::Truths, 4550, 31, false) {
            Some(Opening::Ask(why)) => assert!(why.words(Lang::En).contains("min"), "{why:?}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(on_open(Tab::Lds, 60, 33, true), Some(Opening::Ask(_))));
    }
}
