//! How long one forward pass takes: the seam between the simulator and a speed model.
//!
//! Engines ask a [`StepTimes`] for the duration of each step they run. [`Roofline`] is the
//! fallback built from first principles: the speed model's bytes and FLOPs per device (from the
//! scenario's `Placement`), a pass taking the longer of moving its bytes at the device's bandwidth
//! and doing its FLOPs at the device's peak rate; it has no efficiency factors, so it is a lower
//! bound on real step times. A speed model fitted to measurements plugs in through
//! the same trait. [`ConstantSteps`] gives fixed times, for queueing checks and what-if runs.

use super::SimError;
use crate::hardware::{DeviceKind, DeviceSpec};
use crate::plan::Scenario;
use crate::speed::work::{self, Load, Split};
use crate::speed::{decode, offload, prefill};

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

/// One device's share of a pass: the speed model's work there, its bandwidth and its peak rate.
#[derive(Clone, Debug, PartialEq)]
struct Part {
    load: Load,
    bandwidth: f64,
    /// FLOP/s; `None` for a host whose compute rate is not given (its share is memory-bound).
    peak: Option<f64>,
}

impl Part {
    fn time(&self, bytes: f64, flops: f64) -> f64 {
        let memory = bytes / self.bandwidth;
        self.peak.map_or(memory, |p| memory.max(flops / p))
    }
}

/// The roofline fallback: the speed model with every efficiency at 1. Each device's share of a
/// pass (the speed model's `Workload`, summed from the scenario's `Placement`) takes the longer
/// of its bytes over its bandwidth and its FLOPs over its peak rate; llama.cpp's layer split runs
/// the devices one after another (their times add), tensor-parallel shards run together (the
/// slowest counts). A decode step's memory term is the speed model's physical bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Roofline {
    /// The accelerators' shares, in order.
    devices: Vec<Part>,
    /// The CPU's share (layers not offloaded, experts kept in system RAM).
    host: Option<Part>,
    split: Split,
    window: f64,
    expert_frac: f64,
}

impl Roofline {
    /// The scenario's roofline: its placement's reads and FLOPs on each device. An accelerator
    /// needs a published FP16 or FP32 rate and a bandwidth; the CPU's share, when it has one, is
    /// counted at its peak rate if the CPU gives one (threads, instruction set and clock), else at
    /// its bandwidth alone.
    pub fn new(s: &Scenario) -> Result<Roofline, SimError> {
        let w = work::workload(s);
        let accel: Vec<&DeviceSpec> = s
            .devices
            .iter()
            .filter(|d| d.kind != DeviceKind::Cpu)
            .collect();
        let mut devices = Vec::with_capacity(w.devices.len());
        for (i, load) in w.devices.iter().enumerate() {
            let d = accel
                .get(i)
                .or(accel.first())
                .ok_or_else(|| SimError("the scenario has no device".into()))?;
            let peak = prefill::peak_rate(d)
                .ok_or_else(|| SimError(format!("device `{}` publishes no FLOP rate", d.id)))?;
            if d.bandwidth.0 <= 0.0 {
                return Err(SimError(format!(
                    "device `{}` has no memory bandwidth",
                    d.id
                )));
            }
            devices.push(Part {
                load: load.clone(),
                bandwidth: d.bandwidth.0,
                peak: Some(peak),
            });
        }
        let host = if w.host.is_empty() {
            None
        } else {
            let (bandwidth, _) = offload::host_bandwidth(&s.devices);
            if bandwidth <= 0.0 {
                return Err(SimError("the CPU has no memory bandwidth".into()));
            }
            let cpu = s.devices.iter().find(|d| d.kind == DeviceKind::Cpu);
            Some(Part {
                load: w.host.clone(),
                bandwidth,
                peak: cpu.and_then(prefill::peak_rate),
            })
        };
        if devices.is_empty() && host.is_none() {
            return Err(SimError("the scenario has no device".into()));
        }
        Ok(Roofline {
            devices,
            host,
            split: w.shape.split,
            window: w.shape.window,
            expert_frac: w.shape.expert_frac,
        })
    }

    /// The pass's time from each part's: the accelerators after the split rule, then the CPU.
    fn combine(&self, f: impl Fn(&Part) -> f64) -> f64 {
        let times = self.devices.iter().map(&f);
        let accel = match self.split {
            Split::Layers => times.sum(),
            Split::Tensor { .. } => times.fold(0.0, f64::max),
        };
        accel + self.host.as_ref().map_or(0.0, f)
    }
}

impl StepTimes for Roofline {
    /// Bytes: the weights the chunk's tokens route to (`decode::step_weight_bytes`) and every
    /// sequence's cache up to its context plus its share of the chunk. FLOPs: the matmuls of each
    /// token and the attention of each token to all before it (`prefill::attention_flops`).
    fn prefill(&self, tokens: u32, context: u32, batch: u32) -> f64 {
        let t = f64::from(tokens);
        let b = f64::from(batch.max(1));
        let ctx = f64::from(context);
        self.combine(|p| {
            let bytes = decode::step_weight_bytes(&p.load, self.expert_frac, t)
                + b * p.load.kv_bytes_at(ctx + t / b, self.window);
            let flops =
                p.load.lin_flops * t + prefill::attention_flops(&p.load, ctx, t, self.window);
            p.time(bytes, flops)
        })
    }

