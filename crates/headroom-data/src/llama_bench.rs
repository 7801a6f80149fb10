//! The public llama-bench tables (shared/validation `gpu_llm_bench.csv` and
//! `apple_silicon_llamacpp.csv`) mapped onto the catalog: their device and model names as catalog
//! ids, and the llama-bench settings each row ran with, rebuilt as a scenario. The speed report and
//! `headroom validate` both build their scenarios here.

use crate::Catalog;
use headroom_core::measure::{MeasurementRecord, SourceKind};
use headroom_core::memory::llama_cpp::LlamaCppSettings;
use headroom_core::plan::{Runtime, Scenario};
use headroom_core::quant::{stored_tensors, GgmlType, Quant, WeightSummary};
use headroom_core::speed::least_squares::BenchTest;

/// CSV device names -> catalog hardware ids. Every device in the files has a catalog entry.
pub const DEVICES: &[(&str, &str)] = &[
    ("3070", "rtx-3070"),
    ("3080", "rtx-3080"),
    ("4080", "rtx-4080"),
    ("3090", "rtx-3090"),
    ("4090", "rtx-4090"),
    ("RTX A6000", "rtx-a6000"),
    ("L40S", "l40s"),
    ("A100 PCIe", "a100-80gb-pcie"),
    ("M1 7-Core GPU", "m1"),
    ("M1 Max 32-Core GPU", "m1-max"),
    ("Apple M2 Ultra (Mac Studio \"gg-studio\")", "m2-ultra"),
    ("Apple M1", "m1"),
    ("Apple M1 Pro", "m1-pro"),
    ("Apple M1 Max", "m1-max"),
    ("Apple M1 Ultra", "m1-ultra"),
    ("Apple M2", "m2"),
    ("Apple M2 Pro", "m2-pro"),
    ("Apple M2 Max", "m2-max"),
    ("Apple M2 Ultra", "m2-ultra"),
];

/// GPU cores stated by the device name where the CSV has no column for them.
const NAMED_CORES: &[(&str, u32)] = &[("M1 7-Core GPU", 7), ("M1 Max 32-Core GPU", 32)];

/// CSV model names (up to the first " (") -> catalog model ids. Qwen2.5-Coder-7B has the same
/// config as Qwen2.5-7B (hidden 3584, 28 layers, 4 kv heads, ff 18944, vocab 152064), so it maps there.
pub const MODELS: &[(&str, &str)] = &[
    ("Meta-Llama-3-8B", "llama-3-8b"),
    ("Meta-Llama-3-70B", "llama-3-70b"),
    ("LLaMA 2 7B", "llama-2-7b"),
    ("gpt-oss-20b", "gpt-oss-20b"),
    ("gpt-oss-120b", "gpt-oss-120b"),
    ("Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder-30b-a3b"),
    ("Qwen2.5-Coder-7B", "qwen2.5-7b"),
    ("gemma-3-4b-it-qat", "gemma-3-4b"),
    ("GLM-4.7-Flash", "glm-4.7-flash"),
];

fn lookup<'a>(table: &'a [(&str, &str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The catalog hardware id of a device name as the tables write it.
pub fn device_id(name: &str) -> Option<&'static str> {
    lookup(DEVICES, name)
}

/// The catalog model id of a model cell (`LLaMA 2 7B (llama-7b-v2)`: the name before " (").
pub fn model_id(cell: &str) -> Option<&'static str> {
    lookup(MODELS, model_key(cell))
}

/// A model cell up to its first " (".
pub fn model_key(cell: &str) -> &str {
    cell.split(" (").next().unwrap_or(cell).trim()
}

/// The GPU core count a device name states (`M1 7-Core GPU`), where the table has no column for it.
pub fn named_cores(name: &str) -> Option<u32> {
    NAMED_CORES
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, c)| *c)
}

/// The quantization label of a quant cell (`MXFP4 (MoE, 11.27 GiB)` -> `MXFP4`).
pub fn quant_key(cell: &str) -> &str {
    cell.split(' ').next().unwrap_or_default()
}

/// Rows the source marks as a likely measurement artifact.
pub fn is_suspicious(notes: &str) -> bool {
    notes.starts_with("SUSPICIOUS")
}

/// Rows from llama.cpp's benches/ (newer build, `-ub 2048 -fa 1`).
pub fn is_upstream_bench(notes: &str) -> bool {
    notes.contains("-ub 2048 -fa 1")
}

