//! Hugging Face transformers with PyTorch: weights, a DynamicCache, and prefill activations,
//! which depend on the attention implementation (eager materializes the score matrix).

use super::kv_cache::{self, KvElement, KvLayout};
use super::overhead;
use super::Breakdown;
use crate::hardware::DeviceSpec;
use crate::model::ModelSpec;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    Eager,
    Sdpa,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformersSettings {
    /// Prompt plus generated tokens; 0 means the trained length.
    pub n_ctx: u32,
    pub batch: u32,
    pub attention: Attention,
}

impl Default for TransformersSettings {
    fn default() -> Self {
        TransformersSettings {
            n_ctx: 4096,
            batch: 1,
            attention: Attention::Sdpa,
        }
    }
}

/// Bytes of one cached element: the model's dtype, at least 16 bits.
pub fn kv_element(m: &ModelSpec) -> KvElement {
    KvElement::Bytes(m.native_dtype.bytes().max(2.0).floor())
}

/// KV bytes per token: the DynamicCache keeps K and V of every layer (an MLA model's decompressed
/// K and V per head).
pub fn kv_bytes_per_token(m: &ModelSpec) -> u64 {
    let e = kv_element(m);
    let per_layer = kv_cache::position_bytes(m, KvLayout::PerHead, 1, e, e);
    per_layer as u64 * u64::from(m.n_layer)
}

pub fn allocate(
    m: &ModelSpec,
    weights_total: u64,
    gpu: Option<&DeviceSpec>,
    s: &TransformersSettings,
) -> Breakdown {
    let n = u64::from(m.context_or_trained(s.n_ctx));
    let b = u64::from(s.batch.max(1));
    let e = u64::from(m.n_embd);
    let ff = match m.moe {
        Some(moe) => {
            u64::from(moe.expert_ff) * u64::from(moe.n_expert_used) + u64::from(moe.shared_ff)
        }
        None => u64::from(m.n_ff),
    };
    let elt = m.native_dtype.bytes().max(2.0) as u64;
    // One layer's prefill activations are live at a time: hidden states, QKV and the FFN.
    let q = u64::from(m.n_head) * u64::from(m.head_dim_k);
    let linear = b * n * (4 * e + 3 * q + 3 * ff) * elt;
    let scores = match s.attention {
        // eager: scores in the model dtype plus the softmax upcast to f32
        Attention::Eager => b * u64::from(m.n_head) * n * n * (elt + 4),
        Attention::Sdpa => 0,
    };
    Breakdown {
        weights: Bytes(weights_total),
        kv_cache: Bytes(kv_bytes_per_token(m) * n * b),
        compute: Bytes(linear + scores),
        // generate() keeps only the last position's logits during prefill (logits_to_keep=1), in f32
        output: Bytes(b * u64::from(m.n_vocab) * 4),
        overhead: gpu.map_or(Bytes::ZERO, overhead::backend_overhead),
        projector: Bytes::ZERO,
    }
}
