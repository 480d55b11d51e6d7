//! The ⓘ button beside a technical term (an "i" in a circle drawn by the stylesheet:
//! not every system font has the ⓘ character): it shows the term's plain words
//! ([`crate::glossary`]) in place, by mouse or keyboard; Escape or a second press
//! hides them.

use crate::glossary::Term;
use crate::text::Text;
use crate::web::actions::Actions;
use leptos::prelude::*;

/// An ⓘ that explains `term`.
#[component]
pub fn Info(term: Term) -> impl IntoView {
    let open = RwSignal::new(false);
    let a: Actions = expect_context();
    view! {
        <span class="info">
            <button type="button" class="info-button" data-testid=format!("info-{}", term.id())
                aria-label=move || a.tf(Text::WhatIs, &[("term", term.name(a.lang()))]) aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>"i"</button>
            <Show when=move || open.get()>
                <span class="info-text" role="note" data-testid="info-text">{move || term.explain(a.lang())}</span>
            </Show>
        </span>
    }
}
