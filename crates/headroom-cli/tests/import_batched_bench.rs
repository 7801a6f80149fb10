//! `headroom import` on llama-batched-bench output: the harness's real runs
//! (`tests/fixtures/ground-truth/llama-batched-bench-cpu/raw/`), the same output cut short, and
//! the same output with a garbled cell. The expected values are the table's own cells, read here
//! by splitting the lines on `|`; the grid is harness.py's `-npp 128,512 -ntg 32 -npl 1,2,4,8 -t 1`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

mod common;

use common::{fixture_path, headroom, json};

fn raw(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/ground-truth/llama-batched-bench-cpu/raw"
    ))
    .join(name)
}

fn import(path: &std::path::Path) -> (bool, String, String) {
    let (code, out, err) = headroom(&["import", path.to_str().unwrap()]);
    (code == 0, out, err)
}

/// The table rows of a raw file: (line number, cells).
fn table_rows(text: &str) -> Vec<(usize, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('|') && !l.contains("S_PP") && !l.contains("---"))
        .map(|(i, l)| {
            let cells = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            (i + 1, cells)
        })
        .collect()
}

#[test]
fn real_output_gives_one_record_per_row_with_its_batch() {
    for model in ["qwen3-0.6b", "qwen2.5-0.5b"] {
        let path = raw(&format!("{model}-Q4_0.txt"));
        let text = std::fs::read_to_string(&path).unwrap();
        let (ok, out, err) = import(&path);
        assert!(ok, "{err}");
        let recs: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let rows = table_rows(&text);
        // 2 prompt lengths x 4 batch sizes
        assert_eq!(rows.len(), 8, "{model}");
        assert_eq!(recs.len(), rows.len(), "{model}");
        for (r, (line, c)) in recs.iter().zip(&rows) {
            assert_eq!(r["source"]["kind"], "llama_batched_bench");
            assert_eq!(r["source"]["line"], *line as u64);
            assert_eq!(r["model"], model);
            assert_eq!(r["quant"], "Q4_0");
            assert_eq!(r["settings"]["n_seq"], c[2].parse::<u64>().unwrap());
            assert_eq!(r["settings"]["n_ubatch"], 512);
            assert_eq!(r["settings"]["n_batch"], 2048);
            assert_eq!(r["settings"]["n_threads"], 1);
            assert_eq!(r["settings"]["flash_attn"], true);
            let pf = &r["speed"][0];
            assert_eq!(pf["kind"], "prefill");
            assert_eq!(pf["n_prompt"], c[0].parse::<u64>().unwrap());
            assert_eq!(pf["tokens_per_sec"], c[5].parse::<f64>().unwrap());
            let dc = &r["speed"][1];
            assert_eq!(dc["kind"], "decode");
            assert_eq!(dc["n_gen"], c[1].parse::<u64>().unwrap());
            assert_eq!(dc["depth"], c[0].parse::<u64>().unwrap());
            assert_eq!(dc["tokens_per_sec"], c[7].parse::<f64>().unwrap());
            assert_eq!(r["durations"][0][1], c[4].parse::<f64>().unwrap());
            assert_eq!(r["durations"][1][1], c[6].parse::<f64>().unwrap());
        }
    }
}

fn write_tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("headroom-batched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn output_cut_short_is_an_error_naming_the_line() {
    let text = std::fs::read_to_string(raw("qwen3-0.6b-Q4_0.txt")).unwrap();
    let rows = table_rows(&text);
    let (line, _) = rows[3];
    // cut inside the fourth row, as a run killed while printing it would leave the file
    let kept: Vec<&str> = text.lines().take(line).collect();
    let mut cut = kept.join("\n");
    let last = kept[line - 1];
    cut.truncate(cut.len() - last.len() / 2);
    let (ok, _, err) = import(&write_tmp("cut.txt", &cut));
    assert!(!ok);
    assert!(err.contains(&format!("line {line}")), "{err}");
    assert!(err.contains("cells where the header has 10"), "{err}");
    // cut right after the header: no row at all
    let header = text.lines().position(|l| l.contains("S_PP t/s")).unwrap() + 1;
    let head_only: Vec<&str> = text.lines().take(header + 1).collect();
    let (ok, _, err) = import(&write_tmp("head.txt", &head_only.join("\n")));
    assert!(!ok);
    assert!(err.contains(&format!("line {header}")), "{err}");
    assert!(err.contains("before the table's first row"), "{err}");
}

#[test]
fn a_garbled_cell_is_an_error_naming_line_and_column() {
    let text = std::fs::read_to_string(raw("qwen3-0.6b-Q4_0.txt")).unwrap();
    let rows = table_rows(&text);
    let (line, c) = &rows[1];
    let bad: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == *line {
                l.replacen(&c[6], "1.2e9x", 1)
            } else {
                l.to_string()
            }
        })
        .collect();
    let (ok, _, err) = import(&write_tmp("bad.txt", &bad.join("\n")));
    assert!(!ok);
    assert!(err.contains(&format!("line {line}")), "{err}");
    assert!(err.contains("T_TG s"), "{err}");
    // a batch size beyond any llama.cpp sequence count
    let huge: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == *line {
                let mut cells: Vec<String> = l.split('|').map(str::to_string).collect();
                cells[3] = " 99999999 ".into();
                cells.join("|")
            } else {
                l.to_string()
            }
        })
        .collect();
    let (ok, _, err) = import(&write_tmp("huge.txt", &huge.join("\n")));
    assert!(!ok);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("`B`"),
        "{err}"
    );
}