    /// Bytes: the weights the batch routes to and each sequence's cache at `mean_context`, as the
    /// speed model's bound reads them; FLOPs: each sequence's matmuls and attention.
    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        let b = f64::from(batch);
        let ctx = f64::from(mean_context);
        self.combine(|p| {
            let bytes = decode::step_weight_bytes(&p.load, self.expert_frac, b)
                + b * p.load.kv_bytes_at(ctx, self.window);
            let flops = b
                * (p.load.lin_flops
                    + p.load.attn_full_per_pos * ctx
                    + p.load.attn_swa_per_pos * ctx.min(self.window));
            p.time(bytes, flops)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::llama_cpp::LlamaCppSettings;
    use crate::memory::vllm::VllmSettings;
    use crate::model::fixtures::llama3_8b;
    use crate::plan::Runtime;
    use crate::quant::{stored_tensors, GgufMix, Quant, WeightSummary};
    use crate::speed::{SpeedModel, SpeedParams};
    use crate::units::{Bytes, BytesPerSec, FlopsPerSec};

    fn rtx4090() -> DeviceSpec {
        // RTX 4090: 24 GB, 1008 GB/s (data/hardware/rtx-4090.json), and 165.2 dense FP16 tensor
        // TFLOPS with FP32 accumulate (Ada whitepaper, Appendix A; the catalog's notes).
        DeviceSpec {
            id: "rtx-4090".into(),
            fp16: Some(FlopsPerSec::from_tflops(165.2)),
            ..DeviceSpec::test_gpu(
                "RTX 4090",
                "ada",
                Bytes(24 * Bytes::GIB),
                BytesPerSec::from_gbs(1008.0),
            )
        }
    }

    /// Llama 3 8B Q4_K_M on `devices` under `runtime`.
    fn scenario(devices: Vec<DeviceSpec>, runtime: Runtime) -> Scenario {
        let m = llama3_8b();
        let weights = stored_tensors(
            &m,
            &Quant::Gguf {
                mix: GgufMix::Q4_K_M,
            },
        );
        Scenario {
            weight_summary: WeightSummary::new(m.n_layer, &weights),
            weights,
            quant: "Q4_K_M".into(),
            model: m,
            devices,
            host_ram: None,
            wired_limit: None,
            runtime,
            beyond_trained: false,
            notes: Vec::new(),
        }
    }

    fn llama_cpp() -> Runtime {
        Runtime::LlamaCpp(LlamaCppSettings::default())
    }

    #[test]
    fn decode_at_batch_one_is_weight_bytes_over_bandwidth() {
        let s = scenario(vec![rtx4090()], llama_cpp());
        let r = Roofline::new(&s).unwrap();
        // Q4_K_M weights without the 281.81 MiB embedding table: 4403.49 MiB (llama.cpp's CUDA
        // buffer for this file, memory_measurements.csv); at 1008 GB/s that is 4.581 ms.
        let expect = 4403.49 * 1048576.0 / 1008e9;
        let t = r.decode(1, 0);
        assert!((t / expect - 1.0).abs() < 0.01, "{t} vs {expect}");
        // 1000 cached tokens add 1000 x 131072 bytes of KV reads (32 layers x 8 KV heads x 128
        // x K and V x 2 bytes of F16).
        let t1000 = r.decode(1, 1000);
        assert!((t1000 - t - 1000.0 * 131_072.0 / 1008e9).abs() < 1e-9);
        // a large prefill is compute-bound: 2 x active params x tokens / peak
        let p = r.prefill(4096, 0, 1);
        assert!(p > 2.0 * 7.0e9 * 4096.0 / 165.2e12);
    }

    #[test]
    fn a_decode_step_is_the_speed_models_bound() {
        // The same workload: with every efficiency at 1 the speed model's physical bound of a
        // single-sequence step is the roofline's memory term, which a batch of one is held by.
        let s = scenario(vec![rtx4090()], llama_cpp());
        let r = Roofline::new(&s).unwrap();
        let sm = SpeedModel::new(&s, &SpeedParams::default());
        for ctx in [0u32, 1000, 8000] {
            let (_, bound) = sm.decode_step(f64::from(ctx), 1.0, 1.0);
            let t = r.decode(1, ctx);
            assert!((t / bound - 1.0).abs() < 1e-12, "ctx {ctx}: {t} vs {bound}");
        }
    }

    #[test]
    fn two_shards_halve_a_weight_bound_decode() {
        let one = scenario(vec![rtx4090()], Runtime::Vllm(VllmSettings::default()));
        let two = scenario(
            vec![rtx4090(), rtx4090()],
            Runtime::Vllm(VllmSettings {
                tensor_parallel_size: 2,
                ..VllmSettings::default()
            }),
        );
        let (r1, r2) = (Roofline::new(&one).unwrap(), Roofline::new(&two).unwrap());
        assert!((r2.decode(1, 0) * 2.0 - r1.decode(1, 0)).abs() < 1e-12);
    }

    #[test]
    fn no_flop_rate_is_an_error_naming_the_device() {
        let mut d = rtx4090();
        d.fp16 = None;
        let e = Roofline::new(&scenario(vec![d], llama_cpp())).unwrap_err();
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
