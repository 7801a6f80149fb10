//! llama-server: `-np` slots over one KV cache, continuously batched.
//!
//! As the llama.cpp server documents and implements it (tools/server/README.md, server.cpp,
//! src/llama-context.cpp):
//! - `-np N` slots each hold one sequence; a request arriving when every slot is busy is deferred
//!   (queued first come, first served), not refused.
//! - `-c` is the total context. Without `--kv-unified` each slot gets
//!   `n_ctx_seq = GGML_PAD(n_ctx / N, 256)` cells and the total becomes `n_ctx_seq x N`; with it
//!   every slot may use the whole `n_ctx`, sharing the cells. An automatic `-np` (the default,
//!   `-1`) means 4 slots and a unified cache (server.cpp).
//! - Continuous batching is on by default: every iteration builds one batch of up to `-b` tokens,
//!   first one token for each generating slot, then prompt tokens of slots still processing their
//!   prompt, in slot order, as far as the batch has room (prompts are processed in chunks).
//! - A prompt that does not fit the slot's context is refused ("the request exceeds the available
//!   context size"); generation stops when the slot's context is full (context shift is off by
//!   default), which the report counts as truncated.
//!
//! With a unified cache the simulator admits a request only when its whole sequence fits in the
//! free cells, so no pass ever fails for lack of cells; llama.cpp itself would fail the decode and
//! retry with a smaller batch.

use super::Engine;
use crate::memory::kv_cache::{pad_ctx, LLAMA_CPP_CTX_PAD};
use crate::memory::llama_cpp::{effective_ctx, LlamaCppSettings};
use crate::model::ModelSpec;
use crate::simulate::metrics::Recorder;
use crate::simulate::step_times::{Step, StepTimes};
use crate::simulate::workload::Request;
use crate::simulate::SimError;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// llama-server's scheduling settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlamaServerConfig {
    /// Total KV cells after llama.cpp's padding (the memory model's `effective_ctx`).
    pub n_ctx: u32,
    /// `-np`
    pub n_parallel: u32,
    /// `-b`: tokens per pass.
    pub n_batch: u32,
    /// `--kv-unified`
    pub kv_unified: bool,
    /// Requests that may wait; beyond it arrivals are refused. `None`: unbounded, as llama-server.
    pub max_queue: Option<u32>,
}

impl LlamaServerConfig {
    /// The engine the memory model's llama.cpp settings describe, so that the simulator and `fit`
    /// see the same cells. `n_parallel` 0 stands for llama-server's automatic `-np` (4 slots,
    /// unified cache).
    pub fn from_settings(m: &ModelSpec, s: &LlamaCppSettings) -> LlamaServerConfig {
        let auto = s.n_parallel == 0;
        LlamaServerConfig {
            n_ctx: effective_ctx(m, s.n_ctx),
            n_parallel: if auto { 4 } else { s.n_parallel },
            n_batch: s.n_batch.max(1),
            kv_unified: auto,
            max_queue: None,
        }
    }

    /// Cells one slot may use.
    pub fn ctx_per_slot(&self) -> u32 {
        if self.kv_unified {
            self.n_ctx
        } else {
            pad_ctx(self.n_ctx / self.n_parallel.max(1), LLAMA_CPP_CTX_PAD)
        }
    }

