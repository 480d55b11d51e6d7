//! The web page binary (built by trunk for wasm32).
fn main() {
    #[cfg(target_arch = "wasm32")]
    attribution_explorer::web::start_app();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("`app` is the web page: build and serve it with `make run` (see README)");
}
