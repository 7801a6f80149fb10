//! What a run measured: latency percentiles, throughput, queue and KV use over time, and the
//! time integrals that Little's law relates.

use serde::{Deserialize, Serialize};

/// Mean and nearest-rank percentiles of one latency, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Percentiles {
    /// Reorders `xs`; an empty slice gives zeros.
    pub fn of(xs: &mut [f64]) -> Percentiles {
        if xs.is_empty() {
            return Percentiles::default();
        }
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let mut rank = |p: f64| {
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            *xs.select_nth_unstable_by(i, f64::total_cmp).1
        };
        Percentiles {
            mean,
            p50: rank(0.50),
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
        }
    }
}

/// One point of the state over time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub time: f64,
    /// Requests waiting to start.
    pub queued: u32,
    /// Requests being served.
    pub running: u32,
    /// KV cache tokens in use (cells or whole blocks).
    pub kv_tokens: u64,
}

/// The answer of one simulation run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub engine: String,
    /// Requests that arrived.
    pub requests: u64,
    pub completed: u64,
    /// Refused: a full queue, or a prompt longer than the context a sequence may have.
    pub rejected: u64,
    /// Answers cut short because the sequence's context filled up.
    pub truncated: u64,
    /// Requests evicted from the KV cache to be recomputed later (vLLM).
    pub preemptions: u64,
    /// Time to first token.
    pub ttft: Percentiles,
    /// Time per output token after the first, over requests with at least two output tokens.
    pub tpot: Percentiles,
    /// Arrival to last token.
    pub e2e: Percentiles,
    /// Arrival to the start of service (a slot, a sequence in the batch, the server).
    pub queue_wait: Percentiles,
    /// Seconds from time 0 to the last completion.
    pub duration: f64,
    pub throughput_rps: f64,
    pub output_tokens_per_s: f64,
    pub total_tokens_per_s: f64,
    /// Completed requests per second over the run (Little's lambda).
    pub arrival_rate: f64,
    /// Time-average number of requests in the system (Little's L), integrated over events.
    pub mean_in_system: f64,
    /// Time-average number waiting to start (Lq).
    pub mean_queued: f64,
    pub peak_queued: u32,
    pub peak_running: u32,
    pub peak_kv_tokens: u64,
    pub kv_capacity_tokens: u64,
    /// The state over time, thinned to at most `TIMELINE_POINTS` samples.
    pub timeline: Vec<Sample>,
}

/// Timeline samples kept per run.
pub const TIMELINE_POINTS: usize = 512;

/// Collects a run's measurements as the engine reports them.
#[derive(Debug)]
pub struct Recorder {
    ttft: Vec<f64>,
    tpot: Vec<f64>,
    e2e: Vec<f64>,
    wait: Vec<f64>,
    arrived: u64,
    rejected: u64,
    truncated: u64,
    preemptions: u64,
    prompt_tokens: u64,
    output_tokens: u64,
    in_system: u32,
    queued: u32,
    last_time: f64,
    area_system: f64,
    area_queued: f64,
    peak_queued: u32,
    peak_running: u32,
    peak_kv: u64,
    timeline: Vec<Sample>,
    stride: u64,
    tick: u64,
    last_end: f64,
}

impl Recorder {
    pub fn new(expected: usize) -> Recorder {
        Recorder {
            ttft: Vec::with_capacity(expected),
            tpot: Vec::with_capacity(expected),
            e2e: Vec::with_capacity(expected),
            wait: Vec::with_capacity(expected),
            arrived: 0,
            rejected: 0,
            truncated: 0,
            preemptions: 0,
            prompt_tokens: 0,
            output_tokens: 0,
            in_system: 0,
            queued: 0,
            last_time: 0.0,
            area_system: 0.0,
            area_queued: 0.0,
            peak_queued: 0,
            peak_running: 0,
            peak_kv: 0,
            timeline: Vec::with_capacity(TIMELINE_POINTS),
            stride: 1,
            tick: 0,
            last_end: 0.0,
        }
    }

    /// Integrates the counts up to `now`; called before each event changes them.
    pub fn advance(&mut self, now: f64) {
        let dt = now - self.last_time;
        if dt > 0.0 {
            self.area_system += f64::from(self.in_system) * dt;
            self.area_queued += f64::from(self.queued) * dt;
            self.last_time = now;
        }
    }

