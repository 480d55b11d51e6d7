//! The width, in CSS pixels, at which each chart's canvas shows, kept up to date by one
//! `ResizeObserver` instead of read from `clientWidth` at every draw: read while the
//! page has just changed (the scrubber's numbers), `clientWidth` forces the browser to
//! lay the page out there and then, about 2 ms per scrubber update.
//!
//! A canvas is measured once, with `clientWidth`, when first drawn; the observer then
//! records every change of its size (it runs after layout, so reading `clientWidth`
//! there costs nothing) and forgets canvases taken off the page.

use std::cell::RefCell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlCanvasElement, ResizeObserver, ResizeObserverEntry};

struct Watch {
    /// Canvas → its width (a `WeakMap`: a canvas that goes away takes its entry along).
    widths: js_sys::WeakMap,
    observer: ResizeObserver,
}

thread_local! {
    static WATCH: RefCell<Option<Watch>> = const { RefCell::new(None) };
}

/// The observer and its map, made on first use (`None` where the browser has no
/// `ResizeObserver`: then every draw reads `clientWidth`).
fn watch() -> Option<(js_sys::WeakMap, ResizeObserver)> {
    WATCH.with(|w| {
        let mut w = w.borrow_mut();
        if w.is_none() {
            let widths = js_sys::WeakMap::new();
            let map = widths.clone();
            let on_resize = Closure::<dyn Fn(js_sys::Array, ResizeObserver)>::new(
                move |entries: js_sys::Array, observer: ResizeObserver| {
                    for entry in entries.iter().filter_map(|e| e.dyn_into::<ResizeObserverEntry>().ok()) {
                        let target: Element = entry.target();
                        if target.is_connected() {
                            map.set(&target, &JsValue::from(target.client_width()));
                        } else {
                            observer.unobserve(&target);
                            map.delete(&target);
                        }
                    }
                },
            );
            let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
            on_resize.forget(); // one observer for the page's lifetime
            *w = Some(Watch { widths, observer });
        }
        w.as_ref().map(|w| (w.widths.clone(), w.observer.clone()))
    })
}

/// The width `canvas` shows at, in CSS pixels, as of the last layout (0 while it is not
/// laid out). A change of layout made since, in the same frame, shows at the next draw.
pub fn shown_width(canvas: &HtmlCanvasElement) -> f64 {
    let Some((widths, observer)) = watch() else { return canvas.client_width() as f64 };
    // A canvas hidden when last measured (0) is measured again: it may show now.
    if let Some(w) = widths.get(canvas).as_f64().filter(|w| *w > 0.0) {
        return w;
    }
    let w = canvas.client_width();
    if w > 0 {
        widths.set(canvas, &JsValue::from(w));
        observer.observe(canvas);
    }
    w as f64
}
