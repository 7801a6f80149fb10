//! `plan`: which models and quantizations fit a device, one row per distinct model, ranked by a
//! score that weighs size, measured quantization quality, speed and context for the use case.

use super::plan_score::{score, ScoreInputs};
use super::verdict::{judge, UseCase, Verdict, VerdictKind};
use super::SpeedParams;
use crate::model::ModelSpec;
use crate::plan::{max_context, Runtime, Scenario};
use crate::quant::{
    gguf_mix, stored_from_gguf, stored_tensors, GgmlType, QualityGrade, QualitySignal,
    QualityTable, Quant, StoredTensor, WeightSummary,
};
use crate::tensors::{self, Tensor, TensorRole};
use serde::{Deserialize, Serialize};

/// One model and quantization on the device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Catalog id, or the path or tag of a local file.
    pub model: String,
    /// Other catalog ids with the same shapes (the same memory and speed; their trained context
    /// may be shorter), folded into this row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same_shapes: Vec<String>,
    pub quant: String,
    /// Total parameters, billions.
    pub params_b: f64,
    pub bits_per_weight: f64,
    /// Generation and prompt speed at the use case's prompt, as the verdict judged them
    /// (with partial offload when the run needs it and system RAM was given).
    pub decode_tok_s: f64,
    pub prefill_tok_s: Option<f64>,
    /// The longest context one sequence can have at this quantization with the run's settings
    /// (and its offload, when it has one), capped at the trained length.
    pub max_context: Option<u32>,
    /// The published quality loss of this quantization; `None` when none was measured.
    pub quality: Option<QualitySignal>,
    /// The ranking score (`plan_score.rs`); higher is better within a verdict.
    pub score: f64,
    /// Other quantizations of this model that also fit, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_quants: Vec<String>,
    pub verdict: Verdict,
}

/// A model the user already has: its shapes, its stored tensors and their quantization's name.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalModel {
    /// The path or tag that names it.
    pub id: String,
    pub spec: ModelSpec,
    pub weights: Vec<StoredTensor>,
    pub quant: String,
}

/// What the planner takes besides the models: the device and runtime, speed parameters, the
/// use case and the quality measurements.
#[derive(Clone, Copy, Debug)]
pub struct PlanContext<'a> {
    /// Devices and runtime settings; its model and weights are replaced. Without `host_ram`
    /// nothing is placed in system RAM: a run that would need it does not fit.
    pub base: &'a Scenario,
    pub params: &'a SpeedParams,
    pub use_case: UseCase,
    pub quality: Option<&'a QualityTable>,
}

fn tier(v: VerdictKind) -> u8 {
    match v {
        VerdictKind::Usable => 0,
        VerdictKind::RunsButSlow => 1,
        VerdictKind::ContextTooShort => 2,
        VerdictKind::PoorQuality => 3,
        VerdictKind::DoesNotFit => 4,
    }
}

/// Best first: a better verdict, then a higher score.
fn better(a: &PlanEntry, b: &PlanEntry) -> std::cmp::Ordering {
    tier(a.verdict.verdict)
        .cmp(&tier(b.verdict.verdict))
        .then(b.score.total_cmp(&a.score))
        .then(a.model.cmp(&b.model))
}

