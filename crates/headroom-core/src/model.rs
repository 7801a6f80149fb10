//! A model's architecture as the memory and speed models need it: shapes, attention layout, MoE, MLA,
//! recurrent (Mamba-2) layers of hybrid models.

use serde::{Deserialize, Serialize};

/// The architecture family, named as llama.cpp names it where it has a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Qwen3Moe,
    Gemma3,
    Phi3,
    Mixtral,
    Deepseek2,
    GptOss,
    /// Qwen3-Next: gated delta net layers (recurrent, `ssm`) with a gated full-attention layer
    /// every fourth, all on a sparse MoE with a gated shared expert (llama.cpp `qwen3next`).
    Qwen3Next,
    /// LFM2: gated short-convolution layers (recurrent, `ssm`: a conv state, no SSM state) with
    /// grouped-query attention layers between them (llama.cpp `lfm2`).
    Lfm2,
    /// An architecture Headroom has no specific rules for; shapes still come from the config.
    Other(String),
}

impl Arch {
    pub fn name(&self) -> &str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Qwen3Moe => "qwen3moe",
            Arch::Gemma3 => "gemma3",
            Arch::Phi3 => "phi3",
            Arch::Mixtral => "mixtral",
            Arch::Deepseek2 => "deepseek2",
            Arch::GptOss => "gpt-oss",
            Arch::Qwen3Next => "qwen3next",
            Arch::Lfm2 => "lfm2",
            Arch::Other(s) => s,
        }
    }
}

/// Multi-head latent attention (DeepSeek-V2/V3 style): the cache holds a compressed latent per token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mla {
    pub q_lora_rank: Option<u32>,
    pub kv_lora_rank: u32,
    pub qk_rope_head_dim: u32,
    pub qk_nope_head_dim: u32,
    pub v_head_dim: u32,
}

/// Mixture of experts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moe {
    /// Routed experts per MoE layer.
    pub n_expert: u32,
    /// Routed experts each token uses.
    pub n_expert_used: u32,
    /// Always-on shared experts' total FFN width (0 when none).
    pub shared_ff: u32,
    /// FFN width of one routed expert.
    pub expert_ff: u32,
    /// Leading layers that are dense instead of MoE (DeepSeek's first_k_dense_replace).
    pub n_dense_lead: u32,
    /// Whether expert and router projections carry biases (gpt-oss).
    pub expert_bias: bool,
}

/// Which layers use sliding-window attention, and the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingWindow {
    pub window: u32,
    /// One entry per layer: true where the layer attends only to the last `window` tokens.
    pub layers: Vec<bool>,
}

/// Mamba-2 style recurrent layers of a hybrid model (Granite-4.0-H, Nemotron-H), with llama.cpp's
/// hparams names (`ssm_d_conv`, `ssm_d_inner`, `ssm_d_state`, `ssm_n_group`, `ssm_dt_rank`;
/// llama.cpp src/llama-hparams.h). A recurrent layer keeps a fixed-size state per sequence instead
/// of a KV cache; the other layers attend as usual.
///
/// The same fields size Qwen3-Next's gated delta net state, as convert_hf_to_gguf.py
/// (`Qwen3NextModel`) maps them: `d_conv` = `linear_conv_kernel_dim`, `d_state` =
/// `linear_key_head_dim`, `n_group` = `linear_num_key_heads`, `n_head` = `linear_num_value_heads`,
/// `d_inner` = `linear_value_head_dim * linear_num_value_heads`; `tensors::synthesize` lays out
/// its recurrent layers as llama.cpp's `qwen3next` loads them, Mamba-2 mixers for the others.
///
/// LFM2's short-convolution layers are recurrent layers with `d_conv` = `conv_L_cache`, `d_inner`
/// = `n_embd` and no state, groups or heads (`d_state` = `n_group` = `n_head` = 0): llama.cpp's
/// `n_embd_r()` for them is `n_embd * (n_shortconv_l_cache - 1)` and `n_embd_s()` is
/// `ssm_d_state * ssm_d_inner` = 0 (src/llama-hparams.cpp).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ssm {
    /// Convolution kernel width (`ssm_d_conv`).
    pub d_conv: u32,
    /// Inner width, SSM heads times head width (`ssm_d_inner`).
    pub d_inner: u32,
    /// State width per group (`ssm_d_state`).
    pub d_state: u32,
    /// Groups sharing B and C (`ssm_n_group`).
    pub n_group: u32,
    /// SSM heads (`ssm_dt_rank`).
    pub n_head: u32,
    /// Whether the convolution has a bias (`ssm_conv1d.bias`, optional in llama.cpp).
    pub conv_bias: bool,
    /// One entry per layer: true where the layer is recurrent rather than attention.
    pub layers: Vec<bool>,
}

