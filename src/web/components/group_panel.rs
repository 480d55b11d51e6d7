//! Remove a group of training points at once: first-order influence (the sum of the
//! members' effects), the second-order group influence of Basu et al. 2020 and the
//! real refit, on the explained point and on the whole test set, as the group grows
//! ([`crate::engine::audit::group`]). Large groups show first order's known
//! underestimate.

use super::chart::{LineCanvas, LineChart};
use super::progress::CancelWork;
use crate::engine::evaluate::first_k;
use crate::lang::Lang;
use crate::protocol::{GroupView, Projection, TrainedView};
use crate::text::{filled, text, Text};
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;

/// How the group is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// The k most helpful points for the explained prediction.
    Helpful,
    /// The k most harmful.
    Harmful,
    /// Points of one class, most influential first, up to half the class.
    Class,
    /// Points whose raw feature is above (or below) a value.
    Feature,
    /// Points drawn around on the plot (2-D data).
    Lasso,
}

/// The members of the group, in the order it grows (most influential first).
#[allow(clippy::too_many_arguments)]
fn members(
    v: &TrainedView,
    rule: Rule,
    k: usize,
    class: usize,
    feature: usize,
    above: bool,
    value: f64,
    lasso: &[usize],
) -> Vec<usize> {
    let s = &v.explained.pred_loo_dloss;
    let by_strength = || {
        let mut order: Vec<usize> = (0..s.len()).collect();
        order.sort_by(|&a, &b| s[b].abs().total_cmp(&s[a].abs()));
        order
    };
    let raw = |i: usize| {
        let x = v.train_value(i, feature).unwrap_or(f64::NAN);
        v.scaler.as_ref().map_or(x, |sc| {
            x * sc.scale.get(feature).copied().unwrap_or(1.0) + sc.mean.get(feature).copied().unwrap_or(0.0)
        })
    };
    match rule {
        Rule::Helpful | Rule::Harmful => {
            let by_sign = |a: &usize, b: &usize| {
                let order =
                    if rule == Rule::Helpful { s[*b].total_cmp(&s[*a]) } else { s[*a].total_cmp(&s[*b]) };
                order.then(a.cmp(b))
            };
            first_k((0..s.len()).collect(), k, by_sign)
        }
        Rule::Class => {
            let of: Vec<usize> =
                by_strength().into_iter().filter(|&i| v.train_y[i] as usize == class).collect();
            let half = of.len() / 2;
            of.into_iter().take(half).collect()
        }
        Rule::Feature => by_strength()
            .into_iter()
            .filter(|&i| if above { raw(i) > value } else { raw(i) < value })
            .collect(),
        Rule::Lasso => by_strength().into_iter().filter(|i| lasso.contains(i)).collect(),
    }
}

/// The comparison in one sentence, at the whole group, in `lang`.
fn sentence(g: &GroupView, lang: Lang) -> String {
    let Some(e) = g.effects.last() else { return String::new() };
    let (f, s, a) = (e.first_order.total_dloss, e.second_order.total_dloss, e.actual.total_dloss);
    let share = if a != 0.0 && f * a > 0.0 {
        filled(lang, Text::GroupShare, &[("pct", &format!("{:.0}", 100.0 * f / a))])
    } else {
        String::new()
    };
    let verdict = if f * a < 0.0 {
        text(lang, Text::GroupWrongDirection)
    } else if a.abs() > f.abs() {
        text(lang, Text::GroupUnderestimates)
    } else {
        ""
    };
    let signed = |v: f64| format!("{v:+.4}");
    filled(
        lang,
        Text::GroupSentence,
        &[
            ("n", &e.size.to_string()),
            ("actual", &signed(a)),
            ("first", &signed(f)),
            ("share", &share),
            ("second", &signed(s)),
            ("verdict", verdict),
        ],
    )
}

