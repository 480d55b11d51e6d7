//! Per-point vectors that cross the worker boundary as bytes.
//!
//! A view of a 40,000-row upload holds several vectors with one entry per point (the
//! plot positions, the labels, the original rows, the row names). Crossing as
//! JavaScript values, each entry is one or more objects for the structured clone and
//! for serde-wasm-bindgen to build and walk (measured: 120 ms on the page's thread for
//! such a view). Inside [`binary`] they serialise instead as the raw little-endian
//! bytes of their f64s (a `Uint8Array` the worker transfers, not copies, to the page);
//! everywhere else (exports, fixtures) as ordinary lists, unchanged.
//!
//! [`Packed<T>`] is a vector of any [`Pack`] element (a fixed number of f64s: a number,
//! an `[x, y]` pair, an optional row index); [`Floats`] is `Packed<f64>`.
//! [`RowNames`] packs row names as (kind, number) pairs plus the few ID strings.
//! [`FeatureRows`] crosses as a [`Floats`] and, on the page, stays in its JavaScript
//! array.

use crate::engine::data::columns::RowName;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

thread_local! {
    static BINARY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with packed vectors serialising as raw bytes (the worker boundary).
pub fn binary<T>(f: impl FnOnce() -> T) -> T {
    let before = BINARY.with(|b| b.replace(true));
    let out = f();
    BINARY.with(|b| b.set(before));
    out
}

fn in_binary() -> bool {
    BINARY.with(std::cell::Cell::get)
}

/// An element of a [`Packed`] vector: a fixed number of f64s.
pub trait Pack: Sized {
    /// How many f64s one element takes.
    const WIDTH: usize;
    /// Append the little-endian bytes of the element's f64s.
    fn pack(&self, out: &mut Vec<u8>);
    /// The element from its `WIDTH` f64s, or `None` when they cannot be one.
    fn unpack(f: &[f64]) -> Option<Self>;
    /// The little-endian bytes of every element's f64s, in order.
    fn bytes(items: &[Self]) -> Cow<'_, [u8]> {
        Cow::Owned(packed_bytes(items))
    }
    /// Every element from the f64s in order (a whole number of entries), or the first
    /// `WIDTH` f64s that are not one.
    fn unpack_all(values: Vec<f64>) -> Result<Vec<Self>, Vec<f64>> {
        let mut out = Vec::with_capacity(values.len() / Self::WIDTH.max(1));
        for c in values.chunks_exact(Self::WIDTH.max(1)) {
            out.push(Self::unpack(c).ok_or_else(|| c.to_vec())?);
        }
        Ok(out)
    }
}

/// The little-endian bytes of `items`' f64s, element by element.
fn packed_bytes<T: Pack>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * T::WIDTH * 8);
    items.iter().for_each(|e| e.pack(&mut out));
    out
}

/// The bytes of plain f64s, which on a little-endian machine (wasm is one) are already
/// the wire's.
fn f64_bytes<T: Pack + bytemuck::Pod>(items: &[T]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(items))
    } else {
        Cow::Owned(packed_bytes(items))
    }
}

impl Pack for f64 {
    const WIDTH: usize = 1;
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn bytes(items: &[Self]) -> Cow<'_, [u8]> {
        f64_bytes(items)
    }
    fn unpack(f: &[f64]) -> Option<Self> {
        Some(f[0])
    }
    /// The f64s themselves: no second pass or copy (a 40,000-row upload's features
    /// are 16 MB, decoded on the page's thread).
    fn unpack_all(values: Vec<f64>) -> Result<Vec<Self>, Vec<f64>> {
        Ok(values)
    }
}

impl Pack for [f64; 2] {
    const WIDTH: usize = 2;
    fn pack(&self, out: &mut Vec<u8>) {
        self.iter().for_each(|v| v.pack(out));
    }
    fn bytes(items: &[Self]) -> Cow<'_, [u8]> {
        f64_bytes(items)
    }
    fn unpack(f: &[f64]) -> Option<Self> {
        Some([f[0], f[1]])
    }
}

/// An optional index: `-1` for none.
impl Pack for Option<usize> {
    const WIDTH: usize = 1;
    fn pack(&self, out: &mut Vec<u8>) {
        self.map_or(-1.0, |i| i as f64).pack(out);
    }
    fn unpack(f: &[f64]) -> Option<Self> {
        match f[0] {
            -1.0 => Some(None),
            v if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) => Some(Some(v as usize)),
            _ => None,
        }
    }
}

