//! `headroom validate RECORDS...`: every record's memory predicted and compared, per quantity, with
//! the median and 90th-percentile error, the worst rows, the leave-one-out error of a fitted memory
//! correction, and an SVG plot of predicted against measured.

use crate::import_cmd::read_records;
use crate::record_scenario::{predict_memory, Overrides};
use anyhow::Result;
use clap::Args;
use headroom_core::measure::calibrate::calibrate_memory;
use headroom_core::measure::plot::scatter_svg;
use headroom_core::measure::validate::{
    compare_memory, compare_speed, summarize, ValidationReport,
};
use headroom_core::measure::{MeasurementRecord, MemoryCalibration, Quantity};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Record files (`.jsonl` from measure or import) or any file `import` reads, such as the
    /// validation CSVs.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub format: Option<String>,
    /// The catalog model for every record (else the one each record names).
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// The catalog hardware for every record (else the device each record names).
    #[arg(long)]
    pub hardware: Option<String>,
    /// Device memory in GiB, for hardware without a fixed size (a CPU profile).
    #[arg(long)]
    pub memory: Option<f64>,
    /// Rows to list per quantity.
    #[arg(long, default_value_t = 5)]
    pub worst: usize,
    /// Write the plot of predicted against measured here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Apply this calibration profile's memory corrections to the predictions.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// The llama.cpp build era whose speed fit predicts llama.cpp records: `current` or `2024`
    /// (the May 2024 builds of the public llama-bench tables).
    #[arg(long, default_value = "current", value_parser = clap::builder::PossibleValuesParser::new(headroom_data::LLAMA_CPP_ERAS))]
    pub llama_cpp_era: String,
    #[arg(long)]
    pub json: bool,
}

pub fn memory_report(
    records: &[MeasurementRecord],
    o: &Overrides,
    worst: usize,
    cal: Option<&MemoryCalibration>,
) -> ValidationReport {
    let rep = compare_memory(records, |r| predict_memory(r, o), worst);
    match cal {
        None => rep,
        Some(c) => {
            let obs = rep
                .observations
                .into_iter()
                .map(|mut ob| {
                    ob.predicted = c.apply(ob.quantity, ob.predicted);
                    ob
                })
                .collect();
            summarize(obs, rep.skipped, worst)
        }
    }
}

