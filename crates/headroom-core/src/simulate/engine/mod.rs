//! Serving engines and the event loop that drives them.
//!
//! Each engine keeps its own queue and batch and tells the loop how long its next step takes; the
//! loop interleaves those steps with arrivals from the workload, in time order.

pub mod llama_server;
pub mod ollama;
pub mod serial;
pub mod vllm;

use super::events::{EventKind, EventQueue};
use super::metrics::{Recorder, Report};
use super::step_times::StepTimes;
use super::workload::{Request, Workload};
use super::SimError;
use serde::{Deserialize, Serialize};

pub use llama_server::LlamaServerConfig;
pub use ollama::OllamaConfig;
pub use vllm::VllmConfig;

/// Which engine serves the requests, with its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "engine", rename_all = "snake_case")]
pub enum EngineConfig {
    LlamaServer(LlamaServerConfig),
    Vllm(VllmConfig),
    Ollama(OllamaConfig),
    /// One request at a time, first come first served, as `mlx_lm.server` serves.
    Serial,
}

impl EngineConfig {
    pub fn name(&self) -> &'static str {
        match self {
            EngineConfig::LlamaServer(_) => "llama-server",
            EngineConfig::Vllm(_) => "vllm",
            EngineConfig::Ollama(_) => "ollama",
            EngineConfig::Serial => "serial",
        }
    }

    /// KV tokens the engine can hold (0 where it does not bound concurrency by KV).
    pub fn kv_capacity_tokens(&self) -> u64 {
        match self {
            EngineConfig::LlamaServer(c) => c.total_cells(),
            EngineConfig::Ollama(c) => c.as_llama_server().total_cells(),
            EngineConfig::Vllm(c) => c.kv_tokens,
            EngineConfig::Serial => 0,
        }
    }
}

/// What the event loop needs from an engine.
pub(crate) trait Engine {
    /// A request arrives: queue it, or refuse it (telling the recorder either way).
    fn arrive(&mut self, req: Request, rec: &mut Recorder);
    /// With no step running, start the next one if there is work; returns its duration.
    fn start_step<S: StepTimes + ?Sized>(
        &mut self,
        now: f64,
        steps: &S,
        rec: &mut Recorder,
    ) -> Option<f64>;
    /// The running step ended at `now`.
    fn finish_step(&mut self, now: f64, rec: &mut Recorder);
    /// Requests in service and KV tokens in use, for the timeline.
    fn running(&self) -> u32;
    fn kv_tokens(&self) -> u64;
}

/// Runs a workload through an engine and reports.
pub fn simulate<S: StepTimes + ?Sized>(
    workload: &Workload,
    engine: &EngineConfig,
    steps: &S,
) -> Result<Report, SimError> {
    workload.validate()?;
    let n = workload.requests as usize;
    match engine {
        EngineConfig::Serial => {
            Ok(drive(serial::Serial::new(), workload, steps, n).finish(engine.name(), 0))
        }
        EngineConfig::LlamaServer(c) => {
            let e = llama_server::LlamaServer::new(c)?;
            Ok(drive(e, workload, steps, n).finish(engine.name(), engine.kv_capacity_tokens()))
        }
        EngineConfig::Ollama(c) => {
            let e = llama_server::LlamaServer::new(&c.as_llama_server())?;
            Ok(drive(e, workload, steps, n).finish(engine.name(), engine.kv_capacity_tokens()))
        }
        EngineConfig::Vllm(c) => {
            let e = vllm::Vllm::new(c)?;
            Ok(drive(e, workload, steps, n).finish(engine.name(), engine.kv_capacity_tokens()))
        }
    }
}

fn drive<E: Engine, S: StepTimes + ?Sized>(
    mut engine: E,
    workload: &Workload,
    steps: &S,
    n: usize,
) -> Recorder {
    let mut rec = Recorder::new(n);
    let mut source = workload.source();
    let mut events;
    // Open loop: one pending arrival, the next of the source. Closed loop: one pending arrival per
    // user, each request's arrival set when its user sends it.
    let closed = workload.closed_loop();
    let mut next = None;
    let mut sent: u64 = 0;
    match closed {
        Some((users, _)) => {
            let first = u64::from(users).min(workload.requests.into());
            events = EventQueue::with_capacity(first as usize + 4);
            for _ in 0..first {
                events.push(0.0, EventKind::Arrival);
            }
            sent = first;
        }
        None => {
            events = EventQueue::with_capacity(4);
            next = source.next();
            if let Some(r) = &next {
                events.push(r.arrival, EventKind::Arrival);
            }
        }
    }
    let mut departed = 0;
    let mut busy = false;
    while let Some(ev) = events.pop() {
        rec.advance(ev.time);
        match ev.kind {
            EventKind::Arrival if closed.is_some() => {
                if let Some(mut r) = source.next() {
                    r.arrival = ev.time;
                    engine.arrive(r, &mut rec);
                }
            }
            EventKind::Arrival => {
                if let Some(r) = next.take() {
                    engine.arrive(r, &mut rec);
                }
                next = source.next();
                if let Some(r) = &next {
                    events.push(r.arrival.max(ev.time), EventKind::Arrival);
                }
            }
            EventKind::StepDone => {
                engine.finish_step(ev.time, &mut rec);
                busy = false;
            }
        }
        if let Some((_, think)) = closed {
            // each request that left frees its user, who sends the next one after thinking
            let now_departed = rec.departures();
            while departed < now_departed {
                departed += 1;
                if sent < u64::from(workload.requests) {
                    sent += 1;
                    events.push(ev.time + think, EventKind::Arrival);
                }
            }
        }
        // In a closed loop, users answered by the same pass send their next requests at the same
        // instant, and they join the same pass: the step starts after the last event at this
        // time. (Open-loop arrivals keep their order: a step starts at the first of them.)
        let tie = closed.is_some() && events.peek_time() == Some(ev.time);
        if !busy && !tie {
            if let Some(dt) = engine.start_step(ev.time, steps, &mut rec) {
                events.push(ev.time + dt.max(0.0), EventKind::StepDone);
                busy = true;
            }
        }
        rec.sample(ev.time, engine.running(), engine.kv_tokens());
    }
    rec
}

/// Step times the engines' tests share.
#[cfg(test)]
pub(crate) mod test_steps {
    use crate::simulate::step_times::StepTimes;

    /// One second a pass, whatever it holds.
    #[derive(Debug)]
    pub(crate) struct PerPass;

    impl StepTimes for PerPass {
        fn prefill(&self, _t: u32, _c: u32, _b: u32) -> f64 {
            1.0
        }
        fn decode(&self, _b: u32, _c: u32) -> f64 {
            1.0
        }
    }
}
