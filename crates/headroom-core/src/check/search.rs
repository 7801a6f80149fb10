//! The inverse question: which settings reproduce a number the band does not. Each cause is a
//! family of settings (every `-ngl`, every KV cache type, every prompt length...); each setting is
//! predicted with the same models `check` uses, and the settings whose band holds the number are
//! kept, best match first, one per cause.

use super::bands::{self, as_run, Band};
use super::{CheckOptions, Claim, Explanation, Quantity};
use crate::hardware::DeviceKind;
use crate::memory::llama_cpp::Launcher;
use crate::plan::{fit, Runtime, Scenario};
use crate::quant::GgmlType;
use crate::speed::{predict, sysmem_fallback, SpeedParams, SpeedQuery};
use crate::units::Bytes;

struct Candidate {
    cause: &'static str,
    setting: String,
    band: Band,
}

const GIB: f64 = Bytes::GIB as f64;

/// The causes the search can name, each one family of settings. `CAUSES` lists them all, so a
/// test can ask that every one is reproduced by some public claim.
pub const LAYERS_IN_RAM: &str = "layers in system RAM";
pub const EXPERTS_IN_RAM: &str = "experts in system RAM";
pub const QUANTIZED_KV: &str = "a quantized KV cache";
pub const CONTEXT_NOT_SET: &str = "a context the user did not set";
pub const PARALLEL_SLOTS: &str = "parallel slots multiplying the context";
pub const SYSMEM_FALLBACK: &str = "the Windows driver spilling VRAM to system memory";
pub const PROMPT_IN_RATE: &str = "prompt processing inside the measured rate";
pub const RELOAD_PER_REQUEST: &str = "the model reloaded per request";
pub const VLLM_PREALLOCATION: &str = "vLLM's preallocation";
pub const ANOTHER_RUNTIME_VLLM: &str = "another runtime: vLLM's preallocation";

pub const CAUSES: [&str; 10] = [
    LAYERS_IN_RAM,
    EXPERTS_IN_RAM,
    QUANTIZED_KV,
    CONTEXT_NOT_SET,
    PARALLEL_SLOTS,
    SYSMEM_FALLBACK,
    PROMPT_IN_RATE,
    RELOAD_PER_REQUEST,
    VLLM_PREALLOCATION,
    ANOTHER_RUNTIME_VLLM,
];

/// Context sizes a runtime may have chosen: llama.cpp's and LM Studio's 4096, older Ollama's
/// 2048, and the common larger presets, plus the model's trained length.
const CONTEXTS: [u32; 6] = [2048, 4096, 8192, 16384, 32768, 131072];

/// Prompt lengths searched for a rate measured over prompt and generation together.
const PROMPTS: [u32; 8] = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

