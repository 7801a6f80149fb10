//! `headroom simulate`: a serving engine under load on the scenario's hardware.

use crate::args::{ServerArg, SimulateArgs};
use crate::render::table;
use crate::scenario;
use anyhow::{bail, Context, Result};
use headroom_core::measure::{MeasurementRecord, SourceKind};
use headroom_core::simulate::plot::latency_vs_load_svg;
use headroom_core::simulate::MeasuredSteps;
use headroom_core::simulate::{
    engine_for, max_rate, max_users, parse_table, replicas_needed, roofline_for, simulate, sweep,
    Arrivals, FleetPlan, Lengths, LoadPoint, Percentiles, Report, Server, Slo, SloSearch,
    StepTimes, UsersSearch, Workload,
};
use headroom_core::FlopsPerSec;
use headroom_formats::import::{detect, import_str, ImportFormat};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Files larger than this are refused before reading.
const MAX_FILE_BYTES: u64 = 256 << 20;

#[derive(Debug, Serialize)]
struct Answer {
    engine: String,
    /// Where the step times come from: the fitted speed model or the roofline.
    step_times: &'static str,
    rate: f64,
    /// Closed-loop users of the reported run, when the workload is a closed loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    think_time_s: Option<f64>,
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    slo: Option<Slo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slo_search: Option<SloSearch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users_search: Option<UsersSearch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet: Option<FleetPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sweep: Option<Vec<LoadPoint>>,
}

fn read(path: &Path) -> Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_FILE_BYTES {
        bail!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_FILE_BYTES >> 20
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn workload(a: &SimulateArgs) -> Result<Workload> {
    let (mut prompt, mut output) = (Lengths::parse(&a.prompt)?, Lengths::parse(&a.output)?);
    if let Some(p) = &a.lengths_csv {
        let rows = parse_table(&read(p)?, false).with_context(|| p.display().to_string())?;
        prompt = Lengths::Empirical(rows.iter().map(|r| r.prompt).collect());
        output = Lengths::Empirical(rows.iter().map(|r| r.output).collect());
    }
    let arrivals = match (&a.trace, a.rate, a.burstiness) {
        _ if a.users.is_some() => Arrivals::Closed {
            users: a.users.unwrap_or(1),
            think_time: a.think_time.unwrap_or(0.0),
        },
        (Some(p), _, _) => {
            let rows = parse_table(&read(p)?, true).with_context(|| p.display().to_string())?;
            Arrivals::Trace(rows)
        }
        (None, Some(rate), None) => Arrivals::Poisson { rate },
        (None, Some(rate), Some(burstiness)) => Arrivals::Bursty { rate, burstiness },
        (None, None, _) if a.slo_ttft.is_some() || a.slo_tpot.is_some() => {
            // the search sets the rate; this one only seeds the workload
            Arrivals::Poisson { rate: 1.0 }
        }
        (None, None, _) => {
            bail!("give --rate, --users, --trace, or latency targets (--slo-ttft, --slo-tpot)")
        }
    };
    // a trace runs whole (its rows are bounded by the parser)
    let requests = match &arrivals {
        Arrivals::Trace(rows) => u32::try_from(rows.len()).unwrap_or(u32::MAX),
        _ => a.requests,
    };
    let w = Workload {
        arrivals,
        prompt,
        output,
        requests,
        seed: a.seed,
    };
    w.validate()?;
    Ok(w)
}

/// Step times: the speed model fitted to measurements, or the plain roofline on request.
enum Steps {
    Fitted(Box<headroom_core::speed::SpeedModel>),
    Roofline(headroom_core::simulate::Roofline),
    Measured(MeasuredSteps),
}

impl Steps {
    fn label(&self) -> &'static str {
        match self {
            Steps::Fitted(_) => "fitted speed model",
            Steps::Roofline(_) => "roofline step times",
            Steps::Measured(_) => "llama-batched-bench pass costs",
        }
    }
}

