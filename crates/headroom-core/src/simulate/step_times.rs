//! How long one forward pass takes: the seam between the simulator and a speed model.
//!
//! Engines ask a [`StepTimes`] for the duration of each step they run. [`Roofline`] is the
//! fallback built from first principles (a pass takes the longer of moving its bytes at the
//! device's bandwidth and doing its FLOPs at the device's peak rate); it has no efficiency factors,
//! so it is a lower bound on real step times. A speed model fitted to measurements plugs in through
//! the same trait. [`ConstantSteps`] gives fixed times, for queueing checks and what-if runs.

use super::SimError;
use crate::hardware::DeviceSpec;
use crate::model::ModelSpec;
use crate::quant::StoredTensor;
use crate::tensors::TensorRole;

/// One forward pass as a continuous-batching engine builds it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Step {
    /// Sequences generating one token each.
    pub decode_seqs: u32,
    /// Their mean context (cached tokens), which sets the KV bytes each reads.
    pub decode_context: u32,
    /// Prompt tokens computed in this pass (prefill chunks), over all sequences.
    pub prefill_tokens: u32,
    /// Sequences those prompt tokens belong to.
    pub prefill_seqs: u32,
    /// Mean tokens those sequences already hold in cache before this chunk.
    pub prefill_context: u32,
}

impl Step {
    /// The step with its mean contexts set from the summed contexts of its decode and prefill
    /// sequences, or `None` when the pass has no work.
    pub fn with_means(mut self, decode_ctx_sum: u64, prefill_ctx_sum: u64) -> Option<Step> {
        if self.decode_seqs == 0 && self.prefill_tokens == 0 {
            return None;
        }
        if self.decode_seqs > 0 {
            self.decode_context = (decode_ctx_sum / u64::from(self.decode_seqs)) as u32;
        }
        if self.prefill_seqs > 0 {
            self.prefill_context = (prefill_ctx_sum / u64::from(self.prefill_seqs)) as u32;
        }
        Some(self)
    }
}

/// Step durations in seconds.
pub trait StepTimes {
    /// A pass computing `tokens` prompt tokens of `batch` sequences that already cache `context`
    /// tokens each on average.
    fn prefill(&self, tokens: u32, context: u32, batch: u32) -> f64;

    /// A pass generating one token for each of `batch` sequences with `mean_context` cached tokens.
    fn decode(&self, batch: u32, mean_context: u32) -> f64;

    /// A mixed pass. By default the pass is one forward over all its tokens: its compute is a
    /// prefill of every token, its memory traffic that of the decode batch, and it takes the longer.
    fn step(&self, s: &Step) -> f64 {
        match (s.decode_seqs, s.prefill_tokens) {
            (0, 0) => 0.0,
            (d, 0) => self.decode(d, s.decode_context),
            (0, p) => self.prefill(p, s.prefill_context, s.prefill_seqs.max(1)),
            (d, p) => self
                .prefill(p + d, s.prefill_context, s.prefill_seqs + d)
                .max(self.decode(d, s.decode_context)),
        }
    }
}

/// Fixed costs: `prefill_per_token` seconds per prompt token and `decode_step` seconds per decode
/// pass whatever its batch (perfect batching). A mixed pass costs the sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConstantSteps {
    pub prefill_per_token: f64,
    pub decode_step: f64,
}

impl StepTimes for ConstantSteps {
    fn prefill(&self, tokens: u32, _context: u32, _batch: u32) -> f64 {
        self.prefill_per_token * f64::from(tokens)
    }

    fn decode(&self, _batch: u32, _mean_context: u32) -> f64 {
        self.decode_step
    }

    fn step(&self, s: &Step) -> f64 {
        let d = if s.decode_seqs > 0 {
            self.decode_step
        } else {
            0.0
        };
        d + self.prefill_per_token * f64::from(s.prefill_tokens)
    }
}

/// Another model's times multiplied by `factor` (below 1: a faster device).
#[derive(Clone, Copy, Debug)]
pub struct Scaled<'a, S: ?Sized> {
    pub inner: &'a S,
    pub factor: f64,
}

impl<S: StepTimes + ?Sized> StepTimes for Scaled<'_, S> {
    fn prefill(&self, tokens: u32, context: u32, batch: u32) -> f64 {
        self.inner.prefill(tokens, context, batch) * self.factor
    }
    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        self.inner.decode(batch, mean_context) * self.factor
    }
    fn step(&self, s: &Step) -> f64 {
        self.inner.step(s) * self.factor
    }
}

