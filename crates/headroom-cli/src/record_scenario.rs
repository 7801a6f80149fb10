//! A measurement record as a scenario: the catalog model and hardware it names (or the ones given),
//! the runtime and its settings, and the memory the model predicts for it per device.

use headroom_core::measure::{DeviceSlot, MeasurementRecord, Quantity};
use headroom_core::memory::Breakdown;
use headroom_core::plan::fit;
use headroom_core::speed::least_squares::{BenchTest, Phase};
use headroom_core::{DeviceKind, Scenario};
use headroom_data::{build, catalog, llama_bench, ScenarioRequest};

/// What the caller fixes for every record.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub model: Option<String>,
    pub hardware: Option<String>,
    /// Device memory in GiB, for hardware without a fixed size (CPU profiles, custom sizes).
    pub memory_gib: Option<f64>,
}

/// Catalog ids to try for a model name as runtimes print it (`Meta-Llama-3-8B`,
/// `Qwen2.5-7B-Instruct-Q4_K_M`, `mlx-community/Meta-Llama-3.1-8B-Instruct-4bit`).
fn model_candidates(name: &str) -> Vec<String> {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let mut c = vec![name.to_string(), base.clone()];
    let mut s = base.clone();
    if let Some(x) = s.strip_prefix("meta-") {
        s = x.to_string();
    }
    c.push(s.clone());
    // Drop a trailing quant or variant: -q4_k_m, -4bit, -instruct, -it, -gguf.
    while let Some((head, tail)) = s.clone().rsplit_once('-') {
        let drop = tail.starts_with('q')
            || tail.ends_with("bit")
            || matches!(
                tail,
                "instruct" | "it" | "gguf" | "chat" | "hf" | "f16" | "bf16" | "fp16"
            );
        if !drop {
            break;
        }
        s = head.to_string();
        c.push(s.clone());
    }
    c
}

pub(crate) fn hardware_candidates(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let mut s = lower.clone();
    for p in ["nvidia ", "geforce ", "amd ", "radeon "] {
        s = s.replace(p, "");
    }
    let dashed = s.trim().replace(' ', "-");
    vec![name.to_string(), lower, s.trim().to_string(), dashed]
}

/// The catalog model id for a record.
pub fn find_model(r: &MeasurementRecord, o: &Overrides) -> Result<String, String> {
    if let Some(m) = &o.model {
        return Ok(m.clone());
    }
    let cat = catalog().map_err(|e| e.to_string())?;
    let name = r
        .model
        .as_deref()
        .ok_or("the record names no model; give --model")?;
    model_candidates(name)
        .iter()
        .find_map(|c| cat.model(c).ok().map(|m| m.id().to_string()))
        .ok_or_else(|| format!("model `{name}` is not in the catalog; give --model"))
}

/// The catalog hardware id for a record.
pub fn find_hardware(r: &MeasurementRecord, o: &Overrides) -> Result<String, String> {
    if let Some(h) = &o.hardware {
        return Ok(h.clone());
    }
    let cat = catalog().map_err(|e| e.to_string())?;
    for d in &r.devices {
        for c in hardware_candidates(&d.name) {
            if cat.hardware(&c).is_ok() {
                return Ok(c);
            }
        }
    }
    Err("the record names no catalog device; give --hardware".into())
}

/// The runtime name the request builder takes.
fn runtime(r: &MeasurementRecord) -> Option<&'static str> {
    match r.runtime.as_deref()? {
        "llama.cpp" | "ollama" => Some("llama.cpp"),
        "vllm" => Some("vllm"),
        "mlx" => Some("mlx"),
        "transformers" => Some("transformers"),
        _ => None,
    }
}

