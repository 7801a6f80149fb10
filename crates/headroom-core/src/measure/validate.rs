//! Validation: every measured quantity of every record next to its prediction, summarised per quantity
//! by the median and 90th percentile of the absolute percentage error, with the worst rows.

use super::record::{DeviceSlot, MeasurementRecord, SpeedKind};
use super::regression::{median, percentile};
use crate::memory::Breakdown;
use serde::{Deserialize, Serialize};

/// A quantity that is predicted and measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    Weights,
    KvCache,
    Compute,
    Output,
    /// What a process holds on a GPU beyond its buffers (the CUDA context and friends): NVML's
    /// process memory minus the buffers the runtime reported.
    Overhead,
    TotalMemory,
    /// Prompt processing, tokens per second.
    Prefill,
    /// Generation, tokens per second.
    Decode,
    /// Joules for the run.
    Energy,
}

impl Quantity {
    pub const ALL: [Quantity; 9] = [
        Quantity::Weights,
        Quantity::KvCache,
        Quantity::Compute,
        Quantity::Output,
        Quantity::Overhead,
        Quantity::TotalMemory,
        Quantity::Prefill,
        Quantity::Decode,
        Quantity::Energy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Quantity::Weights => "weights",
            Quantity::KvCache => "kv_cache",
            Quantity::Compute => "compute",
            Quantity::Output => "output",
            Quantity::Overhead => "overhead",
            Quantity::TotalMemory => "total_memory",
            Quantity::Prefill => "prefill",
            Quantity::Decode => "decode",
            Quantity::Energy => "energy",
        }
    }

    /// The unit values of this quantity are in.
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::Prefill | Quantity::Decode => "tok/s",
            Quantity::Energy => "J",
            _ => "B",
        }
    }

    pub fn is_memory(self) -> bool {
        matches!(
            self,
            Quantity::Weights
                | Quantity::KvCache
                | Quantity::Compute
                | Quantity::Output
                | Quantity::Overhead
                | Quantity::TotalMemory
        )
    }
}

/// One predicted-against-measured pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Which record and where (`row 12 qwen3-0.6b F16 n_ctx=4096 host`).
    pub label: String,
    pub quantity: Quantity,
    pub predicted: f64,
    pub measured: f64,
}

impl Observation {
    /// Signed error in percent of the measurement: positive when the prediction is too high.
    pub fn error_pct(&self) -> f64 {
        if self.measured == 0.0 {
            if self.predicted == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (self.predicted - self.measured) / self.measured * 100.0
        }
    }
}

/// The error summary of one quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantityError {
    pub quantity: Quantity,
    pub n: usize,
    pub median_abs_pct: f64,
    pub p90_abs_pct: f64,
    /// Median signed error: the bias.
    pub median_signed_pct: f64,
    /// The rows with the largest absolute error, worst first.
    pub worst: Vec<Observation>,
}

/// Everything a validation found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub quantities: Vec<QuantityError>,
    pub observations: Vec<Observation>,
    /// Records that could not be predicted, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl ValidationReport {
    pub fn quantity(&self, q: Quantity) -> Option<&QuantityError> {
        self.quantities.iter().find(|e| e.quantity == q)
    }
}

/// Summarises observations per quantity, keeping the `worst_n` worst rows of each.
pub fn summarize(
    observations: Vec<Observation>,
    skipped: Vec<(String, String)>,
    worst_n: usize,
) -> ValidationReport {
    let mut quantities = Vec::new();
    for q in Quantity::ALL {
        let mut rows: Vec<&Observation> = observations
            .iter()
            .filter(|o| o.quantity == q && o.error_pct().is_finite())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let abs: Vec<f64> = rows.iter().map(|o| o.error_pct().abs()).collect();
        let signed: Vec<f64> = rows.iter().map(|o| o.error_pct()).collect();
        rows.sort_by(|a, b| b.error_pct().abs().total_cmp(&a.error_pct().abs()));
        quantities.push(QuantityError {
            quantity: q,
            n: abs.len(),
            median_abs_pct: median(&abs),
            p90_abs_pct: percentile(&abs, 90.0),
            median_signed_pct: median(&signed),
            worst: rows.into_iter().take(worst_n).cloned().collect(),
        });
    }
    ValidationReport {
        quantities,
        observations,
        skipped,
    }
}

