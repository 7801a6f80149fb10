//! Workloads: when requests arrive and how long their prompts and answers are, sampled from a seed.
//!
//! Arrivals are open-loop (Poisson, bursty (gamma inter-arrival times, as vLLM's `benchmark_serving.py
//! --burstiness` draws them: shape `burstiness`, scale `1 / (rate x burstiness)`, so the mean rate
//! is kept and a burstiness below 1 clusters requests), or a trace of timestamps) or closed-loop (a
//! fixed number of users, each sending its next request a think time after its last one ended, as
//! a load generator with N concurrent clients does). Lengths are fixed,
//! uniform, exponential, lognormal or drawn from an empirical table.

use super::rng::Rng;
use super::SimError;

/// Bounds on user tables: rows, line length and token counts.
pub mod limits {
    pub const MAX_ROWS: usize = 1 << 22;
    pub const MAX_LINE: usize = 4096;
    pub const MAX_TOKENS: u32 = 1 << 24;
    /// Closed-loop users (each holds one pending event).
    pub const MAX_USERS: u32 = 1 << 16;
}

/// One request as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request {
    pub id: u32,
    /// Seconds since the start of the run.
    pub arrival: f64,
    pub prompt: u32,
    /// Tokens to generate, the first included.
    pub output: u32,
}

/// How requests arrive.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// Exponential inter-arrival times at `rate` requests per second.
    Poisson { rate: f64 },
    /// Gamma inter-arrival times with mean `1 / rate` and shape `burstiness` (1 is Poisson).
    Bursty { rate: f64, burstiness: f64 },
    /// Requests at given times with given lengths, in time order.
    Trace(Vec<TraceRow>),
    /// A closed loop: `users` clients all send a request at time 0, and each sends its next one
    /// `think_time` seconds after its last one completed (or was refused).
    Closed { users: u32, think_time: f64 },
}

/// A length distribution, in tokens; samples are clamped to `1..=limits::MAX_TOKENS`.
#[derive(Clone, Debug, PartialEq)]
pub enum Lengths {
    Fixed(u32),
    /// Uniform integers in `lo..=hi`.
    Uniform {
        lo: u32,
        hi: u32,
    },
    /// `ceil` of an exponential with this mean (a geometric law on 1, 2, ...).
    Exponential {
        mean: f64,
    },
    /// Lognormal with the given median and the standard deviation `sigma` of its logarithm.
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// Uniform draws from observed lengths.
    Empirical(Vec<u32>),
}

impl Lengths {
    fn validate(&self, what: &str) -> Result<(), SimError> {
        let bad = |p: &str| Err(SimError(format!("{what} lengths: {p}")));
        match self {
            Lengths::Fixed(0) => bad("a fixed length must be at least 1"),
            Lengths::Uniform { lo, hi } if lo > hi || *hi == 0 => bad("need 0 < hi and lo <= hi"),
            Lengths::Exponential { mean } if !(mean.is_finite() && *mean > 0.0) => {
                bad("the mean must be positive")
            }
            Lengths::LogNormal { median, sigma }
                if !(median.is_finite() && *median > 0.0 && sigma.is_finite() && *sigma >= 0.0) =>
            {
                bad("need a positive median and a non-negative sigma")
            }
            Lengths::Empirical(v) if v.is_empty() => bad("the table is empty"),
            _ => Ok(()),
        }
    }

