//! Planning: fit, max context and offload, for a `Scenario`.

pub mod answer;
pub mod judge;
pub mod max_context;
pub mod offload;
pub mod scenario;

pub use answer::{answer, FitAnswer};
pub use judge::{fit, DeviceReport, FitReport};
pub use max_context::{max_context, max_context_by_cache_type, CacheTypeContext};
pub use offload::{offload_plan, OffloadPlan};
pub use scenario::{Runtime, Scenario};
