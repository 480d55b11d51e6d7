//! Downloads made in the browser, without a server: text through a `Blob` URL, charts
//! through the canvas's PNG data URL. Neither makes a network request.

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, Url};

fn click_link(href: &str, file_name: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "cannot create a link")?
        .dyn_into()
        .map_err(|_| "not a link")?;
    a.set_href(href);
    a.set_download(file_name);
    a.click();
    Ok(())
}

/// Save `text` as a file.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| "cannot make the file")?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|_| "cannot make a download link")?;
    click_link(&url, file_name)
}

/// Save a canvas as a PNG file.
pub fn download_canvas(canvas: &HtmlCanvasElement, file_name: &str) -> Result<(), String> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|_| "cannot read the chart")?;
    click_link(&url, file_name)
}
