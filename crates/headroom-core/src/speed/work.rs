//! What one token costs on each device: bytes read, KV bytes per context position, FLOPs, layers.

use crate::hardware::{DeviceKind, DeviceSpec};
use crate::memory::kv_cache;
use crate::memory::llama_cpp;
use crate::model::ModelSpec;
use crate::plan::{Runtime, Scenario};
use crate::quant::GgmlType;
use crate::tensors::TensorRole;

/// One device's share of the work of one token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Load {
    /// Weight bytes a token reads here (routed experts counted at `n_expert_used / n_expert`).
    pub weight_bytes: f64,
    /// All weight bytes stored here: a micro-batch of prompt tokens touches every expert.
    pub resident_bytes: f64,
    /// Routed-expert bytes stored here (all experts); a batch reads the union of what it routes to.
    pub expert_bytes: f64,
    /// KV bytes read per context position, summed over full-attention layers here.
    pub kv_full_per_pos: f64,
    /// The same for sliding-window layers (read only up to the window).
    pub kv_swa_per_pos: f64,
    /// Layers (plus the output layer) run here.
    pub layers: u32,
    /// Matmul FLOPs per token: 2 x active parameters here.
    pub lin_flops: f64,
    /// Attention FLOPs per token per context position (full-attention layers).
    pub attn_full_per_pos: f64,
    pub attn_swa_per_pos: f64,
}

impl Load {
    pub fn is_empty(&self) -> bool {
        self.layers == 0 && self.weight_bytes == 0.0
    }

    /// KV bytes read at context depth `d` (positions already in the cache).
    pub fn kv_bytes_at(&self, d: f64, window: f64) -> f64 {
        self.kv_full_per_pos * d + self.kv_swa_per_pos * d.min(window)
    }

    fn add_layer_share(&mut self, other: &Load) {
        self.kv_full_per_pos += other.kv_full_per_pos;
        self.kv_swa_per_pos += other.kv_swa_per_pos;
        self.attn_full_per_pos += other.attn_full_per_pos;
        self.attn_swa_per_pos += other.attn_swa_per_pos;
        self.layers += other.layers;
    }

    fn scaled(&self, f: f64) -> Load {
        Load {
            weight_bytes: self.weight_bytes * f,
            resident_bytes: self.resident_bytes * f,
            expert_bytes: self.expert_bytes * f,
            kv_full_per_pos: self.kv_full_per_pos * f,
            kv_swa_per_pos: self.kv_swa_per_pos * f,
            layers: self.layers,
            lin_flops: self.lin_flops * f,
            attn_full_per_pos: self.attn_full_per_pos * f,
            attn_swa_per_pos: self.attn_swa_per_pos * f,
        }
    }
}

/// How the accelerators share the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// llama.cpp `--split-mode layer`: each device runs its own layers, one after another.
    Layers,
    /// Tensor parallel (vLLM): every device runs a slice of every layer, together.
    Tensor { ways: u32 },
}

/// The work of one token over the accelerators and the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// One entry per accelerator in the scenario (discrete or unified), in order.
    pub devices: Vec<Load>,
    /// Work left on the CPU (layers not offloaded, experts kept in system RAM).
    pub host: Load,
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

