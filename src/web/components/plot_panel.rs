//! The main plot: hover for a tooltip, click a test point to explain it, click a
//! training point to put it on the scrubber, click empty space (2-D) to place a query
//! point or add a training point; remove, restore or relabel points.

use super::{label_text, signed};
use crate::lang::Lang;
use crate::protocol::{AddedPoint, Projection, ReweightView, Selection, TrainedView};
use crate::said::Said;
use crate::text::{filled, text, Text};
use crate::web::actions::Actions;
use crate::web::components::tr;
use crate::web::plot::{draw_main, Mapper, Overlay};
use leptos::prelude::*;

/// What is under the mouse.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hit {
    Train(usize),
    Test(usize),
}

fn nearest(v: &TrainedView, m: &Mapper, px: f64, py: f64) -> Option<Hit> {
    let d2 = |p: &[f64; 2]| {
        let (x, y) = m.to_pixel(*p);
        (x - px).powi(2) + (y - py).powi(2)
    };
    let test = v.test_xy.iter().enumerate().map(|(i, p)| (Hit::Test(i), d2(p)));
    let train = v.train_xy.iter().enumerate().map(|(i, p)| (Hit::Train(i), d2(p)));
    test.chain(train).filter(|(_, d)| *d <= 81.0).min_by(|a, b| a.1.total_cmp(&b.1)).map(|h| h.0)
}

fn tooltip(v: &TrainedView, hit: Hit, lang: Lang) -> String {
    let pred = |p: f64| {
        let key = if v.class_names.is_empty() { Text::TipPrediction } else { Text::TipProbLabel };
        filled(lang, key, &[("p", &format!("{p:.3}"))])
    };
    let loss = |l: f64| format!("{l:.4}");
    match hit {
        Hit::Train(i) => filled(
            lang,
            Text::TipTrain,
            &[
                ("name", &v.train_name(i, lang)),
                ("row", &v.raw_row_text(i, lang)),
                ("label", &label_text(v, v.train_y[i])),
                ("pred", &pred(v.train_pred[i])),
                ("loss", &loss(v.train_loss[i])),
                ("effect", &signed(v.explained.pred_loo_dloss[i], 4)),
            ],
        ),
        Hit::Test(t) => filled(
            lang,
            Text::TipTest,
            &[
                ("name", &v.test_name(t, lang)),
                ("label", &label_text(v, v.test_y[t])),
                ("pred", &pred(v.test_pred[t])),
                ("loss", &loss(v.test_loss[t])),
            ],
        ),
    }
}

