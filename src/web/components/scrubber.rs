//! The counterfactual scrubber: a training point's weight from 0 (removed) to 3, with
//! the first-order prediction next to the model really retrained with that weight.

use super::chart::ChartCanvas;
use super::{label_text, pred_change, pred_name, signed};
use crate::protocol::{ReweightView, TrainedView};
use crate::said::Said;
use crate::text::Text;
use crate::web::actions::Actions;
use crate::web::components::tr;
use crate::web::plot::{canvas_area, draw_curve};
use leptos::prelude::*;

/// The scrubber panel (shown when a training point is picked).
#[component]
pub fn Scrubber(
    /// The trained view.
    view: RwSignal<Option<TrainedView>>,
    /// Predicted and actual changes at the current weight.
    reweight: RwSignal<Option<ReweightView>>,
    /// The training point on the scrubber.
    picked: Signal<Option<usize>>,
    /// Its weight.
    weight: Signal<f64>,
    /// Moves the slider.
    on_weight: Callback<f64>,
    /// Closes the scrubber.
    on_close: Callback<()>,
    /// Where errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a: Actions = expect_context();
    let draw = move |c: &web_sys::HtmlCanvasElement| {
        let w = weight.get();
        reweight.with(|r| {
            r.as_ref()
                .and_then(|r| r.curve.as_ref())
                .map(|curve| canvas_area(c).and_then(|area| draw_curve(&area, curve, w, a.lang())))
        })
    };
    let numbers = move || {
        let r = reweight.get()?;
        let v = view.get()?;
        let lang = a.lang();
        let pn = pred_name(&v, lang);
        let warn =
            (!r.refits.all_converged()).then(|| view! { <p class="warning">{a.say(&r.refits.said())}</p> });
        Some(view! {
            <table class="deltas">
                <tr><th></th><th>{a.t(Text::DeltaLoss)}</th><th>{pn}</th></tr>
                <tr><td>{a.t(Text::PredictedInfluence)}</td>
                    <td data-testid="predicted-delta" data-value=r.predicted_dloss.to_string()>{signed(r.predicted_dloss, 5)}</td>
                    <td>{pred_change(&v, r.predicted_dpred, lang)}</td></tr>
                <tr><td>{a.t(Text::ActualRetrained)}</td>
                    <td data-testid="actual-delta" data-value=r.actual_dloss.to_string()>{signed(r.actual_dloss, 5)}</td>
                    <td>{pred_change(&v, r.actual_dpred, lang)}</td></tr>
            </table>
            {warn}
        })
    };
    let title = move || {
        let i = picked.get()?;
        view.with(|v| {
            v.as_ref().and_then(|v| {
                v.train_y.get(i).map(|y| {
                    a.tf(Text::TrainingPointTitle, &[("i", &i.to_string()), ("label", &label_text(v, *y))])
                })
            })
        })
    };
    view! {
        <Show when=move || picked.get().is_some()>
            <section class="panel scrubber" aria-label=tr(a, Text::ScrubberAria)>
                <h2>{title}</h2>
                <label for="weight">{move || {
                    let w = weight.get();
                    let key = if w == 0.0 { Text::WeightRemoved } else if w == 1.0 { Text::WeightAsTrained } else { Text::WeightCounted };
                    a.tf(key, &[("w", &format!("{w:.2}"))])
                }}</label>
                <input id="weight" type="range" min="0" max="3" step="0.05" data-testid="weight-slider"
                    prop:value=move || weight.get().to_string()
                    on:input=move |ev| on_weight.run(event_target_value(&ev).parse().unwrap_or(1.0)) />
                {numbers}
                <ChartCanvas draw=draw file="scrubber-curve.png" testid="scrubber-chart" error=error width=320 height=170
                    label=Text::ScrubberChartLabel />
                <p class="hint">{tr(a, Text::ScrubberHint)}</p>
                <button on:click=move |_| on_close.run(())>{tr(a, Text::Close)}</button>
            </section>
        </Show>
    }
}
