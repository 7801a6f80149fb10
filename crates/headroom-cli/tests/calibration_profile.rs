//! A calibration profile through the `headroom` binary: `calibrate` on one device's public
//! llama-bench rows, then `speed` and `fit` with `--calibration`, and the refusals.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

mod common;

use common::{output as headroom, text};

/// The validation CSV's single RTX 3090 rows (XiongjieDai/GPU-Benchmarks-on-LLM-Inference).
fn rtx3090_csv(dir: &Path) -> String {
    let all = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/validation/gpu_llm_bench.csv"
    ))
    .unwrap();
    let mut lines = all.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.contains(",3090,1,")) {
        out.push_str(l);
        out.push('\n');
    }
    let p = dir.join("rtx3090.csv");
    std::fs::write(&p, out).unwrap();
    p.display().to_string()
}

fn decode_tok_s(o: &Output) -> (f64, Vec<String>) {
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    (v["decode_tok_s"].as_f64().unwrap(), warnings)
}

#[test]
fn calibrate_then_speed_and_fit_with_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let csv = rtx3090_csv(dir.path());
    let profile = dir.path().join("p.json");
    let pf = profile.to_str().unwrap();
    let o = headroom(&["calibrate", &csv, "-o", pf]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("profile for rtx-3090 with llama.cpp"), "{out}");
    assert!(out.contains("cuda/ampere/k_quant"), "{out}");

    // The CSV measured 115.42 tokens/s for Llama-3-8B Q4_K_M tg512 on this card: the calibrated
    // prediction is closer to it than the shipped one.
    let base = [
        "speed",
        "-m",
        "llama-3-8b",
        "-q",
        "Q4_K_M",
        "--gen",
        "512",
        "--json",
    ];
    let (shipped, w0) = decode_tok_s(&headroom(
        &[&base[..], &["--hardware", "rtx-3090"]].concat(),
    ));
    let (calibrated, w1) = decode_tok_s(&headroom(
        &[&base[..], &["--hardware", "rtx-3090", "--calibration", pf]].concat(),
    ));
    let measured = 115.42;
    assert!(
        (calibrated - measured).abs() < (shipped - measured).abs(),
        "shipped {shipped}, calibrated {calibrated}"
    );
    assert!(!w0.iter().any(|w| w.contains("calibration profile")));
    assert!(w1
        .iter()
        .any(|w| w.contains("calibration profile applied: fitted on rtx-3090 with llama.cpp")));

    // `fit --json` carries the note in its speed part.
    let o = headroom(&[
        "fit",
        "-m",
        "llama-3-8b",
        "--hardware",
        "rtx-3090",
        "--calibration",
        pf,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("calibration profile applied"));

    // Another device: refused, naming both.
    let o = headroom(&[&base[..], &["--hardware", "rtx-4090", "--calibration", pf]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is for rtx-3090 with llama.cpp, not rtx-4090 with llama.cpp"));

    // A truncated profile: an error naming the file.
    let full = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(&profile, &full[..full.len() / 3]).unwrap();
    let o = headroom(&[&base[..], &["--hardware", "rtx-3090", "--calibration", pf]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not a calibration profile"),
        "{}",
        text(&o.stderr)
    );
}
