//! A GGUF header's metadata into a `ModelSpec`, reading the keys llama.cpp reads
//! (gguf-py `gguf/constants.py` `Keys`, `src/llama-model.cpp` `load_hparams`), including the
//! `ssm.*` keys of hybrid Mamba-2 models.
//!
//! Every count is checked against its `headroom_core::model::limits` bound as it is read, before
//! anything is sized by it: a file that declares 822 million layers is refused at
//! `block_count`, never given a per-layer table.

use crate::error::FormatError;
use crate::gguf::{GgufHeader, MetaValue};
use headroom_core::model::limits::*;
use headroom_core::model::{Arch, Mla, ModelSpec, Moe, NativeDtype, SlidingWindow, Ssm};
use headroom_core::quant::GgufMix;

fn meta_err(key: &str, problem: impl Into<String>) -> FormatError {
    FormatError::Metadata {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// `general.file_type` (a `llama_ftype`, gguf-py `LlamaFileType`) as the mix it names; `None`
/// when absent or not a mix Headroom models.
pub fn file_type(h: &GgufHeader) -> Option<GgufMix> {
    use GgufMix::*;
    let ftype = h.get("general.file_type")?.as_u64()?;
    Some(match ftype {
        0 => F32,
        1 => F16,
        2 => Q4_0,
        3 => Q4_1,
        7 => Q8_0,
        8 => Q5_0,
        9 => Q5_1,
        10 => Q2_K,
        11 => Q3_K_S,
        12 => Q3_K_M,
        13 => Q3_K_L,
        14 => Q4_K_S,
        15 => Q4_K_M,
        16 => Q5_K_S,
        17 => Q5_K_M,
        18 => Q6_K,
        19 => IQ2_XXS,
        20 => IQ2_XS,
        21 => Q2_K_S,
        22 => IQ3_XS,
        23 => IQ3_XXS,
        24 => IQ1_S,
        25 => IQ4_NL,
        26 => IQ3_S,
        27 => IQ3_M,
        28 => IQ2_S,
        29 => IQ2_M,
        30 => IQ4_XS,
        31 => IQ1_M,
        32 => BF16,
        36 => TQ1_0,
        37 => TQ2_0,
        38 => MXFP4_MOE,
        _ => return None,
    })
}

struct Keys<'a> {
    h: &'a GgufHeader,
    arch: &'a str,
}

impl Keys<'_> {
    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch)
    }

    /// An integer, or for per-layer arrays the largest entry (llama.cpp's `get_key_or_arr`
    /// allows either; Headroom's spec holds one width per model).
    fn u32_opt(&self, suffix: &str) -> Result<Option<u32>, FormatError> {
        let key = self.key(suffix);
        let Some(v) = self.h.get(&key) else {
            return Ok(None);
        };
        let n = match v {
            MetaValue::SkippedArray { len, .. } => {
                return Err(meta_err(
                    &key,
                    format!(
                    "array of {len} entries, more than the {MAX_LAYERS} layers a model may have"
                ),
                ))
            }
            MetaValue::Array(items) => {
                let mut max = None;
                for item in items {
                    let n = item.as_u64().ok_or_else(|| {
                        meta_err(
                            &key,
                            format!("array of {}, expected integers", item.type_name()),
                        )
                    })?;
                    max = max.max(Some(n));
                }
                max.ok_or_else(|| meta_err(&key, "empty array"))?
            }
            v => v.as_u64().ok_or_else(|| {
                meta_err(
                    &key,
                    format!("expected a non-negative integer, found {}", v.type_name()),
                )
            })?,
        };
        u32::try_from(n)
            .map(Some)
            .map_err(|_| meta_err(&key, format!("{n} is too large")))
    }

    /// A count or size, refused above `max` (what no real model reaches) before anything is
    /// sized by it.
    fn bounded_opt(&self, suffix: &str, max: u32) -> Result<Option<u32>, FormatError> {
        match self.u32_opt(suffix)? {
            Some(n) if n > max => Err(meta_err(
                &self.key(suffix),
                format!("{n} is over the limit of {max}"),
            )),
            n => Ok(n),
        }
    }

    fn bounded_req(&self, suffix: &str, max: u32) -> Result<u32, FormatError> {
        self.bounded_opt(suffix, max)?
            .ok_or_else(|| meta_err(&self.key(suffix), "missing"))
    }

    /// A per-layer array under `suffix`, when the file has one: it must have one entry per layer.
    fn per_layer(&self, suffix: &str, n_layer: u32) -> Result<Option<&[MetaValue]>, FormatError> {
        let key = self.key(suffix);
        match self.h.get(&key) {
            Some(MetaValue::Array(items)) if items.len() != n_layer as usize => Err(meta_err(
                &key,
                format!("{} entries for {n_layer} layers", items.len()),
            )),
            Some(MetaValue::Array(items)) => Ok(Some(items)),
            Some(MetaValue::SkippedArray { len, .. }) => Err(meta_err(
                &key,
                format!("{len} entries for {n_layer} layers"),
            )),
            _ => Ok(None),
        }
    }
}

