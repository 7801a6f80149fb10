//! `headroom inspect FILE`: what a model file holds, read from its header only.

use crate::args::InspectArgs;
use crate::model_file;
use anyhow::Result;
use headroom_core::tensors::{n_active_params, n_params, synthesize};
use headroom_core::GgmlType;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Inspection {
    file: String,
    arch: String,
    /// Stored weight format ("Q4_K_M", "safetensors (as stored)"), when the file holds weights.
    stored_as: Option<String>,
    params: u64,
    active_params: u64,
    layers: u32,
    trained_context: u32,
    /// Bytes of the weights as stored, when the file holds them.
    stored_bytes: Option<u64>,
    /// Stored bytes per tensor type (GGUF), or per role.
    bytes_by_kind: BTreeMap<String, u64>,
    spec: headroom_core::ModelSpec,
}

pub fn run(a: &InspectArgs) -> Result<String> {
    let path = &a.file;
    if path.is_dir() && !path.join("config.json").is_file() {
        return folder(path, a.json);
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".safetensors") {
        let h = model_file::read_safetensors(path)?;
        let mut by_dtype: BTreeMap<String, u64> = BTreeMap::new();
        for t in &h.tensors {
            *by_dtype.entry(t.dtype.name().to_string()).or_default() +=
                t.end.saturating_sub(t.begin);
        }
        let out = serde_json::json!({
            "file": path.display().to_string(),
            "tensors": h.tensors.len(),
            "stored_elements": h.n_elements,
            "data_bytes": h.data_bytes,
            "bytes_by_dtype": by_dtype,
            "metadata": h.metadata,
        });
        if a.json {
            return Ok(serde_json::to_string_pretty(&out)? + "\n");
        }
        return Ok(format!(
            "{}: {} tensors, {} stored elements, {:.2} GiB of data ({})\n",
            path.display(),
            h.tensors.len(),
            h.n_elements,
            h.data_bytes as f64 / (1u64 << 30) as f64,
            by_dtype
                .iter()
                .map(|(k, v)| format!("{k} {:.2} GiB", *v as f64 / (1u64 << 30) as f64))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // A GGUF file's header is read once, for both the model and the bytes per tensor type.
    let gguf = if name.ends_with(".gguf") {
        Some(model_file::read_gguf(path)?)
    } else {
        None
    };
    if let Some(h) = &gguf {
        if let Some(mm) = headroom_formats::vision::from_gguf(h)
            .map_err(|e| anyhow::anyhow!("in {}: {e}", path.display()))?
        {
            return mmproj(path, h, &mm, a.json);
        }
    }
    let m = match &gguf {
        Some(h) => model_file::from_gguf_header(path, h)?,
        None => model_file::load(path)?,
    };
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let (params, active, stored_bytes) = match &m.weights {
        Some((w, _)) => {
            for t in w {
                *by_kind
                    .entry(format!("{:?}", t.role).to_lowercase())
                    .or_default() += t.bytes;
            }
            let ts = synthesize(&m.spec, GgmlType::F16);
            (
                w.iter().map(|t| t.n_elements).sum(),
                n_active_params(&m.spec, &ts),
                Some(w.iter().map(|t| t.bytes).sum()),
            )
        }
        None => {
            let ts = synthesize(&m.spec, GgmlType::F16);
            (n_params(&ts), n_active_params(&m.spec, &ts), None)
        }
    };
    if let Some(h) = &gguf {
        by_kind.clear();
        for t in &h.tensors {
            *by_kind.entry(t.ty.name().to_string()).or_default() += t.bytes();
        }
    }
    let out = Inspection {
        file: path.display().to_string(),
        arch: m.spec.arch.name().to_string(),
        stored_as: m.weights.as_ref().map(|(_, l)| l.clone()),
        params,
        active_params: active,
        layers: m.spec.n_layer,
        trained_context: m.spec.n_ctx_train,
        stored_bytes,
        bytes_by_kind: by_kind,
        spec: m.spec.clone(),
    };
    if a.json {
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let mut s = format!(
        "{}: {} with {:.2}B parameters ({:.2}B active), {} layers, trained context {}\n",
        out.file,
        out.arch,
        out.params as f64 / 1e9,
        out.active_params as f64 / 1e9,
        out.layers,
        out.trained_context
    );
    if let (Some(b), Some(label)) = (out.stored_bytes, &out.stored_as) {
        s += &format!(
            "stored as {label}: {:.2} GiB\n",
            b as f64 / (1u64 << 30) as f64
        );
        for (k, v) in &out.bytes_by_kind {
            s += &format!("  {k:<12} {:>10.1} MiB\n", *v as f64 / (1u64 << 20) as f64);
        }
    }
    Ok(s)
}

/// One model found under a folder, as `inspect DIR` lists it.
#[derive(Serialize)]
struct FoundModel {
    /// The path under the folder, `org/name` (Hugging Face cache) or `NAME:TAG` (Ollama).
    name: String,
    path: String,
    arch: String,
    stored_as: Option<String>,
    params: u64,
    stored_bytes: Option<u64>,
    layers: u32,
    trained_context: u32,
}

/// `inspect DIR`: one line per model under the folder, then what could not be read.
fn folder(dir: &std::path::Path, json: bool) -> Result<String> {
    let (loaded, warnings) = crate::models_dir::load_all(dir)?;
    let models: Vec<FoundModel> = loaded
        .into_iter()
        .map(|l| {
            let params = match &l.model.weights {
                Some((w, _)) => w.iter().map(|t| t.n_elements).sum(),
                None => n_params(&synthesize(&l.model.spec, GgmlType::F16)),
            };
            FoundModel {
                name: l.name,
                path: l.path.display().to_string(),
                arch: l.model.spec.arch.name().to_string(),
                stored_as: l
                    .model
                    .weights
                    .as_ref()
                    .map(|(_, q)| q.clone())
                    .or_else(|| l.model.native_quant.map(|q| q.label())),
                params,
                stored_bytes: l
                    .model
                    .weights
                    .as_ref()
                    .map(|(w, _)| w.iter().map(|t| t.bytes).sum()),
                layers: l.model.spec.n_layer,
                trained_context: l.model.spec.n_ctx_train,
            }
        })
        .collect();
    if json {
        let out = serde_json::json!({ "models": models, "warnings": warnings });
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let mut s = String::new();
    if models.is_empty() {
        s += &format!("no models found under {}\n", dir.display());
    }
    for m in &models {
        s += &format!(
            "{}: {} {:.2}B parameters, {}{}, {} layers, trained context {} ({})\n",
            m.name,
            m.arch,
            m.params as f64 / 1e9,
            m.stored_as.as_deref().unwrap_or("format not stated"),
            m.stored_bytes.map_or(String::new(), |b| format!(
                " {:.2} GiB",
                b as f64 / (1u64 << 30) as f64
            )),
            m.layers,
            m.trained_context,
            m.path
        );
    }
    for w in &warnings {
        s += &format!("warning: {w}\n");
    }
    Ok(s)
}

/// An mmproj GGUF (`general.architecture = clip`): the projector it holds, its stored bytes, and
/// for a projector Headroom sizes, the tower and the clip compute buffer llama.cpp reserves.
fn mmproj(
    path: &std::path::Path,
    h: &headroom_formats::gguf::GgufHeader,
    mm: &headroom_formats::vision::Mmproj,
    json: bool,
) -> Result<String> {
    use headroom_core::memory::projector;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for t in &h.tensors {
        *by_type.entry(t.ty.name().to_string()).or_default() += t.bytes();
    }
    let stored: u64 = by_type.values().sum();
    let compute = mm.tower.as_ref().map(projector::compute_buffer);
    if json {
        let out = serde_json::json!({
            "file": path.display().to_string(),
            "kind": "mmproj",
            "projector_type": mm.projector_type,
            "stored_bytes": stored,
            "bytes_by_kind": by_type,
            "tower": mm.tower,
            "compute_buffer_bytes": compute.map(|b| b.0),
        });
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let mut s = format!(
        "{}: mmproj (vision projector `{}`) for llama.cpp's --mmproj, {:.2} GiB stored ({})\n",
        path.display(),
        mm.projector_type,
        gib(stored),
        by_type
            .iter()
            .map(|(k, v)| format!("{k} {:.2} GiB", gib(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match (&mm.tower, compute) {
        (Some(t), Some(c)) => s.push_str(&format!(
            "tower: {} layers x {} wide (MLP {}), patch {}, writes {} wide; clip compute buffer {} for its {} px warmup image\n",
            t.n_layer, t.n_embd, t.n_ff, t.patch_size, t.n_embd_text, c, t.warmup_image_size()
        )),
        _ => s.push_str(&format!(
            "Headroom does not size the `{}` projector (it sizes gemma3, qwen2.5vl_merger, qwen3vl_merger)\n",
            mm.projector_type
        )),
    }
    Ok(s)
}
