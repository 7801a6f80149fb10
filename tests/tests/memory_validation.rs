//! The memory model against llama.cpp's own printed buffer sizes and against public OOM reports.
//! Expected values are read from the measurement CSVs in tests/fixtures/validation (copied from
//! shared/validation with their source columns); nothing here is typed in by hand.
#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_arguments)]

use headroom_core::plan::{answer, fit, FitReport};
use headroom_core::Bytes;
use headroom_data::{build, ScenarioRequest};
use std::collections::HashMap;

fn rows(file: &str) -> Vec<HashMap<String, String>> {
    let path = format!("{}/fixtures/validation/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn mib(b: Bytes) -> f64 {
    b.as_mib()
}

/// The one place these tests call the API: a llama.cpp run as the measurements were taken.
fn llama_cpp(
    model: &str,
    quant: &str,
    hw: &str,
    gpus: u32,
    ctx: u32,
    ubatch: u32,
    batch: u32,
    fa: bool,
    tk: &str,
) -> FitReport {
    let req = ScenarioRequest {
        model: model.into(),
        quant: Some(quant.into()),
        hardware: vec![hw.into()],
        gpus: (gpus > 1).then_some(gpus),
        runtime: Some("llama.cpp".into()),
        ctx: Some(ctx),
        batch: Some(batch),
        ubatch: Some(ubatch),
        flash_attn: Some(fa),
        cache_type_k: Some(tk.into()),
        cache_type_v: Some(tk.into()),
        ..Default::default()
    };
    fit(&build(&req, None).unwrap())
}

fn within(pred: f64, measured: f64, rel: f64, what: &str) {
    let err = (pred - measured).abs() / measured;
    assert!(
        err <= rel,
        "{what}: predicted {pred:.2}, measured {measured:.2} ({:.1}% off, allowed {:.0}%)",
        err * 100.0,
        rel * 100.0
    );
}

fn raw_mib(notes: &str, key: &str) -> f64 {
    // "raw MiB per device: CUDA0=4403.49" / "raw MiB: CUDA_Host=24.01; ..."
    let start = notes.find(key).unwrap() + key.len();
    let rest = &notes[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

#[test]
fn llama3_8b_buffers_match_llama_cpp_logs() {
    // memory_measurements.csv: Meta-Llama-3-8B Q4_K_M, n_batch/n_ubatch and n_ctx from each log.
    let rs = rows("memory_measurements.csv");
    let mut checked = 0;
    for r in rs.iter().filter(|r| r["model"] == "Meta-Llama-3-8B") {
        let ctx: u32 = r["n_ctx"].parse().unwrap();
        let metal = r["device"].contains("Metal");
        let (hw, batch) = if metal {
            // n_ctx 512 was the 8 GB M1; 8192 the M1 Max 64 GB (and M2 Ultra, which printed the same).
            if ctx == 512 {
                ("m1-8gb", 512)
            } else {
                ("m1-max-64gb", 2048)
            }
        } else {
            ("rtx-4090", 2048)
        };
        let rep = llama_cpp("llama-3-8b", "Q4_K_M", hw, 1, ctx, 512, batch, false, "f16");
        let dev = &rep.devices[0].breakdown;
        let what = &r["what_was_measured"];
        let notes = &r["notes"];
        if what.starts_with("model weights buffer(s) on GPU") {
            let m = raw_mib(notes, if metal { "Metal=" } else { "CUDA0=" });
            within(mib(dev.weights), m, 0.01, "weights on GPU");
        } else if what.starts_with("model weights buffer kept in host RAM") {
            within(
                mib(rep.host_breakdown.weights),
                raw_mib(notes, "raw "),
                0.01,
                "token embeddings on host",
            );
        } else if what.starts_with("KV cache") {
            let m = raw_mib(notes, if metal { "Metal=" } else { "CUDA0=" });
            assert!(
                (mib(dev.kv_cache) - m).abs() < 1.0,
                "KV {} vs {m}",
                mib(dev.kv_cache)
            );
        } else if what.starts_with("compute (scratch) buffer(s) on GPU") {
            let m = raw_mib(notes, if metal { "Metal=" } else { "CUDA0=" });
            within(mib(dev.compute), m, 0.10, "GPU compute buffer");
        } else if what.starts_with("compute buffer in host memory") {
            let m = raw_mib(notes, if metal { "CPU=" } else { "CUDA_Host=" });
            within(
                mib(rep.host_breakdown.compute),
                m,
                0.10,
                "host compute buffer",
            );
            let after = &notes[notes.find("output buffer ").unwrap()..];
            let out = raw_mib(after, "=");
            assert!((mib(rep.host_breakdown.output) - out).abs() < 0.01);
        } else {
            continue;
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn llama_1_and_2_totals_match_llama_cpp_vram_lines() {
    // "total VRAM used: X MiB (model: Y, context: Z)" with "KV self size" (old builds, n_ctx 512).
    let rs = rows("memory_measurements.csv");
    let mut checked = 0;
    for r in rs
        .iter()
        .filter(|r| r["model"].starts_with("Llama-2-") || r["model"].starts_with("LLaMA-1 "))
    {
        let id = match r["model"].as_str() {
            "Llama-2-7B" => "llama-2-7b",
            "Llama-2-13B" => "llama-2-13b",
            "LLaMA-1 7B" => "llama-1-7b",
            "LLaMA-1 13B" => "llama-1-13b",
            other => panic!("unexpected model {other}"),
        };
        let rep = llama_cpp(id, &r["quant"], "rtx-a6000", 1, 512, 512, 512, false, "f16");
        let dev = &rep.devices[0].breakdown;
        let notes = &r["notes"];
        let model = raw_mib(notes, "model ");
        let context = raw_mib(notes, "context ");
        let kv = raw_mib(notes, "KV self size ");
        within(mib(dev.weights), model, 0.01, "model weights on GPU");
        assert!(
            (mib(dev.kv_cache) - kv).abs() < 1.0,
            "KV {} vs {kv}",
            mib(dev.kv_cache)
        );
        within(
            mib(dev.compute),
            context - kv,
            0.10,
            "compute (context minus KV)",
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
}

#[test]
fn qwen3_cpu_buffers_match_llama_cpp() {
    // llamacpp_cpu_buffers_qwen3.csv: CPU backend, many n_ctx/n_ubatch/cache-type/flash-attention
    // settings. Rows whose context was never created have no buffers.
    let rs = rows("llamacpp_cpu_buffers_qwen3.csv");
    let mut checked = 0;
    let mut repacked = 0;
    for r in rs.iter().filter(|r| !r["kv_buf_mib"].is_empty()) {
        let quant = match r["quant"].as_str() {
            "Q4_K - Medium" => "Q4_K_M",
            q => q,
        };
        let n_ctx: u32 = r["n_ctx"].parse().unwrap();
        let ub: u32 = r["n_ubatch"].parse().unwrap();
        let b: u32 = r["n_batch"].parse().unwrap();
        let fa = r["flash_attn"].starts_with("on");
        let np: u32 = if r["extra_args"].contains("-np 4") {
            4
        } else {
            1
        };
        let req = ScenarioRequest {
            model: "qwen3-0.6b".into(),
            quant: Some(quant.into()),
            hardware: vec!["ddr5-5600-2ch".into()],
            memory_gib: Some(16.0),
            runtime: Some("llama.cpp".into()),
            ctx: Some(n_ctx),
            batch: Some(b),
            ubatch: Some(ub),
            flash_attn: Some(fa),
            cache_type_k: Some(r["type_k"].clone()),
            cache_type_v: Some(r["type_v"].clone()),
            parallel: Some(np),
            // The CPU_REPACK copy is what an x86 AVX2 build makes; a native build on this AMX
            // Xeon kept an AMX buffer instead, which the model does not predict.
            repack: Some(r["repack"] == "1" && r["extra_args"].contains("noamx")),
            ..Default::default()
        };
        let rep = fit(&build(&req, None).unwrap());
        let b = &rep.devices[0].breakdown;
        let ctx_actual: u32 = r["n_ctx_actual"].parse().unwrap();
        assert_eq!(rep.n_ctx, ctx_actual, "padded context");
        let kv: f64 = r["kv_buf_mib"].parse().unwrap();
        assert!(
            (mib(b.kv_cache) - kv).abs() < 1.0,
            "KV {} vs {kv} ({r:?})",
            mib(b.kv_cache)
        );
        let compute: f64 = r["compute_buf_mib"].parse().unwrap();
        within(
            mib(b.compute),
            compute,
            0.10,
            &format!("compute n_ctx {n_ctx} ub {ub} fa {fa}"),
        );
        let out: f64 = r["output_buf_mib"].parse().unwrap();
        assert!(
            (mib(b.output) - out).abs() < 0.01,
            "output {} vs {out}",
            mib(b.output)
        );
        if r["repack"] == "0" || r["extra_args"].contains("noamx") {
            // The mapped file, plus the CPU_REPACK copy where the build made one.
            let w: f64 = r["model_buf_mib"].parse().unwrap();
            within(mib(b.weights), w, 0.01, &format!("{quant} weights ({r:?})"));
            if r["model_buf_detail"].contains("CPU_REPACK") {
                repacked += 1;
            }
        }
        checked += 1;
    }
    assert!(checked >= 70, "{checked}");
    assert!(repacked >= 3, "{repacked}");
}

/// Device names in gpu_llm_bench.csv and the catalog hardware (with the memory size the source states).
fn bench_hardware(device: &str, vram: &str) -> Option<&'static str> {
    Some(match device {
        "3070" => "rtx-3070",
        "3080" => "rtx-3080",
        "3090" => "rtx-3090",
        "4080" => "rtx-4080",
        "4090" => "rtx-4090",
        "RTX A6000" => "rtx-a6000",
        "L40S" => "l40s",
        "A100 PCIe" => "a100-80gb-pcie",
        "M1 7-Core GPU" if vram == "8" => "m1-8gb",
        "M1 Max 32-Core GPU" if vram == "64" => "m1-max-64gb",
        _ => return None,
    })
}

#[test]
fn out_of_memory_reports_do_not_fit_and_measured_runs_do() {
    // gpu_llm_bench.csv: llama-bench with its defaults of May 2024 (ngl 99, n_batch 2048,
    // n_ubatch 512, no flash attention); ppN and tgN each run at a context of N tokens.
    let rs = rows("gpu_llm_bench.csv");
    let (mut oom, mut ok) = (0, 0);
    for r in &rs {
        let Some(hw) = bench_hardware(&r["device"], &r["vram_gb"]) else {
            continue;
        };
        let model = match r["model"].as_str() {
            "Meta-Llama-3-8B" => "llama-3-8b",
            "Meta-Llama-3-70B" => "llama-3-70b",
            _ => continue,
        };
        let n: u32 = r["test"]
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .unwrap();
        let gpus: u32 = r["n_devices"].parse().unwrap();
        let rep = llama_cpp(model, &r["quant"], hw, gpus, n, 512, 2048, false, "f16");
        let what = format!(
            "{} x{} {} {} {}",
            r["device"], gpus, r["model"], r["quant"], r["test"]
        );
        if r["notes"].starts_with("OOM") {
            assert!(
                !rep.fits,
                "{what}: measured OOM, predicted fit ({} of {})",
                rep.total_bytes, rep.usable_bytes
            );
            oom += 1;
        } else if !r["tok_s"].is_empty() {
            assert!(
                rep.fits,
                "{what}: measured {} tok/s, predicted no fit ({} of {}) {:?}",
                r["tok_s"], rep.total_bytes, rep.usable_bytes, rep.warnings
            );
            ok += 1;
        }
    }
    assert!(oom >= 30 && ok >= 100, "oom {oom} ok {ok}");
}

#[test]
fn published_gguf_sizes_match_the_synthesized_mixes() {
    // llama-bench "size" column for ggml-org GGUF files (gpu_llm_bench.csv, M2 Ultra rows).
    for (id, quant, gib) in [
        ("glm-4.7-flash", "Q8_0", 29.65),
        ("qwen3-coder-30b-a3b", "Q8_0", 30.25),
        ("gpt-oss-20b", "MXFP4_MOE", 11.27),
        ("gpt-oss-120b", "MXFP4_MOE", 59.02),
    ] {
        let rep = llama_cpp(id, quant, "h200-sxm", 1, 4096, 512, 2048, true, "f16");
        let w = rep.breakdown.weights + rep.host_breakdown.weights;
        within(w.as_gib(), gib, 0.01, id);
    }
}

#[test]
fn fits_at_max_context_and_not_one_granule_above() {
    for (model, hw) in [
        ("qwen3-8b", "rtx-3060-ti"),
        ("llama-3.1-8b", "rtx-4090"),
        ("gemma-3-12b", "m4-pro-24gb"),
        ("qwen3-30b-a3b", "rtx-5090"),
    ] {
        let req = ScenarioRequest {
            model: model.into(),
            hardware: vec![hw.into()],
            beyond_trained: Some(true),
            ..Default::default()
        };
        let s = build(&req, None).unwrap();
        let a = answer(&s);
        let n = a.max_context.unwrap();
        let at = |ctx: u32| {
            let mut t = s.clone();
            t.runtime.set_n_ctx(ctx);
            fit(&t).fits
        };
        assert!(at(n), "{model} on {hw} should fit at {n}");
        assert!(
            !at(n + 256),
            "{model} on {hw} should not fit at {}",
            n + 256
        );
    }
}

/// LFM2 (short-convolution layers between attention layers) against llama.cpp's printed buffers
/// for a random-weight GGUF of LFM2.5-350M's config (tests/fixtures/ground-truth/lfm2): the KV
/// cache of the 6 attention layers plus the 10 conv layers' RS buffer match to the 0.01 MiB the
/// log prints, the weights to 0.01%; the compute buffer is predicted 140 MiB where llama.cpp
/// reserves 132 (within 10%).
#[test]
fn lfm2_memory_matches_llama_cpp_runs() {
    use headroom_formats::import::{detect, import_str};
    let dir = format!("{}/fixtures/ground-truth/lfm2", env!("CARGO_MANIFEST_DIR"));
    let cfg = std::fs::read_to_string(format!("{dir}/lfm2.5-350m.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    let spec = headroom_formats::hf_config::from_value(&doc["config"])
        .unwrap()
        .spec;
    let mut seen = 0;
    for (name, ctx, seqs) in [
        ("c2048", 2048, 1),
        ("c8192", 8192, 1),
        ("c32768", 32768, 1),
        ("c8192-np2", 8192, 2),
    ] {
        let text = std::fs::read_to_string(format!("{dir}/lfm2.5-350m-F16-{name}.log")).unwrap();
        let recs = import_str(detect(&text), name, &text).unwrap();
        let r = serde_json::to_value(&recs[0]).unwrap();
        assert_eq!(r["settings"]["n_ctx"], ctx, "{name}");
        assert_eq!(r["settings"]["n_seq"], seqs, "{name}");
        let measured = |q: &str| -> f64 {
            r["memory"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d[q].as_f64())
                .sum()
        };
        let req = ScenarioRequest {
            quant: Some("F16".into()),
            hardware: vec!["ddr5-4800-8ch".into()],
            memory_gib: Some(64.0),
            runtime: Some("llama.cpp".into()),
            ctx: Some(ctx),
            parallel: Some(seqs),
            flash_attn: Some(true),
            repack: Some(false),
            ..Default::default()
        };
        let supplied = headroom_data::SuppliedModel {
            spec: spec.clone(),
            weights: None,
            native_quant: None,
        };
        let b = fit(&build(&req, Some(supplied)).unwrap()).breakdown;
        // KV: 6 x ctx x 8 heads x 64 x 2 x 2 B; RS: 10 x seqs x 2048 x 2 x 4 B
        let kv = 6 * u64::from(ctx) * 2048 + 10 * u64::from(seqs) * 2 * 1024 * 4;
        assert_eq!(b.kv_cache, Bytes(kv), "{name}");
        // the log prints each buffer to 0.01 MiB: the KV and the RS buffer
        assert!(
            (b.kv_cache.0 as f64 - measured("kv_cache")).abs() <= 2.0 * 0.005 * 1048576.0,
            "{name}: {} vs {}",
            b.kv_cache.0,
            measured("kv_cache")
        );
        within(
            b.weights.0 as f64,
            measured("weights"),
            0.0001,
            &format!("{name} weights"),
        );
        within(
            b.compute.0 as f64,
            measured("compute"),
            0.10,
            &format!("{name} compute"),
        );
        seen += 1;
    }
    assert_eq!(seen, 4);
}
