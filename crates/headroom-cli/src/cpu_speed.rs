//! The CPU speed fit on a set of records: their CPU runs as fit rows, refitted, predicted by the
//! shipped and a profile's parameters, and left one architecture out; what `calibrate` writes into
//! a profile and `validate` reports.

use crate::record_scenario::{find_model, scenario_of, Overrides};
use headroom_core::measure::MeasurementRecord;
use headroom_core::speed::cpu::Isa;
use headroom_core::speed::cpu_least_squares::{self, CpuPhase, CpuRow, CpuSpeedParams};
use serde::Serialize;

/// The records' CPU runs as rows of the CPU fit, and the readings left out with why.
pub fn rows(records: &[MeasurementRecord], o: &Overrides) -> (Vec<CpuRow>, Vec<(String, String)>) {
    headroom_data::cpu_runs::cpu_rows(records, |r| Ok((scenario_of(r, o)?, find_model(r, o)?)))
}

/// The instruction set the rows ran with (the first row's; AVX-512 when none says).
pub fn isa(rows: &[CpuRow]) -> Isa {
    rows.iter()
        .find_map(|r| r.machine.isa)
        .unwrap_or(Isa::Avx512)
}

/// The CPU fit refitted on `rows`.
pub fn refit(rows: &[CpuRow], n_records: usize) -> CpuSpeedParams {
    let refs: Vec<&CpuRow> = rows.iter().collect();
    cpu_least_squares::fit(
        &refs,
        isa(rows),
        &[format!(
            "headroom calibrate: {} CPU llama-bench readings from {n_records} record(s)",
            rows.len()
        )],
    )
}

/// One phase's median |error| under each set of parameters.
#[derive(Debug, Serialize)]
pub struct PhaseErrors {
    pub phase: CpuPhase,
    pub n: usize,
    /// With the shipped parameters (`data/speed/llama-cpp-cpu.json`).
    pub shipped_median_abs_pct: Option<f64>,
    /// With the profile's (or the refit's, for `calibrate`).
    pub calibrated_median_abs_pct: Option<f64>,
    /// Refitted on the rows of the other architectures, predicting the left-out one's.
    pub leave_one_architecture_out_median_abs_pct: Option<f64>,
    pub architectures: usize,
}

/// The CPU rows' errors per phase.
pub fn errors(
    rows: &[CpuRow],
    shipped: Option<&CpuSpeedParams>,
    calibrated: Option<&CpuSpeedParams>,
) -> Vec<PhaseErrors> {
    let predict_all = |p: &CpuSpeedParams| -> Vec<(usize, f64)> {
        rows.iter()
            .enumerate()
            .filter_map(|(i, r)| cpu_least_squares::predict(p, r).map(|v| (i, v)))
            .collect()
    };
    let finite = |(m, n): (f64, usize)| (n > 0 && m.is_finite()).then_some(m);
    let shipped = shipped.map(predict_all);
    let calibrated = calibrated.map(predict_all);
    let mut archs: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
    archs.sort_unstable();
    archs.dedup();
    let loo = if archs.len() > 1 {
        cpu_least_squares::leave_one_out(rows, |r| r.model.clone(), isa(rows))
    } else {
        Vec::new()
    };
    [CpuPhase::Decode, CpuPhase::Prefill]
        .into_iter()
        .map(|phase| PhaseErrors {
            phase,
            n: rows.iter().filter(|r| r.phase == phase).count(),
            shipped_median_abs_pct: shipped
                .as_ref()
                .and_then(|p| finite(cpu_least_squares::mdape(rows, p, phase))),
            calibrated_median_abs_pct: calibrated
                .as_ref()
                .and_then(|p| finite(cpu_least_squares::mdape(rows, p, phase))),
            leave_one_architecture_out_median_abs_pct: finite(cpu_least_squares::mdape(
                rows, &loo, phase,
            )),
            architectures: archs.len(),
        })
        .filter(|e| e.n > 0)
        .collect()
}

/// The table `calibrate` and `validate` print.
pub fn table(errors: &[PhaseErrors], calibrated: &str) -> String {
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}%"));
    let rows: Vec<Vec<String>> = errors
        .iter()
        .map(|e| {
            vec![
                match e.phase {
                    CpuPhase::Decode => "decode".into(),
                    CpuPhase::Prefill => "prefill".into(),
                },
                e.n.to_string(),
                pct(e.shipped_median_abs_pct),
                pct(e.calibrated_median_abs_pct),
                format!(
                    "{} ({} architectures)",
                    pct(e.leave_one_architecture_out_median_abs_pct),
                    e.architectures
                ),
            ]
        })
        .collect();
    crate::render::table(
        &[
            "CPU speed",
            "n",
            "shipped median |err|",
            calibrated,
            "leave one architecture out",
        ],
        &rows,
    )
}
