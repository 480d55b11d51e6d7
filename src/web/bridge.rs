//! The page's side of the worker protocol: start the engine workers, send
//! [`Request`]s, receive [`Response`]s, as JavaScript values
//! ([`transport`](super::transport)).
//!
//! Worker 0 is the primary: it answers every request the page shows. Helpers
//! (workers 1…, up to `min(navigator.hardwareConcurrency, 4)` in all) only run blocks
//! of long jobs; the page brings each up to date before giving it one
//! ([`crate::pool::Helpers`]). Plain `postMessage`, no `SharedArrayBuffer`, so the page
//! needs no special headers and works from any static host and in an iframe; a
//! browser that cannot start more workers runs everything on the primary.

use crate::protocol::{Request, Response};
use crate::said::Said;
use crate::text::Text;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

/// Most engine workers, whatever the machine has.
pub const MAX_WORKERS: usize = 4;

/// Where every worker's responses go, with the worker's index.
type Handler = Rc<dyn Fn(usize, Response)>;

thread_local! {
    static WORKERS: RefCell<Vec<Worker>> = const { RefCell::new(Vec::new()) };
    static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
    /// Responses decoded but not yet handed over, in arrival order ([`deliver`]).
    static WAITING: RefCell<VecDeque<(usize, Response)>> = const { RefCell::new(VecDeque::new()) };
}

/// Whether a response is handed over in a task of its own: every trained view. Decoding
/// a 40,000-row view and drawing it took 110–130 ms of one task; the page's first view,
/// small as it is, 200 ms on a slow machine, most of it V8 compiling the decoder and the
/// plot's code on their first call. As two tasks (and the plot in a third, see
/// `PlotPanel`) none holds the page that long.
fn bulky(response: &Response) -> bool {
    matches!(response, Response::Trained { result: Ok(_), .. })
}

/// Hand a decoded response to the page: at once, unless it is [`bulky`] or others
/// wait before it; those wait for the next task, and every response after them too,
/// so the page sees them in the order the workers sent them.
fn deliver(index: usize, response: Response, on_response: &Handler) {
    let first_waiting = WAITING.with(|w| w.borrow().is_empty());
    if first_waiting && !bulky(&response) {
        return on_response(index, response);
    }
    WAITING.with(|w| w.borrow_mut().push_back((index, response)));
    if first_waiting {
        let on_response = on_response.clone();
        leptos::prelude::set_timeout(
            move || {
                while let Some((index, response)) = WAITING.with(|w| w.borrow_mut().pop_front()) {
                    on_response(index, response);
                }
            },
            std::time::Duration::ZERO,
        );
    }
}

/// The engine workers this machine should run: its logical cores, from 1 to
/// [`MAX_WORKERS`].
pub fn wanted_workers() -> usize {
    let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency());
    (cores as usize).clamp(1, MAX_WORKERS)
}

/// Start one worker (trunk's loader shim for the `worker` binary).
fn spawn(index: usize, on_response: Handler) -> Result<Worker, Said> {
    let worker = Worker::new("./worker_loader.js")
        .map_err(|e| Said::new(Text::EngineStartFailed).with("e", format!("{e:?}")))?;
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let response = super::transport::decode_response(ev.data())
            .unwrap_or_else(|e| Response::Crashed { message: format!("unreadable engine message: {e}") });
        deliver(index, response, &on_response)
    });
    worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget(); // lives as long as the page
    Ok(worker)
}

/// Start the primary worker; every response of every worker goes to `on_response`
/// with the worker's index. Errors come back as sentences for the page to show.
pub fn start(on_response: impl Fn(usize, Response) + 'static) -> Result<(), Said> {
    let on_response: Handler = Rc::new(on_response);
    let primary = spawn(0, on_response.clone())?;
    WORKERS.with(|w| *w.borrow_mut() = vec![primary]);
    HANDLER.with(|h| *h.borrow_mut() = Some(on_response));
    Ok(())
}

/// Start helpers until there are `total` workers; how many workers run now. A helper
/// the browser refuses is skipped (the job runs on fewer workers).
pub fn start_helpers(total: usize) -> usize {
    let Some(handler) = HANDLER.with(|h| h.borrow().clone()) else { return 0 };
    let running = WORKERS.with(|w| w.borrow().len());
    for index in running..total.min(MAX_WORKERS) {
        match spawn(index, handler.clone()) {
            Ok(worker) => WORKERS.with(|w| w.borrow_mut().push(worker)),
            Err(_) => break,
        }
    }
    WORKERS.with(|w| w.borrow().len())
}

/// Replace worker `index` by a fresh one (the old one is terminated mid-computation:
/// how a job that cannot pause between blocks is cancelled). The fresh worker
/// announces itself with [`Response::Ready`] and holds nothing yet.
pub fn restart(index: usize) -> Result<(), Said> {
    let handler = HANDLER.with(|h| h.borrow().clone()).ok_or(Said::new(Text::EngineNotRunning))?;
    let fresh = spawn(index, handler)?;
    WORKERS.with(|w| match w.borrow_mut().get_mut(index) {
        Some(slot) => {
            slot.terminate();
            *slot = fresh;
            Ok(())
        }
        None => Err(Said::new(Text::EngineNoWorker).with("index", index)),
    })
}

/// Send a request to worker `index` (0 is the primary).
pub fn send_to(index: usize, request: &Request) -> Result<(), Said> {
    let sent = |e: String| Said::new(Text::EngineSendFailed).with("e", e);
    let (value, transfer) = super::transport::encode(request).map_err(sent)?;
    WORKERS.with(|w| match w.borrow().get(index) {
        Some(worker) => {
            worker.post_message_with_transfer(&value, &transfer).map_err(|e| sent(format!("{e:?}")))
        }
        None => Err(Said::new(Text::EngineNotRunning)),
    })
}

/// Send a user's file to worker `index`: the browser's `File` handle (no copy of its
/// bytes here; the worker reads them), then `request`, which reads it.
pub fn send_file_to(index: usize, file: &web_sys::File, request: &Request) -> Result<(), Said> {
    let sent = |e: JsValue| Said::new(Text::EngineSendFailed).with("e", format!("{e:?}"));
    WORKERS.with(|w| match w.borrow().get(index) {
        Some(worker) => worker.post_message(file).map_err(sent),
        None => Err(Said::new(Text::EngineNotRunning)),
    })?;
    send_to(index, request)
}

/// Send a request to every worker (a Cancel); a worker that cannot take it is
/// skipped.
pub fn broadcast(request: &Request) {
    for index in 0..WORKERS.with(|w| w.borrow().len()) {
        let _ = send_to(index, request);
    }
}

/// Send a request to the primary worker.
pub fn send(request: &Request) -> Result<(), Said> {
    send_to(0, request)
}
