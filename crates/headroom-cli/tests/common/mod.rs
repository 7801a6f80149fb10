//! What every end-to-end test of the `headroom` binary needs: running it, reading what it printed,
//! and the paths of the repository's fixtures.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Command, Output};

/// Runs the binary and keeps the raw output.
pub fn output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the binary: exit code (-1 when killed by a signal), stdout, stderr.
pub fn headroom(args: &[&str]) -> (i32, String, String) {
    let out = output(args);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Runs the binary, requires success and parses its stdout as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = headroom(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Bytes a command printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A path under `tests/fixtures/`.
pub fn fixture_path(rel: &str) -> String {
    format!("{}/../../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// A model file under `tests/fixtures/formats/`.
pub fn fixture(name: &str) -> String {
    fixture_path(&format!("formats/{name}"))
}
