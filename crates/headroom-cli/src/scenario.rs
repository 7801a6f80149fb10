//! Turns command-line arguments (and a model file, when one is named) into a core `Scenario`.

use crate::args::{OnOff, ScenarioArgs, YesNo};
use crate::model_file;
use anyhow::{bail, Context, Result};
use headroom_core::Scenario;
use headroom_data::request::{CpuNumbers, CustomDevice};
use headroom_data::{ScenarioRequest, SuppliedModel};
use std::path::Path;

pub fn request(a: &ScenarioArgs) -> Result<ScenarioRequest> {
    let custom = match &a.custom {
        None => None,
        Some(s) => {
            let parts: Vec<&str> = s.split(',').map(str::trim).collect();
            let num = |i: usize, what: &str| -> Result<f64> {
                parts[i]
                    .parse::<f64>()
                    .with_context(|| format!("--custom: {what} `{}` is not a number", parts[i]))
            };
            if !(2..=3).contains(&parts.len()) {
                bail!("--custom takes MEMORY_GIB,BANDWIDTH_GBS[,FP16_TFLOPS], got `{s}`");
            }
            Some(CustomDevice {
                name: None,
                kind: None,
                memory_gib: num(0, "memory")?,
                bandwidth_gbs: num(1, "bandwidth")?,
                fp16_tflops: if parts.len() == 3 {
                    Some(num(2, "TFLOPS")?)
                } else {
                    None
                },
            })
        }
    };
    let hardware: Vec<String> = a
        .hardware
        .as_deref()
        .map(|h| {
            h.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let cpu = a.cpu.as_deref().map(cpu_numbers).transpose()?;
    if hardware.is_empty() && custom.is_none() && cpu.is_none() {
        bail!("give --hardware ID (see `headroom hardware`), --custom MEMORY_GIB,BANDWIDTH_GBS or --cpu GBS,THREADS");
    }
    Ok(ScenarioRequest {
        model: a.model.clone(),
        quant: a.quant.clone(),
        hardware,
        gpus: a.gpus,
        custom_device: custom,
        cpu,
        host: a.host.clone(),
        memory_gib: a.memory,
        ram_gib: a.ram,
        wired_limit_mb: a.wired_limit_mb,
        runtime: a.runtime.clone(),
        backend: a.backend.clone(),
        ctx: a.ctx,
        batch: a.batch,
        ubatch: a.ubatch,
        cache_type_k: a.cache_type_k.clone(),
        cache_type_v: a.cache_type_v.clone(),
        flash_attn: a.flash_attn.map(|f| f == OnOff::On),
        gpu_layers: a.gpu_layers,
        parallel: a.parallel,
        cpu_moe: a.cpu_moe.then_some(true),
        n_cpu_moe: a.n_cpu_moe,
        repack: a.no_repack.then_some(false),
        swa_full: a.swa_full.then_some(true),
        gpu_memory_utilization: a.gpu_memory_utilization,
        max_num_seqs: a.max_num_seqs,
        max_num_batched_tokens: a.max_num_batched_tokens,
        kv_cache_dtype: a.kv_cache_dtype.clone(),
        tensor_parallel: a.tensor_parallel,
        attention: a.attention.clone(),
        kv_bits: a.kv_bits,
        beyond_trained: a.beyond_trained.then_some(true),
        mmproj: a.mmproj.then_some(true),
        mmproj_type: a.mmproj_type.clone(),
        mmproj_offload: a.no_mmproj_offload.then_some(false),
        params: a.params.clone(),
        os: a.os.clone(),
        display_gpu: a.display_gpu.map(|d| d == YesNo::Yes),
        env: env(&a.env)?,
    })
}

/// `--env KEY=VALUE`, each given once.
fn env(pairs: &[String]) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut out = std::collections::BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--env takes KEY=VALUE (OLLAMA_NUM_PARALLEL=4), got `{p}`");
        };
        let k = k.trim();
        if out.insert(k.to_string(), v.to_string()).is_some() {
            bail!("--env: {k} given twice");
        }
    }
    Ok(Some(out))
}

/// `--cpu GBS,THREADS[,ISA,GHZ]`.
fn cpu_numbers(s: &str) -> Result<CpuNumbers> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if !(parts.len() == 2 || parts.len() == 4) {
        bail!(
            "--cpu takes GBS,THREADS or GBS,THREADS,ISA,GHZ (e.g. 83.2,16,avx512,4.5), got `{s}`"
        );
    }
    let bandwidth_gbs = parts[0]
        .parse::<f64>()
        .with_context(|| format!("--cpu: bandwidth `{}` is not a number of GB/s", parts[0]))?;
    let threads = parts[1]
        .parse::<u32>()
        .with_context(|| format!("--cpu: threads `{}` is not a whole number", parts[1]))?;
    let (isa, ghz) = if parts.len() == 4 {
        let ghz = parts[3]
            .parse::<f64>()
            .with_context(|| format!("--cpu: clock `{}` is not a number of GHz", parts[3]))?;
        (Some(parts[2].to_string()), Some(ghz))
    } else {
        (None, None)
    };
    Ok(CpuNumbers {
        bandwidth_gbs,
        threads,
        isa,
        ghz,
    })
}

/// The scenario for these arguments; `--model` may name a file.
pub fn build(a: &ScenarioArgs) -> Result<Scenario> {
    let req = request(a)?;
    let supplied: Option<SuppliedModel> = if looks_like_path(&a.model) {
        Some(model_file::load(Path::new(&a.model))?)
    } else {
        None
    };
    Ok(headroom_data::build(&req, supplied)?)
}

fn looks_like_path(s: &str) -> bool {
    let p = Path::new(s);
    p.exists() && (p.is_file() || p.join("config.json").is_file())
}
