//! The NVIDIA Windows driver's system-memory fallback as a mode of the speed model: what does not
//! fit in VRAM lives in shared system memory and is read over PCIe every token, so a setting that
//! would not fit runs slowly instead of failing.
//!
//! NVIDIA's Windows driver (and WSL2, which runs on it) backs CUDA allocations beyond VRAM with
//! shared system memory ("CUDA - Sysmem Fallback Policy", on by default since driver 536.40,
//! NVIDIA support article 5490; "Prefer No Sysmem Fallback" turns it off). The spilled share of
//! each token's reads (weights and KV cache) crosses the host link instead of VRAM.

use super::{predict, SpeedModel, SpeedParams, SpeedQuery};
use crate::hardware::{Backend, DeviceKind};
use crate::plan::{fit, Runtime, Scenario};

/// A run with part of its allocation in shared system memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spill {
    /// Bytes the run needs on the GPU and the bytes the GPU offers.
    pub need: f64,
    pub usable: f64,
    /// Host link rate, bytes/s.
    pub link: f64,
    /// Generation rate with the spilled share read over the link, and its band.
    pub decode_tok_s: f64,
    pub decode_tok_s_low: f64,
    pub decode_tok_s_high: f64,
}

impl Spill {
    pub fn spilled(&self) -> f64 {
        self.need - self.usable
    }
}

/// The scenario with every layer on the GPU, as `-ngl 99` asks.
pub fn all_layers(s: &Scenario) -> Option<Scenario> {
    let mut all = s.clone();
    let Runtime::LlamaCpp(ls) = &mut all.runtime else {
        return None;
    };
    ls.n_gpu_layers = None;
    ls.cpu_moe = false;
    ls.n_cpu_moe = 0;
    Some(all)
}

/// The spill of `s` run with every layer on its CUDA GPU, when that does not fit; `None` when it
/// fits, when the scenario is not llama.cpp on a CUDA GPU with a known host link.
pub fn spill(s: &Scenario, q: &SpeedQuery, p: &SpeedParams) -> Option<Spill> {
    let gpu = s
        .devices
        .iter()
        .find(|d| d.kind == DeviceKind::Gpu && d.backend == Backend::Cuda)?;
    let link = gpu.host_link.map(|l| l.0).filter(|l| *l > 0.0)?;
    let all = all_layers(s)?;
    let r = fit(&all);
    let need = r.total_bytes.0 as f64;
    let usable = r.usable_bytes.0 as f64;
    if need <= usable || need <= 0.0 {
        return None;
    }
    let share = (need - usable) / need;
    let sp = predict(&all, q, p);
    let m = SpeedModel::new(&all, p);
    let d0 = f64::from(q.depth + q.prompt_tokens);
    let reads: f64 = m
        .work
        .devices
        .iter()
        .map(|l| l.weight_bytes + l.kv_bytes_at(d0, m.work.shape.window))
        .sum();
    let extra = share * reads / link;
    let rate = |r: f64| 1.0 / (1.0 / r + extra);
    Some(Spill {
        need,
        usable,
        link,
        decode_tok_s: rate(sp.decode_tok_s),
        decode_tok_s_low: rate(sp.decode_tok_s_low),
        decode_tok_s_high: rate(sp.decode_tok_s_high),
    })
}