/// The catalog's models that fit, one row per distinct model (catalog entries with identical
/// shapes are one row, named by the one trained for the longest context), each at its
/// best-ranked quantization of `quants`.
pub fn plan(models: &[(String, ModelSpec)], quants: &[Quant], cx: &PlanContext) -> Vec<PlanEntry> {
    let base = cx.base;
    let mem: u64 =
        base.devices.iter().map(|d| d.memory.0).sum::<u64>() + base.host_ram.map_or(0, |r| r.0);
    let mut out = Vec::new();
    let mut done = vec![false; models.len()];
    for i in 0..models.len() {
        if done[i] {
            continue;
        }
        // the group of entries with these shapes, named by the one trained for the longest context
        let group: Vec<usize> = (i..models.len())
            .filter(|&j| !done[j] && same_shapes(&models[j].1, &models[i].1))
            .collect();
        let rep = group
            .iter()
            .copied()
            .max_by(|&a, &b| {
                models[a]
                    .1
                    .n_ctx_train
                    .cmp(&models[b].1.n_ctx_train)
                    .then(b.cmp(&a))
            })
            .unwrap_or(i);
        for &j in &group {
            done[j] = true;
        }
        let (id, m) = &models[rep];
        let same: Vec<String> = group
            .iter()
            .filter(|&&j| j != rep)
            .map(|&j| models[j].0.clone())
            .collect();
        // synthesized once per model; each GGUF mix only retypes the tensors, in buffers reused
        // from one quantization to the next
        let f16 = tensors::synthesize(m, GgmlType::F16);
        let f16_stored = stored_from_gguf(&f16);
        let n_params = tensors::n_params(&f16);
        let mut typed: Vec<Tensor> = Vec::new();
        let mut spare: Vec<StoredTensor> = Vec::new();
        let mut fitting: Vec<PlanEntry> = Vec::new();
        for q in quants {
            // no mix of the usual ladder stores a tensor below its base type: a size floor
            if let Quant::Gguf { mix } = q {
                let floor = n_params as f64 * mix.base_type().bits_per_weight() / 8.0;
                if floor * 0.95 > mem as f64 {
                    continue;
                }
            }
            let mut weights = std::mem::take(&mut spare);
            fill_weights(m, &f16, &f16_stored, q, &mut typed, &mut weights);
            let (entry, w) = evaluate(id, m, weights, &q.label(), n_params, mem, cx);
            spare = w;
            fitting.extend(entry);
        }
        fitting.sort_by(better);
        let mut rows = fitting.into_iter();
        if let Some(mut best) = rows.next() {
            best.other_quants = rows.map(|e| e.quant).collect();
            best.same_shapes = same;
            out.push(best);
        }
    }
    out.sort_by(better);
    out
}

/// The user's own models that fit, each a row named by its path or tag, best first.
pub fn plan_local(models: Vec<LocalModel>, cx: &PlanContext) -> Vec<PlanEntry> {
    let base = cx.base;
    let mem: u64 =
        base.devices.iter().map(|d| d.memory.0).sum::<u64>() + base.host_ram.map_or(0, |r| r.0);
    let mut out: Vec<PlanEntry> = models
        .into_iter()
        .filter_map(|lm| {
            let n_params: u64 = lm.weights.iter().map(|t| t.n_elements).sum();
            evaluate(&lm.id, &lm.spec, lm.weights, &lm.quant, n_params, mem, cx).0
        })
        .collect();
    out.sort_by(better);
    out
}

