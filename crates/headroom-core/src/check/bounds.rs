//! The physical bounds no setting can beat, with their arithmetic: a token reads its active
//! weights once from memory, a prompt token costs two FLOPs per active parameter, a GPU holds
//! no more than its memory and loads no faster than its host link.

use super::{CheckOptions, Quantity};
use crate::hardware::DeviceKind;
use crate::plan::{Runtime, Scenario};
use crate::speed::{prefill, SpeedModel, SpeedParams, SpeedQuery};
use crate::units::Bytes;

/// A bound and how it was reached.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub arithmetic: String,
}

/// The scenario with every weight in the accelerators' memory: the fastest placement there is.
fn all_on_accelerators(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    if let Runtime::LlamaCpp(ls) = &mut s.runtime {
        ls.n_gpu_layers = None;
        ls.cpu_moe = false;
        ls.n_cpu_moe = 0;
    }
    s
}

/// Bytes read and FLOPs per generated token with everything on the accelerators.
fn per_token(s: &Scenario) -> (f64, f64, SpeedModel) {
    let m = SpeedModel::new(&all_on_accelerators(s), &SpeedParams::default());
    let w = &m.work;
    let bytes = w.devices.iter().map(|l| l.weight_bytes).sum::<f64>() + w.host.weight_bytes;
    let flops = w.devices.iter().map(|l| l.lin_flops).sum::<f64>() + w.host.lin_flops;
    (bytes, flops, m)
}

pub fn bound(q: Quantity, s: &Scenario, o: &CheckOptions) -> Option<Bound> {
    match q {
        Quantity::DecodeTokS => decode(s),
        Quantity::PrefillTokS => prompt(s),
        Quantity::TtftS => {
            let b = prompt(s)?;
            let n = f64::from(o.query.prompt_tokens.max(1));
            Some(Bound {
                value: n / b.value,
                arithmetic: format!(
                    "{n:.0} prompt tokens / {:.0} tok/s at most = {:.3} s ({})",
                    b.value,
                    n / b.value,
                    b.arithmetic
                ),
            })
        }
        Quantity::VramGib | Quantity::VramRiseGib => {
            let mem: u64 = s
                .devices
                .iter()
                .filter(|d| d.kind != DeviceKind::Cpu)
                .map(|d| s.usable(d).0.max(d.memory.0))
                .sum();
            if mem == 0 {
                return None;
            }
            let gib = mem as f64 / Bytes::GIB as f64;
            Some(Bound {
                value: gib,
                arithmetic: format!("the accelerators hold {gib:.2} GiB in all"),
            })
        }
        Quantity::LoadS => {
            let on_gpu: f64 = s.weights.iter().map(|t| t.bytes as f64).sum();
            let t = super::bands::link_seconds(s, on_gpu);
            (t > 0.0).then(|| Bound {
                value: t,
                arithmetic: format!(
                    "{:.2} GB of weights over the host link at {:.1} GB/s = {t:.2} s",
                    on_gpu / 1e9,
                    on_gpu / t / 1e9
                ),
            })
        }
        Quantity::Fits => {
            let mem: u64 = s
                .devices
                .iter()
                .filter(|d| d.kind == DeviceKind::Gpu)
                .map(|d| d.memory.0)
                .sum();
            let weights: u64 = s.weights.iter().map(|t| t.bytes).sum();
            let gib = |b: u64| b as f64 / Bytes::GIB as f64;
            // vLLM loads every weight into its GPUs (no `--cpu-offload-gb` here): RAM is no room
            if matches!(s.runtime, Runtime::Vllm(_)) && mem > 0 {
                return Some(Bound {
                    value: if weights <= mem { 1.0 } else { 0.0 },
                    arithmetic: format!(
                        "weights {:.2} GiB against {:.2} GiB of GPU memory (vLLM holds every weight on its GPUs)",
                        gib(weights),
                        gib(mem)
                    ),
                });
            }
            let ram = s.host_ram?;
            let room = mem + ram.0;
            Some(Bound {
                // a ceiling on "it runs": 1 when the weights fit memory and RAM together
                value: if weights <= room { 1.0 } else { 0.0 },
                arithmetic: format!(
                    "weights {:.2} GiB against {:.2} GiB of accelerator memory + {:.2} GiB of RAM (without paging from disk)",
                    gib(weights),
                    gib(mem),
                    gib(ram.0)
                ),
            })
        }
    }
}

/// Decode: the fastest memory bandwidth over the bytes one token must read (active weights, an
/// empty cache, no speculative decoding).
fn decode(s: &Scenario) -> Option<Bound> {
    let (bytes, _, m) = per_token(s);
    let sp = m.query(&SpeedQuery {
        prompt_tokens: 0,
        gen_tokens: 1,
        depth: 0,
        batch: 1,
    });
    let b = sp.decode_bound_tok_s;
    if !(b.is_finite() && b > 0.0 && bytes > 0.0) {
        return None;
    }
    Some(Bound {
        value: b,
        arithmetic: format!(
            "{:.0} GB/s / {:.2} GB read per token = {b:.1} tok/s (every active weight read once, empty cache, no speculative decoding)",
            bytes * b / 1e9,
            bytes / 1e9
        ),
    })
}

/// Prompt: the accelerators' peak matrix rate over two FLOPs per active parameter per token.
fn prompt(s: &Scenario) -> Option<Bound> {
    let (_, flops, _) = per_token(s);
    let peak: f64 = s
        .devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .filter_map(prefill::peak_rate)
        .sum();
    if !(peak > 0.0 && flops > 0.0) {
        return None;
    }
    let b = peak / flops;
    Some(Bound {
        value: b,
        arithmetic: format!(
            "{:.1} TFLOPS peak / {:.2} GFLOP per token (2 x active parameters) = {b:.0} tok/s",
            peak / 1e12,
            flops / 1e9
        ),
    })
}
