//! What would change this prediction? The fewest training points whose removal flips the explained
//! point's prediction, found greedily and re-checked by real retraining after each
//! removal (Yang et al. 2023; [`crate::engine::audit::flip`]). The sentence says how
//! many points it took, and how many first-order influence alone would have said.

use super::chart::{LineCanvas, LineChart};
use super::progress::{AnalysisProgress, CancelWork};
use crate::lang::Lang;
use crate::protocol::FlipView;
use crate::text::{filled, text, Text};
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;

/// The answer in one or two sentences, in `lang`.
fn sentence(v: &FlipView, lang: Lang) -> String {
    let f = &v.flip;
    let t = |key| text(lang, key);
    let name = |c: usize| {
        v.classes.get(c).cloned().unwrap_or_else(|| filled(lang, Text::ClassN, &[("c", &c.to_string())]))
    };
    let what = match (v.threshold, f.new_class) {
        (Some(th), _) => filled(lang, Text::FlipPast, &[("t", &th.to_string())]),
        (None, Some(c)) => filled(lang, Text::FlipFromTo, &[("from", &name(f.class)), ("to", &name(c))]),
        (None, None) => t(Text::FlipChanges).to_string(),
    };
    let k = f.removed.len();
    let points = |k: usize| {
        if k == 1 {
            t(Text::OneTrainingPoint).to_string()
        } else {
            filled(lang, Text::NTrainingPoints, &[("k", &k.to_string())])
        }
    };
    if f.flipped {
        let confirmed =
            t(if f.confirmed == Some(true) { Text::FlipConfirmed } else { Text::FlipUnconfirmed });
        let predicted = match f.predicted_k {
            Some(p) if p == k => t(Text::FlipSameNumber).to_string(),
            Some(p) => filled(lang, Text::FlipPredictedK, &[("p", &p.to_string())]),
            None => t(Text::FlipNotPredicted).to_string(),
        };
        filled(
            lang,
            Text::FlipFound,
            &[("points", &points(k)), ("what", &what), ("confirmed", confirmed), ("predicted", &predicted)],
        )
    } else if k == 0 {
        t(Text::FlipNonePredicted).to_string()
    } else {
        let last = f.steps.last().map_or(f.margin, |s| s.actual_margin);
        filled(
            lang,
            Text::FlipNoneFound,
            &[
                ("points", &points(f.limit)),
                ("k", &k.to_string()),
                ("from", &format!("{:.3}", f.margin)),
                ("to", &format!("{last:.3}")),
            ],
        )
    }
}

/// The "Why this prediction?" panel of the main view.
#[component]
pub fn FlipPanel() -> impl IntoView {
    let a = expect_context::<Actions>();
    let regression = move || a.view.with(|v| v.as_ref().is_some_and(|v| v.class_names.is_empty()));
    let threshold = RwSignal::new(String::new());
    let parsed = move || threshold.with(|t| t.trim().parse::<f64>().ok().filter(|v| v.is_finite()));
    let run = move |_| a.run_flip(if regression() { parsed() } else { None });
    let chart = Signal::derive(move || {
        let t = |key| a.t(key).to_string();
        a.flip.get().filter(|v| !v.flip.steps.is_empty()).map(|v| {
            let s = &v.flip.steps;
            let last = s.len() as f64;
            LineChart {
                lines: vec![
                    (t(Text::FlipActual), s.iter().map(|p| (p.k as f64, p.actual_margin)).collect()),
                    (t(Text::FlipPredicted), s.iter().map(|p| (p.k as f64, p.predicted_margin)).collect()),
                    (t(Text::FlipMarginZero), vec![(1.0, 0.0), (last.max(2.0), 0.0)]),
                ],
                x: t(Text::FlipX),
                y: t(Text::FlipY),
            }
        })
    });
    let result = move || {
        a.flip.get().map(|v| {
            let warn = (!v.flip.refits.all_converged())
                .then(|| view! { <p class="warning">{a.say(&v.flip.refits.said())}</p> });
            let name = |i: usize| a.view.with_untracked(|w| w.as_ref().map_or(format!("#{i}"), |w| w.train_name(i, a.lang())));
            let points = v.flip.removed.iter().map(|&i| view! {
                <button class="small" data-testid="flip-point" on:click=move |_| a.pick(Some(i))
                    title=a.t(Text::FlipOpenPoint)>{name(i)}</button>
            }).collect_view();
            view! {
                <p data-testid="flip-sentence" data-flipped=v.flip.flipped.to_string()
                    data-k=v.flip.removed.len().to_string()
                    data-confirmed=v.flip.confirmed.map(|c| c.to_string()).unwrap_or_default()>{sentence(&v, a.lang())}</p>
                <p class="hint">{a.tf(Text::FlipRefits, &[("n", &v.flip.refits.n.to_string()), ("ms", &format!("{:.0}", v.millis))])}</p>
                {warn}
                <div class="found">{points}</div>
            }
        })
    };
    view! {
        <section class="panel flip" aria-label=tr(a, Text::FlipHeading)>
            <h2>{tr(a, Text::FlipHeading)}</h2>
            <p class="hint">{tr(a, Text::FlipHint)}</p>
            <Show when=regression>
                <label>{tr(a, Text::FlipThreshold)}
                    <input type="number" step="any" data-testid="flip-threshold" prop:value=move || threshold.get()
                        on:input=move |ev| threshold.set(event_target_value(&ev)) /></label>
            </Show>
            <button data-testid="flip-button" on:click=run
                disabled=move || a.analysing.get() || a.view.with(Option::is_none) || (regression() && parsed().is_none())>
                {tr(a, Text::FlipButton)}
            </button>
            <AnalysisProgress />" "<CancelWork />
            {result}
            <LineCanvas data=chart file="flip-set.png" label=Text::FlipChartLabel testid="flip-chart" error=a.error />
        </section>
    }
}
