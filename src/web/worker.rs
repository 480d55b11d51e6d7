//! The worker's message loop: messages in, [`Service`], messages out (as JavaScript
//! values, numbers as transferred bytes: [`transport`](super::transport)). It posts
//! [`Response::Ready`] once listening, turns a panic into [`Response::Crashed`], and
//! runs long jobs block by block with `setTimeout(0)` in between, so that messages
//! (a Cancel, a newer request) are read while a job runs. A user's file arrives as
//! the browser's `File` handle and is read here, slice by slice, with
//! `FileReaderSync` (which only workers have).

use crate::protocol::{Request, Response};
use crate::service::file_read::FileSource;
use crate::service::Service;
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

thread_local! {
    static SERVICE: RefCell<Service> = RefCell::new(Service::new(now));
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static TICK: RefCell<Option<Closure<dyn Fn()>>> = const { RefCell::new(None) };
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

/// Run the next block of a long job, if any, after the pending messages.
fn schedule() {
    let busy = SERVICE.with(|s| s.borrow().busy());
    if !busy || SCHEDULED.with(Cell::get) {
        return;
    }
    SCHEDULED.with(|s| s.set(true));
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
    TICK.with(|t| *t.borrow_mut() = Some(Closure::<dyn Fn()>::new(tick)));
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        if let Some(file) = ev.data().dyn_ref::<web_sys::File>() {
            let file = BrowserFile { file: file.clone() };
            return SERVICE.with(|s| s.borrow_mut().hold_file(Box::new(file)));
        }
        match super::transport::decode::<Request>(ev.data()) {
            Ok(request) => SERVICE.with(|s| s.borrow_mut().handle(request, &mut post)),
            Err(e) => post(Response::Crashed { message: format!("unreadable request: {e}") }),
        }
        schedule();
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(Response::Ready);
}
