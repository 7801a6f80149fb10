//! `headroom validate --json` on the ground-truth records the harness measured on a CPU
//! (`tests/fixtures/ground-truth/llama.cpp-cpu/records.jsonl`, made by `scripts/ground-truth/`):
//! with no flags, every record resolves its model (the catalog id the GGUF was written from), its
//! quantization and its machine; memory is within 2% at the median and the KV cache exact to the
//! MiB. The expectations are the measurements themselves: llama.cpp's printed buffer sizes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

const RECORDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/ground-truth/llama.cpp-cpu/records.jsonl"
);

fn validate() -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["validate", "--json", RECORDS])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_records_cover_six_architectures() {
    let text = std::fs::read_to_string(RECORDS).unwrap();
    let mut models = BTreeSet::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        models.insert(r["model"].as_str().unwrap().to_string());
        // Every record names the machine and says how loaded it was.
        assert!(r["devices"][0]["name"].is_string(), "{line}");
        assert!(
            r["notes"].as_array().is_some_and(|n| n
                .iter()
                .any(|x| x.as_str().unwrap().contains("load average"))),
            "{line}"
        );
        n += 1;
    }
    assert!(n >= 200, "{n} records");
    assert!(models.len() >= 6, "{models:?}");
}

#[test]
fn memory_is_within_two_percent_and_kv_exact() {
    let v = validate();
    let mem = &v["memory"];
    assert_eq!(
        mem["skipped"].as_array().unwrap().len(),
        0,
        "{}",
        mem["skipped"]
    );
    for q in ["weights", "kv_cache", "compute"] {
        let e = mem["quantities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["quantity"] == q)
            .unwrap_or_else(|| panic!("no {q}"));
        assert!(e["n"].as_u64().unwrap() >= 100, "{q}: {e}");
        let median = e["median_abs_pct"].as_f64().unwrap();
        assert!(median <= 2.0, "{q}: median |err| {median}%");
    }
    // KV cache: exact to the MiB in every record (llama.cpp prints it in MiB, two decimals).
    let mut kv = 0;
    for o in mem["observations"].as_array().unwrap() {
        if o["quantity"] != "kv_cache" {
            continue;
        }
        kv += 1;
        let d = (o["predicted"].as_f64().unwrap() - o["measured"].as_f64().unwrap()).abs();
        assert!(d < 1_048_576.0, "{}: off by {d} bytes", o["label"]);
    }
    assert!(kv >= 100, "{kv} KV comparisons");
}

#[test]
fn calibrate_then_validate_shows_cpu_speed_before_and_after() {
    // `calibrate` refits the CPU speed model on the records' CPU runs; `validate --calibration`
    // reports memory before and after the profile's corrections and CPU speed with the shipped
    // fit, the profile's and leave one architecture out. The shipped fit (data/speed/
    // llama-cpp-cpu.json) was fitted on these same records, so the profile reproduces its errors.
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("p.json");
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["calibrate", RECORDS, "-o", prof.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("leave one architecture out"), "{printed}");
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&prof).unwrap()).unwrap();
    assert_eq!(p["device"], "cpu");
    assert!(p["cpu"]["n_decode"].as_u64().unwrap() > 0, "{p}");

    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "validate",
            "--json",
            RECORDS,
            "--calibration",
            prof.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["memory_before_calibration"].as_array().unwrap().len() >= 4);
    let cpu = v["cpu_speed"].as_array().unwrap();
    assert_eq!(cpu.len(), 2, "{cpu:?}");
    for e in cpu {
        let shipped = e["shipped_median_abs_pct"].as_f64().unwrap();
        let after = e["calibrated_median_abs_pct"].as_f64().unwrap();
        let loo = e["leave_one_architecture_out_median_abs_pct"]
            .as_f64()
            .unwrap();
        assert!((shipped - after).abs() < 1e-6, "{e}");
        // fitted in sample, a row is predicted at least as well at the median as left out
        assert!(loo >= after - 1e-9, "{e}");
        assert!(e["architectures"].as_u64().unwrap() >= 5, "{e}");
    }
}
