//! The CPU speed fit on the harness's llama-bench runs (`tests/fixtures/ground-truth/llama.cpp-cpu`):
//! the rows, the fit written to data/speed/llama-cpp-cpu.json, leave-one-architecture-out and
//! leave-one-quantization-out errors, and the CPU section of docs/speed-accuracy.md.

use headroom_core::measure::MeasurementRecord;
use headroom_core::speed::cpu::Isa;
use headroom_core::speed::cpu_least_squares::{self, CpuPhase, CpuRow, CpuSpeedParams};
use headroom_data::cpu_runs::{cpu_record_scenario, cpu_rows, record_model_id};
use headroom_data::Catalog;
use std::fmt::Write as _;

/// The harness's records, as committed.
pub const RECORDS: &str = include_str!("../fixtures/ground-truth/llama.cpp-cpu/records.jsonl");

/// Where the fit's rows come from, as the parameter file names it.
pub const SOURCE: &str = "tests/fixtures/ground-truth/llama.cpp-cpu/records.jsonl: llama-bench \
(llama.cpp vendored in llama-cpp-python 0.3.36, CPU build, AVX-512 without AMX) run by \
`scripts/ground-truth/harness.py bench` on random-weight GGUF files of the catalog models, on a \
2-vCPU Sapphire Rapids VM; bandwidth per thread count from scripts/ground-truth/membw.c measured \
before each model's runs; raw outputs in raw/bench/";

/// The report: rows, the fit, and each row predicted in sample and left out.
#[derive(Debug)]
pub struct CpuReport {
    pub rows: Vec<CpuRow>,
    pub skipped: Vec<(String, String)>,
    pub params: CpuSpeedParams,
    pub in_sample: Vec<(usize, f64)>,
    pub by_arch: Vec<(usize, f64)>,
    pub by_quant: Vec<(usize, f64)>,
}

/// The records of a records.jsonl text.
pub fn records(text: &str) -> Vec<MeasurementRecord> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The rows, the fit and the leave-one-group-out predictions of the committed records.
pub fn build(cat: &Catalog) -> CpuReport {
    build_from(cat, RECORDS)
}

/// [`build`] on the records of a records.jsonl text.
pub fn build_from(cat: &Catalog, text: &str) -> CpuReport {
    let recs = records(text);
    let (rows, skipped) = cpu_rows(&recs, |r| {
        Ok((cpu_record_scenario(cat, r)?, record_model_id(cat, r)?))
    });
    let refs: Vec<&CpuRow> = rows.iter().collect();
    let params = cpu_least_squares::fit(&refs, Isa::Avx512, &[SOURCE.to_string()]);
    let in_sample = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| cpu_least_squares::predict(&params, r).map(|v| (i, v)))
        .collect();
    let by_arch = cpu_least_squares::leave_one_out(&rows, |r| r.model.clone(), Isa::Avx512);
    let by_quant = cpu_least_squares::leave_one_out(&rows, |r| r.quant.clone(), Isa::Avx512);
    CpuReport {
        rows,
        skipped,
        params,
        in_sample,
        by_arch,
        by_quant,
    }
}

fn bar(v: f64, bar: f64) -> &'static str {
    if v <= bar {
        "met"
    } else {
        "not met"
    }
}

