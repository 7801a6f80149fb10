//! A scenario request as a person states it (names, flags, numbers), checked and turned into a core
//! `Scenario`. The CLI and the web page both go through here, so they answer alike.

use crate::{catalog, Catalog};
use headroom_core::hardware::{Backend, DeviceKind, DeviceSpec};
use headroom_core::memory::llama_cpp::{Launcher, LlamaCppSettings};
use headroom_core::memory::mlx::MlxSettings;
use headroom_core::memory::projector::{self, ProjectorSettings, VisionTower};
use headroom_core::memory::transformers::{Attention, TransformersSettings};
use headroom_core::memory::vllm::VllmSettings;
use headroom_core::quant::{self, GgmlType, Quant, StoredTensor};
use headroom_core::speed::cpu::{self, Isa};
use headroom_core::units::{Bytes, BytesPerSec, FlopsPerSec};
use headroom_core::{ModelSpec, Runtime, Scenario};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Everything optional has the runtime's own default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioRequest {
    /// Catalog model (id, Hugging Face repo or alias). Ignored when a model is supplied directly.
    pub model: String,
    /// Weight format, e.g. `Q4_K_M`, `mlx-4bit`, `fp8`; default: the runtime's usual one.
    pub quant: Option<String>,
    /// Catalog hardware ids; several for a multi-GPU box.
    pub hardware: Vec<String>,
    /// Repeat the (single) hardware entry this many times.
    pub gpus: Option<u32>,
    /// A device given by its numbers instead of a catalog id.
    pub custom_device: Option<CustomDevice>,
    /// A CPU given by its measured numbers: the device when no GPU is named, else the host that
    /// holds what the GPUs do not. With a catalog CPU profile (in `hardware` or `host`) it
    /// replaces that profile's numbers (its instruction set and clock only where it gives them).
    pub cpu: Option<CpuNumbers>,
    /// The system RAM next to the GPUs, as a catalog CPU profile (`ddr4-3200-2ch`).
    pub host: Option<String>,
    /// Device memory override in GiB (a Mac's RAM size, a CPU profile's RAM).
    pub memory_gib: Option<f64>,
    /// System RAM in GiB, to judge what stays on the host.
    pub ram_gib: Option<f64>,
    /// macOS `iogpu.wired_limit_mb`.
    pub wired_limit_mb: Option<u64>,
    /// llama.cpp (also `ollama`, `lmstudio`), vllm, mlx, transformers.
    pub runtime: Option<String>,
    /// The llama.cpp backend the devices run: cuda, vulkan, rocm, metal, sycl or cpu; default:
    /// what each device normally uses (its catalog entry's backend).
    pub backend: Option<String>,
    pub ctx: Option<u32>,
    pub batch: Option<u32>,
    pub ubatch: Option<u32>,
    pub cache_type_k: Option<String>,
    pub cache_type_v: Option<String>,
    pub flash_attn: Option<bool>,
    pub gpu_layers: Option<u32>,
    pub parallel: Option<u32>,
    pub cpu_moe: Option<bool>,
    pub n_cpu_moe: Option<u32>,
    /// llama.cpp's CPU weight repacking (default on; `--no-repack` is `Some(false)`).
    pub repack: Option<bool>,
    /// llama.cpp `--swa-full`: sliding-window layers keep a full-size cache.
    pub swa_full: Option<bool>,
    pub gpu_memory_utilization: Option<f64>,
    pub max_num_seqs: Option<u32>,
    pub max_num_batched_tokens: Option<u32>,
    /// vLLM `--kv-cache-dtype` (`auto` or `fp8`).
    pub kv_cache_dtype: Option<String>,
    pub tensor_parallel: Option<u32>,
    /// transformers attention: `sdpa` or `eager`.
    pub attention: Option<String>,
    /// MLX `--kv-bits`.
    pub kv_bits: Option<u8>,
    /// Let max-context searches go past the trained length.
    pub beyond_trained: Option<bool>,
    /// llama.cpp `--mmproj`: a vision-language model's projector is loaded too.
    pub mmproj: Option<bool>,
    /// The mmproj file's type: `f16` (the converter's default), `q8_0`, `bf16` or `f32`.
    pub mmproj_type: Option<String>,
    /// `--mmproj-offload` (default on) or `--no-mmproj-offload` (the projector on the CPU).
    pub mmproj_offload: Option<bool>,
    /// A bare size instead of a catalog model (`70b`, `7.5b`, `500m`): a generic dense model
    /// shaped after the catalog's Llama models (`generic_model`).
    pub params: Option<String>,
    /// linux, windows, wsl2 or macos: Windows and WSL2 keep VRAM from CUDA (`data/os/windows.json`).
    pub os: Option<String>,
    /// Whether the first GPU drives the desktop (Windows keeps more of it).
    pub display_gpu: Option<bool>,
    /// Ollama's `OLLAMA_*` variables, for `runtime` `ollama`.
    pub env: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDevice {
    pub name: Option<String>,
    /// gpu, unified or cpu.
    pub kind: Option<DeviceKind>,
    pub memory_gib: f64,
    pub bandwidth_gbs: f64,
    pub fp16_tflops: Option<f64>,
}

