//! `headroom measure -- COMMAND`: run a command while NVML and the OS (procfs, `ps`) are sampled,
//! and append its record.

use anyhow::Result;
use clap::Args;
use headroom_core::measure::{MeasurementRecord, RunStatus};
use headroom_nvml::nvml_reader::NvmlReader;
use headroom_nvml::{measure, GpuReader, MeasureOptions};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The JSON-lines file the record is appended to.
    #[arg(long, short = 'o', default_value = "headroom-measurements.jsonl")]
    pub out: PathBuf,
    /// Milliseconds between samples (50 = 20 Hz).
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u32,
    /// Do not pass the command's output through.
    #[arg(long)]
    pub quiet: bool,
    /// Label the record with this model (when the output does not name it).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub quant: Option<String>,
    /// llama.cpp, vllm, mlx, transformers, ollama.
    #[arg(long)]
    pub runtime: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(a: &MeasureArgs) -> Result<String> {
    let mut o = MeasureOptions::new(a.command.clone(), a.out.clone());
    o.interval_s = f64::from(a.interval_ms.max(1)) / 1000.0;
    o.echo = !a.quiet;
    o.model = a.model.clone();
    o.quant = a.quant.clone();
    o.runtime = a.runtime.clone();
    let (reader, why): (Option<Box<dyn GpuReader>>, Option<String>) = match NvmlReader::open() {
        Ok(r) => (Some(Box::new(r)), None),
        Err(e) => {
            eprintln!("headroom: {e}; running the command without GPU readings");
            (None, Some(e.to_string()))
        }
    };
    let rec = measure(&o, reader, why)?;
    let text = summary(&rec, &a.out);
    if rec.status == RunStatus::Ok {
        Ok(text)
    } else {
        // The record is written; the exit status still says the command did not succeed.
        anyhow::bail!("{}", text.trim_end())
    }
}

fn summary(r: &MeasurementRecord, out: &std::path::Path) -> String {
    let mut s = String::new();
    let status = match r.status {
        RunStatus::Ok => "ok",
        RunStatus::Failed => "failed",
        RunStatus::Interrupted => "interrupted",
    };
    let _ = writeln!(s, "record appended to {} (status: {status})", out.display());
    if r.gpus.is_empty() {
        let _ = writeln!(s, "no GPU readings were taken");
    }
    if let Some(h) = &r.host {
        let _ = writeln!(
            s,
            "process tree ({}): {} samples; peak resident {}{}; CPU {:.2} s{}",
            h.sensor,
            h.samples,
            h.rss_peak,
            h.hwm_peak
                .map_or(String::new(), |b| format!(" (root high-water mark {b})")),
            h.cpu_time_s,
            h.cpu_utilization.map_or(String::new(), |u| format!(
                " ({u:.2} cores busy on average)"
            )),
        );
    }
    if !r.sensors.is_empty() {
        let _ = writeln!(s, "sensors: {}", r.sensors.join(", "));
    }
    for g in &r.gpus {
        let _ = writeln!(
            s,
            "{}: {} samples at {:.1} Hz; peak used {}; command's processes {}; energy {}",
            g.device.name,
            g.samples,
            g.sample_hz,
            g.memory_used_peak.map_or("-".into(), |b| b.to_string()),
            g.process_memory_peak.map_or("-".into(), |b| b.to_string()),
            g.energy_j.map_or("-".into(), |j| format!("{j:.1} J")),
        );
    }
    if !r.memory.is_empty() || !r.speed.is_empty() {
        let _ = writeln!(
            s,
            "from the command's output: {} memory reading(s), {} speed reading(s)",
            r.memory.len(),
            r.speed.len()
        );
    }
    s
}
