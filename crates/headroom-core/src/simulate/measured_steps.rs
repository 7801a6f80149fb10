//! Step times measured on the machine itself: llama-batched-bench's rows as the cost of a pass.
//!
//! llama.cpp runs a pass of `n` tokens (decode tokens of generating sequences and prompt tokens
//! alike) as `ceil(n / n_ubatch)` micro-batches through the same graph, so its time is a function
//! of the tokens in each micro-batch and of the context they attend to. llama-batched-bench
//! measures both ends of that function on the same build and machine:
//! - a decode pass of `B` sequences: `T_TG / TG` seconds for `B` tokens, at a mean context of
//!   `PP + TG / 2` cached tokens per sequence;
//! - a prompt pass: `B x PP` tokens (one prompt per sequence) in micro-batches of `n_ubatch`,
//!   `T_PP` seconds for all of them, with no cached context.
//!
//! [`MeasuredSteps`] keeps, per micro-batch size `n`, the cost at zero context (`w(n)`, linear
//! between the measured sizes, never falling as `n` grows) and one attention cost per (token,
//! cached token) pair, `k`, from the decode rows at two prompt lengths:
//! `k = (t(B, PP2) - t(B, PP1)) / (B x (PP2 - PP1))`, averaged over `B`. A pass costs
//! `sum over micro-batches of w(n_i) + k x (decode tokens x their context + prompt tokens x the
//! context cached before them)`. The rows at the shortest prompt give `w`; longer prompts serve
//! only `k`. Nothing here comes from a serving run: the simulator's latencies under load are
//! predicted from these single-process measurements.

use super::step_times::{Step, StepTimes};
use super::SimError;
use crate::measure::{MeasurementRecord, SourceKind, SpeedKind};

/// One llama-batched-bench row: `seqs` sequences, a prompt of `prompt` tokens each (`prompt_s`
/// seconds for the prompt pass, `prompt_tokens` tokens computed in it), then `gen` decode passes
/// (`gen_s` seconds for all of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchedRow {
    pub prompt: u32,
    pub gen: u32,
    pub seqs: u32,
    pub prompt_tokens: u32,
    pub prompt_s: f64,
    pub gen_s: f64,
    /// The micro-batch the row was measured with (`-ub`).
    pub n_ubatch: u32,
}

impl BatchedRow {
    /// The row a `headroom import` record of llama-batched-bench holds, or why it holds none.
    pub fn from_record(r: &MeasurementRecord) -> Result<BatchedRow, String> {
        if r.source.kind != SourceKind::LlamaBatchedBench {
            return Err("not a llama-batched-bench record".into());
        }
        let seqs = r.settings.n_seq.ok_or("no sequence count (n_seq)")?;
        let n_ubatch = r
            .settings
            .n_ubatch
            .ok_or("no micro-batch size (n_ubatch)")?;
        let dur = |k: &str| r.durations.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let pf = r
            .speed
            .iter()
            .find(|s| s.kind == SpeedKind::Prefill)
            .ok_or("no prefill reading")?;
        let dc = r
            .speed
            .iter()
            .find(|s| s.kind == SpeedKind::Decode)
            .ok_or("no decode reading")?;
        let prompt_s = dur("prompt_eval").ok_or("no prompt_eval duration")?;
        let gen_s = dur("eval").ok_or("no eval duration")?;
        // tokens computed in the prompt pass: S_PP x T_PP, which is B x PP, or PP when the
        // prompt is shared; rounded to a whole number of prompts
        let prompts = (pf.tokens_per_sec * prompt_s / f64::from(pf.n_prompt.max(1))).round();
        let prompt_tokens = (prompts.clamp(1.0, f64::from(seqs)) as u32) * pf.n_prompt;
        Ok(BatchedRow {
            prompt: pf.n_prompt,
            gen: dc.n_gen,
            seqs,
            prompt_tokens,
            prompt_s,
            gen_s,
            n_ubatch,
        })
    }
}

/// Pass costs fitted on llama-batched-bench rows (module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredSteps {
    /// `(tokens in a micro-batch, seconds at zero context)`, sorted by tokens, non-decreasing.
    points: Vec<(f64, f64)>,
    /// Seconds per (token, cached token) pair.
    kv_cost: f64,
    /// The runtime's micro-batch, which splits a pass.
    n_ubatch: u32,
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), SimError> {
    if cond {
        Ok(())
    } else {
        Err(SimError(what()))
    }
}

