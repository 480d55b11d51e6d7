//! Sharing this view: "Save report" (one HTML file, [`crate::report`]), "Copy link"
//! (the address: the URL state, and the link's own data while they are shown) and
//! "Copy embed snippet" (an `<iframe>` of the view, with an uploaded file's data in the
//! fragment, `#data=`, when they fit: [`crate::link_data`]).

use crate::link_data::{LinkDataError, MAX_ENCODED_TEXT};
use crate::said::Said;
use crate::text::Text;
use crate::url_state::{embed_snippet, UPLOAD};
use crate::web::actions::{Actions, Held};
use crate::web::components::tr;
use leptos::prelude::*;

/// What the last copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Copied {
    Not,
    Link,
    Snippet,
    Refused,
    /// The snippet could not be made (the data do not fit in a link).
    Unfit(LinkDataError),
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
        let state = a.state.get_untracked();
        let snippet = move |text: Option<&str>| match embed_snippet(&base, &state, text) {
            Ok(s) => copy(&s, copied, Copied::Snippet),
            Err(e) => copied.set(Copied::Unfit(e)),
        };
        match a.uploaded() {
            None => snippet(None),
            Some(Held::Text(text)) => snippet(Some(&text)),
            // A user's file is read here only for this, and only when it could fit.
            Some(Held::File(file)) if file.size() > MAX_ENCODED_TEXT as f64 => {
                copied.set(Copied::Unfit(LinkDataError::TextTooLarge { bytes: file.size() as usize }))
            }
            Some(Held::File(file)) => leptos::task::spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(file.text()).await.map(|t| t.as_string()) {
                    Ok(Some(text)) => snippet(Some(&text)),
                    _ => copied.set(Copied::Unfit(LinkDataError::NotText)),
                }
            }),
        }
    };
    let with_data = move || a.settled.with(|s| s.dataset == UPLOAD);
    view! {
        <button class="link" data-testid="copy-link" on:click=copy_link>{tr(a, Text::CopyLink)}</button>
        <button class="link" data-testid="copy-embed" on:click=copy_snippet title=tr(a, Text::EmbedTitle)>
            {move || a.t(if with_data() { Text::CopyEmbedData } else { Text::CopyEmbed })}
        </button>
        <button class="link" data-testid="save-report" on:click=move |_| {
            let title = a.view.with_untracked(|v| v.as_ref().map(|v| v.title.clone())).unwrap_or_default();
            if let Err(e) = crate::web::save_report::save(&format!("Attribution Explorer: {title}"), a.lang()) {
                a.error.set(Some(Said::new(Text::ReportFailed).with_said("error", e)));
            }
        } title=tr(a, Text::SaveReportTitle)>{tr(a, Text::SaveReport)}</button>
        <span class="copied" role="status" data-testid="copy-status">
            {move || match copied.get() {
                Copied::Not => String::new(),
                Copied::Link => a.t(Text::LinkCopied).into(),
                Copied::Snippet if with_data() => a.t(Text::SnippetCopiedData).into(),
                Copied::Snippet => a.t(Text::SnippetCopied).into(),
                Copied::Refused => a.t(Text::CopyRefused).into(),
                Copied::Unfit(why) => a.tf(Text::NoSnippet, &[("why", &a.say(&why.said()))]),
            }}
        </span>
    }
}
