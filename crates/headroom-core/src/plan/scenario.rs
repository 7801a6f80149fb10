//! A scenario: one model, its weights, the hardware and the runtime with its settings.

use crate::hardware::{apple_gpu_working_set, Backend, DeviceKind, DeviceSpec};
use crate::memory::llama_cpp::LlamaCppSettings;
use crate::memory::mlx::MlxSettings;
use crate::memory::transformers::TransformersSettings;
use crate::memory::vllm::VllmSettings;
use crate::model::ModelSpec;
use crate::quant::{StoredTensor, WeightSummary};
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The runtime and its memory-relevant settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "runtime", rename_all = "snake_case")]
pub enum Runtime {
    LlamaCpp(LlamaCppSettings),
    Vllm(VllmSettings),
    Mlx(MlxSettings),
    Transformers(TransformersSettings),
}

impl Runtime {
    pub fn name(&self) -> &'static str {
        match self {
            Runtime::LlamaCpp(_) => "llama.cpp",
            Runtime::Vllm(_) => "vllm",
            Runtime::Mlx(_) => "mlx",
            Runtime::Transformers(_) => "transformers",
        }
    }

    /// The runtime as the user runs it: the application that launched the engine, and the engine.
    pub fn label(&self) -> &'static str {
        match self {
            Runtime::LlamaCpp(s) => s.launcher.label(),
            Runtime::Mlx(s) if s.lm_studio => "LM Studio (MLX engine)",
            _ => self.name(),
        }
    }

    /// The requested context (0 = the model's trained length).
    pub fn n_ctx(&self) -> u32 {
        match self {
            Runtime::LlamaCpp(s) => s.n_ctx,
            Runtime::Vllm(s) => s.max_model_len,
            Runtime::Mlx(s) => s.n_ctx,
            Runtime::Transformers(s) => s.n_ctx,
        }
    }

    pub fn set_n_ctx(&mut self, n: u32) {
        match self {
            Runtime::LlamaCpp(s) => s.n_ctx = n,
            Runtime::Vllm(s) => s.max_model_len = n,
            Runtime::Mlx(s) => s.n_ctx = n,
            Runtime::Transformers(s) => s.n_ctx = n,
        }
    }

    /// The step in which this runtime allocates context.
    pub fn ctx_granule(&self) -> u32 {
        match self {
            Runtime::LlamaCpp(_) => crate::memory::kv_cache::LLAMA_CPP_CTX_PAD,
            Runtime::Vllm(s) => s.block_size.max(1),
            Runtime::Mlx(_) => crate::memory::mlx::KV_STEP,
            Runtime::Transformers(_) => 1,
        }
    }
}

/// Everything a fit needs. Built by the edges (CLI, web) from catalog entries or user files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub model: ModelSpec,
    /// Stored weight tensors (from a GGUF header, or synthesized for a quantization).
    pub weights: Vec<StoredTensor>,
    /// `weights` summed per layer; build it with `WeightSummary::new(model.n_layer, &weights)`.
    pub weight_summary: WeightSummary,
    /// Label of the weight format, e.g. `Q4_K_M`.
    pub quant: String,
    /// The accelerators (several for a multi-GPU box), or one CPU or unified-memory device.
    pub devices: Vec<DeviceSpec>,
    /// System RAM, when known, to judge what stays on the host.
    pub host_ram: Option<Bytes>,
    /// A Mac's `iogpu.wired_limit_mb` override.
    pub wired_limit: Option<Bytes>,
    pub runtime: Runtime,
    /// Allow context beyond the model's trained length in max-context searches.
    pub beyond_trained: bool,
    /// What reading the request's names chose (an ambiguous device, a variant's config, a
    /// quantization's short form); the answer's warnings start with these.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Scenario {
    /// Whether the scenario runs on accelerators with their own memory.
    pub fn has_discrete_gpus(&self) -> bool {
        self.devices.iter().any(|d| d.kind == DeviceKind::Gpu)
    }

    /// The single unified-memory or CPU device, when that is what the scenario runs on.
    pub fn shared_memory_device(&self) -> Option<&DeviceSpec> {
        self.devices.iter().find(|d| d.kind != DeviceKind::Gpu)
    }

    /// Memory a device may use for the model.
    pub fn usable(&self, d: &DeviceSpec) -> Bytes {
        match (d.kind, d.backend) {
            (DeviceKind::Unified, Backend::Metal) => {
                apple_gpu_working_set(d.memory, self.wired_limit)
            }
            _ => d.memory,
        }
    }
}
