//! llama.cpp's file mixes (Q4_K_M, Q5_K_M, IQ4_XS, ...): which type each tensor gets.
//!
//! A port of the rules in llama.cpp `src/llama-quant.cpp` (`llama_tensor_get_type` and the
//! incompatible-row fallback), so that a model with no GGUF file at hand is sized as the file
//! `llama-quantize` would write, including its exclusions for Mamba-2 layers' small tensors.
//! The imatrix-only variations are not modelled.

use super::GgmlType;
use crate::model::{Arch, ModelSpec};
use crate::tensors::{Tensor, TensorRole};
use serde::{Deserialize, Serialize};

/// A `llama_ftype`: the name a GGUF file is published under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(non_camel_case_types)]
pub enum GgufMix {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q2_K_S,
    Q3_K_S,
    Q3_K_M,
    Q3_K_L,
    Q4_K_S,
    Q4_K_M,
    Q5_K_S,
    Q5_K_M,
    Q6_K,
    IQ1_S,
    IQ1_M,
    IQ2_XXS,
    IQ2_XS,
    IQ2_S,
    IQ2_M,
    IQ3_XXS,
    IQ3_XS,
    IQ3_S,
    IQ3_M,
    IQ4_NL,
    IQ4_XS,
    TQ1_0,
    TQ2_0,
    MXFP4_MOE,
}

const NAMES: &[(GgufMix, &str, GgmlType)] = &[
    (GgufMix::F32, "F32", GgmlType::F32),
    (GgufMix::F16, "F16", GgmlType::F16),
    (GgufMix::BF16, "BF16", GgmlType::BF16),
    (GgufMix::Q4_0, "Q4_0", GgmlType::Q4_0),
    (GgufMix::Q4_1, "Q4_1", GgmlType::Q4_1),
    (GgufMix::Q5_0, "Q5_0", GgmlType::Q5_0),
    (GgufMix::Q5_1, "Q5_1", GgmlType::Q5_1),
    (GgufMix::Q8_0, "Q8_0", GgmlType::Q8_0),
    (GgufMix::Q2_K, "Q2_K", GgmlType::Q2_K),
    (GgufMix::Q2_K_S, "Q2_K_S", GgmlType::Q2_K),
    (GgufMix::Q3_K_S, "Q3_K_S", GgmlType::Q3_K),
    (GgufMix::Q3_K_M, "Q3_K_M", GgmlType::Q3_K),
    (GgufMix::Q3_K_L, "Q3_K_L", GgmlType::Q3_K),
    (GgufMix::Q4_K_S, "Q4_K_S", GgmlType::Q4_K),
    (GgufMix::Q4_K_M, "Q4_K_M", GgmlType::Q4_K),
    (GgufMix::Q5_K_S, "Q5_K_S", GgmlType::Q5_K),
    (GgufMix::Q5_K_M, "Q5_K_M", GgmlType::Q5_K),
    (GgufMix::Q6_K, "Q6_K", GgmlType::Q6_K),
    (GgufMix::IQ1_S, "IQ1_S", GgmlType::IQ1_S),
    (GgufMix::IQ1_M, "IQ1_M", GgmlType::IQ1_M),
    (GgufMix::IQ2_XXS, "IQ2_XXS", GgmlType::IQ2_XXS),
    (GgufMix::IQ2_XS, "IQ2_XS", GgmlType::IQ2_XS),
    (GgufMix::IQ2_S, "IQ2_S", GgmlType::IQ2_XS),
    (GgufMix::IQ2_M, "IQ2_M", GgmlType::IQ2_S),
    (GgufMix::IQ3_XXS, "IQ3_XXS", GgmlType::IQ3_XXS),
    (GgufMix::IQ3_XS, "IQ3_XS", GgmlType::IQ3_S),
    (GgufMix::IQ3_S, "IQ3_S", GgmlType::IQ3_S),
    (GgufMix::IQ3_M, "IQ3_M", GgmlType::IQ3_S),
    (GgufMix::IQ4_NL, "IQ4_NL", GgmlType::IQ4_NL),
    (GgufMix::IQ4_XS, "IQ4_XS", GgmlType::IQ4_XS),
    (GgufMix::TQ1_0, "TQ1_0", GgmlType::TQ1_0),
    (GgufMix::TQ2_0, "TQ2_0", GgmlType::TQ2_0),
    (GgufMix::MXFP4_MOE, "MXFP4_MOE", GgmlType::MXFP4),
];