/// The memory a record measured, per device slot and quantity (bytes). The total is the runtime's
/// own "self" figure where it printed one, else NVML's peak for the command's processes on that
/// GPU, else the sum of weights, KV and compute when all three are present. Where NVML's process
/// peak and the runtime's weights, KV and compute are all known, their difference is the overhead.
pub fn measured_memory(r: &MeasurementRecord) -> Vec<(DeviceSlot, Quantity, f64)> {
    let mut out = Vec::new();
    for (slot, m) in r.memory_by_slot() {
        let mut push = |q: Quantity, v: Option<crate::units::Bytes>| {
            if let Some(v) = v {
                out.push((slot, q, v.0 as f64));
            }
        };
        push(Quantity::Weights, m.weights);
        push(Quantity::KvCache, m.kv_cache);
        push(Quantity::Compute, m.compute);
        push(Quantity::Output, m.output);
        let complete = m.weights.is_some() && m.kv_cache.is_some() && m.compute.is_some();
        let peak = process_peak(r, slot);
        if let (true, Some(p), Some(parts)) = (complete, peak, m.sum_of_parts()) {
            if p.0 >= parts.0 {
                push(Quantity::Overhead, Some(crate::units::Bytes(p.0 - parts.0)));
            }
        }
        let total = peak
            .or(m.total)
            .or_else(|| complete.then(|| m.sum_of_parts()).flatten());
        push(Quantity::TotalMemory, total);
    }
    out
}

/// NVML's peak memory for the command's processes on the GPU a slot names.
pub fn process_peak(r: &MeasurementRecord, slot: DeviceSlot) -> Option<crate::units::Bytes> {
    match slot {
        DeviceSlot::Gpu(i) => r
            .gpus
            .iter()
            .find(|g| g.device.index == Some(i))
            .and_then(|g| g.process_memory_peak),
        DeviceSlot::Host => None,
    }
}

/// The same quantities from a predicted breakdown. A runtime's own totals leave out the backend's
/// context; NVML's process memory (`with_overhead`) includes it.
pub fn predicted_memory(b: &Breakdown, with_overhead: bool) -> Vec<(Quantity, f64)> {
    let mut total = b.weights + b.kv_cache + b.compute + b.output;
    if with_overhead {
        total += b.overhead;
    }
    vec![
        (Quantity::Weights, b.weights.0 as f64),
        (Quantity::KvCache, b.kv_cache.0 as f64),
        (Quantity::Compute, b.compute.0 as f64),
        (Quantity::Output, b.output.0 as f64),
        (Quantity::Overhead, b.overhead.0 as f64),
        (Quantity::TotalMemory, total.0 as f64),
    ]
}

/// A short label naming a record: its source line, model, quant and context.
pub fn record_label(index: usize, r: &MeasurementRecord) -> String {
    let mut s = match r.source.line {
        Some(l) => format!("line {l}"),
        None => format!("record {}", index + 1),
    };
    for part in [&r.model, &r.quant].into_iter().flatten() {
        s.push(' ');
        s.push_str(part);
    }
    if let Some(c) = r.settings.n_ctx {
        s.push_str(&format!(" n_ctx={c}"));
    }
    s
}

