//! Vision towers: a vision-language config.json's `vision_config`, and an mmproj GGUF's `clip.*`
//! keys, as the `VisionTower` the projector memory is sized from.
//!
//! config.json keys are read as llama.cpp's converter reads them (`conversion/gemma.py`
//! `Gemma3VisionModel`, `conversion/qwenvl.py` `Qwen2VLVisionModel`, `conversion/qwen3vl.py`
//! `Qwen3VLVisionModel`), and the GGUF keys are the ones those converters write and
//! `tools/mtmd/clip.cpp` `load_hparams` reads.

use crate::error::FormatError;
use crate::gguf::{GgufHeader, MetaValue};
use headroom_core::memory::projector::{ProjectorKind, VisionTower};
use serde_json::{Map, Value};

fn json_err(field: &str, problem: impl Into<String>) -> FormatError {
    FormatError::Json {
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn u32_of(o: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<u32>, FormatError> {
    match o.get(key).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => {
            let n = v.as_u64().ok_or_else(|| {
                json_err(
                    &format!("{prefix}.{key}"),
                    format!("expected a non-negative integer, found {v}"),
                )
            })?;
            u32::try_from(n)
                .map(Some)
                .map_err(|_| json_err(&format!("{prefix}.{key}"), format!("{n} is too large")))
        }
    }
}

fn u32_req(o: &Map<String, Value>, prefix: &str, key: &str) -> Result<u32, FormatError> {
    u32_of(o, prefix, key)?.ok_or_else(|| json_err(&format!("{prefix}.{key}"), "missing"))
}

fn checked(t: VisionTower, prefix: &str) -> Result<VisionTower, FormatError> {
    t.validate()
        .map_err(|(field, problem)| json_err(&format!("{prefix} ({field})"), problem))?;
    Ok(t)
}

/// The vision tower of a config, when it has one Headroom models: `Ok(None)` for a text-only
/// config or a vision family whose projector is not modelled (see `unmodelled_vision`).
pub fn from_config(v: &Value) -> Result<Option<VisionTower>, FormatError> {
    let Some(top) = v.as_object() else {
        return Err(json_err("(document)", "expected a JSON object"));
    };
    let Some(vc) = top.get("vision_config").and_then(Value::as_object) else {
        return Ok(None);
    };
    let text = top.get("text_config").and_then(Value::as_object);
    let text_hidden = |key: &str| -> Result<u32, FormatError> {
        match text
            .map(|t| u32_of(t, "text_config", key))
            .transpose()?
            .flatten()
        {
            Some(n) => Ok(n),
            None => u32_req(top, "(top level)", key),
        }
    };
    let p = "vision_config";
    let model_type = top.get("model_type").and_then(Value::as_str).unwrap_or("");
    let tower = match model_type {
        "gemma3" => {
            let image_size = u32_req(vc, p, "image_size")?;
            let patch_size = u32_req(vc, p, "patch_size")?;
            if patch_size == 0 || image_size % patch_size != 0 {
                return Err(json_err(
                    "vision_config.patch_size",
                    format!("{patch_size} does not divide the image size {image_size}"),
                ));
            }
            let side = image_size / patch_size;
            // Gemma3VisionModel: the pooling kernel is patches per side over tokens per side,
            // 256 tokens per image unless the config says otherwise.
            let tokens = u32_of(top, "(top level)", "mm_tokens_per_image")?.unwrap_or(256);
            let per_side = (f64::from(tokens)).sqrt() as u32;
            let n_merge = if per_side > 0 && side % per_side == 0 {
                side / per_side
            } else {
                4
            };
            VisionTower {
                kind: ProjectorKind::Gemma3,
                n_layer: u32_req(vc, p, "num_hidden_layers")?,
                n_embd: u32_req(vc, p, "hidden_size")?,
                n_ff: u32_req(vc, p, "intermediate_size")?,
                n_head: u32_req(vc, p, "num_attention_heads")?,
                patch_size,
                image_size,
                n_merge,
                n_embd_text: text_hidden("hidden_size")?,
                n_position: side.saturating_mul(side),
                n_deepstack: 0,
            }
        }
        "qwen2_5_vl" => VisionTower {
            kind: ProjectorKind::Qwen25Vl,
            n_layer: u32_req(vc, p, "depth")?,
            n_embd: u32_req(vc, p, "hidden_size")?,
            n_ff: u32_req(vc, p, "intermediate_size")?,
            n_head: u32_req(vc, p, "num_heads")?,
            patch_size: u32_req(vc, p, "patch_size")?,
            // Qwen2VLVisionModel writes 560 when the config has no image_size.
            image_size: u32_of(vc, p, "image_size")?.unwrap_or(560),
            n_merge: u32_of(vc, p, "spatial_merge_size")?.unwrap_or(2),
            n_embd_text: u32_req(vc, p, "out_hidden_size")?,
            n_position: 0,
            n_deepstack: 0,
        },
        // Qwen3-VL-MoE's tower is Qwen3-VL's (conversion/qwen3vl.py registers both).
        "qwen3_vl" | "qwen3_vl_moe" => {
            let patch_size = u32_req(vc, p, "patch_size")?;
            let n_position = u32_of(vc, p, "num_position_embeddings")?.unwrap_or(2304);
            let deepstack = match vc.get("deepstack_visual_indexes") {
                None | Some(Value::Null) => 0,
                Some(Value::Array(a)) => u32::try_from(a.len()).unwrap_or(u32::MAX),
                Some(other) => {
                    return Err(json_err(
                        "vision_config.deepstack_visual_indexes",
                        format!("expected a list, found {other}"),
                    ))
                }
            };
            VisionTower {
                kind: ProjectorKind::Qwen3Vl,
                n_layer: u32_req(vc, p, "depth")?,
                n_embd: u32_req(vc, p, "hidden_size")?,
                n_ff: u32_req(vc, p, "intermediate_size")?,
                n_head: u32_req(vc, p, "num_heads")?,
                patch_size,
                // Qwen3VLVisionModel: image_size = sqrt(num_position_embeddings) x patch_size.
                image_size: ((f64::from(n_position)).sqrt() as u32).saturating_mul(patch_size),
                n_merge: u32_of(vc, p, "spatial_merge_size")?.unwrap_or(2),
                n_embd_text: u32_req(vc, p, "out_hidden_size")?,
                n_position,
                n_deepstack: deepstack,
            }
        }
        _ => return Ok(None),
    };
    checked(tower, p).map(Some)
}

/// A config with a `vision_config` whose projector Headroom does not size: its model type.
pub fn unmodelled_vision(v: &Value) -> Option<String> {
    let top = v.as_object()?;
    top.get("vision_config")?;
    let t = top.get("model_type").and_then(Value::as_str).unwrap_or("");
    (!matches!(t, "gemma3" | "qwen2_5_vl" | "qwen3_vl" | "qwen3_vl_moe")).then(|| t.to_string())
}

fn meta_u32(h: &GgufHeader, key: &str) -> Result<Option<u32>, FormatError> {
    match h.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| FormatError::Metadata {
                key: key.to_string(),
                problem: format!(
                    "expected a 32-bit unsigned integer, found {}",
                    v.type_name()
                ),
            }),
    }
}

