//! A GGUF file's header, as the page reads it from the first bytes of a dropped file.

use crate::error::WebError;
use crate::request::{self, ModelFile, ModelInput};
use headroom_core::quant::stored_from_gguf;
use headroom_formats::{gguf, gguf_spec};
use serde::Serialize;

/// Either the model the header describes, or how many bytes from the file's start the header needs
/// (the prefix given ended inside it).
#[derive(Clone, Debug, Serialize)]
pub struct GgufRead {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_bytes: Option<u64>,
}

/// Reads the header from `prefix`, as `headroom fit --model FILE.gguf` does from the file.
pub fn read(prefix: &[u8]) -> Result<GgufRead, WebError> {
    let h = match gguf::parse_header(prefix) {
        Ok(h) => h,
        Err(e) => {
            return match e.bytes_needed() {
                Some(n) if n > prefix.len() as u64 => Ok(GgufRead {
                    model: None,
                    need_bytes: Some(n),
                }),
                _ => Err(e.into()),
            }
        }
    };
    let spec = gguf_spec::to_model_spec(&h)?;
    let quant =
        gguf_spec::file_type(&h).map_or_else(|| "GGUF".to_string(), |m| m.name().to_string());
    let file = ModelFile {
        spec,
        weights: stored_from_gguf(&h.tensors),
        quant,
    };
    // the same checks the file gets when it comes back in a request
    let file = ModelInput::File(Box::new(file));
    request::supplied(&file)?;
    let ModelInput::File(file) = file else {
        return Err(WebError::new("gguf: not a file model"));
    };
    Ok(GgufRead {
        model: Some(*file),
        need_bytes: None,
    })
}