impl StepTimes for Steps {
    fn prefill(&self, tokens: u32, context: u32, batch: u32) -> f64 {
        match self {
            Steps::Fitted(m) => m.prefill(tokens, context, batch),
            Steps::Roofline(r) => r.prefill(tokens, context, batch),
            Steps::Measured(m) => m.prefill(tokens, context, batch),
        }
    }

    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        match self {
            Steps::Fitted(m) => m.decode(batch, mean_context),
            Steps::Roofline(r) => r.decode(batch, mean_context),
            Steps::Measured(m) => m.decode(batch, mean_context),
        }
    }

    fn step(&self, s: &headroom_core::simulate::Step) -> f64 {
        match self {
            Steps::Fitted(m) => m.step(s),
            Steps::Roofline(r) => r.step(s),
            Steps::Measured(m) => m.step(s),
        }
    }
}

/// Step times fitted on a llama-batched-bench file: its table as llama.cpp printed it, or the
/// records `headroom import` made of it. A file of several models is narrowed to `--model`.
fn measured_steps(path: &Path, model: &str, s: &headroom_core::Scenario) -> Result<MeasuredSteps> {
    let headroom_core::Runtime::LlamaCpp(ls) = &s.runtime else {
        bail!(
            "--batched-bench times llama.cpp passes; the runtime is {}",
            s.runtime.name()
        );
    };
    let text = read(path)?;
    let origin = path.display().to_string();
    let records = if detect(&text) == ImportFormat::LlamaBatchedBench {
        import_str(ImportFormat::LlamaBatchedBench, &origin, &text)
            .with_context(|| origin.clone())?
    } else {
        let mut v = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let r: MeasurementRecord = serde_json::from_str(line)
                .with_context(|| format!("{origin} line {}: not a measurement record", i + 1))?;
            v.push(r);
        }
        v
    };
    let mut models: Vec<&str> = records
        .iter()
        .filter(|r| r.source.kind == SourceKind::LlamaBatchedBench)
        .filter_map(|r| r.model.as_deref())
        .collect();
    models.sort_unstable();
    models.dedup();
    let name = match models.as_slice() {
        [] => bail!("{origin} holds no llama-batched-bench rows"),
        [one] => one.to_string(),
        _ => model.to_string(),
    };
    MeasuredSteps::from_records(&records, &name, ls.n_ubatch.max(1))
        .map_err(|e| anyhow::anyhow!("{origin}: {e}"))
}

