//! Data and model: built-in datasets with generator controls, CSV upload (picker and
//! drag-and-drop; the worker reads and parses the file, with progress), target
//! column, standardisation, model, λ, damping, and the fit status in words.

use super::progress::{CancelWork, FitProgress, ProgressCancel};
use crate::engine::curvature::Curvature;
use crate::engine::data::builtin::Builtin;
use crate::engine::data::csv::MAX_BYTES;
use crate::engine::model::mlp::{Activation, MlpShape};
use crate::engine::model::ModelKind;
use crate::glossary::Term;
use crate::lang::Lang;
use crate::protocol::{FitSummary, Selection};
use crate::said::Said;
use crate::service::file_read::file_too_big;
use crate::text::{filled, text, Text};
use crate::url_state::{default_network, MAX_SEED, MAX_TRAIN_STEPS, UPLOAD};
use crate::web::actions::Actions;
use crate::web::components::info::Info;
use crate::web::components::tr;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

fn read_file(actions: Actions, file: File) {
    let name = file.name();
    if file.size() > MAX_BYTES as f64 {
        actions.error.set(Some(file_too_big(&name, file.size() as usize)));
        return;
    }
    actions.upload_file(file);
}

/// Built-in datasets and the generators' size, noise and seed.
#[component]
fn DatasetPicker(a: Actions) -> impl IntoView {
    let state = a.settled;
    let is_generated =
        move || Builtin::from_id(&state.with(|s| s.dataset.clone())).is_some_and(|b| b.is_generated());
    let on_dataset = move |ev| {
        let id = event_target_value(&ev);
        // Back to the file uploaded in this tab uses its default target.
        let target = a.upload.with_untracked(|u| u.as_ref().map(|u| u.default_target.clone()));
        if id == UPLOAD && target.is_none() {
            return;
        }
        a.retrain(|s| {
            if id == UPLOAD {
                s.target = target;
            }
            s.dataset = id;
            s.selection = Selection::Auto;
            s.edits = Default::default();
            s.model = None;
        });
    };
    let options = Builtin::ALL
        .into_iter()
        .map(|b| view! { <option value=b.id() selected=move || state.with(|s| s.dataset == b.id())>{move || a.t(dataset_text(b))}</option> })
        .collect_view();
    let generator = move || {
        is_generated().then(|| {
            let p = state.with(|s| s.params);
            view! {
                <label for="n">{a.tf(Text::PointsN, &[("n", &p.n.to_string())])}</label>
                <input id="n" type="range" min="20" max="1000" step="10" prop:value=p.n.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(p.n); a.retrain(|s| { s.params.n = v; s.selection = Default::default(); s.edits = Default::default(); }) } />
                <label for="noise">{a.tf(Text::NoiseV, &[("v", &format!("{:.2}", p.noise))])}</label>
                <input id="noise" type="range" min="0" max="1" step="0.05" prop:value=p.noise.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(p.noise); a.retrain(|s| { s.params.noise = v; s.edits = Default::default(); }) } />
                <label for="seed">{a.t(Text::Seed)}</label>
                <input id="seed" type="number" min="0" max=MAX_SEED.to_string() step="1" prop:value=p.seed.to_string()
                    on:change=move |ev| { let v = event_target_value(&ev).parse().map_or(p.seed, |v: u64| v.min(MAX_SEED)); a.retrain(|s| { s.params.seed = v; s.edits = Default::default(); }) } />
            }
        })
    };
    view! {
        <label for="dataset">{tr(a, Text::Dataset)}</label>
        <select id="dataset" data-testid="dataset-select" on:change=on_dataset>
            {options}
            <option value=UPLOAD disabled=move || a.upload.with(|u| u.is_none())
                selected=move || state.with(|s| s.dataset == UPLOAD)>{tr(a, Text::UploadedFile)}</option>
        </select>
        {generator}
    }
}

