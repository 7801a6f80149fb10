//! Verdicts: is it usable for chat, a coding agent, a long-document summary or a batch job?
//!
//! Thresholds are choices a person would recognise, not measurements:
//! - reading speed: 238 words per minute (Brysbaert 2019, meta-analysis of silent reading of
//!   English non-fiction) at 0.75 words per token (OpenAI's rule of thumb) = 5.3 tokens/s;
//! - 10 s: the limit for keeping a person's attention on a dialogue (Nielsen, "Usability
//!   Engineering", 1993, response-time limits);
//! - an agent step judged at a 16K-token prompt, a summary at 32K.

use super::{SpeedModel, SpeedParams, SpeedQuery};
use crate::memory::llama_cpp::LlamaCppSettings;
use crate::plan::{fit, offload_plan, Runtime, Scenario};
use crate::quant::GgmlType;
use serde::{Deserialize, Serialize};

/// Reading speed in tokens per second: 238 words/min / 60 / 0.75 words per token.
pub const READING_TOK_S: f64 = 238.0 / 60.0 / 0.75;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseCase {
    Chat,
    Agent,
    Summary,
    Batch,
}

/// What a use case needs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Context that must fit (per sequence).
    pub context: u32,
    pub query: SpeedQuery,
    /// Per-sequence decode speed (or, for batch, all sequences together) that counts as usable.
    pub min_decode_tok_s: f64,
    pub max_ttft_s: Option<f64>,
}

impl UseCase {
    pub const ALL: [UseCase; 4] = [
        UseCase::Chat,
        UseCase::Agent,
        UseCase::Summary,
        UseCase::Batch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UseCase::Chat => "chat",
            UseCase::Agent => "agent",
            UseCase::Summary => "summary",
            UseCase::Batch => "batch",
        }
    }

    pub fn parse(s: &str) -> Option<UseCase> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chat" => Some(UseCase::Chat),
            "agent" | "coding" | "coding-agent" => Some(UseCase::Agent),
            "summary" | "summarize" | "long-document" => Some(UseCase::Summary),
            "batch" => Some(UseCase::Batch),
            _ => None,
        }
    }

    pub fn profile(self) -> Profile {
        let q = |prompt, gen, batch| SpeedQuery {
            prompt_tokens: prompt,
            gen_tokens: gen,
            depth: 0,
            batch,
        };
        match self {
            // a question with some history; answers read as they stream
            UseCase::Chat => Profile {
                context: 4096,
                query: q(1024, 256, 1),
                min_decode_tok_s: READING_TOK_S,
                max_ttft_s: Some(10.0),
            },
            // a repository's worth of prompt; code is skimmed, so twice reading speed
            UseCase::Agent => Profile {
                context: 16384,
                query: q(16384, 512, 1),
                min_decode_tok_s: 2.0 * READING_TOK_S,
                max_ttft_s: Some(30.0),
            },
            UseCase::Summary => Profile {
                context: 32768,
                query: q(32768, 512, 1),
                min_decode_tok_s: READING_TOK_S,
                max_ttft_s: Some(120.0),
            },
            // eight sequences, each served at least at reading speed in aggregate
            UseCase::Batch => Profile {
                context: 4096,
                query: q(1024, 256, 8),
                min_decode_tok_s: 8.0 * READING_TOK_S,
                max_ttft_s: None,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Usable,
    RunsButSlow,
    /// Fits and runs, but the model was trained for less context than the use case needs.
    ContextTooShort,
    /// Fits and runs, but the quantization's published quality loss is poor.
    PoorQuality,
    DoesNotFit,
}

impl VerdictKind {
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Usable => "usable",
            VerdictKind::RunsButSlow => "runs but slow",
            VerdictKind::ContextTooShort => "context too short",
            VerdictKind::PoorQuality => "poor quality",
            VerdictKind::DoesNotFit => "does not fit",
        }
    }
}

/// The answer for one use case, with why and what would change it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub use_case: UseCase,
    pub verdict: VerdictKind,
    /// Generation speed at the use case's prompt (all sequences together for batch).
    pub decode_tok_s: Option<f64>,
    /// Prompt speed at the use case's prompt length.
    pub prefill_tok_s: Option<f64>,
    pub ttft_s: Option<f64>,
    /// Why it is slow or does not fit, naming the term that dominates.
    pub reasons: Vec<String>,
    /// What would change the answer.
    pub suggestions: Vec<String>,
    /// llama.cpp layers on the GPUs when the run needs partial offload to fit.
    pub gpu_layers: Option<u32>,
    /// llama.cpp's `--n-cpu-moe` when that offload keeps some layers' experts in system RAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_cpu_moe: Option<u32>,
}

