//! `headroom calibrate RECORDS...`: fits a memory correction per quantity (robust least squares)
//! and the speed group of the records' device (on top of the shipped parameters), reports the fit
//! quality and writes a calibration profile.

use crate::import_cmd::read_records;
use crate::record_scenario::Overrides;
use crate::validate_cmd::memory_report;
use anyhow::{bail, Result};
use clap::Args;
use headroom_core::measure::validate::{measured_speed, record_label};
use headroom_core::measure::PROFILE_SCHEMA;
use headroom_core::measure::{calibrate_memory, CalibrationProfile, MeasurementRecord, Quantity};
use headroom_core::speed::calibrate::{calibrate_speed, SpeedCalibration};
use headroom_core::speed::least_squares::{observe, BenchTest, Observation, Phase};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub format: Option<String>,
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    #[arg(long)]
    pub hardware: Option<String>,
    /// Device memory in GiB, for hardware without a fixed size (a CPU profile).
    #[arg(long)]
    pub memory: Option<f64>,
    /// Where the profile is written.
    #[arg(long, short = 'o', default_value = "headroom-calibration.json")]
    pub out: PathBuf,
}

/// The one value every record agrees on, if they do.
fn common(values: impl Iterator<Item = Option<String>>) -> Option<String> {
    let mut first: Option<String> = None;
    for v in values {
        let v = v?;
        match &first {
            None => first = Some(v),
            Some(f) if *f != v => return None,
            _ => {}
        }
    }
    first
}

/// Every speed reading of the records as a fit observation, with the rows that could not be used.
pub fn speed_observations(
    records: &[MeasurementRecord],
    o: &Overrides,
) -> (Vec<Observation>, Vec<(String, String)>) {
    let mut obs = Vec::new();
    let mut skipped = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let readings = measured_speed(r);
        if readings.is_empty() {
            continue;
        }
        let label = record_label(i, r);
        let s = match crate::record_scenario::scenario_of(r, o) {
            Ok(s) => s,
            Err(why) => {
                skipped.push((label, why));
                continue;
            }
        };
        for (q, n_prompt, n_gen, depth, tok_s) in readings {
            let (phase, tokens, tag) = if q == Quantity::Prefill {
                (Phase::Prefill, n_prompt, "pp")
            } else {
                (Phase::Decode, n_gen, "tg")
            };
            let test = BenchTest {
                phase,
                tokens: tokens.max(1),
                depth,
            };
            let l = format!(
                "{label} {tag}{tokens}{}",
                if depth > 0 {
                    format!("@d{depth}")
                } else {
                    String::new()
                }
            );
            match observe(&s, crate::calibration::device_id(&s), test, tok_s, &l) {
                Some(ob) => obs.push(ob),
                None => skipped.push((l, "not all on one kind of GPU, or no compute rate".into())),
            }
        }
    }
    (obs, skipped)
}

/// The (device, runtime) every record's scenario names; records from several are refused.
fn device_and_runtime(
    records: &[MeasurementRecord],
    o: &Overrides,
) -> Result<(Option<String>, Option<String>)> {
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    for r in records {
        if let Ok(s) = crate::record_scenario::scenario_of(r, o) {
            pairs.insert((
                crate::calibration::device_id(&s).to_string(),
                s.runtime.name().to_string(),
            ));
        }
    }
    if pairs.len() > 1 {
        let names: Vec<String> = pairs.iter().map(|(d, r)| format!("{d} with {r}")).collect();
        bail!(
            "the records are from {} device/runtime pairs ({}); calibrate one at a time (or give --hardware)",
            pairs.len(),
            names.join(", ")
        );
    }
    Ok(match pairs.into_iter().next() {
        Some((d, r)) => (Some(d), Some(r)),
        None => (
            o.hardware.clone().or_else(|| {
                common(
                    records
                        .iter()
                        .map(|r| r.devices.first().map(|d| d.name.clone())),
                )
            }),
            common(records.iter().map(|r| r.runtime.clone())),
        ),
    })
}