/// The file picker (drop anywhere on the panel) and, for an uploaded file, its target.
#[component]
fn UploadBox(a: Actions) -> impl IntoView {
    let state = a.settled;
    let on_file = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        if let Some(file) = input.as_ref().and_then(|i| i.files()).and_then(|f| f.get(0)) {
            read_file(a, file);
        }
        if let Some(i) = input {
            i.set_value(""); // choosing the same file again fires change again
        }
    };
    let target_picker = move || {
        let up = a.upload.get()?;
        // The settings shown: those that failed to train, else the current ones.
        let shown = a.failed_upload.get().unwrap_or_else(|| state.get());
        let failed = a.failed_upload.with(Option::is_some);
        (shown.dataset == UPLOAD).then(|| {
            let current = shown.target.clone().unwrap_or_default();
            let cols = up
                .columns
                .iter()
                .map(|c| {
                    let sel = *c == current;
                    view! { <option value=c.clone() selected=sel>{c.clone()}</option> }
                })
                .collect_view();
            let choices = shown.columns.clone();
            let features = up.columns.iter().filter(|c| **c != current).map(|c| {
                let (name, used) = (c.clone(), !choices.exclude.contains(c) && choices.id_column.as_ref() != Some(c));
                view! {
                    <label class="check"><input type="checkbox" data-testid="column-use" data-column=name.clone() prop:checked=used
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let name = name.clone();
                            a.change_upload(move |s| {
                                s.columns.exclude.retain(|c| *c != name);
                                if !on { s.columns.exclude.push(name) }
                            })
                        } />{c.clone()}</label>
                }
            }).collect_view();
            let ids = up.columns.iter().filter(|c| **c != current).map(|c| {
                let sel = choices.id_column.as_ref() == Some(c);
                view! { <option value=c.clone() selected=sel>{c.clone()}</option> }
            }).collect_view();
            view! {
                <p class="hint">{a.tf(Text::UploadSummary, &[("name", &up.name), ("rows", &up.rows.to_string()), ("columns", &up.columns.len().to_string())])}</p>
                {failed.then(|| view! {
                    <p class="warning" data-testid="upload-failed">{a.tf(Text::UploadFailedTrain, &[("name", &up.name)])}</p>
                })}
                <label for="target">{a.t(Text::TargetColumn)}</label>
                <select id="target" data-testid="target-select" on:change=move |ev| {
                    let t = event_target_value(&ev);
                    a.change_upload(|s| { s.target = Some(t); s.model = None; })
                }>{cols}</select>
                <fieldset class="columns"><legend>{a.t(Text::FeaturesLegend)}</legend>{features}</fieldset>
                <label for="id-column">{a.t(Text::NameRowsBy)}</label>
                <select id="id-column" data-testid="id-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    a.change_upload(move |s| s.columns.id_column = (!v.is_empty()).then_some(v))
                }>
                    <option value="" selected=choices.id_column.is_none()>{a.t(Text::TheirLine)}</option>
                    {ids}
                </select>
                <label class="check"><input type="checkbox" data-testid="drop-missing" prop:checked=choices.drop_missing
                    on:change=move |ev| { let on = event_target_checked(&ev); a.change_upload(move |s| s.columns.drop_missing = on) } />
                    {a.t(Text::DropMissing)}</label>
                {move || a.view.with(|v| v.as_ref().map(|v| v.notes.iter().map(|n| view! { <p class="hint" data-testid="data-note">{a.say(n)}</p> }).collect_view()))}
            }
        })
    };
    view! {
        <label for="csv">{tr(a, Text::OwnCsv)}</label>
        <div class="drop">{tr(a, Text::DropHere)}
            <input id="csv" type="file" accept=".csv,.tsv,.txt,text/csv" data-testid="csv-input" on:change=on_file />
        </div>
        <p class="status">
            {move || a.upload_progress.get().map(|p| p.labelled(a.t(Text::ReadingFile)) + " ")}
            <ProgressCancel progress=a.upload_progress on_cancel=Callback::new(move |_| a.cancel_upload())
                testid="upload-progress" label=Text::ReadingFile />
        </p>
        {target_picker}
    }
}

