//! vLLM: a preallocated budget (`gpu_memory_utilization` of the card) split into weights, the
//! activation peak of a profiling run, CUDA graphs and a paged KV cache that takes the rest.

use super::kv_cache::{self, KvElement, KvLayout};
use super::overhead;
use super::Breakdown;
use crate::hardware::DeviceSpec;
use crate::model::ModelSpec;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VllmSettings {
    /// `--gpu-memory-utilization` (default 0.9).
    pub gpu_memory_utilization: f64,
    /// `--max-model-len`; 0 means the model's trained length.
    pub max_model_len: u32,
    /// `--max-num-batched-tokens`: the profiling run's token count.
    pub max_num_batched_tokens: u32,
    /// `--max-num-seqs`
    pub max_num_seqs: u32,
    /// `--kv-cache-dtype fp8` stores one byte per element instead of two.
    pub kv_cache_fp8: bool,
    /// `--tensor-parallel-size`
    pub tensor_parallel_size: u32,
    /// `--enforce-eager`: no CUDA graphs.
    pub enforce_eager: bool,
    /// `--block-size` (tokens per KV page).
    pub block_size: u32,
}

impl VllmSettings {
    /// `vllm serve`'s defaults for a GPU (vllm/engine/arg_utils.py `EngineArgs.get_batch_defaults`):
    /// 8192 batched tokens and 1024 sequences on GPUs with at least 70 GiB that are not A100s,
    /// 2048 and 256 elsewhere.
    pub fn serve_defaults(gpu: &DeviceSpec) -> VllmSettings {
        let big =
            gpu.memory.0 >= 70 * Bytes::GIB && !gpu.name.to_ascii_lowercase().contains("a100");
        let (tokens, seqs) = if big { (8192, 1024) } else { (2048, 256) };
        VllmSettings {
            max_num_batched_tokens: tokens,
            max_num_seqs: seqs,
            ..VllmSettings::default()
        }
    }
}

impl Default for VllmSettings {
    /// vLLM's engine-argument defaults for GPUs under 70 GiB (vllm/engine/arg_utils.py): utilization
    /// 0.9, 256 sequences, 2048 batched tokens, 16-token blocks.
    fn default() -> Self {
        VllmSettings {
            gpu_memory_utilization: 0.9,
            max_model_len: 0,
            max_num_batched_tokens: 2048,
            max_num_seqs: 256,
            kv_cache_fp8: false,
            tensor_parallel_size: 1,
            enforce_eager: false,
            block_size: 16,
        }
    }
}

/// vLLM's memory plan for one of the `tensor_parallel_size` GPUs (all are alike).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VllmPlan {
    /// Per GPU; `kv_cache` is the whole preallocated KV pool.
    pub per_gpu: Breakdown,
    /// `gpu_memory_utilization` x device memory.
    pub budget: Bytes,
    /// Tokens the KV pool holds (whole blocks).
    pub kv_tokens: u64,
    /// How many `max_model_len` requests fit at once (vLLM's "Maximum concurrency").
    pub max_concurrency: f64,
    pub max_model_len: u32,
}

/// Bytes of one cached element: fp8 with `--kv-cache-dtype fp8`, else the model's dtype (at least
/// 16 bits).
pub fn kv_element(m: &ModelSpec, s: &VllmSettings) -> KvElement {
    KvElement::Bytes(if s.kv_cache_fp8 {
        1.0
    } else {
        m.native_dtype.bytes().max(2.0).floor()
    })
}

/// KV bytes per token on one GPU: every layer keeps K and V (or the MLA latent) for every token;
/// KV heads are split across the tensor-parallel GPUs.
pub fn kv_bytes_per_token(m: &ModelSpec, s: &VllmSettings) -> u64 {
    let e = kv_element(m, s);
    let per_layer = kv_cache::position_bytes(m, KvLayout::Latent, s.tensor_parallel_size, e, e);
    per_layer as u64 * u64::from(m.n_layer)
}

/// Peak activations of a forward pass over `tokens` tokens (bf16), on one GPU.
pub fn activation_peak(m: &ModelSpec, tokens: u64, tp: u64) -> Bytes {
    let e = u64::from(m.n_embd);
    let qkv = (u64::from(m.n_head) * u64::from(m.head_dim_k) * 2
        + u64::from(m.n_head_kv) * u64::from(m.head_dim_v))
        / tp;
    let ff = match m.moe {
        Some(moe) => {
            u64::from(moe.expert_ff) * u64::from(moe.n_expert_used) + u64::from(moe.shared_ff)
        }
        None => u64::from(m.n_ff),
    } / tp;
    // residual + normed input + attention output (3 x e), fused QKV, gate-up (2 x ff) + activation (ff)
    let per_token = 2 * (3 * e + qkv + 3 * ff);
    Bytes(tokens * per_token)
}

pub fn plan(m: &ModelSpec, weights_total: u64, gpu: &DeviceSpec, s: &VllmSettings) -> VllmPlan {
    let tp = u64::from(s.tensor_parallel_size.max(1));
    let max_model_len = m.context_or_trained(s.max_model_len);
    let budget = Bytes((gpu.memory.0 as f64 * s.gpu_memory_utilization.clamp(0.0, 1.0)) as u64);
    let w = Bytes(weights_total / tp);
    let act_tokens = u64::from(s.max_num_batched_tokens.max(1));
    // The sampler's logits for max_num_seqs sequences (f32) on top of the forward pass.
    let logits = Bytes(u64::from(s.max_num_seqs) * u64::from(m.n_vocab) / tp * 4);
    let activation = activation_peak(m, act_tokens, tp) + logits;
    // CUDA graphs are captured for decode batches up to 512 sequences (vLLM's largest capture size)
    // and share one memory pool sized by the largest.
    let graphs = if s.enforce_eager {
        Bytes::ZERO
    } else {
        activation_peak(m, 512, tp)
    };
    let ctx = overhead::backend_overhead(gpu);
    let fixed = w + activation + graphs + ctx;
    let kv_pool = budget.saturating_sub(fixed);
    let per_tok = kv_bytes_per_token(m, s).max(1);
    let block = u64::from(s.block_size.max(1));
    let kv_tokens = kv_pool.0 / per_tok / block * block;
    let kv = Bytes(kv_tokens * per_tok);
    VllmPlan {
        per_gpu: Breakdown {
            weights: w,
            kv_cache: kv,
            compute: activation + graphs,
            output: Bytes::ZERO,
            overhead: ctx,
            projector: Bytes::ZERO,
        },
        budget,
        kv_tokens,
        max_concurrency: kv_tokens as f64 / f64::from(max_model_len.max(1)),
        max_model_len,
    }
}