/// Compares every record's memory with a prediction. `predict` returns one breakdown per device slot
/// it places memory on, or why the record cannot be predicted.
pub fn compare_memory<F>(
    records: &[MeasurementRecord],
    mut predict: F,
    worst_n: usize,
) -> ValidationReport
where
    F: FnMut(&MeasurementRecord) -> Result<Vec<(DeviceSlot, Breakdown)>, String>,
{
    let mut observations = Vec::new();
    let mut skipped = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let measured = measured_memory(r);
        if measured.is_empty() {
            continue;
        }
        let label = record_label(i, r);
        let predicted = match predict(r) {
            Ok(p) => p,
            Err(why) => {
                skipped.push((label, why));
                continue;
            }
        };
        for (slot, q, m) in measured {
            let Some((_, b)) = predicted.iter().find(|(s, _)| *s == slot) else {
                skipped.push((
                    format!("{label} {slot:?}"),
                    "no prediction for this device".into(),
                ));
                continue;
            };
            let with_overhead = process_peak(r, slot).is_some();
            let Some((_, p)) = predicted_memory(b, with_overhead)
                .into_iter()
                .find(|(pq, _)| *pq == q)
            else {
                continue;
            };
            let where_ = match slot {
                DeviceSlot::Gpu(g) => format!("gpu{g}"),
                DeviceSlot::Host => "host".into(),
            };
            observations.push(Observation {
                label: format!("{label} {where_}"),
                quantity: q,
                predicted: p,
                measured: m,
            });
        }
    }
    summarize(observations, skipped, worst_n)
}

/// The speed readings of a record as (quantity, n_prompt, n_gen, depth, tokens/s).
pub fn measured_speed(r: &MeasurementRecord) -> Vec<(Quantity, u32, u32, u32, f64)> {
    r.speed
        .iter()
        .filter_map(|s| {
            let q = match s.kind {
                SpeedKind::Prefill => Quantity::Prefill,
                SpeedKind::Decode => Quantity::Decode,
                SpeedKind::PrefillDecode => return None,
            };
            Some((q, s.n_prompt, s.n_gen, s.depth, s.tokens_per_sec))
        })
        .collect()
}

/// Compares every speed reading with a prediction of tokens per second (`None`: not predicted).
pub fn compare_speed<F>(
    records: &[MeasurementRecord],
    mut predict: F,
    worst_n: usize,
) -> ValidationReport
where
    F: FnMut(&MeasurementRecord, Quantity, u32, u32, u32) -> Result<f64, String>,
{
    let mut observations = Vec::new();
    let mut skipped = Vec::new();
    for (i, r) in records.iter().enumerate() {
        for (q, n_prompt, n_gen, depth, measured) in measured_speed(r) {
            let label = format!(
                "{} {}{}{}",
                record_label(i, r),
                if q == Quantity::Prefill { "pp" } else { "tg" },
                if q == Quantity::Prefill {
                    n_prompt
                } else {
                    n_gen
                },
                if depth > 0 {
                    format!(" @ d{depth}")
                } else {
                    String::new()
                }
            );
            match predict(r, q, n_prompt, n_gen, depth) {
                Ok(p) => observations.push(Observation {
                    label,
                    quantity: q,
                    predicted: p,
                    measured,
                }),
                Err(why) => skipped.push((label, why)),
            }
        }
    }
    summarize(observations, skipped, worst_n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::SourceKind;
    use crate::units::Bytes;

    fn obs(q: Quantity, p: f64, m: f64) -> Observation {
        Observation {
            label: format!("{p}/{m}"),
            quantity: q,
            predicted: p,
            measured: m,
        }
    }

    #[test]
    fn summary_takes_median_p90_and_worst() {
        // errors +10%, -20%, +30%, 0%, +50% → abs 0,10,20,30,50: median 20, p90 = 30 + 0.6*20 = 42.
        let o = vec![
            obs(Quantity::Weights, 110.0, 100.0),
            obs(Quantity::Weights, 80.0, 100.0),
            obs(Quantity::Weights, 130.0, 100.0),
            obs(Quantity::Weights, 100.0, 100.0),
            obs(Quantity::Weights, 150.0, 100.0),
            obs(Quantity::Decode, 9.0, 10.0),
        ];
        let r = summarize(o, vec![], 2);
        let w = r.quantity(Quantity::Weights).unwrap();
        assert_eq!(w.n, 5);
        assert!((w.median_abs_pct - 20.0).abs() < 1e-9);
        assert!((w.p90_abs_pct - 42.0).abs() < 1e-9);
        assert!((w.median_signed_pct - 10.0).abs() < 1e-9);
        assert_eq!(w.worst.len(), 2);
        assert_eq!(w.worst[0].predicted, 150.0);
        let d = r.quantity(Quantity::Decode).unwrap();
        assert!((d.median_signed_pct + 10.0).abs() < 1e-9);
        assert!(r.quantity(Quantity::Energy).is_none());
    }

    #[test]
    fn memory_comparison_matches_slots() {
        let mut r = MeasurementRecord::new(SourceKind::LlamaCppLog);
        r.memory_on("CUDA0").weights = Some(Bytes(1000));
        r.memory_on("CUDA0").kv_cache = Some(Bytes(200));
        r.memory_on("CPU").weights = Some(Bytes(50));
        let report = compare_memory(
            &[r],
            |_| {
                Ok(vec![
                    (
                        DeviceSlot::Gpu(0),
                        Breakdown {
                            weights: Bytes(1100),
                            kv_cache: Bytes(200),
                            ..Breakdown::default()
                        },
                    ),
                    (
                        DeviceSlot::Host,
                        Breakdown {
                            weights: Bytes(50),
                            ..Breakdown::default()
                        },
                    ),
                ])
            },
            3,
        );
        let w = report.quantity(Quantity::Weights).unwrap();
        assert_eq!(w.n, 2);
        assert!((w.worst[0].error_pct() - 10.0).abs() < 1e-9);
        assert_eq!(
            report.quantity(Quantity::KvCache).unwrap().median_abs_pct,
            0.0
        );
        // No compute reading: no total either.
        assert!(report.quantity(Quantity::TotalMemory).is_none());
    }

    #[test]
    fn unpredictable_records_are_listed_not_dropped() {
        let mut r = MeasurementRecord::new(SourceKind::LlamaCppLog);
        r.memory_on("CUDA0").weights = Some(Bytes(1));
        let report = compare_memory(&[r], |_| Err("model unknown".into()), 3);
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].1, "model unknown");
    }
}

