//! Plain-text tables at fixed precision.

use headroom_core::memory::Breakdown;
use headroom_core::Bytes;

/// Left-aligned first column, right-aligned others, two spaces between.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut width = header.iter().map(|h| h.chars().count()).collect::<Vec<_>>();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

pub fn gib(b: Bytes) -> String {
    format!("{:.2}", b.as_gib())
}

/// The cells of a breakdown, with the vision projector's (`mmproj`) column when `projector`.
pub fn breakdown_cells_with(b: &Breakdown, projector: bool) -> Vec<String> {
    let mut cells = vec![
        gib(b.weights),
        gib(b.kv_cache),
        gib(b.compute),
        gib(b.output),
        gib(b.overhead),
    ];
    if projector {
        cells.push(gib(b.projector));
    }
    cells.push(gib(b.total()));
    cells
}
