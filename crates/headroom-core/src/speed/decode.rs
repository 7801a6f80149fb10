//! Token generation: bytes each token moves over effective bandwidth, plus a fixed cost per layer.
//!
//! Seconds per token on one device = `inv_bw_eff` x weight bytes / bandwidth + `inv_kv_eff` x KV
//! bytes read at the current depth / bandwidth + `layer_s` x layers. Linear in the parameters, so
//! they can be fitted by least squares. Never faster than the physical bound (bytes / bandwidth)
//! nor than the compute the batch needs.

use super::params::{DecodeParams, DECODE_N};
use super::work::{expert_union_fraction, Load};
use crate::hardware::{Backend, DeviceSpec};

/// The vector FP32 rate the decode kernels' dequantize and dot products are counted against:
/// the published rate, except on Apple GPUs, whose only FP32 figures (M1 family) are third-party
/// tables, so that every Metal device is fitted on the same terms.
pub fn vector_rate(d: &DeviceSpec) -> Option<f64> {
    if d.backend == Backend::Metal {
        return None;
    }
    d.fp32.map(|r| r.0).filter(|r| *r > 0.0)
}

/// Mean of `min(p, window)` over positions `p = d0 .. d0 + n - 1`.
pub fn mean_capped(d0: f64, n: f64, window: f64) -> f64 {
    let n = n.max(1.0);
    let last = d0 + n - 1.0;
    if last <= window {
        return d0 + (n - 1.0) / 2.0;
    }
    if d0 >= window {
        return window;
    }
    // positions d0..window grow, the rest sit at the window
    let below = window - d0 + 1.0;
    let sum = below * (d0 + window) / 2.0 + (n - below) * window;
    sum / n
}

/// KV bytes a token reads on average while `n` tokens are generated from depth `d0`, per sequence.
pub fn mean_kv_bytes(load: &Load, d0: f64, n: f64, window: f64) -> f64 {
    let full = d0 + (n.max(1.0) - 1.0) / 2.0;
    load.kv_full_per_pos * full + load.kv_swa_per_pos * mean_capped(d0, n, window)
}

/// Weight bytes one decode step of `batch` sequences reads here: the dense weights once, and of
/// the routed experts the union the batch routes to ([`expert_union_fraction`] of them) instead
/// of one token's k / E.
pub fn step_weight_bytes(load: &Load, expert_frac: f64, batch: f64) -> f64 {
    if batch <= 1.0 || load.expert_bytes <= 0.0 {
        return load.weight_bytes;
    }
    let extra = expert_union_fraction(expert_frac, batch) - expert_frac;
    load.weight_bytes + load.expert_bytes * extra.max(0.0)
}

/// The features decode time is linear in: [weight bytes / B, KV bytes / B without flash
/// attention, KV bytes / B with it, layers, weight bytes / V], B in bytes/s, V the device's
/// vector FP32 rate in FLOP/s (the last feature is zero where none is published), for one
/// sequence's weights (the fitted measurements are single-sequence runs). `kv_bytes` is per
/// sequence.
pub fn features(
    load: &Load,
    bandwidth: f64,
    vector: Option<f64>,
    kv_bytes: f64,
    batch: f64,
    fa: bool,
) -> [f64; DECODE_N] {
    step_features(load, bandwidth, vector, kv_bytes, batch, 0.0, fa)
}

/// [`features`] for a step of `batch` sequences: every sequence's cache, and of a MoE's routed
/// experts the union the batch routes to (`expert_frac` = k / E).
pub fn step_features(
    load: &Load,
    bandwidth: f64,
    vector: Option<f64>,
    kv_bytes: f64,
    batch: f64,
    expert_frac: f64,
    fa: bool,
) -> [f64; DECODE_N] {
    if load.is_empty() || bandwidth <= 0.0 {
        return [0.0; DECODE_N];
    }
    let kv = kv_bytes * batch / bandwidth;
    let weights = step_weight_bytes(load, expert_frac, batch);
    [
        weights / bandwidth,
        if fa { 0.0 } else { kv },
        if fa { kv } else { 0.0 },
        f64::from(load.layers),
        vector.filter(|v| *v > 0.0).map_or(0.0, |v| weights / v),
    ]
}

/// Seconds of a step of `batch` sequences whose reads take `reads` seconds and one sequence's
/// compute `one`: never less than the whole batch's compute, and every sequence past the first
/// adds its compute to the reads. Decoding a few sequences, llama.cpp's quantized mat-vec
/// kernels run one pass over the weights per step and do each extra column's dequantize and dot
/// products on top of it, so a dense batch loses efficiency as it grows instead of riding free
/// on the reads; one sequence keeps the single-stream time the parameters were fitted on.
pub fn batch_compute(reads: f64, one: f64, batch: f64) -> f64 {
    let b = batch.max(1.0);
    (reads + (b - 1.0) * one).max(b * one)
}

/// Seconds per step from the features.
pub fn time(p: &DecodeParams, f: [f64; DECODE_N]) -> f64 {
    p.as_array().iter().zip(f).map(|(a, b)| a * b).sum()
}

/// The physical bound: every byte read once at the full bandwidth.
pub fn bound(f: [f64; DECODE_N]) -> f64 {
    f[0] + f[1] + f[2]
}

