//! The Methods view: every approximation and peer method for the explained point, side
//! by side with exact influence and (once computed) actual leave-one-out: Spearman and
//! top-10 overlap, the top-ranked points of each, and the agreement matrix. Scores
//! export as CSV and JSON.

use crate::protocol::MethodsView;
use crate::service::analysis::{OPTIONAL_PAGE_METHODS, PAGE_METHODS};
use crate::web::actions::Actions;
use crate::web::export::download_text;
use leptos::prelude::*;

fn fmt(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.3}"))
}

/// Background of an agreement cell: white at 0, Okabe–Ito blue at 1, vermillion at −1.
fn cell_style(r: Option<f64>) -> String {
    let r = r.unwrap_or(0.0).clamp(-1.0, 1.0);
    let (c, a) = if r >= 0.0 { ((0, 114, 178), r) } else { ((213, 94, 0), -r) };
    format!(
        "background: rgba({}, {}, {}, {:.2}); color: {}",
        c.0,
        c.1,
        c.2,
        a * 0.85,
        if a > 0.55 { "#fff" } else { "inherit" }
    )
}

fn csv(m: &MethodsView) -> String {
    let ok: Vec<_> = m.rows.iter().filter(|r| r.error.is_none()).collect();
    let mut s = format!("train_index,{}\n", ok.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(","));
    let n = ok.first().map_or(0, |r| r.scores.len());
    for i in 0..n {
        let cells: Vec<String> = ok.iter().map(|r| format!("{:?}", r.scores[i])).collect();
        s += &format!("{i},{}\n", cells.join(","));
    }
    s
}

/// The Methods tab.
#[component]
pub fn MethodsTab() -> impl IntoView {
    let a = expect_context::<Actions>();
    let p = a.method_params;
    let num = |f: fn(&mut crate::engine::methods::MethodParams, f64)| {
        move |ev| {
            let v: f64 = event_target_value(&ev).parse().unwrap_or(f64::NAN);
            if v.is_finite() && v >= 0.0 {
                p.update(|p| f(p, v));
            }
        }
    };
    let export = move |json: bool| {
        let Some(m) = a.methods.get_untracked() else { return };
        let result = if json {
            serde_json::to_string_pretty(&m)
                .map_err(|e| e.to_string())
                .and_then(|t| download_text("attribution-methods.json", "application/json", &t))
        } else {
            download_text("attribution-methods.csv", "text/csv", &csv(&m))
        };
        if let Err(e) = result {
            a.error.set(Some(e));
        }
    };
    let table = move || {
        a.methods.get().map(|m| {
            let rows = m.rows.iter().map(|r| {
                let top: Vec<String> = crate::engine::evaluate::top_k(&r.scores, 5).iter().map(|i| format!("#{i}")).collect();
                view! {
                    <tr data-testid="method-row" data-method=r.name.clone()>
                        <th scope="row">{r.name.clone()}</th>
                        <td data-testid="method-spearman" data-value=r.spearman_exact.map(|v| v.to_string()).unwrap_or_default()>{fmt(r.spearman_exact)}</td>
                        <td>{format!("{:.2}", r.top10_exact)}</td>
                        <td>{fmt(r.spearman_loo)}</td>
                        <td>{fmt(r.top10_loo)}</td>
                        <td>{r.error.clone().unwrap_or_else(|| top.join(" "))}</td>
                        <td>{format!("{:.2}", r.millis)}</td>
                    </tr>
                }
            }).collect_view();
            let names: Vec<String> = m.rows.iter().map(|r| r.name.clone()).collect();
            let head = names.iter().map(|n| view! { <th scope="col">{n.clone()}</th> }).collect_view();
            let body = m.matrix.iter().zip(&names).map(|(row, n)| {
                let cells = row.iter().map(|r| view! { <td style=cell_style(*r)>{fmt(*r)}</td> }).collect_view();
                view! { <tr><th scope="row">{n.clone()}</th>{cells}</tr> }
            }).collect_view();
            view! {
                <table class="grid">
                    <thead><tr><th>"method"</th><th>"ρ vs exact"</th><th>"top-10 vs exact"</th><th>"ρ vs actual LOO"</th><th>"top-10 vs LOO"</th><th>"most helpful (or why not)"</th><th>"ms"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <h3>"Agreement between every pair (Spearman ρ)"</h3>
                <div class="scroll"><table class="grid matrix"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>
                <button on:click=move |_| export(false)>"Download scores (CSV)"</button>
                <button on:click=move |_| export(true)>"Download everything (JSON)"</button>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Methods">
            <h2>"Every method for the explained point"</h2>
            <p class="hint">"All scores are oriented like the influence function: larger means removing the point would raise the explained point's loss. Run the leave-one-out check on the Explore tab first to compare with the truth."</p>
            <fieldset class="params">
                <legend>"Methods to run"</legend>
                {PAGE_METHODS.iter().chain(&OPTIONAL_PAGE_METHODS).map(|m| {
                    let name = m.to_string();
                    let checked = { let name = name.clone(); move || a.chosen_methods.with(|c| c.contains(&name)) };
                    view! {
                        <label class="check"><input type="checkbox" prop:checked=checked on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let name = name.clone();
                            a.chosen_methods.update(|c| { c.retain(|x| *x != name); if on { c.push(name); } });
                        } />{m.to_string()}</label>
                    }
                }).collect_view()}
            </fieldset>
            <div class="params">
                <label>"LiSSA scale × λmax "<input type="number" step="any" min="0" prop:value=move || p.with(|p| p.lissa_scale_factor.unwrap_or(2.0).to_string())
                    on:change=num(|p, v| p.lissa_scale_factor = Some(v)) /></label>
                <label>"LiSSA depth "<input type="number" min="1" prop:value=move || p.with(|p| p.lissa.depth.to_string())
                    on:change=num(|p, v| p.lissa.depth = v as usize) /></label>
                <label>"Arnoldi k "<input type="number" min="1" prop:value=move || p.with(|p| p.arnoldi_k.to_string())
                    on:change=num(|p, v| p.arnoldi_k = v as usize) /></label>
                <label>"TracIn rate "<input type="number" step="any" min="0" prop:value=move || p.with(|p| p.tracin.lr.to_string())
                    on:change=num(|p, v| p.tracin.lr = v) /></label>
                <label>"TracIn epochs "<input type="number" min="1" prop:value=move || p.with(|p| p.tracin.epochs.to_string())
                    on:change=num(|p, v| p.tracin.epochs = v as usize) /></label>
                <label>"TRAK k "<input type="number" min="1" prop:value=move || p.with(|p| p.trak_k.to_string())
                    on:change=num(|p, v| p.trak_k = v as usize) /></label>
                <label>"KNN k "<input type="number" min="1" prop:value=move || p.with(|p| p.knn_k.to_string())
                    on:change=num(|p, v| p.knn_k = v as usize) /></label>
                <label>"TMC permutations "<input type="number" min="1" max="200" prop:value=move || p.with(|p| p.shapley_permutations.to_string())
                    on:change=num(|p, v| p.shapley_permutations = (v as usize).clamp(1, 200)) /></label>
            </div>
            <button data-testid="methods-button" disabled=move || a.analysing.get() on:click=move |_| a.run_methods()>"Compare methods"</button>
            {table}
        </section>
    }
}