impl Verdict {
    /// "Does not fit" for `use_case`: no speeds, with why and what would change it.
    fn does_not_fit(use_case: UseCase, reasons: Vec<String>, suggestions: Vec<String>) -> Self {
        Verdict {
            use_case,
            verdict: VerdictKind::DoesNotFit,
            decode_tok_s: None,
            prefill_tok_s: None,
            ttft_s: None,
            reasons,
            suggestions,
            gpu_layers: None,
            n_cpu_moe: None,
        }
    }
}

/// The scenario as the use case runs it: its context, and its sequences for a batch.
pub fn scenario_for(s: &Scenario, u: UseCase) -> Scenario {
    let p = u.profile();
    let mut t = s.clone();
    let seqs = p.query.batch.max(1);
    t.runtime.set_n_ctx(p.context.saturating_mul(seqs));
    if let Runtime::LlamaCpp(ls) = &mut t.runtime {
        ls.n_parallel = seqs;
    }
    t
}

fn with_llama(s: &Scenario, f: impl Fn(&mut LlamaCppSettings)) -> Option<Scenario> {
    let Runtime::LlamaCpp(ls) = &s.runtime else {
        return None;
    };
    let mut ls = ls.clone();
    f(&mut ls);
    Some(Scenario {
        runtime: Runtime::LlamaCpp(ls),
        ..s.clone()
    })
}

/// The scenario without its tensor list, for llama.cpp, whose memory model needs only the summary.
fn light(s: &Scenario) -> Option<Scenario> {
    matches!(s.runtime, Runtime::LlamaCpp(_)).then(|| Scenario {
        model: s.model.clone(),
        weights: Vec::new(),
        weight_summary: s.weight_summary.clone(),
        quant: s.quant.clone(),
        devices: s.devices.clone(),
        host_ram: s.host_ram,
        wired_limit: s.wired_limit,
        runtime: s.runtime.clone(),
        beyond_trained: s.beyond_trained,
        notes: s.notes.clone(),
    })
}

/// Judges scenario `s` for use case `u` at the use case's own context (what `plan` ranks by).
pub fn judge(s: &Scenario, p: &SpeedParams, u: UseCase) -> Verdict {
    judge_with(s, p, u, false)
}

/// The context per sequence the user set (the trained length when 0).
pub fn context_per_sequence(s: &Scenario) -> u32 {
    let n = s.model.context_or_trained(s.runtime.n_ctx());
    match &s.runtime {
        Runtime::LlamaCpp(ls) => n / ls.n_parallel.max(1),
        _ => n,
    }
}

/// Judges `u` at the user's own setting: their context, sequences and cache types. A context
/// shorter than the use case needs is a "does not fit" naming both, and whether the use case's
/// context would fit; a model trained for less than that is "context too short", judged at the
/// use case's context. Batch keeps its eight sequences unless the user set several.
pub fn judge_at_setting(s: &Scenario, p: &SpeedParams, u: UseCase) -> Verdict {
    judge_at_setting_sharing(s, p, u, &mut None)
}

/// Judges every use case at the user's setting, as [`judge_at_setting`] judges each: the run at
/// the setting (its fit, any offload and its speed model) is the same for all of them, so it is
/// worked out once.
pub fn judge_all_at_setting(s: &Scenario, p: &SpeedParams) -> Vec<Verdict> {
    let mut shared = None;
    UseCase::ALL
        .iter()
        .map(|u| judge_at_setting_sharing(s, p, *u, &mut shared))
        .collect()
}

/// How a scenario runs for a use case: not at all (the reasons and suggestions), or with the speed
/// model of the run (the user's scenario with any offload applied), the offload's reason and settings.
enum Placed {
    NoFit(Vec<String>, Vec<String>),
    Runs {
        model: Box<SpeedModel>,
        reason: Option<String>,
        gpu_layers: Option<u32>,
        n_cpu_moe: Option<u32>,
    },
}