impl GgufMix {
    pub fn from_name(s: &str) -> Option<GgufMix> {
        NAMES
            .iter()
            .find(|r| r.1.eq_ignore_ascii_case(s))
            .map(|r| r.0)
    }

    pub fn name(self) -> &'static str {
        NAMES.iter().find(|r| r.0 == self).map_or("?", |r| r.1)
    }

    pub fn all() -> impl Iterator<Item = GgufMix> {
        NAMES.iter().map(|r| r.0)
    }

    /// The type most tensors get (`default_type` in llama_model_quantize_impl).
    pub fn base_type(self) -> GgmlType {
        NAMES
            .iter()
            .find(|r| r.0 == self)
            .map_or(GgmlType::F16, |r| r.2)
    }

    fn is_low_bit_iq(self) -> bool {
        use GgufMix::*;
        matches!(self, IQ2_XXS | IQ2_XS | IQ1_S | IQ2_S | IQ2_M | IQ1_M)
    }
}

fn use_more_bits(i: u32, n: u32) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// Assigns every tensor the type `llama-quantize` would give it for `mix`.
/// Tensors are expected in file order (layer by layer), as `tensors::synthesize` makes them.
pub fn apply(m: &ModelSpec, tensors: &mut [Tensor], mix: GgufMix) {
    let base = mix.base_type();
    let has_output = tensors.iter().any(|t| t.role() == TensorRole::Output);
    let n_attention_wv = tensors
        .iter()
        .filter(|t| t.name.ends_with("attn_v.weight"))
        .count() as u32;
    let mut i_attention_wv = 0u32;
    for t in tensors.iter_mut() {
        // llama-quantize touches only 2-D+ tensors whose names end in "weight"; the converter keeps
        // the rest (biases, sinks) in F32, and routers and small SSM tensors are never quantized.
        let kept = t.dims.len() < 2
            || !t.name.ends_with("weight")
            || t.name.contains("ffn_gate_inp")
            || is_kept_ssm_tensor(&t.name);
        if kept {
            continue;
        }
        if !base.is_quantized() {
            t.ty = base;
            continue;
        }
        let mut ty = tensor_type(m, t, mix, has_output, &mut i_attention_wv, n_attention_wv);
        if ty.is_quantized() && t.row_len() % ty.block_size() != 0 {
            ty = fallback(ty);
            if t.row_len() % ty.block_size() != 0 {
                ty = GgmlType::F16;
            }
        }
        t.ty = ty;
    }
}

/// Recurrent-layer tensors llama-quantize leaves alone although they are 2-D (llama-quant.cpp:
/// only names ending in `weight` are quantized, never `*_norm.weight`, and "do not quantize
/// Mamba's small yet 2D weights": `ssm_conv1d.weight`). That keeps `ssm_a`, `ssm_d`, `ssm_norm`
/// and `ssm_conv1d` in the converter's F32; `ssm_in` and `ssm_out` take the mix's types. LFM2's
/// `shortconv.conv.weight` is kept the same way (llama-quant.cpp names it beside `ssm_conv1d`).
fn is_kept_ssm_tensor(name: &str) -> bool {
    (name.contains(".ssm_")
        && (!name.ends_with("weight")
            || name.ends_with("_norm.weight")
            || name.contains("ssm_conv1d")))
        || name.ends_with("shortconv.conv.weight")
}

/// `convert_incompatible_tensor` in llama-quant.cpp: a type for rows that are not whole super-blocks.
fn fallback(ty: GgmlType) -> GgmlType {
    use GgmlType::*;
    match ty {
        TQ1_0 | TQ2_0 => Q4_0,
        IQ2_XXS | IQ2_XS | IQ2_S | IQ3_XXS | IQ3_S | IQ1_S | IQ1_M | Q2_K | Q3_K | IQ4_XS => IQ4_NL,
        Q4_K => Q5_0,
        Q5_K => Q5_1,
        Q6_K => Q8_0,
        other => other,
    }
}

