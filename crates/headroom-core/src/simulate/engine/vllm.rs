//! vLLM: paged KV blocks, a token budget per step, chunked prefill and preemption by recompute.
//!
//! As vLLM's V1 scheduler works (vllm/v1/core/sched/scheduler.py; docs "Optimization and Tuning":
//! preemption, chunked prefill):
//! - each step has a budget of `max_num_batched_tokens` tokens and at most `max_num_seqs`
//!   sequences run;
//! - running requests are scheduled first, in order: one token each when decoding, the next chunk
//!   of their prompt when prefilling (chunked prefill is on by default in V1);
//! - KV is held in blocks of `block_size` tokens from a pool of `kv_tokens / block_size` blocks
//!   (the memory model's `vllm::plan`); when a running request needs a block and none is free, the
//!   last running request is preempted: its blocks are freed and it goes back to the front of the
//!   waiting queue, to be recomputed from its prompt and the tokens it had generated;
//! - waiting requests are admitted first come, first served while budget, sequences and blocks
//!   last, and not in a step that preempted;
//! - a prompt of `max_model_len` tokens or more is refused, and generation stops at
//!   `max_model_len`.

use super::Engine;
use crate::memory::vllm::{VllmPlan, VllmSettings};
use crate::simulate::metrics::Recorder;
use crate::simulate::step_times::{Step, StepTimes};
use crate::simulate::workload::Request;
use crate::simulate::SimError;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VllmConfig {
    /// Tokens the KV pool holds (`vllm::plan(..).kv_tokens`, whole blocks).
    pub kv_tokens: u64,
    pub block_size: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
    pub max_model_len: u32,
}

impl VllmConfig {
    /// The engine the memory model planned, so the simulator holds exactly the KV `fit` reports.
    pub fn from_plan(s: &VllmSettings, p: &VllmPlan) -> VllmConfig {
        VllmConfig {
            kv_tokens: p.kv_tokens,
            block_size: s.block_size.max(1),
            max_num_seqs: s.max_num_seqs.max(1),
            max_num_batched_tokens: s.max_num_batched_tokens.max(1),
            max_model_len: p.max_model_len,
        }
    }

    pub fn total_blocks(&self) -> u64 {
        self.kv_tokens / u64::from(self.block_size.max(1))
    }
}

#[derive(Clone, Copy, Debug)]
struct Seq {
    req: Request,
    /// Tokens whose KV is in the cache.
    computed: u32,
    /// Tokens generated so far.
    generated: u32,
    /// Tokens it will generate (its output cut at `max_model_len`).
    target: u32,
    blocks: u32,
    first_token: f64,
    in_pass: u32,
    started: bool,
}

impl Seq {
    /// Tokens the sequence knows: its prompt and what it generated.
    fn known(&self) -> u32 {
        self.req.prompt + self.generated
    }
}

#[derive(Debug)]
pub(crate) struct Vllm {
    cfg: VllmConfig,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    free_blocks: u64,
}

impl Vllm {
    pub(crate) fn new(cfg: &VllmConfig) -> Result<Vllm, SimError> {
        if cfg.block_size == 0 || cfg.max_num_seqs == 0 || cfg.max_num_batched_tokens == 0 {
            return Err(SimError(
                "vLLM needs a block size, sequences and a token budget of at least 1".into(),
            ));
        }
        if cfg.kv_tokens < u64::from(cfg.max_model_len) || cfg.max_model_len == 0 {
            return Err(SimError(format!(
                "the KV pool holds {} tokens, fewer than max_model_len {}: vLLM refuses to start",
                cfg.kv_tokens, cfg.max_model_len
            )));
        }
        Ok(Vllm {
            free_blocks: cfg.total_blocks(),
            cfg: cfg.clone(),
            waiting: VecDeque::with_capacity(64),
            running: Vec::with_capacity(cfg.max_num_seqs.min(4096) as usize),
        })
    }

    fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.cfg.block_size)
    }
}

impl Engine for Vllm {
    fn arrive(&mut self, req: Request, rec: &mut Recorder) {
        rec.arrived();
        if req.prompt >= self.cfg.max_model_len {
            rec.rejected();
            return;
        }
        let target = req.output.min(self.cfg.max_model_len - req.prompt);
        if target < req.output {
            rec.truncated();
        }
        self.waiting.push_back(Seq {
            req,
            computed: 0,
            generated: 0,
            target,
            blocks: 0,
            first_token: f64::NAN,
            in_pass: 0,
            started: false,
        });
    }

