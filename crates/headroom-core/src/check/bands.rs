//! The prediction and its ~90% band for each checked quantity, for the scenario as it would run.

use super::{CheckOptions, Quantity};
use crate::hardware::DeviceKind;
use crate::plan::{fit, offload_plan, Runtime, Scenario};
use crate::speed::{self, SpeedParams};
use crate::units::Bytes;

/// A prediction with its band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Band {
    /// How far `x` sits from the prediction in units of the band's half-width on its side
    /// (0 at the prediction, 1 at the edge), in log space for positive values.
    pub fn distance(&self, x: f64) -> f64 {
        let (edge, v) = if x >= self.value {
            (self.high, self.value)
        } else {
            (self.low, self.value)
        };
        if x > 0.0 && v > 0.0 && edge > 0.0 && (edge / v).ln().abs() > 1e-12 {
            (x / v).ln().abs() / (edge / v).ln().abs()
        } else if (edge - v).abs() > 1e-12 {
            (x - v).abs() / (edge - v).abs()
        } else if (x - v).abs() < 1e-9 {
            0.0
        } else {
            f64::INFINITY
        }
    }

    pub fn contains(&self, x: f64) -> bool {
        x >= self.low && x <= self.high
    }
}

/// The scenario as the runtime would run it, and the setting that says how.
#[derive(Clone, Debug)]
pub struct AsRun {
    pub scenario: Scenario,
    pub setting: String,
}

/// llama.cpp with every layer asked on GPUs that cannot hold them places what fits (llama.cpp's
/// `--fit`, Ollama and LM Studio all do): the predictions are for that placement.
pub fn as_run(s: &Scenario) -> AsRun {
    if let Runtime::LlamaCpp(ls) = &s.runtime {
        if ls.n_gpu_layers.is_none() && !fit(s).fits {
            if let Some(plan) = offload_plan(s) {
                let mut ls = ls.clone();
                ls.n_gpu_layers = Some(plan.gpu_layers);
                ls.n_cpu_moe = plan.n_cpu_moe.unwrap_or(0);
                let setting = match plan.n_cpu_moe {
                    Some(m) => format!("-ngl {} --n-cpu-moe {m} (what fits)", plan.gpu_layers),
                    None => format!(
                        "-ngl {} ({} of {} layers on the GPU, what fits)",
                        plan.gpu_layers, plan.gpu_layers, plan.total_layers
                    ),
                };
                return AsRun {
                    scenario: Scenario {
                        runtime: Runtime::LlamaCpp(ls),
                        ..s.clone()
                    },
                    setting,
                };
            }
        }
    }
    AsRun {
        scenario: s.clone(),
        setting: "as given".to_string(),
    }
}

/// Bytes the run holds on its accelerators (on the CPU when that is the device).
pub fn device_bytes(s: &Scenario) -> (Bytes, crate::memory::Breakdown) {
    let r = fit(s);
    (r.total_bytes, r.breakdown)
}

/// Half-width of the memory band from the validated accuracy (README "How well it holds":
/// weights within 1%, the KV cache to the MiB, compute buffers within 10%); the runtime overhead
/// (the CUDA context estimate) is not calibrated, so half of it is allowed either way.
fn memory_half_width(b: &crate::memory::Breakdown) -> f64 {
    0.01 * b.weights.0 as f64
        + Bytes::MIB as f64
        + 0.10 * (b.compute.0 + b.output.0) as f64
        + 0.5 * b.overhead.0 as f64
}

const GIB: f64 = Bytes::GIB as f64;

/// SATA III's line rate after 8b/10b encoding, 6 Gb/s x 8/10 = 600 MB/s (SATA-IO revision 3.0):
/// the slow end of the load-time band; the fast end is the weights already in the page cache.
const SATA3_READ: f64 = 600e6;

pub fn predict(q: Quantity, s: &Scenario, p: &SpeedParams, o: &CheckOptions) -> Option<Band> {
    match q {
        Quantity::DecodeTokS => {
            let r = speed::predict(s, &o.query, p);
            Some(Band {
                value: r.decode_tok_s,
                low: r.decode_tok_s_low,
                high: r.decode_tok_s_high,
            })
        }
        Quantity::PrefillTokS => {
            let r = speed::predict(s, &o.query, p);
            Some(Band {
                value: r.prefill_tok_s?,
                low: r.prefill_tok_s_low?,
                high: r.prefill_tok_s_high?,
            })
        }
        Quantity::TtftS => {
            let r = speed::predict(s, &o.query, p);
            Some(Band {
                value: r.ttft_s?,
                low: r.ttft_s_low?,
                high: r.ttft_s_high?,
            })
        }
        Quantity::VramGib => {
            let (total, b) = device_bytes(s);
            let h = memory_half_width(&b);
            let t = total.0 as f64;
            Some(Band {
                value: t / GIB,
                low: (t - h).max(0.0) / GIB,
                high: (t + h) / GIB,
            })
        }
        Quantity::VramRiseGib => {
            let mut before = s.clone();
            before.runtime.set_n_ctx(o.from_ctx?);
            Some(rise(&as_run(&before).scenario, s))
        }
        Quantity::LoadS => {
            let r = speed::predict(s, &o.query, p);
            let total: f64 = s.weights.iter().map(|t| t.bytes as f64).sum();
            let cached = link_seconds(s, total);
            Some(Band {
                value: r.load_s,
                low: cached.min(r.load_s),
                high: (total / SATA3_READ).max(r.load_s),
            })
        }
        Quantity::Fits => {
            let f = if fit(s).fits { 1.0 } else { 0.0 };
            Some(Band {
                value: f,
                low: f,
                high: f,
            })
        }
    }
}

/// Seconds to push `bytes` over the slowest discrete GPU's host link (0 without one).
pub fn link_seconds(s: &Scenario, bytes: f64) -> f64 {
    let link = s
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .filter_map(|d| d.host_link.map(|b| b.0))
        .fold(f64::INFINITY, f64::min);
    if link.is_finite() && link > 0.0 {
        bytes / link
    } else {
        0.0
    }
}

pub fn why_none(q: Quantity, o: &CheckOptions) -> &'static str {
    match q {
        Quantity::VramRiseGib if o.from_ctx.is_none() => {
            "a VRAM rise needs the context it rose from (--from-ctx)"
        }
        _ => "no device in the scenario has a published compute rate",
    }
}

/// The rise in accelerator memory from `before` to `after`, with the band of the difference:
/// weights within 1%, the KV cache to the MiB, compute buffers within 10% of their change.
pub fn rise(before: &Scenario, after: &Scenario) -> Band {
    let (t1, b1) = device_bytes(after);
    let (t0, b0) = device_bytes(before);
    let d = t1.0 as f64 - t0.0 as f64;
    let h = 0.01 * (b1.weights.0 as f64 - b0.weights.0 as f64).abs()
        + 2.0 * Bytes::MIB as f64
        + 0.10 * ((b1.compute.0 + b1.output.0) as f64 - (b0.compute.0 + b0.output.0) as f64).abs();
    Band {
        value: d / GIB,
        low: (d - h) / GIB,
        high: (d + h) / GIB,
    }
}
