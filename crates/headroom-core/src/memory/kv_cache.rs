//! KV cache size: llama.cpp's cells per layer (context padding, sliding windows, MLA) times row bytes,
//! and for hybrid models the recurrent layers' fixed state in place of their KV rows.

use super::recurrent_state;
use crate::model::ModelSpec;
use crate::quant::GgmlType;
use crate::units::Bytes;

/// llama.cpp pads the context to a multiple of 256 cells (llama-context.cpp, `GGML_PAD(n_ctx, 256)`);
/// measured: n_ctx 1000 -> 1024, 5000 -> 5120, 10000 -> 10240 (llamacpp_cpu_buffers_qwen3.csv).
pub const LLAMA_CPP_CTX_PAD: u32 = 256;

pub fn pad_ctx(n_ctx: u32, pad: u32) -> u32 {
    if pad == 0 {
        return n_ctx;
    }
    n_ctx.div_ceil(pad).saturating_mul(pad)
}

/// How a runtime caches an MLA model's attention: the compressed latent, or K and V per head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvLayout {
    /// The latent plus the rope part in K, no separate V: llama.cpp (llama-kv-cache.cpp:
    /// `has_v = !is_mla`), vLLM's MLA backends, and mlx-lm (mlx_lm/models/deepseek_v3.py at
    /// d78bf58: `cache.update_and_fetch(kv_latent, k_pe)`).
    Latent,
    /// K (`qk_nope + qk_rope` wide) and V (`v_head_dim` wide) for every query head: transformers'
    /// DeepSeek-V3 caches the decompressed states.
    PerHead,
}

/// Bytes one cached element takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KvElement {
    /// A ggml cache type (`-ctk`/`-ctv`), rounded up to whole blocks per row.
    Ggml(GgmlType),
    /// A flat size per element (bf16 2, fp8 1, MLX's affine 4-bit (4 + 32/64) / 8).
    Bytes(f64),
}

impl KvElement {
    fn bytes_for(self, n: u64) -> f64 {
        match self {
            KvElement::Ggml(t) => t.bytes_for(n) as f64,
            KvElement::Bytes(b) => n as f64 * b,
        }
    }
}

/// Width of one token's K and V rows in one layer (elements) on one of `tp` tensor-parallel
/// shards. KV heads are split across the shards and replicated when there are fewer heads than
/// shards; an MLA latent is replicated on every shard.
pub fn row_elements(m: &ModelSpec, layout: KvLayout, tp: u32) -> (u64, u64) {
    let tp = u64::from(tp.max(1));
    match (m.mla, layout) {
        (Some(mla), KvLayout::Latent) => (
            u64::from(mla.kv_lora_rank) + u64::from(mla.qk_rope_head_dim),
            0,
        ),
        (Some(mla), KvLayout::PerHead) => {
            let heads = (u64::from(m.n_head) / tp).max(1);
            (
                heads * u64::from(mla.qk_nope_head_dim + mla.qk_rope_head_dim),
                heads * u64::from(mla.v_head_dim),
            )
        }
        (None, _) => {
            let heads = (u64::from(m.n_head_kv) / tp).max(1);
            (
                heads * u64::from(m.head_dim_k),
                heads * u64::from(m.head_dim_v),
            )
        }
    }
}

/// Bytes one token's K and V rows take in one attention layer: the one per-position KV size every
/// runtime's memory model and the speed model's reads are built from.
pub fn position_bytes(m: &ModelSpec, layout: KvLayout, tp: u32, k: KvElement, v: KvElement) -> f64 {
    let (ke, ve) = row_elements(m, layout, tp);
    k.bytes_for(ke) + v.bytes_for(ve)
}

/// Width of one token's K and V rows in layer `il` (elements), as llama.cpp stores them.
pub fn kv_row_elements(m: &ModelSpec, _il: u32) -> (u64, u64) {
    row_elements(m, KvLayout::Latent, 1)
}

/// Bytes for `cells` tokens of one layer's K and V in the given cache types.
fn layer_bytes(
    m: &ModelSpec,
    il: u32,
    cells: u64,
    type_k: GgmlType,
    type_v: GgmlType,
) -> (u64, u64) {
    let (k, v) = kv_row_elements(m, il);
    (
        type_k.bytes_for(k).saturating_mul(cells),
        type_v.bytes_for(v).saturating_mul(cells),
    )
}

