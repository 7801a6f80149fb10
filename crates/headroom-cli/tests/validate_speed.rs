//! `headroom validate --json` on the public llama-bench tables as they are (the validation layout)
//! reports the fitted errors docs/speed-accuracy.md reports: the same rows (SUSPICIOUS rows left
//! out) and the same medians, because both build their scenarios with `headroom_data::llama_bench`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

/// The row count and "MdAPE fitted" cell of a summary row (`| decode (tg) | 177 | 4.9% | ...`).
fn doc_cell(doc: &str, row: &str) -> (u64, f64) {
    let line = doc
        .lines()
        .find(|l| l.starts_with(&format!("| {row} |")))
        .unwrap_or_else(|| panic!("no `{row}` row in docs/speed-accuracy.md"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    (
        cells[2].parse().unwrap(),
        cells[3].trim_end_matches('%').parse().unwrap(),
    )
}

#[test]
fn validate_on_the_public_tables_matches_the_speed_report() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/validation/"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .arg("validate")
        .arg("--json")
        // the tables ran May 2024 builds; the report's table of them is that era's fit
        .args(["--llama-cpp-era", "2024"])
        .arg(format!("{dir}gpu_llm_bench.csv"))
        .arg(format!("{dir}apple_silicon_llamacpp.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = include_str!("../../../docs/speed-accuracy.md");
    for (q, row) in [("decode", "decode (tg)"), ("prefill", "prefill (pp)")] {
        let e = v["speed"]["quantities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["quantity"] == q)
            .unwrap_or_else(|| panic!("no {q} in {}", v["speed"]));
        let (n, mdape) = doc_cell(doc, row);
        assert_eq!(e["n"].as_u64().unwrap(), n, "{row}");
        let got = e["median_abs_pct"].as_f64().unwrap();
        // the document rounds to one decimal
        assert!(
            (got - mdape).abs() <= 0.05 + 1e-9,
            "{row}: {got} vs {mdape}"
        );
    }
    // The rows the source marks SUSPICIOUS are listed as not predicted, with the reason.
    let skipped = v["speed"]["skipped"].as_array().unwrap();
    assert!(!skipped.is_empty());
    assert!(skipped
        .iter()
        .all(|s| s[1].as_str().unwrap().contains("SUSPICIOUS")));
}