/// The model's controls: kind (a convex model or a network), λ, damping, curvature.
#[component]
fn ModelControls(a: Actions) -> impl IntoView {
    let state = a.settled;
    let lambda_exp = move || state.with(|s| s.lambda.max(1e-6).log10());
    let is_net = move || state.with(|s| s.network.is_some());
    let option = move |value: &'static str, kind: Option<ModelKind>, label: Text| {
        view! { <option value=value selected=move || state.with(|s| s.network.is_none() && s.model == kind)>{tr(a, label)}</option> }
    };
    let on_model = move |ev| {
        let v = event_target_value(&ev);
        a.retrain(|s| {
            if v == "mlp" {
                s.network = Some(default_network());
                s.model = None;
            } else {
                s.network = None;
                s.model = ModelKind::from_id(&v);
            }
        })
    };
    let curvatures = Curvature::ALL
        .into_iter()
        .map(|c| {
            let name = move || match c {
                Curvature::Hessian => a.t(Text::CurvHessian),
                Curvature::Ggn => a.t(Text::CurvGgn),
                other => other.label(),
            };
            view! { <option value=c.id() selected=move || state.with(|s| s.curvature == c)>{name}</option> }
        })
        .collect_view();
    view! {
        <h2>{tr(a, Text::ModelHeading)}</h2>
        <label for="model">{tr(a, Text::ModelHeading)}</label>
        <select id="model" data-testid="model-select" on:change=on_model>
            {option("auto", None, Text::ModelAuto)}
            {option("logistic", Some(ModelKind::Logistic), Text::ModelLogistic)}
            {option("softmax", Some(ModelKind::Softmax), Text::ModelSoftmax)}
            {option("linear", Some(ModelKind::Linear), Text::ModelLinear)}
            <option value="mlp" selected=is_net>{tr(a, Text::ModelMlp)}</option>
        </select>
        <Show when=is_net><NetworkControls a=a /></Show>
        <div><label class="with-info" for="lambda">{move || a.tf(Text::LambdaLabel, &[("l", &format!("{:.0e}", state.with(|s| s.lambda)))])}</label><Info term=Term::Lambda /></div>
        <input id="lambda" type="range" data-testid="lambda-input" min="-6" max="1" step="0.25" prop:value=move || lambda_exp().to_string()
            on:change=move |ev| { let e: f64 = event_target_value(&ev).parse().unwrap_or(-2.0); a.retrain(|s| s.lambda = 10f64.powf(e)) } />
        <div><label class="with-info" for="curvature">{tr(a, Text::CurvatureLabel)}</label><Info term=Term::Curvature /></div>
        <select id="curvature" data-testid="curvature-select" on:change=move |ev| {
            let c = Curvature::from_id(&event_target_value(&ev)).unwrap_or_default();
            a.retrain(|s| s.curvature = c)
        }>{curvatures}</select>
        <div><label class="with-info" for="damping">{tr(a, Text::DampingLabel)}</label><Info term=Term::Damping /></div>
        <input id="damping" type="number" min="0" step="any" prop:value=move || state.with(|s| s.damping.to_string())
            on:change=move |ev| { let d: f64 = event_target_value(&ev).parse().unwrap_or(0.0); a.retrain(|s| s.damping = d.max(0.0)) } />
    }
}

/// A network's shape and training: hidden widths, activation, seed, budget.
#[component]
fn NetworkControls(a: Actions) -> impl IntoView {
    let state = a.settled;
    let net = move || state.with(|s| s.network).unwrap_or_else(default_network);
    let update = move |f: Box<dyn FnOnce(&mut MlpShape)>| {
        a.retrain(move |s| {
            let mut n = s.network.unwrap_or_else(default_network);
            f(&mut n);
            s.network = Some(n);
        })
    };
    let widths = move || net().widths().iter().map(|w| w.to_string()).collect::<Vec<_>>().join(",");
    let activations = Activation::ALL
        .into_iter()
        .map(|act| view! { <option value=act.id() selected=move || net().activation == act>{act.id()}</option> })
        .collect_view();
    view! {
        <label for="hidden">{tr(a, Text::HiddenLabel)}</label>
        <input id="hidden" type="text" data-testid="hidden-input" prop:value=widths on:change=move |ev| {
            let w: Vec<usize> = event_target_value(&ev).split(',').filter_map(|p| p.trim().parse().ok()).filter(|w| (2..=64).contains(w)).collect();
            if (1..=2).contains(&w.len()) {
                update(Box::new(move |n| { n.hidden = [w[0], w.get(1).copied().unwrap_or(0)]; n.layers = w.len(); }));
            } else {
                a.error.set(Some(Said::new(Text::HiddenError)));
            }
        } />
        <label for="activation">{tr(a, Text::Activation)}</label>
        <select id="activation" on:change=move |ev| {
            let act = Activation::from_id(&event_target_value(&ev)).unwrap_or(Activation::Tanh);
            update(Box::new(move |n| n.activation = act));
        }>{activations}</select>
        <label for="init-seed">{tr(a, Text::InitSeed)}</label>
        <input id="init-seed" type="number" min="0" max=MAX_SEED.to_string() step="1" prop:value=move || net().init_seed.to_string()
            on:change=move |ev| { let v = event_target_value(&ev).parse().map_or(0, |v: u64| v.min(MAX_SEED)); update(Box::new(move |n| n.init_seed = v)); } />
        <label for="train-steps">{tr(a, Text::TrainSteps)}</label>
        <input id="train-steps" type="number" min="0" step="50" prop:value=move || net().train_steps.to_string()
            on:change=move |ev| { let v = event_target_value(&ev).parse::<usize>().unwrap_or(0).min(MAX_TRAIN_STEPS); update(Box::new(move |n| n.train_steps = v)); } />
    }
}