pub fn run(a: &SimulateArgs) -> Result<String> {
    let mut s = scenario::build(&a.scenario)?;
    if let Some(t) = a.tflops {
        if !(t.is_finite() && t > 0.0) {
            bail!("--tflops must be positive, got {t}");
        }
        for d in &mut s.devices {
            d.fp16 = Some(FlopsPerSec::from_tflops(t));
        }
    }
    let server = match a.server {
        ServerArg::Native => Server::Native,
        ServerArg::Ollama => Server::Ollama,
        ServerArg::Serial => Server::Serial,
    };
    let engine = engine_for(&s, server, a.max_queue)?;
    if a.roofline && a.calibration.is_some() {
        bail!("--calibration sets the fitted speed model's step times; it does not apply to --roofline");
    }
    let steps = if let Some(p) = &a.batched_bench {
        Steps::Measured(measured_steps(p, &a.scenario.model, &s)?)
    } else if a.roofline {
        Steps::Roofline(roofline_for(&s).map_err(|e| {
            anyhow::anyhow!("{e}; give the device's dense FP16 rate with --tflops to simulate it")
        })?)
    } else {
        let profile = crate::calibration::load_for(a.calibration.as_deref(), &s)?;
        let params = crate::calibration::speed_params(&s, profile.as_ref())?;
        Steps::Fitted(Box::new(headroom_core::speed::SpeedModel::new(&s, &params)))
    };
    let w = workload(a)?;
    let slo = (a.slo_ttft.is_some() || a.slo_tpot.is_some()).then(|| Slo {
        p95_ttft: a.slo_ttft.unwrap_or(f64::INFINITY),
        p95_tpot: a.slo_tpot.unwrap_or(f64::INFINITY),
    });
    if a.target_rate.is_some() && slo.is_none() {
        bail!("--target-rate needs a latency target (--slo-ttft, --slo-tpot)");
    }
    if let Some((users, think_time)) = w.closed_loop() {
        return closed_loop(a, &s, &engine, &steps, &w, slo, users, think_time);
    }
    let slo_search = match &slo {
        Some(t) => Some(max_rate(&w, &engine, &steps, t, 0.01)?),
        None => None,
    };
    let rate = match (a.rate, &slo_search) {
        (Some(r), _) if a.trace.is_none() => r,
        (_, Some(found)) if found.max_rate > 0.0 && a.trace.is_none() => found.max_rate,
        _ => w.rate(),
    };
    let run_at = if a.trace.is_some() {
        w.clone()
    } else {
        w.at_rate(rate)
    };
    let report = simulate(&run_at, &engine, &steps)?;
    let fleet = match (a.target_rate, &slo) {
        (Some(target), Some(t)) => Some(replicas_needed(&w, &engine, &steps, t, target)?),
        _ => None,
    };
    let sweep_points = match &a.svg {
        Some(path) => {
            let top = slo_search
                .as_ref()
                .map(|f| f.max_rate)
                .filter(|r| *r > 0.0)
                .unwrap_or(rate);
            let rates: Vec<f64> = (1..=12).map(|i| top * f64::from(i) / 10.0).collect();
            let points = sweep(&w, &engine, &steps, &rates)?;
            let title = format!(
                "{} {} on {} ({})",
                s.model.name,
                s.quant,
                device_name(&s),
                engine.name()
            );
            let svg = latency_vs_load_svg(&points, &title, slo.map(|t| t.p95_ttft));
            std::fs::write(path, svg)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(points)
        }
        None => None,
    };
    let ans = Answer {
        engine: engine.name().to_string(),
        step_times: steps.label(),
        rate,
        users: None,
        think_time_s: None,
        report,
        slo,
        slo_search,
        users_search: None,
        fleet,
        sweep: sweep_points,
    };
    if a.json {
        return Ok(serde_json::to_string_pretty(&ans)? + "\n");
    }
    Ok(human(&ans, &s, a))
}

/// `--users N`: the closed loop at N users and, with latency targets, the most users that meet
/// them (the reported run is at N users either way).
#[allow(clippy::too_many_arguments)]
fn closed_loop(
    a: &SimulateArgs,
    s: &headroom_core::Scenario,
    engine: &headroom_core::simulate::EngineConfig,
    steps: &Steps,
    w: &Workload,
    slo: Option<Slo>,
    users: u32,
    think_time: f64,
) -> Result<String> {
    if a.target_rate.is_some() {
        bail!("--target-rate sizes a fleet for an arrival rate; it does not apply to --users");
    }
    if a.svg.is_some() {
        bail!("--svg plots latency against the arrival rate; it does not apply to --users");
    }
    let users_search = match &slo {
        Some(t) => Some(max_users(w, engine, steps, t)?),
        None => None,
    };
    let report = simulate(w, engine, steps)?;
    let ans = Answer {
        engine: engine.name().to_string(),
        step_times: steps.label(),
        rate: report.throughput_rps,
        users: Some(users),
        think_time_s: Some(think_time),
        report,
        slo,
        slo_search: None,
        users_search,
        fleet: None,
        sweep: None,
    };
    if a.json {
        return Ok(serde_json::to_string_pretty(&ans)? + "\n");
    }
    Ok(human(&ans, s, a))
}

fn device_name(s: &headroom_core::Scenario) -> String {
    s.devices
        .first()
        .map_or_else(|| "-".to_string(), |d| d.name.clone())
}

fn ms(x: f64) -> String {
    format!("{:.1}", x * 1e3)
}

fn row(name: &str, p: &Percentiles) -> Vec<String> {
    vec![
        name.to_string(),
        ms(p.mean),
        ms(p.p50),
        ms(p.p90),
        ms(p.p95),
        ms(p.p99),
    ]
}

