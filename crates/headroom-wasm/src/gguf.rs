//! A GGUF file's header, as the page reads it from the first bytes of a dropped file.

use crate::error::WebError;
use crate::file_models;
use crate::request::{self, ModelFile, ModelInput};
use headroom_core::quant::stored_from_gguf;
use headroom_formats::{gguf, gguf_spec};
use serde::Serialize;
use std::rc::Rc;

/// A model read from a header, as a request names it: `{ gguf: N }`, held in this instance.
#[derive(Clone, Debug, Serialize)]
pub struct GgufModel {
    pub gguf: u32,
}

/// Either the model the header describes, or how many bytes from the file's start the header needs
/// (the prefix given ended inside it).
#[derive(Clone, Debug, Serialize)]
pub struct GgufRead {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<GgufModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_bytes: Option<u64>,
}

/// Reads the header from `prefix`, as `headroom fit --model FILE.gguf` does from the file, and
/// holds the model it describes (`file_models`).
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
    // checked once, as a request's model is checked
    let file = Rc::new(file);
    request::supplied(&ModelInput::File(file.clone()))?;
    let file = Rc::try_unwrap(file).unwrap_or_else(|f| (*f).clone());
    Ok(GgufRead {
        model: Some(GgufModel {
            gguf: file_models::hold(file),
        }),
        need_bytes: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{from_value, scenario};
    use headroom_data::{ScenarioRequest, SuppliedModel};
    use serde_json::json;

    const TINY: &[u8] = include_bytes!("../../../tests/fixtures/formats/tiny-llama-q4_k_m.gguf");

    fn read_whole(bytes: &[u8]) -> u32 {
        let mut len = 64;
        loop {
            let got = read(&bytes[..len.min(bytes.len())]).unwrap();
            if let Some(m) = got.model {
                return m.gguf;
            }
            len = got.need_bytes.unwrap() as usize;
        }
    }

    #[test]
    fn a_held_file_builds_the_scenario_the_cli_builds_from_the_same_header() {
        let id = read_whole(TINY);
        let r = from_value(json!({"model": {"gguf": id}, "hardware": "rtx-4090"})).unwrap();
        let got = scenario(&r).unwrap();
        // what `headroom fit --model tiny-llama-q4_k_m.gguf` builds (crates/headroom-cli/src/model_file.rs)
        let h = gguf::parse_header(TINY).unwrap();
        let want = headroom_data::build(
            &ScenarioRequest {
                hardware: vec!["rtx-4090".into()],
                ..ScenarioRequest::default()
            },
            Some(SuppliedModel {
                spec: gguf_spec::to_model_spec(&h).unwrap(),
                weights: Some((stored_from_gguf(&h.tensors), "Q4_K_M".into())),
                native_quant: None,
            }),
        )
        .unwrap();
        assert_eq!(got, want);
        // tests/fixtures/formats/README.md: a 2-layer llama, 256 wide
        assert_eq!((got.model.n_layer, got.model.n_embd), (2, 256));
    }

    #[test]
    fn the_oldest_file_is_let_go_and_an_unknown_one_is_named() {
        let first = read_whole(TINY);
        for _ in 0..file_models::MAX_HELD {
            read_whole(TINY);
        }
        let e = from_value(json!({"model": {"gguf": first}})).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("model: no file {first} is held")),
            "{e}"
        );
        for bad in [
            json!({"gguf": -1}),
            json!({"gguf": 1.5}),
            json!({"gguf": 1, "x": 2}),
            json!({"spec": {}}),
        ] {
            assert!(from_value(json!({"model": bad}))
                .unwrap_err()
                .message()
                .starts_with("model:"));
        }
    }
}
