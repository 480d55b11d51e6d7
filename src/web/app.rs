//! The page: owns the [`Actions`] (signals and everything that changes them) and lays
//! out the panels, handing each the signals and callbacks it uses. `?embed=1` shows
//! only the plot and its explanation, for an iframe.

use crate::web::actions::{Actions, Tab};
use crate::web::bridge;
use crate::web::components::audit_tab::AuditTab;
use crate::web::components::data_panel::DataPanel;
use crate::web::components::diagnostics_tab::DiagnosticsTab;
use crate::web::components::flip_panel::FlipPanel;
use crate::web::components::group_panel::GroupPanel;
use crate::web::components::influence_list::InfluenceList;
use crate::web::components::lds_tab::LdsTab;
use crate::web::components::loo_check::LooCheck;
use crate::web::components::methods_tab::MethodsTab;
use crate::web::components::mislabel_tab::MislabelTab;
use crate::web::components::plot_panel::PlotPanel;
use crate::web::components::scrubber::Scrubber;
use crate::web::components::truths_tab::TruthsTab;
use leptos::prelude::*;

/// What "Copy link" says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    Not,
    Done,
    Refused,
}

/// The tab's panel.
fn analysis_tab(a: Actions, tab: Tab) -> AnyView {
    match tab {
        Tab::Methods => view! {
            <MethodsTab methods=a.methods analysing=a.analysing params=a.method_params chosen=a.chosen_methods
                on_run=Callback::new(move |_| a.run_methods()) error=a.error />
        }
        .into_any(),
        Tab::Diagnostics => view! {
            <DiagnosticsTab diagnostics=a.diagnostics analysing=a.analysing
                on_run=Callback::new(move |_| a.run_diagnostics()) error=a.error />
        }
        .into_any(),
        Tab::Mislabel => view! {
            <MislabelTab mislabel=a.mislabel analysing=a.analysing error=a.error
                on_run=Callback::new(move |(f, s)| a.run_mislabel(f, s))
                on_open=Callback::new(move |i| { a.set_tab(Tab::Explore); a.pick(Some(i)); }) />
        }
        .into_any(),
        Tab::Truths => view! {
            <TruthsTab truths=a.truths progress=a.truths_progress error=a.error
                on_run=Callback::new(move |seeds| a.run_truths(seeds)) on_cancel=Callback::new(move |_| a.cancel_truths()) />
        }
        .into_any(),
        Tab::Lds => view! {
            <LdsTab lds=a.lds progress=a.lds_progress on_run=Callback::new(move |(m, alpha)| a.run_lds(m, alpha, 0))
                on_cancel=Callback::new(move |_| a.cancel_lds()) />
        }
        .into_any(),
        Tab::Audit => view! { <AuditTab /> }.into_any(),
        Tab::Explore => view! {
            <PlotPanel />
            <Show when=move || !a.state.with(|s| s.embed)>
                <LooCheck loo=a.loo progress=a.loo_progress error=a.error
                    on_run=Callback::new(move |_| a.run_loo()) on_cancel=Callback::new(move |_| a.cancel_loo()) />
                <FlipPanel />
                <GroupPanel />
            </Show>
        }
        .into_any(),
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let search = window().location().search().unwrap_or_default();
    let a = Actions::new(&search);
    provide_context(a);
    match bridge::start(move |w, r| a.on_response(w, r)) {
        Ok(()) => a.start_helpers(),
        Err(e) => a.error.set(Some(e)),
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
    let copied = RwSignal::new(Copied::Not);
    let copy_link = move |_| {
        let href = window().location().href().unwrap_or_default();
        let promise = window().navigator().clipboard().write_text(&href);
        leptos::task::spawn_local(async move {
            let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            copied.set(if ok { Copied::Done } else { Copied::Refused });
        });
    };
    view! {
        <Show when=move || !embed>
            <header class="top">
                <h1>"Attribution Explorer"</h1>
                <p class="tagline">"Which training points drive this prediction? Computed in your browser; nothing leaves it."</p>
                <button class="link" data-testid="copy-link" on:click=copy_link>
                    {move || match copied.get() {
                        Copied::Not => "Copy link to this view",
                        Copied::Done => "Link copied",
                        Copied::Refused => "Copying was refused: the link is in the address bar",
                    }}
                </button>
                <span class="engine" data-testid="engine-status" class:ok=move || a.ready.get()
                    data-workers=move || a.workers.get().to_string()
                    title="Long jobs (leave-one-out, LDS, ground truths) are shared among the engine workers, one per processor core up to 4.">
                    {move || match (a.ready.get(), a.workers.get()) {
                        (false, _) => "engine starting…".to_string(),
                        (true, 1) => "engine ready".to_string(),
                        (true, n) => format!("engine ready · {n} workers"),
                    }}
                </span>
            </header>
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
            <div class="side" class:analysis=move || a.tab() != Tab::Explore>
                {move || analysis_tab(a, a.tab())}
            </div>
            <div class="side">
                // The scrubber opens above the list, beside the plot, where the eye is.
                <Scrubber view=a.view reweight=a.reweight error=a.error
                    picked=Signal::derive(move || a.state.with(|s| s.train_point))
                    weight=Signal::derive(move || a.state.with(|s| s.weight))
                    on_weight=Callback::new(move |w| a.set_weight(w)) on_close=Callback::new(move |_| a.pick(None)) />
                <InfluenceList />
            </div>
        </main>
    }
}
