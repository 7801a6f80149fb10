//! Capacity simulation: a discrete-event model of a serving engine under a workload, giving
//! latency percentiles, throughput, queueing and KV use, and the searches built on it (the
//! highest rate or the most closed-loop users that meet a latency target, the replicas a target
//! rate needs).
//!
//! Step times come from a [`StepTimes`] (the roofline fallback, a fitted speed model, or pass
//! costs measured with llama-batched-bench on the machine itself, [`MeasuredSteps`]); KV
//! capacity comes from the memory model (`LlamaServerConfig::from_settings`,
//! `VllmConfig::from_plan`), so the simulator and `fit` agree about the same hardware.

pub mod engine;
pub mod events;
pub mod fleet;
pub mod measured_steps;
pub mod metrics;
pub mod plot;
pub mod rng;
pub mod scenario;
pub mod slo;
pub mod step_times;
pub mod workload;

pub use engine::{simulate, EngineConfig, LlamaServerConfig, OllamaConfig, VllmConfig};
pub use fleet::{replicas_needed, FleetPlan};
pub use measured_steps::{BatchedRow, MeasuredSteps};
pub use metrics::{Percentiles, Report, Sample};
pub use scenario::{engine_for, roofline_for, Server};
pub use slo::{max_rate, max_users, sweep, LoadPoint, Slo, SloSearch, UsersSearch};
pub use step_times::{ConstantSteps, Roofline, Scaled, Step, StepTimes};
pub use workload::{parse_table, Arrivals, Lengths, Request, TraceRow, Workload};

/// What is wrong with a simulation's inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError(pub String);

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}