impl Ssm {
    /// Channels the convolution runs over: x, B and C (`d_inner + 2*n_group*d_state`).
    pub fn conv_channels(&self) -> u64 {
        u64::from(self.d_inner) + 2 * u64::from(self.n_group) * u64::from(self.d_state)
    }

    /// Conv-state elements per sequence (llama.cpp src/llama-hparams.cpp `n_embd_r()`):
    /// `(ssm_d_conv - 1) * (ssm_d_inner + 2*ssm_n_group*ssm_d_state)`.
    pub fn n_embd_r(&self) -> u64 {
        u64::from(self.d_conv.saturating_sub(1)) * self.conv_channels()
    }

    /// SSM-state elements per sequence (llama.cpp src/llama-hparams.cpp `n_embd_s()`):
    /// `ssm_d_state * ssm_d_inner`.
    pub fn n_embd_s(&self) -> u64 {
        u64::from(self.d_state) * u64::from(self.d_inner)
    }
}

/// The storage type the model was published in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NativeDtype {
    F32,
    F16,
    Bf16,
    Fp8,
    Mxfp4,
}

impl NativeDtype {
    pub fn bytes(self) -> f64 {
        match self {
            NativeDtype::F32 => 4.0,
            NativeDtype::F16 | NativeDtype::Bf16 => 2.0,
            NativeDtype::Fp8 => 1.0,
            NativeDtype::Mxfp4 => 17.0 / 32.0,
        }
    }
}

/// A transformer language model's shapes. Built from a config.json or a GGUF header, then validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub arch: Arch,
    pub n_layer: u32,
    pub n_embd: u32,
    pub n_head: u32,
    pub n_head_kv: u32,
    /// Per-head width of Q and K.
    pub head_dim_k: u32,
    /// Per-head width of V.
    pub head_dim_v: u32,
    /// Dense FFN width (for MoE models: the width of the leading dense layers).
    pub n_ff: u32,
    pub n_vocab: u32,
    pub tied_embeddings: bool,
    /// The context length the model was trained for (max_position_embeddings).
    pub n_ctx_train: u32,
    /// Q, K and V projections carry biases (Qwen2, gpt-oss).
    pub attn_bias: bool,
    /// Per-head RMS norms on Q and K (Qwen3, Gemma 3).
    pub qk_norm: bool,
    pub sliding_window: Option<SlidingWindow>,
    pub mla: Option<Mla>,
    pub moe: Option<Moe>,
    pub native_dtype: NativeDtype,
    /// Recurrent layers of a hybrid model; `None` for attention-only models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm: Option<Ssm>,
}

/// What is wrong with a model description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    pub field: &'static str,
    pub problem: String,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid model field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for ModelError {}

/// Upper bounds that no real model reaches; inputs past them are rejected as corrupt or hostile.
pub mod limits {
    pub const MAX_LAYERS: u32 = 1024;
    pub const MAX_EMBD: u32 = 1 << 17;
    pub const MAX_HEADS: u32 = 4096;
    pub const MAX_HEAD_DIM: u32 = 4096;
    pub const MAX_FF: u32 = 1 << 20;
    pub const MAX_VOCAB: u32 = 1 << 23;
    pub const MAX_EXPERTS: u32 = 4096;
    pub const MAX_CTX: u32 = 1 << 24;
    pub const MAX_SSM_CONV: u32 = 1024;
}

impl ModelSpec {
    /// A runtime's context setting with 0 resolved: every runtime reads 0 (llama.cpp `-c 0`,
    /// vLLM's unset `--max-model-len`, mlx-lm and transformers with no limit) as the trained length.
    pub fn context_or_trained(&self, requested: u32) -> u32 {
        if requested == 0 {
            self.n_ctx_train
        } else {
            requested
        }
    }