/// The fit in words, in `lang`: model, steps, convergence, metrics and warnings.
fn fit_status(f: &FitSummary, lang: Lang) -> String {
    let t = |key| text(lang, key);
    let model = match f.model {
        ModelKind::Logistic => Text::ModelLogistic,
        ModelKind::Softmax => Text::ModelSoftmax,
        ModelKind::Linear => Text::ModelLinear,
    };
    let conv = t(if f.converged { Text::Converged } else { Text::NotConverged });
    let (model, steps) = match &f.network {
        Some(n) => {
            let widths: Vec<String> = n.widths().iter().map(|w| w.to_string()).collect();
            let steps = if n.train_steps > 0 { Text::GradientSteps } else { Text::Steps };
            let shape = filled(
                lang,
                Text::NetworkShape,
                &[
                    ("widths", &widths.join(" → ")),
                    ("act", n.activation.id()),
                    ("n", &f.n_params.to_string()),
                ],
            );
            (shape, t(steps))
        }
        None => (t(model).to_string(), t(Text::NewtonSteps)),
    };
    let spectrum = f.spectrum.map_or(String::new(), |s| {
        let (min, max) = (format!("{:.2e}", s.min), format!("{:.2e}", s.max));
        filled(lang, Text::HessianSpectrum, &[("min", &min), ("max", &max), ("neg", &s.negative.to_string())])
    });
    let num = |v: f64, digits: usize| format!("{v:.digits$}");
    let sci = |v: f64| format!("{v:.1e}");
    filled(
        lang,
        Text::FitStatus,
        &[
            ("model", &model),
            ("n", &f.iterations.to_string()),
            ("steps", steps),
            ("conv", conv),
            ("g", &sci(f.grad_norm)),
            ("sg", &sci(f.scaled_grad_norm)),
            ("metric", f.metric.name(lang)),
            ("train", &num(f.train_metric, 3)),
            ("test", &num(f.test_metric, 3)),
            ("spectrum", &spectrum),
        ],
    )
}

/// A built-in dataset's name.
fn dataset_text(b: Builtin) -> Text {
    match b {
        Builtin::Moons => Text::DsMoons,
        Builtin::Circles => Text::DsCircles,
        Builtin::Xor => Text::DsXor,
        Builtin::Blobs => Text::DsBlobs,
        Builtin::Spirals => Text::DsSpirals,
        Builtin::Wave1d => Text::DsWave1d,
        Builtin::Plane2d => Text::DsPlane2d,
        Builtin::Iris => Text::DsIris,
        Builtin::Wine => Text::DsWine,
        Builtin::BreastCancer => Text::DsBreastCancer,
        Builtin::Diabetes => Text::DsDiabetes,
    }
}

/// The left panel.
#[component]
pub fn DataPanel() -> impl IntoView {
    let a = expect_context::<Actions>();
    let state = a.settled;
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            read_file(a, file);
        }
    };
    let status =
        move || match (a.busy.get(), a.view.with(|v| v.as_ref().map(|v| fit_status(&v.fit, a.lang())))) {
            (true, _) => match a.fit_progress.get() {
                Some(p) => p.labelled(a.t(Text::FittingModel)),
                None => a.t(Text::Working).to_string(),
            },
            (false, Some(s)) => s,
            (false, None) => a.t(Text::WaitingEngine).into(),
        };
    view! {
        <section class="panel data-panel" aria-label=tr(a, Text::DataAria)
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            <h2>{tr(a, Text::Data)}</h2>
            <DatasetPicker a=a />
            <UploadBox a=a />
            <Show when=move || a.error.with(Option::is_some)>
                <div class="error" role="alert" data-testid="error-banner">{move || a.error.get().map(|e| a.say(&e)).unwrap_or_default()}</div>
            </Show>
            <p class="hint">{move || a.view.with(|v| v.as_ref().map(|v| a.tf(Text::PointsSummary, &[
                ("train", &v.train_xy.len().to_string()), ("test", &v.test_xy.len().to_string()),
                ("features", &v.feature_names.len().to_string()),
                ("std", if v.standardized { a.t(Text::StandardisedSuffix) } else { "" })])))}</p>
            <label class="check"><input type="checkbox" prop:checked=move || state.with(|s| s.standardize)
                on:change=move |ev| { let on = event_target_checked(&ev); a.retrain(|s| { s.standardize = on; s.edits = Default::default(); }) } />
                {tr(a, Text::Standardise)}</label>
            <ModelControls a=a />
            <p class="status" data-testid="model-status" aria-live="polite">{status}<Info term=Term::NewtonSteps />" "<FitProgress />" "<CancelWork /></p>
            <p class="warning">{move || a.view.with(|v| v.as_ref().map(|v| v.fit.warnings.iter().map(|w| a.say(w)).collect::<Vec<_>>().join(" ")))}</p>
        </section>
    }
}