fn judge_at_setting_sharing(
    s: &Scenario,
    p: &SpeedParams,
    u: UseCase,
    shared: &mut Option<Placed>,
) -> Verdict {
    let prof = u.profile();
    let ctx = context_per_sequence(s);
    let user_seqs = match &s.runtime {
        Runtime::LlamaCpp(ls) => ls.n_parallel.max(1),
        _ => 1,
    };
    // a model trained for less than the use case needs is "context too short" whatever the
    // user set: judged at the use case's context, as `plan` does
    if (u == UseCase::Batch && user_seqs < 2) || prof.context > s.model.n_ctx_train {
        return judge_with(s, p, u, false);
    }
    if ctx < prof.context {
        let probe = light(s);
        let t = scenario_for(probe.as_ref().unwrap_or(s), u);
        let on_device = fit(&t).fits;
        let offloaded = !on_device && offload_plan(&t).is_some_and(|o| o.host_fits != Some(false));
        return Verdict::does_not_fit(
            u,
            vec![format!(
                "the context is {ctx} tokens per sequence, below the {} this use needs",
                prof.context
            )],
            vec![if on_device {
                format!("--ctx {} fits", prof.context)
            } else if offloaded {
                format!(
                    "--ctx {} fits with layers in system RAM (see `headroom fit`)",
                    prof.context
                )
            } else {
                format!(
                    "--ctx {} does not fit either: a smaller quantization or a larger device",
                    prof.context
                )
            }],
        );
    }
    let placed = shared.get_or_insert_with(|| place(s, p, u, true));
    judge_placed(s, u, true, placed)
}

fn judge_with(s: &Scenario, p: &SpeedParams, u: UseCase, at_setting: bool) -> Verdict {
    judge_placed(s, u, at_setting, &place(s, p, u, at_setting))
}

/// Whether and how `s` runs for `u`: on the device, with layers or experts in system RAM, or not.
fn place(s: &Scenario, p: &SpeedParams, u: UseCase, at_setting: bool) -> Placed {
    let prof = u.profile();
    // llama.cpp's fit reads only the weight summary: probe without cloning every tensor
    let probe = light(s);
    let base = probe.as_ref().unwrap_or(s);
    let mut t = if at_setting {
        base.clone()
    } else {
        scenario_for(base, u)
    };
    let mut reason = None;
    let mut gpu_layers = None;
    let mut n_cpu_moe = None;
    let fits_gpu = fit(&t).fits;
    if !fits_gpu {
        match offload_plan(&t).filter(|o| o.host_fits != Some(false)) {
            Some(o) => {
                let moe = o.n_cpu_moe;
                if let Some(x) = with_llama(&t, |ls| {
                    ls.n_gpu_layers = Some(o.gpu_layers);
                    ls.n_cpu_moe = moe.unwrap_or(0);
                }) {
                    t = x;
                }
                gpu_layers = Some(o.gpu_layers);
                n_cpu_moe = moe;
                reason = Some(match moe {
                    Some(n) => format!("fits with the experts of {n} layers in system RAM"),
                    None => format!(
                        "fits with {} of {} layers on the GPU, the rest in system RAM",
                        o.gpu_layers, o.total_layers
                    ),
                });
            }
            None => {
                let (ctx, seqs) = if at_setting {
                    let seqs = match &t.runtime {
                        Runtime::LlamaCpp(ls) => ls.n_parallel.max(1),
                        _ => 1,
                    };
                    (context_per_sequence(&t), seqs)
                } else {
                    (prof.context, prof.query.batch)
                };
                let reason = format!(
                    "does not fit at {ctx} tokens of context{}",
                    if seqs > 1 {
                        format!(" x {seqs} sequences")
                    } else {
                        String::new()
                    }
                );
                return Placed::NoFit(vec![reason], fit_suggestions(&t));
            }
        }
    }
    // the speed model reads the tensors: the full scenario at the runtime settings found
    let run = if probe.is_some() {
        Scenario {
            runtime: t.runtime.clone(),
            ..s.clone()
        }
    } else {
        t
    };
    Placed::Runs {
        model: Box::new(SpeedModel::new(&run, p)),
        reason,
        gpu_layers,
        n_cpu_moe,
    }
}

