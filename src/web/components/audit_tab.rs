//! The Audit tab: the review queue on the user's own data. Training points ranked by a
//! chosen score ([`crate::engine::audit::review`]); for each, what a reviewer needs to
//! decide (features, label, the model's probabilities, the test points it moves most,
//! its nearest neighbours); keep / relabel / remove with the mouse or the keyboard,
//! undo, a retrain after every decision with test loss and accuracy before and after,
//! and downloads of the cleaned file and the audit log ([`crate::review`]).

use super::progress::CancelWork;
use crate::engine::audit::review::{Candidate, RemovalCheck, ReviewScore};
use crate::engine::data::columns::RowName;
use crate::protocol::{named, raw_text};
use crate::review::{Metrics, Verdict};
use crate::web::actions::Actions;
use crate::web::export::download_text;
use leptos::prelude::*;

/// How a verdict reads.
fn verdict_text(v: Option<Verdict>, classes: &[String]) -> String {
    match v {
        None => "not decided".into(),
        Some(Verdict::Keep) => "kept".into(),
        Some(Verdict::Remove) => "removed".into(),
        Some(Verdict::Relabel(c)) => format!("relabelled “{}”", classes.get(c).cloned().unwrap_or_default()),
    }
}

/// The class the model prefers among the others than `label` (for the R key).
fn best_other(c: &Candidate) -> Option<usize> {
    (0..c.probs.len()).filter(|&k| k as f64 != c.label).max_by(|&a, &b| c.probs[a].total_cmp(&c.probs[b]))
}

