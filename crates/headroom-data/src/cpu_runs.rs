//! CPU llama-bench records as rows of the CPU speed fit (`speed::cpu_least_squares`): each record's model
//! from the catalog, its CPU by the numbers measured beside it (`MeasurementRecord::cpu`, the
//! harness's `--cpu GBS,THREADS,ISA,GHZ`), its llama-bench settings, one row per speed reading.

use crate::request::CpuNumbers;
use crate::{build, Catalog, ScenarioRequest};
use headroom_core::measure::validate::{measured_speed, record_label};
use headroom_core::measure::{MeasurementRecord, Quantity};
use headroom_core::speed::cpu_least_squares::{CpuPhase, CpuRow};
use headroom_core::Scenario;

/// The CPU a record ran on by its measured numbers, when it carries them.
pub fn cpu_numbers(r: &MeasurementRecord) -> Option<CpuNumbers> {
    r.cpu.as_ref().map(|c| CpuNumbers {
        bandwidth_gbs: c.bandwidth_gbs,
        threads: c.threads,
        isa: c.isa.clone(),
        ghz: c.ghz,
    })
}

/// The catalog model a harness record names: its file stem (`qwen3-0.6b-Q4_0`) less the
/// quantization, or the name as it is.
pub fn record_model_id(cat: &Catalog, r: &MeasurementRecord) -> Result<String, String> {
    let name = r.model.as_deref().ok_or("the record names no model")?;
    let mut candidates = vec![name.to_string()];
    if let Some(q) = &r.quant {
        let lower = name.to_ascii_lowercase();
        let suffix = format!("-{}", q.to_ascii_lowercase());
        if let Some(stem) = lower.strip_suffix(&suffix) {
            candidates.insert(0, stem.to_string());
        }
    }
    candidates
        .iter()
        .find_map(|c| cat.model(c).ok().map(|m| m.id().to_string()))
        .ok_or_else(|| format!("model `{name}` is not in the catalog"))
}

/// The scenario of a CPU record: its model and quantization, its CPU by numbers, llama-bench's
/// batch, micro-batch, cache types, flash attention and weight repacking.
pub fn cpu_record_scenario(cat: &Catalog, r: &MeasurementRecord) -> Result<Scenario, String> {
    let cpu = cpu_numbers(r).ok_or("the record carries no CPU numbers (`cpu`)")?;
    let s = &r.settings;
    let req = ScenarioRequest {
        model: record_model_id(cat, r)?,
        quant: r.quant.clone(),
        cpu: Some(cpu),
        memory_gib: r
            .devices
            .iter()
            .find_map(|d| d.memory_total)
            .map(|b| b.0 as f64 / f64::from(1u32 << 30)),
        runtime: Some("llama.cpp".into()),
        ctx: s.n_ctx,
        batch: s.n_batch,
        ubatch: s.n_ubatch,
        cache_type_k: s.type_k.clone(),
        cache_type_v: s.type_v.clone(),
        flash_attn: s.flash_attn,
        repack: s.repack,
        ..ScenarioRequest::default()
    };
    build(&req, None).map_err(|e| e.to_string())
}

/// Every speed reading of `records` that ran whole on a CPU given by its numbers, as a CPU fit
/// row; `scenario` gives a record's scenario and catalog model id. Returns the rows and the
/// readings left out, with why.
pub fn cpu_rows(
    records: &[MeasurementRecord],
    scenario: impl Fn(&MeasurementRecord) -> Result<(Scenario, String), String>,
) -> (Vec<CpuRow>, Vec<(String, String)>) {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let readings = measured_speed(r);
        if readings.is_empty() {
            continue;
        }
        let label = if r.source.origin.is_empty() {
            record_label(i, r)
        } else {
            format!("{} line {}", r.source.origin, r.source.line.unwrap_or(0))
        };
        let Some(cpu) = &r.cpu else {
            skipped.push((label, "no CPU numbers (`cpu`)".into()));
            continue;
        };
        if let Some(why) = cpu.contended() {
            skipped.push((label, why));
            continue;
        }
        if let Some(n) = r.settings.n_seq.filter(|n| *n > 1) {
            // llama-batched-bench sums its rates over the sequences; the fit's terms are one
            // sequence's (the batch term is checked apart, docs/simulator-validation.md)
            skipped.push((
                label,
                format!("{n} sequences decoded together: the CPU fit takes single-sequence runs"),
            ));
            continue;
        }
        let (s, model) = match scenario(r) {
            Ok(x) => x,
            Err(why) => {
                skipped.push((label, why));
                continue;
            }
        };
        let threads = r.cpu.as_ref().map_or(0, |c| c.threads);
        for (q, n_prompt, n_gen, depth, tok_s) in readings {
            let (phase, tokens, tag) = match q {
                Quantity::Prefill => (CpuPhase::Prefill, n_prompt, "pp"),
                _ => (CpuPhase::Decode, n_gen, "tg"),
            };
            if !(tok_s.is_finite() && tok_s > 0.0) {
                skipped.push((label.clone(), format!("{tag}{tokens}: rate {tok_s}")));
                continue;
            }
            let quant = r.quant.clone().unwrap_or_default();
            let l = format!(
                "{model} {quant}{} t{threads} {tag}{tokens}@d{depth}",
                if r.settings.repack == Some(false) {
                    " no-repack"
                } else {
                    ""
                }
            );
            match CpuRow::new(
                &s,
                l.clone(),
                model.clone(),
                quant,
                phase,
                tokens,
                depth,
                tok_s,
            ) {
                Some(row) => rows.push(row),
                None => skipped.push((l, "the scenario's CPU gives no threads".into())),
            }
        }
    }
    (rows, skipped)
}