    /// Parses `N` (fixed), `LO..HI` (uniform), `exp:MEAN` or `lognormal:MEDIAN:SIGMA`.
    pub fn parse(text: &str) -> Result<Lengths, SimError> {
        let t = text.trim();
        let bad = || {
            SimError(format!(
                "lengths `{t}`: expected N, LO..HI, exp:MEAN or lognormal:MEDIAN:SIGMA"
            ))
        };
        let int = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
        let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
        let l = if let Some(rest) = t.strip_prefix("exp:") {
            Lengths::Exponential { mean: num(rest)? }
        } else if let Some(rest) = t.strip_prefix("lognormal:") {
            let (m, s) = rest.split_once(':').ok_or_else(bad)?;
            Lengths::LogNormal {
                median: num(m)?,
                sigma: num(s)?,
            }
        } else if let Some((lo, hi)) = t.split_once("..") {
            Lengths::Uniform {
                lo: int(lo)?,
                hi: int(hi)?,
            }
        } else {
            Lengths::Fixed(int(t)?)
        };
        l.validate("the")?;
        Ok(l)
    }

    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let x = match self {
            Lengths::Fixed(n) => return (*n).clamp(1, limits::MAX_TOKENS),
            Lengths::Uniform { lo, hi } => return rng.range(*lo, *hi).clamp(1, limits::MAX_TOKENS),
            Lengths::Exponential { mean } => rng.exponential(*mean).ceil(),
            Lengths::LogNormal { median, sigma } => (median * (sigma * rng.normal()).exp()).round(),
            Lengths::Empirical(v) => {
                let i = rng.range(0, v.len().saturating_sub(1) as u32) as usize;
                return v.get(i).copied().unwrap_or(1).clamp(1, limits::MAX_TOKENS);
            }
        };
        x.clamp(1.0, f64::from(limits::MAX_TOKENS)) as u32
    }

    /// The mean of the law (before clamping), for load estimates.
    pub fn mean(&self) -> f64 {
        match self {
            Lengths::Fixed(n) => f64::from(*n),
            Lengths::Uniform { lo, hi } => (f64::from(*lo) + f64::from(*hi)) / 2.0,
            // ceil(Exp(m)) is geometric with p = 1 - exp(-1/m): mean 1/p
            Lengths::Exponential { mean } => 1.0 / (1.0 - (-1.0 / mean).exp()),
            Lengths::LogNormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
            Lengths::Empirical(v) => {
                v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64
            }
        }
    }
}

/// A workload: arrivals, lengths and how many requests to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub arrivals: Arrivals,
    /// Prompt lengths (ignored for traces, which carry their own).
    pub prompt: Lengths,
    /// Output lengths (ignored for traces).
    pub output: Lengths,
    /// Requests to simulate (a trace is cut to this many rows).
    pub requests: u32,
    pub seed: u64,
}

impl Workload {
    pub fn validate(&self) -> Result<(), SimError> {
        match &self.arrivals {
            Arrivals::Poisson { rate } if !(rate.is_finite() && *rate > 0.0) => {
                return Err(SimError("the arrival rate must be positive".into()))
            }
            Arrivals::Bursty { rate, burstiness }
                if !(rate.is_finite()
                    && *rate > 0.0
                    && burstiness.is_finite()
                    && *burstiness > 0.0) =>
            {
                return Err(SimError(
                    "the arrival rate and burstiness must be positive".into(),
                ))
            }
            Arrivals::Trace(rows) if rows.is_empty() => {
                return Err(SimError("the trace is empty".into()))
            }
            Arrivals::Closed { users, think_time } => {
                if *users == 0 || *users > limits::MAX_USERS {
                    return Err(SimError(format!(
                        "the number of users must be between 1 and {}, got {users}",
                        limits::MAX_USERS
                    )));
                }
                if !(think_time.is_finite() && *think_time >= 0.0) {
                    return Err(SimError(format!(
                        "the think time must be zero or positive seconds, got {think_time}"
                    )));
                }
            }
            _ => {}
        }
        self.prompt.validate("prompt")?;
        self.output.validate("output")?;
        if self.requests == 0 {
            return Err(SimError("at least one request is needed".into()));
        }
        Ok(())
    }

