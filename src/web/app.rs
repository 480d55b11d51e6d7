//! The page: owns the [`Actions`] (signals and everything that changes them) and lays
//! out the panels, handing each the signals and callbacks it uses. `?embed=1` shows
//! only the plot and its explanation, for an iframe; `?panels=` chooses the parts
//! ([`Panel`]).

use crate::engine::audit::review::ReviewScore;
use crate::lang::Lang;
use crate::opening::{on_open, Opening, LDS_ALPHA, LDS_SUBSETS, MISLABEL_FRACTION, TRUTH_SEEDS};
use crate::text::Text;
use crate::url_state::Panel;
use crate::web::actions::{Actions, Tab};
use crate::web::components::audit_tab::AuditTab;
use crate::web::components::data_panel::DataPanel;
use crate::web::components::diagnostics_tab::DiagnosticsTab;
use crate::web::components::flip_panel::FlipPanel;
use crate::web::components::group_panel::GroupPanel;
use crate::web::components::influence_list::InfluenceList;
use crate::web::components::lds_tab::LdsTab;
use crate::web::components::lesson_panel::{LessonMenu, LessonPanel};
use crate::web::components::loo_check::LooCheck;
use crate::web::components::methods_tab::MethodsTab;
use crate::web::components::mislabel_tab::MislabelTab;
use crate::web::components::plot_panel::PlotPanel;
use crate::web::components::scrubber::Scrubber;
use crate::web::components::share::Share;
use crate::web::components::tr;
use crate::web::components::truths_tab::TruthsTab;
use crate::web::{bridge, host, offline};
use leptos::prelude::*;

/// How long the scrubber rests before the URL takes its weight.
const URL_REST: std::time::Duration = std::time::Duration::from_millis(150);

/// The parts of the page mounted one per task after the first (see [`App`]).
const MOUNT_STAGES: u8 = 5;

/// Mount the next part of the page in a task of its own, then the one after it.
/// (Waiting for a frame between parts, so that each is laid out on its own, was
/// measured too: the e2e journeys' longest tasks were longer, median 73 against 50 ms.)
fn next_stage(stage: RwSignal<u8>) {
    set_timeout(
        move || {
            stage.update(|s| *s += 1);
            if stage.get_untracked() < MOUNT_STAGES {
                next_stage(stage);
            }
        },
        std::time::Duration::ZERO,
    );
}

/// The tab's panel; the Explore tab's panels below the plot only once `below` is true.
fn analysis_tab(a: Actions, tab: Tab, below: Memo<bool>) -> AnyView {
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
        Tab::Explore => {
            let shows = move |p| a.state.with_untracked(|s| s.shows(p));
            view! {
                <Show when=move || shows(Panel::Plot)><PlotPanel /></Show>
                <Show when=move || below.get() && shows(Panel::Check)>
                    <LooCheck loo=a.loo progress=a.loo_progress error=a.error
                        on_run=Callback::new(move |_| a.run_loo()) on_cancel=Callback::new(move |_| a.cancel_loo()) />
                </Show>
                <Show when=move || below.get() && shows(Panel::Flip)><FlipPanel /></Show>
                <Show when=move || below.get() && shows(Panel::Group)><GroupPanel /></Show>
            }
            .into_any()
        }
    }
}

/// A tab's label.
fn tab_text(tab: Tab) -> Text {
    match tab {
        Tab::Explore => Text::TabExplore,
        Tab::Audit => Text::TabAudit,
        Tab::Methods => Text::TabMethods,
        Tab::Diagnostics => Text::TabDiagnostics,
        Tab::Truths => Text::TabTruths,
        Tab::Mislabel => Text::TabMislabel,
        Tab::Lds => Text::TabLds,
    }
}

