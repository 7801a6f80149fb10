//! The tensors of a model, named and shaped as in a GGUF file; synthesized from a `ModelSpec` when no file is given.

use crate::model::{Arch, ModelSpec};
use crate::quant::GgmlType;
use serde::{Deserialize, Serialize};

/// One weight tensor: GGUF name, dimensions (ne[0] is the row length), storage type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<u64>,
    pub ty: GgmlType,
}

/// What a tensor is for, which decides where llama.cpp places it and how quantization treats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorRole {
    TokenEmbd,
    Output,
    OutputNorm,
    /// Attention weights of a repeating layer.
    Attn,
    /// Dense FFN weights of a repeating layer.
    Ffn,
    /// Routed-expert weights (`*_exps`), the part `--cpu-moe` keeps in host memory.
    Experts,
    /// Shared-expert and router weights.
    SharedExperts,
    /// Norms, biases and other small per-layer tensors.
    LayerOther,
    Other,
}

impl Tensor {
    pub fn n_elements(&self) -> u64 {
        self.dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// Row length (ne[0]).
    pub fn row_len(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }

    /// Storage bytes, rounded up to whole blocks.
    pub fn bytes(&self) -> u64 {
        self.ty.bytes_for(self.n_elements())
    }

    /// The repeating layer this tensor belongs to (`blk.N.`), if any.
    pub fn layer(&self) -> Option<u32> {
        let rest = self.name.strip_prefix("blk.")?;
        let end = rest.find('.')?;
        rest[..end].parse().ok()
    }

    pub fn role(&self) -> TensorRole {
        let n = self.name.as_str();
        if n.starts_with("token_embd") {
            return TensorRole::TokenEmbd;
        }
        if n == "output.weight" {
            return TensorRole::Output;
        }
        if n.starts_with("output_norm") {
            return TensorRole::OutputNorm;
        }
        if self.layer().is_none() {
            return TensorRole::Other;
        }
        if self.dims.len() < 2 {
            return TensorRole::LayerOther;
        }
        if n.contains("_exps.") {
            TensorRole::Experts
        } else if n.contains("_shexp.") || n.contains("ffn_gate_inp") {
            TensorRole::SharedExperts
        } else if n.contains(".ffn_") {
            TensorRole::Ffn
        } else if n.contains(".attn_") {
            TensorRole::Attn
        } else {
            TensorRole::LayerOther
        }
    }
}

fn t(name: String, dims: &[u64], ty: GgmlType) -> Tensor {
    Tensor {
        name,
        dims: dims.to_vec(),
        ty,
    }
}

/// The tensor list llama.cpp's converter would write for `m`, with 2-D weights in `weight_ty`
/// and 1-D tensors (norms, biases) in F32, as convert_hf_to_gguf.py stores them.
pub fn synthesize(m: &ModelSpec, weight_ty: GgmlType) -> Vec<Tensor> {
    let f32 = GgmlType::F32;
    let w = weight_ty;
    let e = u64::from(m.n_embd);
    let v = u64::from(m.n_vocab);
    let mut out = vec![t("token_embd.weight".into(), &[e, v], w)];
    for il in 0..m.n_layer {
        let p = |s: &str| format!("blk.{il}.{s}");
        out.push(t(p("attn_norm.weight"), &[e], f32));
        if m.is_recurrent_layer(il) && m.arch == Arch::Qwen3Next {
            push_gated_delta_net(&mut out, m, il, w);
        } else if m.is_recurrent_layer(il) && m.arch == Arch::Lfm2 {
            push_short_conv(&mut out, m, il, w);
        } else if m.is_recurrent_layer(il) {
            push_ssm(&mut out, m, il, w);
        } else {
            push_attention(&mut out, m, il, w);
        }
        if m.arch == Arch::Gemma3 {
            out.push(t(p("post_attention_norm.weight"), &[e], f32));
            out.push(t(p("post_ffw_norm.weight"), &[e], f32));
        }
        // gpt-oss and Qwen3-Next name their pre-FFN norm post_attention_norm (llama.cpp
        // LLM_ARCH_OPENAI_MOE; src/models/qwen3next.cpp `attn_post_norm`).
        let ffn_norm = if matches!(m.arch, Arch::GptOss | Arch::Qwen3Next) {
            "post_attention_norm.weight"
        } else {
            "ffn_norm.weight"
        };
        out.push(t(p(ffn_norm), &[e], f32));
        push_ffn(&mut out, m, il, w);
    }
    // LFM2's final norm is `token_embd_norm` (llama-arch.cpp LLM_TENSOR_OUTPUT_NORM_LFM2).
    let output_norm = if m.arch == Arch::Lfm2 {
        "token_embd_norm.weight"
    } else {
        "output_norm.weight"
    };
    out.push(t(output_norm.into(), &[e], f32));
    if !m.tied_embeddings {
        out.push(t("output.weight".into(), &[e, v], w));
    }
    out
}

fn push_attention(out: &mut Vec<Tensor>, m: &ModelSpec, il: u32, w: GgmlType) {
    let f32 = GgmlType::F32;
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = u64::from(m.n_embd);
    let nh = u64::from(m.n_head);
    if let Some(mla) = m.mla {
        let rope = u64::from(mla.qk_rope_head_dim);
        let nope = u64::from(mla.qk_nope_head_dim);
        let kv_lora = u64::from(mla.kv_lora_rank);
        let vh = u64::from(mla.v_head_dim);
        match mla.q_lora_rank {
            Some(q) => {
                let q = u64::from(q);
                out.push(t(p("attn_q_a.weight"), &[e, q], w));
                out.push(t(p("attn_q_a_norm.weight"), &[q], f32));
                out.push(t(p("attn_q_b.weight"), &[q, nh * (nope + rope)], w));
            }
            None => out.push(t(p("attn_q.weight"), &[e, nh * (nope + rope)], w)),
        }
        out.push(t(p("attn_kv_a_mqa.weight"), &[e, kv_lora + rope], w));
        out.push(t(p("attn_kv_a_norm.weight"), &[kv_lora], f32));
        out.push(t(p("attn_k_b.weight"), &[nope, kv_lora, nh], w));
        out.push(t(p("attn_v_b.weight"), &[kv_lora, vh, nh], w));
        out.push(t(p("attn_output.weight"), &[nh * vh, e], w));
        return;
    }
    let hk = u64::from(m.head_dim_k);
    let hv = u64::from(m.head_dim_v);
    let nkv = u64::from(m.n_head_kv);
    if m.arch == Arch::Phi3 {
        // Phi-3/Phi-4 GGUFs keep Q, K and V fused (llama.cpp LLM_ARCH_PHI3: `attn_qkv`).
        out.push(t(
            p("attn_qkv.weight"),
            &[e, nh * hk + nkv * hk + nkv * hv],
            w,
        ));
        out.push(t(p("attn_output.weight"), &[nh * hv, e], w));
        return;
    }
    // Qwen3-Next's gated attention projects the query and its output gate together
    // (src/models/qwen3next.cpp: `n_embd_head_k * n_head * 2`).
    let q_width = if m.arch == Arch::Qwen3Next {
        2 * nh * hk
    } else {
        nh * hk
    };
    out.push(t(p("attn_q.weight"), &[e, q_width], w));
    out.push(t(p("attn_k.weight"), &[e, nkv * hk], w));
    out.push(t(p("attn_v.weight"), &[e, nkv * hv], w));
    out.push(t(p("attn_output.weight"), &[nh * hv, e], w));
    if m.attn_bias {
        out.push(t(p("attn_q.bias"), &[nh * hk], f32));
        out.push(t(p("attn_k.bias"), &[nkv * hk], f32));
        out.push(t(p("attn_v.bias"), &[nkv * hv], f32));
    }
    if m.arch == Arch::GptOss {
        out.push(t(p("attn_output.bias"), &[e], f32));
        out.push(t(p("attn_sinks.weight"), &[nh], f32));
    }
    if m.qk_norm {
        out.push(t(p("attn_q_norm.weight"), &[hk], f32));
        out.push(t(p("attn_k_norm.weight"), &[hk], f32));
    }
}

/// A Mamba-2 mixer as llama.cpp loads it for `granitehybrid` (src/models/granite-hybrid.cpp
/// `load_arch_tensors`; the same shapes as `nemotron_h` and `mamba2`): `ssm_in` {n_embd,
/// 2*d_inner + 2*n_group*d_state + n_head}, `ssm_conv1d` {d_conv, d_inner + 2*n_group*d_state} and
/// its optional bias, `ssm_dt.bias` {n_head}, `ssm_a` and `ssm_d` {1, n_head} (no `.weight`
/// suffix), `ssm_norm` {d_inner/n_group, n_group}, `ssm_out` {d_inner, n_embd}. Only `ssm_in` and
/// `ssm_out` take `weight_ty`: convert_hf_to_gguf.py keeps SSM_CONV1D, names not ending in
/// `.weight`, 1-D tensors and `*_norm.weight` in F32.
fn push_ssm(out: &mut Vec<Tensor>, m: &ModelSpec, il: u32, w: GgmlType) {
    let Some(ssm) = &m.ssm else {
        return;
    };
    let f32 = GgmlType::F32;
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = u64::from(m.n_embd);
    let inner = u64::from(ssm.d_inner);
    let heads = u64::from(ssm.n_head);
    let groups = u64::from(ssm.n_group.max(1));
    let conv = ssm.conv_channels();
    out.push(t(p("ssm_in.weight"), &[e, inner + conv + heads], w));
    out.push(t(
        p("ssm_conv1d.weight"),
        &[u64::from(ssm.d_conv), conv],
        f32,
    ));
    if ssm.conv_bias {
        out.push(t(p("ssm_conv1d.bias"), &[conv], f32));
    }
    out.push(t(p("ssm_dt.bias"), &[heads], f32));
    out.push(t(p("ssm_a"), &[1, heads], f32));
    out.push(t(p("ssm_d"), &[1, heads], f32));
    out.push(t(p("ssm_norm.weight"), &[inner / groups, groups], f32));
    out.push(t(p("ssm_out.weight"), &[inner, e], w));
}

/// A gated delta net layer as llama.cpp loads it for `qwen3next` (src/models/qwen3next.cpp
/// `load_arch_tensors`, the GGUF layout convert_hf_to_gguf.py writes: `in_proj_qkvz` split into
/// `attn_qkv` and `attn_gate`): with `head_k_dim` = `ssm_d_state`, `key_dim` = `head_k_dim` x
/// `ssm_n_group` and `value_dim` = `ssm_d_inner` (`ssm_dt_rank` value heads of `head_v_dim`),
/// `attn_qkv` {n_embd, 2*key_dim + value_dim}, `attn_gate` {n_embd, value_dim}, `ssm_conv1d`
/// {d_conv, 2*key_dim + value_dim}, `ssm_dt.bias` and `ssm_a` {dt_rank}, `ssm_ba` {n_embd,
/// 2*dt_rank}, `ssm_norm` {head_v_dim}, `ssm_out` {value_dim, n_embd}. The 2-D `.weight`
/// matrices take `weight_ty`; the conv kernel and 1-D tensors stay F32 as for Mamba-2.
fn push_gated_delta_net(out: &mut Vec<Tensor>, m: &ModelSpec, il: u32, w: GgmlType) {
    let Some(ssm) = &m.ssm else {
        return;
    };
    let f32 = GgmlType::F32;
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = u64::from(m.n_embd);
    let value_dim = u64::from(ssm.d_inner);
    let v_heads = u64::from(ssm.n_head.max(1));
    let key_dim = u64::from(ssm.d_state) * u64::from(ssm.n_group);
    let conv = 2 * key_dim + value_dim;
    out.push(t(p("attn_qkv.weight"), &[e, conv], w));
    out.push(t(p("attn_gate.weight"), &[e, value_dim], w));
    out.push(t(
        p("ssm_conv1d.weight"),
        &[u64::from(ssm.d_conv), conv],
        f32,
    ));
    out.push(t(p("ssm_dt.bias"), &[v_heads], f32));
    out.push(t(p("ssm_a"), &[v_heads], f32));
    out.push(t(p("ssm_ba.weight"), &[e, 2 * v_heads], w));
    out.push(t(p("ssm_norm.weight"), &[value_dim / v_heads], f32));
    out.push(t(p("ssm_out.weight"), &[value_dim, e], w));
}

/// An LFM2 short-convolution layer as llama.cpp loads it (src/models/lfm2.cpp
/// `load_arch_tensors`): `shortconv.conv` {conv_L_cache, n_embd}, kept F32 by the converter and
/// llama-quantize, `shortconv.in_proj` {n_embd, 3*n_embd} and `shortconv.out_proj` {n_embd,
/// n_embd} in `weight_ty`.
fn push_short_conv(out: &mut Vec<Tensor>, m: &ModelSpec, il: u32, w: GgmlType) {
    let Some(ssm) = &m.ssm else {
        return;
    };
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = u64::from(m.n_embd);
    out.push(t(
        p("shortconv.conv.weight"),
        &[u64::from(ssm.d_conv), e],
        GgmlType::F32,
    ));
    out.push(t(p("shortconv.in_proj.weight"), &[e, 3 * e], w));
    out.push(t(p("shortconv.out_proj.weight"), &[e, e], w));
}

fn push_ffn(out: &mut Vec<Tensor>, m: &ModelSpec, il: u32, w: GgmlType) {
    let f32 = GgmlType::F32;
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = u64::from(m.n_embd);
    let moe = match m.moe {
        Some(moe) if m.is_moe_layer(il) => moe,
        _ if m.arch == Arch::Phi3 => {
            // Phi-3's gate and up projections are one `ffn_up` of twice the width.
            let ff = u64::from(m.n_ff);
            out.push(t(p("ffn_up.weight"), &[e, 2 * ff], w));
            out.push(t(p("ffn_down.weight"), &[ff, e], w));
            return;
        }
        _ => {
            let ff = u64::from(m.n_ff);
            out.push(t(p("ffn_gate.weight"), &[e, ff], w));
            out.push(t(p("ffn_up.weight"), &[e, ff], w));
            out.push(t(p("ffn_down.weight"), &[ff, e], w));
            return;
        }
    };
    let ne = u64::from(moe.n_expert);
    let ff = u64::from(moe.expert_ff);
    out.push(t(p("ffn_gate_inp.weight"), &[e, ne], f32));
    out.push(t(p("ffn_gate_exps.weight"), &[e, ff, ne], w));
    out.push(t(p("ffn_up_exps.weight"), &[e, ff, ne], w));
    out.push(t(p("ffn_down_exps.weight"), &[ff, e, ne], w));
    if moe.expert_bias {
        out.push(t(p("ffn_gate_inp.bias"), &[ne], f32));
        out.push(t(p("ffn_gate_exps.bias"), &[ff, ne], f32));
        out.push(t(p("ffn_up_exps.bias"), &[ff, ne], f32));
        out.push(t(p("ffn_down_exps.bias"), &[e, ne], f32));
    }
    if m.mla.is_some() {
        // DeepSeek-V3's router correction bias.
        out.push(t(p("exp_probs_b.bias"), &[ne], f32));
    }
    if moe.shared_ff > 0 {
        let sf = u64::from(moe.shared_ff);
        if m.arch == Arch::Qwen3Next {
            // The shared expert's sigmoid gate (`ffn_gate_inp_shexp` {n_embd}).
            out.push(t(p("ffn_gate_inp_shexp.weight"), &[e], f32));
        }
        out.push(t(p("ffn_gate_shexp.weight"), &[e, sf], w));
        out.push(t(p("ffn_up_shexp.weight"), &[e, sf], w));
        out.push(t(p("ffn_down_shexp.weight"), &[sf, e], w));
    }
}

/// Total parameters (elements) in a tensor list.
pub fn n_params(tensors: &[Tensor]) -> u64 {
    tensors
        .iter()
        .map(Tensor::n_elements)
        .fold(0u64, u64::saturating_add)
}

/// Parameters a single token touches: everything except the routed experts it does not use.
pub fn n_active_params(m: &ModelSpec, tensors: &[Tensor]) -> u64 {
    let mut total = 0u64;
    for t in tensors {
        let n = t.n_elements();
        let counted = match (t.role(), m.moe) {
            (TensorRole::Experts, Some(moe)) => {
                n / u64::from(moe.n_expert) * u64::from(moe.n_expert_used)
            }
            // A token reads one row of the embedding table, not the table.
            (TensorRole::TokenEmbd, _) if !m.tied_embeddings => t.row_len(),
            _ => n,
        };
        total = total.saturating_add(counted);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::llama3_8b;

    #[test]
    fn llama3_8b_has_the_published_parameter_count() {
        // Hand count from config.json: embeddings 2 x 128256 x 4096 = 1,050,673,152;
        // per layer: q 4096^2 + k,v 2 x 4096 x 1024 + o 4096^2 = 41,943,040 attention,
        // 3 x 4096 x 14336 = 176,160,768 FFN, 2 x 4096 norms -> 218,112,000 x 32 = 6,979,584,000;
        // final norm 4096. Total 8,030,261,248 (the 8.03B Meta states).
        let ts = synthesize(&llama3_8b(), GgmlType::BF16);
        assert_eq!(n_params(&ts), 8_030_261_248);
        assert_eq!(ts.len(), 1 + 32 * 9 + 2);
    }

    #[test]
    fn mamba2_layers_replace_attention_in_hybrids() {
        // Granite-4.0-H-Tiny shape (hidden 1536, 48 heads x 64 = d_inner 3072, d_state 128,
        // 1 group, d_conv 4), per Mamba-2 layer:
        // ssm_in 1536 x (2 x 3072 + 2 x 128 + 48) = 1536 x 6448 = 9,904,128
        // ssm_conv1d 4 x 3328 = 13,312 and its bias 3,328; dt bias, A, D 3 x 48 = 144;
        // ssm_norm 3,072; ssm_out 3072 x 1536 = 4,718,592. Sum 14,642,576.
        let m = crate::model::fixtures::granite_h_tiny();
        let ts = synthesize(&m, GgmlType::BF16);
        let layer = |il: u32, part: &str| -> u64 {
            ts.iter()
                .filter(|t| t.layer() == Some(il) && t.name.contains(part))
                .map(Tensor::n_elements)
                .sum()
        };
        assert_eq!(layer(0, ".ssm_"), 14_642_576);
        assert_eq!(layer(0, ".attn_q"), 0);
        assert_eq!(layer(5, ".ssm_"), 0);
        // attention layer 5: q 1536 x 1536, k and v 1536 x 512 each, o 1536 x 1536.
        assert_eq!(layer(5, ".attn_") - 1536, 2 * 1536 * 1536 + 2 * 1536 * 512);
        let a = ts.iter().find(|t| t.name == "blk.0.ssm_a").unwrap();
        assert_eq!((a.dims.clone(), a.ty), (vec![1, 48], GgmlType::F32));
        // Every layer keeps its FFN: 64 experts of width 512 plus the 1024-wide shared expert.
        assert_eq!(layer(0, "ffn_up_exps"), 1536 * 512 * 64);
        assert_eq!(layer(0, "ffn_up_shexp"), 1536 * 1024);
    }

    #[test]
    fn roles_and_layers_parse_from_names() {
        let ts = synthesize(&llama3_8b(), GgmlType::F16);
        let q = ts.iter().find(|t| t.name == "blk.7.attn_q.weight").unwrap();
        assert_eq!(q.layer(), Some(7));
        assert_eq!(q.role(), TensorRole::Attn);
        assert_eq!(ts[0].role(), TensorRole::TokenEmbd);
        assert_eq!(ts.last().unwrap().role(), TensorRole::Output);
    }
}
