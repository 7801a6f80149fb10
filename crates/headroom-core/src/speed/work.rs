//! What one token costs on each device: bytes read, KV bytes per context position, FLOPs, layers,
//! summed from the scenario's `Placement`.

use crate::placement::{self, Placement, RunShape, Site};
use crate::plan::Scenario;

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

pub use crate::placement::Split;

/// The work of one token over the accelerators and the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// One entry per accelerator in the scenario (discrete or unified), in order.
    pub devices: Vec<Load>,
    /// Work left on the CPU (layers not offloaded, experts kept in system RAM).
    pub host: Load,
    /// How it runs: split, window, batches, hidden bytes, layers, flash attention, k / E.
    pub shape: RunShape,
}

impl Workload {
    /// How much layer-split pipelining shortens a prompt of `tokens` (1: not at all).
    pub fn pipeline_factor(&self, tokens: f64) -> f64 {
        match self.shape.split {
            Split::Layers => {
                let active = self.devices.iter().filter(|l| !l.is_empty()).count();
                super::multi_gpu::pipeline_factor(
                    tokens,
                    self.shape.n_batch,
                    self.shape.n_ubatch,
                    active,
                )
            }
            Split::Tensor { .. } => 1.0,
        }
    }
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

/// Builds the workload of a scenario from its placement: what a token costs on each device.
pub fn workload(s: &Scenario) -> Workload {
    Workload::from_placement(&placement::place(s))
}

impl Workload {
    /// Sums a placement's reads and FLOPs per device, in the order the placement lists them.
    pub fn from_placement(p: &Placement) -> Workload {
        let mut devices = vec![Load::default(); p.n_devices];
        let mut host = Load::default();
        // a tensor-parallel run: the whole model, divided evenly over the shards at the end
        let mut shards = Load::default();
        fn slot<'a>(
            site: Site,
            devices: &'a mut [Load],
            host: &'a mut Load,
            shards: &'a mut Load,
        ) -> &'a mut Load {
            match site {
                Site::Device(d) if d < devices.len() => &mut devices[d],
                Site::Device(_) | Site::Host => host,
                Site::Shards(_) => shards,
            }
        }
        for t in &p.tensors {
            let l = slot(t.site, &mut devices, &mut host, &mut shards);
            l.weight_bytes += t.read_per_token;
            l.resident_bytes += t.resident.0 as f64;
            if t.routed {
                l.expert_bytes += t.resident.0 as f64;
            }
            l.lin_flops += t.flops_per_token;
        }
        for k in &p.kv {
            let l = slot(k.attention, &mut devices, &mut host, &mut shards);
            if k.sliding {
                l.attn_swa_per_pos += k.flops_per_position;
            } else {
                l.attn_full_per_pos += k.flops_per_position;
            }
            l.layers += 1;
            let c = slot(k.cache, &mut devices, &mut host, &mut shards);
            if k.sliding {
                c.kv_swa_per_pos += k.read_per_position;
            } else {
                c.kv_full_per_pos += k.read_per_position;
            }
        }
        slot(p.output, &mut devices, &mut host, &mut shards).layers += 1;
        if let Split::Tensor { ways } = p.shape.split {
            let n = ways.max(1) as usize;
            devices = vec![shards.scaled(1.0 / n as f64); n];
        }
        Workload {
            devices,
            host,
            shape: p.shape,
        }
    }
}
