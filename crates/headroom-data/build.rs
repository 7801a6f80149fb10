//! Lists the JSON files under data/ so the crate can embed each with `include_str!`.
//!
//! Without the `provenance` feature (the web calculator's build), the hardware and model files are
//! embedded without the text that says where each number came from (`sources`, `notes`, `source`,
//! `transcribed_from`, `safetensors_total_bytes_source`): nothing the wasm answers reads it, and it
//! is about half of the catalog's gzipped bytes. Every other byte of each record is kept as written.

use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The top-level keys of a record that only say where its numbers came from.
fn provenance_keys(sub: &str) -> &'static [&'static str] {
    match sub {
        "hardware" => &["sources", "notes"],
        "models" => &[
            "source",
            "transcribed_from",
            "safetensors_total_bytes_source",
        ],
        _ => &[],
    }
}

/// The record with `drop` removed from its top level, each kept value's text as written.
fn without(path: &Path, drop: &[&str]) -> String {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("a data file reads");
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))
        .expect("a data file is a JSON object");
    let kept: BTreeMap<&String, &RawValue> = map
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k, v.as_ref()))
        .collect();
    serde_json::to_string(&kept).expect("a map of raw JSON values serializes")
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let provenance = std::env::var_os("CARGO_FEATURE_PROVENANCE").is_some();
    let mut out = String::new();
    for (name, sub) in [
        ("MODELS", "models"),
        ("HARDWARE", "hardware"),
        ("SPEED", "speed"),
        ("QUALITY", "quality"),
    ] {
        let dir = root.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        let drop = if provenance {
            &[][..]
        } else {
            provenance_keys(sub)
        };
        let _ = writeln!(out, "pub static {name}: &[(&str, &str)] = &[");
        for f in list(&dir) {
            let stem = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let embedded = if drop.is_empty() {
                f
            } else {
                let stripped = out_dir.join(format!("{sub}-{stem}.json"));
                std::fs::write(&stripped, without(&f, drop)).expect("OUT_DIR is writable");
                stripped
            };
            let _ = writeln!(
                out,
                "    ({stem:?}, include_str!({:?})),",
                embedded.display().to_string()
            );
        }
        let _ = writeln!(out, "];");
    }
    std::fs::write(out_dir.join("embedded.rs"), out).expect("OUT_DIR is writable");
}