fn fmt_value(q: Quantity, v: f64) -> String {
    if q.is_memory() {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else {
        format!("{v:.2} {}", q.unit())
    }
}

/// Speed records of runs on CPU threads that name no measured CPU (`cpu`), when no --hardware
/// stands in for them.
fn cpu_runs_without_numbers(records: &[MeasurementRecord], o: &Overrides) -> usize {
    if o.hardware.is_some() {
        return 0;
    }
    records
        .iter()
        .filter(|r| !r.speed.is_empty() && r.cpu.is_none())
        .filter(|r| {
            r.backend
                .as_deref()
                .is_some_and(|b| b.eq_ignore_ascii_case("cpu"))
        })
        .count()
}

pub fn run(a: &ValidateArgs) -> Result<String> {
    let records = read_records(&a.files, a.format.as_deref())?;
    let o = Overrides {
        model: a.model.clone(),
        hardware: a.hardware.clone(),
        memory_gib: a.memory,
    };
    let profile = match &a.calibration {
        Some(p) => Some(crate::calibration::read_profile(p)?),
        None => None,
    };
    let cal = profile.as_ref().and_then(|p| p.memory.clone());
    let unmeasured_cpus = cpu_runs_without_numbers(&records, &o);
    let rep = memory_report(&records, &o, a.worst, cal.as_ref());
    let loo = calibrate_memory(&rep.observations, None, None);
    if let Some(svg) = &a.svg {
        let title = format!(
            "predicted vs measured memory ({} comparisons)",
            rep.observations.len()
        );
        headroom_nvml::atomic::write_atomic(
            svg,
            scatter_svg(&title, &rep.observations).as_bytes(),
        )?;
    }
    let speed = compare_speed(
        &records,
        |r, q, n_prompt, n_gen, depth| match &profile {
            None => crate::speed_cmd::predict_record_speed_in_era(
                r,
                &o,
                q,
                n_prompt,
                n_gen,
                depth,
                &a.llama_cpp_era,
            ),
            Some(p) => {
                let s = crate::record_scenario::scenario_of(r, &o)?;
                let params =
                    crate::calibration::speed_params(&s, Some(p)).map_err(|e| e.to_string())?;
                crate::calibration::predict_record_speed_with(
                    r, &o, &params, q, n_prompt, n_gen, depth,
                )
            }
        },
        a.worst,
    );
    // The CPU runs: the shipped CPU fit, the profile's, and a refit on these records leaving one
    // architecture out; memory before and after the profile's corrections.
    let (cpu_rows, cpu_skipped) = crate::cpu_speed::rows(&records, &o);
    let cpu_errors = (!cpu_rows.is_empty()).then(|| {
        let shipped = headroom_data::speed_params_for("llama.cpp")
            .ok()
            .and_then(|p| p.cpu.as_ref());
        crate::cpu_speed::errors(
            &cpu_rows,
            shipped,
            profile.as_ref().and_then(|p| p.cpu.as_ref()),
        )
    });
    let memory_before = cal
        .is_some()
        .then(|| memory_report(&records, &o, 0, None).quantities);
    if a.json {
        let v = serde_json::json!({
            "records": records.len(),
            "memory": rep,
            "memory_before_calibration": memory_before,
            "leave_one_out": loo,
            "speed": speed,
            "cpu_speed": cpu_errors,
            "cpu_speed_not_used": cpu_skipped,
            "cpu_runs_without_numbers": unmeasured_cpus,
        });
        return Ok(serde_json::to_string_pretty(&v)? + "\n");
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} record(s); {} memory comparison(s); {} record(s) not predicted",
        records.len(),
        rep.observations.len(),
        rep.skipped.len()
    );
    let mut rows = Vec::new();
    let before_of = |q: Quantity| {
        memory_before
            .as_ref()
            .and_then(|b| b.iter().find(|e| e.quantity == q))
            .map_or("-".into(), |e| format!("{:.1}%", e.median_abs_pct))
    };
    for e in &rep.quantities {
        let l = loo
            .corrections
            .iter()
            .find(|c| c.quantity == e.quantity)
            .and_then(|c| c.loo_median_abs_pct)
            .map_or("-".into(), |v| format!("{v:.1}%"));
        let mut row = vec![e.quantity.name().to_string(), e.n.to_string()];
        if memory_before.is_some() {
            row.push(before_of(e.quantity));
        }
        row.extend([
            format!("{:.1}%", e.median_abs_pct),
            format!("{:.1}%", e.p90_abs_pct),
            format!("{:+.1}%", e.median_signed_pct),
            l,
        ]);
        rows.push(row);
    }
    let mut head = vec!["quantity", "n"];
    if memory_before.is_some() {
        head.push("before calibration");
    }
    head.extend([
        "median |err|",
        "p90 |err|",
        "bias",
        "corrected, leave-one-out",
    ]);
    s.push_str(&crate::render::table(&head, &rows));
    for e in &rep.quantities {
        if e.worst.is_empty() {
            continue;
        }
        let _ = writeln!(s, "worst {}:", e.quantity.name());
        for w in &e.worst {
            let _ = writeln!(
                s,
                "  {}: predicted {}, measured {} ({:+.1}%)",
                w.label,
                fmt_value(w.quantity, w.predicted),
                fmt_value(w.quantity, w.measured),
                w.error_pct()
            );
        }
    }
    if !rep.skipped.is_empty() {
        let _ = writeln!(s, "not predicted:");
        for (label, why) in rep.skipped.iter().take(10) {
            let _ = writeln!(s, "  {label}: {why}");
        }
        if rep.skipped.len() > 10 {
            let _ = writeln!(s, "  … and {} more", rep.skipped.len() - 10);
        }
    }
    if !speed.observations.is_empty() || !speed.skipped.is_empty() {
        let _ = writeln!(
            s,
            "{} speed comparison(s); {} not predicted",
            speed.observations.len(),
            speed.skipped.len()
        );
        if unmeasured_cpus > 0 {
            let _ = writeln!(
                s,
                "  {unmeasured_cpus} CPU run(s) carry no measured CPU numbers (`cpu`: bandwidth, \
                 threads): each is predicted on the whole bandwidth of the catalog profile it names, \
                 not the share it ran with, so its speed error says little (give --hardware, or \
                 re-measure with the harness)"
            );
        }
        let rows: Vec<Vec<String>> = speed
            .quantities
            .iter()
            .map(|e| {
                vec![
                    e.quantity.name().to_string(),
                    e.n.to_string(),
                    format!("{:.1}%", e.median_abs_pct),
                    format!("{:.1}%", e.p90_abs_pct),
                    format!("{:+.1}%", e.median_signed_pct),
                ]
            })
            .collect();
        s.push_str(&crate::render::table(
            &["quantity", "n", "median |err|", "p90 |err|", "bias"],
            &rows,
        ));
        for e in &speed.quantities {
            for w in &e.worst {
                let _ = writeln!(
                    s,
                    "  {}: predicted {}, measured {} ({:+.1}%)",
                    w.label,
                    fmt_value(w.quantity, w.predicted),
                    fmt_value(w.quantity, w.measured),
                    w.error_pct()
                );
            }
        }
    }
    if let Some(e) = &cpu_errors {
        let _ = writeln!(
            s,
            "{} CPU speed reading(s) in the CPU fit; {} left out",
            cpu_rows.len(),
            cpu_skipped.len()
        );
        s.push_str(&crate::cpu_speed::table(
            e,
            if profile.as_ref().is_some_and(|p| p.cpu.is_some()) {
                "calibrated median |err|"
            } else {
                "calibrated (no profile)"
            },
        ));
    }
    if let Some(svg) = &a.svg {
        let _ = writeln!(s, "plot written to {}", svg.display());
    }
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(p: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/"
        ))
        .join(p)
    }

    #[test]
    fn memory_measurements_validate_as_they_are() {
        // memory_measurements.csv read as it is: llama.cpp's own buffer sizes for Llama-3-8B
        // Q4_K_M (CUDA and Metal) and the Llama-2 "total VRAM used" lines.
        let records = read_records(&[fixture("validation/memory_measurements.csv")], None).unwrap();
        let o = Overrides {
            hardware: Some("rtx-4090".into()),
            ..Overrides::default()
        };
        let rep = memory_report(&records, &o, 3, None);
        for q in [Quantity::Weights, Quantity::KvCache, Quantity::Compute] {
            let e = rep.quantity(q).unwrap();
            assert!(e.n >= 3, "{q:?}");
            // The same tolerances tests/tests/memory_validation.rs holds the model to.
            let limit = if q == Quantity::Compute { 10.0 } else { 1.0 };
            assert!(e.p90_abs_pct <= limit, "{q:?}: {e:?}");
        }
        // `LLaMA-1 7B` and `LLaMA-1 13B` name catalog models (llama-1-7b, llama-1-13b from
        // huggyllama/llama-7b, -13b), so their rows are validated, not skipped.
        assert!(
            !rep.skipped.iter().any(|(_, why)| why.contains("LLaMA-1")),
            "{:?}",
            rep.skipped
        );
        let svg = scatter_svg("t", &rep.observations);
        assert_eq!(
            svg.matches("<circle cx").count(),
            rep.observations.len() + rep.quantities.len()
        );
    }

    #[test]
    fn a_calibration_profile_applies() {
        let records =
            read_records(&[fixture("import/llama_cpp/pr6122_two_gpus.txt")], None).unwrap();
        let mut cal = calibrate_memory(&[], None, None);
        cal.corrections
            .push(headroom_core::measure::MemoryCorrection {
                quantity: Quantity::KvCache,
                scale: 2.0,
                offset_bytes: 0.0,
                n: 2,
                rmse_bytes: 0.0,
                median_abs_pct_before: 0.0,
                median_abs_pct_after: 0.0,
                loo_median_abs_pct: None,
                outliers: vec![],
            });
        // The log names no catalog model: every record is listed as not predicted either way.
        let o = Overrides::default();
        let plain = memory_report(&records, &o, 1, None);
        let corrected = memory_report(&records, &o, 1, Some(&cal));
        assert_eq!(plain.skipped.len(), corrected.skipped.len());
        // With a model and hardware given, the KV prediction doubles.
        let o = Overrides {
            model: Some("qwen2.5-14b".into()),
            hardware: Some("rtx-4090".into()),
            ..Overrides::default()
        };
        let plain = memory_report(&records, &o, 1, None);
        let corrected = memory_report(&records, &o, 1, Some(&cal));
        let kv = |r: &ValidationReport| {
            r.observations
                .iter()
                .filter(|o| o.quantity == Quantity::KvCache)
                .map(|o| o.predicted)
                .sum::<f64>()
        };
        assert!(kv(&plain) > 0.0);
        assert!((kv(&corrected) - 2.0 * kv(&plain)).abs() < 1.0);
    }
}