/// Judges one model in one quantization; `None` when it does not fit. Hands the weight buffer
/// back for reuse.
fn evaluate(
    id: &str,
    m: &ModelSpec,
    weights: Vec<StoredTensor>,
    quant: &str,
    n_params: u64,
    mem: u64,
    cx: &PlanContext,
) -> (Option<PlanEntry>, Vec<StoredTensor>) {
    let base = cx.base;
    let bytes: u64 = weights.iter().map(|t| t.bytes).sum();
    // weights alone larger than every device and the host together
    if bytes > mem {
        return (None, weights);
    }
    let s = Scenario {
        model: m.clone(),
        weight_summary: WeightSummary::new(m.n_layer, &weights),
        weights,
        quant: quant.to_string(),
        devices: base.devices.clone(),
        host_ram: base.host_ram,
        wired_limit: base.wired_limit,
        runtime: base.runtime.clone(),
        beyond_trained: base.beyond_trained,
        notes: base.notes.clone(),
    };
    let mut v = judge(&s, cx.params, cx.use_case);
    let offloaded = v.gpu_layers.is_some();
    if v.verdict == VerdictKind::DoesNotFit || (offloaded && base.host_ram.is_none()) {
        return (None, s.weights);
    }
    // the context search runs on the placement the verdict chose
    let mut s = s;
    if let Runtime::LlamaCpp(ls) = &mut s.runtime {
        if let Some(ngl) = v.gpu_layers {
            ls.n_gpu_layers = Some(ngl);
            ls.n_cpu_moe = v.n_cpu_moe.unwrap_or(0);
        }
    }
    let max_ctx = max_context(&s);
    let quality = cx.quality.and_then(|t| t.signal(quant, &m.name));
    if let Some(q) = &quality {
        if q.grade == QualityGrade::Poor {
            v.verdict = VerdictKind::PoorQuality;
        }
        if q.grade >= QualityGrade::Large {
            v.reasons.push(quality_reason(q));
        }
        if q.grade == QualityGrade::Poor {
            v.suggestions
                .push("a quantization of at least 3 bits per weight, or a smaller model".into());
        }
    }
    let rate = v.decode_tok_s.unwrap_or(0.0);
    let sc = score(&ScoreInputs {
        use_case: cx.use_case,
        params_b: n_params as f64 / 1e9,
        active_params_b: active_params(m, &s.weights).unwrap_or(n_params) as f64 / 1e9,
        kld: quality.as_ref().map(|q| q.kld),
        decode_tok_s: rate,
        max_context: max_ctx,
    });
    let entry = PlanEntry {
        model: id.to_string(),
        same_shapes: Vec::new(),
        quant: quant.to_string(),
        params_b: n_params as f64 / 1e9,
        bits_per_weight: bytes as f64 * 8.0 / n_params.max(1) as f64,
        decode_tok_s: rate,
        prefill_tok_s: v.prefill_tok_s,
        max_context: max_ctx,
        quality,
        score: sc,
        other_quants: Vec::new(),
        verdict: v,
    };
    (Some(entry), s.weights)
}

/// Parameters one token uses: routed experts at the fraction a token picks. `None` when the
/// tensor list is empty (a scenario whose weights were summarized away).
fn active_params(m: &ModelSpec, w: &[StoredTensor]) -> Option<u64> {
    if w.is_empty() {
        return None;
    }
    let mut n = 0u64;
    for t in w {
        let counted = match (t.role, m.moe) {
            (TensorRole::Experts, Some(moe)) => {
                t.n_elements / u64::from(moe.n_expert.max(1)) * u64::from(moe.n_expert_used)
            }
            _ => t.n_elements,
        };
        n = n.saturating_add(counted);
    }
    Some(n)
}

fn quality_reason(q: &QualitySignal) -> String {
    format!(
        "{} quality {}: mean KL divergence {:.3} from F16, perplexity +{:.0}% (measured on {})",
        q.quant,
        q.grade.label(),
        q.kld,
        q.ppl_increase_pct,
        q.measured_on
    )
}

/// Identical shapes, whatever the name and the trained context: the same weights, KV cache and
/// speed everywhere (a base model and its instruct or coder fine-tune).
fn same_shapes(a: &ModelSpec, b: &ModelSpec) -> bool {
    let key = |m: &ModelSpec| ModelSpec {
        name: String::new(),
        n_ctx_train: 0,
        ..m.clone()
    };
    key(a) == key(b)
}

/// Fills `out` with the stored tensors of `m` in `q`. GGUF mixes retype the model's F16 tensors
/// (in `typed`) and reuse their names, layers and roles.
fn fill_weights(
    m: &ModelSpec,
    f16: &[Tensor],
    stored: &[StoredTensor],
    q: &Quant,
    typed: &mut Vec<Tensor>,
    out: &mut Vec<StoredTensor>,
) {
    match q {
        Quant::Gguf { mix } => {
            refill(typed, f16);
            gguf_mix::apply(m, typed, *mix);
            refill(out, stored);
            for (s, t) in out.iter_mut().zip(typed.iter()) {
                s.bytes = t.bytes();
            }
        }
        _ => *out = stored_tensors(m, q),
    }
}

/// Copies `from` into `to`, reusing `to`'s strings when the lengths agree.
fn refill<T: Clone>(to: &mut Vec<T>, from: &[T]) {
    if to.len() == from.len() {
        to.clone_from_slice(from);
    } else {
        *to = from.to_vec();
    }
}
