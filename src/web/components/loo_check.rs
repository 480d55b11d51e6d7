//! The Koh & Liang check: retrain without each training point in turn (in the worker,
//! with progress and cancel) and compare the actual change of the explained point's
//! loss with the predicted one.

use super::chart::ChartCanvas;
use super::progress::ProgressCancel;
use super::{correlation, workers};
use crate::glossary::Term;
use crate::protocol::LooView;
use crate::said::Said;
use crate::text::Text;
use crate::tracker::Progress;
use crate::web::actions::Actions;
use crate::web::components::info::Info;
use crate::web::components::tr;
use crate::web::plot::{canvas_area, draw_loo};
use leptos::prelude::*;

fn verdict(r: Option<f64>) -> Text {
    match r {
        None => Text::VerdictUndefined,
        Some(r) if r > 0.95 => Text::VerdictVeryWell,
        Some(r) if r > 0.8 => Text::VerdictFollows,
        Some(_) => Text::VerdictUnreliable,
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
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a: Actions = expect_context();
    let draw = move |c: &web_sys::HtmlCanvasElement| {
        loo.with(|l| l.as_ref().map(|l| canvas_area(c).and_then(|area| draw_loo(&area, l, a.lang()))))
    };
    let summary = move || {
        let lang = a.lang();
        loo.get().map(|l| {
            let warn = (!l.refits.all_converged()).then(|| {
                view! { <p class="warning" data-testid="loo-refits-warning">{a.say(&l.refits.said())}{a.t(Text::LooHollow)}</p> }
            });
            view! {
                <p>{a.t(Text::LooPearson)}<strong data-testid="loo-pearson" data-value=l.pearson.map(|v| v.to_string()).unwrap_or_default()>{correlation(l.pearson, lang)}</strong>
                   {a.t(Text::LooSpearman)}<strong data-testid="loo-spearman" data-value=l.spearman.map(|v| v.to_string()).unwrap_or_default()>{correlation(l.spearman, lang)}</strong>
                   {a.tf(Text::LooOver, &[("n", &l.actual.len().to_string())])}
                   <span data-testid="loo-millis" data-value=l.millis.to_string()>{format!("{:.0} ms", l.millis)}</span>
                   <span data-testid="loo-workers" data-value=l.workers.to_string()>{workers(l.workers, lang)}</span>
                   {a.tf(Text::LooVerdict, &[("verdict", a.t(verdict(l.pearson)))])}</p>
                {warn}
            }
        })
    };
    view! {
        <section class="panel loo" aria-label=tr(a, Text::LooAria)>
            <h2>{tr(a, Text::LooHeading)}<Info term=Term::LeaveOneOut /></h2>
            <button data-testid="loo-button" disabled=move || progress.with(Option::is_some) on:click=move |_| on_run.run(())>
                {tr(a, Text::LooButton)}
            </button>
            <ProgressCancel progress=progress on_cancel=on_cancel testid="progress" label=Text::LooProgress />
            {summary}
            <ChartCanvas draw=draw file="leave-one-out-check.png" testid="loo-chart" error=error width=320 height=240
                label=Text::LooChartLabel />
        </section>
    }
}
