//! Charts drawn with plotters on canvas. Each `draw_*` is generic over the backend and
//! the main one returns a [`Mapper`] that turns a click's pixel back into data.
//!
//! Main scatter: training points coloured by their influence on the explained point
//! (diverging Okabe–Ito blue = helpful, vermillion = harmful, grey = negligible), sized
//! by its magnitude and shaped by class (circle, triangle, square); test points as
//! crosses; the explained point ringed; behind them the model's decision (or
//! prediction) surface in light tints.

use crate::boundary::{boundaries, Lines};
use crate::lang::Lang;
use crate::protocol::{CurvePoint, LooView, Projection, Surface, TrainedView};
use crate::text::{text, Text};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// Helpful (removal raises the test loss): Okabe–Ito blue.
pub const HELPFUL: RGBColor = RGBColor(0, 114, 178);
/// Harmful (removal lowers the test loss): Okabe–Ito vermillion.
pub const HARMFUL: RGBColor = RGBColor(213, 94, 0);
const NEUTRAL: RGBColor = RGBColor(200, 200, 200);
/// The ring of a marked set (the flip set): apart from the influence and class colours.
const MARKED: RGBColor = RGBColor(0, 120, 60);
/// Surface tints per class (Okabe–Ito bluish green, yellow, reddish purple, sky blue).
const CLASS_TINTS: [RGBColor; 4] =
    [RGBColor(0, 158, 115), RGBColor(240, 228, 66), RGBColor(204, 121, 167), RGBColor(86, 180, 233)];

/// Colour of a score `s` on the diverging scale normalised by `max_abs`.
pub fn score_color(s: f64, max_abs: f64) -> RGBColor {
    let t = if max_abs > 0.0 { (s / max_abs).clamp(-1.0, 1.0) } else { 0.0 };
    let end = if t >= 0.0 { HELPFUL } else { HARMFUL };
    let a = t.abs().sqrt(); // spread the many small scores
    let mix = |n: u8, e: u8| (n as f64 + (e as f64 - n as f64) * a).round() as u8;
    RGBColor(mix(NEUTRAL.0, end.0), mix(NEUTRAL.1, end.1), mix(NEUTRAL.2, end.2))
}

/// Pixel ↔ data for the plotting area of the main chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapper {
    px: (i32, i32),
    py: (i32, i32),
    x: [f64; 2],
    y: [f64; 2],
}

impl Mapper {
    /// Data coordinates of a backing-store pixel, if it is inside the plotting area.
    pub fn to_data(&self, px: f64, py: f64) -> Option<[f64; 2]> {
        let (x0, x1) = (self.px.0 as f64, self.px.1 as f64);
        let (y0, y1) = (self.py.0 as f64, self.py.1 as f64);
        if px < x0 || px > x1 || py < y0 || py > y1 || x1 <= x0 || y1 <= y0 {
            return None;
        }
        let fx = (px - x0) / (x1 - x0);
        let fy = (y1 - py) / (y1 - y0);
        Some([self.x[0] + fx * (self.x[1] - self.x[0]), self.y[0] + fy * (self.y[1] - self.y[0])])
    }

    /// Backing-store pixel of a data point.
    pub fn to_pixel(&self, p: [f64; 2]) -> (f64, f64) {
        let fx = (p[0] - self.x[0]) / (self.x[1] - self.x[0]);
        let fy = (p[1] - self.y[0]) / (self.y[1] - self.y[0]);
        (
            self.px.0 as f64 + fx * (self.px.1 - self.px.0) as f64,
            self.py.1 as f64 - fy * (self.py.1 - self.py.0) as f64,
        )
    }
}

/// What to draw besides the view.
pub struct Overlay<'a> {
    /// The training point on the scrubber.
    pub picked: Option<usize>,
    /// The training point whose list row is under the pointer or focused.
    pub hovered: Option<usize>,
    /// Its weight in the model drawn (at 0 it is drawn crossed out: removed).
    pub weight: f64,
    /// A surface replacing the view's (the retrained model while scrubbing).
    pub surface: Option<&'a Surface>,
    /// Training points ringed as a set (the flip set of "Why this prediction?").
    pub marked: &'a [usize],
}

