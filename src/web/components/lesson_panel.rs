//! The guided lesson beside the plot ([`crate::lesson`]): the lesson's steps, the
//! current one open with what to do and what its number means, each step turning green
//! by itself when the page's state says it is done. The current step's control is
//! outlined (a style rule on its `data-testid`, so it applies whenever the control
//! appears) and scrolled into view. Back, Next and "Reset this step" open a step's
//! starting view; the step is in the URL (`lesson=N&step=K`).
//!
//! Also the header's lesson menu.

use crate::lesson::{Lesson, COUNT};
use crate::text::Text;
use crate::url_state::LessonAt;
use crate::web::actions::Actions;
use crate::web::components::tr;
use leptos::prelude::*;
use std::collections::HashSet;

/// The header's menu of lessons.
#[component]
pub fn LessonMenu() -> impl IntoView {
    let a: Actions = expect_context();
    let open = RwSignal::new(false);
    // The lessons are read and listed when the menu opens, not at the page's start,
    // where reading them was part of the header's first task.
    let list = move || {
        (1..=COUNT)
            .filter_map(|n| Lesson::get(n).ok().map(|l| (n, l)))
            .map(|(n, lesson)| {
                view! {
                    <li><a href=format!("?lesson={n}") data-testid=format!("lesson-link-{n}") on:click=move |ev| {
                        ev.prevent_default();
                        open.set(false);
                        a.open_step(LessonAt { number: n, step: 0 });
                    }>{move || lesson.title(a.lang()).to_string()}</a></li>
                }
            })
            .collect_view()
    };
    view! {
        <details class="lessons" data-testid="lessons-menu" prop:open=move || open.get()
            on:toggle=move |ev| open.set(event_target::<web_sys::HtmlDetailsElement>(&ev).open())>
            <summary>{tr(a, Text::Lessons)}</summary>
            <ol><Show when=move || open.get()>{list}</Show></ol>
        </details>
    }
}

/// The open lesson, if any.
#[component]
pub fn LessonPanel() -> impl IntoView {
    let a: Actions = expect_context();
    let at = Memo::new(move |_| a.state.with(|s| s.lesson));
    let lesson = Memo::new(move |_| at.get().and_then(|at| Lesson::get(at.number).ok()));
    // Steps seen done while the lesson is open (the current one is judged live).
    let done_before = RwSignal::new(HashSet::<(usize, usize)>::new());
    let current_done = Memo::new(move |_| {
        let (Some(at), Some(l)) = (at.get(), lesson.get()) else { return false };
        let seen = a.seen();
        a.state.with(|s| l.steps.get(at.step).is_some_and(|step| step.is_done(s, &seen)))
    });
    Effect::new(move |_| {
        if let (true, Some(at)) = (current_done.get(), at.get_untracked()) {
            done_before.update(|d| {
                d.insert((at.number, at.step));
            });
        }
    });
    let highlight = Memo::new(move |_| {
        let (at, l) = (at.get()?, lesson.get()?);
        l.steps.get(at.step)?.highlight_id().map(str::to_string)
    });
    // Bring the highlighted control into view when a step opens.
    Effect::new(move |_| {
        if let Some(id) = highlight.get() {
            request_animation_frame(move || {
                if let Ok(Some(el)) = document().query_selector(&format!("[data-testid=\"{id}\"]")) {
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                    el.scroll_into_view_with_scroll_into_view_options(&options);
                }
            });
        }
    });
    let go = move |step: usize| {
        if let Some(at) = at.get_untracked() {
            a.open_step(LessonAt { step, ..at });
        }
    };
    move || {
        let (at, l) = (at.get()?, lesson.get()?);
        let lang = a.lang();
        let last = l.steps.len().saturating_sub(1);
        let steps = l
            .steps
            .iter()
            .enumerate()
            .map(|(k, step)| {
                let current = k == at.step;
                let done = move || {
                    if current {
                        current_done.get()
                    } else {
                        done_before.with(|d| d.contains(&(at.number, k)))
                    }
                };
                let explain = step.explain.as_ref().map(|e| e.get(lang).to_string());
                view! {
                    <li data-testid="lesson-step" data-step=k + 1 data-done=move || done().to_string()
                        class:current=current class:done=done aria-current=current.then_some("step")>
                        <p>{step.task.get(lang).to_string()}</p>
                        {(current).then(|| explain.map(|e| view! { <p class="explain">{e}</p> }))}
                        <span class="visually-hidden">{move || if done() { a.t(Text::LessonDone) } else { "" }}</span>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <aside class="panel lesson" aria-label=tr(a, Text::LessonAria) data-testid="lesson-panel">
                {highlight.get().map(|id| view! {
                    <style>{format!("[data-testid=\"{id}\"] {{ outline: 3px solid var(--lesson); outline-offset: 2px; box-shadow: 0 0 0 6px var(--lesson-glow); }}")}</style>
                })}
                <h2>{a.tf(Text::LessonHeading, &[("n", &at.number.to_string()), ("count", &COUNT.to_string()), ("title", l.title(lang))])}</h2>
                <ol class="steps">{steps}</ol>
                <div class="lesson-buttons">
                    <button data-testid="lesson-back" disabled={at.step == 0} on:click=move |_| go(at.step.saturating_sub(1))>{a.t(Text::LessonBack)}</button>
                    <button data-testid="lesson-reset" on:click=move |_| go(at.step)>{a.t(Text::LessonReset)}</button>
                    <button data-testid="lesson-next" disabled={at.step >= last} on:click=move |_| go(at.step + 1)>{a.t(Text::LessonNext)}</button>
                    <button data-testid="lesson-close" on:click=move |_| a.close_lesson()>{a.t(Text::LessonClose)}</button>
                </div>
            </aside>
        })
    }
}
