//! Latency targets: the highest arrival rate (open loop) or the most users (closed loop) whose p95
//! time to first token and p95 time per output token stay within given bounds, and load sweeps for
//! plots.
//!
//! Runs at different rates share the seed, so a Poisson or bursty workload at rate `r` is the
//! same sample path as at rate 1 with time divided by `r`: the search compares like with like.

use super::engine::{simulate, EngineConfig};
use super::metrics::{Percentiles, Report};
use super::step_times::StepTimes;
use super::workload::Workload;
use super::SimError;
use serde::{Deserialize, Serialize};

/// Latency targets, seconds (infinite: no target).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub p95_ttft: f64,
    pub p95_tpot: f64,
}

impl Slo {
    /// Met when both p95s are within target, nothing was refused, and the engine kept up: it
    /// completed at least 95% of the offered rate (an overloaded run has a growing queue, whose
    /// percentiles depend on how long the run is).
    pub fn met_by(&self, r: &Report, offered_rate: f64) -> bool {
        r.rejected == 0
            && r.ttft.p95 <= self.p95_ttft
            && r.tpot.p95 <= self.p95_tpot
            && r.throughput_rps >= 0.95 * offered_rate
    }
}

impl Slo {
    /// Met by a closed-loop run: both p95s within target and nothing refused (a closed loop cannot
    /// fall behind: its queue never holds more than its users).
    pub fn met_by_closed(&self, r: &Report) -> bool {
        r.rejected == 0 && r.ttft.p95 <= self.p95_ttft && r.tpot.p95 <= self.p95_tpot
    }
}

/// The answer of a users search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsersSearch {
    /// The most concurrent users found to meet the targets (0: not even one user does).
    pub max_users: u32,
    /// The run with that many users.
    pub report: Option<Report>,
    /// Simulations run.
    pub runs: u32,
}

/// Searches the most closed-loop users meeting `slo`, keeping the workload's think time: doubling
/// from one user until the targets are missed, then bisecting on whole users. Each run draws the
/// same requests from the seed, so runs differ only in how many users send them.
pub fn max_users<S: StepTimes + ?Sized>(
    workload: &Workload,
    engine: &EngineConfig,
    steps: &S,
    slo: &Slo,
) -> Result<UsersSearch, SimError> {
    workload.with_users(1).validate()?;
    let mut runs = 0;
    let mut run = |users: u32| -> Result<(bool, Report), SimError> {
        runs += 1;
        let r = simulate(&workload.with_users(users), engine, steps)?;
        Ok((slo.met_by_closed(&r), r))
    };
    let (ok, first) = run(1)?;
    if !ok {
        return Ok(UsersSearch {
            max_users: 0,
            report: None,
            runs,
        });
    }
    let (mut lo, mut best) = (1u32, first);
    let mut hi = None;
    while lo < super::workload::limits::MAX_USERS {
        let n = (lo * 2).min(super::workload::limits::MAX_USERS);
        let (ok, r) = run(n)?;
        if !ok {
            hi = Some(n);
            break;
        }
        lo = n;
        best = r;
    }
    let Some(mut hi) = hi else {
        return Err(SimError(format!(
            "even {} users meet the target; the workload has too few requests to load the server",
            super::workload::limits::MAX_USERS
        )));
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let (ok, r) = run(mid)?;
        if ok {
            lo = mid;
            best = r;
        } else {
            hi = mid;
        }
    }
    Ok(UsersSearch {
        max_users: lo,
        report: Some(best),
        runs,
    })
}

/// The answer of a rate search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloSearch {
    /// The highest rate found to meet the targets, requests per second (0: not even an idle
    /// server meets them).
    pub max_rate: f64,
    /// The run at that rate.
    pub report: Option<Report>,
    /// Simulations run.
    pub runs: u32,
}

/// One rate of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadPoint {
    pub rate: f64,
    pub ttft: Percentiles,
    pub tpot: Percentiles,
    pub e2e: Percentiles,
    pub throughput_rps: f64,
}

/// Runs the workload at each rate.
pub fn sweep<S: StepTimes + ?Sized>(
    workload: &Workload,
    engine: &EngineConfig,
    steps: &S,
    rates: &[f64],
) -> Result<Vec<LoadPoint>, SimError> {
    rates
        .iter()
        .map(|&rate| {
            let r = simulate(&workload.at_rate(rate), engine, steps)?;
            Ok(LoadPoint {
                rate,
                ttft: r.ttft,
                tpot: r.tpot,
                e2e: r.e2e,
                throughput_rps: r.throughput_rps,
            })
        })
        .collect()
}

/// Searches the highest rate meeting `slo`, to a relative `tolerance` (e.g. 0.01).
pub fn max_rate<S: StepTimes + ?Sized>(
    workload: &Workload,
    engine: &EngineConfig,
    steps: &S,
    slo: &Slo,
    tolerance: f64,
) -> Result<SloSearch, SimError> {
    workload.validate()?;
    let mut runs = 0;
    let mut run = |rate: f64| -> Result<(bool, Report), SimError> {
        runs += 1;
        let r = simulate(&workload.at_rate(rate), engine, steps)?;
        Ok((slo.met_by(&r, rate), r))
    };
    // start from the rate one request at a time would sustain
    let service = steps.prefill(workload.prompt.mean() as u32, 0, 1)
        + (workload.output.mean() - 1.0).max(0.0)
            * steps.decode(
                1,
                (workload.prompt.mean() + workload.output.mean() / 2.0) as u32,
            );
    let mut lo = if service > 0.0 { 0.5 / service } else { 1.0 };
    let (ok, mut best) = run(lo)?;
    if !ok {
        // shrink until it is met, or give up: an idle server misses the target
        let mut found = None;
        for _ in 0..20 {
            lo /= 4.0;
            let (ok, r) = run(lo)?;
            if ok {
                found = Some(r);
                break;
            }
        }
        match found {
            Some(r) => best = r,
            None => {
                return Ok(SloSearch {
                    max_rate: 0.0,
                    report: None,
                    runs,
                })
            }
        }
    }
    let mut hi = lo * 2.0;
    let mut bracketed = false;
    for _ in 0..40 {
        let (ok, r) = run(hi)?;
        if !ok {
            bracketed = true;
            break;
        }
        lo = hi;
        best = r;
        hi *= 2.0;
    }
    if !bracketed {
        return Err(SimError(
            "no rate up to 2^40 times a single request's pace misses the target".into(),
        ));
    }
    let tol = tolerance.clamp(1e-6, 0.5);
    while (hi - lo) > tol * hi {
        let mid = 0.5 * (lo + hi);
        let (ok, r) = run(mid)?;
        if ok {
            lo = mid;
            best = r;
        } else {
            hi = mid;
        }
    }
    Ok(SloSearch {
        max_rate: lo,
        report: Some(best),
        runs,
    })
}
