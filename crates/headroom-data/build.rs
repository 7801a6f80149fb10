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

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
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
            let _ = writeln!(out, "    ({stem:?}, include_str!({f:?})),");
        }
        let _ = writeln!(out, "];");
    }
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
