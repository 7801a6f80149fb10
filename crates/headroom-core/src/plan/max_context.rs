//! The largest context that fits, at the runtime's own granularity, and the same per KV cache type.

use super::judge::Prepared;
use super::scenario::{Runtime, Scenario};
use crate::model::limits::MAX_CTX;
use crate::quant::GgmlType;
use serde::{Deserialize, Serialize};

/// Max context for one KV cache type (llama.cpp), the usual fix when context runs out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheTypeContext {
    pub cache_type: String,
    /// Flash attention is switched on for quantized V caches, which need it.
    pub flash_attn: bool,
    pub max_context: Option<u32>,
}

/// The largest context (a multiple of the runtime's granule) that fits, or `None` when even the
/// smallest does not. Capped at the trained length unless the scenario allows more.
/// Memory grows with context, so a binary search over granules finds the edge.
pub fn max_context(s: &Scenario) -> Option<u32> {
    max_context_with(s, &s.runtime)
}

/// Max context with `runtime` in place of the scenario's (the weight flags must be the same).
/// Memory grows with context, piecewise linearly, so the edge is found by false position on the
/// byte margin (Illinois variant), falling back to bisection when it stalls.
fn max_context_with(s: &Scenario, runtime: &Runtime) -> Option<u32> {
    let granule = runtime.ctx_granule().max(1);
    let cap = if s.beyond_trained {
        MAX_CTX
    } else {
        s.model.n_ctx_train.max(1)
    };
    let prepared = Prepared::new(s);
    let mut rt = runtime.clone();
    let mut slack_at = |n: u32| {
        rt.set_n_ctx(n);
        prepared.slack(&rt)
    };
    let lo_ctx = granule.min(cap);
    let f_lo = slack_at(lo_ctx);
    if f_lo < 0 {
        return None;
    }
    let f_cap = slack_at(cap);
    if f_cap >= 0 {
        return Some(cap);
    }
    if lo_ctx < granule {
        return Some(lo_ctx);
    }
    // Granule indices: `lo` fits, `hi` does not.
    let (mut lo, mut hi) = (1u32, cap.div_ceil(granule));
    let (mut f_lo, mut f_hi) = (
        f_lo as f64,
        if f_cap == i64::MIN {
            f64::NAN
        } else {
            f_cap as f64
        },
    );
    let mut last_side = 0i8;
    while hi - lo > 1 {
        let span = f64::from(hi - lo);
        let guess = if f_hi.is_finite() && f_lo > f_hi {
            lo as f64 + span * f_lo / (f_lo - f_hi)
        } else {
            lo as f64 + span / 2.0
        };
        let mid = (guess.floor() as u32).clamp(lo + 1, hi - 1);
        let f = slack_at((mid * granule).min(cap));
        if f >= 0 {
            lo = mid;
            f_lo = f as f64;
            if last_side == 1 {
                f_hi /= 2.0;
            }
            last_side = 1;
        } else {
            hi = mid;
            f_hi = if f == i64::MIN { f64::NAN } else { f as f64 };
            if last_side == -1 {
                f_lo /= 2.0;
            }
            last_side = -1;
        }
    }
    Some((lo * granule).min(cap))
}

/// Max context for f16, q8_0 and q4_0 caches (llama.cpp only; other runtimes get an empty list).
pub fn max_context_by_cache_type(s: &Scenario) -> Vec<CacheTypeContext> {
    let Runtime::LlamaCpp(base) = &s.runtime else {
        return Vec::new();
    };
    [GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0]
        .into_iter()
        .map(|ty| {
            let mut ls = base.clone();
            ls.type_k = ty;
            ls.type_v = ty;
            ls.flash_attn = base.flash_attn || ty.is_quantized();
            let t = Scenario {
                runtime: Runtime::LlamaCpp(ls.clone()),
                ..s.clone()
            };
            CacheTypeContext {
                cache_type: ty.name().to_string(),
                flash_attn: ls.flash_attn,
                max_context: max_context(&t),
            }
        })
        .collect()
}