impl Workload {
    /// How much layer-split pipelining shortens a prompt of `tokens` (1: not at all).
    pub fn pipeline_factor(&self, tokens: f64) -> f64 {
        match self.split {
            Split::Layers => {
                let active = self.devices.iter().filter(|l| !l.is_empty()).count();
                super::multi_gpu::pipeline_factor(tokens, self.n_batch, self.n_ubatch, active)
            }
            Split::Tensor { .. } => 1.0,
        }
    }
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

/// KV bytes per position in layer `il` for the given cache types.
fn kv_per_pos(m: &ModelSpec, il: u32, tk: GgmlType, tv: GgmlType) -> f64 {
    let (k, v) = kv_cache::kv_row_elements(m, il);
    (tk.bytes_for(k) + tv.bytes_for(v)) as f64
}

/// The per-layer part of a load (KV and attention), for layer `il`.
fn layer_load(m: &ModelSpec, il: u32, tk: GgmlType, tv: GgmlType) -> Load {
    let kv = kv_per_pos(m, il, tk, tv);
    let at = attn_flops_per_pos(m);
    let swa = m.is_swa_layer(il);
    Load {
        kv_full_per_pos: if swa { 0.0 } else { kv },
        kv_swa_per_pos: if swa { kv } else { 0.0 },
        attn_full_per_pos: if swa { 0.0 } else { at },
        attn_swa_per_pos: if swa { at } else { 0.0 },
        layers: 1,
        ..Load::default()
    }
}

fn accelerators(s: &Scenario) -> Vec<DeviceSpec> {
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

/// Whether a tensor holds routed experts (read per token only for the experts the router picks).
fn is_routed(m: &ModelSpec, role: TensorRole) -> bool {
    role == TensorRole::Experts && m.moe.is_some()
}

/// k / E: the share of a layer's routed experts one token reads (0 for a dense model).
fn expert_frac(m: &ModelSpec) -> f64 {
    m.moe.map_or(0.0, |moe| {
        f64::from(moe.n_expert_used.min(moe.n_expert)) / f64::from(moe.n_expert.max(1))
    })
}

/// Expected share of a layer's routed experts that a batch of `batch` tokens reads together:
/// each expert is missed by one token with probability 1 - k/E, by all of them with
/// (1 - k/E)^B when tokens route independently, so the union is 1 - (1 - k/E)^B of the E experts.
pub fn expert_union_fraction(frac: f64, batch: f64) -> f64 {
    if frac <= 0.0 {
        return 0.0;
    }
    1.0 - (1.0 - frac.min(1.0)).powf(batch.max(1.0))
}

/// Builds the workload of a scenario: where each tensor and layer runs, and what a token costs there.
pub fn workload(s: &Scenario) -> Workload {
    let m = &s.model;
    let gpus = accelerators(s);
    let window = m
        .sliding_window
        .as_ref()
        .map_or(f64::INFINITY, |w| f64::from(w.window));
    let hidden_bytes = f64::from(m.n_embd) * 4.0;
    match &s.runtime {
        Runtime::LlamaCpp(ls) => {
            // the layer placement llama.cpp makes (memory::llama_cpp::place_weights' split rule)
            let split: Vec<f64> = match &ls.tensor_split {
                Some(ts) if ts.len() == gpus.len() => ts.clone(),
                _ => gpus.iter().map(|g| g.memory.0 as f64).collect(),
            };
            let ngl = ls.n_gpu_layers.unwrap_or(m.n_layer + 1);
            let place = llama_cpp::place_layers(m.n_layer, ngl, &split);
            let mut devices = vec![Load::default(); gpus.len()];
            let mut host = Load::default();
            let experts_on_host = |il: u32| ls.cpu_moe || il < ls.n_cpu_moe;
            for t in &s.weights {
                let dev = match (t.role, t.layer) {
                    // tied: llama.cpp duplicates the table onto the output layer's device
                    // (TENSOR_DUPLICATED), which reads it as the output head
                    (TensorRole::TokenEmbd, _) if m.tied_embeddings => place.output,
                    (TensorRole::TokenEmbd, _) => None,
                    (TensorRole::Output | TensorRole::OutputNorm, _) => place.output,
                    (TensorRole::Experts, Some(il)) if experts_on_host(il) => None,
                    (_, Some(il)) => place.layers.get(il as usize).copied().flatten(),
                    _ => None,
                };
                let f = active_fraction(m, t.role);
                let l = match dev {
                    Some(d) => &mut devices[d],
                    None => &mut host,
                };
                l.weight_bytes += t.bytes as f64 * f;
                l.resident_bytes += t.bytes as f64;
                if is_routed(m, t.role) {
                    l.expert_bytes += t.bytes as f64;
                }
                l.lin_flops += 2.0 * t.n_elements as f64 * f;
            }
            for il in 0..m.n_layer {
                let ll = layer_load(m, il, ls.type_k, ls.type_v);
                match place.layers.get(il as usize).copied().flatten() {
                    Some(d) => {
                        devices[d].add_layer_share(&ll);
                        if ls.no_kv_offload {
                            // attention runs where the cache lives
                            devices[d].kv_full_per_pos -= ll.kv_full_per_pos;
                            devices[d].kv_swa_per_pos -= ll.kv_swa_per_pos;
                            host.kv_full_per_pos += ll.kv_full_per_pos;
                            host.kv_swa_per_pos += ll.kv_swa_per_pos;
                        }
                    }
                    None => host.add_layer_share(&ll),
                }
            }
            match place.output {
                Some(d) => devices[d].layers += 1,
                None => host.layers += 1,
            }
            Workload {
                devices,
                host,
                split: Split::Layers,
                window,
                n_ubatch: ls.n_ubatch.clamp(1, ls.n_batch.max(1)),
                n_batch: ls.n_batch.max(1),
                hidden_bytes,
                n_layer: m.n_layer,
                flash_attn: ls.flash_attn,
                expert_frac: expert_frac(m),
            }
        }
        other => {
            let (ways, kv_bytes, n_ubatch) = match other {
                Runtime::Vllm(v) => (
                    v.tensor_parallel_size.max(1),
                    if v.kv_cache_fp8 { 1.0 } else { 2.0 },
                    v.max_num_batched_tokens.max(1),
                ),
                Runtime::Mlx(x) => (
                    1,
                    x.kv_bits.map_or(2.0, |b| f64::from(b) / 8.0 + 4.0 / 64.0),
                    x.prefill_step.max(1),
                ),
                _ => (1, 2.0, 512),
            };
            let mut whole = Load::default();
            for t in &s.weights {
                let f = active_fraction(m, t.role);
                whole.weight_bytes += t.bytes as f64 * f;
                whole.resident_bytes += t.bytes as f64;
                if is_routed(m, t.role) {
                    whole.expert_bytes += t.bytes as f64;
                }
                whole.lin_flops += 2.0 * t.n_elements as f64 * f;
            }
            for il in 0..m.n_layer {
                let mut ll = layer_load(m, il, GgmlType::F16, GgmlType::F16);
                ll.kv_full_per_pos *= kv_bytes / 2.0;
                ll.kv_swa_per_pos *= kv_bytes / 2.0;
                whole.add_layer_share(&ll);
            }
            whole.layers += 1;
            // With no accelerator the whole run is the CPU's, as for a CPU-only llama.cpp run.
            let (devices, host) = if gpus.is_empty() {
                (Vec::new(), whole)
            } else {
                let n = (ways as usize).min(gpus.len());
                (vec![whole.scaled(1.0 / n as f64); n], Load::default())
            };
            let n = devices.len();
            Workload {
                devices,
                host,
                split: if n > 1 {
                    Split::Tensor { ways: n as u32 }
                } else {
                    Split::Layers
                },
                window,
                n_ubatch,
                n_batch: n_ubatch,
                hidden_bytes,
                n_layer: m.n_layer,
                flash_attn: true,
                expert_frac: expert_frac(m),
            }
        }
    }
}