/// Settings that decide the cache's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KvSettings {
    /// Total cells, already padded (all sequences together, as llama.cpp's unified cache holds them).
    pub n_ctx: u32,
    pub n_seq: u32,
    pub n_ubatch: u32,
    pub type_k: GgmlType,
    pub type_v: GgmlType,
    /// `--swa-full`: sliding-window layers keep the whole context.
    pub swa_full: bool,
}

/// Cells a layer holds: the context, or for a sliding-window layer the window plus one
/// micro-batch per sequence, padded. llama.cpp's default KV layout (`kv_unified = false`) gives
/// each of the `n_seq` sequences its own stream of `n_ctx / n_seq` cells, so a sliding-window layer
/// holds `n_seq x GGML_PAD(min(n_ctx / n_seq, n_swa + n_ubatch), 256)` cells
/// (llama-kv-cache-iswa.cpp: `size_swa = GGML_PAD(min(size_base, n_swa*(unified ? n_seq_max : 1)
/// + n_ubatch), 256)`, one stream per sequence).
pub fn layer_cells(m: &ModelSpec, il: u32, s: &KvSettings) -> u64 {
    let full = u64::from(s.n_ctx);
    match &m.sliding_window {
        Some(sw) if !s.swa_full && m.is_swa_layer(il) => {
            let n_seq = u64::from(s.n_seq.max(1));
            let per_seq = full / n_seq;
            let want = (u64::from(sw.window) + u64::from(s.n_ubatch)).min(per_seq);
            let padded = want.div_ceil(u64::from(LLAMA_CPP_CTX_PAD)) * u64::from(LLAMA_CPP_CTX_PAD);
            (padded * n_seq).min(full)
        }
        _ => full,
    }
}

/// Cache bytes of one layer: K and V together, or for a recurrent layer its conv and SSM state
/// for `n_seq` sequences (llama.cpp counts both as the context's memory; see `recurrent_state`).
pub fn layer_bytes_total(m: &ModelSpec, il: u32, s: &KvSettings) -> Bytes {
    if let Some(ssm) = m.ssm.as_ref().filter(|_| m.is_recurrent_layer(il)) {
        return recurrent_state::layer_bytes(ssm, s.n_seq);
    }
    let (k, v) = layer_bytes(m, il, layer_cells(m, il, s), s.type_k, s.type_v);
    Bytes(k.saturating_add(v))
}

/// Cache bytes per layer, as `layer_bytes_total`.
pub fn per_layer(m: &ModelSpec, s: &KvSettings) -> Vec<Bytes> {
    (0..m.n_layer)
        .map(|il| layer_bytes_total(m, il, s))
        .collect()
}

/// The whole cache.
pub fn total(m: &ModelSpec, s: &KvSettings) -> Bytes {
    per_layer(m, s).into_iter().sum()
}

/// Bytes one more token of context costs once the sliding windows are full (full-attention layers
/// only; recurrent layers' state does not grow with the context).
pub fn bytes_per_token(m: &ModelSpec, type_k: GgmlType, type_v: GgmlType) -> Bytes {
    Bytes(
        (0..m.n_layer)
            .filter(|&il| !m.is_swa_layer(il) && !m.is_recurrent_layer(il))
            .map(|il| {
                let (k, v) = layer_bytes(m, il, 1, type_k, type_v);
                k + v
            })
            .sum(),
    )
}

