//! The Diagnostics view: the Hessian's eigenvalue spectrum and condition number (for a
//! network also the Gauss–Newton, K-FAC and EK-FAC spectra, and the negative
//! eigenvalues in their own colour), CG and LiSSA convergence (and, on an indefinite
//! Hessian, how the smallest sufficient damping rescues them), and how damping changes
//! the ranking against each ground truth computed so far: the user's own answer to
//! "how do I choose the damping?".

use super::chart::{LineCanvas, LineChart};
use super::progress::{AnalysisProgress, CancelWork};
use crate::protocol::{DampingPoint, DiagnosticsView};
use crate::said::Said;
use crate::text::Text;
use crate::url_state::Tab;
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;

fn log10(v: f64) -> f64 {
    if v > 0.0 {
        v.log10()
    } else {
        f64::NAN
    }
}

/// The Diagnostics tab.
#[component]
pub fn DiagnosticsTab(
    /// The diagnostics.
    diagnostics: RwSignal<Option<DiagnosticsView>>,
    /// Whether an analysis is running.
    analysing: RwSignal<bool>,
    /// Runs them.
    on_run: Callback<()>,
    /// Where errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let a: Actions = expect_context();
    let series = |name: &str, v: &[f64], f: fn(f64) -> f64| -> (String, Vec<(f64, f64)>) {
        (
            name.to_string(),
            v.iter().enumerate().map(|(i, x)| (i as f64, f(*x))).filter(|p| p.1.is_finite()).collect(),
        )
    };
    let spectrum = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let mut lines = vec![series(a.t(Text::SeriesHessian), &d.eigenvalues, log10)];
            if d.eigenvalues.iter().any(|v| *v < 0.0) {
                lines.push(series(a.t(Text::SeriesHessianNegative), &d.eigenvalues, |v| {
                    if v < 0.0 {
                        log10(-v)
                    } else {
                        f64::NAN
                    }
                }));
            }
            for (name, v) in [
                ("GGN", &d.ggn_eigenvalues),
                ("K-FAC", &d.kfac_eigenvalues),
                ("EK-FAC", &d.ekfac_eigenvalues),
            ] {
                if !v.is_empty() {
                    lines.push(series(name, v, log10));
                }
            }
            LineChart {
                lines,
                x: a.t(Text::AxisIndexAscending).into(),
                y: a.t(Text::AxisLogEigenvalue).into(),
            }
        })
    });
    let traces = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let mut lines = vec![
                series(a.t(Text::SeriesCgResidual), &d.cg_trace, log10),
                series(a.t(Text::SeriesLissaChange), &d.lissa_trace, log10),
            ];
            if let Some(r) = d.rescue_damping {
                let r = format!("{r:.1e}");
                lines.push(series(&a.tf(Text::SeriesCgDamped, &[("d", &r)]), &d.cg_damped_trace, log10));
                lines.push(series(
                    &a.tf(Text::SeriesLissaDamped, &[("d", &r)]),
                    &d.lissa_damped_trace,
                    log10,
                ));
            }
            LineChart { lines, x: a.t(Text::AxisStep).into(), y: "log10".into() }
        })
    });
    let sweep = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let line = |name: Text, f: fn(&DampingPoint) -> Option<f64>| {
                (
                    a.t(name).to_string(),
                    d.sweep.iter().filter_map(|p| f(p).map(|r| (log10(p.damping), r))).collect::<Vec<_>>(),
                )
            };
            let lines = [
                line(Text::RhoUndamped, |p| p.spearman_exact),
                line(Text::RhoLoo, |p| p.spearman_loo),
                line(Text::RhoPbrf, |p| p.spearman_pbrf),
                line(Text::RhoScratch, |p| p.spearman_scratch),
            ]
            .into_iter()
            .filter(|l| !l.1.is_empty())
            .collect();
            LineChart { lines, x: a.t(Text::AxisLogDamping).into(), y: a.t(Text::AxisSpearman).into() }
        })
    });
    let summary = move || {
        diagnostics.get().map(|d| {
            let lo = d.eigenvalues.first().copied().unwrap_or(0.0);
            let hi = d.eigenvalues.last().copied().unwrap_or(0.0);
            let condition = d.condition.map_or(a.t(Text::ConditionUndefined).to_string(), |c| format!("{c:.3e}"));
            let lissa = d.lissa_error.as_ref().map(|e| a.say(e)).unwrap_or_else(|| a.tf(Text::LissaRanSteps, &[("n", &d.lissa_trace.len().to_string())]));
            view! {
                <p data-testid="diagnostics-summary">{a.tf(Text::DiagSummary, &[
                    ("n", &d.eigenvalues.len().to_string()), ("lo", &format!("{lo:.3e}")), ("hi", &format!("{hi:.3e}")),
                    ("condition", &condition), ("cg", &a.say(&d.cg_status)), ("lissa", &lissa)])}</p>
                <ul class="notes">{d.lissa_notes.iter().map(|n| view! { <li>{a.say(n)}</li> }).collect_view()}</ul>
                {d.rescue_damping.map(|r| {
                    let how = if d.cg_damped_trace.last().is_some_and(|v| *v < 1e-8) {
                        a.tf(Text::RescueConverges, &[("n", &d.cg_damped_trace.len().saturating_sub(1).to_string())])
                    } else {
                        a.t(Text::RescueStruggles).to_string()
                    };
                    view! { <p class="warning" data-testid="rescue">{a.tf(Text::RescueSentence, &[
                        ("lo", &format!("{lo:.3e}")), ("d", &format!("{r:.2e}")), ("how", &how)])}</p> }
                })}
                <p class="hint">{a.t(Text::DiagTruthsHint)}</p>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label=tr(a, Text::TabDiagnostics)>
            <h2>{tr(a, Text::DiagHeading)}</h2>
            {super::opening_hint(expect_context(), Tab::Diagnostics)}
            <button data-testid="diagnostics-button" disabled=move || analysing.get() on:click=move |_| on_run.run(())>{tr(a, Text::DiagButton)}</button>
            <AnalysisProgress />" "<CancelWork />
            {summary}
            <div class="charts">
                <LineCanvas data=spectrum file="hessian-spectrum.png" label=Text::ChartSpectrum testid="spectrum-chart" error=error />
                <LineCanvas data=traces file="solver-traces.png" label=Text::ChartTraces testid="trace-chart" error=error />
                <LineCanvas data=sweep file="damping-sweep.png" label=Text::ChartSweep testid="sweep-chart" error=error />
            </div>
        </section>
    }
}
