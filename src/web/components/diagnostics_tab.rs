//! The Diagnostics view: the Hessian's eigenvalue spectrum and condition number (for a
//! network also the Gauss–Newton, K-FAC and EK-FAC spectra, and the negative
//! eigenvalues in their own colour), CG and LiSSA convergence (and, on an indefinite
//! Hessian, how the smallest sufficient damping rescues them), and how damping changes
//! the ranking against each ground truth computed so far: the user's own answer to
//! "how do I choose the damping?".

use super::chart::{LineCanvas, LineChart};
use super::progress::CancelWork;
use crate::protocol::{DampingPoint, DiagnosticsView};
use crate::url_state::Tab;
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
    let series = |name: &str, v: &[f64], f: fn(f64) -> f64| -> (String, Vec<(f64, f64)>) {
        (
            name.to_string(),
            v.iter().enumerate().map(|(i, x)| (i as f64, f(*x))).filter(|p| p.1.is_finite()).collect(),
        )
    };
    let spectrum = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let mut lines = vec![series("Hessian", &d.eigenvalues, log10)];
            if d.eigenvalues.iter().any(|v| *v < 0.0) {
                lines.push(series("Hessian, negative (log10 |λ|)", &d.eigenvalues, |v| {
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
            LineChart { lines, x: "index (ascending)".into(), y: "log10 eigenvalue".into() }
        })
    });
    let traces = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let mut lines = vec![
                series("CG relative residual", &d.cg_trace, log10),
                series("LiSSA relative change", &d.lissa_trace, log10),
            ];
            if let Some(r) = d.rescue_damping {
                lines.push(series(&format!("CG with δ = {r:.1e}"), &d.cg_damped_trace, log10));
                lines.push(series(&format!("LiSSA with δ = {r:.1e}"), &d.lissa_damped_trace, log10));
            }
            LineChart { lines, x: "step".into(), y: "log10".into() }
        })
    });
    let sweep = Signal::derive(move || {
        diagnostics.get().map(|d| {
            let line = |name: &str, f: fn(&DampingPoint) -> Option<f64>| {
                (
                    name.to_string(),
                    d.sweep.iter().filter_map(|p| f(p).map(|r| (log10(p.damping), r))).collect::<Vec<_>>(),
                )
            };
            let lines = [
                line("ρ with undamped", |p| p.spearman_exact),
                line("ρ with leave-one-out", |p| p.spearman_loo),
                line("ρ with PBRF", |p| p.spearman_pbrf),
                line("ρ with scratch", |p| p.spearman_scratch),
            ]
            .into_iter()
            .filter(|l| !l.1.is_empty())
            .collect();
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
                {d.rescue_damping.map(|r| view! { <p class="warning" data-testid="rescue">{format!(
                    "The Hessian is indefinite (smallest eigenvalue {lo:.3e}): CG and LiSSA cannot solve with it. With damping δ = {r:.2e}, just above −λ_min, CG {} (dashed lines).",
                    if d.cg_damped_trace.last().is_some_and(|v| *v < 1e-8) { format!("converges in {} steps", d.cg_damped_trace.len().saturating_sub(1)) } else { "still struggles".to_string() })}</p> })}
                <p class="hint">"Run \"Which truth?\" first to see the damping sweep against the PBRF and retraining from scratch too."</p>
            }
        })
    };
    view! {
        <section class="panel wide" aria-label="Diagnostics">
            <h2>"The Hessian and the solvers"</h2>
            {super::opening_hint(expect_context(), Tab::Diagnostics)}
            <button data-testid="diagnostics-button" disabled=move || analysing.get() on:click=move |_| on_run.run(())>"Run diagnostics"</button>
            <CancelWork />
            {summary}
            <div class="charts">
                <LineCanvas data=spectrum file="hessian-spectrum.png" label="Eigenvalues of the Hessian" testid="spectrum-chart" error=error />
                <LineCanvas data=traces file="solver-traces.png" label="CG and LiSSA convergence" testid="trace-chart" error=error />
                <LineCanvas data=sweep file="damping-sweep.png" label="Ranking agreement against damping" testid="sweep-chart" error=error />
            </div>
        </section>
    }
}