fn human(a: &Answer, s: &headroom_core::Scenario, args: &SimulateArgs) -> String {
    let r = &a.report;
    let mut out = String::new();
    let load = match (a.users, a.think_time_s) {
        (Some(n), Some(z)) if z > 0.0 => format!("from {n} users thinking {z} s between requests"),
        (Some(n), _) => format!("from {n} users, each sending when its last answer ends"),
        _ => format!("at {:.3} req/s", a.rate),
    };
    let _ = writeln!(
        out,
        "{} {} on {} through {} — {} requests {load} ({})",
        s.model.name,
        s.quant,
        device_name(s),
        a.engine,
        r.requests,
        a.step_times
    );
    out.push_str(&table(
        &["latency (ms)", "mean", "p50", "p90", "p95", "p99"],
        &[
            row("time to first token", &r.ttft),
            row("time per output token", &r.tpot),
            row("end to end", &r.e2e),
            row("queue wait", &r.queue_wait),
        ],
    ));
    let _ = writeln!(
        out,
        "\nthroughput: {:.3} req/s, {:.1} output tok/s, {:.1} tok/s in all",
        r.throughput_rps, r.output_tokens_per_s, r.total_tokens_per_s
    );
    let _ = writeln!(
        out,
        "in system: mean {:.2}; queued: mean {:.2}, peak {}; running: peak {}",
        r.mean_in_system, r.mean_queued, r.peak_queued, r.peak_running
    );
    if r.kv_capacity_tokens > 0 {
        let _ = writeln!(
            out,
            "KV: peak {} of {} tokens ({:.0}%)",
            r.peak_kv_tokens,
            r.kv_capacity_tokens,
            100.0 * r.peak_kv_tokens as f64 / r.kv_capacity_tokens as f64
        );
    }
    let _ = writeln!(
        out,
        "completed {}, refused {}, truncated {}, preempted {}",
        r.completed, r.rejected, r.truncated, r.preemptions
    );
    if let (Some(t), Some(found)) = (&a.slo, &a.slo_search) {
        let _ = writeln!(
            out,
            "\nhighest rate with p95 TTFT <= {} and p95 TPOT <= {}: {:.3} req/s",
            secs(t.p95_ttft),
            secs(t.p95_tpot),
            found.max_rate
        );
    }
    if let (Some(t), Some(found)) = (&a.slo, &a.users_search) {
        let _ = writeln!(
            out,
            "\nmost users with p95 TTFT <= {} and p95 TPOT <= {}: {}",
            secs(t.p95_ttft),
            secs(t.p95_tpot),
            found.max_users
        );
    }
    if let Some(f) = &a.fleet {
        let _ = writeln!(
            out,
            "fleet for {:.3} req/s: {} replicas at {:.3} req/s each (one sustains {:.3})",
            f.target_rate, f.replicas, f.per_replica_rate, f.max_rate_per_replica
        );
    }
    if let Some(p) = &args.svg {
        let _ = writeln!(out, "plot written to {}", p.display());
    }
    // what the names were taken as (an ambiguous `h100`, a repo name's quantization)
    for n in &s.notes {
        let _ = writeln!(out, "warning: {n}");
    }
    out
}

