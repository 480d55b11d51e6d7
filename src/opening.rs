//! Which analyses run as soon as their tab opens. A link to a tab should show that
//! tab's results, not an empty tab and a button; but an analysis that takes long must
//! not start unasked. The rule comes from measurement: every default method on breast
//! cancer (455 training points × 31 parameters, logistic) takes about 0.2 s in the
//! browser's worker on a first run (README, "each method for one breast-cancer test
//! point"), and the cost grows at least in proportion to points × parameters. So a
//! convex model on up to [`OPEN_CELLS`] of them (a second at most, with margin)
//! computes on open; a larger one, or a network (whose methods retrain it), waits for
//! the button with an estimate.

use crate::url_state::Tab;

/// Training points × parameters below which a convex model's analyses run on open.
pub const OPEN_CELLS: usize = 40_000;

/// Seconds per training point × parameter, measured: 0.2 s for breast cancer's
/// 455 × 31 (see the module doc).
const SECONDS_PER_CELL: f64 = 0.2 / (455.0 * 31.0);

/// What a tab does when it opens.
#[derive(Debug, Clone, PartialEq)]
pub enum Opening {
    /// Compute now.
    Compute,
    /// Wait for the button, saying why and how long it would take.
    Ask(String),
}

/// What `tab` does when it opens on a model of `n_params` parameters fitted to
/// `n_train` points (`network`: a neural network); `None` for tabs whose work always
/// waits for the reader's choices (group sizes, subsets, seeds, candidates).
pub fn on_open(tab: Tab, n_train: usize, n_params: usize, network: bool) -> Option<Opening> {
    if !matches!(tab, Tab::Methods | Tab::Diagnostics) {
        return None;
    }
    let cells = n_train * n_params;
    if network {
        return Some(Opening::Ask(
            "Not computed on opening: on a neural network several methods retrain it, which takes seconds \
             to minutes. Press the button to start; it can be cancelled."
                .into(),
        ));
    }
    if cells <= OPEN_CELLS {
        return Some(Opening::Compute);
    }
    let seconds = cells as f64 * SECONDS_PER_CELL;
    Some(Opening::Ask(format!(
        "Not computed on opening: {n_train} training points × {n_params} parameters should take about {} \
         or more. Press the button to start; it can be cancelled.",
        if seconds < 60.0 {
            format!("{:.0} s", seconds.max(1.0))
        } else {
            format!("{:.0} min", seconds / 60.0)
        }
    )))
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
            Some(Opening::Ask(why)) => assert!(why.contains("about 14 s"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(on_open(Tab::Methods, 160, 65, true), Some(Opening::Ask(_))));
        assert_eq!(on_open(Tab::Lds, 160, 3, false), None);
        assert_eq!(on_open(Tab::Explore, 160, 3, false), None);
    }
}
