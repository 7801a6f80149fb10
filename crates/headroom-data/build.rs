//! Lists the JSON files under data/ so the crate can embed each with `include_str!`.
//!
//! Without the `provenance` feature (the web calculator's build), the hardware and model files are
//! embedded without the text that says where each number came from (`sources`, `notes`, `source`,
//! `transcribed_from`, `safetensors_total_bytes_source`): nothing the wasm answers reads it, and it
//! is about half of the catalog's gzipped bytes. A speed file's `sources` become the name of the
//! file that lists them. The whitespace between tokens is dropped too; every other byte of each
//! record (every number's text) is kept as written.

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

type Record = BTreeMap<String, Box<RawValue>>;

fn record(text: &str, what: &str) -> Result<Record, String> {
    serde_json::from_str(text).map_err(|e| format!("{what} is not a JSON object: {e}"))
}

fn raw(json: Result<String, serde_json::Error>, what: &str) -> Result<Box<RawValue>, String> {
    json.and_then(RawValue::from_string)
        .map_err(|e| format!("{what}: {e}"))
}

/// A speed file's `sources` (and its CPU fit's) as the one file of the repository that lists
/// them: the parsers still find them named, in a line instead of a paragraph each.
fn point_sources(map: &mut Record, here: &str) -> Result<(), String> {
    if map.contains_key("sources") {
        map.insert("sources".into(), raw(serde_json::to_string(&[here]), here)?);
    }
    if let Some(cpu) = map.get("cpu").filter(|v| v.get().starts_with('{')) {
        let mut inner = record(cpu.get(), here)?;
        point_sources(&mut inner, here)?;
        map.insert("cpu".into(), raw(serde_json::to_string(&inner), here)?);
    }
    Ok(())
}

/// The record as the web build embeds it: without its source text, each kept value's text as
/// written.
fn compact(path: &Path, sub: &str, stem: &str) -> Result<String, String> {
    let what = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{what}: {e}"))?;
    let mut map = record(&text, &what)?;
    let drop = provenance_keys(sub);
    map.retain(|k, _| !drop.contains(&k.as_str()));
    if sub == "speed" {
        point_sources(&mut map, &format!("data/speed/{stem}.json"))?;
    }
    serde_json::to_string(&map).map_err(|e| format!("{what}: {e}"))
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
                let web = out_dir.join(format!("{sub}-{stem}.json"));
                std::fs::write(&web, minified(&compact(&f, sub, &stem)?))
                    .map_err(|e| e.to_string())?;
                web
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
