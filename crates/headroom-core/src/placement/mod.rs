//! Where a scenario's work sits: every weight tensor, KV layer and buffer with its device, the
//! bytes it keeps resident there, the bytes a token reads and the FLOPs a token costs.
//!
//! Each runtime places a [`Scenario`] here once ([`place`]: `llama_cpp.rs` for llama.cpp, Ollama
//! and LM Studio; `pooled.rs` for vLLM, MLX and transformers). The speed model sums the reads and
//! FLOPs per device (`speed::work::Workload::from_placement`), the simulator's roofline is built
//! from the same sums, and [`with_buffers`] adds the memory model's KV, compute, output and
//! overhead buffers per device, so a placement shows everything `fit` counts next to what a token
//! costs.

mod llama_cpp;
mod pooled;

use crate::hardware::{DeviceKind, DeviceSpec};
use crate::memory::Breakdown;
use crate::model::ModelSpec;
use crate::plan::{Runtime, Scenario};
use crate::tensors::TensorRole;
use crate::units::Bytes;

/// Where something sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Site {
    /// The scenario's accelerator `i` (its devices that are not CPUs, in order).
    Device(usize),
    /// Split evenly over accelerators `0..n` (tensor parallel: every device holds `1/n`).
    Shards(u32),
    /// System RAM, run by the CPU.
    Host,
}

/// One stored weight tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorPlace {
    pub role: TensorRole,
    pub layer: Option<u32>,
    pub site: Site,
    /// Bytes stored (all routed experts of a MoE tensor).
    pub resident: Bytes,
    /// Bytes one token reads: routed experts at `n_expert_used / n_expert`, an untied embedding
    /// table not at all (one row), a tied one whole (it is also the output head).
    pub read_per_token: f64,
    /// Matmul FLOPs one token costs: 2 x the elements it multiplies by.
    pub flops_per_token: f64,
    /// Holds routed experts (a batch reads the union of what its tokens route to).
    pub routed: bool,
}

/// One layer's KV cache and attention.
#[derive(Clone, Debug, PartialEq)]
pub struct KvPlace {
    pub layer: u32,
    /// Where the cache lives (llama.cpp `-nkvo` keeps it in system RAM).
    pub cache: Site,
    /// Where the layer's attention runs.
    pub attention: Site,
    /// A sliding-window layer: read only up to the window.
    pub sliding: bool,
    /// KV bytes read per cached position (`memory::kv_cache::position_bytes`).
    pub read_per_position: f64,
    /// Attention FLOPs per token per cached position: Q·K and P·V.
    pub flops_per_position: f64,
}

/// What a memory buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferKind {
    KvCache,
    Compute,
    Output,
    Overhead,
    /// llama.cpp's `CPU_REPACK` copy of the Q4_0/Q4_K matrices a CPU-only run makes
    /// (`memory::cpu_repack`), beside the mapped file.
    CpuRepack,
    /// A vision-language model's projector: its weights and clip compute buffer.
    Projector,
}

impl BufferKind {
    pub fn name(self) -> &'static str {
        match self {
            BufferKind::KvCache => "kv cache",
            BufferKind::Compute => "compute",
            BufferKind::Output => "output",
            BufferKind::Overhead => "overhead",
            BufferKind::CpuRepack => "cpu repack",
            BufferKind::Projector => "projector",
        }
    }
}

/// One buffer the memory model allocates.
#[derive(Clone, Debug, PartialEq)]
pub struct BufferPlace {
    pub kind: BufferKind,
    pub site: Site,
    pub resident: Bytes,
}

/// How the accelerators share the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// llama.cpp `--split-mode layer`: each device runs its own layers, one after another.
    Layers,
    /// Tensor parallel (vLLM): every device runs a slice of every layer, together.
    Tensor { ways: u32 },
}

/// A scenario placed.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// Accelerators the scenario has (sites `Device(0..n)`).
    pub n_devices: usize,
    pub tensors: Vec<TensorPlace>,
    pub kv: Vec<KvPlace>,
    /// Where each repeating layer runs.
    pub layers: Vec<Site>,
    /// Where the output layer runs.
    pub output: Site,
    /// Empty until [`with_buffers`] adds the memory model's buffers.
    pub buffers: Vec<BufferPlace>,
    pub shape: RunShape,
}

/// How a placed scenario runs, beyond where its work sits: the settings the speed model's
/// `Workload` carries unchanged from the [`Placement`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunShape {
    pub split: Split,
    /// Sliding window, in tokens (infinite when the model has none).
    pub window: f64,
    /// Micro-batch for prompt processing.
    pub n_ubatch: u32,
    /// Logical batch: the prompt tokens submitted together (llama.cpp `-b`).
    pub n_batch: u32,
    /// Bytes of activations crossing between devices per token (hidden state, f32).
    pub hidden_bytes: f64,
    pub n_layer: u32,
    /// Attention runs as flash attention (llama.cpp `-fa on`; vLLM and MLX always fuse it).
    pub flash_attn: bool,
    /// Routed experts per token over routed experts per layer, k / E (0 for a dense model).
    pub expert_frac: f64,
}

impl Placement {
    /// Resident bytes of weights and buffers at `site`.
    pub fn resident_at(&self, site: Site) -> Bytes {
        let w: u64 = self
            .tensors
            .iter()
            .filter(|t| t.site == site)
            .map(|t| t.resident.0)
            .sum();
        let b: u64 = self
            .buffers
            .iter()
            .filter(|b| b.site == site)
            .map(|b| b.resident.0)
            .sum();
        Bytes(w + b)
    }