/// A vector that crosses the worker boundary as bytes (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Packed<T>(pub Vec<T>);

/// A vector of numbers that crosses the worker boundary as bytes.
pub type Floats = Packed<f64>;

impl<T> Default for Packed<T> {
    fn default() -> Self {
        Packed(Vec::new())
    }
}

impl<T> std::ops::Deref for Packed<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Packed<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<'a, T> IntoIterator for &'a Packed<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> From<Vec<T>> for Packed<T> {
    fn from(v: Vec<T>) -> Self {
        Packed(v)
    }
}

impl<T> FromIterator<T> for Packed<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Packed(iter.into_iter().collect())
    }
}

fn from_bytes<E: serde::de::Error>(b: &[u8]) -> Result<Vec<f64>, E> {
    if b.len() % 8 != 0 {
        return Err(E::custom(format!("{} bytes is not a whole number of f64s", b.len())));
    }
    let mut out = vec![0.0; b.len() / 8];
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice_mut::<f64, u8>(&mut out).copy_from_slice(b);
    } else {
        for (v, c) in out.iter_mut().zip(b.chunks_exact(8)) {
            *v = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        }
    }
    Ok(out)
}

impl<T: Pack + Serialize> Serialize for Packed<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if in_binary() {
            serializer.serialize_bytes(&T::bytes(&self.0))
        } else {
            self.0.serialize(serializer)
        }
    }
}

/// Numbers as a [`Floats`] serialises them (bytes inside [`binary`], a list elsewhere).
fn serialize_f64s<S: serde::Serializer>(v: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    if in_binary() {
        serializer.serialize_bytes(&f64::bytes(v))
    } else {
        v.serialize(serializer)
    }
}

impl<'de, T: Pack + Deserialize<'de>> Deserialize<'de> for Packed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Pack + Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = Packed<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list, or the little-endian bytes of its f64s")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(x) = seq.next_element::<T>()? {
                    v.push(x);
                }
                Ok(Packed(v))
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Self::Value, E> {
                let values = from_bytes::<E>(b)?;
                if values.len() % T::WIDTH != 0 {
                    return Err(E::custom(format!("{} numbers do not make whole entries", values.len())));
                }
                T::unpack_all(values).map(Packed).map_err(|c| E::custom(format!("{c:?} is not an entry")))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, b: Vec<u8>) -> Result<Self::Value, E> {
                self.visit_bytes(&b)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// Every training row's features, `d` numbers a row, row after row: what the page reads
/// a row at a time (a tooltip) or one feature at a time (the group lab), never whole.
///
/// They cross like a [`Floats`]; on the page the bytes then stay in the JavaScript
/// array they arrived in and are read where needed, instead of being copied into the
/// page's wasm memory: for a 40,000 × 50 upload that copy and the fresh memory it
/// filled took 66 ms of the page's task that receives the view (a trace, 2026-12-07).
/// Anywhere else (the worker, native code, JSON) they are a vector.
#[derive(Debug, Clone)]
pub enum FeatureRows {
    /// In this program's memory.
    Here(Vec<f64>),
    /// In a JavaScript array of little-endian f64 bytes (the page).
    #[cfg(target_arch = "wasm32")]
    Js(js_sys::DataView),
}

impl Default for FeatureRows {
    fn default() -> Self {
        FeatureRows::Here(Vec::new())
    }
}

impl From<Vec<f64>> for FeatureRows {
    fn from(v: Vec<f64>) -> Self {
        FeatureRows::Here(v)
    }
}

impl FeatureRows {
    /// How many numbers there are.
    pub fn len(&self) -> usize {
        match self {
            FeatureRows::Here(v) => v.len(),
            #[cfg(target_arch = "wasm32")]
            FeatureRows::Js(bytes) => bytes.byte_length() / 8,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number `k` (`None` past the end).
    pub fn get(&self, k: usize) -> Option<f64> {
        match self {
            FeatureRows::Here(v) => v.get(k).copied(),
            #[cfg(target_arch = "wasm32")]
            FeatureRows::Js(bytes) => (k < self.len()).then(|| bytes.get_float64_endian(k * 8, true)),
        }
    }

    /// Numbers `range` (empty when it does not lie inside).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        if range.start > range.end || range.end > self.len() {
            return vec![];
        }
        match self {
            FeatureRows::Here(v) => v[range].to_vec(),
            #[cfg(target_arch = "wasm32")]
            FeatureRows::Js(bytes) => range.map(|k| bytes.get_float64_endian(k * 8, true)).collect(),
        }
    }
}

/// Equal when they hold the same numbers, wherever they are.
impl PartialEq for FeatureRows {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FeatureRows::Here(a), FeatureRows::Here(b)) => a == b,
            #[cfg(target_arch = "wasm32")]
            _ => self.len() == other.len() && (0..self.len()).all(|k| self.get(k) == other.get(k)),
        }
    }
}

