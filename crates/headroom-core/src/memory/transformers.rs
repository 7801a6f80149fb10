//! Hugging Face transformers with PyTorch: weights, a DynamicCache, and prefill activations,
//! which depend on the attention implementation (eager materializes the score matrix).

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

pub fn kv_bytes_per_token(m: &ModelSpec) -> u64 {
    let elt = m.native_dtype.bytes().max(2.0) as u64;
    let per_layer = match m.mla {
        // transformers' DeepSeek-V3 caches the decompressed K and V per head.
        Some(mla) => {
            u64::from(m.n_head)
                * u64::from(mla.qk_nope_head_dim + mla.qk_rope_head_dim + mla.v_head_dim)
        }
        None => u64::from(m.n_head_kv) * u64::from(m.head_dim_k + m.head_dim_v),
    };
    per_layer * elt * u64::from(m.n_layer)
}

pub fn allocate(
    m: &ModelSpec,
    weights_total: u64,
    gpu: Option<&DeviceSpec>,
    s: &TransformersSettings,
) -> Breakdown {
    let n = u64::from(if s.n_ctx == 0 { m.n_ctx_train } else { s.n_ctx });
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
