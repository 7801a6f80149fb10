//! `check`: judge a claimed or observed number (tok/s, time to first token, VRAM, load time, "it
//! runs") against the physical bound and the model's band, and search the settings for those
//! that reproduce it.
//!
//! [`bounds`] gives what no setting can beat, [`bands`] the prediction and its ~90% band for the
//! scenario as it would run, [`search`] the inverse question: which settings (layers in system
//! RAM, a quantized KV cache, the Windows driver's system-memory fallback, vLLM's preallocation,
//! a prompt or a reload inside the measured time, another context) predict the number.

pub mod bands;
pub mod bounds;
pub mod search;

use crate::plan::Scenario;
use crate::speed::sysmem_fallback::{self, Spill};
use crate::speed::{SpeedParams, SpeedQuery};
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// What was claimed or seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Generation tokens per second of one sequence.
    DecodeTokS,
    /// Prompt tokens per second.
    PrefillTokS,
    /// Seconds to the first token.
    TtftS,
    /// GiB in use on the accelerators (nvidia-smi's MiB / 1024, Task Manager's "dedicated").
    VramGib,
    /// GiB the accelerators' use rose by when the context went from `CheckOptions::from_ctx`.
    VramRiseGib,
    /// Seconds to load the model.
    LoadS,
    /// 1 when it was said to run, 0 when it was said not to.
    Fits,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::DecodeTokS => "decode_tok_s",
            Quantity::PrefillTokS => "prompt_tok_s",
            Quantity::TtftS => "ttft_s",
            Quantity::VramGib => "vram_gib",
            Quantity::VramRiseGib => "vram_rise_gib",
            Quantity::LoadS => "load_s",
            Quantity::Fits => "fits",
        }
    }

    /// Whether a larger value is the better one (a bound is then a ceiling).
    pub fn bound_is_ceiling(self) -> bool {
        matches!(
            self,
            Quantity::DecodeTokS
                | Quantity::PrefillTokS
                | Quantity::VramGib
                | Quantity::VramRiseGib
                | Quantity::Fits
        )
    }
}

/// One claimed number.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub quantity: Quantity,
    pub value: f64,
}

/// The operating system the run was on; it decides whether the NVIDIA driver may spill VRAM to
/// system memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
    Wsl2,
    Macos,
}

impl Os {
    pub fn parse(s: &str) -> Option<Os> {
        match s.to_ascii_lowercase().as_str() {
            "linux" => Some(Os::Linux),
            "windows" | "win" => Some(Os::Windows),
            "wsl2" | "wsl" => Some(Os::Wsl2),
            "macos" | "mac" | "darwin" => Some(Os::Macos),
            _ => None,
        }
    }

    /// NVIDIA's "CUDA - Sysmem Fallback Policy" exists only in the Windows driver (WSL2 runs on it).
    pub fn has_sysmem_fallback(self) -> bool {
        matches!(self, Os::Windows | Os::Wsl2)
    }
}

/// What the check needs beyond the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// The prompt and generation the claimed rates were measured over.
    pub query: SpeedQuery,
    /// `None`: unknown, so the Windows-only causes are searched too (and say so).
    pub os: Option<Os>,
    /// For [`Quantity::VramRiseGib`]: the context before the rise.
    pub from_ctx: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimVerdict {
    /// Beyond the physical bound: no setting reaches it.
    Impossible,
    /// Within the bound but outside the band for the setting given.
    Implausible,
    /// Inside the band.
    Plausible,
}

impl ClaimVerdict {
    pub fn name(self) -> &'static str {
        match self {
            ClaimVerdict::Impossible => "impossible",
            ClaimVerdict::Implausible => "implausible",
            ClaimVerdict::Plausible => "plausible",
        }
    }
}

/// A setting that reproduces the number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub cause: String,
    /// The setting, as the user would write or see it (`-ngl 20`, `OLLAMA_KV_CACHE_TYPE=q4_0`).
    pub setting: String,
    /// What Headroom predicts with that setting.
    pub predicted: f64,
    pub low: f64,
    pub high: f64,
}

/// The judgement of one claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimCheck {
    pub quantity: Quantity,
    pub claimed: f64,
    pub verdict: ClaimVerdict,
    /// The physical bound (a ceiling for rates and memory, a floor for times), when one exists.
    pub bound: Option<f64>,
    /// The bound's arithmetic, in words and numbers.
    pub bound_arithmetic: Option<String>,
    pub predicted: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// For implausible claims: the settings that reproduce it, best match first.
    pub explanations: Vec<Explanation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub model: String,
    pub quant: String,
    /// The runtime as the user runs it (`Ollama (llama-server)`, `LM Studio (MLX engine)`).
    pub runtime: String,
    /// What building the scenario read or chose: the runtime's defaults it used (Ollama's
    /// `num_ctx`, slots, KV cache type), the operating system's VRAM share, a generic model's shape.
    pub notes: Vec<String>,
    pub n_ctx: u32,
    /// The setting the predictions are for (`-ngl` chosen when it does not fit, and so on).
    pub as_run: String,
    pub claims: Vec<ClaimCheck>,
    pub warnings: Vec<String>,
}

