//! The calibration commands through the `headroom` binary: measure without a GPU driver, import,
//! validate and calibrate on fixtures, with their exit statuses.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{fixture_path as fixture, output as headroom, text};

#[cfg(unix)]
#[test]
fn measure_runs_the_command_and_exits_with_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.jsonl");
    let o = out.to_str().unwrap();
    let ok = headroom(&[
        "measure",
        "--quiet",
        "-o",
        o,
        "--",
        "sh",
        "-c",
        "echo 'eval rate: 5.5 tokens/s'",
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("status: ok"));
    let failed = headroom(&["measure", "--quiet", "-o", o, "--", "sh", "-c", "exit 7"]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(text(&failed.stderr).contains("status: failed"));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["speed"][0]["tokens_per_sec"], 5.5);
    assert_eq!(lines[1]["command"]["exit_code"], 7);
    // Where no NVIDIA driver is installed (as on the machines this was written on), the record says so.
    if lines[0]["gpus"].is_null() {
        assert!(lines[0]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("no GPU readings were taken"));
    }
}

#[test]
fn import_then_validate_and_calibrate() {
    let dir = tempfile::tempdir().unwrap();
    let recs = dir.path().join("r.jsonl");
    let r = recs.to_str().unwrap();
    let imp = headroom(&[
        "import",
        &fixture("validation/llamacpp_cpu_buffers_qwen3.csv"),
        "-o",
        r,
    ]);
    assert!(imp.status.success(), "{}", text(&imp.stderr));
    assert!(
        text(&imp.stdout).starts_with("107 record(s)"),
        "{}",
        text(&imp.stdout)
    );

    let svg = dir.path().join("v.svg");
    let val = headroom(&[
        "validate",
        r,
        "--hardware",
        "ddr5-5600-2ch",
        "--memory",
        "64",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(val.status.success(), "{}", text(&val.stderr));
    let v = text(&val.stdout);
    assert!(v.contains("kv_cache") && v.contains("median |err|"), "{v}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let prof = dir.path().join("p.json");
    let cal = headroom(&[
        "calibrate",
        r,
        "--hardware",
        "ddr5-5600-2ch",
        "--memory",
        "64",
        "-o",
        prof.to_str().unwrap(),
    ]);
    assert!(cal.status.success(), "{}", text(&cal.stderr));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&prof).unwrap()).unwrap();
    assert_eq!(p["memory"]["runtime"], "llama.cpp");
    assert!(p["memory"]["corrections"].as_array().unwrap().len() >= 4);

    // The profile is accepted back by validate.
    let again = headroom(&[
        "validate",
        r,
        "--hardware",
        "ddr5-5600-2ch",
        "--memory",
        "64",
        "--calibration",
        prof.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn detect_always_answers() {
    let d = headroom(&["detect", "--json"]);
    assert!(d.status.success(), "{}", text(&d.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&d.stdout)).unwrap();
    assert!(v["gpus"].is_array());
}
