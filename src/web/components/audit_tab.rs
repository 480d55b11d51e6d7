//! The Audit tab: the review queue on the user's own data. Training points ranked by a
//! chosen score ([`crate::engine::audit::review`]); for each, what a reviewer needs to
//! decide (features, label, the model's probabilities, the test points it moves most,
//! its nearest neighbours); keep / relabel / remove with the mouse or the keyboard,
//! undo, a retrain after every decision with test loss and accuracy before and after,
//! and downloads of the cleaned file and the audit log ([`crate::review`]).

use super::progress::CancelWork;
use crate::engine::audit::review::{Candidate, RemovalCheck, ReviewScore};
use crate::engine::data::columns::RowName;
use crate::lang::Lang;
use crate::protocol::{named, raw_text};
use crate::review::{Metrics, Verdict};
use crate::text::{filled, text, Text};
use crate::web::actions::Actions;
use crate::web::components::tr;
use crate::web::export::download_text;
use leptos::prelude::*;

/// How a ranking reads in the menu.
fn review_label(r: ReviewScore) -> Text {
    match r {
        ReviewScore::SelfInfluence => Text::ReviewSelfInfluence,
        ReviewScore::TrainLoss => Text::ReviewTrainLoss,
        ReviewScore::GradNorm => Text::ReviewGradNorm,
        ReviewScore::TracinSelf => Text::ReviewTracinSelf,
        ReviewScore::TestHarm => Text::ReviewTestHarm,
    }
}

