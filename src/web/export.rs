//! Downloads made in the browser, without a server: text through a `Blob` URL, charts
//! through the canvas's PNG data URL. Neither makes a network request.

use crate::said::Said;
use crate::text::Text;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, Url};

/// Why a download failed (the browser refused one of the steps; which one does not
/// help the reader).
fn refused(file_name: &str) -> Said {
    Said::new(Text::DownloadFailed).with("file", file_name)
}

fn click_link(href: &str, file_name: &str) -> Result<(), Said> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(|| refused(file_name))?;
    let a: HtmlAnchorElement = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into().ok())
        .ok_or_else(|| refused(file_name))?;
    a.set_href(href);
    a.set_download(file_name);
    a.click();
    Ok(())
}

/// Save `text` as a file.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> Result<(), Said> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| refused(file_name))?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|_| refused(file_name))?;
    click_link(&url, file_name)
}

/// Save a canvas as a PNG file.
pub fn download_canvas(canvas: &HtmlCanvasElement, file_name: &str) -> Result<(), Said> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|_| refused(file_name))?;
    click_link(&url, file_name)
}
