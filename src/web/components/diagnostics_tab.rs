//! The Diagnostics view: the Hessian's eigenvalue spectrum and condition number, CG
//! and LiSSA convergence, and how damping changes the ranking.

use super::chart::{LineCanvas, LineChart};
use crate::web::actions::Actions;
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
pub fn DiagnosticsTab() -> impl IntoView {
    let a = expect_context::<Actions>();
    let spectrum = Signal::derive(move || {
        a.diagnostics.get().map(|d| LineChart {
            lines: vec![(
                "eigenvalue".into(),
                d.eigenvalues.iter().enumerate().map(|(i, v)| (i as f64, log10(*v))).collect(),
            )],
            x: "index (ascending)".into(),
            y: "log10 eigenvalue".into(),
        })
    });
    let traces = Signal::derive(move || {
        a.diagnostics.get().map(|d| LineChart {
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
        a.diagnostics.get().map(|d| {
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
        a.diagnostics.get().map(|d| {
            let lo = d.eigenvalues.first().copied().unwrap_or(0.0);
            let hi = d.eigenvalues.last().copied().unwrap_or(0.0);
            format!(
                "{} eigenvalues from {lo:.3e} to {hi:.3e}; condition number {:.3e}. CG reached {:.1e} in {} steps. {}",
                d.eigenvalues.len(),
                d.condition,
                d.cg_trace.last().copied().unwrap_or(f64::NAN),
                d.cg_trace.len().saturating_sub(1),
                d.lissa_error.clone().unwrap_or_else(|| format!("LiSSA ran {} steps.", d.lissa_trace.len()))
            )
        })
    };
    view! {
        <section class="panel wide" aria-label="Diagnostics">
            <h2>"The Hessian and the solvers"</h2>
            <button data-testid="diagnostics-button" disabled=move || a.analysing.get() on:click=move |_| a.run_diagnostics()>"Run diagnostics"</button>
            <p data-testid="diagnostics-summary">{summary}</p>
            <div class="charts">
                <LineCanvas data=spectrum file="hessian-spectrum.png" label="Eigenvalues of the Hessian" testid="spectrum-chart" />
                <LineCanvas data=traces file="solver-traces.png" label="CG and LiSSA convergence" testid="trace-chart" />
                <LineCanvas data=sweep file="damping-sweep.png" label="Ranking agreement against damping" testid="sweep-chart" />
            </div>
        </section>
    }
}