/// What a step's time is made of, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecodeTerms {
    /// Reading the weights.
    pub weights_s: f64,
    /// Reading the KV cache (attention at depth).
    pub kv_cache_s: f64,
    /// Fixed per-layer costs (kernel launches, synchronisation, sampling).
    pub overhead_s: f64,
    /// Work on the CPU from system RAM (offloaded layers or experts).
    pub cpu_s: f64,
    /// Transfers between devices (PCIe, NVLink).
    pub link_s: f64,
    /// Extra time when the batch's compute, not memory, limits the step.
    pub compute_s: f64,
}

impl DecodeTerms {
    pub fn total(&self) -> f64 {
        self.weights_s
            + self.kv_cache_s
            + self.overhead_s
            + self.cpu_s
            + self.link_s
            + self.compute_s
    }

    pub fn add_device(&mut self, p: &DecodeParams, f: [f64; DECODE_N]) {
        self.weights_s += p.inv_bw_eff.max(1.0) * f[0];
        self.kv_cache_s += p.inv_kv_eff.max(1.0) * f[1] + p.inv_kv_eff_fa.max(1.0) * f[2];
        self.overhead_s += p.layer_s.max(0.0) * f[3];
        self.compute_s += p.alu_per_byte.max(0.0) * f[4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_capped_handles_all_three_regimes() {
        // below the window: plain mean of 0..9 = 4.5
        assert!((mean_capped(0.0, 10.0, 100.0) - 4.5).abs() < 1e-12);
        // entirely past it
        assert!((mean_capped(200.0, 10.0, 100.0) - 100.0).abs() < 1e-12);
        // 96..=100 then five at 100: (96+97+98+99+100 + 5x100) / 10 = 99.0
        assert!((mean_capped(96.0, 10.0, 100.0) - 99.0).abs() < 1e-12);
    }

    #[test]
    fn the_vector_alu_feature_is_weight_bytes_over_the_fp32_rate() {
        // 3.82e9 weight bytes (Llama 2 7B Q4_0) on the A100 80GB PCIe: 1935 GB/s and 19.5 TFLOPS
        // FP32 (NVIDIA datasheet). By hand: 3.82e9 / 1.935e12 = 1.974 ms of reads and
        // 3.82e9 / 19.5e12 = 0.1959 ms per unit of `alu_per_byte`; no rate, no feature.
        let load = Load {
            weight_bytes: 3.82e9,
            resident_bytes: 3.82e9,
            layers: 32,
            ..Load::default()
        };
        let f = features(&load, 1.935e12, Some(19.5e12), 0.0, 1.0, true);
        assert!((f[0] - 1.974_160e-3).abs() < 1e-8, "{f:?}");
        assert!((f[4] - 1.958_974e-4).abs() < 1e-9, "{f:?}");
        assert_eq!(features(&load, 1.935e12, None, 0.0, 1.0, true)[4], 0.0);
        // 5 vector operations per byte add 5 x 0.1959 = 0.979 ms to the step, outside the bound
        let p = DecodeParams {
            alu_per_byte: 5.0,
            ..DecodeParams::BOUND
        };
        assert!((time(&p, f) - (1.974_160e-3 + 9.794_872e-4)).abs() < 1e-8);
        assert!((bound(f) - 1.974_160e-3).abs() < 1e-8);
    }

    #[test]
    fn extra_sequences_add_their_compute_to_the_reads() {
        // reads 10 ms, one sequence's compute 1 ms: one sequence 10 ms, four 10 + 3 x 1 = 13 ms,
        // and 64 sequences are compute-bound at 64 x 1 = 64 ms (10 + 63 = 73 ms with the reads)
        assert!((batch_compute(0.010, 0.001, 1.0) - 0.010).abs() < 1e-15);
        assert!((batch_compute(0.010, 0.001, 4.0) - 0.013).abs() < 1e-15);
        assert!((batch_compute(0.010, 0.001, 64.0) - 0.073).abs() < 1e-15);
        // compute-bound already at one sequence: the compute decides
        assert!((batch_compute(0.001, 0.002, 2.0) - 0.004).abs() < 1e-15);
    }

    #[test]
    fn a_batch_of_four_on_qwen3_30b_a3b_reads_the_union_of_its_experts() {
        // Qwen3-30B-A3B config.json (https://huggingface.co/Qwen/Qwen3-30B-A3B/blob/main/config.json):
        // num_experts 128, num_experts_per_tok 8, so k/E = 0.0625.
        // By hand: 1 - (1 - 8/128)^4 = 1 - 0.9375^4 = 1 - 0.772476196 = 0.227523804,
        // i.e. 128 x 0.227523804 = 29.12 distinct experts per layer instead of 8.
        let frac = 8.0 / 128.0;
        let u = expert_union_fraction(frac, 4.0);
        assert!((u - 0.227_523_804).abs() < 1e-9, "{u}");
        assert!((u * 128.0 - 29.123_047).abs() < 1e-5);
        // one token reads its own 8; a dense model has no experts to union
        assert!((expert_union_fraction(frac, 1.0) - frac).abs() < 1e-15);
        assert_eq!(expert_union_fraction(0.0, 4.0), 0.0);
        // 1 GB of dense weights and 16 GB of experts (0.0625 x 16 = 1 GB read by one token):
        // a batch of 4 reads 1 + 16 x 0.227523804 = 4.640381 GB per step
        let load = Load {
            weight_bytes: 2e9,
            resident_bytes: 17e9,
            expert_bytes: 16e9,
            layers: 1,
            ..Load::default()
        };
        assert!((step_weight_bytes(&load, frac, 1.0) - 2e9).abs() < 1.0);
        assert!((step_weight_bytes(&load, frac, 4.0) - 4.640_380_86e9).abs() < 1e3);
    }
}
