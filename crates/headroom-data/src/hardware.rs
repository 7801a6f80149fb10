//! A catalog device file: vendor specs, each with its source.

use crate::DataError;
use headroom_core::hardware::{pcie_bandwidth, Backend, DeviceKind, DeviceSpec};
use headroom_core::speed::cpu::{self, Isa};
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
    /// A named CPU's widest SIMD instruction set llama.cpp uses (`avx2`, `avx512`, `amx`, `neon`),
    /// from the vendor's spec page; absent for memory-only profiles and other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_isa: Option<String>,
    /// A named CPU's all-core base clock, GHz (the core-weighted mean of the base clocks on a CPU
    /// with two kinds of core); absent with `cpu_isa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ghz: Option<f64>,
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
            ("cpu_ghz", self.cpu_ghz),
        ];
        v.extend(opt.into_iter().filter_map(|(k, x)| x.map(|x| (k, x))));
        if let Some(o) = &self.memory_options_gib {
            v.extend(o.iter().map(|&x| ("memory_options_gib", x)));
        }
        v
    }
}

const CPU_FIELDS: &str = "`cpu_isa` (avx2, avx512, amx or neon) and `cpu_ghz` (0.1..=10) go together, on a CPU profile with `cpu_cores`";

pub(crate) fn parse(stem: &str, text: &str) -> Result<HardwareEntry, DataError> {
    let err = |problem: String| DataError {
        file: format!("hardware/{stem}.json"),
        problem,
    };
    let r: HardwareRecord = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if r.id != stem {
        return Err(err(format!("id `{}` does not match the file name", r.id)));
    }
    // every value named in `sources` (a build without `provenance` embeds none to check)
    let sourced = |field: &str| {
        if cfg!(feature = "provenance") && r.sources.get(field).is_none_or(|s| s.trim().is_empty())
        {
            return Err(err(format!("`{field}` has no entry in `sources`")));
        }
        Ok(())
    };
    for (field, value) in r.numbers() {
        if !value.is_finite() || value < 0.0 {
            return Err(err(format!("`{field}` is {value}")));
        }
        sourced(field)?;
    }
    // a named CPU's instruction set and clock: both or neither, on a CPU profile with its cores
    let cpu = match (r.cpu_isa.as_deref().map(Isa::parse), r.cpu_ghz, r.cpu_cores) {
        (None, None, _) => None,
        (Some(Some(i)), Some(g), Some(n))
            if r.kind == DeviceKind::Cpu && (0.1..=10.0).contains(&g) =>
        {
            Some((i, g, n))
        }
        _ => return Err(err(CPU_FIELDS.into())),
    };
    if cpu.is_some() {
        sourced("cpu_isa")?;
    }
    if !(1.0..=20_000.0).contains(&r.bandwidth_gbs) {
        return Err(err(format!(
            "bandwidth_gbs {} is outside 1..=20000",
            r.bandwidth_gbs
        )));
    }
    let tf = |x: Option<f64>| x.map(FlopsPerSec::from_tflops);
    // a named CPU's peak, as `--cpu GBS,THREADS,ISA,GHZ` gives it: cores x FLOPs per cycle x clock
    let cpu_peak = cpu.map(|(i, g, n)| FlopsPerSec(cpu::peak_flops(n, i, g)));
    let spec = DeviceSpec {
        id: r.id.clone(),
        name: r.name.clone(),
        vendor: r.vendor.clone(),
        kind: r.kind,
        backend: r.backend,
        // a CPU's family is its instruction set where it is known, as `--cpu` gives one
        family: cpu.map_or_else(|| r.family.clone(), |c| c.0.name().into()),
        memory: r.memory_gib.map_or(Bytes::ZERO, Bytes::from_gib),
        bandwidth: BytesPerSec::from_gbs(r.bandwidth_gbs),
        fp16: tf(r.fp16_tflops),
        int8: tf(r.int8_tops),
        fp8: tf(r.fp8_tflops),
        fp32: tf(r.fp32_tflops).or(cpu_peak),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The 7950X's file with `edit` applied to its JSON.
    fn edited(edit: impl Fn(&mut serde_json::Value)) -> Result<HardwareEntry, DataError> {
        let text = include_str!("../../../data/hardware/ryzen-9-7950x.json");
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        edit(&mut v);
        parse("ryzen-9-7950x", &v.to_string())
    }

    #[test]
    fn a_named_cpu_gives_its_isa_clock_and_peak() {
        let e = edited(|_| {}).unwrap();
        assert_eq!(e.spec.family, "avx512");
        assert_eq!(e.record.family, "ddr5");
        // 16 cores x 64 FP32 FLOPs per cycle x 4.5 GHz, as `--cpu 83.2,16,avx512,4.5` gives it
        assert_eq!(e.spec.fp32, Some(FlopsPerSec(16.0 * 64.0 * 4.5e9)));
    }

    #[test]
    fn cpu_isa_and_clock_are_checked_and_sourced() {
        let problem = |edit: &dyn Fn(&mut serde_json::Value)| edited(edit).unwrap_err().problem;
        if cfg!(feature = "provenance") {
            assert_eq!(
                problem(&|v| {
                    v["sources"].as_object_mut().unwrap().remove("cpu_ghz");
                }),
                "`cpu_ghz` has no entry in `sources`"
            );
            assert_eq!(
                problem(&|v| {
                    v["sources"].as_object_mut().unwrap().remove("cpu_isa");
                }),
                "`cpu_isa` has no entry in `sources`"
            );
        }
        for edit in [
            &(|v: &mut serde_json::Value| v["cpu_isa"] = "sse4".into())
                as &dyn Fn(&mut serde_json::Value),
            &|v| {
                v.as_object_mut().unwrap().remove("cpu_ghz");
            },
            &|v| {
                v.as_object_mut().unwrap().remove("cpu_isa");
            },
            &|v| v["cpu_cores"] = serde_json::Value::Null,
            &|v| v["kind"] = "gpu".into(),
            &|v| v["cpu_ghz"] = 45.0.into(),
        ] {
            assert_eq!(problem(edit), CPU_FIELDS);
        }
    }
}
