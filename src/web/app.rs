//! The page: header, data/model panel, the main plot and the ranked influence list.
//! The app owns the signals; every number comes from the worker.

use crate::engine::data::builtin::{Builtin, GeneratorParams};
use crate::engine::model::ModelKind;
use crate::protocol::{DataSource, Request, Response, TrainSpec, TrainedView};
use crate::web::{bridge, plot};
use leptos::prelude::*;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let ready = RwSignal::new(false);
    let trained = RwSignal::new(None::<TrainedView>);
    let error = RwSignal::new(None::<String>);
    let spec = RwSignal::new(TrainSpec::default());
    let busy = RwSignal::new(false);
    let latest_job = StoredValue::new(0u64);

    let on_response = move |r: Response| match r {
        Response::Ready => ready.set(true),
        Response::Progress { .. } => {}
        Response::Trained { job, result } => {
            if job != latest_job.get_value() {
                return; // a newer request is on its way: drop the stale answer
            }
            busy.set(false);
            match result {
                Ok(v) => {
                    trained.set(Some(*v));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        }
        Response::Crashed { message } => error.set(Some(format!("The engine stopped: {message}"))),
    };
    if let Err(e) = bridge::start(on_response) {
        error.set(Some(e));
    }

    // Synchronise with the worker: train whenever the spec changes once it is ready.
    Effect::new(move |_| {
        let s = spec.get();
        if !ready.get() {
            return;
        }
        let job = latest_job.get_value() + 1;
        latest_job.set_value(job);
        busy.set(true);
        if let Err(e) = bridge::send(&Request::Train { job, spec: s }) {
            error.set(Some(e));
        }
    });

    // `?debug=panic` proves the panic banner in the end-to-end test.
    let search = window().location().search().unwrap_or_default();
    if search.contains("debug=panic") {
        request_animation_frame(|| panic!("a panic requested by the URL (?debug=panic)"));
    }

    view! {
        <header class="top">
            <h1>"Attribution Explorer"</h1>
            <p class="tagline">"Which training points drive this prediction? Computed in your browser; nothing leaves it."</p>
            <span class="engine" data-testid="engine-status" class:ok=move || ready.get()>
                {move || if ready.get() { "engine ready" } else { "engine starting…" }}
            </span>
        </header>
        <Show when=move || error.get().is_some()>
            <div class="error" role="alert" data-testid="error-banner">{move || error.get().unwrap_or_default()}</div>
        </Show>
        <main class="layout">
            <DataPanel spec=spec trained=trained busy=busy />
            <PlotPanel trained=trained error=error />
            <InfluencePanel trained=trained />
        </main>
    }
}

/// Dataset choice and model status.
#[component]
fn DataPanel(
    spec: RwSignal<TrainSpec>,
    trained: RwSignal<Option<TrainedView>>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let on_dataset = move |ev| {
        let id = event_target_value(&ev);
        spec.update(|s| {
            s.source = DataSource::Builtin { id, params: GeneratorParams::default() };
            s.selected_test = None;
        });
    };
    let options =
        Builtin::ALL.into_iter().map(|b| view! { <option value=b.id()>{b.title()}</option> }).collect_view();
    let status = move || {
        trained.get().map(|v| {
            let f = &v.fit;
            let model = match f.model {
                ModelKind::Logistic => "Logistic regression",
                ModelKind::Softmax => "Softmax regression",
                ModelKind::Linear => "Linear (ridge) regression",
            };
            let conv = if f.converged { "converged" } else { "NOT converged" };
            format!(
                "{model}: {} Newton steps, {conv} (largest gradient entry {:.1e}). Train {} {:.3}, test {} {:.3}.",
                f.iterations, f.grad_norm, f.metric_name, f.train_metric, f.metric_name, f.test_metric
            )
        })
    };
    let warnings = move || trained.get().map(|v| v.fit.warnings.join(" ")).unwrap_or_default();
    view! {
        <section class="panel data-panel" aria-label="Data and model">
            <h2>"Data and model"</h2>
            <label for="dataset">"Dataset"</label>
            <select id="dataset" data-testid="dataset-select" on:change=on_dataset>{options}</select>
            <p class="hint">{move || trained.get().map(|v| format!(
                "{} training and {} test points, {} feature(s){}.",
                v.train_y.len(), v.test_y.len(), v.feature_names.len(),
                if v.standardized { ", standardised with training statistics" } else { "" }
            ))}</p>
            <p class="status" data-testid="model-status" aria-live="polite">
                {move || if busy.get() { "Training…".to_string() } else { status().unwrap_or_else(|| "Waiting for the engine…".into()) }}
            </p>
            <p class="warning">{warnings}</p>
        </section>
    }
}

/// The canvas with the scatter and its legend.
#[component]
fn PlotPanel(trained: RwSignal<Option<TrainedView>>, error: RwSignal<Option<String>>) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let drawn = RwSignal::new(false);
    Effect::new(move |_| {
        let v = trained.get();
        if let (Some(c), Some(v)) = (canvas.get(), v.as_ref()) {
            match plot::draw_on_canvas(&c, v) {
                Ok(()) => drawn.set(true),
                Err(e) => error.set(Some(format!("could not draw the plot: {e}"))),
            }
        }
    });
    view! {
        <section class="panel plot-panel" aria-label="Training and test points">
            <canvas node_ref=canvas width="640" height="480" data-testid="main-plot"
                data-drawn=move || drawn.get().to_string()
                aria-label="Scatter of the training points coloured by influence on the selected test point"></canvas>
            <p class="legend">
                <span class="swatch helpful"></span>" helpful: removing it would raise the selected point's loss  "
                <span class="swatch harmful"></span>" harmful: removing it would lower the loss. "
                "Bigger means stronger. × = test point; the ringed one is explained."
            </p>
        </section>
    }
}