    /// Resident bytes on accelerator `i`: what sits there, and its even share of what is split
    /// over tensor-parallel shards (each of `n` holds `1/n`, rounded down, as vLLM's memory model
    /// divides the weights).
    pub fn resident_on(&self, i: usize) -> Bytes {
        let shards: u64 = self
            .tensors
            .iter()
            .filter(|t| matches!(t.site, Site::Shards(n) if (i as u64) < u64::from(n)))
            .map(|t| t.resident.0)
            .sum();
        let ways = match self.shape.split {
            Split::Tensor { ways } => u64::from(ways.max(1)),
            Split::Layers => 1,
        };
        self.resident_at(Site::Device(i)) + Bytes(shards / ways)
    }

    /// Bytes a token reads from weights at `site`.
    pub fn weight_reads_at(&self, site: Site) -> f64 {
        self.tensors
            .iter()
            .filter(|t| t.site == site)
            .map(|t| t.read_per_token)
            .sum()
    }
}

/// The scenario's accelerators (its devices that are not CPUs), in order.
pub(crate) fn accelerators(s: &Scenario) -> Vec<DeviceSpec> {
    s.devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .cloned()
        .collect()
}

/// The fraction of a tensor a single token reads.
pub(crate) fn active_fraction(m: &ModelSpec, role: TensorRole) -> f64 {
    match (role, m.moe) {
        (TensorRole::Experts, Some(moe)) => {
            f64::from(moe.n_expert_used) / f64::from(moe.n_expert.max(1))
        }
        // tied: the table is also the output head, read whole for every token's logits
        (TensorRole::TokenEmbd, _) if m.tied_embeddings => 1.0,
        // one row of the embedding table per token
        (TensorRole::TokenEmbd, _) => 0.0,
        _ => 1.0,
    }
}

/// k / E: the share of a layer's routed experts one token reads (0 for a dense model).
fn expert_frac(m: &ModelSpec) -> f64 {
    m.moe.map_or(0.0, |moe| {
        f64::from(moe.n_expert_used.min(moe.n_expert)) / f64::from(moe.n_expert.max(1))
    })
}

/// Attention FLOPs per token per cached position in one layer: Q·K and P·V.
fn attn_flops_per_pos(m: &ModelSpec) -> f64 {
    let nh = f64::from(m.n_head);
    match m.mla {
        Some(mla) => {
            let qk = f64::from(mla.qk_nope_head_dim + mla.qk_rope_head_dim);
            2.0 * nh * (qk + f64::from(mla.v_head_dim))
        }
        None => 2.0 * nh * f64::from(m.head_dim_k + m.head_dim_v),
    }
}

/// A stored tensor placed at `site`.
fn tensor_at(m: &ModelSpec, t: &crate::quant::StoredTensor, site: Site) -> TensorPlace {
    let f = active_fraction(m, t.role);
    TensorPlace {
        role: t.role,
        layer: t.layer,
        site,
        resident: Bytes(t.bytes),
        read_per_token: t.bytes as f64 * f,
        flops_per_token: 2.0 * t.n_elements as f64 * f,
        routed: t.role == TensorRole::Experts && m.moe.is_some(),
    }
}

impl RunShape {
    /// The shape of a run of `m`: its window, hidden state, layers and k / E from the model, the
    /// split, batches and flash attention as the runtime sets them.
    fn of(m: &ModelSpec, split: Split, n_ubatch: u32, n_batch: u32, flash_attn: bool) -> RunShape {
        RunShape {
            split,
            window: m
                .sliding_window
                .as_ref()
                .map_or(f64::INFINITY, |w| f64::from(w.window)),
            n_ubatch,
            n_batch,
            hidden_bytes: f64::from(m.n_embd) * 4.0,
            n_layer: m.n_layer,
            flash_attn,
            expert_frac: expert_frac(m),
        }
    }
}

/// Places the scenario as its runtime would: weights, KV layers and where each layer runs.
pub fn place(s: &Scenario) -> Placement {
    match &s.runtime {
        Runtime::LlamaCpp(ls) => llama_cpp::place(s, ls),
        other => pooled::place(s, other),
    }
}

/// [`place`] with the memory model's buffers (KV cache, compute, output, overhead, the
/// projector, the CPU repack copy) per device, as `fit` allocates them.
pub fn with_buffers(s: &Scenario) -> Placement {
    let mut p = place(s);
    let (devices, host) = crate::plan::judge::allocation(s);
    // the memory model counts the repacked copy with the host's weights
    let repack = match &s.runtime {
        Runtime::LlamaCpp(ls) if ls.repack && p.n_devices == 0 => {
            Bytes(s.weight_summary.cpu_repack)
        }
        _ => Bytes::ZERO,
    };
    let mut push = |site: Site, b: &Breakdown| {
        for (kind, bytes) in [
            (BufferKind::KvCache, b.kv_cache),
            (BufferKind::Compute, b.compute),
            (BufferKind::Output, b.output),
            (BufferKind::Overhead, b.overhead),
            (BufferKind::Projector, b.projector),
            (
                BufferKind::CpuRepack,
                if site == Site::Host {
                    repack
                } else {
                    Bytes::ZERO
                },
            ),
        ] {
            if bytes > Bytes::ZERO {
                p.buffers.push(BufferPlace {
                    kind,
                    site,
                    resident: bytes,
                });
            }
        }
    };
    for (i, b) in devices.iter().enumerate() {
        push(Site::Device(i), b);
    }
    push(Site::Host, &host);
    p
}