fn meta_req(h: &GgufHeader, key: &str) -> Result<u32, FormatError> {
    meta_u32(h, key)?.ok_or_else(|| FormatError::Metadata {
        key: key.to_string(),
        problem: "missing".into(),
    })
}

/// An mmproj GGUF (`general.architecture = clip`): its `clip.projector_type` and, when that is a
/// projector Headroom models, its vision tower.
#[derive(Clone, Debug, PartialEq)]
pub struct Mmproj {
    pub projector_type: String,
    pub tower: Option<VisionTower>,
}

/// Reads an mmproj header; `Ok(None)` when the file is not one.
pub fn from_gguf(h: &GgufHeader) -> Result<Option<Mmproj>, FormatError> {
    if h.architecture() != Some("clip") {
        return Ok(None);
    }
    let projector_type = match h.get("clip.projector_type") {
        Some(MetaValue::Str(s)) => s.clone(),
        Some(other) => {
            return Err(FormatError::Metadata {
                key: "clip.projector_type".into(),
                problem: format!("expected a string, found {}", other.type_name()),
            })
        }
        None => "(none)".to_string(),
    };
    let Some(kind) = ProjectorKind::from_clip_name(&projector_type) else {
        return Ok(Some(Mmproj {
            projector_type,
            tower: None,
        }));
    };
    let count = |prefix: &str, suffix: &str| {
        h.tensors
            .iter()
            .filter(|t| t.name.starts_with(prefix) && t.name.ends_with(suffix))
            .count() as u32
    };
    let n_position = h
        .tensors
        .iter()
        .find(|t| t.name == "v.position_embd.weight")
        .and_then(|t| t.dims.get(1).copied())
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let n_merge = match kind {
        ProjectorKind::Gemma3 => meta_u32(h, "clip.vision.projector.scale_factor")?.unwrap_or(4),
        _ => meta_u32(h, "clip.vision.spatial_merge_size")?.unwrap_or(2),
    };
    let tower = VisionTower {
        kind,
        n_layer: meta_req(h, "clip.vision.block_count")?,
        n_embd: meta_req(h, "clip.vision.embedding_length")?,
        n_ff: meta_req(h, "clip.vision.feed_forward_length")?,
        n_head: meta_req(h, "clip.vision.attention.head_count")?,
        patch_size: meta_req(h, "clip.vision.patch_size")?,
        image_size: meta_req(h, "clip.vision.image_size")?,
        n_merge,
        n_embd_text: meta_req(h, "clip.vision.projection_dim")?,
        n_position,
        n_deepstack: count("v.deepstack.", ".fc1.weight"),
    };
    tower
        .validate()
        .map_err(|(field, problem)| FormatError::Metadata {
            key: format!("clip.vision ({field})"),
            problem,
        })?;
    Ok(Some(Mmproj {
        projector_type,
        tower: Some(tower),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_config_has_no_tower_and_a_bad_one_names_its_field() {
        let text: Value =
            serde_json::from_str(r#"{"model_type":"qwen3","hidden_size":8}"#).unwrap();
        assert_eq!(from_config(&text).unwrap(), None);
        let bad: Value =
            serde_json::from_str(r#"{"model_type":"qwen2_5_vl","vision_config":{"depth":"many"}}"#)
                .unwrap();
        let e = from_config(&bad).unwrap_err().to_string();
        assert!(e.contains("vision_config.depth"), "{e}");
        let huge: Value = serde_json::from_str(
            r#"{"model_type":"qwen2_5_vl","vision_config":{"depth":4000000,"hidden_size":1280,
            "intermediate_size":3420,"num_heads":16,"patch_size":14,"out_hidden_size":3584}}"#,
        )
        .unwrap();
        let e = from_config(&huge).unwrap_err().to_string();
        assert!(e.contains("n_layer"), "{e}");
    }

    #[test]
    fn an_unmodelled_vision_family_is_named() {
        let v: Value = serde_json::from_str(
            r#"{"model_type":"mistral3","vision_config":{"model_type":"pixtral"}}"#,
        )
        .unwrap();
        assert_eq!(from_config(&v).unwrap(), None);
        assert_eq!(unmodelled_vision(&v).as_deref(), Some("mistral3"));
    }
}
