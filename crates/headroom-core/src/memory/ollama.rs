//! Ollama: the llama-server flags it launches a GGUF model with, from its settings and the GPUs.
//!
//! Read from ollama/ollama at commit fb30760996871fa9460115c753afd2c60d4ab0f7 (2026-08-21), which
//! runs every GGUF model through the upstream llama-server (`llm/llama_server.go`,
//! `startLlamaServer`):
//! - `-c num_ctx x OLLAMA_NUM_PARALLEL` and `-np OLLAMA_NUM_PARALLEL` (`llm/llama_server.go`);
//!   `OLLAMA_NUM_PARALLEL` defaults to 1 (`envconfig/config.go`, `NumParallel`) and is forced to 1
//!   for some architectures (`server/sched.go`, `load`).
//! - `num_ctx`: the request's or Modelfile's option, else `OLLAMA_CONTEXT_LENGTH`, else a tier of
//!   the total VRAM less `OLLAMA_GPU_OVERHEAD`: 262144 from 47 GiB, 32768 from 23 GiB, else 4096
//!   (`server/routes.go`, `Serve`), and never beyond the trained length (`llm/server.go`,
//!   `NewLlamaServer`).
//! - `--cache-type-k T --cache-type-v T` when `OLLAMA_KV_CACHE_TYPE` is set, else llama-server's
//!   f16 (`llm/llama_server.go`).
//! - `--flash-attn on|off` when `OLLAMA_FLASH_ATTENTION` is set, else `auto` (`LlamaServerFlashAttention`).
//! - `-ngl` only when `num_gpu` is set; otherwise llama-server's own `--fit` places the layers.
//! - `-b B -ub B` with one batch size: `num_batch` when set, else the automatic generation batch
//!   (`server/sched.go`, `automaticGenerationBatch`): 256 or 512 on CUDA without flash attention,
//!   else 512 up to 4096 tokens of context, 1024 up to 32768, 2048 beyond, stepped down to 512
//!   while the predicted VRAM exceeds 80% of what is available (75% for 1024, 60% for 2048) or
//!   leaves less than the batch's surcharge (768 MiB for 1024, 2 GiB for 2048).
//! - `OLLAMA_GPU_OVERHEAD` and the device minimum (457 MiB on CUDA, 512 MiB on Metal,
//!   `ml/device.go`, `MinimumMemory`) are held back from what the scheduler counts as available;
//!   llama-server's placement does not see them.

use super::llama_cpp::LlamaCppSettings;
use crate::hardware::{Backend, DeviceKind, DeviceSpec};
use crate::model::{Arch, ModelSpec};
use crate::quant::GgmlType;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The Ollama commit the rules here were read from.
pub const SOURCE_COMMIT: &str = "fb30760996871fa9460115c753afd2c60d4ab0f7";

/// Ollama's settings as a user sets them: request options and `OLLAMA_*` variables. `None` is
/// Ollama's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OllamaSettings {
    /// The `num_ctx` option (request, Modelfile `PARAMETER num_ctx`, `/set parameter num_ctx`).
    pub num_ctx: Option<u32>,
    /// `OLLAMA_CONTEXT_LENGTH`.
    pub context_length: Option<u32>,
    /// `OLLAMA_NUM_PARALLEL`.
    pub num_parallel: Option<u32>,
    /// `OLLAMA_KV_CACHE_TYPE`.
    pub kv_cache_type: Option<GgmlType>,
    /// `OLLAMA_FLASH_ATTENTION`.
    pub flash_attention: Option<bool>,
    /// `OLLAMA_GPU_OVERHEAD`, bytes per GPU.
    pub gpu_overhead: Option<u64>,
    /// The `num_gpu` option: layers on the GPU (`-ngl`).
    pub num_gpu: Option<u32>,
    /// The `num_batch` option.
    pub num_batch: Option<u32>,
}

/// Ollama's `num_ctx` tiers: at least this much VRAM (GiB, less `OLLAMA_GPU_OVERHEAD`) gives this
/// context (`server/routes.go`: "slightly lower thresholds (47/23 GiB vs. 48/24 GiB)").
pub const NUM_CTX_TIERS: [(u64, u32); 2] = [(47, 262_144), (23, 32_768)];
/// Below the tiers.
pub const NUM_CTX_SMALL: u32 = 4096;
/// `api.DefaultOptions().NumBatch`.
pub const DEFAULT_NUM_BATCH: u32 = 512;

