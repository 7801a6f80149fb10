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
