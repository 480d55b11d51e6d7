//! The LDS panel: retrain on random subsets (in the worker, with progress and cancel)
//! and score how well each method's summed scores predict the retrained test loss.

use crate::web::actions::Actions;
use leptos::prelude::*;

/// The LDS tab.
#[component]
pub fn LdsTab() -> impl IntoView {
    let a = expect_context::<Actions>();
    let subsets = RwSignal::new(50usize);
    let alpha = RwSignal::new(0.5f64);
    let running = move || a.lds_progress.get().is_some() && a.lds.with(Option::is_none);
    let results = move || {
        a.lds.get().map(|l| {
            let rows = l.values.iter().map(|(name, v)| view! {
                <tr><th scope="row">{name.clone()}</th>
                    <td data-testid="lds-value" data-method=name.clone() data-value=v.map(|x| x.to_string()).unwrap_or_default()>
                        {v.map_or("–".to_string(), |x| format!("{x:.3}"))}</td></tr>
            }).collect_view();
            view! {
                <p>{format!("{} subsets of {:.0}% of the training points retrained in {:.0} ms.", l.subsets, l.alpha * 100.0, l.millis)}</p>
                <table class="grid"><thead><tr><th>"method"</th><th>"LDS"</th></tr></thead><tbody>{rows}</tbody></table>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Linear datamodeling score">
            <h2>"Linear datamodeling score"</h2>
            <p class="hint">"For each random half of the training set, the model is retrained; a good attribution's summed scores over the half should rank the subsets like the retrained test loss does (Spearman, averaged over test points; Park et al. 2023)."</p>
            <div class="params">
                <label>"Subsets "<input type="number" min="2" max="500" prop:value=move || subsets.get().to_string()
                    on:change=move |ev| subsets.set(event_target_value(&ev).parse().unwrap_or(50)) /></label>
                <label>"Fraction α "<input type="number" min="0.05" max="0.95" step="0.05" prop:value=move || alpha.get().to_string()
                    on:change=move |ev| alpha.set(event_target_value(&ev).parse().unwrap_or(0.5)) /></label>
            </div>
            <button data-testid="lds-button" disabled=running on:click=move |_| a.run_lds(subsets.get_untracked(), alpha.get_untracked(), 0)>"Retrain on subsets"</button>
            <Show when=running>
                <progress data-testid="lds-progress" max=move || a.lds_progress.get().map_or(1, |p| p.1)
                    value=move || a.lds_progress.get().map_or(0, |p| p.0)></progress>
                <button on:click=move |_| a.cancel_lds()>"Cancel"</button>
            </Show>
            {results}
        </section>
    }
}
