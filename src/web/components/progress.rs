//! A long job's progress bar with its Cancel button, shown while the job runs; the
//! fit's and the analyses' progress bars; and the Cancel button of the one-piece jobs
//! (training, reading a file, the analyses). One bar component serves all three.

use crate::text::Text;
use crate::tracker::Progress;
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;

/// A job's progress bar, while the job reports progress (nothing otherwise).
#[component]
fn Bar(
    /// The job's progress (`None`: not running, or not reported yet).
    progress: RwSignal<Option<Progress>>,
    /// Test hook of the bar.
    testid: &'static str,
    /// What the bar measures, for screen readers.
    label: Text,
) -> impl IntoView {
    let a: Actions = expect_context();
    view! {
        <Show when=move || progress.with(Option::is_some)>
            <progress data-testid=testid aria-label=tr(a, label) max=move || progress.get().map_or(1, |p| p.total)
                value=move || progress.get().map_or(0, |p| p.done)></progress>
        </Show>
    }
}

/// Progress of a running job, with Cancel; nothing when no job runs.
#[component]
pub fn ProgressCancel(
    /// The job's progress (`None`: not running).
    progress: RwSignal<Option<Progress>>,
    /// Stops the job.
    on_cancel: Callback<()>,
    /// Test hook of the progress bar.
    testid: &'static str,
    /// What the bar measures, for screen readers.
    label: Text,
) -> impl IntoView {
    let a: Actions = expect_context();
    view! {
        <Bar progress testid label />
        <Show when=move || progress.with(Option::is_some)>
            <button class="small" data-testid=format!("{testid}-cancel") on:click=move |_| on_cancel.run(())>{tr(a, Text::Cancel)}</button>
        </Show>
    }
}

/// How far fitting the model has come, while a fit reports it (fits shorter than the
/// first report show none).
#[component]
pub fn FitProgress() -> impl IntoView {
    let a: Actions = expect_context();
    view! { <Bar progress=a.fit_progress testid="fit-progress" label=Text::FittingModel /> }
}

/// How far the running analysis (Methods, Diagnostics, Mislabel lab, flip set) has
/// come, while it reports it (analyses shorter than the first report show none).
#[component]
pub fn AnalysisProgress() -> impl IntoView {
    let a: Actions = expect_context();
    view! { <Bar progress=a.analysis_progress testid="analysis-progress" label=Text::AnalysisProgress /> }
}

/// Cancel for the one-piece job running now (training, reading a file, Methods,
/// Diagnostics, Mislabel lab), shown while one runs; the view stays as it was.
#[component]
pub fn CancelWork() -> impl IntoView {
    let a = expect_context::<Actions>();
    view! {
        <Show when=move || a.busy.get() || a.analysing.get()>
            <button class="small" data-testid="work-cancel" on:click=move |_| a.cancel_work()
                title=tr(a, Text::CancelTitle)>{tr(a, Text::Cancel)}</button>
        </Show>
    }
}
