//! The page's panels, each a small component reading [`Actions`](super::actions::Actions)
//! from context.

pub mod audit_tab;
pub mod chart;
pub mod data_panel;
pub mod diagnostics_tab;
pub mod flip_panel;
pub mod group_panel;
pub mod influence_list;
pub mod info;
pub mod lds_tab;
pub mod lesson_panel;
pub mod loo_check;
pub mod methods_tab;
pub mod mislabel_tab;
pub mod plot_panel;
pub mod progress;
pub mod scrubber;
pub mod share;
pub mod truths_tab;

use crate::lang::Lang;
use crate::protocol::TrainedView;
use crate::text::{filled, text, Text};

/// How a label reads: the class name, or the value.
pub fn label_text(v: &TrainedView, y: f64) -> String {
    if v.class_names.is_empty() {
        format!("{y:.3}")
    } else {
        v.class_names.get(y as usize).cloned().unwrap_or_else(|| format!("{y}"))
    }
}

/// "prob. of 'benign'" or "prediction": what `f` of the explained point is.
pub fn pred_name(v: &TrainedView, lang: Lang) -> String {
    if v.class_names.is_empty() {
        text(lang, Text::Prediction).into()
    } else {
        filled(lang, Text::ProbOf, &[("class", &label_text(v, v.explained.label))])
    }
}

/// Signed number with explicit `+`.
pub fn signed(x: f64, digits: usize) -> String {
    format!("{}{:.*}", if x >= 0.0 { "+" } else { "−" }, digits, x.abs())
}

/// `key` in the page's language, following the switch: one closure type for every
/// text, so that each text in a view adds no code of its own.
pub fn tr(
    a: crate::web::actions::Actions,
    key: Text,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || a.t(key)
}

/// A correlation to three decimals, or "undefined" (one side constant).
pub fn correlation(r: Option<f64>, lang: Lang) -> String {
    r.map_or_else(|| text(lang, Text::Undefined).to_string(), |v| format!("{v:.4}"))
}

/// How many engine workers shared a job, as a phrase (empty for one).
pub fn workers(n: usize, lang: Lang) -> String {
    if n > 1 {
        filled(lang, Text::OnWorkers, &[("n", &n.to_string())])
    } else {
        String::new()
    }
}

/// The explained prediction before and after a change of `delta`: a probability also
/// in percentage points ("0.159 → 0.143, −1.6 percentage points").
pub fn pred_change(v: &TrainedView, delta: f64, lang: Lang) -> String {
    let (before, after) = (v.explained.pred, v.explained.pred + delta);
    if v.class_names.is_empty() {
        format!("{before:.3} → {after:.3}")
    } else {
        // Small changes keep their digits (never "−0.0").
        let pp = 100.0 * delta;
        let amount = match pp.abs() {
            a if a >= 0.05 => signed(pp, 1),
            a if a >= 5e-4 => signed(pp, 3),
            _ => text(lang, Text::UnderThousandth).into(),
        };
        let (before, after) = (format!("{before:.3}"), format!("{after:.3}"));
        filled(lang, Text::PercentagePoints, &[("before", &before), ("after", &after), ("amount", &amount)])
    }
}

/// Why `tab` did not compute when it opened, and how long it would take
/// ([`crate::opening`]); nothing when it did.
pub fn opening_hint(
    a: crate::web::actions::Actions,
    tab: crate::url_state::Tab,
) -> impl leptos::prelude::IntoView {
    use crate::opening::{on_open, Opening};
    use leptos::prelude::*;
    move || {
        a.view.with(|v| {
            match v
                .as_ref()
                .and_then(|v| on_open(tab, v.train_xy.len(), v.fit.n_params, v.fit.network.is_some()))
            {
                Some(Opening::Ask(why)) => {
                    Some(view! { <p class="hint" data-testid="opening-hint">{why.words(a.lang())}</p> })
                }
                _ => None,
            }
        })
    }
}
