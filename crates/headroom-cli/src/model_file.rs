//! Reads a model the user points at — a GGUF file, a config.json, or a folder holding a config.json
//! and safetensors shards — reading headers only, with every read bounded.

use anyhow::{bail, Context, Result};
use headroom_core::quant::{stored_from_gguf, StoredTensor};
use headroom_data::SuppliedModel;
use headroom_formats::safetensors::{self, SafetensorsHeader};
use headroom_formats::{gguf, gguf_spec, hf_config, hf_weights, GgufHeader};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most of a GGUF file read for its header (tokenizer arrays of large vocabularies included).
const MAX_GGUF_HEADER_READ: u64 = 512 << 20;
/// The most safetensors shards read beside a config.json.
const MAX_SHARDS: usize = 512;

/// Reads at most `limit` bytes from the start of a file: user files may be huge or hostile.
pub fn read_prefix(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(limit)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(buf)
}

/// The first read of a GGUF file: enough for most headers without their tokenizer arrays; a larger
/// header is read on as far as the parser says it needs.
const FIRST_GGUF_READ: u64 = 1 << 20;

/// A GGUF header, reading more of the file only as far as the header says it needs. The file is
/// opened once and each retry reads only the bytes after those already held.
pub fn read_gguf(path: &Path) -> Result<GgufHeader> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = f
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len();
    let mut want = FIRST_GGUF_READ.min(size);
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let held = bytes.len() as u64;
        if want > held {
            bytes.reserve_exact((want - held) as usize);
            (&mut f)
                .take(want - held)
                .read_to_end(&mut bytes)
                .with_context(|| format!("cannot read {}", path.display()))?;
        }
        match gguf::parse_header(&bytes) {
            Ok(h) => return Ok(h),
            Err(e) => match e.bytes_needed() {
                Some(n) if (bytes.len() as u64) < size && n > bytes.len() as u64 => {
                    if n > MAX_GGUF_HEADER_READ {
                        bail!("{}: the GGUF header would need {n} bytes, over the {MAX_GGUF_HEADER_READ}-byte limit", path.display());
                    }
                    // Twice what is held at least, so a header read piece by piece costs
                    // O(log) parses.
                    want = n.max(want * 2).min(size);
                }
                _ => return Err(anyhow::Error::new(e).context(format!("in {}", path.display()))),
            },
        }
    }
}

/// A safetensors file's header (the 8-byte length and the JSON after it).
pub fn read_safetensors(path: &Path) -> Result<SafetensorsHeader> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = f.metadata()?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .with_context(|| format!("{}: shorter than a safetensors header", path.display()))?;
    let n = u64::from_le_bytes(len).min(safetensors::MAX_HEADER_BYTES + 1);
    f.seek(SeekFrom::Start(0))?;
    let bytes = read_prefix(path, 8 + n)?;
    safetensors::parse_header(&bytes, Some(size)).with_context(|| format!("in {}", path.display()))
}

fn shards_beside(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    v.sort();
    if v.len() > MAX_SHARDS {
        bail!(
            "{}: {} safetensors files, over the limit of {MAX_SHARDS}",
            dir.display(),
            v.len()
        );
    }
    Ok(v)
}

/// A GGUF file whatever its name (Ollama's blobs have none).
pub fn load_gguf(file: &Path) -> Result<SuppliedModel> {
    from_gguf_header(file, &read_gguf(file)?)
}

/// The model a GGUF header describes (`file` names it in errors).
pub fn from_gguf_header(file: &Path, h: &GgufHeader) -> Result<SuppliedModel> {
    if h.architecture() == Some("clip") {
        anyhow::bail!(
            "{} is an mmproj (a vision projector, general.architecture = clip), not a language model: \
             give the model with --model and add --mmproj (`headroom inspect` shows what the file holds)",
            file.display()
        );
    }
    let spec = gguf_spec::to_model_spec(h).with_context(|| format!("in {}", file.display()))?;
    let label =
        gguf_spec::file_type(h).map_or_else(|| "GGUF".to_string(), |m| m.name().to_string());
    Ok(SuppliedModel {
        spec,
        weights: Some((stored_from_gguf(&h.tensors), label)),
        native_quant: None,
    })
}

pub fn load(path: &Path) -> Result<SuppliedModel> {
    let file = if path.is_dir() {
        path.join("config.json")
    } else {
        path.to_path_buf()
    };
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.ends_with(".gguf") {
        return load_gguf(&file);
    }
    if name.ends_with(".json") {
        let bytes = read_prefix(&file, hf_config::MAX_CONFIG_BYTES as u64 + 1)?;
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
        let cfg = hf_config::parse(text).with_context(|| format!("in {}", file.display()))?;
        let mut spec = cfg.spec;
        let dir = file.parent().unwrap_or(Path::new("."));
        if let Some(d) = dir.file_name().and_then(|n| n.to_str()) {
            spec.name = d.to_string();
        }
        // Safetensors shards beside the config give the exact stored bytes.
        let mut stored: Vec<StoredTensor> = Vec::new();
        for shard in shards_beside(dir)? {
            stored.extend(hf_weights::stored_tensors(
                &read_safetensors(&shard)?.tensors,
            ));
        }
        let weights = (!stored.is_empty()).then(|| (stored, "safetensors (as stored)".to_string()));
        return Ok(SuppliedModel {
            spec,
            weights,
            native_quant: cfg.quant,
        });
    }
    bail!(
        "{}: expected a .gguf file, a config.json, or a folder holding a config.json",
        file.display()
    )
}
