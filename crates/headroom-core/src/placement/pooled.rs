//! vLLM, MLX and transformers: the whole model on one accelerator, or sharded over vLLM's
//! `--tensor-parallel-size` GPUs; on the CPU when the scenario has no accelerator.

use super::{
    accelerators, attn_flops_per_pos, tensor_at, KvPlace, Placement, RunShape, Site, Split,
};
use crate::memory::kv_cache::{self, KvLayout};
use crate::memory::{mlx, transformers, vllm};
use crate::plan::{Runtime, Scenario};

pub(super) fn place(s: &Scenario, rt: &Runtime) -> Placement {
    let m = &s.model;
    let gpus = accelerators(s);
    // KV bytes per position come from the runtime's memory model (one shard's view is not
    // needed: a sharded site divides the whole model's reads evenly)
    let (ways, row, n_ubatch) = match rt {
        Runtime::Vllm(v) => {
            let e = vllm::kv_element(m, v);
            (
                v.tensor_parallel_size.max(1),
                kv_cache::position_bytes(m, KvLayout::Latent, 1, e, e),
                v.max_num_batched_tokens.max(1),
            )
        }
        Runtime::Mlx(x) => {
            let e = mlx::kv_element(m, x.kv_bits);
            (
                1,
                kv_cache::position_bytes(m, KvLayout::Latent, 1, e, e),
                x.prefill_step.max(1),
            )
        }
        _ => {
            let e = transformers::kv_element(m);
            (
                1,
                kv_cache::position_bytes(m, KvLayout::PerHead, 1, e, e),
                512,
            )
        }
    };
    // With no accelerator the whole run is the CPU's, as for a CPU-only llama.cpp run.
    let n = (ways as usize).min(gpus.len());
    let (site, split) = match n {
        0 => (Site::Host, Split::Layers),
        1 => (Site::Device(0), Split::Layers),
        n => (Site::Shards(n as u32), Split::Tensor { ways: n as u32 }),
    };
    let attn = attn_flops_per_pos(m);
    Placement {
        n_devices: n,
        tensors: s.weights.iter().map(|t| tensor_at(m, t, site)).collect(),
        kv: (0..m.n_layer)
            .map(|il| KvPlace {
                layer: il,
                cache: site,
                attention: site,
                sliding: m.is_swa_layer(il),
                read_per_position: row,
                flops_per_position: attn,
            })
            .collect(),
        layers: vec![site; m.n_layer as usize],
        output: site,
        buffers: Vec::new(),
        shape: RunShape::of(m, split, n_ubatch, n_ubatch, true),
    }
}
