//! The counterfactual scrubber: a training point's weight from 0 (removed) to 3, with
//! the first-order prediction next to the model really retrained with that weight.

use super::{label_text, pred_name, signed};
use crate::web::actions::Actions;
use crate::web::plot::{canvas_area, draw_curve};
use leptos::prelude::*;

/// The scrubber panel (shown when a training point is picked).
#[component]
pub fn Scrubber() -> impl IntoView {
    let a = expect_context::<Actions>();
    let chart = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let w = a.state.with(|s| s.weight);
        a.reweight.with(|r| {
            if let (Some(c), Some(curve)) = (chart.get(), r.as_ref().and_then(|r| r.curve.as_ref())) {
                if let Err(e) = canvas_area(&c).and_then(|area| draw_curve(&area, curve, w)) {
                    a.error.set(Some(format!("could not draw the curve: {e}")));
                }
            }
        });
    });
    let numbers = move || {
        let r = a.reweight.get()?;
        let v = a.view.get()?;
        let e = &v.explained;
        let pn = pred_name(&v);
        Some(view! {
            <table class="deltas">
                <tr><th></th><th>"Δ loss"</th><th>{pn}</th></tr>
                <tr><td>"Predicted (influence)"</td>
                    <td data-testid="predicted-delta" data-value=r.predicted_dloss.to_string()>{signed(r.predicted_dloss, 5)}</td>
                    <td>{format!("{:.3} → {:.3}", e.pred, e.pred + r.predicted_dpred)}</td></tr>
                <tr><td>"Actual (retrained)"</td>
                    <td data-testid="actual-delta" data-value=r.actual_dloss.to_string()>{signed(r.actual_dloss, 5)}</td>
                    <td>{format!("{:.3} → {:.3}", e.pred, e.pred + r.actual_dpred)}</td></tr>
            </table>
        })
    };
    let title = move || {
        let i = a.state.with(|s| s.train_point)?;
        a.view.with(|v| {
            v.as_ref().and_then(|v| {
                v.train_y.get(i).map(|y| format!("Training point #{i} (label {})", label_text(v, *y)))
            })
        })
    };
    view! {
        <Show when=move || a.state.with(|s| s.train_point.is_some())>
            <section class="panel scrubber" aria-label="Counterfactual scrubber">
                <h2>{title}</h2>
                <label for="weight">{move || {
                    let w = a.state.with(|s| s.weight);
                    format!("Weight {w:.2} ({})", if w == 0.0 { "removed".to_string() } else if w == 1.0 { "as trained".to_string() } else { format!("counted {w:.2} times") })
                }}</label>
                <input id="weight" type="range" min="0" max="3" step="0.05" data-testid="weight-slider"
                    prop:value=move || a.state.with(|s| s.weight.to_string())
                    on:input=move |ev| a.set_weight(event_target_value(&ev).parse().unwrap_or(1.0)) />
                {numbers}
                <canvas node_ref=chart width="320" height="170" aria-label="Predicted (blue) and actual (orange) change of the loss over the weight"></canvas>
                <p class="hint">"Blue: the influence function's straight-line prediction; orange: the model really retrained. The plot's background follows the retrained model."</p>
                <button class="small" on:click=move |_| {
                    if let Some(c) = chart.get_untracked() {
                        if let Err(e) = crate::web::export::download_canvas(&c, "scrubber-curve.png") { a.error.set(Some(e)); }
                    }
                }>"Save PNG"</button>
                <button on:click=move |_| a.pick(None)>"Close"</button>
            </section>
        </Show>
    }
}
