//! "Which truth?": for a network (or any model), the explained point's predicted
//! changes against the three ground truths of the conventions: the warm-started
//! leave-one-out refit (same basin), the proximal Bregman response function (what
//! damped Gauss–Newton influence estimates exactly to first order; Bae et al. 2022),
//! and retraining from scratch over several seeds, whose seed-to-seed spread is the
//! noise floor an effect must clear to be seen at all (Basu et al. 2021).

use super::chart::ChartCanvas;
use super::correlation;
use super::progress::ProgressCancel;
use crate::protocol::TruthsView;
use crate::said::Said;
use crate::text::{filled, text, Text};
use crate::tracker::Progress;
use crate::web::components::tr;
use crate::web::plot::{canvas_area, draw_truth};
use leptos::prelude::*;

/// The tab.
#[component]
pub fn TruthsTab(
    /// The finished comparison.
    truths: RwSignal<Option<TruthsView>>,
    /// Its progress.
    progress: RwSignal<Option<Progress>>,
    /// Runs it with this many seeds from scratch.
    on_run: Callback<usize>,
    /// Stops it.
    on_cancel: Callback<()>,
    /// Where errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a: crate::web::actions::Actions = expect_context();
    let seeds = RwSignal::new(crate::opening::TRUTH_SEEDS);
    let scatter = move |which: usize| {
        move |c: &web_sys::HtmlCanvasElement| {
            let lang = a.lang();
            truths.with(|t| {
                t.as_ref().map(|t| {
                    let area = canvas_area(c)?;
                    match which {
                        0 => draw_truth(
                            &area,
                            text(lang, Text::TruthLooTitle),
                            &t.predicted,
                            &t.loo,
                            None,
                            None,
                            lang,
                        ),
                        1 => draw_truth(
                            &area,
                            text(lang, Text::TruthPbrfTitle),
                            &t.predicted,
                            &t.pbrf,
                            None,
                            None,
                            lang,
                        ),
                        _ => {
                            let at: Vec<f64> = t.scratch_points.iter().map(|&i| t.predicted[i]).collect();
                            draw_truth(
                                &area,
                                text(lang, Text::TruthScratchTitle),
                                &at,
                                &t.scratch_mean,
                                Some(&t.scratch_se),
                                Some(t.noise),
                                lang,
                            )
                        }
                    }
                })
            })
        }
    };
    let summary = move || {
        let lang = a.lang();
        truths.get().map(|t| {
            let rows = t.agreement.iter().map(|(truth, r, rho)| view! {
                <tr><th scope="row">{truth.name(lang)}</th>
                    <td data-testid="truth-pearson" data-truth=truth.id() data-value=r.map(|v| v.to_string()).unwrap_or_default()>{correlation(*r, lang)}</td>
                    <td>{correlation(*rho, lang)}</td></tr>
            }).collect_view();
            let warn = (!t.refits.all_converged()).then(|| view! { <p class="warning">{t.refits.said().words(lang)}</p> });
            view! {
                <p class="reading" data-testid="truths-reading">{t.reading(lang)}</p>
                <table class="grid"><thead><tr><th>{text(lang, Text::ColTruth)}</th><th>{text(lang, Text::ColPearson)}</th><th>{text(lang, Text::AxisSpearman)}</th></tr></thead><tbody>{rows}</tbody></table>
                <p class="hint">{filled(lang, Text::TruthsFootnote, &[
                    ("refits", &t.refits.n.to_string()), ("s", &format!("{:.1}", t.millis / 1000.0)), ("workers", &super::workers(t.workers, lang)),
                    ("d", &format!("{:.0e}", t.pbrf_damping)), ("seeds", &t.seeds.to_string()), ("k", &t.scratch_points.len().to_string()),
                    ("n", &t.predicted.len().to_string()), ("noise", &format!("{:.2e}", t.noise))])}</p>
                {warn}
            }
        })
    };
    view! {
        <section class="panel wide" aria-label=tr(a, Text::TabTruths)>
            <h2>{tr(a, Text::TruthsHeading)}</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Truths)}
            <p class="hint">{tr(a, Text::TruthsHint)}</p>
            <div class="params">
                <label>{tr(a, Text::SeedsFromScratch)}" "<input type="number" min="2" max="20" data-testid="truths-seeds" prop:value=move || seeds.get().to_string()
                    on:change=move |ev| seeds.set(event_target_value(&ev).parse::<usize>().unwrap_or(5).clamp(2, 20)) /></label>
            </div>
            <button data-testid="truths-button" disabled=move || progress.with(Option::is_some)
                on:click=move |_| on_run.run(seeds.get_untracked())>{tr(a, Text::TruthsButton)}</button>
            <ProgressCancel progress=progress on_cancel=on_cancel testid="truths-progress" label=Text::RefitsDone />
            {summary}
            <div class="charts">
                <ChartCanvas draw=scatter(0) file="truth-loo.png" testid="truth-loo-chart" error=error width=360 height=300
                    label=Text::ChartTruthLoo />
                <ChartCanvas draw=scatter(1) file="truth-pbrf.png" testid="truth-pbrf-chart" error=error width=360 height=300
                    label=Text::ChartTruthPbrf />
                <ChartCanvas draw=scatter(2) file="truth-scratch.png" testid="truth-scratch-chart" error=error width=360 height=300
                    label=Text::ChartTruthScratch />
            </div>
        </section>
    }
}
