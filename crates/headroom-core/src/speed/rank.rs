//! `plan`: which catalog models and quantizations fit a device, ranked, with speed and verdict.

use super::verdict::{judge, UseCase, Verdict, VerdictKind};
use super::SpeedParams;
use crate::model::ModelSpec;
use crate::plan::Scenario;
use crate::quant::{
    gguf_mix, stored_from_gguf, stored_tensors, GgmlType, Quant, StoredTensor, WeightSummary,
};
use crate::tensors::{self, Tensor};
use serde::{Deserialize, Serialize};

/// One model and quantization on the device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub model: String,
    pub quant: String,
    /// Total parameters, billions.
    pub params_b: f64,
    pub bits_per_weight: f64,
    /// Generation and prompt speed at the use case's prompt, as the verdict judged them
    /// (with partial offload when the run needs it).
    pub decode_tok_s: f64,
    pub prefill_tok_s: Option<f64>,
    pub verdict: Verdict,
}

fn rank(v: VerdictKind) -> u8 {
    match v {
        VerdictKind::Usable => 0,
        VerdictKind::RunsButSlow => 1,
        VerdictKind::DoesNotFit => 2,
    }
}

/// Every (model, quantization) that fits `base`'s devices for use case `u`, best first: usable
/// before slow, then more parameters, then more bits per weight, then faster decode.
/// `base` supplies devices and runtime settings; its model and weights are replaced.
pub fn plan(
    models: &[(String, ModelSpec)],
    quants: &[Quant],
    base: &Scenario,
    p: &SpeedParams,
    u: UseCase,
) -> Vec<PlanEntry> {
    let mut out = Vec::new();
    let mem: u64 =
        base.devices.iter().map(|d| d.memory.0).sum::<u64>() + base.host_ram.map_or(0, |r| r.0);
    for (id, m) in models {
        // synthesized once per model; each GGUF mix only retypes the tensors, in buffers reused
        // from one quantization to the next
        let f16 = tensors::synthesize(m, GgmlType::F16);
        let f16_stored = stored_from_gguf(&f16);
        let n_params = tensors::n_params(&f16);
        let mut typed: Vec<Tensor> = Vec::new();
        let mut spare: Vec<StoredTensor> = Vec::new();
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
            let bytes: u64 = weights.iter().map(|t| t.bytes).sum();
            // weights alone larger than every device and the host together
            if bytes > mem {
                spare = weights;
                continue;
            }
            let s = Scenario {
                model: m.clone(),
                weight_summary: WeightSummary::new(m.n_layer, &weights),
                weights,
                quant: q.label(),
                devices: base.devices.clone(),
                host_ram: base.host_ram,
                wired_limit: base.wired_limit,
                runtime: base.runtime.clone(),
                beyond_trained: base.beyond_trained,
                notes: base.notes.clone(),
            };
            let v = judge(&s, p, u);
            spare = s.weights;
            if v.verdict == VerdictKind::DoesNotFit {
                continue;
            }
            out.push(PlanEntry {
                model: id.clone(),
                quant: q.label(),
                params_b: n_params as f64 / 1e9,
                bits_per_weight: bytes as f64 * 8.0 / n_params.max(1) as f64,
                decode_tok_s: v.decode_tok_s.unwrap_or(0.0),
                prefill_tok_s: v.prefill_tok_s,
                verdict: v,
            });
        }
    }
    out.sort_by(|a, b| {
        rank(a.verdict.verdict)
            .cmp(&rank(b.verdict.verdict))
            .then(b.params_b.total_cmp(&a.params_b))
            .then(b.bits_per_weight.total_cmp(&a.bits_per_weight))
            .then(b.decode_tok_s.total_cmp(&a.decode_tok_s))
    });
    out
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