pub fn explain(
    c: &Claim,
    given: &Scenario,
    run: &Scenario,
    p: &SpeedParams,
    o: &CheckOptions,
    seen_load: Option<f64>,
) -> Vec<Explanation> {
    let mut cands = Vec::new();
    let q = c.quantity;
    let before = o.from_ctx.map(|ctx| {
        let mut b = given.clone();
        b.runtime.set_n_ctx(ctx);
        as_run(&b).scenario
    });
    let eval = |s: &Scenario| -> Option<Band> {
        match (q, &before) {
            (Quantity::VramRiseGib, Some(b)) => Some(bands::rise(b, s)),
            _ => bands::predict(q, s, p, o),
        }
    };
    let speed_or_memory = matches!(
        q,
        Quantity::DecodeTokS
            | Quantity::PrefillTokS
            | Quantity::TtftS
            | Quantity::VramGib
            | Quantity::VramRiseGib
    );
    let ollama = matches!(&given.runtime, Runtime::LlamaCpp(ls) if matches!(ls.launcher, Launcher::Ollama(_)));
    if let Runtime::LlamaCpp(ls) = &given.runtime {
        if given.has_discrete_gpus() && speed_or_memory {
            let n = given.model.n_layer;
            for ngl in 0..=n + 1 {
                let mut l = ls.clone();
                l.n_gpu_layers = Some(ngl);
                let s = with_runtime(run, Runtime::LlamaCpp(l));
                if !gpus_fit(&s) {
                    continue;
                }
                if let Some(b) = eval(&s) {
                    cands.push(Candidate {
                        cause: LAYERS_IN_RAM,
                        setting: format!(
                            "{} {ngl} ({ngl} of {} layers on the GPU)",
                            if ollama { "num_gpu" } else { "-ngl" },
                            n + 1
                        ),
                        band: b,
                    });
                }
            }
            if given.model.moe.is_some() {
                for m in 1..=n {
                    let mut l = ls.clone();
                    l.n_gpu_layers = None;
                    l.n_cpu_moe = m;
                    let s = with_runtime(run, Runtime::LlamaCpp(l));
                    if !gpus_fit(&s) {
                        continue;
                    }
                    if let Some(b) = eval(&s) {
                        cands.push(Candidate {
                            cause: EXPERTS_IN_RAM,
                            setting: format!("--n-cpu-moe {m}"),
                            band: b,
                        });
                    }
                }
            }
        }
        if speed_or_memory {
            for t in [GgmlType::Q8_0, GgmlType::Q4_0] {
                if ls.type_k == t && ls.type_v == t {
                    continue;
                }
                let mut l = ls.clone();
                l.type_k = t;
                l.type_v = t;
                l.flash_attn = true;
                let s = as_run(&with_runtime(given, Runtime::LlamaCpp(l))).scenario;
                if let Some(b) = eval(&s) {
                    cands.push(Candidate {
                        cause: QUANTIZED_KV,
                        setting: if ollama {
                            format!(
                                "OLLAMA_KV_CACHE_TYPE={} with flash attention on",
                                t.name()
                            )
                        } else {
                            format!(
                                "--cache-type-k {0} --cache-type-v {0} -fa on (Ollama: OLLAMA_KV_CACHE_TYPE={0})",
                                t.name()
                            )
                        },
                        band: b,
                    });
                }
            }
        }
    }
    if speed_or_memory || q == Quantity::Fits {
        let now = given.runtime.n_ctx();
        let train = given.model.n_ctx_train;
        let mut ctxs: Vec<u32> = CONTEXTS.iter().copied().filter(|c| *c <= train).collect();
        ctxs.push(train);
        if let Some(f) = o.from_ctx {
            ctxs.push(f);
        }
        ctxs.sort_unstable();
        ctxs.dedup();
        for ctx in ctxs.into_iter().filter(|c| *c != now) {
            let mut s = given.clone();
            s.runtime.set_n_ctx(ctx);
            let s = as_run(&s).scenario;
            if let Some(b) = eval(&s) {
                cands.push(Candidate {
                    cause: CONTEXT_NOT_SET,
                    setting: if ollama {
                        format!("num_ctx {ctx} instead of {now} (the num_ctx set did not reach Ollama, or another default applied)")
                    } else {
                        format!("context {ctx} allocated instead of {now}")
                    },
                    band: b,
                });
            }
        }
        if let Runtime::LlamaCpp(ls) = &given.runtime {
            let base = if now == 0 { train } else { now };
            for k in [2u32, 4] {
                let mut l = ls.clone();
                l.n_ctx = base.saturating_mul(k);
                l.n_parallel = k;
                let s = as_run(&with_runtime(given, Runtime::LlamaCpp(l))).scenario;
                if let Some(b) = eval(&s) {
                    cands.push(Candidate {
                        cause: PARALLEL_SLOTS,
                        setting: if ollama {
                            format!(
                                "OLLAMA_NUM_PARALLEL={k}: {k} x {base} = {} tokens of KV cache",
                                base.saturating_mul(k)
                            )
                        } else {
                            format!(
                                "-np {k} -c {}: {k} slots of {base} tokens",
                                base.saturating_mul(k)
                            )
                        },
                        band: b,
                    });
                }
            }
        }
    }
    if o.os.is_none_or(|os| os.has_sysmem_fallback()) {
        cands.extend(sysmem_fallback(q, given, p, o));
    }
    if q == Quantity::DecodeTokS {
        cands.extend(measured_with_prompt(run, p, o));
    }
    if matches!(q, Quantity::DecodeTokS | Quantity::TtftS) {
        cands.extend(reload_per_request(q, run, p, o, seen_load));
    }
    if q == Quantity::VramGib {
        cands.extend(vllm_preallocation(given));
    }
    rank(c.value, cands)
}

