//! The Koh & Liang check: retrain without each training point in turn (in the worker,
//! with progress and cancel) and compare the actual change of the explained point's
//! loss with the predicted one.

use crate::web::actions::Actions;
use crate::web::plot::{canvas_area, draw_loo};
use leptos::prelude::*;

/// The leave-one-out panel.
#[component]
pub fn LooCheck() -> impl IntoView {
    let a = expect_context::<Actions>();
    let chart = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        a.loo.with(|l| {
            if let (Some(c), Some(l)) = (chart.get(), l.as_ref()) {
                if let Err(e) = canvas_area(&c).and_then(|area| draw_loo(&area, l)) {
                    a.error.set(Some(format!("could not draw the check: {e}")));
                }
            }
        });
    });
    let running = move || a.progress.get().is_some() && a.loo.with(Option::is_none);
    let verdict = move |r: f64| {
        if r > 0.95 {
            "the influence function predicts real retraining very well here"
        } else if r > 0.8 {
            "the prediction follows real retraining, with visible departures"
        } else {
            "the first-order prediction is unreliable here (try more L2 regularisation)"
        }
    };
    view! {
        <section class="panel loo" aria-label="Leave-one-out check">
            <h2>"Check against real retraining"</h2>
            <button data-testid="loo-button" disabled=running on:click=move |_| a.run_loo()>
                "Retrain without each training point"
            </button>
            <Show when=running>
                <progress data-testid="progress" max=move || a.progress.get().map_or(1, |p| p.1)
                    value=move || a.progress.get().map_or(0, |p| p.0)></progress>
                <button on:click=move |_| a.cancel_loo()>"Cancel"</button>
            </Show>
            <Show when=move || a.loo.with(Option::is_some)>
                {move || a.loo.get().map(|l| view! {
                    <progress data-testid="progress" max="1" value="1"></progress>
                    <p>"Pearson r = "<strong data-testid="loo-pearson" data-value=l.pearson.to_string()>{format!("{:.4}", l.pearson)}</strong>
                       ", Spearman ρ = "<strong data-testid="loo-spearman" data-value=l.spearman.to_string()>{format!("{:.4}", l.spearman)}</strong>
                       {format!(" over {} refits in {:.0} ms: {}.", l.actual.len(), l.millis, verdict(l.pearson))}</p>
                })}
            </Show>
            <Show when=move || a.loo.with(Option::is_some)><button class="small" on:click=move |_| {
                    if let Some(c) = chart.get_untracked() {
                        if let Err(e) = crate::web::export::download_canvas(&c, "leave-one-out-check.png") { a.error.set(Some(e)); }
                    }
                }>"Save PNG"</button></Show>
                <canvas node_ref=chart width="320" height="240" class:hidden=move || a.loo.with(Option::is_none)
                aria-label="Predicted against actual leave-one-out change of the loss"></canvas>
        </section>
    }
}
