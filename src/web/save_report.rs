//! "Save report": gather the panels on screen (each heading, its text by paragraph,
//! list item and table row, its charts as PNG) into a [`Report`] and download it as
//! one HTML file. Made in the browser from what is drawn; no request.

use crate::lang::Lang;
use crate::report::{Image, Report, Section};
use crate::said::Said;
use crate::text::Text;
use crate::web::export::download_text;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlCanvasElement, HtmlElement};

/// The elements under `root` matching `selector`.
fn all(root: &Element, selector: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(selector) else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<Element>().ok()).collect()
}

/// Whether `e` is drawn (not `display: none`, nor inside such an element).
fn shown(e: &Element) -> bool {
    e.dyn_ref::<HtmlElement>().is_some_and(|h| h.offset_parent().is_some())
}

/// One panel as a report section.
fn section(panel: &Element) -> Section {
    let text =
        |e: &Element| e.text_content().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let heading = panel
        .query_selector("h2")
        .ok()
        .flatten()
        .map(|h| text(&h))
        .or_else(|| panel.get_attribute("aria-label"))
        .unwrap_or_default();
    // Table rows as "cell · cell · …"; paragraphs and list items as they read.
    let lines = all(panel, "p, li, tr")
        .iter()
        .filter(|e| shown(e))
        .map(|e| {
            if e.tag_name().eq_ignore_ascii_case("tr") {
                all(e, "th, td").iter().map(text).collect::<Vec<_>>().join(" · ")
            } else {
                text(e)
            }
        })
        .collect();
    let images = all(panel, "canvas")
        .into_iter()
        .filter(shown)
        .filter_map(|c| {
            let alt = c.get_attribute("aria-label").unwrap_or_else(|| heading.clone());
            let canvas: HtmlCanvasElement = c.dyn_into().ok()?;
            Some(Image { alt, data_url: canvas.to_data_url_with_type("image/png").ok()? })
        })
        .collect();
    Section { heading, lines, images }
}

/// Save the view as a report in the page's language `lang`; `title` names it.
pub fn save(title: &str, lang: Lang) -> Result<(), Said> {
    let nothing = || Said::new(Text::ReportNothingYet);
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(nothing)?;
    let main = document.query_selector("main").ok().flatten().ok_or_else(nothing)?;
    let sections = all(&main, "section.panel").iter().filter(|p| shown(p)).map(section).collect();
    let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    // Data carried in the link stay out of the report (they may be private).
    let link = href.split('#').next().unwrap_or_default().to_string();
    let made = String::from(js_sys::Date::new_0().to_locale_string(lang.id(), &JsValue::UNDEFINED));
    let report = Report { lang, title: title.to_string(), made, link, sections };
    download_text("attribution-report.html", "text/html", &report.to_html())
}