/// A grid search resolves a number only to half a step: each setting of a family (one cause)
/// also owns half the gap to its neighbours' predictions.
fn widen_by_grid(cands: &mut [Candidate]) {
    let mut i = 0;
    while i < cands.len() {
        let cause = cands[i].cause;
        let mut j = i;
        while j < cands.len() && cands[j].cause == cause {
            j += 1;
        }
        let fam = &mut cands[i..j];
        fam.sort_by(|a, b| a.band.value.total_cmp(&b.band.value));
        let values: Vec<f64> = fam.iter().map(|c| c.band.value).collect();
        for (k, c) in fam.iter_mut().enumerate() {
            if k > 0 {
                c.band.low = c
                    .band
                    .low
                    .min(c.band.value - (values[k] - values[k - 1]) / 2.0);
            }
            if k + 1 < values.len() {
                c.band.high = c
                    .band
                    .high
                    .max(c.band.value + (values[k + 1] - values[k]) / 2.0);
            }
        }
        i = j;
    }
}

fn rank(x: f64, mut cands: Vec<Candidate>) -> Vec<Explanation> {
    widen_by_grid(&mut cands);
    let mut hits: Vec<(f64, Candidate)> = cands
        .into_iter()
        .filter(|c| c.band.contains(x))
        .map(|c| (c.band.distance(x), c))
        .collect();
    hits.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Explanation> = Vec::new();
    for (_, c) in hits {
        if out.iter().any(|e| e.cause == c.cause) {
            continue;
        }
        out.push(Explanation {
            cause: c.cause.to_string(),
            setting: c.setting,
            predicted: c.band.value,
            low: c.band.low,
            high: c.band.high,
        });
    }
    out
}

fn with_runtime(s: &Scenario, r: Runtime) -> Scenario {
    Scenario {
        runtime: r,
        ..s.clone()
    }
}

fn gpus_fit(s: &Scenario) -> bool {
    let r = fit(s);
    !r.devices.is_empty() && r.devices.iter().all(|d| d.fits)
}

/// The Windows driver's system-memory fallback (`speed::sysmem_fallback`): every layer on the
/// GPU, what does not fit in shared system memory read over PCIe.
fn sysmem_fallback(
    q: Quantity,
    given: &Scenario,
    p: &SpeedParams,
    o: &CheckOptions,
) -> Vec<Candidate> {
    let Some(sp) = sysmem_fallback::spill(given, &o.query, p) else {
        return Vec::new();
    };
    let setting = format!(
        "{:.2} GiB of {:.2} GiB in shared system memory over PCIe at {:.1} GB/s ({}; turn it off with \"CUDA - Sysmem Fallback Policy: Prefer No Sysmem Fallback\")",
        sp.spilled() / GIB,
        sp.need / GIB,
        sp.link / 1e9,
        match o.os {
            Some(_) => "the Windows driver's default",
            None => "only on Windows or WSL2",
        }
    );
    let cause = SYSMEM_FALLBACK;
    match q {
        Quantity::DecodeTokS => vec![Candidate {
            cause,
            setting,
            band: Band {
                value: sp.decode_tok_s,
                low: sp.decode_tok_s_low,
                high: sp.decode_tok_s_high,
            },
        }],
        Quantity::VramGib => {
            let Some(all) = sysmem_fallback::all_layers(given) else {
                return Vec::new();
            };
            let (_, b) = bands::device_bytes(&all);
            let mem = sp.usable / GIB;
            vec![Candidate {
                cause,
                setting,
                band: Band {
                    value: mem,
                    low: mem - b.overhead.0 as f64 / GIB,
                    high: mem,
                },
            }]
        }
        Quantity::Fits => vec![Candidate {
            cause,
            setting,
            band: Band {
                value: 1.0,
                low: 1.0,
                high: 1.0,
            },
        }],
        _ => Vec::new(),
    }
}

/// A generation rate taken as generated tokens over the whole request, prompt included.
fn measured_with_prompt(run: &Scenario, p: &SpeedParams, o: &CheckOptions) -> Vec<Candidate> {
    let gen = f64::from(o.query.gen_tokens.max(1));
    let ctx = fit(run).n_ctx;
    let mut out = Vec::new();
    for n in PROMPTS
        .iter()
        .copied()
        .filter(|n| n.saturating_add(o.query.gen_tokens) <= ctx)
    {
        let q = SpeedQuery {
            prompt_tokens: n,
            ..o.query
        };
        let r = predict(run, &q, p);
        let (Some(t), Some(tl), Some(th)) = (r.ttft_s, r.ttft_s_low, r.ttft_s_high) else {
            continue;
        };
        out.push(Candidate {
            cause: PROMPT_IN_RATE,
            setting: format!(
                "{} generated tokens over a {n}-token prompt and their generation together",
                o.query.gen_tokens
            ),
            band: Band {
                value: gen / (t + gen / r.decode_tok_s),
                low: gen / (th + gen / r.decode_tok_s_low),
                high: gen / (tl + gen / r.decode_tok_s_high),
            },
        });
    }
    out
}