/// Whether every layer was asked on the GPU (`-ngl` or Ollama's `num_gpu` past the layer count).
fn all_layers_forced(s: &Scenario) -> bool {
    matches!(&s.runtime, crate::plan::Runtime::LlamaCpp(ls)
        if ls.n_gpu_layers.is_some_and(|n| n > s.model.n_layer))
}

/// On Windows and WSL2 a run that asks every layer on a GPU that cannot hold them does not fail:
/// the driver puts the rest in shared system memory (`speed::sysmem_fallback`).
fn spill_mode(s: &Scenario, p: &SpeedParams, o: &CheckOptions) -> Option<Spill> {
    if !o.os.is_some_and(Os::has_sysmem_fallback) || !all_layers_forced(s) {
        return None;
    }
    sysmem_fallback::spill(s, &o.query, p)
}

/// Judges every claim against one scenario.
pub fn check(s: &Scenario, claims: &[Claim], p: &SpeedParams, o: &CheckOptions) -> CheckReport {
    let mut run = bands::as_run(s);
    let spill = spill_mode(s, p, o);
    if let Some(sp) = &spill {
        run.setting = format!(
            "every layer on the GPU, {:.2} GiB of {:.2} GiB in shared system memory (the Windows driver's system-memory fallback)",
            sp.spilled() / Bytes::GIB as f64,
            sp.need / Bytes::GIB as f64
        );
    }
    let mut warnings = Vec::new();
    if o.os.is_none() {
        warnings.push(
            "operating system not given (--os): the Windows driver's system-memory fallback was searched too"
                .to_string(),
        );
    }
    // A load time claimed alongside is what the user saw: a reload inside a timed request is
    // searched with it.
    let seen_load = claims
        .iter()
        .find(|c| c.quantity == Quantity::LoadS && c.value.is_finite() && c.value > 0.0)
        .map(|c| c.value);
    let along = Alongside {
        spill: spill.as_ref(),
        load_s: seen_load,
    };
    let out = claims
        .iter()
        .map(|c| judge(s, &run.scenario, c, p, o, &along, &mut warnings))
        .collect();
    CheckReport {
        model: s.model.name.clone(),
        quant: s.quant.clone(),
        runtime: s.runtime.label().to_string(),
        notes: s.notes.clone(),
        n_ctx: crate::plan::fit(&run.scenario).n_ctx,
        as_run: run.setting,
        claims: out,
        warnings,
    }
}

/// What the run as a whole tells each claim's judgement: the Windows spill it runs in, and a load
/// time claimed alongside.
struct Alongside<'a> {
    spill: Option<&'a Spill>,
    load_s: Option<f64>,
}

fn judge(
    given: &Scenario,
    run: &Scenario,
    c: &Claim,
    p: &SpeedParams,
    o: &CheckOptions,
    along: &Alongside,
    warnings: &mut Vec<String>,
) -> ClaimCheck {
    let bound = bounds::bound(c.quantity, given, o);
    let band = match (c.quantity, along.spill) {
        (Quantity::DecodeTokS, Some(sp)) => Some(bands::Band {
            value: sp.decode_tok_s,
            low: sp.decode_tok_s_low,
            high: sp.decode_tok_s_high,
        }),
        (Quantity::Fits, Some(_)) => Some(bands::Band {
            value: 1.0,
            low: 1.0,
            high: 1.0,
        }),
        _ => bands::predict(c.quantity, run, p, o),
    };
    if band.is_none() {
        let w = format!(
            "no prediction for {}: {}",
            c.quantity.name(),
            bands::why_none(c.quantity, o)
        );
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    let beyond = bound.as_ref().is_some_and(|b| {
        if c.quantity.bound_is_ceiling() {
            c.value > b.value
        } else {
            c.value < b.value
        }
    });
    let inside = band
        .as_ref()
        .is_some_and(|b| c.value >= b.low && c.value <= b.high);
    let verdict = if beyond {
        ClaimVerdict::Impossible
    } else if inside || band.is_none() {
        ClaimVerdict::Plausible
    } else {
        ClaimVerdict::Implausible
    };
    let explanations = if verdict == ClaimVerdict::Implausible {
        search::explain(c, given, run, p, o, along.load_s)
    } else {
        Vec::new()
    };
    ClaimCheck {
        quantity: c.quantity,
        claimed: c.value,
        verdict,
        bound: bound.as_ref().map(|b| b.value),
        bound_arithmetic: bound.map(|b| b.arithmetic),
        predicted: band.map(|b| b.value),
        low: band.map(|b| b.low),
        high: band.map(|b| b.high),
        explanations,
    }
}