fn secs(x: f64) -> String {
    if x.is_finite() {
        format!("{x} s")
    } else {
        "any".to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn run(args: &[&str]) -> anyhow::Result<String> {
        let cli = Cli::try_parse_from(args)?;
        match &cli.command {
            Command::Simulate(a) => super::run(a),
            _ => anyhow::bail!("not simulate"),
        }
    }

    #[test]
    fn json_report_and_plot_for_a_catalog_scenario() {
        let dir = std::env::temp_dir().join(format!("headroom-sim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("load.svg");
        let out = run(&[
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "-q",
            "Q4_K_M",
            "--hardware",
            "rtx-4090",
            "-c",
            "8192",
            "--parallel",
            "2",
            "--prompt",
            "200..800",
            "--output",
            "exp:100",
            "--requests",
            "300",
            "--slo-ttft",
            "1",
            "--target-rate",
            "5",
            "--json",
            "--svg",
            svg.to_str().unwrap(),
        ])
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["engine"], "llama-server");
        assert_eq!(v["report"]["completed"], 300);
        assert_eq!(v["report"]["kv_capacity_tokens"], 8192);
        assert!(v["slo_search"]["max_rate"].as_f64().unwrap() > 0.0);
        assert!(v["fleet"]["replicas"].as_u64().unwrap() >= 1);
        assert_eq!(v["sweep"].as_array().unwrap().len(), 12);
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn trace_file_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("headroom-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let trace = dir.join("trace.csv");
        std::fs::write(
            &trace,
            "timestamp,prompt_tokens,output_tokens\n0,100,10\n0.5,abc,10\n",
        )
        .unwrap();
        let e = run(&[
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "--hardware",
            "rtx-4090",
            "--trace",
            trace.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(format!("{e:#}").contains("line 3"), "{e:#}");
        std::fs::write(
            &trace,
            "timestamp,prompt_tokens,output_tokens\n0,100,10\n0.5,300,10\n",
        )
        .unwrap();
        let out = run(&[
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "--hardware",
            "rtx-4090",
            "--trace",
            trace.to_str().unwrap(),
            "--server",
            "ollama",
        ])
        .unwrap();
        assert!(out.contains("through ollama"), "{out}");
        assert!(out.contains("completed 2"), "{out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_roofline_needs_a_flop_rate_the_fitted_model_does_not() {
        let base = [
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "-q",
            "mlx-4bit",
            "--runtime",
            "mlx",
            "--hardware",
            "m4-max-40c",
            "--memory",
            "64",
            "--rate",
            "0.1",
            "--requests",
            "50",
            "--roofline",
        ];
        let e = run(&base).unwrap_err();
        assert!(format!("{e:#}").contains("--tflops"), "{e:#}");
        let mut with = base.to_vec();
        with.extend(["--tflops", "30"]);
        let out = run(&with).unwrap();
        assert!(
            out.contains("through serial") && out.contains("roofline"),
            "{out}"
        );
        // The fitted speed model knows Apple GPUs by their core count and needs no --tflops.
        let fitted: Vec<&str> = base
            .iter()
            .copied()
            .filter(|a| *a != "--roofline")
            .collect();
        let out = run(&fitted).unwrap();
        assert!(out.contains("fitted speed model"), "{out}");
    }

    #[test]
    fn closed_loop_users_and_the_most_users_within_a_target() {
        let base = [
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "-q",
            "Q4_K_M",
            "--hardware",
            "rtx-4090",
            "-c",
            "8192",
            "--parallel",
            "4",
            "--prompt",
            "256",
            "--output",
            "64",
            "--requests",
            "200",
            "--users",
            "4",
            "--think-time",
            "0.5",
        ];
        let out = run(&base).unwrap();
        assert!(out.contains("from 4 users thinking 0.5 s"), "{out}");
        assert!(out.contains("completed 200"), "{out}");
        let mut with = base.to_vec();
        with.extend(["--slo-ttft", "2", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&run(&with).unwrap()).unwrap();
        assert_eq!(v["users"], 4);
        assert_eq!(v["report"]["completed"], 200);
        // At most 4 requests are ever in the system, so no more than 4 run together.
        assert!(v["report"]["peak_running"].as_u64().unwrap() <= 4);
        assert!(v["users_search"]["max_users"].as_u64().unwrap() >= 1);
        let e = run(&[&base[..], &["--rate", "1"]].concat()).unwrap_err();
        assert!(e.to_string().contains("--rate"), "{e}");
    }

    #[test]
    fn a_rate_or_a_target_is_needed() {
        let e = run(&[
            "headroom",
            "simulate",
            "-m",
            "qwen3-8b",
            "--hardware",
            "rtx-4090",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("--rate"));
    }
}