/// Reply lengths searched when the load time was seen: a chat reply is often far shorter than
/// llama-bench's 128 tokens, and with a load inside the timed request the rate grows with the
/// reply's length, so the length is the one unknown left.
const REPLIES: [u32; 15] = [
    8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
];

/// The model loaded again for each request (Ollama unloads it after `keep_alive`, 5 minutes by
/// default), so the load time sits inside the measured time. With `seen_load` (the load time
/// the user saw, claimed alongside) that time is used as it is and the reply length is searched;
/// without it, Headroom's own load band at the query's reply length.
fn reload_per_request(
    q: Quantity,
    run: &Scenario,
    p: &SpeedParams,
    o: &CheckOptions,
    seen_load: Option<f64>,
) -> Vec<Candidate> {
    let (load, how) = match seen_load {
        Some(l) => (
            Band {
                value: l,
                low: l,
                high: l,
            },
            "as seen",
        ),
        None => match bands::predict(Quantity::LoadS, run, p, o) {
            Some(b) => (b, "predicted"),
            None => return Vec::new(),
        },
    };
    let replies: Vec<u32> = match (q, seen_load) {
        (Quantity::DecodeTokS, Some(_)) => {
            let mut g: Vec<u32> = REPLIES.to_vec();
            g.push(o.query.gen_tokens.max(1));
            g.sort_unstable();
            g.dedup();
            g
        }
        _ => vec![o.query.gen_tokens.max(1)],
    };
    let ctx = fit(run).n_ctx;
    let mut out = Vec::new();
    for n in replies {
        if q == Quantity::DecodeTokS
            && seen_load.is_some()
            && o.query.prompt_tokens.saturating_add(n) > ctx
        {
            continue;
        }
        let query = SpeedQuery {
            gen_tokens: n,
            ..o.query
        };
        let r = predict(run, &query, p);
        let (Some(t), Some(tl), Some(th)) = (r.ttft_s, r.ttft_s_low, r.ttft_s_high) else {
            continue;
        };
        let gen = f64::from(n);
        let (setting, band) = match q {
            Quantity::DecodeTokS => (
                format!(
                    "a {n}-token reply, the model ({:.1} s to load, {how}) loaded for each request (Ollama: keep_alive expired or OLLAMA_MAX_LOADED_MODELS reached)",
                    load.value
                ),
                Band {
                    value: gen / (load.value + t + gen / r.decode_tok_s),
                    low: gen / (load.high + th + gen / r.decode_tok_s_low),
                    high: gen / (load.low + tl + gen / r.decode_tok_s_high),
                },
            ),
            _ => (
                format!(
                    "the model ({:.1} s to load, {how}) loaded for each request (Ollama: keep_alive expired or OLLAMA_MAX_LOADED_MODELS reached)",
                    load.value
                ),
                Band {
                    value: load.value + t,
                    low: load.low + tl,
                    high: load.high + th,
                },
            ),
        };
        out.push(Candidate {
            cause: RELOAD_PER_REQUEST,
            setting,
            band,
        });
    }
    out
}

/// vLLM takes `gpu_memory_utilization` of each GPU's memory up front, whatever the model needs.
fn vllm_preallocation(given: &Scenario) -> Vec<Candidate> {
    let mem: f64 = given
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .map(|d| d.memory.0 as f64)
        .sum();
    if mem <= 0.0 {
        return Vec::new();
    }
    let cause = if matches!(given.runtime, Runtime::Vllm(_)) {
        VLLM_PREALLOCATION
    } else {
        ANOTHER_RUNTIME_VLLM
    };
    // the grid is 0.05 wide, so each step owns half a step either side
    (10..=19)
        .map(|k| {
            let u = f64::from(k) * 0.05;
            Candidate {
                cause,
                setting: format!("--gpu-memory-utilization {u:.2}"),
                band: Band {
                    value: u * mem / GIB,
                    low: (u - 0.025) * mem / GIB,
                    high: (u + 0.025) * mem / GIB,
                },
            }
        })
        .collect()
}
