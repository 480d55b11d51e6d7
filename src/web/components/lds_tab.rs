//! The LDS panel: retrain on random subsets (in the worker, with progress and cancel)
//! and score how well each method's summed scores predict the retrained test loss.

use super::correlation;
use super::progress::ProgressCancel;
use crate::glossary::Term;
use crate::protocol::LdsView;
use crate::text::Text;
use crate::tracker::Progress;
use crate::web::components::info::Info;
use crate::web::components::tr;
use leptos::prelude::*;

/// The LDS tab.
#[component]
pub fn LdsTab(
    /// The finished scores.
    lds: RwSignal<Option<LdsView>>,
    /// Progress while retraining.
    progress: RwSignal<Option<Progress>>,
    /// Starts it with `(subsets, fraction)`.
    on_run: Callback<(usize, f64)>,
    /// Stops it.
    on_cancel: Callback<()>,
) -> impl IntoView {
    let subsets = RwSignal::new(crate::opening::LDS_SUBSETS);
    let alpha = RwSignal::new(crate::opening::LDS_ALPHA);
    let a: crate::web::actions::Actions = expect_context();
    let results = move || {
        let lang = a.lang();
        lds.get().map(|l| {
            let rows = l.values.iter().map(|(m, v)| view! {
                <tr><th scope="row" title=m.describe(lang)>{m.name(lang)}</th>
                    <td data-testid="lds-value" data-method=m.id() data-value=v.map(|x| x.to_string()).unwrap_or_default()>
                        {correlation(*v, lang)}</td></tr>
            }).collect_view();
            let warn = (!l.refits.all_converged()).then(|| view! { <p class="warning">{l.refits.said().words(lang)}</p> });
            view! {
                <p>{a.tf(Text::LdsSummary, &[
                    ("n", &l.subsets.to_string()), ("pct", &format!("{:.0}", l.alpha * 100.0)), ("ms", &format!("{:.0}", l.millis)),
                    ("workers", &super::workers(l.workers, lang)), ("refits", &l.refits.said().words(lang))])}</p>
                {warn}
                <table class="grid"><thead><tr><th>{a.t(Text::Method)}</th><th>"LDS"</th></tr></thead><tbody>{rows}</tbody></table>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label=tr(a, Text::LdsHeading)>
            <h2>{tr(a, Text::LdsHeading)}<Info term=Term::Lds /></h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Lds)}
            <p class="hint">{tr(a, Text::LdsHint)}</p>
            <div class="params">
                <label>{tr(a, Text::Subsets)}<input type="number" min="2" max="500" prop:value=move || subsets.get().to_string()
                    on:change=move |ev| subsets.set(event_target_value(&ev).parse::<usize>().unwrap_or(50).clamp(2, 500)) /></label>
                <label>{tr(a, Text::FractionAlpha)}<input type="number" min="0.05" max="0.95" step="0.05" prop:value=move || alpha.get().to_string()
                    on:change=move |ev| alpha.set(event_target_value(&ev).parse::<f64>().unwrap_or(0.5).clamp(0.05, 0.95)) /></label>
            </div>
            <button data-testid="lds-button" disabled=move || progress.with(Option::is_some)
                on:click=move |_| on_run.run((subsets.get_untracked(), alpha.get_untracked()))>{tr(a, Text::LdsButton)}</button>
            <ProgressCancel progress=progress on_cancel=on_cancel testid="lds-progress" label=Text::LdsProgress />
            {results}
        </section>
    }
}
