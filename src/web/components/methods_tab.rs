//! The Methods view: every approximation and peer method for the explained point, side
//! by side with exact influence and (once computed) actual leave-one-out: Spearman and
//! top-10 overlap, the top-ranked points of each, what each computes and its caveats,
//! and the agreement matrix. Scores export as CSV and JSON.

use super::label_text;
use super::progress::{AnalysisProgress, CancelWork, ProgressCancel};
use crate::engine::evaluate::top_k;
use crate::engine::methods::{Method, MethodParams};
use crate::glossary::Term;
use crate::lang::Lang;
use crate::protocol::{Attribution, MethodsView, Selection, TrainedView};
use crate::said::Said;
use crate::text::{text, Text};
use crate::url_state::Tab;
use crate::web::actions::Actions;
use crate::web::components::info::Info;
use crate::web::components::tr;
use crate::web::export::download_text;
use leptos::prelude::*;

fn fmt(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| text(lang, Text::Undefined).into(), |v| format!("{v:.3}"))
}

/// An agreement cell's colours: white at 0, Okabe–Ito blue at 1, vermillion at −1,
/// mixed as solid colours so the text colour (black or white, whichever contrasts
/// more: at least 4.6 : 1) does not depend on the page's theme.
fn cell_style(r: Option<f64>) -> String {
    let r = r.unwrap_or(0.0).clamp(-1.0, 1.0);
    let (c, a) = if r >= 0.0 { ([0.0, 114.0, 178.0], r) } else { ([213.0, 94.0, 0.0], -r) };
    let mix: Vec<f64> = c.iter().map(|v| 255.0 + (v - 255.0) * a * 0.85).collect();
    let lin = |v: f64| {
        let s = v / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * lin(mix[0]) + 0.7152 * lin(mix[1]) + 0.0722 * lin(mix[2]);
    let ink = if luminance > 0.179 { "#000" } else { "#fff" };
    format!("background: rgb({:.0}, {:.0}, {:.0}); color: {ink}", mix[0], mix[1], mix[2])
}

/// A CSV cell: quoted when it holds a delimiter, a quote or a line break.
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One row per training point: its index, its row in the file (line or ID), its
/// label, the explained point, and every method's score.
fn csv(m: &MethodsView, v: &TrainedView) -> String {
    let ok: Vec<_> = m.rows.iter().filter(|r| r.error.is_none()).collect();
    let methods = ok.iter().map(|r| r.method.id()).collect::<Vec<_>>().join(",");
    let mut s = format!("train_index,train_row,label,explained,{methods}\n");
    let explained = match &v.explained.selection {
        Selection::Test(t) => {
            v.test_names.get(*t).map_or(format!("test #{t}"), |n| format!("test #{t} ({n})"))
        }
        _ => "query point".into(),
    };
    let n = ok.first().map_or(0, |r| r.scores.len());
    for i in 0..n {
        let row = v.train_names.get(i).map(|r| r.to_string()).unwrap_or_default();
        let label = v.train_y.get(i).map(|&y| label_text(v, y)).unwrap_or_default();
        let cells: Vec<String> = ok.iter().map(|r| format!("{:?}", r.scores[i])).collect();
        s += &format!("{i},{},{},{},{}\n", cell(&row), cell(&label), cell(&explained), cells.join(","));
    }
    s
}

/// Download the scores as CSV, or everything as JSON.
fn export(m: &MethodsView, v: &TrainedView, json: bool) -> Result<(), Said> {
    if json {
        let text = serde_json::to_string_pretty(m).map_err(|e| Said::from(e.to_string()))?;
        download_text("attribution-methods.json", "application/json", &text)
    } else {
        download_text("attribution-methods.csv", "text/csv", &csv(m, v))
    }
}

/// A number input that updates one method parameter when it holds a valid number
/// (the worker checks the whole set again before running).
fn number_input(
    a: Actions,
    params: RwSignal<MethodParams>,
    label: Text,
    testid: &'static str,
    get: fn(&MethodParams) -> f64,
    set: fn(&mut MethodParams, f64),
) -> impl IntoView {
    view! {
        <label>{tr(a, label)}" "<input type="number" step="any" min="0" data-testid=testid prop:value=move || params.with(|p| get(p).to_string())
            on:change=move |ev| {
                let v: f64 = event_target_value(&ev).parse().unwrap_or(f64::NAN);
                if v.is_finite() && v >= 0.0 { params.update(|p| set(p, v)); }
            } /></label>
    }
}

/// The inputs of the methods' main parameters.
fn parameter_inputs(a: Actions, params: RwSignal<MethodParams>) -> impl IntoView {
    view! {
    <div class="params">
            {number_input(a, params, Text::LissaScale, "lissa-scale", |p| p.lissa_scale_factor.unwrap_or(2.0), |p, v| p.lissa_scale_factor = Some(v))}
            {number_input(a, params, Text::LissaDepth, "lissa-depth", |p| p.lissa.depth as f64, |p, v| p.lissa.depth = v as usize)}
            {number_input(a, params, Text::ArnoldiK, "arnoldi-k", |p| p.arnoldi_k as f64, |p, v| p.arnoldi_k = v as usize)}
            {number_input(a, params, Text::TracinEpochs, "tracin-epochs", |p| p.tracin.epochs as f64, |p, v| p.tracin.epochs = v as usize)}
            {number_input(a, params, Text::TrakK, "trak-k", |p| p.trak_k as f64, |p, v| p.trak_k = v as usize)}
            {number_input(a, params, Text::TrakProjections, "trak-projections", |p| p.trak_models as f64, |p, v| p.trak_models = v as usize)}
            {number_input(a, params, Text::KnnK, "knn-k", |p| p.knn_k as f64, |p, v| p.knn_k = v as usize)}
            {number_input(a, params, Text::TmcPermutations, "tmc-permutations", |p| p.shapley_permutations as f64, |p, v| p.shapley_permutations = v as usize)}
        </div>
    }
}

/// The Methods tab.
#[component]
pub fn MethodsTab(
    /// The comparison.
    methods: RwSignal<Option<MethodsView>>,
    /// Whether an analysis is running.
    analysing: RwSignal<bool>,
    /// The methods' parameters.
    params: RwSignal<MethodParams>,
    /// The methods to run.
    chosen: RwSignal<Vec<Method>>,
    /// Runs them.
    on_run: Callback<()>,
    /// Where errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a = expect_context::<Actions>();
    let export = move |json: bool| {
        let done = a
            .view
            .with_untracked(|v| methods.with_untracked(|m| Some(export(m.as_ref()?, v.as_ref()?, json))));
        if let Some(Err(e)) = done {
            error.set(Some(e));
        }
    };
    let table = move || {
        let lang = a.lang();
        methods.get().map(|m| {
            let rows = m.rows.iter().map(|r| {
                let top: Vec<String> = a.view.with_untracked(|v| {
                    top_k(&r.scores, 5).iter().map(|&i| v.as_ref().map_or(format!("#{i}"), |v| v.train_name(i, lang))).collect()
                });
                let notes = r.error.as_ref().map_or_else(|| r.notes.iter().map(|n| n.words(lang)).collect::<Vec<_>>().join(" "), |e| e.words(lang));
                view! {
                    <tr data-testid="method-row" data-method=r.method.id()>
                        <th scope="row">{r.method.name(lang)}<Info term=Term::Method(r.method) /></th>
                        <td data-testid="method-spearman" data-value=r.spearman_exact.map(|v| v.to_string()).unwrap_or_default()>{fmt(r.spearman_exact, lang)}</td>
                        <td>{format!("{:.2}", r.top10_exact)}</td>
                        <td>{fmt(r.spearman_loo, lang)}</td>
                        <td>{r.top10_loo.map_or("–".into(), |v| format!("{v:.2}"))}</td>
                        <td>{if r.error.is_some() { String::new() } else { top.join(" ") }}</td>
                        <td>{format!("{:.2}", r.millis)}</td>
                        <td class="note">{notes}</td>
                    </tr>
                }
            }).collect_view();
            let names: Vec<&'static str> = m.rows.iter().map(|r| r.method.name(lang)).collect();
            let head = names.iter().map(|n| view! { <th scope="col">{*n}</th> }).collect_view();
            let body = m.matrix.iter().zip(&names).map(|(row, n)| {
                let cells = row.iter().map(|r| view! { <td style=cell_style(*r)>{fmt(*r, lang)}</td> }).collect_view();
                view! { <tr><th scope="row">{*n}</th>{cells}</tr> }
            }).collect_view();
            view! {
                <div class="scroll" tabindex="0" role="region" aria-label=tr(a, Text::MethodsScoresAria)><table class="grid">
                    <thead><tr>{[Text::ColMethod, Text::ColRhoExact, Text::ColTopExact, Text::ColRhoLoo, Text::ColTopLoo, Text::ColHelpful, Text::ColMs, Text::ColNotes]
                        .map(|k| view! { <th>{a.t(k)}</th> })}</tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
                <h3>{a.t(Text::AgreementHeading)}</h3>
                <div class="scroll" tabindex="0" role="region" aria-label=tr(a, Text::AgreementAria)><table class="grid matrix"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>
                <button on:click=move |_| export(false)>{a.t(Text::DownloadScoresCsv)}</button>
                <button on:click=move |_| export(true)>{a.t(Text::DownloadAllJson)}</button>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label=tr(a, Text::TabMethods)>
            <h2>{tr(a, Text::MethodsHeading)}</h2>
            <p class="hint">{tr(a, Text::MethodsHint)}</p>
            <fieldset class="params">
                <legend>{tr(a, Text::MethodsToRun)}</legend>
                {Method::ALL.iter().map(|&m| {
                    view! {
                        <label class="check" title=move || Attribution::Method(m).describe(a.lang())><input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&m)) on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| { c.retain(|x| *x != m); if on { c.push(m); c.sort(); } });
                        } />{move || Attribution::Method(m).name(a.lang())}</label>
                    }
                }).collect_view()}
            </fieldset>
            {parameter_inputs(a, params)}
            {super::opening_hint(a, Tab::Methods)}
            <button data-testid="methods-button" disabled=move || analysing.get() || a.shapley_progress.with(Option::is_some)
                on:click=move |_| on_run.run(())>{tr(a, Text::MethodsButton)}</button>
            <ProgressCancel progress=a.shapley_progress on_cancel=Callback::new(move |_| a.cancel_shapley())
                testid="shapley-progress" label=Text::ShapleyProgress />
            <AnalysisProgress />" "<CancelWork />
            {table}
        </section>
    }
}
