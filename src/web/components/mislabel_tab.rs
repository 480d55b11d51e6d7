//! The Mislabel lab: flip a fraction of the training labels (seeded), rank the points
//! by self-influence and the other self-scores, and see how many flips each ranking
//! finds as more points are checked. Found points open in the main view.

use super::chart::{LineCanvas, LineChart};
use super::progress::{AnalysisProgress, CancelWork};
use crate::engine::evaluate::SelfRanking;
use crate::lang::Lang;
use crate::protocol::MislabelView;
use crate::said::Said;
use crate::text::{text, Text};
use crate::url_state::MAX_SEED;
use crate::web::components::tr;
use leptos::prelude::*;

/// How a ranking is named on the page.
fn ranking_name(r: SelfRanking, lang: Lang) -> &'static str {
    text(
        lang,
        match r {
            SelfRanking::SelfInfluence => Text::RankSelfInfluence,
            SelfRanking::TrainLoss => Text::RankTrainLoss,
            SelfRanking::GradDot => Text::RankGradNorm,
            SelfRanking::Tracin => Text::RankTracinSelf,
            SelfRanking::Random => Text::RankRandom,
            SelfRanking::Oracle => Text::RankOracle,
        },
    )
}

/// The Mislabel tab.
#[component]
pub fn MislabelTab(
    /// The experiment's result.
    mislabel: RwSignal<Option<MislabelView>>,
    /// Whether an analysis is running.
    analysing: RwSignal<bool>,
    /// Runs it with `(fraction, seed)`.
    on_run: Callback<(f64, u64)>,
    /// Opens a training point in the main view.
    on_open: Callback<usize>,
    /// Where errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a = expect_context::<crate::web::actions::Actions>();
    let fraction = RwSignal::new(crate::opening::MISLABEL_FRACTION);
    let seed = RwSignal::new(0u64);
    let chart = Signal::derive(move || {
        let lang = a.lang();
        mislabel.get().map(|m| LineChart {
            lines: m
                .curves
                .iter()
                .map(|c| {
                    let name = a.tf(
                        Text::CurveWithAuc,
                        &[("name", ranking_name(c.ranking, lang)), ("auc", &format!("{:.3}", c.auc))],
                    );
                    (name, c.curve.iter().map(|p| (p[0], p[1])).collect())
                })
                .collect(),
            x: text(lang, Text::AxisFractionChecked).into(),
            y: text(lang, Text::AxisFractionFound).into(),
        })
    });
    let fix_chart = |remove: bool, loss: bool| {
        Signal::derive(move || {
            let lang = a.lang();
            mislabel.get().filter(|m| !m.fix_first.is_empty()).map(|m| LineChart {
                lines: (if remove { &m.remove_clean } else { &m.fix_first })
                    .iter()
                    .map(|c| {
                        let y = |p: &crate::engine::audit::fix_first::FixPoint| {
                            if loss {
                                p.loss
                            } else {
                                p.accuracy
                            }
                        };
                        (
                            ranking_name(c.ranking, lang).into(),
                            c.points.iter().map(|p| (p.checked, y(p))).collect(),
                        )
                    })
                    .collect(),
                x: text(lang, Text::AxisFractionChecked).into(),
                y: text(lang, if loss { Text::AxisLossAfterRetrain } else { Text::AxisAccuracyAfterRetrain })
                    .into(),
            })
        })
    };
    let (fixed_loss, fixed_acc, removed) =
        (fix_chart(false, true), fix_chart(false, false), fix_chart(true, true));
    let fix_summary = move || {
        mislabel.get().and_then(|m| {
            let at = |r: SelfRanking| {
                m.fix_first.iter().find(|c| c.ranking == r).and_then(|c| c.points.get(2).copied())
            };
            let (start, own, oracle, random) = (
                m.fix_first.first().and_then(|c| c.points.first().copied())?,
                at(SelfRanking::SelfInfluence)?,
                at(SelfRanking::Oracle)?,
                at(SelfRanking::Random)?,
            );
            let unconverged = m.fix_first.iter().chain(&m.remove_clean).flat_map(|c| &c.points).any(|p| !p.converged);
            Some(view! {
                <p data-testid="fix-first-summary" data-value=own.accuracy.to_string()>{a.tf(Text::FixFirstSummary, &[
                    ("pct", &format!("{:.0}", own.checked * 100.0)), ("acc0", &format!("{:.3}", start.accuracy)),
                    ("acc", &format!("{:.3}", own.accuracy)), ("loss0", &format!("{:.3}", start.loss)), ("loss", &format!("{:.3}", own.loss)),
                    ("oracle", &format!("{:.3}", oracle.accuracy)), ("random", &format!("{:.3}", random.accuracy))])}</p>
                {unconverged.then(|| view! { <p class="warning">{a.t(Text::SomeRefitsUnconverged)}</p> })}
            })
        })
    };
    // Each point by its row in the file (line or ID), as everywhere else.
    let name = move |i: usize| {
        a.view.with_untracked(|v| v.as_ref().map_or(format!("#{i}"), |v| v.train_name(i, a.lang())))
    };
    let results = move || {
        let lang = a.lang();
        mislabel.get().map(|m| {
            let aucs = m.curves.iter().map(|c| view! {
                <tr><th scope="row">{ranking_name(c.ranking, lang)}</th><td data-testid="mislabel-auc" data-method=c.ranking.id() data-value=c.auc.to_string()>{format!("{:.3}", c.auc)}</td></tr>
            }).collect_view();
            let found = m.found.iter().map(|&i| view! {
                <button class="small" on:click=move |_| on_open.run(i)>{name(i)}</button>
            }).collect_view();
            let flipped = m.flipped.iter().map(|&i| name(i)).collect::<Vec<_>>().join(", ");
            view! {
                <p data-testid="mislabel-flipped">{a.tf(Text::FlippedList, &[("list", &flipped)])}</p>
                {m.singular_damping.clone().map(|(d, why)| view! { <p class="warning">{a.tf(Text::SingularDamping, &[("why", &why), ("d", &format!("{d:.0e}"))])}</p> })}
                <p>{a.tf(Text::FlippedSummary, &[("k", &m.flipped.len().to_string()), ("n", &m.n_train.to_string()), ("best", &format!("{:.3}", m.best_auc))])}</p>
                <table class="grid"><thead><tr><th>{a.t(Text::ColRanking)}</th><th>"AUC"</th></tr></thead><tbody>{aucs}</tbody></table>
                <p>{a.t(Text::FoundFirst)}</p>
                <div class="found">{found}</div>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label=tr(a, Text::TabMislabel)>
            <h2>{tr(a, Text::TabMislabel)}</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Mislabel)}
            <p class="hint">{tr(a, Text::MislabelHint)}</p>
            <div class="params">
                <label>{move || a.tf(Text::FlipPercent, &[("pct", &format!("{:.0}", fraction.get() * 100.0))])}" "
                    <input type="range" min="0.02" max="0.4" step="0.02" prop:value=move || fraction.get().to_string()
                        on:change=move |ev| fraction.set(event_target_value(&ev).parse().unwrap_or(0.1)) /></label>
                <label>{tr(a, Text::Seed)}" "<input type="number" min="0" max=MAX_SEED.to_string() prop:value=move || seed.get().to_string()
                    on:change=move |ev| seed.set(event_target_value(&ev).parse().map_or(0, |v: u64| v.min(MAX_SEED))) /></label>
            </div>
            <button data-testid="mislabel-button" disabled=move || analysing.get() on:click=move |_| on_run.run((fraction.get_untracked(), seed.get_untracked()))>{tr(a, Text::MislabelButton)}</button>
            <AnalysisProgress />" "<CancelWork />
            {results}
            <LineCanvas data=chart file="mislabel-detection.png" label=Text::ChartMislabel testid="mislabel-chart" error=error />
            <h3>{tr(a, Text::FixFirstHeading)}</h3>
            <p class="hint">{tr(a, Text::FixFirstHint)}</p>
            {fix_summary}
            <LineCanvas data=fixed_loss file="mislabel-fix-first-loss.png" label=Text::ChartFixLoss testid="mislabel-fix-chart" error=error />
            <LineCanvas data=fixed_acc file="mislabel-fix-first-accuracy.png" label=Text::ChartFixAccuracy testid="mislabel-fix-accuracy-chart" error=error />
            <p class="hint">{tr(a, Text::RemoveCleanHint)}</p>
            <LineCanvas data=removed file="mislabel-remove-clean.png" label=Text::ChartRemoveClean testid="mislabel-remove-chart" error=error />
        </section>
    }
}
