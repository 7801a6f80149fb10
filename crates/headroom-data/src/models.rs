//! A catalog model file: the public config.json, where it came from, and names to find it by.

use crate::DataError;
use headroom_core::memory::projector::VisionTower;
use headroom_core::quant::Quant;
use headroom_core::ModelSpec;
use headroom_formats::{hf_config, vision};
use serde::{Deserialize, Serialize};

/// The file as written in data/models/.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    pub id: String,
    pub hf_repo: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The config.json's URL (empty in a build without `provenance`, as is `transcribed_from`).
    #[cfg_attr(not(feature = "provenance"), serde(default))]
    pub source: String,
    #[cfg_attr(not(feature = "provenance"), serde(default))]
    pub transcribed_from: String,
    pub safetensors_total_bytes: Option<u64>,
    pub safetensors_total_bytes_source: Option<String>,
    pub config: serde_json::Value,
}

/// A parsed catalog model.
#[derive(Clone, Debug)]
pub struct ModelEntry {
    pub record: ModelRecord,
    pub spec: ModelSpec,
    /// The format the published weights use, when the config says (FP8 for DeepSeek-V3, MXFP4 for gpt-oss).
    pub native_quant: Option<Quant>,
    /// A vision-language model's tower, which sizes its projector (`mmproj`).
    pub vision: Option<VisionTower>,
}

impl ModelEntry {
    pub fn id(&self) -> &str {
        &self.record.id
    }
}

pub(crate) fn parse(stem: &str, text: &str) -> Result<ModelEntry, DataError> {
    let err = |problem: String| DataError {
        file: format!("models/{stem}.json"),
        problem,
    };
    let record: ModelRecord = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if record.id != stem {
        return Err(err(format!(
            "id `{}` does not match the file name",
            record.id
        )));
    }
    if cfg!(feature = "provenance") && !record.source.starts_with("https://") {
        return Err(err("source must be the config.json's URL".into()));
    }
    let cfg = hf_config::from_value(&record.config).map_err(|e| err(e.to_string()))?;
    let vision = vision::from_config(&record.config).map_err(|e| err(e.to_string()))?;
    let mut spec = cfg.spec;
    spec.name = record.name.clone();
    Ok(ModelEntry {
        record,
        spec,
        native_quant: cfg.quant,
        vision,
    })
}
