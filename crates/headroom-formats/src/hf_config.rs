//! Hugging Face `config.json` (and MLX model folders' config) into a `ModelSpec` and, when the
//! config says so, the quantization the weights are stored in. Hybrid configs (Granite-4.0-H's
//! Mamba-2, `granitemoehybrid`; Qwen3-Next's gated delta net, `qwen3_next`) also give the
//! recurrent layers.

use crate::error::FormatError;
use headroom_core::model::{Arch, Mla, ModelSpec, Moe, NativeDtype, SlidingWindow, Ssm};
use headroom_core::quant::Quant;
use serde_json::{Map, Value};

/// config.json files are a few KiB; anything past this is not one.
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// A parsed config: the architecture and, for pre-quantized repos, the stored format.
#[derive(Clone, Debug, PartialEq)]
pub struct HfConfig {
    pub spec: ModelSpec,
    /// From `quantization` (MLX) or `quantization_config` (GPTQ, AWQ, bitsandbytes, FP8, EXL2).
    pub quant: Option<Quant>,
}

fn json_err(field: &str, problem: impl Into<String>) -> FormatError {
    FormatError::Json {
        field: field.to_string(),
        problem: problem.into(),
    }
}

struct Fields<'a> {
    top: &'a Map<String, Value>,
    text: Option<&'a Map<String, Value>>,
    /// Values transformers fills in when a config omits them.
    defaults: &'static [(&'static str, u32)],
}

/// transformers `Gemma3TextConfig.__init__` defaults (models/gemma3/configuration_gemma3.py):
/// Gemma 3 4B/12B configs omit these and rely on them.
const GEMMA3_DEFAULTS: &[(&str, u32)] = &[
    ("vocab_size", 262_208),
    ("num_attention_heads", 8),
    ("num_key_value_heads", 4),
    ("head_dim", 256),
    ("max_position_embeddings", 131_072),
    ("sliding_window", 4096),
    ("sliding_window_pattern", 6),
];

impl<'a> Fields<'a> {
    /// A key from `text_config` (multimodal configs nest the language model there) or the top level.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.text
            .and_then(|t| t.get(key))
            .or_else(|| self.top.get(key))
            .filter(|v| !v.is_null())
    }

    fn u32_opt(&self, key: &'static str) -> Result<Option<u32>, FormatError> {
        match self.get(key) {
            None => Ok(self.defaults.iter().find(|d| d.0 == key).map(|d| d.1)),
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                            .map(|f| f as u64)
                    })
                    .ok_or_else(|| {
                        json_err(key, format!("expected a non-negative integer, found {v}"))
                    })?;
                u32::try_from(n)
                    .map(Some)
                    .map_err(|_| json_err(key, format!("{n} is too large")))
            }
        }
    }

    fn u32_req(&self, key: &'static str) -> Result<u32, FormatError> {
        self.u32_opt(key)?.ok_or_else(|| json_err(key, "missing"))
    }

    fn str_opt(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    fn bool_opt(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }
}

/// Parses config.json text.
pub fn parse(text: &str) -> Result<HfConfig, FormatError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(FormatError::TooLarge {
            what: "config.json".into(),
            value: text.len() as u64,
            limit: MAX_CONFIG_BYTES as u64,
        });
    }
    let v: Value = serde_json::from_str(text).map_err(|e| json_err("(document)", e.to_string()))?;
    from_value(&v)
}

