//! A long job's progress bar with its Cancel button, shown while the job runs.

use crate::tracker::Progress;
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
    label: &'static str,
) -> impl IntoView {
    view! {
        <Show when=move || progress.with(Option::is_some)>
            <progress data-testid=testid aria-label=label max=move || progress.get().map_or(1, |p| p.total)
                value=move || progress.get().map_or(0, |p| p.done)></progress>
            <button class="small" data-testid=format!("{testid}-cancel") on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </Show>
    }
}