/// The top helpful and harmful training points, each in a sentence.
#[component]
fn InfluencePanel(trained: RwSignal<Option<TrainedView>>) -> impl IntoView {
    let rows = move || {
        trained.get().map(|v| {
            let mut order: Vec<usize> = (0..v.pred_loo_dloss.len()).collect();
            order.sort_by(|&a, &b| v.pred_loo_dloss[b].total_cmp(&v.pred_loo_dloss[a]));
            let helpful: Vec<usize> = order.iter().copied().take(5).collect();
            let harmful: Vec<usize> = order.iter().rev().copied().take(5).collect();
            (v, helpful, harmful)
        })
    };
    let line = |v: &TrainedView, i: usize| {
        let (dl, dp) = (v.pred_loo_dloss[i], v.pred_loo_dpred[i]);
        let verb = if dl >= 0.0 { "raise" } else { "lower" };
        let what = if v.class_names.is_empty() {
            format!("prediction {:.3} → {:.3}", v.test_pred, v.test_pred + dp)
        } else {
            let label = v.class_names.get(v.test_y[v.selected_test] as usize).cloned().unwrap_or_default();
            format!("prob. of '{label}' {:.3} → {:.3}", v.test_pred, v.test_pred + dp)
        };
        format!("Removing #{i} would {verb} this point's loss by {:.4} ({what}).", dl.abs())
    };
    view! {
        <section class="panel side-panel" aria-label="Most influential training points">
            <h2>"Why this prediction?"</h2>
            {move || rows().map(|(v, helpful, harmful)| {
                let head = format!(
                    "Test point #{} (true label {}), loss {:.4}.",
                    v.selected_test,
                    v.class_names.get(v.test_y[v.selected_test] as usize).cloned()
                        .unwrap_or_else(|| format!("{:.3}", v.test_y[v.selected_test])),
                    v.test_loss
                );
                let list = |idx: Vec<usize>| idx.into_iter().map(|i| view! {
                    <li data-testid="influence-row" tabindex="0" data-index=i data-value=v.pred_loo_dloss[i].to_string()>{line(&v, i)}</li>
                }).collect_view();
                view! {
                    <p>{head}</p>
                    <h3 class="helpful-title">"Most helpful"</h3>
                    <ol>{list(helpful)}</ol>
                    <h3 class="harmful-title">"Most harmful"</h3>
                    <ol>{list(harmful)}</ol>
                }
            })}
        </section>
    }
}