/// The "Remove a group" panel of the main view.
#[component]
pub fn GroupPanel() -> impl IntoView {
    let a = expect_context::<Actions>();
    let rule = RwSignal::new(Rule::Helpful);
    // The rule menu starts at "most helpful", so clicks on the plot select again.
    a.lasso_mode.set(false);
    let k = RwSignal::new(20usize);
    let class = RwSignal::new(0usize);
    let feature = RwSignal::new(0usize);
    let above = RwSignal::new(true);
    let value = RwSignal::new(0.0f64);
    // Once per change, however many read it (the button's state and its label).
    let chosen = Memo::new(move |_| {
        let lasso = a.lasso.get();
        a.view.with(|v| {
            v.as_ref()
                .map(|v| {
                    members(
                        v,
                        rule.get(),
                        k.get(),
                        class.get(),
                        feature.get(),
                        above.get(),
                        value.get(),
                        &lasso,
                    )
                })
                .unwrap_or_default()
        })
    });
    let chart = |total: bool| {
        Signal::derive(move || {
            a.group.get().filter(|g| !g.effects.is_empty()).map(|g| {
                let line = |name: Text,
                            pick: fn(
                    &crate::engine::audit::group::GroupEffect,
                ) -> crate::engine::audit::group::Effect| {
                    let pts = g.effects.iter().map(|e| {
                        let eff = pick(e);
                        (
                            e.size as f64,
                            if total { eff.total_dloss } else { eff.test_dloss.unwrap_or(f64::NAN) },
                        )
                    });
                    (a.t(name).to_string(), pts.collect())
                };
                LineChart {
                    lines: vec![
                        line(Text::GroupActual, |e| e.actual),
                        line(Text::GroupFirst, |e| e.first_order),
                        line(Text::GroupSecond, |e| e.second_order),
                    ],
                    x: a.t(Text::GroupX).into(),
                    y: a.t(if total { Text::GroupYTotal } else { Text::GroupYPoint }).into(),
                }
            })
        })
    };
    let (total_chart, point_chart) = (chart(true), chart(false));
    let classes = move || a.view.with(|v| v.as_ref().map(|v| v.class_names.clone()).unwrap_or_default());
    let plane = move || a.view.with(|v| v.as_ref().is_some_and(|v| v.projection == Projection::Plane));
    let features = move || a.view.with(|v| v.as_ref().map(|v| v.feature_names.clone()).unwrap_or_default());
    let result = move || {
        a.group.get().map(|g| {
            let e = g.effects.last().cloned();
            view! {
                <p data-testid="group-sentence" data-size=e.as_ref().map(|e| e.size.to_string()).unwrap_or_default()
                    data-actual=e.as_ref().map(|e| e.actual.total_dloss.to_string()).unwrap_or_default()
                    data-first=e.as_ref().map(|e| e.first_order.total_dloss.to_string()).unwrap_or_default()
                    data-second=e.as_ref().map(|e| e.second_order.total_dloss.to_string()).unwrap_or_default()>{sentence(&g, a.lang())}</p>
                {e.filter(|e| !e.converged).map(|_| view! { <p class="warning">{a.t(Text::GroupNotConverged)}</p> })}
                <p class="hint">{a.tf(Text::GroupSizes, &[("n", &g.effects.len().to_string()), ("ms", &format!("{:.0}", g.millis))])}</p>
            }
        })
    };
    view! {
        <section class="panel group" aria-label=tr(a, Text::GroupHeading)>
            <h2>{tr(a, Text::GroupHeading)}</h2>
            <p class="hint">{tr(a, Text::GroupHint)}</p>
            <div class="params">
                <label>{tr(a, Text::GroupLabel)}
                    <select data-testid="group-rule" on:change=move |ev| {
                        let r = match event_target_value(&ev).as_str() {
                            "harmful" => Rule::Harmful, "class" => Rule::Class, "feature" => Rule::Feature, "lasso" => Rule::Lasso, _ => Rule::Helpful };
                        rule.set(r);
                        a.lasso_mode.set(r == Rule::Lasso);
                    }>
                        <option value="helpful">{tr(a, Text::GroupHelpful)}</option>
                        <option value="harmful">{tr(a, Text::GroupHarmful)}</option>
                        <option value="class">{tr(a, Text::GroupClass)}</option>
                        <option value="feature">{tr(a, Text::GroupFeature)}</option>
                        {move || plane().then(|| view! { <option value="lasso">{a.t(Text::GroupLasso)}</option> })}
                    </select></label>
                <Show when=move || rule.get() == Rule::Lasso>
                    <p class="hint" data-testid="lasso-hint">{move || a.tf(Text::LassoHint, &[("n", &a.lasso.with(Vec::len).to_string())])}</p>
                </Show>
                <Show when=move || matches!(rule.get(), Rule::Helpful | Rule::Harmful)>
                    <label>{tr(a, Text::HowMany)}<input type="number" min="1" max="1000" data-testid="group-k" prop:value=move || k.get().to_string()
                        on:change=move |ev| k.set(event_target_value(&ev).parse::<usize>().unwrap_or(20).clamp(1, 1000)) /></label>
                </Show>
                <Show when=move || rule.get() == Rule::Class>
                    <label>{tr(a, Text::ClassLabel)}<select on:change=move |ev| class.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {move || classes().into_iter().enumerate().map(|(i, c)| view! { <option value=i.to_string()>{c}</option> }).collect_view()}
                    </select></label>
                </Show>
                <Show when=move || rule.get() == Rule::Feature>
                    <label>{tr(a, Text::FeatureLabel)}<select on:change=move |ev| feature.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {move || features().into_iter().enumerate().map(|(i, f)| view! { <option value=i.to_string()>{f}</option> }).collect_view()}
                    </select></label>
                    <label>{tr(a, Text::IsLabel)}<select on:change=move |ev| above.set(event_target_value(&ev) == "above")>
                        <option value="above">{tr(a, Text::Above)}</option><option value="below">{tr(a, Text::Below)}</option></select></label>
                    <label>{tr(a, Text::ValueLabel)}<input type="number" step="any" prop:value=move || value.get().to_string()
                        on:change=move |ev| value.set(event_target_value(&ev).parse().unwrap_or(0.0)) /></label>
                </Show>
            </div>
            <button data-testid="group-button" disabled=move || a.analysing.get() || chosen.with(Vec::is_empty)
                on:click=move |_| a.run_group(chosen.get_untracked())>
                {move || a.tf(Text::GroupButton, &[("n", &chosen.with(Vec::len).to_string())])}
            </button>
            <CancelWork />
            {result}
            <LineCanvas data=total_chart file="group-total.png" label=Text::GroupTotalChart testid="group-total-chart" error=a.error />
            <LineCanvas data=point_chart file="group-point.png" label=Text::GroupPointChart testid="group-point-chart" error=a.error />
        </section>
    }
}
