//! Partial offload: layers and experts left in system RAM, read by the CPU, and the PCIe traffic they cause.
//!
//! Decode: the CPU reads its layers' weights and KV from system RAM at its bandwidth; only the
//! hidden state crosses PCIe. Prefill: llama.cpp copies host-resident weights to the GPU for each
//! micro-batch of 32 or more tokens and computes there (op offload, `GGML_OP_OFFLOAD_MIN_BATCH`),
//! so the PCIe link, not the CPU, bounds it.

use super::work::Load;
use crate::hardware::{pcie_bandwidth, DeviceKind, DeviceSpec};
use crate::units::BytesPerSec;

/// llama.cpp's smallest batch for which host weights are copied to the GPU (ggml-backend.cpp).
pub const OP_OFFLOAD_MIN_BATCH: u32 = 32;

/// System RAM bandwidth when the scenario names no CPU: a dual-channel DDR5-5600 desktop
/// (2 x 8 B x 5600 MT/s = 89.6 GB/s, data/hardware/ddr5-5600-2ch.json), marked in the warnings.
pub const DEFAULT_HOST_BANDWIDTH: BytesPerSec = BytesPerSec(89.6e9);

/// The slow end of common desktop system RAM, for the band of a run whose host is assumed: a
/// dual-channel DDR4-3200 desktop (2 x 8 B x 3200 MT/s = 51.2 GB/s, data/hardware/ddr4-3200-2ch.json).
pub const SLOW_HOST_BANDWIDTH: BytesPerSec = BytesPerSec(51.2e9);

/// The bandwidth the CPU reads its share at, and whether it was assumed.
pub fn host_bandwidth(devices: &[DeviceSpec]) -> (f64, bool) {
    if let Some(c) = devices.iter().find(|d| d.kind == DeviceKind::Cpu) {
        return (c.bandwidth.0, false);
    }
    if let Some(u) = devices.iter().find(|d| d.kind == DeviceKind::Unified) {
        return (u.bandwidth.0, false);
    }
    (DEFAULT_HOST_BANDWIDTH.0, true)
}

/// The host link of the first discrete GPU; unified memory has none to cross (infinite).
pub fn host_link(devices: &[DeviceSpec]) -> f64 {
    match devices.iter().find(|d| d.kind == DeviceKind::Gpu) {
        Some(g) => g
            .host_link
            .or_else(|| pcie_bandwidth(4, 16))
            .map_or(f64::INFINITY, |b| b.0),
        None => f64::INFINITY,
    }
}

/// Seconds per generated token for moving the hidden state across PCIe `crossings` times.
pub fn decode_link_time(hidden_bytes: f64, crossings: u32, link: f64, batch: f64) -> f64 {
    if crossings == 0 || !link.is_finite() || link <= 0.0 {
        return 0.0;
    }
    f64::from(crossings) * hidden_bytes * batch / link
}

/// Seconds to copy the host's weights to the GPU once per micro-batch while processing `n` tokens.
pub fn prefill_copy_time(host: &Load, link: f64, n: f64, n_ubatch: u32) -> f64 {
    if host.resident_bytes <= 0.0 || !link.is_finite() || link <= 0.0 {
        return 0.0;
    }
    let chunks = (n / f64::from(n_ubatch.max(1))).ceil().max(1.0);
    chunks * host.resident_bytes / link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_time_counts_micro_batches() {
        let host = Load {
            resident_bytes: 4e9,
            ..Load::default()
        };
        // 2048 tokens in 512-token micro-batches: 4 copies of 4 GB over 32 GB/s = 0.5 s
        let t = prefill_copy_time(&host, 32e9, 2048.0, 512);
        assert!((t - 0.5).abs() < 1e-12);
    }
}
