//! The worker's message loop: messages in, [`Service`], messages out (as JavaScript
//! values, numbers as transferred bytes: [`transport`](super::transport)). It posts
//! [`Response::Ready`] once listening, turns a panic into [`Response::Crashed`], and
//! runs long jobs block by block, each block a message the worker posts to itself on a
//! channel of its own, so that messages (a Cancel, a newer request) are read between
//! blocks while a job runs. (`setTimeout(0)` did this before; HTML's timers wait at
//! least 4 ms from the fifth nested one, measured 4.5 ms a block in Chromium: a
//! quarter of every 15 ms block was spent waiting.) A user's file arrives as
//! the browser's `File` handle and is read here at once, asynchronously
//! (`Blob.arrayBuffer()`, measured 53–63 ms for 22 MB where `FileReaderSync` in 1 MB
//! slices took 165–295 ms); the messages after it wait until its bytes are in. Should
//! that read fail, the file is read as before, in slices with `FileReaderSync` (which
//! only workers have), and any error is reported from there.

use crate::protocol::{Request, Response};
use crate::service::file_read::FileSource;
use crate::service::Service;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

thread_local! {
    static SERVICE: RefCell<Service> = RefCell::new(Service::new(now));
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static TICK: RefCell<Option<Closure<dyn Fn()>>> = const { RefCell::new(None) };
    static CHANNEL: RefCell<Option<web_sys::MessageChannel>> = const { RefCell::new(None) };
    /// Messages that arrived while a posted file is being read, in order: they wait
    /// for its bytes (`None` when no file is being read).
    static WAITING: RefCell<Option<VecDeque<JsValue>>> = const { RefCell::new(None) };
}

/// Milliseconds from the worker's high-resolution clock (`performance.now()`).
fn now() -> f64 {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.performance().map_or_else(js_sys::Date::now, |p| p.now())
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(response: Response) {
    match super::transport::encode(&response) {
        Ok((value, transfer)) => {
            let _ = scope().post_message_with_transfer(&value, &transfer);
        }
        Err(e) => {
            if let Ok((value, _)) = super::transport::encode(&Response::Crashed { message: e }) {
                let _ = scope().post_message(&value);
            }
        }
    }
}

/// A browser `File`, read synchronously in slices (this thread is the worker's).
struct BrowserFile {
    file: web_sys::File,
}

impl FileSource for BrowserFile {
    fn size(&self) -> usize {
        self.file.size() as usize
    }

    fn read(&mut self, from: usize, to: usize) -> Result<Vec<u8>, String> {
        let failed = |e: JsValue| format!("{e:?}");
        let slice = self.file.slice_with_f64_and_f64(from as f64, to as f64).map_err(failed)?;
        let buffer =
            web_sys::FileReaderSync::new().map_err(failed)?.read_as_array_buffer(&slice).map_err(failed)?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}

/// Handle one message from the page: a file starts its read, and the messages after
/// it wait for the read to end ([`file_read`]).
fn receive(data: JsValue) {
    if let Some(file) = data.dyn_ref::<web_sys::File>() {
        WAITING.with(|w| *w.borrow_mut() = Some(VecDeque::new()));
        wasm_bindgen_futures::spawn_local(file_read(file.clone()));
        return;
    }
    match super::transport::decode::<Request>(data) {
        Ok(request) => SERVICE.with(|s| s.borrow_mut().handle(request, &mut post)),
        Err(e) => post(Response::Crashed { message: format!("unreadable request: {e}") }),
    }
    schedule();
}

/// Read `file` at once, hold its bytes for the next request to read a file, then
/// handle the messages that waited, up to the next file.
async fn file_read(file: web_sys::File) {
    let bytes = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
    let source: Box<dyn FileSource> = match bytes {
        Ok(buffer) => Box::new(js_sys::Uint8Array::new(&buffer).to_vec()),
        Err(_) => Box::new(BrowserFile { file }),
    };
    SERVICE.with(|s| s.borrow_mut().hold_file(source));
    let mut waiting = WAITING.with(|w| w.borrow_mut().take()).unwrap_or_default();
    while let Some(data) = waiting.pop_front() {
        receive(data);
        if let Some(rest) = WAITING.with(|w| w.borrow_mut().as_mut().map(std::mem::take)) {
            // Another file: the rest wait for it too, ahead of what arrives meanwhile.
            waiting.extend(rest);
            WAITING.with(|w| *w.borrow_mut() = Some(waiting));
            return;
        }
    }
}

/// Run the next block of a long job, if any, after the pending messages.
fn schedule() {
    let busy = SERVICE.with(|s| s.borrow().busy());
    if !busy || SCHEDULED.with(Cell::get) {
        return;
    }
    SCHEDULED.with(|s| s.set(true));
    let posted =
        CHANNEL.with(|c| c.borrow().as_ref().is_some_and(|c| c.port2().post_message(&JsValue::NULL).is_ok()));
    if posted {
        return;
    }
    TICK.with(|t| {
        if let Some(tick) = t.borrow().as_ref() {
            let _ = scope()
                .set_timeout_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 0);
        }
    });
}

fn tick() {
    SCHEDULED.with(|s| s.set(false));
    SERVICE.with(|s| s.borrow_mut().step(&mut post));
    schedule();
}

/// Listen for requests forever.
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(Response::Crashed { message: info.to_string() });
    }));
    let on_tick = Closure::<dyn Fn()>::new(tick);
    // The next block is a message on this channel, read after those already waiting
    // (without a channel, a timer).
    if let Ok(channel) = web_sys::MessageChannel::new() {
        channel.port1().set_onmessage(Some(on_tick.as_ref().unchecked_ref()));
        CHANNEL.with(|c| *c.borrow_mut() = Some(channel));
    }
    TICK.with(|t| *t.borrow_mut() = Some(on_tick));
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let queued = WAITING.with(|w| w.borrow_mut().as_mut().map(|q| q.push_back(ev.data())).is_some());
        if !queued {
            receive(ev.data());
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(Response::Ready);
}