/// Whether `p` lies inside the closed polygon `path` (even–odd rule).
fn contains(path: &[(f64, f64)], p: (f64, f64)) -> bool {
    let n = path.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    for k in 0..n {
        let (a, b) = (path[k], path[(k + n - 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    inside
}

/// Canvas pixel of a mouse event (the canvas is scaled by CSS).
fn event_pixel(ev: &leptos::ev::MouseEvent, canvas: &web_sys::HtmlCanvasElement) -> (f64, f64) {
    let scale_x = canvas.width() as f64 / canvas.client_width().max(1) as f64;
    let scale_y = canvas.height() as f64 / canvas.client_height().max(1) as f64;
    (ev.offset_x() as f64 * scale_x, ev.offset_y() as f64 * scale_y)
}

/// Editing 2-D classification data: what a click on empty space does and with which
/// label, and remove, relabel, restore or undo the edits of training points.
#[component]
fn EditTools(a: Actions, add_mode: RwSignal<bool>, click_label: RwSignal<f64>) -> impl IntoView {
    let picked_tools = move || {
        let i = a.settled.with(|s| s.train_point)?;
        let origin = a.view.with(|v| v.as_ref().and_then(|v| v.train_origin.get(i).copied()))?;
        let plane = a.view.with(|v| v.as_ref().is_some_and(|v| v.projection == Projection::Plane));
        let n_classes = a.view.with(|v| v.as_ref().map_or(0, |v| v.class_names.len()));
        let classes = n_classes > 0;
        let n_kept =
            a.view.with(|v| v.as_ref().map_or(0, |v| v.train_origin.iter().filter(|o| o.is_some()).count()));
        plane.then(|| {
            let remove = move |_| {
                a.retrain(|s| match origin {
                    Some(o) => s.edits.removed.push(o),
                    None => {
                        if i >= n_kept && i - n_kept < s.edits.added.len() {
                            s.edits.added.remove(i - n_kept);
                        }
                    }
                })
            };
            let flip = move |_| {
                a.retrain(|s| match origin {
                    Some(o) if s.edits.flipped.contains(&o) => s.edits.flipped.retain(|f| *f != o),
                    Some(o) => s.edits.flipped.push(o),
                    None => {
                        if let Some(p) = s.edits.added.get_mut(i.wrapping_sub(n_kept)) {
                            p.label = ((p.label as usize + 1) % n_classes.max(1)) as f64;
                        }
                    }
                })
            };
            view! {
                <button on:click=remove>{a.tf(Text::RemovePoint, &[("i", &i.to_string())])}</button>
                <Show when=move || classes><button on:click=flip>{a.tf(Text::FlipPoint, &[("i", &i.to_string())])}</button></Show>
            }
        })
    };
    let class_options = move || {
        a.view.with(|v| {
            v.as_ref().map(|v| {
                v.class_names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| view! { <option value=k.to_string() selected=move || click_label.get() == k as f64>{n.clone()}</option> })
                    .collect_view()
            })
        })
    };
    move || {
        let plane = a.view.with(|v| {
            v.as_ref().is_some_and(|v| v.projection == Projection::Plane && !v.class_names.is_empty())
        });
        plane.then(|| view! {
            <div class="tools">
                <label class="inline" for="click-mode">{a.t(Text::ClickEmpty)}</label>
                <select id="click-mode" class="inline" on:change=move |ev| add_mode.set(event_target_value(&ev) == "add")>
                    <option value="query" selected=move || !add_mode.get()>{a.t(Text::PlacesQuery)}</option>
                    <option value="add" selected=move || add_mode.get()>{a.t(Text::AddsTraining)}</option>
                </select>
                <label class="inline" for="click-label">{a.t(Text::Labelled)}</label>
                <select id="click-label" class="inline" on:change=move |ev| click_label.set(event_target_value(&ev).parse().unwrap_or(0.0))>
                    {class_options}
                </select>
                {picked_tools}
                {move || {
                    let removed = a.settled.with(|s| s.edits.removed.clone());
                    removed.into_iter().take(8).map(|o| view! {
                        <button on:click=move |_| a.retrain(|s| s.edits.removed.retain(|r| *r != o))>{a.tf(Text::RestorePoint, &[("o", &o.to_string())])}</button>
                    }).collect_view()
                }}
                <Show when=move || a.settled.with(|s| !s.edits.is_empty())>
                    <button on:click=move |_| a.retrain(|s| s.edits = Default::default())>{a.t(Text::UndoEdits)}</button>
                </Show>
            </div>
        })
    }
}

/// What the plot shows, in words, under it.
fn caption(v: &TrainedView, lang: Lang) -> String {
    match &v.projection {
        Projection::Pca { explained } => filled(
            lang,
            Text::CaptionPca,
            &[("n", &v.feature_names.len().to_string()), ("pct", &format!("{:.0}", explained * 100.0))],
        ),
        Projection::Line => text(lang, Text::CaptionLine).to_string(),
        Projection::Plane => text(lang, Text::CaptionPlane).to_string(),
    }
}

/// The main plot with its controls.
#[component]
pub fn PlotPanel() -> impl IntoView {
    let a = expect_context::<Actions>();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let mapper = StoredValue::new(None::<Mapper>);
    let drawn = RwSignal::new(0u32);
    let hover = RwSignal::new(None::<(String, f64, f64)>);
    let add_mode = RwSignal::new(false);
    let click_label = RwSignal::new(0.0f64);
    // A lasso being drawn: its points in canvas pixels (for the hit test) and in CSS
    // pixels (for the line drawn over the canvas).
    let lasso_path = RwSignal::new(None::<(Vec<(f64, f64)>, Vec<(f64, f64)>)>);
    // The label shown is the one in use: a query point's own (from a link, say).
    Effect::new(move |_| {
        if let Selection::Query { label, .. } = a.settled.with(|s| s.selection.clone()) {
            click_label.set(label);
        }
    });

    // Synchronise the canvas with the view in the next task (after the panels the same
    // change updates, so that neither task holds the page long), once however many
    // changes come before it.
    let inputs = move || {
        let picked = a.state.with(|s| s.train_point);
        let marked = match a.lasso.get() {
            lasso if a.lasso_mode.get() && !lasso.is_empty() => lasso,
            _ => a.flip.with(|f| f.as_ref().map(|f| f.flip.removed.clone()).unwrap_or_default()),
        };
        (picked, a.hovered.get(), a.reweight.get(), marked)
    };
    let paint =
        move |(picked, hovered, reweight, marked): (Option<usize>, _, Option<ReweightView>, Vec<usize>)| {
            a.view.with(|v| {
                // `try_get`: the panel may have gone (another tab) before the task that paints.
                let (Some(c), Some(v)) = (canvas.try_get().flatten(), v.as_ref()) else { return };
                let shown = reweight.as_ref().filter(|r| Some(r.index) == picked);
                let (surface, weight) =
                    (shown.and_then(|r| r.surface.as_ref()), shown.map_or(1.0, |r| r.weight));
                match draw_main(&c, v, &Overlay { picked, hovered, weight, surface, marked: &marked }) {
                    Ok(m) => {
                        mapper.set_value(Some(m));
                        drawn.update(|d| *d += 1);
                    }
                    Err(e) => a.error.set(Some(Said::new(Text::PlotFailed).with("e", e))),
                }
            });
        };
    let waiting = StoredValue::new(false);
    Effect::new(move |_| {
        // Read to subscribe; painted with what they are then.
        inputs();
        a.view.track();
        canvas.track();
        if !waiting.get_value() {
            waiting.set_value(true);
            let later = move || {
                waiting.set_value(false);
                untrack(|| paint(inputs()));
            };
            set_timeout(later, std::time::Duration::ZERO);
        }
    });

    let on_down = move |ev: leptos::ev::MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        if a.lasso_mode.get_untracked() {
            ev.prevent_default();
            let p = event_pixel(&ev, &c);
            lasso_path.set(Some((vec![p], vec![(ev.offset_x() as f64, ev.offset_y() as f64)])));
        }
    };
    let on_up = move |_| {
        let (Some((path, _)), Some(m)) = (lasso_path.get_untracked(), mapper.get_value()) else { return };
        lasso_path.set(None);
        let inside = a.view.with_untracked(|v| {
            v.as_ref().map_or_else(Vec::new, |v| {
                (0..v.train_xy.len())
                    .filter(|&i| {
                        let (x, y) = m.to_pixel(v.train_xy[i]);
                        contains(&path, (x, y))
                    })
                    .collect()
            })
        });
        a.lasso.set(inside);
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let (Some(c), Some(m)) = (canvas.get_untracked(), mapper.get_value()) else { return };
        let (px, py) = event_pixel(&ev, &c);
        if lasso_path.with_untracked(Option::is_some) {
            lasso_path.update(|l| {
                if let Some((p, css)) = l {
                    p.push((px, py));
                    css.push((ev.offset_x() as f64, ev.offset_y() as f64));
                }
            });
            return;
        }
        let tip = a.view.with_untracked(|v| {
            v.as_ref().and_then(|v| nearest(v, &m, px, py).map(|h| tooltip(v, h, a.lang())))
        });
        hover.set(tip.map(|t| (t, ev.offset_x() as f64, ev.offset_y() as f64)));
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if a.lasso_mode.get_untracked() {
            return;
        }
        let (Some(c), Some(m)) = (canvas.get_untracked(), mapper.get_value()) else { return };
        let (px, py) = event_pixel(&ev, &c);
        let Some((hit, plane)) = a.view.with_untracked(|v| {
            v.as_ref().map(|v| (nearest(v, &m, px, py), v.projection == Projection::Plane))
        }) else {
            return;
        };
        match hit {
            Some(Hit::Test(t)) => a.select(Selection::Test(t)),
            Some(Hit::Train(i)) => a.pick(Some(i)),
            None if plane => {
                let Some(xy) = m.to_data(px, py) else { return };
                let label = click_label.get_untracked();
                if add_mode.get_untracked() {
                    a.retrain(|s| s.edits.added.push(AddedPoint { xy, label }));
                } else {
                    a.select(Selection::Query { xy, label });
                }
            }
            None => {}
        }
    };

    let caption = move || a.view.with(|v| v.as_ref().map(|v| caption(v, a.lang())));
    // Each class's marker and the background where the model predicts it.
    let class_key = move || {
        a.view.with(|v| {
            let v = v.as_ref()?;
            let shapes = ["○", "△", "□"];
            let keys = v.class_names.iter().enumerate().map(|(k, name)| {
                let style = format!("background:{}", crate::web::plot::class_background(k));
                view! { <span class="class-key">{shapes[k % 3]}" "{name.clone()}" "<span class="swatch square" style=style></span></span> }
            });
            (!v.class_names.is_empty()).then(|| view! { {a.t(Text::ClassesKey)}{keys.collect_view()}{a.t(Text::ClassesKeyEnd)} })
        })
    };
    view! {
        <section class="panel plot-panel" aria-label=tr(a, Text::PlotAria)>
            <div class="plot-wrap">
                <canvas node_ref=canvas width="640" height="480" data-testid="main-plot" tabindex="0"
                    data-drawn=move || (drawn.get() > 0).to_string()
                    aria-label=tr(a, Text::PlotCanvasAria)
                    class:lasso=move || a.lasso_mode.get()
                    on:mousedown=on_down on:mouseup=on_up
                    on:mousemove=on_move on:mouseleave=move |_| hover.set(None) on:click=on_click></canvas>
                {move || lasso_path.get().map(|(_, css)| {
                    let points = css.iter().map(|(x, y)| format!("{x:.0},{y:.0}")).collect::<Vec<_>>().join(" ");
                    view! { <svg class="lasso-line" aria-hidden="true"><polygon points=points /></svg> }
                })}
                {move || hover.get().map(|(t, x, y)| view! {
                    <div class="tooltip" role="tooltip" data-testid="tooltip" style=format!("left:{}px;top:{}px", x + 14.0, y + 14.0)>{t}</div>
                })}
            </div>
            <p class="legend">
                <span class="swatch helpful"></span>{tr(a, Text::LegendHelpful)}
                <span class="swatch harmful"></span>{tr(a, Text::LegendHarmful)}
                {tr(a, Text::LegendMarks)}
                {caption}
            </p>
            <p class="legend" data-testid="class-key">{class_key}
            </p>
            <button class="small" on:click=move |_| {
                    if let Some(c) = canvas.get_untracked() {
                        if let Err(e) = crate::web::export::download_canvas(&c, "attribution-plot.png") { a.error.set(Some(e)); }
                    }
                }>{tr(a, Text::SavePng)}</button>
            <EditTools a=a add_mode=add_mode click_label=click_label />
        </section>
    }
}