    /// The same workload at another mean arrival rate (a trace is compressed or stretched in time;
    /// a closed loop has no arrival rate of its own and is returned as it is).
    pub fn at_rate(&self, rate: f64) -> Workload {
        let arrivals = match &self.arrivals {
            Arrivals::Closed { .. } => self.arrivals.clone(),
            Arrivals::Poisson { .. } => Arrivals::Poisson { rate },
            Arrivals::Bursty { burstiness, .. } => Arrivals::Bursty {
                rate,
                burstiness: *burstiness,
            },
            Arrivals::Trace(rows) => {
                let own = trace_rate(rows);
                let k = if own > 0.0 { own / rate } else { 1.0 };
                Arrivals::Trace(
                    rows.iter()
                        .map(|r| TraceRow {
                            time: r.time * k,
                            ..*r
                        })
                        .collect(),
                )
            }
        };
        Workload {
            arrivals,
            ..self.clone()
        }
    }

    /// The same closed loop with another number of users (an open-loop workload becomes one
    /// with zero think time).
    pub fn with_users(&self, users: u32) -> Workload {
        let think_time = match &self.arrivals {
            Arrivals::Closed { think_time, .. } => *think_time,
            _ => 0.0,
        };
        Workload {
            arrivals: Arrivals::Closed { users, think_time },
            ..self.clone()
        }
    }

    /// The closed loop's users and think time, when the workload is one.
    pub fn closed_loop(&self) -> Option<(u32, f64)> {
        match &self.arrivals {
            Arrivals::Closed { users, think_time } => Some((*users, *think_time)),
            _ => None,
        }
    }

    /// The mean arrival rate, requests per second (0 for a closed loop, whose rate is an outcome).
    pub fn rate(&self) -> f64 {
        match &self.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Bursty { rate, .. } => *rate,
            Arrivals::Trace(rows) => trace_rate(rows),
            Arrivals::Closed { .. } => 0.0,
        }
    }

    /// The requests, drawn lazily so a million-request run allocates nothing per request.
    pub fn source(&self) -> Source<'_> {
        Source {
            w: self,
            rng: Rng::new(self.seed),
            clock: 0.0,
            next_id: 0,
        }
    }
}

fn trace_rate(rows: &[TraceRow]) -> f64 {
    match (rows.first(), rows.last()) {
        (Some(a), Some(b)) if rows.len() > 1 && b.time > a.time => {
            (rows.len() - 1) as f64 / (b.time - a.time)
        }
        _ => 0.0,
    }
}

/// Draws a workload's requests in arrival order (for a closed loop, lengths only: the event loop
/// sets each arrival when its user sends it).
#[derive(Debug)]
pub struct Source<'a> {
    w: &'a Workload,
    rng: Rng,
    clock: f64,
    next_id: u32,
}

impl Iterator for Source<'_> {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        if self.next_id >= self.w.requests {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let (arrival, prompt, output) = match &self.w.arrivals {
            Arrivals::Trace(rows) => {
                let r = rows.get(id as usize)?;
                let t0 = rows.first().map_or(0.0, |f| f.time);
                (r.time - t0, r.prompt, r.output)
            }
            Arrivals::Poisson { rate } => {
                self.clock += self.rng.exponential(1.0 / rate);
                let p = self.w.prompt.sample(&mut self.rng);
                (self.clock, p, self.w.output.sample(&mut self.rng))
            }
            Arrivals::Bursty { rate, burstiness } => {
                self.clock += self.rng.gamma(*burstiness, 1.0 / (rate * burstiness));
                let p = self.w.prompt.sample(&mut self.rng);
                (self.clock, p, self.w.output.sample(&mut self.rng))
            }
            Arrivals::Closed { .. } => {
                let p = self.w.prompt.sample(&mut self.rng);
                (0.0, p, self.w.output.sample(&mut self.rng))
            }
        };
        Some(Request {
            id,
            arrival,
            prompt: prompt.max(1),
            output: output.max(1),
        })
    }
}

/// One row of a trace or empirical table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRow {
    /// Seconds (0 for tables without a `timestamp` column).
    pub time: f64,
    pub prompt: u32,
    pub output: u32,
}