/// The model the header describes. Shapes come from the metadata; whether embeddings are tied
/// and whether attention has biases or Q/K norms come from which tensors the file holds.
pub fn to_model_spec(h: &GgufHeader) -> Result<ModelSpec, FormatError> {
    let arch_name = h
        .get("general.architecture")
        .ok_or_else(|| meta_err("general.architecture", "missing"))?
        .as_str()
        .ok_or_else(|| meta_err("general.architecture", "expected a string"))?;
    let k = Keys { h, arch: arch_name };
    let arch = match arch_name {
        "llama" => Arch::Llama,
        "qwen2" => Arch::Qwen2,
        "qwen3" => Arch::Qwen3,
        "qwen3moe" => Arch::Qwen3Moe,
        "gemma3" => Arch::Gemma3,
        "phi3" => Arch::Phi3,
        "deepseek2" => Arch::Deepseek2,
        "gpt-oss" => Arch::GptOss,
        "qwen3next" => Arch::Qwen3Next,
        "lfm2" => Arch::Lfm2,
        other => Arch::Other(other.to_string()),
    };
    let n_layer = k.bounded_req("block_count", MAX_LAYERS)?;
    let n_embd = k.bounded_req("embedding_length", MAX_EMBD)?;
    let n_head = k.bounded_req("attention.head_count", MAX_HEADS)?;
    if n_head == 0 {
        return Err(meta_err(&k.key("attention.head_count"), "must be positive"));
    }
    let mut n_head_kv = k
        .bounded_opt("attention.head_count_kv", MAX_HEADS)?
        .unwrap_or(n_head);
    let head_dim = n_embd / n_head;
    let mut head_dim_k = k
        .bounded_opt("attention.key_length", MAX_HEAD_DIM)?
        .unwrap_or(head_dim);
    let mut head_dim_v = k
        .bounded_opt("attention.value_length", MAX_HEAD_DIM)?
        .unwrap_or(head_dim);
    let n_ff = k.bounded_opt("feed_forward_length", MAX_FF)?.unwrap_or(0);
    let n_ctx_train = k.bounded_req("context_length", MAX_CTX)?;

    let mla = match k.bounded_opt("attention.kv_lora_rank", MAX_EMBD)? {
        None => None,
        Some(kv_lora_rank) => {
            let rope = k.bounded_req("rope.dimension_count", MAX_HEAD_DIM)?;
            // Files converted since llama.cpp stored MLA absorbed (2025) give the per-head sizes
            // under *_mla and the latent sizes under key_length/value_length.
            let k_mla = k
                .bounded_opt("attention.key_length_mla", MAX_HEAD_DIM)?
                .unwrap_or(head_dim_k);
            let v_mla = k
                .bounded_opt("attention.value_length_mla", MAX_HEAD_DIM)?
                .unwrap_or(head_dim_v);
            let nope = k_mla.checked_sub(rope).ok_or_else(|| {
                meta_err(
                    &k.key("attention.key_length"),
                    format!("{k_mla} is shorter than the rope dimension {rope}"),
                )
            })?;
            head_dim_k = k_mla;
            head_dim_v = v_mla;
            // The HF config counts one kv head per query head; absorbed files store 1.
            n_head_kv = n_head;
            Some(Mla {
                q_lora_rank: k
                    .bounded_opt("attention.q_lora_rank", MAX_EMBD)?
                    .filter(|&q| q > 0),
                kv_lora_rank,
                qk_rope_head_dim: rope,
                qk_nope_head_dim: nope,
                v_head_dim: v_mla,
            })
        }
    };

    let moe = match k.bounded_opt("expert_count", MAX_EXPERTS)? {
        Some(n_expert) if n_expert > 1 => {
            let expert_ff = k
                .bounded_opt("expert_feed_forward_length", MAX_FF)?
                .unwrap_or(n_ff);
            let shared_ff = match (
                k.bounded_opt("expert_shared_feed_forward_length", MAX_FF)?,
                k.bounded_opt("expert_shared_count", MAX_EXPERTS)?,
            ) {
                (Some(ff), _) => ff,
                (None, Some(n)) => n.saturating_mul(expert_ff),
                (None, None) => 0,
            };
            Some(Moe {
                n_expert,
                n_expert_used: k.bounded_req("expert_used_count", n_expert)?,
                shared_ff,
                expert_ff,
                n_dense_lead: k
                    .bounded_opt("leading_dense_block_count", n_layer)?
                    .unwrap_or(0),
                expert_bias: arch == Arch::GptOss,
            })
        }
        _ => None,
    };

    let n_vocab = match h.get("tokenizer.ggml.tokens") {
        Some(tokens) => {
            let n = tokens.array_len().ok_or_else(|| {
                meta_err(
                    "tokenizer.ggml.tokens",
                    format!("expected an array, found {}", tokens.type_name()),
                )
            })?;
            match u32::try_from(n) {
                Ok(n) if n <= MAX_VOCAB => n,
                _ => {
                    return Err(meta_err(
                        "tokenizer.ggml.tokens",
                        format!("{n} tokens, over the limit of {MAX_VOCAB}"),
                    ))
                }
            }
        }
        None => match k.bounded_opt("vocab_size", MAX_VOCAB)? {
            Some(n) => n,
            None => h
                .tensors
                .iter()
                .find(|t| t.name == "token_embd.weight")
                .and_then(|t| t.dims.get(1))
                .and_then(|&d| u32::try_from(d).ok())
                .ok_or_else(|| {
                    meta_err(
                        "tokenizer.ggml.tokens",
                        "missing, and no token_embd.weight tensor gives the vocabulary size",
                    )
                })?,
        },
    };

    let has = |suffix: &str| h.tensors.iter().any(|t| t.name.ends_with(suffix));
    let tied_embeddings = !h.tensors.iter().any(|t| t.name == "output.weight");
    let attn_bias = has(".attn_q.bias");
    let qk_norm = has(".attn_q_norm.weight");

    let sliding_window = sliding_window(&k, arch_name, n_layer)?;
    let ssm = ssm(&k, n_layer)?;
    let native_dtype = match file_type(h) {
        Some(GgufMix::F32) => NativeDtype::F32,
        Some(GgufMix::F16) => NativeDtype::F16,
        // A quantized file does not record what it was quantized from; BF16 is what the
        // converters' sources ship in.
        _ => NativeDtype::Bf16,
    };
    let name = ["general.name", "general.basename"]
        .iter()
        .find_map(|key| h.get(key).and_then(MetaValue::as_str))
        .filter(|s| !s.is_empty())
        .unwrap_or(arch_name)
        .to_string();
    let spec = ModelSpec {
        name,
        arch,
        n_layer,
        n_embd,
        n_head,
        n_head_kv,
        head_dim_k,
        head_dim_v,
        n_ff,
        n_vocab,
        tied_embeddings,
        n_ctx_train,
        attn_bias,
        qk_norm,
        sliding_window,
        mla,
        moe,
        native_dtype,
        ssm,
    };
    spec.validate().map_err(|e| meta_err(e.field, e.problem))?;
    Ok(spec)
}

