//! Readers over bytes: GGUF and safetensors headers, Hugging Face config.json. Pure and bounded:
//! every length read from a file is checked against a limit before anything is allocated.
#![deny(clippy::disallowed_methods)]

pub mod error;
pub mod gguf;
pub mod gguf_spec;
pub mod hf_config;
pub mod hf_weights;
pub mod import;
pub mod ollama;
pub mod safetensors;
pub mod vision;

pub use error::FormatError;
pub use gguf::{parse_header as parse_gguf_header, GgufHeader, MetaValue};
pub use gguf_spec::{file_type as gguf_file_type, to_model_spec};