/// The CPU section of docs/speed-accuracy.md.
pub fn render(r: &CpuReport) -> String {
    let mut s = String::new();
    let p = &r.params;
    let n = |phase| r.rows.iter().filter(|x| x.phase == phase).count();
    let _ = writeln!(s, "## CPU: llama.cpp on CPU threads\n");
    let _ = writeln!(
        s,
        "Fitted by `speed::cpu_least_squares` on the harness's llama-bench runs \
         (`tests/fixtures/ground-truth/llama.cpp-cpu/records.jsonl`, docs/ground-truth.md): \
         {} rows ({} decode, {} prefill), one device (a 2-vCPU AVX-512 VM without AMX), {} \
         architectures ({}), quantizations {}. The parameters are in \
         `data/speed/llama-cpp-cpu.json`; other instruction sets keep their peak-FLOPs ratio \
         and are reported as not calibrated. The runs' clock is the VM's nominal one \
         (`/proc/cpuinfo`); a catalog CPU (`ryzen-9-7950x`, `core-i9-13900k`) answers with its \
         vendor's instruction set and all-core base clock (data/hardware/README.md), which no \
         run here measured: under load a desktop CPU can run above its base clock, and the \
         prompt speed is in proportion to the clock given. `--cpu GBS,THREADS,ISA,GHZ` replaces those numbers.\n",
        r.rows.len(),
        n(CpuPhase::Decode),
        n(CpuPhase::Prefill),
        p.models.len(),
        p.models.join(", "),
        p.quants.join(", ")
    );
    let _ = writeln!(
        s,
        "| fit | phase | rows | median abs error | bar | |\n|---|---|---:|---:|---:|---|"
    );
    for (name, pred) in [
        ("in sample", &r.in_sample),
        ("leave one architecture out", &r.by_arch),
        ("leave one quantization out", &r.by_quant),
    ] {
        for (phase, label, b) in [
            (CpuPhase::Decode, "decode", 15.0),
            (CpuPhase::Prefill, "prefill", 20.0),
        ] {
            let (m, k) = cpu_least_squares::mdape(&r.rows, pred, phase);
            let verdict = if name == "in sample" {
                String::new()
            } else {
                format!("#10 ({b:.0}%): {}; #11 (10%): {}", bar(m, b), bar(m, 10.0))
            };
            let _ = writeln!(s, "| {name} | {label} | {k} | {m:.1}% | | {verdict} |");
        }
    }
    let _ = writeln!(s, "\n### Fitted parameters\n");
    let d = &p.decode;
    let _ = writeln!(
        s,
        "- decode: {:.3} x the weight bytes over the measured bandwidth, {:.3} x the KV bytes at \
         depth, {:.2} us per layer, thread efficiency {:.2} past the first; cycles per matmul FLOP \
         on one thread: {}",
        d.inv_bw_eff,
        d.inv_kv_eff,
        d.layer_s * 1e6,
        d.thread_eff,
        kernels(&d.cycles_per_flop)
    );
    let q = &p.prefill;
    let _ = writeln!(
        s,
        "- prefill: cycles per matmul FLOP on one thread {}; {:.3} cycles per attention FLOP, {:.0} \
         cycles per layer and token, thread efficiency {:.2} past the first",
        kernels(&q.cycles_per_flop),
        q.attn_cycles_per_flop,
        q.layer_cycles,
        q.thread_eff
    );
    let _ = writeln!(
        s,
        "- spread of predicted / measured - 1 over the fitted rows: decode {:.1}%, prefill {:.1}%\n",
        p.decode_rel_sd * 100.0,
        p.prefill_rel_sd * 100.0
    );
    let _ = writeln!(s, "### Rows\n");
    let _ = writeln!(
        s,
        "| row | measured tok/s | fitted | architecture left out | quantization left out |\n|---|---:|---:|---:|---:|"
    );
    let find = |v: &[(usize, f64)], i: usize| {
        v.iter()
            .find(|(j, _)| *j == i)
            .map_or("-".to_string(), |(_, x)| format!("{x:.2}"))
    };
    for (i, row) in r.rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {} |",
            row.label,
            row.tok_s,
            find(&r.in_sample, i),
            find(&r.by_arch, i),
            find(&r.by_quant, i)
        );
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(s, "\nReadings not used:\n");
        for (l, why) in &r.skipped {
            let _ = writeln!(s, "- {l}: {why}");
        }
    }
    s
}

fn kernels(m: &std::collections::BTreeMap<String, f64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// docs/speed-accuracy.md: the GPU report, then the CPU section.
pub fn speed_accuracy_doc(gpu: &crate::speed_report::Report, cpu: &CpuReport) -> String {
    format!("{}\n{}", crate::speed_report::render(gpu), render(cpu))
}