/// A CPU by its numbers (`--cpu GBS,THREADS[,ISA,GHZ]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuNumbers {
    /// Memory bandwidth, GB/s (measured or channels x 8 B x MT/s).
    pub bandwidth_gbs: f64,
    /// Threads llama.cpp runs with (`-t`), best the physical cores.
    pub threads: u32,
    /// avx2, avx512, amx or neon; with `ghz` it gives the compute rate.
    pub isa: Option<String>,
    /// Sustained all-core clock, GHz.
    pub ghz: Option<f64>,
}

/// A request that cannot be answered, saying which input is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub field: &'static str,
    pub problem: String,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for RequestError {}

fn bad(field: &'static str, problem: impl Into<String>) -> RequestError {
    RequestError {
        field,
        problem: problem.into(),
    }
}

/// A model from outside the catalog: a config.json or a GGUF header.
#[derive(Clone, Debug)]
pub struct SuppliedModel {
    pub spec: ModelSpec,
    /// Exact stored tensors (a GGUF file), when known.
    pub weights: Option<(Vec<StoredTensor>, String)>,
    /// The format the config says the weights are in.
    pub native_quant: Option<Quant>,
}

const MAX_GPUS: u32 = 64;
const MAX_CTX: u32 = 1 << 24;

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &'static str,
    v: Option<T>,
    lo: T,
    hi: T,
) -> Result<Option<T>, RequestError> {
    match v {
        Some(x) if !(lo..=hi).contains(&x) => {
            Err(bad(field, format!("{x} is outside {lo}..={hi}")))
        }
        other => Ok(other),
    }
}

fn cache_type(field: &'static str, v: &Option<String>) -> Result<GgmlType, RequestError> {
    match v.as_deref() {
        None => Ok(GgmlType::F16),
        Some(s) => GgmlType::from_name(s)
            .filter(|t| headroom_core::memory::kv_cache::CACHE_TYPES.contains(t))
            .ok_or_else(|| bad(field, format!("`{s}` is not a llama.cpp cache type (f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1)"))),
    }
}

const MAX_THREADS: u32 = 4096;

/// The CPU device of `--cpu GBS,THREADS[,ISA,GHZ]`: its bandwidth, and with an instruction set
/// and a clock its peak compute (threads x FLOPs per cycle x clock) as its FP32 rate. Given with
/// a catalog CPU profile (`base`), the numbers replace the profile's: the bandwidth and threads
/// always, the instruction set and clock where `--cpu` gives them (else the profile's are kept).
fn cpu_device(c: &CpuNumbers, base: Option<&DeviceSpec>) -> Result<DeviceSpec, RequestError> {
    if !(c.bandwidth_gbs.is_finite() && c.bandwidth_gbs > 0.0 && c.bandwidth_gbs <= 100_000.0) {
        return Err(bad(
            "cpu.bandwidth_gbs",
            format!("{} is not a bandwidth in 0..=100000 GB/s", c.bandwidth_gbs),
        ));
    }
    if !(1..=MAX_THREADS).contains(&c.threads) {
        return Err(bad(
            "cpu.threads",
            format!("{} is outside 1..={MAX_THREADS}", c.threads),
        ));
    }
    let isa = match c.isa.as_deref() {
        None => None,
        Some(s) => Some(
            Isa::parse(s)
                .ok_or_else(|| bad("cpu.isa", format!("`{s}` is not avx2, avx512, amx or neon")))?,
        ),
    };
    if let Some(g) = c.ghz {
        if !(g.is_finite() && g > 0.0 && g <= 10.0) {
            return Err(bad("cpu.ghz", format!("{g} is not a clock in 0..=10 GHz")));
        }
    }
    let (isa, ghz) = match (isa, c.ghz) {
        (Some(i), Some(g)) => (Some(i), Some(g)),
        // a named catalog CPU's: its family is its instruction set, its FP32 rate its peak
        (None, None) => {
            match base.and_then(|b| Some((Isa::parse(&b.family)?, b.fp32?, b.cpu_cores?))) {
                Some((i, peak, n)) => (
                    Some(i),
                    Some(peak.0 / (f64::from(n) * i.flops_per_cycle() * 1e9)),
                ),
                None => (None, None),
            }
        }
        _ => {
            return Err(bad(
                "cpu",
                "give both the instruction set and the clock (GBS,THREADS,ISA,GHZ), or neither",
            ))
        }
    };
    let peak = match (isa, ghz) {
        (Some(i), Some(g)) => Some(FlopsPerSec(cpu::peak_flops(c.threads, i, g))),
        _ => None,
    };
    // a catalog profile keeps its id, name, memory type and power; a CPU by its numbers alone is `cpu`
    let (id, name, family, power) = match base {
        Some(b) => (
            b.id.as_str(),
            b.name.as_str(),
            b.family.as_str(),
            b.board_power_w,
        ),
        None => ("cpu", "CPU", "cpu", None),
    };
    Ok(DeviceSpec {
        id: id.into(),
        name: format!(
            "{name} ({} threads, {:.1} GB/s{})",
            c.threads,
            c.bandwidth_gbs,
            match (isa, ghz) {
                (Some(i), Some(g)) => format!(", {} at {g} GHz", i.name()),
                _ => String::new(),
            }
        ),
        vendor: "cpu".into(),
        kind: DeviceKind::Cpu,
        backend: Backend::Cpu,
        // a CPU's family is its instruction set, which the CPU speed fit is keyed on
        family: isa.map_or(family, |i| i.name()).into(),
        memory: Bytes::ZERO,
        bandwidth: BytesPerSec::from_gbs(c.bandwidth_gbs),
        fp16: None,
        int8: None,
        fp8: None,
        fp32: peak,
        host_link: None,
        peer_link: None,
        board_power_w: power,
        gpu_cores: None,
        cpu_cores: Some(c.threads),
    })
}