/// Parses a CSV table with a header naming `prompt_tokens` and `output_tokens` and, for a trace,
/// `timestamp` (seconds). Other columns are ignored; `#` lines and blank lines are skipped.
/// Errors name the line. Rows come back in the file's order; a trace must be in time order.
pub fn parse_table(text: &str, need_time: bool) -> Result<Vec<TraceRow>, SimError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return Err(SimError("the table is empty".into()));
    };
    if header.len() > limits::MAX_LINE {
        return Err(SimError(format!(
            "line {hline}: longer than {} bytes",
            limits::MAX_LINE
        )));
    }
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| cols.iter().position(|c| c.eq_ignore_ascii_case(name));
    let col = |name: &str| {
        find(name)
            .ok_or_else(|| SimError(format!("line {hline}: no `{name}` column in the header")))
    };
    let ip = col("prompt_tokens")?;
    let io = col("output_tokens")?;
    let it = if need_time {
        Some(col("timestamp")?)
    } else {
        find("timestamp")
    };
    let mut rows = Vec::new();
    for (n, line) in lines {
        if line.len() > limits::MAX_LINE {
            return Err(SimError(format!(
                "line {n}: longer than {} bytes",
                limits::MAX_LINE
            )));
        }
        if rows.len() >= limits::MAX_ROWS {
            return Err(SimError(format!(
                "line {n}: more than {} rows",
                limits::MAX_ROWS
            )));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let field = |i: usize, name: &str| {
            fields
                .get(i)
                .copied()
                .ok_or_else(|| SimError(format!("line {n}: missing `{name}`")))
        };
        let tokens = |i: usize, name: &str| -> Result<u32, SimError> {
            let s = field(i, name)?;
            match s.parse::<u32>() {
                Ok(v) if (1..=limits::MAX_TOKENS).contains(&v) => Ok(v),
                _ => Err(SimError(format!(
                    "line {n}: `{name}` is {s:?}, not a whole number in 1..={}",
                    limits::MAX_TOKENS
                ))),
            }
        };
        let prompt = tokens(ip, "prompt_tokens")?;
        let output = tokens(io, "output_tokens")?;
        let time = match it {
            Some(i) => {
                let s = field(i, "timestamp")?;
                match s.parse::<f64>() {
                    Ok(t) if t.is_finite() && t >= 0.0 => t,
                    _ => {
                        return Err(SimError(format!(
                            "line {n}: `timestamp` is {s:?}, not a non-negative number of seconds"
                        )))
                    }
                }
            }
            None => 0.0,
        };
        if need_time {
            if let Some(prev) = rows.last().map(|r: &TraceRow| r.time) {
                if time < prev {
                    return Err(SimError(format!(
                        "line {n}: timestamp {time} is earlier than the row before ({prev})"
                    )));
                }
            }
        }
        rows.push(TraceRow {
            time,
            prompt,
            output,
        });
    }
    if rows.is_empty() {
        return Err(SimError("the table has a header but no rows".into()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poisson(rate: f64, n: u32) -> Workload {
        Workload {
            arrivals: Arrivals::Poisson { rate },
            prompt: Lengths::Fixed(10),
            output: Lengths::Exponential { mean: 50.0 },
            requests: n,
            seed: 7,
        }
    }

    #[test]
    fn poisson_source_has_the_rate_and_repeats_from_its_seed() {
        let w = poisson(4.0, 100_000);
        let reqs: Vec<Request> = w.source().collect();
        assert_eq!(reqs.len(), 100_000);
        let last = reqs.last().unwrap().arrival;
        // 1e5 exponential gaps of mean 0.25 s: relative standard error 1/sqrt(1e5) = 0.3%.
        assert!((last / 25_000.0 - 1.0).abs() < 0.01, "{last}");
        let again: Vec<Request> = w.source().take(10).collect();
        assert_eq!(&reqs[..10], &again[..]);
        let mean_out = reqs.iter().map(|r| f64::from(r.output)).sum::<f64>() / 1e5;
        assert!(
            (mean_out / w.output.mean() - 1.0).abs() < 0.01,
            "{mean_out}"
        );
    }

    #[test]
    fn bursty_keeps_the_mean_rate() {
        let mut w = poisson(2.0, 100_000);
        w.arrivals = Arrivals::Bursty {
            rate: 2.0,
            burstiness: 0.25,
        };
        let last = w.source().last().unwrap().arrival;
        // gamma(0.25) gaps have CV 2: relative standard error 2/sqrt(1e5) = 0.6%.
        assert!((last / 50_000.0 - 1.0).abs() < 0.03, "{last}");
    }

    #[test]
    fn lognormal_median_is_kept() {
        let l = Lengths::LogNormal {
            median: 200.0,
            sigma: 1.0,
        };
        let mut rng = Rng::new(11);
        let mut xs: Vec<u32> = (0..100_001).map(|_| l.sample(&mut rng)).collect();
        xs.sort_unstable();
        assert!(
            (f64::from(xs[50_000]) / 200.0 - 1.0).abs() < 0.02,
            "{}",
            xs[50_000]
        );
    }

    #[test]
    fn empirical_lengths_come_from_the_table() {
        let rows = parse_table("prompt_tokens,output_tokens\n10,1\n20,2\n30,3\n", false).unwrap();
        let l = Lengths::Empirical(rows.iter().map(|r| r.prompt).collect());
        assert_eq!(l.mean(), 20.0);
        let mut rng = Rng::new(5);
        let xs: Vec<u32> = (0..300).map(|_| l.sample(&mut rng)).collect();
        for v in [10, 20, 30] {
            assert!(xs.contains(&v));
        }
        assert!(xs.iter().all(|x| [10, 20, 30].contains(x)));
    }

    #[test]
    fn length_specs_parse() {
        assert_eq!(Lengths::parse("512"), Ok(Lengths::Fixed(512)));
        assert_eq!(
            Lengths::parse("10..20"),
            Ok(Lengths::Uniform { lo: 10, hi: 20 })
        );
        assert_eq!(
            Lengths::parse("exp:200"),
            Ok(Lengths::Exponential { mean: 200.0 })
        );
        assert_eq!(
            Lengths::parse("lognormal:300:0.5"),
            Ok(Lengths::LogNormal {
                median: 300.0,
                sigma: 0.5
            })
        );
        assert!(Lengths::parse("20..10").is_err());
        assert!(Lengths::parse("0").is_err());
        assert!(Lengths::parse("many").unwrap_err().0.contains("many"));
    }

    #[test]
    fn trace_parses_and_errors_name_the_line() {
        let t = "# recorded\ntimestamp,prompt_tokens,output_tokens\n0.5,100,20\n1.0,200,30\n";
        let rows = parse_table(t, true).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].prompt, 200);
        let w = Workload {
            arrivals: Arrivals::Trace(rows),
            ..poisson(1.0, 5)
        };
        let reqs: Vec<Request> = w.source().collect();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].arrival, 0.5);
        assert_eq!(w.at_rate(4.0).source().nth(1).unwrap().arrival, 0.25);

        let e = parse_table("timestamp,prompt_tokens,output_tokens\n1,2,x\n", true).unwrap_err();
        assert!(
            e.0.contains("line 2") && e.0.contains("output_tokens"),
            "{e}"
        );
        let e = parse_table("prompt_tokens\n1\n", false).unwrap_err();
        assert!(e.0.contains("output_tokens"), "{e}");
        let e = parse_table(
            "timestamp,prompt_tokens,output_tokens\n2,1,1\n1,1,1\n",
            true,
        )
        .unwrap_err();
        assert!(e.0.contains("line 3"), "{e}");
        let long = format!("prompt_tokens,output_tokens\n1,{}\n", "1".repeat(5000));
        assert!(parse_table(&long, false).unwrap_err().0.contains("line 2"));
    }
}