/// The colour of surface cell `k` over white: the class's tint with opacity growing
/// with confidence above chance, or one tint growing with the prediction.
fn surface_color(s: &Surface, k: usize, range: (f64, f64), classify: bool) -> RGBColor {
    let (tint, alpha) = if classify {
        (CLASS_TINTS[s.class[k] as usize % CLASS_TINTS.len()], (s.value[k] - 0.4).clamp(0.0, 0.6) * 0.55)
    } else {
        let t = if range.1 > range.0 { (s.value[k] - range.0) / (range.1 - range.0) } else { 0.5 };
        (RGBColor(0, 158, 115), 0.05 + 0.4 * t.clamp(0.0, 1.0))
    };
    over_paper(tint, alpha)
}

/// `tint` at opacity `alpha` over the charts' background ([`paper`]); a dark
/// background takes the tint more strongly, so the classes stay apart.
fn over_paper(tint: RGBColor, alpha: f64) -> RGBColor {
    let p = paper();
    let alpha = if DARK.with(|d| d.get()) { (alpha * 1.3).min(1.0) } else { alpha };
    let mix = |c: u8, base: u8| (base as f64 + (c as f64 - base as f64) * alpha).round() as u8;
    RGBColor(mix(tint.0, p.0), mix(tint.1, p.1), mix(tint.2, p.2))
}

/// The CSS colour of class `k`'s background where the model is most confident (the
/// key under the plot).
pub fn class_background(k: usize) -> String {
    // The surface's most confident shade (see `surface_color`).
    DARK.with(|d| d.set(dark_scheme()));
    let c = over_paper(CLASS_TINTS[k % CLASS_TINTS.len()], 0.6 * 0.55);
    format!("rgb({}, {}, {})", c.0, c.1, c.2)
}

/// The surface as RGBA pixels, one per cell, top row first (image order).
pub fn surface_pixels(s: &Surface, classify: bool) -> Vec<u8> {
    let range = s.value.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let mut out = Vec::with_capacity(s.nx * s.ny * 4);
    for j in (0..s.ny).rev() {
        for i in 0..s.nx {
            let c = surface_color(s, j * s.nx + i, range, classify);
            out.extend_from_slice(&[c.0, c.1, c.2, 255]);
        }
    }
    out
}

/// Paint the surface as one image, stretched with bilinear smoothing over the cells'
/// pixel rectangle: one `drawImage` instead of a rectangle per cell, and smooth
/// boundaries instead of blocks.
fn paint_surface(canvas: &HtmlCanvasElement, s: &Surface, classify: bool, m: &Mapper) -> Result<(), String> {
    let js = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let pixels = surface_pixels(s, classify);
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), s.nx as u32, s.ny as u32)
        .map_err(js)?;
    let tile = surface_tile(canvas, s.nx as u32, s.ny as u32)?;
    context(&tile)?.put_image_data(&image, 0.0, 0.0).map_err(js)?;
    let (left, top) = m.to_pixel([s.x[0], s.y[1]]);
    let (right, bottom) = m.to_pixel([s.x[1], s.y[0]]);
    let ctx = context(canvas)?;
    ctx.save();
    ctx.begin_path();
    ctx.rect(m.px.0 as f64, m.py.0 as f64, (m.px.1 - m.px.0) as f64, (m.py.1 - m.py.0) as f64);
    ctx.clip();
    ctx.set_image_smoothing_enabled(true);
    let drawn =
        ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&tile, left, top, right - left, bottom - top);
    ctx.restore();
    drawn.map_err(js)
}

/// The off-screen canvas the surface is put on (one pixel per cell), `nx` × `ny`:
/// made once and kept, since a fresh canvas's first context costs more than the
/// drawing (each scrubber move paints the retrained surface).
fn surface_tile(canvas: &HtmlCanvasElement, nx: u32, ny: u32) -> Result<HtmlCanvasElement, String> {
    thread_local! {
        static TILE: std::cell::RefCell<Option<HtmlCanvasElement>> = const { std::cell::RefCell::new(None) };
    }
    let kept = TILE.with(|t| t.borrow().clone());
    let tile = match kept {
        Some(tile) => tile,
        None => {
            let document = canvas.owner_document().ok_or("the canvas has no document")?;
            let tile: HtmlCanvasElement =
                document.create_element("canvas").map_err(|e| format!("{e:?}"))?.unchecked_into();
            TILE.with(|t| *t.borrow_mut() = Some(tile.clone()));
            tile
        }
    };
    // Setting a size clears the canvas and resets its context: only when it changes.
    if (tile.width(), tile.height()) != (nx, ny) {
        tile.set_width(nx);
        tile.set_height(ny);
    }
    Ok(tile)
}