    pub fn arrived(&mut self) {
        self.arrived += 1;
        self.in_system += 1;
        self.queued += 1;
        self.peak_queued = self.peak_queued.max(self.queued);
    }

    /// A request refused on arrival or when it reached the head of the queue.
    pub fn rejected(&mut self) {
        self.rejected += 1;
        self.in_system = self.in_system.saturating_sub(1);
        self.queued = self.queued.saturating_sub(1);
    }

    /// Requests that have left: completed or refused.
    pub fn departures(&self) -> u64 {
        self.e2e.len() as u64 + self.rejected
    }

    pub fn truncated(&mut self) {
        self.truncated += 1;
    }

    pub fn preempted(&mut self) {
        self.preemptions += 1;
    }

    /// Service starts `wait` seconds after arrival.
    pub fn started(&mut self, wait: f64) {
        self.queued = self.queued.saturating_sub(1);
        self.wait.push(wait);
    }

    /// A request finished at `now`: arrival, first-token time and tokens.
    pub fn completed(
        &mut self,
        arrival: f64,
        first_token: f64,
        now: f64,
        prompt: u32,
        output: u32,
    ) {
        self.in_system = self.in_system.saturating_sub(1);
        self.ttft.push(first_token - arrival);
        self.e2e.push(now - arrival);
        if output > 1 {
            self.tpot.push((now - first_token) / f64::from(output - 1));
        }
        self.prompt_tokens += u64::from(prompt);
        self.output_tokens += u64::from(output);
        self.last_end = self.last_end.max(now);
    }

    /// The state after an event; kept every `stride`-th call, the stride doubling as the buffer fills.
    pub fn sample(&mut self, now: f64, running: u32, kv_tokens: u64) {
        self.peak_running = self.peak_running.max(running);
        self.peak_kv = self.peak_kv.max(kv_tokens);
        self.tick += 1;
        if self.tick % self.stride != 0 {
            return;
        }
        if self.timeline.len() == TIMELINE_POINTS {
            let mut keep = 0;
            for i in (0..self.timeline.len()).step_by(2) {
                self.timeline[keep] = self.timeline[i];
                keep += 1;
            }
            self.timeline.truncate(keep);
            self.stride *= 2;
        }
        self.timeline.push(Sample {
            time: now,
            queued: self.queued,
            running,
            kv_tokens,
        });
    }

    pub fn finish(mut self, engine: &str, kv_capacity_tokens: u64) -> Report {
        let completed = self.e2e.len() as u64;
        let duration = self.last_end;
        let per_s = |x: f64| if duration > 0.0 { x / duration } else { 0.0 };
        // close the integrals at the last completion
        self.advance(duration);
        Report {
            engine: engine.to_string(),
            requests: self.arrived,
            completed,
            rejected: self.rejected,
            truncated: self.truncated,
            preemptions: self.preemptions,
            ttft: Percentiles::of(&mut self.ttft),
            tpot: Percentiles::of(&mut self.tpot),
            e2e: Percentiles::of(&mut self.e2e),
            queue_wait: Percentiles::of(&mut self.wait),
            duration,
            throughput_rps: per_s(completed as f64),
            output_tokens_per_s: per_s(self.output_tokens as f64),
            total_tokens_per_s: per_s((self.output_tokens + self.prompt_tokens) as f64),
            arrival_rate: per_s(completed as f64),
            mean_in_system: per_s(self.area_system),
            mean_queued: per_s(self.area_queued),
            peak_queued: self.peak_queued,
            peak_running: self.peak_running,
            peak_kv_tokens: self.peak_kv,
            kv_capacity_tokens,
            timeline: self.timeline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut xs: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = Percentiles::of(&mut xs);
        assert_eq!((p.p50, p.p90, p.p95, p.p99), (50.0, 90.0, 95.0, 99.0));
        assert_eq!(p.mean, 50.5);
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
    }

    #[test]
    fn timeline_is_bounded() {
        let mut r = Recorder::new(0);
        for i in 0..100_000 {
            r.sample(f64::from(i), 1, 0);
        }
        assert!(r.timeline.len() <= TIMELINE_POINTS);
        assert!(r.timeline.len() > TIMELINE_POINTS / 4);
    }
}
