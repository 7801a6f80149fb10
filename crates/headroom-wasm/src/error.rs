//! The facade's one error type: a lower-case message naming what was wrong, thrown to JavaScript.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebError(String);

impl WebError {
    pub fn new(message: impl Into<String>) -> WebError {
        WebError(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebError {}

macro_rules! from_display {
    ($($t:ty),*) => {$(
        impl From<$t> for WebError {
            fn from(e: $t) -> WebError {
                WebError(e.to_string())
            }
        }
    )*};
}

from_display!(
    headroom_data::DataError,
    headroom_data::LookupError,
    headroom_data::RequestError,
    headroom_data::ProfileError,
    headroom_formats::FormatError,
    headroom_core::model::ModelError,
    headroom_core::quant::QuantParseError,
    serde_wasm_bindgen::Error
);