#[cfg(test)]
mod overhead_tests {
    use super::*;
    use crate::measure::record::{DeviceInfo, GpuSummary, SourceKind};
    use crate::units::Bytes;

    #[test]
    fn nvml_process_peak_gives_total_and_overhead() {
        // A measured run: the runtime printed 1000 + 200 + 50 MiB on CUDA0, NVML saw the
        // command's processes peak at 1500 MiB on GPU 0: 250 MiB beyond the buffers.
        let mib = |m: u64| Bytes(m << 20);
        let mut r = MeasurementRecord::new(SourceKind::Nvml);
        let m = r.memory_on("CUDA0");
        m.weights = Some(mib(1000));
        m.kv_cache = Some(mib(200));
        m.compute = Some(mib(50));
        r.gpus.push(GpuSummary {
            device: DeviceInfo {
                name: "gpu".into(),
                index: Some(0),
                ..DeviceInfo::default()
            },
            process_memory_peak: Some(mib(1500)),
            ..GpuSummary::default()
        });
        let got = measured_memory(&r);
        let find = |q| got.iter().find(|(_, qq, _)| *qq == q).map(|(_, _, v)| *v);
        assert_eq!(find(Quantity::Overhead), Some((250u64 << 20) as f64));
        assert_eq!(find(Quantity::TotalMemory), Some((1500u64 << 20) as f64));
        // The prediction's total for an NVML record includes the predicted overhead.
        let b = Breakdown {
            weights: mib(1000),
            kv_cache: mib(200),
            compute: mib(50),
            output: Bytes::ZERO,
            overhead: mib(240),
            projector: Bytes::ZERO,
        };
        let p = predicted_memory(&b, true);
        let total = p
            .iter()
            .find(|(q, _)| *q == Quantity::TotalMemory)
            .unwrap()
            .1;
        assert_eq!(total, (1490u64 << 20) as f64);
    }
}