/// The details of one candidate, with its row's name and raw values.
fn details(
    c: &Candidate,
    row: Option<&(Option<RowName>, Vec<f64>)>,
    check: Option<RemovalCheck>,
    features: &[String],
    classes: &[String],
    metric: &str,
) -> impl IntoView {
    let removal = check.map(|k| {
        let predicted = k.predicted_daccuracy.map_or(String::new(), |d| format!("would change by {d:+.3} (influence) and "));
        format!(
            "the mean test loss would change by {:+.4} (influence), and really changes by {:+.4} (retrained{}); test {metric} {predicted}really changes by {:+.3}",
            k.predicted_dloss,
            k.actual_dloss,
            if k.converged { "" } else { ", NOT converged: approximate" },
            k.actual_dmetric
        )
    });
    let name = |y: f64| classes.get(y as usize).cloned().unwrap_or_else(|| format!("{y:.3}"));
    let values = row.map_or_else(String::new, |r| raw_text(features, &r.1));
    let who = named(format!("training point #{}", c.index), row.and_then(|r| r.0.clone()));
    let probs = if classes.is_empty() {
        format!("predicted {:.3}", c.probs.first().copied().unwrap_or(f64::NAN))
    } else {
        classes.iter().zip(&c.probs).map(|(k, p)| format!("{k}: {p:.3}")).collect::<Vec<_>>().join(", ")
    };
    let effects = c
        .effects
        .iter()
        .map(|e| {
            format!(
                "test point #{} ({} its loss by {:.4})",
                e.test,
                if e.dloss > 0.0 { "helps: removal raises" } else { "hurts: removal lowers" },
                e.dloss.abs()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let neighbours = c
        .neighbours
        .iter()
        .map(|n| format!("#{} “{}” at {:.2}", n.index, name(n.label), n.distance))
        .collect::<Vec<_>>()
        .join(", ");
    let same = c.neighbours.iter().filter(|n| n.label == c.label).count();
    view! {
        <dl class="detail" data-testid="audit-detail">
            <dt>"Row"</dt><dd>{format!("{who}: {values}")}</dd>
            <dt>"Label"</dt><dd>{name(c.label)}</dd>
            <dt>"The model says"</dt><dd>{probs}</dd>
            <dt>"Moves most"</dt><dd>{effects}</dd>
            <dt>"Removing it"</dt><dd data-testid="audit-removal">{removal}</dd>
            <dt>"Nearest neighbours"</dt><dd>{format!("{neighbours} ({same} of {} share its label)", c.neighbours.len())}</dd>
        </dl>
    }
}

fn metrics_text(m: Metrics, metric: &str) -> String {
    format!("test {metric} {:.3}, mean test loss {:.4}", m.test_metric, m.test_loss)
}

/// The Audit tab.
#[component]
pub fn AuditTab() -> impl IntoView {
    let a = expect_context::<Actions>();
    let rank = RwSignal::new(ReviewScore::SelfInfluence);
    let classes = move || a.view.with(|v| v.as_ref().map(|v| v.class_names.clone()).unwrap_or_default());
    let features = move || a.view.with(|v| v.as_ref().map(|v| v.feature_names.clone()).unwrap_or_default());
    let metric = move || a.view.with(|v| v.as_ref().map(|v| v.fit.metric_name.clone()).unwrap_or_default());
    let focused = move || a.queue.with(|q| q.as_ref().and_then(|q| q.view.candidates.get(q.focus).cloned()));
    let focused_row = move || a.queue.with(|q| q.as_ref().and_then(|q| q.view.rows.get(q.focus).cloned()));
    let focused_check =
        move || a.queue.with(|q| q.as_ref().and_then(|q| q.view.checks.get(q.focus).copied()));
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        let handled = match key.as_str() {
            "ArrowDown" | "j" => {
                a.queue.update(|q| q.iter_mut().for_each(|q| q.move_focus(1)));
                true
            }
            "ArrowUp" => {
                a.queue.update(|q| q.iter_mut().for_each(|q| q.move_focus(-1)));
                true
            }
            "k" | "K" => {
                a.decide(Verdict::Keep);
                true
            }
            "d" | "D" | "Delete" => {
                a.decide(Verdict::Remove);
                true
            }
            "r" | "R" => {
                if let Some(c) = focused().as_ref().and_then(best_other) {
                    a.decide(Verdict::Relabel(c));
                }
                true
            }
            "u" | "U" => {
                a.undo_decision();
                true
            }
            d if d.len() == 1 && d.chars().all(|c| c.is_ascii_digit() && c != '0') => {
                let c = d.parse::<usize>().unwrap_or(1) - 1;
                if c < classes().len() {
                    a.decide(Verdict::Relabel(c));
                }
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };
    let queue_list = move || {
        let current = a.queue_current();
        a.queue.with(|q| {
            q.as_ref().map(|q| {
                let names = classes();
                let items = q.view.candidates.iter().enumerate().map(|(i, c)| {
                    let v = q.verdict(i);
                    let who = named(format!("#{}", c.index), q.view.rows.get(i).and_then(|r| r.0.clone()));
                    let label = names.get(c.label as usize).cloned().unwrap_or_else(|| format!("{:.3}", c.label));
                    let id = format!("audit-candidate-{i}");
                    view! {
                        <li role="option" id=id aria-selected=(i == q.focus).to_string() class:focus=i == q.focus
                            data-testid="audit-candidate" data-verdict=format!("{v:?}").to_lowercase()
                            on:click=move |_| a.queue.update(|q| q.iter_mut().for_each(|q| q.focus = i))>
                            {format!("{who} “{label}” · score {:.3} · {}", c.score, verdict_text(v, &names))}
                        </li>
                    }
                }).collect_view();
                let start = q.start();
                let now = q.decisions.last().and_then(|d| d.after);
                let m = metric();
                view! {
                    {(!current).then(|| view! { <p class="warning">"The data or the model changed since this ranking: rank again to review it."</p> })}
                    <p data-testid="audit-metrics" data-decisions=q.decisions.len().to_string()
                        data-before=start.test_metric.to_string() data-now=now.map(|n| n.test_metric.to_string()).unwrap_or_default()>
                        {format!("Before the review: {}.", metrics_text(start, &m))}
                        {now.map(|n| format!(" After {} decision(s), retrained: {}.", q.decisions.len(), metrics_text(n, &m)))}
                    </p>
                    <ol class="queue" role="listbox" tabindex="0" data-testid="audit-queue" aria-label="Training points to review"
                        aria-activedescendant=format!("audit-candidate-{}", q.focus) on:keydown=on_key>{items}</ol>
                }
            })
        })
    };
    let decision_buttons = move || {
        focused().map(|c| {
            let names = classes();
            let relabels = (0..names.len()).filter(|&k| k as f64 != c.label).map(|k| view! {
                <button class="small" data-testid="audit-relabel" data-class=k.to_string()
                    on:click=move |_| a.decide(Verdict::Relabel(k))>{format!("Relabel “{}” ({})", names[k], k + 1)}</button>
            }).collect_view();
            view! {
                {details(&c, focused_row().as_ref(), focused_check(), &features(), &classes(), &metric())}
                <div class="decide">
                    <button class="small" data-testid="audit-keep" on:click=move |_| a.decide(Verdict::Keep)>"Keep (K)"</button>
                    {relabels}
                    <button class="small" data-testid="audit-remove" on:click=move |_| a.decide(Verdict::Remove)>"Remove (D)"</button>
                    <button class="small" data-testid="audit-undo" on:click=move |_| a.undo_decision()>"Undo (U)"</button>
                </div>
            }
        })
    };
    let export_log = move |_| {
        let log = a.queue.with_untracked(|q| q.as_ref().map(|q| q.log()));
        if let Some(Err(e)) = log.map(|l| download_text("audit-log.json", "application/json", &l)) {
            a.error.set(Some(e));
        }
    };
    view! {
        <section class="panel wide" aria-label="Audit">
            <h2>"Audit your labels"</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Audit)}
            <p class="hint">"Training points ranked by how much they deserve a look. Check each one: keep it, give it the right class, or remove it. The model retrains after every decision. Keys in the list: ↑ ↓ move, K keep, R relabel to the class the model prefers, 1–9 relabel to that class, D remove, U undo."</p>
            <div class="params">
                <label>"Rank by "
                    <select data-testid="audit-rank-by" on:change=move |ev| {
                        if let Some(r) = ReviewScore::from_id(&event_target_value(&ev)) { rank.set(r) }
                    }>
                        {ReviewScore::ALL.into_iter().map(|r| view! {
                            <option value=r.id() selected=move || rank.get() == r>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <button data-testid="audit-rank" disabled=move || a.analysing.get() || a.view.with(Option::is_none)
                on:click=move |_| a.run_audit(rank.get_untracked())>"Rank training points for review"</button>
            <CancelWork />
            {queue_list}
            {decision_buttons}
            <Show when=move || a.queue.with(Option::is_some)>
                <div class="exports">
                    <button class="small" data-testid="audit-export-csv" on:click=move |_| a.export_cleaned()
                        title="The data file with every removal and relabel applied, made in this tab">"Download the cleaned CSV"</button>
                    <button class="small" data-testid="audit-export-log" on:click=export_log>"Download the audit log (JSON)"</button>
                </div>
            </Show>
        </section>
    }
}