/// Mamba-2 layers as llama.cpp loads them (`ssm.conv_kernel`, `ssm.inner_size`,
/// `ssm.state_size`, `ssm.time_step_rank`, `ssm.group_count`; Mamba-1 files, which have no group
/// count, are not modelled): a layer is recurrent where its
/// `attention.head_count_kv` entry is 0 (src/models/granite-hybrid.cpp `load_arch_hparams`);
/// without a per-layer array every layer is. A `qwen3next` file marks its gated delta net layers
/// by `full_attention_interval` instead (src/models/qwen3next.cpp `load_arch_hparams`: layer `il`
/// is recurrent unless `(il + 1) % interval == 0`, interval 4 when the key is absent). The
/// optional conv bias is there when the file holds `ssm_conv1d.bias` tensors.
fn ssm(k: &Keys, n_layer: u32) -> Result<Option<Ssm>, FormatError> {
    if k.arch == "lfm2" {
        return short_conv(k, n_layer);
    }
    let Some(d_conv) = k.bounded_opt("ssm.conv_kernel", MAX_SSM_CONV)? else {
        return Ok(None);
    };
    let layers = if k.arch == "qwen3next" {
        let interval = k
            .bounded_opt("full_attention_interval", MAX_LAYERS)?
            .unwrap_or(4)
            .max(1);
        (0..n_layer).map(|il| (il + 1) % interval != 0).collect()
    } else {
        match k.per_layer("attention.head_count_kv", n_layer)? {
            Some(items) => items.iter().map(|i| i.as_u64() == Some(0)).collect(),
            None => vec![true; n_layer as usize],
        }
    };
    Ok(Some(Ssm {
        d_conv,
        d_inner: k.bounded_req("ssm.inner_size", MAX_FF)?,
        d_state: k.bounded_req("ssm.state_size", MAX_HEAD_DIM)?,
        n_group: k.bounded_req("ssm.group_count", MAX_FF)?,
        n_head: k.bounded_req("ssm.time_step_rank", MAX_FF)?,
        conv_bias: k
            .h
            .tensors
            .iter()
            .any(|t| t.name.ends_with(".ssm_conv1d.bias")),
        layers,
    }))
}

