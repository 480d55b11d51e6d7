//! A panic in WebAssembly stops the app; instead of a silently frozen or blank page,
//! the panic hook shows a banner that says what happened and how to recover.

use wasm_bindgen::JsCast;

/// Install the hook: log to the console (with the Rust message), then show the banner.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show(&info.to_string());
    }));
}

/// Put (or replace) the banner at the top of the page.
pub fn show(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = document.body() else { return };
    let banner = match document.get_element_by_id("panic-banner") {
        Some(b) => b,
        None => match document.create_element("div") {
            Ok(b) => b,
            Err(_) => return,
        },
    };
    banner.set_id("panic-banner");
    let _ = banner.set_attribute("data-testid", "panic-banner");
    let _ = banner.set_attribute("role", "alert");
    banner.set_text_content(Some(&format!(
        "The explorer hit an internal error and stopped: {message}. Reload the page to start again; \
         nothing was sent anywhere."
    )));
    if banner.parent_node().is_none() {
        let first = body.first_child();
        let _ = body.insert_before(banner.unchecked_ref(), first.as_ref());
    }
}
