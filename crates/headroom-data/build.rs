//! Lists the JSON files under data/ so the crate can embed each with `include_str!`.

use std::fmt::Write as _;
use std::path::Path;

fn list(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The JSON text without the whitespace between tokens (strings are kept byte for byte).
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // The web page's wasm embeds the files without their indentation, which it never shows; native
    // builds embed them as written, so a parse error names the line a person edits.
    let minified = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    let mut out = String::new();
    for (name, sub) in [
        ("MODELS", "models"),
        ("HARDWARE", "hardware"),
        ("SPEED", "speed"),
        ("QUALITY", "quality"),
    ] {
        let dir = root.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        let files = list(&dir);
        let _ = writeln!(out, "pub static {name}: &[(&str, &str)] = &[");
        for f in &files {
            let stem = Path::new(f)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            // A file's own change reruns this (a folder's mtime moves only when files come or go).
            println!("cargo:rerun-if-changed={f}");
            let path = if minified {
                let text = std::fs::read_to_string(f).expect("data files are readable");
                let dest = Path::new(&out_dir).join(format!("{name}-{stem}.json"));
                std::fs::write(&dest, minify(&text)).expect("OUT_DIR is writable");
                dest.display().to_string()
            } else {
                f.clone()
            };
            let _ = writeln!(out, "    ({stem:?}, include_str!({path:?})),");
        }
        let _ = writeln!(out, "];");
    }
    let dest = Path::new(&out_dir).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