    /// Cells allocated in all.
    pub fn total_cells(&self) -> u64 {
        if self.kv_unified {
            u64::from(self.n_ctx)
        } else {
            u64::from(self.ctx_per_slot()) * u64::from(self.n_parallel.max(1))
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    req: Request,
    /// Prompt tokens in the cache.
    prefilled: u32,
    /// Tokens generated (the first comes with the end of the prompt).
    generated: u32,
    /// Tokens this request will generate (its output, cut to the slot's context).
    target: u32,
    first_token: f64,
    /// Tokens computed in the running pass.
    in_pass: u32,
}

#[derive(Debug)]
pub(crate) struct LlamaServer {
    cfg: LlamaServerConfig,
    slots: Vec<Option<Slot>>,
    queue: VecDeque<Request>,
    per_slot: u32,
    free_cells: u64,
    reserved: Vec<u64>,
}

impl LlamaServer {
    pub(crate) fn new(cfg: &LlamaServerConfig) -> Result<LlamaServer, SimError> {
        if cfg.n_parallel == 0 || cfg.n_ctx == 0 || cfg.n_batch == 0 {
            return Err(SimError(
                "llama-server needs at least one slot, one cell and a batch of one token".into(),
            ));
        }
        let n = cfg.n_parallel as usize;
        Ok(LlamaServer {
            per_slot: cfg.ctx_per_slot(),
            free_cells: cfg.total_cells(),
            cfg: cfg.clone(),
            slots: vec![None; n],
            queue: VecDeque::with_capacity(64),
            reserved: vec![0; n],
        })
    }

    fn admit(&mut self, now: f64, rec: &mut Recorder) {
        for i in 0..self.slots.len() {
            if self.slots[i].is_some() {
                continue;
            }
            let Some(r) = self.queue.front().copied() else {
                return;
            };
            let target = r.output.min(self.per_slot - r.prompt);
            let need = u64::from(r.prompt) + u64::from(target);
            if self.cfg.kv_unified && need > self.free_cells {
                return;
            }
            self.queue.pop_front();
            if target < r.output {
                rec.truncated();
            }
            if self.cfg.kv_unified {
                self.free_cells -= need;
                self.reserved[i] = need;
            }
            rec.started(now - r.arrival);
            self.slots[i] = Some(Slot {
                req: r,
                prefilled: 0,
                generated: 0,
                target,
                first_token: f64::NAN,
                in_pass: 0,
            });
        }
    }
}

impl Engine for LlamaServer {
    fn arrive(&mut self, req: Request, rec: &mut Recorder) {
        rec.arrived();
        let full = self
            .cfg
            .max_queue
            .is_some_and(|m| self.queue.len() >= m as usize);
        if full || req.prompt >= self.per_slot {
            rec.rejected();
            return;
        }
        self.queue.push_back(req);
    }

    fn start_step<S: StepTimes + ?Sized>(
        &mut self,
        now: f64,
        steps: &S,
        rec: &mut Recorder,
    ) -> Option<f64> {
        self.admit(now, rec);
        let mut step = Step::default();
        let mut budget = self.cfg.n_batch;
        let mut decode_ctx = 0u64;
        let mut prefill_ctx = 0u64;
        for s in self.slots.iter_mut().flatten() {
            s.in_pass = 0;
            if s.prefilled == s.req.prompt && budget > 0 {
                s.in_pass = 1;
                budget -= 1;
                step.decode_seqs += 1;
                decode_ctx += u64::from(s.req.prompt + s.generated);
            }
        }
        for s in self.slots.iter_mut().flatten() {
            if s.prefilled < s.req.prompt && budget > 0 {
                let chunk = (s.req.prompt - s.prefilled).min(budget);
                s.in_pass = chunk;
                budget -= chunk;
                step.prefill_tokens += chunk;
                step.prefill_seqs += 1;
                prefill_ctx += u64::from(s.prefilled);
            }
        }
        let step = step.with_means(decode_ctx, prefill_ctx)?;
        Some(steps.step(&step))
    }

    fn finish_step(&mut self, now: f64, rec: &mut Recorder) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            if s.in_pass == 0 {
                continue;
            }
            if s.prefilled < s.req.prompt {
                s.prefilled += s.in_pass;
                if s.prefilled == s.req.prompt {
                    s.generated = 1;
                    s.first_token = now;
                }
            } else {
                s.generated += 1;
            }
            s.in_pass = 0;
            if s.generated >= s.target && s.prefilled == s.req.prompt {
                rec.completed(s.req.arrival, s.first_token, now, s.req.prompt, s.generated);
                self.free_cells += self.reserved[i];
                self.reserved[i] = 0;
                *slot = None;
            }
        }
    }

    fn running(&self) -> u32 {
        self.slots.iter().flatten().count() as u32
    }

    fn kv_tokens(&self) -> u64 {
        self.slots
            .iter()
            .flatten()
            .map(|s| u64::from(s.prefilled) + u64::from(s.generated.saturating_sub(1)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::engine::test_steps::PerPass;
    use crate::simulate::engine::{simulate, EngineConfig};
    use crate::simulate::workload::{Arrivals, Lengths, Workload};

    fn two_requests(prompt: u32, output: u32) -> Workload {
        Workload {
            arrivals: Arrivals::Trace(vec![
                crate::simulate::TraceRow {
                    time: 0.0,
                    prompt,
                    output,
                },
                crate::simulate::TraceRow {
                    time: 0.0,
                    prompt,
                    output,
                },
            ]),
            prompt: Lengths::Fixed(1),
            output: Lengths::Fixed(1),
            requests: 2,
            seed: 0,
        }
    }

    #[test]
    fn a_batch_of_n_batch_tokens_splits_prompts_across_passes() {
        // -b 512, two slots, two 400-token prompts: pass 1 holds 400 + 112 of the second, pass 2
        // its remaining 288 and the first's decode token.
        let cfg = LlamaServerConfig {
            n_ctx: 4096,
            n_parallel: 2,
            n_batch: 512,
            kv_unified: false,
            max_queue: None,
        };
        let r = simulate(
            &two_requests(400, 3),
            &EngineConfig::LlamaServer(cfg),
            &PerPass,
        )
        .unwrap();
        // first tokens after pass 1 and pass 2; last tokens after passes 3 and 4
        assert_eq!((r.ttft.p50, r.ttft.p99), (1.0, 2.0));
        assert_eq!((r.e2e.p50, r.e2e.p99), (3.0, 4.0));
    }

    #[test]
    fn automatic_parallel_means_four_slots_and_a_unified_cache() {
        let m = crate::model::fixtures::llama3_8b();
        let s = LlamaCppSettings {
            n_ctx: 8192,
            n_parallel: 0,
            ..LlamaCppSettings::default()
        };
        let c = LlamaServerConfig::from_settings(&m, &s);
        assert_eq!(
            (c.n_parallel, c.kv_unified, c.ctx_per_slot()),
            (4, true, 8192)
        );
        // one slot: requests are served one after the other
        let one = LlamaServerConfig { n_parallel: 1, ..c };
        let r = simulate(
            &two_requests(10, 2),
            &EngineConfig::LlamaServer(one),
            &PerPass,
        )
        .unwrap();
        assert_eq!((r.e2e.p50, r.e2e.p99), (2.0, 4.0));
        assert_eq!(r.peak_running, 1);
    }
}