impl Serialize for FeatureRows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FeatureRows::Here(v) => serialize_f64s(v, serializer),
            #[cfg(target_arch = "wasm32")]
            FeatureRows::Js(_) => serialize_f64s(&self.slice(0..self.len()), serializer),
        }
    }
}

impl<'de> Deserialize<'de> for FeatureRows {
    /// As a [`Floats`]: a list of numbers, or their bytes. (The page takes the bytes out
    /// of the message before it is decoded: `FeatureRows::from_js`, on wasm.)
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Floats::deserialize(deserializer).map(|f| FeatureRows::Here(f.0))
    }
}

#[cfg(target_arch = "wasm32")]
impl FeatureRows {
    /// The features in the byte array they arrived in, left there.
    pub fn from_js(bytes: &js_sys::Uint8Array) -> Result<FeatureRows, String> {
        if bytes.length() % 8 != 0 {
            return Err(format!("{} bytes is not a whole number of f64s", bytes.length()));
        }
        Ok(FeatureRows::Js(js_sys::DataView::new(
            &bytes.buffer(),
            bytes.byte_offset() as usize,
            bytes.length() as usize,
        )))
    }
}

/// The name of every point's row (`None` for points the user added).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowNames(pub Vec<Option<RowName>>);

impl RowNames {
    /// The name of row `i`, if it has one.
    pub fn get(&self, i: usize) -> Option<&RowName> {
        self.0.get(i).and_then(Option::as_ref)
    }
}

impl FromIterator<Option<RowName>> for RowNames {
    fn from_iter<I: IntoIterator<Item = Option<RowName>>>(iter: I) -> Self {
        RowNames(iter.into_iter().collect())
    }
}

/// [`RowNames`] inside [`binary`]: a (kind, number) pair per row (kind 0 none, 1 line,
/// 2 built-in row, 3 ID) and the ID strings in order.
#[derive(Serialize, Deserialize)]
struct CodedNames {
    codes: Packed<[f64; 2]>,
    ids: Vec<String>,
}

/// Either form of [`RowNames`] on the wire.
#[derive(Deserialize)]
#[serde(untagged)]
enum NamesWire {
    Plain(Vec<Option<RowName>>),
    Coded(CodedNames),
}