/// The roofline fallback: bytes over bandwidth against FLOPs over peak rate, whichever is longer.
#[derive(Clone, Debug, PartialEq)]
pub struct Roofline {
    /// Bytes of weights every pass reads (all but routed experts and the embedding table).
    dense_bytes: f64,
    /// Bytes of all routed experts together.
    expert_bytes: f64,
    /// Routed experts per layer and experts each token uses.
    n_expert: f64,
    n_expert_used: f64,
    /// Parameters a token multiplies by (routed experts counted at their used share).
    active_params: f64,
    /// KV bytes one cached token costs, read once per pass for every sequence.
    kv_bytes_per_token: f64,
    /// Attention FLOPs per (query token, cached token) pair: 4 x heads x head width x full layers.
    attn_flops_per_pair: f64,
    bandwidth: f64,
    peak_flops: f64,
}

impl Roofline {
    /// From a model, its stored weights, the device and the KV bytes per token the memory model
    /// gives for the runtime (`kv_cache::bytes_per_token` for llama.cpp, `vllm::kv_bytes_per_token`).
    /// The FLOP rate is the device's dense FP16 figure, else FP32.
    pub fn new(
        m: &ModelSpec,
        weights: &[StoredTensor],
        device: &DeviceSpec,
        kv_bytes_per_token: u64,
    ) -> Result<Roofline, SimError> {
        let peak = device
            .fp16
            .or(device.fp32)
            .map(|f| f.0)
            .filter(|f| *f > 0.0)
            .ok_or_else(|| SimError(format!("device `{}` publishes no FLOP rate", device.id)))?;
        if device.bandwidth.0 <= 0.0 {
            return Err(SimError(format!(
                "device `{}` has no memory bandwidth",
                device.id
            )));
        }
        let (mut dense_bytes, mut expert_bytes, mut dense_params, mut expert_params) =
            (0.0, 0.0, 0.0, 0.0);
        for t in weights {
            match t.role {
                // a token reads one row of the embedding table, not the table
                TensorRole::TokenEmbd if !m.tied_embeddings => {}
                TensorRole::Experts => {
                    expert_bytes += t.bytes as f64;
                    expert_params += t.n_elements as f64;
                }
                _ => {
                    dense_bytes += t.bytes as f64;
                    dense_params += t.n_elements as f64;
                }
            }
        }
        let (n_expert, n_used) = m.moe.map_or((1.0, 1.0), |e| {
            (f64::from(e.n_expert.max(1)), f64::from(e.n_expert_used))
        });
        let heads_width = f64::from(m.n_head) * f64::from(m.head_dim_k.max(m.head_dim_v));
        Ok(Roofline {
            dense_bytes,
            expert_bytes,
            n_expert,
            n_expert_used: n_used,
            active_params: dense_params + expert_params * n_used / n_expert,
            kv_bytes_per_token: kv_bytes_per_token as f64,
            attn_flops_per_pair: 4.0 * heads_width * f64::from(m.n_full_attn_layers()),
            bandwidth: device.bandwidth.0,
            peak_flops: peak,
        })
    }

    /// One of `n` tensor-parallel shards: each device holds and multiplies `1/n` of the weights,
    /// all at once. The KV bytes per token passed to `new` are already per device; the
    /// all-reduce between devices is not costed.
    pub fn sharded(mut self, n: u32) -> Roofline {
        let n = f64::from(n.max(1));
        self.dense_bytes /= n;
        self.expert_bytes /= n;
        self.active_params /= n;
        self.attn_flops_per_pair /= n;
        self
    }

    /// Weight bytes a pass over `tokens` tokens reads: routed experts are touched with probability
    /// `1 - (1 - used/n)^tokens` each, taking routing as independent and uniform.
    fn weight_bytes(&self, tokens: u32) -> f64 {
        if self.expert_bytes == 0.0 {
            return self.dense_bytes;
        }
        let miss = (1.0 - self.n_expert_used / self.n_expert).max(0.0);
        self.dense_bytes + self.expert_bytes * (1.0 - miss.powf(f64::from(tokens)))
    }
}

