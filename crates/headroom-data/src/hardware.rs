//! A catalog device file: vendor specs, each with its source.

use crate::DataError;
use headroom_core::hardware::{pcie_bandwidth, Backend, DeviceKind, DeviceSpec};
use headroom_core::units::{Bytes, BytesPerSec, FlopsPerSec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file as written in data/hardware/.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareRecord {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub vendor: String,
    pub kind: DeviceKind,
    pub backend: Backend,
    pub family: String,
    pub memory_gib: Option<f64>,
    pub memory_options_gib: Option<Vec<f64>>,
    pub bandwidth_gbs: f64,
    pub fp16_tflops: Option<f64>,
    pub int8_tops: Option<f64>,
    pub fp8_tflops: Option<f64>,
    pub fp32_tflops: Option<f64>,
    pub pcie_gen: Option<u32>,
    pub pcie_lanes: Option<u32>,
    pub nvlink_gbs: Option<f64>,
    pub board_power_w: Option<f64>,
    pub gpu_cores: Option<u32>,
    pub cpu_cores: Option<u32>,
    /// Each number's source, by field name (empty in a build without `provenance`).
    #[cfg_attr(not(feature = "provenance"), serde(default))]
    pub sources: BTreeMap<String, String>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug)]
pub struct HardwareEntry {
    pub record: HardwareRecord,
    /// Memory 0 where the size is the user's choice (CPU profiles).
    pub spec: DeviceSpec,
}

impl HardwareRecord {
    /// Every numeric field that is set, by name, for the source check.
    pub fn numbers(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![("bandwidth_gbs", self.bandwidth_gbs)];
        let opt = [
            ("memory_gib", self.memory_gib),
            ("fp16_tflops", self.fp16_tflops),
            ("int8_tops", self.int8_tops),
            ("fp8_tflops", self.fp8_tflops),
            ("fp32_tflops", self.fp32_tflops),
            ("pcie_gen", self.pcie_gen.map(f64::from)),
            ("pcie_lanes", self.pcie_lanes.map(f64::from)),
            ("nvlink_gbs", self.nvlink_gbs),
            ("board_power_w", self.board_power_w),
            ("gpu_cores", self.gpu_cores.map(f64::from)),
            ("cpu_cores", self.cpu_cores.map(f64::from)),
        ];
        v.extend(opt.into_iter().filter_map(|(k, x)| x.map(|x| (k, x))));
        if let Some(o) = &self.memory_options_gib {
            v.extend(o.iter().map(|&x| ("memory_options_gib", x)));
        }
        v
    }
}

pub(crate) fn parse(stem: &str, text: &str) -> Result<HardwareEntry, DataError> {
    let err = |problem: String| DataError {
        file: format!("hardware/{stem}.json"),
        problem,
    };
    let r: HardwareRecord = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if r.id != stem {
        return Err(err(format!("id `{}` does not match the file name", r.id)));
    }
    for (field, value) in r.numbers() {
        if !value.is_finite() || value < 0.0 {
            return Err(err(format!("`{field}` is {value}")));
        }
        if cfg!(feature = "provenance") && r.sources.get(field).is_none_or(|s| s.trim().is_empty())
        {
            return Err(err(format!("`{field}` has no entry in `sources`")));
        }
    }
    if !(1.0..=20_000.0).contains(&r.bandwidth_gbs) {
        return Err(err(format!(
            "bandwidth_gbs {} is outside 1..=20000",
            r.bandwidth_gbs
        )));
    }
    let tf = |x: Option<f64>| x.map(FlopsPerSec::from_tflops);
    let spec = DeviceSpec {
        id: r.id.clone(),
        name: r.name.clone(),
        vendor: r.vendor.clone(),
        kind: r.kind,
        backend: r.backend,
        family: r.family.clone(),
        memory: r.memory_gib.map_or(Bytes::ZERO, Bytes::from_gib),
        bandwidth: BytesPerSec::from_gbs(r.bandwidth_gbs),
        fp16: tf(r.fp16_tflops),
        int8: tf(r.int8_tops),
        fp8: tf(r.fp8_tflops),
        fp32: tf(r.fp32_tflops),
        host_link: match (r.pcie_gen, r.pcie_lanes) {
            (Some(g), Some(l)) => pcie_bandwidth(g, l),
            _ => None,
        },
        peer_link: r.nvlink_gbs.map(BytesPerSec::from_gbs),
        board_power_w: r.board_power_w,
        gpu_cores: r.gpu_cores,
        cpu_cores: r.cpu_cores,
    };
    Ok(HardwareEntry { record: r, spec })
}