impl MeasuredSteps {
    /// From the rows of one model on one machine; `n_ubatch` is the serving runtime's micro-batch.
    /// Needs decode and prompt rows at one prompt length at least; rows at a second, longer prompt
    /// length give the attention cost (without them it is zero).
    pub fn fit(rows: &[BatchedRow], n_ubatch: u32) -> Result<MeasuredSteps, SimError> {
        check(n_ubatch > 0, || "the micro-batch must hold a token".into())?;
        check(!rows.is_empty(), || "no llama-batched-bench rows".into())?;
        for r in rows {
            check(
                r.seqs > 0
                    && r.gen > 0
                    && r.prompt > 0
                    && r.n_ubatch > 0
                    && r.prompt_tokens > 0
                    && r.prompt_s.is_finite()
                    && r.prompt_s > 0.0
                    && r.gen_s.is_finite()
                    && r.gen_s > 0.0,
                || {
                    format!(
                        "llama-batched-bench row PP {} TG {} B {}: counts and times must be positive",
                        r.prompt, r.gen, r.seqs
                    )
                },
            )?;
        }
        let pp_min = rows.iter().map(|r| r.prompt).min().unwrap_or(0);
        let per_pass = |r: &BatchedRow| r.gen_s / f64::from(r.gen);
        let mid_ctx = |r: &BatchedRow| f64::from(r.prompt) + f64::from(r.gen) / 2.0;
        // k from decode rows of equal B at the shortest and at a longer prompt
        let mut ks = Vec::new();
        for a in rows.iter().filter(|r| r.prompt == pp_min) {
            for b in rows
                .iter()
                .filter(|r| r.seqs == a.seqs && r.prompt > pp_min)
            {
                let dctx = mid_ctx(b) - mid_ctx(a);
                ks.push((per_pass(b) - per_pass(a)) / (f64::from(a.seqs) * dctx));
            }
        }
        let kv_cost = if ks.is_empty() {
            0.0
        } else {
            (ks.iter().sum::<f64>() / ks.len() as f64).max(0.0)
        };
        let mut raw: Vec<(f64, f64)> = Vec::new();
        for r in rows.iter().filter(|r| r.prompt == pp_min) {
            let b = f64::from(r.seqs);
            raw.push((b, per_pass(r) - kv_cost * b * mid_ctx(r)));
            let chunks = r.prompt_tokens.div_ceil(r.n_ubatch);
            raw.push((
                f64::from(r.prompt_tokens) / f64::from(chunks),
                r.prompt_s / f64::from(chunks),
            ));
        }
        raw.sort_by(|a, b| a.0.total_cmp(&b.0));
        // repeated sizes are averaged
        let mut points: Vec<(f64, f64, u32)> = Vec::new();
        for (n, t) in raw {
            match points.last_mut() {
                Some(p) if (p.0 - n).abs() < 1e-9 => {
                    p.1 += t;
                    p.2 += 1;
                }
                _ => points.push((n, t, 1)),
            }
        }
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
        for (n, sum, count) in points {
            let t = (sum / f64::from(count)).max(out.last().map_or(0.0, |p| p.1));
            out.push((n, t));
        }
        check(out.len() >= 2, || {
            "llama-batched-bench rows give fewer than two pass sizes".into()
        })?;
        Ok(MeasuredSteps {
            points: out,
            kv_cost,
            n_ubatch,
        })
    }

    /// From `headroom import` records of llama-batched-bench (others are skipped), for one model.
    pub fn from_records(
        records: &[MeasurementRecord],
        model: &str,
        n_ubatch: u32,
    ) -> Result<MeasuredSteps, SimError> {
        let mut rows = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if r.source.kind != SourceKind::LlamaBatchedBench || r.model.as_deref() != Some(model) {
                continue;
            }
            rows.push(
                BatchedRow::from_record(r)
                    .map_err(|e| SimError(format!("record {} (model `{model}`): {e}", i + 1)))?,
            );
        }
        if rows.is_empty() {
            return Err(SimError(format!(
                "no llama-batched-bench records of model `{model}`"
            )));
        }
        MeasuredSteps::fit(&rows, n_ubatch)
    }

    /// Seconds per (token, cached token) pair.
    pub fn kv_cost(&self) -> f64 {
        self.kv_cost
    }

    /// The zero-context cost of one micro-batch of `n` tokens: linear between the measured sizes,
    /// along the last segment beyond them, and the smallest measured cost below them.
    pub fn micro_batch(&self, n: u32) -> f64 {
        if n == 0 {
            return 0.0;
        }
        let x = f64::from(n);
        let p = &self.points;
        let seg = match p.iter().position(|q| q.0 >= x) {
            Some(0) => return p[0].1,
            Some(i) => (p[i - 1], p[i]),
            None => (p[p.len() - 2], p[p.len() - 1]),
        };
        let ((x0, y0), (x1, y1)) = seg;
        (y0 + (y1 - y0) * (x - x0) / (x1 - x0)).max(y0.min(y1))
    }

    /// A pass of `n` tokens, split into micro-batches, at zero context.
    fn weights_part(&self, n: u32) -> f64 {
        let ub = self.n_ubatch;
        let full = n / ub;
        f64::from(full) * self.micro_batch(ub) + self.micro_batch(n % ub)
    }
}

