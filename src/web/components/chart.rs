//! Charts on a canvas: one component draws any chart and saves it as PNG
//! ([`ChartCanvas`]); [`LineCanvas`] is it with the line-chart drawing.

use crate::said::Said;
use crate::text::Text;
use crate::web::actions::Actions;
use crate::web::export::download_canvas;
use crate::web::plot::{canvas_area, draw_lines, Series, LINE_COLORS};
use leptos::prelude::*;
use web_sys::HtmlCanvasElement;

/// A canvas redrawn by `draw` whenever the signals it reads change (drawing nothing
/// and hidden while `draw` returns `None`), with a "Save PNG" button.
#[component]
pub fn ChartCanvas<F>(
    /// Draws on the canvas: `None` when there is nothing to draw yet, else the outcome.
    draw: F,
    /// File name of the PNG export.
    file: &'static str,
    /// Accessible description.
    label: Text,
    /// Test hook.
    testid: &'static str,
    /// Where drawing errors go.
    error: RwSignal<Option<Said>>,
    /// Backing-store size.
    #[prop(default = 460)]
    width: u32,
    /// Backing-store size.
    #[prop(default = 280)]
    height: u32,
) -> impl IntoView
where
    F: Fn(&HtmlCanvasElement) -> Option<Result<(), String>> + Send + Sync + 'static,
{
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let shown = RwSignal::new(false);
    let a: Option<Actions> = use_context();
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        match draw(&c) {
            None => shown.set(false),
            Some(Ok(())) => shown.set(true),
            Some(Err(e)) => {
                error.set(Some(Said::new(Text::ChartFailed).with_said("what", Said::new(label)).with("e", e)))
            }
        }
    });
    let save = move |_| {
        if let Some(c) = canvas.get_untracked() {
            if let Err(e) = download_canvas(&c, file) {
                error.set(Some(e));
            }
        }
    };
    view! {
        <figure class="chart" class:hidden=move || !shown.get()>
            <canvas node_ref=canvas width=width height=height role="img" aria-label=move || a.map_or("", |a| a.t(label)) data-testid=testid></canvas>
            <button class="small" on:click=save>{move || a.map_or("Save PNG", |a| a.t(Text::SavePng))}</button>
        </figure>
    }
}

/// Data of one line chart: `(legend, points)` per line, and the axis titles.
#[derive(Clone, PartialEq)]
pub struct LineChart {
    /// Lines.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
    /// X axis title.
    pub x: String,
    /// Y axis title.
    pub y: String,
}

/// A line chart drawn with plotters, redrawn when `data` changes.
#[component]
pub fn LineCanvas(
    /// What to draw (`None`: nothing yet).
    data: Signal<Option<LineChart>>,
    /// File name of the PNG export.
    file: &'static str,
    /// Accessible description.
    label: Text,
    /// Test hook.
    testid: &'static str,
    /// Where drawing errors go.
    error: RwSignal<Option<Said>>,
) -> impl IntoView {
    let draw = move |c: &HtmlCanvasElement| {
        data.with(|d| {
            d.as_ref().map(|d| {
                let series: Vec<Series> = d
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(k, (name, pts))| Series {
                        name,
                        color: LINE_COLORS[k % LINE_COLORS.len()],
                        points: pts.clone(),
                    })
                    .collect();
                canvas_area(c).and_then(|area| draw_lines(&area, &series, &d.x, &d.y))
            })
        })
    };
    view! { <ChartCanvas draw=draw file=file label=label testid=testid error=error /> }
}