fn devices(
    cat: &Catalog,
    r: &ScenarioRequest,
    notes: &mut Vec<String>,
) -> Result<Vec<DeviceSpec>, RequestError> {
    let gpus = in_range("gpus", r.gpus, 1, MAX_GPUS)?;
    let mut out = Vec::new();
    if let Some(c) = &r.custom_device {
        if !(c.memory_gib.is_finite() && c.memory_gib > 0.0 && c.memory_gib <= 4096.0) {
            return Err(bad(
                "custom_device.memory_gib",
                format!("{} is not a memory size in 0..=4096 GiB", c.memory_gib),
            ));
        }
        if !(c.bandwidth_gbs.is_finite() && c.bandwidth_gbs > 0.0 && c.bandwidth_gbs <= 100_000.0) {
            return Err(bad(
                "custom_device.bandwidth_gbs",
                format!("{} is not a bandwidth in 0..=100000 GB/s", c.bandwidth_gbs),
            ));
        }
        if let Some(t) = c.fp16_tflops {
            if !(t.is_finite() && t > 0.0 && t <= 100_000.0) {
                return Err(bad(
                    "custom_device.fp16_tflops",
                    format!("{t} is not a throughput in 0..=100000 TFLOPS"),
                ));
            }
        }
        let kind = c.kind.unwrap_or(DeviceKind::Gpu);
        let backend = match kind {
            DeviceKind::Gpu => Backend::Cuda,
            DeviceKind::Unified => Backend::Metal,
            DeviceKind::Cpu => Backend::Cpu,
        };
        out.push(DeviceSpec {
            id: "custom".into(),
            name: c.name.clone().unwrap_or_else(|| "custom device".into()),
            vendor: "custom".into(),
            family: "custom".into(),
            fp16: c.fp16_tflops.map(FlopsPerSec::from_tflops),
            ..DeviceSpec::unrated(
                kind,
                backend,
                Bytes::from_gib(c.memory_gib),
                BytesPerSec::from_gbs(c.bandwidth_gbs),
            )
        });
    }
    for h in &r.hardware {
        let found = cat
            .resolve_hardware(h)
            .map_err(|e| bad("hardware", e.to_string()))?;
        for n in found
            .choice_note
            .into_iter()
            .chain(found.memory_note.filter(|_| r.memory_gib.is_none()))
        {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        out.push(found.spec);
    }
    // A CPU profile next to GPUs in the hardware list is their host, as `host` is.
    let mut host = None;
    if out.len() > 1 && out.iter().filter(|d| d.kind == DeviceKind::Cpu).count() == 1 {
        let i = out
            .iter()
            .position(|d| d.kind == DeviceKind::Cpu)
            .unwrap_or(0);
        host = Some(out.remove(i));
    }
    if let Some(h) = &r.host {
        if host.is_some() {
            return Err(bad("host", "the hardware list already names a CPU profile"));
        }
        let d = cat.hardware(h).map_err(|e| bad("host", e.to_string()))?;
        if d.kind != DeviceKind::Cpu {
            return Err(bad(
                "host",
                format!(
                    "`{}` is not a CPU/system-RAM profile (see `headroom hardware`)",
                    d.id
                ),
            ));
        }
        host = Some(d);
    }
    if let Some(c) = &r.cpu {
        // with a catalog CPU profile (the device alone or the GPUs' host) `--cpu` overrides its
        // numbers
        let base = match host.take() {
            Some(h) => Some(h),
            None if out.len() == 1 && out[0].kind == DeviceKind::Cpu => out.pop(),
            None => None,
        };
        let d = cpu_device(c, base.as_ref())?;
        if out.is_empty() {
            out.push(d);
        } else {
            host = Some(d);
        }
    }
    if out.is_empty() {
        return Err(bad("hardware", "no hardware given"));
    }
    if host.is_some() && out.iter().any(|d| d.kind == DeviceKind::Cpu) {
        return Err(bad(
            "hardware",
            "one CPU: a CPU device cannot also have a host",
        ));
    }
    if let Some(n) = gpus {
        if out.len() != 1 {
            return Err(bad(
                "gpus",
                "give one hardware id with --gpus, or a comma list without it",
            ));
        }
        out = vec![out[0].clone(); n as usize];
    }
    if let Some(gib) = in_range("memory_gib", r.memory_gib, 0.5, 4096.0)? {
        for d in &mut out {
            *d = d.with_memory(Bytes::from_gib(gib));
        }
    }
    let shared = out.iter().filter(|d| d.kind != DeviceKind::Gpu).count();
    if shared > 0 && out.len() > 1 {
        return Err(bad(
            "hardware",
            "a unified-memory or CPU device cannot be combined with other devices",
        ));
    }
    if let Some(d) = out.iter().find(|d| d.memory == Bytes::ZERO) {
        match (d.kind, r.ram_gib) {
            // a CPU alone: its memory is the system RAM
            (DeviceKind::Cpu, Some(ram)) if out.len() == 1 => {
                let ram = in_range("ram_gib", Some(ram), 0.5, 65536.0)?.unwrap_or(ram);
                out[0] = out[0].with_memory(Bytes::from_gib(ram));
            }
            _ => {
                return Err(bad(
                    "memory_gib",
                    format!(
                        "`{}` has no fixed memory size; give one (--memory GiB or, for a CPU, --ram GiB)",
                        d.id
                    ),
                ))
            }
        }
    }
    if let Some(h) = host {
        if out.iter().any(|d| d.kind == DeviceKind::Unified) {
            return Err(bad(
                "host",
                "a unified-memory device is its own host; give its memory with --memory",
            ));
        }
        // the host's memory is the system RAM (`ram_gib`); the speed model reads its bandwidth
        out.push(h);
    }
    Ok(out)
}

/// A `--backend` name.
pub fn parse_backend(s: &str) -> Result<Backend, RequestError> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "cuda" => Backend::Cuda,
        "vulkan" | "vk" => Backend::Vulkan,
        "rocm" | "hip" => Backend::Rocm,
        "metal" => Backend::Metal,
        "sycl" => Backend::Sycl,
        "cpu" => Backend::Cpu,
        other => {
            return Err(bad(
                "backend",
                format!("unknown backend `{other}` (cuda, vulkan, rocm, metal, sycl, cpu)"),
            ))
        }
    })
}

