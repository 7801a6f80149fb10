//! When it does not fit: the llama.cpp offload that would, as layers on the GPUs and experts on the CPU.

use super::judge::fit;
use super::scenario::{Runtime, Scenario};
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// A llama.cpp configuration that fits the GPUs, with what it leaves in system RAM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OffloadPlan {
    /// `-ngl` value (the output layer counts as one).
    pub gpu_layers: u32,
    pub total_layers: u32,
    /// `--n-cpu-moe` value, when keeping experts on the CPU is the better plan.
    pub n_cpu_moe: Option<u32>,
    /// What stays in system RAM (weights, KV of CPU layers, buffers).
    pub host_bytes: Bytes,
    /// Whether that fits the given system RAM; `None` when RAM is unknown.
    pub host_fits: Option<bool>,
}

fn gpus_fit(s: &Scenario) -> (bool, Bytes) {
    let r = fit(s);
    (
        r.devices.iter().all(|d| d.fits) && !r.devices.is_empty(),
        r.host_breakdown.total(),
    )
}

/// The plan with the most work on the GPUs, or `None` when the run is not llama.cpp on GPUs,
/// already fits, or cannot fit even with everything on the CPU.
pub fn offload_plan(s: &Scenario) -> Option<OffloadPlan> {
    let Runtime::LlamaCpp(base) = &s.runtime else {
        return None;
    };
    if !s.has_discrete_gpus() || fit(s).fits {
        return None;
    }
    let n = s.model.n_layer;
    let with = |ngl: u32, n_cpu_moe: u32| {
        let mut ls = base.clone();
        ls.n_gpu_layers = Some(ngl);
        ls.n_cpu_moe = n_cpu_moe;
        Scenario {
            runtime: Runtime::LlamaCpp(ls),
            ..s.clone()
        }
    };
    let judge = |ngl: u32, cpu_moe: u32| -> Option<OffloadPlan> {
        let (ok, host) = gpus_fit(&with(ngl, cpu_moe));
        ok.then(|| OffloadPlan {
            gpu_layers: ngl,
            total_layers: n + 1,
            n_cpu_moe: (cpu_moe > 0).then_some(cpu_moe),
            host_bytes: host,
            host_fits: s.host_ram.map(|r| host <= r),
        })
    };
    // MoE: all layers on the GPUs with the fewest layers' experts on the CPU, when that fits.
    if s.model.moe.is_some() {
        if let Some(p) = judge(n + 1, n) {
            let (mut lo, mut hi) = (0u32, n); // hi fits
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if gpus_fit(&with(n + 1, mid)).0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return judge(n + 1, hi).or(Some(p));
        }
    }
    // Dense (or MoE that does not fit even so): the most layers that fit.
    let (mut lo, mut hi) = (0u32, n + 1); // hi does not fit
    if !gpus_fit(&with(0, 0)).0 {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if gpus_fit(&with(mid, 0)).0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    judge(lo, 0)
}
