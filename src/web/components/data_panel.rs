//! Data and model: built-in datasets with generator controls, CSV upload (picker and
//! drag-and-drop; the file is read in the browser and parsed in the worker), target
//! column, standardisation, model, λ, damping, and the fit status in words.

use crate::engine::data::builtin::Builtin;
use crate::engine::data::csv::MAX_BYTES;
use crate::engine::model::ModelKind;
use crate::url_state::UPLOAD;
use crate::web::actions::Actions;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

fn read_file(actions: Actions, file: File) {
    let name = file.name();
    if file.size() > MAX_BYTES as f64 {
        let mb = |bytes: f64| bytes / (1024.0 * 1024.0);
        actions.error.set(Some(format!(
            "{name}: the file is {:.0} MB; the limit is {:.0} MB (a browser tab must hold it)",
            mb(file.size()),
            mb(MAX_BYTES as f64)
        )));
        return;
    }
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(text) => actions.upload_file(name, text.as_string().unwrap_or_default()),
            Err(_) => actions.error.set(Some(format!("{name}: the file could not be read as text"))),
        }
    });
}

/// The left panel.
#[component]
pub fn DataPanel() -> impl IntoView {
    let a = expect_context::<Actions>();
    let state = a.state;
    let is_generated =
        move || Builtin::from_id(&state.with(|s| s.dataset.clone())).is_some_and(|b| b.is_generated());
    let on_dataset = move |ev| {
        let id = event_target_value(&ev);
        if id == UPLOAD {
            // Back to the file uploaded in this tab, with its default target.
            let Some(target) = a.upload.with_untracked(|u| u.as_ref().map(|u| u.default_target.clone()))
            else {
                return;
            };
            a.retrain(|s| {
                s.dataset = id;
                s.target = Some(target);
                s.selection = crate::protocol::Selection::Auto;
                s.edits = Default::default();
                s.model = None;
            });
        } else {
            a.retrain(|s| {
                s.dataset = id;
                s.selection = crate::protocol::Selection::Auto;
                s.edits = Default::default();
                s.model = None;
            });
        }
    };
    let options = Builtin::ALL
        .into_iter()
        .map(|b| view! { <option value=b.id() selected=move || state.with(|s| s.dataset == b.id())>{b.title()}</option> })
        .collect_view();
    let on_file = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        if let Some(file) = input.as_ref().and_then(|i| i.files()).and_then(|f| f.get(0)) {
            read_file(a, file);
        }
        if let Some(i) = input {
            i.set_value(""); // choosing the same file again fires change again
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            read_file(a, file);
        }
    };
    let generator = move || {
        is_generated().then(|| {
            let p = state.with(|s| s.params);
            view! {
                <label for="n">"Points: " {p.n}</label>
                <input id="n" type="range" min="20" max="1000" step="10" prop:value=p.n.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(p.n); a.retrain(|s| { s.params.n = v; s.selection = Default::default(); s.edits = Default::default(); }) } />
                <label for="noise">"Noise: " {format!("{:.2}", p.noise)}</label>
                <input id="noise" type="range" min="0" max="1" step="0.05" prop:value=p.noise.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(p.noise); a.retrain(|s| { s.params.noise = v; s.edits = Default::default(); }) } />
                <label for="seed">"Seed"</label>
                <input id="seed" type="number" min="0" step="1" prop:value=p.seed.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(p.seed); a.retrain(|s| { s.params.seed = v; s.edits = Default::default(); }) } />
            }
        })
    };
    let target_picker = move || {
        let up = a.upload.get()?;
        (state.with(|s| s.dataset == UPLOAD)).then(|| {
            let current = state.with(|s| s.target.clone()).unwrap_or_default();
            let cols = up
                .columns
                .iter()
                .map(|c| {
                    let sel = *c == current;
                    view! { <option value=c.clone() selected=sel>{c.clone()}</option> }
                })
                .collect_view();
            view! {
                <p class="hint">{format!("{}: {} rows, {} columns. Parsed in this tab only.", up.name, up.rows, up.columns.len())}</p>
                <label for="target">"Target column"</label>
                <select id="target" data-testid="target-select" on:change=move |ev| {
                    let t = event_target_value(&ev);
                    a.retrain(|s| { s.target = Some(t); s.model = None; s.selection = Default::default(); })
                }>{cols}</select>
            }
        })
    };
    let lambda_exp = move || state.with(|s| s.lambda.max(1e-6).log10());
    let status = move || {
        if a.busy.get() {
            return "Training…".to_string();
        }
        a.view.with(|v| {
            v.as_ref().map_or("Waiting for the engine…".into(), |v| {
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
        })
    };
    view! {
        <section class="panel data-panel" aria-label="Data and model"
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            <h2>"Data"</h2>
            <label for="dataset">"Dataset"</label>
            <select id="dataset" data-testid="dataset-select" on:change=on_dataset>
                {options}
                <option value=UPLOAD disabled=move || a.upload.with(|u| u.is_none())
                    selected=move || state.with(|s| s.dataset == UPLOAD)>"Uploaded file"</option>
            </select>
            {generator}
            <label for="csv">"Or your own CSV (stays in this browser)"</label>
            <div class="drop">"Drop a CSV here or "
                <input id="csv" type="file" accept=".csv,.tsv,.txt,text/csv" data-testid="csv-input" on:change=on_file />
            </div>
            {target_picker}
            <Show when=move || a.error.with(Option::is_some)>
                <div class="error" role="alert" data-testid="error-banner">{move || a.error.get().unwrap_or_default()}</div>
            </Show>
            <p class="hint">{move || a.view.with(|v| v.as_ref().map(|v| format!(
                "{} training and {} test points, {} feature(s){}.",
                v.train_xy.len(), v.test_xy.len(), v.feature_names.len(),
                if v.standardized { ", standardised with training statistics" } else { "" })))}</p>
            <label class="check"><input type="checkbox" prop:checked=move || state.with(|s| s.standardize)
                on:change=move |ev| { let on = event_target_checked(&ev); a.retrain(|s| { s.standardize = on; s.edits = Default::default(); }) } />
                " Standardise features"</label>
            <h2>"Model"</h2>
            <label for="model">"Model"</label>
            <select id="model" data-testid="model-select" on:change=move |ev| {
                let m = ModelKind::from_id(&event_target_value(&ev));
                a.retrain(|s| s.model = m)
            }>
                <option value="auto" selected=move || state.with(|s| s.model.is_none())>"Automatic (from the target)"</option>
                <option value="logistic" selected=move || state.with(|s| s.model == Some(ModelKind::Logistic))>"Logistic regression"</option>
                <option value="softmax" selected=move || state.with(|s| s.model == Some(ModelKind::Softmax))>"Softmax regression"</option>
                <option value="linear" selected=move || state.with(|s| s.model == Some(ModelKind::Linear))>"Linear (ridge) regression"</option>
            </select>
            <label for="lambda">{move || format!("L2 strength λ = {:.0e}", state.with(|s| s.lambda))}</label>
            <input id="lambda" type="range" min="-6" max="1" step="0.25" prop:value=move || lambda_exp().to_string()
                on:change=move |ev| { let e: f64 = event_target_value(&ev).parse().unwrap_or(-2.0); a.retrain(|s| s.lambda = 10f64.powf(e)) } />
            <label for="damping">"Hessian damping δ (H + δI)"</label>
            <input id="damping" type="number" min="0" step="any" prop:value=move || state.with(|s| s.damping.to_string())
                on:change=move |ev| { let d: f64 = event_target_value(&ev).parse().unwrap_or(0.0); a.retrain(|s| s.damping = d.max(0.0)) } />
            <p class="status" data-testid="model-status" aria-live="polite">{status}</p>
            <p class="warning">{move || a.view.with(|v| v.as_ref().map(|v| v.fit.warnings.join(" ")))}</p>
        </section>
    }
}
