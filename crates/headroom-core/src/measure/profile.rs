//! A calibration profile: the memory and speed corrections fitted to one device's records for one
//! runtime, checked before use, and applied to a fit report or to the shipped speed parameters.

use super::calibrate::MemoryCalibration;
use super::validate::Quantity;
use crate::memory::Breakdown;
use crate::model::limits::MAX_CTX;
use crate::plan::{fit, FitAnswer, FitReport, Scenario};
use crate::speed::calibrate::SpeedCalibration;
use crate::speed::cpu_least_squares::CpuSpeedParams;
use crate::speed::SpeedParams;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The version of the profile layout.
pub const PROFILE_SCHEMA: u32 = 1;

/// Largest memory offset a profile may carry, bytes (1 TiB).
const MAX_OFFSET_BYTES: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationProfile {
    #[serde(default = "schema_one")]
    pub schema: u32,
    /// Catalog id of the device the records were measured on.
    #[serde(default)]
    pub device: Option<String>,
    /// The runtime (`llama.cpp`, `vllm`, `mlx`, `transformers`).
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub memory: Option<MemoryCalibration>,
    #[serde(default)]
    pub speed: Option<SpeedCalibration>,
    /// The CPU speed fit (`speed::cpu_least_squares`) refitted on the records' CPU runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuSpeedParams>,
}

fn schema_one() -> u32 {
    PROFILE_SCHEMA
}

impl CalibrationProfile {
    /// Every number within range and the layout one this version reads.
    pub fn check(&self) -> Result<(), String> {
        if self.schema != PROFILE_SCHEMA {
            return Err(format!(
                "profile schema {} is not {PROFILE_SCHEMA}",
                self.schema
            ));
        }
        if let Some(m) = &self.memory {
            for c in &m.corrections {
                if !(c.scale.is_finite() && c.scale > 0.0 && c.scale <= 100.0) {
                    return Err(format!(
                        "memory {}: scale {} is out of range",
                        c.quantity.name(),
                        c.scale
                    ));
                }
                if !(c.offset_bytes.is_finite() && c.offset_bytes.abs() <= MAX_OFFSET_BYTES) {
                    return Err(format!(
                        "memory {}: offset {} bytes is out of range",
                        c.quantity.name(),
                        c.offset_bytes
                    ));
                }
                if !c.quantity.is_memory() {
                    return Err(format!(
                        "memory: {} is not a memory quantity",
                        c.quantity.name()
                    ));
                }
            }
        }
        if let Some(s) = &self.speed {
            s.check()?;
        }
        if let Some(c) = &self.cpu {
            c.check().map_err(|e| format!("cpu: {e}"))?;
        }
        Ok(())
    }

    /// Whether the profile was fitted on `device` for `runtime`; a profile that names neither is
    /// refused too, as nothing ties it to the scenario.
    pub fn matches(&self, device: &str, runtime: &str) -> Result<(), String> {
        let what = self.describe();
        match (&self.device, &self.runtime) {
            (Some(d), Some(r)) if d == device && r == runtime => Ok(()),
            _ => Err(format!(
                "the calibration profile is for {what}, not {device} with {runtime}"
            )),
        }
    }

    /// "rtx-4090 with llama.cpp".
    pub fn describe(&self) -> String {
        format!(
            "{} with {}",
            self.device.as_deref().unwrap_or("an unnamed device"),
            self.runtime.as_deref().unwrap_or("an unnamed runtime")
        )
    }

    /// The shipped speed parameters with the profile's groups in place.
    pub fn speed_params(&self, base: &SpeedParams) -> SpeedParams {
        let mut p = self.speed.as_ref().map_or(base.clone(), |s| s.apply(base));
        if let Some(c) = &self.cpu {
            p.cpu = Some(c.clone());
        }
        p
    }

    /// A fit report with the memory corrections applied to every device's breakdown: each of
    /// weights, KV cache, compute and output becomes `scale × predicted + offset`; the overhead
    /// takes the `overhead` correction. Totals, margins and the verdict follow; a `total_memory`
    /// correction is not applied (the parts are). A
    /// report that failed with every device fitting (host RAM) stays failed.
    pub fn apply_memory(&self, r: &FitReport) -> FitReport {
        let Some(m) = &self.memory else {
            return r.clone();
        };
        let fix = |b: &Breakdown| Breakdown {
            weights: corrected(m, Quantity::Weights, b.weights),
            kv_cache: corrected(m, Quantity::KvCache, b.kv_cache),
            compute: corrected(m, Quantity::Compute, b.compute),
            output: corrected(m, Quantity::Output, b.output),
            overhead: corrected(m, Quantity::Overhead, b.overhead),
            projector: b.projector,
        };
        let mut out = r.clone();
        let mut total = Breakdown::default();
        for d in &mut out.devices {
            d.breakdown = fix(&d.breakdown);
            d.total_bytes = d.breakdown.total();
            d.fits = d.total_bytes <= d.usable_bytes;
            total.add(&d.breakdown);
        }
        out.breakdown = total;
        out.total_bytes = total.total();
        out.margin_bytes = out.usable_bytes.0 as i64 - out.total_bytes.0 as i64;
        // a report that failed with every device fitting (host RAM) stays failed
        let other_reason = !r.fits && r.devices.iter().all(|d| d.fits);
        out.fits = !other_reason && !out.devices.is_empty() && out.devices.iter().all(|d| d.fits);
        out.warnings.push(format!(
            "calibration profile applied: memory corrected as measured on {}",
            self.describe()
        ));
        out
    }

