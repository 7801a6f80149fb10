//! Prompt processing: FLOPs over effective compute, bounded below by reading the weights once per micro-batch.
//!
//! Seconds for `n` prompt tokens after `d0` cached ones, on one device = `inv_lin` x 2 x active
//! parameters x n / R + `inv_attn` x attention FLOPs / R, where R is the device's reference rate
//! ([`reference_rate`]); never less than reading every stored weight once per micro-batch.

use super::decode::mean_capped;
use super::params::{PrefillParams, PREFILL_N};
use super::vulkan_path::VulkanMatmul;
use super::work::Load;
use crate::hardware::{Backend, DeviceSpec};

/// The rate prefill efficiency is measured against: the published dense FP16 tensor rate; for
/// Apple GPUs, which have none, 1 TFLOP/s per GPU core (so the fitted efficiency reads as
/// TFLOP/s per core); on Vulkan the rate of the device's matmul path ([`VulkanMatmul`]); else the
/// FP32 rate. `None` when nothing is published (CPU profiles).
pub fn reference_rate(d: &DeviceSpec) -> Option<f64> {
    if d.backend == Backend::Vulkan {
        return VulkanMatmul::of_family(&d.family).reference_rate(d);
    }
    if d.backend == Backend::Metal {
        if let Some(c) = d.gpu_cores {
            return Some(f64::from(c) * 1e12);
        }
    }
    d.fp16.or(d.fp32).map(|r| r.0).filter(|r| *r > 0.0)
}

/// The peak a device can never beat, for the physical bound: its published FP16 (or FP32) rate.
pub fn peak_rate(d: &DeviceSpec) -> Option<f64> {
    d.fp16.or(d.fp32).map(|r| r.0).filter(|r| *r > 0.0)
}

/// Attention FLOPs of `n` prompt tokens after `d0` cached ones (each attends to all before it).
pub fn attention_flops(load: &Load, d0: f64, n: f64, window: f64) -> f64 {
    let full = n * (d0 + (n - 1.0) / 2.0);
    let swa = n * mean_capped(d0, n, window);
    load.attn_full_per_pos * full + load.attn_swa_per_pos * swa
}

/// The features prefill time is linear in: [matmul FLOPs / R, attention FLOPs / R without flash
/// attention, with it].
pub fn features(
    load: &Load,
    rate: f64,
    d0: f64,
    n: f64,
    window: f64,
    fa: bool,
) -> [f64; PREFILL_N] {
    if load.is_empty() || rate <= 0.0 {
        return [0.0; PREFILL_N];
    }
    let at = attention_flops(load, d0, n, window) / rate;
    [
        load.lin_flops * n / rate,
        if fa { 0.0 } else { at },
        if fa { at } else { 0.0 },
    ]
}

pub fn time(p: &PrefillParams, f: [f64; PREFILL_N]) -> f64 {
    p.as_array().iter().zip(f).map(|(a, b)| a * b).sum()
}

/// Reading every stored weight once per micro-batch, at `bandwidth` x efficiency.
pub fn memory_time(load: &Load, bandwidth: f64, bw_eff: f64, n: f64, n_ubatch: u32) -> f64 {
    if bandwidth <= 0.0 {
        return 0.0;
    }
    let chunks = (n / f64::from(n_ubatch.max(1))).ceil().max(1.0);
    chunks * load.resident_bytes / (bandwidth * bw_eff.clamp(1e-3, 1.0))
}

/// What a prompt's time is made of, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrefillTerms {
    /// Matrix multiplications (2 x active parameters per token).
    pub matmul_s: f64,
    /// Attention, growing with depth.
    pub attention_s: f64,
    /// Extra time when reading the weights, not compute, limits a micro-batch.
    pub memory_s: f64,
    /// Copying weights kept in system RAM to the GPU for each micro-batch (PCIe).
    pub link_s: f64,
    /// Work on the CPU.
    pub cpu_s: f64,
}

impl PrefillTerms {
    pub fn total(&self) -> f64 {
        self.matmul_s + self.attention_s + self.memory_s + self.link_s + self.cpu_s
    }
}
