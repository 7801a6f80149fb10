//! Devices: memory, bandwidth and throughput of GPUs, unified-memory machines and CPUs.

use crate::units::{Bytes, BytesPerSec, FlopsPerSec};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A discrete accelerator with its own memory.
    Gpu,
    /// A GPU that shares system memory with the CPU (Apple silicon, DGX Spark, Strix Halo, Jetson).
    Unified,
    /// A CPU working from system RAM.
    Cpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cuda,
    Rocm,
    Vulkan,
    Sycl,
    Metal,
    Cpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cuda => "cuda",
            Backend::Rocm => "rocm",
            Backend::Vulkan => "vulkan",
            Backend::Sycl => "sycl",
            Backend::Metal => "metal",
            Backend::Cpu => "cpu",
        }
    }
}

/// One device's specs, in the units the models use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpec {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub kind: DeviceKind,
    pub backend: Backend,
    /// Architecture family (ampere, ada, apple-m4, ddr5...), the grain speed calibration works at.
    pub family: String,
    pub memory: Bytes,
    pub bandwidth: BytesPerSec,
    /// Dense FP16 matrix throughput, when published.
    pub fp16: Option<FlopsPerSec>,
    /// Dense INT8 matrix throughput (ops/s), when published.
    pub int8: Option<FlopsPerSec>,
    pub fp8: Option<FlopsPerSec>,
    /// Vector FP32 throughput, when published.
    pub fp32: Option<FlopsPerSec>,
    /// Host link bandwidth per direction (PCIe), when the device has one.
    pub host_link: Option<BytesPerSec>,
    /// Peer link bandwidth (NVLink) per device, when present.
    pub peer_link: Option<BytesPerSec>,
    pub board_power_w: Option<f64>,
    pub gpu_cores: Option<u32>,
    pub cpu_cores: Option<u32>,
}

/// PCIe bandwidth per direction for a generation and lane count, from the PCI-SIG per-lane rates
/// after encoding (gen1 0.25, gen2 0.5, gen3 0.985, gen4 1.969, gen5 3.938, gen6 7.563 GB/s).
pub fn pcie_bandwidth(gen: u32, lanes: u32) -> Option<BytesPerSec> {
    let per_lane = match gen {
        1 => 0.25,
        2 => 0.5,
        3 => 0.985,
        4 => 1.969,
        5 => 3.938,
        6 => 7.563,
        _ => return None,
    };
    Some(BytesPerSec::from_gbs(per_lane * f64::from(lanes)))
}

/// The share of unified memory a Mac's GPU may use: Metal's `recommendedMaxWorkingSetSize`.
/// Public readings show 2/3 of RAM up to 36 GiB and 3/4 above (memory_measurements.csv: M1 8 GiB
/// 0.6667, M1 Max 32 GiB 0.6667, M1 Max 64 GiB 0.75). `wired_limit` is an `iogpu.wired_limit_mb`
/// override, which replaces the default.
pub fn apple_gpu_working_set(ram: Bytes, wired_limit: Option<Bytes>) -> Bytes {
    if let Some(limit) = wired_limit {
        return limit.min(ram);
    }
    if ram.0 <= 36 * Bytes::GIB {
        Bytes(ram.0 / 3 * 2)
    } else {
        Bytes(ram.0 / 4 * 3)
    }
}

impl DeviceSpec {
    /// A device known only by its kind, backend, memory and bandwidth: no id, name, vendor or
    /// family, and none of the optional rates, links or power. Callers set what they know on top.
    pub fn unrated(
        kind: DeviceKind,
        backend: Backend,
        memory: Bytes,
        bandwidth: BytesPerSec,
    ) -> DeviceSpec {
        DeviceSpec {
            id: String::new(),
            name: String::new(),
            vendor: String::new(),
            kind,
            backend,
            family: String::new(),
            memory,
            bandwidth,
            fp16: None,
            int8: None,
            fp8: None,
            fp32: None,
            host_link: None,
            peer_link: None,
            board_power_w: None,
            gpu_cores: None,
            cpu_cores: None,
        }
    }

    /// A CUDA GPU known by its name, family, memory and bandwidth, for tests: vendor `nvidia`,
    /// the id its name, none of the optional rates, links or power. Tests set what they need on top.
    #[cfg(test)]
    pub(crate) fn test_gpu(
        name: &str,
        family: &str,
        memory: Bytes,
        bandwidth: BytesPerSec,
    ) -> DeviceSpec {
        DeviceSpec {
            id: name.into(),
            name: name.into(),
            vendor: "nvidia".into(),
            family: family.into(),
            ..DeviceSpec::unrated(DeviceKind::Gpu, Backend::Cuda, memory, bandwidth)
        }
    }

    /// A copy with a different memory size (a Mac bought with more RAM, a custom card).
    pub fn with_memory(&self, memory: Bytes) -> DeviceSpec {
        DeviceSpec {
            memory,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_set_matches_public_readings() {
        // M1 8 GB: recommendedMaxWorkingSetSize 5726.63 MB (bytes/1e6) = 5461.3 MiB = 2/3 of 8 GiB.
        let ws = apple_gpu_working_set(Bytes(8 * Bytes::GIB), None);
        assert!((ws.0 as f64 / 1e6 - 5726.63).abs() < 0.01);
        // M1 Max 64 GB: 51539.61 MB = 3/4 of 64 GiB.
        let ws = apple_gpu_working_set(Bytes(64 * Bytes::GIB), None);
        assert!((ws.0 as f64 / 1e6 - 51539.61).abs() < 0.01);
        let ws = apple_gpu_working_set(Bytes(64 * Bytes::GIB), Some(Bytes(56 * Bytes::GIB)));
        assert_eq!(ws, Bytes(56 * Bytes::GIB));
    }

    #[test]
    fn pcie_4_x16_is_about_31_5_gbs() {
        let bw = pcie_bandwidth(4, 16).unwrap();
        assert!((bw.as_gbs() - 31.504).abs() < 1e-9);
        assert!(pcie_bandwidth(9, 16).is_none());
    }
}