/// The decision boundaries of the trained model's surface, `before`: kept from the
/// last draw while it is the same surface (the scrubber redraws it with every move).
fn boundaries_before(before: &Surface) -> Lines {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Surface, Lines)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some((s, lines)) if s == before => lines.clone(),
            _ => {
                let lines = boundaries(before);
                *last = Some((before.clone(), lines.clone()));
                lines
            }
        }
    })
}

/// Stroke `lines` (plot coordinates) inside the plotting area: dashed (the model
/// before a change) or solid (the model now).
fn stroke_lines(
    canvas: &HtmlCanvasElement,
    lines: &[Vec<[f64; 2]>],
    m: &Mapper,
    dashed: bool,
) -> Result<(), String> {
    let ctx = context(canvas)?;
    ctx.save();
    ctx.begin_path();
    ctx.rect(m.px.0 as f64, m.py.0 as f64, (m.px.1 - m.px.0) as f64, (m.py.1 - m.py.0) as f64);
    ctx.clip();
    let dash = js_sys::Array::new();
    if dashed {
        dash.push(&10.0.into());
        dash.push(&7.0.into());
    }
    let _ = ctx.set_line_dash(&dash);
    ctx.set_line_width(if dashed { 2.5 } else { 2.0 });
    let c = if dashed { ink() } else { scrubbed() };
    ctx.set_stroke_style_str(&format!("rgba({}, {}, {}, 0.9)", c.0, c.1, c.2));
    ctx.begin_path();
    for line in lines {
        for (k, p) in line.iter().enumerate() {
            let (x, y) = m.to_pixel(*p);
            if k == 0 {
                ctx.move_to(x, y);
            } else {
                ctx.line_to(x, y);
            }
        }
    }
    ctx.stroke();
    ctx.restore();
    Ok(())
}

/// A canvas's 2-D context.
fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or_else(|| "the canvas has no 2-D context".to_string())
}

thread_local! {
    /// Backing pixels per CSS pixel of the canvas being drawn (set by [`canvas_area`]).
    static SCALE: std::cell::Cell<f64> = const { std::cell::Cell::new(1.0) };
    /// Whether the page follows a dark colour scheme (set by [`canvas_area`]).
    static DARK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the reader's system asks for dark colours.
pub fn dark_scheme() -> bool {
    thread_local! {
        /// The query, made once: its `matches` follows the system's setting.
        static QUERY: Option<web_sys::MediaQueryList> = web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten());
    }
    QUERY.with(|q| q.as_ref().is_some_and(|m| m.matches()))
}

/// The charts' background: white, or the dark theme's panel colour (`--panel`).
fn paper() -> RGBColor {
    if DARK.with(|d| d.get()) {
        RGBColor(32, 33, 39)
    } else {
        WHITE
    }
}

/// The scrubbed point's ring and the retrained boundary: purple, lighter on dark.
fn scrubbed() -> RGBColor {
    if DARK.with(|d| d.get()) {
        RGBColor(196, 150, 255)
    } else {
        RGBColor(90, 0, 140)
    }
}

/// The charts' text and axes: black, or the dark theme's text colour (`--fg`).
fn ink() -> RGBColor {
    if DARK.with(|d| d.get()) {
        RGBColor(236, 236, 240)
    } else {
        BLACK
    }
}

/// Smallest chart text, in CSS pixels (readable when projected).
pub const MIN_TEXT_PX: f64 = 12.0;

/// `n` CSS pixels in the backing pixels of the canvas being drawn.
fn px(n: f64) -> u32 {
    (n * SCALE.with(|s| s.get())).round() as u32
}

