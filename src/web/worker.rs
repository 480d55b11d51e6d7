//! The worker's message loop: JSON in, [`crate::service::handle`], JSON out. It posts
//! [`Response::Ready`] once listening, and turns a panic into [`Response::Crashed`] so
//! the page can say so.

use crate::protocol::{Request, Response};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn post(response: &Response) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    if let Ok(text) = serde_json::to_string(response) {
        let _ = scope.post_message(&JsValue::from_str(&text));
    }
}

/// Listen for requests forever.
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&Response::Crashed { message: info.to_string() });
    }));
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        match serde_json::from_str::<Request>(&text) {
            Ok(request) => crate::service::handle(request, &mut |r| post(&r)),
            Err(e) => post(&Response::Crashed { message: format!("unreadable request: {e}") }),
        }
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&Response::Ready);
}
