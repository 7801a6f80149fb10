//! Quantization: how many bytes each weight tensor takes in every format people run.

mod ggml_type;
pub mod gguf_mix;
pub mod quality;

pub use ggml_type::GgmlType;
pub use gguf_mix::GgufMix;
pub use quality::{QualityGrade, QualitySignal, QualityTable};

use crate::model::ModelSpec;
use crate::tensors::{self, Tensor, TensorRole};
use serde::{Deserialize, Serialize};

/// A weight format. Non-GGUF formats keep embeddings and the output head in 16 bits, as their
/// quantizers do, except MLX, which quantizes the embedding and head too (mlx_lm `quantize_model`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum Quant {
    /// A llama.cpp file mix such as Q4_K_M.
    Gguf { mix: GgufMix },
    /// MLX affine group quantization: `bits` per weight plus an f16 scale and bias per group.
    Mlx { bits: u8, group_size: u32 },
    /// GPTQ: packed `bits` weights, f16 scales and packed zero points per group.
    Gptq { bits: u8, group_size: u32 },
    /// AWQ: the same storage as GPTQ.
    Awq { bits: u8, group_size: u32 },
    /// FP8 (e4m3) weights with per-tensor or per-block scales.
    Fp8,
    /// bitsandbytes NF4, 64-weight blocks; `double_quant` stores the block scales in 8 bits.
    Nf4 { double_quant: bool },
    /// ExLlamaV2/V3 at an average bits per weight (head at 6 bits, as exllamav2 defaults).
    Exl { bpw: f32 },
    /// Unquantized 16-bit weights (F16/BF16).
    Float16,
    /// Unquantized 32-bit weights.
    Float32,
}

/// Why a quantization name was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantParseError(pub String);

impl std::fmt::Display for QuantParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown quantization `{}` (try q4_k_m, q8_0, f16, mlx-4bit, gptq-4bit, awq-4bit, fp8, nf4, exl2-4.5)",
            self.0
        )
    }
}

impl std::error::Error for QuantParseError {}

impl Quant {
    /// Parses names such as `Q4_K_M`, `f16`, `mlx-4bit`, `mlx-8bit-g32`, `gptq-4bit`, `awq`, `fp8`,
    /// `nf4`, `exl2-4.5`, `exl3-3.0`.
    pub fn parse(s: &str) -> Result<Quant, QuantParseError> {
        let l = s.trim().to_ascii_lowercase();
        let err = || QuantParseError(s.to_string());
        match l.as_str() {
            "f16" | "bf16" | "fp16" | "float16" => return Ok(Quant::Float16),
            "f32" | "fp32" | "float32" => return Ok(Quant::Float32),
            "fp8" | "f8" | "fp8_e4m3" => return Ok(Quant::Fp8),
            "nf4" | "bnb-nf4" | "bnb-4bit" => {
                return Ok(Quant::Nf4 {
                    double_quant: false,
                })
            }
            "nf4-dq" => return Ok(Quant::Nf4 { double_quant: true }),
            _ => {}
        }
        if let Some(mix) = GgufMix::from_name(&l) {
            return Ok(Quant::Gguf { mix });
        }
        let (head, rest) = l.split_once('-').unwrap_or((l.as_str(), ""));
        let mut bits: Option<u8> = None;
        let mut group: Option<u32> = None;
        let mut bpw: Option<f32> = None;
        for part in rest.split('-').filter(|p| !p.is_empty()) {
            if let Some(b) = part.strip_suffix("bit") {
                bits = Some(b.parse().map_err(|_| err())?);
            } else if let Some(g) = part.strip_prefix('g') {
                group = Some(g.parse().map_err(|_| err())?);
            } else if let Ok(x) = part.parse::<f32>() {
                bpw = Some(x);
            } else {
                return Err(err());
            }
        }
        let bits_ok = |b: u8| {
            if (2..=8).contains(&b) {
                Ok(b)
            } else {
                Err(err())
            }
        };
        let group_ok = |g: u32| {
            if (16..=1024).contains(&g) {
                Ok(g)
            } else {
                Err(err())
            }
        };
        match head {
            "mlx" => Ok(Quant::Mlx {
                bits: bits_ok(bits.unwrap_or(4))?,
                group_size: group_ok(group.unwrap_or(64))?,
            }),
            "gptq" => Ok(Quant::Gptq {
                bits: bits_ok(bits.unwrap_or(4))?,
                group_size: group_ok(group.unwrap_or(128))?,
            }),
            "awq" => Ok(Quant::Awq {
                bits: bits_ok(bits.unwrap_or(4))?,
                group_size: group_ok(group.unwrap_or(128))?,
            }),
            "exl2" | "exl3" | "exl" => {
                let b = bpw.or(bits.map(f32::from)).ok_or_else(err)?;
                if (1.0..=16.0).contains(&b) {
                    Ok(Quant::Exl { bpw: b })
                } else {
                    Err(err())
                }
            }
            _ => Err(err()),
        }
    }