/// The cache types llama.cpp accepts for `-ctk`/`-ctv`.
pub const CACHE_TYPES: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::IQ4_NL,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::llama3_8b;
    use crate::model::{Mla, SlidingWindow};

    fn settings(n_ctx: u32, t: GgmlType) -> KvSettings {
        KvSettings {
            n_ctx,
            n_seq: 1,
            n_ubatch: 512,
            type_k: t,
            type_v: t,
            swa_full: false,
        }
    }

    #[test]
    fn llama3_8b_gqa_cache_matches_llama_cpp_log() {
        // 32 layers x 8 kv heads x 128 x 2 (K, V) x 2 bytes = 131072 B/token; x 8192 = 1024 MiB,
        // as llama.cpp printed: "KV self size 1024.00 MiB" (memory_measurements.csv).
        let m = llama3_8b();
        assert_eq!(
            bytes_per_token(&m, GgmlType::F16, GgmlType::F16),
            Bytes(131072)
        );
        assert_eq!(
            total(&m, &settings(8192, GgmlType::F16)),
            Bytes(1024 * Bytes::MIB)
        );
        // q8_0 rows: 1024 elements = 32 blocks x 34 bytes = 1088 bytes instead of 2048.
        assert_eq!(
            bytes_per_token(&m, GgmlType::Q8_0, GgmlType::Q8_0),
            Bytes(32 * 2 * 1088)
        );
    }

    #[test]
    fn mla_caches_latent_only() {
        // DeepSeek-V3 config: kv_lora_rank 512, qk_rope_head_dim 64, 61 layers:
        // (512 + 64) x 2 bytes x 61 = 70272 bytes per token, no V rows.
        let mut m = llama3_8b();
        m.n_layer = 61;
        m.mla = Some(Mla {
            q_lora_rank: Some(1536),
            kv_lora_rank: 512,
            qk_rope_head_dim: 64,
            qk_nope_head_dim: 128,
            v_head_dim: 128,
        });
        assert_eq!(
            bytes_per_token(&m, GgmlType::F16, GgmlType::F16),
            Bytes(70272)
        );
    }

    #[test]
    fn sliding_window_layers_hold_window_plus_ubatch() {
        // A window of 1024 on 5 of every 6 layers (Gemma 3's pattern): at n_ctx 32768 a local
        // layer holds pad(1024 + 512, 256) = 1536 cells.
        let mut m = llama3_8b();
        m.n_layer = 6;
        m.sliding_window = Some(SlidingWindow {
            window: 1024,
            layers: vec![true, true, true, true, true, false],
        });
        let s = settings(32768, GgmlType::F16);
        assert_eq!(layer_cells(&m, 0, &s), 1536);
        assert_eq!(layer_cells(&m, 5, &s), 32768);
        let row = 8 * 128 * 2 * 2; // K+V bytes per cell
        assert_eq!(total(&m, &s), Bytes((5 * 1536 + 32768) * row));
        assert_eq!(
            layer_cells(
                &m,
                0,
                &KvSettings {
                    swa_full: true,
                    ..s
                }
            ),
            32768
        );
        // -np 4 at n_ctx 32768: four streams of 8192 cells, each holding pad(1024 + 512, 256) =
        // 1536 local cells: 4 x 1536 = 6144. Measured on Gemma-3-1B (window 512, 22 of 26 layers
        // local, 1 KiB per cell per layer) at -c 8192 -np 4: 4 x pad(512 + 512) = 4096 cells,
        // llama.cpp's 88.00 MiB SWA buffer (tests/fixtures/ground-truth/llama.cpp-cpu/raw/memory/).
        let s4 = KvSettings { n_seq: 4, ..s };
        assert_eq!(layer_cells(&m, 0, &s4), 6144);
        assert_eq!(layer_cells(&m, 5, &s4), 32768);
    }

    #[test]
    fn hybrid_attention_layers_use_n_ctx_and_recurrent_layers_n_seq() {
        // Granite-4.0-H-Tiny shape: 4 attention layers x 4 kv heads x 128 x 2 (K, V) x 2 bytes
        // = 8192 bytes per token; the 36 Mamba-2 layers add nothing per token.
        let m = crate::model::fixtures::granite_h_tiny();
        assert_eq!(
            bytes_per_token(&m, GgmlType::F16, GgmlType::F16),
            Bytes(8192)
        );
        // Each recurrent layer holds (9984 + 393216) x 4 = 1,612,800 bytes per sequence
        // (recurrent_state tests): at n_ctx 4096, -np 1: 8192 x 4096 + 36 x 1,612,800.
        let s = settings(4096, GgmlType::F16);
        let state = 1_612_800u64;
        assert_eq!(total(&m, &s), Bytes(8192 * 4096 + 36 * state));
        assert_eq!(layer_bytes_total(&m, 0, &s), Bytes(state));
        assert_eq!(layer_bytes_total(&m, 5, &s), Bytes(2048 * 4096));
        // Doubling the context doubles only the attention part.
        let s2 = settings(8192, GgmlType::F16);
        assert_eq!(total(&m, &s2), Bytes(8192 * 8192 + 36 * state));
        // -np 4 (same total context): four states per recurrent layer, attention unchanged.
        let s4 = KvSettings { n_seq: 4, ..s };
        assert_eq!(total(&m, &s4), Bytes(8192 * 4096 + 36 * 4 * state));
        // The cache types do not touch the F32 state.
        let q8 = settings(4096, GgmlType::Q8_0);
        assert_eq!(layer_bytes_total(&m, 0, &q8), Bytes(state));
    }

    #[test]
    fn padding_rounds_up_to_256() {
        assert_eq!(pad_ctx(1000, 256), 1024);
        assert_eq!(pad_ctx(5000, 256), 5120);
        assert_eq!(pad_ctx(10240, 256), 10240);
    }
}
