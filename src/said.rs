//! A sentence made where the reader's language is not known (the engine, the worker):
//! the key of its text in [`crate::text`] and its values, worded by whoever shows it
//! ([`Said::words`]). The page words it in its language, so a switch rewords what is
//! already on screen; the CLI words it in English (its `Display`).
//!
//! Numbers are formatted when the sentence is made, the same in every language.

use crate::lang::Lang;
use crate::text::{fill, text, Text};
use serde::{Deserialize, Serialize};

/// A sentence: a text and its named values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Said {
    /// Which text.
    pub key: Text,
    /// Its values by name.
    #[serde(default)]
    pub values: Vec<(String, Value)>,
}

/// A value in a sentence: already text (a number, a name from the user's file), or a
/// sentence of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Shown as it is.
    Plain(String),
    /// Worded in the same language.
    Said(Said),
}

impl Said {
    /// The text `key` with no values yet.
    pub fn new(key: Text) -> Self {
        Self { key, values: vec![] }
    }

    /// A sentence not yet in the tables (an engine error's English words), shown as it
    /// is in every language.
    pub fn untranslated(words: String) -> Self {
        Self::new(Text::Untranslated).with("words", words)
    }

    /// With the value `name` shown as `value`.
    pub fn with(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.values.push((name.into(), Value::Plain(value.to_string())));
        self
    }

    /// With the value `name` a sentence worded in the same language.
    pub fn with_said(mut self, name: &str, value: Said) -> Self {
        self.values.push((name.into(), Value::Said(value)));
        self
    }

    /// In words, in `lang`.
    pub fn words(&self, lang: Lang) -> String {
        let values: Vec<(&str, String)> = self
            .values
            .iter()
            .map(|(n, v)| {
                let v = match v {
                    Value::Plain(s) => s.clone(),
                    Value::Said(s) => s.words(lang),
                };
                (n.as_str(), v)
            })
            .collect();
        let refs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
        fill(text(lang, self.key), &refs)
    }
}

/// Words not yet in the tables (see [`Said::untranslated`]).
impl From<String> for Said {
    fn from(words: String) -> Self {
        Said::untranslated(words)
    }
}

/// Words not yet in the tables (see [`Said::untranslated`]).
impl From<&str> for Said {
    fn from(words: &str) -> Self {
        Said::untranslated(words.into())
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words(Lang::En))
    }
}

/// `Display` (the English wording) and `Error` for an error type with a `said()`.
#[macro_export]
macro_rules! said_error {
    ($error:ty) => {
        impl std::fmt::Display for $error {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.said().fmt(f)
            }
        }

        impl std::error::Error for $error {}
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_is_worded_in_either_language_with_its_values() {
        let s = Said::new(Text::LissaRanSteps).with("n", 12);
        assert_eq!(s.words(Lang::En), "LiSSA ran 12 steps.");
        assert_eq!(s.words(Lang::Ja), "LiSSA は 12 ステップ実行しました。");
        assert_eq!(s.to_string(), s.words(Lang::En));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Said>(&json).unwrap(), s, "it crosses to the page and back");
    }
}
