//! Sharing this view: "Save report" (one HTML file, [`crate::report`]), "Copy link"
//! (the address: the URL state, and the link's own data while they are shown) and
//! "Copy embed snippet" (an `<iframe>` of the view, with an uploaded file's data in the
//! fragment, `#data=`, when they fit: [`crate::link_data`]).

use crate::url_state::{embed_snippet, UPLOAD};
use crate::web::actions::Actions;
use leptos::prelude::*;

/// What the last copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Copied {
    Not,
    Link,
    Snippet,
    Refused,
    /// The snippet could not be made (the data do not fit in a link).
    Unfit(String),
}

/// Write `text` to the clipboard; `done` says how it went.
fn copy(text: &str, done: RwSignal<Copied>, success: Copied) {
    let promise = window().navigator().clipboard().write_text(text);
    leptos::task::spawn_local(async move {
        let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        done.set(if ok { success } else { Copied::Refused });
    });
}

/// The two copy buttons and what they did.
#[component]
pub fn Share() -> impl IntoView {
    let a = expect_context::<Actions>();
    let copied = RwSignal::new(Copied::Not);
    let copy_link = move |_| copy(&window().location().href().unwrap_or_default(), copied, Copied::Link);
    let copy_snippet = move |_| {
        let location = window().location();
        let base =
            format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default());
        let text = a.uploaded_text().map(|(_, t)| t);
        match embed_snippet(&base, &a.state.get_untracked(), text.as_deref()) {
            Ok(s) => copy(&s, copied, Copied::Snippet),
            Err(e) => copied.set(Copied::Unfit(e.to_string())),
        }
    };
    let with_data = move || a.state.with(|s| s.dataset == UPLOAD);
    view! {
        <button class="link" data-testid="copy-link" on:click=copy_link>"Copy link to this view"</button>
        <button class="link" data-testid="copy-embed" on:click=copy_snippet
            title="An <iframe> of this view for a web page or internal documentation. Uploaded data travel inside the link's #fragment, which browsers never send to a server.">
            {move || if with_data() { "Copy embed snippet with this data" } else { "Copy embed snippet" }}
        </button>
        <button class="link" data-testid="save-report" on:click=move |_| {
            let title = a.view.with_untracked(|v| v.as_ref().map(|v| v.title.clone())).unwrap_or_default();
            if let Err(e) = crate::web::save_report::save(&format!("Attribution Explorer: {title}")) {
                a.error.set(Some(format!("The report could not be saved: {e}")));
            }
        } title="One HTML file with this view's charts, lists, settings and numbers, made here in the browser.">"Save report"</button>
        <span class="copied" role="status" data-testid="copy-status">
            {move || match copied.get() {
                Copied::Not => String::new(),
                Copied::Link => "Link copied.".into(),
                Copied::Snippet if with_data() => "Embed snippet copied; the data travel in its #data= fragment.".into(),
                Copied::Snippet => "Embed snippet copied.".into(),
                Copied::Refused => "Copying was refused: the link is in the address bar.".into(),
                Copied::Unfit(why) => format!("No embed snippet: {why}."),
            }}
        </span>
    }
}
