//! llama.cpp (and Ollama, LM Studio, which run it): where every buffer goes for a given set of flags.

use super::compute_buffer::{self, ComputeSettings};
use super::kv_cache::{self, KvSettings};
use super::overhead;
use super::projector::{self, ProjectorSettings};
use super::Breakdown;
use crate::hardware::DeviceSpec;
use crate::model::ModelSpec;
use crate::quant::{GgmlType, StoredTensor, WeightSummary};
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The flags that change memory, named after llama.cpp's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlamaCppSettings {
    /// `-c`: total context (all sequences); 0 means the model's trained length.
    pub n_ctx: u32,
    /// `-b`
    pub n_batch: u32,
    /// `-ub`
    pub n_ubatch: u32,
    /// `-ctk`
    pub type_k: GgmlType,
    /// `-ctv`
    pub type_v: GgmlType,
    /// `-fa on|off`
    pub flash_attn: bool,
    /// `-ngl`; `None` offloads everything (as `-ngl 99` does).
    pub n_gpu_layers: Option<u32>,
    /// `-np`: parallel sequences sharing the context.
    pub n_parallel: u32,
    /// `--cpu-moe`: every layer's routed experts stay in host memory.
    pub cpu_moe: bool,
    /// `--n-cpu-moe N`: the routed experts of the first N layers stay in host memory.
    pub n_cpu_moe: u32,
    /// `--swa-full`
    pub swa_full: bool,
    /// `-nkvo`: the KV cache stays in host memory.
    pub no_kv_offload: bool,
    /// `-ts`: share of layers per GPU; `None` splits by device memory, as llama.cpp does by free memory.
    pub tensor_split: Option<Vec<f64>>,
    /// Repack weights for the CPU's kernels (llama.cpp's default; `--no-repack` turns it off).
    pub repack: bool,
    /// `--mmproj`: a vision-language model's projector, loaded by mtmd beside the model.
    #[serde(default)]
    pub mmproj: Option<ProjectorSettings>,
    /// The application that launched llama.cpp (llama-server itself, Ollama, LM Studio).
    #[serde(default)]
    pub launcher: Launcher,
    /// VRAM the operating system keeps on the first GPU before llama.cpp allocates (the Windows
    /// desktop on a display GPU, WSL2's share); counted in that GPU's overhead.
    #[serde(default)]
    pub desktop_reserve: Bytes,
}

/// The application that started llama.cpp: it decides the defaults and the name the answer uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "app", rename_all = "snake_case")]
pub enum Launcher {
    #[default]
    LlamaServer,
    /// Ollama, with the settings the user gave it (`memory::ollama`).
    Ollama(super::ollama::OllamaSettings),
    /// LM Studio's llama.cpp engine.
    LmStudio,
}

impl Launcher {
    pub fn label(&self) -> &'static str {
        match self {
            Launcher::LlamaServer => "llama.cpp",
            Launcher::Ollama(_) => "Ollama (llama-server)",
            Launcher::LmStudio => "LM Studio (llama.cpp engine)",
        }
    }
}

impl Default for LlamaCppSettings {
    /// llama-server's defaults (common/common.h): 4096 context, batch 2048, micro-batch 512, f16 cache.
    fn default() -> Self {
        LlamaCppSettings {
            n_ctx: 4096,
            n_batch: 2048,
            n_ubatch: 512,
            type_k: GgmlType::F16,
            type_v: GgmlType::F16,
            flash_attn: false,
            n_gpu_layers: None,
            n_parallel: 1,
            cpu_moe: false,
            n_cpu_moe: 0,
            swa_full: false,
            no_kv_offload: false,
            tensor_split: None,
            repack: true,
            mmproj: None,
            launcher: Launcher::LlamaServer,
            desktop_reserve: Bytes::ZERO,
        }
    }
}

/// Where llama.cpp runs each layer: `Some(i)` on GPU `i`, `None` on the CPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerPlacement {
    pub layers: Vec<Option<usize>>,
    pub output: Option<usize>,
}

impl LayerPlacement {
    pub fn n_gpu_layers(&self) -> u32 {
        self.layers.iter().filter(|d| d.is_some()).count() as u32 + u32::from(self.output.is_some())
    }
}

/// llama-model.cpp `load_tensors`: the last `ngl` repeating layers go to the GPUs, split by
/// cumulative share; the output layer counts as layer `n_layer` and needs `ngl > n_layer`.
pub fn place_layers(n_layer: u32, ngl: u32, split: &[f64]) -> LayerPlacement {
    if split.is_empty() {
        return LayerPlacement {
            layers: vec![None; n_layer as usize],
            output: None,
        };
    }
    let i_gpu_start = n_layer.saturating_sub(ngl);
    let act = ngl.min(n_layer + 1);
    let total: f64 = split.iter().map(|s| s.max(0.0)).sum();
    let mut cum = Vec::with_capacity(split.len());
    let mut acc = 0.0;
    for s in split {
        acc += if total > 0.0 {
            s.max(0.0) / total
        } else {
            1.0 / split.len() as f64
        };
        cum.push(acc);
    }
    let device_for = |il: u32| -> Option<usize> {
        if il < i_gpu_start || il - i_gpu_start >= act {
            return None;
        }
        let x = f64::from(il - i_gpu_start) / f64::from(act);
        let idx = cum.iter().position(|&c| x < c).unwrap_or(split.len() - 1);
        Some(idx)
    };
    LayerPlacement {
        layers: (0..n_layer).map(device_for).collect(),
        output: device_for(n_layer),
    }
}

