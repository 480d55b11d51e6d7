//! The Mislabel lab: flip a fraction of the training labels (seeded), rank the points
//! by self-influence and the other self-scores, and see how many flips each ranking
//! finds as more points are checked. Found points open in the main view.

use super::chart::{LineCanvas, LineChart};
use super::progress::CancelWork;
use crate::protocol::MislabelView;
use crate::url_state::MAX_SEED;
use leptos::prelude::*;

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
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let fraction = RwSignal::new(crate::opening::MISLABEL_FRACTION);
    let seed = RwSignal::new(0u64);
    let chart = Signal::derive(move || {
        mislabel.get().map(|m| LineChart {
            lines: m
                .curves
                .iter()
                .map(|c| {
                    (format!("{} (AUC {:.3})", c.name, c.auc), c.curve.iter().map(|p| (p[0], p[1])).collect())
                })
                .collect(),
            x: "fraction of training points checked".into(),
            y: "fraction of flipped labels found".into(),
        })
    });
    let fix_chart = |remove: bool, loss: bool| {
        Signal::derive(move || {
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
                        (c.name.clone(), c.points.iter().map(|p| (p.checked, y(p))).collect())
                    })
                    .collect(),
                x: "fraction of training points checked".into(),
                y: if loss { "mean test loss after retraining" } else { "test accuracy after retraining" }
                    .into(),
            })
        })
    };
    let (fixed_loss, fixed_acc, removed) =
        (fix_chart(false, true), fix_chart(false, false), fix_chart(true, true));
    let fix_summary = move || {
        mislabel.get().and_then(|m| {
            let at = |name: &str| {
                m.fix_first.iter().find(|c| c.name.starts_with(name)).and_then(|c| c.points.get(2).copied())
            };
            let (start, own, oracle, random) = (
                m.fix_first.first().and_then(|c| c.points.first().copied())?,
                at("self-influence")?,
                at("oracle")?,
                at("random")?,
            );
            let unconverged = m.fix_first.iter().chain(&m.remove_clean).flat_map(|c| &c.points).any(|p| !p.converged);
            Some(view! {
                <p data-testid="fix-first-summary" data-value=own.accuracy.to_string()>{format!(
                    "Checking {:.0}% of the training points in self-influence order and fixing the flipped labels found, then retraining, moves test accuracy from {:.3} to {:.3} and test loss from {:.3} to {:.3} (checking in the best possible order: {:.3}; in random order: {:.3}).",
                    own.checked * 100.0, start.accuracy, own.accuracy, start.loss, own.loss, oracle.accuracy, random.accuracy
                )}</p>
                {unconverged.then(|| view! { <p class="warning">"Some refits behind these curves did not converge: their points are approximate."</p> })}
            })
        })
    };
    let a = expect_context::<crate::web::actions::Actions>();
    // Each point by its row in the file (line or ID), as everywhere else.
    let name =
        move |i: usize| a.view.with_untracked(|v| v.as_ref().map_or(format!("#{i}"), |v| v.train_name(i)));
    let results = move || {
        mislabel.get().map(|m| {
            let aucs = m.curves.iter().map(|c| view! {
                <tr><th scope="row">{c.name.clone()}</th><td data-testid="mislabel-auc" data-method=c.name.clone() data-value=c.auc.to_string()>{format!("{:.3}", c.auc)}</td></tr>
            }).collect_view();
            let found = m.found.iter().map(|&i| view! {
                <button class="small" on:click=move |_| on_open.run(i)>{name(i)}</button>
            }).collect_view();
            let flipped = m.flipped.iter().map(|&i| name(i)).collect::<Vec<_>>().join(", ");
            view! {
                <p data-testid="mislabel-flipped">{format!("Flipped: {flipped}.")}</p>
                {m.note.clone().map(|n| view! { <p class="warning">{n}</p> })}
                <p>{format!("{} of {} training labels flipped (each to a random other class); the best possible AUC is {:.3}, random about 0.5.", m.flipped.len(), m.n_train, m.best_auc)}</p>
                <table class="grid"><thead><tr><th>"ranking"</th><th>"AUC"</th></tr></thead><tbody>{aucs}</tbody></table>
                <p>"Flipped points found first by self-influence (click to inspect in the main view; the main view shows the original labels):"</p>
                <div class="found">{found}</div>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Mislabel lab">
            <h2>"Mislabel lab"</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Mislabel)}
            <p class="hint">"Points with a wrong label tend to have large self-influence: the model bends to fit them. Flip some labels and see which ranking finds them."</p>
            <div class="params">
                <label>{move || format!("Flip {:.0}% of the labels ", fraction.get() * 100.0)}
                    <input type="range" min="0.02" max="0.4" step="0.02" prop:value=move || fraction.get().to_string()
                        on:change=move |ev| fraction.set(event_target_value(&ev).parse().unwrap_or(0.1)) /></label>
                <label>"Seed "<input type="number" min="0" max=MAX_SEED.to_string() prop:value=move || seed.get().to_string()
                    on:change=move |ev| seed.set(event_target_value(&ev).parse().map_or(0, |v: u64| v.min(MAX_SEED))) /></label>
            </div>
            <button data-testid="mislabel-button" disabled=move || analysing.get() on:click=move |_| on_run.run((fraction.get_untracked(), seed.get_untracked()))>"Flip and rank"</button>
            <CancelWork />
            {results}
            <LineCanvas data=chart file="mislabel-detection.png" label="Flipped labels found against points checked" testid="mislabel-chart" error=error />
            <h3>"What fixing buys (Koh & Liang, Fig. 6)"</h3>
            <p class="hint">"Check the points in each ranking's order, fix the flipped labels you find, and really retrain: test loss and accuracy against the share of the data checked. Linear models only (a network would retrain 30 times)."</p>
            {fix_summary}
            <LineCanvas data=fixed_loss file="mislabel-fix-first-loss.png" label="Test loss after fixing the flips found, against points checked" testid="mislabel-fix-chart" error=error />
            <LineCanvas data=fixed_acc file="mislabel-fix-first-accuracy.png" label="Test accuracy after fixing the flips found, against points checked" testid="mislabel-fix-accuracy-chart" error=error />
            <p class="hint">"Trusting a ranking blindly on clean data: the same check that removes every point it flags, on the labels nobody flipped."</p>
            <LineCanvas data=removed file="mislabel-remove-clean.png" label="Test loss after removing points from clean data, against points removed" testid="mislabel-remove-chart" error=error />
        </section>
    }
}
