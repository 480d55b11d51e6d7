//! The page: owns the [`Actions`] (signals and everything that changes them) and lays
//! out the panels. `?embed=1` shows only the plot and its explanation, for an iframe.

use crate::web::actions::{Actions, Tab};
use crate::web::bridge;
use crate::web::components::data_panel::DataPanel;
use crate::web::components::diagnostics_tab::DiagnosticsTab;
use crate::web::components::influence_list::InfluenceList;
use crate::web::components::lds_tab::LdsTab;
use crate::web::components::loo_check::LooCheck;
use crate::web::components::methods_tab::MethodsTab;
use crate::web::components::mislabel_tab::MislabelTab;
use crate::web::components::plot_panel::PlotPanel;
use crate::web::components::scrubber::Scrubber;
use leptos::prelude::*;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let search = window().location().search().unwrap_or_default();
    let a = Actions::new(&search);
    provide_context(a);
    if let Err(e) = bridge::start(move |r| a.on_response(r)) {
        a.error.set(Some(e));
    }
    // Keep the URL in step with the state (replaceState: no history spam, no request).
    Effect::new(move |_| {
        let query = a.state.with(|s| s.to_query());
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&query));
        }
    });
    // `?debug=panic` proves the panic banner in the end-to-end test.
    if search.contains("debug=panic") {
        request_animation_frame(|| panic!("a panic requested by the URL (?debug=panic)"));
    }
    let embed = a.state.get_untracked().embed;
    let copied = RwSignal::new(false);
    let copy_link = move |_| {
        let href = window().location().href().unwrap_or_default();
        let _ = window().navigator().clipboard().write_text(&href);
        copied.set(true);
    };
    view! {
        <Show when=move || !embed>
            <header class="top">
                <h1>"Attribution Explorer"</h1>
                <p class="tagline">"Which training points drive this prediction? Computed in your browser; nothing leaves it."</p>
                <button class="link" data-testid="copy-link" on:click=copy_link>
                    {move || if copied.get() { "Link copied" } else { "Copy link to this view" }}
                </button>
                <span class="engine" data-testid="engine-status" class:ok=move || a.ready.get()>
                    {move || if a.ready.get() { "engine ready" } else { "engine starting…" }}
                </span>
            </header>
        </Show>
        <Show when=move || !embed>
            <nav class="tabs" role="tablist" aria-label="Views">
                {Tab::ALL.into_iter().map(|(t, label)| view! {
                    <button role="tab" aria-selected=move || (a.tab() == t).to_string() class:active=move || a.tab() == t
                        data-testid=format!("tab-{}", label.split(' ').next().unwrap_or(label).to_lowercase())
                        on:click=move |_| a.set_tab(t)>{label}</button>
                }).collect_view()}
            </nav>
        </Show>
        <main class="layout" class:embed=embed>
            <Show when=move || !embed><DataPanel /></Show>
            <Show when=move || a.tab() == Tab::Explore fallback=move || view! {
                <div class="side analysis">
                    {move || match a.tab() {
                        Tab::Methods => view! { <MethodsTab /> }.into_any(),
                        Tab::Diagnostics => view! { <DiagnosticsTab /> }.into_any(),
                        Tab::Mislabel => view! { <MislabelTab /> }.into_any(),
                        _ => view! { <LdsTab /> }.into_any(),
                    }}
                </div>
            }>
                <div class="side">
                    <PlotPanel />
                    <Show when=move || !embed><LooCheck /></Show>
                </div>
            </Show>
            <div class="side">
                <InfluenceList />
                <Scrubber />
            </div>
        </main>
    }
}