/// LFM2's short-convolution layers as src/models/lfm2.cpp `load_arch_hparams` reads them: the
/// layers whose `attention.head_count_kv` entry is 0, each keeping `shortconv.l_cache - 1`
/// columns of `n_embd` (see [`Ssm`]).
fn short_conv(k: &Keys, n_layer: u32) -> Result<Option<Ssm>, FormatError> {
    let d_conv = k.bounded_req("shortconv.l_cache", MAX_SSM_CONV)?;
    let Some(items) = k.per_layer("attention.head_count_kv", n_layer)? else {
        return Ok(None);
    };
    let layers: Vec<bool> = items.iter().map(|i| i.as_u64() == Some(0)).collect();
    if !layers.iter().any(|&b| b) {
        return Ok(None);
    }
    Ok(Some(Ssm {
        d_conv,
        d_inner: k.bounded_req("embedding_length", MAX_EMBD)?,
        d_state: 0,
        n_group: 0,
        n_head: 0,
        conv_bias: false,
        layers,
    }))
}

/// Sliding-window layers as llama.cpp's `load_hparams` sets them: a per-layer
/// `attention.sliding_window_pattern` array when the file has one, otherwise the architecture's
/// fixed pattern (`set_swa_pattern(n)`: layer `il` slides unless `il % n == n - 1`): Gemma 3
/// every 6th layer global, Gemma 2 and gpt-oss alternating.
fn sliding_window(
    k: &Keys,
    arch_name: &str,
    n_layer: u32,
) -> Result<Option<SlidingWindow>, FormatError> {
    let window = match k.bounded_opt("attention.sliding_window", MAX_CTX)? {
        Some(w) if w > 0 => w,
        _ => return Ok(None),
    };
    let pattern_key = k.key("attention.sliding_window_pattern");
    let pattern = match k.h.get(&pattern_key) {
        Some(MetaValue::Array(flags)) => {
            let layers = flags
                .iter()
                .map(|f| match f {
                    MetaValue::Bool(b) => Ok(*b),
                    other => Err(meta_err(
                        &pattern_key,
                        format!("array of {}, expected bools", other.type_name()),
                    )),
                })
                .collect::<Result<Vec<bool>, _>>()?;
            if layers.len() != n_layer as usize {
                return Err(meta_err(
                    &pattern_key,
                    format!("{} entries for {n_layer} layers", layers.len()),
                ));
            }
            return Ok(layers
                .iter()
                .any(|&b| b)
                .then_some(SlidingWindow { window, layers }));
        }
        Some(v) => v
            .as_u64()
            .ok_or_else(|| meta_err(&pattern_key, format!("unexpected {}", v.type_name())))?,
        None => match arch_name {
            "gemma3" => 6,
            "gemma2" | "gpt-oss" => 2,
            _ => return Ok(None),
        },
    };
    let layers = (0..u64::from(n_layer))
        .map(|il| pattern == 0 || il % pattern < pattern - 1)
        .collect();
    Ok(Some(SlidingWindow { window, layers }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::quant::GgmlType;
    use headroom_core::tensors::Tensor;

    /// The keys convert_hf_to_gguf.py (`GraniteHybridModel.set_gguf_parameters`) writes for a
    /// Granite-4.0-H-Tiny-shaped config (see hf_config's test): ssm.inner_size = mamba_expand 2
    /// x 1536, ssm.time_step_rank = mamba_n_heads 48, head_count_kv 4 on attention layers and 0
    /// on Mamba-2 layers, context_length 2^20 for its NoPE attention.
    fn granite_hybrid_header() -> GgufHeader {
        let a = "granitehybrid";
        let u = |k: &str, v: u32| (format!("{a}.{k}"), MetaValue::U32(v));
        let kv = (0..40u32)
            .map(|il| MetaValue::U32(if il % 10 == 5 { 4 } else { 0 }))
            .collect();
        let metadata = vec![
            ("general.architecture".into(), MetaValue::Str(a.into())),
            u("block_count", 40),
            u("context_length", 1 << 20),
            u("embedding_length", 1536),
            u("feed_forward_length", 512),
            u("attention.head_count", 12),
            (format!("{a}.attention.head_count_kv"), MetaValue::Array(kv)),
            u("ssm.conv_kernel", 4),
            u("ssm.state_size", 128),
            u("ssm.group_count", 1),
            u("ssm.inner_size", 3072),
            u("ssm.time_step_rank", 48),
        ];
        let t = |name: &str, dims: &[u64]| Tensor {
            name: name.into(),
            dims: dims.to_vec(),
            ty: GgmlType::F32,
        };
        GgufHeader {
            version: 3,
            metadata,
            tensors: vec![
                t("token_embd.weight", &[1536, 100352]),
                t("blk.0.ssm_conv1d.bias", &[3328]),
            ],
            tensor_offsets: vec![0, 0],
            alignment: 32,
            header_len: 0,
            data_offset: 0,
            data_size: 0,
        }
    }

    #[test]
    fn granite_hybrid_header_gives_recurrent_layers_by_zero_kv_heads() {
        let spec = to_model_spec(&granite_hybrid_header()).unwrap();
        let ssm = spec.ssm.as_ref().unwrap();
        assert_eq!(ssm.layers.iter().filter(|&&b| b).count(), 36);
        assert!(!ssm.layers[5] && ssm.layers[6]);
        assert_eq!(
            (
                ssm.d_conv,
                ssm.d_inner,
                ssm.d_state,
                ssm.n_group,
                ssm.n_head
            ),
            (4, 3072, 128, 1, 48)
        );
        assert!(ssm.conv_bias);
        // The attention layers' kv heads: the largest array entry.
        assert_eq!(spec.n_head_kv, 4);
        assert_eq!(spec.n_full_attn_layers(), 4);
    }

    #[test]
    fn qwen3next_header_places_attention_every_fourth_layer() {
        // The keys convert_hf_to_gguf.py (Qwen3NextModel) writes for Qwen3-Next-80B-A3B's
        // config: no per-layer head_count_kv array, full_attention_interval 4.
        let a = "qwen3next";
        let u = |k: &str, v: u32| (format!("{a}.{k}"), MetaValue::U32(v));
        let mut h = granite_hybrid_header();
        h.metadata = vec![
            ("general.architecture".into(), MetaValue::Str(a.into())),
            u("block_count", 48),
            u("context_length", 262_144),
            u("embedding_length", 2048),
            u("feed_forward_length", 5120),
            u("attention.head_count", 16),
            u("attention.head_count_kv", 2),
            u("attention.key_length", 256),
            u("attention.value_length", 256),
            u("ssm.conv_kernel", 4),
            u("ssm.state_size", 128),
            u("ssm.group_count", 16),
            u("ssm.inner_size", 4096),
            u("ssm.time_step_rank", 32),
            u("full_attention_interval", 4),
        ];
        h.tensors.truncate(1);
        h.tensors[0].dims = vec![2048, 151_936];
        let spec = to_model_spec(&h).unwrap();
        assert_eq!(spec.arch, Arch::Qwen3Next);
        assert_eq!(spec.n_full_attn_layers(), 12);
        assert!(spec.is_recurrent_layer(0) && !spec.is_recurrent_layer(3));
        assert!(!spec.is_recurrent_layer(47));
    }

    #[test]
    fn lfm2_header_makes_its_zero_kv_head_layers_short_convolutions() {
        // The keys convert_hf_to_gguf.py (LFM2Model) writes for a 16-layer LFM2 with attention
        // at 2, 5, 8, 10, 12 and 14: head_count_kv 0 for the conv layers, shortconv.l_cache 3.
        let a = "lfm2";
        let u = |k: &str, v: u32| (format!("{a}.{k}"), MetaValue::U32(v));
        let attn = [2, 5, 8, 10, 12, 14];
        let kv: Vec<MetaValue> = (0..16)
            .map(|il| MetaValue::U32(if attn.contains(&il) { 8 } else { 0 }))
            .collect();
        let mut h = granite_hybrid_header();
        h.metadata = vec![
            ("general.architecture".into(), MetaValue::Str(a.into())),
            u("block_count", 16),
            u("context_length", 128_000),
            u("embedding_length", 2048),
            u("feed_forward_length", 8192),
            u("attention.head_count", 32),
            (format!("{a}.attention.head_count_kv"), MetaValue::Array(kv)),
            u("shortconv.l_cache", 3),
        ];
        h.tensors.truncate(1);
        h.tensors[0].dims = vec![2048, 65_536];
        let spec = to_model_spec(&h).unwrap();
        assert_eq!(spec.arch, Arch::Lfm2);
        assert_eq!(spec.n_head_kv, 8);
        let ssm = spec.ssm.as_ref().unwrap();
        assert_eq!((ssm.d_conv, ssm.d_inner, ssm.n_embd_r()), (3, 2048, 4096));
        let attention: Vec<u32> = (0..16).filter(|&il| !spec.is_recurrent_layer(il)).collect();
        assert_eq!(attention, attn);
        // without the cache width the file is rejected, naming the key
        h.metadata.retain(|(k, _)| k != "lfm2.shortconv.l_cache");
        let e = to_model_spec(&h).unwrap_err();
        assert!(e.to_string().contains("lfm2.shortconv.l_cache"), "{e}");
    }

    #[test]
    fn missing_ssm_keys_are_named() {
        let mut h = granite_hybrid_header();
        h.metadata
            .retain(|(k, _)| k != "granitehybrid.ssm.time_step_rank");
        let e = to_model_spec(&h).unwrap_err();
        assert!(e.to_string().contains("ssm.time_step_rank"), "{e}");
    }
}