    fn start_step<S: StepTimes + ?Sized>(
        &mut self,
        now: f64,
        steps: &S,
        rec: &mut Recorder,
    ) -> Option<f64> {
        let mut budget = self.cfg.max_num_batched_tokens;
        let mut preempted = false;
        let mut i = 0;
        while i < self.running.len() {
            let s = self.running[i];
            let want = (s.known() - s.computed).min(budget);
            if want == 0 {
                self.running[i].in_pass = 0;
                i += 1;
                continue;
            }
            let need = self.blocks_for(s.computed + want).saturating_sub(s.blocks);
            let mut fits = true;
            while u64::from(need) > self.free_blocks {
                // evict the last running request; if that is this one, it waits instead
                let Some(mut v) = self.running.pop() else {
                    fits = false;
                    break;
                };
                self.free_blocks += u64::from(v.blocks);
                v.blocks = 0;
                v.computed = 0;
                v.in_pass = 0;
                self.waiting.push_front(v);
                rec.preempted();
                preempted = true;
                if self.running.len() == i {
                    fits = false;
                    break;
                }
            }
            if !fits {
                break;
            }
            self.free_blocks -= u64::from(need);
            let s = &mut self.running[i];
            s.blocks += need;
            s.in_pass = want;
            budget -= want;
            i += 1;
        }
        // a step that preempted admits nobody, unless it left nothing running
        if !preempted || self.running.is_empty() {
            while budget > 0 && self.running.len() < self.cfg.max_num_seqs as usize {
                let Some(s) = self.waiting.front() else { break };
                let want = (s.known() - s.computed).min(budget);
                let need = u64::from(self.blocks_for(s.computed + want));
                if need > self.free_blocks {
                    break;
                }
                let Some(mut s) = self.waiting.pop_front() else {
                    break;
                };
                self.free_blocks -= need;
                s.blocks = need as u32;
                s.in_pass = want;
                budget -= want;
                if !s.started {
                    s.started = true;
                    rec.started(now - s.req.arrival);
                }
                self.running.push(s);
            }
        }
        let mut step = Step::default();
        let (mut dctx, mut pctx) = (0u64, 0u64);
        for s in &self.running {
            if s.in_pass == 0 {
                continue;
            }
            if s.generated > 0 && s.known() - s.computed == 1 {
                step.decode_seqs += 1;
                dctx += u64::from(s.computed);
            } else {
                step.prefill_tokens += s.in_pass;
                step.prefill_seqs += 1;
                pctx += u64::from(s.computed);
            }
        }
        let step = step.with_means(dctx, pctx)?;
        Some(steps.step(&step))
    }

    fn finish_step(&mut self, now: f64, rec: &mut Recorder) {
        let mut freed = 0u64;
        self.running.retain_mut(|s| {
            if s.in_pass == 0 {
                return true;
            }
            s.computed += s.in_pass;
            s.in_pass = 0;
            if s.computed < s.known() {
                return true;
            }
            s.generated += 1;
            if s.generated == 1 {
                s.first_token = now;
            }
            if s.generated >= s.target {
                rec.completed(s.req.arrival, s.first_token, now, s.req.prompt, s.generated);
                freed += u64::from(s.blocks);
                return false;
            }
            true
        });
        self.free_blocks += freed;
    }

    fn running(&self) -> u32 {
        self.running.len() as u32
    }

    fn kv_tokens(&self) -> u64 {
        (self.cfg.total_blocks() - self.free_blocks) * u64::from(self.cfg.block_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::engine::{simulate, EngineConfig};
    use crate::simulate::step_times::ConstantSteps;
    use crate::simulate::workload::{Arrivals, Lengths, Workload};

    #[test]
    fn a_full_pool_preempts_the_last_request_and_recomputes_it() {
        // 4 blocks of 16 tokens. Two requests of 16 + 40 tokens arrive together: each starts with
        // one block, but both would need 4 (16 + 39 cached tokens = 55), so the second is evicted
        // once the pool is full, waits, and is recomputed from its prompt and what it had
        // generated.
        let cfg = VllmConfig {
            kv_tokens: 64,
            block_size: 16,
            max_num_seqs: 8,
            max_num_batched_tokens: 2048,
            max_model_len: 64,
        };
        let w = Workload {
            arrivals: Arrivals::Trace(vec![
                crate::simulate::TraceRow {
                    time: 0.0,
                    prompt: 16,
                    output: 40,
                },
                crate::simulate::TraceRow {
                    time: 0.0,
                    prompt: 16,
                    output: 40,
                },
            ]),
            prompt: Lengths::Fixed(1),
            output: Lengths::Fixed(1),
            requests: 2,
            seed: 0,
        };
        let steps = ConstantSteps {
            prefill_per_token: 0.0,
            decode_step: 0.01,
        };
        let r = simulate(&w, &EngineConfig::Vllm(cfg), &steps).unwrap();
        assert_eq!(r.completed, 2);
        assert!(r.preemptions >= 1);
        assert_eq!(r.peak_kv_tokens, 64);
        // the first pass (free prefill) starts before the second arrival is seen, so the second
        // request's first token comes with the first decode pass at 0.01 s; its eviction later
        // does not reset it
        assert_eq!((r.ttft.p50, r.ttft.p99), (0.0, 0.01));
        // the first finishes after 39 decode passes; the evicted one later
        assert!((r.e2e.p50 - 0.39).abs() < 1e-9, "{}", r.e2e.p50);
        assert!(r.e2e.p99 > 0.39 + 1e-9);
    }

    #[test]
    fn prompts_are_prefilled_in_chunks_of_the_token_budget() {
        // A 5000-token prompt with a 2048-token budget takes three passes: 2048, 2048 and 904.
        use crate::simulate::engine::test_steps::PerPass;
        let cfg = VllmConfig {
            kv_tokens: 8192,
            block_size: 16,
            max_num_seqs: 8,
            max_num_batched_tokens: 2048,
            max_model_len: 8192,
        };
        let w = Workload {
            arrivals: Arrivals::Poisson { rate: 1.0 },
            prompt: Lengths::Fixed(5000),
            output: Lengths::Fixed(2),
            requests: 1,
            seed: 0,
        };
        let r = simulate(&w, &EngineConfig::Vllm(cfg), &PerPass).unwrap();
        assert_eq!(r.ttft.p50, 3.0);
        assert_eq!(r.e2e.p50, 4.0);
    }
}
