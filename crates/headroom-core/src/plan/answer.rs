//! The full answer for one scenario: the fit report, the max context (also per KV cache type), and
//! the offload plan when it does not fit. This is the object `headroom fit --json` prints.

use super::judge::{fit, FitReport};
use super::max_context::{max_context, max_context_by_cache_type, CacheTypeContext};
use super::offload::{offload_plan, OffloadPlan};
use super::scenario::Scenario;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitAnswer {
    #[serde(flatten)]
    pub report: FitReport,
    /// The largest context that fits with these settings.
    pub max_context: Option<u32>,
    /// llama.cpp: the largest context with f16, q8_0 and q4_0 caches.
    pub max_context_by_cache_type: Vec<CacheTypeContext>,
    /// llama.cpp on GPUs, when it does not fit: the offload that would.
    pub offload: Option<OffloadPlan>,
}

pub fn answer(s: &Scenario) -> FitAnswer {
    FitAnswer {
        report: fit(s),
        max_context: max_context(s),
        max_context_by_cache_type: max_context_by_cache_type(s),
        offload: offload_plan(s),
    }
}
