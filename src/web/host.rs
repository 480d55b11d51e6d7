//! The explorer's side of the embedding API ([`crate::embed_api`]): listen to the one
//! allowed origin, apply the commands it sends, and post the scores back after every
//! view. A message from another origin, or of another shape, is dropped unread.

use crate::embed_api::{Command, Refusal, Scores, Wire, TYPE, VERSION};
use crate::engine::data::builtin::Builtin;
use crate::protocol::Selection;
use crate::url_state::ViewState;
use crate::web::actions::Actions;
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Window};

/// The window hosting this page in a frame, if it is framed.
fn host_window() -> Option<Window> {
    let me = window();
    let parent = me.parent().ok().flatten()?;
    (!js_sys::Object::is(&parent, &me)).then_some(parent)
}

/// Post `message` to `to`, addressed to `origin` only (never `*`).
fn post(to: &Window, message: &impl Serialize, origin: &str) {
    if let Ok(value) = message.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
        let _ = to.post_message(&value, origin);
    }
}

/// The scores of the view shown, if there is one.
fn scores(a: Actions) -> Option<Scores> {
    let state = a.state.get_untracked();
    a.view.with_untracked(|v| {
        let v = v.as_ref()?;
        let e = &v.explained;
        Some(Scores {
            kind: TYPE,
            version: VERSION,
            event: "scores",
            dataset: state.dataset.clone(),
            test: match e.selection {
                Selection::Test(t) => Some(t),
                _ => None,
            },
            label: e.label,
            prediction: e.pred,
            loss: e.loss,
            scores: e.pred_loo_dloss.to_vec(),
            scrubbed: state.train_point.map(|i| (i, state.weight)),
            query: state.to_query(),
        })
    })
}

/// Apply `command`; a reason when it cannot apply.
fn apply(a: Actions, command: Command) -> Result<(), String> {
    let (n_train, n_test) =
        a.view.with_untracked(|v| v.as_ref().map_or((0, 0), |v| (v.train_xy.len(), v.test_xy.len())));
    match command {
        Command::Select { test } if test < n_test => a.select(Selection::Test(test)),
        Command::Select { test } => {
            return Err(format!("there is no test point {test} (there are {n_test})"))
        }
        Command::Weight { train, weight } if train < n_train => {
            if a.state.with_untracked(|s| s.train_point) != Some(train) {
                a.pick(Some(train));
            }
            a.set_weight(weight);
        }
        Command::Weight { train, .. } => {
            return Err(format!("there is no training point {train} (there are {n_train})"))
        }
        Command::Dataset { id } if Builtin::from_id(&id).is_some() => {
            a.retrain(|s| *s = ViewState { dataset: id, ..s.fresh() })
        }
        Command::Dataset { id } => return Err(format!("there is no built-in dataset '{id}'")),
        Command::Scores => {}
    }
    Ok(())
}

/// Listen to the host: `allowed` is the one origin whose messages count.
pub fn listen(a: Actions) {
    let own = window().location().origin().unwrap_or_default();
    let allowed = a.state.with_untracked(|s| s.host.clone()).unwrap_or(own);
    let origin = allowed.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        if ev.origin() != origin {
            return;
        }
        let Some(command) = serde_wasm_bindgen::from_value::<Wire>(ev.data()).ok().and_then(Wire::command)
        else {
            return;
        };
        let asked = command == Command::Scores;
        let outcome = apply(a, command);
        // A host in another origin is a cross-origin window proxy, which is no
        // `instanceof Window` here; its `postMessage` is all it offers, and all we use.
        let Some(reply_to) = ev.source().map(|s| s.unchecked_into::<Window>()) else { return };
        match outcome {
            Err(why) => post(&reply_to, &Refusal::new(why), &origin),
            Ok(()) if asked => {
                if let Some(s) = scores(a) {
                    post(&reply_to, &s, &origin)
                }
            }
            Ok(()) => {}
        }
    });
    let _ = window().add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget(); // lives as long as the page
                         // Every view drawn (and every scrubber move) is reported to a framing host.
    if let Some(host) = host_window() {
        Effect::new(move |_| {
            a.view.track();
            a.state.with(|s| (s.train_point, s.weight));
            if let Some(s) = scores(a) {
                post(&host, &s, &allowed);
            }
        });
    }
}
