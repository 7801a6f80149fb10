//! `headroom speed`, `headroom plan` and the `speed` object of `fit --json`, end to end.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{headroom, json};

fn assert_band(v: &serde_json::Value, key: &str) {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing: {v}"));
    let lo = v[format!("{key}_low")].as_f64().unwrap();
    let hi = v[format!("{key}_high")].as_f64().unwrap();
    assert!(lo <= x && x <= hi, "{key}: {lo} {x} {hi}");
}

#[test]
fn fit_json_carries_the_speed_contract() {
    let v = json(&[
        "fit",
        "-m",
        "llama-3-8b",
        "-q",
        "Q4_K_M",
        "--hardware",
        "rtx-3090",
        "--json",
    ]);
    let s = &v["speed"];
    for k in ["prefill_tok_s", "decode_tok_s", "ttft_s"] {
        assert_band(s, k);
    }
    assert!(s["load_s"].as_f64().unwrap() > 0.0);
    assert!(s["joules_per_token"].as_f64().unwrap() > 0.0);
    let verdicts = s["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 4);
    assert_eq!(verdicts[0]["use_case"], "chat");
    assert_eq!(verdicts[0]["verdict"], "usable");
    // the memory answer is still there
    assert!(v["fits"].as_bool().unwrap());
}

#[test]
fn speed_takes_depth_and_never_beats_the_bound() {
    let at = |depth: &str| {
        json(&[
            "speed",
            "-m",
            "qwen3-8b",
            "-q",
            "Q4_K_M",
            "--hardware",
            "rtx-4090",
            "--depth",
            depth,
            "--json",
        ])
    };
    let (a, b) = (at("0"), at("16384"));
    let d = |v: &serde_json::Value| v["decode_tok_s"].as_f64().unwrap();
    assert!(d(&b) < d(&a));
    assert!(d(&a) <= a["decode_bound_tok_s"].as_f64().unwrap());
    let (code, out, _) = headroom(&[
        "speed",
        "-m",
        "qwen3-8b",
        "-q",
        "Q4_K_M",
        "--hardware",
        "rtx-4090",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("generation (tokens/s)") && out.contains("chat"),
        "{out}"
    );
}

#[test]
fn plan_ranks_what_fits() {
    let v = json(&[
        "plan",
        "--hardware",
        "rtx-4090",
        "--use-case",
        "agent",
        "--json",
        "--top",
        "10",
    ]);
    let list = v.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list
        .iter()
        .all(|e| e["verdict"]["verdict"] != "does_not_fit"));
    // the new fields: the context, the quality signal with its source, the score; no system RAM
    for e in list {
        assert!(e["max_context"].as_u64().unwrap() >= 16384, "{e}");
        assert!(e["score"].is_f64(), "{e}");
        assert!(e["verdict"]["gpu_layers"].is_null(), "{e}");
        let q = &e["quality"];
        assert!(
            q["source"]
                .as_str()
                .unwrap()
                .starts_with("https://github.com/ggml-org/llama.cpp"),
            "{e}"
        );
    }
    // IQ1_S, KLD 2.254554 on llama.cpp's Llama 3 8B scoreboard: poor, whatever the speed
    let v = json(&[
        "plan",
        "--hardware",
        "rtx-4090",
        "--quants",
        "IQ1_S",
        "--json",
        "--top",
        "50",
    ]);
    let list = v.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list
        .iter()
        .all(|e| e["verdict"]["verdict"] == "poor_quality" && e["quality"]["grade"] == "poor"));
    let (code, _, err) = headroom(&["plan", "--hardware", "rtx-4090", "--use-case", "poetry"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown use case"), "{err}");
    // `-q int4`, as `fit` takes it: llama.cpp's 4-bit default, Q4_K_M, said in a warning
    let (code, out, _) = headroom(&["plan", "--hardware", "rtx-4090", "-q", "int4", "--top", "3"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: quantization `int4` is taken as Q4_K_M on llama.cpp"),
        "{out}"
    );
    let v = json(&[
        "plan",
        "--hardware",
        "rtx-4090",
        "--quant",
        "int4",
        "--json",
        "--top",
        "50",
    ]);
    assert!(v.as_array().unwrap().iter().all(|e| e["quant"] == "Q4_K_M"));
    let (code, _, err) = headroom(&["plan", "--hardware", "rtx-4090", "--quants", "int3.5"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown quantization `int3.5`"), "{err}");
}

#[test]
fn validate_compares_speed_readings() {
    let csv = format!(
        "{}/../../tests/fixtures/speed/gpu_llm_bench.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    // the table ran May 2024 builds: validated against that era's fit
    let v = json(&["validate", &csv, "--llama-cpp-era", "2024", "--json"]);
    let s = &v["speed"];
    let obs = s["observations"].as_array().unwrap();
    assert!(obs.len() >= 150, "{}", obs.len());
    let decode = s["quantities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["quantity"] == "decode")
        .unwrap();
    // the CUDA rows of this file (the import names no catalog device for the Macs): 6.6% when written
    assert!(
        decode["median_abs_pct"].as_f64().unwrap() <= 10.0,
        "{decode}"
    );
}

#[test]
fn backend_picks_the_fit_of_the_build_it_names() {
    // the same RX 7900 XTX under ROCm (its catalog default) and under Vulkan answers from each
    // backend's own fit: discussion #15021 and #10879 rows, Llama 2 7B Q4_0 tg128 167.11 and
    // 182.63 tok/s without flash attention (tests/fixtures/speed/current_backends.csv)
    let args = |b: &str| {
        vec![
            "speed",
            "-m",
            "llama-2-7b",
            "-q",
            "Q4_0",
            "--hardware",
            "rx-7900-xtx",
            "--backend",
            b,
            "--flash-attn",
            "off",
            "--json",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let run = |b: &str| {
        let a = args(b);
        json(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let rocm = run("rocm");
    let vulkan = run("vulkan");
    let cal = |v: &serde_json::Value| v["calibration"].to_string();
    assert!(cal(&rocm).contains("rocm/rdna3"), "{}", cal(&rocm));
    assert!(cal(&vulkan).contains("vulkan/rdna3"), "{}", cal(&vulkan));
    // no CUDA build runs on an AMD card: the error names the flag and what the card runs
    let (code, _, err) = headroom(&[
        "speed",
        "-m",
        "llama-2-7b",
        "--hardware",
        "rx-7900-xtx",
        "--backend",
        "cuda",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("backend") && err.contains("rocm or vulkan"),
        "{err}"
    );
}
