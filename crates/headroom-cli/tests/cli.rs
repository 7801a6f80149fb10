//! The `headroom` binary end to end: the JSON contract, errors people will meet, model files.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{fixture, headroom};

#[test]
fn fit_json_has_the_documented_contract() {
    let (code, out, err) = headroom(&[
        "fit",
        "--model",
        "qwen3-8b",
        "--hardware",
        "rtx-3060-ti",
        "--ctx",
        "16384",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "total_bytes",
        "usable_bytes",
        "fits",
        "max_context",
        "breakdown",
        "host_breakdown",
        "devices",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for key in ["weights", "kv_cache", "compute", "output", "overhead"] {
        assert!(v["breakdown"][key].is_u64(), "breakdown.{key}");
        assert!(v["host_breakdown"][key].is_u64(), "host_breakdown.{key}");
    }
    let d = &v["devices"][0];
    for key in ["name", "usable_bytes", "total_bytes", "breakdown"] {
        assert!(d.get(key).is_some(), "devices[0].{key}");
    }
    // The KV cache of Qwen3-8B at 16384 tokens: 36 x 8 x 128 x 2 x 2 bytes x 16384 = 2.25 GiB.
    assert_eq!(
        v["breakdown"]["kv_cache"].as_u64().unwrap(),
        36 * 8 * 128 * 2 * 2 * 16384
    );
}

#[test]
fn unknown_names_get_did_you_mean() {
    let (code, _, err) = headroom(&["fit", "--model", "qwen3-8", "--hardware", "rtx-3060-ti"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean") && err.contains("qwen3-8b"),
        "{err}"
    );
    let (code, _, err) = headroom(&["fit", "--model", "qwen3-8b", "--hardware", "rtx-3060ti-"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean") && err.contains("rtx-3060-ti"),
        "{err}"
    );
}

#[test]
fn impossible_combinations_are_explained() {
    let (code, out, _) = headroom(&[
        "fit",
        "-m",
        "qwen3-8b",
        "--hardware",
        "rtx-4090",
        "--cache-type-v",
        "q8_0",
        "--flash-attn",
        "off",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fits"], false);
    assert!(
        v["warnings"].to_string().contains("flash attention"),
        "{}",
        v["warnings"]
    );
    let (code, _, err) = headroom(&[
        "fit",
        "-m",
        "qwen3-8b",
        "--hardware",
        "rtx-4090",
        "--quant",
        "mlx-4bit",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("llama.cpp runs GGUF formats"), "{err}");
    let (code, _, err) = headroom(&["fit", "-m", "qwen3-8b", "--hardware", "ddr5-5600-2ch"]);
    assert_eq!(code, 2);
    assert!(err.contains("--memory"), "{err}");
}

#[test]
fn gguf_files_are_read_from_their_header() {
    let (code, out, err) = headroom(&["inspect", &fixture("tiny-llama-q4_k_m.gguf"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["arch"], "llama");
    assert_eq!(v["stored_as"], "Q4_K_M");
    let (code, out, err) = headroom(&[
        "fit",
        "-m",
        &fixture("tiny-qwen3moe-q8_0.gguf"),
        "--hardware",
        "rtx-4090",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["quant"], "Q8_0");
    assert_eq!(v["fits"], true);
}

#[test]
fn hostile_files_are_errors_not_crashes() {
    let dir = std::env::temp_dir().join(format!("headroom-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.gguf");
    let mut bytes = b"GGUF\x03\x00\x00\x00".to_vec();
    bytes.extend_from_slice(&u64::MAX.to_le_bytes()); // tensor count
    bytes.extend_from_slice(&[0xff; 64]);
    std::fs::write(&bad, &bytes).unwrap();
    let (code, _, err) = headroom(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.gguf"), "{err}");
    let cfg = dir.join("config.json");
    std::fs::write(&cfg, "{\"model_type\": \"llama\", \"hidden_size\": -3}").unwrap();
    let (code, _, err) = headroom(&["fit", "-m", cfg.to_str().unwrap(), "--hardware", "rtx-4090"]);
    assert_eq!(code, 2);
    assert!(err.contains("hidden_size"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_runtime_that_cannot_run_here_is_not_blamed_on_memory() {
    // Qwen3-8B at MLX 4-bit is about 8.2e9 x 4.5 bits = 4.6 GB, well inside an RTX 4090's 24 GB,
    // but MLX needs Apple silicon: the verdict must say the runtime, not a positive margin alone
    let (code, out, err) = headroom(&[
        "fit",
        "--model",
        "qwen3-8b",
        "--hardware",
        "rtx-4090",
        "--runtime",
        "mlx",
        "--quant",
        "mlx-4bit",
    ]);
    assert_eq!(code, 0, "{err}");
    let verdict = out
        .lines()
        .find(|l| l.starts_with("DOES NOT FIT") || l.starts_with("FITS"))
        .unwrap();
    assert!(
        verdict.starts_with("DOES NOT FIT: the runtime cannot run these settings here"),
        "{out}"
    );
    assert!(verdict.contains("(margin +"), "{out}");
    assert!(out.contains("warning: MLX runs on Apple silicon"), "{out}");
}

#[test]
fn every_command_says_what_an_ambiguous_hardware_name_was_taken_as() {
    // the catalog has an SXM and a PCIe H100; `h100` is the SXM card, said in a warning
    let note = "warning: `h100` is taken as h100-sxm";
    for args in [
        &["plan", "--hardware", "h100", "--top", "1"][..],
        &["speed", "--model", "qwen3-8b", "--hardware", "h100"][..],
        &[
            "simulate",
            "--model",
            "qwen3-8b",
            "--hardware",
            "h100",
            "--rate",
            "1",
            "--requests",
            "20",
        ][..],
        &["fit", "--model", "qwen3-8b", "--hardware", "h100"][..],
    ] {
        let (code, out, err) = headroom(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out.matches(note).count(), 1, "{args:?}: {out}");
    }
    // `m4-pro` comes with 24, 48 or 64 GB: the memory taken is said unless --memory is given
    let (_, out, _) = headroom(&["plan", "--hardware", "m4-pro", "--top", "1"]);
    assert!(
        out.contains("`m4-pro` is taken with 24 GB of memory"),
        "{out}"
    );
    let (_, out, _) = headroom(&[
        "plan",
        "--hardware",
        "m4-pro",
        "--memory",
        "48",
        "--top",
        "1",
    ]);
    assert!(!out.contains("is taken with"), "{out}");
    let (code, _, err) = headroom(&["plan", "--hardware", "h10o"]);
    assert_eq!(code, 2);
    assert!(err.contains("hardware: unknown hardware `h10o`"), "{err}");
}
