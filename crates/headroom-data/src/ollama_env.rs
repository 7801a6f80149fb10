//! Ollama's settings from a request: its `OLLAMA_*` variables (`env`) and the flags that stand for
//! its options (`ctx` is `num_ctx`, `gpu_layers` is `num_gpu`, `batch` is `num_batch`).
//! Variables are read as ollama/ollama's `envconfig/config.go` reads them (commit
//! fb30760996871fa9460115c753afd2c60d4ab0f7).

use crate::request::{RequestError, ScenarioRequest};
use headroom_core::memory::kv_cache::CACHE_TYPES;
use headroom_core::memory::ollama::OllamaSettings;
use headroom_core::quant::GgmlType;

/// Variables Ollama reads that change nothing Headroom models (where models live, the host, how
/// long a model stays loaded).
const NO_EFFECT: [&str; 12] = [
    "OLLAMA_HOST",
    "OLLAMA_MODELS",
    "OLLAMA_KEEP_ALIVE",
    "OLLAMA_MAX_LOADED_MODELS",
    "OLLAMA_MAX_QUEUE",
    "OLLAMA_ORIGINS",
    "OLLAMA_DEBUG",
    "OLLAMA_NOPRUNE",
    "OLLAMA_NOHISTORY",
    "OLLAMA_SCHED_SPREAD",
    "OLLAMA_LOAD_TIMEOUT",
    "OLLAMA_TMPDIR",
];

const MAX_CTX: u32 = 1 << 24;

fn bad(field: &'static str, problem: String) -> RequestError {
    RequestError { field, problem }
}

/// Go's `strconv.ParseBool`, which `envconfig.BoolWithDefault` uses.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn uint(key: &str, v: &str, max: u64) -> Result<u64, RequestError> {
    let n: u64 = v.trim().parse().map_err(|_| {
        bad(
            "env",
            format!("{key}=`{v}` is not a whole number of {}", unit(key)),
        )
    })?;
    if n > max {
        return Err(bad("env", format!("{key}={n} is over {max}")));
    }
    Ok(n)
}

fn unit(key: &str) -> &'static str {
    match key {
        "OLLAMA_GPU_OVERHEAD" => "bytes",
        "OLLAMA_NUM_PARALLEL" => "slots",
        _ => "tokens",
    }
}

fn kv_type(field: &'static str, v: &str) -> Result<Option<GgmlType>, RequestError> {
    let l = v.trim().to_ascii_lowercase();
    if l.is_empty() {
        return Ok(None);
    }
    GgmlType::from_name(&l)
        .filter(|t| CACHE_TYPES.contains(t))
        .map(Some)
        .ok_or_else(|| {
            bad(
                field,
                format!("`{v}` is not a KV cache type llama-server takes (f16, q8_0, q4_0, ...)"),
            )
        })
}

/// Ollama's settings for a request, with notes for variables that change nothing here.
pub fn settings(
    r: &ScenarioRequest,
    notes: &mut Vec<String>,
) -> Result<OllamaSettings, RequestError> {
    let mut o = OllamaSettings::default();
    for (key, v) in r.env.iter().flatten() {
        match key.as_str() {
            "OLLAMA_CONTEXT_LENGTH" => {
                o.context_length = Some(uint(key, v, u64::from(MAX_CTX))? as u32)
            }
            // envconfig.Uint; the scheduler takes max(OLLAMA_NUM_PARALLEL, 1)
            "OLLAMA_NUM_PARALLEL" => {
                o.num_parallel = Some((uint(key, v, 4096)? as u32).max(1));
            }
            "OLLAMA_KV_CACHE_TYPE" => o.kv_cache_type = kv_type("env", v)?,
            "OLLAMA_FLASH_ATTENTION" => {
                o.flash_attention = Some(parse_bool(v.trim()).ok_or_else(|| {
                    bad(
                        "env",
                        format!("OLLAMA_FLASH_ATTENTION=`{v}` is not a boolean (1, true, 0, false)"),
                    )
                })?)
            }
            "OLLAMA_GPU_OVERHEAD" => o.gpu_overhead = Some(uint(key, v, 1 << 50)?),
            k if NO_EFFECT.contains(&k) => notes.push(format!(
                "{k} does not change memory or speed here and is not modelled"
            )),
            k if k.starts_with("OLLAMA_") => notes.push(format!(
                "{k} is not one of the Ollama variables Headroom models (OLLAMA_CONTEXT_LENGTH, OLLAMA_NUM_PARALLEL, OLLAMA_KV_CACHE_TYPE, OLLAMA_FLASH_ATTENTION, OLLAMA_GPU_OVERHEAD); ignored"
            )),
            k => {
                return Err(bad(
                    "env",
                    format!("`{k}` is not an Ollama variable (OLLAMA_...)"),
                ))
            }
        }
    }
    if let Some(c) = r.ctx {
        if c > MAX_CTX {
            return Err(bad("ctx", format!("{c} is outside 0..={MAX_CTX}")));
        }
        o.num_ctx = Some(if c == 0 {
            // Headroom's 0 is the trained length; Ollama caps num_ctx there
            notes.push("--ctx 0 for Ollama: num_ctx set to the model's trained length".into());
            u32::MAX
        } else {
            c
        });
    }
    if let Some(p) = r.parallel {
        match o.num_parallel {
            Some(e) if e != p.max(1) => {
                return Err(bad(
                    "parallel",
                    format!("{p} disagrees with OLLAMA_NUM_PARALLEL={e}; give one"),
                ))
            }
            _ => o.num_parallel = Some(p.clamp(1, 4096)),
        }
    }
    match (&r.cache_type_k, &r.cache_type_v) {
        (None, None) => {}
        (k, v) if k.is_some() && v.is_some() && k != v => {
            return Err(bad(
                "cache_type_v",
                "Ollama sets one type for K and V (OLLAMA_KV_CACHE_TYPE)".into(),
            ))
        }
        (k, v) => {
            let t = kv_type("cache_type_k", k.as_deref().or(v.as_deref()).unwrap_or(""))?;
            if o.kv_cache_type.is_some() && o.kv_cache_type != t {
                return Err(bad(
                    "cache_type_k",
                    "disagrees with OLLAMA_KV_CACHE_TYPE; give one".into(),
                ));
            }
            o.kv_cache_type = t;
        }
    }
    if let Some(f) = r.flash_attn {
        if o.flash_attention.is_some_and(|e| e != f) {
            return Err(bad(
                "flash_attn",
                "disagrees with OLLAMA_FLASH_ATTENTION; give one".into(),
            ));
        }
        o.flash_attention = Some(f);
    }
    if r.ubatch.is_some() {
        return Err(bad(
            "ubatch",
            "Ollama passes one batch size as both -b and -ub: give --batch (num_batch)".into(),
        ));
    }
    o.num_gpu = r.gpu_layers;
    o.num_batch = match r.batch {
        Some(b) if !(1..=1 << 20).contains(&b) => {
            return Err(bad("batch", format!("{b} is outside 1..=1048576")))
        }
        b => b,
    };
    if o.flash_attention == Some(false)
        && o.kv_cache_type
            .is_some_and(|t| t != GgmlType::F16 && t != GgmlType::F32)
    {
        notes.push(
            "a quantized V cache needs flash attention in llama-server; with OLLAMA_FLASH_ATTENTION=0 it fails to start"
                .into(),
        );
    }
    Ok(o)
}