    /// A short stable label, e.g. `Q4_K_M`, `mlx-4bit-g64`.
    pub fn label(&self) -> String {
        match self {
            Quant::Gguf { mix } => mix.name().to_string(),
            Quant::Mlx { bits, group_size } => format!("mlx-{bits}bit-g{group_size}"),
            Quant::Gptq { bits, group_size } => format!("gptq-{bits}bit-g{group_size}"),
            Quant::Awq { bits, group_size } => format!("awq-{bits}bit-g{group_size}"),
            Quant::Fp8 => "fp8".into(),
            Quant::Nf4 {
                double_quant: false,
            } => "nf4".into(),
            Quant::Nf4 { double_quant: true } => "nf4-dq".into(),
            Quant::Exl { bpw } => format!("exl-{bpw}"),
            Quant::Float16 => "f16".into(),
            Quant::Float32 => "f32".into(),
        }
    }

    /// Bits per weight of a quantized 2-D tensor in this format, group overhead included.
    pub fn bits_per_weight(&self) -> f64 {
        match *self {
            Quant::Gguf { mix } => mix.base_type().bits_per_weight(),
            // scale + bias per group, each 16 bits
            Quant::Mlx { bits, group_size } => f64::from(bits) + 32.0 / f64::from(group_size),
            // f16 scale + a packed `bits` zero point per group
            Quant::Gptq { bits, group_size } | Quant::Awq { bits, group_size } => {
                f64::from(bits) + (16.0 + f64::from(bits)) / f64::from(group_size)
            }
            Quant::Fp8 => 8.0,
            // f32 absmax per 64 weights, or 8-bit absmax per 64 plus an f32 per 256 blocks
            Quant::Nf4 {
                double_quant: false,
            } => 4.0 + 32.0 / 64.0,
            Quant::Nf4 { double_quant: true } => 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0),
            Quant::Exl { bpw } => f64::from(bpw),
            Quant::Float16 => 16.0,
            Quant::Float32 => 32.0,
        }
    }
}

/// One weight tensor as stored: where it sits in the model and how many bytes it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredTensor {
    pub name: String,
    pub layer: Option<u32>,
    pub role: TensorRole,
    pub n_elements: u64,
    pub bytes: u64,
    /// The ggml type, for GGUF tensors (llama.cpp's CPU repacking depends on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ggml_type: Option<GgmlType>,
    /// `ne[1]`: the rows of a matrix (its output features), 0 when unknown.
    #[serde(default)]
    pub rows: u64,
}

impl StoredTensor {
    fn from_tensor(t: &Tensor, bytes: u64) -> StoredTensor {
        StoredTensor {
            name: t.name.clone(),
            layer: t.layer(),
            role: t.role(),
            n_elements: t.n_elements(),
            bytes,
            ggml_type: Some(t.ty),
            rows: t.dims.get(1).copied().unwrap_or(0),
        }
    }
}

/// The stored tensors of a GGUF file whose tensor infos were read (exact types).
pub fn stored_from_gguf(tensors: &[Tensor]) -> Vec<StoredTensor> {
    tensors
        .iter()
        .map(|t| StoredTensor::from_tensor(t, t.bytes()))
        .collect()
}

/// The stored tensors of `m` quantized with `q`, for when no weight file is given.
pub fn stored_tensors(m: &ModelSpec, q: &Quant) -> Vec<StoredTensor> {
    if let Quant::Gguf { mix } = q {
        let mut ts = tensors::synthesize(m, GgmlType::F16);
        gguf_mix::apply(m, &mut ts, *mix);
        return stored_from_gguf(&ts);
    }
    let ts = tensors::synthesize(m, GgmlType::F32);
    let bpw = q.bits_per_weight();
    let half = |n: u64| n.saturating_mul(2);
    ts.iter()
        .map(|t| {
            let n = t.n_elements();
            let bytes = match (t.role(), q) {
                (_, Quant::Float32) => n.saturating_mul(4),
                (TensorRole::LayerOther | TensorRole::OutputNorm | TensorRole::Other, _) => half(n),
                (_, Quant::Float16) => half(n),
                (TensorRole::TokenEmbd | TensorRole::Output, Quant::Mlx { .. }) => {
                    bits_to_bytes(n, bpw)
                }
                (TensorRole::Output, Quant::Exl { .. }) => bits_to_bytes(n, 6.0),
                (TensorRole::TokenEmbd | TensorRole::Output, _) => half(n),
                // routers stay in 16 bits in every format
                (TensorRole::SharedExperts, _) if t.name.contains("ffn_gate_inp") => half(n),
                _ => bits_to_bytes(n, bpw),
            };
            StoredTensor::from_tensor(t, bytes)
        })
        .collect()
}