/// Whether llama.cpp has a build of `backend` for a device of this vendor: CUDA for NVIDIA, ROCm
/// (HIP) for AMD, SYCL for Intel, Metal for Apple, Vulkan for NVIDIA, AMD and Intel GPUs.
fn backend_runs_on(backend: Backend, d: &DeviceSpec) -> bool {
    if d.vendor == "custom" {
        return true;
    }
    match backend {
        Backend::Cuda => d.vendor == "nvidia",
        Backend::Rocm => d.vendor == "amd",
        Backend::Sycl => d.vendor == "intel",
        Backend::Metal => d.vendor == "apple",
        Backend::Vulkan => matches!(d.vendor.as_str(), "nvidia" | "amd" | "intel"),
        Backend::Cpu => d.kind == DeviceKind::Cpu,
    }
}

/// The devices running `backend`. A GPU backend is set on every accelerator (refused where
/// llama.cpp has no such build for the device's vendor); `cpu` runs everything on the host CPU,
/// which then has to be given (`--cpu`, `--host` or a CPU profile in the hardware list).
fn with_backend(
    devices: Vec<DeviceSpec>,
    backend: Backend,
    ram_gib: Option<f64>,
) -> Result<Vec<DeviceSpec>, RequestError> {
    if backend == Backend::Cpu {
        let mut cpus: Vec<DeviceSpec> = devices
            .into_iter()
            .filter(|d| d.kind == DeviceKind::Cpu)
            .collect();
        let Some(mut cpu) = cpus.pop() else {
            return Err(bad(
                "backend",
                "cpu runs on the host CPU: give it with --cpu GBS,THREADS or --host PROFILE",
            ));
        };
        if cpu.memory == Bytes::ZERO {
            let Some(ram) = in_range("ram_gib", ram_gib, 0.5, 65536.0)? else {
                return Err(bad(
                    "ram_gib",
                    "the cpu backend holds the model in system RAM: give its size (--ram GiB)",
                ));
            };
            cpu = cpu.with_memory(Bytes::from_gib(ram));
        }
        return Ok(vec![cpu]);
    }
    let mut out = devices;
    set_backend(&mut out, backend)?;
    Ok(out)
}

/// Sets a GPU backend on every accelerator in `devices`, refusing a device llama.cpp has no such
/// build for (CUDA for NVIDIA, ROCm for AMD, SYCL for Intel, Metal for Apple, Vulkan for the first
/// three). `cpu` is not a device's backend here: see [`ScenarioRequest::backend`].
pub fn set_backend(devices: &mut [DeviceSpec], backend: Backend) -> Result<(), RequestError> {
    if backend == Backend::Cpu {
        return Err(bad(
            "backend",
            "cpu is not an accelerator's backend: it runs the model on the host CPU",
        ));
    }
    for d in devices.iter_mut().filter(|d| d.kind != DeviceKind::Cpu) {
        if !backend_runs_on(backend, d) {
            return Err(bad(
                "backend",
                format!(
                    "llama.cpp has no {} build for {} ({}): {}",
                    backend.name(),
                    d.name,
                    d.vendor,
                    match d.vendor.as_str() {
                        "nvidia" => "cuda or vulkan",
                        "amd" => "rocm or vulkan",
                        "intel" => "sycl or vulkan",
                        "apple" => "metal",
                        _ => "its own backend",
                    }
                ),
            ));
        }
        d.backend = backend;
    }
    Ok(())
}

