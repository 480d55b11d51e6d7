//! The page: owns the [`Actions`] (signals and everything that changes them) and lays
//! out the panels. `?embed=1` shows only the plot and its explanation, for an iframe.

use crate::web::actions::Actions;
use crate::web::bridge;
use crate::web::components::data_panel::DataPanel;
use crate::web::components::influence_list::InfluenceList;
use crate::web::components::loo_check::LooCheck;
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
        <main class="layout" class:embed=embed>
            <Show when=move || !embed><DataPanel /></Show>
            <div class="side">
                <PlotPanel />
                <Show when=move || !embed><LooCheck /></Show>
            </div>
            <div class="side">
                <InfluenceList />
                <Scrubber />
            </div>
        </main>
    }
}