/// A tick label of an axis spanning `lo..hi`: the decimals its ticks need (no
/// trailing zeros), and "0" rather than "−0.0".
pub fn tick(v: f64, lo: f64, hi: f64) -> String {
    let step = ((hi - lo) / 5.0).abs().max(f64::MIN_POSITIVE);
    let decimals = (1.0 - step.log10().floor()).clamp(0.0, 12.0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    match s {
        "-0" | "" => "0".to_string(),
        s => s.to_string(),
    }
}

/// Chart text of `n` CSS pixels, in the theme's ink.
fn font(n: f64) -> TextStyle<'static> {
    ("sans-serif", px(n.max(MIN_TEXT_PX))).into_font().color(&ink())
}

/// Draw the main scatter on a canvas.
pub fn draw_main(canvas: &HtmlCanvasElement, v: &TrainedView, overlay: &Overlay) -> Result<Mapper, String> {
    let root = canvas_area(canvas)?;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&paper()).map_err(err)?;
    let ([x0, x1], [y0, y1]) = v.bounds;
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0))
        .x_label_area_size(px(42.0))
        .y_label_area_size(px(62.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let (xd, yd) = match &v.projection {
        Projection::Plane => (v.feature_names[0].clone(), v.feature_names[1].clone()),
        Projection::Line => (v.feature_names[0].clone(), v.target_name.clone()),
        Projection::Pca { explained } => {
            (format!("PC 1 (PC 1+2: {:.0}% of variance)", explained * 100.0), "PC 2".to_string())
        }
    };
    chart
        .configure_mesh()
        .x_desc(xd)
        .y_desc(yd)
        .label_style(font(MIN_TEXT_PX))
        .axis_style(ink())
        .axis_desc_style(font(13.0))
        .disable_mesh()
        .draw()
        .map_err(err)?;
    let area = chart.plotting_area();
    let (px, py) = area.get_pixel_range();
    let mapper = Mapper { px: (px.start, px.end), py: (py.start, py.end), x: [x0, x1], y: [y0, y1] };
    let surface = overlay.surface.or(v.surface.as_ref());
    if let Some(s) = surface.filter(|s| s.ny == 1) {
        // One feature: the prediction curve.
        let dx = (s.x[1] - s.x[0]) / s.nx as f64;
        let pts = s.value.iter().enumerate().map(|(i, y)| (s.x[0] + (i as f64 + 0.5) * dx, *y));
        area.draw(&PathElement::new(pts.collect::<Vec<_>>(), RGBColor(0, 158, 115).stroke_width(3)))
            .map_err(err)?;
    } else if let Some(s) = surface.filter(|s| s.nx > 0 && s.ny > 0) {
        paint_surface(canvas, s, !v.class_names.is_empty(), &mapper)?;
    }
    // While the scrubber changes the model: the boundary before, dashed, and the
    // retrained one, solid (or the prediction curves of one feature).
    if let (Some(now), Some(before)) = (overlay.surface, v.surface.as_ref()) {
        if before.ny == 1 {
            let dx = (before.x[1] - before.x[0]) / before.nx as f64;
            let curve =
                before.value.iter().enumerate().map(|(i, y)| [before.x[0] + (i as f64 + 0.5) * dx, *y]);
            stroke_lines(canvas, &[curve.collect()], &mapper, true)?;
        } else if !v.class_names.is_empty() {
            stroke_lines(canvas, &boundaries_before(before), &mapper, true)?;
            stroke_lines(canvas, &boundaries(now), &mapper, false)?;
        }
    }
    for (_, p) in &v.removed {
        area.draw(&Circle::new((p[0], p[1]), 4, RGBColor(150, 150, 150).stroke_width(1))).map_err(err)?;
    }
    paint_points(canvas, v, &mapper)?;
    paint_test_points(canvas, v, &mapper)?;
    let e = v.explained.xy;
    area.draw(&Circle::new((e[0], e[1]), 10, ink().stroke_width(3))).map_err(err)?;
    for p in overlay.marked.iter().filter_map(|&i| v.train_xy.get(i)) {
        area.draw(&Circle::new((p[0], p[1]), 11, MARKED.stroke_width(3))).map_err(err)?;
    }
    if let Some(p) = overlay.hovered.and_then(|i| v.train_xy.get(i)) {
        area.draw(&Circle::new((p[0], p[1]), 16, ink().mix(0.75).stroke_width(2))).map_err(err)?;
    }
    if let Some(p) = overlay.picked.and_then(|i| v.train_xy.get(i)) {
        area.draw(&Circle::new((p[0], p[1]), 13, scrubbed().stroke_width(3))).map_err(err)?;
        if overlay.weight == 0.0 {
            // Removed: crossed out inside its ring.
            let cross = Cross::new((p[0], p[1]), 9, scrubbed().stroke_width(3));
            area.draw(&cross).map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(mapper)
}

/// A training point's mark: its size, shape (by class) and colour (by influence).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Mark {
    radius: i32,
    shape: u8,
    color: (u8, u8, u8),
}

/// The training points, coloured by influence, sized by its magnitude, shaped by class
/// (circle, triangle, square), the least influential first so that the strongest lie
/// on top. Marks of one size, shape and colour are filled as one path: a 40,000-row
/// upload is drawn in a few hundred fills, not 40,000 (measured: ~100 ms less on the
/// page's thread). Within one size, marks are ordered by colour, which is by
/// magnitude for each sign.
fn paint_points(canvas: &HtmlCanvasElement, v: &TrainedView, m: &Mapper) -> Result<(), String> {
    let scores = &v.explained.pred_loo_dloss;
    let max_abs = scores.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let radius =
        |s: f64| if max_abs > 0.0 { 3 + (6.0 * (s.abs() / max_abs).sqrt()).round() as i32 } else { 4 };
    let mut marks: Vec<(Mark, usize)> = (0..v.train_xy.len())
        .map(|i| {
            let s = scores.get(i).copied().unwrap_or(0.0);
            let c = score_color(s, max_abs);
            let class = if v.class_names.is_empty() { 0 } else { v.train_y[i] as usize };
            (Mark { radius: radius(s), shape: (class % 3) as u8, color: (c.0, c.1, c.2) }, i)
        })
        .collect();
    // One integer per mark, compared as (radius, palest first, shape, colour), then the
    // row: the order of the tuple, at the cost of comparing two numbers (40,000 marks).
    marks.sort_unstable_by_key(|&(mark, i)| {
        let (r, g, b) = mark.color;
        let pale = 765 - (u64::from(r) + u64::from(g) + u64::from(b));
        let rgb = (u64::from(r) << 16) | (u64::from(g) << 8) | u64::from(b);
        ((mark.radius.clamp(0, 255) as u64) << 44 | pale << 32 | u64::from(mark.shape) << 24 | rgb, i)
    });
    let ctx = context(canvas)?;
    // A triangle's corners' directions (pointing up, as plotters' triangle marker).
    let corners = [-90.0f64, -210.0, -330.0].map(|deg| (deg.to_radians().cos(), deg.to_radians().sin()));
    let mut current: Option<Mark> = None;
    for &(mark, i) in &marks {
        if current != Some(mark) {
            if current.is_some() {
                ctx.fill();
            }
            let (r, g, b) = mark.color;
            ctx.set_fill_style_str(&format!("rgb({r}, {g}, {b})"));
            ctx.begin_path();
            current = Some(mark);
        }
        let (x, y) = m.to_pixel(v.train_xy[i]);
        let (x, y, r) = (x.round(), y.round(), mark.radius as f64);
        match mark.shape {
            0 => {
                ctx.move_to(x + r, y);
                ctx.arc(x, y, r, 0.0, std::f64::consts::TAU).map_err(|e| format!("{e:?}"))?;
            }
            1 => {
                // Of size r + 1, as plotters' marker.
                let [a, b, c] =
                    corners.map(|(cos, sin)| ((cos * (r + 1.0) + x).ceil(), (sin * (r + 1.0) + y).ceil()));
                // Left open: `fill` closes every subpath itself.
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
                ctx.line_to(c.0, c.1);
            }
            _ => ctx.rect(x - r, y - r, 2.0 * r, 2.0 * r),
        }
    }
    if current.is_some() {
        ctx.fill();
    }
    Ok(())
}

/// The test points: small grey crosses, stroked as one path (a 10,000-row test set
/// is one stroke, not 20,000).
fn paint_test_points(canvas: &HtmlCanvasElement, v: &TrainedView, m: &Mapper) -> Result<(), String> {
    let ctx = context(canvas)?;
    let c = ink();
    ctx.set_stroke_style_str(&format!("rgba({}, {}, {}, 0.45)", c.0, c.1, c.2));
    ctx.set_line_width(1.0);
    ctx.begin_path();
    for p in v.test_xy.iter() {
        let (x, y) = m.to_pixel(*p);
        let (x, y) = (x.round(), y.round());
        ctx.move_to(x - 3.0, y - 3.0);
        ctx.line_to(x + 3.0, y + 3.0);
        ctx.move_to(x - 3.0, y + 3.0);
        ctx.line_to(x + 3.0, y - 3.0);
    }
    ctx.stroke();
    Ok(())
}

fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    // A flat series gets a readable span (5% of its size) instead of rounding noise.
    let pad = ((hi - lo) * 0.08).max(0.05 * hi.abs().max(lo.abs())).max(1e-6);
    (lo - pad, hi + pad)
}

/// Predicted (first-order) and actual change of the explained loss over weights 0..3
/// (refits that did not converge are drawn as hollow rings).
pub fn draw_curve<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curve: &[CurvePoint],
    weight: f64,
    lang: Lang,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&paper()).map_err(err)?;
    let (lo, hi) = finite_range(curve.iter().flat_map(|c| [c.predicted, c.actual]));
    let mut chart = ChartBuilder::on(root)
        .margin(px(8.0))
        .x_label_area_size(px(36.0))
        .y_label_area_size(px(66.0))
        .build_cartesian_2d(0.0..3.0, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(text(lang, Text::AxisWeight))
        .y_desc(text(lang, Text::AxisDloss))
        .label_style(font(MIN_TEXT_PX))
        .axis_style(ink())
        .axis_desc_style(font(MIN_TEXT_PX))
        .x_labels(4)
        .y_labels(5)
        .y_label_formatter(&|v| tick(*v, lo, hi))
        .disable_mesh()
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(curve.iter().map(|c| (c.weight, c.predicted)), HELPFUL.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(curve.iter().map(|c| (c.weight, c.actual)), HARMFUL.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(
            curve
                .iter()
                .filter(|c| !c.converged)
                .map(|c| Circle::new((c.weight, c.actual), 4, HARMFUL.stroke_width(1))),
        )
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(weight, lo), (weight, hi)], ink().mix(0.5))))
        .map_err(err)?;
    root.present().map_err(err)
}

