//! The browser shell (wasm32 only): the Leptos page and the Web Worker's loop. All
//! numbers come from [`crate::engine`] through [`crate::service`] in the worker; this
//! module only moves messages and draws.

pub mod actions;
pub mod app;
pub mod bridge;
pub mod components;
pub mod export;
pub mod host;
pub mod offline;
pub mod panic_banner;
pub mod plot;
pub mod save_report;
pub mod shown_width;
pub mod transport;
pub mod worker;

/// Entry point of the page binary.
pub fn start_app() {
    panic_banner::install();
    leptos::mount::mount_to_body(app::App);
}

/// Entry point of the worker binary.
pub fn start_worker() {
    worker::run();
}
