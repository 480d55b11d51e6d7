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
use crate::tracker::Progress;
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
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let seeds = RwSignal::new(crate::opening::TRUTH_SEEDS);
    let scatter = move |which: usize| {
        move |c: &web_sys::HtmlCanvasElement| {
            truths.with(|t| {
                t.as_ref().map(|t| {
                    let area = canvas_area(c)?;
                    match which {
                        0 => {
                            draw_truth(&area, "Warm-started leave-one-out", &t.predicted, &t.loo, None, None)
                        }
                        1 => draw_truth(&area, "PBRF", &t.predicted, &t.pbrf, None, None),
                        _ => {
                            let at: Vec<f64> = t.scratch_points.iter().map(|&i| t.predicted[i]).collect();
                            draw_truth(
                                &area,
                                "From scratch (mean ± s.e.)",
                                &at,
                                &t.scratch_mean,
                                Some(&t.scratch_se),
                                Some(t.noise),
                            )
                        }
                    }
                })
            })
        }
    };
    let a: crate::web::actions::Actions = expect_context();
    let summary = move || {
        let lang = a.lang();
        truths.get().map(|t| {
            let rows = t.agreement.iter().map(|(name, r, rho)| view! {
                <tr><th scope="row">{name.clone()}</th>
                    <td data-testid="truth-pearson" data-truth=name.clone() data-value=r.map(|v| v.to_string()).unwrap_or_default()>{correlation(*r, lang)}</td>
                    <td>{correlation(*rho, lang)}</td></tr>
            }).collect_view();
            let warn = (!t.refits.all_converged()).then(|| view! { <p class="warning">{t.refits.to_string()}</p> });
            view! {
                <p class="reading" data-testid="truths-reading">{t.reading.clone()}</p>
                <table class="grid"><thead><tr><th>"truth"</th><th>"Pearson r"</th><th>"Spearman ρ"</th></tr></thead><tbody>{rows}</tbody></table>
                <p class="hint">{format!(
                    "{} refits in {:.1} s{}; PBRF with δ = {:.0e}; {} seeds from scratch over {} of the {} training points. Orange band: ±{:.2e}, the seed-to-seed spread of this test loss with all the data.",
                    t.refits.n, t.millis / 1000.0, super::workers(t.workers, lang), t.pbrf_damping, t.seeds, t.scratch_points.len(), t.predicted.len(), t.noise)}</p>
                {warn}
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Which truth?">
            <h2>"Which truth? Influence against three kinds of retraining"</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Truths)}
            <p class="hint">"Past convexity, \"what would happen without this point\" has three answers: refit from the trained model (the same basin), the proximal Bregman response (what damped Gauss–Newton influence estimates exactly), or retrain from scratch with several seeds, which also shows how much retraining moves the loss whatever you remove."</p>
            <div class="params">
                <label>"Seeds from scratch "<input type="number" min="2" max="20" data-testid="truths-seeds" prop:value=move || seeds.get().to_string()
                    on:change=move |ev| seeds.set(event_target_value(&ev).parse::<usize>().unwrap_or(5).clamp(2, 20)) /></label>
            </div>
            <button data-testid="truths-button" disabled=move || progress.with(Option::is_some)
                on:click=move |_| on_run.run(seeds.get_untracked())>"Retrain three ways"</button>
            <ProgressCancel progress=progress on_cancel=on_cancel testid="truths-progress" label="Refits done" />
            {summary}
            <div class="charts">
                <ChartCanvas draw=scatter(0) file="truth-loo.png" testid="truth-loo-chart" error=error width=360 height=300
                    label="Predicted against warm-started leave-one-out change" />
                <ChartCanvas draw=scatter(1) file="truth-pbrf.png" testid="truth-pbrf-chart" error=error width=360 height=300
                    label="Predicted against the PBRF change" />
                <ChartCanvas draw=scatter(2) file="truth-scratch.png" testid="truth-scratch-chart" error=error width=360 height=300
                    label="Predicted against the change retrained from scratch, with the noise floor" />
            </div>
        </section>
    }
}
