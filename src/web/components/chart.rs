//! A canvas that redraws a chart whenever its data change, with a "Save PNG" button.

use crate::web::actions::Actions;
use crate::web::export::download_canvas;
use crate::web::plot::{canvas_area, draw_lines, Series, LINE_COLORS};
use leptos::prelude::*;

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
    label: &'static str,
    /// Test hook.
    testid: &'static str,
) -> impl IntoView {
    let a = expect_context::<Actions>();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let (Some(c), Some(d)) = (canvas.get(), data.get()) else { return };
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
        if let Err(e) = canvas_area(&c).and_then(|area| draw_lines(&area, &series, &d.x, &d.y)) {
            a.error.set(Some(format!("could not draw the chart: {e}")));
        }
    });
    let save = move |_| {
        if let Some(c) = canvas.get_untracked() {
            if let Err(e) = download_canvas(&c, file) {
                a.error.set(Some(e));
            }
        }
    };
    view! {
        <figure class="chart" class:hidden=move || data.with(Option::is_none)>
            <canvas node_ref=canvas width="460" height="280" aria-label=label data-testid=testid></canvas>
            <button class="small" on:click=save>"Save PNG"</button>
        </figure>
    }
}
