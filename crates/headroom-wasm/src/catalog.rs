//! The catalog as the page lists it: models and devices with the fields a picker shows.

use crate::error::WebError;
use headroom_core::quant::{stored_tensors, GgufMix, Quant};
use headroom_core::{DeviceKind, ModelSpec};
use headroom_data::ModelEntry;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct ModelItem {
    pub id: String,
    pub name: String,
    pub hf_repo: String,
    pub aliases: Vec<String>,
    pub arch: String,
    pub n_layer: u32,
    pub n_ctx_train: u32,
    /// Parameter count, from the tensor shapes.
    pub params: u64,
    pub moe: bool,
    pub native_quant: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HardwareItem {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub vendor: String,
    pub kind: DeviceKind,
    pub backend: String,
    pub memory_gib: Option<f64>,
    pub memory_options_gib: Vec<f64>,
    pub bandwidth_gbs: f64,
    pub fp16_tflops: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CatalogList {
    pub models: Vec<ModelItem>,
    pub hardware: Vec<HardwareItem>,
    pub runtimes: Vec<&'static str>,
    /// GGUF mixes followed by the other formats' names, as `--quant` takes them.
    pub quants: Vec<String>,
    pub cache_types: Vec<&'static str>,
}

/// Parameters, counted from the tensor shapes.
pub fn params(spec: &ModelSpec) -> u64 {
    stored_tensors(spec, &Quant::Float16)
        .iter()
        .map(|t| t.n_elements)
        .sum()
}

/// A catalog model with its parameter count.
pub fn item(m: &ModelEntry) -> ModelItem {
    ModelItem {
        params: params(&m.spec),
        ..list_item(m)
    }
}

fn list_item(m: &ModelEntry) -> ModelItem {
    ModelItem {
        id: m.record.id.clone(),
        name: m.record.name.clone(),
        hf_repo: m.record.hf_repo.clone(),
        aliases: m.record.aliases.clone(),
        arch: m.spec.arch.name().to_string(),
        n_layer: m.spec.n_layer,
        n_ctx_train: m.spec.n_ctx_train,
        params: 0,
        moe: m.spec.moe.is_some(),
        native_quant: m.native_quant.map(|q| q.label()),
    }
}

pub fn list() -> Result<CatalogList, WebError> {
    let cat = headroom_data::catalog()?;
    let models = cat.models.iter().map(list_item).collect();
    let hardware = cat
        .hardware
        .iter()
        .map(|h| HardwareItem {
            id: h.record.id.clone(),
            name: h.record.name.clone(),
            aliases: h.record.aliases.clone(),
            vendor: h.record.vendor.clone(),
            kind: h.record.kind,
            backend: h.record.backend.name().to_string(),
            memory_gib: h.record.memory_gib,
            memory_options_gib: h.record.memory_options_gib.clone().unwrap_or_default(),
            bandwidth_gbs: h.record.bandwidth_gbs,
            fp16_tflops: h.record.fp16_tflops,
        })
        .collect();
    let mut quants: Vec<String> = GgufMix::all().map(|m| m.name().to_string()).collect();
    quants.extend(
        [
            "f16",
            "f32",
            "mlx-4bit",
            "mlx-8bit",
            "gptq-4bit",
            "awq-4bit",
            "fp8",
            "nf4",
            "exl2-4.5",
        ]
        .map(String::from),
    );
    Ok(CatalogList {
        models,
        hardware,
        runtimes: vec!["llama.cpp", "vllm", "mlx", "transformers"],
        quants,
        cache_types: vec![
            "f16", "bf16", "f32", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl",
        ],
    })
}