/// The profile the records make: memory corrections, and the speed groups of their device.
pub fn profile(
    records: &[MeasurementRecord],
    o: &Overrides,
) -> Result<(CalibrationProfile, usize, usize)> {
    let rep = memory_report(records, o, 0, None);
    let (device, runtime) = device_and_runtime(records, o)?;
    let cal = calibrate_memory(&rep.observations, runtime.clone(), device.clone());
    let (obs, _) = speed_observations(records, o);
    let speed: Option<SpeedCalibration> = match (&runtime, obs.is_empty()) {
        (Some(rt), false) => {
            let base = headroom_data::speed_params_for(rt)?;
            Some(calibrate_speed(base, &obs))
        }
        _ => None,
    };
    let (cpu_rows, _) = crate::cpu_speed::rows(records, o);
    let cpu = (!cpu_rows.is_empty()).then(|| crate::cpu_speed::refit(&cpu_rows, records.len()));
    let n_speed = obs.len() + cpu_rows.len();
    Ok((
        CalibrationProfile {
            schema: PROFILE_SCHEMA,
            device,
            runtime,
            memory: Some(cal),
            speed,
            cpu,
        },
        rep.observations.len(),
        n_speed,
    ))
}

pub fn run(a: &CalibrateArgs) -> Result<String> {
    let records = read_records(&a.files, a.format.as_deref())?;
    let o = Overrides {
        model: a.model.clone(),
        hardware: a.hardware.clone(),
        memory_gib: a.memory,
    };
    let (profile, n_memory, n_speed) = profile(&records, &o)?;
    headroom_nvml::atomic::write_atomic(
        &a.out,
        (serde_json::to_string_pretty(&profile)? + "\n").as_bytes(),
    )?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} record(s), {} memory comparison(s), {} speed reading(s); profile for {} written to {}",
        records.len(),
        n_memory,
        n_speed,
        profile.describe(),
        a.out.display()
    );
    let empty = Vec::new();
    let corrections = profile.memory.as_ref().map_or(&empty, |m| &m.corrections);
    let rows: Vec<Vec<String>> = corrections
        .iter()
        .map(|c| {
            vec![
                c.quantity.name().to_string(),
                c.n.to_string(),
                format!("{:.4}", c.scale),
                format!("{:+.1}", c.offset_bytes / (1024.0 * 1024.0)),
                format!("{:.1}", c.rmse_bytes / (1024.0 * 1024.0)),
                format!("{:.1}%", c.median_abs_pct_before),
                format!("{:.1}%", c.median_abs_pct_after),
                c.loo_median_abs_pct
                    .map_or("-".into(), |v| format!("{v:.1}%")),
                c.outliers.len().to_string(),
            ]
        })
        .collect();
    s.push_str(&crate::render::table(
        &[
            "quantity",
            "n",
            "scale",
            "offset MiB",
            "rmse MiB",
            "before",
            "after",
            "leave-one-out",
            "outliers",
        ],
        &rows,
    ));
    if let Some(m) = &profile.memory {
        for n in &m.notes {
            let _ = writeln!(s, "{n}");
        }
    }
    if corrections.is_empty() {
        let _ = writeln!(
            s,
            "no memory quantity had two or more comparisons: no memory correction was fitted"
        );
    }
    if let Some(fit) = &profile.cpu {
        let (rows, skipped) = crate::cpu_speed::rows(&records, &o);
        let shipped = headroom_data::speed_params_for("llama.cpp")?.cpu.as_ref();
        let errors = crate::cpu_speed::errors(&rows, shipped, Some(fit));
        s.push_str(&crate::cpu_speed::table(&errors, "refitted median |err|"));
        if !skipped.is_empty() {
            let _ = writeln!(
                s,
                "{} CPU reading(s) left out of the CPU fit:",
                skipped.len()
            );
            for (l, why) in skipped.iter().take(5) {
                let _ = writeln!(s, "  {l}: {why}");
            }
        }
    }
    match &profile.speed {
        Some(sp) => {
            let rows: Vec<Vec<String>> = sp
                .fits
                .iter()
                .map(|f| {
                    vec![
                        f.key.label(),
                        match f.phase {
                            Phase::Decode => "decode".into(),
                            Phase::Prefill => "prefill".into(),
                        },
                        f.n.to_string(),
                        format!(
                            "{:.1}% / {:.1}%",
                            f.median_abs_pct_before, f.p90_abs_pct_before
                        ),
                        format!(
                            "{:.1}% / {:.1}%",
                            f.median_abs_pct_after, f.p90_abs_pct_after
                        ),
                        f.loo_median_abs_pct
                            .map_or("-".into(), |v| format!("{v:.1}%")),
                        f.outliers.join("; "),
                    ]
                })
                .collect();
            s.push_str(&crate::render::table(
                &[
                    "speed group",
                    "phase",
                    "n",
                    "before (median / p90)",
                    "after",
                    "leave-one-out",
                    "outliers",
                ],
                &rows,
            ));
        }
        None if profile.cpu.is_none() => {
            let _ = writeln!(s, "no usable speed reading: no speed group was fitted");
        }
        None => {}
    }
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calibration::{predict_record_speed_with, read_profile, speed_params};
    use headroom_core::measure::regression::median;
    use headroom_core::speed::least_squares::predict_observation;
    use headroom_core::Bytes;
    use std::path::PathBuf;

    fn fixture(p: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/"
        ))
        .join(p)
    }

    /// The validation CSV's llama-bench rows of one RTX 3090 (XiongjieDai/GPU-Benchmarks-on-LLM-Inference).
    fn rtx3090_rows() -> Vec<MeasurementRecord> {
        read_records(&[fixture("validation/gpu_llm_bench.csv")], None)
            .unwrap()
            .into_iter()
            .filter(|r| {
                r.devices.first().is_some_and(|d| d.name == "3090")
                    && r.settings.n_devices == Some(1)
            })
            .collect()
    }

    fn abs_pct(p: f64, m: f64) -> f64 {
        (p / m - 1.0).abs() * 100.0
    }

    #[test]
    fn a_speed_profile_moves_predictions_by_the_fitted_amount() {
        let records = rtx3090_rows();
        let o = Overrides::default();
        let (p, _, n_speed) = profile(&records, &o).unwrap();
        assert_eq!(p.device.as_deref(), Some("rtx-3090"));
        assert_eq!(p.runtime.as_deref(), Some("llama.cpp"));
        let sp = p.speed.as_ref().unwrap();
        assert!(n_speed >= 8 && !sp.fits.is_empty());
        for f in &sp.fits {
            assert!(f.median_abs_pct_after < f.median_abs_pct_before, "{f:?}");
        }
        // The profile's parameters, through the path `speed --calibration` and `validate
        // --calibration` take, give every row the time the fit gave it.
        let (obs, skipped) = speed_observations(&records, &o);
        assert_eq!(obs.len(), n_speed);
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut i = 0;
        for r in &records {
            let Ok(s) = crate::record_scenario::scenario_of(r, &o) else {
                continue;
            };
            let shipped = speed_params(&s, None).unwrap();
            let calibrated = speed_params(&s, Some(&p)).unwrap();
            for (q, np, ng, d, measured) in measured_speed(r) {
                if skipped
                    .iter()
                    .any(|(l, _)| l.starts_with(&record_label(0, r)))
                {
                    continue;
                }
                let with = predict_record_speed_with(r, &o, &calibrated, q, np, ng, d).unwrap();
                let without = predict_record_speed_with(r, &o, &shipped, q, np, ng, d).unwrap();
                let fitted = obs[i].tokens / predict_observation(&calibrated, &obs[i]);
                assert!(
                    abs_pct(with, fitted) < 0.5,
                    "{}: {with} vs {fitted}",
                    obs[i].label
                );
                before.push(abs_pct(without, measured));
                after.push(abs_pct(with, measured));
                i += 1;
            }
        }
        assert_eq!(i, obs.len());
        assert!(median(&after) < median(&before) / 2.0);
    }

    #[test]
    fn a_profile_is_for_its_device_and_runtime_only() {
        let (p, _, _) = profile(&rtx3090_rows(), &Overrides::default()).unwrap();
        let dir = std::env::temp_dir().join(format!("headroom-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.json");
        std::fs::write(&path, serde_json::to_string(&p).unwrap()).unwrap();
        let read = read_profile(&path).unwrap();
        assert_eq!((&read.device, &read.runtime), (&p.device, &p.runtime));
        assert_eq!(read.speed.unwrap().groups.len(), 2);
        let req = |hw: &str| headroom_data::ScenarioRequest {
            model: "llama-3-8b".into(),
            hardware: vec![hw.into()],
            quant: Some("Q4_K_M".into()),
            ..headroom_data::ScenarioRequest::default()
        };
        let s = headroom_data::build(&req("rtx-3090"), None).unwrap();
        assert!(crate::calibration::load_for(Some(&path), &s)
            .unwrap()
            .is_some());
        let s = headroom_data::build(&req("rtx-4090"), None).unwrap();
        let e = crate::calibration::load_for(Some(&path), &s).unwrap_err();
        assert!(
            format!("{e:#}").contains("is for rtx-3090 with llama.cpp, not rtx-4090"),
            "{e:#}"
        );
        // A truncated file, a hostile number, a huge file: errors naming the file.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(
            format!("{:#}", read_profile(&path).unwrap_err()).contains("not a calibration profile")
        );
        std::fs::write(
            &path,
            text.replacen("\"inv_bw_eff\":", "\"inv_bw_eff\":-1e300,\"x\":", 1),
        )
        .unwrap();
        assert!(format!("{:#}", read_profile(&path).unwrap_err()).contains("out of range"));
        std::fs::write(
            &path,
            vec![b' '; (crate::calibration::MAX_PROFILE_BYTES + 2) as usize],
        )
        .unwrap();
        assert!(format!("{:#}", read_profile(&path).unwrap_err()).contains("larger than"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_memory_profile_corrects_fit_by_the_fitted_line() {
        // The validation CSV's memory rows (llama.cpp's own buffer sizes), with every KV cache
        // reading made 256 MiB larger: three rows fit an offset only, the calibration recovers
        // it, and `fit --calibration` applies it to the KV cache it predicts.
        const MIB: f64 = 1024.0 * 1024.0;
        let mut records =
            read_records(&[fixture("validation/memory_measurements.csv")], None).unwrap();
        for r in &mut records {
            for m in &mut r.memory {
                if let Some(kv) = m.kv_cache {
                    m.kv_cache = Some(Bytes((kv.0 as f64 + 256.0 * MIB) as u64));
                }
            }
        }
        let o = Overrides {
            hardware: Some("rtx-4090".into()),
            ..Overrides::default()
        };
        let (p, _, _) = profile(&records, &o).unwrap();
        let kv = p
            .memory
            .as_ref()
            .unwrap()
            .corrections
            .iter()
            .find(|c| c.quantity == Quantity::KvCache)
            .unwrap()
            .clone();
        assert!(
            kv.median_abs_pct_before > 10.0 && kv.median_abs_pct_after < 0.1,
            "{kv:?}"
        );
        let s = headroom_data::build(
            &headroom_data::ScenarioRequest {
                model: "llama-3-8b".into(),
                hardware: vec!["rtx-4090".into()],
                quant: Some("Q4_K_M".into()),
                ctx: Some(8192),
                ..headroom_data::ScenarioRequest::default()
            },
            None,
        )
        .unwrap();
        let plain = headroom_core::plan::fit(&s);
        let corrected = p.apply_memory(&plain);
        let want = kv.scale * plain.devices[0].breakdown.kv_cache.0 as f64 + kv.offset_bytes;
        let got = corrected.devices[0].breakdown.kv_cache.0 as f64;
        assert!((got - want).abs() <= 1.0, "{got} vs {want}");
        // 8192 tokens × 32 layers × 8 KV heads × 128 × 2 (K, V) × 2 bytes = 1 GiB, plus 256 MiB.
        assert!((got / MIB - (1024.0 + 256.0)).abs() < 0.5, "{}", got / MIB);
        assert!(corrected.total_bytes.0 > plain.total_bytes.0);
        assert!(corrected
            .warnings
            .iter()
            .any(|w| w.contains("rtx-4090 with llama.cpp")));
        // On 6 GiB the context is bounded by memory: the corrected search stops where the
        // corrected memory stops fitting, below the uncorrected edge; with no correction it
        // finds the uncorrected edge.
        let mut small = s.clone();
        for d in &mut small.devices {
            *d = d.with_memory(Bytes(6 << 30));
        }
        let plain_max = headroom_core::plan::max_context(&small).unwrap();
        let cal_max = p.max_context(&small).unwrap();
        assert!(cal_max < plain_max, "{cal_max} vs {plain_max}");
        let granule = small.runtime.ctx_granule();
        let at = |n: u32| {
            let mut t = small.clone();
            t.runtime.set_n_ctx(n);
            p.apply_memory(&headroom_core::plan::fit(&t)).fits
        };
        assert!(at(cal_max) && !at(cal_max + granule));
        let mut identity = p.clone();
        identity.memory.as_mut().unwrap().corrections.clear();
        assert_eq!(identity.max_context(&small), Some(plain_max));
    }
}