/// `MinimumMemory` of `ml/device.go`: what the scheduler keeps free on each device.
pub fn minimum_memory(d: &DeviceSpec) -> Bytes {
    match d.backend {
        Backend::Metal => Bytes::from_mib(512.0),
        _ => Bytes::from_mib(457.0),
    }
}

/// Architectures the scheduler runs with one slot whatever `OLLAMA_NUM_PARALLEL` says
/// (`server/sched.go`: mllama, qwen3vl, qwen3vlmoe, qwen35, qwen35moe, qwen3next, lfm2, lfm2moe,
/// nemotron_h, nemotron_h_moe, nemotron_h_omni).
fn single_slot_arch(a: &Arch) -> bool {
    const SINGLE: [&str; 11] = [
        "mllama",
        "qwen3vl",
        "qwen3vlmoe",
        "qwen35",
        "qwen35moe",
        "qwen3next",
        "lfm2",
        "lfm2moe",
        "nemotron_h",
        "nemotron_h_moe",
        "nemotron_h_omni",
    ];
    SINGLE.contains(&a.name())
}

/// Total GPU memory as Ollama counts it for the default context: each GPU's total less
/// `OLLAMA_GPU_OVERHEAD`. A Mac's GPU counts its unified memory as Ollama's discovery does.
pub fn tier_vram(devices: &[DeviceSpec], overhead: u64) -> Bytes {
    Bytes(
        devices
            .iter()
            .filter(|d| d.kind != DeviceKind::Cpu)
            .map(|d| d.memory.0.saturating_sub(overhead))
            .sum(),
    )
}

/// The `num_ctx` Ollama uses and why, before the trained-length cap.
pub fn num_ctx(o: &OllamaSettings, devices: &[DeviceSpec]) -> (u32, String) {
    if let Some(n) = o.num_ctx {
        if n == u32::MAX {
            return (n, "num_ctx: the model's trained length".to_string());
        }
        return (n, format!("num_ctx {n}: set by the num_ctx option"));
    }
    if let Some(n) = o.context_length.filter(|n| *n > 0) {
        return (n, format!("num_ctx {n}: set by OLLAMA_CONTEXT_LENGTH"));
    }
    let vram = tier_vram(devices, o.gpu_overhead.unwrap_or(0));
    let gib = vram.0 as f64 / Bytes::GIB as f64;
    let n = NUM_CTX_TIERS
        .iter()
        .find(|(t, _)| vram.0 >= t * Bytes::GIB)
        .map_or(NUM_CTX_SMALL, |(_, n)| *n);
    (
        n,
        format!(
            "num_ctx {n}: Ollama's default for {gib:.1} GiB of VRAM (4096 under 23 GiB, 32768 from 23, 262144 from 47), set with OLLAMA_CONTEXT_LENGTH or the num_ctx option"
        ),
    )
}

/// The batch Ollama passes as both `-b` and `-ub` for a completion model
/// (`automaticGenerationBatch`), given its VRAM prediction and the memory available to it.
pub fn generation_batch(
    total_ctx: u32,
    flash_attn: bool,
    cuda: bool,
    smallest_cuda_gpu: Option<Bytes>,
    predicted: Bytes,
    available: Bytes,
) -> u32 {
    if !flash_attn && cuda {
        let constrained =
            total_ctx > 4096 && smallest_cuda_gpu.is_some_and(|m| m.0 <= 8 * Bytes::GIB);
        return if constrained { 256 } else { 512 };
    }
    let mut batch = if total_ctx > 32768 {
        2048
    } else if total_ctx > 4096 {
        1024
    } else {
        512
    };
    while batch > 512 && !batch_fits(batch, predicted, available) {
        batch = if batch > 1024 { 1024 } else { 512 };
    }
    batch
}

/// `generationBatchFits`: the prediction under 80% of what is available, under the batch's
/// headroom share, and the batch's surcharge within what is left below the 80% line.
fn batch_fits(batch: u32, predicted: Bytes, available: Bytes) -> bool {
    let (p, a) = (predicted.0, available.0);
    if p == 0 || a == 0 {
        return true;
    }
    let threshold = a / 100 * 80;
    if p > threshold {
        return false;
    }
    let headroom = match batch {
        b if b >= 2048 => p <= a / 100 * 60,
        b if b >= 1024 => p <= a / 100 * 75,
        _ => true,
    };
    let surcharge = match batch {
        b if b >= 2048 => 2 * Bytes::GIB,
        b if b >= 1024 => 768 * Bytes::MIB,
        _ => 0,
    };
    headroom && surcharge <= threshold - p
}