/// One table row resolved to the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    pub device_id: String,
    pub n_devices: u32,
    /// The chip's GPU core count where the row gives it (Apple Silicon).
    pub gpu_cores: Option<u32>,
    pub model_id: String,
    pub quant: String,
    pub notes: String,
}

impl BenchRow {
    /// A record imported from one of the two tables, resolved; `None` for any other record or a
    /// device or model the tables' names do not map.
    pub fn from_record(r: &MeasurementRecord) -> Option<BenchRow> {
        if r.source.kind != SourceKind::ValidationCsv {
            return None;
        }
        let device = r.devices.first()?;
        let cores = r
            .notes
            .iter()
            .find_map(|n| n.strip_prefix("gpu_cores="))
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok());
        Some(BenchRow {
            device_id: device_id(&device.name)?.to_string(),
            n_devices: r.settings.n_devices.unwrap_or(1),
            gpu_cores: cores.or_else(|| named_cores(&device.name)),
            model_id: model_id(r.model.as_deref()?)?.to_string(),
            quant: quant_key(r.quant.as_deref()?).to_string(),
            notes: r.notes.first().cloned().unwrap_or_default(),
        })
    }

    pub fn is_suspicious(&self) -> bool {
        is_suspicious(&self.notes)
    }

    pub fn is_upstream_bench(&self) -> bool {
        is_upstream_bench(&self.notes)
    }

    /// The weights' quantization (the tables write gpt-oss's MoE MXFP4 as `MXFP4`).
    pub fn quant(&self) -> Option<Quant> {
        let q = if self.quant.eq_ignore_ascii_case("MXFP4") {
            "MXFP4_MOE"
        } else {
            self.quant.as_str()
        };
        Quant::parse(q).ok()
    }
}

/// llama-bench's settings for one test: context = depth + tokens, batch 2048, f16 cache; the
/// builds of the tables ran `-ub 512` without flash attention, llama.cpp's benches/ `-ub 2048 -fa 1`.
pub fn settings(upstream: bool, test: BenchTest) -> LlamaCppSettings {
    LlamaCppSettings {
        n_ctx: test.depth + test.tokens,
        n_batch: 2048,
        n_ubatch: if upstream { 2048 } else { 512 },
        flash_attn: upstream,
        type_k: GgmlType::F16,
        type_v: GgmlType::F16,
        ..LlamaCppSettings::default()
    }
}

/// The scenario a row was measured in: llama-bench with all layers on the GPUs (layer split over
/// `n_devices` identical cards), the chip's own GPU core count where the row gives it.
pub fn scenario(cat: &Catalog, row: &BenchRow, test: BenchTest) -> Option<Scenario> {
    let mut dev = cat.hardware(&row.device_id).ok()?;
    if let Some(c) = row.gpu_cores {
        dev.gpu_cores = Some(c);
    }
    let model = cat.model(&row.model_id).ok()?.spec.clone();
    let q = row.quant()?;
    let weights = stored_tensors(&model, &q);
    Some(Scenario {
        weight_summary: WeightSummary::new(model.n_layer, &weights),
        weights,
        quant: q.label(),
        model,
        devices: vec![dev; row.n_devices.max(1) as usize],
        host_ram: None,
        wired_limit: None,
        runtime: Runtime::LlamaCpp(settings(row.is_upstream_bench(), test)),
        beyond_trained: true,
        notes: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_settings() {
        assert_eq!(model_id("LLaMA 2 7B (llama-7b-v2)"), Some("llama-2-7b"));
        assert_eq!(
            model_id("gpt-oss-20b (ggml-org/gpt-oss-20b-GGUF)"),
            Some("gpt-oss-20b")
        );
        assert_eq!(device_id("Apple M1 Max"), Some("m1-max"));
        assert_eq!(device_id("Apple M9"), None);
        assert_eq!(quant_key("MXFP4 (MoE, 11.27 GiB)"), "MXFP4");
        let t = BenchTest::parse("pp2048@d4096").unwrap();
        let s = settings(true, t);
        assert_eq!((s.n_ctx, s.n_ubatch, s.flash_attn), (6144, 2048, true));
        let s = settings(false, BenchTest::parse("tg128").unwrap());
        assert_eq!((s.n_ctx, s.n_ubatch, s.flash_attn), (128, 512, false));
    }
}