#[test]
fn simulate_takes_its_step_times_from_the_table() {
    // One user, prompts of exactly 128 tokens: the prompt pass is the table's PP 128, B 1 cell,
    // one micro-batch at no cached context, so TTFT is its T_PP. The requests run one after the
    // other, so every TTFT is that.
    let path = raw("qwen3-0.6b-Q4_0.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let (_, c) = table_rows(&text)
        .into_iter()
        .find(|(_, c)| c[0] == "128" && c[2] == "1")
        .unwrap();
    let t_pp: f64 = c[4].parse().unwrap();
    let path = path.to_str().unwrap();
    let v = json(&[
        "simulate",
        "-m",
        "qwen3-0.6b",
        "-q",
        "Q4_0",
        "--hardware",
        "ddr5-4800-8ch",
        "--memory",
        "64",
        "--runtime",
        "llama.cpp",
        "--parallel",
        "4",
        "-c",
        "4096",
        "--users",
        "1",
        "--requests",
        "3",
        "--prompt",
        "128",
        "--output",
        "32",
        "--json",
        "--batched-bench",
        path,
    ]);
    assert_eq!(v["step_times"], "llama-batched-bench pass costs");
    let ttft = v["report"]["ttft"]["p50"].as_f64().unwrap();
    assert!((ttft - t_pp).abs() < 1e-9, "{ttft} vs {t_pp}");
    // a runtime other than llama.cpp is refused, naming the flag
    let (code, _, err) = headroom(&[
        "simulate",
        "-m",
        "qwen3-0.6b",
        "--hardware",
        "h100-sxm",
        "--runtime",
        "vllm",
        "--users",
        "1",
        "--batched-bench",
        path,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--batched-bench"));
}

#[test]
fn batched_records_carry_the_measured_cpu_and_validate_says_when_one_does_not() {
    // The harness measures the machine's bandwidth before each batched run and writes it into
    // every record, as for llama-bench; the same records with `cpu` taken out are counted.
    let batched = fixture_path("ground-truth/llama-batched-bench-cpu/records.jsonl");
    let text = std::fs::read_to_string(&batched).unwrap();
    let runs = text.lines().filter(|l| l.contains("\"speed\":[{")).count();
    assert!(runs > 0, "the fixture changed");
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(r["cpu"]["bandwidth_gbs"].as_f64().unwrap() > 0.0, "{l}");
        assert_eq!(r["cpu"]["threads"], r["settings"]["n_threads"], "{l}");
    }
    let v = json(&["validate", "--json", &batched]);
    assert_eq!(v["cpu_runs_without_numbers"], 0);

    let stripped: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r.as_object_mut().unwrap().remove("cpu");
            r.to_string() + "\n"
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("headroom-batched-cpu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("records.jsonl");
    std::fs::write(&path, stripped).unwrap();
    let path = path.to_str().unwrap();
    let v = json(&["validate", "--json", path]);
    assert_eq!(v["cpu_runs_without_numbers"], runs);
    let (code, out, err) = headroom(&["validate", path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("{runs} CPU run(s) carry no measured CPU numbers")),
        "{out}"
    );
    // a --hardware given for every record stands in for the missing numbers
    let v = json(&[
        "validate",
        "--json",
        "--hardware",
        "ddr5-4800-8ch",
        "--memory",
        "24",
        path,
    ]);
    assert_eq!(v["cpu_runs_without_numbers"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cpu_fit_leaves_out_the_batched_rows_of_more_than_one_sequence() {
    // batched-bench rates are summed over the sequences; the CPU fit's rows are single-stream
    let batched = fixture_path("ground-truth/llama-batched-bench-cpu/records.jsonl");
    let text = std::fs::read_to_string(&batched).unwrap();
    let multi: Vec<u64> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["settings"]["n_seq"].as_u64().unwrap_or(1) > 1)
        .map(|r| r["settings"]["n_seq"].as_u64().unwrap())
        .collect();
    assert!(!multi.is_empty(), "the fixture changed");
    let v = json(&["validate", "--json", &batched]);
    let left_out = v["cpu_speed_not_used"].as_array().unwrap();
    let why: Vec<&str> = left_out
        .iter()
        .map(|x| x[1].as_str().unwrap())
        .filter(|w| w.contains("sequences decoded together"))
        .collect();
    assert_eq!(why.len(), multi.len(), "{left_out:?}");
    for (w, n) in why.iter().zip(&multi) {
        assert!(w.starts_with(&format!("{n} sequences")), "{w}");
    }
}