impl StepTimes for Roofline {
    fn prefill(&self, tokens: u32, context: u32, batch: u32) -> f64 {
        let t = f64::from(tokens);
        // each new token attends to the cached context and, causally, half the chunk
        let pairs = t * (f64::from(context) + t / 2.0);
        let flops = 2.0 * self.active_params * t + self.attn_flops_per_pair * pairs;
        let bytes = self.weight_bytes(tokens)
            + self.kv_bytes_per_token
                * f64::from(batch)
                * (f64::from(context) + t / f64::from(batch.max(1)));
        (flops / self.peak_flops).max(bytes / self.bandwidth)
    }

    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        let b = f64::from(batch);
        let ctx = f64::from(mean_context);
        let bytes = self.weight_bytes(batch) + self.kv_bytes_per_token * b * ctx;
        let flops = 2.0 * self.active_params * b + self.attn_flops_per_pair * b * ctx;
        (bytes / self.bandwidth).max(flops / self.peak_flops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::{Backend, DeviceKind};
    use crate::model::fixtures::llama3_8b;
    use crate::quant::{stored_tensors, GgufMix, Quant};
    use crate::units::{Bytes, BytesPerSec, FlopsPerSec};

    fn rtx4090() -> DeviceSpec {
        // RTX 4090: 24 GB, 1008 GB/s (data/hardware/rtx-4090.json), and 165.2 dense FP16 tensor
        // TFLOPS with FP32 accumulate (Ada whitepaper, Appendix A; the catalog's notes).
        DeviceSpec {
            id: "rtx-4090".into(),
            name: "RTX 4090".into(),
            vendor: "nvidia".into(),
            family: "ada".into(),
            fp16: Some(FlopsPerSec::from_tflops(165.2)),
            ..DeviceSpec::unrated(
                DeviceKind::Gpu,
                Backend::Cuda,
                Bytes(24 * Bytes::GIB),
                BytesPerSec::from_gbs(1008.0),
            )
        }
    }

    #[test]
    fn decode_at_batch_one_is_weight_bytes_over_bandwidth() {
        let m = llama3_8b();
        let w = stored_tensors(
            &m,
            &Quant::Gguf {
                mix: GgufMix::Q4_K_M,
            },
        );
        let r = Roofline::new(&m, &w, &rtx4090(), 131_072).unwrap();
        // Q4_K_M weights without the 281.81 MiB embedding table: 4403.49 MiB (llama.cpp's CUDA
        // buffer for this file, memory_measurements.csv); at 1008 GB/s that is 4.581 ms.
        let expect = 4403.49 * 1048576.0 / 1008e9;
        let t = r.decode(1, 0);
        assert!((t / expect - 1.0).abs() < 0.01, "{t} vs {expect}");
        // 1000 cached tokens add 1000 x 131072 bytes of KV reads.
        let t1000 = r.decode(1, 1000);
        assert!((t1000 - t - 1000.0 * 131_072.0 / 1008e9).abs() < 1e-9);
        // a large prefill is compute-bound: 2 x active params x tokens / peak
        let p = r.prefill(4096, 0, 1);
        assert!(p > 2.0 * 7.0e9 * 4096.0 / 165.2e12);
    }

    #[test]
    fn two_shards_halve_a_weight_bound_decode() {
        let m = llama3_8b();
        let w = stored_tensors(
            &m,
            &Quant::Gguf {
                mix: GgufMix::Q4_K_M,
            },
        );
        let r = Roofline::new(&m, &w, &rtx4090(), 131_072).unwrap();
        let half = r.clone().sharded(2);
        assert!((half.decode(1, 0) * 2.0 - r.decode(1, 0)).abs() < 1e-12);
    }

    #[test]
    fn no_flop_rate_is_an_error_naming_the_device() {
        let m = llama3_8b();
        let mut d = rtx4090();
        d.fp16 = None;
        let e = Roofline::new(&m, &[], &d, 1).unwrap_err();
        assert!(e.0.contains("rtx-4090"));
    }

    #[test]
    fn mixed_step_is_never_shorter_than_its_parts() {
        let c = ConstantSteps {
            prefill_per_token: 1e-4,
            decode_step: 0.02,
        };
        let s = Step {
            decode_seqs: 3,
            decode_context: 100,
            prefill_tokens: 100,
            prefill_seqs: 1,
            prefill_context: 0,
        };
        assert!((c.step(&s) - 0.03).abs() < 1e-12);
        let half = Scaled {
            inner: &c,
            factor: 0.5,
        };
        assert!((half.step(&s) - 0.015).abs() < 1e-12);
    }
}