/// The llama-server settings Ollama launches with, before the batch (which needs a VRAM
/// prediction; see [`generation_batch`]), and the defaults it took, in words.
pub fn launch(o: &OllamaSettings, m: &ModelSpec, devices: &[DeviceSpec]) -> Launch {
    let mut defaults = Vec::new();
    let (n, why) = num_ctx(o, devices);
    let capped = if m.n_ctx_train > 0 {
        n.min(m.n_ctx_train)
    } else {
        n
    };
    if n == u32::MAX {
        defaults.push(format!("num_ctx {capped}: the model's trained length"));
    } else if capped < n {
        defaults.push(format!(
            "{why}; capped at the model's trained length {capped} as Ollama does"
        ));
    } else if o.num_ctx.is_none() {
        defaults.push(why);
    }
    let asked = o.num_parallel.unwrap_or(1).max(1);
    let slots = if single_slot_arch(&m.arch) { 1 } else { asked };
    if o.num_parallel.is_none() {
        defaults.push(
            "OLLAMA_NUM_PARALLEL 1: Ollama's default; each slot adds num_ctx tokens of KV cache"
                .to_string(),
        );
    } else if slots < asked {
        defaults.push(format!(
            "OLLAMA_NUM_PARALLEL {asked} ignored: Ollama runs {} with one slot",
            m.arch.name()
        ));
    }
    let kv = o.kv_cache_type.unwrap_or(GgmlType::F16);
    if o.kv_cache_type.is_none() {
        defaults.push("KV cache f16: Ollama's default, set with OLLAMA_KV_CACHE_TYPE".to_string());
    }
    let fa = o.flash_attention.unwrap_or(true);
    if o.flash_attention.is_none() {
        defaults.push(
            "flash attention auto (on where supported): Ollama's default, set with OLLAMA_FLASH_ATTENTION"
                .to_string(),
        );
    }
    if o.num_gpu.is_none() {
        defaults.push(
            "layers placed by llama-server's fit (Ollama passes no -ngl unless num_gpu is set)"
                .to_string(),
        );
    }
    let total_ctx = capped.saturating_mul(slots);
    let settings = LlamaCppSettings {
        n_ctx: total_ctx,
        n_parallel: slots,
        type_k: kv,
        type_v: kv,
        flash_attn: fa,
        n_gpu_layers: o.num_gpu,
        n_batch: o.num_batch.unwrap_or(DEFAULT_NUM_BATCH),
        n_ubatch: o.num_batch.unwrap_or(DEFAULT_NUM_BATCH),
        ..LlamaCppSettings::default()
    };
    Launch {
        settings,
        num_ctx: capped,
        defaults,
    }
}

/// What [`launch`] gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    pub settings: LlamaCppSettings,
    /// `num_ctx` after the trained-length cap (per slot).
    pub num_ctx: u32,
    pub defaults: Vec<String>,
}

/// Memory the scheduler counts as available on the GPUs: free memory less `OLLAMA_GPU_OVERHEAD`
/// and the device minimum, per GPU (`server/sched.go`, `load`).
pub fn available(devices: &[DeviceSpec], free: &[Bytes], overhead: u64) -> Bytes {
    Bytes(
        devices
            .iter()
            .zip(free)
            .filter(|(d, _)| d.kind != DeviceKind::Cpu)
            .map(|(d, f)| f.0.saturating_sub(overhead + minimum_memory(d).0))
            .sum(),
    )
}

