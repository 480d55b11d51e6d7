//! How messages cross between the page and the worker: as JavaScript values built by
//! serde-wasm-bindgen (no JSON text), with every [`Floats`](crate::protocol::Floats)
//! as a `Uint8Array` of raw f64 bytes whose buffer is *transferred* (moved, not
//! copied) by `postMessage`. Integers travel as numbers: every seed is kept below
//! 2^53 where it enters ([`MAX_SEED`](crate::url_state::MAX_SEED)), so none loses digits.
//! Decoding a malformed value is an error in words, never a panic.

use crate::protocol::{binary, FeatureRows, Response};
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};

fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::new()
}

/// A message as a JS value, and the buffers to transfer with it.
pub fn encode<T: Serialize>(message: &T) -> Result<(JsValue, Array), String> {
    let value = binary(|| message.serialize(&serializer())).map_err(|e| e.to_string())?;
    let transfer = Array::new();
    collect_buffers(&value, &transfer, 0);
    Ok((value, transfer))
}

/// A message from a JS value.
pub fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// A worker's response. A trained view's features are taken out of the value before it
/// is decoded and kept in their JavaScript array ([`FeatureRows`]): the page reads only
/// a hovered row or one feature of them, and copying a large upload's 16 MB into the
/// page's wasm memory was most of the task that receives the view.
pub fn decode_response(value: JsValue) -> Result<Response, String> {
    let features = take_features(&value);
    let mut response: Response = decode(value)?;
    if let (Some(bytes), Response::Trained { result: Ok(view), .. }) = (features, &mut response) {
        view.train_x = FeatureRows::from_js(&bytes)?;
    }
    Ok(response)
}

/// `Trained.result.Ok.train_x` of a response, replaced by an empty array (`None`, and
/// the value untouched, when it is not there or not bytes).
fn take_features(value: &JsValue) -> Option<Uint8Array> {
    let key = |k: &str| JsValue::from_str(k);
    let view = ["Trained", "result", "Ok"]
        .iter()
        .try_fold(value.clone(), |v, k| Reflect::get(&v, &key(k)).ok().filter(JsValue::is_object))?;
    let bytes = Reflect::get(&view, &key("train_x")).ok()?.dyn_into::<Uint8Array>().ok()?;
    Reflect::set(&view, &key("train_x"), &Uint8Array::new_with_length(0)).ok()?.then_some(bytes)
}

/// The `ArrayBuffer` of every `Uint8Array` inside `value` (our messages nest a few
/// levels of objects, arrays and maps).
fn collect_buffers(value: &JsValue, out: &Array, depth: usize) {
    if depth > 16 {
        return;
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        out.push(&bytes.buffer());
    } else if let Some(array) = value.dyn_ref::<Array>() {
        array.iter().for_each(|v| collect_buffers(&v, out, depth + 1));
    } else if let Some(map) = value.dyn_ref::<js_sys::Map>() {
        map.for_each(&mut |v, _| collect_buffers(&v, out, depth + 1));
    } else if value.is_object() {
        if let Some(object) = value.dyn_ref::<Object>() {
            for v in Object::values(object).iter() {
                collect_buffers(&v, out, depth + 1);
            }
        }
    }
}
