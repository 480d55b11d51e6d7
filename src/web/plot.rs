//! The main scatter, drawn with plotters: training points coloured by their influence
//! on the selected test point (diverging Okabe–Ito blue = helpful, vermillion =
//! harmful, grey = negligible) and shaped by class (circle, triangle, square); test
//! points as crosses; the
//! selected test point ringed.

use crate::protocol::TrainedView;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

/// Helpful (removal raises the test loss): Okabe–Ito blue.
pub const HELPFUL: RGBColor = RGBColor(0, 114, 178);
/// Harmful (removal lowers the test loss): Okabe–Ito vermillion.
pub const HARMFUL: RGBColor = RGBColor(213, 94, 0);
const NEUTRAL: RGBColor = RGBColor(200, 200, 200);

/// Colour of a score `s` on the diverging scale normalised by `max_abs`.
pub fn score_color(s: f64, max_abs: f64) -> RGBColor {
    let t = if max_abs > 0.0 { (s / max_abs).clamp(-1.0, 1.0) } else { 0.0 };
    let end = if t >= 0.0 { HELPFUL } else { HARMFUL };
    let a = t.abs().sqrt(); // perceptually spread the small scores
    let mix = |n: u8, e: u8| (n as f64 + (e as f64 - n as f64) * a).round() as u8;
    RGBColor(mix(NEUTRAL.0, end.0), mix(NEUTRAL.1, end.1), mix(NEUTRAL.2, end.2))
}

fn bounds(v: &TrainedView) -> ((f64, f64), (f64, f64)) {
    let all = v.train_xy.iter().chain(&v.test_xy);
    let (mut x0, mut x1, mut y0, mut y1) =
        (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in all {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let pad = |a: f64, b: f64| {
        let m = ((b - a) * 0.05).max(0.5);
        if a.is_finite() {
            (a - m, b + m)
        } else {
            (-1.0, 1.0)
        }
    };
    (pad(x0, x1), pad(y0, y1))
}

/// Draw the view on any plotters backend.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, v: &TrainedView) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let ((x0, x1), (y0, y1)) = bounds(v);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let name = |i: usize| v.feature_names.get(i).cloned().unwrap_or_default();
    chart
        .configure_mesh()
        .x_desc(name(0))
        .y_desc(name(1))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(err)?;
    let area = chart.plotting_area();
    let draw_err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let max_abs = v.pred_loo_dloss.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let radius =
        |s: f64| if max_abs > 0.0 { 3 + (6.0 * (s.abs() / max_abs).sqrt()).round() as i32 } else { 4 };
    // Least influential first, so the strongest points are drawn on top.
    let mut order: Vec<usize> = (0..v.train_xy.len()).collect();
    order.sort_by(|&a, &b| v.pred_loo_dloss[a].abs().total_cmp(&v.pred_loo_dloss[b].abs()));
    for i in order {
        let (p, s) = ((v.train_xy[i][0], v.train_xy[i][1]), v.pred_loo_dloss[i]);
        let style = score_color(s, max_abs).filled();
        let r = radius(s);
        let class = if v.class_names.is_empty() { 0 } else { v.train_y[i] as usize };
        match class % 3 {
            0 => area.draw(&Circle::new(p, r, style)).map_err(draw_err)?,
            1 => area.draw(&TriangleMarker::new(p, r + 1, style)).map_err(draw_err)?,
            _ => area
                .draw(&(EmptyElement::at(p) + Rectangle::new([(-r, -r), (r, r)], style)))
                .map_err(draw_err)?,
        }
    }
    for p in &v.test_xy {
        area.draw(&Cross::new((p[0], p[1]), 3, BLACK.mix(0.45))).map_err(draw_err)?;
    }
    if let Some(p) = v.test_xy.get(v.selected_test) {
        area.draw(&Circle::new((p[0], p[1]), 10, BLACK.stroke_width(3))).map_err(draw_err)?;
    }
    root.present().map_err(err)
}

/// Draw on a canvas element (sized by its `width`/`height` attributes).
pub fn draw_on_canvas(canvas: &HtmlCanvasElement, v: &TrainedView) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2-D context")?;
    draw(&backend.into_drawing_area(), v)
}
