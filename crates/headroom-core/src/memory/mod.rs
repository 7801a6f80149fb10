//! Memory: what each runtime allocates, per device, for a scenario.

pub mod compute_buffer;
pub mod cpu_repack;
pub mod kv_cache;
pub mod llama_cpp;
pub mod mlx;
pub mod ollama;
pub mod overhead;
pub mod projector;
pub mod recurrent_state;
pub mod transformers;
pub mod vllm;

use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// Bytes by purpose; the JSON contract's `breakdown` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub weights: Bytes,
    pub kv_cache: Bytes,
    /// Compute buffers and activations.
    pub compute: Bytes,
    /// Logits (output) buffers.
    pub output: Bytes,
    /// Backend context and runtime overhead.
    pub overhead: Bytes,
    /// A vision-language model's projector (`mmproj`): its weights and clip compute buffer.
    #[serde(default, skip_serializing_if = "Bytes::is_zero")]
    pub projector: Bytes,
}

impl Breakdown {
    pub fn total(&self) -> Bytes {
        self.weights + self.kv_cache + self.compute + self.output + self.overhead + self.projector
    }

    pub fn add(&mut self, other: &Breakdown) {
        self.weights += other.weights;
        self.kv_cache += other.kv_cache;
        self.compute += other.compute;
        self.output += other.output;
        self.overhead += other.overhead;
        self.projector += other.projector;
    }
}