/// Square axes from `lo` to `hi`, predicted Δ loss (x) against actual (y), with an
/// optional caption: the frame of [`draw_loo`] and [`draw_truth`].
fn predicted_actual_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    lo: f64,
    hi: f64,
    lang: Lang,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut builder = ChartBuilder::on(root);
    if !caption.is_empty() {
        builder.caption(caption, font(16.0));
    }
    let mut chart = builder
        .margin(px(8.0))
        .x_label_area_size(px(42.0))
        .y_label_area_size(px(66.0))
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(text(lang, Text::AxisPredictedDloss))
        .y_desc(text(lang, Text::AxisActualDloss))
        .label_style(font(MIN_TEXT_PX))
        .axis_style(ink())
        .axis_desc_style(font(MIN_TEXT_PX))
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|v| tick(*v, lo, hi))
        .y_label_formatter(&|v| tick(*v, lo, hi))
        .disable_mesh()
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// Predicted against actual leave-one-out change, with the diagonal.
pub fn draw_loo<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    l: &LooView,
    lang: Lang,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&paper()).map_err(err)?;
    let (lo, hi) = finite_range(l.predicted.iter().chain(l.actual.iter()).copied());
    let mut chart = predicted_actual_chart(root, "", lo, hi, lang)?;
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(lo, lo), (hi, hi)], ink().mix(0.3))))
        .map_err(err)?;
    let solid = |i: &usize| !l.not_converged.contains(i);
    chart
        .draw_series(
            (0..l.actual.len())
                .filter(solid)
                .map(|i| Circle::new((l.predicted[i], l.actual[i]), 3, HELPFUL.mix(0.7).filled())),
        )
        .map_err(err)?;
    chart
        .draw_series(l.not_converged.iter().filter_map(|&i| {
            Some(Circle::new((*l.predicted.get(i)?, *l.actual.get(i)?), 4, HARMFUL.stroke_width(2)))
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// One line of [`draw_lines`].
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Colour.
    pub color: RGBColor,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// Okabe–Ito colours for the lines of [`draw_lines`].
pub const LINE_COLORS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
];

/// Lines with points and a legend (spectra, traces, sweeps, detection curves).
pub fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
    x_desc: &str,
    y_desc: &str,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&paper()).map_err(err)?;
    let (x0, x1) = finite_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = finite_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(root)
        .margin(px(10.0))
        .x_label_area_size(px(42.0))
        .y_label_area_size(px(66.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    // An axis of counts (indices, steps) gets whole-number ticks only.
    let whole = series.iter().flat_map(|s| &s.points).all(|p| !p.0.is_finite() || p.0.fract() == 0.0);
    let whole_label = |x: &f64| format!("{x:.0}");
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .light_line_style(RGBColor(236, 236, 236))
        .label_style(font(MIN_TEXT_PX))
        .axis_style(ink())
        .axis_desc_style(font(MIN_TEXT_PX))
        .x_labels(6)
        .y_labels(6);
    if whole {
        mesh.x_labels(((x1 - x0).round() as usize + 1).clamp(2, 6)).x_label_formatter(&whole_label);
    }
    mesh.draw().map_err(err)?;
    for s in series {
        let pts: Vec<(f64, f64)> =
            s.points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        let color = s.color;
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(s.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(3)));
        if pts.len() <= 40 {
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 2, color.filled()))).map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .label_font(font(MIN_TEXT_PX))
        .background_style(paper().mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// A canvas's plotters drawing area.
pub fn canvas_area(canvas: &HtmlCanvasElement) -> Result<DrawingArea<CanvasBackend, Shift>, String> {
    // Backing pixels per CSS pixel as the canvas shows now (a chart in a narrow panel
    // shows smaller than it is drawn): text and label areas grow by as much.
    let shown = crate::web::shown_width::shown_width(canvas);
    let scale = if shown > 0.0 { canvas.width() as f64 / shown } else { 1.0 };
    SCALE.with(|s| s.set(scale.clamp(1.0, 4.0)));
    DARK.with(|d| d.set(dark_scheme()));
    CanvasBackend::with_canvas_object(canvas.clone())
        .map(|b| b.into_drawing_area())
        .ok_or_else(|| "the canvas has no 2-D context".to_string())
}

/// One of the "Which truth?" scatters: predicted (x) against a ground truth (y), with
/// the diagonal; optional standard errors (vertical bars) and the noise floor (a band
/// of ±noise around 0 that retraining cannot see through).
pub fn draw_truth<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    caption: &str,
    predicted: &[f64],
    truth: &[f64],
    se: Option<&[f64]>,
    noise: Option<f64>,
    lang: Lang,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&paper()).map_err(err)?;
    let bars = se.unwrap_or(&[]);
    let spread =
        truth.iter().zip(bars.iter().chain(std::iter::repeat(&0.0))).flat_map(|(t, s)| [t - s, t + s]);
    let (lo, hi) =
        finite_range(predicted.iter().copied().chain(spread).chain(noise.map_or(vec![], |n| vec![-n, n])));
    let mut chart = predicted_actual_chart(root, caption, lo, hi, lang)?;
    if let Some(n) = noise.filter(|n| *n > 0.0) {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(lo, -n), (hi, n)],
                RGBColor(230, 159, 0).mix(0.18).filled(),
            )))
            .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(lo, lo), (hi, hi)], ink().mix(0.3))))
        .map_err(err)?;
    for (k, s) in bars.iter().enumerate().filter(|(_, s)| **s > 0.0) {
        let (x, y) = (predicted[k], truth[k]);
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(x, y - s), (x, y + s)], HELPFUL.mix(0.35))))
            .map_err(err)?;
    }
    chart
        .draw_series(
            predicted.iter().zip(truth).map(|(p, a)| Circle::new((*p, *a), 3, HELPFUL.mix(0.75).filled())),
        )
        .map_err(err)?;
    root.present().map_err(err)
}
