//! llama.cpp's placement (also Ollama's and LM Studio's): the last `-ngl` layers on the GPUs split
//! by `-ts` or memory (`memory::llama_cpp::place_layers`), routed experts in system RAM under
//! `--cpu-moe`/`--n-cpu-moe`, the KV cache in system RAM under `-nkvo`.

use super::{
    accelerators, attn_flops_per_pos, tensor_at, KvPlace, Placement, RunShape, Site, Split,
    TensorPlace,
};
use crate::memory::kv_cache::{self, KvElement, KvLayout};
use crate::memory::llama_cpp::{place_layers, LlamaCppSettings};
use crate::plan::Scenario;
use crate::tensors::TensorRole;

fn site(d: Option<usize>) -> Site {
    d.map_or(Site::Host, Site::Device)
}

pub(super) fn place(s: &Scenario, ls: &LlamaCppSettings) -> Placement {
    let m = &s.model;
    let gpus = accelerators(s);
    let split: Vec<f64> = match &ls.tensor_split {
        Some(ts) if ts.len() == gpus.len() => ts.clone(),
        _ => gpus.iter().map(|g| g.memory.0 as f64).collect(),
    };
    let ngl = ls.n_gpu_layers.unwrap_or(m.n_layer + 1);
    let layers = place_layers(m.n_layer, ngl, &split);
    let experts_on_host = |il: u32| ls.cpu_moe || il < ls.n_cpu_moe;
    let mut tensors = Vec::with_capacity(s.weights.len() + 1);
    for t in &s.weights {
        let dev = match (t.role, t.layer) {
            // tied, with the output layer on a GPU: the input table stays in system RAM (one
            // row per token) and llama.cpp loads a copy as the output head in the output layer's
            // buffer (llama-model-loader.cpp `create_tensor`: a TENSOR_DUPLICATED token_embd
            // takes LLM_TENSOR_OUTPUT's buffer list), read whole for every token's logits
            (TensorRole::TokenEmbd, _) if m.tied_embeddings && layers.output.is_some() => {
                tensors.push(TensorPlace {
                    read_per_token: 0.0,
                    flops_per_token: 0.0,
                    ..tensor_at(m, t, Site::Host)
                });
                layers.output
            }
            (TensorRole::TokenEmbd, _) => None,
            (TensorRole::Output | TensorRole::OutputNorm, _) => layers.output,
            (TensorRole::Experts, Some(il)) if experts_on_host(il) => None,
            (_, Some(il)) => layers.layers.get(il as usize).copied().flatten(),
            _ => None,
        };
        tensors.push(tensor_at(m, t, site(dev)));
    }
    let (k, v) = (KvElement::Ggml(ls.type_k), KvElement::Ggml(ls.type_v));
    let row = kv_cache::position_bytes(m, KvLayout::Latent, 1, k, v);
    let attn = attn_flops_per_pos(m);
    let kv = (0..m.n_layer)
        .map(|il| {
            let runs = site(layers.layers.get(il as usize).copied().flatten());
            KvPlace {
                layer: il,
                // attention runs where the cache lives
                cache: if ls.no_kv_offload { Site::Host } else { runs },
                attention: runs,
                sliding: m.is_swa_layer(il),
                read_per_position: row,
                flops_per_position: attn,
            }
        })
        .collect();
    Placement {
        n_devices: gpus.len(),
        tensors,
        kv,
        layers: layers.layers.iter().map(|d| site(*d)).collect(),
        output: site(layers.output),
        buffers: Vec::new(),
        shape: RunShape::of(
            m,
            Split::Layers,
            ls.n_ubatch.clamp(1, ls.n_batch.max(1)),
            ls.n_batch.max(1),
            ls.flash_attn,
        ),
    }
}
