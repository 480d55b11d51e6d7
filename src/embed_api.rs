//! The `postMessage` API of an embedded explorer (version 1): a host page drives the
//! explorer in its `<iframe>` and hears back the current scores.
//!
//! Every message, either way, is an object with `type: "attribution-explorer"` and
//! `version: 1`. The host sends an `action`:
//! - `{action: "select", test: 34}`: explain test point 34;
//! - `{action: "weight", train: 5, weight: 0}`: put training point 5 on the scrubber at
//!   weight 0 (0 removes it, 1 is as trained, up to 3);
//! - `{action: "dataset", id: "iris"}`: switch to a built-in dataset;
//! - `{action: "scores"}`: send the scores now.
//!
//! The explorer answers with `event: "scores"` ([`Scores`]) after every view it draws
//! and when asked, and with `event: "error"` when a well-formed command cannot apply
//! (a test point that does not exist, an unknown dataset). A message of any other shape
//! (unknown fields or actions, wrong types, another version) is ignored: nothing in a
//! message is ever executed, only matched against these four commands.
//!
//! Only one origin may talk to the explorer: the page's own, or the one named by
//! `?host=https://docs.example.com`; messages from any other origin are dropped, and
//! replies go to that origin only (scores of private data never reach another site).

use serde::{Deserialize, Serialize};

/// The `type` of every message.
pub const TYPE: &str = "attribution-explorer";
/// The version of this API.
pub const VERSION: u32 = 1;

/// What a host can ask.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Explain test point `test`.
    Select {
        /// Test point index.
        test: usize,
    },
    /// Put training point `train` on the scrubber at `weight`.
    Weight {
        /// Training point index.
        train: usize,
        /// Its weight, 0 to 3.
        weight: f64,
    },
    /// Switch to built-in dataset `id`.
    Dataset {
        /// Its identifier (`moons`, `iris`, …).
        id: String,
    },
    /// Send the scores now.
    Scores,
}

/// A message as it arrives: every field the API knows, nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    action: String,
    #[serde(default)]
    test: Option<usize>,
    #[serde(default)]
    train: Option<usize>,
    #[serde(default)]
    weight: Option<f64>,
    #[serde(default)]
    id: Option<String>,
}

impl Wire {
    /// The command this message is, if it is exactly one of them.
    pub fn command(self) -> Option<Command> {
        if self.kind != TYPE || self.version != VERSION {
            return None;
        }
        let Wire { action, test, train, weight, id, .. } = self;
        match (action.as_str(), test, train, weight, id) {
            ("select", Some(test), None, None, None) => Some(Command::Select { test }),
            ("weight", None, Some(train), Some(w), None) if (0.0..=3.0).contains(&w) => {
                Some(Command::Weight { train, weight: w })
            }
            ("dataset", None, None, None, Some(id)) if id.len() <= 64 => Some(Command::Dataset { id }),
            ("scores", None, None, None, None) => Some(Command::Scores),
            _ => None,
        }
    }
}

/// The command in a JSON text (hosts' messages arrive as JavaScript values; this is
/// the same reading, for tests and tools).
pub fn parse_json(text: &str) -> Option<Command> {
    serde_json::from_str::<Wire>(text).ok()?.command()
}

/// The explorer's answer: the explained point and every training point's score.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// Always [`TYPE`].
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// Always `"scores"`.
    pub event: &'static str,
    /// The dataset shown (`upload` for a file).
    pub dataset: String,
    /// The explained test point (`None` for a query point placed on the plot).
    pub test: Option<usize>,
    /// Its label (class index or value).
    pub label: f64,
    /// Its prediction (probability of its label, or the value).
    pub prediction: f64,
    /// Its loss.
    pub loss: f64,
    /// Every training point's predicted change of that loss when it is removed
    /// (`pred_loo_dloss`; positive: the point helps this prediction).
    pub scores: Vec<f64>,
    /// The training point on the scrubber and its weight.
    pub scrubbed: Option<(usize, f64)>,
    /// The view's query string (the link to it, without data).
    pub query: String,
}

/// The explorer's report that a well-formed command could not apply.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// Always [`TYPE`].
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// Always `"error"`.
    pub event: &'static str,
    /// Why, in words.
    pub message: String,
}

impl Refusal {
    /// A refusal saying `message`.
    pub fn new(message: String) -> Self {
        Refusal { kind: TYPE, version: VERSION, event: "error", message }
    }
}

/// Whether `s` is an origin a link may name in `host=`: `http(s)://` and a host, with
/// an optional port, nothing else.
pub fn is_origin(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else {
        return false;
    };
    let (host, port) = rest.rsplit_once(':').map_or((rest, None), |(h, p)| (h, Some(p)));
    !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_commands_are_read() {
        let m = |body: &str| parse_json(&format!(r#"{{"type":"attribution-explorer","version":1,{body}}}"#));
        assert_eq!(m(r#""action":"select","test":34"#), Some(Command::Select { test: 34 }));
        assert_eq!(
            m(r#""action":"weight","train":5,"weight":0"#),
            Some(Command::Weight { train: 5, weight: 0.0 })
        );
        assert_eq!(m(r#""action":"dataset","id":"iris""#), Some(Command::Dataset { id: "iris".into() }));
        assert_eq!(m(r#""action":"scores""#), Some(Command::Scores));
    }

    #[test]
    fn any_other_shape_is_ignored() {
        let m = |body: &str| parse_json(&format!(r#"{{"type":"attribution-explorer","version":1,{body}}}"#));
        for body in [
            r#""action":"eval","code":"alert(1)""#,
            r#""action":"select""#,
            r#""action":"select","test":-1"#,
            r#""action":"select","test":"3""#,
            r#""action":"select","test":3,"train":1"#,
            r#""action":"weight","train":5,"weight":7"#,
            r#""action":"weight","train":5"#,
            r#""action":"select","test":3,"extra":true"#,
        ] {
            assert_eq!(m(body), None, "{body}");
        }
        assert_eq!(parse_json(r#"{"type":"attribution-explorer","version":2,"action":"scores"}"#), None);
        assert_eq!(parse_json(r#"{"type":"other","version":1,"action":"scores"}"#), None);
        assert_eq!(parse_json("[1,2]"), None);
        assert_eq!(parse_json("\"select\""), None);
    }

    #[test]
    fn only_plain_origins_may_be_named() {
        for ok in ["https://docs.example.com", "http://127.0.0.1:8000", "https://a-b.c"] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "",
            "docs.example.com",
            "https://x.com/path",
            "javascript:alert(1)",
            "https://x:y",
            "https://",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
