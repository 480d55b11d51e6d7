//! What would change this prediction? The fewest training points whose removal flips the explained
//! point's prediction, found greedily and re-checked by real retraining after each
//! removal (Yang et al. 2023; [`crate::engine::audit::flip`]). The sentence says how
//! many points it took, and how many first-order influence alone would have said.

use super::chart::{LineCanvas, LineChart};
use super::progress::CancelWork;
use crate::protocol::FlipView;
use crate::web::actions::Actions;
use leptos::prelude::*;

/// The answer in one or two sentences.
fn sentence(v: &FlipView) -> String {
    let f = &v.flip;
    let name = |c: usize| v.classes.get(c).cloned().unwrap_or_else(|| format!("class {c}"));
    let what = match (v.threshold, f.new_class) {
        (Some(t), _) => format!("moves this prediction past {t}"),
        (None, Some(c)) => format!("flips this prediction from “{}” to “{}”", name(f.class), name(c)),
        (None, None) => "changes this prediction".to_string(),
    };
    let k = f.removed.len();
    let points =
        |k: usize| if k == 1 { "1 training point".to_string() } else { format!("{k} training points") };
    if f.flipped {
        let confirmed = match f.confirmed {
            Some(true) => " (confirmed by retraining from scratch)",
            _ => " (a fit from scratch without them did not confirm it: treat it with care)",
        };
        let predicted = match f.predicted_k {
            Some(p) if p == k => "Influence alone predicted the same number.".to_string(),
            Some(p) => format!("Influence alone predicted {p}."),
            None => "Influence alone, adding up the points' separate effects, did not predict a flip with this set: removing points together does more than the sum of their parts.".to_string(),
        };
        format!("Removing these {} {what}{confirmed}. {predicted}", points(k))
    } else if k == 0 {
        "No training point's removal is predicted to move this prediction towards another answer.".to_string()
    } else {
        let last = f.steps.last().map_or(f.margin, |s| s.actual_margin);
        format!(
            "No set of up to {} (10% of the data) changes this prediction: after removing {k}, its margin only fell from {:.3} to {last:.3}. The training data support it broadly.",
            points(f.limit),
            f.margin
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
        a.flip.get().filter(|v| !v.flip.steps.is_empty()).map(|v| {
            let s = &v.flip.steps;
            let last = s.len() as f64;
            LineChart {
                lines: vec![
                    ("actual (retrained)".into(), s.iter().map(|p| (p.k as f64, p.actual_margin)).collect()),
                    (
                        "predicted by influence".into(),
                        s.iter().map(|p| (p.k as f64, p.predicted_margin)).collect(),
                    ),
                    ("margin 0: the prediction changes".into(), vec![(1.0, 0.0), (last.max(2.0), 0.0)]),
                ],
                x: "training points removed".into(),
                y: "margin of the prediction".into(),
            }
        })
    });
    let result = move || {
        a.flip.get().map(|v| {
            let warn = (!v.flip.refits.all_converged())
                .then(|| view! { <p class="warning">{v.flip.refits.to_string()}</p> });
            let name = |i: usize| a.view.with_untracked(|w| w.as_ref().map_or(format!("#{i}"), |w| w.train_name(i)));
            let points = v.flip.removed.iter().map(|&i| view! {
                <button class="small" data-testid="flip-point" on:click=move |_| a.pick(Some(i))
                    title="Open this training point on the scrubber">{name(i)}</button>
            }).collect_view();
            view! {
                <p data-testid="flip-sentence" data-flipped=v.flip.flipped.to_string()
                    data-k=v.flip.removed.len().to_string()
                    data-confirmed=v.flip.confirmed.map(|c| c.to_string()).unwrap_or_default()>{sentence(&v)}</p>
                <p class="hint">{format!("{} refits in {:.0} ms. The set is ringed in green on the plot.", v.flip.refits.n, v.millis)}</p>
                {warn}
                <div class="found">{points}</div>
            }
        })
    };
    view! {
        <section class="panel flip" aria-label="What would change this prediction?">
            <h2>"What would change this prediction?"</h2>
            <p class="hint">"Find the fewest training points whose removal changes the explained prediction: each is chosen by its predicted effect, then the model is really retrained before choosing the next."</p>
            <Show when=regression>
                <label>"Threshold the prediction has to cross "
                    <input type="number" step="any" data-testid="flip-threshold" prop:value=move || threshold.get()
                        on:input=move |ev| threshold.set(event_target_value(&ev)) /></label>
            </Show>
            <button data-testid="flip-button" on:click=run
                disabled=move || a.analysing.get() || a.view.with(Option::is_none) || (regression() && parsed().is_none())>
                "Find the training points behind it"
            </button>
            <CancelWork />
            {result}
            <LineCanvas data=chart file="flip-set.png" label="Margin of the prediction as training points are removed" testid="flip-chart" error=a.error />
        </section>
    }
}