/// Builds the spec from an already-parsed config object.
pub fn from_value(v: &Value) -> Result<HfConfig, FormatError> {
    let top = v
        .as_object()
        .ok_or_else(|| json_err("(document)", "expected a JSON object"))?;
    let text = top.get("text_config").and_then(Value::as_object);
    let probe = Fields {
        top,
        text,
        defaults: &[],
    };
    let model_type = probe.str_opt("model_type").unwrap_or("");
    let defaults = if matches!(model_type, "gemma3" | "gemma3_text") {
        GEMMA3_DEFAULTS
    } else {
        &[]
    };
    let f = Fields {
        top,
        text,
        defaults,
    };
    let arch = match model_type {
        "llama" | "mistral" => Arch::Llama,
        // Qwen2.5-VL's language model is llama.cpp's `qwen2vl`, whose tensors are Qwen2's (biased
        // Q, K, V); Qwen3-VL's are `qwen3vl` and `qwen3vlmoe`, Qwen3's and Qwen3-MoE's tensors
        // (llama-arch.cpp LLM_TENSOR_NAMES), the rotary sections aside, which store nothing.
        "qwen2" | "qwen2_5_vl" => Arch::Qwen2,
        "qwen3" | "qwen3_vl" | "qwen3_vl_text" => Arch::Qwen3,
        "qwen3_moe" | "qwen3_vl_moe" | "qwen3_vl_moe_text" => Arch::Qwen3Moe,
        "gemma3" | "gemma3_text" => Arch::Gemma3,
        "phi3" => Arch::Phi3,
        "mixtral" => Arch::Mixtral,
        // Kimi K2's config names its own model type but the DeepseekV3ForCausalLM architecture,
        // which llama.cpp converts as `deepseek2` (convert_hf_to_gguf.py DeepseekV2Model).
        "deepseek_v2" | "deepseek_v3" | "glm4_moe_lite" | "kimi_k2" => Arch::Deepseek2,
        "gpt_oss" => Arch::GptOss,
        "qwen3_next" => Arch::Qwen3Next,
        "lfm2" => Arch::Lfm2,
        "" => return Err(json_err("model_type", "missing")),
        other => Arch::Other(other.to_string()),
    };

    let n_embd = f.u32_req("hidden_size")?;
    let n_layer = f.u32_req("num_hidden_layers")?;
    // Bounded here, before the per-layer tables below are sized by it.
    if n_layer > headroom_core::model::limits::MAX_LAYERS {
        return Err(json_err(
            "num_hidden_layers",
            format!(
                "{n_layer} is over the limit of {}",
                headroom_core::model::limits::MAX_LAYERS
            ),
        ));
    }
    let n_head = f.u32_req("num_attention_heads")?;
    if n_head == 0 {
        return Err(json_err("num_attention_heads", "must be positive"));
    }
    let n_head_kv = f.u32_opt("num_key_value_heads")?.unwrap_or(n_head);
    let head_dim = f.u32_opt("head_dim")?.unwrap_or(n_embd / n_head);
    let n_ff = match f.u32_opt("intermediate_size")? {
        // convert_hf_to_gguf.py (GraniteMoeModel): without experts a Granite MoE-family model's
        // FFN is its `shared_mlp`, `shared_intermediate_size` wide.
        _ if model_type == "granitemoehybrid"
            && f.u32_opt("num_local_experts")?.unwrap_or(0) == 0 =>
        {
            f.u32_req("shared_intermediate_size")?
        }
        _ if model_type == "lfm2" => lfm2_ff(&f)?,
        n => n.unwrap_or(0),
    };
    let n_vocab = f.u32_req("vocab_size")?;
    let n_ctx_train = match f.u32_opt("max_position_embeddings")? {
        Some(n) => n,
        None => f
            .u32_opt("max_sequence_length")?
            .ok_or_else(|| json_err("max_position_embeddings", "missing"))?,
    };
    // LFM2's configs say `tie_embedding`; transformers' Lfm2Config ties by default.
    let tied_embeddings = f
        .bool_opt("tie_word_embeddings")
        .or_else(|| f.bool_opt("tie_embedding"))
        .unwrap_or(matches!(arch, Arch::Gemma3 | Arch::Lfm2));
    let attn_bias = match arch {
        Arch::Qwen2 => true,
        _ => f.bool_opt("attention_bias").unwrap_or(false),
    };
    let qk_norm = matches!(
        arch,
        Arch::Qwen3 | Arch::Qwen3Moe | Arch::Gemma3 | Arch::Qwen3Next | Arch::Lfm2
    );

    let mla = match f.u32_opt("kv_lora_rank")? {
        Some(kv_lora_rank) => Some(Mla {
            q_lora_rank: f.u32_opt("q_lora_rank")?,
            kv_lora_rank,
            qk_rope_head_dim: f.u32_req("qk_rope_head_dim")?,
            qk_nope_head_dim: f.u32_req("qk_nope_head_dim")?,
            v_head_dim: f.u32_req("v_head_dim")?,
        }),
        None => None,
    };
    let (head_dim_k, head_dim_v) = match mla {
        Some(m) => (m.qk_nope_head_dim + m.qk_rope_head_dim, m.v_head_dim),
        None => (head_dim, head_dim),
    };

    let moe = parse_moe(&f, &arch, n_ff)?;
    let ssm = parse_ssm(&f, model_type, n_layer, n_embd)?;
    let sliding_window = parse_sliding_window(&f, &arch, n_layer)?;
    let dtype = f
        .str_opt("torch_dtype")
        .or_else(|| f.str_opt("dtype"))
        .unwrap_or("bfloat16");
    let quant_method = top
        .get("quantization_config")
        .and_then(|q| q.get("quant_method"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let native_dtype = match (quant_method, dtype) {
        ("fp8", _) => NativeDtype::Fp8,
        ("mxfp4", _) => NativeDtype::Mxfp4,
        (_, "float16") => NativeDtype::F16,
        (_, "float32") => NativeDtype::F32,
        _ => NativeDtype::Bf16,
    };
    let name = top
        .get("_name_or_path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(model_type)
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
    spec.validate().map_err(|e| json_err(e.field, e.problem))?;
    Ok(HfConfig {
        spec,
        quant: parse_quant(top)?,
    })
}

fn parse_moe(f: &Fields, arch: &Arch, n_ff: u32) -> Result<Option<Moe>, FormatError> {
    let n_expert = match f
        .u32_opt("num_local_experts")?
        .or(f.u32_opt("num_experts")?)
        .or(f.u32_opt("n_routed_experts")?)
    {
        Some(n) if n > 1 => n,
        _ => return Ok(None),
    };
    let n_expert_used = f
        .u32_opt("num_experts_per_tok")?
        .or(f.u32_opt("experts_per_token")?)
        .ok_or_else(|| {
            json_err(
                "num_experts_per_tok",
                "missing for a mixture-of-experts model",
            )
        })?;
    let expert_ff = f.u32_opt("moe_intermediate_size")?.unwrap_or(n_ff);
    // Granite MoE configs name the shared expert's width `shared_intermediate_size`.
    let shared_width = match f.u32_opt("shared_expert_intermediate_size")? {
        Some(s) => Some(s),
        None => f.u32_opt("shared_intermediate_size")?,
    };
    let shared_ff = match (f.u32_opt("n_shared_experts")?, shared_width) {
        (_, Some(s)) => s,
        (Some(n), None) => n.saturating_mul(expert_ff),
        (None, None) => 0,
    };
    Ok(Some(Moe {
        n_expert,
        n_expert_used,
        shared_ff,
        expert_ff,
        n_dense_lead: f.u32_opt("first_k_dense_replace")?.unwrap_or(0),
        expert_bias: *arch == Arch::GptOss,
    }))
}

/// Mamba-2 layers of a `granitemoehybrid` config, read as llama.cpp's convert_hf_to_gguf.py
/// (`GraniteHybridModel`) reads them: layers whose `layer_types` entry is not `"attention"` are
/// recurrent; `ssm.inner_size` = `mamba_expand` x `hidden_size`, `ssm.time_step_rank` (heads) =
/// `mamba_n_heads`, `ssm.group_count` = `mamba_n_groups`, `ssm.conv_kernel` = `mamba_d_conv`,
/// `ssm.state_size` = `mamba_d_state`. `mamba_conv_bias` decides the optional conv bias. Other
/// model types have none. Without `mamba_expand` the inner width is `mamba_n_heads` x
/// `mamba_d_head`.
fn parse_ssm(
    f: &Fields,
    model_type: &str,
    n_layer: u32,
    n_embd: u32,
) -> Result<Option<Ssm>, FormatError> {
    if model_type == "qwen3_next" {
        return parse_gated_delta_net(f, n_layer);
    }
    if model_type == "lfm2" {
        return parse_short_conv(f, n_layer, n_embd);
    }
    if model_type != "granitemoehybrid" {
        return Ok(None);
    }
    let Some(types) = f.get("layer_types").and_then(Value::as_array) else {
        return Ok(None);
    };
    if types.len() != n_layer as usize {
        return Err(json_err(
            "layer_types",
            format!("{} entries for {n_layer} layers", types.len()),
        ));
    }
    let layers: Vec<bool> = types
        .iter()
        .map(|t| t.as_str() != Some("attention"))
        .collect();
    if !layers.iter().any(|&b| b) {
        return Ok(None);
    }
    let n_head = f.u32_req("mamba_n_heads")?;
    let d_inner = match f.u32_opt("mamba_expand")? {
        Some(expand) => expand.checked_mul(n_embd),
        // Copies without `mamba_expand`: heads x head width, the same width in every
        // published Granite-4.0-H config seen.
        None => n_head.checked_mul(f.u32_req("mamba_d_head")?),
    }
    .ok_or_else(|| json_err("mamba_expand", "inner width overflows"))?;
    Ok(Some(Ssm {
        d_conv: f.u32_req("mamba_d_conv")?,
        d_inner,
        d_state: f.u32_req("mamba_d_state")?,
        n_group: f.u32_req("mamba_n_groups")?,
        n_head,
        conv_bias: f.bool_opt("mamba_conv_bias").unwrap_or(true),
        layers,
    }))
}

/// Gated delta net layers of a `qwen3_next` config, read as convert_hf_to_gguf.py
/// (`Qwen3NextModel.set_gguf_parameters`) writes them: `ssm.conv_kernel` =
/// `linear_conv_kernel_dim`, `ssm.state_size` = `linear_key_head_dim`, `ssm.group_count` =
/// `linear_num_key_heads`, `ssm.time_step_rank` = `linear_num_value_heads`, `ssm.inner_size` =
/// `linear_value_head_dim` x `linear_num_value_heads`. The recurrent layers are the
/// `"linear_attention"` entries of `layer_types` where the config has one, else as llama.cpp's
/// `load_arch_hparams` (src/models/qwen3next.cpp) places them: every layer but each
/// `full_attention_interval`-th (default 4), `(il + 1) % interval != 0`.
fn parse_gated_delta_net(f: &Fields, n_layer: u32) -> Result<Option<Ssm>, FormatError> {
    let layers: Vec<bool> = match f.get("layer_types").and_then(Value::as_array) {
        Some(types) => {
            if types.len() != n_layer as usize {
                return Err(json_err(
                    "layer_types",
                    format!("{} entries for {n_layer} layers", types.len()),
                ));
            }
            types
                .iter()
                .map(|t| t.as_str() == Some("linear_attention"))
                .collect()
        }
        None => {
            let interval = f.u32_opt("full_attention_interval")?.unwrap_or(4);
            if interval == 0 {
                return Err(json_err("full_attention_interval", "must be positive"));
            }
            (0..n_layer).map(|il| (il + 1) % interval != 0).collect()
        }
    };
    if !layers.iter().any(|&b| b) {
        return Ok(None);
    }
    let n_head = f.u32_req("linear_num_value_heads")?;
    let d_inner = f
        .u32_req("linear_value_head_dim")?
        .checked_mul(n_head)
        .ok_or_else(|| json_err("linear_value_head_dim", "inner width overflows"))?;
    Ok(Some(Ssm {
        d_conv: f.u32_req("linear_conv_kernel_dim")?,
        d_inner,
        d_state: f.u32_req("linear_key_head_dim")?,
        n_group: f.u32_req("linear_num_key_heads")?,
        n_head,
        conv_bias: false,
        layers,
    }))
}

/// LFM2's FFN width as convert_hf_to_gguf.py (`LFM2Model._add_feed_forward_length`) writes it:
/// `block_ff_dim` (else `intermediate_size`); with `block_auto_adjust_ff_dim`, `int(2 * ff / 3)`,
/// times `block_ffn_dim_multiplier` (truncated) when set, rounded up to `block_multiple_of`.
/// Absent keys take transformers' Lfm2Config defaults (adjust on, multiplier 1.0, multiple 256).
fn lfm2_ff(f: &Fields) -> Result<u32, FormatError> {
    let ff = match f.u32_opt("block_ff_dim")? {
        Some(n) => n,
        None => f.u32_req("intermediate_size")?,
    };
    if !f.bool_opt("block_auto_adjust_ff_dim").unwrap_or(true) {
        return Ok(ff);
    }
    let mut ff = u64::from(ff) * 2 / 3;
    if let Some(m) = f.get("block_ffn_dim_multiplier").and_then(Value::as_f64) {
        if !(m.is_finite() && m > 0.0 && m <= 16.0) {
            return Err(json_err(
                "block_ffn_dim_multiplier",
                format!("{m} is not a positive factor of at most 16"),
            ));
        }
        ff = (m * ff as f64) as u64;
    }
    let multiple = u64::from(f.u32_opt("block_multiple_of")?.unwrap_or(256).max(1));
    let ff = ff.div_ceil(multiple) * multiple;
    u32::try_from(ff).map_err(|_| json_err("block_ff_dim", "FFN width overflows"))
}

/// LFM2's short-convolution layers: the `"conv"` entries of `layer_types`, else every layer not
/// in `full_attn_idxs` (convert_hf_to_gguf.py writes zero KV heads for them, and llama.cpp's
/// src/models/lfm2.cpp makes the layers with zero KV heads recurrent), each keeping
/// `conv_L_cache - 1` columns of `n_embd` (see [`Ssm`]).
fn parse_short_conv(f: &Fields, n_layer: u32, n_embd: u32) -> Result<Option<Ssm>, FormatError> {
    let layers: Vec<bool> = match f.get("layer_types").and_then(Value::as_array) {
        Some(types) => {
            if types.len() != n_layer as usize {
                return Err(json_err(
                    "layer_types",
                    format!("{} entries for {n_layer} layers", types.len()),
                ));
            }
            types.iter().map(|t| t.as_str() == Some("conv")).collect()
        }
        None => {
            let idxs = f
                .get("full_attn_idxs")
                .and_then(Value::as_array)
                .ok_or_else(|| json_err("layer_types", "missing (nor full_attn_idxs)"))?;
            let mut layers = vec![true; n_layer as usize];
            for i in idxs {
                let il = i
                    .as_u64()
                    .filter(|&il| il < u64::from(n_layer))
                    .ok_or_else(|| {
                        json_err("full_attn_idxs", format!("{i} is not a layer index"))
                    })?;
                layers[il as usize] = false;
            }
            layers
        }
    };
    if !layers.iter().any(|&b| b) {
        return Ok(None);
    }
    Ok(Some(Ssm {
        d_conv: f.u32_opt("conv_L_cache")?.unwrap_or(3),
        d_inner: n_embd,
        d_state: 0,
        n_group: 0,
        n_head: 0,
        conv_bias: f.bool_opt("conv_bias").unwrap_or(false),
        layers,
    }))
}

/// Sliding-window layers, as llama.cpp applies them: an explicit `layer_types` list (gpt-oss,
/// newer Gemma configs) or Gemma 3's `sliding_window_pattern` (every Nth layer global). Other
/// architectures' `sliding_window` fields (Mistral 7B v0.1, Qwen2's disabled window) are not used.
fn parse_sliding_window(
    f: &Fields,
    arch: &Arch,
    n_layer: u32,
) -> Result<Option<SlidingWindow>, FormatError> {
    let Some(window) = f.u32_opt("sliding_window")? else {
        return Ok(None);
    };
    if let Some(types) = f.get("layer_types").and_then(Value::as_array) {
        if types.len() != n_layer as usize {
            return Err(json_err(
                "layer_types",
                format!("{} entries for {n_layer} layers", types.len()),
            ));
        }
        let layers: Vec<bool> = types
            .iter()
            .map(|t| t.as_str() == Some("sliding_attention"))
            .collect();
        return Ok(layers
            .iter()
            .any(|&b| b)
            .then_some(SlidingWindow { window, layers }));
    }
    if *arch == Arch::Gemma3 {
        let pattern = f.u32_opt("sliding_window_pattern")?.unwrap_or(6).max(1);
        let layers = (0..n_layer).map(|il| (il + 1) % pattern != 0).collect();
        return Ok(Some(SlidingWindow { window, layers }));
    }
    Ok(None)
}

fn parse_quant(top: &Map<String, Value>) -> Result<Option<Quant>, FormatError> {
    let num = |o: &Value, k: &str| o.get(k).and_then(Value::as_f64);
    // MLX: "quantization": {"group_size": 64, "bits": 4}
    if let Some(q) = top.get("quantization").filter(|q| q.is_object()) {
        let bits = num(q, "bits").ok_or_else(|| json_err("quantization.bits", "missing"))?;
        let group = num(q, "group_size").unwrap_or(64.0);
        return Quant::parse(&format!("mlx-{}bit-g{}", bits as u32, group as u32))
            .map(Some)
            .map_err(|e| json_err("quantization", e.to_string()));
    }
    let Some(q) = top.get("quantization_config").filter(|q| q.is_object()) else {
        return Ok(None);
    };
    let method = q.get("quant_method").and_then(Value::as_str).unwrap_or("");
    let bits = num(q, "bits").unwrap_or(4.0);
    let group = num(q, "group_size").unwrap_or(128.0);
    let parsed = match method {
        "gptq" => Quant::parse(&format!(
            "gptq-{}bit-g{}",
            bits as u32,
            group.max(16.0) as u32
        )),
        "awq" => Quant::parse(&format!(
            "awq-{}bit-g{}",
            bits as u32,
            group.max(16.0) as u32
        )),
        "fp8" | "compressed-tensors" => Ok(Quant::Fp8),
        "bitsandbytes" => {
            let dq = q
                .get("bnb_4bit_use_double_quant")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if q.get("load_in_8bit").and_then(Value::as_bool) == Some(true) {
                return Ok(Some(Quant::Fp8));
            }
            Ok(Quant::Nf4 { double_quant: dq })
        }
        "exl2" | "exl3" => Quant::parse(&format!("exl2-{bits}")),
        // gpt-oss ships MXFP4 experts; sized by the MXFP4_MOE mix.
        "mxfp4" => Quant::parse("mxfp4_moe"),
        _ => return Ok(None),
    };
    parsed
        .map(Some)
        .map_err(|e| json_err("quantization_config", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_style_config_defaults_head_dim_and_kv_heads() {
        let c = parse(
            r#"{"model_type":"llama","hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,
                "intermediate_size":11008,"vocab_size":32000,"max_position_embeddings":4096}"#,
        )
        .unwrap();
        assert_eq!(c.spec.head_dim_k, 128);
        assert_eq!(c.spec.n_head_kv, 32);
        assert_eq!(c.quant, None);
    }

    #[test]
    fn missing_and_wrong_fields_are_named() {
        let e = parse(r#"{"model_type":"llama","hidden_size":4096}"#).unwrap_err();
        assert!(e.to_string().contains("num_hidden_layers"), "{e}");
        let e = parse(r#"{"model_type":"llama","hidden_size":"big"}"#).unwrap_err();
        assert!(e.to_string().contains("hidden_size"), "{e}");
        assert!(parse("[1,2]").is_err());
        assert!(parse("{").is_err());
        let e = parse(
            r#"{"model_type":"llama","hidden_size":4096,"num_hidden_layers":99999999,"num_attention_heads":32,
                "vocab_size":32000,"max_position_embeddings":4096}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("n_layer"), "{e}");
    }

    /// The keys of ibm-granite/granite-4.0-h-tiny's config.json as quoted (partially) in a public
    /// test file (GRANITE_H_TINY_HF, search-index file id 65865534003): the layer_types list is
    /// written out from its `["mamba"] * 5 + ["attention"] + ...` form.
    fn granite_h_tiny_config() -> String {
        let mut types = Vec::new();
        for (kind, n) in [
            ("mamba", 5),
            ("attention", 1),
            ("mamba", 9),
            ("attention", 1),
            ("mamba", 9),
            ("attention", 1),
            ("mamba", 9),
            ("attention", 1),
            ("mamba", 4),
        ] {
            types.extend(std::iter::repeat_n(format!("\"{kind}\""), n));
        }
        format!(
            r#"{{"model_type":"granitemoehybrid","hidden_size":1536,"num_hidden_layers":40,
                "num_attention_heads":12,"num_key_value_heads":4,"intermediate_size":512,
                "shared_intermediate_size":1024,"num_local_experts":64,"num_experts_per_tok":6,
                "vocab_size":100352,"tie_word_embeddings":true,"mamba_d_state":128,
                "mamba_n_groups":1,"mamba_n_heads":48,"mamba_d_head":64,"mamba_expand":2,
                "mamba_d_conv":4,"mamba_chunk_size":256,"max_position_embeddings":131072,
                "layer_types":[{}]}}"#,
            types.join(",")
        )
    }

    #[test]
    fn granite_hybrid_config_gives_mamba_layers() {
        let c = parse(&granite_h_tiny_config()).unwrap();
        let ssm = c.spec.ssm.as_ref().unwrap();
        assert_eq!(ssm.layers.iter().filter(|&&b| b).count(), 36);
        assert!(!ssm.layers[5] && !ssm.layers[15] && !ssm.layers[25] && !ssm.layers[35]);
        // d_inner = mamba_expand 2 x hidden 1536 = 3072 (= mamba_n_heads 48 x mamba_d_head 64).
        assert_eq!(
            (
                ssm.d_inner,
                ssm.d_state,
                ssm.n_group,
                ssm.n_head,
                ssm.d_conv
            ),
            (3072, 128, 1, 48, 4)
        );
        let moe = c.spec.moe.unwrap();
        assert_eq!(
            (
                moe.n_expert,
                moe.n_expert_used,
                moe.expert_ff,
                moe.shared_ff
            ),
            (64, 6, 512, 1024)
        );
        assert_eq!(c.spec.n_full_attn_layers(), 4);
        assert_eq!((c.spec.n_head_kv, c.spec.head_dim_k), (4, 128));
    }

    #[test]
    fn granite_hybrid_layer_types_must_match_layers() {
        let text =
            granite_h_tiny_config().replace("\"num_hidden_layers\":40", "\"num_hidden_layers\":39");
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains("layer_types"), "{e}");
        let text = granite_h_tiny_config().replace("\"mamba_n_heads\":48,", "");
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains("mamba_n_heads"), "{e}");
        // 47 heads cannot split an inner width of 3072.
        let text =
            granite_h_tiny_config().replace("\"mamba_n_heads\":48,", "\"mamba_n_heads\":47,");
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains("ssm_n_head"), "{e}");
    }

    #[test]
    fn granite_350m_mlx_copy_parses_without_mamba_expand() {
        // GRANITE_4_350M_CONFIG as quoted in a public test file (search-index file id
        // 54665629904): an MLX 4-bit repo's config of Granite-4.0-H-350M, no mamba_expand.
        let text = r#"{"model_type":"granitemoehybrid","attention_bias":false,
            "attention_multiplier":0.015625,"embedding_multiplier":12,"eos_token_id":100257,
            "hidden_size":768,"intermediate_size":2048,"logits_scaling":3,
            "layer_types":["mamba","mamba","mamba","mamba","mamba","mamba","mamba","mamba",
            "mamba","mamba","attention","mamba","mamba","attention","mamba",
            "mamba","mamba","attention","mamba","mamba","mamba","mamba",
            "mamba","mamba","mamba","mamba","mamba","attention","mamba",
            "mamba","mamba","mamba"],
            "mamba_conv_bias":true,"mamba_d_conv":4,"mamba_d_head":32,"mamba_d_state":128,
            "mamba_n_groups":1,"mamba_n_heads":48,"mamba_proj_bias":false,
            "max_position_embeddings":32768,"num_attention_heads":12,"num_experts_per_tok":0,
            "num_hidden_layers":32,"num_key_value_heads":4,"num_local_experts":0,
            "position_embedding_type":"nope","residual_multiplier":0.246,"rms_norm_eps":1e-05,
            "rope_theta":10000,"shared_intermediate_size":2048,"tie_word_embeddings":true,
            "vocab_size":100352,"quantization":{"group_size":64,"bits":4}}"#;
        let c = parse(text).unwrap();
        let ssm = c.spec.ssm.as_ref().unwrap();
        let attn: Vec<usize> = (0..32).filter(|&il| !ssm.layers[il]).collect();
        assert_eq!(attn, vec![10, 13, 17, 27]);
        // d_inner = 48 x 32 = 1536; n_embd_r = 3 x (1536 + 2 x 128) = 5376,
        // n_embd_s = 128 x 1536 = 196608.
        assert_eq!(ssm.d_inner, 1536);
        assert_eq!((ssm.n_embd_r(), ssm.n_embd_s()), (5376, 196_608));
        // Dense: the FFN is the shared MLP, 2048 wide; the copy is an MLX 4-bit repo.
        assert_eq!((c.spec.moe, c.spec.n_ff), (None, 2048));
        assert!(c.quant.is_some());
    }

    #[test]
    fn granite_hybrid_without_experts_uses_the_shared_mlp_width() {
        // The dense variant's FFN is its shared_mlp (convert_hf_to_gguf.py); a changed width
        // (illustrative, not a published config) must come through as n_ff.
        let text = granite_h_tiny_config()
            .replace("\"num_local_experts\":64", "\"num_local_experts\":0")
            .replace(
                "\"shared_intermediate_size\":1024",
                "\"shared_intermediate_size\":2048",
            );
        let c = parse(&text).unwrap();
        assert_eq!((c.spec.moe, c.spec.n_ff), (None, 2048));
    }

    #[test]
    fn mlx_quantization_is_read() {
        let c = parse(
            r#"{"model_type":"qwen2","hidden_size":5120,"num_hidden_layers":64,"num_attention_heads":40,
                "num_key_value_heads":8,"intermediate_size":27648,"vocab_size":152064,
                "max_position_embeddings":32768,"quantization":{"group_size":64,"bits":4}}"#,
        )
        .unwrap();
        assert_eq!(
            c.quant,
            Some(Quant::Mlx {
                bits: 4,
                group_size: 64
            })
        );
        assert!(c.spec.attn_bias);
    }

    #[test]
    fn mlx_folder_config_with_both_keys_and_layer_overrides() {
        // mlx_lm writes `quantization` and a copy as `quantization_config`; mixed-precision
        // conversions add per-module entries, which do not change the default bits.
        let c = parse(
            r#"{"model_type":"llama","hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,
                "num_key_value_heads":8,"intermediate_size":8192,"vocab_size":128256,
                "max_position_embeddings":131072,"tie_word_embeddings":true,
                "quantization":{"group_size":32,"bits":8,
                    "model.layers.0.mlp.down_proj":{"group_size":64,"bits":6}},
                "quantization_config":{"group_size":32,"bits":8}}"#,
        )
        .unwrap();
        assert_eq!(
            c.quant,
            Some(Quant::Mlx {
                bits: 8,
                group_size: 32
            })
        );
        assert!(c.spec.tied_embeddings);
        let e = parse(
            r#"{"model_type":"llama","hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,
                "vocab_size":128256,"max_position_embeddings":131072,"quantization":{"group_size":64}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("quantization.bits"), "{e}");
    }

    #[test]
    fn qwen3_next_layers_follow_the_interval_or_the_layer_types() {
        // The shapes of Qwen3-Next-80B-A3B-Instruct's config.json (data/models), 8 layers here.
        let base = r#""model_type":"qwen3_next","hidden_size":2048,"num_hidden_layers":8,
            "num_attention_heads":16,"num_key_value_heads":2,"head_dim":256,"intermediate_size":5120,
            "vocab_size":151936,"max_position_embeddings":262144,"num_experts":512,
            "num_experts_per_tok":10,"moe_intermediate_size":512,"shared_expert_intermediate_size":512,
            "linear_conv_kernel_dim":4,"linear_key_head_dim":128,"linear_num_key_heads":16,
            "linear_num_value_heads":32,"linear_value_head_dim":128"#;
        let c = parse(&format!("{{{base},\"full_attention_interval\":4}}")).unwrap();
        assert_eq!(c.spec.arch, Arch::Qwen3Next);
        assert!(c.spec.qk_norm);
        let ssm = c.spec.ssm.as_ref().unwrap();
        assert_eq!(
            ssm.layers,
            vec![true, true, true, false, true, true, true, false]
        );
        assert_eq!(
            (
                ssm.d_conv,
                ssm.d_inner,
                ssm.d_state,
                ssm.n_group,
                ssm.n_head
            ),
            (4, 4096, 128, 16, 32)
        );
        let types = r#""layer_types":["full_attention","linear_attention","linear_attention",
            "linear_attention","full_attention","linear_attention","linear_attention","linear_attention"]"#;
        let c = parse(&format!("{{{base},{types}}}")).unwrap();
        assert_eq!(c.spec.n_full_attn_layers(), 2);
        assert!(!c.spec.is_recurrent_layer(0) && c.spec.is_recurrent_layer(1));
        let e = parse(&format!("{{{base},\"full_attention_interval\":0}}")).unwrap_err();
        assert!(e.to_string().contains("full_attention_interval"), "{e}");
    }

    #[test]
    fn kimi_k2_is_read_as_deepseek2() {
        let c = parse(
            r#"{"model_type":"kimi_k2","hidden_size":7168,"num_hidden_layers":61,"num_attention_heads":64,
            "num_key_value_heads":64,"intermediate_size":18432,"vocab_size":163840,"max_position_embeddings":131072,
            "kv_lora_rank":512,"q_lora_rank":1536,"qk_rope_head_dim":64,"qk_nope_head_dim":128,"v_head_dim":128,
            "n_routed_experts":384,"num_experts_per_tok":8,"moe_intermediate_size":2048,"n_shared_experts":1,
            "first_k_dense_replace":1}"#,
        )
        .unwrap();
        assert_eq!(c.spec.arch, Arch::Deepseek2);
        assert_eq!(c.spec.mla.map(|m| m.kv_lora_rank), Some(512));
    }
}
