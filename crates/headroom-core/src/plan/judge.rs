//! Does it fit? Per-device totals against usable memory, with the margin and warnings.

use super::scenario::{Runtime, Scenario};
use crate::hardware::{Backend, DeviceKind, DeviceSpec};
use crate::memory::{llama_cpp, mlx, transformers, vllm, Breakdown};
use crate::quant::GgmlType;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// One device's share of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub id: String,
    pub name: String,
    /// Memory the device may give the run.
    pub usable_bytes: Bytes,
    /// Memory the run needs on it.
    pub total_bytes: Bytes,
    pub breakdown: Breakdown,
    pub fits: bool,
}

/// vLLM's KV pool capacity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KvCapacity {
    pub kv_tokens: u64,
    pub max_concurrency: f64,
}

/// The answer to "will it fit".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub model: String,
    pub quant: String,
    pub runtime: String,
    /// The context the runtime allocates (after its padding).
    pub n_ctx: u32,
    /// Memory needed on the accelerators (or the CPU, when that is the device).
    pub total_bytes: Bytes,
    /// Memory the accelerators may give.
    pub usable_bytes: Bytes,
    pub fits: bool,
    /// The tightest margin over the limits `fits` is judged by (each accelerator, a Mac's whole
    /// memory, the host's RAM when given); negative when one is over.
    pub margin_bytes: i64,
    pub breakdown: Breakdown,
    pub host_breakdown: Breakdown,
    pub devices: Vec<DeviceReport>,
    /// llama.cpp: layers on the GPUs, counting the output layer, out of `n_layer + 1`.
    pub gpu_layers: Option<u32>,
    pub kv_capacity: Option<KvCapacity>,
    pub warnings: Vec<String>,
}

/// The allocation of a scenario before it is judged.
struct Placed {
    n_ctx: u32,
    devices: Vec<Breakdown>,
    host: Breakdown,
    gpu_layers: Option<u32>,
    kv_capacity: Option<KvCapacity>,
    /// A runtime-specific reason it cannot run regardless of totals.
    blocker: Option<String>,
}

fn gpus(s: &Scenario) -> Vec<DeviceSpec> {
    s.devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .cloned()
        .collect()
}

/// What does not change when only the context does: the accelerators, the weight total and, for
/// llama.cpp, where each weight sits. Max-context searches place the weights once.
pub(crate) struct Prepared<'a> {
    pub s: &'a Scenario,
    gpus: Vec<DeviceSpec>,
    weights_total: u64,
    llama: Option<llama_cpp::WeightPlacement>,
}

