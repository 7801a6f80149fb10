//! Lists the JSON files under data/ so the crate can embed each with `include_str!`.
//!
//! Without the `provenance` feature (the web calculator's build), the hardware and model files are
//! embedded without the text that says where each number came from (`sources`, `notes`, `source`,
//! `transcribed_from`, `safetensors_total_bytes_source`): nothing the wasm answers reads it, and it
//! is about half of the catalog's gzipped bytes. The whitespace between tokens is dropped too; every
//! other byte of each record (every number's text) is kept as written.

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
fn without(path: &Path, drop: &[&str]) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))?;
    let kept: BTreeMap<&String, &RawValue> = map
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k, v.as_ref()))
        .collect();
    serde_json::to_string(&kept).map_err(|e| format!("{}: {e}", path.display()))
}

/// The JSON text without the whitespace outside its strings.
fn minified(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

fn main() -> Result<(), String> {
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
            println!("cargo:rerun-if-changed={}", f.display());
            let stem = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let embedded = if provenance {
                f
            } else {
                let compact = out_dir.join(format!("{sub}-{stem}.json"));
                std::fs::write(&compact, minified(&without(&f, drop)?))
                    .map_err(|e| e.to_string())?;
                compact
            };
            let _ = writeln!(
                out,
                "    ({stem:?}, include_str!({:?})),",
                embedded.display().to_string()
            );
        }
        let _ = writeln!(out, "];");
    }
    std::fs::write(out_dir.join("embedded.rs"), out).map_err(|e| e.to_string())
}