/// The header's language switch.
fn language_switch(a: Actions) -> impl IntoView {
    view! {
        <select class="inline lang" data-testid="lang-select" aria-label=tr(a, Text::LanguageLabel)
            on:change=move |ev| {
                let chosen = Lang::from_id(&event_target_value(&ev));
                a.state.update(|s| s.lang = chosen);
            }>
            {Lang::ALL.into_iter().map(|l| view! {
                <option value=l.id() lang=l.id() selected=move || a.lang() == l>{l.name()}</option>
            }).collect_view()}
        </select>
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let search = window().location().search().unwrap_or_default();
    let browser = Lang::from_tag(&window().navigator().language().unwrap_or_default());
    let a = Actions::new(&search, &window().location().hash().unwrap_or_default(), browser);
    provide_context(a);
    // The document's language follows the page's (screen readers, fonts, hyphenation).
    Effect::new(move |_| {
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", a.lang().id());
        }
    });
    match bridge::start(move |w, r| a.on_response(w, r)) {
        Ok(()) => a.start_helpers(),
        Err(e) => a.error.set(Some(e)),
    }
    host::listen(a);
    // A tab whose analysis is cheap shows its results on opening (crate::opening),
    // and again whenever the view changes under it; once per view and tab, so a
    // cancelled or failed run is not started again unasked.
    let opened = StoredValue::new(String::new());
    Effect::new(move |_| {
        let (tab, ready) = (a.tab(), a.ready.get());
        let Some((n, p, net)) =
            a.view.with(|v| v.as_ref().map(|v| (v.train_xy.len(), v.fit.n_params, v.fit.network.is_some())))
        else {
            return;
        };
        if !ready
            || a.busy.get()
            || a.analysing.get_untracked()
            || on_open(tab, n, p, net) != Some(Opening::Compute)
        {
            return;
        }
        let key = a.state.with_untracked(|s| s.to_query());
        let idle = |progress: RwSignal<Option<crate::tracker::Progress>>| progress.with(Option::is_none);
        let run: fn(&Actions) = match tab {
            Tab::Methods if a.methods.with(Option::is_none) => Actions::run_methods,
            Tab::Diagnostics if a.diagnostics.with(Option::is_none) => Actions::run_diagnostics,
            Tab::Mislabel if a.mislabel.with(Option::is_none) => |a| a.run_mislabel(MISLABEL_FRACTION, 0),
            Tab::Audit if !a.queue_current() => |a| a.run_audit(ReviewScore::SelfInfluence),
            Tab::Lds if a.lds.with(Option::is_none) && idle(a.lds_progress) => {
                |a| a.run_lds(LDS_SUBSETS, LDS_ALPHA, 0)
            }
            Tab::Truths if a.truths.with(Option::is_none) && idle(a.truths_progress) => {
                |a| a.run_truths(TRUTH_SEEDS)
            }
            _ => return,
        };
        if opened.get_value() != key {
            opened.set_value(key);
            run(&a);
        }
    });
    let updated = offline::register();
    // Keep the URL in step with the state (replaceState: no history spam, no request),
    // leaving it alone when it already is, and in a task of its own: a replaceState
    // can take 25 ms, which would lengthen the task that draws a new view. While only
    // the scrubber's weight changes, the URL follows when it rests (`URL_REST`): each
    // replaceState also makes the browser decode the page's icon again, ~4 ms in all,
    // a quarter of a scrubber update.
    // The last address asked for, with its generation and without its weight.
    let written = StoredValue::new((0u64, String::new(), String::new()));
    Effect::new(move |_| {
        let address = a.address();
        let (generation, last, last_settled) = written.get_value();
        if address == last {
            return; // written, or on its way
        }
        let settled = a.settled_address();
        let weight_only = last_settled == settled;
        let generation = generation + 1;
        written.set_value((generation, address.clone(), settled));
        let here = window().location();
        if here.search().unwrap_or_default() + &here.hash().unwrap_or_default() == address {
            return;
        }
        set_timeout(
            move || {
                // A later change wrote (or will write) a newer address.
                if written.with_value(|w| w.0) != generation {
                    return;
                }
                if let Ok(history) = window().history() {
                    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
                }
            },
            if weight_only { URL_REST } else { std::time::Duration::ZERO },
        );
    });
    // `?debug=panic` proves the panic banner in the end-to-end test.
    if search.contains("debug=panic") {
        request_animation_frame(|| panic!("a panic requested by the URL (?debug=panic)"));
    }
    // What shows is fixed by the link the page was opened with.
    let shown = StoredValue::new(a.state.get_untracked());
    let shows = move |p: Panel| shown.with_value(|s| s.shows(p));
    let embed = !shows(Panel::Header);
    // The page mounts a part per task (`MOUNT_STAGES`: the header and tabs, the data
    // column, the plot, the right side, the panels below the plot) after the one that
    // starts the module, which only sets up the state and the workers: mounting
    // everything in that task was one task of 75–170 ms (V8 compiles each function on
    // its first call, then every panel was built), which froze the page before it first
    // painted. The panels below the plot mount last: with the plot they made a task of
    // 80–110 ms on a slow machine.
    let stage = RwSignal::new(0u8);
    next_stage(stage);
    let mounted = move |at: u8| stage.get() >= at;
    // A memo: the centre's closure runs again only when it turns true, not at each stage.
    let centre = Memo::new(move |_| mounted(3));
    let below = Memo::new(move |_| mounted(5));
    view! {
        <Show when=move || !embed && mounted(1)>
            <header class="top">
                <h1>{tr(a, Text::Title)}</h1>
                <p class="tagline">{tr(a, Text::Tagline)}</p>
                <LessonMenu />
                <Share />
                {language_switch(a)}
                <Show when=move || updated.get()>
                    <span class="update" role="status" data-testid="update-ready">{tr(a, Text::UpdateReady)}</span>
                </Show>
                <span class="engine" data-testid="engine-status" class:ok=move || a.ready.get()
                    data-workers=move || a.workers.get().to_string() title=tr(a, Text::EngineTitle)>
                    {move || match (a.ready.get(), a.workers.get()) {
                        (false, _) => a.t(Text::EngineStarting).to_string(),
                        (true, 1) => a.t(Text::EngineReady).to_string(),
                        (true, n) => a.tf(Text::EngineReadyWorkers, &[("n", &n.to_string())]),
                    }}
                </span>
            </header>
            <nav class="tabs" role="tablist" aria-label=tr(a, Text::Views)>
                {Tab::ALL.into_iter().map(|(t, _)| view! {
                    <button role="tab" aria-selected=move || (a.tab() == t).to_string() class:active=move || a.tab() == t
                        data-testid=format!("tab-{}", t.id())
                        on:click=move |_| a.set_tab(t)>{move || a.t(tab_text(t))}</button>
                }).collect_view()}
            </nav>
        </Show>
        <main class="layout" class:no-data=!shows(Panel::Data)
            class:no-side=!shows(Panel::Scrubber) && !shows(Panel::List)>
            <Show when=move || shows(Panel::Data) && mounted(2)>
                <div class="left">
                    <Show when=move || !embed><LessonPanel /></Show>
                    <DataPanel />
                </div>
            </Show>
            // Without the data panel, its error banner shows above everything.
            <Show when=move || !shows(Panel::Data) && a.error.with(Option::is_some)>
                <div class="error wide" role="alert" data-testid="error-banner">{move || a.error.get().map(|e| a.say(&e)).unwrap_or_default()}</div>
            </Show>
            <div class="side center" class:analysis=move || a.tab() != Tab::Explore>
                {move || (centre.get() && (a.tab() == Tab::Explore || shows(Panel::Tab))).then(|| analysis_tab(a, a.tab(), below))}
            </div>
            <div class="side right" class:hidden=!shows(Panel::Scrubber) && !shows(Panel::List)>
                // The scrubber opens above the list, beside the plot, where the eye is.
                <Show when=move || shows(Panel::Scrubber) && mounted(4)>
                    <Scrubber view=a.view reweight=a.reweight error=a.error
                        picked=Signal::derive(move || a.settled.with(|s| s.train_point))
                        weight=Signal::derive(move || a.state.with(|s| s.weight))
                        on_weight=Callback::new(move |w| a.set_weight(w)) on_close=Callback::new(move |_| a.pick(None)) />
                </Show>
                <Show when=move || shows(Panel::List) && mounted(4)><InfluenceList /></Show>
            </div>
        </main>
    }
}