/// What llama.cpp allocates: one breakdown per GPU and one for host memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub devices: Vec<Breakdown>,
    pub host: Breakdown,
    /// The context after padding.
    pub n_ctx: u32,
    /// Layers on the GPUs, counting the output layer.
    pub gpu_layers: u32,
}

/// The context llama.cpp will actually allocate for a requested `n_ctx`.
pub fn effective_ctx(m: &ModelSpec, requested: u32) -> u32 {
    let n = m.context_or_trained(requested);
    kv_cache::pad_ctx(n.max(1), kv_cache::LLAMA_CPP_CTX_PAD)
}

/// Where the weights sit for a set of flags; independent of the context, so it is computed once
/// when many contexts are tried.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightPlacement {
    pub placement: LayerPlacement,
    pub devices: Vec<Bytes>,
    pub host: Bytes,
    /// The largest layer tensor left in host memory (copied to a GPU for large batches).
    pub largest_host_layer_tensor: u64,
}

/// Places every weight: token embeddings on the host, layers where they run, routed experts on the
/// host under `--cpu-moe`/`--n-cpu-moe`.
pub fn place_weights(
    m: &ModelSpec,
    w: &WeightSummary,
    gpus: &[DeviceSpec],
    s: &LlamaCppSettings,
) -> WeightPlacement {
    let split: Vec<f64> = match &s.tensor_split {
        Some(ts) if ts.len() == gpus.len() => ts.clone(),
        _ => gpus.iter().map(|g| g.memory.0 as f64).collect(),
    };
    let ngl = s.n_gpu_layers.unwrap_or(m.n_layer + 1);
    let placement = place_layers(m.n_layer, ngl, &split);
    let mut devices = vec![Bytes::ZERO; gpus.len()];
    let mut host = Bytes(w.token_embd + w.other);
    match placement.output {
        Some(d) => devices[d] += Bytes(w.output),
        None => host += Bytes(w.output),
    }
    if gpus.is_empty() && s.repack {
        // With no GPU every layer runs on the CPU, whose repacked copy sits beside the mapped file.
        host += Bytes(w.cpu_repack);
    }
    let mut largest_host_layer_tensor = 0u64;
    for (il, (lw, dev)) in w.layers.iter().zip(placement.layers.iter()).enumerate() {
        let experts_on_host = s.cpu_moe || (il as u32) < s.n_cpu_moe;
        match dev {
            Some(d) => devices[*d] += Bytes(lw.dense),
            None => {
                host += Bytes(lw.dense);
                largest_host_layer_tensor = largest_host_layer_tensor.max(lw.largest_dense);
            }
        }
        match dev {
            Some(d) if !experts_on_host => devices[*d] += Bytes(lw.experts),
            _ => {
                host += Bytes(lw.experts);
                largest_host_layer_tensor = largest_host_layer_tensor.max(lw.largest_expert);
            }
        }
    }
    WeightPlacement {
        placement,
        devices,
        host,
        largest_host_layer_tensor,
    }
}

/// Allocates a llama.cpp run of `m` with weights `weights` over `gpus` (empty: CPU only).
pub fn allocate(
    m: &ModelSpec,
    weights: &[StoredTensor],
    gpus: &[DeviceSpec],
    s: &LlamaCppSettings,
) -> Allocation {
    let summary = WeightSummary::new(m.n_layer, weights);
    allocate_placed(m, &place_weights(m, &summary, gpus, s), gpus, s)
}

