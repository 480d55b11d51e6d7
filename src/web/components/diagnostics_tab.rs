//! The Diagnostics view: the Hessian's eigenvalue spectrum and condition number, CG
//! and LiSSA convergence, and how damping changes the ranking.

use super::chart::{LineCanvas, LineChart};
use crate::protocol::DiagnosticsView;
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
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let spectrum = Signal::derive(move || {
        diagnostics.get().map(|d| LineChart {
            lines: vec![(
                "eigenvalue".into(),
                d.eigenvalues.iter().enumerate().map(|(i, v)| (i as f64, log10(*v))).collect(),
            )],
            x: "index (ascending)".into(),
            y: "log10 eigenvalue".into(),
        })
    });
    let traces = Signal::derive(move || {
        diagnostics.get().map(|d| LineChart {
            lines: vec![
                (
                    "CG relative residual".into(),
                    d.cg_trace.iter().enumerate().map(|(i, v)| (i as f64, log10(*v))).collect(),
                ),
                (
                    "LiSSA relative change".into(),
                    d.lissa_trace.iter().enumerate().map(|(i, v)| (i as f64, log10(*v))).collect(),
                ),
            ],
            x: "step".into(),
            y: "log10".into(),
        })
    });
    let sweep = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let mut lines = vec![(
                "ρ with undamped exact".to_string(),
                d.sweep.iter().filter_map(|p| p.spearman_exact.map(|r| (log10(p.damping), r))).collect(),
            )];
            if d.sweep.iter().any(|p| p.spearman_loo.is_some()) {
                lines.push((
                    "ρ with actual LOO".into(),
                    d.sweep.iter().filter_map(|p| p.spearman_loo.map(|r| (log10(p.damping), r))).collect(),
                ));
            }
            LineChart { lines, x: "log10 damping δ".into(), y: "Spearman ρ".into() }
        })
    });
    let summary = move || {
        diagnostics.get().map(|d| {
            let lo = d.eigenvalues.first().copied().unwrap_or(0.0);
            let hi = d.eigenvalues.last().copied().unwrap_or(0.0);
            let condition = d.condition.map_or("undefined (no positive eigenvalue)".to_string(), |c| format!("{c:.3e}"));
            let lissa = d.lissa_error.clone().unwrap_or_else(|| format!("LiSSA ran {} steps.", d.lissa_trace.len()));
            view! {
                <p data-testid="diagnostics-summary">{format!(
                    "{} eigenvalues from {lo:.3e} to {hi:.3e}; condition number {condition}. {}. {lissa}",
                    d.eigenvalues.len(), d.cg_status)}</p>
                <ul class="notes">{d.lissa_notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Diagnostics">
            <h2>"The Hessian and the solvers"</h2>
            <button data-testid="diagnostics-button" disabled=move || analysing.get() on:click=move |_| on_run.run(())>"Run diagnostics"</button>
            {summary}
            <div class="charts">
                <LineCanvas data=spectrum file="hessian-spectrum.png" label="Eigenvalues of the Hessian" testid="spectrum-chart" error=error />
                <LineCanvas data=traces file="solver-traces.png" label="CG and LiSSA convergence" testid="trace-chart" error=error />
                <LineCanvas data=sweep file="damping-sweep.png" label="Ranking agreement against damping" testid="sweep-chart" error=error />
            </div>
        </section>
    }
}