impl<'a> Prepared<'a> {
    pub fn new(s: &'a Scenario) -> Prepared<'a> {
        let gpus = gpus(s);
        let llama = match &s.runtime {
            Runtime::LlamaCpp(ls) => Some(llama_cpp::place_weights(
                &s.model,
                &s.weight_summary,
                &gpus,
                ls,
            )),
            _ => None,
        };
        Prepared {
            s,
            weights_total: s.weights.iter().map(|t| t.bytes).sum(),
            gpus,
            llama,
        }
    }

    /// The scenario's allocation with `rt` in place of its runtime settings (same weight flags).
    fn place(&self, rt: &Runtime) -> Placed {
        let m = &self.s.model;
        match rt {
            Runtime::LlamaCpp(ls) => {
                let fresh;
                let w = match &self.llama {
                    Some(w) => w,
                    None => {
                        fresh = llama_cpp::place_weights(m, &self.s.weight_summary, &self.gpus, ls);
                        &fresh
                    }
                };
                let a = llama_cpp::allocate_placed(m, w, &self.gpus, ls);
                let gpu_layers = if self.gpus.is_empty() {
                    None
                } else {
                    Some(a.gpu_layers)
                };
                let blocker = (ls.type_v.is_quantized() && !ls.flash_attn)
                    .then(|| "a quantized V cache requires flash attention (-fa on)".to_string());
                Placed {
                    n_ctx: a.n_ctx,
                    devices: a.devices,
                    host: a.host,
                    gpu_layers,
                    kv_capacity: None,
                    blocker,
                }
            }
            Runtime::Vllm(vs) => {
                let Some(first) = self.gpus.first() else {
                    return Placed {
                        n_ctx: vs.max_model_len,
                        devices: vec![],
                        host: Breakdown::default(),
                        gpu_layers: None,
                        kv_capacity: None,
                        blocker: Some("vLLM needs a GPU; this hardware has none".into()),
                    };
                };
                let tp = vs.tensor_parallel_size.max(1) as usize;
                let p = vllm::plan(m, self.weights_total, first, vs);
                let blocker = if tp > self.gpus.len() {
                    Some(format!(
                        "--tensor-parallel-size {tp} needs {tp} GPUs; {} given",
                        self.gpus.len()
                    ))
                } else if m.n_head % tp as u32 != 0 {
                    Some(format!(
                        "{} attention heads do not divide across {tp} GPUs",
                        m.n_head
                    ))
                } else if p.kv_tokens < u64::from(p.max_model_len) {
                    Some(format!(
                        "the KV pool holds {} tokens, fewer than max_model_len {}: vLLM refuses to start",
                        p.kv_tokens, p.max_model_len
                    ))
                } else {
                    None
                };
                Placed {
                    n_ctx: p.max_model_len,
                    devices: vec![p.per_gpu; tp.min(self.gpus.len()).max(1)],
                    host: Breakdown::default(),
                    gpu_layers: None,
                    kv_capacity: Some(KvCapacity {
                        kv_tokens: p.kv_tokens,
                        max_concurrency: p.max_concurrency,
                    }),
                    blocker,
                }
            }
            Runtime::Mlx(ms) => {
                let (b, cells) = mlx::allocate(m, self.weights_total, ms);
                let blocker = (!self.s.devices.iter().any(|d| d.backend == Backend::Metal))
                    .then(|| "MLX runs on Apple silicon; this hardware is not a Mac".to_string());
                Placed {
                    n_ctx: cells,
                    devices: vec![b],
                    host: Breakdown::default(),
                    gpu_layers: None,
                    kv_capacity: None,
                    blocker,
                }
            }
            Runtime::Transformers(ts) => {
                let b = transformers::allocate(m, self.weights_total, self.gpus.first(), ts);
                let n = m.context_or_trained(ts.n_ctx);
                Placed {
                    n_ctx: n,
                    devices: vec![b],
                    host: Breakdown::default(),
                    gpu_layers: None,
                    kv_capacity: None,
                    blocker: None,
                }
            }
        }
    }

    /// Whether the scenario fits with `rt`, without building a report.
    pub fn fits(&self, rt: &Runtime) -> bool {
        self.slack(rt) >= 0
    }

    /// The tightest margin in bytes over every memory limit with `rt` (negative: over by that much);
    /// `i64::MIN` when something other than memory stops the run.
    pub fn slack(&self, rt: &Runtime) -> i64 {
        self.judge(&self.place(rt))
    }

    /// The tightest margin of an allocation, by the same rules `fit` reports with.
    fn judge(&self, p: &Placed) -> i64 {
        if p.blocker.is_some() {
            return i64::MIN;
        }
        self.memory_margin(p).unwrap_or(i64::MIN)
    }

    /// The tightest margin in bytes over every memory limit (each GPU, a Mac's whole memory, the
    /// host's RAM when given); `None` when no device holds the allocation.
    fn memory_margin(&self, p: &Placed) -> Option<i64> {
        let s = self.s;
        let margin = |limit: Bytes, need: Bytes| limit.0 as i64 - need.0 as i64;
        let mut slack = i64::MAX;
        let device_total = if self.gpus.is_empty() {
            // CPU only: everything is in the CPU's memory.
            let mut b = p.host;
            for x in &p.devices {
                b.add(x);
            }
            let d = s.devices.first()?;
            slack = slack.min(margin(s.usable(d), b.total()));
            b.total()
        } else {
            if p.devices.is_empty() {
                return None;
            }
            let mut total = Bytes::ZERO;
            for (d, b) in self.gpus.iter().zip(p.devices.iter()) {
                total += b.total();
                slack = slack.min(margin(s.usable(d), b.total()));
            }
            total
        };
        match s.shared_memory_device() {
            Some(d) if d.kind == DeviceKind::Unified => {
                slack = slack.min(margin(d.memory, device_total + p.host.total()))
            }
            Some(_) => {}
            None => {
                if let Some(ram) = s.host_ram {
                    slack = slack.min(margin(ram, p.host.total()));
                }
            }
        }
        Some(slack)
    }
}

/// Judges the scenario: what each device needs, what it has, and whether all of it fits.
pub fn fit(s: &Scenario) -> FitReport {
    let prepared = Prepared::new(s);
    let p = prepared.place(&s.runtime);
    let fits = prepared.judge(&p) >= 0;
    // the margin `fits` is judged by: the tightest limit, not the sum over devices
    let margin = prepared.memory_margin(&p);
    let mut warnings = s.notes.clone();
    let mut devices = Vec::new();
    let mut breakdown = Breakdown::default();
    let mut host_breakdown = p.host;

    // With no accelerator the CPU is the device, and everything lives in its memory.
    let accel: Vec<&DeviceSpec> = s
        .devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .collect();
    let cpu = s.devices.first().filter(|_| accel.is_empty());
    if let Some(d) = cpu {
        let mut b = p.host;
        for x in &p.devices {
            b.add(x);
        }
        host_breakdown = Breakdown::default();
        devices.push(report(d, s.usable(d), b));
        breakdown = b;
    } else {
        for (d, b) in accel.iter().zip(p.devices.iter()) {
            devices.push(report(d, s.usable(d), *b));
            breakdown.add(b);
        }
    }
    let cpu_only = cpu.is_some();

    let total = breakdown.total();
    let usable: Bytes = devices.iter().map(|d| d.usable_bytes).sum();

    // Unified memory: the host side shares the same RAM.
    if let Some(d) = s.devices.iter().find(|d| d.kind == DeviceKind::Unified) {
        let all = total + host_breakdown.total();
        if all > d.memory {
            warnings.push(format!(
                "device and host buffers together need {all}, more than the {} of unified memory",
                d.memory
            ));
        } else if d.memory.saturating_sub(all) < Bytes(4 * Bytes::GIB) {
            warnings.push(format!(
                "leaves {} of unified memory for the OS and apps",
                d.memory.saturating_sub(all)
            ));
        }
    } else if let Some(ram) = s.host_ram {
        let h = host_breakdown.total();
        if h > ram {
            warnings.push(format!(
                "host buffers need {h}, more than the {ram} of system RAM"
            ));
        }
    }
    // A Mac over its GPU working set but within its RAM: say what raising the wired limit would
    // take, and how much it would leave for macOS and everything else.
    if let Some(d) = s
        .devices
        .iter()
        .find(|d| d.kind == DeviceKind::Unified && d.backend == Backend::Metal)
    {
        let ws = s.usable(d);
        let all = total + host_breakdown.total();
        if total > ws && all <= d.memory {
            let mb = total.0.div_ceil(Bytes::MIB);
            warnings.push(format!(
                "over the GPU working set of {ws}; `sudo sysctl iogpu.wired_limit_mb={mb}` would let it fit, \
                 leaving {} of the {} for macOS and other apps",
                d.memory.saturating_sub(all),
                d.memory
            ));
        }
    }
    if let Some(b) = &p.blocker {
        warnings.push(b.clone());
    }
    if p.n_ctx > s.model.n_ctx_train {
        warnings.push(format!(
            "context {} is beyond the {} tokens the model was trained for",
            p.n_ctx, s.model.n_ctx_train
        ));
    }
    if let Some(gl) = p.gpu_layers {
        let n = s.model.n_layer + 1;
        if gl < n {
            warnings.push(format!(
                "{} of {n} layers run on the CPU from system RAM",
                n - gl
            ));
        }
    }
    for d in &devices {
        if !d.fits {
            warnings.push(format!(
                "{} needs {} but has {} usable",
                d.name, d.total_bytes, d.usable_bytes
            ));
        }
    }
    // Qwen3-Next's layout follows llama.cpp's loader, but no measured run has checked it yet.
    if matches!(
        s.model.arch,
        crate::model::Arch::Other(_) | crate::model::Arch::Qwen3Next
    ) {
        let a = s.model.arch.name();
        warnings.push(format!("architecture `{a}` is outside what Headroom has validated; shapes come from its config"));
    }
    if !matches!(s.runtime, Runtime::LlamaCpp(_)) {
        warnings.push(format!(
            "the {} memory model follows the runtime's documented allocation and is not yet checked against measured runs",
            s.runtime.name()
        ));
    }
    if let Some(b) = s
        .devices
        .iter()
        .map(|d| d.backend)
        .find(|b| !crate::memory::overhead::is_calibrated(*b))
    {
        warnings.push(format!(
            "the {} backend's runtime overhead is not calibrated; it is estimated as CUDA's",
            b.name()
        ));
    }
    if let (Runtime::LlamaCpp(ls), true) = (&s.runtime, cpu_only) {
        warnings.push(if ls.repack {
            "counts llama.cpp's CPU_REPACK copy of the Q4_0/Q4_K matrices as an x86 AVX2 build makes it; \
             a native build on a CPU with AMX keeps an AMX copy instead, which can be larger"
                .into()
        } else {
            "weight repacking is off (--no-repack): only the mapped file is counted".into()
        });
    }
    if let Runtime::LlamaCpp(ls) = &s.runtime {
        if ls.type_k != GgmlType::F16 && ls.type_k.is_quantized() && !ls.flash_attn {
            warnings.push(
                "a quantized K cache without flash attention runs slower on most backends".into(),
            );
        }
    }
    FitReport {
        model: s.model.name.clone(),
        quant: s.quant.clone(),
        runtime: s.runtime.label().to_string(),
        n_ctx: p.n_ctx,
        total_bytes: total,
        usable_bytes: usable,
        fits,
        margin_bytes: margin.unwrap_or(usable.0 as i64 - total.0 as i64),
        breakdown,
        host_breakdown,
        devices,
        gpu_layers: p.gpu_layers,
        kv_capacity: p.kv_capacity,
        warnings,
    }
}

fn report(d: &DeviceSpec, usable: Bytes, b: Breakdown) -> DeviceReport {
    DeviceReport {
        id: d.id.clone(),
        name: d.name.clone(),
        usable_bytes: usable,
        total_bytes: b.total(),
        breakdown: b,
        fits: b.total() <= usable,
    }
}

/// The memory model's buffers for the scenario as given: one breakdown per accelerator and the
/// host's.
pub(crate) fn allocation(s: &Scenario) -> (Vec<Breakdown>, Breakdown) {
    let p = Prepared::new(s).place(&s.runtime);
    (p.devices, p.host)
}

/// Whether the scenario fits, without building the report.
pub fn fits(s: &Scenario) -> bool {
    Prepared::new(s).fits(&s.runtime)
}
