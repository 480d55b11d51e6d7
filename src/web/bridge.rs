//! The page's side of the worker protocol: start the worker, send [`Request`]s,
//! receive [`Response`]s, as JavaScript values ([`transport`](super::transport)).

use crate::protocol::{Request, Response};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Start the worker (trunk's loader shim for the `worker` binary); every response goes
/// to `on_response`. Errors come back as text for the page to show.
pub fn start(on_response: impl Fn(Response) + 'static) -> Result<(), String> {
    let worker =
        Worker::new("./worker_loader.js").map_err(|e| format!("could not start the engine: {e:?}"))?;
    let handler =
        Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
            match super::transport::decode::<Response>(ev.data()) {
                Ok(r) => on_response(r),
                Err(e) => {
                    on_response(Response::Crashed { message: format!("unreadable engine message: {e}") })
                }
            }
        });
    worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget(); // lives as long as the page
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
    Ok(())
}

/// Send a request to the worker.
pub fn send(request: &Request) -> Result<(), String> {
    let (value, transfer) = super::transport::encode(request)?;
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => worker.post_message_with_transfer(&value, &transfer).map_err(|e| format!("{e:?}")),
        None => Err("the engine is not running".into()),
    })
}
