//! The Koh & Liang check: retrain without each training point in turn (in the worker,
//! with progress and cancel) and compare the actual change of the explained point's
//! loss with the predicted one.

use super::chart::ChartCanvas;
use super::progress::ProgressCancel;
use super::{correlation, workers};
use crate::glossary::Term;
use crate::protocol::LooView;
use crate::tracker::Progress;
use crate::web::components::info::Info;
use crate::web::plot::{canvas_area, draw_loo};
use leptos::prelude::*;

fn verdict(r: Option<f64>) -> &'static str {
    match r {
        None => "the correlation is undefined (one side does not vary)",
        Some(r) if r > 0.95 => "the influence function predicts real retraining very well here",
        Some(r) if r > 0.8 => "the prediction follows real retraining, with visible departures",
        Some(_) => "the first-order prediction is unreliable here (try more L2 regularisation)",
    }
}

/// The leave-one-out panel.
#[component]
pub fn LooCheck(
    /// The finished check.
    loo: RwSignal<Option<LooView>>,
    /// Its progress while running.
    progress: RwSignal<Option<Progress>>,
    /// Starts it.
    on_run: Callback<()>,
    /// Stops it.
    on_cancel: Callback<()>,
    /// Where errors go.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let draw = move |c: &web_sys::HtmlCanvasElement| {
        loo.with(|l| l.as_ref().map(|l| canvas_area(c).and_then(|area| draw_loo(&area, l))))
    };
    let summary = move || {
        loo.get().map(|l| {
            let warn = (!l.refits.all_converged()).then(|| {
                view! { <p class="warning" data-testid="loo-refits-warning">{l.refits.to_string()}" (drawn hollow)."</p> }
            });
            view! {
                <p>"Pearson r = "<strong data-testid="loo-pearson" data-value=l.pearson.map(|v| v.to_string()).unwrap_or_default()>{correlation(l.pearson)}</strong>
                   ", Spearman ρ = "<strong data-testid="loo-spearman" data-value=l.spearman.map(|v| v.to_string()).unwrap_or_default()>{correlation(l.spearman)}</strong>
                   {format!(" over {} refits in ", l.actual.len())}
                   <span data-testid="loo-millis" data-value=l.millis.to_string()>{format!("{:.0} ms", l.millis)}</span>
                   <span data-testid="loo-workers" data-value=l.workers.to_string()>{workers(l.workers)}</span>
                   {format!(": {}.", verdict(l.pearson))}</p>
                {warn}
            }
        })
    };
    view! {
        <section class="panel loo" aria-label="Leave-one-out check">
            <h2>"Check against real retraining"<Info term=Term::LeaveOneOut /></h2>
            <button data-testid="loo-button" disabled=move || progress.with(Option::is_some) on:click=move |_| on_run.run(())>
                "Retrain without each training point"
            </button>
            <ProgressCancel progress=progress on_cancel=on_cancel testid="progress" label="Leave-one-out refits done" />
            {summary}
            <ChartCanvas draw=draw file="leave-one-out-check.png" testid="loo-chart" error=error width=320 height=240
                label="Predicted against actual leave-one-out change of the loss" />
        </section>
    }
}
