//! Any UTF-8 text through the importers for llama-bench results (JSON, JSONL, CSV, markdown) and
//! llama-batched-bench tables.
#![no_main]

use headroom_formats::import::{import_str, ImportFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = import_str(ImportFormat::LlamaBenchJson, "fuzz", text);
        let _ = import_str(ImportFormat::LlamaBenchCsv, "fuzz", text);
        let _ = import_str(ImportFormat::LlamaBenchMarkdown, "fuzz", text);
        let _ = import_str(ImportFormat::LlamaBatchedBench, "fuzz", text);
    }
});