    /// The largest context (a multiple of the runtime's granule, capped as `plan::max_context`
    /// caps it) whose corrected memory fits, by bisection; `None` when even the smallest does not.
    pub fn max_context(&self, s: &Scenario) -> Option<u32> {
        let granule = s.runtime.ctx_granule().max(1);
        let cap = if s.beyond_trained {
            MAX_CTX
        } else {
            s.model.n_ctx_train.max(1)
        };
        let fits_at = |n: u32| {
            let mut t = s.clone();
            t.runtime.set_n_ctx(n);
            self.apply_memory(&fit(&t)).fits
        };
        let lo_ctx = granule.min(cap);
        if !fits_at(lo_ctx) {
            return None;
        }
        if fits_at(cap) {
            return Some(cap);
        }
        // granule indices: `lo` fits, `hi` does not
        let (mut lo, mut hi) = (1u32, cap.div_ceil(granule));
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits_at((mid * granule).min(cap)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some((lo * granule).min(cap))
    }

    /// `fit`'s answer with the memory corrections applied to the report and the max context
    /// searched again under them; the per-cache-type contexts and the offload plan are left as the
    /// uncorrected model gives them.
    pub fn apply_to_answer(&self, s: &Scenario, a: &FitAnswer) -> FitAnswer {
        if self.memory.is_none() {
            return a.clone();
        }
        FitAnswer {
            report: self.apply_memory(&a.report),
            max_context: self.max_context(s),
            ..a.clone()
        }
    }
}

fn corrected(m: &MemoryCalibration, q: Quantity, b: Bytes) -> Bytes {
    let v = m.apply(q, b.0 as f64);
    Bytes(v.round().clamp(0.0, u64::MAX as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::calibrate::MemoryCorrection;
    use crate::plan::DeviceReport;

    fn correction(q: Quantity, scale: f64, offset_bytes: f64) -> MemoryCorrection {
        MemoryCorrection {
            quantity: q,
            scale,
            offset_bytes,
            n: 4,
            rmse_bytes: 0.0,
            median_abs_pct_before: 0.0,
            median_abs_pct_after: 0.0,
            loo_median_abs_pct: None,
            outliers: vec![],
        }
    }

    fn profile(corrections: Vec<MemoryCorrection>) -> CalibrationProfile {
        CalibrationProfile {
            schema: PROFILE_SCHEMA,
            device: Some("rtx-4090".into()),
            runtime: Some("llama.cpp".into()),
            memory: Some(MemoryCalibration {
                schema: 1,
                runtime: None,
                device: None,
                corrections,
                notes: vec![],
            }),
            speed: None,
            cpu: None,
        }
    }

    fn report(kv: u64, usable: u64) -> FitReport {
        let b = Breakdown {
            weights: Bytes(1000),
            kv_cache: Bytes(kv),
            compute: Bytes(100),
            output: Bytes(10),
            overhead: Bytes(0),
            projector: Bytes(0),
        };
        FitReport {
            model: "m".into(),
            quant: "q".into(),
            runtime: "llama.cpp".into(),
            n_ctx: 4096,
            total_bytes: b.total(),
            usable_bytes: Bytes(usable),
            fits: b.total().0 <= usable,
            margin_bytes: usable as i64 - b.total().0 as i64,
            breakdown: b,
            host_breakdown: Breakdown::default(),
            devices: vec![DeviceReport {
                id: "rtx-4090".into(),
                name: "RTX 4090".into(),
                usable_bytes: Bytes(usable),
                total_bytes: b.total(),
                breakdown: b,
                fits: b.total().0 <= usable,
            }],
            gpu_layers: None,
            kv_capacity: None,
            warnings: vec![],
        }
    }

    #[test]
    fn memory_corrections_move_the_verdict() {
        // KV × 1.5 + 50 bytes: 400 → 650, total 1510 → 1760 against 1700 usable.
        let p = profile(vec![correction(Quantity::KvCache, 1.5, 50.0)]);
        let r = p.apply_memory(&report(400, 1700));
        assert_eq!(r.devices[0].breakdown.kv_cache, Bytes(650));
        assert_eq!(r.total_bytes, Bytes(1760));
        assert_eq!(r.margin_bytes, -60);
        assert!(!r.fits);
        assert!(r.warnings[0].contains("rtx-4090 with llama.cpp"));
        // A smaller correction makes a report that did not fit fit.
        let p = profile(vec![correction(Quantity::Weights, 0.5, 0.0)]);
        let r = p.apply_memory(&report(700, 1700));
        assert!(r.fits && r.total_bytes == Bytes(1310));
    }

    #[test]
    fn a_profile_for_another_device_or_runtime_is_refused() {
        let p = profile(vec![]);
        assert!(p.matches("rtx-4090", "llama.cpp").is_ok());
        assert!(p
            .matches("rtx-3090", "llama.cpp")
            .unwrap_err()
            .contains("rtx-4090"));
        assert!(p.matches("rtx-4090", "vllm").is_err());
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        assert!(profile(vec![correction(Quantity::KvCache, 1.0, 0.0)])
            .check()
            .is_ok());
        for c in [
            correction(Quantity::KvCache, 0.0, 0.0),
            correction(Quantity::KvCache, 1e9, 0.0),
            correction(Quantity::KvCache, 1.0, 1e300),
            correction(Quantity::Decode, 1.0, 0.0),
        ] {
            assert!(profile(vec![c]).check().is_err());
        }
        let mut p = profile(vec![]);
        p.schema = 2;
        assert!(p.check().is_err());
    }
}