/// How a verdict reads.
fn verdict_text(v: Option<Verdict>, classes: &[String], lang: Lang) -> String {
    match v {
        None => text(lang, Text::VerdictNone).into(),
        Some(Verdict::Keep) => text(lang, Text::VerdictKept).into(),
        Some(Verdict::Remove) => text(lang, Text::VerdictRemoved).into(),
        Some(Verdict::Relabel(c)) => {
            filled(lang, Text::VerdictRelabelled, &[("class", &classes.get(c).cloned().unwrap_or_default())])
        }
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
    lang: Lang,
) -> impl IntoView {
    let removal = check.map(|k| {
        let maybe = k
            .predicted_daccuracy
            .map_or(String::new(), |d| filled(lang, Text::RemovalPredicted, &[("d", &format!("{d:+.3}"))]));
        filled(
            lang,
            Text::RemovalSentence,
            &[
                ("predicted", &format!("{:+.4}", k.predicted_dloss)),
                ("actual", &format!("{:+.4}", k.actual_dloss)),
                ("converged", if k.converged { "" } else { text(lang, Text::RemovalNotConverged) }),
                ("metric", metric),
                ("maybe", &maybe),
                ("dmetric", &format!("{:+.3}", k.actual_dmetric)),
            ],
        )
    });
    let name = |y: f64| classes.get(y as usize).cloned().unwrap_or_else(|| format!("{y:.3}"));
    let values = row.map_or_else(String::new, |r| raw_text(features, &r.1, lang));
    let who = named(
        filled(lang, Text::TrainingPointN, &[("i", &c.index.to_string())]),
        row.and_then(|r| r.0.clone()),
        lang,
    );
    let probs = if classes.is_empty() {
        filled(
            lang,
            Text::PredictedValue,
            &[("v", &format!("{:.3}", c.probs.first().copied().unwrap_or(f64::NAN)))],
        )
    } else {
        classes.iter().zip(&c.probs).map(|(k, p)| format!("{k}: {p:.3}")).collect::<Vec<_>>().join(", ")
    };
    let effects = c
        .effects
        .iter()
        .map(|e| {
            let key = if e.dloss > 0.0 { Text::EffectHelps } else { Text::EffectHurts };
            filled(lang, key, &[("t", &e.test.to_string()), ("d", &format!("{:.4}", e.dloss.abs()))])
        })
        .collect::<Vec<_>>()
        .join("; ");
    let neighbours = c
        .neighbours
        .iter()
        .map(|n| {
            let (i, d) = (n.index.to_string(), format!("{:.2}", n.distance));
            filled(lang, Text::NeighbourAt, &[("i", &i), ("label", &name(n.label)), ("d", &d)])
        })
        .collect::<Vec<_>>()
        .join(", ");
    let same = c.neighbours.iter().filter(|n| n.label == c.label).count();
    view! {
        <dl class="detail" data-testid="audit-detail">
            <dt>{text(lang, Text::DetailRow)}</dt><dd>{format!("{who}: {values}")}</dd>
            <dt>{text(lang, Text::DetailLabel)}</dt><dd>{name(c.label)}</dd>
            <dt>{text(lang, Text::DetailModelSays)}</dt><dd>{probs}</dd>
            <dt>{text(lang, Text::DetailMovesMost)}</dt><dd>{effects}</dd>
            <dt>{text(lang, Text::DetailRemoving)}</dt><dd data-testid="audit-removal">{removal}</dd>
            <dt>{text(lang, Text::DetailNeighbours)}</dt><dd>{filled(lang, Text::NeighboursShare, &[
                ("list", &neighbours), ("same", &same.to_string()), ("k", &c.neighbours.len().to_string())])}</dd>
        </dl>
    }
}

fn metrics_text(m: Metrics, metric: &str, lang: Lang) -> String {
    let (value, loss) = (format!("{:.3}", m.test_metric), format!("{:.4}", m.test_loss));
    filled(lang, Text::AuditMetrics, &[("metric", metric), ("value", &value), ("loss", &loss)])
}

/// The Audit tab.
#[component]
pub fn AuditTab() -> impl IntoView {
    let a = expect_context::<Actions>();
    let rank = RwSignal::new(ReviewScore::SelfInfluence);
    let classes = move || a.view.with(|v| v.as_ref().map(|v| v.class_names.clone()).unwrap_or_default());
    let features = move || a.view.with(|v| v.as_ref().map(|v| v.feature_names.clone()).unwrap_or_default());
    let metric = move || {
        a.view.with(|v| v.as_ref().map(|v| v.fit.metric.name(a.lang()).to_string()).unwrap_or_default())
    };
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
        let lang = a.lang();
        a.queue.with(|q| {
            q.as_ref().map(|q| {
                let names = classes();
                let items = q.view.candidates.iter().enumerate().map(|(i, c)| {
                    let v = q.verdict(i);
                    let who = named(format!("#{}", c.index), q.view.rows.get(i).and_then(|r| r.0.clone()), lang);
                    let label = names.get(c.label as usize).cloned().unwrap_or_else(|| format!("{:.3}", c.label));
                    let id = format!("audit-candidate-{i}");
                    view! {
                        <li role="option" id=id aria-selected=(i == q.focus).to_string() class:focus=i == q.focus
                            data-testid="audit-candidate" data-verdict=format!("{v:?}").to_lowercase()
                            on:click=move |_| a.queue.update(|q| q.iter_mut().for_each(|q| q.focus = i))>
                            {filled(lang, Text::AuditCandidate, &[("who", &who), ("label", &label),
                                ("score", &format!("{:.3}", c.score)), ("verdict", &verdict_text(v, &names, lang))])}
                        </li>
                    }
                }).collect_view();
                let start = q.start();
                let now = q.decisions.last().and_then(|d| d.after);
                let m = metric();
                view! {
                    {(!current).then(|| view! { <p class="warning">{text(lang, Text::AuditStale)}</p> })}
                    <p data-testid="audit-metrics" data-decisions=q.decisions.len().to_string()
                        data-before=start.test_metric.to_string() data-now=now.map(|n| n.test_metric.to_string()).unwrap_or_default()>
                        {filled(lang, Text::AuditBefore, &[("metrics", &metrics_text(start, &m, lang))])}
                        {now.map(|n| filled(lang, Text::AuditAfter, &[("n", &q.decisions.len().to_string()), ("metrics", &metrics_text(n, &m, lang))]))}
                    </p>
                    <ol class="queue" role="listbox" tabindex="0" data-testid="audit-queue" aria-label=text(lang, Text::AuditQueueAria)
                        aria-activedescendant=format!("audit-candidate-{}", q.focus) on:keydown=on_key>{items}</ol>
                }
            })
        })
    };
    let decision_buttons = move || {
        let lang = a.lang();
        focused().map(|c| {
            let names = classes();
            let relabels = (0..names.len()).filter(|&k| k as f64 != c.label).map(|k| view! {
                <button class="small" data-testid="audit-relabel" data-class=k.to_string()
                    on:click=move |_| a.decide(Verdict::Relabel(k))>{filled(lang, Text::RelabelButton, &[("class", &names[k]), ("key", &(k + 1).to_string())])}</button>
            }).collect_view();
            view! {
                {details(&c, focused_row().as_ref(), focused_check(), &features(), &classes(), &metric(), lang)}
                <div class="decide">
                    <button class="small" data-testid="audit-keep" on:click=move |_| a.decide(Verdict::Keep)>{text(lang, Text::KeepButton)}</button>
                    {relabels}
                    <button class="small" data-testid="audit-remove" on:click=move |_| a.decide(Verdict::Remove)>{text(lang, Text::RemoveButton)}</button>
                    <button class="small" data-testid="audit-undo" on:click=move |_| a.undo_decision()>{text(lang, Text::UndoButton)}</button>
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
        <section class="panel wide" aria-label=tr(a, Text::TabAudit)>
            <h2>{tr(a, Text::AuditHeading)}</h2>
            {super::opening_hint(expect_context(), crate::url_state::Tab::Audit)}
            <p class="hint">{tr(a, Text::AuditHint)}</p>
            <div class="params">
                <label>{tr(a, Text::RankBy)}" "
                    <select data-testid="audit-rank-by" on:change=move |ev| {
                        if let Some(r) = ReviewScore::from_id(&event_target_value(&ev)) { rank.set(r) }
                    }>
                        {ReviewScore::ALL.into_iter().map(|r| view! {
                            <option value=r.id() selected=move || rank.get() == r>{tr(a, review_label(r))}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <button data-testid="audit-rank" disabled=move || a.analysing.get() || a.view.with(Option::is_none)
                on:click=move |_| a.run_audit(rank.get_untracked())>{tr(a, Text::AuditButton)}</button>
            <CancelWork />
            {queue_list}
            {decision_buttons}
            <Show when=move || a.queue.with(Option::is_some)>
                <div class="exports">
                    <button class="small" data-testid="audit-export-csv" on:click=move |_| a.export_cleaned()
                        title=tr(a, Text::CleanedCsvTitle)>{tr(a, Text::CleanedCsv)}</button>
                    <button class="small" data-testid="audit-export-log" on:click=export_log>{tr(a, Text::AuditLogJson)}</button>
                </div>
            </Show>
        </section>
    }
}
