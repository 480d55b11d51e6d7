//! A long job's progress bar with its Cancel button, shown while the job runs; the
//! fit's and the analyses' progress bars; and the Cancel button of the one-piece jobs (training, reading
//! a file, the analyses).

use crate::text::Text;
use crate::tracker::Progress;
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;

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
        <Show when=move || progress.with(Option::is_some)>
            <progress data-testid=testid aria-label=tr(a, label) max=move || progress.get().map_or(1, |p| p.total)
                value=move || progress.get().map_or(0, |p| p.done)></progress>
            <button class="small" data-testid=format!("{testid}-cancel") on:click=move |_| on_cancel.run(())>{tr(a, Text::Cancel)}</button>
        </Show>
    }
}

/// How far fitting the model has come, while a fit reports it (fits shorter than the
/// first report show none).
#[component]
pub fn FitProgress() -> impl IntoView {
    let a: Actions = expect_context();
    let progress = a.fit_progress;
    view! {
        <Show when=move || progress.with(Option::is_some)>
            <progress data-testid="fit-progress" aria-label=tr(a, Text::FittingModel)
                max=move || progress.get().map_or(1, |p| p.total)
                value=move || progress.get().map_or(0, |p| p.done)></progress>
        </Show>
    }
}

/// How far the running analysis (Methods, Diagnostics, Mislabel lab, flip set) has
/// come, while it reports it (analyses shorter than the first report show none).
#[component]
pub fn AnalysisProgress() -> impl IntoView {
    let a: Actions = expect_context();
    let progress = a.analysis_progress;
    view! {
        <Show when=move || progress.with(Option::is_some)>
            <progress data-testid="analysis-progress" aria-label=tr(a, Text::AnalysisProgress)
                max=move || progress.get().map_or(1, |p| p.total)
                value=move || progress.get().map_or(0, |p| p.done)></progress>
        </Show>
    }
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
