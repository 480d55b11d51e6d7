//! The Web Worker binary (built by trunk for wasm32): runs the engine off the main thread.
fn main() {
    #[cfg(target_arch = "wasm32")]
    attribution_explorer::web::start_worker();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("`worker` runs inside the web page: build it with `make run` (see README)");
}