/// The batch Ollama would choose for a built scenario, when `num_batch` is not set: Headroom's
/// prediction of the full offload stands in for Ollama's `llm.PredictServerVRAM`, and the GPUs'
/// memory less the OS's share for their free memory.
pub fn scenario_batch(s: &crate::plan::Scenario) -> Option<u32> {
    use crate::plan::Runtime;
    let Runtime::LlamaCpp(ls) = &s.runtime else {
        return None;
    };
    let super::llama_cpp::Launcher::Ollama(o) = &ls.launcher else {
        return None;
    };
    if o.num_batch.is_some() {
        return None;
    }
    let free: Vec<Bytes> = s
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i == 0 {
                Bytes(d.memory.0.saturating_sub(ls.desktop_reserve.0))
            } else {
                d.memory
            }
        })
        .collect();
    let cuda = s.devices.iter().any(|d| d.backend == Backend::Cuda);
    let smallest = s
        .devices
        .iter()
        .zip(&free)
        .filter(|(d, _)| d.backend == Backend::Cuda)
        .map(|(_, f)| *f)
        .min();
    let predicted = crate::plan::fit(s).total_bytes;
    let avail = available(&s.devices, &free, o.gpu_overhead.unwrap_or(0));
    Some(generation_batch(
        ls.n_ctx,
        ls.flash_attn,
        cuda,
        smallest,
        predicted,
        avail,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::BytesPerSec;

    fn gpu(gib: f64) -> DeviceSpec {
        DeviceSpec::test_gpu(
            "GPU",
            "ampere",
            Bytes::from_gib(gib),
            BytesPerSec::from_gbs(448.0),
        )
    }

    #[test]
    fn default_num_ctx_follows_the_vram_tiers() {
        // server/routes.go: >= 47 GiB -> 262144, >= 23 GiB -> 32768, else 4096.
        let o = OllamaSettings::default();
        assert_eq!(num_ctx(&o, &[gpu(8.0)]).0, 4096);
        assert_eq!(num_ctx(&o, &[gpu(22.9)]).0, 4096);
        assert_eq!(num_ctx(&o, &[gpu(24.0)]).0, 32768);
        assert_eq!(num_ctx(&o, &[gpu(24.0), gpu(24.0)]).0, 262_144);
        // 24 GiB less 2 GiB of OLLAMA_GPU_OVERHEAD is 22 GiB: under the 23 GiB tier.
        let over = OllamaSettings {
            gpu_overhead: Some(2 * Bytes::GIB),
            ..OllamaSettings::default()
        };
        assert_eq!(num_ctx(&over, &[gpu(24.0)]).0, 4096);
        let env = OllamaSettings {
            context_length: Some(8192),
            ..OllamaSettings::default()
        };
        assert_eq!(num_ctx(&env, &[gpu(24.0)]).0, 8192);
    }

    #[test]
    fn parallel_slots_multiply_the_context() {
        // llm/llama_server.go: -c num_ctx * numParallel, -np numParallel.
        let o = OllamaSettings {
            num_ctx: Some(16384),
            num_parallel: Some(4),
            kv_cache_type: Some(GgmlType::Q8_0),
            ..OllamaSettings::default()
        };
        let l = launch(&o, &crate::model::fixtures::llama3_8b(), &[gpu(8.0)]);
        assert_eq!(l.settings.n_ctx, 4 * 8192, "capped at Llama 3's 8192 first");
        assert_eq!(l.settings.n_parallel, 4);
        assert_eq!(l.settings.type_k, GgmlType::Q8_0);
        assert_eq!(l.settings.type_v, GgmlType::Q8_0);
        assert_eq!(l.settings.n_gpu_layers, None);
        assert_eq!((l.settings.n_batch, l.settings.n_ubatch), (512, 512));
    }

    #[test]
    fn generation_batch_steps_as_the_scheduler_does() {
        let g = Bytes::GIB;
        // CUDA without flash attention: 256 on an 8 GiB card past 4096 tokens, else 512.
        assert_eq!(
            generation_batch(
                16384,
                false,
                true,
                Some(Bytes(8 * g)),
                Bytes(g),
                Bytes(8 * g)
            ),
            256
        );
        assert_eq!(
            generation_batch(
                4096,
                false,
                true,
                Some(Bytes(8 * g)),
                Bytes(g),
                Bytes(8 * g)
            ),
            512
        );
        // 16384 tokens ask for 1024; 5 GiB predicted of 20 GiB is under 75% and leaves
        // 16 - 5 = 11 GiB below the 80% line, more than the 768 MiB surcharge.
        assert_eq!(
            generation_batch(16384, true, true, None, Bytes(5 * g), Bytes(20 * g)),
            1024
        );
        // 65536 tokens ask for 2048; 13 GiB of 20 is over 60%, so 1024 (13 <= 15 = 75%).
        assert_eq!(
            generation_batch(65536, true, true, None, Bytes(13 * g), Bytes(20 * g)),
            1024
        );
        // 17 GiB of 20 is over the 16 GiB 80% line: 512.
        assert_eq!(
            generation_batch(65536, true, true, None, Bytes(17 * g), Bytes(20 * g)),
            512
        );
    }
}