impl StepTimes for MeasuredSteps {
    fn prefill(&self, tokens: u32, context: u32, _batch: u32) -> f64 {
        self.weights_part(tokens) + self.kv_cost * f64::from(tokens) * f64::from(context)
    }

    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        self.weights_part(batch) + self.kv_cost * f64::from(batch) * f64::from(mean_context)
    }

    /// A mixed pass is one batch: its decode and prompt tokens share the micro-batches.
    fn step(&self, s: &Step) -> f64 {
        self.weights_part(s.decode_seqs + s.prefill_tokens)
            + self.kv_cost
                * (f64::from(s.decode_seqs) * f64::from(s.decode_context)
                    + f64::from(s.prefill_tokens) * f64::from(s.prefill_context))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(prompt: u32, seqs: u32, prompt_s: f64, gen_s: f64) -> BatchedRow {
        BatchedRow {
            prompt,
            gen: 32,
            seqs,
            prompt_tokens: prompt * seqs,
            prompt_s,
            gen_s,
            n_ubatch: 512,
        }
    }

    #[test]
    fn costs_follow_the_rows_by_hand() {
        // Decode: 32 passes in 0.64 s at B 1 and 0.96 s at B 2 (PP 100), 0.704 s and 1.088 s at
        // PP 500. Mid contexts 116 and 516: k = (0.022 - 0.020) / (1 x 400) = 5e-6 at B 1,
        // (0.034 - 0.030) / (2 x 400) = 5e-6 at B 2.
        // w(1) = 0.020 - 5e-6 x 116 = 0.01942, w(2) = 0.030 - 5e-6 x 2 x 116 = 0.02884.
        // Prompts: B 1, 100 tokens in 0.4 s: w(100) = 0.4; B 2, 200 tokens in 0.7 s: w(200) = 0.7.
        let rows = [
            row(100, 1, 0.4, 0.64),
            row(100, 2, 0.7, 0.96),
            row(500, 1, 2.0, 0.704),
            row(500, 2, 4.0, 1.088),
        ];
        let m = MeasuredSteps::fit(&rows, 512).unwrap();
        assert!((m.kv_cost() - 5e-6).abs() < 1e-12);
        assert!((m.micro_batch(1) - 0.01942).abs() < 1e-9);
        assert!((m.micro_batch(2) - 0.02884).abs() < 1e-9);
        assert!((m.micro_batch(200) - 0.7).abs() < 1e-9);
        // between 100 and 200 tokens: linear, 150 -> 0.55
        assert!((m.micro_batch(150) - 0.55).abs() < 1e-9);
        // beyond 200 along the last segment (0.003 s a token): 300 -> 1.0
        assert!((m.micro_batch(300) - 1.0).abs() < 1e-9);
        // a decode pass of 2 at context 116 gives back the measured 0.030 s
        assert!((m.decode(2, 116) - 0.030).abs() < 1e-9);
        // a mixed pass: 1 decode token at context 150 with a 99-token prompt at 0: w(100) +
        // 5e-6 x 150 = 0.40075
        let s = Step {
            decode_seqs: 1,
            decode_context: 150,
            prefill_tokens: 99,
            prefill_seqs: 1,
            prefill_context: 0,
        };
        assert!((m.step(&s) - 0.40075).abs() < 1e-9);
        // a 1000-token pass with -ub 512 is two micro-batches: 512 and 488 tokens
        let two = m.prefill(1000, 0, 1);
        assert!((two - (m.micro_batch(512) + m.micro_batch(488))).abs() < 1e-12);
    }

    #[test]
    fn missing_or_bad_rows_are_errors_naming_them() {
        assert!(MeasuredSteps::fit(&[], 512)
            .unwrap_err()
            .0
            .contains("no llama-batched-bench"));
        let e = MeasuredSteps::fit(&[row(128, 4, 0.0, 1.0)], 512).unwrap_err();
        assert!(e.0.contains("PP 128 TG 32 B 4"), "{}", e.0);
        assert!(MeasuredSteps::fit(&[row(128, 1, 0.5, 1.0)], 0).is_err());
        let e = MeasuredSteps::from_records(&[], "qwen3-0.6b", 512).unwrap_err();
        assert!(e.0.contains("qwen3-0.6b"));
    }
}
