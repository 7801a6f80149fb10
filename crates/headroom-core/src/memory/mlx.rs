//! MLX (mlx_lm, LM Studio's MLX engine): weights, a KV cache grown in 256-token steps, and the
//! activations of one prefill chunk, all inside the Mac GPU's working set.

use super::kv_cache::{self, KvElement, KvLayout};
use super::Breakdown;
use crate::model::ModelSpec;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlxSettings {
    /// Context to plan for (prompt + generated tokens); 0 means the trained length.
    pub n_ctx: u32,
    /// `--prefill-step-size` (mlx_lm default 2048).
    pub prefill_step: u32,
    /// `--kv-bits`: quantized KV cache (group size 64); `None` keeps the model's dtype.
    pub kv_bits: Option<u8>,
    /// Run by LM Studio's MLX engine (mlx-engine over mlx_lm) rather than mlx_lm itself.
    #[serde(default)]
    pub lm_studio: bool,
}

impl Default for MlxSettings {
    fn default() -> Self {
        MlxSettings {
            n_ctx: 4096,
            prefill_step: 2048,
            kv_bits: None,
            lm_studio: false,
        }
    }
}

/// mlx_lm's `KVCache.step`: the cache grows in blocks of 256 tokens.
pub const KV_STEP: u32 = 256;

/// Bytes of one cached element: `--kv-bits` affine quantization with a 16-bit scale and bias per
/// 64 elements, else the model's dtype (at least 16 bits).
pub fn kv_element(m: &ModelSpec, kv_bits: Option<u8>) -> KvElement {
    KvElement::Bytes(match kv_bits {
        Some(b) => (f64::from(b) + 32.0 / 64.0) / 8.0,
        None => m.native_dtype.bytes().max(2.0),
    })
}

/// KV bytes per token over the full-attention layers; an MLA model caches its latent and rope
/// key (mlx_lm/models/deepseek_v3.py at d78bf58).
pub fn kv_bytes_per_token(m: &ModelSpec, kv_bits: Option<u8>) -> f64 {
    let e = kv_element(m, kv_bits);
    kv_cache::position_bytes(m, KvLayout::Latent, 1, e, e) * f64::from(m.n_full_attn_layers())
}

pub fn allocate(m: &ModelSpec, weights_total: u64, s: &MlxSettings) -> (Breakdown, u32) {
    let n_ctx = m.context_or_trained(s.n_ctx);
    let cells = n_ctx.div_ceil(KV_STEP) * KV_STEP;
    let mut kv = kv_bytes_per_token(m, s.kv_bits) * f64::from(cells);
    if let Some(sw) = &m.sliding_window {
        // mlx_lm's RotatingKVCache keeps `window` tokens for sliding-window layers.
        let swa = (0..m.n_layer).filter(|&il| m.is_swa_layer(il)).count() as f64;
        let bf16 = KvElement::Bytes(2.0);
        let per_layer = kv_cache::position_bytes(m, KvLayout::Latent, 1, bf16, bf16);
        kv += swa * per_layer * f64::from(sw.window.min(cells));
    }
    let chunk = u64::from(s.prefill_step.min(n_ctx).max(1));
    let e = u64::from(m.n_embd);
    let ff = match m.moe {
        Some(moe) => {
            u64::from(moe.expert_ff) * u64::from(moe.n_expert_used) + u64::from(moe.shared_ff)
        }
        None => u64::from(m.n_ff),
    };
    // bf16 activations of one chunk: hidden states, QKV, gate/up/act; attention scores of the chunk
    // against the whole cache for all heads; logits of the chunk.
    let hidden = chunk * (4 * e + 3 * ff) * 2;
    // MLX's fused full-attention kernel never materializes the scores; it serves matching Q/V head
    // dims of 64, 72, 80, 96 and 128 (mlx/backend/metal/scaled_dot_product_attention.cpp,
    // `has_fused_kernel` and `use_fallback`, which prefers the unfused path for 192 and 256).
    let fused = m.mla.is_none()
        && m.head_dim_k == m.head_dim_v
        && matches!(m.head_dim_k, 64 | 72 | 80 | 96 | 128);
    let scores = if fused {
        0
    } else {
        u64::from(m.n_head) * chunk * u64::from(cells) * 2
    };
    let logits = chunk * u64::from(m.n_vocab) * 2;
    let b = Breakdown {
        weights: Bytes(weights_total),
        kv_cache: Bytes(kv as u64),
        compute: Bytes(hidden + scores.max(logits)),
        output: Bytes(u64::from(m.n_vocab) * 4),
        overhead: Bytes::ZERO,
        projector: Bytes::ZERO,
    };
    (b, cells)
}