impl Serialize for RowNames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !in_binary() {
            return self.0.serialize(serializer);
        }
        let mut ids = Vec::new();
        let codes = self
            .0
            .iter()
            .map(|n| match n {
                None => [0.0, 0.0],
                Some(RowName::Line(l)) => [1.0, *l as f64],
                Some(RowName::Row(r)) => [2.0, *r as f64],
                Some(RowName::Id(id, l)) => {
                    ids.push(id.clone());
                    [3.0, *l as f64]
                }
            })
            .collect();
        CodedNames { codes, ids }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RowNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let CodedNames { codes, ids } = match NamesWire::deserialize(deserializer)? {
            NamesWire::Plain(names) => return Ok(RowNames(names)),
            NamesWire::Coded(coded) => coded,
        };
        let mut ids = ids.into_iter();
        codes
            .iter()
            .map(|&[kind, n]| {
                let n = n as usize;
                Ok(match kind {
                    0.0 => None,
                    1.0 => Some(RowName::Line(n)),
                    2.0 => Some(RowName::Row(n)),
                    3.0 => {
                        Some(RowName::Id(ids.next().ok_or_else(|| D::Error::custom("an ID is missing"))?, n))
                    }
                    k => return Err(D::Error::custom(format!("{k} is not a kind of row name"))),
                })
            })
            .collect::<Result<_, _>>()
            .map(RowNames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{BytesDeserializer, Error};

    fn from_packed<T: Pack + for<'de> Deserialize<'de>>(values: &[f64]) -> Result<Packed<T>, Error> {
        let mut bytes = Vec::new();
        values.iter().for_each(|v| v.pack(&mut bytes));
        Packed::<T>::deserialize(BytesDeserializer::<Error>::new(&bytes))
    }

    // The packed form through serde-wasm-bindgen, and row names with IDs and added
    // points, are checked in the browser (`tests/browser.rs`, whole messages).
    #[test]
    fn packed_vectors_unpack_from_their_bytes_and_stay_plain_lists_elsewhere() {
        let points: Packed<[f64; 2]> = vec![[0.5, -1.25], [f64::MAX, 3e-300]].into();
        let flat: Vec<f64> = points.iter().flatten().copied().collect();
        assert_eq!(from_packed::<[f64; 2]>(&flat).expect("pairs"), points);
        // Inside `binary`: the f64s' little-endian bytes, the same whether cast whole or
        // packed one by one (serde_json writes bytes as a list of numbers).
        fn wire<T: Serialize>(v: &T) -> Vec<u8> {
            let json = binary(|| serde_json::to_string(v)).expect("serialises");
            serde_json::from_str(&json).expect("a list of bytes")
        }
        assert_eq!(wire(&points), packed_bytes(&points));
        let values: Floats = vec![1.0, -0.0, f64::MIN_POSITIVE, 1e300].into();
        assert_eq!(wire(&values), packed_bytes(&values));
        assert_eq!(&packed_bytes(&values)[8..16], &(-0.0f64).to_le_bytes());
        // Feature rows: a plain list in JSON, the same bytes as a `Floats` inside
        // `binary`, read back from either; a row past the end is empty.
        let rows: FeatureRows = vec![0.5, -1.0, 3e-300].into();
        let json = serde_json::to_string(&rows).expect("serialises");
        assert_eq!(json, "[0.5,-1.0,3e-300]");
        assert_eq!(serde_json::from_str::<FeatureRows>(&json).expect("reads"), rows);
        assert_eq!(serde_json::from_str::<FeatureRows>("[]").expect("reads"), FeatureRows::default());
        assert_eq!(wire(&rows), packed_bytes(&[0.5, -1.0, 3e-300]));
        let bytes = packed_bytes(&[0.5, -1.0, 3e-300]);
        assert_eq!(FeatureRows::deserialize(BytesDeserializer::<Error>::new(&bytes)).expect("bytes"), rows);
        assert_eq!(
            (rows.slice(1..3), rows.slice(2..4), rows.get(2), rows.get(3)),
            (vec![-1.0, 3e-300], vec![], Some(3e-300), None)
        );
        let origins: Packed<Option<usize>> = vec![Some(0), None, Some(41_999)].into();
        assert_eq!(from_packed::<Option<usize>>(&[0.0, -1.0, 41_999.0]).expect("indices"), origins);
        // Outside `binary`: the plain lists that exports and fixtures hold.
        let json = serde_json::to_string(&origins).expect("serialises");
        assert_eq!(json, "[0,null,41999]");
        assert_eq!(serde_json::from_str::<Packed<Option<usize>>>(&json).expect("reads"), origins);
        let names = RowNames(vec![Some(RowName::Line(2)), None, Some(RowName::Id("A-17".into(), 3))]);
        let json = serde_json::to_string(&names).expect("serialises");
        assert_eq!(json, r#"[{"Line":2},null,{"Id":["A-17",3]}]"#);
        assert_eq!(serde_json::from_str::<RowNames>(&json).expect("reads"), names);
    }

    #[test]
    fn malformed_bytes_are_refused_in_words() {
        let twelve = Floats::deserialize(BytesDeserializer::<Error>::new(&[0u8; 12])).expect_err("not f64s");
        assert!(twelve.to_string().contains("not a whole number of f64s"), "{twelve}");
        let odd = from_packed::<[f64; 2]>(&[1.0, 2.0, 3.0]).expect_err("3 numbers are not pairs");
        assert!(odd.to_string().contains("whole entries"), "{odd}");
        assert!(from_packed::<Option<usize>>(&[0.5]).is_err(), "0.5 is not a row index");
        assert!(from_packed::<Option<usize>>(&[-2.0]).is_err(), "-2 is not a row index");
    }
}