/// A backend is llama.cpp's choice; other runtimes run their own (MLX on Metal, vLLM and
/// transformers on CUDA or ROCm).
fn check_runtime_backend(rt: &Runtime, backend: Backend) -> Result<(), RequestError> {
    let ok = match rt {
        Runtime::LlamaCpp(_) => true,
        Runtime::Mlx(_) => backend == Backend::Metal,
        Runtime::Vllm(_) | Runtime::Transformers(_) => {
            matches!(backend, Backend::Cuda | Backend::Rocm)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(bad(
            "backend",
            format!(
                "{} does not run on llama.cpp's {} backend; --backend chooses llama.cpp's build",
                rt.name(),
                backend.name()
            ),
        ))
    }
}

/// The runtime's usual weight format for a model.
fn default_quant(runtime: &Runtime, native: Option<Quant>) -> Quant {
    match runtime {
        Runtime::LlamaCpp(_) => match native {
            Some(q @ Quant::Gguf { .. }) => q,
            _ => Quant::Gguf {
                mix: quant::GgufMix::Q4_K_M,
            },
        },
        Runtime::Mlx(_) => Quant::Mlx {
            bits: 4,
            group_size: 64,
        },
        Runtime::Vllm(_) | Runtime::Transformers(_) => match native {
            Some(q) => q,
            None => Quant::Float16,
        },
    }
}

fn runtime(
    r: &ScenarioRequest,
    devices: &[DeviceSpec],
    m: &ModelSpec,
    notes: &mut Vec<String>,
) -> Result<Runtime, RequestError> {
    let first_device = &devices[0];
    let ctx = in_range("ctx", r.ctx, 0, MAX_CTX)?;
    let name = r.runtime.as_deref().unwrap_or("llama.cpp");
    let lower = name.to_ascii_lowercase();
    if r.env.as_ref().is_some_and(|e| !e.is_empty()) && lower != "ollama" {
        return Err(bad(
            "env",
            format!("OLLAMA_* variables are for --runtime ollama, not {name}"),
        ));
    }
    Ok(match lower.as_str() {
        "ollama" => {
            let o = crate::ollama_env::settings(r, notes)?;
            let l = headroom_core::memory::ollama::launch(&o, m, devices);
            notes.extend(l.defaults);
            Runtime::LlamaCpp(LlamaCppSettings {
                launcher: Launcher::Ollama(o),
                repack: r.repack.unwrap_or(true),
                swa_full: r.swa_full.unwrap_or(false),
                cpu_moe: r.cpu_moe.unwrap_or(false),
                n_cpu_moe: r.n_cpu_moe.unwrap_or(0),
                ..l.settings
            })
        }
        "llama.cpp" | "llamacpp" | "llama-cpp" | "lmstudio" | "lm-studio" => {
            let d = LlamaCppSettings::default();
            let type_k = cache_type("cache_type_k", &r.cache_type_k)?;
            let type_v = cache_type("cache_type_v", &r.cache_type_v)?;
            let n_batch = in_range("batch", r.batch, 1, 1 << 20)?.unwrap_or(d.n_batch);
            Runtime::LlamaCpp(LlamaCppSettings {
                n_ctx: ctx.unwrap_or(d.n_ctx),
                n_batch,
                n_ubatch: in_range("ubatch", r.ubatch, 1, 1 << 20)?
                    .unwrap_or(d.n_ubatch)
                    .min(n_batch),
                type_k,
                type_v,
                flash_attn: r.flash_attn.unwrap_or(true),
                n_gpu_layers: in_range("gpu_layers", r.gpu_layers, 0, 100_000)?,
                n_parallel: in_range("parallel", r.parallel, 1, 4096)?.unwrap_or(1),
                cpu_moe: r.cpu_moe.unwrap_or(false),
                n_cpu_moe: r.n_cpu_moe.unwrap_or(0),
                repack: r.repack.unwrap_or(true),
                swa_full: r.swa_full.unwrap_or(false),
                launcher: if lower.starts_with("lm") {
                    Launcher::LmStudio
                } else {
                    Launcher::LlamaServer
                },
                ..d
            })
        }
        "vllm" => {
            let d = VllmSettings::serve_defaults(first_device);
            let fp8 = match r.kv_cache_dtype.as_deref() {
                None | Some("auto") => false,
                Some("fp8") | Some("fp8_e4m3") | Some("fp8_e5m2") => true,
                Some(o) => return Err(bad("kv_cache_dtype", format!("`{o}` is not auto or fp8"))),
            };
            Runtime::Vllm(VllmSettings {
                gpu_memory_utilization: in_range(
                    "gpu_memory_utilization",
                    r.gpu_memory_utilization,
                    0.05,
                    1.0,
                )?
                .unwrap_or(d.gpu_memory_utilization),
                max_model_len: ctx.unwrap_or(0),
                max_num_batched_tokens: in_range(
                    "max_num_batched_tokens",
                    r.max_num_batched_tokens,
                    1,
                    1 << 22,
                )?
                .unwrap_or(d.max_num_batched_tokens),
                max_num_seqs: in_range("max_num_seqs", r.max_num_seqs, 1, 1 << 16)?
                    .unwrap_or(d.max_num_seqs),
                kv_cache_fp8: fp8,
                tensor_parallel_size: in_range("tensor_parallel", r.tensor_parallel, 1, MAX_GPUS)?
                    .unwrap_or(1),
                ..d
            })
        }
        "mlx" | "mlx-lm" | "mlx_lm" | LMSTUDIO_MLX => Runtime::Mlx(MlxSettings {
            n_ctx: ctx.unwrap_or(MlxSettings::default().n_ctx),
            kv_bits: in_range("kv_bits", r.kv_bits, 2, 8)?,
            lm_studio: lower == LMSTUDIO_MLX,
            ..MlxSettings::default()
        }),
        "transformers" | "hf" => Runtime::Transformers(TransformersSettings {
            n_ctx: ctx.unwrap_or(TransformersSettings::default().n_ctx),
            batch: in_range("batch", r.batch, 1, 4096)?.unwrap_or(1),
            attention: match r.attention.as_deref() {
                None | Some("sdpa") => Attention::Sdpa,
                Some("eager") => Attention::Eager,
                Some(o) => return Err(bad("attention", format!("`{o}` is not sdpa or eager"))),
            },
        }),
        other => {
            return Err(bad(
                "runtime",
                format!(
                "unknown runtime `{other}` (llama.cpp, ollama, lmstudio, vllm, mlx, transformers)"
            ),
            ))
        }
    })
}

/// LM Studio running a model on its MLX engine (chosen in `build` for an MLX model or format).
const LMSTUDIO_MLX: &str = "lmstudio-mlx";

/// Builds a scenario for a catalog model (`req.model`) or a supplied one.
pub fn build(
    req: &ScenarioRequest,
    supplied: Option<SuppliedModel>,
) -> Result<Scenario, RequestError> {
    let cat = catalog().map_err(|e| bad("catalog", e.to_string()))?;
    let mut notes = Vec::new();
    let mut named_quant = None;
    let mut named_runtime = None;
    let mut vision = None;
    let model = match (supplied, &req.params) {
        (Some(m), _) => m,
        (None, Some(p)) => {
            if !req.model.trim().is_empty() {
                return Err(bad("params", "give a model or a size (--params), not both"));
            }
            let n = crate::generic_model::parse_params(p).ok_or_else(|| {
                bad(
                    "params",
                    format!("`{p}` is not a size like 70b, 7.5b or 500m"),
                )
            })?;
            let (spec, note) =
                crate::generic_model::generic(cat, n).map_err(|e| bad("params", e))?;
            notes.push(note);
            SuppliedModel {
                spec,
                weights: None,
                native_quant: None,
            }
        }
        (None, None) => {
            let found = cat
                .resolve_model(&req.model)
                .map_err(|e| bad("model", e.to_string()))?;
            notes.extend(found.notes);
            named_quant = found.quant;
            named_runtime = found.runtime;
            vision = found.entry.vision.clone();
            SuppliedModel {
                spec: found.entry.spec.clone(),
                weights: None,
                native_quant: found.entry.native_quant,
            }
        }
    };
    let backend = req.backend.as_deref().map(parse_backend).transpose()?;
    let mut devices = devices(cat, req, &mut notes)?;
    if let Some(b) = backend {
        devices = with_backend(devices, b, req.ram_gib)?;
    }
    // LM Studio runs an MLX model (an `mlx-community/` name, an MLX format) on its MLX engine.
    let lmstudio = req
        .runtime
        .as_deref()
        .is_some_and(|r| matches!(r.to_ascii_lowercase().as_str(), "lmstudio" | "lm-studio"));
    let mlx_quant = req
        .quant
        .as_deref()
        .is_some_and(|q| matches!(Quant::parse(q), Ok(Quant::Mlx { .. })));
    let on_mlx_engine = lmstudio && (mlx_quant || named_runtime == Some("mlx"));
    // What the model's name states is the default; a flag given says otherwise.
    let mut runtime = match (&req.runtime, named_runtime) {
        _ if on_mlx_engine => runtime(
            &ScenarioRequest {
                runtime: Some(LMSTUDIO_MLX.to_string()),
                ..req.clone()
            },
            &devices,
            &model.spec,
            &mut notes,
        )?,
        (None, Some(rt)) => runtime(
            &ScenarioRequest {
                runtime: Some(rt.to_string()),
                ..req.clone()
            },
            &devices,
            &model.spec,
            &mut notes,
        )?,
        _ => runtime(req, &devices, &model.spec, &mut notes)?,
    };
    if let (Some(given), Some(rt)) = (&req.runtime, named_runtime) {
        if !on_mlx_engine && runtime_of(given) != runtime_of(rt) {
            notes.push(format!(
                "the model's name is for {rt}; --runtime {given} is used as given"
            ));
        }
    }
    if let Some(b) = backend {
        check_runtime_backend(&runtime, b)?;
    }
    let named_quant = named_quant.filter(|_| req.quant.is_none());
    let mmproj = projector(req, &runtime, vision.as_ref(), &model.spec.name, &mut notes)?;
    if let Runtime::LlamaCpp(ls) = &mut runtime {
        ls.mmproj = mmproj;
    }
    if let (Runtime::LlamaCpp(ls), Some(gl)) = (&runtime, req.gpu_layers) {
        if ls.n_gpu_layers.is_some() && gl > model.spec.n_layer + 1 && gl < 99 {
            return Err(bad(
                "gpu_layers",
                format!("the model has {} layers (+1 output)", model.spec.n_layer),
            ));
        }
    }
    let (weights, quant_label) = match (&req.quant, model.weights) {
        (None, Some((w, label))) => (w, label),
        (q, _) => {
            let q = match (q, named_quant) {
                (Some(s), _) => parse_quant(s, &runtime, &mut notes)?,
                (None, Some(q)) => q,
                (None, None) => default_quant(&runtime, model.native_quant),
            };
            if matches!(runtime, Runtime::Mlx(_))
                && !matches!(q, Quant::Mlx { .. } | Quant::Float16 | Quant::Float32)
            {
                return Err(bad(
                    "quant",
                    format!(
                        "MLX runs MLX formats (mlx-4bit, mlx-8bit, f16), not {}",
                        q.label()
                    ),
                ));
            }
            if matches!(runtime, Runtime::LlamaCpp(_))
                && !matches!(q, Quant::Gguf { .. } | Quant::Float16 | Quant::Float32)
            {
                return Err(bad(
                    "quant",
                    format!(
                        "llama.cpp runs GGUF formats (Q4_K_M, Q8_0, F16...), not {}",
                        q.label()
                    ),
                ));
            }
            let q = match (&runtime, q) {
                (Runtime::LlamaCpp(_), Quant::Float16) => Quant::Gguf {
                    mix: quant::GgufMix::F16,
                },
                (Runtime::LlamaCpp(_), Quant::Float32) => Quant::Gguf {
                    mix: quant::GgufMix::F32,
                },
                (_, q) => q,
            };
            (stored_tensors(&model.spec, &q), q.label())
        }
    };
    let ram = in_range("ram_gib", req.ram_gib, 0.5, 65536.0)?;
    if let Some(os) = &req.os {
        let os = headroom_core::check::Os::parse(os).ok_or_else(|| {
            bad(
                "os",
                format!("unknown `{os}` (linux, windows, wsl2, macos)"),
            )
        })?;
        let display = req
            .display_gpu
            .unwrap_or(os == headroom_core::check::Os::Windows);
        let reserve = crate::os::reserve(os, display).map_err(|e| bad("os", e.to_string()))?;
        match (&mut runtime, reserve) {
            (_, None) => {}
            (_, Some(_)) if !devices.iter().any(|d| d.backend == Backend::Cuda) => {}
            (Runtime::LlamaCpp(ls), Some((b, why))) => {
                ls.desktop_reserve = b;
                notes.push(why);
            }
            (rt, Some((_, why))) => notes.push(format!(
                "{why}: not counted for {}, whose allocation is modelled without it",
                rt.name()
            )),
        }
    } else if req.display_gpu.is_some() {
        return Err(bad("display_gpu", "needs the operating system (os)"));
    }
    let mut s = Scenario {
        weight_summary: quant::WeightSummary::new(model.spec.n_layer, &weights),
        model: model.spec,
        weights,
        quant: quant_label,
        devices,
        host_ram: ram.map(Bytes::from_gib),
        wired_limit: req
            .wired_limit_mb
            .map(|mb| Bytes(mb.saturating_mul(Bytes::MIB))),
        runtime,
        beyond_trained: req.beyond_trained.unwrap_or(false),
        notes,
    };
    if let Some(b) = headroom_core::memory::ollama::scenario_batch(&s) {
        if let Runtime::LlamaCpp(ls) = &mut s.runtime {
            ls.n_batch = b;
            ls.n_ubatch = b;
            s.notes.push(format!(
                "batch {b} (-b and -ub): Ollama's automatic generation batch for {} tokens of context, set with the num_batch option",
                ls.n_ctx
            ));
        }
    }
    Ok(s)
}

/// `--mmproj`, `--mmproj-type` and `--no-mmproj-offload`: the projector llama.cpp loads beside a
/// vision-language model. Off unless asked for, as llama.cpp loads none without `--mmproj`; a
/// vision-language model without it gets a note saying what it would add.
fn projector(
    req: &ScenarioRequest,
    runtime: &Runtime,
    vision: Option<&VisionTower>,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<Option<ProjectorSettings>, RequestError> {
    let file_type = match req
        .mmproj_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("f16") => GgmlType::F16,
        Some("q8_0") => GgmlType::Q8_0,
        Some("bf16") => GgmlType::BF16,
        Some("f32") => GgmlType::F32,
        Some(o) => {
            return Err(bad(
                "mmproj_type",
                format!("`{o}` is not an mmproj type (f16, q8_0, bf16, f32)"),
            ))
        }
    };
    let asked = req.mmproj.unwrap_or(false);
    if !asked {
        if req.mmproj_type.is_some() || req.mmproj_offload.is_some() {
            return Err(bad(
                "mmproj",
                "--mmproj-type and --no-mmproj-offload apply with --mmproj",
            ));
        }
        if let (Some(t), Runtime::LlamaCpp(_)) = (vision, runtime) {
            let bytes = projector::weight_bytes(t, file_type) + projector::compute_buffer(t);
            notes.push(format!(
                "{name} is a vision-language model: `--mmproj` adds its projector ({bytes} at F16 with its compute buffer)"
            ));
        }
        return Ok(None);
    }
    if !matches!(runtime, Runtime::LlamaCpp(_)) {
        return Err(bad(
            "mmproj",
            format!(
                "--mmproj is llama.cpp's projector; the {} memory model has none",
                runtime.name()
            ),
        ));
    }
    let Some(tower) = vision else {
        let vl: Vec<&str> = catalog()
            .map(|c| {
                c.models
                    .iter()
                    .filter(|m| m.vision.is_some())
                    .map(|m| m.record.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        return Err(bad(
            "mmproj",
            format!(
                "{name} has no vision tower in the catalog (its vision-language models: {})",
                vl.join(", ")
            ),
        ));
    };
    let offload = req.mmproj_offload.unwrap_or(true);
    notes.push(format!(
        "mmproj ({} projector, {}): weights {} and clip compute buffer {} (its warmup image, {} px), {}",
        tower.kind.clip_name(),
        file_type.name(),
        projector::weight_bytes(tower, file_type),
        projector::compute_buffer(tower),
        tower.warmup_image_size(),
        if offload {
            "on the first GPU (--mmproj-offload)"
        } else {
            "in system RAM (--no-mmproj-offload)"
        }
    ));
    Ok(Some(ProjectorSettings {
        tower: tower.clone(),
        file_type,
        offload,
    }))
}

/// The engine a `--runtime` name runs, as names state runtimes (Ollama's tags run llama.cpp).
fn runtime_of(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "llama.cpp" | "llamacpp" | "llama-cpp" | "ollama" | "lmstudio" | "lm-studio" => {
            Some("llama.cpp")
        }
        "vllm" => Some("vllm"),
        "mlx" | "mlx-lm" | "mlx_lm" => Some("mlx"),
        "transformers" | "hf" => Some("transformers"),
        _ => None,
    }
}

/// [`parse_quant`] for a caller outside a request (`plan --quants`): the quantization and the
/// note saying what a short form was taken as.
pub fn parse_quant_on(s: &str, rt: &Runtime) -> Result<(Quant, Option<String>), RequestError> {
    let mut notes = Vec::new();
    let q = parse_quant(s, rt, &mut notes)?;
    Ok((q, notes.pop()))
}

/// A quantization name, or a short form (`int4`, `q4`, `4bit`) taken as the runtime's usual
/// format of that many bits, with a note saying which.
fn parse_quant(s: &str, rt: &Runtime, notes: &mut Vec<String>) -> Result<Quant, RequestError> {
    let err = |e: quant::QuantParseError| bad("quant", e.to_string());
    let parsed = Quant::parse(s);
    if parsed.is_ok() {
        return parsed.map_err(err);
    }
    let l = s.trim().to_ascii_lowercase();
    let bits = l
        .strip_prefix("int")
        .or_else(|| l.strip_prefix('q'))
        .or_else(|| l.strip_suffix("-bit"))
        .or_else(|| l.strip_suffix("bit"))
        .and_then(|b| b.parse::<u8>().ok());
    let Some(bits) = bits else {
        return parsed.map_err(err);
    };
    let q = match (rt, bits) {
        (Runtime::LlamaCpp(_), b) => {
            let mix = match b {
                2 => quant::GgufMix::Q2_K,
                3 => quant::GgufMix::Q3_K_M,
                4 => quant::GgufMix::Q4_K_M,
                5 => quant::GgufMix::Q5_K_M,
                6 => quant::GgufMix::Q6_K,
                8 => quant::GgufMix::Q8_0,
                _ => return parsed.map_err(err),
            };
            Quant::Gguf { mix }
        }
        (Runtime::Mlx(_), b @ 2..=8) => Quant::Mlx {
            bits: b,
            group_size: 64,
        },
        (Runtime::Vllm(_) | Runtime::Transformers(_), 4) => Quant::Awq {
            bits: 4,
            group_size: 128,
        },
        (Runtime::Vllm(_) | Runtime::Transformers(_), 8) => Quant::Gptq {
            bits: 8,
            group_size: 128,
        },
        _ => return parsed.map_err(err),
    };
    notes.push(format!(
        "quantization `{}` is taken as {} on {}",
        s.trim(),
        q.label(),
        rt.name()
    ));
    Ok(q)
}

thread_local! {
    /// The last model and quantization's tensors. The page asks again on every change with the
    /// same model and quantization, and synthesizing a model's few hundred named tensors with
    /// llama-quantize's rules is most of the time a request takes to build.
    static LAST_TENSORS: RefCell<Option<(ModelSpec, Quant, Vec<StoredTensor>)>> =
        const { RefCell::new(None) };
}

/// `quant::stored_tensors`, remembered for the last model and quantization asked.
fn stored_tensors(m: &ModelSpec, q: &Quant) -> Vec<StoredTensor> {
    LAST_TENSORS.with(|last| {
        if let Some((lm, lq, ts)) = &*last.borrow() {
            if lm == m && lq == q {
                return ts.clone();
            }
        }
        let ts = quant::stored_tensors(m, q);
        *last.borrow_mut() = Some((m.clone(), *q, ts.clone()));
        ts
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remembered_tensors_are_those_of_the_model_and_quant_asked() {
        let cat = catalog().expect("catalog loads");
        let a = &cat.model("qwen3-8b").expect("catalog model").spec;
        let b = &cat.model("llama-3.1-8b").expect("catalog model").spec;
        let q4 = Quant::parse("Q4_K_M").expect("a quant");
        let q8 = Quant::parse("Q8_0").expect("a quant");
        // asked in turn, each answer is what synthesizing it anew gives, never the last one's
        for (m, q) in [(a, q4), (a, q4), (a, q8), (b, q8), (a, q4)] {
            assert_eq!(
                stored_tensors(m, &q),
                quant::stored_tensors(m, &q),
                "{} {q:?}",
                m.name
            );
        }
        assert_ne!(stored_tensors(a, &q4), stored_tensors(a, &q8));
    }
}
