//! The offline copy: register the service worker (`sw.js`, which caches this build and
//! serves it when the network fails) and say when a newer build has taken over, so the
//! reader reloads to use it. A browser without service workers (or a page opened from
//! a file) simply stays online-only.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// Register `sw.js`; the signal turns true when a newer build replaces the one this
/// page runs.
pub fn register() -> RwSignal<bool> {
    let updated = RwSignal::new(false);
    let navigator = window().navigator();
    let supported = js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    if !supported || !window().is_secure_context() {
        return updated;
    }
    let container = navigator.service_worker();
    // The first install takes control of this page too; only a change of an existing
    // controller is a new build.
    if container.controller().is_some() {
        let on_change = Closure::<dyn Fn()>::new(move || updated.set(true));
        container.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
        on_change.forget(); // lives as long as the page
    }
    let promise = container.register("./sw.js");
    // A failed registration (no sw.js, as under `trunk serve`) leaves the page online-only.
    leptos::task::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
    updated
}