/// The context-dependent part of an allocation, on top of a weight placement.
pub fn allocate_placed(
    m: &ModelSpec,
    w: &WeightPlacement,
    gpus: &[DeviceSpec],
    s: &LlamaCppSettings,
) -> Allocation {
    let n_ctx = effective_ctx(m, s.n_ctx);
    let n_ubatch = s.n_ubatch.clamp(1, s.n_batch.max(1));
    let placement = &w.placement;
    let mut devices: Vec<Breakdown> = w
        .devices
        .iter()
        .map(|&weights| Breakdown {
            weights,
            ..Breakdown::default()
        })
        .collect();
    let mut host = Breakdown {
        weights: w.host,
        ..Breakdown::default()
    };

    // KV cache (and recurrent layers' state, llama-memory-recurrent.cpp), per layer where it runs.
    let kv = KvSettings {
        n_ctx,
        n_seq: s.n_parallel.max(1),
        n_ubatch,
        type_k: s.type_k,
        type_v: s.type_v,
        swa_full: s.swa_full,
    };
    for il in 0..m.n_layer {
        let bytes = kv_cache::layer_bytes_total(m, il, &kv);
        match placement.layers[il as usize] {
            Some(d) if !s.no_kv_offload => devices[d].kv_cache += bytes,
            _ => host.kv_cache += bytes,
        }
    }

    // Compute buffers.
    let cs = |has_output: bool| ComputeSettings {
        n_kv: n_ctx,
        n_ubatch,
        flash_attn: s.flash_attn,
        has_output,
    };
    let gpu_used = |d: usize| placement.layers.contains(&Some(d)) || placement.output == Some(d);
    let any_gpu = (0..gpus.len()).any(gpu_used);
    for (d, dev) in devices.iter_mut().enumerate() {
        if d == 0 {
            dev.overhead += s.desktop_reserve;
        }
        if !gpu_used(d) {
            continue;
        }
        // Weights left in host memory are copied in for large batches (op offload).
        dev.compute = compute_buffer::device_buffer(m, &cs(placement.output == Some(d)))
            + Bytes(w.largest_host_layer_tensor);
        dev.overhead += overhead::backend_overhead(&gpus[d]);
    }
    let cpu_runs_layers = placement.layers.contains(&None) || placement.output.is_none();
    host.compute = match (any_gpu, cpu_runs_layers) {
        (false, _) => compute_buffer::cpu_only_buffer(m, &cs(true)),
        (true, false) => compute_buffer::host_buffer(m, &cs(false)),
        (true, true) => {
            compute_buffer::host_buffer(m, &cs(false))
                + compute_buffer::device_buffer(m, &cs(placement.output.is_none()))
        }
    };
    host.output = compute_buffer::output_buffer(m, s.n_parallel);

    // The projector: mtmd's clip context takes the first GPU (`--mmproj-offload`, the default),
    // else the CPU, and keeps its weights and compute buffer there.
    if let Some(p) = &s.mmproj {
        let bytes =
            projector::weight_bytes(&p.tower, p.file_type) + projector::compute_buffer(&p.tower);
        match devices.first_mut() {
            Some(d) if p.offload => d.projector += bytes,
            _ => host.projector += bytes,
        }
    }
    Allocation {
        devices,
        host,
        n_ctx,
        gpu_layers: placement.n_gpu_layers(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngl_counts_output_as_the_last_layer() {
        let all = place_layers(32, 33, &[1.0]);
        assert_eq!(all.n_gpu_layers(), 33);
        assert_eq!(all.output, Some(0));
        let no_out = place_layers(32, 32, &[1.0]);
        assert_eq!(no_out.output, None);
        assert!(no_out.layers.iter().all(|d| *d == Some(0)));
        // -ngl 10 offloads layers 22..31; earlier layers stay on the CPU.
        let some = place_layers(32, 10, &[1.0]);
        assert_eq!(some.layers[21], None);
        assert_eq!(some.layers[22], Some(0));
    }

    #[test]
    fn recurrent_state_sits_with_its_layer_and_scales_with_np() {
        use crate::units::BytesPerSec;
        // An illustrative 24 GiB card; only the split of the cache is checked here.
        let gpu = DeviceSpec::test_gpu(
            "test gpu",
            "test",
            Bytes(24 * Bytes::GIB),
            BytesPerSec(1.0e12),
        );
        let m = crate::model::fixtures::granite_h_tiny();
        let w = crate::quant::stored_tensors(
            &m,
            &crate::quant::Quant::Gguf {
                mix: crate::quant::GgufMix::Q4_K_M,
            },
        );
        // -ngl 20 puts layers 20..39 on the GPU: attention layers 25 and 35, 18 Mamba-2 layers.
        // Attention: 4 kv heads x 128 x 2 (K, V) x 2 bytes = 2048 bytes per cell, 4096 cells.
        // State: 1,612,800 bytes per sequence per layer (recurrent_state tests), -np 2.
        let s = LlamaCppSettings {
            n_gpu_layers: Some(20),
            n_parallel: 2,
            ..LlamaCppSettings::default()
        };
        let a = allocate(&m, &w, std::slice::from_ref(&gpu), &s);
        let state = 1_612_800u64 * 2;
        assert_eq!(a.devices[0].kv_cache, Bytes(2 * 2048 * 4096 + 18 * state));
        assert_eq!(a.host.kv_cache, Bytes(2 * 2048 * 4096 + 18 * state));
        // -nkvo keeps all of it in host memory.
        let nkvo = LlamaCppSettings {
            no_kv_offload: true,
            ..s
        };
        let a = allocate(&m, &w, std::slice::from_ref(&gpu), &nkvo);
        assert_eq!(a.devices[0].kv_cache, Bytes::ZERO);
        assert_eq!(a.host.kv_cache, Bytes(4 * 2048 * 4096 + 36 * state));
    }

    #[test]
    fn layer_split_follows_shares() {
        // Two equal GPUs and 33 offloaded layers (32 + output): x = il/33 < 0.5 on GPU 0.
        let p = place_layers(32, 99, &[24.0, 24.0]);
        assert_eq!(p.layers.iter().filter(|d| **d == Some(0)).count(), 17);
        assert_eq!(p.layers.iter().filter(|d| **d == Some(1)).count(), 15);
        assert_eq!(p.output, Some(1));
    }
}