fn tensor_type(
    m: &ModelSpec,
    t: &Tensor,
    mix: GgufMix,
    has_output: bool,
    i_wv: &mut u32,
    n_wv: u32,
) -> GgmlType {
    use GgmlType as T;
    use GgufMix as F;
    let name = t.name.as_str();
    let base = mix.base_type();
    let n_layer = m.n_layer;
    let i_layer = t.layer().unwrap_or(0);
    let n_expert = m.moe.map_or(1, |e| e.n_expert);
    let n_gqa = m.n_gqa();
    let is_70b = n_layer == 80 && matches!(m.arch, Arch::Llama | Arch::Qwen2);

    if mix == F::MXFP4_MOE {
        return if t.role() == TensorRole::Experts {
            T::MXFP4
        } else {
            T::Q8_0
        };
    }
    if name == "output.weight" || (!has_output && name == "token_embd.weight") {
        if t.row_len() % 256 != 0 {
            return T::Q8_0;
        }
        if mix.is_low_bit_iq() || mix == F::IQ3_XXS {
            return T::Q5_K;
        }
        return if base == T::Q8_0 { T::Q8_0 } else { T::Q6_K };
    }
    if name == "token_embd.weight" {
        return match mix {
            F::IQ2_XXS | F::IQ2_XS | F::IQ1_S | F::IQ1_M => T::Q2_K,
            F::IQ2_S | F::IQ2_M => T::IQ3_S,
            F::TQ1_0 | F::TQ2_0 => T::Q4_K,
            _ => base,
        };
    }
    if name.ends_with("attn_v.weight") {
        let i = *i_wv;
        *i_wv += 1;
        let mut ty = match mix {
            _ if mix.is_low_bit_iq() => {
                if n_gqa >= 4 || n_expert >= 4 {
                    T::Q4_K
                } else if mix == F::IQ2_S || mix == F::IQ2_M {
                    T::IQ3_S
                } else {
                    T::Q2_K
                }
            }
            F::Q2_K => {
                if n_gqa >= 4 {
                    T::Q4_K
                } else {
                    T::Q3_K
                }
            }
            F::Q2_K_S if n_gqa >= 4 => T::Q4_K,
            F::IQ3_XXS => {
                if n_gqa >= 4 {
                    T::Q4_K
                } else {
                    T::IQ3_S
                }
            }
            F::IQ3_S | F::IQ3_M if n_gqa >= 4 => T::Q4_K,
            F::IQ3_M => T::Q4_K,
            F::Q3_K_M => {
                if i < 2 {
                    T::Q5_K
                } else {
                    T::Q4_K
                }
            }
            F::Q3_K_L => T::Q5_K,
            F::IQ4_NL | F::IQ4_XS if n_gqa >= 4 => T::Q5_K,
            F::Q4_K_M | F::Q5_K_M if use_more_bits(i, n_wv) => T::Q6_K,
            F::Q4_K_S if i < 4 => T::Q5_K,
            _ => base,
        };
        if is_70b && (ty == T::Q3_K || ty == T::Q4_K) {
            ty = T::Q5_K;
        }
        if n_expert == 8 {
            ty = T::Q8_0;
        }
        return ty;
    }
    if name.ends_with("attn_k.weight") {
        return if n_expert == 8 {
            T::Q8_0
        } else if mix == F::IQ3_XS {
            T::IQ3_XXS
        } else if mix == F::IQ2_S || mix == F::IQ2_M {
            T::IQ2_S
        } else {
            base
        };
    }
    if name.ends_with("attn_q.weight") {
        return match mix {
            F::IQ3_XS => T::IQ3_XXS,
            F::IQ2_S | F::IQ2_M => T::IQ2_S,
            _ => base,
        };
    }
    if name.contains("ffn_down") {
        let (i, n) = (i_layer, n_layer);
        return match mix {
            _ if mix.is_low_bit_iq() && i < n / 8 => T::Q2_K,
            F::Q2_K => T::Q3_K,
            F::Q2_K_S if i < n / 8 => T::Q4_K,
            F::IQ3_XXS => {
                if i < n / 8 {
                    T::Q4_K
                } else {
                    T::Q3_K
                }
            }
            F::Q3_K_M => {
                if i < n / 16 {
                    T::Q5_K
                } else {
                    T::Q4_K
                }
            }
            F::IQ3_M if i < n / 8 || (n_expert == 8 && use_more_bits(i, n)) => T::Q4_K,
            F::Q3_K_L => T::Q5_K,
            F::Q4_K_M if use_more_bits(i, n) => T::Q6_K,
            F::IQ4_NL | F::IQ4_XS if i < n / 8 => T::Q5_K,
            F::Q5_K_M if use_more_bits(i, n) => T::Q6_K,
            F::Q4_K_S if i < n / 8 => T::Q5_K,
            _ => base,
        };
    }
    if name.ends_with("attn_output.weight") {
        if n_expert == 8 {
            return match mix {
                F::Q2_K
                | F::IQ3_XS
                | F::IQ3_XXS
                | F::Q3_K_S
                | F::Q3_K_M
                | F::IQ4_NL
                | F::Q4_K_S
                | F::Q4_K_M => T::Q5_K,
                F::IQ3_S | F::IQ3_M | F::IQ4_XS => T::Q5_K,
                _ => base,
            };
        }
        return match mix {
            F::Q2_K => T::Q3_K,
            F::IQ3_M | F::Q3_K_M => T::Q4_K,
            F::Q3_K_L => T::Q5_K,
            _ => base,
        };
    }
    if name.ends_with("attn_qkv.weight") {
        return match mix {
            F::Q3_K_M | F::Q3_K_L | F::IQ3_M => T::Q4_K,
            F::Q4_K_M => T::Q5_K,
            F::Q5_K_M => T::Q6_K,
            _ => base,
        };
    }
    if (name.contains("ffn_gate") || name.contains("ffn_up"))
        && mix == F::IQ3_XS
        && i_layer < n_layer / 8
    {
        return T::IQ3_XXS;
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::llama3_8b;
    use crate::tensors::synthesize;

    #[test]
    fn use_more_bits_matches_llama_cpp_for_32_layers() {
        // n/8 = 4, 7n/8 = 28: layers 0-3, 28-31, and every third from 6.
        let picked: Vec<u32> = (0..32).filter(|&i| use_more_bits(i, 32)).collect();
        assert_eq!(
            picked,
            vec![0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
        );
    }

    #[test]
    fn q4_k_m_keeps_output_at_q6_k_and_half_the_v_and_down_projections() {
        let m = llama3_8b();
        let mut ts = synthesize(&m, GgmlType::F16);
        apply(&m, &mut ts, GgufMix::Q4_K_M);
        let ty = |n: &str| ts.iter().find(|t| t.name == n).unwrap().ty;
        assert_eq!(ty("output.weight"), GgmlType::Q6_K);
        assert_eq!(ty("token_embd.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.0.attn_v.weight"), GgmlType::Q6_K);
        assert_eq!(ty("blk.4.attn_v.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.6.ffn_down.weight"), GgmlType::Q6_K);
        assert_eq!(ty("blk.7.ffn_down.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.7.attn_norm.weight"), GgmlType::F32);
    }

    #[test]
    fn small_ssm_tensors_stay_f32_and_projections_are_quantized() {
        let m = crate::model::fixtures::granite_h_tiny();
        let mut ts = synthesize(&m, GgmlType::F16);
        apply(&m, &mut ts, GgufMix::Q4_K_M);
        let ty = |n: &str| ts.iter().find(|t| t.name == n).unwrap().ty;
        for n in ["ssm_a", "ssm_d", "ssm_norm.weight", "ssm_conv1d.weight"] {
            assert_eq!(ty(&format!("blk.0.{n}")), GgmlType::F32, "{n}");
        }
        assert_eq!(ty("blk.0.ssm_in.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.0.ssm_out.weight"), GgmlType::Q4_K);
        // F16 files keep them in F32 too.
        let mut ts = synthesize(&m, GgmlType::F16);
        apply(&m, &mut ts, GgufMix::F16);
        let a = ts.iter().find(|t| t.name == "blk.0.ssm_a").unwrap();
        assert_eq!(a.ty, GgmlType::F32);
    }

    #[test]
    fn rows_that_are_not_super_blocks_fall_back() {
        // Qwen2.5-0.5B has n_embd 896 = 3.5 x 256: its Q4_K rows become Q5_0.
        let mut m = llama3_8b();
        m.n_embd = 896;
        m.n_head = 14;
        m.n_head_kv = 2;
        m.head_dim_k = 64;
        m.head_dim_v = 64;
        m.n_ff = 4864;
        let mut ts = synthesize(&m, GgmlType::F16);
        apply(&m, &mut ts, GgufMix::Q4_K_M);
        let ty = |n: &str| ts.iter().find(|t| t.name == n).unwrap().ty;
        assert_eq!(ty("blk.5.attn_q.weight"), GgmlType::Q5_0);
        assert_eq!(ty("output.weight"), GgmlType::Q8_0);
        // ffn_down rows are n_ff = 4864 = 19 x 256 long, so it stays a k-quant.
        assert_eq!(ty("blk.5.ffn_down.weight"), GgmlType::Q4_K);
    }
}
