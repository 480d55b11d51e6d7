//! The explanation in words: the explained point, then its most helpful and most
//! harmful training points, one sentence each. Arrow keys move between rows; Enter or a
//! click puts the row's point on the scrubber and highlights it on the plot.

use super::{label_text, pred_change, pred_name};
use crate::engine::evaluate::first_k;
use crate::glossary::Term;
use crate::lang::Lang;
use crate::protocol::{Selection, TrainedView};
use crate::text::{filled, Text};
use crate::web::actions::Actions;
use crate::web::components::info::Info;
use crate::web::components::tr;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn sentence(v: &TrainedView, i: usize, lang: Lang) -> String {
    let (dl, dp) = (v.explained.pred_loo_dloss[i], v.explained.pred_loo_dpred[i]);
    let key = if dl >= 0.0 { Text::RemovingRaises } else { Text::RemovingLowers };
    filled(
        lang,
        key,
        &[
            ("name", &v.train_name(i, lang)),
            ("label", &label_text(v, v.train_y[i])),
            ("amount", &format!("{:.4}", dl.abs())),
            ("pred_name", &pred_name(v, lang)),
            ("change", &pred_change(v, dp, lang)),
        ],
    )
}

fn move_focus(ev: leptos::ev::KeyboardEvent) {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
    let next = match ev.key().as_str() {
        "ArrowDown" => el.next_element_sibling(),
        "ArrowUp" => el.previous_element_sibling(),
        _ => return,
    };
    if let Some(n) = next.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
        ev.prevent_default();
        let _ = n.focus();
    }
}

/// The right panel's explanation.
#[component]
pub fn InfluenceList() -> impl IntoView {
    let a = expect_context::<Actions>();
    let rows = move |helpful: bool| {
        let lang = a.lang();
        a.view.with(|v| {
            let v = v.as_ref()?;
            let s = &v.explained.pred_loo_dloss;
            let order: Vec<usize> = (0..s.len()).filter(|&i| (s[i] > 0.0) == helpful && s[i] != 0.0).collect();
            let order = first_k(order, 5, |&x, &y| s[y].abs().total_cmp(&s[x].abs()).then(x.cmp(&y)));
            let picked = a.settled.with(|st| st.train_point);
            Some(
                order
                    .into_iter()
                    .map(|i| {
                        let text = sentence(v, i, lang);
                        view! {
                            <li data-testid="influence-row" tabindex="0" data-index=i data-value=s[i].to_string()
                                class:picked=picked == Some(i) aria-current=(picked == Some(i)).then_some("true")
                                on:click=move |_| a.pick(Some(i))
                                on:mouseenter=move |_| a.hovered.set(Some(i)) on:mouseleave=move |_| a.hovered.set(None)
                                on:focus=move |_| a.hovered.set(Some(i)) on:blur=move |_| a.hovered.set(None)
                                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                    if ev.key() == "Enter" || ev.key() == " " { ev.prevent_default(); a.pick(Some(i)); } else { move_focus(ev) }
                                }>{text}</li>
                        }
                    })
                    .collect_view(),
            )
        })
    };
    let head = move || {
        a.view.with(|v| {
            v.as_ref().map(|v| {
                let e = &v.explained;
                let lang = a.lang();
                let what = match &e.selection {
                    Selection::Test(t) => a.tf(Text::TestPointNamed, &[("name", &v.test_name(*t, a.lang()))]),
                    Selection::Query { .. } => a.t(Text::YourQueryPoint).to_string(),
                    Selection::Auto => a.t(Text::TestPoint).to_string(),
                };
                a.tf(
                    Text::ExplainedSentence,
                    &[
                        ("what", &what),
                        ("label", &label_text(v, e.label)),
                        ("pred_name", &pred_name(v, lang)),
                        ("pred", &format!("{:.3}", e.pred)),
                        ("loss", &format!("{:.4}", e.loss)),
                    ],
                )
            })
        })
    };
    view! {
        <section class="panel side-panel" aria-label=tr(a, Text::ListAria) data-testid="influence-list">
            <h2>{tr(a, Text::WhyThisPrediction)}<Info term=Term::Influence /></h2>
            <p data-testid="explained">{head}</p>
            <h3 class="helpful-title">{tr(a, Text::MostHelpful)}</h3>
            <ol>{move || rows(true)}</ol>
            <h3 class="harmful-title">{tr(a, Text::MostHarmful)}</h3>
            <ol>{move || rows(false)}</ol>
            <p class="hint">{tr(a, Text::ListHint)}</p>
        </section>
    }
}