/// The verdict for `u` on a run placed by [`place`].
fn judge_placed(s: &Scenario, u: UseCase, at_setting: bool, placed: &Placed) -> Verdict {
    let prof = u.profile();
    let (m, reason, gpu_layers, n_cpu_moe) = match placed {
        Placed::Runs {
            model,
            reason,
            gpu_layers,
            n_cpu_moe,
        } => (model, reason, *gpu_layers, *n_cpu_moe),
        Placed::NoFit(reasons, suggestions) => {
            return Verdict::does_not_fit(u, reasons.clone(), suggestions.clone())
        }
    };
    let mut reasons: Vec<String> = reason.iter().cloned().collect();
    let mut suggestions = Vec::new();
    if prof.context > s.model.n_ctx_train {
        reasons.push(format!(
            "the model was trained for {} tokens, less than the {} this use needs",
            s.model.n_ctx_train, prof.context
        ));
        suggestions.push(format!(
            "a model trained for at least {} tokens",
            prof.context
        ));
    }
    let mut prof = prof;
    if at_setting && u == UseCase::Batch {
        // the user's sequences, each at least at reading speed (an offload keeps them)
        if let Runtime::LlamaCpp(ls) = &s.runtime {
            let seqs = ls.n_parallel.max(1);
            prof.min_decode_tok_s *= f64::from(seqs) / f64::from(prof.query.batch.max(1));
            prof.query.batch = seqs;
        }
    }
    let sp = m.query(&prof.query);
    let rate = if prof.query.batch > 1 {
        sp.aggregate_tok_s
    } else {
        sp.decode_tok_s
    };
    let short = prof.context > s.model.n_ctx_train;
    let mut slow = false;
    if rate < prof.min_decode_tok_s {
        slow = true;
        let d = sp.decode;
        let terms = [
            (d.weights_s, "reading the weights", "a smaller quantization"),
            (
                d.kv_cache_s,
                "reading the KV cache at depth",
                "a q8_0 KV cache or less context",
            ),
            (
                d.overhead_s,
                "fixed per-token costs",
                "a runtime with less per-token overhead",
            ),
            (
                d.cpu_s,
                "layers on the CPU reading system RAM",
                "fewer layers on the CPU (a smaller quantization or less context)",
            ),
            (
                d.link_s,
                "transfers between devices",
                "fewer devices or a faster link",
            ),
            (d.compute_s, "compute for the batch", "a smaller batch"),
        ];
        let (_, what, fix) = dominant(&terms);
        reasons.push(format!(
            "generates {rate:.1} tokens/s, below the {:.1} this use needs; {what} dominates",
            prof.min_decode_tok_s
        ));
        suggestions.push(fix.to_string());
    }
    if prof.max_ttft_s.is_some() && sp.ttft_s.is_none() {
        reasons.push(
            "time to first token unknown: the device publishes no compute rate to scale from"
                .into(),
        );
    }
    if let (Some(max), Some(ttft)) = (prof.max_ttft_s, sp.ttft_s) {
        if ttft > max {
            slow = true;
            let what = sp
                .prefill
                .map_or(("prompt processing", "a faster GPU"), |pt| {
                    let terms = [
                        (
                            pt.matmul_s,
                            "prompt compute",
                            "a faster GPU or a shorter prompt",
                        ),
                        (
                            pt.attention_s,
                            "attention over the long prompt",
                            "flash attention or less context",
                        ),
                        (
                            pt.memory_s,
                            "reading the weights per micro-batch",
                            "a larger micro-batch (-ub)",
                        ),
                        (
                            pt.link_s,
                            "copying CPU-resident weights over PCIe",
                            "fewer layers on the CPU",
                        ),
                        (
                            pt.cpu_s,
                            "prompt work on the CPU",
                            "fewer layers on the CPU",
                        ),
                    ];
                    let (_, w, f) = dominant(&terms);
                    (w, f)
                });
            reasons.push(format!(
                "first token after {ttft:.1} s at a {}-token prompt, over the {max:.0} s limit; {} dominates",
                prof.query.prompt_tokens, what.0
            ));
            suggestions.push(what.1.to_string());
        }
    }
    suggestions.dedup();
    Verdict {
        use_case: u,
        verdict: if short {
            VerdictKind::ContextTooShort
        } else if slow {
            VerdictKind::RunsButSlow
        } else {
            VerdictKind::Usable
        },
        decode_tok_s: Some(rate),
        prefill_tok_s: sp.prefill_tok_s,
        ttft_s: sp.ttft_s,
        reasons,
        suggestions,
        gpu_layers,
        n_cpu_moe,
    }
}

fn dominant<'a>(terms: &[(f64, &'a str, &'a str)]) -> (f64, &'a str, &'a str) {
    terms
        .iter()
        .copied()
        .fold((f64::MIN, "", ""), |a, b| if b.0 > a.0 { b } else { a })
}

/// What would make a scenario that does not fit fit: a quantized KV cache, less context.
fn fit_suggestions(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(q8) = with_llama(s, |ls| {
        ls.type_k = GgmlType::Q8_0;
        ls.type_v = GgmlType::Q8_0;
        ls.flash_attn = true;
    }) {
        if fit(&q8).fits {
            out.push("a q8_0 KV cache (-ctk q8_0 -ctv q8_0 -fa on) makes it fit".into());
        }
    }
    let mut half = s.clone();
    half.runtime.set_n_ctx(s.runtime.n_ctx() / 2);
    if fit(&half).fits {
        out.push(format!("{} tokens of context fit", s.runtime.n_ctx() / 2));
    }
    out.push("a smaller quantization or a larger device".into());
    out
}