fn bits_to_bytes(n: u64, bits: f64) -> u64 {
    ((n as f64) * bits / 8.0).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::llama3_8b;

    #[test]
    fn parse_accepts_every_family_and_rejects_garbage() {
        assert_eq!(
            Quant::parse("Q4_K_M"),
            Ok(Quant::Gguf {
                mix: GgufMix::Q4_K_M
            })
        );
        assert_eq!(
            Quant::parse("mlx-4bit"),
            Ok(Quant::Mlx {
                bits: 4,
                group_size: 64
            })
        );
        assert_eq!(
            Quant::parse("mlx-8bit-g32"),
            Ok(Quant::Mlx {
                bits: 8,
                group_size: 32
            })
        );
        assert_eq!(
            Quant::parse("gptq-4bit"),
            Ok(Quant::Gptq {
                bits: 4,
                group_size: 128
            })
        );
        assert_eq!(Quant::parse("exl2-4.65"), Ok(Quant::Exl { bpw: 4.65 }));
        assert_eq!(Quant::parse("bf16"), Ok(Quant::Float16));
        assert!(Quant::parse("q9_k").is_err());
        assert!(Quant::parse("mlx-99bit").is_err());
        assert!(Quant::parse("exl2").is_err());
    }

    #[test]
    fn mlx_4bit_is_4_5_bits_per_weight() {
        // 4 bits + (16-bit scale + 16-bit bias) / 64 = 4.5
        assert!(
            (Quant::Mlx {
                bits: 4,
                group_size: 64
            }
            .bits_per_weight()
                - 4.5)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn q4_k_m_llama3_8b_matches_llama_cpp_file_size() {
        // llama.cpp reported for Meta-Llama-3-8B Q4_K_M: 4403.49 MiB on the GPU plus 281.81 MiB of
        // token embeddings on the host (memory_measurements.csv), i.e. 4685.30 MiB in all.
        let ts = stored_tensors(
            &llama3_8b(),
            &Quant::Gguf {
                mix: GgufMix::Q4_K_M,
            },
        );
        let total: u64 = ts.iter().map(|t| t.bytes).sum();
        let mib = total as f64 / 1048576.0;
        assert!((mib - 4685.30).abs() / 4685.30 < 0.01, "{mib}");
        let embd = ts.iter().find(|t| t.role == TensorRole::TokenEmbd).unwrap();
        assert!((embd.bytes as f64 / 1048576.0 - 281.81).abs() < 0.01);
    }
}

/// One repeating layer's weights, split the way llama.cpp can place them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerWeights {
    /// Everything but the routed experts.
    pub dense: u64,
    /// Routed experts (`*_exps`).
    pub experts: u64,
    pub largest_dense: u64,
    pub largest_expert: u64,
}

/// The stored weights summed per layer and role: what placement needs, in O(layers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightSummary {
    pub layers: Vec<LayerWeights>,
    pub token_embd: u64,
    /// The output head and its norm.
    pub output: u64,
    /// Tensors outside any layer that are neither embeddings nor output.
    pub other: u64,
    pub total: u64,
    /// The bytes of llama.cpp's `CPU_REPACK` copy on an x86 CPU with AVX2 when every layer and the
    /// output run there (`memory::cpu_repack`).
    #[serde(default)]
    pub cpu_repack: u64,
}

impl WeightSummary {
    pub fn new(n_layer: u32, tensors: &[StoredTensor]) -> WeightSummary {
        let mut w = WeightSummary {
            layers: vec![LayerWeights::default(); n_layer as usize],
            ..Default::default()
        };
        for t in tensors {
            w.total = w.total.saturating_add(t.bytes);
            if crate::memory::cpu_repack::repacked_on_x86(t) {
                w.cpu_repack = w.cpu_repack.saturating_add(t.bytes);
            }
            match (t.role, t.layer.and_then(|il| w.layers.get_mut(il as usize))) {
                (TensorRole::TokenEmbd, _) => w.token_embd += t.bytes,
                (TensorRole::Output | TensorRole::OutputNorm, _) => w.output += t.bytes,
                (TensorRole::Experts, Some(l)) => {
                    l.experts += t.bytes;
                    l.largest_expert = l.largest_expert.max(t.bytes);
                }
                (_, Some(l)) => {
                    l.dense += t.bytes;
                    l.largest_dense = l.largest_dense.max(t.bytes);
                }
                (_, None) => w.other += t.bytes,
            }
        }
        w
    }
}
