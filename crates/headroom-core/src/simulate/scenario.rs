//! The engine and step times a `Scenario` implies: KV capacity from the same memory model `fit`
//! uses, step times from the roofline over the speed model's work per device.

use super::engine::{EngineConfig, LlamaServerConfig, OllamaConfig, VllmConfig};
use super::step_times::Roofline;
use super::SimError;
use crate::hardware::DeviceKind;
use crate::memory::vllm;
use crate::plan::{Runtime, Scenario};
use serde::{Deserialize, Serialize};

/// Which server fronts the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Server {
    /// llama-server for llama.cpp, vLLM's own server, the serial server for MLX and transformers.
    Native,
    /// Ollama's scheduler over the llama.cpp runner.
    Ollama,
    /// One request at a time, whatever the runtime.
    Serial,
}

/// The engine for `s`. For Ollama the scenario's context is the runner's total
/// (`num_ctx x OLLAMA_NUM_PARALLEL`), as `fit` sizes the cache, and `max_queue` is
/// `OLLAMA_MAX_QUEUE`.
pub fn engine_for(s: &Scenario, server: Server, max_queue: u32) -> Result<EngineConfig, SimError> {
    let m = &s.model;
    match (&s.runtime, server) {
        (_, Server::Serial) | (Runtime::Mlx(_) | Runtime::Transformers(_), Server::Native) => {
            Ok(EngineConfig::Serial)
        }
        (Runtime::LlamaCpp(ls), Server::Native) => Ok(EngineConfig::LlamaServer(
            LlamaServerConfig::from_settings(m, ls),
        )),
        (Runtime::LlamaCpp(ls), Server::Ollama) => {
            let c = LlamaServerConfig::from_settings(m, ls);
            Ok(EngineConfig::Ollama(OllamaConfig {
                num_parallel: c.n_parallel,
                num_ctx: c.n_ctx / c.n_parallel.max(1),
                num_batch: c.n_batch,
                max_queue,
            }))
        }
        (Runtime::Vllm(vs), Server::Native) => {
            let gpu = s
                .devices
                .iter()
                .find(|d| d.kind != DeviceKind::Cpu)
                .ok_or_else(|| SimError("vLLM needs a GPU; this hardware has none".into()))?;
            let weights_total: u64 = s.weights.iter().map(|t| t.bytes).sum();
            let plan = vllm::plan(m, weights_total, gpu, vs);
            Ok(EngineConfig::Vllm(VllmConfig::from_plan(vs, &plan)))
        }
        (r, Server::Ollama) => Err(SimError(format!("Ollama runs llama.cpp, not {}", r.name()))),
    }
}

/// Roofline step times: the speed model's work on each of the scenario's devices
/// ([`Roofline::new`]), every efficiency at 1.
pub fn roofline_for(s: &Scenario) -> Result<Roofline, SimError> {
    Roofline::new(s)
}