/// The scenario a record was measured in: its model, hardware, runtime and flags.
pub fn scenario_of(r: &MeasurementRecord, o: &Overrides) -> Result<Scenario, String> {
    let rt = runtime(r).ok_or("no memory model for this runtime")?;
    let model = find_model(r, o)?;
    // A CPU run that carries the numbers measured beside it (`--cpu GBS,THREADS,ISA,GHZ`) is
    // that CPU, unless --hardware names another.
    let cpu = headroom_data::cpu_runs::cpu_numbers(r).filter(|_| o.hardware.is_none());
    if cpu.is_some() {
        let s = &r.settings;
        let req = ScenarioRequest {
            model,
            quant: r.quant.clone(),
            cpu,
            memory_gib: o.memory_gib.or_else(|| {
                r.devices
                    .iter()
                    .find_map(|d| d.memory_total)
                    .map(|b| b.0 as f64 / f64::from(1u32 << 30))
            }),
            runtime: Some(rt.into()),
            ctx: s.n_ctx,
            batch: s.n_batch,
            ubatch: s.n_ubatch,
            cache_type_k: s.type_k.clone().filter(|_| rt == "llama.cpp"),
            cache_type_v: s.type_v.clone().filter(|_| rt == "llama.cpp"),
            flash_attn: s.flash_attn,
            parallel: s.n_seq,
            repack: s.repack,
            ..ScenarioRequest::default()
        };
        return build(&req, None).map_err(|e| e.to_string());
    }
    let hardware = find_hardware(r, o)?;
    // A CPU profile has no fixed memory size: the record's own device size is the machine's.
    let memory_gib = o.memory_gib.or_else(|| {
        let cat = catalog().ok()?;
        let hw = cat.hardware(&hardware).ok()?;
        if hw.memory != headroom_core::Bytes::ZERO {
            return None;
        }
        r.devices
            .iter()
            .find_map(|d| d.memory_total)
            .map(|b| b.0 as f64 / f64::from(1u32 << 30))
    });
    let s = &r.settings;
    let n_gpus = s.n_devices.filter(|n| *n > 1);
    let req = ScenarioRequest {
        model,
        quant: r.quant.clone(),
        hardware: vec![hardware],
        memory_gib,
        gpus: n_gpus,
        runtime: Some(rt.into()),
        ctx: s.n_ctx,
        batch: s.n_batch,
        ubatch: s.n_ubatch,
        cache_type_k: s.type_k.clone().filter(|_| rt == "llama.cpp"),
        cache_type_v: s.type_v.clone().filter(|_| rt == "llama.cpp"),
        flash_attn: s.flash_attn,
        gpu_layers: s.n_gpu_layers.and_then(|n| u32::try_from(n).ok()),
        parallel: s.n_seq,
        gpu_memory_utilization: s.gpu_memory_utilization,
        // A llama.cpp log names its CPU_REPACK buffer when it made one; without one, repacking
        // was off (`-nr`) or another extra buffer (AMX) took its place.
        repack: (!r.memory.is_empty()).then(|| {
            r.memory
                .iter()
                .any(|m| m.device.to_ascii_uppercase().contains("REPACK"))
        }),
        ..ScenarioRequest::default()
    };
    build(&req, None).map_err(|e| e.to_string())
}

/// The scenario a speed reading was measured in. A row of the public llama-bench tables
/// (`gpu_llm_bench.csv`, `apple_silicon_llamacpp.csv`) gets the speed report's own scenario
/// (`headroom_data::llama_bench`: its catalog names, context = depth + tokens, the `-ub` and flash
/// attention its notes say, f16 cache, the chip's GPU cores), and a row its source marks SUSPICIOUS
/// is left out as the report leaves it out; any other record is `scenario_of`.
pub fn speed_scenario_of(
    r: &MeasurementRecord,
    o: &Overrides,
    q: Quantity,
    n_prompt: u32,
    n_gen: u32,
    depth: u32,
) -> Result<Scenario, String> {
    let row = llama_bench::BenchRow::from_record(r)
        .filter(|_| o.model.is_none() && o.hardware.is_none() && o.memory_gib.is_none());
    let Some(row) = row else {
        return scenario_of(r, o);
    };
    if row.is_suspicious() {
        return Err("marked SUSPICIOUS in its source".into());
    }
    let (phase, tokens) = match q {
        Quantity::Prefill => (Phase::Prefill, n_prompt),
        Quantity::Decode => (Phase::Decode, n_gen),
        other => return Err(format!("{} is not a speed", other.name())),
    };
    let test = BenchTest {
        phase,
        tokens: tokens.max(1),
        depth,
    };
    let cat = catalog().map_err(|e| e.to_string())?;
    llama_bench::scenario(cat, &row, test)
        .ok_or_else(|| format!("no scenario for {} on {}", row.model_id, row.device_id))
}

/// The predicted memory of a record, one breakdown per device slot.
pub fn predict_memory(
    r: &MeasurementRecord,
    o: &Overrides,
) -> Result<Vec<(DeviceSlot, Breakdown)>, String> {
    let scenario = scenario_of(r, o)?;
    let rep = fit(&scenario);
    let mut out: Vec<(DeviceSlot, Breakdown)> = rep
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| (DeviceSlot::Gpu(i as u32), d.breakdown))
        .collect();
    let cpu_only = scenario.devices.iter().all(|d| d.kind == DeviceKind::Cpu);
    if cpu_only {
        // On a CPU every buffer is a host buffer (`CPU`, `CPU_Mapped`).
        let mut b = Breakdown::default();
        for (_, d) in &out {
            b.add(d);
        }
        b.add(&rep.host_breakdown);
        out = vec![(DeviceSlot::Host, b)];
    } else {
        out.push((DeviceSlot::Host, rep.host_breakdown));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_as_runtimes_print_them() {
        let c = model_candidates("Qwen2.5-7B-Instruct-Q4_K_M");
        assert!(c.contains(&"qwen2.5-7b".to_string()), "{c:?}");
        let c = model_candidates("Meta-Llama-3-8B");
        assert!(c.contains(&"llama-3-8b".to_string()), "{c:?}");
        let c = model_candidates("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit");
        assert!(c.contains(&"llama-3.1-8b".to_string()), "{c:?}");
        let h = hardware_candidates("NVIDIA GeForce RTX 4090");
        assert!(h.contains(&"rtx-4090".to_string()), "{h:?}");
    }
}