    /// Checks ranges and consistency, naming the field that is wrong.
    pub fn validate(&self) -> Result<(), ModelError> {
        use limits::*;
        let range = |field: &'static str, v: u32, lo: u32, hi: u32| {
            if v < lo || v > hi {
                Err(ModelError {
                    field,
                    problem: format!("{v} is outside {lo}..={hi}"),
                })
            } else {
                Ok(())
            }
        };
        range("n_layer", self.n_layer, 1, MAX_LAYERS)?;
        range("n_embd", self.n_embd, 1, MAX_EMBD)?;
        range("n_head", self.n_head, 1, MAX_HEADS)?;
        range("n_head_kv", self.n_head_kv, 1, MAX_HEADS)?;
        range("head_dim_k", self.head_dim_k, 1, MAX_HEAD_DIM)?;
        range("head_dim_v", self.head_dim_v, 1, MAX_HEAD_DIM)?;
        range("n_ff", self.n_ff, 0, MAX_FF)?;
        range("n_vocab", self.n_vocab, 1, MAX_VOCAB)?;
        range("n_ctx_train", self.n_ctx_train, 1, MAX_CTX)?;
        if self.n_head % self.n_head_kv != 0 {
            return Err(ModelError {
                field: "n_head_kv",
                problem: format!(
                    "{} query heads cannot be shared evenly by {} kv heads",
                    self.n_head, self.n_head_kv
                ),
            });
        }
        if let Some(sw) = &self.sliding_window {
            range("sliding_window", sw.window, 1, MAX_CTX)?;
            if sw.layers.len() != self.n_layer as usize {
                return Err(ModelError {
                    field: "sliding_window",
                    problem: format!(
                        "{} layer flags for {} layers",
                        sw.layers.len(),
                        self.n_layer
                    ),
                });
            }
        }
        if let Some(moe) = &self.moe {
            range("n_expert", moe.n_expert, 1, MAX_EXPERTS)?;
            range("n_expert_used", moe.n_expert_used, 1, moe.n_expert)?;
            range("expert_ff", moe.expert_ff, 1, MAX_FF)?;
            range("shared_ff", moe.shared_ff, 0, MAX_FF)?;
            range("n_dense_lead", moe.n_dense_lead, 0, self.n_layer)?;
        }
        if let Some(mla) = &self.mla {
            range("kv_lora_rank", mla.kv_lora_rank, 1, MAX_EMBD)?;
            range("qk_rope_head_dim", mla.qk_rope_head_dim, 0, MAX_HEAD_DIM)?;
            range("qk_nope_head_dim", mla.qk_nope_head_dim, 0, MAX_HEAD_DIM)?;
            range("v_head_dim", mla.v_head_dim, 1, MAX_HEAD_DIM)?;
        }
        if let Some(ssm) = self.ssm.as_ref().filter(|_| self.arch == Arch::Lfm2) {
            range("ssm_d_conv", ssm.d_conv, 1, MAX_SSM_CONV)?;
            range("ssm_d_inner", ssm.d_inner, self.n_embd, self.n_embd)?;
            range("ssm_d_state", ssm.d_state, 0, 0)?;
            range("ssm_n_group", ssm.n_group, 0, 0)?;
            range("ssm_n_head", ssm.n_head, 0, 0)?;
        }
        if let Some(ssm) = self.ssm.as_ref().filter(|_| self.arch != Arch::Lfm2) {
            range("ssm_d_conv", ssm.d_conv, 1, MAX_SSM_CONV)?;
            range("ssm_d_inner", ssm.d_inner, 1, MAX_FF)?;
            range("ssm_d_state", ssm.d_state, 1, MAX_HEAD_DIM)?;
            range("ssm_n_group", ssm.n_group, 1, ssm.d_inner)?;
            range("ssm_n_head", ssm.n_head, 1, ssm.d_inner)?;
            let uneven = |field: &'static str, by: u32| ModelError {
                field,
                problem: format!("inner width {} is not a multiple of {by}", ssm.d_inner),
            };
            if ssm.d_inner % ssm.n_group != 0 {
                return Err(uneven("ssm_n_group", ssm.n_group));
            }
            if ssm.d_inner % ssm.n_head != 0 {
                return Err(uneven("ssm_n_head", ssm.n_head));
            }
        }
        if let Some(ssm) = &self.ssm {
            if ssm.layers.len() != self.n_layer as usize {
                return Err(ModelError {
                    field: "ssm",
                    problem: format!(
                        "{} layer flags for {} layers",
                        ssm.layers.len(),
                        self.n_layer
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether layer `il` is recurrent (keeps a state, not a KV cache).
    pub fn is_recurrent_layer(&self, il: u32) -> bool {
        self.ssm
            .as_ref()
            .is_some_and(|s| s.layers.get(il as usize).copied().unwrap_or(false))
    }

    /// Whether layer `il` is a mixture-of-experts layer.
    pub fn is_moe_layer(&self, il: u32) -> bool {
        self.moe.is_some_and(|m| il >= m.n_dense_lead)
    }

    /// Whether layer `il` uses sliding-window attention.
    pub fn is_swa_layer(&self, il: u32) -> bool {
        self.sliding_window
            .as_ref()
            .is_some_and(|sw| sw.layers.get(il as usize).copied().unwrap_or(false))
    }

    /// Number of layers that attend to the whole context (recurrent layers do not attend).
    pub fn n_full_attn_layers(&self) -> u32 {
        (0..self.n_layer)
            .filter(|&il| !self.is_swa_layer(il) && !self.is_recurrent_layer(il))
            .count() as u32
    }

    /// Query heads per kv head.
    pub fn n_gqa(&self) -> u32 {
        self.n_head / self.n_head_kv.max(1)
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// Meta-Llama-3-8B, from its public config.json
    /// (huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json).
    pub fn llama3_8b() -> ModelSpec {
        ModelSpec {
            name: "Meta-Llama-3-8B".into(),
            arch: Arch::Llama,
            n_layer: 32,
            n_embd: 4096,
            n_head: 32,
            n_head_kv: 8,
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: 14336,
            n_vocab: 128256,
            tied_embeddings: false,
            n_ctx_train: 8192,
            attn_bias: false,
            qk_norm: false,
            sliding_window: None,
            mla: None,
            moe: None,
            native_dtype: NativeDtype::Bf16,
            ssm: None,
        }
    }

    /// A Granite-4.0-H-Tiny-shaped hybrid: hidden 1536, 40 layers (attention at 5, 15, 25, 35,
    /// Mamba-2 elsewhere), 12 query / 4 kv heads, mamba_n_heads 48 x mamba_d_head 64, d_state 128,
    /// n_groups 1, d_conv 4, 64 experts (6 used) of width 512, shared FFN 1024, vocab 100352, tied,
    /// 131072 context. Values from a partial quote of ibm-granite/granite-4.0-h-tiny's config.json
    /// (GRANITE_H_TINY_HF in a public test file, search-index file id 65865534003); no full
    /// verbatim copy was found, so it is a test fixture, not a catalog entry.
    pub fn granite_h_tiny() -> ModelSpec {
        let layers = (0..40u32).map(|il| il % 10 != 5).collect();
        ModelSpec {
            name: "granite-4.0-h-tiny".into(),
            arch: Arch::Other("granitemoehybrid".into()),
            n_layer: 40,
            n_embd: 1536,
            n_head: 12,
            n_head_kv: 4,
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: 512,
            n_vocab: 100352,
            tied_embeddings: true,
            n_ctx_train: 131072,
            attn_bias: false,
            qk_norm: false,
            sliding_window: None,
            mla: None,
            moe: Some(Moe {
                n_expert: 64,
                n_expert_used: 6,
                shared_ff: 1024,
                expert_ff: 512,
                n_dense_lead: 0,
                expert_bias: false,
            }),
            native_dtype: NativeDtype::Bf16,
            ssm: Some(Ssm {
                d_conv: 4,
                d_inner: 48 * 64,
                d_state: 128,
                n_group: 1,
                n_head: 48,
                conv_bias: true,
                layers,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_field() {
        let mut m = fixtures::llama3_8b();
        assert!(m.validate().is_ok());
        m.n_head_kv = 5;
        let e = m.validate().unwrap_err();
        assert_eq!(e.field, "n_head_kv");
        m.n_head_kv = 8;
        m.n_layer = 0;
        assert_eq!(m.validate().unwrap_err().field, "n_layer");
    }

    #[test]
    fn ssm_layers_are_validated() {
        let mut m = fixtures::granite_h_tiny();
        assert!(m.validate().is_ok());
        assert_eq!(m.n_full_attn_layers(), 4);
        assert!(m.is_recurrent_layer(0) && !m.is_recurrent_layer(5));
        if let Some(s) = m.ssm.as_mut() {
            s.n_head = 47;
        }
        assert_eq!(m.validate().unwrap_err().field, "ssm_n_head");
        if let Some(s) = m.ssm.as_mut() {
            s.n_head = 48;
            s.layers.pop();
        }
        assert_eq!(m.validate().unwrap_err().field, "ssm");
    }
}
